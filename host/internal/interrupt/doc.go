// Package interrupt lets the host stop a WebAssembly step that overruns its
// wall-clock limit, without wazero's WithCloseOnContextDone, and without
// letting a spinning guest stall the Go process.
//
// # Fuel
//
// Instrument rewrites a module's bytes before compilation. It adds an
// exported mutable i32 global, FuelGlobal, that starts at Quantum, and an
// imported host function, HostModule.YieldName. At every function entry and
// loop header the guest decrements the fuel and, when it reaches zero, calls
// yield. Instantiate provides yield in a runtime: it refills the fuel and
// returns, unless the guest call's context is done or Interrupt ran on the
// instance, in which case it ends the call with ErrInterrupted. Interrupt
// empties the fuel from another goroutine, so the guest yields, and stops, at
// its very next check.
//
// # Why the guest must return to Go
//
// Go cannot preempt a goroutine while it runs wazero's compiled code: there
// are no safe points in it. A guest that loops without calling into the host
// holds its P, and a garbage collection waits, in its stop-the-world phase,
// for every P: the whole process stops, including the goroutine that would
// interrupt the guest, until the guest returns, for ever if it never does.
// An earlier version of this package made the checks a plain flag test, with
// exactly that hang (TestInterruptDuringGC now guards against it). The same
// starvation, short of a hang, hits every other goroutine once spinning
// guests occupy all GOMAXPROCS Ps. yield's return to Go is a safe point:
// the collector's stop-the-world and the scheduler get in at least every
// Quantum checks, and yield also calls runtime.Gosched every few yields, so
// that other goroutines wait about a millisecond rather than the scheduler's
// 10 ms time slices.
//
// # Cost
//
// WithCloseOnContextDone, the alternative, makes every loop back-edge call
// into Go: tight loops get some 30 times slower. A fuel check is a load, a
// subtraction, a store, a compare and a branch, plus a host call every
// Quantum checks: about 1.33 times the plain time on an empty tight loop, and
// about 1.13 times on call-heavy recursion (BenchmarkLoop, BenchmarkFib). Real
// loop bodies do more work per check, so pay less.
//
// # Scope
//
// The package transforms bytes, provides the host function and flips words.
// It does not compile or run guests, nor depend on the rest of wasmorch;
// callers own runtimes, modules and deadlines.
package interrupt
