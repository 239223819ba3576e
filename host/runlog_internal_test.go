package host

import (
	"context"
	"strings"
	"testing"

	"github.com/wasmorch/wasmorch/host/store"
	"github.com/wasmorch/wasmorch/host/store/badgerstore"
)

// TestLogBatchesFitATransaction: a burst of the longest lines a guest may log, made of control
// characters that JSON stores as six bytes each, is stored whole. Batched by count alone, 256 such
// lines were one transaction of some 100 MB, which Badger refuses: the lines were lost and the
// run's end could not be written.
func TestLogBatchesFitATransaction(t *testing.T) {
	s, err := badgerstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const runID = "0190c0de-0000-7000-8000-0000000010c5"
	if err := s.CreateRun(ctx, store.Run{ID: runID, JobName: "j"}); err != nil {
		t.Fatal(err)
	}
	l := newRunLog(s, runID, nil)
	if err := l.write(store.Event{Type: store.EventRunStart}); err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("\x01", 64<<10)
	const lines = 600
	for range lines {
		l.log(store.Event{StepKey: "a", Level: store.LevelInfo, Message: line})
	}
	if err := l.write(store.Event{Type: store.EventRunSuccess}); err != nil {
		t.Fatalf("end of run after the burst: %v", err)
	}
	events, err := l.close()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(events); n != lines+2 {
		t.Fatalf("stored %d events, want %d", n, lines+2)
	}
	if r, _ := s.Run(ctx, runID); r.Status != store.RunSuccess {
		t.Errorf("run is %s", r.Status)
	}
}
