package badgerstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Dynamic partitions: d/<name>\x00<seq> holds the keys of a definition in the order they were
// added and i/<name>\x00<key> finds a key's seq, so adding checks membership with one read per
// key and listing is one prefix walk. A new key's seq is one past the largest stored under name
// (a deleted last key's seq may be given again, which keeps the order: it is still the newest).

// AddDynamicPartitions implements store.Store. A key given twice is added once. The write is
// synced to disk before it returns.
func (s *Store) AddDynamicPartitions(ctx context.Context, name string, keys ...string) ([]string, error) {
	fail := func(err error) ([]string, error) {
		return nil, fmt.Errorf("badgerstore: add dynamic partitions to %q: %w", name, err)
	}
	if err := validDynamic(name, keys); err != nil {
		return fail(err)
	}
	if err := s.enter(ctx); err != nil {
		return fail(err)
	}
	defer s.closeMu.RUnlock()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	var added []string
	err := s.commitLocked(ctx, func(txn *badger.Txn) error {
		added = []string{}
		seq, err := nextDynamicSeq(txn, name)
		if err != nil {
			return err
		}
		for _, k := range keys {
			mk := dynamicMemberKey(name, k)
			_, err := txn.Get(mk)
			if err == nil {
				continue
			}
			if !errors.Is(err, badger.ErrKeyNotFound) {
				return fmt.Errorf("read key %q: %w", mk, err)
			}
			if err := txn.Set(dynamicKey(name, seq), []byte(k)); err != nil {
				return err
			}
			if err := txn.Set(mk, binary.BigEndian.AppendUint64(nil, seq)); err != nil {
				return err
			}
			added = append(added, k)
			seq++
		}
		return nil
	})
	if err == nil && len(added) > 0 {
		err = s.syncLocked()
	}
	if err != nil {
		return fail(err)
	}
	return added, nil
}

// nextDynamicSeq returns one past the largest seq stored under name (0 for none).
func nextDynamicSeq(txn *badger.Txn, name string) (uint64, error) {
	prefix := dynamicPrefix(name)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
	defer it.Close()
	it.Seek(prefixEnd(prefix))
	if !it.ValidForPrefix(prefix) {
		return 0, nil
	}
	k := it.Item().Key()
	if len(k) != len(prefix)+idLen {
		return 0, fmt.Errorf("malformed dynamic partition key %q", it.Item().KeyCopy(nil))
	}
	return binary.BigEndian.Uint64(k[len(prefix):]) + 1, nil
}

// DeleteDynamicPartitions implements store.Store. A key given twice is deleted once. The write
// is synced to disk before it returns.
func (s *Store) DeleteDynamicPartitions(ctx context.Context, name string, keys ...string) error {
	fail := func(err error) error {
		return fmt.Errorf("badgerstore: delete dynamic partitions of %q: %w", name, err)
	}
	if err := validDynamic(name, keys); err != nil {
		return fail(err)
	}
	if err := s.enter(ctx); err != nil {
		return fail(err)
	}
	defer s.closeMu.RUnlock()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	err := s.commitLocked(ctx, func(txn *badger.Txn) error {
		deleted := make(map[string]bool, len(keys))
		for _, k := range keys {
			if deleted[k] {
				continue
			}
			mk := dynamicMemberKey(name, k)
			item, err := txn.Get(mk)
			if errors.Is(err, badger.ErrKeyNotFound) {
				return fmt.Errorf("partition %q is not one of the dynamic partitions of %q; nothing was deleted", k, name)
			}
			if err != nil {
				return fmt.Errorf("read key %q: %w", mk, err)
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("read key %q: %w", mk, err)
			}
			if len(v) != idLen {
				return fmt.Errorf("decode dynamic partition seq at key %q: %d bytes, want %d", mk, len(v), idLen)
			}
			if err := txn.Delete(dynamicKey(name, binary.BigEndian.Uint64(v))); err != nil {
				return err
			}
			if err := txn.Delete(mk); err != nil {
				return err
			}
			deleted[k] = true
		}
		return nil
	})
	if err == nil && len(keys) > 0 {
		err = s.syncLocked()
	}
	if err != nil {
		return fail(err)
	}
	return nil
}

// DynamicPartitions implements store.Store.
func (s *Store) DynamicPartitions(ctx context.Context, name string) ([]string, error) {
	fail := func(err error) ([]string, error) {
		return nil, fmt.Errorf("badgerstore: dynamic partitions of %q: %w", name, err)
	}
	if err := validName("dynamic partitions name", name); err != nil {
		return fail(err)
	}
	if err := s.enter(ctx); err != nil {
		return fail(err)
	}
	defer s.closeMu.RUnlock()
	keys := []string{}
	err := s.db.View(func(txn *badger.Txn) error {
		prefix := dynamicPrefix(name)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			if len(keys)%ctxCheckEvery == ctxCheckEvery-1 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("read key %q: %w", it.Item().KeyCopy(nil), err)
			}
			keys = append(keys, string(v))
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	return keys, nil
}

func validDynamic(name string, keys []string) error {
	if err := validName("dynamic partitions name", name); err != nil {
		return err
	}
	for i, k := range keys {
		if err := validName("partition key", k); err != nil {
			return fmt.Errorf("key %d: %w", i, err)
		}
	}
	return nil
}
