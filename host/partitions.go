package host

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/host/internal/manifest"
	"github.com/wasmorch/wasmorch/host/internal/partitions"
	wruntime "github.com/wasmorch/wasmorch/host/internal/runtime"
	"github.com/wasmorch/wasmorch/host/iomanager"
	"github.com/wasmorch/wasmorch/host/store"
)

// Run tags of partitioned runs, as Dagster's dagster/partition and
// dagster/asset_partition_range_start|end.
const (
	PartitionTag           = "wasmorch/partition"
	PartitionRangeStartTag = "wasmorch/partition_range_start"
	PartitionRangeEndTag   = "wasmorch/partition_range_end"
)

// ErrInvalidPartition is wrapped by errors about the partitions a run or backfill asks for: an
// unknown key, a range whose start comes after its end, a key outside a time window's bounds, or
// partitions given for a selection with no partitioned asset.
var ErrInvalidPartition = errors.New("invalid partition")

// WithPartition materializes one partition: every partitioned root asset of the selection (one
// with no partitioned upstream in the selection) materializes partition key, and the assets
// downstream of it the partitions that read it through their partition mappings.
func WithPartition(key string) MaterializeOption {
	return func(o *materializeOptions) { o.target = partitionTarget{from: key, to: key, single: true} }
}

// WithPartitionRange materializes the partitions from from to to, both included, of the
// selection's partitioned root assets, and what reads them downstream, in one run.
func WithPartitionRange(from, to string) MaterializeOption {
	return func(o *materializeOptions) { o.target = partitionTarget{from: from, to: to} }
}

// partitionTarget is which partitions a run materializes; the zero value asks for none.
type partitionTarget struct {
	from, to string
	single   bool
}

func (t partitionTarget) set() bool { return t.from != "" || t.to != "" }

func (t partitionTarget) describe() string {
	if t.single {
		return fmt.Sprintf("partition %q", t.from)
	}
	return fmt.Sprintf("partition range %q...%q", t.from, t.to)
}

// plannedStep is one step of an asset run: an asset, for one partition when it is partitioned.
type plannedStep struct {
	key       string // the step key: the asset key, or ASSET[PARTITION]
	asset     string
	partition string
	deps      []string // step keys of the planned steps it reads or waits for
}

// stepKeyOf is the step key of an asset's partition: "daily_events[2026-01-15]".
func stepKeyOf(asset, partition string) string {
	if partition == "" {
		return asset
	}
	return asset + "[" + partition + "]"
}

// splitStepKey is the inverse of stepKeyOf. Asset keys never contain '['.
func splitStepKey(key string) (asset, partition string) {
	i := strings.IndexByte(key, '[')
	if i < 0 || !strings.HasSuffix(key, "]") {
		return key, ""
	}
	return key[:i], key[i+1 : len(key)-1]
}

