package host_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/host/store"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// TestRunStateSurvivesReopen: what a run reported is in the store after the instance is closed
// and opened again, and a run left STARTED (its process gone) is marked failed on the next open.
func TestRunStateSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	inst, err := host.Open(ctx, home, host.WithCompilationCacheDir(guesttest.CacheDir(t)))
	if err != nil {
		t.Fatal(err)
	}
	ws := loadWorkspace(t, inst, faultsWorkspace(t))
	res := materialize(t, inst, ws, "ok_source")
	if !res.Success() {
		t.Fatal(res.Err())
	}
	// A run whose process "died" after it started: created and started, never finished.
	orphan := store.Run{ID: "0190c0de-0000-7000-8000-000000000001", JobName: store.AssetJobName, CreatedAt: time.Now()}
	if err := inst.Store().CreateRun(ctx, orphan); err != nil {
		t.Fatal(err)
	}
	if _, err := inst.Store().AppendEvents(ctx, orphan.ID, store.Event{Type: store.EventRunStart}); err != nil {
		t.Fatal(err)
	}
	if err := inst.Close(); err != nil {
		t.Fatal(err)
	}

	again, err := host.Open(ctx, home, host.WithCompilationCacheDir(guesttest.CacheDir(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	run, err := again.Store().Run(ctx, res.RunID)
	if err != nil || run.Status != store.RunSuccess {
		t.Fatalf("finished run after reopen: %+v, %v", run, err)
	}
	v, err := again.AssetValue(ctx, "ok_source")
	if err != nil || strings.TrimSpace(string(v.Data)) != `{"n":1}` {
		t.Fatalf("value after reopen: %q, %v", v.Data, err)
	}
	o, err := again.Store().Run(ctx, orphan.ID)
	if err != nil || o.Status != store.RunFailure {
		t.Fatalf("interrupted run after reopen: %+v, %v", o, err)
	}
	events, _ := again.Store().Events(ctx, orphan.ID, 0, 0)
	last := events[len(events)-1]
	if last.Type != store.EventRunFailure || !strings.Contains(last.Error, "stopped before the run finished") {
		t.Fatalf("last event of interrupted run: %+v", last)
	}
}

func TestSecondProcessIsRefusedClearly(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	inst, err := host.Open(ctx, home)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	_, err = host.Open(ctx, home)
	if err == nil || !strings.Contains(err.Error(), "in use by another wasmorch process") {
		t.Fatalf("second open: %v", err)
	}
}
