package badgerstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dgraph-io/badger/v4"

	"github.com/wasmorch/wasmorch/host/store"
)

// ctxCheckEvery is how many records a scan reads between checks of its context.
const ctxCheckEvery = 256

// CreateRun stores run with status NOT_STARTED and no start or end time. A zero CreatedAt is
// set to the current time. The write is synced to disk before CreateRun returns. Tag keys and
// values must be valid UTF-8 without NUL: they are indexed (g/ in keys.go).
func (s *Store) CreateRun(ctx context.Context, run store.Run) error {
	if err := validName("run id", run.ID); err != nil {
		return fmt.Errorf("badgerstore: create run: %w", err)
	}
	for k, v := range run.Tags {
		if err := validTag(k, v); err != nil {
			return fmt.Errorf("badgerstore: create run %q: %w", run.ID, err)
		}
	}
	if err := s.enter(ctx); err != nil {
		return fmt.Errorf("badgerstore: create run %q: %w", run.ID, err)
	}
	defer s.closeMu.RUnlock()

	run.Status = store.RunNotStarted
	run.StartedAt, run.EndedAt = time.Time{}, time.Time{}
	if run.CreatedAt.IsZero() {
		run.CreatedAt = now()
	} else {
		run.CreatedAt = run.CreatedAt.Round(0) // drop a monotonic reading
	}
	data, err := json.Marshal(run)
	if err != nil {
		return fmt.Errorf("badgerstore: create run %q: encode: %w", run.ID, err)
	}

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	err = s.commitLocked(ctx, func(txn *badger.Txn) error {
		key := runKey(run.ID)
		_, err := txn.Get(key)
		if err == nil {
			return fmt.Errorf("%w: %q", store.ErrRunExists, run.ID)
		}
		if !errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("read key %q: %w", key, err)
		}
		if err := txn.Set(key, data); err != nil {
			return err
		}
		for k, v := range run.Tags {
			if err := txn.Set(runTagKey(k, v, run.CreatedAt, run.ID), nil); err != nil {
				return err
			}
		}
		return txn.Set(byTimeKey(run.CreatedAt, run.ID), nil)
	})
	if err == nil {
		err = s.syncLocked()
	}
	if err != nil {
		return fmt.Errorf("badgerstore: create run %q: %w", run.ID, err)
	}
	return nil
}

// Run returns the run id, or an error wrapping store.ErrRunNotFound.
func (s *Store) Run(ctx context.Context, id string) (store.Run, error) {
	if err := s.enter(ctx); err != nil {
		return store.Run{}, fmt.Errorf("badgerstore: get run %q: %w", id, err)
	}
	defer s.closeMu.RUnlock()
	if validName("run id", id) != nil {
		return store.Run{}, fmt.Errorf("badgerstore: get run %q: %w", id, store.ErrRunNotFound)
	}

	var run store.Run
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		run, err = getRun(txn, id)
		return err
	})
	if err != nil {
		return store.Run{}, fmt.Errorf("badgerstore: get run %q: %w", id, err)
	}
	return run, nil
}

// validTag checks a run tag before it is used in a key. An empty value is fine.
func validTag(key, value string) error {
	if err := validName("tag key", key); err != nil {
		return err
	}
	if strings.IndexByte(value, sep) >= 0 || !utf8.ValidString(value) {
		return fmt.Errorf("tag %q: value %q contains a NUL byte or is not valid UTF-8", key, value)
	}
	return nil
}

// Runs lists runs newest first: by CreatedAt descending, runs created at the same instant by id
// descending. It walks the creation-time index backwards and stops at filter.Limit matches.
// With filter.Tags it walks the index of one of the tags instead (the smallest tag key, an
// arbitrary but stable choice), which sorts the same way; it checks the other tags in their
// index, with one read each, and the job and statuses on the records of the runs that have
// every tag.
func (s *Store) Runs(ctx context.Context, filter store.RunFilter) ([]store.Run, error) {
	if filter.Limit < 0 {
		return nil, fmt.Errorf("badgerstore: list runs: negative limit %d", filter.Limit)
	}
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("badgerstore: list runs: %w", err)
	}
	defer s.closeMu.RUnlock()

	runs := []store.Run{}
	for k, v := range filter.Tags {
		if validTag(k, v) != nil {
			return runs, nil // no run can have it
		}
	}
	prefix := []byte(nsByTime)
	// others are the index prefixes of the filter's tags but the one walked: a run has them all
	// if the index has its key under each, which is checked before its record is decoded.
	var others [][]byte
	if len(filter.Tags) > 0 {
		keys := slices.Sorted(maps.Keys(filter.Tags))
		prefix = runTagPrefix(keys[0], filter.Tags[keys[0]])
		for _, k := range keys[1:] {
			others = append(others, runTagPrefix(k, filter.Tags[k]))
		}
	}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
		defer it.Close()
		n := 0
	runs:
		for it.Seek(prefixEnd(prefix)); it.ValidForPrefix(prefix); it.Next() {
			if n++; n%ctxCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			key := it.Item().Key()
			if len(key) <= len(prefix)+timeLen {
				return fmt.Errorf("malformed run index key %q", it.Item().KeyCopy(nil))
			}
			// The rest of the key, <createdAt><runID>, is the same under every tag of the run.
			suffix := key[len(prefix):]
			id := string(suffix[timeLen:])
			for _, o := range others {
				k := append(append(make([]byte, 0, len(o)+len(suffix)), o...), suffix...)
				_, err := txn.Get(k)
				if errors.Is(err, badger.ErrKeyNotFound) {
					continue runs
				}
				if err != nil {
					return fmt.Errorf("read key %q: %w", k, err)
				}
			}
			run, err := getRun(txn, id)
			if errors.Is(err, store.ErrRunNotFound) {
				return fmt.Errorf("run index key %q points at run %q, which is not stored", it.Item().KeyCopy(nil), id)
			}
			if err != nil {
				return err
			}
			if filter.JobName != "" && run.JobName != filter.JobName {
				continue
			}
			if len(filter.Statuses) > 0 && !slices.Contains(filter.Statuses, run.Status) {
				continue
			}
			if !hasTags(run, filter.Tags) {
				continue
			}
			runs = append(runs, run)
			if filter.Limit > 0 && len(runs) == filter.Limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badgerstore: list runs: %w", err)
	}
	return runs, nil
}

func hasTags(run store.Run, tags map[string]string) bool {
	for k, v := range tags {
		if got, ok := run.Tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}
