// Package wasmopt holds semantics-preserving rewrites of guest modules that make instantiation
// cheaper. It runs on untrusted bytes before compilation, so it never panics and returns its
// input unchanged whenever a rewrite is not provably safe. It must not execute guests.
package wasmopt

import (
	"bytes"
	"errors"
	"fmt"
	"sort"

	"github.com/wasmorch/wasmorch/host/internal/leb128"
)

// ErrMalformed is returned for bytes that are not a well-formed module where this package reads.
var ErrMalformed = errors.New("malformed module")

// MaxGap is the longest run of zero bytes between two data segments that MergeDataSegments fills
// in to join them. Larger gaps stay separate, so a sparse layout does not bloat the module.
const MaxGap = 4096

const (
	sectionData      = 11
	sectionDataCount = 12
	opI32Const       = 0x41
	opEnd            = 0x0b
)

// MergeDataSegments coalesces the module's active data segments into as few as possible.
//
// Go's linker emits one data segment per non-zero run of its data (100,000 segments in a 14 MB
// guest), and wazero evaluates each segment's offset expression on every instantiation, which was
// about a third of the cost of a Go step. Instantiation copies segments into zeroed memory before
// any guest code runs, so joining neighbours with the zeros between them (at most MaxGap) writes
// exactly the same bytes.
//
// # Notes
//
//   - Only modules whose segments are all active, on memory 0, with i32.const offsets are
//     rewritten. A passive segment, a global.get offset or a DataCount section (which memory.init
//     and data.drop index against) leaves the module unchanged.
//   - Overlapping segments are applied in their original order, so later bytes win as they would.
//   - The output is deterministic.
//
// # Errors
//
// ErrMalformed (wrapped, with the byte offset) when the section structure or the data section
// cannot be read. Callers may compile the original bytes instead and let the compiler report.
func MergeDataSegments(wasm []byte) ([]byte, error) {
	secs, err := readSections(wasm)
	if err != nil {
		return nil, err
	}
	if secs.dataCount {
		return wasm, nil
	}
	dataStart, dataBody, dataEnd := secs.dataStart, secs.dataBody, secs.dataEnd
	if dataStart < 0 {
		return wasm, nil
	}
	segs, ok, err := readActiveSegments(wasm[dataBody:dataEnd], dataBody)
	if err != nil || !ok || len(segs) < 2 {
		return wasm, err
	}
	merged := mergeSegments(segs)
	if len(merged) == len(segs) {
		return wasm, nil
	}
	var body []byte
	body = leb128.AppendUint(body, uint64(len(merged)))
	for _, s := range merged {
		body = append(body, 0x00, opI32Const)
		body = leb128.AppendInt(body, int64(int32(s.offset)))
		body = append(body, opEnd)
		body = leb128.AppendUint(body, uint64(len(s.data)))
		body = append(body, s.data...)
	}
	out := make([]byte, 0, len(wasm)-(dataEnd-dataStart)+len(body)+6)
	out = append(out, wasm[:dataStart]...)
	out = append(out, sectionData)
	out = leb128.AppendUint(out, uint64(len(body)))
	out = append(out, body...)
	out = append(out, wasm[dataEnd:]...)
	return out, nil
}

// sections is where a module's sections of interest are; -1 for one that is absent.
type sections struct {
	dataStart, dataBody, dataEnd int // the data section: its id byte, its body, its end
	memoryBody, memoryEnd        int
	dataCount                    bool
}

// readSections walks the module's section headers.
func readSections(wasm []byte) (sections, error) {
	s := sections{dataStart: -1, dataBody: -1, dataEnd: -1, memoryBody: -1, memoryEnd: -1}
	if len(wasm) < 8 || !bytes.Equal(wasm[:4], []byte("\x00asm")) {
		return s, fmt.Errorf("%w: no WebAssembly header", ErrMalformed)
	}
	pos := 8
	for pos < len(wasm) {
		start := pos
		id := wasm[pos]
		pos++
		size, n, err := readU32(wasm, pos)
		if err != nil {
			return s, err
		}
		pos += n
		if uint64(pos)+uint64(size) > uint64(len(wasm)) {
			return s, fmt.Errorf("%w: section %d at offset %d runs past the end of the module", ErrMalformed, id, start)
		}
		switch id {
		case sectionDataCount:
			s.dataCount = true
		case sectionData:
			s.dataStart, s.dataBody, s.dataEnd = start, pos, pos+int(size)
		case sectionMemory:
			s.memoryBody, s.memoryEnd = pos, pos+int(size)
		}
		pos += int(size)
	}
	return s, nil
}

