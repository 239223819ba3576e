package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/wasmorch/wasmorch/host/internal/exec"
	"github.com/wasmorch/wasmorch/host/store"
)

// ErrRunTimeout is wrapped by the failure of a run that did not finish within its run timeout.
var ErrRunTimeout = errors.New("run timeout")

// runTimeoutError is the cause a run ends with when its run timeout passes: the run fails.
type runTimeoutError struct{ msg string }

func (e runTimeoutError) Error() string        { return e.msg }
func (e runTimeoutError) Is(target error) bool { return target == ErrRunTimeout }

func timeoutCause(limit time.Duration) error {
	return runTimeoutError{fmt.Sprintf("the run did not finish within its run timeout of %s", limit)}
}

// ErrRunTerminated is wrapped by the end of a run stopped with Launched.Terminate.
var ErrRunTerminated = errors.New("run terminated")

// stopGrace is how long a run that was asked to stop may take to record its end before its
// worker is killed.
const stopGrace = 10 * time.Second

// LaunchRequest is a run for Launch: a job, an asset selection or a re-execution.
type LaunchRequest struct {
	// Job names a job of the workspace. If Job and ReexecuteOf are empty, Selection is
	// materialized as an ad hoc run.
	Job       string `json:"job,omitempty"`
	Selection string `json:"selection,omitempty"`
	// ReexecuteOf re-executes a finished run: all its steps or, with FromFailure, those that did
	// not succeed (see Instance.Reexecute).
	ReexecuteOf string `json:"reexecute_of,omitempty"`
	FromFailure bool   `json:"from_failure,omitempty"`
	// Partition, or PartitionFrom and PartitionTo, choose the partitions of an asset selection to
	// materialize, as WithPartition and WithPartitionRange do.
	Partition     string `json:"partition,omitempty"`
	PartitionFrom string `json:"partition_from,omitempty"`
	PartitionTo   string `json:"partition_to,omitempty"`
	// Config is run config, as for WithRunConfig; Tags are added to the run's.
	Config json.RawMessage   `json:"config,omitempty"`
	Tags   map[string]string `json:"tags,omitempty"`
	// Timeout fails the run if it has not finished this long after it was launched, and kills its
	// worker if it does not stop within 10 s of being told to. 0 means the instance's
	// WithRunTimeout, whose default is no timeout.
	Timeout time.Duration `json:"timeout,omitempty"`
	// OnEvent, if set, is called with each event of the run once it is stored, in order, from
	// the goroutine that stores it: it must not block for long.
	OnEvent func(store.Event) `json:"-"`
}

// ErrInvalidLaunchRequest is wrapped by errors about a LaunchRequest's fields.
var ErrInvalidLaunchRequest = errors.New("invalid launch request")

// check refuses a request whose fields contradict each other, rather than ignoring some of them.
func (r LaunchRequest) check() error {
	var set []string
	for _, f := range []struct{ name, value string }{{"Job", r.Job}, {"Selection", r.Selection}, {"ReexecuteOf", r.ReexecuteOf}} {
		if f.value != "" {
			set = append(set, fmt.Sprintf("%s %q", f.name, f.value))
		}
	}
	switch {
	case len(set) == 0:
		return fmt.Errorf("%w: it names nothing to run: set one of Job, Selection or ReexecuteOf", ErrInvalidLaunchRequest)
	case len(set) > 1:
		return fmt.Errorf("%w: set one of Job, Selection or ReexecuteOf, not %s", ErrInvalidLaunchRequest, strings.Join(set, " and "))
	case r.FromFailure && r.ReexecuteOf == "":
		return fmt.Errorf("%w: FromFailure applies to a re-execution; set ReexecuteOf", ErrInvalidLaunchRequest)
	case (r.Partition != "" || r.PartitionFrom != "" || r.PartitionTo != "") && r.Selection == "":
		return fmt.Errorf("%w: Partition, PartitionFrom and PartitionTo apply to a Selection", ErrInvalidLaunchRequest)
	case r.Partition != "" && (r.PartitionFrom != "" || r.PartitionTo != ""):
		return fmt.Errorf("%w: set Partition or PartitionFrom and PartitionTo, not both", ErrInvalidLaunchRequest)
	case (r.PartitionFrom == "") != (r.PartitionTo == ""):
		return fmt.Errorf("%w: a partition range needs both PartitionFrom and PartitionTo", ErrInvalidLaunchRequest)
	case r.Timeout < 0:
		return fmt.Errorf("%w: Timeout is %s; it must be positive, or 0 for the instance's run timeout", ErrInvalidLaunchRequest, r.Timeout)
	}
	return nil
}

