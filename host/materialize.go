package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/host/internal/config"
	"github.com/wasmorch/wasmorch/host/internal/exec"
	"github.com/wasmorch/wasmorch/host/internal/manifest"
	wruntime "github.com/wasmorch/wasmorch/host/internal/runtime"
	"github.com/wasmorch/wasmorch/host/iomanager"
	"github.com/wasmorch/wasmorch/host/store"
	"github.com/wasmorch/wasmorch/internal/crashpoint"
)

// ErrInvalidRunConfig is wrapped by errors about run config.
var ErrInvalidRunConfig = errors.New("invalid run config")

// MaterializeOption configures one materialization.
type MaterializeOption func(*materializeOptions)

type materializeOptions struct {
	config  []byte
	onEvent func(store.Event)
	tags    map[string]string
	jobName string // set by ExecuteJob
	// Set by Reexecute: the exact steps to run, the runs it descends from, and the stored values
	// of the parent run that upstreams outside the plan are read from.
	plan                   []string
	parentRunID, rootRunID string
	pinned                 map[string]store.Materialization
	graphParent            *graphParent
	// Set by Launch and the run worker: the run's id, and which half of a launch this call is.
	runID  string
	launch launchPhase
	// target is the partitions to materialize (WithPartition, WithPartitionRange).
	target partitionTarget
}

// launchPhase splits a launched run between the process that launches it and the worker that
// executes it.
type launchPhase int

const (
	// runDirectly: create the run and execute it (Materialize, ExecuteJob, Reexecute).
	runDirectly launchPhase = iota
	// launchCreate: validate and create the run, then return it NOT_STARTED (Launch).
	launchCreate
	// launchExecute: execute the run launchCreate created (a run worker).
	launchExecute
)

// storeRun stores a new run or, in a run worker, checks the run its launcher created: it must
// not have started, and the workspace must still plan the same steps for it.
func (i *Instance) storeRun(ctx context.Context, run *store.Run, o materializeOptions) error {
	if o.runID != "" {
		run.ID = o.runID
	}
	if o.launch != launchExecute {
		if err := i.store.CreateRun(ctx, *run); err != nil {
			return fmt.Errorf("create run: %w", err)
		}
		crashpoint.Hit(crashpoint.RunCreated)
		return nil
	}
	stored, err := i.store.Run(ctx, run.ID)
	if err != nil {
		return fmt.Errorf("launched run: %w", err)
	}
	if stored.Status != store.RunNotStarted {
		return fmt.Errorf("launched run %s is %s; a run worker executes only a run that has not started", run.ID, stored.Status)
	}
	if !slices.Equal(stored.StepKeys, run.StepKeys) {
		return fmt.Errorf("the workspace changed after run %s was launched: the run planned steps %s, the workspace now plans %s",
			run.ID, strings.Join(stored.StepKeys, ", "), strings.Join(run.StepKeys, ", "))
	}
	return nil
}

// WithRunConfig passes run config in Dagster's shape: {"ops": {"ASSET": {"config": {...}}}}.
// An asset key with a prefix may be written as "a/b" or as Dagster's op name "a__b".
func WithRunConfig(configJSON []byte) MaterializeOption {
	return func(o *materializeOptions) { o.config = configJSON }
}

// WithEventHandler calls fn with every event of the run once it is stored, in order. fn must not
// block for long: it runs on the goroutine writing events.
func WithEventHandler(fn func(store.Event)) MaterializeOption {
	return func(o *materializeOptions) { o.onEvent = fn }
}

// WithTags attaches tags to the run.
func WithTags(tags map[string]string) MaterializeOption {
	return func(o *materializeOptions) { o.tags = tags }
}

// StepOutcome is what happened to one step of a run.
type StepOutcome struct {
	Status string // SUCCESS, FAILURE or SKIPPED
	// Error is the failure message, or for a skipped step the reason.
	Error string
}

