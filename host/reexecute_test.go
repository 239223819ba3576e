package host_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/host/store"
)

// TestReexecuteFromFailure: re-executing a failed run from failure runs only the failed and
// skipped steps, reads upstream values from what the parent run stored (not from a later
// materialization), and records the parent and root runs.
func TestReexecuteFromFailure(t *testing.T) {
	ctx := context.Background()
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, faultsWorkspace(t))
	first := materialize(t, inst, ws, "echo_config*", host.WithRunConfig([]byte(
		`{"ops": {"echo_config": {"config": {"v": "first"}}, "fails_if": {"config": {"fail": true}}}}`)))
	if first.Success() || first.Steps["echo_config"].Status != "SUCCESS" || first.Steps["after_fails_if"].Status != "SKIPPED" {
		t.Fatalf("first run: %v", first.Steps)
	}
	// A later run gives echo_config another value; the re-execution must not read it.
	materialize(t, inst, ws, "echo_config", host.WithRunConfig([]byte(`{"ops": {"echo_config": {"config": {"v": "second"}}}}`)))

	// With the parent's config (fail: true) the step fails again.
	if again, err := inst.Reexecute(ctx, ws, first.RunID, true); err != nil || again.Success() || again.Steps["fails_if"].Status != "FAILURE" {
		t.Fatalf("re-execution with the parent's config: %v, %+v", err, again)
	}
	res, err := inst.Reexecute(ctx, ws, first.RunID, true, host.WithRunConfig([]byte(`{"ops": {"fails_if": {"config": {"fail": false}}}}`)))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Success() || len(res.Steps) != 2 || res.Steps["fails_if"].Status != "SUCCESS" || res.Steps["after_fails_if"].Status != "SUCCESS" {
		t.Fatalf("re-execution ran %v, want fails_if and after_fails_if, successfully", res.Steps)
	}
	v, _ := inst.AssetValue(ctx, "after_fails_if")
	if !strings.Contains(string(v.Data), `"v":"first"`) {
		t.Errorf("re-execution read %s, want the parent run's echo_config value (first)", v.Data)
	}
	run, _ := inst.Store().Run(ctx, res.RunID)
	if run.ParentRunID != first.RunID || run.RootRunID != first.RunID || run.Tags[host.ParentRunTag] != first.RunID {
		t.Errorf("lineage: parent %q root %q tags %v", run.ParentRunID, run.RootRunID, run.Tags)
	}

	if _, err := inst.Reexecute(ctx, ws, res.RunID, true); err == nil || !strings.Contains(err.Error(), "nothing to re-execute from failure") {
		t.Errorf("from failure of a successful run: %v", err)
	}
	all, err := inst.Reexecute(ctx, ws, res.RunID, false)
	if err != nil || !all.Success() || len(all.Steps) != 2 {
		t.Fatalf("full re-execution: %v %v", err, all)
	}
	again, _ := inst.Store().Run(ctx, all.RunID)
	if again.RootRunID != first.RunID {
		t.Errorf("root of a re-execution of a re-execution = %q, want the first run", again.RootRunID)
	}
	if _, err := inst.Reexecute(ctx, ws, "no-such-run", true); err == nil || !strings.Contains(err.Error(), store.ErrRunNotFound.Error()) {
		t.Errorf("unknown run: %v", err)
	}
}
