package badgerstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wasmorch/wasmorch/host/store"
)

// CreateBackfill implements store.Store. The write is synced to disk before it returns.
func (s *Store) CreateBackfill(ctx context.Context, b store.Backfill) error {
	if err := validName("backfill id", b.ID); err != nil {
		return fmt.Errorf("badgerstore: create backfill: %w", err)
	}
	fail := func(err error) error { return fmt.Errorf("badgerstore: create backfill %q: %w", b.ID, err) }
	if err := s.enter(ctx); err != nil {
		return fail(err)
	}
	defer s.closeMu.RUnlock()

	b.Status, b.EndedAt, b.Error = store.BackfillRequested, time.Time{}, ""
	if b.CreatedAt.IsZero() {
		b.CreatedAt = now()
	} else {
		b.CreatedAt = b.CreatedAt.Round(0)
	}
	data, err := json.Marshal(b)
	if err != nil {
		return fail(fmt.Errorf("encode: %w", err))
	}

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	err = s.commitLocked(ctx, func(txn *badger.Txn) error {
		key := backfillKey(b.ID)
		_, err := txn.Get(key)
		if err == nil {
			return fmt.Errorf("%w: %q", store.ErrBackfillExists, b.ID)
		}
		if !errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("read key %q: %w", key, err)
		}
		if err := txn.Set(key, data); err != nil {
			return err
		}
		return txn.Set(backfillAgeKey(b.CreatedAt, b.ID), nil)
	})
	if err == nil {
		err = s.syncLocked()
	}
	if err != nil {
		return fail(err)
	}
	return nil
}

// Backfill implements store.Store.
func (s *Store) Backfill(ctx context.Context, id string) (store.Backfill, error) {
	fail := func(err error) (store.Backfill, error) {
		return store.Backfill{}, fmt.Errorf("badgerstore: get backfill %q: %w", id, err)
	}
	if err := s.enter(ctx); err != nil {
		return fail(err)
	}
	defer s.closeMu.RUnlock()
	if validName("backfill id", id) != nil {
		return fail(fmt.Errorf("%w: %q", store.ErrBackfillNotFound, id))
	}
	var b store.Backfill
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		b, err = getBackfill(txn, id)
		return err
	})
	if err != nil {
		return fail(err)
	}
	return b, nil
}

// Backfills implements store.Store: it walks the creation-time index backwards.
func (s *Store) Backfills(ctx context.Context, limit int) ([]store.Backfill, error) {
	fail := func(err error) ([]store.Backfill, error) {
		return nil, fmt.Errorf("badgerstore: list backfills: %w", err)
	}
	if limit < 0 {
		return fail(fmt.Errorf("negative limit %d", limit))
	}
	if err := s.enter(ctx); err != nil {
		return fail(err)
	}
	defer s.closeMu.RUnlock()
	out := []store.Backfill{}
	err := s.db.View(func(txn *badger.Txn) error {
		prefix := []byte(nsBackfillAge)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
		defer it.Close()
		for it.Seek(prefixEnd(prefix)); it.ValidForPrefix(prefix); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			k := it.Item().Key()
			if len(k) <= len(prefix)+timeLen {
				return fmt.Errorf("malformed backfill index key %q", it.Item().KeyCopy(nil))
			}
			id := string(k[len(prefix)+timeLen:])
			b, err := getBackfill(txn, id)
			if errors.Is(err, store.ErrBackfillNotFound) {
				return fmt.Errorf("backfill index key %q points at backfill %q, which is not stored", it.Item().KeyCopy(nil), id)
			}
			if err != nil {
				return err
			}
			out = append(out, b)
			if limit > 0 && len(out) == limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	return out, nil
}

// SetBackfillStatus implements store.Store with store.NextBackfillStatus's rules. Moving to the
// status the backfill already has keeps its EndedAt, and its Error unless errMsg is set. The
// write is synced to disk before it returns.
func (s *Store) SetBackfillStatus(ctx context.Context, id string, status store.BackfillStatus, errMsg string) (store.Backfill, error) {
	fail := func(err error) (store.Backfill, error) {
		return store.Backfill{}, fmt.Errorf("badgerstore: set status of backfill %q to %s: %w", id, status, err)
	}
	if err := s.enter(ctx); err != nil {
		return fail(err)
	}
	defer s.closeMu.RUnlock()
	if validName("backfill id", id) != nil {
		return fail(fmt.Errorf("%w: %q", store.ErrBackfillNotFound, id))
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var b store.Backfill
	err := s.commitLocked(ctx, func(txn *badger.Txn) error {
		var err error
		if b, err = getBackfill(txn, id); err != nil {
			return err
		}
		if err := store.NextBackfillStatus(b.Status, status); err != nil {
			return err
		}
		switch {
		case status == store.BackfillRequested:
			b.EndedAt, b.Error = time.Time{}, ""
		case status == b.Status:
			if errMsg != "" {
				b.Error = errMsg
			}
		default:
			b.EndedAt, b.Error = now(), errMsg
		}
		b.Status = status
		data, err := json.Marshal(b)
		if err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		return txn.Set(backfillKey(id), data)
	})
	if err == nil {
		err = s.syncLocked()
	}
	if err != nil {
		return fail(err)
	}
	return b, nil
}

func getBackfill(txn *badger.Txn, id string) (store.Backfill, error) {
	key := backfillKey(id)
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return store.Backfill{}, fmt.Errorf("%w: %q", store.ErrBackfillNotFound, id)
	}
	if err != nil {
		return store.Backfill{}, fmt.Errorf("read key %q: %w", key, err)
	}
	var b store.Backfill
	if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &b) }); err != nil {
		return store.Backfill{}, fmt.Errorf("decode backfill %q at key %q: %w", id, key, err)
	}
	if b.ID != id {
		return store.Backfill{}, fmt.Errorf("decode backfill %q at key %q: record holds backfill %q", id, key, b.ID)
	}
	return b, nil
}
