package interrupt

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// fuelGlobal is the global entry Instrument appends.
var fuelGlobal = cat(ops(tI32, 1), i32c(Quantum), ops(opEnd))

// yieldImport is the import entry Instrument appends, for type index t.
func yieldImport(t uint32) []byte {
	return cat(str(HostModule), str(YieldName), ops(kFunc), uleb(uint64(t)))
}

var voidType = funcType(nil, nil)

func TestInstrumentGolden(t *testing.T) {
	producers := custom("producers", []byte{0})
	nameSec := func(idx uint32) []byte {
		funcNames := vec(cat(uleb(uint64(idx)), str("spin")))
		return custom("name", cat([]byte{1}, uleb(uint64(len(funcNames))), funcNames))
	}
	types := sec(idType, vec(voidType, funcType(nil, []byte{tI32})))
	funcs := sec(idFunc, vec([]byte{0}, []byte{1}))
	spinCode := func(check []byte) []byte {
		return sec(idCode, vec(
			body(nil, check, ops(opLoop, void), check, ops(opBr, 0, opEnd, opEnd)),
			body(nil, check, i32c(7), ops(opEnd)),
		))
	}
	mem := sec(idMem, vec(ops(0, 1)))
	data := sec(idData, vec(cat(ops(0), i32c(0), ops(opEnd), str("hi"))))

	tests := []struct {
		name     string
		in, want []byte
	}{
		{
			name: "reuses () -> (), adds import and global, renumbers exports and names, drops only .debug_",
			in: module(producers, types, funcs,
				sec(idExport, vec(export("spin", kFunc, 0), export("entry", kFunc, 1))),
				custom(".debug_info", []byte{1, 2, 3}),
				spinCode(nil),
				custom(".debug_line", []byte{4}), custom("metadata.code.branch_hint", []byte{0}),
				nameSec(0), custom("debug_kept", []byte{9})),
			want: module(producers, types,
				sec(idImport, vec(yieldImport(0))),
				funcs,
				sec(idGlobal, vec(fuelGlobal)),
				sec(idExport, vec(export("spin", kFunc, 1), export("entry", kFunc, 2), export(FuelGlobal, kGlobal, 0))),
				spinCode(checkBytes(0, 0)),
				nameSec(1), custom("debug_kept", []byte{9})),
		},
		{
			name: "appends () -> (), creates sections in order",
			in: module(sec(idType, vec(funcType(nil, []byte{tI32}))), sec(idFunc, vec([]byte{0})), mem,
				sec(idCode, vec(body(nil, i32c(7), ops(opEnd)))), data),
			want: module(
				sec(idType, vec(funcType(nil, []byte{tI32}), voidType)),
				sec(idImport, vec(yieldImport(1))),
				sec(idFunc, vec([]byte{0})), mem,
				sec(idGlobal, vec(fuelGlobal)),
				sec(idExport, vec(export(FuelGlobal, kGlobal, 0))),
				sec(idCode, vec(body(nil, checkBytes(0, 0), i32c(7), ops(opEnd)))), data),
		},
		{
			name: "yield after imported functions, fuel after globals, check after locals",
			in: module(
				sec(idType, vec(voidType)),
				sec(idImport, vec(
					cat(str("env"), str("f"), ops(kFunc, 0)),
					cat(str("env"), str("g"), ops(kGlobal, tI64, 1)),
				)),
				sec(idFunc, vec([]byte{0})),
				sec(idGlobal, vec(cat(ops(tI32, 0), i32c(1), ops(opEnd)), cat(ops(tI32, 1), i32c(2), ops(opEnd)))),
				sec(idStart, uleb(1)),
				// call 0 (imported, in a padded LEB128 kept as is) and call 1 (defined)
				sec(idCode, vec(body([][2]byte{{2, tI32}, {1, tI64}}, ops(opCall, 0x80, 0x00, opCall, 1, opEnd)))),
			),
			want: module(
				sec(idType, vec(voidType)),
				sec(idImport, vec(
					cat(str("env"), str("f"), ops(kFunc, 0)),
					cat(str("env"), str("g"), ops(kGlobal, tI64, 1)),
					yieldImport(0),
				)),
				sec(idFunc, vec([]byte{0})),
				sec(idGlobal, vec(cat(ops(tI32, 0), i32c(1), ops(opEnd)), cat(ops(tI32, 1), i32c(2), ops(opEnd)), fuelGlobal)),
				sec(idExport, vec(export(FuelGlobal, kGlobal, 3))),
				sec(idStart, uleb(2)),
				sec(idCode, vec(body([][2]byte{{2, tI32}, {1, tI64}}, checkBytes(3, 1), ops(opCall, 0x80, 0x00, opCall, 2, opEnd)))),
			),
		},
		{
			name: "a () -> () in a recursive type group is not reused",
			in:   module(sec(idType, cat(uleb(2), ops(0x4e, 2), voidType, voidType, funcType(nil, []byte{tI32})))),
			want: module(
				sec(idType, cat(uleb(3), ops(0x4e, 2), voidType, voidType, funcType(nil, []byte{tI32}), voidType)),
				sec(idImport, vec(yieldImport(3))),
				sec(idGlobal, vec(fuelGlobal)), sec(idExport, vec(export(FuelGlobal, kGlobal, 0)))),
		},
		{
			name: "empty module",
			in:   module(),
			want: module(sec(idType, vec(voidType)), sec(idImport, vec(yieldImport(0))),
				sec(idGlobal, vec(fuelGlobal)), sec(idExport, vec(export(FuelGlobal, kGlobal, 0)))),
		},
		{
			name: "renumbers every kind of function reference",
			in:   renumberWasm(),
			want: renumberWant(),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustInstrument(t, tc.in)
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("Instrument:\n got % x\nwant % x", got, tc.want)
			}
			cfg := wazero.NewRuntimeConfig().WithCoreFeatures(allFeatures)
			if _, err := wazero.NewRuntimeWithConfig(context.Background(), cfg).CompileModule(context.Background(), got); err != nil {
				t.Fatalf("wazero rejects output: %v", err)
			}
		})
	}
}

