package interrupt

import (
	"fmt"
	"math"
)

// reader walks a WebAssembly binary. Positions are absolute offsets into the
// whole module, even for sub-readers, so that every error can name the byte
// offset in the caller's input.
type reader struct {
	b   []byte
	pos int
	end int // exclusive bound of what this reader may consume
}

// sub returns a reader for the next n bytes, or an error naming what ran out.
func (r *reader) sub(n uint32, what string) (reader, error) {
	if left := r.end - r.pos; uint64(n) > uint64(left) {
		return reader{}, r.errorf(r.pos, "%s of %d bytes runs past the end (%d bytes left)", what, n, left)
	}
	return reader{b: r.b, pos: r.pos, end: r.pos + int(n)}, nil
}

func (r *reader) errorf(at int, format string, args ...any) error {
	return fmt.Errorf("offset %#x: %s", at, fmt.Sprintf(format, args...))
}

func (r *reader) byte() (byte, error) {
	if r.pos >= r.end {
		return 0, r.errorf(r.pos, "unexpected end")
	}
	b := r.b[r.pos]
	r.pos++
	return b, nil
}

func (r *reader) skip(n int) error {
	if r.end-r.pos < n {
		return r.errorf(r.pos, "unexpected end: need %d bytes, %d left", n, r.end-r.pos)
	}
	r.pos += n
	return nil
}

