package wasmopt

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/host/internal/leb128"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// module builds a module with one memory of the given pages and a data section from raw
// segment encodings (each: flags, expr, bytes), plus optional extra sections after it.
func module(pages byte, dataBody []byte, extra ...[]byte) []byte {
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, 5, 3, 1, 0, pages) // memory section: 1 memory, min=pages
	for _, e := range extra {
		m = append(m, e...)
	}
	if dataBody != nil {
		m = append(m, sectionData)
		m = leb128.AppendUint(m, uint64(len(dataBody)))
		m = append(m, dataBody...)
	}
	return m
}

func active(offset int32, data string) []byte {
	b := []byte{0, opI32Const}
	b = leb128.AppendInt(b, int64(offset))
	b = append(b, opEnd)
	b = leb128.AppendUint(b, uint64(len(data)))
	return append(b, data...)
}

func segments(segs ...[]byte) []byte {
	b := leb128.AppendUint(nil, uint64(len(segs)))
	for _, s := range segs {
		b = append(b, s...)
	}
	return b
}

// memoryAfterInstantiate returns the first n bytes of memory of an instance of wasm, with every
// import stubbed, and no start function run.
func memoryAfterInstantiate(t *testing.T, wasm []byte, n uint32) []byte {
	t.Helper()
	ctx := context.Background()
	cache, err := wazero.NewCompilationCacheWithDir(guesttest.CacheDir(t))
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache))
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	hb := rt.NewHostModuleBuilder(abi.ImportModule)
	for _, f := range abi.Imports {
		params := make([]api.ValueType, len(f.Params))
		for i, p := range f.Params {
			params[i] = api.ValueType(p)
		}
		results := []api.ValueType{api.ValueType(f.Results[0])}
		hb.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(context.Context, api.Module, []uint64) {}), params, results).Export(f.Name)
	}
	if _, err := hb.Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		n = mod.Memory().Size()
	}
	b, ok := mod.Memory().Read(0, n)
	if !ok {
		t.Fatalf("memory smaller than %d", n)
	}
	return bytes.Clone(b)
}

func TestMergeGoGuestKeepsMemoryIdentical(t *testing.T) {
	wasm, err := os.ReadFile(guesttest.Path(t, "guests/go/faults/faults.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	merged, err := MergeDataSegments(wasm)
	if err != nil {
		t.Fatal(err)
	}
	before, _, _ := countSegments(t, wasm)
	after, _, _ := countSegments(t, merged)
	t.Logf("data segments: %d -> %d; module %d -> %d bytes", before, after, len(wasm), len(merged))
	if after >= before/10 {
		t.Errorf("merging left %d of %d segments", after, before)
	}
	if !bytes.Equal(memoryAfterInstantiate(t, wasm, 0), memoryAfterInstantiate(t, merged, 0)) {
		t.Fatal("memory after instantiation differs")
	}
	again, _ := MergeDataSegments(wasm)
	if !bytes.Equal(again, merged) {
		t.Error("output is not deterministic")
	}
}

func countSegments(t *testing.T, wasm []byte) (int, int, int) {
	t.Helper()
	pos := 8
	for pos < len(wasm) {
		id := wasm[pos]
		size, n, err := readU32(wasm, pos+1)
		if err != nil {
			t.Fatal(err)
		}
		body := pos + 1 + n
		if id == sectionData {
			c, _, _ := readU32(wasm, body)
			return int(c), body, int(size)
		}
		pos = body + int(size)
	}
	return 0, 0, 0
}

func TestMergeCases(t *testing.T) {
	dataCount := []byte{sectionDataCount, 1, 2}
	passive := append([]byte{1}, append(leb128.AppendUint(nil, 1), 'x')...)
	globalOffset := []byte{0, 0x23, 0, opEnd, 1, 'g'} // global.get 0
	cases := []struct {
		name      string
		wasm      []byte
		wantSegs  int
		unchanged bool
	}{
		{"neighbours merge", module(1, segments(active(0, "ab"), active(10, "cd"), active(100, "ef"))), 1, false},
		{"far apart stay", module(2, segments(active(0, "ab"), active(MaxGap+10, "cd"))), 2, true},
		{"overlap: later wins", module(1, segments(active(0, "aaaa"), active(2, "bb"), active(1, "c"))), 1, false},
		{"unsorted input", module(1, segments(active(50, "z"), active(0, "y"))), 1, false},
		{"passive segment", module(1, segments(active(0, "a"), passive)), 2, true},
		{"global.get offset", module(1, segments(active(0, "a"), globalOffset)), 2, true},
		{"data count section", module(1, segments(active(0, "a"), active(4, "b")), dataCount), 2, true},
		{"no data section", module(1, nil), 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := MergeDataSegments(c.wasm)
			if err != nil {
				t.Fatal(err)
			}
			if c.unchanged != bytes.Equal(out, c.wasm) {
				t.Fatalf("unchanged = %v, want %v", bytes.Equal(out, c.wasm), c.unchanged)
			}
			if got, _, _ := countSegments(t, out); got != c.wantSegs {
				t.Errorf("%d segments, want %d", got, c.wantSegs)
			}
			if !c.unchanged {
				if a, b := memoryAfterInstantiate(t, c.wasm, 256), memoryAfterInstantiate(t, out, 256); !bytes.Equal(a, b) {
					t.Errorf("memory differs:\n%q\n%q", a, b)
				}
			}
		})
	}
}

func TestMergeMalformed(t *testing.T) {
	for name, wasm := range map[string][]byte{
		"no header":         []byte("nope"),
		"section past end":  append(module(1, nil), sectionData, 50, 1),
		"segment past end":  module(1, append(leb128.AppendUint(nil, 1), 0, opI32Const, 0, opEnd, 90, 'x')),
		"count too large":   module(1, []byte{0xff, 0xff, 0x03}),
		"stray bytes":       module(1, append(segments(active(0, "a")), 7)),
		"truncated integer": module(1, []byte{0x80}),
	} {
		if _, err := MergeDataSegments(wasm); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func FuzzMergeDataSegments(f *testing.F) {
	f.Add(module(1, segments(active(0, "ab"), active(10, "cd"))))
	f.Add(module(1, segments(active(0, "aaaa"), active(2, "bb"))))
	f.Add(module(1, segments(active(-1, "a"), active(4, "b"))))
	f.Fuzz(func(t *testing.T, wasm []byte) {
		out, err := MergeDataSegments(wasm)
		if err != nil {
			return
		}
		ctx := context.Background()
		rt := wazero.NewRuntime(ctx)
		defer rt.Close(ctx)
		compiles := func(b []byte) (ok bool) {
			defer func() {
				if recover() != nil {
					ok = false
				}
			}()
			_, err := rt.CompileModule(ctx, b)
			return err == nil
		}
		if compiles(wasm) && !compiles(out) {
			t.Fatalf("merge broke a module that compiled")
		}
	})
}
