// Package interrupt lets the host stop a WebAssembly step that overruns its
// wall-clock limit, without wazero's WithCloseOnContextDone.
//
// WithCloseOnContextDone makes every loop back-edge call into Go, which makes
// tight guest loops 25 to 30 times slower (see BenchmarkLoop). Instead,
// Instrument rewrites a module's bytes before compilation: it adds an
// exported mutable i32 global, GlobalName, and at every function entry and
// loop header a load of it and a branch to unreachable. Interrupt sets that
// global from another goroutine once the deadline passes, and the guest
// traps at its next check.
//
// # Limitation: a guest that never leaves compiled code
//
// The checks never return to Go, and Go cannot preempt a goroutine running
// wazero's native code. A looping guest therefore holds its P, and a garbage
// collection that stops the world waits for it while every other goroutine,
// including the one that would call Interrupt, stays stopped: the process
// hangs until the guest returns, for ever if it never does. The same holds,
// without a GC, once spinning guests occupy all GOMAXPROCS Ps. A host must
// make guests return to Go now and then (WithCloseOnContextDone does on every
// back-edge; a countdown that calls a host function every few thousand
// checks would be cheaper) before relying on this package for deadlines.
// TestInterruptDuringGC reproduces the hang.
//
// The package is a leaf: it only transforms bytes and flips a flag. It must
// not compile, instantiate or call guests, nor depend on the rest of
// wasmorch; callers own runtimes, modules and deadlines. Only its tests run
// wazero.
package interrupt
