package badgerstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wasmorch/wasmorch/host/store"
)

// The partition index (p/, n/, q/, o/ in keys.go) is derived from events by AppendEvents, in the
// transaction that appends them, through a partitionIndex. Its records are binary rather than
// JSON: an asset can have hundreds of thousands of partitions, and listing them all is what a
// partition status view does on every refresh.

// statusLen is the length of a p/ value without its run id: state, event ID, time.
const statusLen = 1 + idLen + timeLen

func stateByte(s store.PartitionState) byte {
	switch s {
	case store.PartitionMaterialized:
		return 'M'
	case store.PartitionFailed:
		return 'F'
	case store.PartitionInProgress:
		return 'I'
	}
	panic("badgerstore: no stored form for partition state " + string(s))
}

func encodePartitionStatus(state store.PartitionState, runID string, eventID int64, t time.Time) []byte {
	v := make([]byte, 0, statusLen+len(runID))
	v = append(v, stateByte(state))
	v = binary.BigEndian.AppendUint64(v, uint64(eventID))
	v = append(v, encodeTime(t)...)
	return append(v, runID...)
}

// decodePartitionStatus decodes the p/ value v of partition (stored under key k, for messages).
func decodePartitionStatus(k []byte, partition string, v []byte) (store.PartitionStatus, error) {
	var run string
	return decodePartitionStatusRun(k, partition, v, &run)
}

// decodePartitionStatusRun is decodePartitionStatus reusing *lastRun as the run id when it is
// the same, and setting it otherwise.
func decodePartitionStatusRun(k []byte, partition string, v []byte, lastRun *string) (store.PartitionStatus, error) {
	if len(v) <= statusLen {
		return store.PartitionStatus{}, fmt.Errorf("decode partition status at key %q: %d bytes, want more than %d", k, len(v), statusLen)
	}
	if run := v[statusLen:]; string(run) != *lastRun {
		*lastRun = string(run)
	}
	st := store.PartitionStatus{
		Key:     partition,
		EventID: int64(binary.BigEndian.Uint64(v[1:])),
		Time:    decodeTime(v[1+idLen:]),
		RunID:   *lastRun,
	}
	switch v[0] {
	case 'M':
		st.State = store.PartitionMaterialized
	case 'F':
		st.State = store.PartitionFailed
	case 'I':
		st.State = store.PartitionInProgress
	default:
		return store.PartitionStatus{}, fmt.Errorf("decode partition status at key %q: unknown state byte %q", k, v[0])
	}
	return st, nil
}

// counts is the n/ record of one asset. Fields are signed so that an inconsistency shows as a
// negative count, which load and store refuse, rather than as a wrapped-around huge one.
type counts struct{ materialized, failed, inProgress int64 }

const countsLen = 3 * 8

func (c *counts) field(s store.PartitionState) *int64 {
	switch s {
	case store.PartitionMaterialized:
		return &c.materialized
	case store.PartitionFailed:
		return &c.failed
	case store.PartitionInProgress:
		return &c.inProgress
	}
	panic("badgerstore: no count for partition state " + string(s))
}

func (c counts) encode() []byte {
	v := make([]byte, 0, countsLen)
	v = binary.BigEndian.AppendUint64(v, uint64(c.materialized))
	v = binary.BigEndian.AppendUint64(v, uint64(c.failed))
	return binary.BigEndian.AppendUint64(v, uint64(c.inProgress))
}

func (c counts) valid() bool { return c.materialized >= 0 && c.failed >= 0 && c.inProgress >= 0 }

func decodeCounts(k, v []byte) (counts, error) {
	if len(v) != countsLen {
		return counts{}, fmt.Errorf("decode partition counts at key %q: %d bytes, want %d", k, len(v), countsLen)
	}
	c := counts{
		materialized: int64(binary.BigEndian.Uint64(v)),
		failed:       int64(binary.BigEndian.Uint64(v[8:])),
		inProgress:   int64(binary.BigEndian.Uint64(v[16:])),
	}
	if !c.valid() {
		return counts{}, fmt.Errorf("decode partition counts at key %q: negative count %+v", k, c)
	}
	return c, nil
}

