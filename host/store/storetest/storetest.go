// Package storetest is the conformance suite of store.Store: the behaviour the rest of wasmorch
// relies on, checked the same way against every implementation. An implementation's tests run it
// with one line:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openForTest(t) })
//	}
//
// The suite uses the store.Store interface only. It must not reach into an implementation or
// accept implementation-specific behaviour: a case that only one store can pass does not belong
// here. It is written so that a PostgreSQL store can pass it too: run ids are UUID strings,
// times are whole microseconds and compared with time.Time.Equal, run configs are compared as
// JSON values, and metadata is expected back as encoding/json decodes it (numbers as float64).
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmorch/wasmorch/host/store"
)

// Run runs the suite. open must return a new, empty store for the test it is given and arrange
// for it to be closed (t.Cleanup) when that test ends; the suite closes some stores itself first,
// and closing twice is part of the contract. Subtests run one after another, each with its own
// store; some start goroutines, so run the suite with -race.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	groups := []struct {
		name  string
		tests []test
	}{
		{"CreateRun", createRunTests},
		{"Runs", runsTests},
		{"AppendEvents", appendTests},
		{"Events", eventsTests},
		{"Materializations", materializationTests},
		{"CheckEvaluations", checkEvaluationTests},
		{"Metadata", metadataTests},
		{"Concurrent", concurrentTests},
		{"Close", closeTests},
		{"Context", contextTests},
		{"KV", kvTests},
		{"Partitions", partitionTests},
		{"RunTags", runTagTests},
		{"DynamicPartitions", dynamicPartitionTests},
		{"Backfills", backfillTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					s := open(t)
					if s == nil {
						t.Fatal("open returned a nil store")
					}
					tc.fn(t, s)
				})
			}
		})
	}
}

type test struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// t0 is the base of every time in the suite: UTC, whole microseconds.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// runID returns the n-th run id of the suite: a UUID, so that stores keeping ids in a uuid column
// accept it, ordered by n.
func runID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// unknownRun is an id never created.
var unknownRun = runID(999999)

func newRun(n int, job string, createdAt time.Time) store.Run {
	return store.Run{ID: runID(n), JobName: job, CreatedAt: createdAt}
}

func mustCreate(t *testing.T, s store.Store, runs ...store.Run) {
	t.Helper()
	for _, r := range runs {
		if err := s.CreateRun(t.Context(), r); err != nil {
			t.Fatalf("CreateRun(%s): %v", r.ID, err)
		}
	}
}

func mustAppend(t *testing.T, s store.Store, runID string, events ...store.Event) []store.Event {
	t.Helper()
	got, err := s.AppendEvents(t.Context(), runID, events...)
	if err != nil {
		t.Fatalf("AppendEvents(%s, %s): %v", runID, types(events), err)
	}
	if len(got) != len(events) {
		t.Fatalf("AppendEvents(%s) returned %d events, want %d", runID, len(got), len(events))
	}
	return got
}

func mustRun(t *testing.T, s store.Store, id string) store.Run {
	t.Helper()
	r, err := s.Run(t.Context(), id)
	if err != nil {
		t.Fatalf("Run(%s): %v", id, err)
	}
	return r
}

func mustEvents(t *testing.T, s store.Store, runID string, afterID int64, limit int) []store.Event {
	t.Helper()
	evs, err := s.Events(t.Context(), runID, afterID, limit)
	if err != nil {
		t.Fatalf("Events(%s, %d, %d): %v", runID, afterID, limit, err)
	}
	return evs
}

func ev(typ store.EventType, d time.Duration) store.Event {
	return store.Event{Type: typ, Time: at(d)}
}

func logEv(msg string, d time.Duration) store.Event {
	return store.Event{Type: store.EventLog, Time: at(d), Level: store.LevelInfo, Message: msg}
}

func matEv(asset, location string, d time.Duration) store.Event {
	return store.Event{
		Type:    store.EventMaterialization,
		Time:    at(d),
		StepKey: asset,
		Materialization: &store.Materialization{
			AssetKey: asset, Format: "json", Location: location, IOManager: "fs", CodeVersion: "sha256:abc",
		},
	}
}

func types(events []store.Event) []store.EventType {
	out := make([]store.EventType, len(events))
	for i, e := range events {
		out[i] = e.Type
	}
	return out
}

func ids(events []store.Event) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func runIDs(runs []store.Run) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.ID
	}
	return out
}

// checkRun compares every field of a run, times by instant, config as JSON.
func checkRun(t *testing.T, got, want store.Run) {
	t.Helper()
	if got.ID != want.ID || got.JobName != want.JobName || got.Selection != want.Selection ||
		got.Status != want.Status || got.ParentRunID != want.ParentRunID || got.RootRunID != want.RootRunID {
		t.Errorf("run %s: got {job %q selection %q status %s parent %q root %q}, want {job %q selection %q status %s parent %q root %q}",
			want.ID, got.JobName, got.Selection, got.Status, got.ParentRunID, got.RootRunID,
			want.JobName, want.Selection, want.Status, want.ParentRunID, want.RootRunID)
	}
	if !slices.Equal(got.StepKeys, want.StepKeys) {
		t.Errorf("run %s: step keys %q, want %q", want.ID, got.StepKeys, want.StepKeys)
	}
	if !maps.Equal(got.Tags, want.Tags) {
		t.Errorf("run %s: tags %v, want %v", want.ID, got.Tags, want.Tags)
	}
	if !jsonEqual(got.Config, want.Config) {
		t.Errorf("run %s: config %s, want %s", want.ID, got.Config, want.Config)
	}
	checkTime(t, want.ID+" CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, want.ID+" StartedAt", got.StartedAt, want.StartedAt)
	checkTime(t, want.ID+" EndedAt", got.EndedAt, want.EndedAt)
}

func checkTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// checkEvent compares every field of an event; metadata is expected as a JSON round trip gives
// it back.
func checkEvent(t *testing.T, got, want store.Event) {
	t.Helper()
	if got.ID != want.ID || got.RunID != want.RunID || got.Type != want.Type || got.StepKey != want.StepKey ||
		got.Level != want.Level || got.Message != want.Message || got.Error != want.Error {
		t.Errorf("event: got %+v\nwant %+v", got, want)
	}
	checkTime(t, fmt.Sprintf("event %d Time", want.ID), got.Time, want.Time)
	if !reflect.DeepEqual(normalize(t, got.Metadata), normalize(t, want.Metadata)) {
		t.Errorf("event %d metadata %#v, want %#v", want.ID, got.Metadata, normalize(t, want.Metadata))
	}
	gp, wp := got.Planned, want.Planned
	switch {
	case (gp == nil) != (wp == nil):
		t.Errorf("event %d planned %+v, want %+v", want.ID, gp, wp)
	case gp != nil:
		if gp.AssetKey != wp.AssetKey || !slices.Equal(gp.PartitionKeys, wp.PartitionKeys) {
			t.Errorf("event %d planned %+v, want %+v", want.ID, *gp, *wp)
		}
	}
	gm, wm := got.Materialization, want.Materialization
	switch {
	case (gm == nil) != (wm == nil):
		t.Errorf("event %d materialization %+v, want %+v", want.ID, gm, wm)
	case gm != nil:
		if gm.AssetKey != wm.AssetKey || gm.PartitionKey != wm.PartitionKey || gm.Format != wm.Format ||
			gm.Location != wm.Location || gm.IOManager != wm.IOManager || gm.CodeVersion != wm.CodeVersion {
			t.Errorf("event %d materialization %+v, want %+v", want.ID, *gm, *wm)
		}
		if !reflect.DeepEqual(normalize(t, gm.Metadata), normalize(t, wm.Metadata)) {
			t.Errorf("event %d materialization metadata %#v, want %#v", want.ID, gm.Metadata, normalize(t, wm.Metadata))
		}
	}
}

func checkEvents(t *testing.T, got, want []store.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got events %v %v, want %v %v", ids(got), types(got), ids(want), types(want))
	}
	for i := range want {
		checkEvent(t, got[i], want[i])
	}
}

