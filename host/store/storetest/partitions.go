package storetest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasmorch/wasmorch/host/store"
)

func plannedEv(asset string, d time.Duration, keys ...string) store.Event {
	return store.Event{
		Type: store.EventMaterializationPlanned, Time: at(d),
		Planned: &store.PlannedMaterialization{AssetKey: asset, PartitionKeys: keys},
	}
}

func partMatEv(asset, partition string, d time.Duration) store.Event {
	e := matEv(asset, "/data/"+asset+"/"+partition, d)
	e.Materialization.PartitionKey = partition
	return e
}

// status builds an expected PartitionStatus: the partition's state was last changed by event ev.
func status(key string, state store.PartitionState, ev store.Event) store.PartitionStatus {
	return store.PartitionStatus{Key: key, State: state, RunID: ev.RunID, EventID: ev.ID, Time: ev.Time}
}

func mustStatuses(t *testing.T, s store.Store, asset, after string, limit int) []store.PartitionStatus {
	t.Helper()
	st, err := s.PartitionStatuses(t.Context(), asset, after, limit)
	if err != nil {
		t.Fatalf("PartitionStatuses(%q, after %q, limit %d): %v", asset, after, limit, err)
	}
	return st
}

func mustCounts(t *testing.T, s store.Store, asset string) store.PartitionCounts {
	t.Helper()
	c, err := s.PartitionCounts(t.Context(), asset)
	if err != nil {
		t.Fatalf("PartitionCounts(%q): %v", asset, err)
	}
	return c
}

func checkStatus(t *testing.T, what string, got, want store.PartitionStatus) {
	t.Helper()
	if got.Key != want.Key || got.State != want.State || got.RunID != want.RunID || got.EventID != want.EventID {
		t.Errorf("%s: status {%s %s run %s event %d}, want {%s %s run %s event %d}", what,
			got.Key, got.State, got.RunID, got.EventID, want.Key, want.State, want.RunID, want.EventID)
	}
	checkTime(t, what+" "+want.Key+" Time", got.Time, want.Time)
}

func checkStatuses(t *testing.T, what string, got, want []store.PartitionStatus) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d statuses %v, want %d %v", what, len(got), statusKeys(got), len(want), statusKeys(want))
	}
	for i := range want {
		checkStatus(t, what, got[i], want[i])
	}
}

func statusKeys(st []store.PartitionStatus) []string {
	out := make([]string, len(st))
	for i, s := range st {
		out[i] = s.Key + "=" + string(s.State)
	}
	return out
}

// checkIndex checks an asset's whole index: the listing, PartitionStatusesOf of every key and
// the counts, which must agree with the listing.
func checkIndex(t *testing.T, s store.Store, asset string, want []store.PartitionStatus) {
	t.Helper()
	checkStatuses(t, "PartitionStatuses("+asset+")", mustStatuses(t, s, asset, "", 0), want)
	var keys []string
	var wc store.PartitionCounts
	for _, w := range want {
		keys = append(keys, w.Key)
		switch w.State {
		case store.PartitionMaterialized:
			wc.Materialized++
		case store.PartitionFailed:
			wc.Failed++
		case store.PartitionInProgress:
			wc.InProgress++
		}
	}
	of, err := s.PartitionStatusesOf(t.Context(), asset, keys...)
	if err != nil {
		t.Fatalf("PartitionStatusesOf(%q): %v", asset, err)
	}
	if len(of) != len(want) {
		t.Errorf("PartitionStatusesOf(%q) has %d keys, want %d", asset, len(of), len(want))
	}
	for _, w := range want {
		checkStatus(t, "PartitionStatusesOf("+asset+")", of[w.Key], w)
	}
	if c := mustCounts(t, s, asset); c != wc {
		t.Errorf("PartitionCounts(%q) = %+v, want %+v", asset, c, wc)
	}
}

// ---------------------------------------------------------------------------------------------