func readCounts(txn *badger.Txn, assetKey string) (counts, error) {
	k := partCountsKey(assetKey)
	item, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return counts{}, nil
	}
	if err != nil {
		return counts{}, fmt.Errorf("read key %q: %w", k, err)
	}
	var c counts
	err = item.Value(func(v []byte) error {
		var err error
		c, err = decodeCounts(k, v)
		return err
	})
	return c, err
}

// planBudget is what finishing a run's planned partitions will write in the transaction that
// ends the run: one Set of a p/ key and one Delete of a q/ key per planned partition, counted the
// way Badger counts a transaction against its limits (badger.ErrTxnTooBig).
//
// Why it exists: a run may plan partitions over several AppendEvents calls, each within
// Badger's limits, and then be unable to end, because the one transaction that ends it must
// touch every one of them; every RUN_FAILURE would be refused and its partitions would stay
// IN_PROGRESS forever. So AppendEvents refuses a planned event that would take the run's total
// past maxPlanBudget, while the run can still end, rather than accepting it and failing later.
type planBudget struct{ entries, size int64 }

const planBudgetLen = 2 * 8

// add accounts for one more planned partition.
func (b *planBudget) add(pKey, qKey []byte, runID string) {
	// badger's Txn.checkSize: key + value + 2 (meta bytes) + 10 (version) per entry; a Delete
	// has an empty value.
	b.entries += 2
	b.size += int64(len(pKey)+statusLen+len(runID)+12) + int64(len(qKey)+12)
}

func (b planBudget) encode() []byte {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, planBudgetLen), uint64(b.entries))
	return binary.BigEndian.AppendUint64(v, uint64(b.size))
}

// maxPlanBudget is the largest plan a run may hold: three quarters of Badger's transaction
// limits, leaving a quarter for whatever else the call that ends the run appends.
func maxPlanBudget(db *badger.DB) planBudget {
	return planBudget{entries: db.MaxBatchCount() / 4 * 3, size: db.MaxBatchSize() / 4 * 3}
}

// partitionIndex applies one AppendEvents transaction's events to the partition index. It
// caches the counts of the assets it touches and the run's plan budget and writes each once, in
// flush: Badger counts every Set against the transaction's limits, even Sets of one key.
type partitionIndex struct {
	txn    *badger.Txn
	runID  string
	limit  planBudget
	counts map[string]*counts

	budget        *planBudget // nil until loaded
	budgetChanged bool
}

func newPartitionIndex(txn *badger.Txn, runID string, limit planBudget) *partitionIndex {
	return &partitionIndex{txn: txn, runID: runID, limit: limit, counts: map[string]*counts{}}
}

// status reads the p/ record of a partition, if any (pending writes of this transaction
// included).
func (x *partitionIndex) status(pKey []byte, partition string) (store.PartitionStatus, bool, error) {
	item, err := x.txn.Get(pKey)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return store.PartitionStatus{}, false, nil
	}
	if err != nil {
		return store.PartitionStatus{}, false, fmt.Errorf("read key %q: %w", pKey, err)
	}
	var st store.PartitionStatus
	err = item.Value(func(v []byte) error {
		st, err = decodePartitionStatus(pKey, partition, v)
		return err
	})
	return st, err == nil, err
}

func (x *partitionIndex) assetCounts(assetKey string) (*counts, error) {
	if c, ok := x.counts[assetKey]; ok {
		return c, nil
	}
	c, err := readCounts(x.txn, assetKey)
	if err != nil {
		return nil, err
	}
	x.counts[assetKey] = &c
	return &c, nil
}

// set moves a partition to state, by event ev of this index's run.
func (x *partitionIndex) set(pKey []byte, assetKey, partition string, state store.PartitionState, ev *store.Event) error {
	prev, found, err := x.status(pKey, partition)
	if err != nil {
		return err
	}
	c, err := x.assetCounts(assetKey)
	if err != nil {
		return err
	}
	if found {
		*c.field(prev.State)--
	}
	*c.field(state)++
	return x.txn.Set(pKey, encodePartitionStatus(state, x.runID, ev.ID, ev.Time))
}

