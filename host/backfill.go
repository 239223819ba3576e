package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/wasmorch/wasmorch/host/internal/exec"
	"github.com/wasmorch/wasmorch/host/store"
)

// BackfillRequest asks for a selection to be materialized over a range of partitions.
type BackfillRequest struct {
	// Selection is an asset selection, as for Materialize.
	Selection string
	// From and To are keys of the selection's partitioned root assets (those with no partitioned
	// upstream in the selection, which must share one definition); both are included. Assets
	// downstream get the partitions that read these through their partition mappings.
	From, To string
	// OneRun materializes everything in one run instead of one run per partition.
	OneRun bool
	// Concurrency caps the runs executing at once (default: the number of CPUs). Each run's
	// steps follow the instance's step concurrency.
	Concurrency int
	// Config is run config for every run, as for WithRunConfig; Tags are added to every run's.
	Config json.RawMessage
	Tags   map[string]string
}

// BackfillProgress is reported after each run of a backfill ends.
type BackfillProgress struct {
	BackfillID string
	// Runs is the number of runs the backfill needs this time; Done those that ended so far, of
	// which Failed did not succeed. Skipped are runs not started because an upstream run failed.
	Runs, Done, Failed, Skipped int
	// Run is the run that just ended.
	Run *Result
}

// BackfillOption configures LaunchBackfill and ResumeBackfill.
type BackfillOption func(*backfillOptions)

type backfillOptions struct {
	onProgress func(BackfillProgress)
	onEvent    func(store.Event)
	onCreated  func(store.Backfill)
}

// WithBackfillProgress calls fn after each run of the backfill ends, from the goroutine that ran
// it; calls may come from several goroutines at once but never overlap.
func WithBackfillProgress(fn func(BackfillProgress)) BackfillOption {
	return func(o *backfillOptions) { o.onProgress = fn }
}

// WithBackfillEvents calls fn with every event of every run of the backfill.
func WithBackfillEvents(fn func(store.Event)) BackfillOption {
	return func(o *backfillOptions) { o.onEvent = fn }
}

// WithBackfillCreated calls fn once the backfill is stored, before its first run starts.
func WithBackfillCreated(fn func(store.Backfill)) BackfillOption {
	return func(o *backfillOptions) { o.onCreated = fn }
}

// ErrBackfillRunning is returned by ResumeBackfill for a backfill this instance is executing.
var ErrBackfillRunning = errors.New("backfill is running")

