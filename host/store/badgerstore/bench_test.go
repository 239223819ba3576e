package badgerstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wasmorch/wasmorch/host/store"
)

// BenchmarkAppendEvents measures appends to an on-disk store: batches of LOG events (committed,
// not synced) and the RUN_START path, which is synced before AppendEvents returns.
//
//	go test -run '^$' -bench AppendEvents -benchtime 2s ./host/store/badgerstore
func BenchmarkAppendEvents(b *testing.B) {
	for _, batch := range []int{1, 64} {
		b.Run(fmt.Sprintf("log-batch-%d", batch), func(b *testing.B) {
			s := openTest(b, b.TempDir())
			ctx := b.Context()
			rid := uuid.NewString()
			if err := s.CreateRun(ctx, store.Run{ID: rid, JobName: "bench", CreatedAt: t0}); err != nil {
				b.Fatal(err)
			}
			events := make([]store.Event, batch)
			for i := range events {
				events[i] = store.Event{
					Type: store.EventLog, Time: t0, StepKey: "raw/orders", Level: store.LevelInfo,
					Message: "loaded 1000 rows from s3://bucket/raw/orders/2025-03-14.parquet",
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := s.AppendEvents(ctx, rid, events...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
		})
	}

	b.Run("log-batch-1-parallel", func(b *testing.B) {
		s := openTest(b, b.TempDir())
		ctx := b.Context()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			rid := uuid.NewString()
			if err := s.CreateRun(ctx, store.Run{ID: rid, JobName: "bench", CreatedAt: t0}); err != nil {
				b.Error(err)
				return
			}
			ev := store.Event{Type: store.EventLog, Time: t0, Level: store.LevelInfo, Message: "tick"}
			for pb.Next() {
				if _, err := s.AppendEvents(ctx, rid, ev); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})

	b.Run("run-start-synced", func(b *testing.B) {
		s := openTest(b, b.TempDir())
		ctx := b.Context()
		ids := make([]string, b.N)
		for i := range ids {
			ids[i] = uuid.NewString()
			if err := s.CreateRun(ctx, store.Run{ID: ids[i], JobName: "bench", CreatedAt: t0}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if _, err := s.AppendEvents(ctx, ids[i], store.Event{Type: store.EventRunStart, Time: t0}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// BenchmarkPartitionStatuses100k measures reading the partition index of one asset with 100,000
// daily partitions: 60% MATERIALIZED, 20% FAILED and 20% IN_PROGRESS, indexed once through
// AppendEvents (10 runs of 10,000 partitions, planned 100 keys per event). "all" lists every
// status in one call, "pages-1000" walks them 1,000 at a time with afterKey as a cursor, and
// "counts" reads PartitionCounts, which must not depend on the number of partitions.
//
//	go test -run '^$' -bench PartitionStatuses100k -benchtime 2s ./host/store/badgerstore
func BenchmarkPartitionStatuses100k(b *testing.B) {
	const (
		asset      = "daily/orders"
		runs       = 10
		perRun     = 10_000
		perPlanned = 100
		perCall    = 1_000
		total      = runs * perRun
	)
	s := openTest(b, b.TempDir())
	ctx := b.Context()
	day := time.Date(1750, 1, 1, 0, 0, 0, 0, time.UTC)
	keys := make([]string, total)
	for i := range keys {
		keys[i] = day.AddDate(0, 0, i).Format("2006-01-02")
	}
	for r := range runs {
		rid := uuid.NewString()
		if err := s.CreateRun(ctx, store.Run{ID: rid, JobName: "bench", CreatedAt: t0}); err != nil {
			b.Fatal(err)
		}
		mine := keys[r*perRun : (r+1)*perRun]
		if _, err := s.AppendEvents(ctx, rid, store.Event{Type: store.EventRunStart, Time: t0}); err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(mine); i += perCall {
			var evs []store.Event
			for j := i; j < i+perCall; j += perPlanned {
				evs = append(evs, store.Event{Type: store.EventMaterializationPlanned, Time: t0,
					Planned: &store.PlannedMaterialization{AssetKey: asset, PartitionKeys: mine[j : j+perPlanned]}})
			}
			if _, err := s.AppendEvents(ctx, rid, evs...); err != nil {
				b.Fatal(err)
			}
		}
		// Materialize 3 in 4 partitions of the first 8 runs; the first 8 runs then fail
		// (their unmaterialized quarter becomes FAILED), the last 2 stay running.
		if r >= runs-2 {
			continue
		}
		var evs []store.Event
		for i, k := range mine {
			if i%4 == 3 {
				continue
			}
			evs = append(evs, store.Event{Type: store.EventMaterialization, Time: t0, StepKey: asset,
				Materialization: &store.Materialization{AssetKey: asset, PartitionKey: k, Format: "arrow",
					Location: "/data/daily/orders/" + k, IOManager: "fs", CodeVersion: "sha256:abc"}})
			if len(evs) == perCall {
				if _, err := s.AppendEvents(ctx, rid, evs...); err != nil {
					b.Fatal(err)
				}
				evs = evs[:0]
			}
		}
		evs = append(evs, store.Event{Type: store.EventRunFailure, Time: t0})
		if _, err := s.AppendEvents(ctx, rid, evs...); err != nil {
			b.Fatal(err)
		}
	}
	want := store.PartitionCounts{Materialized: 60_000, Failed: 20_000, InProgress: 20_000}
	if c, err := s.PartitionCounts(ctx, asset); err != nil || c != want {
		b.Fatalf("counts after setup = %+v, %v; want %+v", c, err, want)
	}

	perPartition := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*total), "ns/partition")
		b.ReportMetric(float64(b.N*total)/b.Elapsed().Seconds(), "partitions/s")
	}
	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			st, err := s.PartitionStatuses(ctx, asset, "", 0)
			if err != nil || len(st) != total {
				b.Fatalf("PartitionStatuses = %d, %v", len(st), err)
			}
		}
		perPartition(b)
	})
	b.Run("pages-1000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			for after := ""; ; {
				page, err := s.PartitionStatuses(ctx, asset, after, 1000)
				if err != nil {
					b.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				n += len(page)
				after = page[len(page)-1].Key
			}
			if n != total {
				b.Fatalf("paged through %d partitions, want %d", n, total)
			}
		}
		perPartition(b)
	})
	b.Run("counts", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if c, err := s.PartitionCounts(ctx, asset); err != nil || c != want {
				b.Fatalf("PartitionCounts = %+v, %v", c, err)
			}
		}
	})
}
