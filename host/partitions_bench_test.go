package host_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/host/store"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// partsBench opens an instance on disk, closed when b ends, with the partitions fixture loaded
// and extra appended to its workspace file.
func partsBench(b *testing.B, extra string) (*host.Instance, *host.Workspace) {
	inst, err := host.Open(context.Background(), b.TempDir(), host.WithCompilationCacheDir(guesttest.CacheDir(b)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { inst.Close() })
	p := filepath.Join(b.TempDir(), "wasmorch.yaml")
	wasm := guesttest.Path(b, "partitions/rust/parts.wasm")
	if err := os.WriteFile(p, []byte("modules:\n  - name: parts\n    path: "+wasm+"\n"+extra), 0o644); err != nil {
		b.Fatal(err)
	}
	ws, err := inst.LoadWorkspace(context.Background(), p)
	if err != nil {
		b.Fatal(err)
	}
	return inst, ws
}

// BenchmarkBackfillLaunch backfills 10,000 daily partitions of trivial_daily, a Rust asset that
// writes one small Arrow row: one run per partition, each created, started, executed and
// finished in the store (three synced writes), two runs at once on this 2-core machine. The
// metric runs/s is the launch rate; "sequential" is the same runs materialized one after
// another with Materialize and WithPartition, without the backfill around them, as a baseline
// measured in the same run.
//
//	go test -run '^$' -bench BackfillLaunch -benchtime 1x -timeout 60m ./host/
func BenchmarkBackfillLaunch(b *testing.B) {
	const n = 10000
	from := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, n-1)
	b.Run("backfill", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			inst, ws := partsBench(b, "")
			b.StartTimer()
			start := time.Now()
			bf, err := inst.LaunchBackfill(context.Background(), ws, host.BackfillRequest{Selection: "trivial_daily",
				From: from.Format("2006-01-02"), To: to.Format("2006-01-02"), Concurrency: 2})
			if err != nil || bf.Status != store.BackfillCompleted {
				b.Fatal(err, bf.Status, bf.Error)
			}
			b.ReportMetric(n/time.Since(start).Seconds(), "runs/s")
		}
	})
	b.Run("sequential", func(b *testing.B) {
		const m = 1000 // enough for a rate; 10,000 would take as long as the backfill
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			inst, ws := partsBench(b, "")
			b.StartTimer()
			start := time.Now()
			for d := 0; d < m; d++ {
				res, err := inst.Materialize(context.Background(), ws, "trivial_daily", host.WithPartition(from.AddDate(0, 0, d).Format("2006-01-02")))
				if err != nil || !res.Success() {
					b.Fatal(err, res.Err())
				}
			}
			b.ReportMetric(m/time.Since(start).Seconds(), "runs/s")
		}
	})
}

// BenchmarkPartitionsList100k is what `wasmorch partitions list` does for an asset with 100,000
// hourly partitions of which 60,000 are materialized, 20,000 failed and 20,000 missing: the
// definition's keys merged with the store's partition index. "keys" is listing the 100,000
// keys of the definition alone, the baseline the index read adds to.
//
//	go test -run '^$' -bench PartitionsList100k ./host/
func BenchmarkPartitionsList100k(b *testing.B) {
	ctx := context.Background()
	// 100,000 hours from 2015-01-01T00:00 UTC end at 2026-05-29T16:00.
	inst, ws := partsBench(b, "assets:\n  trivial_daily:\n    partitions: {type: time, schedule: hourly, start: 2015-01-01, end: 2026-05-29T16:00}\n")
	rep, err := inst.Partitions(ctx, ws, "trivial_daily")
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, len(rep.Partitions))
	for i, p := range rep.Partitions {
		keys[i] = p.Key
	}
	if len(keys) != 100000 {
		b.Fatalf("%d keys", len(keys))
	}
	// Index 80,000 of them through the event log, as runs would: planned, then materialized
	// (the first 60,000) or failed (the next 20,000).
	const batch = 1000
	for lo := 0; lo < 80000; lo += batch {
		run := store.Run{ID: fmt.Sprintf("bench-%06d", lo), JobName: store.AssetJobName}
		if err := inst.Store().CreateRun(ctx, run); err != nil {
			b.Fatal(err)
		}
		evs := []store.Event{{Type: store.EventRunStart}, {Type: store.EventMaterializationPlanned,
			Planned: &store.PlannedMaterialization{AssetKey: "trivial_daily", PartitionKeys: keys[lo : lo+batch]}}}
		if lo < 60000 {
			for _, k := range keys[lo : lo+batch] {
				evs = append(evs, store.Event{Type: store.EventMaterialization, Materialization: &store.Materialization{
					AssetKey: "trivial_daily", PartitionKey: k, Format: "arrow", Location: "/x/" + k, IOManager: "fs"}})
			}
			evs = append(evs, store.Event{Type: store.EventRunSuccess})
		} else {
			evs = append(evs, store.Event{Type: store.EventRunFailure})
		}
		if _, err := inst.Store().AppendEvents(ctx, run.ID, evs...); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("report", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			rep, err := inst.Partitions(ctx, ws, "trivial_daily")
			if err != nil {
				b.Fatal(err)
			}
			if rep.Counts[store.PartitionMaterialized] != 60000 || rep.Counts[store.PartitionFailed] != 20000 || rep.Counts[store.PartitionMissing] != 20000 {
				b.Fatalf("counts %v", rep.Counts)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100000, "ns/partition")
	})
	b.Run("counts", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			c, err := inst.Store().PartitionCounts(ctx, "trivial_daily")
			if err != nil || c.Materialized != 60000 {
				b.Fatal(err, c)
			}
		}
	})
	b.Run("keys", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := ws.PartitionKeys("trivial_daily"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100000, "ns/partition")
	})
}