// LaunchBackfill stores a backfill and executes it: by default one run per partition (the
// assets of one partitions definition and one key share a run), each starting once the runs
// whose partitions it reads have succeeded, at most Concurrency at once. It returns when every
// run has ended, or ctx is done, with the backfill's final state. The backfill's state is in the
// store from the start: after a crash, ResumeBackfill finishes it without repeating or skipping
// a partition.
//
// An invalid request (unknown partition, a start after the end, a selection without partitioned
// assets) is an error wrapping ErrInvalidPartition, and nothing is stored.
func (i *Instance) LaunchBackfill(ctx context.Context, ws *Workspace, req BackfillRequest, opts ...BackfillOption) (store.Backfill, error) {
	if req.Selection == "" {
		return store.Backfill{}, fmt.Errorf("%w: a backfill needs a selection", ErrInvalidPartition)
	}
	if req.From == "" || req.To == "" {
		return store.Backfill{}, fmt.Errorf("%w: a backfill needs the first and last partition (--from and --to)", ErrInvalidPartition)
	}
	if req.Concurrency < 0 {
		return store.Backfill{}, fmt.Errorf("%w: concurrency %d is negative", ErrInvalidPartition, req.Concurrency)
	}
	if req.OneRun && req.Concurrency > 0 {
		return store.Backfill{}, fmt.Errorf("%w: concurrency %d with one run: a one-run backfill has no runs to run at once", ErrInvalidPartition, req.Concurrency)
	}
	now := time.Now()
	assets, err := i.resolveSelection(ctx, ws, req.Selection)
	if err != nil {
		return store.Backfill{}, err
	}
	keys, err := ws.rangeKeys(assets, setOf(assets), req.From, req.To, now)
	if err != nil {
		return store.Backfill{}, fmt.Errorf("selection %q: %w", req.Selection, err)
	}
	// Plan the whole backfill, and check the run config, before anything is stored.
	steps, err := ws.backfillPlan(assets, keys, now)
	if err != nil {
		return store.Backfill{}, err
	}
	if _, _, err := prepareRunConfig(req.Config, ws, assets); err != nil {
		return store.Backfill{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return store.Backfill{}, err
	}
	b := store.Backfill{ID: id.String(), Selection: req.Selection, PartitionKeys: keys, From: req.From, To: req.To,
		OneRun: req.OneRun, Concurrency: req.Concurrency, Config: req.Config, Tags: req.Tags, CreatedAt: now}
	if err := i.store.CreateBackfill(ctx, b); err != nil {
		return store.Backfill{}, fmt.Errorf("create backfill: %w", err)
	}
	b, err = i.store.Backfill(ctx, b.ID)
	if err != nil {
		return b, err
	}
	return i.executeBackfill(ctx, ws, b, steps, opts)
}

// ResumeBackfill executes what a backfill has not materialized yet: every partition whose step
// has no successful materialization by one of the backfill's runs, whether it failed, was
// canceled, was interrupted by a crash, or never started.
func (i *Instance) ResumeBackfill(ctx context.Context, ws *Workspace, id string, opts ...BackfillOption) (store.Backfill, error) {
	b, err := i.store.Backfill(ctx, id)
	if err != nil {
		return b, err
	}
	i.mu.Lock()
	_, running := i.backfills[id]
	i.mu.Unlock()
	if running {
		return b, fmt.Errorf("%w: backfill %s is executing in this process", ErrBackfillRunning, id)
	}
	if b.Status == store.BackfillCompleted {
		return b, fmt.Errorf("backfill %s is already complete; nothing to resume", id)
	}
	if b, err = i.store.SetBackfillStatus(ctx, id, store.BackfillRequested, ""); err != nil {
		return b, err
	}
	return i.executeBackfill(ctx, ws, b, nil, opts)
}

// CancelBackfill marks a backfill CANCELED and, if this instance is executing it, stops it:
// no further run starts, and the runs under way are canceled.
func (i *Instance) CancelBackfill(ctx context.Context, id string) (store.Backfill, error) {
	b, err := i.store.Backfill(ctx, id)
	if err != nil {
		return b, err
	}
	if b.Status != store.BackfillRequested {
		return b, fmt.Errorf("backfill %s is %s; only a backfill that is under way (REQUESTED) can be canceled", id, b.Status)
	}
	if b, err = i.store.SetBackfillStatus(ctx, id, store.BackfillCanceled, "canceled"); err != nil {
		return b, err
	}
	i.mu.Lock()
	cancel := i.backfills[id]
	i.mu.Unlock()
	if cancel != nil {
		cancel(errBackfillCanceled)
	}
	return b, nil
}

var errBackfillCanceled = errors.New("the backfill was canceled")

// backfillUnit is one run of a backfill: the steps of one partition key and one partitions
// definition (or of one unpartitioned asset).
type backfillUnit struct {
	key       string
	partition string
	steps     []string
	deps      []string
}

// backfillPlan groups the steps of a backfill over the root keys into runs.
func (ws *Workspace) backfillPlan(assets []string, rootKeys []string, now time.Time) ([]plannedStep, error) {
	selected := setOf(assets)
	_, def, err := ws.rootDefinition(assets, selected)
	if err != nil {
		return nil, err
	}
	for _, k := range rootKeys {
		if err := def.Contains(k, now); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidPartition, err)
		}
	}
	targets, err := ws.targetKeys(assets, selected, rootKeys, now)
	if err != nil {
		return nil, err
	}
	return ws.stepsFor(assets, targets, selected, now)
}

// units groups planned steps into one run per (definition, partition key), and one per
// unpartitioned asset, with the runs each waits for.
func (ws *Workspace) units(steps []plannedStep) []*backfillUnit {
	unitOf := map[string]*backfillUnit{}
	var units []*backfillUnit
	stepUnit := map[string]*backfillUnit{}
	for _, s := range steps {
		id := "asset " + s.asset
		if s.partition != "" {
			id = ws.assets[s.asset].parts.String() + "\x00" + s.partition
		}
		u := unitOf[id]
		if u == nil {
			u = &backfillUnit{key: fmt.Sprintf("run%d", len(units)), partition: s.partition}
			unitOf[id] = u
			units = append(units, u)
		}
		u.steps = append(u.steps, s.key)
		stepUnit[s.key] = u
	}
	for _, s := range steps {
		u := stepUnit[s.key]
		for _, d := range s.deps {
			if du := stepUnit[d]; du != u && !slices.Contains(u.deps, du.key) {
				u.deps = append(u.deps, du.key)
			}
		}
	}
	return units
}

