package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"

	"github.com/wasmorch/wasmorch/host/internal/workerwire"
	"github.com/wasmorch/wasmorch/host/internal/workspace"
	"github.com/wasmorch/wasmorch/host/store"
)

// RunWorkerCommand is the wasmorch subcommand a SubprocessLauncher runs by default.
const RunWorkerCommand = "run-worker"

// SubprocessLauncher runs each launched run in a worker process of its own, so that whatever a
// guest does to its process (an out-of-memory crash in a decoder, a runtime bug, a kill by the
// operating system) ends that run, not the instance. The worker reads and writes run state
// through a pipe to the launching process, which keeps the store; asset values go straight to
// the instance's storage directory. If the launching process dies, its workers stop.
//
// IO managers registered with WithIOManager live in the launching process and cannot reach a
// worker: with them, use InProcessLauncher.
type SubprocessLauncher struct {
	// Command starts a worker: a program and its arguments, with RunWorkerMain as what it runs.
	// Empty means this executable with the argument "run-worker", right for the wasmorch CLI.
	Command []string
	// Env is added to the worker's environment, which is otherwise the launching process's
	// (run config secrets are read from it again).
	Env []string
	// Output, if set, receives the worker's own stdout and stderr (guests' output is captured
	// into events, not written there). The last lines are kept either way for the failure
	// message of a worker that dies.
	Output io.Writer
}

// workerLaunch is what the launching process sends a worker.
type workerLaunch struct {
	RunID       string           `json:"run_id"`
	Home        string           `json:"home"`
	Workspace   string           `json:"workspace"`
	CacheDir    *string          `json:"cache_dir,omitempty"`
	Concurrency int              `json:"concurrency,omitempty"`
	Limits      workspace.Limits `json:"limits"`
	Request     LaunchRequest    `json:"request"`
}

// LaunchRun implements RunLauncher.
func (l *SubprocessLauncher) LaunchRun(ctx context.Context, run *LaunchedRun) (RunWorker, error) {
	inst := run.Instance
	if len(inst.opts.ioManagers) > 0 {
		keys := make([]string, 0, len(inst.opts.ioManagers))
		for k := range inst.opts.ioManagers {
			keys = append(keys, k)
		}
		return nil, fmt.Errorf("the subprocess run launcher cannot hand IO manager(s) %s, registered in this process, to a run worker; use WithRunLauncher(InProcessLauncher())", strings.Join(keys, ", "))
	}
	argv := l.Command
	if len(argv) == 0 {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find this executable to start a run worker: %w", err)
		}
		argv = []string{self, RunWorkerCommand}
	}
	// Two pipes: the worker reads the parent on its fd 3 and writes to it on fd 4.
	toWorkerR, toWorkerW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	fromWorkerR, fromWorkerW, err := os.Pipe()
	if err != nil {
		toWorkerR.Close()
		toWorkerW.Close()
		return nil, err
	}
	tail := &tailWriter{max: 8 << 10}
	out := io.Writer(tail)
	if l.Output != nil {
		out = io.MultiWriter(tail, l.Output)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append(os.Environ(), l.Env...), workerEnv+"=3,4")
	cmd.ExtraFiles = []*os.File{toWorkerR, fromWorkerW}
	cmd.Stdout, cmd.Stderr = out, out
	dieWithParent(cmd)
	exited := make(chan error, 1)
	err = startAndWait(cmd, exited)
	toWorkerR.Close() // the worker's ends; ours are toWorkerW and fromWorkerR
	fromWorkerW.Close()
	if err != nil {
		toWorkerW.Close()
		fromWorkerR.Close()
		return nil, fmt.Errorf("start run worker %s: %w", strings.Join(argv, " "), err)
	}
	var onAppend func([]store.Event)
	if fn := run.Request.OnEvent; fn != nil {
		onAppend = func(evs []store.Event) {
			for _, ev := range evs {
				fn(ev)
			}
		}
	}
	w := &subprocessWorker{cmd: cmd, tail: tail, toWorker: toWorkerW, exited: exited, served: make(chan error, 1),
		srv: workerwire.NewServer(inst.store, run.RunID, toWorkerW, onAppend)}
	go func() {
		w.served <- w.srv.Serve(fromWorkerR)
		fromWorkerR.Close()
	}()
	launch := workerLaunch{RunID: run.RunID, Home: inst.home, Workspace: run.Workspace.Path(), CacheDir: inst.opts.cacheDir,
		Concurrency: inst.opts.concurrency, Limits: inst.opts.limits, Request: run.Request}
	if err := w.srv.Launch(launch); err != nil {
		w.Kill()
		return nil, fmt.Errorf("send the run to its worker (pid %d): %w; %s", cmd.Process.Pid, w.Wait(), tail.describe())
	}
	return w, nil
}