// renumberWant is renumberWasm instrumented, spelled out: env.add1 stays
// function 0, yield is function 1, defined functions move up by one; the
// fuel is global 3, after env.g and two defined globals.
func renumberWant() []byte {
	ck := checkBytes(3, 1)
	konst := func(v int32) []byte { return body(nil, ck, i32c(v), ops(opEnd)) }
	callSlot := func(slot int32) []byte { return cat(i32c(slot), ops(opCallIndirect, 1, 0)) }
	tableInit := func(seg byte) []byte { return ops(0xfc, 12, seg, 0) }
	refFunc := func(f byte) []byte { return ops(opRefFunc, f) }
	code := vec(
		konst(10), konst(20), konst(30), konst(40),
		body(nil, ck, ops(opLGet, 0, opCallIndirect, 1, 0, opEnd)),
		body(nil, ck, i32c(41), ops(opCall, 0, opGlobalSet, 1, opEnd)),
		body(nil, ck, ops(opGlobalGet, 1, opEnd)),
		body(nil, ck,
			i32c(6), i32c(0), i32c(2), tableInit(1),
			i32c(8), i32c(0), i32c(1), tableInit(5),
			i32c(0), ops(opEnd)),
		body(nil, ck,
			i32c(9), refFunc(3), ops(opTableSet, 0),
			i32c(10), refFunc(4), ops(opTableSet, 0),
			callSlot(9), i32c(100), ops(opMul), callSlot(10), ops(opAdd, opEnd)),
		body(nil, ck, i32c(11), ops(opGlobalGet, 2, opTableSet, 0), callSlot(11), ops(opEnd)),
		body(nil, ck, ops(opLGet, 0, opReturnCall, 6, opEnd)),
		body(nil, ck, ops(opLGet, 0, opReturnCall, 0, opEnd)),
		body(nil, ck, ops(opLGet, 0, opCall, 0, opEnd)),
	)
	expr := func(b ...[]byte) []byte { return cat(cat(b...), ops(opEnd)) }
	elems := vec(
		cat(uleb(0), expr(i32c(0)), vec([]byte{2}, []byte{3})),
		cat(uleb(1), ops(0), vec([]byte{5}, []byte{4})),
		cat(uleb(2), uleb(0), expr(i32c(2)), ops(0), vec([]byte{4})),
		cat(uleb(3), ops(0), vec([]byte{3})),
		cat(uleb(4), expr(i32c(3)), vec(expr(refFunc(5)), expr(ops(opRefNull, tFuncref)))),
		cat(uleb(5), ops(tFuncref), vec(expr(refFunc(2)))),
		cat(uleb(6), uleb(0), expr(ops(opGlobalGet, 0)), ops(tFuncref), vec(expr(refFunc(3)))),
		cat(uleb(7), ops(tFuncref), vec(expr(refFunc(4)))),
	)
	return module(
		sec(idType, vec(
			funcType([]byte{tI32}, []byte{tI32}),
			funcType(nil, []byte{tI32}),
			funcType(nil, nil),
		)),
		sec(idImport, vec(
			cat(str("env"), str("add1"), ops(kFunc, 0)),
			cat(str("env"), str("g"), ops(kGlobal, tI32, 0)),
			yieldImport(2),
		)),
		sec(idFunc, vec([]byte{1}, []byte{1}, []byte{1}, []byte{1}, []byte{0}, []byte{2}, []byte{1},
			[]byte{1}, []byte{1}, []byte{1}, []byte{0}, []byte{0}, []byte{0})),
		sec(idTable, vec(ops(tFuncref, 0, 16))),
		sec(idGlobal, vec(
			cat(ops(tI32, 1), i32c(0), ops(opEnd)),
			cat(ops(tFuncref, 0), refFunc(5), ops(opEnd)),
			fuelGlobal,
		)),
		sec(idExport, vec(
			export("ten", kFunc, 2), export("dispatch", kFunc, 6), export("started", kFunc, 8),
			export("initPassive", kFunc, 9), export("viaRef", kFunc, 10), export("viaGlobal", kFunc, 11),
			export("tail", kFunc, 12), export("tailImport", kFunc, 13), export("callAdd", kFunc, 14),
			export(FuelGlobal, kGlobal, 3),
		)),
		sec(idStart, uleb(7)),
		sec(idElem, elems),
		sec(idCode, code),
		renumberNames(1),
	)
}