// normalize returns m as encoding/json gives it back: numbers float64, nested values
// map[string]any and []any. Nil and empty maps both normalize to nil.
func normalize(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	if len(m) == 0 {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("marshal metadata: %v", err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal metadata: %v", err)
	}
	return out
}

func jsonEqual(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return string(a) == string(b)
	}
	return reflect.DeepEqual(va, vb)
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want one wrapping %q", what, err, target)
	}
}

// canceled returns a context that is already cancelled.
func canceled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

// ---------------------------------------------------------------------------------------------

var createRunTests = []test{
	{"RoundTrip", func(t *testing.T, s store.Store) {
		in := store.Run{
			ID:          runID(1),
			JobName:     "etl",
			Selection:   "raw/orders+",
			StepKeys:    []string{"raw/orders", "clean/orders"},
			Config:      []byte(`{"ops":{"orders":{"limit":10}}}`),
			Tags:        map[string]string{"owner": "data", "wasmorch/schedule": "daily"},
			Status:      store.RunSuccess, // ignored
			CreatedAt:   at(0),
			StartedAt:   at(time.Second), // ignored
			EndedAt:     at(time.Minute), // ignored
			ParentRunID: runID(7),
			RootRunID:   runID(6),
		}
		mustCreate(t, s, in)
		want := in
		want.Status = store.RunNotStarted
		want.StartedAt, want.EndedAt = time.Time{}, time.Time{}
		checkRun(t, mustRun(t, s, in.ID), want)
	}},
	{"CreatedAtInstantKept", func(t *testing.T, s store.Store) {
		in := newRun(1, "etl", at(0).In(time.FixedZone("UTC+5", 5*3600)))
		mustCreate(t, s, in)
		checkTime(t, "CreatedAt", mustRun(t, s, in.ID).CreatedAt, at(0))
	}},
	{"Exists", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "first", at(0)))
		err := s.CreateRun(t.Context(), newRun(1, "second", at(time.Hour)))
		wantErr(t, "second CreateRun", err, store.ErrRunExists)
		got := mustRun(t, s, runID(1))
		if got.JobName != "first" {
			t.Errorf("the failed CreateRun overwrote the run: job %q, want %q", got.JobName, "first")
		}
		checkTime(t, "CreatedAt", got.CreatedAt, at(0))
		if runs, err := s.Runs(t.Context(), store.RunFilter{}); err != nil || len(runs) != 1 {
			t.Errorf("Runs after the failed CreateRun = %v, %v; want one run", runIDs(runs), err)
		}
	}},
	{"EmptyID", func(t *testing.T, s store.Store) {
		if err := s.CreateRun(t.Context(), store.Run{JobName: "etl", CreatedAt: at(0)}); err == nil {
			t.Fatal("CreateRun with an empty id succeeded")
		}
	}},
	{"RunNotFound", func(t *testing.T, s store.Store) {
		_, err := s.Run(t.Context(), unknownRun)
		wantErr(t, "Run of an unknown id", err, store.ErrRunNotFound)
		mustCreate(t, s, newRun(1, "etl", at(0)))
		_, err = s.Run(t.Context(), unknownRun)
		wantErr(t, "Run of an unknown id", err, store.ErrRunNotFound)
	}},
}

// ---------------------------------------------------------------------------------------------

