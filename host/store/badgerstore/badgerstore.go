// Package badgerstore is the embedded implementation of store.Store: one wasmorch process keeps
// its runs, event logs and asset catalog in a Badger v4 database in a local directory (or in
// memory, for tests).
//
// It implements the rules of package store and nothing more: run status and the materialization
// index are derived from appended events, in the transaction that appends them, with
// store.NextStatus. It must not grow a second way of changing a run (no status setters, no
// deletes of single events) and must not know about guests, wazero or Arrow. Only one process may
// open a directory at a time; a second gets an error wrapping store.ErrLocked.
//
// The key layout is documented in keys.go.
package badgerstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wasmorch/wasmorch/host/store"
)

// Option configures Open.
type Option func(*config)

type config struct {
	inMemory bool
	logger   *slog.Logger
	// memTableSize overrides Badger's memtable size (64 MiB) when positive. Only tests set it
	// (crash_test.go), so that memtable rotations, flushes to level 0 and compactions happen
	// within a second of write load instead of after 64 MiB.
	memTableSize int64
}

// WithInMemory keeps the whole store in memory (Badger's InMemory mode); nothing is written to
// disk and the dir argument of Open is ignored. Meant for tests.
func WithInMemory() Option { return func(c *config) { c.inMemory = true } }

// WithLogger routes Badger's warnings and errors to l. Badger's info and debug messages are always
// dropped; without WithLogger, Badger logs nothing at all.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// maxCommitAttempts bounds the retries of a write transaction that fails with badger.ErrConflict.
const maxCommitAttempts = 8

// Store is a store.Store backed by Badger. It is safe for concurrent use.
type Store struct {
	db  *badger.DB
	dir string // "" in memory; for messages

	// closeMu is held for reading by every method for its whole duration and for writing by
	// Close, so the db is never used after it is closed.
	closeMu sync.RWMutex
	closed  bool

	// writeMu serialises every write transaction of this store, from reading what it modifies
	// to the end of its Sync. It exists for the event ID order, see lastID, and for durability,
	// see syncLocked.
	writeMu sync.Mutex
	// lastID is the highest event ID assigned by a committed transaction, guarded by writeMu.
	//
	// Why a counter under writeMu rather than badger's db.GetSequence: a Sequence hands out IDs
	// when asked, not when the events holding them commit. Two goroutines A and B could draw 5
	// and 6, B could commit first, and a sensor reading "events after 4" would see 6, advance its
	// cursor to 6 and never see 5. IDs must be increasing in commit order, so assigning an ID and
	// committing the events that carry it must be one critical section. The counter is stored
	// under s/lastid in the same transaction as the events, so it survives restarts and never
	// runs behind the stored events. Serialising writes costs Badger's batching of concurrent
	// commits; the rate measured by BenchmarkAppendEvents is the price of a correct cursor.
	lastID int64

	// planLimit is the largest plan budget a run may hold (see planBudget), from the db's
	// transaction limits.
	planLimit planBudget
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it if needed) the store in dir. If another process, or another Open in
// this process, holds dir, the error wraps store.ErrLocked.
func Open(dir string, opts ...Option) (*Store, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.inMemory {
		dir = ""
	} else if dir == "" {
		return nil, errors.New("badgerstore: open: empty directory")
	}

	bopts := badger.DefaultOptions(dir).
		WithInMemory(cfg.inMemory).
		WithLogger(badgerLogger{cfg.logger}).
		// The Badger default, stated because durability depends on it: commits are not synced
		// one by one; the writes that must be durable are followed by db.Sync (see syncLocked).
		WithSyncWrites(false)
	if cfg.memTableSize > 0 {
		// Badger refuses a value threshold above its batch limit, 15% of the memtable, so a
		// small memtable needs a smaller threshold too; the values the tests write are far
		// below either, so they stay in the LSM tree as in production.
		bopts = bopts.WithMemTableSize(cfg.memTableSize).WithValueThreshold(cfg.memTableSize / 16)
	}

	db, err := openBadger(bopts)
	if err != nil {
		// Badger's error carries no sentinel (its wrapping flattens the flock errno into text),
		// so recognise the sentence every platform's acquireDirectoryLock uses.
		if strings.Contains(err.Error(), "Another process is using this Badger database") {
			return nil, fmt.Errorf("badgerstore: open %q: another wasmorch process is using this directory (stop it, or use another directory): %w",
				dir, store.ErrLocked)
		}
		return nil, fmt.Errorf("badgerstore: open %q: %w", dir, err)
	}
	s := &Store{db: db, dir: dir, planLimit: maxPlanBudget(db)}
	if err := s.init(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("badgerstore: open %q: %w", dir, err)
	}
	return s, nil
}

