package interrupt

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
)

// GlobalName is the export name of the interrupt flag that Instrument adds.
// It is part of the contract between Instrument and Interrupt, and doubles as
// a marker: a module exporting it was instrumented already.
const GlobalName = "wasmorch_interrupt"

var (
	// ErrMalformed is wrapped by every error Instrument returns for input it
	// cannot decode. The message names the section, function and byte offset.
	ErrMalformed = errors.New("interrupt: malformed module")

	// ErrAlreadyInstrumented is returned by Instrument when the module already
	// exports GlobalName, typically because it went through Instrument before.
	ErrAlreadyInstrumented = errors.New("interrupt: module already exports " + GlobalName)
)

const (
	secCustom    = 0
	secImport    = 2
	secGlobal    = 6
	secExport    = 7
	secCode      = 10
	externGlobal = 3
)

var sectionNames = [...]string{"custom", "type", "import", "function", "table", "memory",
	"global", "export", "start", "element", "code", "data", "data count", "tag"}

// sectionRank gives the required order of non-custom sections. The tag
// section (13) sits between memory and global.
var sectionRank = [...]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

var header = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// isVector tells which sections hold a counted vector of entries, each at
// least a byte long.
var isVector = [...]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 9: true, 10: true, 11: true, 13: true}

// maxLocals bounds the locals of one function, as web engines do. The spec
// allows 2^32-1, and wazero's decoder allocates a byte per declared local
// before looking at the code, so six bytes of input could cost 4 GiB.
const maxLocals = 50_000

type section struct {
	id               byte
	start, body, end int // offsets of the id byte, the payload and one past it
	name             string
}

func (s section) String() string {
	if s.id == secCustom {
		return fmt.Sprintf("custom section %q at offset %#x", s.name, s.start)
	}
	return fmt.Sprintf("%s section at offset %#x", sectionNames[s.id], s.start)
}