// Result is a finished run.
type Result struct {
	RunID  string
	Status store.RunStatus
	Steps  map[string]StepOutcome
	// Events are all events of the run, in order.
	Events []store.Event
	// Materializations maps each asset key materialized by the run to its materialization.
	Materializations map[string]store.Materialization
}

// Success reports whether every step succeeded.
func (r *Result) Success() bool { return r.Status == store.RunSuccess }

// Err returns nil for a successful run, otherwise an error listing the failed steps and their
// messages, and how many steps were skipped.
func (r *Result) Err() error {
	if r.Success() {
		return nil
	}
	var failed []string
	skipped := 0
	for _, k := range sortedKeys(r.Steps) {
		switch o := r.Steps[k]; o.Status {
		case string(exec.Failed):
			failed = append(failed, fmt.Sprintf("step %q failed: %s", k, o.Error))
		case string(exec.Skipped):
			skipped++
		}
	}
	msg := fmt.Sprintf("run %s %s", r.RunID, strings.ToLower(string(r.Status)))
	if len(failed) > 0 {
		msg += ":\n  " + strings.Join(failed, "\n  ")
	}
	if skipped > 0 {
		msg += fmt.Sprintf("\n  %d downstream step(s) skipped", skipped)
	}
	return errors.New(msg)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Materialize runs the assets a selection names and returns when the run has finished.
//
// # Errors
//
// Materialize returns an error, and creates no run, when the selection or the run config is
// invalid. Once the run exists, failed steps do not make Materialize return an error: they are in
// the Result (Result.Err describes them). An error alongside a Result means the run's state could
// not be fully written to the store.
func (i *Instance) Materialize(ctx context.Context, ws *Workspace, selection string, opts ...MaterializeOption) (*Result, error) {
	var o materializeOptions
	for _, opt := range opts {
		opt(&o)
	}
	var err error
	if o.launch == launchExecute && o.plan == nil {
		// The launcher resolved the selection; "stale:" may resolve differently by now.
		if o.plan, err = i.launchedPlan(ctx, ws, o.runID); err != nil {
			return nil, err
		}
	}
	now := time.Now()
	var plan []plannedStep
	if o.plan != nil {
		if plan, err = ws.stepsOfPlan(o.plan, now); err != nil {
			return nil, err
		}
	} else {
		assets, err := i.resolveSelection(ctx, ws, selection)
		if err != nil {
			return nil, err
		}
		if plan, err = ws.planSteps(assets, o.target, now); err != nil {
			return nil, err
		}
	}
	// A plan lists each asset's steps together, in dependency order.
	var keys, assetKeys []string
	for _, s := range plan {
		keys = append(keys, s.key)
		if len(assetKeys) == 0 || assetKeys[len(assetKeys)-1] != s.asset {
			assetKeys = append(assetKeys, s.asset)
		}
	}
	configs, redactedConfig, err := prepareRunConfig(o.config, ws, assetKeys)
	if err != nil {
		return nil, err
	}
	var grantErrs []error
	for _, k := range assetKeys {
		if err := ws.resources.CheckGrants(k, ws.assets[k].spec.Resources); err != nil {
			grantErrs = append(grantErrs, err)
		}
		for _, c := range ws.checks[k] {
			if err := ws.resources.CheckGrants(fmt.Sprintf("%s (check %s)", k, c.spec.Name), c.spec.Resources); err != nil {
				grantErrs = append(grantErrs, err)
			}
		}
	}
	if len(grantErrs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrMissingGrant, errors.Join(grantErrs...))
	}
	tags := o.tags
	if o.target.set() {
		tags = maps.Clone(tags)
		if tags == nil {
			tags = map[string]string{}
		}
		if o.target.single {
			tags[PartitionTag] = o.target.from
		} else {
			tags[PartitionRangeStartTag], tags[PartitionRangeEndTag] = o.target.from, o.target.to
		}
	}
	runID, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	run := store.Run{
		ID:          runID.String(),
		JobName:     pick(o.jobName, store.AssetJobName),
		Selection:   selection,
		StepKeys:    keys,
		Config:      redactedConfig, // secrets from the environment are never stored in clear
		ParentRunID: o.parentRunID,
		RootRunID:   o.rootRunID,
		Tags:        tags,
		CreatedAt:   time.Now(),
	}
	if err := i.storeRun(ctx, &run, o); err != nil {
		return nil, err
	}
	if o.launch == launchCreate {
		return &Result{RunID: run.ID, Status: store.RunNotStarted}, nil
	}
	r := &runner{inst: i, ws: ws, runID: run.ID, configs: configs, planned: map[string]bool{}, produced: map[string]store.Materialization{}, pinned: o.pinned, now: now}
	for _, k := range keys {
		r.planned[k] = true
	}
	r.log = newRunLog(i.store, run.ID, o.onEvent)
	r.log.minLevel = levelRank[ws.file.Logging.Level]
	start := append([]store.Event{{Type: store.EventRunStart, Message: fmt.Sprintf("starting run of %d step(s)", len(keys)),
		Metadata: map[string]any{"steps": len(keys)}}}, plannedEvents(plan)...)
	if err := r.log.write(start...); err != nil {
		r.log.close()
		return nil, fmt.Errorf("start run: %w", err)
	}
	steps := make([]exec.Step, 0, len(plan))
	for _, s := range plan {
		s := s
		steps = append(steps, exec.Step{Key: s.key, Deps: s.deps, Run: func(ctx context.Context) error { return r.runAsset(ctx, s) }})
	}
	res, err := finishRun(ctx, r.log, run.ID, steps, i.concurrency(ws))
	if res != nil {
		res.Materializations = r.produced
	}
	return res, err
}

