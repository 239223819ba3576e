package interrupt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// compilerConfig returns wazero's compiler (wazevo) config, the engine whose
// memory layout Interrupt targets, skipping where wazero would interpret.
func compilerConfig(t testing.TB) wazero.RuntimeConfig {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skipf("wazero has no compiler for %s", runtime.GOARCH)
	}
	return wazero.NewRuntimeConfigCompiler()
}

// waitInterrupted waits for a guest call to end and checks it ended with
// ErrInterrupted, not some other error.
func waitInterrupted(t testing.TB, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		if err == nil {
			return errors.New("call returned without error")
		}
		if !errors.Is(err, ErrInterrupted) {
			return fmt.Errorf("call failed, but not with ErrInterrupted: %w", err)
		}
		return nil
	case <-time.After(30 * time.Second):
		return errors.New("call still running after 30s")
	}
}

func TestInterruptInfiniteLoop(t *testing.T) {
	r := newRuntime(t, compilerConfig(t))
	mod := instantiate(t, r, mustInstrument(t, spinWasm()), "spin")

	done := make(chan error, 1)
	go func() { _, err := call(t, mod, "spin"); done <- err }()
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("spin returned before Interrupt: %v", err)
	default:
	}
	if err := Interrupt(mod); err != nil {
		t.Fatal(err)
	}
	if err := waitInterrupted(t, done); err != nil {
		t.Fatal(err)
	}
	// wazero's own view of the global must agree: proof that Interrupt
	// wrote the word the engine reads, not a stale copy.
	if got := fuelValue(t, mod); got > 0 {
		t.Errorf("fuel = %d after Interrupt, want <= 0", got)
	}
	// The mark is sticky: a later call ends at its first check.
	if _, err := call(t, mod, "entry"); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("entry() after Interrupt = %v, want ErrInterrupted", err)
	}
}

// TestInterruptContext stops guests through their call's context alone, the
// way a deadline does when nobody calls Interrupt, and checks that the
// instance stays usable.
func TestInterruptContext(t *testing.T) {
	for name, cfg := range map[string]func(testing.TB) wazero.RuntimeConfig{
		"compiler":    compilerConfig,
		"interpreter": func(testing.TB) wazero.RuntimeConfig { return wazero.NewRuntimeConfigInterpreter() },
	} {
		t.Run(name, func(t *testing.T) {
			mod := instantiate(t, newRuntime(t, cfg(t)), mustInstrument(t, spinWasm()), "spin")

			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, err := mod.ExportedFunction("spin").Call(ctx)
			if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("spin with a deadline: %v, want ErrInterrupted and DeadlineExceeded", err)
			}

			cause := errors.New("operator said stop")
			cctx, ccancel := context.WithCancelCause(context.Background())
			time.AfterFunc(20*time.Millisecond, func() { ccancel(cause) })
			_, err = mod.ExportedFunction("spin").Call(cctx)
			if !errors.Is(err, ErrInterrupted) || !errors.Is(err, cause) {
				t.Fatalf("spin with a cancelled context: %v, want ErrInterrupted and the cause", err)
			}

			if got, err := call(t, mod, "entry"); err != nil || got[0] != 7 {
				t.Fatalf("entry() after a cancelled call = %v, %v; want 7", got, err)
			}
		})
	}
}

// TestFuelAccounting checks the count down: after k checks from a full
// tank, with a yield every time it reaches zero, Quantum - k%Quantum is left.
func TestFuelAccounting(t *testing.T) {
	for name, cfg := range map[string]func(testing.TB) wazero.RuntimeConfig{
		"compiler":    compilerConfig,
		"interpreter": func(testing.TB) wazero.RuntimeConfig { return wazero.NewRuntimeConfigInterpreter() },
	} {
		t.Run(name, func(t *testing.T) {
			mod := instantiate(t, newRuntime(t, cfg(t)), mustInstrument(t, countWasm()), "count")
			if got := fuelValue(t, mod); got != Quantum {
				t.Fatalf("initial fuel = %d, want %d", got, Quantum)
			}
			var checks uint64
			for _, n := range []uint64{1, 10, Quantum - 12, 1, 3*Quantum + 5, 1_000_000} {
				got, err := call(t, mod, "count", n)
				if err != nil || got[0] != n {
					t.Fatalf("count(%d) = %v, %v", n, got, err)
				}
				checks += 1 + n // the entry, then one loop header per iteration
				if got, want := fuelValue(t, mod), int32(Quantum-checks%Quantum); got != want {
					t.Fatalf("after %d checks: fuel = %d, want %d", checks, got, want)
				}
			}
		})
	}
}