// loadPartitions reads each asset's partitions definition and its inputs' partition mappings,
// from wasmorch.yaml's assets: section where it sets them and from the manifest otherwise, and
// checks every mapping against the two definitions it joins.
func (ws *Workspace) loadPartitions(dyn partitions.DynamicKeys) []error {
	var errs []error
	for _, key := range sortedKeys(ws.file.Assets) {
		set := ws.file.Assets[key]
		a, ok := ws.assets[key]
		if !ok {
			errs = append(errs, fmt.Errorf("line %d: assets.%s: no module defines asset %q", set.Line, key, key))
			continue
		}
		for _, name := range sortedKeys(set.Mappings) {
			if !slices.ContainsFunc(a.spec.Ins, func(in manifestIn) bool { return in.Name == name }) {
				errs = append(errs, fmt.Errorf("line %d: assets.%s.ins.%s: asset %q (module %q) has no input %q", set.Mappings[name].Line, key, name, key, a.module.Name, name))
			}
		}
	}
	for _, key := range ws.graph.Keys() {
		a := ws.assets[key]
		where := fmt.Sprintf("module %q: asset %q", a.module.Name, key)
		raw, path := a.spec.Partitions, "partitions"
		set, inFile := ws.file.Assets[key]
		if inFile && set.Partitions != nil {
			raw, path = set.Partitions.JSON, fmt.Sprintf("assets.%s.partitions", key)
			where = fmt.Sprintf("line %d", set.Partitions.Line)
		}
		def, err := partitions.ParseAt(path, raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		a.parts = def.WithDynamicKeys(dyn)
		a.mappings = map[string]*partitions.Mapping{}
		for _, in := range a.spec.Ins {
			raw, path, where := in.PartitionMapping, "partition_mapping", fmt.Sprintf("module %q: asset %q: input %q", a.module.Name, key, in.Name)
			if m, ok := set.Mappings[in.Name]; inFile && ok {
				raw, path, where = m.JSON, fmt.Sprintf("assets.%s.ins.%s.partition_mapping", key, in.Name), fmt.Sprintf("line %d", m.Line)
			}
			m, err := partitions.ParseMappingAt(path, raw)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
				continue
			}
			a.mappings[in.Name] = m
		}
	}
	if len(errs) > 0 {
		return errs
	}
	// Mappings are checked once every definition is known.
	for _, key := range ws.graph.Keys() {
		a := ws.assets[key]
		for _, in := range a.spec.Ins {
			up := ws.assets[in.Asset]
			m := a.mappings[in.Name]
			where := fmt.Sprintf("module %q: asset %q: input %q reads asset %q", a.module.Name, key, in.Name, in.Asset)
			if a.parts == nil && up.parts == nil {
				if m != nil && m.Type != partitions.All {
					errs = append(errs, fmt.Errorf("%s: a %s partition mapping, but neither asset is partitioned", where, m.Type))
				}
				continue
			}
			if err := partitions.CheckMapping(m, a.parts, up.parts); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
				continue
			}
			if up.parts != nil && up.format() == abi.FormatBytes && !readsOnePartition(m, a.parts, up.parts) {
				errs = append(errs, fmt.Errorf("%s: it may read several partitions of a bytes asset, which cannot be combined (only Arrow tables and JSON values can)", where))
			}
		}
	}
	return errs
}

// readsOnePartition reports whether a mapping gives each downstream partition exactly one
// upstream partition whatever the key: identity, and the default between equal definitions.
func readsOnePartition(m *partitions.Mapping, down, up *partitions.Definition) bool {
	if m == nil {
		return down != nil && down.Equal(up)
	}
	return m.Type == partitions.Identity
}

// planSteps plans the steps of an asset run over the selected assets (in dependency order).
// Without partitioned assets it is one step per asset. Otherwise the target names partitions of
// the selection's root partitioned assets (those with no partitioned upstream in the selection,
// which must share one definition); every other partitioned asset gets the partitions that
// read some targeted upstream partition through its mapping, and an unpartitioned asset one
// step after all of them.
func (ws *Workspace) planSteps(assets []string, t partitionTarget, now time.Time) ([]plannedStep, error) {
	selected := map[string]bool{}
	var parted []string
	for _, k := range assets {
		selected[k] = true
		if ws.assets[k].parts != nil {
			parted = append(parted, k)
		}
	}
	if len(parted) == 0 {
		if t.set() {
			return nil, fmt.Errorf("%w: %s given, but no selected asset is partitioned", ErrInvalidPartition, t.describe())
		}
		return ws.stepsFor(assets, map[string][]string{}, selected, now)
	}
	if !t.set() {
		return nil, fmt.Errorf("%w: asset %q is partitioned (%s): choose its partitions with --partition KEY or --partition-range START...END, or run a backfill",
			ErrInvalidPartition, parted[0], ws.assets[parted[0]].parts)
	}
	keys, err := ws.rangeKeys(assets, selected, t.from, t.to, now)
	if err != nil {
		return nil, err
	}
	targets, err := ws.targetKeys(assets, selected, keys, now)
	if err != nil {
		return nil, err
	}
	return ws.stepsFor(assets, targets, selected, now)
}

