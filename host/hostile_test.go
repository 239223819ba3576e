package host_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/host/internal/leb128"
	wruntime "github.com/wasmorch/wasmorch/host/internal/runtime"
	"github.com/wasmorch/wasmorch/host/store"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// TestHostileGuests loads every module of the hostile corpus (testdata/guests/hostile, its
// README lists them, plus the modules generated below) and checks that each is contained: a
// module that must not run is refused when the workspace loads, with the exact error; a step that
// misbehaves fails with the exact error and failure kind, or, for log floods, is cut to the log
// caps. Afterwards a healthy step runs in the same instance.
//
// Each workspace sets small limits in its own limits: section (1 s for the steps that never
// end, 8 MiB of memory, 1 MiB of output), so the whole test takes seconds, not minutes.
func TestHostileGuests(t *testing.T) {
	ctx := context.Background()
	inst := openInstance(t)
	oobWasm := guesttest.Path(t, "guests/wat/oob.wasm")
	oobWS := loadWorkspace(t, inst, writeWorkspace(t, map[string]string{"oob": oobWasm}, ""))
	if res := materialize(t, inst, oobWS, "oob_source"); !res.Success() {
		t.Fatalf("oob_source, the upstream of the input cases: %v", res.Err())
	}

	type stepCase struct {
		name   string
		module string // path of the .wasm
		limits string // the workspace's limits: section
		asset  string
		want   string // the step's error, exactly, up to its first line break
		kind   string // failure_kind
		// check, when set, looks further at the run; the step may also have succeeded.
		check func(t *testing.T, res *host.Result)
	}
	hostile := func(name string) string { return guesttest.Path(t, "guests/hostile/"+name+".wasm") }
	oobMsg := func(fn string, from, to uint64) string {
		return fmt.Sprintf("host call %s: range [%d, %d) is outside guest memory (65536 bytes)", fn, from, to)
	}
	const p = 0xFFFFFFF0
	steps := []stepCase{
		{name: "infinite loop", module: hostile("spin"), limits: "step_timeout: 1s", asset: "spin_loop",
			want: "step exceeded its time limit of 1s", kind: "timeout"},
		{name: "recursion without loops", module: hostile("spin"), limits: "step_timeout: 1s", asset: "spin_recursion",
			want: "step exceeded its time limit of 1s", kind: "timeout"},
		{name: "mutual recursion without loops", module: hostile("spin"), limits: "step_timeout: 1s", asset: "spin_mutual",
			want: "step exceeded its time limit of 1s", kind: "timeout"},
		{name: "unbounded recursion", module: hostile("stack"), asset: "stack_overflow",
			want: "wasm trap: stack overflow (the guest's calls nested deeper than wazero's call stack allows; unbounded recursion?)", kind: "trap"},
		{name: "memory growth past the limit", module: hostile("memory_grow"), limits: "memory: 8MiB", asset: "memory_grow",
			want: "wasm trap: unreachable", kind: "trap",
			check: func(t *testing.T, res *host.Result) {
				msg := res.Steps["memory_grow"].Error
				if want := "(linear memory had grown to 8388608 of the 8388608 bytes the step's memory limit allows)"; !strings.Contains(msg, want) {
					t.Errorf("error %q does not say the memory limit was reached: want %q", msg, want)
				}
			}},
		{name: "output over the output limit", module: hostile("output_flood"), limits: "output: 1MiB", asset: "output_flood",
			want: `output "result": the step wrote more than its output limit of 1048576 bytes`, kind: "limit",
			check: func(t *testing.T, res *host.Result) {
				if _, err := inst.AssetValue(ctx, "output_flood"); err == nil {
					t.Error("the output over the limit was stored as a materialization")
				}
				if files, _ := filepath.Glob(filepath.Join(inst.StorageDir(), "output_flood", "*")); len(files) != 0 {
					t.Errorf("the IO manager kept the aborted output: %v", files)
				}
			}},
		{name: "log flood of empty lines", module: hostile("log_flood"), asset: "log_flood_lines",
			check: logCapped("log_flood_lines", wruntime.MaxStepLogLines, fmt.Sprintf("the step's log limit of %d lines is reached: further logs of this step are dropped", wruntime.MaxStepLogLines))},
		{name: "log flood of large lines", module: hostile("log_flood"), asset: "log_flood_bytes",
			check: logCapped("log_flood_bytes", 2048, "the step's log limit of 16777216 bytes is reached: further logs of this step are dropped")},
		{name: "log flood of the longest lines", module: hostile("log_flood"), asset: "log_flood_64k",
			check: logCapped("log_flood_64k", 256, "the step's log limit of 16777216 bytes is reached: further logs of this step are dropped")},
		{name: "stdout flood", module: hostile("log_flood"), asset: "log_flood_stdout",
			check: logCapped("log_flood_stdout", wruntime.MaxStepLogLines, fmt.Sprintf("the step's log limit of %d lines is reached: further logs of this step are dropped", wruntime.MaxStepLogLines))},
		// Out-of-bounds ranges, one host function each (oob.wat).
		{name: "oob log", module: oobWasm, asset: "oob_asset", want: oobMsg("log", p, p+4096), kind: "host"},
		{name: "oob invocation_read", module: oobWasm, asset: "oob_b_invocation_read", want: oobMsg("invocation_read", p, p+16), kind: "host"},
		{name: "oob output_open", module: oobWasm, asset: "oob_c_output_open", want: oobMsg("output_open", p, p+6), kind: "host"},
		{name: "oob output_write", module: oobWasm, asset: "oob_d_output_write", want: oobMsg("output_write", p, p+16), kind: "host"},
		{name: "oob output_metadata", module: oobWasm, asset: "oob_e_output_metadata", want: oobMsg("output_metadata", 0, 65537), kind: "host"},
		{name: "oob error_set", module: oobWasm, asset: "oob_f_error_set", want: oobMsg("error_set", 100, 100+0xFFFFFF00), kind: "host"},
		{name: "oob metadata_add", module: oobWasm, asset: "oob_g_metadata_add", want: oobMsg("metadata_add", 0, 65537), kind: "host"},
		{name: "oob last_error_read", module: oobWasm, asset: "oob_h_last_error_read", want: oobMsg("last_error_read", p, p), kind: "host"},
		{name: "oob input_open", module: oobWasm, asset: "oob_i_input_open", want: oobMsg("input_open", p, p+2), kind: "host"},
		{name: "oob input_read", module: oobWasm, asset: "oob_j_input_read", want: oobMsg("input_read", p, p+1), kind: "host"},
		{name: "oob resource_call key", module: oobWasm, asset: "oob_k_resource_key", want: oobMsg("resource_call", p, p+4), kind: "host"},
		{name: "oob resource_call request", module: oobWasm, asset: "oob_l_resource_request", want: oobMsg("resource_call", 65536, 65537), kind: "host"},
		{name: "oob response_read", module: oobWasm, asset: "oob_m_response_read", want: oobMsg("response_read", p, p), kind: "host"},
		{name: "oob input_partition_key", module: oobWasm, asset: "oob_n_partition_key", want: oobMsg("input_partition_key", p, p), kind: "host"},
		{name: "function name with control characters", module: writeGuest(t, "name_escape", guest{manifest: assetManifest("name_escape"), runName: "\x1b[2Jrun", trap: true}),
			asset: "name_escape", want: "wasm trap: unreachable", kind: "trap",
			check: func(t *testing.T, res *host.Result) {
				// wazero's stack trace names the function as the name section says; the
				// terminal escape is shown, not sent.
				if msg := res.Steps["name_escape"].Error; msg != "wasm trap: unreachable\nwasm stack trace:\n\t.\\x1b[2Jrun() i32" {
					t.Errorf("error %q", msg)
				}
			}},
		{name: "100,000 functions", module: writeGuest(t, "many_funcs", guest{manifest: assetManifest("many_funcs"), extraFuncs: 100_000}), asset: "many_funcs"},
	}
	// Cases that share a module and limits share a workspace.
	workspaces := map[string]*host.Workspace{oobWasm + "\x00": oobWS}
	for _, c := range steps {
		t.Run(c.name, func(t *testing.T) {
			key := c.module + "\x00" + c.limits
			ws := workspaces[key]
			if ws == nil {
				name := strings.TrimSuffix(filepath.Base(c.module), ".wasm")
				extra := ""
				if c.limits != "" {
					extra = "limits: {" + c.limits + "}\n"
				}
				ws = loadWorkspace(t, inst, writeWorkspace(t, map[string]string{name: c.module}, extra))
				workspaces[key] = ws
			}
			res, err := inst.Materialize(ctx, ws, c.asset)
			if err != nil {
				t.Fatalf("Materialize(%q): %v", c.asset, err)
			}
			if c.want == "" {
				if !res.Success() {
					t.Fatalf("the step failed: %v", res.Err())
				}
			} else {
				msg := stepError(t, res, c.asset)
				if got := firstLine(msg); !strings.HasPrefix(got, c.want) || (got != c.want && c.check == nil) {
					t.Errorf("error:\n  %s\nwant:\n  %s", got, c.want)
				}
				if kind := eventsOf(res, store.EventStepFailure, c.asset)[0].Metadata["failure_kind"]; kind != c.kind {
					t.Errorf("failure_kind %v, want %s", kind, c.kind)
				}
			}
			if c.check != nil {
				c.check(t, res)
			}
		})
	}

	// Modules the host must refuse when the workspace loads, before any step runs. The error names
	// the module, and says what is wrong with it.
	deep := []byte(`{"abi_version":1,"x":` + strings.Repeat("[", 10_000) + strings.Repeat("]", 10_000) + `}`)
	var manyBad bytes.Buffer
	manyBad.WriteString(`{"abi_version":1,"assets":[`)
	for i := range 100_000 {
		if i > 0 {
			manyBad.WriteByte(',')
		}
		fmt.Fprintf(&manyBad, `{"key":"bad key %d","output":{"format":"json"}}`, i)
	}
	manyBad.WriteString(`]}`)
	tooBig := writeGuest(t, "too_big", guest{manifest: assetManifest("too_big"), pad: 1 << 20})
	st, err := os.Stat(tooBig)
	if err != nil {
		t.Fatal(err)
	}
	tooBigSize := st.Size()
	latin1 := []byte(`{"abi_version":1,"assets":[{"key":"caf` + "\xe9" + `","output":{"format":"json"}}]}`)
	loads := []struct {
		name, module, limits string
		// want is how the error starts after "workspace PATH: ".
		want string
	}{
		{name: "missing host function", module: guesttest.Path(t, "guests/wat/bad_import.wasm"),
			want: `module "bad_import": imports a function the host does not provide: wasmorch.not_a_function is not a function of ABI version 1`},
		{name: "manifest over the limit", module: hostile("manifest_huge"),
			want: `module "manifest_huge": wasmorch_manifest failed: manifest_write: the manifest is 16777217 bytes, the limit is 16777216`},
		{name: "manifest range out of bounds", module: hostile("manifest_oob"),
			want: `module "manifest_oob": wasmorch_manifest failed: ` + oobMsg("manifest_write", p, p+64)},
		{name: "manifest nested 10,000 deep", module: writeGuest(t, "manifest_deep", guest{manifest: deep}),
			want: `module "manifest_deep": invalid manifest: the manifest nests objects and arrays more than 128 levels deep (at line 1, column 149)`},
		{name: "manifest with 100,000 bad assets", module: writeGuest(t, "manifest_many", guest{manifest: manyBad.Bytes()}),
			want: `module "manifest_many": invalid manifest (100000 problems, the first 20 listed):` + "\n  " +
				`assets[0].key: "bad key 0" is not a valid asset key (components of letters, digits, '_' or '-', joined by '/')`},
		{name: "manifest not UTF-8", module: writeGuest(t, "manifest_latin1", guest{manifest: latin1}),
			want: `module "manifest_latin1": invalid manifest: the manifest is not valid UTF-8: byte 0xe9 at offset 38 (line 1, column 39)`},
		{name: "import name not UTF-8", module: writeGuest(t, "import_latin1", guest{manifest: assetManifest("import_latin1"), extraImport: "caf\xe9"}),
			want: `module "import_latin1": not a valid WebAssembly module: import[4] error decoding name: import name is not valid UTF-8`},
		{name: "import name with control characters", module: writeGuest(t, "import_escape", guest{manifest: assetManifest("import_escape"), extraImport: "\x1b[2J"}),
			want: `module "import_escape": imports a function the host does not provide: wasmorch."\x1b[2J" is not a function of ABI version 1`},
		{name: "function name not UTF-8", module: writeGuest(t, "name_latin1", guest{manifest: assetManifest("name_latin1"), runName: "caf\xe9"}),
			want: `module "name_latin1": not a valid WebAssembly module: section custom: function[7] name is not valid UTF-8`},
		{name: "export name not UTF-8", module: writeGuest(t, "export_latin1", guest{manifest: assetManifest("export_latin1"), extraExport: "caf\xe9"}),
			want: `module "export_latin1": not a valid WebAssembly module: section export: read export: export name is not valid UTF-8`},
		{name: "module over the size limit", module: tooBig, limits: "module_size: 1MiB",
			want: fmt.Sprintf(`module "too_big": module is larger than the module size limit: %s is %d bytes, the limit is 1048576`, tooBig, tooBigSize)},
	}
	for _, c := range loads {
		t.Run(c.name, func(t *testing.T) {
			extra := ""
			if c.limits != "" {
				extra = "limits: {" + c.limits + "}\n"
			}
			name := strings.TrimSuffix(filepath.Base(c.module), ".wasm")
			wsPath := writeWorkspace(t, map[string]string{name: c.module}, extra)
			_, err := inst.LoadWorkspace(ctx, wsPath)
			if err == nil {
				t.Fatal("the workspace loaded")
			}
			got, ok := strings.CutPrefix(err.Error(), "workspace "+wsPath+": ")
			if !ok || !strings.HasPrefix(got, c.want) {
				t.Errorf("error:\n  %s\nwant it to start with:\n  %s", err, c.want)
			}
			t.Logf("%s", firstLine(got))
		})
	}

	// The host is unharmed: a healthy step still runs in the same instance.
	if res := materialize(t, inst, oobWS, "oob_source"); !res.Success() {
		t.Fatalf("healthy step after the hostile corpus: %v", res.Err())
	}
}