// leb decodes a LEB128 number of the given bit width, rejecting encodings
// longer than the width allows and unused bits that are not a zero or sign
// extension, as the spec requires. Signed results come back sign-extended.
func (r *reader) leb(bits uint, signed bool) (uint64, error) {
	start := r.pos
	maxLen := (bits + 6) / 7
	var v uint64
	for i := uint(0); ; i++ {
		if r.pos >= r.end {
			return 0, r.errorf(start, "truncated LEB128")
		}
		b := r.b[r.pos]
		r.pos++
		if i == maxLen-1 {
			if b&0x80 != 0 {
				return 0, r.errorf(start, "LEB128 longer than %d bytes", maxLen)
			}
			used := bits - 7*i // value bits carried by this last byte, 1..7
			if signed {
				mask := byte(0x7f) &^ (1<<(used-1) - 1)
				if x := b & mask; x != 0 && x != mask {
					return 0, r.errorf(start, "LEB128 overflows s%d", bits)
				}
			} else if b>>used != 0 {
				return 0, r.errorf(start, "LEB128 overflows u%d", bits)
			}
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b&0x80 == 0 {
			if n := 7 * (i + 1); signed && b&0x40 != 0 && n < 64 {
				v |= math.MaxUint64 << n
			}
			return v, nil
		}
	}
}

func (r *reader) u32() (uint32, error) {
	v, err := r.leb(32, false)
	return uint32(v), err
}

// name skips a length-prefixed byte string and returns it. UTF-8 validity is
// left to the runtime that compiles the output.
func (r *reader) name(what string) (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	s, err := r.sub(n, what)
	if err != nil {
		return "", err
	}
	r.pos = s.end
	return string(r.b[s.pos:s.end]), nil
}

// Value and heap type encodings that need more than a byte.
const (
	refNull    = 0x63 // (ref null ht), typed function references
	refNonNull = 0x64 // (ref ht)
)

// heapType skips a heap type: an abstract type as a negative s33 or a type index.
func (r *reader) heapType() error {
	_, err := r.leb(33, true)
	return err
}

func (r *reader) valType() error {
	at := r.pos
	b, err := r.byte()
	if err != nil {
		return err
	}
	switch b {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, // i32 i64 f32 f64 v128
		0x70, 0x6f, 0x69: // funcref externref exnref
		return nil
	case refNull, refNonNull:
		return r.heapType()
	}
	return r.errorf(at, "invalid value type %#x", b)
}

// blockType skips a block type: 0x40, a value type, or a type index as s33.
func (r *reader) blockType() error {
	v, err := r.leb(33, true)
	if err != nil {
		return err
	}
	if s := int64(v); s == refNull-0x80 || s == refNonNull-0x80 {
		return r.heapType()
	}
	return nil
}

// memarg skips alignment, an optional memory index (multi-memory flags it
// with bit 6 of the alignment) and the offset (u64 to admit memory64).
func (r *reader) memarg() error {
	align, err := r.u32()
	if err != nil {
		return err
	}
	if align&0x40 != 0 {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	_, err = r.leb(64, false)
	return err
}

func (r *reader) limits() error {
	at := r.pos
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if flags > 0x07 { // bit 0: has max, bit 1: shared, bit 2: 64-bit
		return r.errorf(at, "invalid limits flags %#x", flags)
	}
	if _, err := r.leb(64, false); err != nil {
		return err
	}
	if flags&1 != 0 {
		_, err = r.leb(64, false)
	}
	return err
}

// tableType skips a table type, including the typed-function-references form
// 0x40 0x00 reftype limits expr that carries an initializer, whose
// instructions v (which may be nil) is shown.
func (r *reader) tableType(v *visitor) error {
	withInit := r.pos < r.end && r.b[r.pos] == 0x40
	if withInit {
		r.pos++
		at := r.pos
		if b, err := r.byte(); err != nil {
			return err
		} else if b != 0 {
			return r.errorf(at, "expected 0x00 after table type prefix 0x40, got %#x", b)
		}
	}
	if err := r.valType(); err != nil {
		return err
	}
	if err := r.limits(); err != nil {
		return err
	}
	if withInit {
		return walkExpr(r, math.MaxUint32, v)
	}
	return nil
}

// Instruction opcodes that the walker treats specially.
const (
	opBlock      = 0x02
	opLoop       = 0x03
	opIf         = 0x04
	opTry        = 0x06 // legacy exception handling
	opEnd        = 0x0b
	opDelegate   = 0x18 // legacy exception handling: ends a try like end does
	opTryTable   = 0x1f
	opCall       = 0x10
	opReturnCall = 0x12
	opGlobalGet  = 0x23
	opGlobalSet  = 0x24
	opI32Const   = 0x41
	opI32Sub     = 0x6b
	opI32LeS     = 0x4c
	opRefFunc    = 0xd2
	opPrefixFC   = 0xfc
	opPrefixFD   = 0xfd
	opPrefixFE   = 0xfe
)

// imm classifies the immediates that follow an opcode. The zero value marks
// opcodes this decoder does not know, so unknown bytes are errors rather than
// silently desynchronising the walk.
type imm uint8

const (
	immInvalid imm = iota
	immNone
	immBlock    // block type
	immU32      // one index (label, type, local, table, tag, memory...)
	immFunc     // function index, which instrumentation renumbers
	immU32x2    // two indices
	immGlobal   // global index, checked against the module's globals
	immBrTable  // vec(label) label
	immSelectT  // vec(valtype)
	immTryTable // block type, vec(catch clause)
	immMemarg   // memory argument
	immI32      // s32
	immI64      // s64
	immF32      // 4 bytes
	immF64      // 8 bytes
	immHeapType // ref.null
	immV128     // 16 bytes: v128.const, i8x16.shuffle
	immLane     // one lane index byte
	immMemargLane
	immZeroByte // atomic.fence's reserved 0x00
	immPrefixFC
	immPrefixFD
	immPrefixFE
)

var (
	opImm   [256]imm // single-byte opcodes
	simdImm [256]imm // 0xFD sub-opcodes; the SIMD proposal defines none above 0xFF
)

func init() {
	set := func(t *[256]imm, k imm, ops ...int) {
		for _, op := range ops {
			t[op] = k
		}
	}
	span := func(t *[256]imm, k imm, lo, hi int) {
		for op := lo; op <= hi; op++ {
			t[op] = k
		}
	}

	set(&opImm, immNone, 0x00, 0x01, 0x05, 0x0a, 0x0b, 0x0f, 0x19, 0x1a, 0x1b, 0xd1, 0xd4)
	set(&opImm, immBlock, opBlock, opLoop, opIf, opTry)
	// catch, throw, rethrow, br, br_if, call_ref, return_call_ref, delegate,
	// local.get/set/tee, table.get/set, memory.size/grow, br_on_null,
	// br_on_non_null.
	set(&opImm, immU32, 0x07, 0x08, 0x09, 0x0c, 0x0d, 0x14, 0x15, opDelegate,
		0x20, 0x21, 0x22, 0x25, 0x26, 0x3f, 0x40, 0xd5, 0xd6)
	set(&opImm, immFunc, opCall, opReturnCall, opRefFunc)
	set(&opImm, immU32x2, 0x11, 0x13) // call_indirect, return_call_indirect: type, table
	set(&opImm, immGlobal, opGlobalGet, opGlobalSet)
	set(&opImm, immBrTable, 0x0e)
	set(&opImm, immSelectT, 0x1c)
	set(&opImm, immTryTable, opTryTable)
	span(&opImm, immMemarg, 0x28, 0x3e)
	set(&opImm, immI32, 0x41)
	set(&opImm, immI64, 0x42)
	set(&opImm, immF32, 0x43)
	set(&opImm, immF64, 0x44)
	span(&opImm, immNone, 0x45, 0xc4) // numeric and sign-extension operators
	set(&opImm, immHeapType, 0xd0)
	set(&opImm, immPrefixFC, opPrefixFC)
	set(&opImm, immPrefixFD, opPrefixFD)
	set(&opImm, immPrefixFE, opPrefixFE)

	span(&simdImm, immMemarg, 0x00, 0x0b) // v128.load* and v128.store
	set(&simdImm, immV128, 0x0c, 0x0d)    // v128.const, i8x16.shuffle
	span(&simdImm, immNone, 0x0e, 0x14)   // swizzle, splats
	span(&simdImm, immLane, 0x15, 0x22)   // extract_lane, replace_lane
	span(&simdImm, immNone, 0x23, 0x53)   // comparisons, bitwise, any_true
	span(&simdImm, immMemargLane, 0x54, 0x5b)
	set(&simdImm, immMemarg, 0x5c, 0x5d) // v128.load32_zero, v128.load64_zero
	span(&simdImm, immNone, 0x5e, 0xff)
	// Holes the SIMD proposal left unassigned.
	set(&simdImm, immInvalid, 0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb,
		0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3, 0xd4, 0xe2, 0xee)
}

// visitor receives what walkExpr finds that instrumentation cares about.
// Either field may be nil.
type visitor struct {
	// afterLoop is called with the offset just past each loop's block type,
	// where a check may be inserted.
	afterLoop func(at int)
	// funcIndex is called for each function index immediate (call,
	// return_call, ref.func), which occupies in[start:end].
	funcIndex func(start, end int, idx uint32) error
}

// walkExpr decodes instructions up to and including the end that closes the
// expression, reporting loops and function indices to v, which may be nil.
// numGlobals bounds global.get/set so a guest cannot reach a global that
// instrumentation is about to add.
func walkExpr(r *reader, numGlobals uint32, v *visitor) error {
	for depth := 1; depth > 0; {
		at := r.pos
		op, err := r.byte()
		if err != nil {
			return fmt.Errorf("%w (expression not terminated by end)", err)
		}
		k := opImm[op]
		switch op {
		case opBlock, opLoop, opIf, opTry, opTryTable:
			depth++
		case opEnd, opDelegate:
			depth--
		}
		switch k {
		case immInvalid:
			return r.errorf(at, "unknown opcode %#x", op)
		case immPrefixFC:
			err = r.miscImmediates()
		case immPrefixFD:
			err = r.simdImmediates()
		case immPrefixFE:
			err = r.atomicImmediates()
		case immGlobal:
			var idx uint32
			if idx, err = r.u32(); err == nil && idx >= numGlobals {
				err = r.errorf(at, "global index %d out of range (module has %d globals)", idx, numGlobals)
			}
		case immFunc:
			start := r.pos
			var idx uint32
			if idx, err = r.u32(); err == nil && v != nil && v.funcIndex != nil {
				err = v.funcIndex(start, r.pos, idx)
			}
		default:
			err = r.immediates(k)
		}
		if err != nil {
			return err
		}
		if op == opLoop && v != nil && v.afterLoop != nil {
			v.afterLoop(r.pos)
		}
	}
	return nil
}

func (r *reader) immediates(k imm) error {
	switch k {
	case immNone:
		return nil
	case immBlock:
		return r.blockType()
	case immU32, immFunc:
		_, err := r.u32()
		return err
	case immU32x2:
		if _, err := r.u32(); err != nil {
			return err
		}
		_, err := r.u32()
		return err
	case immBrTable:
		n, err := r.u32()
		if err != nil {
			return err
		}
		for i := uint64(0); i <= uint64(n); i++ { // n targets plus the default
			if _, err := r.u32(); err != nil {
				return err
			}
		}
		return nil
	case immSelectT:
		n, err := r.u32()
		if err != nil {
			return err
		}
		for range n {
			if err := r.valType(); err != nil {
				return err
			}
		}
		return nil
	case immTryTable:
		return r.tryTable()
	case immMemarg:
		return r.memarg()
	case immI32:
		_, err := r.leb(32, true)
		return err
	case immI64:
		_, err := r.leb(64, true)
		return err
	case immF32:
		return r.skip(4)
	case immF64:
		return r.skip(8)
	case immHeapType:
		return r.heapType()
	case immV128:
		return r.skip(16)
	case immLane:
		return r.skip(1)
	case immMemargLane:
		if err := r.memarg(); err != nil {
			return err
		}
		return r.skip(1)
	case immZeroByte:
		at := r.pos
		b, err := r.byte()
		if err == nil && b != 0 {
			err = r.errorf(at, "expected reserved byte 0x00, got %#x", b)
		}
		return err
	}
	return fmt.Errorf("BUG: unhandled immediate kind %d", k)
}

func (r *reader) tryTable() error {
	if err := r.blockType(); err != nil {
		return err
	}
	n, err := r.u32()
	if err != nil {
		return err
	}
	for range n {
		at := r.pos
		kind, err := r.byte()
		if err != nil {
			return err
		}
		switch kind {
		case 0x00, 0x01: // catch, catch_ref: tag, label
			err = r.immediates(immU32x2)
		case 0x02, 0x03: // catch_all, catch_all_ref: label
			err = r.immediates(immU32)
		default:
			err = r.errorf(at, "invalid catch clause kind %#x", kind)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// miscImmediates decodes the 0xFC group: saturating truncation, bulk memory
// and table operations.
func (r *reader) miscImmediates() error {
	at := r.pos
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 7: // *.trunc_sat_*
		return nil
	case sub == 8, sub == 10, sub == 12, sub == 14: // memory.init, memory.copy, table.init, table.copy
		return r.immediates(immU32x2)
	case sub <= 17: // data.drop, memory.fill, elem.drop, table.grow/size/fill
		return r.immediates(immU32)
	}
	return r.errorf(at, "unknown opcode 0xfc %d", sub)
}

func (r *reader) simdImmediates() error {
	at := r.pos
	sub, err := r.u32()
	if err != nil {
		return err
	}
	if sub > 0xff || simdImm[sub] == immInvalid {
		return r.errorf(at, "unknown opcode 0xfd %d", sub)
	}
	return r.immediates(simdImm[sub])
}

func (r *reader) atomicImmediates() error {
	at := r.pos
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 0x02, sub >= 0x10 && sub <= 0x4e: // notify, wait32/64, loads, stores, rmw
		return r.memarg()
	case sub == 0x03: // atomic.fence
		return r.immediates(immZeroByte)
	}
	return r.errorf(at, "unknown opcode 0xfe %#x", sub)
}