var runsTests = []test{
	{"Empty", func(t *testing.T, s store.Store) {
		runs, err := s.Runs(t.Context(), store.RunFilter{})
		if err != nil || len(runs) != 0 {
			t.Fatalf("Runs on an empty store = %v, %v; want none", runIDs(runs), err)
		}
	}},
	{"NewestFirst", func(t *testing.T, s store.Store) {
		// Created out of order; 2 and 4 at the same instant (the larger id comes first); 6 in
		// another zone, which must not change where it sorts.
		mustCreate(t, s,
			newRun(1, "etl", at(0)),
			newRun(2, "etl", at(time.Second)),
			newRun(3, "etl", at(-time.Second)),
			newRun(4, "etl", at(time.Second)),
			newRun(5, "etl", at(time.Microsecond)),
			newRun(6, "etl", at(2*time.Second).In(time.FixedZone("UTC-8", -8*3600))),
			newRun(7, "etl", at(-48*time.Hour)),
		)
		want := []string{runID(6), runID(4), runID(2), runID(5), runID(1), runID(3), runID(7)}
		runs, err := s.Runs(t.Context(), store.RunFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if got := runIDs(runs); !slices.Equal(got, want) {
			t.Fatalf("Runs order\n got %v\nwant %v", got, want)
		}
		for _, limit := range []int{1, 3, 7, 100} {
			runs, err := s.Runs(t.Context(), store.RunFilter{Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			if got, w := runIDs(runs), want[:min(limit, len(want))]; !slices.Equal(got, w) {
				t.Errorf("Runs(limit %d) = %v, want %v", limit, got, w)
			}
		}
	}},
	{"Filter", func(t *testing.T, s store.Store) {
		mustCreate(t, s,
			newRun(1, "etl", at(1*time.Second)),    // SUCCESS
			newRun(2, "report", at(2*time.Second)), // STARTED
			newRun(3, "etl", at(3*time.Second)),    // FAILURE
			newRun(4, "etl", at(4*time.Second)),    // STARTED
			newRun(5, "report", at(5*time.Second)), // NOT_STARTED
			newRun(6, "etl", at(6*time.Second)),    // NOT_STARTED
		)
		mustAppend(t, s, runID(1), ev(store.EventRunStart, 10*time.Second), ev(store.EventRunSuccess, 11*time.Second))
		mustAppend(t, s, runID(2), ev(store.EventRunStart, 10*time.Second))
		mustAppend(t, s, runID(3), ev(store.EventRunStart, 10*time.Second), ev(store.EventRunFailure, 11*time.Second))
		mustAppend(t, s, runID(4), ev(store.EventRunStart, 10*time.Second))

		cases := []struct {
			name   string
			filter store.RunFilter
			want   []int
		}{
			{"all", store.RunFilter{}, []int{6, 5, 4, 3, 2, 1}},
			{"started", store.RunFilter{Statuses: []store.RunStatus{store.RunStarted}}, []int{4, 2}},
			{"finished", store.RunFilter{Statuses: []store.RunStatus{store.RunSuccess, store.RunFailure}}, []int{3, 1}},
			{"not started", store.RunFilter{Statuses: []store.RunStatus{store.RunNotStarted}}, []int{6, 5}},
			{"canceled", store.RunFilter{Statuses: []store.RunStatus{store.RunCanceled}}, nil},
			{"job", store.RunFilter{JobName: "etl"}, []int{6, 4, 3, 1}},
			{"job and status", store.RunFilter{JobName: "etl", Statuses: []store.RunStatus{store.RunStarted, store.RunSuccess}}, []int{4, 1}},
			{"unknown job", store.RunFilter{JobName: "nope"}, nil},
			{"limit", store.RunFilter{Limit: 2}, []int{6, 5}},
			{"limit after filter", store.RunFilter{JobName: "etl", Statuses: []store.RunStatus{store.RunSuccess, store.RunFailure}, Limit: 1}, []int{3}},
			{"limit above matches", store.RunFilter{JobName: "report", Limit: 10}, []int{5, 2}},
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
		// Runs returns whole runs, derived fields included.
		runs, err := s.Runs(t.Context(), store.RunFilter{Statuses: []store.RunStatus{store.RunSuccess}})
		if err != nil || len(runs) != 1 {
			t.Fatalf("Runs(SUCCESS) = %v, %v", runIDs(runs), err)
		}
		want := newRun(1, "etl", at(time.Second))
		want.Status, want.StartedAt, want.EndedAt = store.RunSuccess, at(10*time.Second), at(11*time.Second)
		checkRun(t, runs[0], want)
	}},
}

// ---------------------------------------------------------------------------------------------

var appendTests = []test{
	{"IDs", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)), newRun(2, "etl", at(0)))
		var all []int64
		for i, rid := range []string{runID(1), runID(2), runID(1), runID(2), runID(2)} {
			in := []store.Event{logEv(fmt.Sprint("a", i), 0), logEv(fmt.Sprint("b", i), 0)}
			if i%2 == 0 {
				in[1].RunID = rid // a matching RunID is accepted
			}
			got := mustAppend(t, s, rid, in...)
			for j, e := range got {
				if e.RunID != rid {
					t.Errorf("returned event RunID %q, want %q", e.RunID, rid)
				}
				if e.Message != in[j].Message || e.Type != in[j].Type {
					t.Errorf("returned event %d is %+v, want the input %+v with an ID", j, e, in[j])
				}
				all = append(all, e.ID)
			}
		}
		for i, id := range all {
			if id <= 0 {
				t.Fatalf("event ID %d is not positive (IDs %v)", id, all)
			}
			if i > 0 && id <= all[i-1] {
				t.Fatalf("event IDs are not increasing in append order across runs: %v", all)
			}
		}
		// What Events returns is what AppendEvents returned.
		evs := mustEvents(t, s, runID(1), 0, 0)
		if got, want := ids(evs), []int64{all[0], all[1], all[4], all[5]}; !slices.Equal(got, want) {
			t.Errorf("Events(run 1) IDs %v, want %v", got, want)
		}
		for _, e := range evs {
			if e.RunID != runID(1) {
				t.Errorf("stored event RunID %q, want %q", e.RunID, runID(1))
			}
		}
	}},
	{"InputIDIgnored", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)))
		first := mustAppend(t, s, runID(1), logEv("x", 0))
		in := logEv("y", 0)
		in.ID = first[0].ID // a caller-set ID must not be kept
		got := mustAppend(t, s, runID(1), in)
		if got[0].ID <= first[0].ID {
			t.Fatalf("second event got ID %d, not after %d", got[0].ID, first[0].ID)
		}
	}},
	{"FieldsRoundTrip", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)))
		in := []store.Event{
			{Type: store.EventStepStart, Time: at(time.Second).In(time.FixedZone("UTC+2", 7200)), StepKey: "clean/orders"},
			{Type: store.EventLog, Time: at(2 * time.Second), StepKey: "clean/orders", Level: store.LevelWarn, Message: "héllo\nworld \x01"},
			{Type: store.EventStepFailure, Time: at(3 * time.Second), StepKey: "clean/orders", Error: "boom", Metadata: map[string]any{"attempt": 2}},
		}
		got := mustAppend(t, s, runID(1), in...)
		for i := range in {
			in[i].ID, in[i].RunID = got[i].ID, runID(1)
		}
		checkEvents(t, got, in)
		checkEvents(t, mustEvents(t, s, runID(1), 0, 0), in)
	}},
	{"RunNotFound", func(t *testing.T, s store.Store) {
		_, err := s.AppendEvents(t.Context(), unknownRun, logEv("x", 0))
		wantErr(t, "AppendEvents to an unknown run", err, store.ErrRunNotFound)
		_, err = s.AppendEvents(t.Context(), unknownRun, ev(store.EventRunStart, 0))
		wantErr(t, "RUN_START of an unknown run", err, store.ErrRunNotFound)
	}},
	{"RunIDMismatch", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)), newRun(2, "etl", at(0)))
		other := logEv("elsewhere", 0)
		other.RunID = runID(2)
		if _, err := s.AppendEvents(t.Context(), runID(1), logEv("ok", 0), other); err == nil {
			t.Fatal("AppendEvents accepted an event whose RunID names another run")
		}
		if evs := mustEvents(t, s, runID(1), 0, 0); len(evs) != 0 {
			t.Errorf("the rejected call wrote %d events to run 1", len(evs))
		}
		if evs := mustEvents(t, s, runID(2), 0, 0); len(evs) != 0 {
			t.Errorf("the rejected call wrote %d events to run 2", len(evs))
		}
	}},
	{"RunStart", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)))
		mustAppend(t, s, runID(1), logEv("before start", time.Second))
		if r := mustRun(t, s, runID(1)); r.Status != store.RunNotStarted || !r.StartedAt.IsZero() {
			t.Fatalf("a LOG event changed the run: status %s, started %v", r.Status, r.StartedAt)
		}
		mustAppend(t, s, runID(1), ev(store.EventRunStart, 5*time.Second))
		want := newRun(1, "etl", at(0))
		want.Status, want.StartedAt = store.RunStarted, at(5*time.Second)
		checkRun(t, mustRun(t, s, runID(1)), want)
	}},
	{"Terminal", func(t *testing.T, s store.Store) {
		cases := []struct {
			typ    store.EventType
			status store.RunStatus
		}{
			{store.EventRunSuccess, store.RunSuccess},
			{store.EventRunFailure, store.RunFailure},
			{store.EventRunCancel, store.RunCanceled},
		}
		for i, c := range cases {
			r := newRun(i+1, "etl", at(0))
			mustCreate(t, s, r)
			mustAppend(t, s, r.ID, ev(store.EventRunStart, time.Second), logEv("working", 2*time.Second))
			mustAppend(t, s, r.ID, ev(c.typ, 3*time.Second))
			want := r
			want.Status, want.StartedAt, want.EndedAt = c.status, at(time.Second), at(3*time.Second)
			checkRun(t, mustRun(t, s, r.ID), want)
		}
	}},
	{"EndBeforeStart", func(t *testing.T, s store.Store) {
		// A run may fail or be canceled before it starts: EndedAt set, StartedAt zero.
		for i, c := range []struct {
			typ    store.EventType
			status store.RunStatus
		}{{store.EventRunFailure, store.RunFailure}, {store.EventRunCancel, store.RunCanceled}} {
			r := newRun(i+1, "etl", at(0))
			mustCreate(t, s, r)
			mustAppend(t, s, r.ID, store.Event{Type: c.typ, Time: at(time.Second), Error: "invalid plan"})
			want := r
			want.Status, want.EndedAt = c.status, at(time.Second)
			checkRun(t, mustRun(t, s, r.ID), want)
		}
	}},
	{"LifecycleInOneCall", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)))
		got := mustAppend(t, s, runID(1),
			ev(store.EventRunStart, time.Second),
			store.Event{Type: store.EventStepStart, Time: at(2 * time.Second), StepKey: "a"},
			matEv("a", "/data/a/1", 3*time.Second),
			store.Event{Type: store.EventStepSuccess, Time: at(4 * time.Second), StepKey: "a"},
			ev(store.EventRunSuccess, 5*time.Second),
		)
		want := newRun(1, "etl", at(0))
		want.Status, want.StartedAt, want.EndedAt = store.RunSuccess, at(time.Second), at(5*time.Second)
		checkRun(t, mustRun(t, s, runID(1)), want)
		if evs := mustEvents(t, s, runID(1), 0, 0); !slices.Equal(ids(evs), ids(got)) {
			t.Errorf("Events IDs %v, want %v", ids(evs), ids(got))
		}
		if m, err := s.Materializations(t.Context(), "a", 0); err != nil || len(m) != 1 || m[0].ID != got[2].ID {
			t.Errorf("Materializations(a) = %v, %v; want the event %d", ids(m), err, got[2].ID)
		}
	}},
	{"SuccessBeforeStart", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)))
		before := takeSnapshot(t, s, runID(1))
		_, err := s.AppendEvents(t.Context(), runID(1), logEv("x", 0), matEv("a", "/a", 0), ev(store.EventRunSuccess, time.Second))
		wantErr(t, "RUN_SUCCESS on a run never started", err, store.ErrInvalidTransition)
		checkUnchanged(t, s, runID(1), before)
	}},
	{"StartTwice", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)))
		mustAppend(t, s, runID(1), ev(store.EventRunStart, time.Second))
		before := takeSnapshot(t, s, runID(1))
		_, err := s.AppendEvents(t.Context(), runID(1), logEv("x", 0), matEv("a", "/a", 0), ev(store.EventRunStart, 2*time.Second))
		wantErr(t, "a second RUN_START", err, store.ErrInvalidTransition)
		checkUnchanged(t, s, runID(1), before)
	}},
	{"SecondTerminal", func(t *testing.T, s store.Store) {
		for i, first := range []store.EventType{store.EventRunSuccess, store.EventRunFailure, store.EventRunCancel} {
			rid := runID(i + 1)
			mustCreate(t, s, newRun(i+1, "etl", at(0)))
			mustAppend(t, s, rid, ev(store.EventRunStart, time.Second), ev(first, 2*time.Second))
			before := takeSnapshot(t, s, rid)
			for _, second := range []store.EventType{store.EventRunSuccess, store.EventRunFailure, store.EventRunCancel, store.EventRunStart} {
				// The rejected event comes last: the events before it in the same call must not
				// be written either.
				_, err := s.AppendEvents(t.Context(), rid,
					logEv("late", 3*time.Second), matEv("late-asset", "/x", 3*time.Second), ev(second, 4*time.Second))
				wantErr(t, fmt.Sprintf("%s after %s", second, first), err, store.ErrRunFinished)
				checkUnchanged(t, s, rid, before)
			}
		}
	}},
	{"RejectedCallKeepsIDsIncreasing", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)))
		a := mustAppend(t, s, runID(1), logEv("a", 0))
		if _, err := s.AppendEvents(t.Context(), runID(1), logEv("x", 0), ev(store.EventRunSuccess, 0)); err == nil {
			t.Fatal("RUN_SUCCESS before RUN_START was accepted")
		}
		b := mustAppend(t, s, runID(1), logEv("b", 0))
		if b[0].ID <= a[0].ID {
			t.Fatalf("ID after a rejected call %d, not after %d", b[0].ID, a[0].ID)
		}
	}},
	{"LogsAfterFinish", func(t *testing.T, s store.Store) {
		// Only run-status events are refused on a finished run.
		mustCreate(t, s, newRun(1, "etl", at(0)))
		mustAppend(t, s, runID(1), ev(store.EventRunStart, 0), ev(store.EventRunSuccess, time.Second))
		mustAppend(t, s, runID(1), logEv("cleanup done", 2*time.Second))
		if n := len(mustEvents(t, s, runID(1), 0, 0)); n != 3 {
			t.Errorf("%d events, want 3", n)
		}
	}},
}

