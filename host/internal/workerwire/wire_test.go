package workerwire_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/wasmorch/wasmorch/host/internal/workerwire"
	"github.com/wasmorch/wasmorch/host/store"
	"github.com/wasmorch/wasmorch/host/store/badgerstore"
	"github.com/wasmorch/wasmorch/host/store/storetest"
)

// connect returns a worker's client whose calls a server answers from a real Badger store
// through two pipes, as between a parent and its run worker.
func connect(t *testing.T, runID string, onAppend func([]store.Event)) (*workerwire.Client, *workerwire.Server, store.Store) {
	t.Helper()
	backing, err := badgerstore.Open("", badgerstore.WithInMemory())
	if err != nil {
		t.Fatal(err)
	}
	toWorkerR, toWorkerW := io.Pipe()
	toParentR, toParentW := io.Pipe()
	srv := workerwire.NewServer(backing, runID, toWorkerW, onAppend)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(toParentR) }()
	c := workerwire.NewClient(toWorkerR, toParentW)
	t.Cleanup(func() {
		toParentW.Close() // the worker exits: the server sees the end of its pipe
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		toWorkerW.Close()
		backing.Close()
	})
	return c, srv, backing
}

// TestConformance: the store a worker sees through the pipe behaves as the store itself,
// sentinel errors included.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		c, _, _ := connect(t, "", nil)
		return c
	})
}

func TestWorkerIsConfinedToItsRun(t *testing.T) {
	const mine, other = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"
	var appended []store.Event
	c, _, backing := connect(t, mine, func(evs []store.Event) { appended = append(appended, evs...) })
	ctx := context.Background()
	for _, id := range []string{mine, other} {
		if err := backing.CreateRun(ctx, store.Run{ID: id, JobName: "j"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CreateRun(ctx, store.Run{ID: "00000000-0000-4000-8000-000000000003", JobName: "j"}); err == nil || !strings.Contains(err.Error(), "creates no runs") {
		t.Errorf("CreateRun from a worker: %v", err)
	}
	if _, err := c.AddDynamicPartitions(ctx, "customers", "acme"); err == nil || !strings.Contains(err.Error(), "may not change backfills or dynamic partitions") {
		t.Errorf("AddDynamicPartitions from a worker: %v", err)
	}
	if err := c.CreateBackfill(ctx, store.Backfill{ID: "b1", Selection: "x"}); err == nil || !strings.Contains(err.Error(), "may not change backfills") {
		t.Errorf("CreateBackfill from a worker: %v", err)
	}
	if keys, err := c.DynamicPartitions(ctx, "customers"); err != nil || len(keys) != 0 {
		t.Errorf("DynamicPartitions from a worker: %v %v", keys, err)
	}
	if _, err := c.AppendEvents(ctx, other, store.Event{Type: store.EventRunStart}); err == nil || !strings.Contains(err.Error(), "may not append to run "+other) {
		t.Errorf("append to another run: %v", err)
	}
	if r, _ := backing.Run(ctx, other); r.Status != store.RunNotStarted {
		t.Errorf("the other run changed: %s", r.Status)
	}
	if _, err := c.AppendEvents(ctx, mine, store.Event{Type: store.EventRunStart}); err != nil {
		t.Fatal(err)
	}
	// Sentinels cross the pipe.
	if _, err := c.AppendEvents(ctx, mine, store.Event{Type: store.EventRunStart}); !errors.Is(err, store.ErrInvalidTransition) {
		t.Errorf("second RUN_START: %v", err)
	}
	if len(appended) != 1 || appended[0].Type != store.EventRunStart || appended[0].ID == 0 {
		t.Errorf("onAppend saw %+v", appended)
	}
	if r, _ := backing.Run(ctx, mine); r.Status != store.RunStarted {
		t.Errorf("own run: %s", r.Status)
	}
}

// TestLaunchAndStop: the launch message reaches the worker, and so does a stop request.
func TestLaunchAndStop(t *testing.T) {
	c, srv, _ := connect(t, "r", nil)
	type launch struct{ Workspace string }
	go func() {
		srv.Launch(launch{Workspace: "/w/wasmorch.yaml"})
		srv.Stop(workerwire.Stop{Reason: "too slow", Timeout: true})
	}()
	var got launch
	if err := c.Launch(context.Background(), &got); err != nil || got.Workspace != "/w/wasmorch.yaml" {
		t.Fatalf("launch: %+v, %v", got, err)
	}
	if st := <-c.Stopped(); st.Reason != "too slow" || !st.Timeout {
		t.Errorf("stop: %+v", st)
	}
}

// TestParentGone: when the parent's pipe ends, calls fail with ErrParentGone instead of hanging.
func TestParentGone(t *testing.T) {
	r, w := io.Pipe()
	c := workerwire.NewClient(r, io.Discard)
	w.Close()
	<-c.Gone()
	if _, err := c.Run(context.Background(), "x"); !errors.Is(err, workerwire.ErrParentGone) {
		t.Errorf("call after the parent left: %v", err)
	}
}
