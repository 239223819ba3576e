package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/host/store"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// opsWorkspace is a workspace of the ops guest with a scratch files resource.
func opsWorkspace(t *testing.T, extra string) (path, scratch string) {
	t.Helper()
	scratch = t.TempDir()
	return writeWorkspace(t, map[string]string{"ops": guesttest.Path(t, "guests/go/ops/ops.wasm")},
		"concurrency: 4\nresources:\n  scratch: {kind: files, root: "+scratch+", mode: read-write}\n"+extra), scratch
}

func executeJob(t *testing.T, inst *host.Instance, ws *host.Workspace, job string, opts ...host.MaterializeOption) *host.Result {
	t.Helper()
	res, err := inst.ExecuteJob(context.Background(), ws, job, opts...)
	if err != nil {
		t.Fatalf("ExecuteJob(%q): %v", job, err)
	}
	return res
}

func jsonOutput(t *testing.T, inst *host.Instance, res *host.Result, step, output string) any {
	t.Helper()
	v, err := inst.OpOutput(context.Background(), res.RunID, step, output)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(v.Data, &out); err != nil {
		t.Fatalf("%s.%s: %v (%s)", step, output, err, v.Data)
	}
	return out
}

func statuses(res *host.Result) map[string]string {
	out := map[string]string{}
	for k, o := range res.Steps {
		out[k] = o.Status
	}
	return out
}