// snapshot is what a rejected call must leave as it was.
type snapshot struct {
	run    store.Run
	events []int64
	keys   []string
}

func takeSnapshot(t *testing.T, s store.Store, rid string) snapshot {
	t.Helper()
	keys, err := s.AssetKeys(t.Context())
	if err != nil {
		t.Fatalf("AssetKeys: %v", err)
	}
	return snapshot{run: mustRun(t, s, rid), events: ids(mustEvents(t, s, rid, 0, 0)), keys: keys}
}

// checkUnchanged checks that a rejected call left the run, its events and the asset catalog as
// they were in before.
func checkUnchanged(t *testing.T, s store.Store, rid string, before snapshot) {
	t.Helper()
	after := takeSnapshot(t, s, rid)
	checkRun(t, after.run, before.run)
	if !slices.Equal(after.events, before.events) {
		t.Errorf("a rejected call wrote events: IDs %v, want %v", after.events, before.events)
	}
	if !slices.Equal(after.keys, before.keys) {
		t.Errorf("a rejected call changed the asset keys: %q, want %q", after.keys, before.keys)
	}
}

// ---------------------------------------------------------------------------------------------

var eventsTests = []test{
	{"Paging", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)), newRun(2, "etl", at(0)))
		var mine []store.Event
		for i := range 10 {
			mine = append(mine, mustAppend(t, s, runID(1), logEv(fmt.Sprint("m", i), 0))...)
			mustAppend(t, s, runID(2), logEv(fmt.Sprint("o", i), 0)) // interleaved, never returned
		}
		all := ids(mine)
		cases := []struct {
			after int64
			limit int
			want  []int64
		}{
			{0, 0, all},
			{-1, 0, all},
			{0, 3, all[:3]},
			{0, 100, all},
			{all[2], 3, all[3:6]},
			{all[2], 0, all[3:]},
			{all[2] + 1, 0, all[3:]}, // afterID need not be an ID of this run
			{all[8], 5, all[9:]},
			{all[9], 0, nil},
			{all[9] + 1000, 10, nil},
		}
		for _, c := range cases {
			got := mustEvents(t, s, runID(1), c.after, c.limit)
			if !slices.Equal(ids(got), c.want) {
				t.Errorf("Events(after %d, limit %d) = %v, want %v", c.after, c.limit, ids(got), c.want)
			}
		}
		// A cursor walk sees every event once, in order.
		var walked []int64
		for cursor := int64(0); ; {
			page := mustEvents(t, s, runID(1), cursor, 4)
			if len(page) == 0 {
				break
			}
			walked = append(walked, ids(page)...)
			cursor = page[len(page)-1].ID
		}
		if !slices.Equal(walked, all) {
			t.Errorf("paging with limit 4 gave %v, want %v", walked, all)
		}
		for i, e := range mustEvents(t, s, runID(1), 0, 0) {
			if e.Message != fmt.Sprint("m", i) {
				t.Errorf("event %d message %q, want %q", i, e.Message, fmt.Sprint("m", i))
			}
		}
	}},
	{"EmptyRun", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)))
		if evs := mustEvents(t, s, runID(1), 0, 0); len(evs) != 0 {
			t.Errorf("a new run has events %v", ids(evs))
		}
	}},
	{"RunNotFound", func(t *testing.T, s store.Store) {
		_, err := s.Events(t.Context(), unknownRun, 0, 0)
		wantErr(t, "Events of an unknown run", err, store.ErrRunNotFound)
	}},
}