var partitionTests = []test{
	{"Unknown", func(t *testing.T, s store.Store) {
		checkIndex(t, s, "never/planned", nil)
		of, err := s.PartitionStatusesOf(t.Context(), "never/planned")
		if err != nil || len(of) != 0 {
			t.Errorf("PartitionStatusesOf with no keys = %v, %v; want an empty map", of, err)
		}
	}},
	{"PlannedInProgress", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)))
		got := mustAppend(t, s, runID(1), ev(store.EventRunStart, time.Second),
			plannedEv("daily", 2*time.Second, "2025-01-02", "2025-01-01", "2025-01-03"))
		pl := got[1]
		checkIndex(t, s, "daily", []store.PartitionStatus{
			status("2025-01-01", store.PartitionInProgress, pl),
			status("2025-01-02", store.PartitionInProgress, pl),
			status("2025-01-03", store.PartitionInProgress, pl),
		})
		// The event itself is in the log, Planned included.
		pl.Planned = &store.PlannedMaterialization{AssetKey: "daily", PartitionKeys: []string{"2025-01-02", "2025-01-01", "2025-01-03"}}
		checkEvents(t, mustEvents(t, s, runID(1), 0, 0)[1:], []store.Event{pl})
		// An unpartitioned plan (no keys) is an event and nothing more.
		mustAppend(t, s, runID(1), plannedEv("unpartitioned", 3*time.Second))
		checkIndex(t, s, "unpartitioned", nil)
	}},
	{"RunEndFailsWhatIsLeft", func(t *testing.T, s store.Store) {
		for i, end := range []store.EventType{store.EventRunSuccess, store.EventRunFailure, store.EventRunCancel} {
			asset := fmt.Sprint("asset", i)
			mustCreate(t, s, newRun(i+1, "etl", at(0)))
			rid := runID(i + 1)
			got := mustAppend(t, s, rid, ev(store.EventRunStart, time.Second), plannedEv(asset, time.Second, "a", "b", "c"))
			pl := got[1]
			checkIndex(t, s, asset, []store.PartitionStatus{
				status("a", store.PartitionInProgress, pl), status("b", store.PartitionInProgress, pl), status("c", store.PartitionInProgress, pl),
			})
			mat := mustAppend(t, s, rid, partMatEv(asset, "b", 2*time.Second))[0]
			checkIndex(t, s, asset, []store.PartitionStatus{
				status("a", store.PartitionInProgress, pl), status("b", store.PartitionMaterialized, mat), status("c", store.PartitionInProgress, pl),
			})
			last := mustAppend(t, s, rid, ev(end, 3*time.Second))[0]
			checkIndex(t, s, asset, []store.PartitionStatus{
				status("a", store.PartitionFailed, last), status("b", store.PartitionMaterialized, mat), status("c", store.PartitionFailed, last),
			})
		}
	}},
	{"EndBeforeStart", func(t *testing.T, s store.Store) {
		// A run that fails before it starts still fails what it planned.
		mustCreate(t, s, newRun(1, "etl", at(0)))
		mustAppend(t, s, runID(1), plannedEv("a", 0, "p1"))
		end := mustAppend(t, s, runID(1), store.Event{Type: store.EventRunFailure, Time: at(time.Second), Error: "invalid plan"})[0]
		checkIndex(t, s, "a", []store.PartitionStatus{status("p1", store.PartitionFailed, end)})
	}},
	{"ReplannedByLaterRun", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)), newRun(2, "etl", at(time.Second)))
		mustAppend(t, s, runID(1), ev(store.EventRunStart, time.Second))
		mustAppend(t, s, runID(2), ev(store.EventRunStart, time.Second))
		pl1 := mustAppend(t, s, runID(1), plannedEv("a", 2*time.Second, "p1", "p2", "p3"))[0]
		pl2 := mustAppend(t, s, runID(2), plannedEv("a", 3*time.Second, "p2", "p3"))[0]
		mat2 := mustAppend(t, s, runID(2), partMatEv("a", "p3", 4*time.Second))[0]
		checkIndex(t, s, "a", []store.PartitionStatus{
			status("p1", store.PartitionInProgress, pl1),
			status("p2", store.PartitionInProgress, pl2),
			status("p3", store.PartitionMaterialized, mat2),
		})
		// Run 1 ends: only p1 is still its own. p2 belongs to run 2, p3 is materialized.
		end1 := mustAppend(t, s, runID(1), ev(store.EventRunFailure, 5*time.Second))[0]
		checkIndex(t, s, "a", []store.PartitionStatus{
			status("p1", store.PartitionFailed, end1),
			status("p2", store.PartitionInProgress, pl2),
			status("p3", store.PartitionMaterialized, mat2),
		})
		mat2b := mustAppend(t, s, runID(2), partMatEv("a", "p2", 6*time.Second))[0]
		mustAppend(t, s, runID(2), ev(store.EventRunSuccess, 7*time.Second))
		checkIndex(t, s, "a", []store.PartitionStatus{
			status("p1", store.PartitionFailed, end1),
			status("p2", store.PartitionMaterialized, mat2b),
			status("p3", store.PartitionMaterialized, mat2),
		})
	}},
	{"MaterializedThenFailedAttempt", func(t *testing.T, s store.Store) {
		// As in Dagster: the latest attempt failed, so the partition is FAILED although it was
		// materialized before.
		mustCreate(t, s, newRun(1, "etl", at(0)), newRun(2, "etl", at(time.Second)))
		mustAppend(t, s, runID(1), ev(store.EventRunStart, 0), plannedEv("a", 0, "p"), partMatEv("a", "p", time.Second), ev(store.EventRunSuccess, 2*time.Second))
		mustAppend(t, s, runID(2), ev(store.EventRunStart, 3*time.Second), plannedEv("a", 3*time.Second, "p"))
		if c := mustCounts(t, s, "a"); c != (store.PartitionCounts{InProgress: 1}) {
			t.Errorf("counts after the re-plan = %+v, want one in progress", c)
		}
		end := mustAppend(t, s, runID(2), ev(store.EventRunFailure, 4*time.Second))[0]
		checkIndex(t, s, "a", []store.PartitionStatus{status("p", store.PartitionFailed, end)})
		// A later materialization, by a run that did not plan it, fixes it.
		mustCreate(t, s, newRun(3, "etl", at(time.Second)))
		mat := mustAppend(t, s, runID(3), partMatEv("a", "p", 5*time.Second))[0]
		checkIndex(t, s, "a", []store.PartitionStatus{status("p", store.PartitionMaterialized, mat)})
	}},
	{"OneCall", func(t *testing.T, s store.Store) {
		// Several events of one call touch the same partitions; the index and its counts end as
		// if they had come one call each.
		mustCreate(t, s, newRun(1, "etl", at(0)))
		got := mustAppend(t, s, runID(1),
			ev(store.EventRunStart, 0),
			plannedEv("a", time.Second, "p1", "p2", "p3", "p1"), // p1 twice
			partMatEv("a", "p1", 2*time.Second),
			plannedEv("a", 3*time.Second, "p1", "p4"), // planned again after its materialization
			partMatEv("a", "p2", 4*time.Second),
			partMatEv("a", "p2", 5*time.Second),
			partMatEv("b", "p1", 5*time.Second), // another asset
			ev(store.EventRunFailure, 6*time.Second),
		)
		end := got[7]
		checkIndex(t, s, "a", []store.PartitionStatus{
			status("p1", store.PartitionFailed, end),
			status("p2", store.PartitionMaterialized, got[5]),
			status("p3", store.PartitionFailed, end),
			status("p4", store.PartitionFailed, end),
		})
		checkIndex(t, s, "b", []store.PartitionStatus{status("p1", store.PartitionMaterialized, got[6])})
		// The run's plan is gone with it: a new run planning and ending leaves run 1's
		// partitions alone.
		mustCreate(t, s, newRun(2, "etl", at(0)))
		got2 := mustAppend(t, s, runID(2), plannedEv("a", 7*time.Second, "p5"), ev(store.EventRunFailure, 8*time.Second))
		checkIndex(t, s, "a", []store.PartitionStatus{
			status("p1", store.PartitionFailed, end),
			status("p2", store.PartitionMaterialized, got[5]),
			status("p3", store.PartitionFailed, end),
			status("p4", store.PartitionFailed, end),
			status("p5", store.PartitionFailed, got2[1]),
		})
	}},
	{"MaterializationsWithoutPlan", func(t *testing.T, s store.Store) {
		// Materializations index their partition whether or not a run planned it; those
		// without a partition key are not in the partition index.
		mustCreate(t, s, newRun(1, "etl", at(0)))
		got := mustAppend(t, s, runID(1), partMatEv("a", "x", 0), matEv("a", "/a", 0), partMatEv("a/b", "x", 0), partMatEv("ab", "y", 0))
		checkIndex(t, s, "a", []store.PartitionStatus{status("x", store.PartitionMaterialized, got[0])})
		checkIndex(t, s, "a/b", []store.PartitionStatus{status("x", store.PartitionMaterialized, got[2])})
		checkIndex(t, s, "ab", []store.PartitionStatus{status("y", store.PartitionMaterialized, got[3])})
		// The run ending changes nothing: it planned nothing.
		mustAppend(t, s, runID(1), ev(store.EventRunFailure, time.Second))
		checkIndex(t, s, "a", []store.PartitionStatus{status("x", store.PartitionMaterialized, got[0])})
	}},
	{"Paging", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)))
		keys := []string{"2025-01-10", "2025-01-9", "B", "a", "a-b", "a/b", "é", "2025-01-01", "2025-01-01|eu"}
		pl := mustAppend(t, s, runID(1), plannedEv("x", 0, keys...))[0]
		sorted := slices.Clone(keys)
		slices.Sort(sorted) // bytewise
		var all []store.PartitionStatus
		for _, k := range sorted {
			all = append(all, status(k, store.PartitionInProgress, pl))
		}
		checkStatuses(t, "all", mustStatuses(t, s, "x", "", 0), all)
		cases := []struct {
			after string
			limit int
			want  []store.PartitionStatus
		}{
			{"", 3, all[:3]},
			{"", 100, all},
			{sorted[2], 0, all[3:]},
			{sorted[2], 2, all[3:5]},
			{"2025-01-01!", 1, all[1:2]}, // afterKey need not be a stored key
			{"2025-01-01", 0, all[1:]},
			{"A", 0, all[4:]},
			{"\U0010FFFF", 0, nil},
			{sorted[len(sorted)-1], 0, nil},
		}
		for _, c := range cases {
			checkStatuses(t, fmt.Sprintf("after %q limit %d", c.after, c.limit), mustStatuses(t, s, "x", c.after, c.limit), c.want)
		}
		var walked []store.PartitionStatus
		for after := ""; ; {
			page := mustStatuses(t, s, "x", after, 2)
			if len(page) == 0 {
				break
			}
			walked = append(walked, page...)
			after = page[len(page)-1].Key
		}
		checkStatuses(t, "paged walk", walked, all)
		if _, err := s.PartitionStatuses(t.Context(), "x", "", -1); err == nil {
			t.Error("PartitionStatuses accepted a negative limit")
		}
	}},
	{"StatusesOf", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)))
		got := mustAppend(t, s, runID(1), plannedEv("a", 0, "p1", "p2"), partMatEv("a", "p2", time.Second))
		of, err := s.PartitionStatusesOf(t.Context(), "a", "p2", "missing", "p1", "p2")
		if err != nil {
			t.Fatal(err)
		}
		if k := slices.Sorted(maps.Keys(of)); !slices.Equal(k, []string{"p1", "p2"}) {
			t.Fatalf("PartitionStatusesOf keys %q, want [p1 p2]", k)
		}
		checkStatus(t, "p1", of["p1"], status("p1", store.PartitionInProgress, got[0]))
		checkStatus(t, "p2", of["p2"], status("p2", store.PartitionMaterialized, got[1]))
	}},
	{"BadInput", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)))
		mustAppend(t, s, runID(1), ev(store.EventRunStart, 0), plannedEv("a", 0, "p0"))
		before := takeSnapshot(t, s, runID(1))
		beforeIndex := mustStatuses(t, s, "a", "", 0)
		onLog := logEv("x", 0)
		onLog.Planned = &store.PlannedMaterialization{AssetKey: "a", PartitionKeys: []string{"p1"}}
		onMat := partMatEv("a", "p1", 0)
		onMat.Planned = &store.PlannedMaterialization{AssetKey: "a", PartitionKeys: []string{"p1"}}
		bad := []struct {
			name string
			ev   store.Event
		}{
			{"planned without Planned", store.Event{Type: store.EventMaterializationPlanned, Time: at(0)}},
			{"Planned on a LOG", onLog},
			{"Planned on a materialization", onMat},
			{"empty asset key", plannedEv("", 0, "p1")},
			{"NUL in asset key", plannedEv("a\x00b", 0, "p1")},
			{"empty partition key", plannedEv("a", 0, "p1", "")},
			{"NUL in partition key", plannedEv("a", 0, "p1", "p\x002")},
			{"invalid UTF-8 in partition key", plannedEv("a", 0, "p1", "p\xff")},
			{"NUL in a materialization's partition key", partMatEv("a", "p\x00", 0)},
			{"invalid UTF-8 in a materialization's partition key", partMatEv("a", "\xfe", 0)},
		}
		for _, b := range bad {
			// The bad event comes after a good plan: nothing of the call may be written.
			_, err := s.AppendEvents(t.Context(), runID(1), plannedEv("a", 0, "p1"), partMatEv("a", "p0", 0), b.ev)
			if err == nil {
				t.Errorf("%s: accepted", b.name)
				continue
			}
			checkUnchanged(t, s, runID(1), before)
			checkStatuses(t, b.name, mustStatuses(t, s, "a", "", 0), beforeIndex)
			if c := mustCounts(t, s, "a"); c != (store.PartitionCounts{InProgress: 1}) {
				t.Errorf("%s: counts %+v after a rejected call", b.name, c)
			}
		}
		if _, err := s.PartitionStatuses(t.Context(), "", "", 0); err == nil {
			t.Error("PartitionStatuses accepted an empty asset key")
		}
		if _, err := s.PartitionStatusesOf(t.Context(), "a", ""); err == nil {
			t.Error("PartitionStatusesOf accepted an empty partition key")
		}
	}},
	{"PlannedOnFinishedRun", func(t *testing.T, s store.Store) {
		// Nothing would ever end partitions planned by a finished run.
		mustCreate(t, s, newRun(1, "etl", at(0)), newRun(2, "etl", at(0)))
		mustAppend(t, s, runID(1), ev(store.EventRunStart, 0), ev(store.EventRunSuccess, time.Second))
		_, err := s.AppendEvents(t.Context(), runID(1), plannedEv("a", 2*time.Second, "p"))
		wantErr(t, "planned on a finished run", err, store.ErrRunFinished)
		// Nor after the run's end in the same call.
		before := takeSnapshot(t, s, runID(2))
		_, err = s.AppendEvents(t.Context(), runID(2), ev(store.EventRunStart, 0), ev(store.EventRunFailure, time.Second), plannedEv("a", 2*time.Second, "p"))
		wantErr(t, "planned after the run's end in one call", err, store.ErrRunFinished)
		checkUnchanged(t, s, runID(2), before)
		checkIndex(t, s, "a", nil)
	}},
	{"RejectedEndKeepsPlan", func(t *testing.T, s store.Store) {
		// A rejected terminal event fails nothing.
		mustCreate(t, s, newRun(1, "etl", at(0)))
		pl := mustAppend(t, s, runID(1), plannedEv("a", 0, "p"))[0]
		_, err := s.AppendEvents(t.Context(), runID(1), ev(store.EventRunSuccess, time.Second))
		wantErr(t, "RUN_SUCCESS before RUN_START", err, store.ErrInvalidTransition)
		checkIndex(t, s, "a", []store.PartitionStatus{status("p", store.PartitionInProgress, pl)})
	}},
	{"TenThousandKeys", func(t *testing.T, s store.Store) {
		const n = 10_000
		keys := make([]string, n)
		day := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range keys {
			keys[i] = day.AddDate(0, 0, i).Format("2006-01-02")
		}
		mustCreate(t, s, newRun(1, "etl", at(0)))
		got := mustAppend(t, s, runID(1), ev(store.EventRunStart, 0), plannedEv("daily/orders", time.Second, keys...))
		if c := mustCounts(t, s, "daily/orders"); c != (store.PartitionCounts{InProgress: n}) {
			t.Fatalf("counts after planning %d = %+v", n, c)
		}
		var want []store.PartitionStatus
		for _, k := range keys { // already in order
			want = append(want, status(k, store.PartitionInProgress, got[1]))
		}
		checkStatuses(t, "planned", mustStatuses(t, s, "daily/orders", "", 0), want)
		if evs := mustEvents(t, s, runID(1), 0, 0); len(evs) != 2 || evs[1].Planned == nil || len(evs[1].Planned.PartitionKeys) != n {
			t.Fatalf("the planned event did not round-trip with %d keys", n)
		}
		mats := make([]store.Event, 0, 100)
		for i := range 100 {
			mats = append(mats, partMatEv("daily/orders", keys[i*7], 2*time.Second))
		}
		mustAppend(t, s, runID(1), mats...)
		end := mustAppend(t, s, runID(1), ev(store.EventRunFailure, 3*time.Second))[0]
		if c := mustCounts(t, s, "daily/orders"); c != (store.PartitionCounts{Materialized: 100, Failed: n - 100}) {
			t.Fatalf("counts after the run failed = %+v", c)
		}
		st := mustStatuses(t, s, "daily/orders", keys[n-2], 0)
		checkStatuses(t, "last", st, []store.PartitionStatus{status(keys[n-1], store.PartitionFailed, end)})
	}},
}

