package badgerstore

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/wasmorch/wasmorch/host/store"
)

// migrateFrom1 upgrades a store in format 1 to format 2: it builds the run tag index (g/) from
// the run records and the partition index (p/, n/) from the materialization index. Format 1 had
// no planned events, so no partition is IN_PROGRESS and no run has q/ or o/ entries; the
// dynamic partition and backfill namespaces start empty.
//
// The indexes of a large store do not fit one transaction, so it writes in chunks, each synced
// before the next (so that no chunk sits unsynced in a memtable that a later chunk rotates out;
// see syncLocked), and sets v/format last. A migration cut short starts again on the next Open:
// every write sets a key to the value the finished migration gives it, and the counts are those
// of the distinct partitions found, so running it twice gives the same store.
func migrateFrom1(db *badger.DB) error {
	w := &chunkWriter{db: db}
	defer w.discard()
	err := db.View(func(txn *badger.Txn) error {
		if err := migrateRunTags(txn, w); err != nil {
			return err
		}
		return migratePartitions(txn, w)
	})
	if err == nil {
		err = w.flush()
	}
	if err != nil {
		return fmt.Errorf("migrate from format %s to %s: %w", formatVersion1, formatVersion, err)
	}
	return nil
}

// migrateRunTags writes one g/ key per tag of every run.
func migrateRunTags(txn *badger.Txn, w *chunkWriter) error {
	prefix := []byte(nsRun)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		id := string(it.Item().Key()[len(prefix):])
		run, err := decodeRun(it.Item(), id)
		if err != nil {
			return err
		}
		for k, v := range run.Tags {
			if validTag(k, v) != nil {
				continue // format 1 accepted it; it cannot be in a key, so no filter finds it
			}
			if err := w.set(runTagKey(k, v, run.CreatedAt, run.ID), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// migratePartitions writes the p/ and n/ records of every materialized partition. m/ is sorted
// by asset, then by event ID, so the last materialization seen of a partition is its newest.
func migratePartitions(txn *badger.Txn, w *chunkWriter) error {
	prefix := []byte(nsMat)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
	defer it.Close()
	asset := ""
	partitions := map[string]bool{}
	endAsset := func() error {
		if len(partitions) == 0 {
			return nil
		}
		return w.set(partCountsKey(asset), counts{materialized: int64(len(partitions))}.encode())
	}
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		ev, err := decodeEvent(it.Item())
		if err != nil {
			return err
		}
		m := ev.Materialization
		if m == nil {
			return fmt.Errorf("index key %q holds an event that is not a materialization", it.Item().KeyCopy(nil))
		}
		if m.AssetKey != asset {
			if err := endAsset(); err != nil {
				return err
			}
			asset, partitions = m.AssetKey, map[string]bool{}
		}
		if m.PartitionKey == "" || validName("partition key", m.PartitionKey) != nil {
			continue
		}
		partitions[m.PartitionKey] = true
		v := encodePartitionStatus(store.PartitionMaterialized, ev.RunID, ev.ID, ev.Time)
		if err := w.set(partitionKey(m.AssetKey, m.PartitionKey), v); err != nil {
			return err
		}
	}
	return endAsset()
}

// chunkWriter writes keys in transactions of up to chunkWriterSize keys, each synced.
type chunkWriter struct {
	db  *badger.DB
	txn *badger.Txn
	n   int
}

const chunkWriterSize = 1000

func (w *chunkWriter) set(k, v []byte) error {
	if w.txn == nil {
		w.txn = w.db.NewTransaction(true)
	}
	if err := w.txn.Set(k, v); err != nil {
		return err
	}
	if w.n++; w.n == chunkWriterSize {
		return w.flush()
	}
	return nil
}

func (w *chunkWriter) flush() error {
	if w.txn == nil {
		return nil
	}
	txn := w.txn
	w.txn, w.n = nil, 0
	defer txn.Discard()
	if err := txn.Commit(); err != nil {
		return err
	}
	return w.db.Sync()
}

func (w *chunkWriter) discard() {
	if w.txn != nil {
		w.txn.Discard()
		w.txn = nil
	}
}