// The fan graph: numbers → split (dynamic chunks) → gate[k] → mark[k] → total (collect), and
// as_table[k] → table_sum (collect of Arrow tables).
func TestDynamicFanOutAndCollect(t *testing.T) {
	inst := openInstance(t)
	path, scratch := opsWorkspace(t, "")
	ws := loadWorkspace(t, inst, path)
	// gate[n2] waits until mark[n1] has written its file: if steps downstream of a mapped step
	// waited for the whole fan-out, mark[n1] could not start before gate[n2] finished, and the
	// run would hang until the step timeout failed it.
	res := executeJob(t, inst, ws, "fan_job", host.WithRunConfig([]byte(
		`{"ops": {"numbers": {"config": {"n": 3}}, "gate": {"config": {"wait_key": "n2", "wait_for": "marked_n1"}}}}`)))
	if !res.Success() {
		t.Fatal(res.Err())
	}
	want := map[string]string{"numbers": "SUCCESS", "split": "SUCCESS", "total": "SUCCESS", "table_sum": "SUCCESS"}
	for _, k := range []string{"n1", "n2", "n3"} {
		for _, n := range []string{"gate", "mark", "as_table"} {
			want[n+"["+k+"]"] = "SUCCESS"
		}
	}
	if got := statuses(res); !reflect.DeepEqual(got, want) {
		t.Errorf("steps = %v\nwant %v", got, want)
	}
	if got := jsonOutput(t, inst, res, "total", "result"); !reflect.DeepEqual(got, map[string]any{"sum": 14.0, "count": 3.0}) {
		t.Errorf("total = %v, want sum 1+4+9 = 14 over 3 values", got)
	}
	if got := jsonOutput(t, inst, res, "table_sum", "result"); !reflect.DeepEqual(got, map[string]any{"rows": 3.0, "sum": 6.0, "keys": []any{"n1", "n2", "n3"}}) {
		t.Errorf("table_sum = %v: the collected Arrow tables should be concatenated in key order", got)
	}
	if got := jsonOutput(t, inst, res, "split", "chunks[n2]"); got != 2.0 {
		t.Errorf("split chunks[n2] = %v", got)
	}
	for _, k := range []string{"n1", "n2", "n3"} {
		if _, err := os.Stat(filepath.Join(scratch, "marked_"+k)); err != nil {
			t.Errorf("mark[%s] wrote no file: %v", k, err)
		}
	}
	// The event log shows the fan-out and each mapped step's key.
	succ := eventsOf(res, store.EventStepSuccess, "split")
	if len(succ) != 1 || !strings.Contains(succ[0].Message, "fanned out to 3 mapping key(s)") {
		t.Errorf("split success = %+v", succ)
	}
	start := eventsOf(res, store.EventStepStart, "gate[n2]")
	if len(start) != 1 || start[0].Metadata["mapping_key"] != "n2" {
		t.Errorf("gate[n2] start = %+v", start)
	}
	run, err := inst.Store().Run(context.Background(), res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if run.JobName != "fan_job" || run.Tags["kind"] != "fan" || run.Status != store.RunSuccess {
		t.Errorf("run = %+v", run)
	}
}

func TestFailedMappedStepSkipsCollect(t *testing.T) {
	inst := openInstance(t)
	path, _ := opsWorkspace(t, "")
	ws := loadWorkspace(t, inst, path)
	res := executeJob(t, inst, ws, "fan_job", host.WithRunConfig([]byte(`{"ops": {"gate": {"config": {"fail_key": "n2"}}}}`)))
	if res.Success() {
		t.Fatal("run succeeded")
	}
	got := statuses(res)
	for k, want := range map[string]string{"gate[n2]": "FAILURE", "mark[n2]": "SKIPPED", "total": "SKIPPED",
		"gate[n1]": "SUCCESS", "mark[n1]": "SUCCESS", "mark[n3]": "SUCCESS", "table_sum": "SUCCESS"} {
		if got[k] != want {
			t.Errorf("%s: %s, want %s", k, got[k], want)
		}
	}
	if e := stepError(t, res, "gate[n2]"); !strings.Contains(e, "deliberate failure for n2") {
		t.Errorf("error %q", e)
	}
}

func TestEmptyFanOutSkipsCollect(t *testing.T) {
	inst := openInstance(t)
	path, _ := opsWorkspace(t, "")
	ws := loadWorkspace(t, inst, path)
	res := executeJob(t, inst, ws, "fan_job", host.WithRunConfig([]byte(`{"ops": {"numbers": {"config": {"n": 0}}}}`)))
	if !res.Success() {
		t.Fatal(res.Err())
	}
	if got := statuses(res); !reflect.DeepEqual(got, map[string]string{"numbers": "SUCCESS", "split": "SUCCESS", "total": "SKIPPED", "table_sum": "SKIPPED"}) {
		t.Errorf("steps = %v", got)
	}
	if s := eventsOf(res, store.EventStepSkipped, "total"); len(s) != 1 || !strings.Contains(s[0].Message, `the fan-out of node "split" produced no values`) {
		t.Errorf("skip event = %+v", s)
	}
}

func TestNestedGraph(t *testing.T) {
	inst := openInstance(t)
	path, _ := opsWorkspace(t, "")
	ws := loadWorkspace(t, inst, path)
	res := executeJob(t, inst, ws, "nested_job")
	if !res.Success() {
		t.Fatal(res.Err())
	}
	for _, k := range []string{"numbers", "inner.split", "inner.square[n4]", "inner.total", "describe"} {
		if res.Steps[k].Status != "SUCCESS" {
			t.Errorf("step %s: %+v (steps %v)", k, res.Steps[k], statuses(res))
		}
	}
	// numbers has n: 4 from the node's default config in the graph.
	if got := jsonOutput(t, inst, res, "describe", "result"); got != `got {"count":4,"sum":30}` {
		t.Errorf("describe = %v", got)
	}
	// Run config reaches a nested node through the graph node, as in Dagster.
	res = executeJob(t, inst, ws, "nested_job", host.WithRunConfig([]byte(`{"ops": {"numbers": {"config": {"n": 2}}}}`)))
	if got := jsonOutput(t, inst, res, "inner.total", "result"); !reflect.DeepEqual(got, map[string]any{"sum": 5.0, "count": 2.0}) {
		t.Errorf("inner.total = %v", got)
	}
	_, err := inst.ExecuteJob(context.Background(), ws, "nested_job", host.WithRunConfig([]byte(`{"ops": {"inner": {"ops": {"squar": {"config": {}}}}}}`)))
	if !errors.Is(err, host.ErrInvalidRunConfig) || !strings.Contains(err.Error(), `ops.inner.ops: unknown node "squar" (did you mean "square"?)`) {
		t.Errorf("bad nested config: %v", err)
	}
}

func TestOptionalOutputNotWrittenSkipsItsReaders(t *testing.T) {
	inst := openInstance(t)
	path, _ := opsWorkspace(t, "")
	ws := loadWorkspace(t, inst, path)
	res := executeJob(t, inst, ws, "optional_job")
	if !res.Success() {
		t.Fatal(res.Err())
	}
	if got := statuses(res); !reflect.DeepEqual(got, map[string]string{"maybe": "SUCCESS", "square_result": "SUCCESS", "square_extra": "SKIPPED"}) {
		t.Errorf("steps = %v", got)
	}
	if e := res.Steps["square_extra"].Error; !strings.Contains(e, `node "maybe" did not write its optional output "extra"`) {
		t.Errorf("skip reason %q", e)
	}
	res = executeJob(t, inst, ws, "optional_job", host.WithRunConfig([]byte(`{"ops": {"maybe": {"config": {"extra": true}}}}`)))
	if got := jsonOutput(t, inst, res, "square_extra", "result"); got != 49.0 {
		t.Errorf("square_extra = %v", got)
	}
}

func TestGraphInputsAndOpRetries(t *testing.T) {
	inst := openInstance(t)
	path, _ := opsWorkspace(t, "")
	ws := loadWorkspace(t, inst, path)
	res := executeJob(t, inst, ws, "input_job", host.WithRunConfig([]byte(`{"inputs": {"n": {"value": 9}}}`)))
	if !res.Success() {
		t.Fatal(res.Err())
	}
	if got := jsonOutput(t, inst, res, "square", "result"); got != 81.0 {
		t.Errorf("square = %v", got)
	}
	if retries := eventsOf(res, store.EventStepRetry, "retry"); len(retries) != 1 {
		t.Errorf("retry events = %+v", retries)
	}
	if got := jsonOutput(t, inst, res, "retry", "result"); got != 2.0 {
		t.Errorf("retry succeeded on attempt %v, want 2", got)
	}
	_, err := inst.ExecuteJob(context.Background(), ws, "input_job")
	if !errors.Is(err, host.ErrInvalidRunConfig) || !strings.Contains(err.Error(), `inputs.n: missing: the graph's input "n" must be given as {"value": ...}`) {
		t.Errorf("missing input: %v", err)
	}
}

// A graph in wasmorch.yaml wires ops of modules in three languages: a fan-out written in C (or
// Rust), mapped by an op in Rust (or C), collected by the Go ops module's describe.
func TestWorkspaceGraphAcrossLanguages(t *testing.T) {
	for _, c := range []struct{ fan, mapped string }{{"c", "rust"}, {"rust", "c"}} {
		t.Run(c.fan+"_then_"+c.mapped, func(t *testing.T) {
			inst := openInstance(t)
			path := writeWorkspace(t, map[string]string{
				"ops":  guesttest.Path(t, "guests/go/ops/ops.wasm"),
				"c":    guesttest.Path(t, "guests/c/fan.wasm"),
				"rust": guesttest.Path(t, "guests/rust/fan/fan.wasm"),
			}, `resources:
  scratch: {kind: files, root: `+t.TempDir()+`, mode: read-write}
graphs:
  - name: polyglot
    nodes:
      - {name: fan, op: "`+c.fan+`:fan_out"}
      - {name: double, op: "`+c.mapped+`:mapped", ins: {n: {node: fan, output: chunks}}}
      - {name: gather, op: "ops:describe", ins: {v: {node: double, output: result, collect: true}}}
jobs:
  - name: polyglot_job
    graph: polyglot
`)
			ws := loadWorkspace(t, inst, path)
			res := executeJob(t, inst, ws, "polyglot_job")
			if !res.Success() {
				t.Fatal(res.Err())
			}
			want := `got [{"key":"a","n2":2},{"key":"b","n2":4},{"key":"c","n2":6}]`
			if got, _ := jsonOutput(t, inst, res, "gather", "result").(string); got != want {
				t.Errorf("gather = %v, want %s", got, want)
			}
		})
	}
}

func TestBadGraphs(t *testing.T) {
	ops := guesttest.Path(t, "guests/go/ops/ops.wasm")
	inst := openInstance(t)
	for _, c := range []struct{ name, yaml, want string }{
		{"unknown op", `
graphs:
  - name: g
    nodes: [{name: a, op: sqaure}]
jobs: [{name: j, graph: g}]`, `graph "g" node "a": no module defines an op or graph "sqaure" (did you mean "square"?)`},
		{"unknown module", `
graphs:
  - name: g
    nodes: [{name: a, op: "opz:square"}]
jobs: [{name: j, graph: g}]`, `no module "opz" in the workspace (did you mean "ops"?)`},
		{"type mismatch", `
graphs:
  - name: g
    nodes:
      - {name: t, op: text}
      - {name: s, op: square, ins: {x: {node: t, output: result}}}
jobs: [{name: j, graph: g}]`, `graph "g" node "s": wiring type mismatch: input "x" of op ops:square reads json, but output "result" of node "t" (op ops:text) is bytes`},
		{"unwired input", `
graphs:
  - name: g
    nodes: [{name: s, op: square}]
jobs: [{name: j, graph: g}]`, `graph "g" node "s": input "x" of op ops:square is not wired`},
		{"unknown input", `
graphs:
  - name: g
    nodes:
      - {name: n, op: numbers}
      - {name: s, op: square, ins: {x: {node: n, output: result}, y: {node: n, output: result}}}
jobs: [{name: j, graph: g}]`, `wires input "y", but op ops:square has inputs x`},
		{"unknown output", `
graphs:
  - name: g
    nodes:
      - {name: n, op: numbers}
      - {name: s, op: square, ins: {x: {node: n, output: nums}}}
jobs: [{name: j, graph: g}]`, `input "x" reads output "nums" of node "n", but op ops:numbers has outputs result`},
		{"cycle", `
graphs:
  - name: g
    nodes:
      - {name: a, op: square, ins: {x: {node: b, output: result}}}
      - {name: b, op: square, ins: {x: {node: a, output: result}}}
jobs: [{name: j, graph: g}]`, `graph "g" has a cycle among nodes a, b`},
		{"collect of plain output", `
graphs:
  - name: g
    nodes:
      - {name: n, op: numbers}
      - {name: t, op: total, ins: {values: {node: n, output: result, collect: true}}}
jobs: [{name: j, graph: g}]`, `collects output "result" of node "n", which is neither dynamic nor mapped`},
		{"nested fan-out", `
graphs:
  - name: g
    nodes:
      - {name: n, op: numbers}
      - {name: s1, op: split, ins: {ns: {node: n, output: result}}}
      - {name: s2, op: split, ins: {ns: {node: s1, output: chunks}}}
jobs: [{name: j, graph: g}]`, `nested fan-outs are not supported`},
		{"graph contains itself", `
graphs:
  - name: g
    nodes: [{name: a, op: h}]
  - name: h
    nodes: [{name: b, op: g}]
jobs: [{name: j, graph: g}]`, `contains itself (g → h → g)`},
		{"bad wiring shape", `
graphs:
  - name: g
    nodes: [{name: a, op: square, ins: {x: {node: nowhere, output: result}}}]
jobs: [{name: j, graph: g}]`, `graphs.g.nodes[0] (node "a").ins.x.node: the graph has no node "nowhere"`},
		{"node config not an object", `
graphs:
  - name: g
    nodes: [{name: n, op: numbers, config: [1, 2]}]
jobs: [{name: j, graph: g}]`, `graphs.g.nodes[0] (node "n").config: must be a JSON object (the node's default config)`},
		{"graph no job runs", `
graphs:
  - name: unused
    nodes: [{name: s, op: square}]`, `graph "unused" node "s": input "x" of op ops:square is not wired`},
		{"job with both", `
jobs: [{name: j, graph: g, selection: "*"}]`, `job "j" has both a selection and a graph`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeWorkspace(t, map[string]string{"ops": ops}, "resources:\n  scratch: {kind: files, root: "+t.TempDir()+", mode: read-write}\n"+c.yaml)
			_, err := inst.LoadWorkspace(context.Background(), path)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v\nwant it to contain %s", err, c.want)
			}
		})
	}
}

