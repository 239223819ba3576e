package host_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/host/store"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// The fixture testdata/partitions/rust (module "parts"): every asset writes one row per input
// batch with its own partition key, its partition window, the input's name, the batch's
// partition key and its row count (one row with empty input columns when it has no inputs).

func partsWorkspace(t *testing.T, extra string) string {
	return writeWorkspace(t, map[string]string{"parts": guesttest.Path(t, "partitions/rust/parts.wasm")}, extra)
}

// partRow is one row of a fixture asset's value.
type partRow struct {
	Key, WindowStart, WindowEnd, Input, UpstreamKey string
	Rows                                            int64
}

func partRows(t *testing.T, inst *host.Instance, asset, partition string) []partRow {
	t.Helper()
	var v *host.Value
	var err error
	if partition == "" {
		v, err = inst.AssetValue(context.Background(), asset)
	} else {
		v, err = inst.PartitionValue(context.Background(), asset, partition)
	}
	if err != nil {
		t.Fatalf("value of %s[%s]: %v", asset, partition, err)
	}
	defer v.Release()
	tr := array.NewTableReader(v.Table, 1024)
	defer tr.Release()
	var out []partRow
	for tr.Next() {
		rec := tr.Record()
		col := func(name string) arrow.Array {
			idx := rec.Schema().FieldIndices(name)
			if len(idx) != 1 {
				t.Fatalf("%s[%s] has no column %q: %s", asset, partition, name, rec.Schema())
			}
			return rec.Column(idx[0])
		}
		keys, ws, we, in, up := col("key").(*array.String), col("window_start").(*array.String), col("window_end").(*array.String), col("input").(*array.String), col("upstream_key").(*array.String)
		rows := col("rows").(*array.Int64)
		for i := 0; i < int(rec.NumRows()); i++ {
			out = append(out, partRow{keys.Value(i), ws.Value(i), we.Value(i), in.Value(i), up.Value(i), rows.Value(i)})
		}
	}
	return out
}

func upstreamKeys(rows []partRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.UpstreamKey)
	}
	return out
}

func hoursOf(day string) []string {
	var out []string
	for h := 0; h < 24; h++ {
		out = append(out, fmt.Sprintf("%s-%02d:00", day, h))
	}
	return out
}

