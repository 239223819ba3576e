package badgerstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"github.com/wasmorch/wasmorch/host/store"
)

var _ store.KV = (*Store)(nil)

// nsKV holds kv resources' values: x/<namespace>\x00<key> -> value. A namespace never holds
// NUL, so one namespace's keys are never under another's prefix.
const nsKV = "x/"

func kvKey(namespace, key string) []byte {
	b := make([]byte, 0, len(nsKV)+len(namespace)+1+len(key))
	b = append(b, nsKV...)
	b = append(b, namespace...)
	b = append(b, sep)
	return append(b, key...)
}

func checkNamespace(namespace string) error {
	if namespace == "" || strings.IndexByte(namespace, sep) >= 0 {
		return fmt.Errorf("invalid kv namespace %q", namespace)
	}
	return nil
}

// KVGet implements store.KV.
func (s *Store) KVGet(ctx context.Context, namespace, key string) ([]byte, bool, error) {
	if err := checkNamespace(namespace); err != nil {
		return nil, false, fmt.Errorf("badgerstore: kv get: %w", err)
	}
	if err := s.enter(ctx); err != nil {
		return nil, false, fmt.Errorf("badgerstore: kv get: %w", err)
	}
	defer s.closeMu.RUnlock()
	var val []byte
	found := false
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(kvKey(namespace, key))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		val, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("badgerstore: kv get %s/%q: %w", namespace, key, err)
	}
	return val, found, nil
}

// KVPut implements store.KV. The value is synced to disk before KVPut returns.
func (s *Store) KVPut(ctx context.Context, namespace, key string, value []byte) error {
	return s.kvWrite(ctx, "put", namespace, key, func(txn *badger.Txn, k []byte) error {
		return txn.Set(k, bytes.Clone(value))
	})
}

// KVDelete implements store.KV.
func (s *Store) KVDelete(ctx context.Context, namespace, key string) error {
	return s.kvWrite(ctx, "delete", namespace, key, func(txn *badger.Txn, k []byte) error {
		return txn.Delete(k)
	})
}

func (s *Store) kvWrite(ctx context.Context, op, namespace, key string, fn func(*badger.Txn, []byte) error) error {
	if err := checkNamespace(namespace); err != nil {
		return fmt.Errorf("badgerstore: kv %s: %w", op, err)
	}
	if err := s.enter(ctx); err != nil {
		return fmt.Errorf("badgerstore: kv %s: %w", op, err)
	}
	defer s.closeMu.RUnlock()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	err := s.commitLocked(ctx, func(txn *badger.Txn) error { return fn(txn, kvKey(namespace, key)) })
	if err == nil {
		err = s.syncLocked()
	}
	if err != nil {
		return fmt.Errorf("badgerstore: kv %s %s/%q: %w", op, namespace, key, err)
	}
	return nil
}

// KVList implements store.KV.
func (s *Store) KVList(ctx context.Context, namespace, prefix string, limit int) ([]string, error) {
	if err := checkNamespace(namespace); err != nil {
		return nil, fmt.Errorf("badgerstore: kv list: %w", err)
	}
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("badgerstore: kv list: %w", err)
	}
	defer s.closeMu.RUnlock()
	base := kvKey(namespace, "")
	var keys []string
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = kvKey(namespace, prefix)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			keys = append(keys, string(it.Item().Key()[len(base):]))
			if limit > 0 && len(keys) >= limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badgerstore: kv list %s/%q: %w", namespace, prefix, err)
	}
	return keys, nil
}