func TestGraphJobNeedsItsGrants(t *testing.T) {
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, writeWorkspace(t, map[string]string{"ops": guesttest.Path(t, "guests/go/ops/ops.wasm")}, ""))
	_, err := inst.ExecuteJob(context.Background(), ws, "fan_job")
	if !errors.Is(err, host.ErrMissingGrant) || !strings.Contains(err.Error(), "scratch") {
		t.Fatalf("err = %v", err)
	}
	runs, _ := inst.Store().Runs(context.Background(), store.RunFilter{})
	if len(runs) != 0 {
		t.Errorf("a run was created: %+v", runs)
	}
}

func TestReexecuteGraphFromFailure(t *testing.T) {
	inst := openInstance(t)
	path, _ := opsWorkspace(t, "")
	ws := loadWorkspace(t, inst, path)
	parent := executeJob(t, inst, ws, "fan_job", host.WithRunConfig([]byte(`{"ops": {"gate": {"config": {"fail_key": "n2"}}}}`)))
	if parent.Success() {
		t.Fatal("parent succeeded")
	}
	res, err := inst.Reexecute(context.Background(), ws, parent.RunID, true, host.WithRunConfig([]byte(`{"ops": {"gate": {"config": {"fail_key": "none"}}}}`)))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Success() {
		t.Fatal(res.Err())
	}
	// Only what failed or was skipped runs again; the rest is read from the parent's outputs.
	if got := statuses(res); !reflect.DeepEqual(got, map[string]string{"gate[n2]": "SUCCESS", "mark[n2]": "SUCCESS", "total": "SUCCESS"}) {
		t.Errorf("steps = %v", got)
	}
	if got := jsonOutput(t, inst, res, "total", "result"); !reflect.DeepEqual(got, map[string]any{"sum": 14.0, "count": 3.0}) {
		t.Errorf("total = %v", got)
	}
	run, _ := inst.Store().Run(context.Background(), res.RunID)
	if run.ParentRunID != parent.RunID || run.JobName != "fan_job" || run.Tags[host.ParentRunTag] != parent.RunID {
		t.Errorf("run = %+v", run)
	}
	if _, err := inst.Reexecute(context.Background(), ws, res.RunID, true); err == nil || !strings.Contains(err.Error(), "nothing to re-execute") {
		t.Errorf("re-executing a successful run from failure: %v", err)
	}
	// Without --from-failure the whole graph runs again.
	all, err := inst.Reexecute(context.Background(), ws, parent.RunID, false, host.WithRunConfig([]byte(`{"ops": {"gate": {"config": {"fail_key": "none"}}}}`)))
	if err != nil || !all.Success() || len(all.Steps) != 13 {
		t.Errorf("full re-execution: %v, %v", err, statuses(all))
	}
}

