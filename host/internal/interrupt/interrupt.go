package interrupt

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

var (
	// ErrInterrupted is the error a guest call ends with when its context is
	// done or Interrupt ran: wazero returns it from api.Function.Call wrapped
	// with a wasm stack trace, so test for it with errors.Is. When the
	// context caused it, the error wraps context.Cause too (for example
	// context.DeadlineExceeded).
	ErrInterrupted = errors.New("interrupt: call interrupted")

	// ErrNotInstrumented is returned when a module does not export FuelGlobal
	// as a mutable i32, i.e. it was not produced by Instrument.
	ErrNotInstrumented = errors.New("interrupt: module not instrumented")

	// ErrUnsupportedRuntime is returned when wazero's internals do not have the
	// shape this package was written against (see Interrupt). It means the
	// wazero version changed and this package must be revisited.
	ErrUnsupportedRuntime = errors.New("interrupt: unsupported wazero internals")
)

// errInterruptCalled is what yield panics with when Interrupt ran.
var errInterruptCalled = fmt.Errorf("%w by the host", ErrInterrupted)

// Instantiate instantiates in rt the host module HostModule, which exports
// the function YieldName that modules produced by Instrument import. Call it
// once per runtime, before instantiating any instrumented module; calling it
// again is a no-op (not safe concurrently with itself on the same runtime).
//
// An instrumented guest calls yield whenever its fuel runs out, every Quantum
// checks. yield then:
//
//   - if the context of the guest call (the one passed to api.Function.Call,
//     or to instantiation while a start function runs) is done, or Interrupt
//     ran on the calling module, panics with ErrInterrupted, which wazero
//     turns into the error that Call returns: the call ends there, with
//     nothing of the guest running after it;
//   - otherwise refills the caller's fuel to Quantum and returns. That return
//     to Go is the point: it lets a stop-the-world phase of the garbage
//     collector, and Go's scheduler, take the goroutine.
//
// yield does not allocate on its normal path (about 100 ns, mostly finding
// the caller's fuel), and every 8th yield of an instance also calls
// runtime.Gosched. An instance's interrupted state is sticky: every later
// call into it ends with ErrInterrupted, at its first check with wazero's
// compiler (see Interrupt for the interpreter). A call that ended because its
// context was done leaves no such trace; a later call with a live context
// runs.
//
// The error wazero returns reads "interrupt: call interrupted: context
// deadline exceeded (recovered by wazero)" followed by the wasm stack trace;
// unlike a trap's, it does not start with "wasm error:". Test it with
// errors.Is(err, ErrInterrupted), or check the context first.
//
// # Errors
//
//   - An error if rt has a module named HostModule that is not this one.
//     (Instantiate checks before asking wazero: wazero v1.12, refusing a
//     second module of a name, unregisters the first.)
//   - Whatever wazero's host module builder returns.
func Instantiate(ctx context.Context, rt wazero.Runtime) error {
	if m := rt.Module(HostModule); m != nil {
		def, ok := m.ExportedFunctionDefinitions()[YieldName]
		if ok && def.GoFunction() != nil &&
			reflect.ValueOf(def.GoFunction()).Pointer() == reflect.ValueOf(api.GoModuleFunc(yield)).Pointer() {
			return nil
		}
		return fmt.Errorf("interrupt: runtime has a module %q already, and it is not this package's", HostModule)
	}
	_, err := rt.NewHostModuleBuilder(HostModule).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(yield), nil, nil).
		WithName(YieldName).
		Export(YieldName).
		Instantiate(ctx)
	return err
}

// yield is HostModule.YieldName; see Instantiate. mod is the calling module,
// the instrumented guest whose fuel ran out.
func yield(ctx context.Context, mod api.Module, _ []uint64) {
	f, err := fuelOf(mod)
	if err != nil {
		panic(err) // fail closed: the guest cannot go on without fuel
	}
	if ctx != nil && ctx.Err() != nil {
		panic(fmt.Errorf("%w: %w", ErrInterrupted, context.Cause(ctx)))
	}
	if f.interrupted() {
		panic(errInterruptCalled)
	}
	f.refill()
	// An Interrupt between the check above and the refill would be undone by
	// it; look again, so that it takes effect now rather than a quantum late.
	// The second look also counts the yield.
	n := atomic.AddUint64(f.mark, markYield)
	if n&markInterrupted != 0 {
		f.empty()
		panic(errInterruptCalled)
	}
	if (n/markYield)%goschedEvery == 0 {
		// Returning to Go lets a stop-the-world in, but Go's scheduler only
		// takes the P from a goroutine that has run for 10 ms, and then only
		// at a yield; with more spinning guests than Ps, other goroutines
		// (timers, including the deadlines yield checks, the GC's workers,
		// the host's own) waited 40 to 60 ms in TestInterruptOversubscribed.
		// Giving the P up every 8 yields brings that to about 2 ms. Not at
		// every yield: when another P is idle the goroutine migrates to it,
		// a thread wake-up each time, which cost 10% on BenchmarkLoop.
		runtime.Gosched()
	}
}