// TestInstrumentRenumbering runs renumberWasm plain and instrumented: every
// way of reaching a function must still reach the same one.
func TestInstrumentRenumbering(t *testing.T) {
	cfg := wazero.NewRuntimeConfig().WithCoreFeatures(allFeatures)
	for name, wasm := range map[string][]byte{"plain": renumberWasm(), "instrumented": mustInstrument(t, renumberWasm())} {
		t.Run(name, func(t *testing.T) {
			r := newRuntime(t, cfg)
			instantiate(t, r, envWasm(), "env")
			mod := instantiate(t, r, wasm, "renum")
			expect := func(fn string, want uint64, args ...uint64) {
				t.Helper()
				if got, err := call(t, mod, fn, args...); err != nil || got[0] != want {
					t.Errorf("%s%v = %v, %v; want %d", fn, args, got, err, want)
				}
			}
			expect("started", 42) // the start function ran, and called the import
			expect("ten", 10)
			for slot, want := range map[uint64]uint64{0: 10, 1: 20, 2: 30, 3: 40, 5: 20} {
				expect("dispatch", want, slot)
			}
			if _, err := call(t, mod, "dispatch", 4); err == nil {
				t.Error("dispatch(4) through a null slot succeeded")
			}
			expect("initPassive", 0)
			for slot, want := range map[uint64]uint64{6: 40, 7: 30, 8: 10} {
				expect("dispatch", want, slot)
			}
			expect("viaRef", 2030)
			expect("viaGlobal", 40)
			expect("tail", 30, 2)
			expect("tailImport", 6, 5)
			expect("callAdd", 2, 1)

			// The name section still names the right functions.
			for export, want := range map[string]string{"dispatch": "dispatch", "ten": "ten", "callAdd": "callAdd", "started": ""} {
				def := mod.ExportedFunction(export).Definition()
				if def.Name() != want {
					t.Errorf("export %s: Name() = %q, want %q", export, def.Name(), want)
				}
				if want != "" && def.DebugName() != "renum."+want {
					t.Errorf("export %s: DebugName() = %q, want %q", export, def.DebugName(), "renum."+want)
				}
			}
		})
	}
}