// executeBackfill runs what remains of a stored backfill and records how it ended. steps is the
// backfill's plan, or nil to plan it again from the stored backfill (a resume).
func (i *Instance) executeBackfill(ctx context.Context, ws *Workspace, b store.Backfill, steps []plannedStep, opts []BackfillOption) (store.Backfill, error) {
	var o backfillOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.onCreated != nil {
		o.onCreated(b)
	}
	fail := func(err error) (store.Backfill, error) {
		if nb, serr := i.store.SetBackfillStatus(context.WithoutCancel(ctx), b.ID, store.BackfillFailed, err.Error()); serr == nil {
			b = nb
		}
		return b, err
	}
	if steps == nil {
		assets, err := i.resolveSelection(ctx, ws, b.Selection)
		if err != nil {
			return fail(err)
		}
		if steps, err = ws.backfillPlan(assets, b.PartitionKeys, time.Now()); err != nil {
			return fail(err)
		}
	}
	done, err := i.backfillDone(ctx, b.ID, steps)
	if err != nil {
		return fail(err)
	}
	var units []*backfillUnit
	if b.OneRun {
		u := &backfillUnit{key: "run0"}
		for _, s := range steps {
			if !done[s.key] {
				u.steps = append(u.steps, s.key)
			}
		}
		if len(u.steps) > 0 {
			units = append(units, u)
		}
	} else {
		all := ws.units(steps)
		finished := map[string]bool{}
		for _, u := range all {
			remaining := slices.DeleteFunc(slices.Clone(u.steps), func(k string) bool { return done[k] })
			if len(remaining) == 0 {
				finished[u.key] = true
				continue
			}
			u.steps = remaining
			units = append(units, u)
		}
		for _, u := range units {
			u.deps = slices.DeleteFunc(u.deps, func(k string) bool { return finished[k] })
		}
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	i.mu.Lock()
	if i.backfills == nil {
		i.backfills = map[string]context.CancelCauseFunc{}
	}
	i.backfills[b.ID] = cancel
	i.mu.Unlock()
	defer func() {
		i.mu.Lock()
		delete(i.backfills, b.ID)
		i.mu.Unlock()
	}()

	tags := maps.Clone(b.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	tags[store.BackfillTag] = b.ID
	var mu sync.Mutex
	progress := BackfillProgress{BackfillID: b.ID, Runs: len(units)}
	execSteps := make([]exec.Step, 0, len(units))
	for _, u := range units {
		u := u
		execSteps = append(execSteps, exec.Step{Key: u.key, Deps: u.deps, Run: func(ctx context.Context) error {
			runTags := maps.Clone(tags)
			if u.partition != "" {
				runTags[PartitionTag] = u.partition
			}
			mopts := []MaterializeOption{WithTags(runTags), func(o *materializeOptions) { o.plan = u.steps }}
			if len(b.Config) > 0 {
				mopts = append(mopts, WithRunConfig(b.Config))
			}
			if o.onEvent != nil {
				mopts = append(mopts, WithEventHandler(o.onEvent))
			}
			res, err := i.Materialize(ctx, ws, b.Selection, mopts...)
			mu.Lock()
			defer mu.Unlock()
			progress.Done++
			progress.Run = res
			if err != nil || !res.Success() {
				progress.Failed++
			}
			if o.onProgress != nil {
				o.onProgress(progress)
			}
			switch {
			case err != nil:
				return err
			case !res.Success():
				return res.Err()
			}
			return nil
		}})
	}
	concurrency := b.Concurrency
	if concurrency <= 0 {
		concurrency = runtime.NumCPU()
	}
	outcomes, err := exec.Execute(runCtx, execSteps, concurrency, exec.Hooks{})
	if err != nil {
		return fail(fmt.Errorf("backfill %s cannot run one run per partition: %v; launch it with --one-run", b.ID, err))
	}
	var failed, skipped int
	for _, oc := range outcomes {
		switch oc.Status {
		case exec.Failed:
			failed++
		case exec.Skipped:
			skipped++
		}
	}
	end := context.WithoutCancel(ctx)
	switch cause := context.Cause(runCtx); {
	case errors.Is(cause, errBackfillCanceled):
		b, err = i.store.Backfill(end, b.ID) // CancelBackfill recorded it
	case ctx.Err() != nil:
		b, err = i.store.SetBackfillStatus(end, b.ID, store.BackfillCanceled, fmt.Sprintf("interrupted: %v; resume it with wasmorch backfill resume %s", context.Cause(ctx), b.ID))
	case failed > 0 || skipped > 0:
		b, err = i.store.SetBackfillStatus(end, b.ID, store.BackfillFailed,
			fmt.Sprintf("%d of %d run(s) failed and %d were skipped because a run they depend on failed; resume it to retry them", failed, len(units), skipped))
	default:
		b, err = i.store.SetBackfillStatus(end, b.ID, store.BackfillCompleted, "")
	}
	return b, err
}

// backfillDone reports which planned steps a run of the backfill has materialized: for a
// partition, the partition index names one of the backfill's runs as the one that
// materialized it; for an unpartitioned asset, its newest materialization comes from one.
func (i *Instance) backfillDone(ctx context.Context, id string, steps []plannedStep) (map[string]bool, error) {
	ours, err := i.backfillRuns(ctx, id)
	if err != nil {
		return nil, err
	}
	done := map[string]bool{}
	if len(ours) == 0 {
		return done, nil
	}
	st, err := i.stepStatuses(ctx, steps)
	if err != nil {
		return nil, err
	}
	for _, s := range steps {
		if ps, ok := st[s.key]; ok && ps.State == store.PartitionMaterialized && ours[ps.RunID] {
			done[s.key] = true
		}
	}
	return done, nil
}

// backfillRuns is the set of ids of the runs of a backfill, found by their BackfillTag.
func (i *Instance) backfillRuns(ctx context.Context, id string) (map[string]bool, error) {
	runs, err := i.store.Runs(ctx, store.RunFilter{Tags: map[string]string{store.BackfillTag: id}})
	if err != nil {
		return nil, err
	}
	ours := make(map[string]bool, len(runs))
	for _, r := range runs {
		ours[r.ID] = true
	}
	return ours, nil
}

// stepStatuses looks up the partition status of each step (for an unpartitioned asset, its
// newest materialization as MATERIALIZED).
func (i *Instance) stepStatuses(ctx context.Context, steps []plannedStep) (map[string]store.PartitionStatus, error) {
	byAsset := map[string][]string{}
	var plain []string
	for _, s := range steps {
		if s.partition == "" {
			plain = append(plain, s.asset)
			continue
		}
		byAsset[s.asset] = append(byAsset[s.asset], s.partition)
	}
	out := map[string]store.PartitionStatus{}
	for asset, keys := range byAsset {
		st, err := i.store.PartitionStatusesOf(ctx, asset, keys...)
		if err != nil {
			return nil, err
		}
		for k, s := range st {
			out[stepKeyOf(asset, k)] = s
		}
	}
	if len(plain) > 0 {
		latest, err := i.store.LatestMaterializations(ctx, plain...)
		if err != nil {
			return nil, err
		}
		for asset, ev := range latest {
			out[asset] = store.PartitionStatus{State: store.PartitionMaterialized, RunID: ev.RunID, EventID: ev.ID, Time: ev.Time}
		}
	}
	return out, nil
}

// BackfillPartition is the state of one step of a backfill: one partition of one asset.
type BackfillPartition struct {
	Asset     string `json:"asset"`
	Partition string `json:"partition,omitempty"`
	// State is MATERIALIZED, FAILED or IN_PROGRESS when one of the backfill's runs last changed
	// it, and PENDING when none has attempted it yet.
	State store.PartitionState `json:"state"`
	RunID string               `json:"run_id,omitempty"`
}

// PartitionPending is the BackfillPartition state of a step no run of the backfill attempted.
const PartitionPending store.PartitionState = "PENDING"

// BackfillReport is a backfill with the state of each of its steps.
type BackfillReport struct {
	store.Backfill
	Partitions []BackfillPartition `json:"partitions"`
	// Counts counts Partitions by state.
	Counts map[store.PartitionState]int `json:"counts"`
	// Runs is the number of runs the backfill has started.
	Runs int `json:"runs"`
}

// BackfillReport returns a backfill and the state of every partition it targets.
func (i *Instance) BackfillReport(ctx context.Context, ws *Workspace, id string) (*BackfillReport, error) {
	b, err := i.store.Backfill(ctx, id)
	if err != nil {
		return nil, err
	}
	assets, err := i.resolveSelection(ctx, ws, b.Selection)
	if err != nil {
		return nil, err
	}
	steps, err := ws.backfillPlan(assets, b.PartitionKeys, time.Now())
	if err != nil {
		return nil, fmt.Errorf("backfill %s no longer fits the workspace: %w", id, err)
	}
	ours, err := i.backfillRuns(ctx, id)
	if err != nil {
		return nil, err
	}
	st, err := i.stepStatuses(ctx, steps)
	if err != nil {
		return nil, err
	}
	rep := &BackfillReport{Backfill: b, Counts: map[store.PartitionState]int{}, Runs: len(ours)}
	for _, s := range steps {
		p := BackfillPartition{Asset: s.asset, Partition: s.partition, State: PartitionPending}
		if ps, ok := st[s.key]; ok && ours[ps.RunID] {
			p.State, p.RunID = ps.State, ps.RunID
		}
		rep.Counts[p.State]++
		rep.Partitions = append(rep.Partitions, p)
	}
	return rep, nil
}

// Backfills lists the stored backfills, newest first, at most limit (0: all).
func (i *Instance) Backfills(ctx context.Context, limit int) ([]store.Backfill, error) {
	return i.store.Backfills(ctx, limit)
}