// finishRun executes a started run's steps, records skips and the run's end, and returns the
// result. A step that skips itself (exec.Skip) has written its own event.
func finishRun(ctx context.Context, log *runLog, runID string, steps []exec.Step, concurrency int) (*Result, error) {
	res := &Result{RunID: runID, Steps: map[string]StepOutcome{}}
	outcomes, err := exec.Execute(ctx, steps, concurrency, exec.Hooks{OnSkip: func(key, because string) {
		reason := fmt.Sprintf("upstream step %q did not succeed", because)
		if because == "run canceled" {
			reason = "the run was canceled"
		}
		log.write(store.Event{Type: store.EventStepSkipped, StepKey: key, Message: "skipped: " + reason})
	}})
	if err != nil {
		// The plan was built from a checked graph, so this is a bug, but record it.
		log.write(store.Event{Type: store.EventRunFailure, Error: err.Error()})
		events, _ := log.close()
		res.Events, res.Status = events, store.RunFailure
		return res, err
	}
	var failed []string
	succeeded := 0
	for k, o := range outcomes {
		if o.Status == exec.Succeeded {
			succeeded++
		}
		so := StepOutcome{Status: string(o.Status)}
		if o.Err != nil {
			so.Error = o.Err.Error()
			failed = append(failed, k)
		}
		if o.Status == exec.Skipped {
			so.Error = o.SkippedBecause
			if _, isStep := outcomes[o.SkippedBecause]; isStep {
				so.Error = "upstream step " + o.SkippedBecause + " did not succeed"
			}
		}
		res.Steps[k] = so
	}
	sort.Strings(failed)
	final := store.Event{Type: store.EventRunSuccess, Message: fmt.Sprintf("%d step(s) succeeded", succeeded)}
	res.Status = store.RunSuccess
	switch {
	case ctx.Err() != nil && errors.Is(context.Cause(ctx), ErrRunTimeout):
		final = store.Event{Type: store.EventRunFailure, Message: "run timed out", Error: context.Cause(ctx).Error()}
		res.Status = store.RunFailure
	case ctx.Err() != nil:
		final = store.Event{Type: store.EventRunCancel, Message: "run canceled", Error: context.Cause(ctx).Error()}
		res.Status = store.RunCanceled
	case len(failed) > 0:
		final = store.Event{Type: store.EventRunFailure, Message: "run failed", Error: fmt.Sprintf("step(s) failed: %s", strings.Join(failed, ", "))}
		res.Status = store.RunFailure
	}
	if final.Type == store.EventRunSuccess {
		crashpoint.Hit(crashpoint.BeforeRunSuccess)
	}
	werr := log.write(final)
	events, lerr := log.close()
	res.Events = events
	if werr != nil {
		return res, fmt.Errorf("record end of run %s: %w", runID, werr)
	}
	if lerr != nil {
		return res, fmt.Errorf("record events of run %s: %w", runID, lerr)
	}
	return res, nil
}

