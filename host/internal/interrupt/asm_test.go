package interrupt

import (
	"bytes"
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/wasmorch/wasmorch/host/internal/leb128"
)

// A tiny assembler for hand-built test modules: each helper returns encoded
// bytes, and cat glues them together.

const (
	tI32   = 0x7f
	tI64   = 0x7e
	void   = 0x40 // empty block type
	opBr   = 0x0c
	opBrIf = 0x0d
	opBrTb = 0x0e
	opElse = 0x05
	opDrop = 0x1a
	opLGet = 0x20
	opLSet = 0x21
	opLTee = 0x22
	opI32C = 0x41
	opI64C = 0x42
	opEqz  = 0x45
	opGeU  = 0x4f
	opLtU  = 0x49
	opAdd  = 0x6a
	opSub  = 0x6b
	opMul  = 0x6c
	opRemU = 0x70
	opAnd  = 0x71
	opXor  = 0x73
	opUnr  = 0x00

	idType, idImport, idFunc, idTable, idMem, idGlobal, idExport, idStart, idElem, idCode, idData = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
	kFunc, kTable, kMem, kGlobal                                                                  = 0, 1, 2, 3
)

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func uleb(v uint64) []byte { return leb128.AppendUint(nil, v) }

func sleb(v int64) []byte { return leb128.AppendInt(nil, v) }

func vec(items ...[]byte) []byte { return cat(uleb(uint64(len(items))), cat(items...)) }

func str(s string) []byte { return cat(uleb(uint64(len(s))), []byte(s)) }

func sec(id byte, payload ...[]byte) []byte {
	p := cat(payload...)
	return cat([]byte{id}, uleb(uint64(len(p))), p)
}

func custom(name string, data []byte) []byte { return sec(0, str(name), data) }

func module(sections ...[]byte) []byte { return cat(header, cat(sections...)) }

func funcType(params, results []byte) []byte {
	return cat([]byte{0x60}, uleb(uint64(len(params))), params, uleb(uint64(len(results))), results)
}

func export(name string, kind byte, idx uint32) []byte {
	return cat(str(name), []byte{kind}, uleb(uint64(idx)))
}

// body encodes a code entry: locals given as (count, type) pairs, then code,
// which must include the final end.
func body(locals [][2]byte, code ...[]byte) []byte {
	ls := make([][]byte, len(locals))
	for i, l := range locals {
		ls[i] = []byte{l[0], l[1]}
	}
	b := cat(vec(ls...), cat(code...))
	return cat(uleb(uint64(len(b))), b)
}

// sized prefixes the concatenated parts with their length, as code entries
// and other nested payloads are.
func sized(parts ...[]byte) []byte {
	b := cat(parts...)
	return cat(uleb(uint64(len(b))), b)
}

func i32c(v int32) []byte { return cat([]byte{opI32C}, sleb(int64(v))) }

// ops spells instructions whose immediates fit in single bytes.
func ops(b ...byte) []byte { return b }

// checkBytes is what Instrument inserts for the fuel at global index fuel
// and the yield import at function index yield, spelled out independently of
// fuelCheck.
func checkBytes(fuel, yield uint32) []byte {
	get := cat([]byte{opGlobalGet}, uleb(uint64(fuel)))
	return cat(
		get, i32c(1), ops(opSub, opGlobalSet), uleb(uint64(fuel)),
		get, i32c(0), ops(0x4c, opIf, void, opCall), uleb(uint64(yield)), ops(opEnd),
	)
}

// Test modules.

// spinWasm exports "spin", an endless loop, and "entry", which has no loop
// and returns 7.
func spinWasm() []byte {
	return module(
		sec(idType, vec(funcType(nil, nil), funcType(nil, []byte{tI32}))),
		sec(idFunc, vec([]byte{0}, []byte{1})),
		sec(idExport, vec(export("spin", kFunc, 0), export("entry", kFunc, 1))),
		sec(idCode, vec(
			body(nil, ops(opLoop, void, opBr, 0, opEnd, opEnd)),
			body(nil, i32c(7), ops(opEnd)),
		)),
	)
}