// Instrument returns a copy of the WebAssembly binary wasm in which every
// function entry and every loop header checks a new exported mutable i32
// global named GlobalName and traps with unreachable when it is non-zero.
//
// The check is a global load and a branch rather than a call into the host,
// which is what makes it cheap enough for hot loops; a host sets the global
// with Interrupt to stop a guest that does not return in time.
//
// # Notes
//
//   - The input is not modified. Equal inputs give equal outputs, so the
//     result is a stable key for wazero's compilation cache.
//   - The global is appended after all imported and defined globals, so no
//     existing index changes. Sections other than the global, export and code
//     sections are copied byte for byte, except custom sections named
//     ".debug_*": their code offsets no longer match and would mislead
//     debuggers, so they are dropped. The "name" section stays valid.
//   - Instrument decodes only what it must to rewrite code (structure and
//     immediates, not types); the runtime that compiles the output still
//     validates it. It does reject code that names a global index at or past
//     the new one, since after instrumentation such code could clear the flag.
//   - Two checks go beyond the spec's grammar to protect the host from
//     decoders that allocate by declared size: a section's entry count may
//     not exceed its byte length, and a function may declare at most 50,000
//     locals (the limit of web engines, which toolchains already respect).
//
// # Errors
//
//   - ErrMalformed (wrapped) if wasm cannot be decoded: bad header, truncated
//     or overlong data, sections out of order, unknown opcodes and the like,
//     or if it exceeds the limits above.
//     Input may be untrusted: Instrument reports it, it does not panic.
//   - ErrAlreadyInstrumented if wasm already exports GlobalName.
func Instrument(wasm []byte) ([]byte, error) {
	out, err := instrument(wasm)
	if err != nil && !errors.Is(err, ErrAlreadyInstrumented) {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return out, err
}

func instrument(in []byte) ([]byte, error) {
	secs, err := splitSections(in)
	if err != nil {
		return nil, err
	}

	var importedFuncs, importedGlobals, definedGlobals uint32
	for _, s := range secs {
		switch s.id {
		case secImport:
			importedFuncs, importedGlobals, err = countImports(in, s)
		case secGlobal:
			r := reader{b: in, pos: s.body, end: s.end}
			definedGlobals, err = r.u32()
		case secExport:
			err = checkExports(in, s, uint64(importedGlobals)+uint64(definedGlobals))
		}
		if err != nil {
			return nil, fmt.Errorf("%v: %w", s, err)
		}
	}
	numGlobals := uint64(importedGlobals) + uint64(definedGlobals)
	if numGlobals >= math.MaxUint32 {
		return nil, fmt.Errorf("%d globals leave no index for %s", numGlobals, GlobalName)
	}
	flag := uint32(numGlobals)

	// global.get $flag; if; unreachable; end
	check := append(appendULEB([]byte{opGlobalGet}, uint64(flag)), opIf, 0x40, 0x00, opEnd)

	out := make([]byte, 0, len(in)+len(in)/8+64)
	out = append(out, header...)
	var emittedGlobal, emittedExport bool
	emitNew := func(rank int) {
		if !emittedGlobal && rank > sectionRank[secGlobal] {
			out = appendSection(out, secGlobal, appendGlobal(appendULEB(nil, 1)))
			emittedGlobal = true
		}
		if !emittedExport && rank > sectionRank[secExport] {
			out = appendSection(out, secExport, appendExport(appendULEB(nil, 1), flag))
			emittedExport = true
		}
	}
	for _, s := range secs {
		if s.id != secCustom {
			emitNew(sectionRank[s.id])
		}
		switch s.id {
		case secCustom:
			if !strings.HasPrefix(s.name, ".debug_") {
				out = append(out, in[s.start:s.end]...)
			}
		case secGlobal:
			out = appendSection(out, secGlobal, appendGlobal(recount(in, s)))
			emittedGlobal = true
		case secExport:
			out = appendSection(out, secExport, appendExport(recount(in, s), flag))
			emittedExport = true
		case secCode:
			body, err := rewriteCode(in, s, check, flag, importedFuncs)
			if err != nil {
				return nil, fmt.Errorf("%v: %w", s, err)
			}
			if uint64(len(body)) > math.MaxUint32 {
				return nil, fmt.Errorf("%v: instrumented code section exceeds 4 GiB", s)
			}
			out = appendSection(out, secCode, body)
		default:
			out = append(out, in[s.start:s.end]...)
		}
	}
	emitNew(math.MaxInt)
	return out, nil
}

// splitSections checks the header, section framing and order.
func splitSections(in []byte) ([]section, error) {
	if len(in) < len(header) {
		return nil, fmt.Errorf("truncated header: %d bytes, need %d", len(in), len(header))
	}
	if !bytes.Equal(in[:4], header[:4]) {
		return nil, fmt.Errorf("bad magic number % x, want % x", in[:4], header[:4])
	}
	if !bytes.Equal(in[4:8], header[4:]) {
		return nil, fmt.Errorf("unsupported version % x, want % x", in[4:8], header[4:])
	}
	var secs []section
	r := reader{b: in, pos: len(header), end: len(in)}
	lastRank := 0
	for r.pos < r.end {
		s := section{start: r.pos}
		s.id, _ = r.byte()
		if int(s.id) >= len(sectionNames) {
			return nil, fmt.Errorf("unknown section id %d at offset %#x", s.id, s.start)
		}
		size, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("%v: size: %w", s, err)
		}
		body, err := r.sub(size, "section")
		if err != nil {
			return nil, fmt.Errorf("%v: %w", s, err)
		}
		s.body, s.end = body.pos, body.end
		r.pos = body.end
		if s.id == secCustom {
			if s.name, err = body.name("custom section name"); err != nil {
				return nil, fmt.Errorf("%v: %w", s, err)
			}
		} else {
			if rank := sectionRank[s.id]; rank <= lastRank {
				return nil, fmt.Errorf("%v: duplicate or out of order", s)
			} else {
				lastRank = rank
			}
			// A count beyond the bytes present is malformed; rejecting it
			// here also keeps a decoder that allocates by count (wazero's
			// does) from being asked for gigabytes by a few bytes.
			if isVector[s.id] {
				at := body.pos
				if n, err := body.u32(); err != nil {
					return nil, fmt.Errorf("%v: count: %w", s, err)
				} else if left := body.end - body.pos; uint64(n) > uint64(left) {
					return nil, fmt.Errorf("%v: %w", s, body.errorf(at, "count %d exceeds the %d bytes left", n, left))
				}
			}
		}
		secs = append(secs, s)
	}
	return secs, nil
}

func countImports(in []byte, s section) (funcs, globals uint32, err error) {
	r := reader{b: in, pos: s.body, end: s.end}
	n, err := r.u32()
	if err != nil {
		return 0, 0, err
	}
	for i := range n {
		if err := importEntry(&r, &funcs, &globals); err != nil {
			return 0, 0, fmt.Errorf("import %d: %w", i, err)
		}
	}
	if r.pos != r.end {
		return 0, 0, r.errorf(r.pos, "%d trailing bytes", r.end-r.pos)
	}
	return funcs, globals, nil
}

func importEntry(r *reader, funcs, globals *uint32) error {
	if _, err := r.name("module name"); err != nil {
		return err
	}
	if _, err := r.name("field name"); err != nil {
		return err
	}
	at := r.pos
	kind, err := r.byte()
	if err != nil {
		return err
	}
	switch kind {
	case 0x00: // function: type index
		*funcs++
		_, err = r.u32()
	case 0x01:
		err = r.tableType()
	case 0x02:
		err = r.limits()
	case externGlobal:
		*globals++
		if err = r.valType(); err == nil {
			at := r.pos
			if mut, e := r.byte(); e != nil {
				err = e
			} else if mut > 1 {
				err = r.errorf(at, "invalid global mutability %#x", mut)
			}
		}
	case 0x04: // tag: attribute, type index
		err = r.immediates(immU32x2)
	default:
		err = r.errorf(at, "invalid import kind %#x", kind)
	}
	return err
}