// describe names the request in errors.
func (r LaunchRequest) describe() string {
	switch {
	case r.ReexecuteOf != "":
		return "re-execution of run " + r.ReexecuteOf
	case r.Job != "":
		return fmt.Sprintf("job %q", r.Job)
	}
	return fmt.Sprintf("selection %q", r.Selection)
}

// run executes (or, in the launch phase, only creates) the run a request names.
func (i *Instance) run(ctx context.Context, ws *Workspace, req LaunchRequest, opts ...MaterializeOption) (*Result, error) {
	opts = append([]MaterializeOption{WithRunConfig(req.Config), WithTags(req.Tags)}, opts...)
	switch {
	case req.ReexecuteOf != "":
		return i.Reexecute(ctx, ws, req.ReexecuteOf, req.FromFailure, opts...)
	case req.Job != "":
		return i.ExecuteJob(ctx, ws, req.Job, opts...)
	}
	switch {
	case req.Partition != "":
		opts = append(opts, WithPartition(req.Partition))
	case req.PartitionFrom != "":
		opts = append(opts, WithPartitionRange(req.PartitionFrom, req.PartitionTo))
	}
	return i.Materialize(ctx, ws, req.Selection, opts...)
}

func withLaunch(runID string, phase launchPhase) MaterializeOption {
	return func(o *materializeOptions) { o.runID, o.launch = runID, phase }
}

