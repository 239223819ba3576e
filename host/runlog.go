package host

import (
	"context"
	"sync"
	"time"

	"github.com/wasmorch/wasmorch/host/store"
)

// runLog appends a run's events to the store. Step transitions and materializations are written
// as they happen, each group in one transaction; log lines are batched (flushed every
// logFlushInterval, at logBatch lines, and before any other event) because a chatty guest can
// log thousands of lines a second.
type runLog struct {
	store   store.Store
	runID   string
	onEvent func(store.Event)
	// minLevel drops LOG events below it (workspace logging.level).
	minLevel int

	mu      sync.Mutex
	pending []store.Event
	// pendingBytes bounds the stored size of pending (see eventSizeBound).
	pendingBytes int
	all          []store.Event
	err          error
	stop         chan struct{}
	stopped      chan struct{}
}

const (
	logFlushInterval = 200 * time.Millisecond
	logBatch         = 256
	// logBatchBytes caps a batch by size as logBatch does by count: one batch is one store
	// transaction, and Badger refuses a transaction of about 10 MB or more. 256 lines of the
	// 64 KiB a guest may log at once would be 16 MiB, more as JSON escapes control characters.
	logBatchBytes = 1 << 20
)

// eventSizeBound is at least the size of ev as the store encodes it: JSON escapes a byte to at
// most six ("\u001b"), and the fixed fields and small metadata of a log event fit in the rest.
func eventSizeBound(ev store.Event) int {
	n := 6*(len(ev.Message)+len(ev.Error)+len(ev.StepKey)+len(ev.Level)) + 512
	for k, v := range ev.Metadata {
		n += 6*len(k) + 64
		if s, ok := v.(string); ok {
			n += 6 * len(s)
		}
	}
	return n
}

func newRunLog(s store.Store, runID string, onEvent func(store.Event)) *runLog {
	l := &runLog{store: s, runID: runID, onEvent: onEvent, stop: make(chan struct{}), stopped: make(chan struct{})}
	go l.flusher()
	return l
}

func (l *runLog) flusher() {
	defer close(l.stopped)
	t := time.NewTicker(logFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.mu.Lock()
			l.flushLocked()
			l.mu.Unlock()
		case <-l.stop:
			return
		}
	}
}

// levelRank orders log levels for the workspace's level filter.
var levelRank = map[string]int{store.LevelDebug: 0, store.LevelInfo: 1, store.LevelWarn: 2, store.LevelError: 3}

// log queues a LOG event, unless its level is below the workspace's filter.
func (l *runLog) log(ev store.Event) {
	if levelRank[ev.Level] < l.minLevel {
		return
	}
	ev.Type = store.EventLog
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	size := eventSizeBound(ev)
	if l.pendingBytes+size > logBatchBytes {
		l.flushLocked()
	}
	l.pending = append(l.pending, ev)
	l.pendingBytes += size
	if len(l.pending) >= logBatch {
		l.flushLocked()
	}
}

// write appends events now, in one transaction, after any queued logs. Run-status events are
// synced by the store before this returns.
func (l *runLog) write(events ...store.Event) error {
	now := time.Now()
	for i := range events {
		if events[i].Time.IsZero() {
			events[i].Time = now
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
	return l.appendLocked(events)
}

func (l *runLog) flushLocked() {
	if len(l.pending) == 0 {
		return
	}
	batch := l.pending
	l.pending, l.pendingBytes = nil, 0
	l.appendLocked(batch)
}

func (l *runLog) appendLocked(events []store.Event) error {
	// Events of a run are written even when the run's context was canceled: the record of a
	// canceled run must still be complete.
	stored, err := l.store.AppendEvents(context.Background(), l.runID, events...)
	if err != nil {
		if l.err == nil {
			l.err = err
		}
		return err
	}
	l.all = append(l.all, stored...)
	if l.onEvent != nil {
		for _, ev := range stored {
			l.onEvent(ev)
		}
	}
	return nil
}

// close flushes and stops the flusher, returning the first store error and all stored events.
func (l *runLog) close() ([]store.Event, error) {
	close(l.stop)
	<-l.stopped
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
	return l.all, l.err
}
