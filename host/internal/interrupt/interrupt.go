package interrupt

import (
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"unsafe"

	"github.com/tetratelabs/wazero/api"
)

var (
	// ErrNotInstrumented is returned when a module does not export GlobalName
	// as a mutable i32, i.e. it was not produced by Instrument.
	ErrNotInstrumented = errors.New("interrupt: module not instrumented")

	// ErrUnsupportedRuntime is returned when wazero's internals do not have the
	// shape this package was written against (see Interrupt). It means the
	// wazero version changed and this package must be revisited.
	ErrUnsupportedRuntime = errors.New("interrupt: unsupported wazero internals")
)

// Where wazero keeps what this package reaches into. Checked by name so that
// a wazero upgrade that moves things yields ErrUnsupportedRuntime, not a
// store to the wrong memory.
const (
	wasmPkg   = "github.com/tetratelabs/wazero/internal/wasm"
	wazevoPkg = "github.com/tetratelabs/wazero/internal/engine/wazevo"
)

// Interrupt makes the next flag check in mod trap, so that a call running in
// mod, on any goroutine, fails with "wasm error: unreachable" at its next
// function entry or loop iteration. It returns without waiting for that.
//
// # Notes
//
//   - Safe to call from any goroutine, concurrently with running guest code
//     and with other calls of Interrupt, Reset and IsInterrupted.
//   - The flag stays set, so every later call into mod traps too, until Reset.
//   - api.MutableGlobal.Set is not used because it is a plain write racing
//     with the guest. Interrupt does an atomic store to the word the
//     compiled code loads. With wazero's compiler (wazevo, the default on
//     amd64 and arm64) that word is not GlobalInstance.Val, which only holds
//     the initial value, but the global's slot in the module engine's context
//     buffer; Interrupt locates it with reflection against wazero v1.12's
//     layout. wazevo has no pass that hoists or caches a global load across a
//     loop back-edge or a function entry, so each check reads memory.
//   - With wazero's interpreter the value lives in GlobalInstance.Val, which
//     the interpreter reads with a plain Go load: the store is still atomic,
//     but the race detector may report the pair.
//   - Only a function entry or loop header notices the flag: a guest blocked
//     in a host function keeps blocking until that function returns.
//   - The caller needs a P to run on, which a guest spinning in compiled code
//     does not give back: see the package documentation.
//
// # Errors
//
//   - ErrNotInstrumented if mod does not export GlobalName as a mutable i32.
//   - ErrUnsupportedRuntime if wazero's internals are not as expected; the
//     flag is then left untouched rather than written to a guessed address.
func Interrupt(mod api.Module) error {
	p, err := flagWord(mod)
	if err != nil {
		return err
	}
	atomic.StoreUint64(p, 1)
	return nil
}

// Reset clears the flag that Interrupt set, so that mod can be called again.
//
// # Notes
//
//   - A trap does not clear the flag: a host that reuses a module after a
//     deadline must Reset it first, and must not race Reset against the
//     Interrupt of a deadline that is still pending.
//
// # Errors
//
// As for Interrupt.
func Reset(mod api.Module) error {
	p, err := flagWord(mod)
	if err != nil {
		return err
	}
	atomic.StoreUint64(p, 0)
	return nil
}

// IsInterrupted reports whether mod's flag is set, telling a trap caused by
// Interrupt apart from one the guest raised itself. It is false for a module
// Interrupt cannot handle.
func IsInterrupted(mod api.Module) bool {
	p, err := flagWord(mod)
	return err == nil && atomic.LoadUint64(p) != 0
}