// ---------------------------------------------------------------------------------------------

var materializationTests = []test{
	{"AssetKeys", func(t *testing.T, s store.Store) {
		if keys, err := s.AssetKeys(t.Context()); err != nil || len(keys) != 0 {
			t.Fatalf("AssetKeys on an empty store = %v, %v", keys, err)
		}
		mustCreate(t, s, newRun(1, "etl", at(0)))
		mustAppend(t, s, runID(1), logEv("not an asset", 0))
		for _, k := range []string{"b", "a/b", "a", "a/b/c", "a-b", "a_b", "B", "a/b"} {
			mustAppend(t, s, runID(1), matEv(k, "/data/"+k, 0))
		}
		want := []string{"B", "a", "a-b", "a/b", "a/b/c", "a_b", "b"} // Go string order, once each
		keys, err := s.AssetKeys(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(keys, want) {
			t.Errorf("AssetKeys = %q, want %q", keys, want)
		}
	}},
	{"NoCollisions", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)))
		byKey := map[string][]int64{}
		for i, k := range []string{"a", "a/b", "ab", "a/b/c", "a", "a/b", "a-", "a"} {
			got := mustAppend(t, s, runID(1), matEv(k, fmt.Sprintf("/data/%s/%d", k, i), 0))
			byKey[k] = append(byKey[k], got[0].ID)
		}
		for k, idsAsc := range byKey {
			evs, err := s.Materializations(t.Context(), k, 0)
			if err != nil {
				t.Fatalf("Materializations(%s): %v", k, err)
			}
			want := slices.Clone(idsAsc)
			slices.Reverse(want)
			if !slices.Equal(ids(evs), want) {
				t.Errorf("Materializations(%q) = %v, want %v", k, ids(evs), want)
			}
			for _, e := range evs {
				if e.Materialization == nil || e.Materialization.AssetKey != k {
					t.Errorf("Materializations(%q) returned %+v", k, e.Materialization)
				}
			}
		}
	}},
	{"NewestFirst", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)), newRun(2, "etl", at(time.Hour)))
		var want []store.Event
		for i := range 5 {
			rid := runID(1 + i%2) // across runs
			m := matEv("orders", fmt.Sprintf("/data/orders/%d", i), time.Duration(i)*time.Second)
			m.Materialization.PartitionKey = fmt.Sprint("2025-01-0", i+1)
			m.Materialization.Metadata = map[string]any{"rows": i * 10}
			got := mustAppend(t, s, rid, logEv("noise", 0), m)
			m.ID, m.RunID = got[1].ID, rid
			want = append([]store.Event{m}, want...)
		}
		evs, err := s.Materializations(t.Context(), "orders", 0)
		if err != nil {
			t.Fatal(err)
		}
		checkEvents(t, evs, want)
		for _, limit := range []int{1, 2, 5, 6} {
			evs, err := s.Materializations(t.Context(), "orders", limit)
			if err != nil {
				t.Fatal(err)
			}
			if w := ids(want[:min(limit, len(want))]); !slices.Equal(ids(evs), w) {
				t.Errorf("Materializations(orders, limit %d) = %v, want %v", limit, ids(evs), w)
			}
		}
	}},
	{"Unknown", func(t *testing.T, s store.Store) {
		evs, err := s.Materializations(t.Context(), "never/materialized", 0)
		if err != nil || len(evs) != 0 {
			t.Fatalf("Materializations of an unknown asset = %v, %v; want an empty slice and no error", ids(evs), err)
		}
		latest, err := s.LatestMaterializations(t.Context(), "never/materialized")
		if err != nil || len(latest) != 0 {
			t.Fatalf("LatestMaterializations of an unknown asset = %v, %v; want an empty map", latest, err)
		}
	}},
	{"Latest", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)), newRun(2, "etl", at(0)))
		want := map[string]store.Event{}
		for i, k := range []string{"a", "a/b", "c", "a", "a/b", "a"} {
			rid := runID(1 + i%2)
			m := matEv(k, fmt.Sprintf("/data/%s/%d", k, i), time.Duration(i)*time.Second)
			got := mustAppend(t, s, rid, m)
			want[k] = got[0]
		}
		latest, err := s.LatestMaterializations(t.Context(), "a", "a/b", "missing", "a/b/c", "a", "c")
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Sorted(maps.Keys(latest)); !slices.Equal(got, []string{"a", "a/b", "c"}) {
			t.Fatalf("LatestMaterializations keys %q, want [a a/b c]", got)
		}
		for k, w := range want {
			checkEvent(t, latest[k], w)
		}
		latest, err = s.LatestMaterializations(t.Context())
		if err != nil || len(latest) != 0 {
			t.Errorf("LatestMaterializations() = %v, %v; want an empty map", latest, err)
		}
	}},
}