// ---------------------------------------------------------------------------------------------

var runTagTests = []test{
	{"Filter", func(t *testing.T, s store.Store) {
		tags := []map[string]string{
			nil,
			{store.BackfillTag: "bf1", "owner": "data"},
			{store.BackfillTag: "bf1"},
			{store.BackfillTag: "bf2", "owner": "data"},
			{"owner": "data", "team": "x"},
			{store.BackfillTag: "bf1", "owner": "ops"},
			{store.BackfillTag: "bf10"},
			{store.BackfillTag: "bf", "owner": "data"},
		}
		for i, tg := range tags {
			r := newRun(i+1, "etl", at(time.Duration(i%4)*time.Second)) // some share an instant
			if i == 4 {
				r.JobName = "report"
			}
			r.Tags = tg
			mustCreate(t, s, r)
		}
		mustAppend(t, s, runID(2), ev(store.EventRunStart, 0))
		// Newest first: CreatedAt desc, then id desc. Runs 1..8 have CreatedAt 0,1,2,3,0,1,2,3 s.
		cases := []struct {
			name   string
			filter store.RunFilter
			want   []int
		}{
			{"backfill bf1", store.RunFilter{Tags: map[string]string{store.BackfillTag: "bf1"}}, []int{3, 6, 2}},
			{"a value that is a prefix of another", store.RunFilter{Tags: map[string]string{store.BackfillTag: "bf"}}, []int{8}},
			{"two tags", store.RunFilter{Tags: map[string]string{store.BackfillTag: "bf1", "owner": "data"}}, []int{2}},
			{"one tag", store.RunFilter{Tags: map[string]string{"owner": "data"}}, []int{8, 4, 2, 5}},
			{"tag and job", store.RunFilter{Tags: map[string]string{"owner": "data"}, JobName: "report"}, []int{5}},
			{"tag and status", store.RunFilter{Tags: map[string]string{store.BackfillTag: "bf1"}, Statuses: []store.RunStatus{store.RunStarted}}, []int{2}},
			{"tag and limit", store.RunFilter{Tags: map[string]string{"owner": "data"}, Limit: 2}, []int{8, 4}},
			{"unknown value", store.RunFilter{Tags: map[string]string{"owner": "nobody"}}, nil},
			{"unknown key", store.RunFilter{Tags: map[string]string{"nope": "data"}}, nil},
			{"empty value matches only an empty value", store.RunFilter{Tags: map[string]string{"owner": ""}}, nil},
			{"empty map", store.RunFilter{Tags: map[string]string{}, Limit: 2}, []int{8, 4}},
		}
		for _, c := range cases {
			runs, err := s.Runs(t.Context(), c.filter)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			var want []string
			for _, n := range c.want {
				want = append(want, runID(n))
			}
			if got := runIDs(runs); !slices.Equal(got, want) {
				t.Errorf("%s: Runs(%+v) = %v, want %v", c.name, c.filter, got, want)
			}
		}
		// Whole runs come back, tags included.
		runs, err := s.Runs(t.Context(), store.RunFilter{Tags: map[string]string{"team": "x"}})
		if err != nil || len(runs) != 1 || !maps.Equal(runs[0].Tags, tags[4]) || runs[0].JobName != "report" {
			t.Errorf("Runs(team=x) = %+v, %v", runs, err)
		}
	}},
}