// runner holds the state of one run.
type runner struct {
	inst    *Instance
	ws      *Workspace
	runID   string
	configs map[string]json.RawMessage
	planned map[string]bool
	log     *runLog

	// now is when the run was planned: time partitions' bounds are taken at this instant.
	now time.Time

	mu sync.Mutex
	// produced are the values this run stored, by step key.
	produced map[string]store.Materialization
	// pinned are upstream values to read instead of the latest (a re-execution's parent run), by
	// step key.
	pinned map[string]store.Materialization
}

var levelNames = map[int32]string{abi.LevelDebug: store.LevelDebug, abi.LevelInfo: store.LevelInfo, abi.LevelWarn: store.LevelWarn, abi.LevelError: store.LevelError}

func (r *runner) runAsset(ctx context.Context, ps plannedStep) error {
	key, asset := ps.key, ps.asset
	a := r.ws.assets[asset]
	started := fmt.Sprintf("started asset %q (module %q)", asset, a.module.Name)
	if ps.partition != "" {
		started = fmt.Sprintf("started asset %q partition %q (module %q)", asset, ps.partition, a.module.Name)
	}
	if err := r.log.write(store.Event{Type: store.EventStepStart, StepKey: key, Message: started}); err != nil {
		return err
	}
	crashpoint.Hit(crashpoint.StepStarted)
	attempts := 1
	fail := func(err error) error {
		r.log.write(failureEvent(key, err, attempts, nil))
		return err
	}
	step := wruntime.Step{
		Invocation: wruntime.Invocation{
			Kind: "asset", Name: asset, RunID: r.runID, StepKey: key, Attempt: 1,
			PartitionKey: ps.partition, PartitionWindow: partitionWindow(a.parts, ps.partition),
			Config:  r.configs[asset],
			Outputs: []wruntime.InvocationValue{{Name: abi.OutputResult, Format: a.spec.Output.Format}},
		},
		Inputs: map[string]wruntime.Input{},
		Log: func(level int32, msg string) {
			r.log.log(store.Event{StepKey: key, Level: levelNames[level], Message: msg})
		},
		Resources:         r.ws.resources,
		DeclaredResources: a.spec.Resources,
	}
	for _, in := range a.spec.Ins {
		up := r.ws.assets[in.Asset]
		format := up.format()
		step.Invocation.Inputs = append(step.Invocation.Inputs, wruntime.InvocationValue{Name: in.Name, Format: format.String(), Asset: in.Asset})
		if up.parts != nil {
			parts, err := r.upstreamPartitions(ctx, a, ps.partition, in)
			if err != nil {
				return fail(err)
			}
			step.Inputs[in.Name] = wruntime.Input{Format: format, Asset: in.Asset, Partitions: parts}
			continue
		}
		loc, err := r.upstreamLocation(ctx, key, in)
		if err != nil {
			return fail(err)
		}
		iom := r.inst.ioms[loc.IOManager]
		if iom == nil {
			return fail(fmt.Errorf("input %q: asset %q was stored by IO manager %q, which this instance does not have", in.Name, in.Asset, loc.IOManager))
		}
		inCtx := iomanager.InputContext{AssetKey: in.Asset, Location: loc.Location, Format: format}
		step.Inputs[in.Name] = wruntime.Input{Format: format, Asset: in.Asset, Load: func(ctx context.Context) (iomanager.Value, error) {
			return iom.LoadInput(ctx, inCtx)
		}}
	}
	iom := r.inst.ioms[a.ioManager]
	outCtx := iomanager.OutputContext{AssetKey: asset, PartitionKey: ps.partition, RunID: r.runID, StepKey: key, Format: a.format()}
	decl := wruntime.Output{Format: a.format(), Schema: a.schema, Store: func(ctx context.Context, v iomanager.Value) (string, error) {
		return iom.HandleOutput(ctx, outCtx, v)
	}}
	if a.jsonSchema != nil {
		decl.ValidateJSON = func(v any) []string {
			_, errs := a.jsonSchema.Apply(v)
			var problems []string
			for _, e := range errs {
				problems = append(problems, strings.Replace(e.Error(), "config", "value", 1))
			}
			return problems
		}
	}
	step.Outputs = map[string]wruntime.Output{abi.OutputResult: decl}

	res, err := runWithRetries(ctx, r.log, key, fmt.Sprintf("asset %q", key), a.spec.RetryPolicy, a.module, &step, &attempts)
	if err != nil {
		return fail(err)
	}
	out := res.Outputs[abi.OutputResult]
	md := map[string]any{}
	for k, v := range res.Metadata {
		md[k] = v
	}
	for k, v := range out.Metadata {
		md[k] = v
	}
	md["format"] = out.Format.String()
	md["bytes"] = out.Bytes
	md["duration_ms"] = float64(res.Duration.Microseconds()) / 1000
	md["module_digest"] = a.module.Digest
	if out.Format == abi.FormatArrow {
		md["rows"] = out.Rows
		if out.Schema != nil {
			md["schema"] = manifest.SchemaOf(out.Schema)
		}
	}
	mat := store.Materialization{
		AssetKey:     asset,
		PartitionKey: ps.partition,
		Format:       out.Format.String(),
		Location:     out.Location,
		IOManager:    a.ioManager,
		CodeVersion:  a.codeVersion(),
		Metadata:     md,
	}
	matEvent := store.Event{Type: store.EventMaterialization, StepKey: key, Materialization: &mat, Message: fmt.Sprintf("materialized %q", key)}
	if ps.partition != "" {
		matEvent.Message = fmt.Sprintf("materialized %q partition %q", asset, ps.partition)
	}
	success := store.Event{Type: store.EventStepSuccess, StepKey: key, Message: fmt.Sprintf("finished in %s", res.Duration.Round(time.Millisecond)), Metadata: map[string]any{"duration_ms": md["duration_ms"]}}
	checks := r.ws.checks[asset]
	if len(checks) == 0 {
		// One transaction: the materialization and the step's success are recorded together.
		if err := r.log.write(matEvent, success); err != nil {
			return err
		}
	} else if err := r.log.write(matEvent); err != nil {
		return err
	}
	crashpoint.Hit(crashpoint.Materialized)
	r.mu.Lock()
	r.produced[key] = mat
	r.mu.Unlock()
	if len(checks) == 0 {
		return nil
	}
	if err := r.runChecks(ctx, key, a, mat, checks); err != nil {
		return fail(err)
	}
	return r.log.write(success)
}