// emptyLogFileError is the text of ristretto's z.NewFile, the error badger.Open returns for a
// write-ahead log (.mem) or value log (.vlog) file of zero bytes. Badger flattens the error into
// text, so errors.Is cannot find it.
const emptyLogFileError = "Create a new file"

// openBadger is badger.Open, retried when the first attempt fails on an empty log file.
//
// Badger creates such a file and then sizes it (ftruncate) in two steps, when it opens (a new
// value log every time) and when it rotates a full memtable. A process killed between the two
// leaves a file of zero bytes, and the next badger.Open refuses the directory (badger issue
// 2207; TestBankCrash hit it). The failed Open has already sized the file (z.OpenMmapFile
// truncates it before returning z.NewFile), so the next attempt finds a log that is merely
// empty, which Badger accepts: it drops an empty memtable and truncates an empty value log to
// its header. A zero-byte file cannot have held any write, so nothing is lost. Each attempt
// takes the directory lock itself; this code deletes nothing. Badger creates these files one at
// a time, so a kill leaves at most one and a second attempt suffices; the third is margin.
func openBadger(opts badger.Options) (*badger.DB, error) {
	const attempts = 3
	for attempt := 1; ; attempt++ {
		db, err := badger.Open(opts)
		if err == nil || attempt == attempts || !strings.Contains(err.Error(), emptyLogFileError) {
			return db, err
		}
	}
}

// init checks the layout version (writing it into a new store, migrating an older one) and
// loads the event ID counter.
func (s *Store) init() error {
	migrate := false
	err := s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(keyFormat)
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
			if err := txn.Set(keyFormat, []byte(formatVersion)); err != nil {
				return fmt.Errorf("write %q: %w", keyFormat, err)
			}
		case err != nil:
			return fmt.Errorf("read %q: %w", keyFormat, err)
		default:
			v, err := item.ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("read %q: %w", keyFormat, err)
			}
			switch string(v) {
			case formatVersion:
			case formatVersion1:
				migrate = true
			default:
				return fmt.Errorf("key %q: unsupported store format %q (this wasmorch understands %q, and migrates %q)",
					keyFormat, v, formatVersion, formatVersion1)
			}
		}

		item, err = txn.Get(keyLastID)
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
			s.lastID = 0
		case err != nil:
			return fmt.Errorf("read %q: %w", keyLastID, err)
		default:
			v, err := item.ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("read %q: %w", keyLastID, err)
			}
			if s.lastID, err = decodeID(keyLastID, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || !migrate {
		return err
	}
	if err := migrateFrom1(s.db); err != nil {
		return err
	}
	err = s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyFormat, []byte(formatVersion)) })
	if err == nil {
		err = s.db.Sync()
	}
	if err != nil {
		return fmt.Errorf("write %q after migrating: %w", keyFormat, err)
	}
	return nil
}

// Close closes the database, which flushes the memtable to disk. Calling it again returns nil.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("badgerstore: close %q: %w", s.dir, err)
	}
	return nil
}

// enter starts a method: it fails if ctx is done or the store closed, and otherwise holds
// closeMu for reading until the caller calls s.closeMu.RUnlock.
func (s *Store) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return store.ErrClosed
	}
	return nil
}

// commitLocked runs fn in a new write transaction and commits it, retrying on badger.ErrConflict
// (fn must therefore be safe to run again: it re-reads whatever it modifies). The caller holds
// writeMu. Because every writer of this store holds writeMu, a conflict can only come from a
// writer outside it; the retry is a guard that keeps a read-modify-write of a run record correct
// should that ever happen, not a path the store relies on.
func (s *Store) commitLocked(ctx context.Context, fn func(txn *badger.Txn) error) error {
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		txn := s.db.NewTransaction(true)
		err := fn(txn)
		if err == nil {
			err = txn.Commit()
		}
		txn.Discard()
		switch {
		case err == nil:
			return nil
		case errors.Is(err, badger.ErrConflict) && attempt < maxCommitAttempts:
			continue
		case errors.Is(err, badger.ErrConflict):
			return fmt.Errorf("commit: gave up after %d conflicting attempts: %w", attempt, err)
		case errors.Is(err, badger.ErrTxnTooBig):
			return fmt.Errorf("too much data for one transaction (append fewer or smaller events per call): %w", err)
		}
		return err
	}
}