func TestInstrumentNames(t *testing.T) {
	types := sec(idType, vec(voidType))
	funcs := sec(idFunc, vec([]byte{0}))
	code := sec(idCode, vec(body(nil, ops(opEnd))))
	exports := sec(idExport, vec(export("f", kFunc, 0)))
	want := func(names ...[]byte) []byte {
		return module(types, sec(idImport, vec(yieldImport(0))), funcs, sec(idGlobal, vec(fuelGlobal)),
			sec(idExport, vec(export("f", kFunc, 1), export(FuelGlobal, kGlobal, 0))),
			sec(idCode, vec(body(nil, checkBytes(0, 0), ops(opEnd)))), cat(names...))
	}
	fnames := func(idx uint64) []byte { return cat([]byte{1}, sized(vec(cat(uleb(idx), str("f"))))) }
	for _, tc := range []struct {
		name     string
		in, want []byte
	}{
		{"unknown subsections copied", custom("name", cat([]byte{9}, sized(ops(1, 2, 3)), fnames(0))),
			custom("name", cat([]byte{9}, sized(ops(1, 2, 3)), fnames(1)))},
		{"index past the functions still shifted", custom("name", fnames(7)), custom("name", fnames(8))},
		{"truncated subsection dropped", custom("name", cat(fnames(0), []byte{1, 5, 1})), nil},
		{"trailing bytes in a subsection dropped", custom("name", cat([]byte{1}, sized(vec(cat(uleb(0), str("f"))), ops(0)))), nil},
		{"unrepresentable index dropped", custom("name", cat([]byte{1}, sized(vec(cat(uleb(math.MaxUint32), str("f")))))), nil},
		{"other custom sections untouched", custom("names", fnames(0)), custom("names", fnames(0))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mustInstrument(t, module(types, funcs, exports, code, tc.in))
			if w := want(tc.want); !bytes.Equal(got, w) {
				t.Fatalf("Instrument:\n got % x\nwant % x", got, w)
			}
		})
	}
}

func TestInstrumentKeepsSemantics(t *testing.T) {
	plainRT, instRT := newRuntime(t, nil), newRuntime(t, nil)
	plain := instantiate(t, plainRT, controlWasm(), "plain")
	inst := instantiate(t, instRT, mustInstrument(t, controlWasm()), "inst")
	for _, n := range []uint32{0, 1, 2, 3, 5, 8, 17, 100, 1000, 12345} {
		want := mixRef(n)
		for _, m := range []struct {
			name string
			fn   string
			want uint32
			skip bool
		}{
			{"mix", "mix", want, false},
			{"tri", "tri", n * (n + 1) / 2, n == 0}, // tri(0) wraps and runs 2^32 rounds
		} {
			if m.skip {
				continue
			}
			gotPlain, err := call(t, plain, m.fn, uint64(n))
			if err != nil {
				t.Fatalf("plain %s(%d): %v", m.fn, n, err)
			}
			gotInst, err := call(t, inst, m.fn, uint64(n))
			if err != nil {
				t.Fatalf("instrumented %s(%d): %v", m.fn, n, err)
			}
			if uint32(gotPlain[0]) != m.want || uint32(gotInst[0]) != m.want {
				t.Errorf("%s(%d): plain %d, instrumented %d, want %d", m.fn, n, uint32(gotPlain[0]), uint32(gotInst[0]), m.want)
			}
		}
	}
}

// TestInstrumentRecursion runs deep recursion, a check per call and many
// yields, instrumented and plain.
func TestInstrumentRecursion(t *testing.T) {
	plain := instantiate(t, newRuntime(t, nil), fibWasm(), "plain")
	inst := instantiate(t, newRuntime(t, nil), mustInstrument(t, fibWasm()), "inst")
	for _, n := range []uint64{0, 1, 2, 10, 20, 25} {
		want := uint64(fibRef(uint32(n)))
		for name, mod := range map[string]api.Module{"plain": plain, "instrumented": inst} {
			if got, err := call(t, mod, "fib", n); err != nil || got[0] != want {
				t.Errorf("%s fib(%d) = %v, %v; want %d", name, n, got, err, want)
			}
		}
	}
}