type subprocessWorker struct {
	cmd      *exec.Cmd
	srv      *workerwire.Server
	tail     *tailWriter
	toWorker *os.File
	exited   chan error // cmd.Wait's result
	served   chan error

	waitOnce sync.Once
	waitErr  error
}

func (w *subprocessWorker) Stop(cause error) {
	st := workerwire.Stop{Reason: cause.Error(), Timeout: errors.Is(cause, ErrRunTimeout)}
	if err := w.srv.Stop(st); err != nil {
		w.Kill() // it cannot hear us
	}
}

func (w *subprocessWorker) Kill() { w.cmd.Process.Kill() }

func (w *subprocessWorker) Wait() error {
	w.waitOnce.Do(func() {
		err := <-w.exited
		serveErr := <-w.served
		w.toWorker.Close()
		switch {
		case err != nil:
			w.waitErr = fmt.Errorf("run worker (pid %d) %v; %s", w.cmd.Process.Pid, err, w.tail.describe())
		case serveErr != nil:
			w.waitErr = fmt.Errorf("run worker (pid %d): %w", w.cmd.Process.Pid, serveErr)
		}
	})
	return w.waitErr
}

// startAndWait starts cmd and waits for it on a goroutine locked to its OS thread, sending
// cmd.Wait's result to exited. Linux sends the parent-death signal when the *thread* that forked
// the child exits, not the process, and Go may end a thread whose goroutine exits while locked to
// it; keeping the forking thread busy in Wait until the worker exits rules that out.
func startAndWait(cmd *exec.Cmd, exited chan<- error) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		exited <- cmd.Wait()
	}()
	return <-started
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// describe quotes the last lines the worker printed, for a failure message.
func (t *tailWriter) describe() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if s == "" {
		return "it printed nothing"
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return "its last output:\n" + strings.Join(lines, "\n")
}

// RunWorkerMain is the body of `wasmorch run-worker`: it executes the run its launching process
// sends on file descriptor 3, answering on descriptor 4, and returns the process exit code. A
// program that embeds wasmorch and launches runs with the default SubprocessLauncher must call
// it when started with the argument "run-worker" (or set SubprocessLauncher.Command).
func RunWorkerMain(ctx context.Context) int {
	// Without the launcher's variable, descriptors 3 and 4 are nobody's pipes: the Go runtime
	// of a process started by hand opens its own files there.
	fromParent, toParent := os.NewFile(3, "wasmorch-parent-to-worker"), os.NewFile(4, "wasmorch-worker-to-parent")
	if os.Getenv(workerEnv) != "3,4" || !isPipe(fromParent) || !isPipe(toParent) {
		fmt.Fprintln(os.Stderr, "wasmorch run-worker: no run to execute (no pipes from a launching process on file descriptors 3 and 4); the run worker is started by a wasmorch process, not by hand")
		return 2
	}
	if err := ServeRunWorker(ctx, fromParent, toParent); err != nil {
		fmt.Fprintf(os.Stderr, "wasmorch run-worker: %v\n", err)
		return 1
	}
	return 0
}

// workerEnv tells a run worker where its pipes are; SubprocessLauncher sets it.
const workerEnv = "WASMORCH_RUN_WORKER_FDS"

func isPipe(f *os.File) bool {
	if f == nil {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeNamedPipe != 0
}

// ServeRunWorker executes one launched run, with the launching process at the other end of
// fromParent and toParent: it opens the instance on the parent's store, loads the workspace and
// executes the run, stopping early if the parent asks or goes away.
func ServeRunWorker(ctx context.Context, fromParent io.Reader, toParent io.Writer) error {
	c := workerwire.NewClient(fromParent, toParent)
	var l workerLaunch
	if err := c.Launch(ctx, &l); err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case st := <-c.Stopped():
			if st.Timeout {
				cancel(runTimeoutError{st.Reason})
			} else {
				cancel(errors.New(st.Reason))
			}
		case <-c.Gone():
			cancel(workerwire.ErrParentGone)
		case <-ctx.Done():
		}
	}()
	opts := []Option{WithStore(c), func(o *options) { o.worker, o.limits, o.concurrency = true, l.Limits, l.Concurrency }}
	if l.CacheDir != nil {
		opts = append(opts, WithCompilationCacheDir(*l.CacheDir))
	}
	inst, err := Open(ctx, l.Home, opts...)
	if err != nil {
		return fmt.Errorf("run %s: %w", l.RunID, err)
	}
	defer inst.Close()
	ws, err := inst.LoadWorkspace(ctx, l.Workspace)
	if err != nil {
		return fmt.Errorf("run %s: %w", l.RunID, err)
	}
	if err := executeLaunched(ctx, inst, ws, l.RunID, l.Request); err != nil {
		return fmt.Errorf("run %s: %w", l.RunID, err)
	}
	return nil
}