func mustSucceed(t *testing.T, res *host.Result) {
	t.Helper()
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestPartitionedRunsAndTimeWindowMapping: one run for a range of hourly partitions (one step
// per partition), then a daily partition that reads its 24 hours as one stream, in order, with
// each batch's key; the invocation's key and window; a partition reading yesterday's.
func TestPartitionedRunsAndTimeWindowMapping(t *testing.T) {
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, partsWorkspace(t, ""))
	res := materialize(t, inst, ws, "hourly_events", host.WithPartitionRange("2026-01-05-00:00", "2026-01-05-23:00"))
	mustSucceed(t, res)
	if len(res.Steps) != 24 {
		t.Fatalf("range run has %d steps, want 24: %v", len(res.Steps), res.Steps)
	}
	if _, ok := res.Steps["hourly_events[2026-01-05-13:00]"]; !ok {
		t.Fatalf("no step for hour 13: %v", res.Steps)
	}
	run, _ := inst.Store().Run(context.Background(), res.RunID)
	if run.Tags[host.PartitionRangeStartTag] != "2026-01-05-00:00" || run.Tags[host.PartitionRangeEndTag] != "2026-01-05-23:00" {
		t.Errorf("range run tags = %v", run.Tags)
	}
	got := partRows(t, inst, "hourly_events", "2026-01-05-07:00")
	if len(got) != 1 || got[0].Key != "2026-01-05-07:00" || got[0].WindowStart != "2026-01-05T07:00:00Z" || got[0].WindowEnd != "2026-01-05T08:00:00Z" {
		t.Errorf("hourly_events[2026-01-05-07:00] = %+v", got)
	}

	res = materialize(t, inst, ws, "daily_events", host.WithPartition("2026-01-05"))
	mustSucceed(t, res)
	run, _ = inst.Store().Run(context.Background(), res.RunID)
	if run.Tags[host.PartitionTag] != "2026-01-05" || !slices.Equal(run.StepKeys, []string{"daily_events[2026-01-05]"}) {
		t.Errorf("run = tags %v steps %v", run.Tags, run.StepKeys)
	}
	daily := partRows(t, inst, "daily_events", "2026-01-05")
	if !slices.Equal(upstreamKeys(daily), hoursOf("2026-01-05")) {
		t.Errorf("daily_events[2026-01-05] read batches of %v, want the day's 24 hours in order", upstreamKeys(daily))
	}
	if daily[0].Key != "2026-01-05" || daily[0].WindowStart != "2026-01-05T00:00:00Z" || daily[0].WindowEnd != "2026-01-06T00:00:00Z" || daily[0].Input != "hourly" {
		t.Errorf("daily row = %+v", daily[0])
	}

	// daily_shifted reads yesterday's daily partition (time_window offsets -1).
	mustSucceed(t, materialize(t, inst, ws, "daily_shifted", host.WithPartition("2026-01-06")))
	if got := upstreamKeys(partRows(t, inst, "daily_shifted", "2026-01-06")); !slices.Equal(got, []string{"2026-01-05"}) {
		t.Errorf("daily_shifted[2026-01-06] read %v, want [2026-01-05]", got)
	}

	// Materializing a partition again stores a new value in its own file and leaves the other
	// partitions' values alone.
	first, _ := inst.PartitionValue(context.Background(), "hourly_events", "2026-01-05-07:00")
	first.Release()
	mustSucceed(t, materialize(t, inst, ws, "hourly_events", host.WithPartition("2026-01-05-07:00")))
	second, _ := inst.PartitionValue(context.Background(), "hourly_events", "2026-01-05-07:00")
	second.Release()
	other, _ := inst.PartitionValue(context.Background(), "hourly_events", "2026-01-05-08:00")
	other.Release()
	if first.Materialization.Location == second.Materialization.Location || !strings.Contains(second.Materialization.Location, "2026-01-05-07:00") ||
		!strings.Contains(other.Materialization.Location, "2026-01-05-08:00") {
		t.Errorf("locations: first %s, again %s, other hour %s", first.Materialization.Location, second.Materialization.Location, other.Materialization.Location)
	}
}

// TestMissingUpstreamPartition: a partition whose upstream partitions were not all materialized
// fails its step, naming what is missing.
func TestMissingUpstreamPartition(t *testing.T) {
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, partsWorkspace(t, ""))
	mustSucceed(t, materialize(t, inst, ws, "hourly_events", host.WithPartitionRange("2026-01-07-00:00", "2026-01-07-22:00")))
	res := materialize(t, inst, ws, "daily_events", host.WithPartition("2026-01-07"))
	msg := stepError(t, res, "daily_events[2026-01-07]")
	if !strings.Contains(msg, `upstream asset "hourly_events" has not materialized partition "2026-01-07-23:00"`) {
		t.Errorf("error = %s", msg)
	}
	res = materialize(t, inst, ws, "daily_events", host.WithPartition("2026-01-08"))
	if msg := stepError(t, res, "daily_events[2026-01-08]"); !strings.Contains(msg, "24 partitions") || !strings.Contains(msg, "2026-01-08-00:00") {
		t.Errorf("error = %s", msg)
	}
	// The index shows the failed partition.
	st, err := inst.Store().PartitionStatusesOf(context.Background(), "daily_events", "2026-01-07", "2026-01-08")
	if err != nil || st["2026-01-07"].State != store.PartitionFailed || st["2026-01-08"].State != store.PartitionFailed {
		t.Errorf("statuses = %v, %v", st, err)
	}
}

