package badgerstore

import (
	"fmt"
	"testing"

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