func (x *partitionIndex) loadBudget() (*planBudget, error) {
	if x.budget != nil {
		return x.budget, nil
	}
	x.budget = new(planBudget)
	k := planBudgetKey(x.runID)
	item, err := x.txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return x.budget, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read key %q: %w", k, err)
	}
	err = item.Value(func(v []byte) error {
		if len(v) != planBudgetLen {
			return fmt.Errorf("decode plan budget at key %q: %d bytes, want %d", k, len(v), planBudgetLen)
		}
		x.budget.entries = int64(binary.BigEndian.Uint64(v))
		x.budget.size = int64(binary.BigEndian.Uint64(v[8:]))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return x.budget, nil
}

// plan applies an ASSET_MATERIALIZATION_PLANNED event: each partition becomes IN_PROGRESS with
// this run, and is remembered under the run (q/) so that the run's end can fail it.
func (x *partitionIndex) plan(ev *store.Event) error {
	p := ev.Planned
	budget, err := x.loadBudget()
	if err != nil {
		return err
	}
	for _, partition := range p.PartitionKeys {
		pKey := partitionKey(p.AssetKey, partition)
		if err := x.set(pKey, p.AssetKey, partition, store.PartitionInProgress, ev); err != nil {
			return err
		}
		qKey := plannedKey(x.runID, p.AssetKey, partition)
		_, err := x.txn.Get(qKey)
		if err == nil {
			continue // planned before by this run: finishing it is already counted
		}
		if !errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("read key %q: %w", qKey, err)
		}
		if err := x.txn.Set(qKey, nil); err != nil {
			return err
		}
		budget.add(pKey, qKey, x.runID)
		x.budgetChanged = true
		if budget.entries > x.limit.entries || budget.size > x.limit.size {
			return fmt.Errorf("planning %d partitions of %q would take run %q past %d planned partitions (or %d bytes of index entries), "+
				"more than the one transaction that ends the run could finish; nothing was written: plan fewer partitions per run "+
				"(for a backfill, more runs with fewer partitions each)",
				len(p.PartitionKeys), p.AssetKey, x.runID, x.limit.entries/2, x.limit.size)
		}
	}
	return nil
}

// materialize applies a materialization of one partition.
func (x *partitionIndex) materialize(ev *store.Event) error {
	m := ev.Materialization
	return x.set(partitionKey(m.AssetKey, m.PartitionKey), m.AssetKey, m.PartitionKey, store.PartitionMaterialized, ev)
}

// finish applies the event that ends the run: every partition the run planned that is still
// IN_PROGRESS with this run becomes FAILED (one re-planned by a later run is that run's), and
// the run's q/ entries and plan budget are deleted.
func (x *partitionIndex) finish(ev *store.Event) error {
	budget, err := x.loadBudget()
	if err != nil {
		return err
	}
	if budget.entries == 0 {
		return nil // planned nothing
	}
	// Collect first: a read-write transaction may hold one iterator at a time, and set reads.
	prefix := plannedPrefix(x.runID)
	var planned [][]byte
	func() {
		it := x.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			planned = append(planned, it.Item().KeyCopy(nil))
		}
	}()
	for _, qKey := range planned {
		assetKey, partition, err := splitPlannedKey(prefix, qKey)
		if err != nil {
			return err
		}
		pKey := partitionKey(assetKey, partition)
		st, found, err := x.status(pKey, partition)
		if err != nil {
			return err
		}
		if found && st.State == store.PartitionInProgress && st.RunID == x.runID {
			if err := x.set(pKey, assetKey, partition, store.PartitionFailed, ev); err != nil {
				return err
			}
		}
		if err := x.txn.Delete(qKey); err != nil {
			return err
		}
	}
	*budget = planBudget{}
	x.budgetChanged = true
	return nil
}

// flush writes the counts and the plan budget the transaction changed.
func (x *partitionIndex) flush() error {
	for assetKey, c := range x.counts {
		if !c.valid() {
			return fmt.Errorf("partition counts of %q at key %q would become negative (%+v): the index is inconsistent",
				assetKey, partCountsKey(assetKey), *c)
		}
		if err := x.txn.Set(partCountsKey(assetKey), c.encode()); err != nil {
			return err
		}
	}
	if !x.budgetChanged {
		return nil
	}
	if x.budget.entries == 0 {
		return x.txn.Delete(planBudgetKey(x.runID))
	}
	return x.txn.Set(planBudgetKey(x.runID), x.budget.encode())
}

