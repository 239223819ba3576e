package interrupt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// allFeatures is every feature wazero v1.12 can decode, so that the
// properties below cover the decoder's whole opcode table.
const allFeatures = api.CoreFeaturesV2 | experimental.CoreFeaturesThreads | experimental.CoreFeaturesTailCall |
	experimental.CoreFeaturesExtendedConst | experimental.CoreFeaturesExceptionHandling |
	experimental.CoreFeaturesTypedFunctionReferences

// featuresWasm exercises SIMD, threads, bulk memory and saturating
// truncation inside a loop; "run" returns 107: 3+4 from SIMD, 0 from the
// atomic add's old value, 100 from memory.fill.
func featuresWasm() []byte {
	v128 := func(b byte) []byte { return cat(ops(0xfd, 0x0c), bytes.Repeat([]byte{b}, 16)) }
	return module(
		sec(idType, vec(funcType(nil, []byte{tI32}))),
		sec(idFunc, vec([]byte{0})),
		sec(idMem, vec(ops(0x03, 1, 1))), // shared, min 1, max 1
		sec(idExport, vec(export("run", kFunc, 0))),
		sec(idCode, vec(body([][2]byte{{1, tI32}},
			ops(opLoop, void),
			v128(3), v128(4), ops(0xfd, 0x6e, 0xfd, 0x16, 0), // i8x16.add, extract_lane_u 0
			i32c(0), i32c(1), ops(0xfe, 0x1e, 2, 0), // i32.atomic.rmw.add
			ops(opAdd, opLSet, 0, 0xfe, 0x03, 0),          // atomic.fence
			i32c(4), i32c(100), i32c(1), ops(0xfc, 11, 0), // memory.fill
			ops(0x43, 0, 0, 0x80, 0x3f, 0xfc, 0), // f32.const 1; i32.trunc_sat_f32_s
			ops(opEqz, opBrIf, 0, opEnd),
			ops(opLGet, 0), i32c(4), ops(0x2d, 0, 0, opAdd, opEnd), // i32.load8_u
		))),
	)
}

func TestInstrumentFeatures(t *testing.T) {
	cfg := wazero.NewRuntimeConfig().WithCoreFeatures(allFeatures)
	for name, wasm := range map[string][]byte{"plain": featuresWasm(), "instrumented": mustInstrument(t, featuresWasm())} {
		mod := instantiate(t, newRuntime(t, cfg), wasm, name)
		if got, err := call(t, mod, "run"); err != nil || got[0] != 107 {
			t.Errorf("%s: run() = %v, %v; want 107", name, got, err)
		}
	}
}

// checkAgainstWazero asserts Instrument's contract with the runtime: it
// must not panic; when wazero accepts the input, Instrument must succeed,
// wazero must accept the output, and instrumenting again must be refused.
func checkAgainstWazero(t *testing.T, r wazero.Runtime, in []byte) {
	t.Helper()
	out, err := Instrument(in)
	if err != nil && out != nil {
		t.Fatalf("Instrument returned bytes with error %v", err)
	}
	if inErr := compile(r, in); inErr != nil {
		return
	}
	if errors.Is(err, ErrAlreadyInstrumented) {
		return
	}
	if err != nil {
		t.Fatalf("wazero accepts the input, Instrument does not: %v", err)
	}
	if err := compile(r, out); err != nil {
		t.Fatalf("wazero accepts the input but not the output: %v", err)
	}
	if _, err := Instrument(out); !errors.Is(err, ErrAlreadyInstrumented) {
		t.Fatalf("instrumenting the output again: %v, want ErrAlreadyInstrumented", err)
	}
}

// compile reports whether wazero accepts wasm. wazero v1.12's validator
// panics on some malformed modules (a function section naming a type index
// past the type section, found by FuzzInstrument); that counts as rejection.
func compile(r wazero.Runtime, wasm []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("wazero panicked: %v", p)
		}
	}()
	ctx := context.Background()
	c, err := r.CompileModule(ctx, wasm)
	if err == nil {
		c.Close(ctx)
	}
	return err
}

func FuzzInstrument(f *testing.F) {
	for _, seed := range [][]byte{spinWasm(), controlWasm(), countWasm(), featuresWasm(), fibWasm(), renumberWasm(),
		module(), header} {
		f.Add(seed)
	}
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(allFeatures))
	defer r.Close(ctx)
	f.Fuzz(func(t *testing.T, in []byte) {
		if !plausible(in) {
			if out, err := Instrument(in); err == nil {
				if _, err := Instrument(out); !errors.Is(err, ErrAlreadyInstrumented) {
					t.Fatalf("instrumenting the output again: %v, want ErrAlreadyInstrumented", err)
				}
			}
			return
		}
		checkAgainstWazero(t, r, in)
	})
}

// plausible reports whether every multi-byte LEB128 at any offset of in
// decodes to at most len(in). wazero's decoder allocates by declared counts
// and lengths before reading the entries (this fuzzer found 20 bytes that
// made it ask for gigabytes and kill the worker), so the harness hands
// wazero only inputs whose every length could be genuine.
func plausible(in []byte) bool {
	for i := range in {
		if in[i]&0x80 == 0 {
			continue
		}
		var v uint64
		for j := 0; j < 5 && i+j < len(in); j++ {
			v |= uint64(in[i+j]&0x7f) << (7 * j)
			if in[i+j]&0x80 == 0 {
				break
			}
		}
		if v > uint64(len(in)) {
			return false
		}
	}
	return true
}

// TestInstrumentWazeroCorpus runs the same property over the thousands of
// modules in wazero's own spec and fuzz test data, valid and invalid, which
// use every operator wazero supports. The corpus ships in the module cache.
func TestInstrumentWazeroCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("long; skipped in -short mode")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	dir, err := exec.Command(goBin, "list", "-m", "-f", "{{.Dir}}", "github.com/tetratelabs/wazero").Output()
	if err != nil {
		t.Skipf("cannot locate wazero's source: %v", err)
	}
	root := filepath.Join(strings.TrimSpace(string(dir)), "internal", "integration_test")
	var files []string
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".wasm") {
			files = append(files, path)
		}
		return nil
	})
	if len(files) == 0 {
		t.Skipf("no .wasm files under %s", root)
	}

	// The interpreter validates exactly as the compiler does, much faster.
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(allFeatures))
	defer r.Close(ctx)
	var accepted int
	for _, path := range files {
		in, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, path)
		t.Run(rel, func(t *testing.T) { checkAgainstWazero(t, r, in) })
		if compile(r, in) == nil {
			accepted++
		}
	}
	t.Logf("%d modules, %d of them valid", len(files), accepted)
}