// ---------------------------------------------------------------------------------------------

var metadataTests = []test{
	{"RoundTrip", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)))
		meta := map[string]any{
			"rows":     42,
			"ratio":    0.25,
			"bytes":    int64(1 << 40),
			"name":     "orders",
			"ok":       true,
			"nothing":  nil,
			"list":     []any{1, "two", false},
			"nested":   map[string]any{"schema": []any{map[string]any{"name": "id", "type": "int64"}}},
			"unicode":  "résumé ✓",
			"empty":    "",
			"negative": -3,
		}
		in := matEv("orders", "/data/orders", 0)
		in.Metadata = meta
		in.Materialization.Metadata = map[string]any{"rows": 7, "columns": []any{"id", "amount"}}
		got := mustAppend(t, s, runID(1), in)
		in.ID, in.RunID = got[0].ID, runID(1)

		evs := mustEvents(t, s, runID(1), 0, 0)
		checkEvents(t, evs, []store.Event{in})
		// Spelled out: numbers come back as float64, as encoding/json decodes them.
		if v, ok := evs[0].Metadata["rows"].(float64); !ok || v != 42 {
			t.Errorf("metadata rows = %#v, want float64(42)", evs[0].Metadata["rows"])
		}
		if v, ok := evs[0].Metadata["bytes"].(float64); !ok || v != 1<<40 {
			t.Errorf("metadata bytes = %#v, want float64(1<<40)", evs[0].Metadata["bytes"])
		}
		if v, ok := evs[0].Metadata["nothing"]; !ok || v != nil {
			t.Errorf("metadata nothing = %#v, %v; want a nil value that is present", v, ok)
		}

		mats, err := s.Materializations(t.Context(), "orders", 0)
		if err != nil {
			t.Fatal(err)
		}
		checkEvents(t, mats, []store.Event{in})
		if v, ok := mats[0].Materialization.Metadata["rows"].(float64); !ok || v != 7 {
			t.Errorf("materialization metadata rows = %#v, want float64(7)", mats[0].Materialization.Metadata["rows"])
		}
		latest, err := s.LatestMaterializations(t.Context(), "orders")
		if err != nil {
			t.Fatal(err)
		}
		checkEvent(t, latest["orders"], in)
	}},
}

// ---------------------------------------------------------------------------------------------

