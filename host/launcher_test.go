package host_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/host/store"
	"github.com/wasmorch/wasmorch/internal/crashpoint"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

func init() {
	childMains["run-worker"] = func() int { return host.RunWorkerMain(context.Background()) }
}

// workerLauncher runs workers as this test binary in its run-worker role.
func workerLauncher(env ...string) *host.SubprocessLauncher {
	return &host.SubprocessLauncher{Command: []string{os.Args[0]}, Env: append([]string{childEnv + "=run-worker"}, env...)}
}

// launchersUnderTest are the two launchers every launch test runs against.
var launchersUnderTest = []struct {
	name string
	make func() host.RunLauncher
}{
	{"in-process", host.InProcessLauncher},
	{"subprocess", func() host.RunLauncher { return workerLauncher() }},
}

const pairJob = `jobs:
  - name: pair
    selection: ok_source, ok_after
    tags: {team: data}
`

func launch(t *testing.T, inst *host.Instance, ws *host.Workspace, req host.LaunchRequest) *host.Result {
	t.Helper()
	l, err := inst.Launch(context.Background(), ws, req)
	if err != nil {
		t.Fatalf("Launch(%+v): %v", req, err)
	}
	res, err := l.Wait(context.Background())
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return res
}

// TestLaunch: a launched run (a job, an ad hoc selection) executes in the worker and its
// events, status, steps and values are the instance's, whichever launcher runs it.
func TestLaunch(t *testing.T) {
	for _, lc := range launchersUnderTest {
		t.Run(lc.name, func(t *testing.T) {
			inst := openInstance(t, host.WithRunLauncher(lc.make()))
			ws := loadWorkspace(t, inst, writeWorkspace(t, map[string]string{"faults": guesttest.Path(t, "guests/go/faults/faults.wasm")}, pairJob))
			var mu sync.Mutex
			var seen []store.Event
			res := launch(t, inst, ws, host.LaunchRequest{Job: "pair", OnEvent: func(ev store.Event) {
				mu.Lock()
				seen = append(seen, ev)
				mu.Unlock()
			}})
			if !res.Success() {
				t.Fatal(res.Err())
			}
			if res.Steps["ok_source"].Status != "SUCCESS" || res.Steps["ok_after"].Status != "SUCCESS" {
				t.Errorf("steps %+v", res.Steps)
			}
			v, err := inst.AssetValue(context.Background(), "ok_after")
			if err != nil || strings.TrimSpace(string(v.Data)) != `{"n":2}` {
				t.Errorf("value of ok_after: %q, %v", v.Data, err)
			}
			run, _ := inst.Store().Run(context.Background(), res.RunID)
			if run.JobName != "pair" || run.Tags["team"] != "data" || len(run.StepKeys) != 2 {
				t.Errorf("stored run %+v", run)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != len(res.Events) {
				t.Fatalf("OnEvent saw %d events, the store has %d", len(seen), len(res.Events))
			}
			for i := range seen {
				if seen[i].ID != res.Events[i].ID || seen[i].Type != res.Events[i].Type {
					t.Fatalf("event %d: OnEvent saw %s #%d, the store has %s #%d", i, seen[i].Type, seen[i].ID, res.Events[i].Type, res.Events[i].ID)
				}
			}

			// Config and a selection, with a re-execution of the run after.
			res = launch(t, inst, ws, host.LaunchRequest{Selection: "echo_config",
				Config: json.RawMessage(`{"ops":{"echo_config":{"config":{"greeting":"hi"}}}}`)})
			if v, _ := inst.AssetValue(context.Background(), "echo_config"); !res.Success() || !strings.Contains(string(v.Data), `"greeting":"hi"`) {
				t.Errorf("config run: %v, value %q", res.Err(), v.Data)
			}
			again := launch(t, inst, ws, host.LaunchRequest{ReexecuteOf: res.RunID})
			if stored, _ := inst.Store().Run(context.Background(), again.RunID); !again.Success() || stored.ParentRunID != res.RunID {
				t.Errorf("re-execution: %v, parent %q", again.Err(), stored.ParentRunID)
			}
		})
	}
}

// TestLaunchRefusesInvalidRequests: nothing is stored for a request that cannot run.
func TestLaunchRefusesInvalidRequests(t *testing.T) {
	inst := openInstance(t, host.WithRunLauncher(workerLauncher()))
	ws := loadWorkspace(t, inst, writeWorkspace(t, map[string]string{"faults": guesttest.Path(t, "guests/go/faults/faults.wasm")}, pairJob))
	cases := []struct {
		req  host.LaunchRequest
		want string
	}{
		{host.LaunchRequest{Job: "nope"}, `no job "nope" (jobs: pair)`},
		{host.LaunchRequest{Selection: "no_such_asset"}, `no_such_asset`},
		{host.LaunchRequest{Selection: "ok_source", Config: json.RawMessage(`{"ops":{"ok_after":{}}}`)}, "ok_after"},
		{host.LaunchRequest{ReexecuteOf: "0190c0de-0000-7000-8000-00000000beef"}, "run not found"},
		{host.LaunchRequest{}, "invalid launch request: it names nothing to run: set one of Job, Selection or ReexecuteOf"},
		{host.LaunchRequest{Job: "pair", Selection: "ok_source"}, `invalid launch request: set one of Job, Selection or ReexecuteOf, not Job "pair" and Selection "ok_source"`},
		{host.LaunchRequest{Selection: "ok_source", FromFailure: true}, "invalid launch request: FromFailure applies to a re-execution; set ReexecuteOf"},
		{host.LaunchRequest{Selection: "ok_source", Timeout: -time.Second}, "invalid launch request: Timeout is -1s; it must be positive"},
	}
	for _, c := range cases {
		if _, err := inst.Launch(context.Background(), ws, c.req); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Launch(%+v): %v, want an error containing %q", c.req, err, c.want)
		}
	}
	if runs, _ := inst.Store().Runs(context.Background(), store.RunFilter{}); len(runs) != 0 {
		t.Errorf("invalid requests stored %d run(s)", len(runs))
	}
}

