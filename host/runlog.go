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
	all     []store.Event
	err     error
	stop    chan struct{}
	stopped chan struct{}
}

const (
	logFlushInterval = 200 * time.Millisecond
	logBatch         = 256
)

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
	l.pending = append(l.pending, ev)
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
	l.pending = nil
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
