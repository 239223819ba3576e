package host

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/wasmorch/wasmorch/host/store"
)

// ParentRunTag is the tag a re-execution carries, naming the run it re-executes.
const ParentRunTag = "wasmorch/parent_run_id"

// Reexecute runs the steps of a finished run again: all of them, or with fromFailure only those
// that failed, were skipped or never ran. Steps outside the new plan are not run; their values
// are read from what the parent run stored, so the new run sees exactly the inputs the old one
// had. The parent's run config is reused (its env-var secrets resolve again), and config given
// with WithRunConfig merges on top.
func (i *Instance) Reexecute(ctx context.Context, ws *Workspace, runID string, fromFailure bool, opts ...MaterializeOption) (*Result, error) {
	parent, err := i.store.Run(ctx, runID)
	if err != nil {
		return nil, err
	}
	if !parent.Status.Finished() {
		return nil, fmt.Errorf("run %s is %s; only a finished run can be re-executed", parent.ID, parent.Status)
	}
	events, err := i.store.Events(ctx, parent.ID, 0, 0)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(parent.Selection, graphSelectionPrefix) {
		return i.reexecuteGraph(ctx, ws, parent, events, fromFailure, opts)
	}
	succeeded := map[string]bool{}
	produced := map[string]store.Materialization{}
	for _, ev := range events {
		switch {
		case ev.Type == store.EventStepSuccess:
			succeeded[ev.StepKey] = true
		case ev.Type == store.EventMaterialization && ev.Materialization != nil:
			produced[ev.StepKey] = *ev.Materialization
		}
	}
	var keys []string
	for _, k := range parent.StepKeys {
		if !fromFailure || !succeeded[k] {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("run %s has no failed, skipped or unfinished steps; nothing to re-execute from failure", parent.ID)
	}
	var missing []string
	for _, k := range keys {
		if asset, _ := splitStepKey(k); ws.assets[asset] == nil && !slices.Contains(missing, asset) {
			missing = append(missing, asset)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("run %s cannot be re-executed: asset(s) %s are no longer in the workspace", parent.ID, strings.Join(missing, ", "))
	}
	var o materializeOptions
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := mergeJSON(configFor(parent.Config, keys), o.config)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRunConfig, err)
	}
	tags := map[string]string{}
	for k, v := range parent.Tags {
		tags[k] = v
	}
	for k, v := range o.tags {
		tags[k] = v
	}
	tags[ParentRunTag] = parent.ID
	root := parent.RootRunID
	if root == "" {
		root = parent.ID
	}
	opts = append(opts, WithRunConfig(cfg), WithTags(tags), func(o *materializeOptions) {
		o.plan = keys
		o.jobName = parent.JobName
		o.parentRunID, o.rootRunID = parent.ID, root
		o.pinned = produced
	})
	return i.Materialize(ctx, ws, parent.Selection, opts...)
}

// configFor keeps the ops entries of a stored run config that belong to keys, since config for a
// step outside the plan is an error.
func configFor(stored []byte, keys []string) []byte {
	if len(stored) == 0 {
		return nil
	}
	var top map[string]any
	if json.Unmarshal(stored, &top) != nil {
		return stored
	}
	ops, _ := top["ops"].(map[string]any)
	planned := map[string]bool{}
	for _, k := range keys {
		asset, _ := splitStepKey(k)
		planned[asset] = true
	}
	for name := range ops {
		if !planned[strings.ReplaceAll(name, "__", "/")] {
			delete(ops, name)
		}
	}
	b, _ := json.Marshal(top)
	return b
}

// reexecuteGraph re-executes a graph job's run: the job's graph is planned again and, from
// failure, the steps the parent finished are not run; their stored outputs are read instead.
func (i *Instance) reexecuteGraph(ctx context.Context, ws *Workspace, parent store.Run, events []store.Event, fromFailure bool, opts []MaterializeOption) (*Result, error) {
	j, ok := ws.jobs[parent.JobName]
	if !ok || j.Graph == "" {
		return nil, fmt.Errorf("run %s ran graph job %q, which is no longer a graph job of the workspace", parent.ID, parent.JobName)
	}
	p := &graphParent{outputs: map[string]map[string]stepOutput{}, fanKeys: map[string][]string{}, succeeded: map[string]bool{}, fromFailure: fromFailure}
	// A re-execution's parent may itself be one: what its ancestors finished counts too, the
	// newest run's outputs winning.
	chain := [][]store.Event{events}
	for id := parent.ParentRunID; id != "" && len(chain) < 100; {
		anc, err := i.store.Run(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("run %s descends from run %s: %w", parent.ID, id, err)
		}
		evs, err := i.store.Events(ctx, anc.ID, 0, 0)
		if err != nil {
			return nil, err
		}
		chain = append(chain, evs)
		id = anc.ParentRunID
	}
	for k := len(chain) - 1; k >= 0; k-- {
		fan := map[string][]string{}
		for _, ev := range chain[k] {
			switch ev.Type {
			case store.EventStepSuccess:
				p.succeeded[ev.StepKey] = true
			case store.EventStepOutput:
				name, mk, v := stepOutputOf(ev)
				if p.outputs[ev.StepKey] == nil {
					p.outputs[ev.StepKey] = map[string]stepOutput{}
				}
				p.outputs[ev.StepKey][name] = v
				if mk != "" {
					fan[ev.StepKey] = append(fan[ev.StepKey], mk)
				}
			}
		}
		for node, keys := range fan {
			slices.Sort(keys)
			p.fanKeys[node] = slices.Compact(keys)
		}
	}
	var o materializeOptions
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := mergeJSON(parent.Config, o.config)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRunConfig, err)
	}
	o.config = cfg
	o.tags = mergeTags(parent.Tags, o.tags)
	o.tags[ParentRunTag] = parent.ID
	o.jobName = parent.JobName
	o.parentRunID, o.rootRunID = parent.ID, pick(parent.RootRunID, parent.ID)
	o.graphParent = p
	return i.runGraph(ctx, ws, j.plan, o)
}