// failureEvent is the STEP_FAILURE event of a step that failed with err after attempts tries,
// with the failure kind of a guest's *StepError; md holds further metadata, or is nil.
func failureEvent(key string, err error, attempts int, md map[string]any) store.Event {
	if md == nil {
		md = map[string]any{}
	}
	md["attempts"] = attempts
	var se *wruntime.StepError
	if errors.As(err, &se) {
		md["failure_kind"] = string(se.Kind)
	}
	return store.Event{Type: store.EventStepFailure, StepKey: key, Error: err.Error(), Message: "step failed", Metadata: md}
}

// runChecks evaluates the asset's checks on the value just stored, each in its own instance,
// recording every evaluation. A check that fails to run counts as a failed ERROR evaluation.
// The first failed ERROR evaluation of a blocking check is returned, which fails the asset's
// step and so skips everything downstream.
func (r *runner) runChecks(ctx context.Context, key string, a *assetDef, mat store.Materialization, checks []checkDef) error {
	var blocked error
	for _, c := range checks {
		iom := r.inst.ioms[mat.IOManager]
		inCtx := iomanager.InputContext{AssetKey: mat.AssetKey, PartitionKey: mat.PartitionKey, Location: mat.Location, Format: a.format()}
		step := wruntime.Step{
			Invocation: wruntime.Invocation{Kind: "check", Name: c.spec.Name, RunID: r.runID, StepKey: key, Attempt: 1,
				PartitionKey: mat.PartitionKey, PartitionWindow: partitionWindow(a.parts, mat.PartitionKey),
				Inputs: []wruntime.InvocationValue{{Name: "asset", Format: a.format().String(), Asset: mat.AssetKey}}},
			Inputs: map[string]wruntime.Input{"asset": {Format: a.format(), Asset: mat.AssetKey, Load: func(ctx context.Context) (iomanager.Value, error) {
				return iom.LoadInput(ctx, inCtx)
			}}},
			Outputs: map[string]wruntime.Output{},
			Log: func(level int32, msg string) {
				r.log.log(store.Event{StepKey: key, Level: levelNames[level], Message: fmt.Sprintf("[check %s] %s", c.spec.Name, msg)})
			},
			Resources:         r.ws.resources,
			DeclaredResources: c.spec.Resources,
		}
		eval := &store.CheckEvaluation{AssetKey: mat.AssetKey, CheckName: c.spec.Name, Passed: true, Severity: "ERROR", Blocking: c.spec.Blocking}
		res, err := c.module.Run(ctx, step)
		switch {
		case err != nil:
			eval.Passed = false
			eval.Metadata = map[string]any{"error": err.Error()}
		default:
			if res.Check != nil {
				eval.Passed, eval.Severity = res.Check.Passed, res.Check.Severity
			}
			eval.Metadata = res.Metadata
		}
		verdict := "passed"
		if !eval.Passed {
			verdict = "failed (" + eval.Severity + ")"
		}
		if werr := r.log.write(store.Event{Type: store.EventCheckEvaluation, StepKey: key, CheckEvaluation: eval,
			Message: fmt.Sprintf("check %q on %q %s", c.spec.Name, key, verdict)}); werr != nil {
			return werr
		}
		if !eval.Passed && eval.Severity == "ERROR" && c.spec.Blocking && blocked == nil {
			blocked = fmt.Errorf("blocking check %q on asset %q failed", c.spec.Name, key)
			if err != nil {
				blocked = fmt.Errorf("%w: %v", blocked, err)
			}
		}
	}
	return blocked
}

