package host_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

const greetJobs = `jobs:
  - name: greet
    description: greet someone
    selection: typed_config
    tags: {team: data}
    config:
      ops:
        typed_config:
          config: {name: job-default, count: 5}
`

func TestJobs(t *testing.T) {
	ctx := context.Background()
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, writeWorkspace(t, map[string]string{"faults": guesttest.Path(t, "guests/go/faults/faults.wasm")}, greetJobs))
	jobs := ws.Jobs()
	if len(jobs) != 1 || jobs[0].Name != "greet" || jobs[0].Selection != "typed_config" || !strings.Contains(jobs[0].Source, "wasmorch.yaml line 5") {
		t.Fatalf("jobs = %+v", jobs)
	}

	check := func(res *host.Result, name string, count float64) {
		t.Helper()
		if !res.Success() {
			t.Fatal(res.Err())
		}
		run, _ := inst.Store().Run(ctx, res.RunID)
		if run.JobName != "greet" || run.Tags["team"] != "data" {
			t.Errorf("run job %q tags %v", run.JobName, run.Tags)
		}
		v, _ := inst.AssetValue(ctx, "typed_config")
		var got map[string]any
		json.Unmarshal(v.Data, &got)
		if got["name"] != name || got["count"] != count {
			t.Errorf("config seen by the guest %v, want name %q count %v", got, name, count)
		}
	}
	res, err := inst.ExecuteJob(ctx, ws, "greet")
	if err != nil {
		t.Fatal(err)
	}
	check(res, "job-default", 5)
	res, err = inst.ExecuteJob(ctx, ws, "greet", host.WithRunConfig([]byte(`{"ops": {"typed_config": {"config": {"count": 7}}}}`)))
	if err != nil {
		t.Fatal(err)
	}
	check(res, "job-default", 7) // the override merges into the job's config key by key

	if _, err := inst.ExecuteJob(ctx, ws, "gret"); err == nil || !strings.Contains(err.Error(), `no job "gret" (jobs: greet)`) {
		t.Errorf("unknown job: %v", err)
	}
}

func TestJobWithBadSelection(t *testing.T) {
	inst := openInstance(t)
	ws := writeWorkspace(t, map[string]string{"faults": guesttest.Path(t, "guests/go/faults/faults.wasm")},
		"jobs:\n  - name: broken\n    selection: typed_confg\n")
	_, err := inst.LoadWorkspace(context.Background(), ws)
	if err == nil || !strings.Contains(err.Error(), `job "broken"`) || !strings.Contains(err.Error(), `did you mean "typed_config"`) {
		t.Fatalf("err = %v", err)
	}
}
