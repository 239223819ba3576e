package badgerstore

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wasmorch/wasmorch/host/store"
)

func planned(asset string, keys ...string) store.Event {
	return store.Event{Type: store.EventMaterializationPlanned, Time: t0,
		Planned: &store.PlannedMaterialization{AssetKey: asset, PartitionKeys: keys}}
}

func partMat(asset, partition string) store.Event {
	return store.Event{Type: store.EventMaterialization, Time: t0.Add(time.Second),
		Materialization: &store.Materialization{AssetKey: asset, PartitionKey: partition, Format: "json"}}
}

func days(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = t0.AddDate(0, 0, i).Format("2006-01-02")
	}
	return keys
}

// stateString renders an asset's index compactly for comparisons: "key=STATE@run" each.
func stateString(t *testing.T, s *Store, asset string) string {
	t.Helper()
	st, err := s.PartitionStatuses(t.Context(), asset, "", 0)
	if err != nil {
		t.Fatalf("PartitionStatuses(%q): %v", asset, err)
	}
	var b strings.Builder
	for _, p := range st {
		fmt.Fprintf(&b, "%s=%s@%s ", p.Key, p.State, p.RunID)
	}
	return strings.TrimSpace(b.String())
}

// TestReopenIndexes checks that what the new namespaces hold survives a restart: the partition
// index and its counts, a running run's plan (so that it still fails its partitions when it ends
// after the restart), run tags, dynamic partitions and backfills.
func TestReopenIndexes(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateRun(ctx, store.Run{ID: run1, JobName: "etl", CreatedAt: t0, Tags: map[string]string{store.BackfillTag: "bf1"}}))
	must(s.CreateRun(ctx, store.Run{ID: run2, JobName: "etl", CreatedAt: t0.Add(time.Second), Tags: map[string]string{store.BackfillTag: "bf2"}}))
	_, err = s.AppendEvents(ctx, run1, store.Event{Type: store.EventRunStart}, planned("daily", days(4)...), partMat("daily", days(4)[0]))
	must(err)
	_, err = s.AppendEvents(ctx, run2, store.Event{Type: store.EventRunStart}, planned("daily", days(4)[3]), store.Event{Type: store.EventRunFailure})
	must(err)
	_, err = s.AddDynamicPartitions(ctx, "customers", "zeta", "alpha", "mid")
	must(err)
	must(s.DeleteDynamicPartitions(ctx, "customers", "alpha"))
	must(s.CreateBackfill(ctx, store.Backfill{ID: "bf1", Selection: "daily+", PartitionKeys: days(4), CreatedAt: t0}))
	must(s.CreateBackfill(ctx, store.Backfill{ID: "bf2", Selection: "daily", CreatedAt: t0.Add(time.Second)}))
	_, err = s.SetBackfillStatus(ctx, "bf2", store.BackfillCanceled, "stopped by user")
	must(err)
	before := stateString(t, s, "daily")
	countsBefore, err := s.PartitionCounts(ctx, "daily")
	must(err)
	must(s.Close())

	s = openTest(t, dir)
	if got := stateString(t, s, "daily"); got != before {
		t.Errorf("index after reopen:\n %s\nwant\n %s", got, before)
	}
	if c, err := s.PartitionCounts(ctx, "daily"); err != nil || c != countsBefore || c != (store.PartitionCounts{Materialized: 1, Failed: 1, InProgress: 2}) {
		t.Errorf("counts after reopen = %+v, %v; before %+v", c, err, countsBefore)
	}
	runs, err := s.Runs(ctx, store.RunFilter{Tags: map[string]string{store.BackfillTag: "bf1"}})
	if err != nil || len(runs) != 1 || runs[0].ID != run1 {
		t.Errorf("Runs(tag bf1) after reopen = %v, %v", runs, err)
	}
	if keys, err := s.DynamicPartitions(ctx, "customers"); err != nil || !slices.Equal(keys, []string{"zeta", "mid"}) {
		t.Errorf("dynamic partitions after reopen = %q, %v", keys, err)
	}
	if bfs, err := s.Backfills(ctx, 0); err != nil || len(bfs) != 2 || bfs[0].ID != "bf2" || bfs[0].Status != store.BackfillCanceled ||
		bfs[0].Error != "stopped by user" || bfs[0].EndedAt.IsZero() || len(bfs[1].PartitionKeys) != 4 {
		t.Errorf("backfills after reopen = %+v, %v", bfs, err)
	}

	// Run 1's plan survived: ending it now fails the two partitions still its own.
	if _, err := s.AppendEvents(ctx, run1, store.Event{Type: store.EventRunCancel}); err != nil {
		t.Fatal(err)
	}
	d := days(4)
	want := fmt.Sprintf("%s=MATERIALIZED@%s %s=FAILED@%s %s=FAILED@%s %s=FAILED@%s", d[0], run1, d[1], run1, d[2], run1, d[3], run2)
	if got := stateString(t, s, "daily"); got != want {
		t.Errorf("after run 1 ended:\n %s\nwant\n %s", got, want)
	}
	if c, _ := s.PartitionCounts(ctx, "daily"); c != (store.PartitionCounts{Materialized: 1, Failed: 3}) {
		t.Errorf("counts after run 1 ended = %+v", c)
	}
	// Its plan is gone: nothing is left under q/ or o/.
	for _, ns := range []string{nsPlanned, nsPlanBudget} {
		if n := countKeys(t, s, []byte(ns)); n != 0 {
			t.Errorf("%d keys left under %s after every run ended", n, ns)
		}
	}
}