// TestWorkerCrashIsContained: a worker process that dies mid-run (here killed with SIGKILL right
// after a step started, as the kernel's OOM killer or a fatal runtime error would) fails its run
// with the reason, and the instance goes on launching runs.
func TestWorkerCrashIsContained(t *testing.T) {
	for _, at := range []string{crashpoint.StepStarted, crashpoint.OutputMidWrite} {
		t.Run(at, func(t *testing.T) { testWorkerCrash(t, at) })
	}
}

func testWorkerCrash(t *testing.T, at string) {
	inst := openInstance(t, host.WithRunLauncher(workerLauncher(crashpoint.Env+"="+at)))
	ws := loadWorkspace(t, inst, faultsWorkspace(t))
	var seen []store.Event // OnEvent runs on the worker's serving goroutine, then on the monitor's
	res := launch(t, inst, ws, host.LaunchRequest{Selection: "ok_source", OnEvent: func(ev store.Event) { seen = append(seen, ev) }})
	if res.Status != store.RunFailure {
		t.Fatalf("run of a killed worker is %s", res.Status)
	}
	if len(seen) != len(res.Events) || seen[len(seen)-1].Type != store.EventRunFailure {
		t.Errorf("OnEvent saw %d events, the last %+v; the store has %d", len(seen), seen[len(seen)-1], len(res.Events))
	}
	last := res.Events[len(res.Events)-1]
	if last.Type != store.EventRunFailure || !strings.Contains(last.Error, "the run worker ended before the run finished: run worker (pid ") ||
		!strings.Contains(last.Error, "signal: killed") {
		t.Errorf("end of the run: %+v", last)
	}
	if res.Steps["ok_source"].Status != "STARTED" {
		t.Errorf("step of the killed worker: %+v", res.Steps["ok_source"])
	}
	if n := len(eventsOf(res, store.EventRunFailure, "")); n != 1 {
		t.Errorf("%d RUN_FAILURE events", n)
	}
	// A write the worker was making is not left behind.
	filepath.WalkDir(inst.StorageDir(), func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".tmp") {
			t.Errorf("the dead worker's temporary file is left: %s", path)
		}
		return nil
	})
	// The instance is unharmed: the same workspace runs in a healthy worker.
	healthy := openInstanceAt(t, inst, host.WithRunLauncher(workerLauncher()))
	if res := launch(t, healthy, loadWorkspace(t, healthy, ws.Path()), host.LaunchRequest{Selection: "ok_source"}); !res.Success() {
		t.Fatal(res.Err())
	}
}