// roots are the selected partitioned assets with no partitioned upstream in the selection.
func (ws *Workspace) roots(assets []string, selected map[string]bool) []string {
	var roots []string
	for _, k := range assets {
		a := ws.assets[k]
		if a.parts == nil {
			continue
		}
		root := true
		for _, up := range a.spec.Upstreams() {
			if selected[up] && ws.assets[up].parts != nil {
				root = false
			}
		}
		if root {
			roots = append(roots, k)
		}
	}
	return roots
}

// rootDefinition is the one partitions definition of the selection's root partitioned assets.
func (ws *Workspace) rootDefinition(assets []string, selected map[string]bool) ([]string, *partitions.Definition, error) {
	roots := ws.roots(assets, selected)
	if len(roots) == 0 {
		return nil, nil, fmt.Errorf("%w: the selection has no partitioned asset", ErrInvalidPartition)
	}
	def := ws.assets[roots[0]].parts
	for _, r := range roots[1:] {
		if !ws.assets[r].parts.Equal(def) {
			return nil, nil, fmt.Errorf("%w: the selection's partitioned root assets have different partitions definitions: %q is %s, %q is %s; select them in separate runs",
				ErrInvalidPartition, roots[0], def, r, ws.assets[r].parts)
		}
	}
	return roots, def, nil
}

// rangeKeys are the keys from...to of the selection's root definition.
func (ws *Workspace) rangeKeys(assets []string, selected map[string]bool, from, to string, now time.Time) ([]string, error) {
	roots, def, err := ws.rootDefinition(assets, selected)
	if err != nil {
		return nil, err
	}
	keys, err := def.Range(from, to, now)
	if err != nil {
		return nil, fmt.Errorf("%w: asset %q: %v", ErrInvalidPartition, roots[0], err)
	}
	return keys, nil
}

// targetKeys gives the roots the keys given and every other selected partitioned asset the
// partitions that read them.
func (ws *Workspace) targetKeys(assets []string, selected map[string]bool, keys []string, now time.Time) (map[string][]string, error) {
	targets := map[string][]string{}
	for _, r := range ws.roots(assets, selected) {
		targets[r] = keys
	}
	for _, k := range assets {
		a := ws.assets[k]
		if a.parts == nil || targets[k] != nil {
			continue
		}
		keys, err := ws.derivedPartitions(a, selected, targets, now)
		if err != nil {
			return nil, fmt.Errorf("%w: asset %q: %v", ErrInvalidPartition, k, err)
		}
		targets[k] = keys
	}
	return targets, nil
}

// derivedPartitions are the partitions of a that read at least one targeted partition of a
// selected partitioned upstream, in partition order.
func (ws *Workspace) derivedPartitions(a *assetDef, selected map[string]bool, targets map[string][]string, now time.Time) ([]string, error) {
	var same []string // targets of upstreams whose partitions map one to one (identity)
	var mapped []manifestIn
	for _, in := range a.spec.Ins {
		up := ws.assets[in.Asset]
		switch {
		case !selected[in.Asset] || up.parts == nil:
		case readsOnePartition(a.mappings[in.Name], a.parts, up.parts):
			same = append(same, targets[in.Asset]...)
		default:
			mapped = append(mapped, in)
		}
	}
	want := setOf(same)
	if len(mapped) == 0 {
		// The targets are already in partition order; keep it, dropping repeats.
		out := make([]string, 0, len(want))
		for _, k := range same {
			if want[k] {
				out = append(out, k)
				delete(want, k)
			}
		}
		return out, nil
	}
	keys, err := a.parts.Keys(now)
	if err != nil {
		return nil, err
	}
	for _, in := range mapped {
		up := ws.assets[in.Asset]
		tset := setOf(targets[in.Asset])
		for _, k := range keys {
			if want[k] {
				continue
			}
			uks, err := partitions.UpstreamKeys(a.mappings[in.Name], a.parts, k, up.parts, now)
			if err != nil {
				continue // this partition cannot read the upstream (for example, before its start)
			}
			if slices.ContainsFunc(uks, func(u string) bool { return tset[u] }) {
				want[k] = true
			}
		}
	}
	return slices.DeleteFunc(keys, func(k string) bool { return !want[k] }), nil
}

