package host_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wasmorch/wasmorch/host/store"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// TestAssetChecks: checks run after their asset, every evaluation is stored and indexed; a WARN
// failure does not block; a blocking ERROR failure fails the asset's step and skips downstream,
// while the materialization it checked stays recorded.
func TestAssetChecks(t *testing.T) {
	ctx := context.Background()
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, faultsWorkspace(t))

	res := materialize(t, inst, ws, "checked*")
	if !res.Success() {
		t.Fatalf("checked*: %v", res.Err())
	}
	evals := eventsOf(res, store.EventCheckEvaluation, "checked")
	if len(evals) != 2 {
		t.Fatalf("%d evaluations, want 2", len(evals))
	}
	got := map[string]store.CheckEvaluation{}
	for _, ev := range evals {
		got[ev.CheckEvaluation.CheckName] = *ev.CheckEvaluation
	}
	if c := got["n_positive"]; !c.Passed || c.Severity != "ERROR" || c.Metadata["n"] != 5.0 {
		t.Errorf("n_positive = %+v", c)
	}
	if c := got["n_small"]; c.Passed || c.Severity != "WARN" || !c.Blocking {
		t.Errorf("n_small = %+v (a blocking check failing with WARN must not block)", c)
	}
	hist, err := inst.Store().CheckEvaluations(ctx, "checked", 0)
	if err != nil || len(hist) != 2 {
		t.Fatalf("history: %v, %v", hist, err)
	}

	res = materialize(t, inst, ws, "blocked_source*")
	if msg := stepError(t, res, "blocked_source"); msg != `blocking check "n_non_negative" on asset "blocked_source" failed` {
		t.Errorf("error %q", msg)
	}
	if res.Steps["after_blocked"].Status != "SKIPPED" {
		t.Errorf("after_blocked = %+v, want SKIPPED", res.Steps["after_blocked"])
	}
	if len(eventsOf(res, store.EventMaterialization, "blocked_source")) != 1 {
		t.Error("the checked materialization was not recorded")
	}
}

func TestCheckOnUnknownAsset(t *testing.T) {
	inst := openInstance(t)
	ws := writeWorkspace(t, map[string]string{"m": guesttest.Path(t, "guests/wat/check_unknown_asset.wasm")}, "")
	_, err := inst.LoadWorkspace(context.Background(), ws)
	if err == nil || !strings.Contains(err.Error(), `module "m": check "positive" targets asset "ghost", which no module defines`) {
		t.Fatalf("err = %v", err)
	}
}
