package interrupt

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/wasmorch/wasmorch/host/internal/leb128"
)

// Names that tie Instrument's output to Instantiate and Interrupt. A module
// that imports from HostModule or exports FuelGlobal is refused by
// Instrument: it was instrumented already, or it reaches for the host's
// internals.
const (
	// HostModule is the module of the import Instrument adds, and the name
	// under which Instantiate registers the host function.
	HostModule = "wasmorch_internal"
	// YieldName is the function imported from HostModule, () -> (), that an
	// instrumented guest calls whenever its fuel runs out.
	YieldName = "yield"
	// FuelGlobal is the export name of the mutable i32 fuel counter that
	// Instrument adds and Interrupt empties.
	FuelGlobal = "wasmorch_fuel"
)

// Quantum is the fuel an instrumented guest starts with and gets back at
// every yield: the number of checks (function entries plus loop iterations)
// between two returns to Go. For an empty loop, at about 1.3 ns an
// iteration, that is some 85 µs of guest time; real code spends longer per
// check. A longer quantum would make yields rarer still, and a
// stop-the-world pause, or a deadline, slower to take effect.
const Quantum = 1 << 16

var (
	// ErrMalformed is wrapped by every error Instrument returns for input it
	// cannot decode. The message names the section, function and byte offset.
	ErrMalformed = errors.New("interrupt: malformed module")

	// ErrAlreadyInstrumented is returned by Instrument when the module imports
	// from HostModule or exports FuelGlobal, typically because it went
	// through Instrument before.
	ErrAlreadyInstrumented = errors.New("interrupt: module already instrumented (it imports from " +
		HostModule + " or exports " + FuelGlobal + ")")
)

const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	externFunc   = 0
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