// A kv resource is a namespace in the instance's store: what one run puts, the next run reads,
// also after the instance is closed and opened again.
func TestKVResourceLivesInTheStore(t *testing.T) {
	home := t.TempDir()
	ops := guesttest.Path(t, "guests/go/ops/ops.wasm")
	path := writeWorkspace(t, map[string]string{"ops": ops}, "resources:\n  scratch: {kind: files, root: "+t.TempDir()+", mode: read-write}\n  state: {kind: kv, namespace: counters}\n")
	count := func() any {
		inst, err := host.Open(context.Background(), home, host.WithCompilationCacheDir(guesttest.CacheDir(t)))
		if err != nil {
			t.Fatal(err)
		}
		defer inst.Close()
		ws := loadWorkspace(t, inst, path)
		res := executeJob(t, inst, ws, "count_job")
		if !res.Success() {
			t.Fatal(res.Err())
		}
		return jsonOutput(t, inst, res, "counter", "result")
	}
	for want := 1.0; want <= 3; want++ {
		if got := count(); got != want {
			t.Fatalf("count = %v, want %v", got, want)
		}
	}
}

// An http resource reaches allow-listed hosts only: the same op fetches from the granted test
// server and fails, naming the host, for any other.
func TestHTTPResourceAllowList(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello " + r.URL.Path)) }))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, writeWorkspace(t, map[string]string{"ops": guesttest.Path(t, "guests/go/ops/ops.wasm")},
		"resources:\n  scratch: {kind: files, root: "+t.TempDir()+", mode: read-write}\n  api: {kind: http, allow: [\""+u.Host+"\"], methods: [GET]}\n"))
	res := executeJob(t, inst, ws, "fetch_job", host.WithRunConfig([]byte(`{"ops": {"fetch": {"config": {"url": "`+srv.URL+`/orders"}}}}`)))
	if !res.Success() {
		t.Fatal(res.Err())
	}
	if got := jsonOutput(t, inst, res, "fetch", "result"); got != "200 hello /orders" {
		t.Errorf("fetch = %v", got)
	}
	res = executeJob(t, inst, ws, "fetch_job", host.WithRunConfig([]byte(`{"ops": {"fetch": {"config": {"url": "http://blocked.example/orders"}}}}`)))
	if e := stepError(t, res, "fetch"); !strings.Contains(e, `host "blocked.example" is not in the allow-list`) || !strings.Contains(e, `resource "api"`) {
		t.Errorf("blocked host: %s", e)
	}
}

