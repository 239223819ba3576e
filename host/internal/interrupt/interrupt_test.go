package interrupt

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
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

// noGC turns the garbage collector off for the rest of the test. A guest
// spinning in compiled code cannot be preempted, so a stop-the-world phase
// would wait for it forever, and no goroutine could then call Interrupt:
// see TestInterruptDuringGC.
func noGC(t testing.TB) {
	old := debug.SetGCPercent(-1)
	t.Cleanup(func() { debug.SetGCPercent(old) })
}

// waitTrap waits for a guest call to end and checks it ended by the flag's
// unreachable, not by some other error.
func waitTrap(t testing.TB, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		if err == nil {
			return errors.New("call returned without error after Interrupt")
		}
		if !strings.Contains(err.Error(), "wasm error: unreachable") {
			return errors.New("call failed, but not by the interrupt trap: " + err.Error())
		}
		return nil
	case <-time.After(30 * time.Second):
		return errors.New("call still running 30s after Interrupt")
	}
}

func TestInterruptInfiniteLoop(t *testing.T) {
	r := newRuntime(t, compilerConfig(t))
	mod := instantiate(t, r, mustInstrument(t, spinWasm()), "spin")
	noGC(t)

	done := make(chan error, 1)
	go func() { _, err := call(t, mod, "spin"); done <- err }()
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("spin returned before Interrupt: %v", err)
	default:
	}
	if IsInterrupted(mod) {
		t.Fatal("IsInterrupted before Interrupt")
	}
	if err := Interrupt(mod); err != nil {
		t.Fatal(err)
	}
	if err := waitTrap(t, done); err != nil {
		t.Fatal(err)
	}
	// wazero's own view of the global must agree: proof that Interrupt
	// wrote the word the engine reads, not a stale copy.
	if got := mod.ExportedGlobal(GlobalName).Get(); got != 1 || !IsInterrupted(mod) {
		t.Fatalf("after Interrupt: global = %d, IsInterrupted = %v; want 1, true", got, IsInterrupted(mod))
	}
	if err := Reset(mod); err != nil {
		t.Fatal(err)
	}
	if got := mod.ExportedGlobal(GlobalName).Get(); got != 0 || IsInterrupted(mod) {
		t.Fatalf("after Reset: global = %d, IsInterrupted = %v; want 0, false", got, IsInterrupted(mod))
	}
	if got, err := call(t, mod, "entry"); err != nil || got[0] != 7 {
		t.Fatalf("entry() after Reset = %v, %v; want 7", got, err)
	}
}

// TestInterruptConcurrent interrupts spinning guests while other goroutines
// poll and re-interrupt them, for the race detector. Each spinning guest
// holds a P until it traps, so one P is left for everything else.
func TestInterruptConcurrent(t *testing.T) {
	r := newRuntime(t, compilerConfig(t))
	noGC(t)
	compiled, err := r.CompileModule(context.Background(), mustInstrument(t, spinWasm()))
	if err != nil {
		t.Fatal(err)
	}
	guests := max(1, runtime.GOMAXPROCS(0)-1)
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
				for range 100 {
					_ = IsInterrupted(mod)
				}
				if err := Interrupt(mod); err != nil {
					errs <- err
				}
			}()
		}
		wg.Add(1)
		go func() { defer wg.Done(); errs <- waitTrap(t, done) }()
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
			done := make(chan error, 1)
			go func() { _, err := call(t, mod, "entry"); done <- err }()
			if err := waitTrap(t, done); err != nil {
				t.Fatalf("entry() with flag set: %v", err)
			}
			if got := mod.ExportedGlobal(GlobalName).Get(); got != 1 {
				t.Fatalf("global = %d after Interrupt, want 1", got)
			}
			if err := Reset(mod); err != nil {
				t.Fatal(err)
			}
			if got, err := call(t, mod, "entry"); err != nil || got[0] != 7 {
				t.Fatalf("entry() after Reset = %v, %v; want 7", got, err)
			}
		})
	}
}

func TestInterruptNotInstrumented(t *testing.T) {
	r := newRuntime(t, nil)
	plain := instantiate(t, r, spinWasm(), "plain")
	wrongType := instantiate(t, r, module(
		sec(idGlobal, vec(ops(tI64, 1, opI64C, 0, opEnd))),
		sec(idExport, vec(export(GlobalName, kGlobal, 0))),
	), "wrong")
	for name, err := range map[string]error{
		"plain":      Interrupt(plain),
		"reset":      Reset(plain),
		"wrong type": Interrupt(wrongType),
		"nil":        Interrupt(nil),
	} {
		if !errors.Is(err, ErrNotInstrumented) {
			t.Errorf("%s: got %v, want ErrNotInstrumented", name, err)
		}
	}
	if IsInterrupted(plain) {
		t.Error("IsInterrupted(plain) = true")
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
	mod, err := r.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName("spin").WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := call(t, mod, "add", 2, 40); err != nil || got[0] != 42 {
		t.Fatalf("add(2, 40) = %v, %v; want 42", got, err)
	}
	noGC(t)

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
	if err := waitTrap(t, done); err != nil {
		t.Fatal(err)
	}
}