// controlWasm exports "mix" (nested blocks, loops, br_table, if/else) and
// "tri" (a loop with a parameter, typed by index), to check that
// instrumentation keeps semantics.
func controlWasm() []byte {
	mix := body([][2]byte{{3, tI32}}, // locals 1=i 2=acc 3=j; param 0=n
		ops(opBlock, void), // exit
		ops(opLoop, void),  // top
		ops(opLGet, 1, opLGet, 0, opGeU, opBrIf, 1),
		ops(opBlock, void, opBlock, void, opBlock, void),
		ops(opLGet, 1), i32c(3), ops(opRemU, opBrTb, 2, 0, 1, 2),
		ops(opEnd), // case 0: acc += 2i
		ops(opLGet, 2, opLGet, 1), i32c(2), ops(opMul, opAdd, opLSet, 2, opBr, 1),
		ops(opEnd), // case 1: acc += i&4 ? 7 : -1
		ops(opLGet, 1), i32c(4), ops(opAnd, opIf, void),
		ops(opLGet, 2), i32c(7), ops(opAdd, opLSet, 2),
		ops(opElse),
		ops(opLGet, 2), i32c(1), ops(opSub, opLSet, 2),
		ops(opEnd, opBr, 0),
		ops(opEnd), // every case: acc ^= i, then acc += i%4 in an inner loop
		ops(opLGet, 2, opLGet, 1, opXor, opLSet, 2),
		i32c(0), ops(opLSet, 3),
		ops(opLoop, void),
		ops(opLGet, 3, opLGet, 1), i32c(4), ops(opRemU, opLtU, opIf, void),
		ops(opLGet, 2), i32c(1), ops(opAdd, opLSet, 2),
		ops(opLGet, 3), i32c(1), ops(opAdd, opLSet, 3),
		ops(opBr, 1, opEnd),
		ops(opEnd),
		ops(opLGet, 1), i32c(1), ops(opAdd, opLSet, 1, opBr, 0),
		ops(opEnd, opEnd),
		ops(opLGet, 2, opEnd),
	)
	// tri(n) = n + (n-1) + ... + 1, the accumulator carried as the loop's parameter.
	tri := body(nil,
		i32c(0),
		ops(opLoop, 0), // block type: type index 0, [i32] -> [i32]
		ops(opLGet, 0, opAdd),
		ops(opLGet, 0), i32c(1), ops(opSub, opLTee, 0, opBrIf, 0),
		ops(opEnd, opEnd),
	)
	return module(
		sec(idType, vec(funcType([]byte{tI32}, []byte{tI32}))),
		sec(idFunc, vec([]byte{0}, []byte{0})),
		sec(idExport, vec(export("mix", kFunc, 0), export("tri", kFunc, 1))),
		sec(idCode, vec(mix, tri)),
	)
}

// mixRef is controlWasm's "mix" in Go.
func mixRef(n uint32) uint32 {
	var acc uint32
	for i := uint32(0); i < n; i++ {
		switch i % 3 {
		case 0:
			acc += 2 * i
		case 1:
			if i&4 != 0 {
				acc += 7
			} else {
				acc--
			}
		}
		acc ^= i
		acc += i % 4
	}
	return acc
}

// countWasm exports "count", a tight loop counting to its argument.
func countWasm() []byte {
	return module(
		sec(idType, vec(funcType([]byte{tI32}, []byte{tI32}))),
		sec(idFunc, vec([]byte{0})),
		sec(idExport, vec(export("count", kFunc, 0))),
		sec(idCode, vec(body([][2]byte{{1, tI32}},
			ops(opLoop, void),
			ops(opLGet, 1), i32c(1), ops(opAdd, opLTee, 1, opLGet, 0, opLtU, opBrIf, 0),
			ops(opEnd, opLGet, 1, opEnd),
		))),
	)
}

func mustInstrument(t testing.TB, wasm []byte) []byte {
	t.Helper()
	out, err := Instrument(wasm)
	if err != nil {
		t.Fatalf("Instrument: %v", err)
	}
	return out
}

func instantiate(t testing.TB, r wazero.Runtime, wasm []byte, name string) api.Module {
	t.Helper()
	ctx := context.Background()
	mod, err := r.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName(name))
	if err != nil {
		t.Fatalf("instantiate %s: %v", name, err)
	}
	return mod
}