// ---------------------------------------------------------------------------------------------

func mustDynamic(t *testing.T, s store.Store, name string) []string {
	t.Helper()
	keys, err := s.DynamicPartitions(t.Context(), name)
	if err != nil {
		t.Fatalf("DynamicPartitions(%q): %v", name, err)
	}
	return keys
}

func mustAddDynamic(t *testing.T, s store.Store, name string, keys ...string) []string {
	t.Helper()
	added, err := s.AddDynamicPartitions(t.Context(), name, keys...)
	if err != nil {
		t.Fatalf("AddDynamicPartitions(%q, %s): %v", name, quoteSome(keys), err)
	}
	return added
}

// quoteSome quotes keys, or the first few of them and how many there are.
func quoteSome(keys []string) string {
	if len(keys) <= 5 {
		return fmt.Sprintf("%q", keys)
	}
	return fmt.Sprintf("%q... (%d keys)", keys[:5], len(keys))
}

func mustCreateBackfill(t *testing.T, s store.Store, b store.Backfill) {
	t.Helper()
	if err := s.CreateBackfill(t.Context(), b); err != nil {
		t.Fatalf("CreateBackfill(%s): %v", b.ID, err)
	}
}

var dynamicPartitionTests = []test{
	{"AddInOrder", func(t *testing.T, s store.Store) {
		if keys := mustDynamic(t, s, "customers"); keys == nil || len(keys) != 0 {
			t.Fatalf("an unknown name lists %#v, want an empty slice", keys)
		}
		if added := mustAddDynamic(t, s, "customers", "zeta", "alpha", "mid"); !slices.Equal(added, []string{"zeta", "alpha", "mid"}) {
			t.Errorf("added %q", added)
		}
		// Existing keys are not an error and not returned; a key twice in one call is added once.
		if added := mustAddDynamic(t, s, "customers", "alpha", "beta", "beta", "zeta", "gamma"); !slices.Equal(added, []string{"beta", "gamma"}) {
			t.Errorf("second add returned %q, want [beta gamma]", added)
		}
		if added := mustAddDynamic(t, s, "customers", "alpha"); len(added) != 0 {
			t.Errorf("adding an existing key returned %q", added)
		}
		if added := mustAddDynamic(t, s, "customers"); len(added) != 0 {
			t.Errorf("adding nothing returned %q", added)
		}
		want := []string{"zeta", "alpha", "mid", "beta", "gamma"}
		if keys := mustDynamic(t, s, "customers"); !slices.Equal(keys, want) {
			t.Errorf("keys %q, want %q", keys, want)
		}
		// Names are separate, a name that is a prefix of another too.
		mustAddDynamic(t, s, "customer", "other")
		mustAddDynamic(t, s, "customers/eu", "eu1")
		if keys := mustDynamic(t, s, "customers"); !slices.Equal(keys, want) {
			t.Errorf("after adding to other names: keys %q, want %q", keys, want)
		}
		if keys := mustDynamic(t, s, "customer"); !slices.Equal(keys, []string{"other"}) {
			t.Errorf("customer: %q", keys)
		}
	}},
	{"Delete", func(t *testing.T, s store.Store) {
		mustAddDynamic(t, s, "d", "a", "b", "c", "d")
		if err := s.DeleteDynamicPartitions(t.Context(), "d", "b", "d"); err != nil {
			t.Fatal(err)
		}
		if keys := mustDynamic(t, s, "d"); !slices.Equal(keys, []string{"a", "c"}) {
			t.Errorf("after delete: %q", keys)
		}
		// A missing key is an error naming it, and nothing is removed.
		err := s.DeleteDynamicPartitions(t.Context(), "d", "a", "nope", "c")
		if err == nil || !strings.Contains(err.Error(), `"nope"`) {
			t.Fatalf("delete of a missing key: %v, want an error naming it", err)
		}
		if keys := mustDynamic(t, s, "d"); !slices.Equal(keys, []string{"a", "c"}) {
			t.Errorf("a failed delete removed keys: %q", keys)
		}
		if err := s.DeleteDynamicPartitions(t.Context(), "unknown", "a"); err == nil {
			t.Error("delete from an unknown name succeeded")
		}
		// A key given twice is deleted once; re-added, a key goes to the end.
		if err := s.DeleteDynamicPartitions(t.Context(), "d", "a", "a"); err != nil {
			t.Fatal(err)
		}
		mustAddDynamic(t, s, "d", "e", "a")
		if keys := mustDynamic(t, s, "d"); !slices.Equal(keys, []string{"c", "e", "a"}) {
			t.Errorf("after re-adding: %q", keys)
		}
		// Deleting the newest key and adding another keeps the order.
		if err := s.DeleteDynamicPartitions(t.Context(), "d", "a"); err != nil {
			t.Fatal(err)
		}
		mustAddDynamic(t, s, "d", "f")
		if keys := mustDynamic(t, s, "d"); !slices.Equal(keys, []string{"c", "e", "f"}) {
			t.Errorf("after deleting the newest and adding: %q", keys)
		}
	}},
	{"BadKeys", func(t *testing.T, s store.Store) {
		mustAddDynamic(t, s, "d", "ok")
		for _, bad := range []string{"", "a\x00b", "a\xffb"} {
			if _, err := s.AddDynamicPartitions(t.Context(), "d", "fine", bad); err == nil {
				t.Errorf("AddDynamicPartitions accepted the key %q", bad)
			}
			if err := s.DeleteDynamicPartitions(t.Context(), "d", "ok", bad); err == nil {
				t.Errorf("DeleteDynamicPartitions accepted the key %q", bad)
			}
		}
		if keys := mustDynamic(t, s, "d"); !slices.Equal(keys, []string{"ok"}) {
			t.Errorf("rejected calls changed the keys: %q", keys)
		}
		if _, err := s.AddDynamicPartitions(t.Context(), "", "k"); err == nil {
			t.Error("AddDynamicPartitions accepted an empty name")
		}
	}},
	{"Many", func(t *testing.T, s store.Store) {
		keys := make([]string, 10_000)
		for i := range keys {
			keys[i] = fmt.Sprintf("k%05d", len(keys)-i) // added in descending order
		}
		if added := mustAddDynamic(t, s, "many", keys...); len(added) != len(keys) {
			t.Fatalf("added %d keys, want %d", len(added), len(keys))
		}
		if got := mustDynamic(t, s, "many"); !slices.Equal(got, keys) {
			t.Fatalf("listed %d keys, not the %d added in their order", len(got), len(keys))
		}
	}},
}