func TestInstrumentWithImports(t *testing.T) {
	env := module(
		sec(idType, vec(funcType([]byte{tI32}, []byte{tI32}))),
		sec(idFunc, vec([]byte{0})),
		sec(idTable, vec(ops(0x70, 0, 1))),
		sec(idMem, vec(ops(0, 1))),
		sec(idGlobal, vec(cat(ops(tI32, 0), i32c(5), ops(opEnd)), ops(tI64, 1, opI64C, 7, opEnd))),
		sec(idExport, vec(export("f", kFunc, 0), export("tab", kTable, 0), export("mem", kMem, 0),
			export("g1", kGlobal, 0), export("g2", kGlobal, 1))),
		sec(idCode, vec(body(nil, ops(opLGet, 0), i32c(1), ops(opAdd, opEnd)))),
	)
	// Imports interleave functions, globals, a table and a memory; one
	// defined global follows, so the fuel must land at global index 3, and
	// yield at function index 2.
	main := module(
		sec(idType, vec(funcType([]byte{tI32}, []byte{tI32}), funcType(nil, []byte{tI32}))),
		sec(idImport, vec(
			cat(str("env"), str("f"), ops(kFunc, 0)),
			cat(str("env"), str("g1"), ops(kGlobal, tI32, 0)),
			cat(str("env"), str("tab"), ops(kTable, 0x70, 0, 1)),
			cat(str("env"), str("mem"), ops(kMem, 0, 1)),
			cat(str("env"), str("g2"), ops(kGlobal, tI64, 1)),
			cat(str("env"), str("f"), ops(kFunc, 0)),
		)),
		sec(idFunc, vec([]byte{1}, []byte{1})),
		sec(idGlobal, vec(cat(ops(tI32, 0), i32c(42), ops(opEnd)))),
		sec(idExport, vec(export("run", kFunc, 2), export("get", kFunc, 3), export("mine", kGlobal, 2))),
		sec(idCode, vec(
			body(nil, ops(opLoop, void), i32c(1), ops(opCall, 1, opDrop, opBr, 0, opEnd), i32c(0), ops(opEnd)),
			body(nil, ops(opGlobalGet, 2, opGlobalGet, 0, opAdd, opEnd)),
		)),
	)
	out := mustInstrument(t, main)
	if !bytes.Contains(out, export(FuelGlobal, kGlobal, 3)) || !bytes.Contains(out, checkBytes(3, 2)) ||
		!bytes.Contains(out, export("run", kFunc, 3)) || !bytes.Contains(out, yieldImport(2)) {
		t.Fatalf("fuel not at global index 3 or yield not at function index 2:\n% x", out)
	}

	r := newRuntime(t, nil)
	envMod := instantiate(t, r, env, "env")
	mod := instantiate(t, r, out, "main")
	if got, err := call(t, mod, "get"); err != nil || got[0] != 47 {
		t.Fatalf("get() = %v, %v; want 47", got, err)
	}

	done := make(chan error, 1)
	go func() { _, err := call(t, mod, "run"); done <- err }()
	time.Sleep(20 * time.Millisecond)
	if err := Interrupt(mod); err != nil {
		t.Fatal(err)
	}
	if err := waitInterrupted(t, done); err != nil {
		t.Fatal(err)
	}
	if got := mod.ExportedGlobal("mine").Get(); got != 42 {
		t.Errorf("mine = %d after Interrupt, want 42", got)
	}
	if got := envMod.ExportedGlobal("g2").Get(); got != 7 {
		t.Errorf("env.g2 = %d after Interrupt, want 7", got)
	}
	if _, err := call(t, mod, "get"); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("get() after Interrupt = %v, want ErrInterrupted", err)
	}
	other := instantiate(t, r, out, "other")
	if got, err := call(t, other, "get"); err != nil || got[0] != 47 {
		t.Fatalf("get() in another instance = %v, %v; want 47", got, err)
	}
}