func setOf(keys []string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// stepsFor lists the steps for the targeted partitions of each asset (one step for an
// unpartitioned asset) in dependency order, each with the planned steps it depends on.
func (ws *Workspace) stepsFor(assets []string, targets map[string][]string, selected map[string]bool, now time.Time) ([]plannedStep, error) {
	var steps []plannedStep
	planned := map[string][]string{} // asset -> its planned partitions ("" for unpartitioned)
	for _, k := range assets {
		keys := targets[k]
		if ws.assets[k].parts == nil {
			keys = []string{""}
		}
		planned[k] = keys
	}
	for _, k := range assets {
		for _, p := range planned[k] {
			deps, err := ws.stepDeps(k, p, planned, now)
			if err != nil {
				return nil, err
			}
			steps = append(steps, plannedStep{key: stepKeyOf(k, p), asset: k, partition: p, deps: deps})
		}
	}
	return steps, nil
}

// stepDeps are the planned steps that the step of asset key's partition p reads or waits for.
func (ws *Workspace) stepDeps(key, p string, planned map[string][]string, now time.Time) ([]string, error) {
	a := ws.assets[key]
	var deps []string
	addAll := func(up string) {
		for _, up2 := range planned[up] {
			deps = append(deps, stepKeyOf(up, up2))
		}
	}
	add := func(up string, m *partitions.Mapping, isInput bool) error {
		upDef := ws.assets[up].parts
		switch {
		case planned[up] == nil:
		case upDef == nil:
			deps = append(deps, up)
		case a.parts == nil:
			addAll(up)
		default:
			if m == nil && !isInput {
				if _, err := partitions.DefaultMapping(a.parts, upDef); err != nil {
					addAll(up) // a dep without data and without a default mapping waits for all
					return nil
				}
			}
			uks, err := partitions.UpstreamKeys(m, a.parts, p, upDef, now)
			if err != nil {
				return fmt.Errorf("%w: asset %q partition %q, upstream asset %q: %v", ErrInvalidPartition, key, p, up, err)
			}
			have := setOf(planned[up])
			for _, u := range uks {
				if have[u] {
					deps = append(deps, stepKeyOf(up, u))
				}
			}
		}
		return nil
	}
	for _, in := range a.spec.Ins {
		if err := add(in.Asset, a.mappings[in.Name], true); err != nil {
			return nil, err
		}
	}
	for _, d := range a.spec.Deps {
		if err := add(d, nil, false); err != nil {
			return nil, err
		}
	}
	slices.Sort(deps)
	return slices.Compact(deps), nil
}

// stepsOfPlan rebuilds the steps of a stored plan (a launched run, a re-execution): its step keys,
// in order, with dependencies among them.
func (ws *Workspace) stepsOfPlan(keys []string, now time.Time) ([]plannedStep, error) {
	planned := map[string][]string{}
	var order []string
	for _, k := range keys {
		asset, p := splitStepKey(k)
		a, ok := ws.assets[asset]
		if !ok {
			return nil, fmt.Errorf("asset %q is no longer in the workspace", asset)
		}
		if (a.parts == nil) != (p == "") {
			return nil, fmt.Errorf("step %q no longer matches asset %q, whose partitions are now %s", k, asset, a.parts)
		}
		if planned[asset] == nil {
			order = append(order, asset)
		}
		planned[asset] = append(planned[asset], p)
	}
	steps := make([]plannedStep, 0, len(keys))
	for _, asset := range ws.graph.TopoSort(order) {
		for _, p := range planned[asset] {
			deps, err := ws.stepDeps(asset, p, planned, now)
			if err != nil {
				return nil, err
			}
			steps = append(steps, plannedStep{key: stepKeyOf(asset, p), asset: asset, partition: p, deps: deps})
		}
	}
	return steps, nil
}

// plannedEvents are the ASSET_MATERIALIZATION_PLANNED events of a run's partitioned steps, one
// per asset.
func plannedEvents(steps []plannedStep) []store.Event {
	var order []string
	byAsset := map[string][]string{}
	for _, s := range steps {
		if s.partition == "" {
			continue
		}
		if byAsset[s.asset] == nil {
			order = append(order, s.asset)
		}
		byAsset[s.asset] = append(byAsset[s.asset], s.partition)
	}
	events := make([]store.Event, 0, len(order))
	for _, a := range order {
		keys := byAsset[a]
		events = append(events, store.Event{Type: store.EventMaterializationPlanned, StepKey: stepKeyOf(a, keys[0]),
			Planned: &store.PlannedMaterialization{AssetKey: a, PartitionKeys: keys},
			Message: fmt.Sprintf("planned %d partition(s) of %q", len(keys), a)})
	}
	return events
}

// partitionWindow is the invocation's partition_window of a time partition, or nil.
func partitionWindow(def *partitions.Definition, key string) any {
	if def == nil || key == "" {
		return nil
	}
	start, end, err := def.Window(key)
	if err != nil {
		return nil
	}
	return map[string]string{"start": start.Format(time.RFC3339), "end": end.Format(time.RFC3339)}
}

// partitionMaterialization is the newest stored value of one partition of an asset: the
// partition index points at it when the partition is MATERIALIZED; after a failed attempt the
// index shows FAILED, and the asset's materializations are searched for the value that is
// still there.
func (i *Instance) partitionMaterializations(ctx context.Context, asset string, keys []string) (map[string]store.Materialization, error) {
	st, err := i.store.PartitionStatusesOf(ctx, asset, keys...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.Materialization, len(keys))
	var search []string
	for _, k := range keys {
		s, ok := st[k]
		if !ok {
			continue
		}
		if s.State != store.PartitionMaterialized {
			search = append(search, k)
			continue
		}
		evs, err := i.store.Events(ctx, s.RunID, s.EventID-1, 1)
		if err != nil {
			return nil, err
		}
		if len(evs) == 1 && evs[0].ID == s.EventID && evs[0].Materialization != nil {
			out[k] = *evs[0].Materialization
		}
	}
	if len(search) > 0 {
		want := setOf(search)
		mats, err := i.store.Materializations(ctx, asset, 0)
		if err != nil {
			return nil, err
		}
		for _, ev := range mats { // newest first
			if m := ev.Materialization; m != nil && want[m.PartitionKey] {
				if _, seen := out[m.PartitionKey]; !seen {
					out[m.PartitionKey] = *m
				}
			}
		}
	}
	return out, nil
}

// missingList names up to five missing partitions, and how many more there are.
func missingList(keys []string) string {
	if len(keys) <= 5 {
		return fmt.Sprintf("%q", keys)
	}
	return fmt.Sprintf("%q and %d more", keys[:5], len(keys)-5)
}

type manifestIn = manifest.AssetIn

// upstreamPartitions lists the upstream partitions an input of asset a's partition p reads,
// each with how to load it: the value this run produced, the pinned one of a re-execution, or
// the newest stored one. A partition with none of these fails the step, naming it.
func (r *runner) upstreamPartitions(ctx context.Context, a *assetDef, p string, in manifestIn) ([]wruntime.InputPartition, error) {
	up := r.ws.assets[in.Asset]
	keys, err := partitions.UpstreamKeys(a.mappings[in.Name], a.parts, p, up.parts, r.now)
	if err != nil {
		return nil, fmt.Errorf("input %q: upstream asset %q: %w", in.Name, in.Asset, err)
	}
	locs := make(map[string]store.Materialization, len(keys))
	var lookup []string
	r.mu.Lock()
	for _, k := range keys {
		sk := stepKeyOf(in.Asset, k)
		if m, ok := r.produced[sk]; ok {
			locs[k] = m
		} else if m, ok := r.pinned[sk]; ok && !r.planned[sk] {
			locs[k] = m
		} else if !r.planned[sk] {
			lookup = append(lookup, k)
		}
	}
	r.mu.Unlock()
	if len(lookup) > 0 {
		stored, err := r.inst.partitionMaterializations(ctx, in.Asset, lookup)
		if err != nil {
			return nil, fmt.Errorf("input %q: look up partitions of asset %q: %w", in.Name, in.Asset, err)
		}
		for k, m := range stored {
			locs[k] = m
		}
	}
	var missing []string
	parts := make([]wruntime.InputPartition, 0, len(keys))
	for _, k := range keys {
		m, ok := locs[k]
		if !ok {
			missing = append(missing, k)
			continue
		}
		iom := r.inst.ioms[m.IOManager]
		if iom == nil {
			return nil, fmt.Errorf("input %q: partition %q of asset %q was stored by IO manager %q, which this instance does not have", in.Name, k, in.Asset, m.IOManager)
		}
		inCtx := iomanager.InputContext{AssetKey: in.Asset, PartitionKey: k, Location: m.Location, Format: up.format()}
		parts = append(parts, wruntime.InputPartition{Key: k, Load: func(ctx context.Context) (iomanager.Value, error) {
			return iom.LoadInput(ctx, inCtx)
		}})
	}
	if len(missing) > 0 {
		what := fmt.Sprintf("partition %q", missing[0])
		if len(missing) > 1 {
			what = fmt.Sprintf("%d partitions: %s", len(missing), missingList(missing))
		}
		return nil, fmt.Errorf("input %q: upstream asset %q has not materialized %s (of the %d it reads); materialize them first or add %q to the selection",
			in.Name, in.Asset, what, len(keys), in.Asset)
	}
	return parts, nil
}

// dynamicKeys gives dynamic partitions definitions their keys from the store.
func (i *Instance) dynamicKeys(name string) ([]string, error) {
	return i.store.DynamicPartitions(context.Background(), name)
}

// PartitionInfo is one partition of an asset and its state.
type PartitionInfo struct {
	Key   string               `json:"key"`
	State store.PartitionState `json:"state"`
	// RunID is the run that last changed the state, if any.
	RunID string    `json:"run_id,omitempty"`
	Time  time.Time `json:"time,omitzero"`
}

// PartitionsReport is the state of every partition of an asset.
type PartitionsReport struct {
	Asset string `json:"asset"`
	// Definition describes the partitions definition.
	Definition string `json:"definition"`
	// Partitions are every key of the definition now, in its order.
	Partitions []PartitionInfo `json:"partitions"`
	// Counts counts Partitions by state; Stale counts indexed partitions that are no longer keys
	// of the definition (a removed dynamic key, a changed start).
	Counts map[store.PartitionState]int `json:"counts"`
	Stale  int                          `json:"stale,omitempty"`
}

// Partitions returns the state of every partition of a partitioned asset: MATERIALIZED, FAILED,
// IN_PROGRESS or MISSING. It reads the store's partition index, never the event log.
func (i *Instance) Partitions(ctx context.Context, ws *Workspace, asset string) (*PartitionsReport, error) {
	keys, err := ws.PartitionKeys(asset)
	if err != nil {
		return nil, err
	}
	indexed, err := i.store.PartitionStatuses(ctx, asset, "", 0)
	if err != nil {
		return nil, err
	}
	byKey := make(map[string]store.PartitionStatus, len(indexed))
	for _, s := range indexed {
		byKey[s.Key] = s
	}
	rep := &PartitionsReport{Asset: asset, Definition: ws.assets[asset].parts.String(), Partitions: make([]PartitionInfo, len(keys)), Counts: map[store.PartitionState]int{}}
	for n, k := range keys {
		p := PartitionInfo{Key: k, State: store.PartitionMissing}
		if s, ok := byKey[k]; ok {
			p.State, p.RunID, p.Time = s.State, s.RunID, s.Time
			delete(byKey, k)
		}
		rep.Partitions[n] = p
		rep.Counts[p.State]++
	}
	rep.Stale = len(byKey)
	return rep, nil
}

// partitioned returns a partitioned asset of the workspace, or an error saying why not.
func (ws *Workspace) partitioned(asset string) (*assetDef, error) {
	a, ok := ws.assets[asset]
	if !ok {
		return nil, fmt.Errorf("no asset %q in the workspace", asset)
	}
	if a.parts == nil {
		return nil, fmt.Errorf("asset %q is not partitioned", asset)
	}
	return a, nil
}

// dynamicName is the name of an asset's dynamic partitions: its definition's, or its one dynamic
// dimension's.
func (ws *Workspace) dynamicName(asset string) (string, error) {
	a, err := ws.partitioned(asset)
	if err != nil {
		return "", err
	}
	if a.parts.Kind() == partitions.Dynamic {
		return a.parts.DynamicName(), nil
	}
	var names []string
	for _, d := range a.parts.Dimensions() {
		if d.Partitions.Kind() == partitions.Dynamic {
			names = append(names, d.Partitions.DynamicName())
		}
	}
	if len(names) == 1 {
		return names[0], nil
	}
	return "", fmt.Errorf("asset %q has %s partitions, not dynamic ones; only dynamic partitions (or a multi-dimensional definition with one dynamic dimension) take added keys", asset, a.parts)
}

// AddDynamicPartitions adds keys to the dynamic partitions of an asset and returns those that
// were new. Every key is checked first: one that would break a storage path (a '/', '\', '|',
// NUL or control character, "." or "..", more than 255 bytes) fails the call, naming it, and
// nothing is added.
func (i *Instance) AddDynamicPartitions(ctx context.Context, ws *Workspace, asset string, keys ...string) ([]string, error) {
	name, err := ws.dynamicName(asset)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no partition keys to add to %q", name)
	}
	for _, k := range keys {
		if err := partitions.ValidKey(k); err != nil {
			return nil, fmt.Errorf("%w: dynamic partitions %q: %v", ErrInvalidPartition, name, err)
		}
	}
	return i.store.AddDynamicPartitions(ctx, name, keys...)
}