// runWithRetries runs the step, and again after a failure while its retry policy allows,
// recording each failed attempt that will be retried as STEP_UP_FOR_RETRY. A canceled run is
// never retried.
func runWithRetries(ctx context.Context, log *runLog, key, what string, policy *manifest.RetryPolicy, module *wruntime.Module, step *wruntime.Step, attempts *int) (*wruntime.StepResult, error) {
	for attempt := 1; ; attempt++ {
		*attempts = attempt
		step.Invocation.Attempt = attempt
		res, err := module.Run(ctx, *step)
		if err == nil {
			return res, nil
		}
		var se *wruntime.StepError
		errors.As(err, &se)
		canceled := ctx.Err() != nil || (se != nil && se.Kind == wruntime.FailureCanceled)
		if policy == nil || attempt > policy.MaxRetries || canceled {
			if policy == nil && se != nil && se.Retry {
				c := *se
				c.Message += fmt.Sprintf(" (the step asked to be retried, but %s has no retry_policy)", what)
				return nil, &c
			}
			return nil, err
		}
		delay := retryDelay(policy, attempt)
		log.write(store.Event{Type: store.EventStepRetry, StepKey: key, Error: err.Error(),
			Message:  fmt.Sprintf("attempt %d of %d failed; retrying in %s", attempt, policy.MaxRetries+1, delay.Round(time.Millisecond)),
			Metadata: map[string]any{"attempt": attempt, "delay_ms": float64(delay.Microseconds()) / 1000}})
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, err
		}
	}
}