// TestPartitionWindowAcrossDST: New York's daily window on the day clocks go forward is 23 hours.
func TestPartitionWindowAcrossDST(t *testing.T) {
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, partsWorkspace(t, ""))
	mustSucceed(t, materialize(t, inst, ws, "ny_daily", host.WithPartition("2026-03-08")))
	got := partRows(t, inst, "ny_daily", "2026-03-08")
	if len(got) != 1 || got[0].WindowStart != "2026-03-08T00:00:00-05:00" || got[0].WindowEnd != "2026-03-09T00:00:00-04:00" {
		t.Errorf("ny_daily[2026-03-08] = %+v", got)
	}
}

// TestStaticMultiAndAllMappings: a static key map, a three-dimensional asset read by a
// two-dimensional one through a multi mapping, and an unpartitioned asset reading every
// partition.
func TestStaticMultiAndAllMappings(t *testing.T) {
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, partsWorkspace(t, ""))
	mustSucceed(t, materialize(t, inst, ws, "regions", host.WithPartitionRange("us", "apac")))
	mustSucceed(t, materialize(t, inst, ws, "continents", host.WithPartition("europe")))
	if got := upstreamKeys(partRows(t, inst, "continents", "europe")); !slices.Equal(got, []string{"eu"}) {
		t.Errorf("continents[europe] read %v", got)
	}

	// A box of the three-dimensional definition: 2 days x 2 regions x 2 channels.
	res := materialize(t, inst, ws, "sales", host.WithPartitionRange("2026-01-01|us|web", "2026-01-02|eu|store"))
	mustSucceed(t, res)
	if len(res.Steps) != 8 {
		t.Errorf("sales range planned %d steps, want 8: %v", len(res.Steps), res.Steps)
	}
	res = materialize(t, inst, ws, "sales_by_region", host.WithPartition("2026-01-02|eu"))
	mustSucceed(t, res)
	if got := upstreamKeys(partRows(t, inst, "sales_by_region", "2026-01-02|eu")); !slices.Equal(got, []string{"2026-01-02|eu|web", "2026-01-02|eu|store"}) {
		t.Errorf("sales_by_region[2026-01-02|eu] read %v", got)
	}
	// sales for apac was never materialized.
	res = materialize(t, inst, ws, "sales_by_region", host.WithPartition("2026-01-02|apac"))
	if msg := stepError(t, res, "sales_by_region[2026-01-02|apac]"); !strings.Contains(msg, `"2026-01-02|apac|web"`) {
		t.Errorf("error = %s", msg)
	}

	// One run: 31 days of hourly and daily partitions would be 775 steps; the all mapping is
	// shown on daily_events selected with all_days, whose single step waits for all of them.
	mustSucceed(t, materialize(t, inst, ws, "hourly_events", host.WithPartitionRange("2026-01-01-00:00", "2026-01-31-23:00")))
	res = materialize(t, inst, ws, "daily_events,all_days", host.WithPartitionRange("2026-01-01", "2026-01-31"))
	mustSucceed(t, res)
	if len(res.Steps) != 32 {
		t.Errorf("planned %d steps, want 31 daily and all_days", len(res.Steps))
	}
	all := partRows(t, inst, "all_days", "")
	var days []string
	for d := 1; d <= 31; d++ {
		days = append(days, fmt.Sprintf("2026-01-%02d", d))
	}
	if !slices.Equal(upstreamKeys(all), days) || all[0].Key != "" || all[0].WindowStart != "" {
		t.Errorf("all_days read %v (first row %+v)", upstreamKeys(all), all[0])
	}
}