// goschedEvery is how many yields of an instance make one runtime.Gosched:
// 2^19 checks, about 0.7 ms of a tight loop.
const goschedEvery = 8

// Interrupt makes the guest code running in mod, on any goroutine, and every
// later call into mod, end with ErrInterrupted: it marks the instance as
// interrupted and empties its fuel, so that the guest calls yield at its
// next function entry or loop iteration, and yield traps. It returns
// without waiting for that.
//
// # Notes
//
//   - mod must come from Instrument's output, instantiated in a runtime where
//     Instantiate ran.
//   - Safe to call from any goroutine, concurrently with running guest code
//     and with other calls of Interrupt. There is no way back: a host that
//     wants to call the guest again instantiates it again.
//   - A host that cancels the context of the guest call need not call
//     Interrupt at all: yield checks the context, so the guest stops within
//     one quantum. Interrupt makes it stop at the next check.
//   - api.MutableGlobal.Set is not used because it is a plain write racing
//     with the guest. Interrupt does atomic stores to the words the compiled
//     code reads. With wazero's compiler (wazevo, the default on amd64 and
//     arm64) those are not GlobalInstance.Val, which only holds the initial
//     value, but the global's 16-byte slot in the module engine's context
//     buffer; Interrupt locates it with reflection against wazero v1.12's
//     layout. The guest reads and writes the low 32 bits; the high 8 bytes,
//     used only by v128 globals, hold the interrupted mark, which the guest
//     cannot reach. wazevo has no pass that hoists or caches a global load
//     across a loop back-edge, a call or a function entry, so each check
//     reads memory.
//   - The guest's decrement is a plain load and store. If Interrupt's store
//     lands between them it is overwritten, and the guest runs out of fuel,
//     and notices the mark, only at the end of its quantum: at most Quantum
//     checks late.
//   - Nothing else may write FuelGlobal: api.MutableGlobal.Set writes the
//     whole slot and would clear the mark.
//   - With wazero's interpreter the fuel lives in GlobalInstance.Val, which
//     the interpreter reads and writes with plain Go loads and stores, so
//     Interrupt only sets the mark (in ValHi) and the guest notices it when
//     its fuel runs out, within Quantum checks.
//   - Only a function entry or loop header notices the empty fuel: a guest
//     blocked in a host function keeps blocking until that function returns.
//
// # Errors
//
//   - ErrNotInstrumented if mod does not export FuelGlobal as a mutable i32.
//   - ErrUnsupportedRuntime if wazero's internals are not as expected; then
//     nothing is written, rather than to a guessed address.
func Interrupt(mod api.Module) error {
	f, err := fuelOf(mod)
	if err != nil {
		return err
	}
	f.interrupt()
	return nil
}

// fuel addresses one instance's fuel global.
type fuel struct {
	// val is the global's value word. The guest reads and writes its low 32
	// bits; the upper 32 stay zero.
	val *uint64
	// mark is the high word of the slot, unused by an i32 global. Its low
	// bit is set once Interrupt ran; the rest counts yields.
	mark *uint64
	// shared tells whether only compiled code uses val besides this package,
	// so that Interrupt may store to it (see Interrupt).
	shared bool
}

// The interrupted flag, and the unit of the yield count, in fuel.mark.
const (
	markInterrupted = 1
	markYield       = 2
)

func (f fuel) interrupted() bool { return atomic.LoadUint64(f.mark)&markInterrupted != 0 }

func (f fuel) refill() { atomic.StoreUint64(f.val, Quantum) }

func (f fuel) empty() { atomic.StoreUint64(f.val, 0) }

func (f fuel) interrupt() {
	atomic.OrUint64(f.mark, markInterrupted)
	if f.shared {
		f.empty()
	}
}

// Where wazero keeps what this package reaches into. Checked by name so that
// a wazero upgrade that moves things yields ErrUnsupportedRuntime, not a
// store to the wrong memory.
const (
	wasmPkg   = "github.com/tetratelabs/wazero/internal/wasm"
	wazevoPkg = "github.com/tetratelabs/wazero/internal/engine/wazevo"
)