// flagWord returns the address of the 8-byte word that holds mod's flag and
// that the guest's global.get reads.
func flagWord(mod api.Module) (p *uint64, err error) {
	if mod == nil {
		return nil, fmt.Errorf("%w: nil module", ErrNotInstrumented)
	}
	g := mod.ExportedGlobal(GlobalName)
	if g == nil {
		return nil, fmt.Errorf("%w: module %q does not export global %q", ErrNotInstrumented, mod.Name(), GlobalName)
	}
	if _, ok := g.(api.MutableGlobal); !ok || g.Type() != api.ValueTypeI32 {
		return nil, fmt.Errorf("%w: module %q exports %q, but not as a mutable i32", ErrNotInstrumented, mod.Name(), GlobalName)
	}

	// Reflection on foreign internals panics on surprises; make those errors.
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("%w: %v", ErrUnsupportedRuntime, r)
		}
	}()
	gi, err := globalInstance(g)
	if err != nil {
		return nil, err
	}
	me := gi.FieldByName("Me")
	if me.Kind() != reflect.Interface {
		return nil, unsupported("GlobalInstance has no interface field Me")
	}
	if me.IsNil() { // the engine keeps no copy: the value is Val itself
		val := gi.FieldByName("Val")
		if val.Kind() != reflect.Uint64 {
			return nil, unsupported("GlobalInstance has no uint64 field Val")
		}
		return (*uint64)(val.Addr().UnsafePointer()), nil
	}
	return engineSlot(me.Elem(), gi.FieldByName("Index"))
}

// globalInstance returns the *wasm.GlobalInstance behind an exported global,
// dereferenced and without reflection's read-only mark.
func globalInstance(g api.Global) (reflect.Value, error) {
	v := reflect.ValueOf(g)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() == reflect.Struct {
		for i := range v.NumField() {
			f := v.Field(i)
			if t := f.Type(); t.Kind() == reflect.Pointer && !f.IsNil() &&
				t.Elem().Name() == "GlobalInstance" && t.Elem().PkgPath() == wasmPkg {
				return reflect.NewAt(t.Elem(), f.UnsafePointer()).Elem(), nil
			}
		}
	}
	return reflect.Value{}, unsupported("exported global %T does not wrap a *wasm.GlobalInstance", g)
}

// engineSlot returns the address of global index's value in a wazevo module
// engine's context buffer, asking wazero's own offset table where it is.
func engineSlot(me, index reflect.Value) (*uint64, error) {
	if t := me.Type(); t.Kind() != reflect.Pointer || t.Elem().Name() != "moduleEngine" || t.Elem().PkgPath() != wazevoPkg {
		return nil, unsupported("global owned by engine %v, want *wazevo.moduleEngine", me.Type())
	}
	if index.Kind() != reflect.Uint32 {
		return nil, unsupported("GlobalInstance has no uint32 field Index")
	}
	e := me.Elem()
	opaque := e.FieldByName("opaque")
	if opaque.Kind() != reflect.Slice || opaque.Type().Elem().Kind() != reflect.Uint8 {
		return nil, unsupported("moduleEngine has no byte slice opaque")
	}
	parent := e.FieldByName("parent")
	if parent.Kind() != reflect.Pointer || parent.IsNil() || parent.Elem().Kind() != reflect.Struct {
		return nil, unsupported("moduleEngine has no compiled module parent")
	}
	offsets := parent.Elem().FieldByName("offsets")
	if offsets.Kind() != reflect.Struct {
		return nil, unsupported("compiledModule has no offsets")
	}
	m := reflect.NewAt(offsets.Type(), offsets.Addr().UnsafePointer()).MethodByName("GlobalInstanceOffset")
	if !m.IsValid() || m.Type().NumIn() != 1 || m.Type().NumOut() != 1 ||
		m.Type().In(0).Kind() != reflect.Uint32 || m.Type().Out(0).Kind() != reflect.Int32 {
		return nil, unsupported("offsets have no method GlobalInstanceOffset(uint32) int32")
	}
	off := m.Call([]reflect.Value{reflect.ValueOf(index.Uint()).Convert(m.Type().In(0))})[0].Int()
	if off < 0 || off+8 > int64(opaque.Len()) {
		return nil, unsupported("global offset %d outside a %d-byte module context", off, opaque.Len())
	}
	p := unsafe.Add(opaque.UnsafePointer(), off)
	if uintptr(p)%8 != 0 {
		return nil, unsupported("global slot at offset %d is not 8-byte aligned", off)
	}
	return (*uint64)(p), nil
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupportedRuntime, fmt.Sprintf(format, args...))
}