// TestDynamicPartitions: keys are added and removed; a key that would break a storage path is
// refused and nothing is added; a key not added cannot be materialized.
func TestDynamicPartitions(t *testing.T) {
	ctx := context.Background()
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, partsWorkspace(t, ""))
	added, err := inst.AddDynamicPartitions(ctx, ws, "customer_report", "acme", "globex")
	if err != nil || !slices.Equal(added, []string{"acme", "globex"}) {
		t.Fatalf("add = %v, %v", added, err)
	}
	for _, bad := range []string{"a/b", "..", "x|y", "tab\tkey"} {
		_, err := inst.AddDynamicPartitions(ctx, ws, "customer_report", "initech", bad)
		if !errors.Is(err, host.ErrInvalidPartition) || !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
			t.Errorf("adding %q: err = %v", bad, err)
		}
	}
	if keys, _ := inst.Store().DynamicPartitions(ctx, "customers"); !slices.Equal(keys, []string{"acme", "globex"}) {
		t.Errorf("keys after refused adds = %v", keys)
	}
	if _, err := inst.AddDynamicPartitions(ctx, ws, "regions", "x"); err == nil || !strings.Contains(err.Error(), "not dynamic") {
		t.Errorf("adding to static partitions: %v", err)
	}
	mustSucceed(t, materialize(t, inst, ws, "customer_report", host.WithPartition("acme")))
	if _, err := inst.Materialize(ctx, ws, "customer_report", host.WithPartition("initech")); !errors.Is(err, host.ErrInvalidPartition) || !strings.Contains(err.Error(), `"initech"`) {
		t.Errorf("unknown dynamic key: %v", err)
	}
	if err := inst.RemoveDynamicPartitions(ctx, ws, "customer_report", "globex", "initech"); err == nil || !strings.Contains(err.Error(), "initech") {
		t.Errorf("removing a missing key: %v", err)
	}
	if err := inst.RemoveDynamicPartitions(ctx, ws, "customer_report", "globex"); err != nil {
		t.Fatal(err)
	}
	rep, err := inst.Partitions(ctx, ws, "customer_report")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Partitions) != 1 || rep.Partitions[0].Key != "acme" || rep.Partitions[0].State != store.PartitionMaterialized {
		t.Errorf("partitions = %+v", rep.Partitions)
	}
}

// TestPartitionBadInputs: every way of asking for partitions wrongly fails before a run is
// created, with a message naming the problem.
func TestPartitionBadInputs(t *testing.T) {
	ctx := context.Background()
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, partsWorkspace(t, ""))
	for _, tc := range []struct {
		name, sel string
		opt       host.MaterializeOption
		want      string
	}{
		{"no partition for a partitioned asset", "daily_events", nil, "--partition"},
		{"unknown static key", "regions", host.WithPartition("mars"), `"mars"`},
		{"key before the start", "daily_events", host.WithPartition("2025-12-31"), "2025-12-31"},
		{"key after the end", "daily_events", host.WithPartition("2026-02-01"), "2026-02-01"},
		{"key not a window start", "hourly_events", host.WithPartition("2026-01-05-07:30"), "2026-01-05-07:30"},
		{"not a date", "daily_events", host.WithPartition("yesterday"), `"yesterday"`},
		{"range start after end", "daily_events", host.WithPartitionRange("2026-01-10", "2026-01-02"), "after"},
		{"partition for unpartitioned", "all_days", host.WithPartition("2026-01-01"), "no selected asset is partitioned"},
		{"roots with different definitions", "hourly_events,regions", host.WithPartition("us"), "different partitions definitions"},
		{"wrong number of dimensions", "sales", host.WithPartition("2026-01-01|us"), "dimension"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []host.MaterializeOption
			if tc.opt != nil {
				opts = append(opts, tc.opt)
			}
			before, _ := inst.Store().Runs(ctx, store.RunFilter{})
			_, err := inst.Materialize(ctx, ws, tc.sel, opts...)
			if !errors.Is(err, host.ErrInvalidPartition) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrInvalidPartition containing %q", err, tc.want)
			}
			if after, _ := inst.Store().Runs(ctx, store.RunFilter{}); len(after) != len(before) {
				t.Errorf("a run was created")
			}
		})
	}
}