// syncLocked makes every committed write durable. The caller holds writeMu.
//
// SyncWrites is off, so a commit returns once its entries are in the memtable's write-ahead log
// (WAL) and, for values of ValueThreshold (1 MiB) or more, in the value log, both mmapped files
// not yet flushed from the page cache. In badger v4.9.6, DB.Sync (db.go) calls
// db.mt.SyncWAL(), an msync(MS_SYNC) of the active memtable's WAL, and db.vlog.sync(), an
// msync of the current value log file. On open, Badger replays the WALs of memtables not yet
// flushed to tables, so a transaction whose WAL records were synced survives a power loss.
//
// Syncing while holding writeMu is deliberate: Sync only reaches the *active* memtable and value
// log file. If another write rotated the memtable between this commit and this Sync (Badger
// rotates when one fills, 64 MiB by default), the commit would sit in an older WAL that Sync
// does not touch. Only this store writes to the db and every write holds writeMu, so nothing can
// rotate in between. Residual gaps, from Badger rather than this code: a value of 1 MiB or more
// whose own write filled a value log file (1 GiB) lands in a file Badger truncates but does not
// sync; and on Windows z.Msync is a no-op.
//
// What Sync does not reach: unsynced commits in a memtable that has since been rotated out.
// Rotation (DB.ensureRoomForWrite) does not sync the old memtable's WAL, so its unsynced
// commits become durable only when Badger has flushed it to a level-0 table (msynced, and
// recorded in the fsynced MANIFEST), or when the kernel happens to write its pages back. Until
// then a power loss can lose them although a later synced commit survives. A process kill
// cannot: the pages are in the page cache. docs/DURABILITY.md says what this means for runs.
func (s *Store) syncLocked() error {
	if err := s.db.Sync(); err != nil {
		return fmt.Errorf("committed, but sync to disk failed: %w", err)
	}
	return nil
}

// getRun reads the run record of id in txn.
func getRun(txn *badger.Txn, id string) (store.Run, error) {
	key := runKey(id)
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return store.Run{}, fmt.Errorf("%w: %q", store.ErrRunNotFound, id)
	}
	if err != nil {
		return store.Run{}, fmt.Errorf("read key %q: %w", key, err)
	}
	return decodeRun(item, id)
}

// runExists reports, as getRun would, whether run id is stored, without decoding it.
func runExists(txn *badger.Txn, id string) error {
	_, err := txn.Get(runKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return fmt.Errorf("%w: %q", store.ErrRunNotFound, id)
	}
	if err != nil {
		return fmt.Errorf("read key %q: %w", runKey(id), err)
	}
	return nil
}

func decodeRun(item *badger.Item, id string) (store.Run, error) {
	var run store.Run
	err := item.Value(func(v []byte) error { return json.Unmarshal(v, &run) })
	if err != nil {
		return store.Run{}, fmt.Errorf("decode run %q at key %q: %w", id, item.Key(), err)
	}
	if run.ID != id {
		return store.Run{}, fmt.Errorf("decode run %q at key %q: record holds run %q", id, item.Key(), run.ID)
	}
	return run, nil
}

func decodeEvent(item *badger.Item) (store.Event, error) {
	var ev store.Event
	err := item.Value(func(v []byte) error { return json.Unmarshal(v, &ev) })
	if err != nil {
		return store.Event{}, fmt.Errorf("decode event at key %q: %w", item.Key(), err)
	}
	return ev, nil
}

// badgerLogger adapts badger.Logger: warnings and errors go to l (if any), the rest is dropped.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(format string, args ...any) {
	if b.l != nil {
		b.l.Error(strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "badger")
	}
}

func (b badgerLogger) Warningf(format string, args ...any) {
	if b.l != nil {
		b.l.Warn(strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "badger")
	}
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}

// now is the store's clock for defaults (a run's CreatedAt, an event's Time), without a
// monotonic reading (UTC strips it) so stored and returned values compare equal.
func now() time.Time { return time.Now().UTC() }