// globalStride is the size of a global's slot in wazevo's context buffer.
// fuelOf checks it against wazero's own offset table before relying on it.
const globalStride = 16

// fuelOf returns the addresses of mod's fuel and interrupted mark.
func fuelOf(mod api.Module) (f fuel, err error) {
	if mod == nil {
		return fuel{}, fmt.Errorf("%w: nil module", ErrNotInstrumented)
	}
	g := mod.ExportedGlobal(FuelGlobal)
	if g == nil {
		return fuel{}, fmt.Errorf("%w: module %q does not export global %q", ErrNotInstrumented, mod.Name(), FuelGlobal)
	}
	if _, ok := g.(api.MutableGlobal); !ok || g.Type() != api.ValueTypeI32 {
		return fuel{}, fmt.Errorf("%w: module %q exports %q, but not as a mutable i32", ErrNotInstrumented, mod.Name(), FuelGlobal)
	}

	// Reflection on foreign internals panics on surprises; make those errors.
	defer func() {
		if r := recover(); r != nil {
			f, err = fuel{}, fmt.Errorf("%w: %v", ErrUnsupportedRuntime, r)
		}
	}()
	if l := cachedLayout.Load(); l != nil {
		if f, ok := l.lookup(g); ok {
			return f, nil
		}
	}
	l, f, err := discover(g)
	if err != nil {
		return fuel{}, err
	}
	cachedLayout.Store(l)
	return f, nil
}

// layout caches where discover found things, as field indices keyed by the
// types it saw, so that yield finds a module's fuel without searching fields
// by name or calling methods through reflection.
type layout struct {
	wrapper               reflect.Type // dynamic type of the api.Global, wasm.mutableGlobal
	wrapField             int          // its *wasm.GlobalInstance field
	global                reflect.Type // wasm.GlobalInstance
	me, val, valHi, index int          // GlobalInstance fields
	engine                reflect.Type // wazevo.moduleEngine
	opaque, parent        int          // moduleEngine fields
	offsets               int          // compiledModule field
	globalsBegin          int          // ModuleContextOffsetData field
}

var cachedLayout atomic.Pointer[layout]

// lookup is discover's fast path for types discover has vetted.
func (l *layout) lookup(g api.Global) (fuel, bool) {
	w := reflect.ValueOf(g)
	if w.Type() != l.wrapper {
		return fuel{}, false
	}
	p := w.Field(l.wrapField)
	if p.IsNil() {
		return fuel{}, false
	}
	gi := reflect.NewAt(l.global, p.UnsafePointer()).Elem()
	me := gi.Field(l.me)
	if me.IsNil() {
		return interpreterFuel(gi, l.val, l.valHi), true
	}
	e := me.Elem()
	if e.Type() != l.engine {
		return fuel{}, false
	}
	e = e.Elem()
	opaque := e.Field(l.opaque)
	parent := e.Field(l.parent)
	if parent.IsNil() {
		return fuel{}, false
	}
	off := parent.Elem().Field(l.offsets).Field(l.globalsBegin).Int() + globalStride*int64(gi.Field(l.index).Uint())
	f, err := engineFuel(opaque, off)
	return f, err == nil
}

func interpreterFuel(gi reflect.Value, val, valHi int) fuel {
	return fuel{
		val:  (*uint64)(gi.Field(val).Addr().UnsafePointer()),
		mark: (*uint64)(gi.Field(valHi).Addr().UnsafePointer()),
	}
}

// engineFuel returns the fuel in the global slot at off in a wazevo context
// buffer.
func engineFuel(opaque reflect.Value, off int64) (fuel, error) {
	if off < 0 || off+globalStride > int64(opaque.Len()) {
		return fuel{}, unsupported("global offset %d outside a %d-byte module context", off, opaque.Len())
	}
	p := unsafe.Add(opaque.UnsafePointer(), off)
	if uintptr(p)%8 != 0 {
		return fuel{}, unsupported("global slot at offset %d is not 8-byte aligned", off)
	}
	return fuel{val: (*uint64)(p), mark: (*uint64)(unsafe.Add(p, 8)), shared: true}, nil
}