var concurrentTests = []test{
	{"DifferentRuns", func(t *testing.T, s store.Store) {
		const writers, calls, batch = 8, 25, 4
		for w := range writers {
			mustCreate(t, s, newRun(w+1, "etl", at(0)))
		}
		returned := make([][]int64, writers)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				rid := runID(w + 1)
				for c := range calls {
					in := make([]store.Event, batch)
					for i := range in {
						in[i] = logEv(fmt.Sprintf("w%d c%d e%d", w, c, i), 0)
					}
					if c == calls-1 {
						in[0] = ev(store.EventRunStart, 0) // some calls are synced
					}
					got, err := s.AppendEvents(t.Context(), rid, in...)
					if err != nil {
						t.Errorf("writer %d: %v", w, err)
						return
					}
					returned[w] = append(returned[w], ids(got)...)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		seen := map[int64]bool{}
		for w := range writers {
			evs := mustEvents(t, s, runID(w+1), 0, 0)
			if len(evs) != calls*batch {
				t.Errorf("run %d has %d events, want %d", w+1, len(evs), calls*batch)
			}
			if !slices.Equal(ids(evs), returned[w]) {
				t.Errorf("run %d: stored IDs differ from the returned ones", w+1)
			}
			for i, e := range evs {
				if seen[e.ID] {
					t.Fatalf("event ID %d assigned twice", e.ID)
				}
				seen[e.ID] = true
				if i > 0 && e.ID <= evs[i-1].ID {
					t.Fatalf("run %d: IDs not increasing: %v", w+1, ids(evs))
				}
			}
			if r := mustRun(t, s, runID(w+1)); r.Status != store.RunStarted {
				t.Errorf("run %d status %s, want STARTED", w+1, r.Status)
			}
		}
	}},
	{"SameRunWithCursor", func(t *testing.T, s store.Store) {
		// Writers append to one run while a reader follows it with an afterID cursor, as a
		// sensor or a live log view does. IDs must be increasing in commit order: if an event
		// could become visible with an ID below one the reader has already passed, the reader
		// would miss it.
		const writers, calls, batch = 8, 25, 3
		mustCreate(t, s, newRun(1, "etl", at(0)))
		rid := runID(1)
		done := make(chan struct{})
		var read []int64
		var readErr error
		var rwg sync.WaitGroup
		rwg.Go(func() {
			var cursor int64
			for finished := false; ; {
				select {
				case <-done:
					finished = true // one last read after every writer returned
				default:
				}
				page, err := s.Events(t.Context(), rid, cursor, 7)
				if err != nil {
					readErr = err
					return
				}
				for _, e := range page {
					read = append(read, e.ID)
					cursor = e.ID
				}
				if finished && len(page) == 0 {
					return
				}
			}
		})
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for c := range calls {
					in := make([]store.Event, batch)
					for i := range in {
						in[i] = logEv(fmt.Sprintf("w%d c%d e%d", w, c, i), 0)
					}
					if _, err := s.AppendEvents(t.Context(), rid, in...); err != nil {
						t.Errorf("writer %d: %v", w, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(done)
		rwg.Wait()
		if readErr != nil {
			t.Fatal(readErr)
		}
		evs := mustEvents(t, s, rid, 0, 0)
		if len(evs) != writers*calls*batch {
			t.Fatalf("run has %d events, want %d", len(evs), writers*calls*batch)
		}
		for i := 1; i < len(evs); i++ {
			if evs[i].ID <= evs[i-1].ID {
				t.Fatalf("IDs not strictly increasing at %d: %d then %d", i, evs[i-1].ID, evs[i].ID)
			}
		}
		if !slices.Equal(read, ids(evs)) {
			t.Fatalf("the cursor reader saw %d events, the run has %d: an event committed with an ID below the cursor",
				len(read), len(evs))
		}
	}},
	{"StatusRace", func(t *testing.T, s store.Store) {
		// Of several concurrent RUN_STARTs exactly one wins; of several concurrent terminal
		// events exactly one wins.
		const n = 8
		mustCreate(t, s, newRun(1, "etl", at(0)))
		rid := runID(1)
		race := func(mk func(i int) store.Event, loser error) {
			t.Helper()
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					_, errs[i] = s.AppendEvents(t.Context(), rid, logEv(fmt.Sprint("racer ", i), 0), mk(i))
				})
			}
			wg.Wait()
			won := 0
			for i, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, loser):
					t.Errorf("racer %d: error %v, want one wrapping %q", i, err, loser)
				}
			}
			if won != 1 {
				t.Fatalf("%d racers won, want exactly 1", won)
			}
		}
		race(func(int) store.Event { return ev(store.EventRunStart, time.Second) }, store.ErrInvalidTransition)
		terminal := []store.EventType{store.EventRunSuccess, store.EventRunFailure, store.EventRunCancel}
		race(func(i int) store.Event { return ev(terminal[i%3], 2*time.Second) }, store.ErrRunFinished)
		evs := mustEvents(t, s, rid, 0, 0)
		if len(evs) != 4 {
			t.Fatalf("run has events %v, want 4 (two winners, each with its log)", types(evs))
		}
		if r := mustRun(t, s, rid); !r.Status.Finished() || r.StartedAt.IsZero() || r.EndedAt.IsZero() {
			t.Errorf("run after the races: %+v", r)
		}
	}},
}

// ---------------------------------------------------------------------------------------------

