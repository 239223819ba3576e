package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// TestRunWorkerCommand: the real wasmorch binary's run-worker command executes a launched run,
// as the default SubprocessLauncher starts it (this executable, "run-worker").
func TestRunWorkerCommand(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "wasmorch")
	build := exec.Command("go", "build", "-o", bin, "./cmd/wasmorch")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build wasmorch: %v\n%s", err, out)
	}
	ctx := context.Background()
	inst, err := host.Open(ctx, t.TempDir(), host.WithCompilationCacheDir(guesttest.CacheDir(t)),
		host.WithRunLauncher(&host.SubprocessLauncher{Command: []string{bin, host.RunWorkerCommand}}))
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	ws, err := inst.LoadWorkspace(ctx, workspaceWith(t, map[string]string{"orders": guesttest.Path(t, "orders/go/orders.wasm")}))
	if err != nil {
		t.Fatal(err)
	}
	l, err := inst.Launch(ctx, ws, host.LaunchRequest{Selection: "*"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Success() || len(res.Materializations) != 3 {
		t.Fatalf("run in the wasmorch run-worker: %v, %d materializations", res.Err(), len(res.Materializations))
	}

	// Started by hand, it says what it is for instead of waiting on pipes that are not there.
	if runtime.GOOS == "linux" {
		cmd := exec.Command(bin, host.RunWorkerCommand)
		cmd.Stdin = nil
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 || !strings.Contains(string(out), "started by a wasmorch process, not by hand") {
			t.Errorf("run-worker by hand: %v, %q", err, out)
		}
	}
	_ = os.Remove(bin)
}