// checkExports rejects a second GlobalName and exports of globals that do
// not exist yet, which instrumentation would otherwise bring into being.
func checkExports(in []byte, s section, numGlobals uint64) error {
	r := reader{b: in, pos: s.body, end: s.end}
	n, err := r.u32()
	if err != nil {
		return err
	}
	for i := range n {
		name, err := r.name("export name")
		if err != nil {
			return fmt.Errorf("export %d: %w", i, err)
		}
		if name == GlobalName {
			return ErrAlreadyInstrumented
		}
		at := r.pos
		kind, err := r.byte()
		if err != nil {
			return fmt.Errorf("export %q: %w", name, err)
		}
		idx, err := r.u32()
		switch {
		case err != nil:
			return fmt.Errorf("export %q: %w", name, err)
		case kind > 0x04:
			return fmt.Errorf("export %q: %w", name, r.errorf(at, "invalid export kind %#x", kind))
		case kind == externGlobal && uint64(idx) >= numGlobals:
			return fmt.Errorf("export %q: %w", name, r.errorf(at, "global index %d out of range (module has %d globals)", idx, numGlobals))
		}
	}
	if r.pos != r.end {
		return r.errorf(r.pos, "%d trailing bytes", r.end-r.pos)
	}
	return nil
}

// recount returns a vector section's payload with its count raised by one,
// ready for one more entry to be appended. The count was decoded already.
func recount(in []byte, s section) []byte {
	r := reader{b: in, pos: s.body, end: s.end}
	n, _ := r.u32()
	out := appendULEB(make([]byte, 0, s.end-s.body+32), uint64(n)+1)
	return append(out, in[r.pos:s.end]...)
}

// appendGlobal appends (global (mut i32) (i32.const 0)).
func appendGlobal(b []byte) []byte {
	return append(b, 0x7f, 0x01, 0x41, 0x00, opEnd)
}

func appendExport(b []byte, flag uint32) []byte {
	b = appendULEB(b, uint64(len(GlobalName)))
	b = append(b, GlobalName...)
	return appendULEB(append(b, externGlobal), uint64(flag))
}

func appendSection(out []byte, id byte, payload []byte) []byte {
	out = appendULEB(append(out, id), uint64(len(payload)))
	return append(out, payload...)
}

// rewriteCode returns the code section payload with check inserted after each
// body's locals and after each loop's block type.
func rewriteCode(in []byte, s section, check []byte, numGlobals, importedFuncs uint32) ([]byte, error) {
	r := reader{b: in, pos: s.body, end: s.end}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	out := appendULEB(make([]byte, 0, s.end-s.body+s.end/8+16), uint64(n))
	var body []byte
	for i := range n {
		body, err = rewriteBody(&r, body[:0], check, numGlobals)
		if err != nil {
			return nil, fmt.Errorf("function %d (code entry %d): %w", uint64(importedFuncs)+uint64(i), i, err)
		}
		if uint64(len(body)) > math.MaxUint32 {
			return nil, fmt.Errorf("function %d (code entry %d): instrumented body exceeds 4 GiB", uint64(importedFuncs)+uint64(i), i)
		}
		out = appendULEB(out, uint64(len(body)))
		out = append(out, body...)
	}
	if r.pos != r.end {
		return nil, r.errorf(r.pos, "%d trailing bytes after %d function bodies", r.end-r.pos, n)
	}
	return out, nil
}

func rewriteBody(r *reader, out, check []byte, numGlobals uint32) ([]byte, error) {
	at := r.pos
	size, err := r.u32()
	if err != nil {
		return nil, fmt.Errorf("body size: %w", err)
	}
	if left := r.end - r.pos; uint64(size) > uint64(left) {
		return nil, r.errorf(at, "body size %d runs past the end of the code section (%d bytes left)", size, left)
	}
	f, _ := r.sub(size, "function body")
	r.pos = f.end
	start := f.pos

	groups, err := f.u32()
	if err != nil {
		return nil, fmt.Errorf("locals: %w", err)
	}
	var locals uint64
	for range groups {
		at := f.pos
		n, err := f.u32()
		if err != nil {
			return nil, fmt.Errorf("locals: %w", err)
		}
		if locals += uint64(n); locals > maxLocals {
			return nil, fmt.Errorf("locals: %w", f.errorf(at, "more than %d locals", maxLocals))
		}
		if err := f.valType(); err != nil {
			return nil, fmt.Errorf("locals: %w", err)
		}
	}
	out = append(out, f.b[start:f.pos]...)
	out = append(out, check...)
	last := f.pos
	err = walkExpr(&f, numGlobals, func(pos int) {
		out = append(out, f.b[last:pos]...)
		out = append(out, check...)
		last = pos
	})
	if err != nil {
		return nil, err
	}
	if f.pos != f.end {
		return nil, f.errorf(f.pos, "%d trailing bytes after the end of the function", f.end-f.pos)
	}
	return append(out, f.b[last:f.end]...), nil
}