// PartitionStatuses implements store.Store. It walks the asset's p/ keys from afterKey.
func (s *Store) PartitionStatuses(ctx context.Context, assetKey, afterKey string, limit int) ([]store.PartitionStatus, error) {
	fail := func(err error) ([]store.PartitionStatus, error) {
		return nil, fmt.Errorf("badgerstore: partition statuses of %q: %w", assetKey, err)
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

	var statuses []store.PartitionStatus
	err := s.db.View(func(txn *badger.Txn) error {
		// The counts say how many statuses there are: size the slice once. They are only a
		// hint here (PartitionCounts reports a corrupt record), bounded so that a corrupt one
		// cannot ask for a huge allocation.
		n := 0
		if c, err := readCounts(txn, assetKey); err == nil {
			n = int(min(c.materialized+c.failed+c.inProgress, 1<<20))
		}
		if limit > 0 {
			n = min(n, limit)
		}
		statuses = make([]store.PartitionStatus, 0, n)

		prefix := partitionPrefix(assetKey)
		// Values are small and kept in the LSM tree: reading them in place beats prefetching,
		// which copies each one.
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		// The smallest key after afterKey is afterKey followed by a NUL.
		start := append(append([]byte(nil), prefix...), afterKey...)
		if afterKey != "" {
			start = append(start, sep)
		}
		// Most partitions share their run with a neighbour: reuse the run id string.
		var lastRun string
		for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
			if len(statuses)%ctxCheckEvery == ctxCheckEvery-1 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			item := it.Item()
			k := item.Key()
			var st store.PartitionStatus
			err := item.Value(func(v []byte) error {
				var err error
				st, err = decodePartitionStatusRun(k, string(k[len(prefix):]), v, &lastRun)
				return err
			})
			if err != nil {
				return err
			}
			statuses = append(statuses, st)
			if limit > 0 && len(statuses) == limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	return statuses, nil
}

// PartitionStatusesOf implements store.Store, with one read per key in one snapshot.
func (s *Store) PartitionStatusesOf(ctx context.Context, assetKey string, keys ...string) (map[string]store.PartitionStatus, error) {
	fail := func(err error) (map[string]store.PartitionStatus, error) {
		return nil, fmt.Errorf("badgerstore: partition statuses of %q: %w", assetKey, err)
	}
	if err := validName("asset key", assetKey); err != nil {
		return fail(err)
	}
	for _, k := range keys {
		if err := validName("partition key", k); err != nil {
			return fail(err)
		}
	}
	if err := s.enter(ctx); err != nil {
		return fail(err)
	}
	defer s.closeMu.RUnlock()

	out := make(map[string]store.PartitionStatus, len(keys))
	err := s.db.View(func(txn *badger.Txn) error {
		for i, partition := range keys {
			if i%ctxCheckEvery == ctxCheckEvery-1 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if _, done := out[partition]; done {
				continue
			}
			k := partitionKey(assetKey, partition)
			item, err := txn.Get(k)
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("read key %q: %w", k, err)
			}
			err = item.Value(func(v []byte) error {
				st, err := decodePartitionStatus(k, partition, v)
				out[partition] = st
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	return out, nil
}

// PartitionCounts implements store.Store: one read of the asset's n/ record.
func (s *Store) PartitionCounts(ctx context.Context, assetKey string) (store.PartitionCounts, error) {
	fail := func(err error) (store.PartitionCounts, error) {
		return store.PartitionCounts{}, fmt.Errorf("badgerstore: partition counts of %q: %w", assetKey, err)
	}
	if err := validName("asset key", assetKey); err != nil {
		return fail(err)
	}
	if err := s.enter(ctx); err != nil {
		return fail(err)
	}
	defer s.closeMu.RUnlock()
	var c counts
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		c, err = readCounts(txn, assetKey)
		return err
	})
	if err != nil {
		return fail(err)
	}
	return store.PartitionCounts{Materialized: int(c.materialized), Failed: int(c.failed), InProgress: int(c.inProgress)}, nil
}
