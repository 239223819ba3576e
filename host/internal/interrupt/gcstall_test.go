package interrupt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Go cannot preempt a goroutine running wazero's compiled code. A guest that
// never returned to Go would make a garbage collection's stop-the-world wait
// for it, with every other goroutine, including the one that would call
// Interrupt, stopped: the process would hang for as long as the guest loops.
// The fuel's periodic yield is what prevents that. The tests below would
// hang the whole test binary if it regressed, so they run in a child process
// that the parent kills after a bound.

const childEnv = "INTERRUPT_CHILD_TEST"

// inChild reports whether the caller is the child process that should run
// the test body. In the parent, it runs the test alone in a child, fails the
// test if the child fails or is still running after bound, and returns false.
func inChild(t *testing.T, bound time.Duration) bool {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out.Bytes())
		}
		t.Logf("child output:\n%s", out.Bytes())
	case <-time.After(bound):
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf("child still running after %v: a guest that does not return to Go stalled the process\n%s", bound, out.Bytes())
	}
	return false
}

// TestInterruptDuringGC runs a garbage collection, which stops the world,
// while a guest spins in an endless loop, then interrupts the guest from a
// timer goroutine. Without the fuel's yields the GC would wait for the guest
// for ever and the interrupt would never run.
func TestInterruptDuringGC(t *testing.T) {
	cfg := compilerConfig(t)
	if !inChild(t, 60*time.Second) {
		return
	}
	r := newRuntime(t, cfg)
	mod := instantiate(t, r, mustInstrument(t, spinWasm()), "spin")
	done := make(chan error, 1)
	go func() { _, err := call(t, mod, "spin"); done <- err }()
	time.Sleep(20 * time.Millisecond)
	time.AfterFunc(50*time.Millisecond, func() { _ = Interrupt(mod) })
	for i := range 3 {
		start := time.Now()
		runtime.GC()
		t.Logf("GC %d during a spinning guest took %v", i, time.Since(start))
	}
	if err := waitInterrupted(t, done); err != nil {
		t.Fatal(err)
	}
}

// TestInterruptOversubscribed runs more spinning guests than GOMAXPROCS, with
// garbage collections going on, and stops them all: half through their
// call's context deadline alone, half through Interrupt from
// context.AfterFunc, as the wasmorch runtime does. It also checks that an
// ordinary goroutine keeps getting scheduled meanwhile.
func TestInterruptOversubscribed(t *testing.T) {
	cfg := compilerConfig(t)
	if !inChild(t, 120*time.Second) {
		return
	}
	r := newRuntime(t, cfg)
	compiled, err := r.CompileModule(context.Background(), mustInstrument(t, spinWasm()))
	if err != nil {
		t.Fatal(err)
	}
	procs := runtime.GOMAXPROCS(0)
	guests := 2*procs + 1
	const deadline = 500 * time.Millisecond

	stopGC := make(chan struct{})
	var gcs atomic.Int64
	go func() {
		for {
			select {
			case <-stopGC:
				return
			default:
				runtime.GC()
				gcs.Add(1)
				time.Sleep(5 * time.Millisecond)
			}
		}
	}()
	defer close(stopGC)

	// A heartbeat that wants to run every millisecond, and records how late
	// it was at worst.
	var worstLate atomic.Int64
	stopBeat := make(chan struct{})
	go func() {
		for {
			select {
			case <-stopBeat:
				return
			default:
			}
			start := time.Now()
			time.Sleep(time.Millisecond)
			if late := int64(time.Since(start) - time.Millisecond); late > worstLate.Load() {
				worstLate.Store(late)
			}
		}
	}()

	var wg sync.WaitGroup
	errs := make(chan error, guests)
	var worstStop atomic.Int64
	start := time.Now()
	for i := range guests {
		mod, err := r.InstantiateModule(context.Background(), compiled, wazero.NewModuleConfig().WithName(""))
		if err != nil {
			t.Fatal(err)
		}
		viaInterrupt := i%2 == 0
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		if viaInterrupt {
			context.AfterFunc(ctx, func() { _ = Interrupt(mod) })
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cancel()
			_, err := mod.ExportedFunction("spin").Call(ctx)
			if late := int64(time.Since(start) - deadline); late > worstStop.Load() {
				worstStop.Store(late)
			}
			switch {
			case err == nil:
				errs <- fmt.Errorf("guest %d: spin returned", i)
			case !errors.Is(err, ErrInterrupted):
				errs <- fmt.Errorf("guest %d: %v, want ErrInterrupted", i, err)
			case !viaInterrupt && !errors.Is(err, context.DeadlineExceeded):
				errs <- fmt.Errorf("guest %d: %v, want it to wrap context.DeadlineExceeded", i, err)
			}
		}()
	}
	wg.Wait()
	close(stopBeat)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d guests on %d Ps all stopped, at worst %v after their deadline; %d GCs meanwhile; heartbeat at worst %v late",
		guests, procs, time.Duration(worstStop.Load()), gcs.Load(), time.Duration(worstLate.Load()))
}

// TestInterruptTryTableCatchAll checks that a guest cannot catch the
// interruption with exception handling: yield's error is a Go panic, not a
// wasm exception.
func TestInterruptTryTableCatchAll(t *testing.T) {
	cfg := compilerConfig(t).WithCoreFeatures(allFeatures)
	// loop $outer (block $caught (try_table (catch_all $caught) (loop $in (br $in)))) (br $outer)
	wasm := module(
		sec(idType, vec(funcType(nil, nil))),
		sec(idFunc, vec([]byte{0})),
		sec(idExport, vec(export("spin", kFunc, 0))),
		sec(idCode, vec(body(nil,
			ops(opLoop, void, opBlock, void),
			ops(opTryTable, void, 1, 0x02, 0),
			ops(opLoop, void, opBr, 0, opEnd),
			ops(opEnd, opEnd, opBr, 0, opEnd, opEnd),
		))),
	)
	mod := instantiate(t, newRuntime(t, cfg), mustInstrument(t, wasm), "catch")
	done := make(chan error, 1)
	go func() { _, err := call(t, mod, "spin"); done <- err }()
	time.Sleep(20 * time.Millisecond)
	if err := Interrupt(mod); err != nil {
		t.Fatal(err)
	}
	if err := waitInterrupted(t, done); err != nil {
		t.Fatal(err)
	}
}

// fuelValue returns the fuel of an instantiated module, as wazero sees it.
func fuelValue(t testing.TB, mod api.Module) int32 {
	t.Helper()
	g := mod.ExportedGlobal(FuelGlobal)
	if g == nil {
		t.Fatalf("no %s export", FuelGlobal)
	}
	return int32(g.Get())
}