// TestInterruptConcurrent interrupts spinning guests from several goroutines
// at once, for the race detector.
func TestInterruptConcurrent(t *testing.T) {
	r := newRuntime(t, compilerConfig(t))
	compiled, err := r.CompileModule(context.Background(), mustInstrument(t, spinWasm()))
	if err != nil {
		t.Fatal(err)
	}
	guests := runtime.GOMAXPROCS(0) + 1
	var wg sync.WaitGroup
	errs := make(chan error, 4*guests)
	for range guests {
		mod, err := r.InstantiateModule(context.Background(), compiled, wazero.NewModuleConfig().WithName(""))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, err := mod.ExportedFunction("spin").Call(context.Background()); done <- err }()
		for i := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(20+i) * time.Millisecond)
				if err := Interrupt(mod); err != nil {
					errs <- err
				}
			}()
		}
		wg.Add(1)
		go func() { defer wg.Done(); errs <- waitInterrupted(t, done) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestInterruptAtEntry(t *testing.T) {
	for name, cfg := range map[string]func(testing.TB) wazero.RuntimeConfig{
		"compiler":    compilerConfig,
		"interpreter": func(testing.TB) wazero.RuntimeConfig { return wazero.NewRuntimeConfigInterpreter() },
	} {
		t.Run(name, func(t *testing.T) {
			mod := instantiate(t, newRuntime(t, cfg(t)), mustInstrument(t, spinWasm()), "m")
			if err := Interrupt(mod); err != nil {
				t.Fatal(err)
			}
			fn := "entry"
			if name == "interpreter" {
				// Interrupt leaves the interpreter's fuel alone (see its
				// doc), so only a call that runs out of fuel notices.
				fn = "spin"
			}
			done := make(chan error, 1)
			go func() { _, err := call(t, mod, fn); done <- err }()
			if err := waitInterrupted(t, done); err != nil {
				t.Fatalf("%s() after Interrupt: %v", fn, err)
			}
		})
	}
}

// TestInterruptInterpreterLoop interrupts an interpreted guest while it runs.
func TestInterruptInterpreterLoop(t *testing.T) {
	mod := instantiate(t, newRuntime(t, wazero.NewRuntimeConfigInterpreter()), mustInstrument(t, spinWasm()), "m")
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

func TestInterruptNotInstrumented(t *testing.T) {
	r := newRuntime(t, nil)
	plain := instantiate(t, r, spinWasm(), "plain")
	wrongType := instantiate(t, r, module(
		sec(idGlobal, vec(ops(tI64, 1, opI64C, 0, opEnd))),
		sec(idExport, vec(export(FuelGlobal, kGlobal, 0))),
	), "wrong")
	immutable := instantiate(t, r, module(
		sec(idGlobal, vec(cat(ops(tI32, 0), i32c(0), ops(opEnd)))),
		sec(idExport, vec(export(FuelGlobal, kGlobal, 0))),
	), "immutable")
	for name, err := range map[string]error{
		"plain":      Interrupt(plain),
		"wrong type": Interrupt(wrongType),
		"immutable":  Interrupt(immutable),
		"nil":        Interrupt(nil),
	} {
		if !errors.Is(err, ErrNotInstrumented) {
			t.Errorf("%s: got %v, want ErrNotInstrumented", name, err)
		}
	}
}

// TestYieldFailsClosed calls yield from a module that imports it by hand
// but has no fuel: the call must fail, not run on unchecked.
func TestYieldFailsClosed(t *testing.T) {
	wasm := module(
		sec(idType, vec(funcType(nil, nil))),
		sec(idImport, vec(cat(str(HostModule), str(YieldName), ops(kFunc, 0)))),
		sec(idFunc, vec([]byte{0})),
		sec(idExport, vec(export("run", kFunc, 1))),
		sec(idCode, vec(body(nil, ops(opCall, 0, opEnd)))),
	)
	mod := instantiate(t, newRuntime(t, nil), wasm, "bare")
	if _, err := call(t, mod, "run"); !errors.Is(err, ErrNotInstrumented) {
		t.Fatalf("run() = %v, want ErrNotInstrumented", err)
	}
}

func TestInstantiate(t *testing.T) {
	ctx := context.Background()
	r := newRuntime(t, nil) // Instantiate ran
	if err := Instantiate(ctx, r); err != nil {
		t.Errorf("second Instantiate in one runtime: %v", err)
	}
	defs := r.Module(HostModule).ExportedFunctionDefinitions()
	if def, ok := defs[YieldName]; !ok || len(def.ParamTypes()) != 0 || len(def.ResultTypes()) != 0 {
		t.Fatalf("%s exports %v, want %s: () -> ()", HostModule, defs, YieldName)
	}
	instantiate(t, r, mustInstrument(t, spinWasm()), "links")

	// A different module of that name is refused, and left in place.
	other := wazero.NewRuntime(ctx)
	defer other.Close(ctx)
	if _, err := other.NewHostModuleBuilder(HostModule).NewFunctionBuilder().WithFunc(func() {}).Export(YieldName).Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := Instantiate(ctx, other); err == nil {
		t.Error("Instantiate over a foreign module succeeded")
	}
	if other.Module(HostModule) == nil {
		t.Error("Instantiate removed the foreign module")
	}

	// Without it, an instrumented module does not link.
	bare := wazero.NewRuntime(ctx)
	defer bare.Close(ctx)
	if _, err := bare.Instantiate(ctx, mustInstrument(t, spinWasm())); err == nil {
		t.Error("instrumented module instantiated without Instantiate")
	}
}

// TestFuelLookup checks the cached fast path against the slow, fully checked
// one, for several modules and instances.
func TestFuelLookup(t *testing.T) {
	for name, cfg := range map[string]func(testing.TB) wazero.RuntimeConfig{
		"compiler":    compilerConfig,
		"interpreter": func(testing.TB) wazero.RuntimeConfig { return wazero.NewRuntimeConfigInterpreter() },
	} {
		t.Run(name, func(t *testing.T) {
			r := newRuntime(t, cfg(t))
			for i, wasm := range [][]byte{spinWasm(), controlWasm(), spinWasm()} {
				mod := instantiate(t, r, mustInstrument(t, wasm), fmt.Sprint(i))
				fast, err := fuelOf(mod)
				if err != nil {
					t.Fatal(err)
				}
				if l := cachedLayout.Load(); l == nil {
					t.Fatal("no layout cached")
				} else if _, ok := l.lookup(mod.ExportedGlobal(FuelGlobal)); !ok {
					t.Fatal("fast path declined a module discover handled")
				}
				_, slow, err := discover(mod.ExportedGlobal(FuelGlobal))
				if err != nil {
					t.Fatal(err)
				}
				if fast != slow {
					t.Fatalf("module %d: fast path %+v, slow path %+v", i, fast, slow)
				}
			}
		})
	}
}

// goSpinWasm builds testdata/spin with the Go toolchain as a wasip1 reactor.
func goSpinWasm(t *testing.T) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a Go module; skipped in -short mode")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	out := filepath.Join(t.TempDir(), "spin.wasm")
	cmd := exec.Command(goBin, "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir = filepath.Join("testdata", "spin")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOWORK=off", "GOFLAGS=", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, msg)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

func TestInterruptGoModule(t *testing.T) {
	cfg := compilerConfig(t)
	wasm := goSpinWasm(t)
	inst := mustInstrument(t, wasm)
	if again := mustInstrument(t, wasm); string(again) != string(inst) {
		t.Fatal("Instrument is not deterministic on the Go module")
	}

	ctx := context.Background()
	r := newRuntime(t, cfg)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	compiled, err := r.CompileModule(ctx, inst)
	if err != nil {
		t.Fatalf("wazero rejects the instrumented Go module: %v", err)
	}
	newInstance := func() api.Module {
		mod, err := r.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := call(t, mod, "add", 2, 40); err != nil || got[0] != 42 {
			t.Fatalf("add(2, 40) = %v, %v; want 42", got, err)
		}
		return mod
	}

	// Through Interrupt.
	m := newInstance()
	done := make(chan error, 1)
	go func() { _, err := call(t, m, "spin"); done <- err }()
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("spin returned before Interrupt: %v", err)
	default:
	}
	if err := Interrupt(m); err != nil {
		t.Fatal(err)
	}
	if err := waitInterrupted(t, done); err != nil {
		t.Fatal(err)
	}

	// Through a deadline, with the GC running meanwhile; the instance stays
	// usable afterwards.
	m = newInstance()
	dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	go func() { _, err := m.ExportedFunction("spin").Call(dctx); done <- err }()
	time.Sleep(20 * time.Millisecond)
	runtime.GC()
	if err := waitInterrupted(t, done); err != nil {
		t.Fatal(err)
	}
	if got, err := call(t, m, "add", 1, 2); err != nil || got[0] != 3 {
		t.Fatalf("add(1, 2) after the deadline = %v, %v; want 3", got, err)
	}
}

// TestYieldDuringStart runs a start function long enough to yield, and one
// that spins, stopped by the instantiation context.
func TestYieldDuringStart(t *testing.T) {
	// start: count to 3*Quantum in $n; "n" returns it.
	loopy := func(limit int32) []byte {
		return module(
			sec(idType, vec(funcType(nil, nil), funcType(nil, []byte{tI32}))),
			sec(idFunc, vec([]byte{0}, []byte{1})),
			sec(idGlobal, vec(cat(ops(tI32, 1), i32c(0), ops(opEnd)))),
			sec(idExport, vec(export("n", kFunc, 1))),
			sec(idStart, uleb(0)),
			sec(idCode, vec(
				body(nil, ops(opLoop, void, opGlobalGet, 0), i32c(1), ops(opAdd, opGlobalSet, 0, opGlobalGet, 0), i32c(limit),
					ops(opLtU, opBrIf, 0, opEnd, opEnd)),
				body(nil, ops(opGlobalGet, 0, opEnd)),
			)),
		)
	}
	r := newRuntime(t, compilerConfig(t))
	mod := instantiate(t, r, mustInstrument(t, loopy(3*Quantum)), "loopy")
	if got, err := call(t, mod, "n"); err != nil || got[0] != 3*Quantum {
		t.Fatalf("n() = %v, %v; want %d", got, err, 3*Quantum)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := r.InstantiateWithConfig(ctx, mustInstrument(t, loopy(-1)), wazero.NewModuleConfig().WithName("endless"))
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("instantiating a module whose start function spins: %v, want ErrInterrupted", err)
	}
}