func TestInstrumentErrors(t *testing.T) {
	spin := spinWasm()
	code := func(bodies ...[]byte) []byte {
		types := make([][]byte, len(bodies))
		for i := range types {
			types[i] = []byte{0}
		}
		return module(
			sec(idType, vec(funcType(nil, nil))),
			sec(idFunc, vec(types...)),
			sec(idCode, vec(bodies...)),
		)
	}
	tests := []struct {
		name string
		in   []byte
		want []string // substrings of the message
	}{
		{"empty", nil, []string{"truncated header: 0 bytes"}},
		{"truncated header", header[:6], []string{"truncated header: 6 bytes"}},
		{"bad magic", cat([]byte("\x00asn"), header[4:]), []string{"bad magic number 00 61 73 6e"}},
		{"bad version", cat(header[:4], []byte{2, 0, 0, 0}), []string{"unsupported version 02 00 00 00"}},
		{"truncated", spin[:len(spin)-3], []string{"code section at offset 0x", "runs past the end"}},
		{"unknown section", module([]byte{14, 0}), []string{"unknown section id 14 at offset 0x8"}},
		{"overlong section size", cat(header, []byte{idType, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}), []string{"type section at offset 0x8", "offset 0x9: LEB128 longer than 5 bytes"}},
		{"duplicate section", module(sec(idType, vec()), sec(idType, vec())), []string{"type section at offset 0xb: duplicate or out of order"}},
		{"out of order", module(sec(idExport, vec()), sec(idFunc, vec())), []string{"function section", "out of order"}},
		{"custom name past end", module(sec(0, uleb(9), []byte("ab"))), []string{"custom section", "custom section name of 9 bytes runs past the end"}},
		{"body past section", module(sec(idType, vec(funcType(nil, nil))), sec(idFunc, vec([]byte{0})), sec(idCode, uleb(1), uleb(100), ops(0, opEnd))),
			[]string{"code section at offset", "function 0 (code entry 0)", "body size 100 runs past the end of the code section (2 bytes left)"}},
		{"unknown opcode", code(body(nil, ops(0x27, opEnd))), []string{"function 0", "unknown opcode 0x27"}},
		{"unknown opcode in second function", code(body(nil, ops(opEnd)), body(nil, ops(0x01, 0xd3, opEnd))), []string{"function 1 (code entry 1)", "unknown opcode 0xd3"}},
		{"unknown simd opcode", code(body(nil, ops(0xfd, 0x9a, 0x01, opEnd))), []string{"unknown opcode 0xfd 154"}},
		{"unknown misc opcode", code(body(nil, ops(0xfc, 18, opEnd))), []string{"unknown opcode 0xfc 18"}},
		{"unknown atomic opcode", code(body(nil, ops(0xfe, 0x04, opEnd))), []string{"unknown opcode 0xfe 0x4"}},
		{"atomic fence reserved byte", code(body(nil, ops(0xfe, 0x03, 0x01, opEnd))), []string{"expected reserved byte 0x00, got 0x1"}},
		{"missing end", code(body(nil, i32c(1), ops(opDrop))), []string{"function 0", "unexpected end", "not terminated by end"}},
		{"unbalanced block", code(body(nil, ops(opBlock, void, opEnd))), []string{"not terminated by end"}},
		{"trailing bytes", code(body(nil, ops(opEnd, 0x01))), []string{"1 trailing bytes after the end of the function"}},
		{"bad local type", code(body([][2]byte{{1, 0x55}}, ops(opEnd))), []string{"locals", "invalid value type 0x55"}},
		{"immediate past end", code(body(nil, ops(opI32C, 0x80))), []string{"truncated LEB128"}},
		{"global beyond fuel", code(body(nil, ops(opGlobalGet, 0, opDrop, opEnd))), []string{"global index 0 out of range (module has 0 globals)"}},
		{"global.set beyond fuel", code(body(nil, i32c(0), ops(opGlobalSet, 0, opEnd))), []string{"global index 0 out of range"}},
		{"export of missing global", module(sec(idExport, vec(export("g", kGlobal, 0)))), []string{`export "g"`, "global index 0 out of range"}},
		{"bad import kind", module(sec(idImport, vec(cat(str("m"), str("n"), ops(9))))), []string{"import section", "import 0", "invalid import kind 0x9"}},
		{"count past section", module(sec(idExport, uleb(1000), ops(0, 0))), []string{"export section", "count 1000 exceeds the 2 bytes left"}},
		{"too many locals", code(body(nil, ops(opEnd)), sized(vec(cat(uleb(40_000), ops(tI32)), cat(uleb(10_001), ops(tI64))), ops(opEnd))),
			[]string{"function 1", "more than 50000 locals"}},
		{"trailing import bytes", module(sec(idImport, vec(), ops(0))), []string{"1 trailing bytes"}},
		{"unsupported type form", module(sec(idType, vec(ops(0x5f, 0, 0)))), []string{"type section", "type entry 0", "unsupported type form 0x5f"}},
		{"trailing type bytes", module(sec(idType, vec(voidType), ops(0))), []string{"type section", "1 trailing bytes"}},
		{"global init beyond fuel", module(sec(idGlobal, vec(cat(ops(tI32, 0, opGlobalGet, 1, opEnd))))),
			[]string{"global section", "global 0", "global index 1 out of range (module has 1 globals)"}},
		{"bad element flags", module(sec(idElem, vec(uleb(8)))), []string{"element section", "element segment 0", "invalid element segment flags 8"}},
		{"bad element kind", module(sec(idElem, vec(cat(uleb(1), ops(1), vec())))), []string{"invalid element kind 0x1"}},
		{"truncated element expression", module(sec(idElem, vec(cat(uleb(5), ops(tFuncref), uleb(1), ops(opRefFunc))))), []string{"element segment 0", "truncated LEB128"}},
		{"function index overflow", code(body(nil, ops(opCall), uleb(math.MaxUint32), ops(opEnd))), []string{"function 0", "function index 4294967295 out of range"}},
		{"start index overflow", module(sec(idStart, uleb(math.MaxUint32))), []string{"start section", "function index 4294967295 out of range"}},
		{"trailing start bytes", module(sec(idStart, uleb(0), ops(0))), []string{"start section", "1 trailing bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Instrument(tc.in)
			if err == nil {
				t.Fatalf("Instrument succeeded: % x", out)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %q does not wrap ErrMalformed", err)
			}
			if out != nil {
				t.Errorf("returned bytes with an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestInstrumentAlreadyInstrumented(t *testing.T) {
	for name, in := range map[string][]byte{
		"output":             mustInstrument(t, spinWasm()),
		"exports the fuel":   module(sec(idFunc, vec([]byte{0})), sec(idExport, vec(export(FuelGlobal, kFunc, 0)))),
		"imports yield":      module(sec(idImport, vec(cat(str(HostModule), str(YieldName), ops(kFunc, 0))))),
		"imports other name": module(sec(idImport, vec(cat(str(HostModule), str("g"), ops(kGlobal, tI32, 1))))),
	} {
		out, err := Instrument(in)
		if !errors.Is(err, ErrAlreadyInstrumented) || errors.Is(err, ErrMalformed) || out != nil {
			t.Errorf("%s: Instrument = %v, want ErrAlreadyInstrumented", name, err)
		}
	}
}

func TestInstrumentDeterministic(t *testing.T) {
	for _, in := range [][]byte{spinWasm(), controlWasm(), countWasm()} {
		orig := bytes.Clone(in)
		a, b := mustInstrument(t, in), mustInstrument(t, in)
		if !bytes.Equal(a, b) {
			t.Errorf("two runs differ")
		}
		if !bytes.Equal(in, orig) {
			t.Errorf("input modified")
		}
	}
}

// TestInstrumentImmediates checks the decoder's immediate lengths for each
// operator family: if one is wrong, the walk desynchronises and the loop that
// follows is missed or an error is reported.
func TestInstrumentImmediates(t *testing.T) {
	memarg := ops(2, 0x80, 0x01) // align 2, offset 128
	instrs := map[string][]byte{
		"select t":               ops(0x1c, 2, tI32, 0x63, 0x00),
		"br_table":               ops(opBrTb, 3, 0, 0, 0, 0),
		"call_indirect":          ops(0x11, 0x81, 0x01, 0),
		"return_call_indirect":   ops(0x13, 1, 0),
		"i64.const":              cat([]byte{opI64C}, sleb(-1<<40)),
		"f32.const":              ops(0x43, 1, 2, 3, 4),
		"f64.const":              ops(0x44, 1, 2, 3, 4, 5, 6, 7, 8),
		"i32.load":               cat([]byte{0x28}, memarg),
		"multi-memory load":      ops(0x28, 0x42, 1, 0),
		"memory.grow":            ops(0x40, 0),
		"ref.null":               ops(0xd0, 0x70),
		"ref.null typed":         ops(0xd0, 0x80, 0x01),
		"ref.func":               ops(0xd2, 5),
		"ref.func renumbered":    ops(0xd2, 0x80, 0x01),
		"call":                   ops(opCall, 0),
		"return_call":            ops(0x12, 3),
		"table.get":              ops(0x25, 0),
		"block typed ref":        ops(opBlock, 0x63, 0x70, opEnd),
		"block type index":       ops(opBlock, 0x81, 0x01, opEnd),
		"try_table":              ops(0x1f, void, 4, 0, 1, 0, 1, 1, 0, 2, 0, 3, 0, opEnd),
		"legacy try":             ops(0x06, void, 0x07, 0, 0x19, opEnd),
		"legacy delegate":        ops(0x06, void, opDelegate, 0),
		"trunc_sat":              ops(0xfc, 7),
		"memory.init":            ops(0xfc, 8, 1, 0),
		"memory.copy":            ops(0xfc, 10, 0, 0),
		"memory.fill":            ops(0xfc, 11, 0),
		"table.init":             ops(0xfc, 12, 1, 0),
		"table.fill":             ops(0xfc, 17, 0),
		"v128.load":              cat([]byte{0xfd, 0}, memarg),
		"v128.const":             cat([]byte{0xfd, 0x0c}, bytes.Repeat([]byte{0x03}, 16)),
		"i8x16.shuffle":          cat([]byte{0xfd, 0x0d}, bytes.Repeat([]byte{0x03}, 16)),
		"extract_lane":           ops(0xfd, 0x15, 3),
		"load8_lane":             cat([]byte{0xfd, 0x54}, memarg, ops(3)),
		"load32_zero":            cat([]byte{0xfd, 0x5c}, memarg),
		"i8x16.popcnt (1-byte)":  ops(0xfd, 0x62),
		"f64x2.convert (2-byte)": ops(0xfd, 0xff, 0x01),
		"atomic.notify":          cat([]byte{0xfe, 0}, memarg),
		"atomic.fence":           ops(0xfe, 3, 0),
		"atomic cmpxchg":         cat([]byte{0xfe, 0x4e}, memarg),
	}
	// With no imports, yield is function 0 and every index moves up by one.
	renumbered := map[string][]byte{
		"ref.func":            ops(0xd2, 6),
		"ref.func renumbered": ops(0xd2, 0x81, 0x01),
		"call":                ops(opCall, 1),
		"return_call":         ops(0x12, 4),
	}
	for name, in := range instrs {
		t.Run(name, func(t *testing.T) {
			wasm := module(
				sec(idType, vec(funcType(nil, nil))),
				sec(idFunc, vec([]byte{0})),
				sec(idCode, vec(body(nil, in, ops(opLoop, void, opEnd, opEnd)))),
			)
			out := mustInstrument(t, wasm)
			if w, ok := renumbered[name]; ok {
				in = w
			}
			want := sec(idCode, vec(body(nil, checkBytes(0, 0), in, ops(opLoop, void), checkBytes(0, 0), ops(opEnd, opEnd))))
			if !bytes.HasSuffix(out, want) {
				t.Errorf("code section:\n got % x\nwant suffix % x", out, want)
			}
		})
	}
}