// discover finds the fuel behind g the slow way, checking every step by name
// and asking wazero's own offset table, and records the way in a layout.
func discover(g api.Global) (*layout, fuel, error) {
	l := &layout{}
	w := reflect.ValueOf(g)
	if w.Kind() != reflect.Struct {
		return nil, fuel{}, unsupported("exported global %T is not a struct", g)
	}
	l.wrapper, l.wrapField = w.Type(), -1
	for i := range w.NumField() {
		f := w.Field(i)
		if t := f.Type(); t.Kind() == reflect.Pointer && !f.IsNil() &&
			t.Elem().Name() == "GlobalInstance" && t.Elem().PkgPath() == wasmPkg {
			l.wrapField = i
			break
		}
	}
	if l.wrapField < 0 {
		return nil, fuel{}, unsupported("exported global %T does not wrap a *wasm.GlobalInstance", g)
	}
	l.global = w.Type().Field(l.wrapField).Type.Elem()
	gi := reflect.NewAt(l.global, w.Field(l.wrapField).UnsafePointer()).Elem()

	var ok bool
	if l.me, ok = field(l.global, "Me", reflect.Interface); !ok {
		return nil, fuel{}, unsupported("GlobalInstance has no interface field Me")
	}
	if l.index, ok = field(l.global, "Index", reflect.Uint32); !ok {
		return nil, fuel{}, unsupported("GlobalInstance has no uint32 field Index")
	}
	l.val, ok = field(l.global, "Val", reflect.Uint64)
	var hiOK bool
	l.valHi, hiOK = field(l.global, "ValHi", reflect.Uint64)
	if !ok || !hiOK {
		return nil, fuel{}, unsupported("GlobalInstance has no uint64 fields Val and ValHi")
	}
	me := gi.Field(l.me)
	if me.IsNil() { // the engine keeps no copy: the value is Val itself
		return l, interpreterFuel(gi, l.val, l.valHi), nil
	}

	e := me.Elem()
	if t := e.Type(); t.Kind() != reflect.Pointer || t.Elem().Name() != "moduleEngine" || t.Elem().PkgPath() != wazevoPkg {
		return nil, fuel{}, unsupported("global owned by engine %v, want *wazevo.moduleEngine", e.Type())
	}
	l.engine = e.Type()
	e = e.Elem()
	if l.opaque, ok = field(e.Type(), "opaque", reflect.Slice); !ok || e.Field(l.opaque).Type().Elem().Kind() != reflect.Uint8 {
		return nil, fuel{}, unsupported("moduleEngine has no byte slice opaque")
	}
	if l.parent, ok = field(e.Type(), "parent", reflect.Pointer); !ok || e.Field(l.parent).IsNil() || e.Field(l.parent).Elem().Kind() != reflect.Struct {
		return nil, fuel{}, unsupported("moduleEngine has no compiled module parent")
	}
	parent := e.Field(l.parent).Elem()
	if l.offsets, ok = field(parent.Type(), "offsets", reflect.Struct); !ok {
		return nil, fuel{}, unsupported("compiledModule has no offsets")
	}
	offsets := parent.Field(l.offsets)
	if l.globalsBegin, ok = field(offsets.Type(), "GlobalsBegin", reflect.Int32); !ok {
		return nil, fuel{}, unsupported("offsets have no int32 field GlobalsBegin")
	}
	m := reflect.NewAt(offsets.Type(), offsets.Addr().UnsafePointer()).MethodByName("GlobalInstanceOffset")
	if !m.IsValid() || m.Type().NumIn() != 1 || m.Type().NumOut() != 1 ||
		m.Type().In(0).Kind() != reflect.Uint32 || m.Type().Out(0).Kind() != reflect.Int32 {
		return nil, fuel{}, unsupported("offsets have no method GlobalInstanceOffset(uint32) int32")
	}
	// Vet the fast path's arithmetic against wazero's own: slot i starts
	// at GlobalsBegin + 16*i, so slot i is 16 bytes.
	index := gi.Field(l.index).Uint()
	begin := offsets.Field(l.globalsBegin).Int()
	for _, i := range []uint64{index, index + 1} {
		got := m.Call([]reflect.Value{reflect.ValueOf(i).Convert(m.Type().In(0))})[0].Int()
		if want := begin + globalStride*int64(i); got != want {
			return nil, fuel{}, unsupported("GlobalInstanceOffset(%d) = %d, want %d", i, got, want)
		}
	}
	f, err := engineFuel(e.Field(l.opaque), begin+globalStride*int64(index))
	if err != nil {
		return nil, fuel{}, err
	}
	return l, f, nil
}

// field returns the index of t's field name if it has kind k.
func field(t reflect.Type, name string, k reflect.Kind) (int, bool) {
	f, ok := t.FieldByName(name)
	if !ok || len(f.Index) != 1 || f.Type.Kind() != k {
		return -1, false
	}
	return f.Index[0], true
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupportedRuntime, fmt.Sprintf(format, args...))
}