// launchedPlan is the plan a launcher stored for an asset run, checked against the workspace.
func (i *Instance) launchedPlan(ctx context.Context, ws *Workspace, runID string) ([]string, error) {
	run, err := i.store.Run(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("launched run: %w", err)
	}
	var missing []string
	for _, k := range run.StepKeys {
		if asset, _ := splitStepKey(k); ws.assets[asset] == nil {
			missing = append(missing, asset)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the workspace changed after run %s was launched: asset(s) %s are no longer in it", runID, strings.Join(missing, ", "))
	}
	return run.StepKeys, nil
}

// RunLauncher executes the runs Launch creates. Two ship: InProcessLauncher, and
// SubprocessLauncher (the default), which runs each in a `wasmorch run-worker` process.
type RunLauncher interface {
	// LaunchRun starts executing a run Launch created (NOT_STARTED) and returns once it is under
	// way. The worker records the run's events; the instance watches it and records the run's
	// end itself if the worker stops without doing so.
	LaunchRun(ctx context.Context, run *LaunchedRun) (RunWorker, error)
}

// LaunchedRun is what a RunLauncher is given.
type LaunchedRun struct {
	RunID     string
	Request   LaunchRequest
	Instance  *Instance
	Workspace *Workspace
}

// RunWorker is one launched run's execution, as its launcher sees it.
type RunWorker interface {
	// Stop asks the worker to end the run, giving cause as the reason: a cause wrapping
	// ErrRunTimeout fails the run, any other cancels it. It returns at once.
	Stop(cause error)
	// Kill ends the worker at once, where that is possible (a process); the instance then
	// records the run's end.
	Kill()
	// Wait blocks until the worker has ended and returns why, when it ended abnormally.
	Wait() error
}

// WithRunLauncher sets the launcher of runs started with Launch (default: a SubprocessLauncher
// running this executable's run-worker command).
func WithRunLauncher(l RunLauncher) Option { return func(o *options) { o.launcher = l } }

// WithRunTimeout fails any run started with Launch that has not finished d after its launch,
// unless the LaunchRequest sets its own (default: no timeout).
func WithRunTimeout(d time.Duration) Option { return func(o *options) { o.runTimeout = d } }

// Launched is a run started with Launch.
type Launched struct {
	// RunID is the run's id; the run is in the store from the moment Launch returns.
	RunID string

	inst     *Instance
	worker   RunWorker
	onEvent  func(store.Event)
	timeout  time.Duration
	stopReq  chan error
	stopOnce sync.Once
	done     chan struct{}
}

// Launch validates a run, stores it and hands it to the instance's run launcher, returning once
// the run is under way. It returns an error, and stores no run, when the request is invalid (an
// unknown job, a bad selection or run config, a missing grant). Wait for the run with
// Launched.Wait; its progress is in the store from the start.
func (i *Instance) Launch(ctx context.Context, ws *Workspace, req LaunchRequest) (*Launched, error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	if i.opts.runTimeout < 0 {
		return nil, fmt.Errorf("WithRunTimeout(%s): a run timeout must be positive, or 0 for none", i.opts.runTimeout)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	if _, err := i.run(ctx, ws, req, withLaunch(id.String(), launchCreate)); err != nil {
		return nil, err
	}
	l := &Launched{RunID: id.String(), inst: i, onEvent: req.OnEvent, timeout: pick(req.Timeout, i.opts.runTimeout),
		stopReq: make(chan error, 1), done: make(chan struct{})}
	launcher := i.opts.launcher
	if launcher == nil {
		launcher = &SubprocessLauncher{}
	}
	i.mu.Lock()
	closed := i.closed
	if !closed {
		i.launched[l.RunID] = l
	}
	i.mu.Unlock()
	if closed {
		err = errors.New("instance is closed")
	} else {
		l.worker, err = launcher.LaunchRun(ctx, &LaunchedRun{RunID: l.RunID, Request: req, Instance: i, Workspace: ws})
	}
	if err != nil {
		l.recordEnd(store.Event{Type: store.EventRunFailure, Message: "run not launched", Error: "the run could not be launched: " + err.Error()})
		i.forget(l.RunID)
		return nil, fmt.Errorf("launch %s as run %s: %w", req.describe(), l.RunID, err)
	}
	go l.monitor()
	return l, nil
}

// Done is closed when the run has ended and its end is stored.
func (l *Launched) Done() <-chan struct{} { return l.done }

// Wait waits for the run to end and returns it as read from the store. The error is non-nil
// only when waiting or reading failed; a failed run is in the Result (Result.Err).
func (l *Launched) Wait(ctx context.Context) (*Result, error) {
	select {
	case <-l.done:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	return l.inst.RunResult(ctx, l.RunID)
}

// Terminate asks the run to stop: running steps are interrupted and the run ends CANCELED with
// reason. A worker that has not stopped 10 s later is killed.
func (l *Launched) Terminate(reason string) {
	l.stop(fmt.Errorf("%w: %s", ErrRunTerminated, reason))
}

func (l *Launched) stop(cause error) {
	l.stopOnce.Do(func() { l.stopReq <- cause })
}

// monitor watches the worker until it ends, enforcing the run timeout, then records the run's
// end if the worker did not.
func (l *Launched) monitor() {
	waited := make(chan error, 1)
	go func() { waited <- l.worker.Wait() }()
	var deadline, killAt <-chan time.Time
	if l.timeout > 0 {
		t := time.NewTimer(l.timeout)
		defer t.Stop()
		deadline = t.C
	}
	var cause error
	stopping := func(c error) {
		cause = c
		l.worker.Stop(c)
		killAt = time.After(stopGrace)
	}
	for {
		select {
		case err := <-waited:
			l.finish(err, cause)
			return
		case <-deadline:
			deadline = nil
			if cause == nil {
				stopping(timeoutCause(l.timeout))
			}
		case c := <-l.stopReq:
			if cause == nil {
				stopping(c)
			}
		case <-killAt:
			killAt = nil
			l.worker.Kill()
		}
	}
}

// finish records the run's end if the worker left it unfinished, and releases waiters.
func (l *Launched) finish(workerErr, cause error) {
	defer close(l.done)
	defer l.inst.forget(l.RunID)
	run, err := l.inst.store.Run(context.Background(), l.RunID)
	if err != nil || run.Status.Finished() {
		return
	}
	// The worker is gone mid-run: a write it was making may have left a temporary file.
	l.inst.removeTemporaryFiles(l.RunID)
	ev := store.Event{Type: store.EventRunFailure, Message: "run worker ended"}
	switch {
	case cause != nil && errors.Is(cause, ErrRunTerminated):
		ev = store.Event{Type: store.EventRunCancel, Message: "run terminated", Error: cause.Error()}
	case cause != nil:
		ev.Error = cause.Error()
		if workerErr != nil {
			ev.Error += "; the run worker was stopped: " + workerErr.Error()
		}
	case workerErr != nil:
		ev.Error = "the run worker ended before the run finished: " + workerErr.Error()
	default:
		ev.Error = "the run worker exited without finishing the run"
	}
	l.recordEnd(ev)
}

// recordEnd appends the run's final event, for a worker that did not, and passes it to OnEvent.
// A run that finished in the meantime keeps its end (ErrRunFinished); any other error leaves the
// run for recovery when the instance is next opened.
func (l *Launched) recordEnd(ev store.Event) {
	ev.Time = time.Now()
	stored, err := l.inst.store.AppendEvents(context.Background(), l.RunID, ev)
	if err == nil && l.onEvent != nil {
		for _, ev := range stored {
			l.onEvent(ev)
		}
	}
}

func (i *Instance) forget(runID string) {
	i.mu.Lock()
	delete(i.launched, runID)
	i.mu.Unlock()
}

// stopLaunched stops every run this instance launched and waits for them to end.
func (i *Instance) stopLaunched() {
	i.mu.Lock()
	live := make([]*Launched, 0, len(i.launched))
	for _, l := range i.launched {
		live = append(live, l)
	}
	i.mu.Unlock()
	for _, l := range live {
		l.stop(fmt.Errorf("%w: the wasmorch instance that launched it closed", ErrRunTerminated))
	}
	for _, l := range live {
		<-l.done
	}
}

// RunResult reads a run's outcome from the store: its status, the outcome of each step that
// ran, its events and its materializations.
func (i *Instance) RunResult(ctx context.Context, runID string) (*Result, error) {
	run, err := i.store.Run(ctx, runID)
	if err != nil {
		return nil, err
	}
	events, err := i.store.Events(ctx, runID, 0, 0)
	if err != nil {
		return nil, err
	}
	res := &Result{RunID: runID, Status: run.Status, Steps: map[string]StepOutcome{}, Events: events,
		Materializations: map[string]store.Materialization{}}
	for _, ev := range events {
		switch ev.Type {
		case store.EventStepStart:
			res.Steps[ev.StepKey] = StepOutcome{Status: "STARTED"}
		case store.EventStepSuccess:
			res.Steps[ev.StepKey] = StepOutcome{Status: string(exec.Succeeded)}
		case store.EventStepFailure:
			res.Steps[ev.StepKey] = StepOutcome{Status: string(exec.Failed), Error: ev.Error}
		case store.EventStepSkipped:
			res.Steps[ev.StepKey] = StepOutcome{Status: string(exec.Skipped), Error: strings.TrimPrefix(ev.Message, "skipped: ")}
		case store.EventMaterialization:
			if ev.Materialization != nil {
				res.Materializations[ev.Materialization.AssetKey] = *ev.Materialization
			}
		}
	}
	return res, nil
}

// InProcessLauncher runs launched runs on goroutines of the launching process: no isolation
// from a guest that crashes the process, but no start-up cost. The CLI's materialize and tests
// use it.
func InProcessLauncher() RunLauncher { return inProcessLauncher{} }

type inProcessLauncher struct{}

func (inProcessLauncher) LaunchRun(ctx context.Context, run *LaunchedRun) (RunWorker, error) {
	runCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	w := &inProcessWorker{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer cancel(nil)
		w.err = executeLaunched(runCtx, run.Instance, run.Workspace, run.RunID, run.Request)
	}()
	return w, nil
}

type inProcessWorker struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
	err    error
}

func (w *inProcessWorker) Stop(cause error) { w.cancel(cause) }
func (w *inProcessWorker) Kill()            {} // a goroutine cannot be killed; Stop interrupts its steps
func (w *inProcessWorker) Wait() error      { <-w.done; return w.err }

// executeLaunched executes a launched run in the worker, in or out of process. A panic in the
// host's own code ends the run, not the process.
func executeLaunched(ctx context.Context, inst *Instance, ws *Workspace, runID string, req LaunchRequest) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("run worker panic: %v", p)
		}
	}()
	opts := []MaterializeOption{withLaunch(runID, launchExecute)}
	if req.OnEvent != nil {
		opts = append(opts, WithEventHandler(req.OnEvent))
	}
	_, err = inst.run(ctx, ws, req, opts...)
	return err
}