// newRuntime returns a runtime, closed when the test ends, in which
// Instantiate ran.
func newRuntime(t testing.TB, cfg wazero.RuntimeConfig) wazero.Runtime {
	t.Helper()
	ctx := context.Background()
	if cfg == nil {
		cfg = wazero.NewRuntimeConfig()
	}
	r := wazero.NewRuntimeWithConfig(ctx, cfg)
	t.Cleanup(func() { r.Close(ctx) })
	if err := Instantiate(ctx, r); err != nil {
		t.Fatalf("Instantiate: %v", err)
	}
	return r
}

func call(t testing.TB, mod api.Module, fn string, args ...uint64) ([]uint64, error) {
	t.Helper()
	f := mod.ExportedFunction(fn)
	if f == nil {
		t.Fatalf("module %s has no export %q", mod.Name(), fn)
	}
	return f.Call(context.Background(), args...)
}

// fibWasm exports "fib", naive recursive Fibonacci: a function entry check
// per call and no loops.
func fibWasm() []byte {
	return module(
		sec(idType, vec(funcType([]byte{tI32}, []byte{tI32}))),
		sec(idFunc, vec([]byte{0})),
		sec(idExport, vec(export("fib", kFunc, 0))),
		sec(idCode, vec(body(nil,
			ops(opLGet, 0), i32c(2), ops(opLtU, opIf, tI32),
			ops(opLGet, 0),
			ops(opElse),
			ops(opLGet, 0), i32c(1), ops(opSub, opCall, 0),
			ops(opLGet, 0), i32c(2), ops(opSub, opCall, 0, opAdd),
			ops(opEnd, opEnd),
		))),
	)
}

func fibRef(n uint32) uint32 {
	if n < 2 {
		return n
	}
	return fibRef(n-1) + fibRef(n-2)
}

// Extra opcodes for renumberWasm.
const (
	opCallIndirect = 0x11
	opRefNull      = 0xd0
	opTableSet     = 0x26
	tFuncref       = 0x70
)

// envWasm is what renumberWasm imports as "env": add1 and an immutable
// global g = 5.
func envWasm() []byte {
	return module(
		sec(idType, vec(funcType([]byte{tI32}, []byte{tI32}))),
		sec(idFunc, vec([]byte{0})),
		sec(idGlobal, vec(cat(ops(tI32, 0), i32c(5), ops(opEnd)))),
		sec(idExport, vec(export("add1", kFunc, 0), export("g", kGlobal, 0))),
		sec(idCode, vec(body(nil, ops(opLGet, 0), i32c(1), ops(opAdd, opEnd)))),
	)
}

// renumberNames is renumberWasm's name section, for function indices of the
// module before instrumentation shifted by shift.
func renumberNames(shift uint32) []byte {
	fn := func(i uint32) []byte {
		if i >= 1 {
			i += shift
		}
		return uleb(uint64(i))
	}
	funcs := vec(cat(fn(0), str("add1")), cat(fn(1), str("ten")), cat(fn(5), str("dispatch")), cat(fn(13), str("callAdd")))
	locals := vec(cat(fn(5), vec(cat(uleb(0), str("slot")))))
	labels := vec(cat(fn(9), vec()))
	globals := vec(cat(uleb(1), str("started")))
	return custom("name", cat(
		[]byte{0}, sized(str("renum")),
		[]byte{1}, sized(funcs),
		[]byte{2}, sized(locals),
		[]byte{3}, sized(labels),
		[]byte{7}, sized(globals),
	))
}