// ---------------------------------------------------------------------------------------------

// backfillID returns the n-th backfill id of the suite, a UUID like the run ids.
func backfillID(n int) string { return fmt.Sprintf("00000000-0000-4000-9000-%012d", n) }

func mustBackfill(t *testing.T, s store.Store, id string) store.Backfill {
	t.Helper()
	b, err := s.Backfill(t.Context(), id)
	if err != nil {
		t.Fatalf("Backfill(%s): %v", id, err)
	}
	return b
}

func checkBackfill(t *testing.T, got, want store.Backfill) {
	t.Helper()
	if got.ID != want.ID || got.Selection != want.Selection || got.From != want.From || got.To != want.To ||
		got.OneRun != want.OneRun || got.Concurrency != want.Concurrency || got.Status != want.Status || got.Error != want.Error {
		t.Errorf("backfill %s:\n got %+v\nwant %+v", want.ID, got, want)
	}
	if !slices.Equal(got.PartitionKeys, want.PartitionKeys) {
		t.Errorf("backfill %s: %d partition keys, want %d", want.ID, len(got.PartitionKeys), len(want.PartitionKeys))
	}
	if !maps.Equal(got.Tags, want.Tags) {
		t.Errorf("backfill %s: tags %v, want %v", want.ID, got.Tags, want.Tags)
	}
	if !jsonEqual(got.Config, want.Config) {
		t.Errorf("backfill %s: config %s, want %s", want.ID, got.Config, want.Config)
	}
	checkTime(t, want.ID+" CreatedAt", got.CreatedAt, want.CreatedAt)
}

