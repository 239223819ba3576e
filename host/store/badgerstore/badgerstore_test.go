package badgerstore

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wasmorch/wasmorch/host/store"
	"github.com/wasmorch/wasmorch/host/store/storetest"
)

func openTest(t testing.TB, dir string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(dir, opts...)
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformanceOnDisk(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t, t.TempDir()) })
}

func TestConformanceInMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t, "", WithInMemory()) })
}

var t0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

const (
	run1 = "6f1c2b9e-3d4a-4c5b-8e7f-0a1b2c3d4e5f"
	run2 = "7a2d3c0f-4e5b-4d6c-9f80-1b2c3d4e5f60"
)

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()

	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRun(ctx, store.Run{ID: run1, JobName: "etl", CreatedAt: t0, Tags: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	first, err := s.AppendEvents(ctx, run1,
		store.Event{Type: store.EventRunStart, Time: t0.Add(time.Second)},
		store.Event{Type: store.EventMaterialization, Time: t0.Add(2 * time.Second), Materialization: &store.Materialization{
			AssetKey: "raw/orders", Format: "arrow", Location: "/data/raw/orders", IOManager: "fs", CodeVersion: "sha256:1",
			Metadata: map[string]any{"rows": 3},
		}},
		store.Event{Type: store.EventRunSuccess, Time: t0.Add(3 * time.Second)},
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, dir)
	r, err := s.Run(ctx, run1)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != store.RunSuccess || !r.CreatedAt.Equal(t0) || !r.StartedAt.Equal(t0.Add(time.Second)) ||
		!r.EndedAt.Equal(t0.Add(3*time.Second)) || r.Tags["k"] != "v" {
		t.Errorf("run after reopen: %+v", r)
	}
	evs, err := s.Events(ctx, run1, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[0].ID != first[0].ID || evs[2].ID != first[2].ID {
		t.Fatalf("events after reopen: %+v", evs)
	}
	keys, err := s.AssetKeys(ctx)
	if err != nil || !slices.Equal(keys, []string{"raw/orders"}) {
		t.Errorf("AssetKeys after reopen = %q, %v", keys, err)
	}
	latest, err := s.LatestMaterializations(ctx, "raw/orders")
	if err != nil || latest["raw/orders"].ID != first[1].ID || latest["raw/orders"].Materialization.Metadata["rows"] != 3.0 {
		t.Errorf("LatestMaterializations after reopen = %+v, %v", latest, err)
	}
	runs, err := s.Runs(ctx, store.RunFilter{Statuses: []store.RunStatus{store.RunSuccess}})
	if err != nil || len(runs) != 1 || runs[0].ID != run1 {
		t.Errorf("Runs after reopen = %+v, %v", runs, err)
	}

	// New IDs continue past the old ones, in another run too.
	if err := s.CreateRun(ctx, store.Run{ID: run2, JobName: "etl", CreatedAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	next, err := s.AppendEvents(ctx, run2, store.Event{Type: store.EventLog, Message: "after reopen"})
	if err != nil {
		t.Fatal(err)
	}
	if next[0].ID <= first[2].ID {
		t.Errorf("ID after reopen %d, not past %d", next[0].ID, first[2].ID)
	}
	if next[0].Time.IsZero() {
		t.Error("an event appended with a zero Time was not given one")
	}
	if _, err := s.AppendEvents(ctx, run1, store.Event{Type: store.EventRunFailure}); !errors.Is(err, store.ErrRunFinished) {
		t.Errorf("RUN_FAILURE after reopen of a finished run: %v, want ErrRunFinished", err)
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir)
	s, err := Open(dir)
	if err == nil {
		s.Close()
		t.Fatal("a second Open of the same directory succeeded")
	}
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second Open: %v, want an error wrapping store.ErrLocked", err)
	}
	for _, want := range []string{dir, "another wasmorch process"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(""); err == nil {
		t.Error("Open of an empty directory name succeeded")
	}
	// A format this code does not know is refused, naming the key.
	dir := t.TempDir()
	s := openTest(t, dir)
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyFormat, []byte("99")) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(dir); err == nil {
		s.Close()
		t.Fatal("Open of a store in format 99 succeeded")
	} else if !strings.Contains(err.Error(), `"v/format"`) || !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name the key and the directory", err)
	}
}

// TestCorruptRecords writes garbage under each kind of key and expects errors naming the key.
func TestCorruptRecords(t *testing.T) {
	ctx := t.Context()
	cases := []struct {
		name    string
		corrupt func(s *Store, ids []int64) (key []byte, value []byte)
		call    func(s *Store) error
	}{
		{"run", func(s *Store, _ []int64) ([]byte, []byte) { return runKey(run1), []byte("{not json") },
			func(s *Store) error { _, err := s.Run(ctx, run1); return err }},
		{"run in Runs", func(s *Store, _ []int64) ([]byte, []byte) { return runKey(run1), []byte(`"a string"`) },
			func(s *Store) error { _, err := s.Runs(ctx, store.RunFilter{}); return err }},
		// A status change decodes the run record (other events only check that it exists).
		{"run on append", func(s *Store, _ []int64) ([]byte, []byte) { return runKey(run1), []byte(`[]`) },
			func(s *Store) error {
				_, err := s.AppendEvents(ctx, run1, store.Event{Type: store.EventRunStart})
				return err
			}},
		{"run holding another id", func(s *Store, _ []int64) ([]byte, []byte) {
			return runKey(run1), []byte(`{"id":"` + run2 + `"}`)
		}, func(s *Store) error { _, err := s.Run(ctx, run1); return err }},
		{"run index", func(s *Store, _ []int64) ([]byte, []byte) { return []byte(nsByTime + "short"), nil },
			func(s *Store) error { _, err := s.Runs(ctx, store.RunFilter{}); return err }},
		{"dangling run index", func(s *Store, _ []int64) ([]byte, []byte) { return byTimeKey(t0, run2), nil },
			func(s *Store) error { _, err := s.Runs(ctx, store.RunFilter{}); return err }},
		{"event", func(s *Store, ids []int64) ([]byte, []byte) { return eventKey(run1, ids[0]), []byte{0xff, 0x00} },
			func(s *Store) error { _, err := s.Events(ctx, run1, 0, 0); return err }},
		{"materialization", func(s *Store, ids []int64) ([]byte, []byte) { return matKey("a/b", ids[1]), []byte("nope") },
			func(s *Store) error { _, err := s.Materializations(ctx, "a/b", 0); return err }},
		{"materialization of another asset", func(s *Store, ids []int64) ([]byte, []byte) {
			return matKey("a/b", ids[1]), []byte(`{"id":1,"type":"LOG"}`)
		}, func(s *Store) error { _, err := s.LatestMaterializations(ctx, "a/b"); return err }},
		{"last id", func(s *Store, _ []int64) ([]byte, []byte) { return keyLastID, []byte("x") },
			func(s *Store) error {
				// Only read on open.
				dir := s.dir
				s.Close()
				s2, err := Open(dir)
				if err == nil {
					s2.Close()
				}
				return err
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTest(t, dir)
			if err := s.CreateRun(ctx, store.Run{ID: run1, JobName: "etl", CreatedAt: t0}); err != nil {
				t.Fatal(err)
			}
			evs, err := s.AppendEvents(ctx, run1,
				store.Event{Type: store.EventLog, Message: "x"},
				store.Event{Type: store.EventMaterialization, Materialization: &store.Materialization{AssetKey: "a/b"}})
			if err != nil {
				t.Fatal(err)
			}
			key, value := c.corrupt(s, []int64{evs[0].ID, evs[1].ID})
			if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(key, value) }); err != nil {
				t.Fatal(err)
			}
			err = c.call(s)
			if err == nil {
				t.Fatal("no error reading a corrupt record")
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", key)) {
				t.Errorf("error %q does not name the key %q", err, key)
			}
			if !strings.HasPrefix(err.Error(), "badgerstore: ") {
				t.Errorf("error %q does not say where it comes from", err)
			}
		})
	}
}