// openInstanceAt closes inst and opens its directory again with other options.
func openInstanceAt(t *testing.T, inst *host.Instance, opts ...host.Option) *host.Instance {
	t.Helper()
	home := inst.Home()
	if err := inst.Close(); err != nil {
		t.Fatal(err)
	}
	return openInstanceIn(t, home, opts...)
}

// TestRunTimeout: a run still going at its run timeout fails with the reason, its looping step
// interrupted and its worker gone, whichever launcher runs it.
func TestRunTimeout(t *testing.T) {
	for _, lc := range launchersUnderTest {
		t.Run(lc.name, func(t *testing.T) {
			inst := openInstance(t, host.WithRunLauncher(lc.make()), host.WithStepTimeout(5*time.Minute))
			ws := loadWorkspace(t, inst, faultsWorkspace(t))
			res := launch(t, inst, ws, host.LaunchRequest{Selection: "loops", Timeout: 2 * time.Second})
			if res.Status != store.RunFailure {
				t.Fatalf("run past its timeout is %s", res.Status)
			}
			last := res.Events[len(res.Events)-1]
			if last.Type != store.EventRunFailure || !strings.Contains(last.Error, "the run did not finish within its run timeout of 2s") {
				t.Errorf("end of the run: %+v", last)
			}
			if s := res.Steps["loops"]; s.Status != "FAILURE" {
				t.Errorf("the looping step: %+v", s)
			}
		})
	}
}