// TestPartitionsInWorkspaceFile: wasmorch.yaml sets partitions and mappings over the manifest's,
// and a mapping between incompatible definitions fails the load, naming the line.
func TestPartitionsInWorkspaceFile(t *testing.T) {
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, partsWorkspace(t, `partitions:
  two_regions: {type: static, keys: [us, eu]}
assets:
  regions:
    partitions: two_regions
  continents:
    ins:
      regions: {partition_mapping: {type: static, map: {americas: us, europe: [us, eu]}}}
`))
	info, _ := ws.Asset("regions")
	if !strings.Contains(info.Partitions, "us") || strings.Contains(info.Partitions, "apac") {
		t.Errorf("regions partitions = %s", info.Partitions)
	}
	if _, err := inst.Materialize(context.Background(), ws, "regions", host.WithPartition("apac")); !errors.Is(err, host.ErrInvalidPartition) {
		t.Errorf("apac after the override: %v", err)
	}
	mustSucceed(t, materialize(t, inst, ws, "regions", host.WithPartitionRange("us", "eu")))
	mustSucceed(t, materialize(t, inst, ws, "continents", host.WithPartition("europe")))
	if got := upstreamKeys(partRows(t, inst, "continents", "europe")); !slices.Equal(got, []string{"us", "eu"}) {
		t.Errorf("continents[europe] read %v", got)
	}

	for _, tc := range []struct{ extra, want string }{
		{"assets:\n  continents:\n    ins:\n      regions: {partition_mapping: {type: time_window}}\n", "time_window partition mapping needs time definitions"},
		{"assets:\n  daily_events:\n    ins:\n      hourly: {partition_mapping: {type: identity}}\n", "identity partition mapping needs equal definitions"},
		{"assets:\n  nope:\n    partitions: {type: static, keys: [a]}\n", `no module defines asset "nope"`},
		{"assets:\n  daily_events:\n    ins:\n      hourlyy: {partition_mapping: {type: all}}\n", `has no input "hourlyy"`},
		{"assets:\n  regions:\n    partitions: {type: time, schedule: daily, start: 2026-01-01}\n", `input "regions" reads asset "regions": static partition mapping maps "americas" to "us", which is not a key`},
	} {
		_, err := inst.LoadWorkspace(context.Background(), partsWorkspace(t, tc.extra))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("load with %q: err = %v, want %q", tc.extra, err, tc.want)
		}
	}
}

// TestPartitionsReport: partitions list reads the index: materialized, failed, in progress and
// missing partitions of a definition.
func TestPartitionsReport(t *testing.T) {
	ctx := context.Background()
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, partsWorkspace(t, ""))
	mustSucceed(t, materialize(t, inst, ws, "trivial_daily", host.WithPartitionRange("2026-01-01", "2026-01-10")))
	res := materialize(t, inst, ws, "trivial_daily", host.WithPartition("2026-01-11"),
		host.WithRunConfig([]byte(`{"ops": {"trivial_daily": {"config": {"fail": true}}}}`)))
	if res.Success() {
		t.Fatal("the run asked to fail succeeded")
	}
	rep, err := inst.Partitions(ctx, ws, "trivial_daily")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts[store.PartitionMaterialized] != 10 || rep.Counts[store.PartitionFailed] != 1 || rep.Counts[store.PartitionMissing] != len(rep.Partitions)-11 {
		t.Errorf("counts = %v of %d", rep.Counts, len(rep.Partitions))
	}
	states := map[string]store.PartitionState{}
	for _, p := range rep.Partitions {
		states[p.Key] = p.State
	}
	if states["2026-01-10"] != store.PartitionMaterialized || states["2026-01-11"] != store.PartitionFailed || states["2026-01-12"] != store.PartitionMissing {
		t.Errorf("states: %s %s %s", states["2026-01-10"], states["2026-01-11"], states["2026-01-12"])
	}
	if _, err := inst.Partitions(ctx, ws, "all_days"); err == nil || !strings.Contains(err.Error(), "not partitioned") {
		t.Errorf("unpartitioned: %v", err)
	}
}