// TestModuleSizeLimit: a module over the size limit is refused before it is read or compiled
// (nothing reaches the compilation cache), whether the limit comes from WithMaxModuleBytes or
// limits.module_size; a module exactly at the limit loads; and the default admits a Go guest
// built with arrow-go.
func TestModuleSizeLimit(t *testing.T) {
	ctx := context.Background()
	orders := guesttest.Path(t, "orders/go/orders.wasm")
	st, err := os.Stat(orders)
	if err != nil {
		t.Fatal(err)
	}
	size := st.Size()
	if size < 7<<20 || size > wruntime.DefaultMaxModuleBytes {
		t.Fatalf("the Go guest with arrow-go is %d bytes; the default limit of %d must admit it", size, wruntime.DefaultMaxModuleBytes)
	}
	wsPath := ordersWorkspace(t)

	cache := t.TempDir()
	small, err := host.Open(ctx, t.TempDir(), host.WithMaxModuleBytes(size-1), host.WithCompilationCacheDir(cache))
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	_, err = small.LoadWorkspace(ctx, wsPath)
	want := fmt.Sprintf(`module "orders": module is larger than the module size limit: %s is %d bytes, the limit is %d`, orders, size, size-1)
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("error %v\nwant it to end with %q", err, want)
	}
	if n := wruntime.DiskCacheFiles(cache); n != 0 {
		t.Errorf("the refused module reached the compilation cache (%d files): it was compiled", n)
	}

	exact := openInstance(t, host.WithMaxModuleBytes(size))
	loadWorkspace(t, exact, wsPath)
	loadWorkspace(t, openInstance(t), wsPath)

	// The Go option overrides the workspace file.
	overridden := openInstance(t, host.WithMaxModuleBytes(size))
	path := writeWorkspace(t, map[string]string{"orders": orders}, "limits: {module_size: 1MiB}\n")
	loadWorkspace(t, overridden, path)
	if _, err := openInstance(t).LoadWorkspace(ctx, path); err == nil || !strings.Contains(err.Error(), "the limit is 1048576") {
		t.Errorf("limits.module_size 1MiB: %v", err)
	}
}