type segment struct {
	offset uint32
	data   []byte
	order  int
}

// readActiveSegments parses a data section body; ok is false if any segment is not an active
// memory-0 segment with an i32.const offset.
func readActiveSegments(b []byte, base int) (segs []segment, ok bool, err error) {
	count, n, err := readU32(b, 0)
	if err != nil {
		return nil, false, err
	}
	pos := n
	if uint64(count) > uint64(len(b)) {
		return nil, false, fmt.Errorf("%w: data section at offset %d declares %d segments in %d bytes", ErrMalformed, base, count, len(b))
	}
	segs = make([]segment, 0, count)
	for i := 0; i < int(count); i++ {
		flags, n, err := readU32(b, pos)
		if err != nil {
			return nil, false, err
		}
		pos += n
		if flags != 0 {
			return nil, false, nil // passive, or an explicit memory index
		}
		if pos >= len(b) || b[pos] != opI32Const {
			return nil, false, nil // e.g. global.get: offset unknown until instantiation
		}
		off, n, err := readS32(b, pos+1)
		if err != nil {
			return nil, false, err
		}
		pos += 1 + n
		if pos >= len(b) || b[pos] != opEnd {
			return nil, false, nil
		}
		pos++
		size, n, err := readU32(b, pos)
		if err != nil {
			return nil, false, err
		}
		pos += n
		if uint64(pos)+uint64(size) > uint64(len(b)) {
			return nil, false, fmt.Errorf("%w: data segment %d at offset %d runs past its section", ErrMalformed, i, base+pos)
		}
		segs = append(segs, segment{offset: uint32(off), data: b[pos : pos+int(size)], order: i})
		pos += int(size)
	}
	if pos != len(b) {
		return nil, false, fmt.Errorf("%w: %d stray bytes after the data segments at offset %d", ErrMalformed, len(b)-pos, base+pos)
	}
	return segs, true, nil
}

// mergeSegments groups segments whose extents are at most MaxGap apart and lays each group out
// in one buffer, applying the group's segments in their original order.
func mergeSegments(segs []segment) []segment {
	sorted := append([]segment(nil), segs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].offset < sorted[j].offset })
	var groups [][]segment
	var groupEnd uint64
	for _, s := range sorted {
		end := uint64(s.offset) + uint64(len(s.data))
		if len(groups) > 0 && uint64(s.offset) <= groupEnd+MaxGap {
			groups[len(groups)-1] = append(groups[len(groups)-1], s)
			groupEnd = max(groupEnd, end)
			continue
		}
		groups = append(groups, []segment{s})
		groupEnd = end
	}
	out := make([]segment, 0, len(groups))
	for _, g := range groups {
		start, end := uint64(g[0].offset), uint64(0)
		for _, s := range g {
			end = max(end, uint64(s.offset)+uint64(len(s.data)))
		}
		if len(g) == 1 {
			out = append(out, g[0])
			continue
		}
		sort.SliceStable(g, func(i, j int) bool { return g[i].order < g[j].order })
		buf := make([]byte, end-start)
		for _, s := range g {
			copy(buf[uint64(s.offset)-start:], s.data)
		}
		out = append(out, segment{offset: uint32(start), data: buf})
	}
	return out
}

func readU32(b []byte, pos int) (uint32, int, error) {
	var v uint64
	for i := 0; i < 5; i++ {
		if pos+i >= len(b) {
			return 0, 0, fmt.Errorf("%w: truncated integer at offset %d", ErrMalformed, pos)
		}
		c := b[pos+i]
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if v > 0xffffffff {
				return 0, 0, fmt.Errorf("%w: integer at offset %d overflows 32 bits", ErrMalformed, pos)
			}
			return uint32(v), i + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: integer at offset %d is longer than 5 bytes", ErrMalformed, pos)
}

func readS32(b []byte, pos int) (int32, int, error) {
	var v int64
	var shift uint
	for i := 0; i < 5; i++ {
		if pos+i >= len(b) {
			return 0, 0, fmt.Errorf("%w: truncated integer at offset %d", ErrMalformed, pos)
		}
		c := b[pos+i]
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			if v < -1<<31 || v > 1<<31-1 {
				return 0, 0, fmt.Errorf("%w: integer at offset %d overflows 32 bits", ErrMalformed, pos)
			}
			return int32(v), i + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: integer at offset %d is longer than 5 bytes", ErrMalformed, pos)
}
