package badgerstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/dgraph-io/badger/v4"

	"github.com/wasmorch/wasmorch/host/store"
)

// AppendEvents appends events to the log of run runID in one transaction; see store.Store. An
// event with a zero Time gets the current time. Events of type ASSET_MATERIALIZATION must carry
// a Materialization with a valid asset key (and a valid partition key, if any), and no other type
// may carry one; likewise ASSET_CHECK_EVALUATION and a CheckEvaluation, and
// ASSET_MATERIALIZATION_PLANNED and Planned, whose partition keys must be non-empty, valid UTF-8
// and free of NUL.
//
// The partition index is updated in the same transaction (partitions.go). A run's planned
// partitions are all finished by the one transaction that ends the run, so a run may plan only
// as many as that transaction can hold (about 39,000 with Badger's default limits and short
// keys); a planned event that would take the run past that is refused and nothing is written.
// A single call is bounded by Badger's transaction limits too: a call that exceeds them fails
// wrapping badger.ErrTxnTooBig, also without writing anything.
func (s *Store) AppendEvents(ctx context.Context, runID string, events ...store.Event) ([]store.Event, error) {
	fail := func(err error) ([]store.Event, error) {
		return nil, fmt.Errorf("badgerstore: append events to run %q: %w", runID, err)
	}
	if err := validName("run id", runID); err != nil {
		return fail(err)
	}
	out := make([]store.Event, len(events))
	durable := false
	// readRun: some event needs the run's status (a run-status event, or a planned event, which
	// a finished run may not append).
	readRun := false
	for i, ev := range events {
		if ev.RunID != "" && ev.RunID != runID {
			return fail(fmt.Errorf("event %d (%s) belongs to run %q", i, ev.Type, ev.RunID))
		}
		if ev.Type == "" {
			return fail(fmt.Errorf("event %d has no type", i))
		}
		if (ev.Type == store.EventMaterialization) != (ev.Materialization != nil) {
			if ev.Materialization == nil {
				return fail(fmt.Errorf("event %d is %s without a materialization", i, ev.Type))
			}
			return fail(fmt.Errorf("event %d is %s but carries a materialization", i, ev.Type))
		}
		if ev.Materialization != nil {
			if err := validName("asset key", ev.Materialization.AssetKey); err != nil {
				return fail(fmt.Errorf("event %d: %w", i, err))
			}
		}
		if (ev.Type == store.EventCheckEvaluation) != (ev.CheckEvaluation != nil) {
			return fail(fmt.Errorf("event %d: a check evaluation must be an %s event and carry one", i, store.EventCheckEvaluation))
		}
		if ev.CheckEvaluation != nil {
			if err := validName("asset key", ev.CheckEvaluation.AssetKey); err != nil {
				return fail(fmt.Errorf("event %d: %w", i, err))
			}
		}
		if (ev.Type == store.EventMaterializationPlanned) != (ev.Planned != nil) {
			if ev.Planned == nil {
				return fail(fmt.Errorf("event %d is %s without planned partitions (Planned)", i, ev.Type))
			}
			return fail(fmt.Errorf("event %d is %s but carries planned partitions (Planned); only %s may", i, ev.Type, store.EventMaterializationPlanned))
		}
		if p := ev.Planned; p != nil {
			if err := validName("asset key", p.AssetKey); err != nil {
				return fail(fmt.Errorf("event %d: planned: %w", i, err))
			}
			for j, k := range p.PartitionKeys {
				if err := validName("partition key", k); err != nil {
					return fail(fmt.Errorf("event %d: planned partition %d of %q: %w", i, j, p.AssetKey, err))
				}
			}
			readRun = true
		}
		if m := ev.Materialization; m != nil && m.PartitionKey != "" {
			if err := validName("partition key", m.PartitionKey); err != nil {
				return fail(fmt.Errorf("event %d: materialization of %q: %w", i, m.AssetKey, err))
			}
		}
		ev.RunID = runID
		if ev.Time.IsZero() {
			ev.Time = now()
		} else {
			ev.Time = ev.Time.Round(0)
		}
		durable = durable || ev.Type.IsRunStatus()
		readRun = readRun || durable
		out[i] = ev
	}

	if err := s.enter(ctx); err != nil {
		return fail(err)
	}
	defer s.closeMu.RUnlock()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	lastID := s.lastID
	err := s.commitLocked(ctx, func(txn *badger.Txn) error {
		// Decode the run record only when an event needs its status: with a large selection it
		// is tens of kilobytes of JSON, and most batches are step events and log lines.
		var run store.Run
		var err error
		if readRun {
			run, err = getRun(txn, runID)
		} else {
			err = runExists(txn, runID)
		}
		if err != nil || len(out) == 0 {
			return err
		}
		runChanged := false
		parts := newPartitionIndex(txn, runID, s.planLimit)
		id := s.lastID
		for i := range out {
			id++
			ev := &out[i]
			ev.ID = id
			if ev.Type.IsRunStatus() {
				next, err := store.NextStatus(run.Status, ev.Type)
				if err != nil {
					return fmt.Errorf("event %d: %w", i, err)
				}
				run.Status = next
				if ev.Type == store.EventRunStart {
					run.StartedAt = ev.Time
				}
				if next.Finished() {
					run.EndedAt = ev.Time
				}
				runChanged = true
			}
			if ev.Planned != nil && run.Status.Finished() {
				return fmt.Errorf("event %d: %w: run is %s, cannot plan partitions of %q: nothing would ever end them",
					i, store.ErrRunFinished, run.Status, ev.Planned.AssetKey)
			}
			data, err := json.Marshal(ev)
			if err != nil {
				return fmt.Errorf("encode event %d (%s): %w", i, ev.Type, err)
			}
			if err := txn.Set(eventKey(runID, id), data); err != nil {
				return err
			}
			if m := ev.Materialization; m != nil {
				if err := txn.Set(matKey(m.AssetKey, id), data); err != nil {
					return err
				}
				if err := txn.Set(assetKey(m.AssetKey), nil); err != nil {
					return err
				}
			}
			if c := ev.CheckEvaluation; c != nil {
				if err := txn.Set(checkKey(c.AssetKey, id), data); err != nil {
					return err
				}
			}
			if ev.Planned != nil {
				if err := parts.plan(ev); err != nil {
					return fmt.Errorf("event %d: %w", i, err)
				}
			}
			if m := ev.Materialization; m != nil && m.PartitionKey != "" {
				if err := parts.materialize(ev); err != nil {
					return fmt.Errorf("event %d: %w", i, err)
				}
			}
			if ev.Type.IsRunStatus() && run.Status.Finished() {
				if err := parts.finish(ev); err != nil {
					return fmt.Errorf("event %d: %w", i, err)
				}
			}
		}
		if err := parts.flush(); err != nil {
			return err
		}
		if runChanged {
			data, err := json.Marshal(run)
			if err != nil {
				return fmt.Errorf("encode run: %w", err)
			}
			if err := txn.Set(runKey(runID), data); err != nil {
				return err
			}
		}
		lastID = id
		return txn.Set(keyLastID, encodeID(id))
	})
	if err != nil {
		return fail(err)
	}
	s.lastID = lastID
	if durable {
		if err := s.syncLocked(); err != nil {
			return fail(err)
		}
	}
	return out, nil
}