// logCapped checks a log flood: the step succeeded, and the run stored exactly `lines` log events
// of the step's own and then one warning naming the cap that was reached.
func logCapped(step string, lines int, warning string) func(t *testing.T, res *host.Result) {
	return func(t *testing.T, res *host.Result) {
		t.Helper()
		logs := eventsOf(res, store.EventLog, step)
		if len(logs) != lines+1 {
			t.Fatalf("%d log events, want %d lines and one warning", len(logs), lines)
		}
		last := logs[len(logs)-1]
		if last.Level != store.LevelWarn || last.Message != warning {
			t.Errorf("last log event %s %q, want WARNING %q", last.Level, last.Message, warning)
		}
		if len(res.Events) > lines+20 {
			t.Errorf("the run stored %d events in all", len(res.Events))
		}
	}
}

// assetManifest is the manifest of a generated guest: one json asset.
func assetManifest(key string) []byte {
	return []byte(`{"abi_version":1,"assets":[{"key":"` + key + `","group":"hostile","output":{"format":"json"}}]}`)
}

// guest describes a module that TestHostileGuests generates: these are impractical to write as
// WebAssembly text (a 10,000-deep manifest, 100,000 functions, names that are not UTF-8, which
// wat2wasm refuses), so this code is their source. Every guest has the three ABI exports;
// wasmorch_manifest hands the host `manifest` (placed at offset 1024), and wasmorch_run writes
// the JSON value 1 to "result" and returns 0.
type guest struct {
	manifest []byte
	// extraFuncs adds functions 0..n-1, each returning its number; wasmorch_run calls the last
	// one and fails unless it returns n-1.
	extraFuncs int
	// extraImport adds an import wasmorch.<extraImport> of type (i32, i32) -> i32.
	extraImport string
	// extraExport exports wasmorch_run a second time under this name.
	extraExport string
	// pad adds a custom section of this many bytes, so the module is at least that large.
	pad int
	// runName names wasmorch_run in a name section, which wazero uses in trap stack traces;
	// trap makes wasmorch_run execute unreachable first.
	runName string
	trap    bool
}