// Instrument returns a copy of the WebAssembly binary wasm that counts down
// a fuel global at every function entry and loop header and calls the host
// function HostModule.YieldName whenever the count reaches zero.
//
// Concretely, Instrument:
//
//   - adds the function import HostModule.YieldName, of type () -> (), after
//     all other imports, so that its index is the number of imported
//     functions; every defined function's index goes up by one, and every
//     reference to one is rewritten: call, return_call and ref.func in code
//     and in constant expressions (global and table initialisers, element
//     segments), element segment index vectors, function exports, the start
//     function and the "name" section's function, local and label names;
//
//   - reuses a () -> () entry of the type section, or appends one;
//
//   - appends a mutable i32 global, exported as FuelGlobal, initialised to
//     Quantum, after all imported and defined globals, so no global index
//     changes;
//
//   - inserts at every function entry and loop header
//
//     global.get $fuel; i32.const 1; i32.sub; global.set $fuel
//     global.get $fuel; i32.const 0; i32.le_s; if; call $yield; end
//
// The yield, installed by Instantiate, refills the fuel and returns, which
// gives Go's scheduler and garbage collector their chance, or traps when the
// call's context is done or Interrupt ran. See the package documentation for
// why a guest must return to Go now and then.
//
// # Notes
//
//   - The input is not modified. Equal inputs give equal outputs, so the
//     result is a stable key for wazero's compilation cache.
//   - Sections that hold no function or global index are copied byte for
//     byte, except custom sections named ".debug_*" or "metadata.code.*":
//     their code offsets no longer match and would mislead debuggers, so they
//     are dropped. A "name" section is re-encoded with the new indices, or
//     dropped if it cannot be decoded; other custom sections are copied.
//   - Instrument decodes only what it must to rewrite the module (structure,
//     immediates, indices; not types); the runtime that compiles the output
//     still validates it. It does reject code that names a global index at
//     or past the new one, since after instrumentation such code could refill
//     its own fuel.
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
//   - ErrAlreadyInstrumented if wasm imports from HostModule or exports
//     FuelGlobal.
func Instrument(wasm []byte) ([]byte, error) {
	out, err := instrument(wasm)
	if err != nil && !errors.Is(err, ErrAlreadyInstrumented) {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return out, err
}

// shape is what instrumentation needs to know about a module before it
// rewrites it.
type shape struct {
	types                           uint32 // entries of the type section
	voidType                        uint32 // index of a () -> () type
	hasVoid                         bool   // whether voidType exists already
	importedFuncs, definedFuncs     uint32
	importedGlobals, definedGlobals uint32
}

func instrument(in []byte) ([]byte, error) {
	secs, err := splitSections(in)
	if err != nil {
		return nil, err
	}

	var m shape
	for _, s := range secs {
		switch s.id {
		case secType:
			m.types, m.voidType, m.hasVoid, err = scanTypes(in, s)
		case secImport:
			m.importedFuncs, m.importedGlobals, err = scanImports(in, s)
		case secFunction:
			m.definedFuncs, err = count(in, s)
		case secGlobal:
			m.definedGlobals, err = count(in, s)
		case secExport:
			err = checkExports(in, s, uint64(m.importedGlobals)+uint64(m.definedGlobals))
		}
		if err != nil {
			return nil, fmt.Errorf("%v: %w", s, err)
		}
	}
	numGlobals := uint64(m.importedGlobals) + uint64(m.definedGlobals)
	if numGlobals >= math.MaxUint32 {
		return nil, fmt.Errorf("%d globals leave no index for %s", numGlobals, FuelGlobal)
	}
	if n := uint64(m.importedFuncs) + uint64(m.definedFuncs); n >= math.MaxUint32 {
		return nil, fmt.Errorf("%d functions leave no index for %s.%s", n, HostModule, YieldName)
	}
	if !m.hasVoid {
		if m.types == math.MaxUint32 {
			return nil, fmt.Errorf("%d types leave no index for () -> ()", m.types)
		}
		m.voidType = m.types
	}
	fuel, yield := uint32(numGlobals), m.importedFuncs
	check := fuelCheck(fuel, yield)
	ed := func() *editor { return &editor{in: in, imported: m.importedFuncs} }

	out := make([]byte, 0, len(in)+len(in)/4+128)
	out = append(out, header...)
	var doneType, doneImport, doneGlobal, doneExport bool
	emitNew := func(rank int) {
		if !doneType && rank > sectionRank[secType] {
			out = appendSection(out, secType, appendVoidType(leb128.AppendUint(nil, 1)))
			doneType = true
		}
		if !doneImport && rank > sectionRank[secImport] {
			out = appendSection(out, secImport, appendYieldImport(leb128.AppendUint(nil, 1), m.voidType))
			doneImport = true
		}
		if !doneGlobal && rank > sectionRank[secGlobal] {
			out = appendSection(out, secGlobal, appendFuelGlobal(leb128.AppendUint(nil, 1)))
			doneGlobal = true
		}
		if !doneExport && rank > sectionRank[secExport] {
			out = appendSection(out, secExport, appendFuelExport(leb128.AppendUint(nil, 1), fuel))
			doneExport = true
		}
	}
	for _, s := range secs {
		if s.id != secCustom {
			emitNew(sectionRank[s.id])
		}
		var payload []byte
		switch s.id {
		case secCustom:
			switch {
			case strings.HasPrefix(s.name, ".debug_"), strings.HasPrefix(s.name, "metadata.code."):
			case s.name == "name":
				out = append(out, rewriteNames(in, s, m.importedFuncs)...)
			default:
				out = append(out, in[s.start:s.end]...)
			}
			continue
		case secType:
			doneType = true
			if m.hasVoid {
				out = append(out, in[s.start:s.end]...)
				continue
			}
			payload = appendVoidType(recount(in, s))
		case secImport:
			doneImport = true
			payload = appendYieldImport(recount(in, s), m.voidType)
		case secTable:
			payload, err = ed().tables(s)
		case secGlobal:
			doneGlobal = true
			payload, err = ed().globals(s, fuel)
			payload = appendFuelGlobal(payload)
		case secExport:
			doneExport = true
			payload, err = ed().exports(s)
			payload = appendFuelExport(payload, fuel)
		case secStart:
			payload, err = ed().start(s)
		case secElement:
			payload, err = ed().elements(s, fuel)
		case secCode:
			payload, err = ed().code(s, check, fuel)
		default:
			out = append(out, in[s.start:s.end]...)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%v: %w", s, err)
		}
		if uint64(len(payload)) > math.MaxUint32 {
			return nil, fmt.Errorf("%v: instrumented section exceeds 4 GiB", s)
		}
		out = appendSection(out, s.id, payload)
	}
	emitNew(math.MaxInt)
	return out, nil
}

// fuelCheck is what Instrument inserts at function entries and loop headers.
// wasm has no global.tee, but wazero's compiler forwards the stored value to
// the second global.get, so this compiles to a load, a subtraction, a store,
// a compare and a branch. The signed compare makes any value at or below zero
// call yield, so a value Interrupt stores, or a refill a racing guest store
// undid, cannot make the guest skip yield for more than one quantum.
func fuelCheck(fuel, yield uint32) []byte {
	get := leb128.AppendUint([]byte{opGlobalGet}, uint64(fuel))
	b := append([]byte{}, get...)
	b = append(b, opI32Const, 1, opI32Sub, opGlobalSet)
	b = leb128.AppendUint(b, uint64(fuel))
	b = append(b, get...)
	b = append(b, opI32Const, 0, opI32LeS, opIf, 0x40, opCall)
	b = leb128.AppendUint(b, uint64(yield))
	return append(b, opEnd)
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

// count returns a vector section's entry count, decoded by splitSections.
func count(in []byte, s section) (uint32, error) {
	r := reader{b: in, pos: s.body, end: s.end}
	return r.u32()
}

// scanTypes counts the types the type section defines and finds the first
// standalone () -> (). A recursive type group (0x4e, from the GC proposal,
// which wazero decodes) defines several types in one entry; a () -> () in
// one is not reused, since a type's group is part of its identity there and
// wazero records it.
func scanTypes(in []byte, s section) (n, void uint32, hasVoid bool, err error) {
	r := reader{b: in, pos: s.body, end: s.end}
	entries, err := r.u32()
	if err != nil {
		return 0, 0, false, err
	}
	var types uint64
	for i := range entries {
		group, isVoid, rec := uint32(1), false, false
		if r.pos < r.end && r.b[r.pos] == recGroup {
			r.pos, rec = r.pos+1, true
			if group, err = r.u32(); err != nil {
				return 0, 0, false, fmt.Errorf("type entry %d: %w", i, err)
			}
		}
		for range group {
			if isVoid, err = r.funcType(); err != nil {
				return 0, 0, false, fmt.Errorf("type entry %d: %w", i, err)
			}
		}
		if isVoid && !rec && !hasVoid {
			void, hasVoid = uint32(types), true
		}
		if types += uint64(group); types > math.MaxUint32 {
			return 0, 0, false, fmt.Errorf("more than %d types", uint32(math.MaxUint32))
		}
	}
	if r.pos != r.end {
		return 0, 0, false, r.errorf(r.pos, "%d trailing bytes", r.end-r.pos)
	}
	return uint32(types), void, hasVoid, nil
}

// recGroup introduces a recursive type group in the type section.
const recGroup = 0x4e

// funcType skips a function type and tells whether it is () -> ().
func (r *reader) funcType() (void bool, err error) {
	at := r.pos
	form, err := r.byte()
	if err != nil {
		return false, err
	}
	if form != 0x60 {
		return false, r.errorf(at, "unsupported type form %#x, want 0x60 (func)", form)
	}
	var arity [2]uint32
	for j := range arity {
		if arity[j], err = r.u32(); err != nil {
			return false, err
		}
		for range arity[j] {
			if err := r.valType(); err != nil {
				return false, err
			}
		}
	}
	return arity == [2]uint32{}, nil
}

// scanImports counts imported functions and globals, and refuses imports
// from HostModule.
func scanImports(in []byte, s section) (funcs, globals uint32, err error) {
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
	mod, err := r.name("module name")
	if err != nil {
		return err
	}
	field, err := r.name("field name")
	if err != nil {
		return err
	}
	if mod == HostModule {
		return fmt.Errorf("%w: imports %s.%s", ErrAlreadyInstrumented, mod, field)
	}
	at := r.pos
	kind, err := r.byte()
	if err != nil {
		return err
	}
	switch kind {
	case externFunc: // type index
		*funcs++
		_, err = r.u32()
	case 0x01:
		err = r.tableType(nil)
	case 0x02:
		err = r.limits()
	case externGlobal:
		*globals++
		err = r.globalType()
	case 0x04: // tag: attribute, type index
		err = r.immediates(immU32x2)
	default:
		err = r.errorf(at, "invalid import kind %#x", kind)
	}
	return err
}

// globalType skips a value type and a mutability flag.
func (r *reader) globalType() error {
	if err := r.valType(); err != nil {
		return err
	}
	at := r.pos
	if mut, err := r.byte(); err != nil {
		return err
	} else if mut > 1 {
		return r.errorf(at, "invalid global mutability %#x", mut)
	}
	return nil
}

// checkExports rejects an export named FuelGlobal and exports of globals
// that do not exist yet, which instrumentation would otherwise bring into
// being.
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
		if name == FuelGlobal {
			return fmt.Errorf("%w: exports %s", ErrAlreadyInstrumented, name)
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
	out := leb128.AppendUint(make([]byte, 0, s.end-s.body+32), uint64(n)+1)
	return append(out, in[r.pos:s.end]...)
}

// appendVoidType appends the function type () -> ().
func appendVoidType(b []byte) []byte { return append(b, 0x60, 0x00, 0x00) }

// appendYieldImport appends (import HostModule YieldName (func (type t))).
func appendYieldImport(b []byte, t uint32) []byte {
	b = leb128.AppendUint(b, uint64(len(HostModule)))
	b = append(b, HostModule...)
	b = leb128.AppendUint(b, uint64(len(YieldName)))
	b = append(b, YieldName...)
	return leb128.AppendUint(append(b, externFunc), uint64(t))
}

// appendFuelGlobal appends (global (mut i32) (i32.const Quantum)).
func appendFuelGlobal(b []byte) []byte {
	b = append(b, 0x7f, 0x01, opI32Const)
	return append(leb128.AppendInt(b, Quantum), opEnd)
}

func appendFuelExport(b []byte, fuel uint32) []byte {
	b = leb128.AppendUint(b, uint64(len(FuelGlobal)))
	b = append(b, FuelGlobal...)
	return leb128.AppendUint(append(b, externGlobal), uint64(fuel))
}

func appendSection(out []byte, id byte, payload []byte) []byte {
	out = leb128.AppendUint(append(out, id), uint64(len(payload)))
	return append(out, payload...)
}