// retryDelay is the wait before retrying after the given failed attempt (1-based): the policy's
// delay, grown linearly (delay*attempt) or exponentially (delay*2^(attempt-1)), then jittered:
// "full" draws uniformly from [0, delay], "plus_minus" from [delay/2, 3*delay/2].
func retryDelay(p *manifest.RetryPolicy, attempt int) time.Duration {
	d := p.DelaySeconds
	switch p.Backoff {
	case "linear":
		d *= float64(attempt)
	case "exponential":
		d *= math.Pow(2, float64(attempt-1))
	}
	switch p.Jitter {
	case "full":
		d *= rand.Float64()
	case "plus_minus":
		d *= 0.5 + rand.Float64()
	}
	return time.Duration(d * float64(time.Second))
}

// upstreamLocation finds the value an input reads: the one this run produced if the upstream is
// in the plan (the executor ran it first), otherwise the latest stored materialization.
func (r *runner) upstreamLocation(ctx context.Context, key string, in manifest.AssetIn) (store.Materialization, error) {
	if r.planned[in.Asset] {
		r.mu.Lock()
		m, ok := r.produced[in.Asset]
		r.mu.Unlock()
		if !ok {
			return m, fmt.Errorf("input %q: upstream asset %q has not produced a value in this run", in.Name, in.Asset)
		}
		return m, nil
	}
	if m, ok := r.pinned[in.Asset]; ok {
		return m, nil
	}
	latest, err := r.inst.store.LatestMaterializations(ctx, in.Asset)
	if err != nil {
		return store.Materialization{}, fmt.Errorf("input %q: look up asset %q: %w", in.Name, in.Asset, err)
	}
	ev, ok := latest[in.Asset]
	if !ok || ev.Materialization == nil {
		return store.Materialization{}, fmt.Errorf("input %q: asset %q has never been materialized; materialize it first or add it to the selection (e.g. --select '+%s')", in.Name, in.Asset, key)
	}
	return *ev.Materialization, nil
}

// prepareRunConfig validates run config in Dagster's shape against the selected assets'
// config schemas, applies defaults and resolves {"env": NAME} secrets. It returns each step's
// config (what its guest receives) and the redacted run config (the only form that is stored).
// Every problem is reported at once, each with its path.
func prepareRunConfig(data []byte, ws *Workspace, selected []string) (map[string]json.RawMessage, []byte, error) {
	// A name that is an asset of the workspace but not selected gets its own message: the user
	// most likely forgot it in --select.
	if len(bytes.TrimSpace(data)) > 0 {
		var top struct {
			Ops map[string]json.RawMessage `json:"ops"`
		}
		if json.Unmarshal(data, &top) == nil {
			isSelected := map[string]bool{}
			for _, k := range selected {
				isSelected[k] = true
			}
			for name := range top.Ops {
				key := strings.ReplaceAll(name, "__", "/")
				if _, ok := ws.assets[key]; ok && !isSelected[key] {
					return nil, nil, fmt.Errorf("%w: ops.%s: asset %q is not in the selection, so its config would be ignored", ErrInvalidRunConfig, name, key)
				}
			}
		}
	}
	steps := make(map[string]*config.Schema, len(selected))
	for _, k := range selected {
		steps[k] = ws.assets[k].config
	}
	perStep, redacted, errs := config.ValidateRunConfig(data, steps, os.LookupEnv)
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidRunConfig, config.Join(errs))
	}
	return perStep, redacted, nil
}