var backfillTests = []test{
	{"RoundTrip", func(t *testing.T, s store.Store) {
		in := store.Backfill{
			ID: backfillID(1), Selection: "daily/orders+", PartitionKeys: []string{"2025-01-01", "2025-01-02"},
			From: "2025-01-01", To: "2025-01-02", OneRun: true, Concurrency: 4,
			Config: []byte(`{"ops":{"x":{"limit":1}}}`), Tags: map[string]string{"owner": "data"},
			Status: store.BackfillFailed, CreatedAt: at(0), EndedAt: at(time.Hour), Error: "ignored", // ignored
		}
		mustCreateBackfill(t, s, in)
		want := in
		want.Status, want.Error = store.BackfillRequested, ""
		got := mustBackfill(t, s, in.ID)
		checkBackfill(t, got, want)
		if !got.EndedAt.IsZero() {
			t.Errorf("a new backfill has EndedAt %v", got.EndedAt)
		}
		err := s.CreateBackfill(t.Context(), store.Backfill{ID: in.ID, Selection: "other", CreatedAt: at(time.Hour)})
		wantErr(t, "second CreateBackfill", err, store.ErrBackfillExists)
		checkBackfill(t, mustBackfill(t, s, in.ID), want)
	}},
	{"NotFound", func(t *testing.T, s store.Store) {
		_, err := s.Backfill(t.Context(), backfillID(99))
		wantErr(t, "Backfill of an unknown id", err, store.ErrBackfillNotFound)
		_, err = s.SetBackfillStatus(t.Context(), backfillID(99), store.BackfillCanceled, "")
		wantErr(t, "SetBackfillStatus of an unknown id", err, store.ErrBackfillNotFound)
		if err := s.CreateBackfill(t.Context(), store.Backfill{Selection: "a"}); err == nil {
			t.Error("CreateBackfill accepted an empty id")
		}
		if err := s.CreateBackfill(t.Context(), store.Backfill{ID: "bad\x00id", Selection: "a"}); err == nil {
			t.Error("CreateBackfill accepted an id with a NUL")
		}
		if bfs, err := s.Backfills(t.Context(), 0); err != nil || bfs == nil || len(bfs) != 0 {
			t.Errorf("Backfills of an empty store = %#v, %v; want an empty slice", bfs, err)
		}
		if _, err := s.Backfills(t.Context(), -1); err == nil {
			t.Error("Backfills accepted a negative limit")
		}
	}},
	{"NewestFirst", func(t *testing.T, s store.Store) {
		for i, d := range []time.Duration{0, time.Second, -time.Second, time.Second, time.Microsecond} {
			mustCreateBackfill(t, s, store.Backfill{ID: backfillID(i + 1), Selection: "a", CreatedAt: at(d)})
		}
		want := []string{backfillID(4), backfillID(2), backfillID(5), backfillID(1), backfillID(3)}
		for _, limit := range []int{0, 1, 3, 5, 10} {
			bfs, err := s.Backfills(t.Context(), limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, b := range bfs {
				got = append(got, b.ID)
			}
			w := want
			if limit > 0 {
				w = want[:min(limit, len(want))]
			}
			if !slices.Equal(got, w) {
				t.Errorf("Backfills(limit %d) = %v, want %v", limit, got, w)
			}
		}
	}},
	{"Transitions", func(t *testing.T, s store.Store) {
		all := []store.BackfillStatus{store.BackfillRequested, store.BackfillCompleted, store.BackfillFailed, store.BackfillCanceled}
		n := 0
		for _, from := range all {
			for _, to := range all {
				n++
				id := backfillID(n)
				mustCreateBackfill(t, s, store.Backfill{ID: id, Selection: "a", CreatedAt: at(0)})
				if from != store.BackfillRequested {
					if _, err := s.SetBackfillStatus(t.Context(), id, from, "first"); err != nil {
						t.Fatalf("REQUESTED -> %s: %v", from, err)
					}
				}
				before := mustBackfill(t, s, id)
				got, err := s.SetBackfillStatus(t.Context(), id, to, "why")
				allowed := from == store.BackfillRequested || to == store.BackfillRequested || from == to
				if !allowed {
					wantErr(t, fmt.Sprintf("%s -> %s", from, to), err, store.ErrInvalidTransition)
					after := mustBackfill(t, s, id)
					if after.Status != from || after.Error != before.Error || !after.EndedAt.Equal(before.EndedAt) {
						t.Errorf("%s -> %s: the refused move changed the backfill to %+v", from, to, after)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s -> %s: %v", from, to, err)
				}
				stored := mustBackfill(t, s, id)
				for what, b := range map[string]store.Backfill{"returned": got, "stored": stored} {
					if b.Status != to {
						t.Errorf("%s -> %s: %s status %s", from, to, what, b.Status)
					}
					switch {
					case to == store.BackfillRequested:
						if !b.EndedAt.IsZero() || b.Error != "" {
							t.Errorf("%s -> %s: %s EndedAt %v, Error %q; a resume clears both", from, to, what, b.EndedAt, b.Error)
						}
					case from == to:
						if !b.EndedAt.Equal(before.EndedAt) || b.Error != "why" {
							t.Errorf("%s -> %s: %s EndedAt %v (was %v), Error %q", from, to, what, b.EndedAt, before.EndedAt, b.Error)
						}
					default:
						if b.EndedAt.IsZero() || b.Error != "why" {
							t.Errorf("%s -> %s: %s EndedAt %v, Error %q; want an end time and the message", from, to, what, b.EndedAt, b.Error)
						}
					}
				}
			}
		}
		// An unknown status is refused.
		id := backfillID(1)
		if _, err := s.SetBackfillStatus(t.Context(), id, "DONE", ""); err == nil {
			t.Error("SetBackfillStatus accepted an unknown status")
		}
		// Moving to the same status without a message keeps the message and the end time.
		id = backfillID(n + 1)
		mustCreateBackfill(t, s, store.Backfill{ID: id, Selection: "a", CreatedAt: at(0)})
		first, err := s.SetBackfillStatus(t.Context(), id, store.BackfillFailed, "boom")
		if err != nil {
			t.Fatal(err)
		}
		again, err := s.SetBackfillStatus(t.Context(), id, store.BackfillFailed, "")
		if err != nil || again.Error != "boom" || !again.EndedAt.Equal(first.EndedAt) {
			t.Errorf("FAILED again without a message = %+v, %v; want Error %q and EndedAt %v kept", again, err, "boom", first.EndedAt)
		}
	}},
	{"ManyPartitions", func(t *testing.T, s store.Store) {
		keys := make([]string, 20_000)
		for i := range keys {
			keys[i] = fmt.Sprintf("2025-01-01-%05d", i)
		}
		in := store.Backfill{ID: backfillID(1), Selection: "hourly", PartitionKeys: keys, CreatedAt: at(0)}
		mustCreateBackfill(t, s, in)
		in.Status = store.BackfillRequested
		checkBackfill(t, mustBackfill(t, s, in.ID), in)
		if _, err := s.SetBackfillStatus(t.Context(), in.ID, store.BackfillCompleted, ""); err != nil {
			t.Fatal(err)
		}
		in.Status = store.BackfillCompleted
		checkBackfill(t, mustBackfill(t, s, in.ID), in)
	}},
}
