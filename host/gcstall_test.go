package host_test

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmorch/wasmorch/host"
)

const gcChildEnv = "WASMORCH_TEST_GC_CHILD"

// TestLoopingStepSurvivesGC: Go cannot preempt compiled guest code, so a guest spinning in a loop
// used to block every garbage-collector stop-the-world and freeze the whole host, including the
// timer that would have stopped it. Instrumented guests now return to Go every fuel quantum.
// A regression hangs the process, so the scenario runs in a child that this test kills if it
// does not finish in time.
func TestLoopingStepSurvivesGC(t *testing.T) {
	if os.Getenv(gcChildEnv) == "1" {
		loopUnderGCPressure(t)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestLoopingStepSurvivesGC$", "-test.v")
	cmd.Env = append(os.Environ(), gcChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the host hung while a looping guest and the GC competed (child killed after 3 minutes):\n%s", out)
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: TestLoopingStepSurvivesGC") {
		t.Fatalf("child failed: %v\n%s", err, out)
	}
}

func loopUnderGCPressure(t *testing.T) {
	inst := openInstance(t, host.WithStepTimeout(2*time.Second), host.WithConcurrency(4))
	ws := loadWorkspace(t, inst, faultsWorkspace(t))
	stop := make(chan struct{})
	var gcs atomic.Int64
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				runtime.GC()
				gcs.Add(1)
			}
		}
	}()
	// More spinning guests than Ps, alongside a healthy branch.
	wsLoops := "loops,ok_source,ok_after"
	res := materialize(t, inst, ws, wsLoops)
	close(stop)
	if msg := stepError(t, res, "loops"); !strings.Contains(msg, "time limit of 2s") {
		t.Errorf("loops: %q", msg)
	}
	if res.Steps["ok_after"].Status != "SUCCESS" {
		t.Errorf("healthy branch: %+v", res.Steps["ok_after"])
	}
	t.Logf("%d forced GCs completed while the guest spun", gcs.Load())
}