// TestTerminate: a terminated run ends CANCELED with the reason; closing the instance terminates
// the runs it launched, so none is left for recovery to call crashed.
func TestTerminate(t *testing.T) {
	for _, lc := range launchersUnderTest {
		t.Run(lc.name, func(t *testing.T) {
			inst := openInstance(t, host.WithRunLauncher(lc.make()))
			ws := loadWorkspace(t, inst, faultsWorkspace(t))
			started := make(chan struct{})
			var once sync.Once
			l, err := inst.Launch(context.Background(), ws, host.LaunchRequest{Selection: "loops", OnEvent: func(ev store.Event) {
				if ev.Type == store.EventLog && strings.Contains(ev.Message, "looping forever") {
					once.Do(func() { close(started) })
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			<-started
			l.Terminate("the user pressed stop")
			res, err := l.Wait(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			last := res.Events[len(res.Events)-1]
			if res.Status != store.RunCanceled || !strings.Contains(last.Error, "the user pressed stop") {
				t.Errorf("terminated run: %s, last event %+v", res.Status, last)
			}

			// A run still going when its instance closes.
			l, err = inst.Launch(context.Background(), ws, host.LaunchRequest{Selection: "loops"})
			if err != nil {
				t.Fatal(err)
			}
			home := inst.Home()
			if err := inst.Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-l.Done():
			default:
				t.Fatal("Close returned before the run it launched ended")
			}
			again := openInstanceIn(t, home)
			run, err := again.Store().Run(context.Background(), l.RunID)
			if err != nil || run.Status != store.RunCanceled {
				t.Errorf("run launched by a closed instance: %+v, %v", run, err)
			}
		})
	}
}

// openInstanceIn opens the instance directory home, closing it when the test ends.
func openInstanceIn(t *testing.T, home string, opts ...host.Option) *host.Instance {
	t.Helper()
	opts = append([]host.Option{host.WithCompilationCacheDir(guesttest.CacheDir(t))}, opts...)
	inst, err := host.Open(context.Background(), home, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Close() })
	return inst
}

func init() {
	// launch-and-wait: open the instance in $WASMORCH_TEST_HOME, launch the looping asset of the
	// workspace $WASMORCH_TEST_WORKSPACE in a worker, print "launched", and wait to be killed.
	childMains["launch-and-wait"] = func() int {
		ctx := context.Background()
		inst, err := host.Open(ctx, os.Getenv("WASMORCH_TEST_HOME"), host.WithCompilationCacheDir(os.Getenv("WASMORCH_TEST_CACHE")),
			host.WithRunLauncher(workerLauncher()))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		ws, err := inst.LoadWorkspace(ctx, os.Getenv("WASMORCH_TEST_WORKSPACE"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if _, err := inst.Launch(ctx, ws, host.LaunchRequest{Selection: "loops"}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("launched")
		select {}
	}
}

// TestWorkerDiesWithItsParent: when the process that launched a run is killed, its worker does
// not run on unwatched (the kernel kills it, and it could not reach the store anyway), and the
// run is marked failed when the instance opens again.
func TestWorkerDiesWithItsParent(t *testing.T) {
	home := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=launch-and-wait", "WASMORCH_TEST_HOME="+home,
		"WASMORCH_TEST_CACHE="+guesttest.CacheDir(t), "WASMORCH_TEST_WORKSPACE="+faultsWorkspace(t))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "launched\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q; stderr: %s", line, stderr.String())
	}
	// Children are listed by the thread that forked them: look in every thread.
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", cmd.Process.Pid))
	if err != nil || len(tasks) == 0 {
		t.Skipf("cannot list the child's children: %v", err)
	}
	var workers []string
	for _, task := range tasks {
		children, _ := os.ReadFile(task)
		workers = append(workers, strings.Fields(string(children))...)
	}
	if len(workers) != 1 {
		t.Fatalf("the launching process has children %q, want its one worker", workers)
	}
	cmd.Process.Kill()
	cmd.Wait()
	// Wait for the worker to go (the kernel delivers the parent-death signal at once; the loop
	// only bounds how long a broken build makes the test hang).
	for i := 0; ; i++ {
		stat, err := os.ReadFile("/proc/" + workers[0] + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break // gone, or a zombie waiting for init to reap it
		}
		if i == 600 {
			t.Fatalf("worker %s still running 60 s after its parent was killed", workers[0])
		}
		time.Sleep(100 * time.Millisecond)
	}
	inst := openInstanceIn(t, home)
	runs, err := inst.Store().Runs(context.Background(), store.RunFilter{})
	if err != nil || len(runs) != 1 || runs[0].Status != store.RunFailure {
		t.Fatalf("runs after the crash: %+v, %v", runs, err)
	}
	events, _ := inst.Store().Events(context.Background(), runs[0].ID, 0, 0)
	if last := events[len(events)-1]; !strings.Contains(last.Error, "stopped before the run finished") {
		t.Errorf("end of the orphaned run: %+v", last)
	}
}

// TestStuckWorkerIsKilled: a worker that does not stop when told (here a process that never
// reads its pipe) is killed after the grace period, and its run fails with the timeout and how
// the worker ended.
func TestStuckWorkerIsKilled(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep command")
	}
	inst := openInstance(t, host.WithRunLauncher(&host.SubprocessLauncher{Command: []string{sleep, "3600"}}))
	ws := loadWorkspace(t, inst, faultsWorkspace(t))
	res := launch(t, inst, ws, host.LaunchRequest{Selection: "ok_source", Timeout: time.Second})
	last := res.Events[len(res.Events)-1]
	if res.Status != store.RunFailure || !strings.Contains(last.Error, "the run did not finish within its run timeout of 1s; the run worker was stopped: run worker (pid ") ||
		!strings.Contains(last.Error, "signal: killed") {
		t.Errorf("run of a stuck worker: %s, last event %+v", res.Status, last)
	}
}