// writeGuest assembles g and writes it to a temporary file named name.wasm.
func writeGuest(t *testing.T, name string, g guest) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".wasm")
	if err := os.WriteFile(p, g.assemble(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (g guest) assemble() []byte {
	const (
		i32                                                                         = 0x7f
		secCustom, secType, secImport, secFunc, secMem, secExport, secCode, secData = 0, 1, 2, 3, 5, 7, 10, 11
	)
	uleb := func(v uint64) []byte { return leb128.AppendUint(nil, v) }
	sleb := func(v int64) []byte { return leb128.AppendInt(nil, v) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	str := func(s string) []byte { return cat(uleb(uint64(len(s))), []byte(s)) }
	vec := func(items [][]byte) []byte { return cat(uleb(uint64(len(items))), cat(items...)) }
	section := func(id byte, payload []byte) []byte { return cat([]byte{id}, uleb(uint64(len(payload))), payload) }
	i32Const := func(v int64) []byte { return cat([]byte{0x41}, sleb(v)) }
	call := func(idx int) []byte { return cat([]byte{0x10}, uleb(uint64(idx))) }

	// Types: 0 (i32 i32)->i32, 1 ()->i32, 2 (i32 i32 i32)->i32, 3 (i32)->i32.
	types := [][]byte{
		{0x60, 2, i32, i32, 1, i32},
		{0x60, 0, 1, i32},
		{0x60, 3, i32, i32, i32, 1, i32},
		{0x60, 1, i32, 1, i32},
	}
	imp := func(mod, name string, typ byte) []byte { return cat(str(mod), str(name), []byte{0x00, typ}) }
	imports := [][]byte{
		imp("wasmorch", "manifest_write", 0),
		imp("wasmorch", "output_open", 2),
		imp("wasmorch", "output_write", 2),
		imp("wasmorch", "output_close", 3),
	}
	const fnManifestWrite, fnOutputOpen, fnOutputWrite, fnOutputClose = 0, 1, 2, 3
	if g.extraImport != "" {
		imports = append(imports, imp("wasmorch", g.extraImport, 0))
	}
	base := len(imports) // index of the first defined function
	body := func(code ...[]byte) []byte {
		b := cat(append([][]byte{{0}}, append(code, []byte{0x0b})...)...) // no locals; end
		return cat(uleb(uint64(len(b))), b)
	}
	funcTypes := [][]byte{{1}, {1}, {1}}
	bodies := [][]byte{
		// wasmorch_abi_version: 1
		body(i32Const(1)),
		// wasmorch_manifest: manifest_write(1024, len) < 0, as 1 or 0 (the sign bit)
		body(i32Const(1024), i32Const(int64(len(g.manifest))), call(fnManifestWrite), i32Const(31), []byte{0x76}),
	}
	// wasmorch_run: write 1 to "result" through a handle in its one local, then return the last
	// extra function's result minus n-1 (0 when it is right), or 0.
	var run [][]byte
	if g.trap {
		run = append(run, []byte{0x00}) // unreachable
	}
	run = append(run, [][]byte{
		i32Const(512), i32Const(6), i32Const(2), call(fnOutputOpen), {0x21, 0}, // local.set 0
		{0x20, 0}, i32Const(520), i32Const(1), call(fnOutputWrite), {0x1a}, // drop
		{0x20, 0}, call(fnOutputClose), {0x1a},
	}...)
	if g.extraFuncs > 0 {
		run = append(run, call(base+3+g.extraFuncs-1), i32Const(int64(g.extraFuncs-1)), []byte{0x6b}) // i32.sub
	} else {
		run = append(run, i32Const(0))
	}
	runBody := cat([]byte{1, 1, i32}, cat(run...), []byte{0x0b}) // one local of type i32
	bodies = append(bodies, cat(uleb(uint64(len(runBody))), runBody))
	for i := range g.extraFuncs {
		funcTypes = append(funcTypes, []byte{1})
		bodies = append(bodies, body(i32Const(int64(i))))
	}
	exp := func(name string, kind byte, idx int) []byte { return cat(str(name), []byte{kind}, uleb(uint64(idx))) }
	exports := [][]byte{
		exp("memory", 2, 0),
		exp("wasmorch_abi_version", 0, base),
		exp("wasmorch_manifest", 0, base+1),
		exp("wasmorch_run", 0, base+2),
	}
	if g.extraExport != "" {
		exports = append(exports, exp(g.extraExport, 0, base+2))
	}
	pages := (1024+len(g.manifest))/65536 + 1
	data := func(offset int, b []byte) []byte {
		return cat([]byte{0}, i32Const(int64(offset)), []byte{0x0b}, uleb(uint64(len(b))), b)
	}
	mod := cat(
		[]byte("\x00asm\x01\x00\x00\x00"),
		section(secType, vec(types)),
		section(secImport, vec(imports)),
		section(secFunc, vec(funcTypes)),
		section(secMem, cat([]byte{1, 0}, uleb(uint64(pages)))),
		section(secExport, vec(exports)),
		section(secCode, vec(bodies)),
		section(secData, vec([][]byte{data(512, []byte("result")), data(520, []byte("1")), data(1024, g.manifest)})),
	)
	if g.runName != "" {
		// The name section: subsection 1, function names, one entry.
		names := cat(uleb(1), uleb(uint64(base+2)), str(g.runName))
		mod = append(mod, section(secCustom, cat(str("name"), []byte{1}, uleb(uint64(len(names))), names))...)
	}
	if g.pad > 0 {
		mod = append(mod, section(secCustom, cat(str("padding"), make([]byte, g.pad)))...)
	}
	return mod
}