// renumberWasm references functions in every way a module can: call,
// return_call and ref.func in code, a global initialiser, all eight element
// segment encodings, exports, the start function and the name section. It
// imports env.add1 (function 0) and env.g (global 0, = 5); its defined
// functions are:
//
//	1 ten, 2 twenty, 3 thirty, 4 forty: () -> i32 constants
//	5 dispatch(i): call_indirect of table slot i
//	6 start: started = add1(41)
//	7 started: () -> i32
//	8 initPassive: table.init slots 6, 7 from a passive index segment (forty,
//	  thirty) and slot 8 from a passive expression segment (ten)
//	9 viaRef: slots 9, 10 = ref.func twenty, thirty; slot9()*100 + slot10()
//	10 viaGlobal: slot 11 = the funcref global (forty); slot11()
//	11 tail(i): return_call dispatch
//	12 tailImport(i): return_call add1
//	13 callAdd(i): call add1
//
// Active segments fill slots 0, 1 (ten, twenty: flags 0), 2 (thirty: flags
// 2), 3, 4 (forty, null: flags 4) and 5 (twenty at offset env.g: flags 6).
func renumberWasm() []byte {
	c1 := func(b ...byte) []byte { return ops(b...) }
	konst := func(v int32) []byte { return body(nil, i32c(v), ops(opEnd)) }
	callSlot := func(slot int32) []byte { return cat(i32c(slot), c1(opCallIndirect, 1, 0)) }
	tableInit := func(seg byte) []byte { return c1(0xfc, 12, seg, 0) }
	refFunc := func(f byte) []byte { return c1(opRefFunc, f) }
	code := vec(
		konst(10), konst(20), konst(30), konst(40),
		body(nil, ops(opLGet, 0, opCallIndirect, 1, 0, opEnd)),
		body(nil, i32c(41), ops(opCall, 0, opGlobalSet, 1, opEnd)),
		body(nil, ops(opGlobalGet, 1, opEnd)),
		body(nil,
			i32c(6), i32c(0), i32c(2), tableInit(1),
			i32c(8), i32c(0), i32c(1), tableInit(5),
			i32c(0), ops(opEnd)),
		body(nil,
			i32c(9), refFunc(2), ops(opTableSet, 0),
			i32c(10), refFunc(3), ops(opTableSet, 0),
			callSlot(9), i32c(100), ops(opMul), callSlot(10), ops(opAdd, opEnd)),
		body(nil, i32c(11), ops(opGlobalGet, 2, opTableSet, 0), callSlot(11), ops(opEnd)),
		body(nil, ops(opLGet, 0, opReturnCall, 5, opEnd)),
		body(nil, ops(opLGet, 0, opReturnCall, 0, opEnd)),
		body(nil, ops(opLGet, 0, opCall, 0, opEnd)),
	)
	expr := func(b ...[]byte) []byte { return cat(cat(b...), ops(opEnd)) }
	elems := vec(
		cat(uleb(0), expr(i32c(0)), vec([]byte{1}, []byte{2})),
		cat(uleb(1), ops(0), vec([]byte{4}, []byte{3})),
		cat(uleb(2), uleb(0), expr(i32c(2)), ops(0), vec([]byte{3})),
		cat(uleb(3), ops(0), vec([]byte{2})),
		cat(uleb(4), expr(i32c(3)), vec(expr(refFunc(4)), expr(ops(opRefNull, tFuncref)))),
		cat(uleb(5), ops(tFuncref), vec(expr(refFunc(1)))),
		cat(uleb(6), uleb(0), expr(ops(opGlobalGet, 0)), ops(tFuncref), vec(expr(refFunc(2)))),
		cat(uleb(7), ops(tFuncref), vec(expr(refFunc(3)))),
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
		)),
		sec(idFunc, vec([]byte{1}, []byte{1}, []byte{1}, []byte{1}, []byte{0}, []byte{2}, []byte{1},
			[]byte{1}, []byte{1}, []byte{1}, []byte{0}, []byte{0}, []byte{0})),
		sec(idTable, vec(ops(tFuncref, 0, 16))),
		sec(idGlobal, vec(
			cat(ops(tI32, 1), i32c(0), ops(opEnd)),
			cat(ops(tFuncref, 0), refFunc(4), ops(opEnd)),
		)),
		sec(idExport, vec(
			export("ten", kFunc, 1), export("dispatch", kFunc, 5), export("started", kFunc, 7),
			export("initPassive", kFunc, 8), export("viaRef", kFunc, 9), export("viaGlobal", kFunc, 10),
			export("tail", kFunc, 11), export("tailImport", kFunc, 12), export("callAdd", kFunc, 13),
		)),
		sec(idStart, uleb(6)),
		sec(idElem, elems),
		sec(idCode, code),
		renumberNames(0),
	)
}