// TestPartitionsPolyglot: the Go and C SDKs declare partitions and mappings in their manifests,
// and their guests read the partition key, the window and each input batch's partition key.
func TestPartitionsPolyglot(t *testing.T) {
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, filepath.Join(guesttest.Root(t), "testdata", "partitions", "polyglot.yaml"))
	guesttest.Path(t, "partitions/c/c_parts.wasm")
	mustSucceed(t, materialize(t, inst, ws, "go_regions", host.WithPartitionRange("us", "apac")))
	mustSucceed(t, materialize(t, inst, ws, "go_daily", host.WithPartition("2026-01-15")))
	mustSucceed(t, materialize(t, inst, ws, "c_daily", host.WithPartition("2026-01-15")))
	read := func(asset, partition string, cols ...string) [][]string {
		v, err := inst.PartitionValue(context.Background(), asset, partition)
		if err != nil {
			t.Fatal(err)
		}
		defer v.Release()
		tr := array.NewTableReader(v.Table, 1024)
		defer tr.Release()
		var rows [][]string
		for tr.Next() {
			rec := tr.Record()
			for i := 0; i < int(rec.NumRows()); i++ {
				var row []string
				for _, c := range cols {
					row = append(row, rec.Column(rec.Schema().FieldIndices(c)[0]).(*array.String).Value(i))
				}
				rows = append(rows, row)
			}
		}
		return rows
	}
	if got := read("go_daily", "2026-01-15", "key", "window_start", "upstream_key"); fmt.Sprint(got) != "[[2026-01-15 2026-01-15T00:00:00Z us] [2026-01-15 2026-01-15T00:00:00Z eu] [2026-01-15 2026-01-15T00:00:00Z apac]]" {
		t.Errorf("go_daily[2026-01-15] = %v", got)
	}
	if got := read("c_daily", "2026-01-15", "key", "window_start"); fmt.Sprint(got) != "[[2026-01-15 2026-01-15T00:00:00Z]]" {
		t.Errorf("c_daily[2026-01-15] = %v", got)
	}
}

// TestIdentityAndHourReadsItsDay: with wasmorch.yaml overrides on the fixture, an identity
// mapping between equal daily definitions reads the same day, and an hourly asset reading a
// daily one through a time window reads the day its hour falls in.
func TestIdentityAndHourReadsItsDay(t *testing.T) {
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, partsWorkspace(t, `assets:
  daily_shifted:
    ins:
      prev: {partition_mapping: {type: identity}}
`))
	mustSucceed(t, materialize(t, inst, ws, "hourly_events", host.WithPartitionRange("2026-01-05-00:00", "2026-01-05-23:00")))
	mustSucceed(t, materialize(t, inst, ws, "daily_events,daily_shifted", host.WithPartition("2026-01-05")))
	if got := upstreamKeys(partRows(t, inst, "daily_shifted", "2026-01-05")); !slices.Equal(got, []string{"2026-01-05"}) {
		t.Errorf("daily_shifted[2026-01-05] with identity read %v", got)
	}

	// The same instance, with daily_shifted made hourly: each hour reads its day.
	ws = loadWorkspace(t, inst, partsWorkspace(t, `assets:
  daily_shifted:
    partitions: {type: time, schedule: hourly, start: 2026-01-01, end: 2026-02-01}
    ins:
      prev: {partition_mapping: {type: time_window}}
`))
	mustSucceed(t, materialize(t, inst, ws, "daily_shifted", host.WithPartition("2026-01-05-07:00")))
	got := partRows(t, inst, "daily_shifted", "2026-01-05-07:00")
	if len(got) != 1 || got[0].UpstreamKey != "2026-01-05" || got[0].WindowStart != "2026-01-05T07:00:00Z" {
		t.Errorf("daily_shifted[2026-01-05-07:00] = %+v", got)
	}
}