// RemoveDynamicPartitions removes keys from the dynamic partitions of an asset. A key that is
// not there fails the call, naming it, and nothing is removed. Stored values of removed
// partitions are kept.
func (i *Instance) RemoveDynamicPartitions(ctx context.Context, ws *Workspace, asset string, keys ...string) error {
	name, err := ws.dynamicName(asset)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return fmt.Errorf("no partition keys to remove from %q", name)
	}
	return i.store.DeleteDynamicPartitions(ctx, name, keys...)
}

// PartitionValue loads the newest stored value of one partition of an asset.
func (i *Instance) PartitionValue(ctx context.Context, asset, partition string) (*Value, error) {
	mats, err := i.partitionMaterializations(ctx, asset, []string{partition})
	if err != nil {
		return nil, err
	}
	m, ok := mats[partition]
	if !ok {
		return nil, fmt.Errorf("asset %q partition %q: %w", asset, partition, ErrNotMaterialized)
	}
	return i.LoadMaterialization(ctx, m)
}

// PartitionKeys lists the keys of a partitioned asset's definition now, in order.
func (ws *Workspace) PartitionKeys(asset string) ([]string, error) {
	a, err := ws.partitioned(asset)
	if err != nil {
		return nil, err
	}
	keys, err := a.parts.Keys(time.Now())
	if err != nil {
		return nil, fmt.Errorf("asset %q: %w", asset, err)
	}
	return keys, nil
}