var closeTests = []test{
	{"ErrClosed", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)))
		mustAppend(t, s, runID(1), matEv("a", "/a", 0))
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		for name, err := range callAll(t.Context(), s) {
			wantErr(t, name+" after Close", err, store.ErrClosed)
		}
	}},
	{"Twice", func(t *testing.T, s store.Store) {
		if err := s.Close(); err != nil {
			t.Fatalf("first Close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	}},
}

// callAll calls every method but Close once and returns the errors by method name.
func callAll(ctx context.Context, s store.Store) map[string]error {
	errs := map[string]error{}
	errs["CreateRun"] = s.CreateRun(ctx, newRun(2, "etl", at(0)))
	_, errs["Run"] = s.Run(ctx, runID(1))
	_, errs["Runs"] = s.Runs(ctx, store.RunFilter{})
	_, errs["AppendEvents"] = s.AppendEvents(ctx, runID(1), logEv("x", 0))
	_, errs["AppendEvents(RUN_START)"] = s.AppendEvents(ctx, runID(1), ev(store.EventRunStart, 0))
	_, errs["Events"] = s.Events(ctx, runID(1), 0, 0)
	_, errs["AssetKeys"] = s.AssetKeys(ctx)
	_, errs["Materializations"] = s.Materializations(ctx, "a", 0)
	_, errs["LatestMaterializations"] = s.LatestMaterializations(ctx, "a")
	_, errs["CheckEvaluations"] = s.CheckEvaluations(ctx, "a", 0)
	_, errs["AppendEvents(planned)"] = s.AppendEvents(ctx, runID(1), plannedEv("a", 0, "p1"))
	_, errs["PartitionStatuses"] = s.PartitionStatuses(ctx, "a", "", 0)
	_, errs["PartitionStatusesOf"] = s.PartitionStatusesOf(ctx, "a", "p1")
	_, errs["PartitionCounts"] = s.PartitionCounts(ctx, "a")
	_, errs["AddDynamicPartitions"] = s.AddDynamicPartitions(ctx, "dyn", "k")
	errs["DeleteDynamicPartitions"] = s.DeleteDynamicPartitions(ctx, "dyn", "k")
	_, errs["DynamicPartitions"] = s.DynamicPartitions(ctx, "dyn")
	errs["CreateBackfill"] = s.CreateBackfill(ctx, store.Backfill{ID: backfillID(2), Selection: "a"})
	_, errs["Backfill"] = s.Backfill(ctx, backfillID(1))
	_, errs["Backfills"] = s.Backfills(ctx, 0)
	_, errs["SetBackfillStatus"] = s.SetBackfillStatus(ctx, backfillID(1), store.BackfillCanceled, "")
	_, errs["Runs(tags)"] = s.Runs(ctx, store.RunFilter{Tags: map[string]string{"k": "v"}})
	return errs
}

// ---------------------------------------------------------------------------------------------

var contextTests = []test{
	{"Canceled", func(t *testing.T, s store.Store) {
		mustCreate(t, s, newRun(1, "etl", at(0)))
		mustAppend(t, s, runID(1), matEv("a", "/a", 0))
		before := takeSnapshot(t, s, runID(1))
		for name, err := range callAll(canceled(t), s) {
			wantErr(t, name+" with a cancelled context", err, context.Canceled)
		}
		// Nothing was written by the cancelled calls.
		if _, err := s.Run(t.Context(), runID(2)); !errors.Is(err, store.ErrRunNotFound) {
			t.Errorf("CreateRun with a cancelled context created the run (Run: %v)", err)
		}
		checkUnchanged(t, s, runID(1), before)
	}},
	{"DeadlineExceeded", func(t *testing.T, s store.Store) {
		ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
		defer cancel()
		_, err := s.Runs(ctx, store.RunFilter{})
		wantErr(t, "Runs past its deadline", err, context.DeadlineExceeded)
	}},
}

var checkEvaluationTests = []test{
	{"indexed per asset, newest first", func(t *testing.T, s store.Store) {
		r := newRun(1, "job", at(0))
		mustCreate(t, s, r)
		eval := func(asset, check string, passed bool) store.Event {
			return store.Event{Type: store.EventCheckEvaluation, Time: at(time.Second),
				CheckEvaluation: &store.CheckEvaluation{AssetKey: asset, CheckName: check, Passed: passed, Severity: "ERROR"}}
		}
		mustAppend(t, s, r.ID, eval("a", "positive", true), eval("a/b", "positive", false), eval("a", "not_null", false))
		got, err := s.CheckEvaluations(context.Background(), "a", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].CheckEvaluation.CheckName != "not_null" || got[1].CheckEvaluation.CheckName != "positive" || got[0].CheckEvaluation.Passed {
			t.Fatalf("evaluations of a = %+v", got)
		}
		if got, _ := s.CheckEvaluations(context.Background(), "a", 1); len(got) != 1 || got[0].CheckEvaluation.CheckName != "not_null" {
			t.Errorf("limit 1 = %+v", got)
		}
		if got, _ := s.CheckEvaluations(context.Background(), "a/b", 0); len(got) != 1 || got[0].CheckEvaluation.Passed {
			t.Errorf("evaluations of a/b = %+v", got)
		}
		if got, err := s.CheckEvaluations(context.Background(), "never", 0); err != nil || len(got) != 0 {
			t.Errorf("unknown asset: %v, %v", got, err)
		}
	}},
	{"an evaluation event must carry its payload", func(t *testing.T, s store.Store) {
		r := newRun(1, "job", at(0))
		mustCreate(t, s, r)
		if _, err := s.AppendEvents(context.Background(), r.ID, store.Event{Type: store.EventCheckEvaluation, Time: at(0)}); err == nil {
			t.Error("accepted an ASSET_CHECK_EVALUATION event without a check evaluation")
		}
	}},
}

// kvTests run against stores that implement store.KV; others skip them.
var kvTests = []test{
	{"put get delete", func(t *testing.T, s store.Store) {
		kv := kvOf(t, s)
		ctx := t.Context()
		if _, found, err := kv.KVGet(ctx, "ns", "missing"); err != nil || found {
			t.Fatalf("get missing: found %v, %v", found, err)
		}
		if err := kv.KVPut(ctx, "ns", "k", []byte("v1")); err != nil {
			t.Fatal(err)
		}
		if err := kv.KVPut(ctx, "ns", "k", []byte("v2")); err != nil {
			t.Fatal(err)
		}
		if v, found, err := kv.KVGet(ctx, "ns", "k"); err != nil || !found || string(v) != "v2" {
			t.Fatalf("get = %q %v %v, want the last value put", v, found, err)
		}
		if err := kv.KVPut(ctx, "ns", "empty", nil); err != nil {
			t.Fatal(err)
		}
		if v, found, err := kv.KVGet(ctx, "ns", "empty"); err != nil || !found || len(v) != 0 {
			t.Fatalf("empty value = %q %v %v", v, found, err)
		}
		if err := kv.KVDelete(ctx, "ns", "k"); err != nil {
			t.Fatal(err)
		}
		if err := kv.KVDelete(ctx, "ns", "k"); err != nil {
			t.Fatalf("deleting a missing key: %v", err)
		}
		if _, found, _ := kv.KVGet(ctx, "ns", "k"); found {
			t.Fatal("deleted key still found")
		}
	}},
	{"namespaces are separate", func(t *testing.T, s store.Store) {
		kv := kvOf(t, s)
		ctx := t.Context()
		kv.KVPut(ctx, "a", "k", []byte("in a"))
		kv.KVPut(ctx, "ab", "k", []byte("in ab"))
		if v, _, _ := kv.KVGet(ctx, "a", "k"); string(v) != "in a" {
			t.Errorf("a/k = %q", v)
		}
		if keys, _ := kv.KVList(ctx, "a", "", 0); len(keys) != 1 {
			t.Errorf("namespace a lists %q; a namespace that is a prefix of another must not see its keys", keys)
		}
		if _, found, _ := kv.KVGet(ctx, "b", "k"); found {
			t.Error("namespace b sees a's key")
		}
	}},
	{"list by prefix in byte order with a limit", func(t *testing.T, s store.Store) {
		kv := kvOf(t, s)
		ctx := t.Context()
		for _, k := range []string{"2026-02", "2025-12", "2026-01", "other", "2026-01-x"} {
			if err := kv.KVPut(ctx, "ns", k, []byte(k)); err != nil {
				t.Fatal(err)
			}
		}
		keys, err := kv.KVList(ctx, "ns", "2026-", 0)
		if err != nil || strings.Join(keys, ",") != "2026-01,2026-01-x,2026-02" {
			t.Fatalf("list = %q %v", keys, err)
		}
		keys, _ = kv.KVList(ctx, "ns", "", 2)
		if strings.Join(keys, ",") != "2025-12,2026-01" {
			t.Fatalf("list with limit 2 = %q", keys)
		}
	}},
}

func kvOf(t *testing.T, s store.Store) store.KV {
	kv, ok := s.(store.KV)
	if !ok {
		t.Skip("the store does not implement store.KV")
	}
	return kv
}
