package interrupt

import (
	"bytes"
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
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
	opCall = 0x10
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

func uleb(v uint64) []byte { return appendULEB(nil, v) }

func sleb(v int64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

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

// checkBytes is what Instrument inserts for a flag at global index idx.
func checkBytes(idx uint32) []byte {
	return cat([]byte{opGlobalGet}, uleb(uint64(idx)), ops(opIf, void, opUnr, opEnd))
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

func newRuntime(t testing.TB, cfg wazero.RuntimeConfig) wazero.Runtime {
	t.Helper()
	ctx := context.Background()
	if cfg == nil {
		cfg = wazero.NewRuntimeConfig()
	}
	r := wazero.NewRuntimeWithConfig(ctx, cfg)
	t.Cleanup(func() { r.Close(ctx) })
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