// Events returns up to limit events of run runID with ID > afterID, in ID order, or an error
// wrapping store.ErrRunNotFound for a run the store does not know.
func (s *Store) Events(ctx context.Context, runID string, afterID int64, limit int) ([]store.Event, error) {
	fail := func(err error) ([]store.Event, error) {
		return nil, fmt.Errorf("badgerstore: events of run %q: %w", runID, err)
	}
	if limit < 0 {
		return fail(fmt.Errorf("negative limit %d", limit))
	}
	if err := s.enter(ctx); err != nil {
		return fail(err)
	}
	defer s.closeMu.RUnlock()
	if validName("run id", runID) != nil {
		return fail(fmt.Errorf("%w: %q", store.ErrRunNotFound, runID))
	}

	events := []store.Event{}
	err := s.db.View(func(txn *badger.Txn) error {
		if _, err := txn.Get(runKey(runID)); err != nil {
			if errors.Is(err, badger.ErrKeyNotFound) {
				return fmt.Errorf("%w: %q", store.ErrRunNotFound, runID)
			}
			return fmt.Errorf("read key %q: %w", runKey(runID), err)
		}
		if afterID == math.MaxInt64 {
			return nil
		}
		prefix := eventPrefix(runID)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: prefetchSize(limit)})
		defer it.Close()
		for it.Seek(eventKey(runID, max(afterID+1, 0))); it.ValidForPrefix(prefix); it.Next() {
			if len(events)%ctxCheckEvery == ctxCheckEvery-1 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			ev, err := decodeEvent(it.Item())
			if err != nil {
				return err
			}
			events = append(events, ev)
			if limit > 0 && len(events) == limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	return events, nil
}

// AssetKeys lists every asset key with at least one materialization, in bytewise (Go string)
// order.
func (s *Store) AssetKeys(ctx context.Context) ([]string, error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("badgerstore: list asset keys: %w", err)
	}
	defer s.closeMu.RUnlock()

	keys := []string{}
	err := s.db.View(func(txn *badger.Txn) error {
		prefix := []byte(nsAsset)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			if len(keys)%ctxCheckEvery == ctxCheckEvery-1 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			keys = append(keys, string(it.Item().Key()[len(prefix):]))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badgerstore: list asset keys: %w", err)
	}
	return keys, nil
}

// Materializations returns up to limit materialization events of assetKey, newest first.
// CheckEvaluations implements store.Store.
func (s *Store) CheckEvaluations(ctx context.Context, assetKey string, limit int) ([]store.Event, error) {
	return s.listIndexed(ctx, "check evaluations", assetKey, limit, newestChecks)
}

// Materializations implements store.Store.
func (s *Store) Materializations(ctx context.Context, assetKey string, limit int) ([]store.Event, error) {
	return s.listIndexed(ctx, "materializations", assetKey, limit, newestMaterializations)
}

// listIndexed reads one asset's entries of a per-asset event index, newest first.
func (s *Store) listIndexed(ctx context.Context, what, assetKey string, limit int,
	read func(context.Context, *badger.Txn, string, int) ([]store.Event, error)) ([]store.Event, error) {
	fail := func(err error) ([]store.Event, error) {
		return nil, fmt.Errorf("badgerstore: %s of %q: %w", what, assetKey, err)
	}
	if limit < 0 {
		return fail(fmt.Errorf("negative limit %d", limit))
	}
	if err := validName("asset key", assetKey); err != nil {
		return fail(err)
	}
	if err := s.enter(ctx); err != nil {
		return fail(err)
	}
	defer s.closeMu.RUnlock()
	var events []store.Event
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		events, err = read(ctx, txn, assetKey, limit)
		return err
	})
	if err != nil {
		return fail(err)
	}
	return events, nil
}