// A guest that opens an output by a bad name fails its step with a message saying what is wrong.
func TestBadOutputNames(t *testing.T) {
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, writeWorkspace(t, map[string]string{"names": guesttest.Path(t, "guests/wat/dynamic_names.wasm")}, `graphs:
  - name: g
    nodes: [{name: a, op: a_nokey}, {name: b, op: b_plainkey}, {name: c, op: c_badkey}, {name: d, op: d_unknown}]
jobs: [{name: j, graph: g}]
`))
	res := executeJob(t, inst, ws, "j")
	for step, want := range map[string]string{
		"a": `output "chunks" is dynamic: open it once per mapping key, as chunks[KEY]`,
		"b": `output "plain" is not dynamic, so it cannot be opened with a mapping key ("plain[x]")`,
		"c": `output name "chunks[a-b]": a mapping key must match ^[A-Za-z0-9_]+$`,
		"d": `step "d" has no output "other" (opened as "other[x]")`,
	} {
		if e := stepError(t, res, step); !strings.Contains(e, want) {
			t.Errorf("step %s: %s\nwant it to contain %s", step, e, want)
		}
	}
}

// A check may call the resources it declares; the run needs their grants before it starts.
func TestCheckCallsItsResource(t *testing.T) {
	inst := openInstance(t)
	path, scratch := opsWorkspace(t, "")
	ws := loadWorkspace(t, inst, path)
	evals := func(res *host.Result) []bool {
		var out []bool
		for _, ev := range eventsOf(res, store.EventCheckEvaluation, "tally") {
			out = append(out, ev.CheckEvaluation.Passed)
		}
		return out
	}
	if got := evals(materialize(t, inst, ws, "tally")); !reflect.DeepEqual(got, []bool{false}) {
		t.Errorf("without the marker: evaluations %v, want one failure", got)
	}
	os.WriteFile(filepath.Join(scratch, "check_ok"), []byte("1"), 0o644)
	if got := evals(materialize(t, inst, ws, "tally")); !reflect.DeepEqual(got, []bool{true}) {
		t.Errorf("with the marker: evaluations %v, want one pass", got)
	}
	bare := loadWorkspace(t, inst, writeWorkspace(t, map[string]string{"ops": guesttest.Path(t, "guests/go/ops/ops.wasm")}, ""))
	if _, err := inst.Materialize(context.Background(), bare, "tally"); !errors.Is(err, host.ErrMissingGrant) || !strings.Contains(err.Error(), "check scratch_has_marker") {
		t.Errorf("missing grant for a check: %v", err)
	}
}