func TestRunIDPrefixes(t *testing.T) {
	// Run ids and asset keys where one is a prefix of the other never see each other's keys.
	ctx := t.Context()
	s := openTest(t, "", WithInMemory())
	for _, id := range []string{"a", "a/b", "ab", "a~"} {
		if err := s.CreateRun(ctx, store.Run{ID: id, JobName: "j", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AppendEvents(ctx, "a/b", store.Event{Type: store.EventLog}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendEvents(ctx, "a~", store.Event{Type: store.EventLog}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]int{"a": 0, "a/b": 1, "ab": 0, "a~": 1} {
		evs, err := s.Events(ctx, id, 0, 0)
		if err != nil || len(evs) != want {
			t.Errorf("Events(%q) = %d events, %v; want %d", id, len(evs), err, want)
		}
	}
	runs, err := s.Runs(ctx, store.RunFilter{})
	if err != nil || len(runs) != 4 {
		t.Fatalf("Runs = %v, %v", runs, err)
	}
	// Same instant: id descending, bytewise.
	var got []string
	for _, r := range runs {
		got = append(got, r.ID)
	}
	if want := []string{"a~", "ab", "a/b", "a"}; !slices.Equal(got, want) {
		t.Errorf("Runs order %q, want %q", got, want)
	}
}

func TestValidation(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, "", WithInMemory())
	for _, id := range []string{"", "bad\x00id", "bad\xffid"} {
		if err := s.CreateRun(ctx, store.Run{ID: id}); err == nil {
			t.Errorf("CreateRun accepted the run id %q", id)
		}
	}
	if err := s.CreateRun(ctx, store.Run{ID: run1, JobName: "etl"}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Run(ctx, run1)
	if err != nil || r.CreatedAt.IsZero() {
		t.Errorf("a zero CreatedAt was not set: %+v, %v", r, err)
	}
	bad := []struct {
		name string
		ev   store.Event
	}{
		{"no type", store.Event{}},
		{"materialization without payload", store.Event{Type: store.EventMaterialization}},
		{"payload on a log", store.Event{Type: store.EventLog, Materialization: &store.Materialization{AssetKey: "a"}}},
		{"empty asset key", store.Event{Type: store.EventMaterialization, Materialization: &store.Materialization{}}},
		{"NUL in asset key", store.Event{Type: store.EventMaterialization, Materialization: &store.Materialization{AssetKey: "a\x00b"}}},
		{"invalid UTF-8 in asset key", store.Event{Type: store.EventMaterialization, Materialization: &store.Materialization{AssetKey: "a\xffb"}}},
		{"another run", store.Event{Type: store.EventLog, RunID: run2}},
		{"unencodable metadata", store.Event{Type: store.EventLog, Metadata: map[string]any{"f": func() {}}}},
		{"NaN metadata", store.Event{Type: store.EventLog, Metadata: map[string]any{"nan": nanValue()}}},
	}
	for _, b := range bad {
		if _, err := s.AppendEvents(ctx, run1, store.Event{Type: store.EventLog, Message: "ok"}, b.ev); err == nil {
			t.Errorf("%s: accepted", b.name)
		}
	}
	evs, err := s.Events(ctx, run1, 0, 0)
	if err != nil || len(evs) != 0 {
		t.Errorf("rejected calls wrote %d events (%v)", len(evs), err)
	}
	// An empty append writes nothing but still checks the run.
	if got, err := s.AppendEvents(ctx, run1); err != nil || len(got) != 0 {
		t.Errorf("empty AppendEvents = %v, %v", got, err)
	}
	if _, err := s.AppendEvents(ctx, run2); !errors.Is(err, store.ErrRunNotFound) {
		t.Errorf("empty AppendEvents to an unknown run: %v, want ErrRunNotFound", err)
	}
	for _, limit := range []int{-1} {
		if _, err := s.Events(ctx, run1, 0, limit); err == nil {
			t.Error("Events accepted a negative limit")
		}
		if _, err := s.Runs(ctx, store.RunFilter{Limit: limit}); err == nil {
			t.Error("Runs accepted a negative limit")
		}
		if _, err := s.Materializations(ctx, "a", limit); err == nil {
			t.Error("Materializations accepted a negative limit")
		}
	}
}

func nanValue() float64 {
	var zero float64
	return zero / zero
}

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	bl := badgerLogger{l}
	bl.Infof("chatty %d", 1)
	bl.Debugf("chattier %d", 2)
	bl.Warningf("careful %d\n", 3)
	bl.Errorf("broken %d", 4)
	out := buf.String()
	if strings.Contains(out, "chatty") || !strings.Contains(out, "careful 3") || !strings.Contains(out, "broken 4") ||
		!strings.Contains(out, "component=badger") {
		t.Errorf("logger output:\n%s", out)
	}
	// Without a logger nothing is written anywhere (and nothing panics).
	badgerLogger{}.Errorf("x")

	// Opening with a logger: Badger's info lines on open are dropped.
	buf.Reset()
	s := openTest(t, t.TempDir(), WithLogger(l))
	s.Close()
	if buf.Len() != 0 {
		t.Errorf("Badger logged on a clean open/close:\n%s", buf.String())
	}
}
