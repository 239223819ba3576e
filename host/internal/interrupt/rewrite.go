package interrupt

import (
	"fmt"
	"math"

	"github.com/wasmorch/wasmorch/host/internal/leb128"
)

// editor copies a section of the input to a new payload, re-encoding the
// function indices that the yield import shifts and inserting checks. It
// walks the input with a reader and copies lazily: everything between two
// edits goes out byte for byte.
type editor struct {
	in       []byte
	out      []byte
	last     int    // input offset up to which in has been handled
	imported uint32 // function imports before instrumentation
}

// copyTo copies the input up to pos.
func (e *editor) copyTo(pos int) {
	e.out = append(e.out, e.in[e.last:pos]...)
	e.last = pos
}

// insert adds b at input offset pos.
func (e *editor) insert(pos int, b []byte) {
	e.copyTo(pos)
	e.out = append(e.out, b...)
}

// funcIndex renumbers the function index idx encoded at in[start:end]:
// imported functions keep their index, defined ones move up by one to make
// room for the yield import. Unchanged indices keep their original bytes.
func (e *editor) funcIndex(start, end int, idx uint32) error {
	if idx < e.imported {
		return nil
	}
	if idx == math.MaxUint32 {
		return fmt.Errorf("offset %#x: function index %d out of range", start, idx)
	}
	e.copyTo(start)
	e.out = leb128.AppendUint(e.out, uint64(idx)+1)
	e.last = end
	return nil
}

// funcIndexAt reads a function index from r and renumbers it.
func (e *editor) funcIndexAt(r *reader) error {
	start := r.pos
	idx, err := r.u32()
	if err != nil {
		return err
	}
	return e.funcIndex(start, r.pos, idx)
}

func (e *editor) visitor() *visitor { return &visitor{funcIndex: e.funcIndex} }

// finish checks that r consumed its section and returns the payload.
func (e *editor) finish(r *reader) ([]byte, error) {
	if r.pos != r.end {
		return nil, r.errorf(r.pos, "%d trailing bytes", r.end-r.pos)
	}
	e.copyTo(r.end)
	return e.out, nil
}

// vector runs entry for each element of the counted vector at r, starting
// the output with the count plus extra.
func (e *editor) vector(r *reader, extra uint64, what string, entry func(i uint32) error) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	e.out = leb128.AppendUint(e.out, uint64(n)+extra)
	e.last = r.pos
	for i := range n {
		if err := entry(i); err != nil {
			return fmt.Errorf("%s %d: %w", what, i, err)
		}
	}
	return nil
}

func sectionReader(in []byte, s section) reader { return reader{b: in, pos: s.body, end: s.end} }

// tables rewrites the initialisers of table types (typed function references).
func (e *editor) tables(s section) ([]byte, error) {
	r := sectionReader(e.in, s)
	v := e.visitor()
	if err := e.vector(&r, 0, "table", func(uint32) error { return r.tableType(v) }); err != nil {
		return nil, err
	}
	return e.finish(&r)
}

// globals rewrites global initialisers, leaving the count one short for the
// fuel global the caller appends. numGlobals bounds global.get, which in a
// constant expression may only name earlier globals anyway.
func (e *editor) globals(s section, numGlobals uint32) ([]byte, error) {
	r := sectionReader(e.in, s)
	v := e.visitor()
	err := e.vector(&r, 1, "global", func(uint32) error {
		if err := r.globalType(); err != nil {
			return err
		}
		return walkExpr(&r, numGlobals, v)
	})
	if err != nil {
		return nil, err
	}
	return e.finish(&r)
}

// exports renumbers function exports, leaving the count one short for the
// fuel export the caller appends. checkExports validated the entries.
func (e *editor) exports(s section) ([]byte, error) {
	r := sectionReader(e.in, s)
	err := e.vector(&r, 1, "export", func(uint32) error {
		if _, err := r.name("export name"); err != nil {
			return err
		}
		kind, err := r.byte()
		if err != nil {
			return err
		}
		if kind == externFunc {
			return e.funcIndexAt(&r)
		}
		_, err = r.u32()
		return err
	})
	if err != nil {
		return nil, err
	}
	return e.finish(&r)
}

// start renumbers the start function.
func (e *editor) start(s section) ([]byte, error) {
	r := sectionReader(e.in, s)
	e.last = r.pos
	if err := e.funcIndexAt(&r); err != nil {
		return nil, err
	}
	return e.finish(&r)
}