func countKeys(t *testing.T, s *Store, prefix []byte) int {
	t.Helper()
	n := 0
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPlanBudget checks the limit on what one run may plan: the transaction that ends a run
// must finish every partition it planned, so a run may not plan more than that transaction can
// hold. A small memtable makes Badger's limits small (1638 entries per transaction).
func TestPlanBudget(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, t.TempDir(), withMemTableSize(1<<20))
	if err := s.CreateRun(ctx, store.Run{ID: run1, JobName: "etl", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendEvents(ctx, run1, store.Event{Type: store.EventRunStart}); err != nil {
		t.Fatal(err)
	}
	keys := days(2000)
	const chunk = 100
	accepted := 0
	var refused error
	for i := 0; i < len(keys); i += chunk {
		_, err := s.AppendEvents(ctx, run1, planned("daily", keys[i:i+chunk]...))
		if err != nil {
			refused = err
			break
		}
		accepted += chunk
	}
	if refused == nil {
		t.Fatalf("planning %d partitions in one run was accepted; the limit is %d entries", len(keys), s.planLimit.entries)
	}
	if !strings.Contains(refused.Error(), "plan fewer partitions per run") || !strings.Contains(refused.Error(), run1) {
		t.Errorf("refusal %q does not say what to do", refused)
	}
	if accepted == 0 || int64(2*(accepted+chunk)) <= s.planLimit.entries/2 {
		t.Fatalf("accepted %d partitions, refused at %d; the limit is %d entries", accepted, accepted+chunk, s.planLimit.entries)
	}
	t.Logf("accepted %d partitions in chunks of %d, refused the next chunk: %v", accepted, chunk, refused)
	// The refused call wrote nothing.
	if c, _ := s.PartitionCounts(ctx, "daily"); c.InProgress != accepted {
		t.Errorf("%d partitions in progress, want the %d accepted", c.InProgress, accepted)
	}
	evs, _ := s.Events(ctx, run1, 0, 0)
	if len(evs) != 1+accepted/chunk {
		t.Errorf("%d events, want %d", len(evs), 1+accepted/chunk)
	}
	// Re-planning partitions the run already holds costs nothing more.
	if _, err := s.AppendEvents(ctx, run1, planned("daily", keys[:chunk]...)); err != nil {
		t.Errorf("re-planning the run's own partitions: %v", err)
	}
	// And the run can still end, failing all of them in one transaction.
	if _, err := s.AppendEvents(ctx, run1, store.Event{Type: store.EventRunFailure}); err != nil {
		t.Fatalf("ending a run at its plan limit: %v", err)
	}
	if c, _ := s.PartitionCounts(ctx, "daily"); c != (store.PartitionCounts{Failed: accepted}) {
		t.Errorf("counts after the run ended = %+v, want %d failed", c, accepted)
	}

	// A single planned event past the limit is refused whole too.
	if err := s.CreateRun(ctx, store.Run{ID: run2, JobName: "etl", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendEvents(ctx, run2, planned("other", keys...)); err == nil {
		t.Fatal("a planned event of 2000 partitions was accepted")
	}
	if c, _ := s.PartitionCounts(ctx, "other"); c != (store.PartitionCounts{}) {
		t.Errorf("the refused event left counts %+v", c)
	}
	if n := countKeys(t, s, []byte(nsPlanned)); n != 0 {
		t.Errorf("the refused event left %d q/ keys", n)
	}
}

// TestPlanLimitDefault checks the documented order of magnitude of the limit with Badger's
// default options: a planned event of 10,000 daily partitions (the storetest case) is far
// within it, and one of 50,000 is refused whole.
func TestPlanLimitDefault(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, "", WithInMemory())
	if err := s.CreateRun(ctx, store.Run{ID: run1, JobName: "etl", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	_, err := s.AppendEvents(ctx, run1, planned("daily", days(50_000)...))
	if err == nil || !strings.Contains(err.Error(), "plan fewer partitions per run") {
		t.Fatalf("a planned event of 50,000 partitions: %.300v, want the plan limit", err)
	}
	if n := countKeys(t, s, []byte(nsPartition)); n != 0 {
		t.Errorf("the refused event left %d p/ keys", n)
	}
	t.Logf("limit: %d entries, %d bytes (about %d planned partitions of short keys)", s.planLimit.entries, s.planLimit.size, s.planLimit.entries/2)
	if s.planLimit.entries/2 < 30_000 {
		t.Errorf("the plan limit is %d partitions; the doc comment of AppendEvents says about 39,000", s.planLimit.entries/2)
	}
}

// TestMigrateFrom1 opens a store written in format 1 (no tag or partition index) and expects
// both built from its runs and materializations.
func TestMigrateFrom1(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{run1, run2} {
		if err := s.CreateRun(ctx, store.Run{ID: id, JobName: "etl", CreatedAt: t0.Add(time.Duration(i) * time.Second),
			Tags: map[string]string{store.BackfillTag: "bf", "n": fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AppendEvents(ctx, run1, partMat("a", "p1"), partMat("a", "p2"), partMat("b", "p1"), partMat("a", ""),
		store.Event{Type: store.EventLog}); err != nil {
		t.Fatal(err)
	}
	latest, err := s.AppendEvents(ctx, run2, partMat("a", "p1"))
	if err != nil {
		t.Fatal(err)
	}
	want := stateString(t, s, "a") + " | " + stateString(t, s, "b")
	// Make it a format-1 store: no g/, p/ or n/ keys.
	for _, ns := range []string{nsRunTag, nsPartition, nsPartCounts} {
		if err := s.db.DropPrefix([]byte(ns)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyFormat, []byte(formatVersion1)) }); err != nil {
		t.Fatal(err)
	}
	if st := stateString(t, s, "a"); st != "" {
		t.Fatalf("index not dropped: %s", st)
	}
	s.Close()

	s = openTest(t, dir)
	if got := stateString(t, s, "a") + " | " + stateString(t, s, "b"); got != want {
		t.Errorf("after migration:\n %s\nwant\n %s", got, want)
	}
	of, err := s.PartitionStatusesOf(ctx, "a", "p1")
	if err != nil || of["p1"].EventID != latest[0].ID || of["p1"].RunID != run2 || !of["p1"].Time.Equal(latest[0].Time) {
		t.Errorf("a/p1 after migration = %+v, %v; want the newest materialization, event %d", of, err, latest[0].ID)
	}
	for asset, wc := range map[string]store.PartitionCounts{"a": {Materialized: 2}, "b": {Materialized: 1}} {
		if c, err := s.PartitionCounts(ctx, asset); err != nil || c != wc {
			t.Errorf("counts of %s after migration = %+v, %v; want %+v", asset, c, err, wc)
		}
	}
	runs, err := s.Runs(ctx, store.RunFilter{Tags: map[string]string{store.BackfillTag: "bf"}})
	if err != nil || len(runs) != 2 || runs[0].ID != run2 {
		t.Errorf("Runs(tag) after migration = %v, %v", runs, err)
	}
	runs, err = s.Runs(ctx, store.RunFilter{Tags: map[string]string{"n": "0"}})
	if err != nil || len(runs) != 1 || runs[0].ID != run1 {
		t.Errorf("Runs(tag n=0) after migration = %v, %v", runs, err)
	}
	var format string
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(keyFormat)
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		format = string(v)
		return err
	})
	if err != nil || format != formatVersion {
		t.Errorf("format after migration %q, %v; want %q", format, err, formatVersion)
	}

	// Running it again (as after a migration cut short) changes nothing.
	if err := migrateFrom1(s.db); err != nil {
		t.Fatal(err)
	}
	if got := stateString(t, s, "a") + " | " + stateString(t, s, "b"); got != want {
		t.Errorf("after a second migration:\n %s\nwant\n %s", got, want)
	}
	if c, _ := s.PartitionCounts(ctx, "a"); c != (store.PartitionCounts{Materialized: 2}) {
		t.Errorf("counts of a after a second migration = %+v", c)
	}
}

func TestTagValidation(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, "", WithInMemory())
	for _, tags := range []map[string]string{{"": "v"}, {"k\x00": "v"}, {"k": "v\x00"}, {"k\xff": "v"}, {"k": "\xff"}} {
		err := s.CreateRun(ctx, store.Run{ID: run1, JobName: "etl", CreatedAt: t0, Tags: tags})
		if err == nil {
			t.Errorf("CreateRun accepted the tags %q", tags)
		}
	}
	if _, err := s.Run(ctx, run1); !errors.Is(err, store.ErrRunNotFound) {
		t.Errorf("a refused CreateRun stored the run: %v", err)
	}
	// An empty value is a value.
	if err := s.CreateRun(ctx, store.Run{ID: run1, JobName: "etl", CreatedAt: t0, Tags: map[string]string{"k": ""}}); err != nil {
		t.Fatal(err)
	}
	runs, err := s.Runs(ctx, store.RunFilter{Tags: map[string]string{"k": ""}})
	if err != nil || len(runs) != 1 {
		t.Errorf("Runs(k=\"\") = %v, %v", runs, err)
	}
	// A filter no run can match is an empty answer, not an error.
	runs, err = s.Runs(ctx, store.RunFilter{Tags: map[string]string{"k\x00": ""}})
	if err != nil || len(runs) != 0 {
		t.Errorf("Runs(NUL tag) = %v, %v", runs, err)
	}
}

// TestCorruptIndexRecords writes garbage under the new kinds of key and expects errors naming
// the key.
func TestCorruptIndexRecords(t *testing.T) {
	ctx := t.Context()
	cases := []struct {
		name  string
		key   []byte
		value []byte
		call  func(s *Store) error
	}{
		{"partition status", partitionKey("daily", "2025-01-01"), []byte("short"),
			func(s *Store) error { _, err := s.PartitionStatuses(ctx, "daily", "", 0); return err }},
		{"partition state", partitionKey("daily", "2025-01-01"), append([]byte("X"), make([]byte, statusLen)...),
			func(s *Store) error { _, err := s.PartitionStatusesOf(ctx, "daily", "2025-01-01"); return err }},
		{"partition status on append", partitionKey("daily", "2025-01-01"), []byte("short"),
			func(s *Store) error { _, err := s.AppendEvents(ctx, run1, partMat("daily", "2025-01-01")); return err }},
		{"counts", partCountsKey("daily"), []byte("x"),
			func(s *Store) error { _, err := s.PartitionCounts(ctx, "daily"); return err }},
		{"negative counts", partCountsKey("daily"), counts{failed: -1}.encode(),
			func(s *Store) error { _, err := s.PartitionCounts(ctx, "daily"); return err }},
		{"plan budget", planBudgetKey(run1), []byte("x"),
			func(s *Store) error {
				_, err := s.AppendEvents(ctx, run1, store.Event{Type: store.EventRunFailure})
				return err
			}},
		{"backfill", backfillKey("bf"), []byte("{"),
			func(s *Store) error { _, err := s.Backfill(ctx, "bf"); return err }},
		{"dangling backfill index", backfillAgeKey(t0, "gone"), nil,
			func(s *Store) error { _, err := s.Backfills(ctx, 0); return err }},
		{"dangling run tag index", runTagKey("k", "v", t0, run2), nil,
			func(s *Store) error {
				_, err := s.Runs(ctx, store.RunFilter{Tags: map[string]string{"k": "v"}})
				return err
			}},
		{"dynamic membership", dynamicMemberKey("d", "a"), []byte("x"),
			func(s *Store) error { return s.DeleteDynamicPartitions(ctx, "d", "a") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := openTest(t, "", WithInMemory())
			if err := s.CreateRun(ctx, store.Run{ID: run1, JobName: "etl", CreatedAt: t0}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AppendEvents(ctx, run1, store.Event{Type: store.EventRunStart}, planned("daily", "2025-01-01")); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateBackfill(ctx, store.Backfill{ID: "bf", CreatedAt: t0}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AddDynamicPartitions(ctx, "d", "a"); err != nil {
				t.Fatal(err)
			}
			if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(c.key, c.value) }); err != nil {
				t.Fatal(err)
			}
			err := c.call(s)
			if err == nil {
				t.Fatal("no error reading a corrupt record")
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", c.key)) {
				t.Errorf("error %q does not name the key %q", err, c.key)
			}
			if !strings.HasPrefix(err.Error(), "badgerstore: ") {
				t.Errorf("error %q does not say where it comes from", err)
			}
		})
	}
}