// LatestMaterializations returns the newest materialization event of each of assetKeys that has
// one. It reads all keys in one snapshot.
func (s *Store) LatestMaterializations(ctx context.Context, assetKeys ...string) (map[string]store.Event, error) {
	fail := func(err error) (map[string]store.Event, error) {
		return nil, fmt.Errorf("badgerstore: latest materializations: %w", err)
	}
	for _, k := range assetKeys {
		if err := validName("asset key", k); err != nil {
			return fail(err)
		}
	}
	if err := s.enter(ctx); err != nil {
		return fail(err)
	}
	defer s.closeMu.RUnlock()

	latest := make(map[string]store.Event, len(assetKeys))
	err := s.db.View(func(txn *badger.Txn) error {
		for _, k := range assetKeys {
			if _, done := latest[k]; done {
				continue
			}
			events, err := newestMaterializations(ctx, txn, k, 1)
			if err != nil {
				return err
			}
			if len(events) == 1 {
				latest[k] = events[0]
			}
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	return latest, nil
}

// newestMaterializations walks the materialization index of assetKey backwards.
func newestMaterializations(ctx context.Context, txn *badger.Txn, assetKey string, limit int) ([]store.Event, error) {
	return newestIndexed(ctx, txn, matPrefix(assetKey), limit, func(ev store.Event) bool {
		return ev.Materialization != nil && ev.Materialization.AssetKey == assetKey
	}, "a materialization of "+strconv.Quote(assetKey))
}

func newestChecks(ctx context.Context, txn *badger.Txn, assetKey string, limit int) ([]store.Event, error) {
	return newestIndexed(ctx, txn, checkPrefix(assetKey), limit, func(ev store.Event) bool {
		return ev.CheckEvaluation != nil && ev.CheckEvaluation.AssetKey == assetKey
	}, "a check evaluation of "+strconv.Quote(assetKey))
}

// newestIndexed reads an index of event copies newest first, checking each is what the index
// promises (belongs) so a corrupt record is an error naming its key, not a wrong answer.
func newestIndexed(ctx context.Context, txn *badger.Txn, prefix []byte, limit int, belongs func(store.Event) bool, what string) ([]store.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	it := txn.NewIterator(badger.IteratorOptions{
		Prefix: prefix, Reverse: true, PrefetchValues: true, PrefetchSize: prefetchSize(limit),
	})
	defer it.Close()
	events := []store.Event{}
	for it.Seek(prefixEnd(prefix)); it.ValidForPrefix(prefix); it.Next() {
		if len(events)%ctxCheckEvery == ctxCheckEvery-1 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		ev, err := decodeEvent(it.Item())
		if err != nil {
			return nil, err
		}
		if !belongs(ev) {
			return nil, fmt.Errorf("index key %q holds an event that is not %s", it.Item().KeyCopy(nil), what)
		}
		events = append(events, ev)
		if limit > 0 && len(events) == limit {
			break
		}
	}
	return events, nil
}

// prefetchSize is the iterator prefetch for reading at most limit values (0: no limit).
func prefetchSize(limit int) int {
	const def = 100 // badger.DefaultIteratorOptions.PrefetchSize
	if limit > 0 && limit < def {
		return limit
	}
	return def
}