// elements renumbers the function indices of element segments, in all eight
// encodings: index vectors (flags 0 to 3) and expression vectors (4 to 7),
// plus offset expressions.
func (e *editor) elements(s section, numGlobals uint32) ([]byte, error) {
	r := sectionReader(e.in, s)
	v := e.visitor()
	err := e.vector(&r, 0, "element segment", func(uint32) error {
		at := r.pos
		flags, err := r.u32()
		if err != nil {
			return err
		}
		if flags > 7 {
			return r.errorf(at, "invalid element segment flags %d", flags)
		}
		if flags&3 == 2 { // active with a table index
			if _, err := r.u32(); err != nil {
				return err
			}
		}
		if flags&1 == 0 { // active: offset expression
			if err := walkExpr(&r, numGlobals, v); err != nil {
				return err
			}
		}
		if flags&4 == 0 { // function indices, after an element kind unless flags is 0
			if flags != 0 {
				at := r.pos
				if kind, err := r.byte(); err != nil {
					return err
				} else if kind != 0x00 {
					return r.errorf(at, "invalid element kind %#x", kind)
				}
			}
			n, err := r.u32()
			if err != nil {
				return err
			}
			for range n {
				if err := e.funcIndexAt(&r); err != nil {
					return err
				}
			}
			return nil
		}
		if flags != 4 { // expressions, after a reference type unless flags is 4
			if err := r.valType(); err != nil {
				return err
			}
		}
		n, err := r.u32()
		if err != nil {
			return err
		}
		for range n {
			if err := walkExpr(&r, numGlobals, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return e.finish(&r)
}

// code returns the code section payload with check inserted after each
// body's locals and after each loop's block type, and function indices
// renumbered.
func (e *editor) code(s section, check []byte, numGlobals uint32) ([]byte, error) {
	r := sectionReader(e.in, s)
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	out := leb128.AppendUint(make([]byte, 0, s.end-s.body+(s.end-s.body)/4+16), uint64(n))
	body := &editor{in: e.in, imported: e.imported}
	for i := range n {
		body.out = body.out[:0]
		if err := body.body(&r, check, numGlobals); err != nil {
			return nil, fmt.Errorf("function %d (code entry %d): %w", uint64(e.imported)+uint64(i), i, err)
		}
		if uint64(len(body.out)) > math.MaxUint32 {
			return nil, fmt.Errorf("function %d (code entry %d): instrumented body exceeds 4 GiB", uint64(e.imported)+uint64(i), i)
		}
		out = leb128.AppendUint(out, uint64(len(body.out)))
		out = append(out, body.out...)
	}
	if r.pos != r.end {
		return nil, r.errorf(r.pos, "%d trailing bytes after %d function bodies", r.end-r.pos, n)
	}
	return out, nil
}

// body rewrites one code entry into e.out, without its size prefix.
func (e *editor) body(r *reader, check []byte, numGlobals uint32) error {
	at := r.pos
	size, err := r.u32()
	if err != nil {
		return fmt.Errorf("body size: %w", err)
	}
	if left := r.end - r.pos; uint64(size) > uint64(left) {
		return r.errorf(at, "body size %d runs past the end of the code section (%d bytes left)", size, left)
	}
	f, _ := r.sub(size, "function body")
	r.pos = f.end
	e.last = f.pos

	groups, err := f.u32()
	if err != nil {
		return fmt.Errorf("locals: %w", err)
	}
	var locals uint64
	for range groups {
		at := f.pos
		n, err := f.u32()
		if err != nil {
			return fmt.Errorf("locals: %w", err)
		}
		if locals += uint64(n); locals > maxLocals {
			return fmt.Errorf("locals: %w", f.errorf(at, "more than %d locals", maxLocals))
		}
		if err := f.valType(); err != nil {
			return fmt.Errorf("locals: %w", err)
		}
	}
	e.insert(f.pos, check)
	v := &visitor{
		afterLoop: func(pos int) { e.insert(pos, check) },
		funcIndex: e.funcIndex,
	}
	if err := walkExpr(&f, numGlobals, v); err != nil {
		return err
	}
	if f.pos != f.end {
		return f.errorf(f.pos, "%d trailing bytes after the end of the function", f.end-f.pos)
	}
	e.copyTo(f.end)
	return nil
}

// Subsections of the "name" custom section that are keyed by function index:
// function names (a name map), local names and label names (indirect name
// maps). The others name types, tables, memories, globals, element and data
// segments, fields and tags, whose indices do not change.
const (
	nameFunctions = 1
	nameLocals    = 2
	nameLabels    = 3
)

// rewriteNames returns the "name" custom section s, whole, with function
// indices renumbered, or nothing if it cannot be decoded: names are for
// debugging, and a module is better off without them than refused.
func rewriteNames(in []byte, s section, imported uint32) []byte {
	r := sectionReader(in, s)
	if _, err := r.name("custom section name"); err != nil {
		return nil
	}
	payload := append([]byte{}, in[s.body:r.pos]...)
	var sub []byte
	for r.pos < r.end {
		id, err := r.byte()
		if err != nil {
			return nil
		}
		size, err := r.u32()
		if err != nil {
			return nil
		}
		sr, err := r.sub(size, "name subsection")
		if err != nil {
			return nil
		}
		r.pos = sr.end
		switch id {
		case nameFunctions, nameLocals, nameLabels:
			e := &editor{in: in, out: sub[:0], last: sr.pos, imported: imported}
			if err := e.nameMap(&sr, id != nameFunctions); err != nil {
				return nil
			}
			sub = e.out
		default:
			sub = append(sub[:0], in[sr.pos:sr.end]...)
		}
		payload = append(payload, id)
		payload = leb128.AppendUint(payload, uint64(len(sub)))
		payload = append(payload, sub...)
	}
	return appendSection(nil, secCustom, payload)
}

// nameMap renumbers the function indices of a name map, or of an indirect
// name map whose outer indices are function indices.
func (e *editor) nameMap(r *reader, indirect bool) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	for range n {
		if err := e.funcIndexAt(r); err != nil {
			return err
		}
		if !indirect {
			if _, err := r.name("name"); err != nil {
				return err
			}
			continue
		}
		m, err := r.u32()
		if err != nil {
			return err
		}
		for range m {
			if _, err := r.u32(); err != nil {
				return err
			}
			if _, err := r.name("name"); err != nil {
				return err
			}
		}
	}
	_, err = e.finish(r)
	return err
}
