package host_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/host/store"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// TestFailureSkipsDownstream: a failed step marks its downstream skipped while an independent
// branch finishes, the run fails, and the error says which step failed and why.
func TestFailureSkipsDownstream(t *testing.T) {
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, faultsWorkspace(t))
	res := materialize(t, inst, ws, "fails*,ok_source*")
	if res.Success() || res.Status != store.RunFailure {
		t.Fatalf("run status %s, want FAILURE", res.Status)
	}
	if msg := stepError(t, res, "fails"); msg != "boom: the upstream API said no" {
		t.Errorf("failure message %q", msg)
	}
	for _, k := range []string{"after_fails", "after_after_fails"} {
		if res.Steps[k].Status != "SKIPPED" || len(eventsOf(res, store.EventStepSkipped, k)) != 1 {
			t.Errorf("%s: %+v, want SKIPPED with one event", k, res.Steps[k])
		}
		if len(eventsOf(res, store.EventStepStart, k)) != 0 {
			t.Errorf("%s started although its upstream failed", k)
		}
	}
	for _, k := range []string{"ok_source", "ok_after"} {
		if res.Steps[k].Status != "SUCCESS" {
			t.Errorf("independent branch %s: %+v", k, res.Steps[k])
		}
	}
	err := res.Err()
	if err == nil || !strings.Contains(err.Error(), `step "fails" failed: boom`) || !strings.Contains(err.Error(), "2 downstream step(s) skipped") {
		t.Errorf("Result.Err() = %v", err)
	}
	v, verr := inst.AssetValue(context.Background(), "ok_after")
	if verr != nil || strings.TrimSpace(string(v.Data)) != `{"n":2}` {
		t.Errorf("ok_after value = %q, %v", v.Data, verr)
	}
	if _, verr := inst.AssetValue(context.Background(), "fails"); verr == nil {
		t.Error("a failed step left a materialization")
	}
	run, _ := inst.Store().Run(context.Background(), res.RunID)
	if run.Status != store.RunFailure || run.EndedAt.IsZero() {
		t.Errorf("stored run %+v", run)
	}
}

func TestGuestFailuresAreContained(t *testing.T) {
	inst := openInstance(t, host.WithStepTimeout(3*time.Second), host.WithMemoryLimit(128<<20))
	ws := loadWorkspace(t, inst, faultsWorkspace(t))
	trapWS := loadWorkspace(t, inst, writeWorkspace(t, map[string]string{"trap": guesttest.Path(t, "guests/wat/trap.wasm")}, ""))
	oobWS := loadWorkspace(t, inst, writeWorkspace(t, map[string]string{"oob": guesttest.Path(t, "guests/wat/oob.wasm")}, ""))
	cases := []struct {
		name, sel string
		ws        *host.Workspace
		want      []string
	}{
		{"panic", "panics", ws, []string{"panic: deliberate panic"}},
		{"trap", "trap_asset", trapWS, []string{"wasm trap: unreachable"}},
		{"infinite loop", "loops", ws, []string{"step exceeded its time limit of 3s"}},
		{"out-of-bounds host call", "oob_asset", oobWS, []string{"host call log", "outside guest memory"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			res := materialize(t, inst, c.ws, c.sel)
			msg := stepError(t, res, c.sel)
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if res.Status != store.RunFailure {
				t.Errorf("run %s", res.Status)
			}
			t.Logf("%s: failed after %s with %q", c.name, time.Since(start).Round(time.Millisecond), firstLine(msg))
		})
	}
	// Memory exhaustion gets its own instance with a generous time limit: under -race the host is
	// slower, and this case must end by the memory limit, not the clock.
	memInst := openInstance(t, host.WithStepTimeout(2*time.Minute), host.WithMemoryLimit(128<<20))
	res := materialize(t, memInst, loadWorkspace(t, memInst, faultsWorkspace(t)), "hogs")
	if msg := stepError(t, res, "hogs"); !strings.Contains(msg, `the guest reported "fatal error: out of memory"`) {
		t.Errorf("hogs: %q", firstLine(msg))
	}
	// The host is unharmed: a healthy step still runs in the same instance afterwards.
	res = materialize(t, inst, ws, "ok_source")
	if !res.Success() {
		t.Fatalf("healthy step after failures: %v", res.Err())
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func TestLogsAndStdioBecomeEvents(t *testing.T) {
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, faultsWorkspace(t))
	res := materialize(t, inst, ws, "logs")
	if !res.Success() {
		t.Fatal(res.Err())
	}
	got := map[string]string{}
	for _, ev := range eventsOf(res, store.EventLog, "logs") {
		got[ev.Message] = ev.Level
	}
	want := map[string]string{
		"hello from stdout": store.LevelInfo,
		"hello from stderr": store.LevelWarn,
	}
	for msg, level := range want {
		if got[msg] != level {
			t.Errorf("log %q: level %q, want %q (all logs: %v)", msg, got[msg], level, got)
		}
	}
	levels := map[string]bool{}
	for _, l := range got {
		levels[l] = true
	}
	for _, l := range []string{store.LevelDebug, store.LevelInfo, store.LevelWarn, store.LevelError} {
		if !levels[l] {
			t.Errorf("no log at level %s: %v", l, got)
		}
	}
}

func TestRunConfigReachesTheGuest(t *testing.T) {
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, faultsWorkspace(t))
	res := materialize(t, inst, ws, "echo_config", host.WithRunConfig([]byte(`{"ops": {"echo_config": {"config": {"greeting": "hi", "n": 3}}}}`)))
	if !res.Success() {
		t.Fatal(res.Err())
	}
	v, err := inst.AssetValue(context.Background(), "echo_config")
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.ReplaceAll(string(v.Data), " ", ""); !strings.Contains(s, `"greeting":"hi"`) || !strings.Contains(s, `"n":3`) {
		t.Errorf("echoed config %s", v.Data)
	}
}

// TestCancellationStopsALoopingStep: canceling the run's context (what SIGINT does in the CLI)
// interrupts a guest spinning in a loop and records the run as canceled.
func TestCancellationStopsALoopingStep(t *testing.T) {
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, faultsWorkspace(t))
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{}, 1)
	go func() {
		<-started
		time.Sleep(200 * time.Millisecond)
		cancel()
	}()
	res, err := inst.Materialize(ctx, ws, "loops", host.WithEventHandler(func(ev store.Event) {
		if ev.Type == store.EventStepStart {
			started <- struct{}{}
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != store.RunCanceled {
		t.Fatalf("status %s, want CANCELED", res.Status)
	}
	if msg := stepError(t, res, "loops"); !strings.Contains(msg, "canceled") {
		t.Errorf("step error %q", msg)
	}
}

// TestSandboxGrantsNothing: a guest sees no environment variables, no arguments and no
// directories (WASI with nothing granted), while the clock is real.
func TestSandboxGrantsNothing(t *testing.T) {
	t.Setenv("WASMORCH_SECRET_FOR_TEST", "must-not-leak")
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, faultsWorkspace(t))
	res := materialize(t, inst, ws, "sandbox")
	if !res.Success() {
		t.Fatal(res.Err())
	}
	v, err := inst.AssetValue(context.Background(), "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Env      []string `json:"env"`
		Args     []string `json:"args"`
		RootDir  string   `json:"root_dir"`
		DotDir   string   `json:"dot_dir"`
		EtcFile  string   `json:"etc_file"`
		TimeSane bool     `json:"time_sane"`
	}
	if err := json.Unmarshal(v.Data, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Env) != 0 || len(r.Args) != 0 {
		t.Errorf("guest saw env %v and args %v, want none", r.Env, r.Args)
	}
	for what, got := range map[string]string{"ReadDir(/)": r.RootDir, "ReadDir(.)": r.DotDir, "ReadFile(/etc/passwd)": r.EtcFile} {
		if got == "ok" {
			t.Errorf("%s succeeded inside the sandbox", what)
		}
	}
	if !r.TimeSane {
		t.Error("the guest's wall clock is not real time")
	}
	if strings.Contains(string(v.Data), "must-not-leak") {
		t.Error("a host environment variable reached the guest")
	}
}

// TestDeclaredSchemaIsEnforced: an output that does not match its asset's declared Arrow schema
// fails the step, naming the column with the declared and the actual type, and stores nothing.
func TestDeclaredSchemaIsEnforced(t *testing.T) {
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, faultsWorkspace(t))
	for asset, want := range map[string]string{
		"wrong_type":       `output "result" does not match its declared schema: column "id": declared int64, got int32`,
		"null_in_not_null": `output "result" does not match its declared schema: column "name" is declared not null, but batch 0 has 1 null(s)`,
	} {
		t.Run(asset, func(t *testing.T) {
			res := materialize(t, inst, ws, asset)
			if msg := stepError(t, res, asset); msg != want {
				t.Errorf("error:\n%s\nwant:\n%s", msg, want)
			}
			fails := eventsOf(res, store.EventStepFailure, asset)
			if kind := fails[0].Metadata["failure_kind"]; kind != "schema" {
				t.Errorf("failure_kind = %v, want schema", kind)
			}
			if _, err := inst.AssetValue(context.Background(), asset); err == nil {
				t.Error("a mismatching output was stored as a materialization")
			}
		})
	}
	// An asset whose output matches its declared schema still materializes (the orders example
	// declares schemas on all three assets; TestOrdersPipeline covers it).
}

// TestRetries: a failing step is retried as its policy says, each failed attempt recorded as
// STEP_UP_FOR_RETRY with the attempt number reaching the guest; exhausted retries fail the step
// with the attempt count; a guest's retry request without a policy fails with an explanation.
func TestRetries(t *testing.T) {
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, faultsWorkspace(t))

	res := materialize(t, inst, ws, "flaky")
	if !res.Success() {
		t.Fatalf("flaky did not succeed on its third attempt: %v", res.Err())
	}
	retries := eventsOf(res, store.EventStepRetry, "flaky")
	if len(retries) != 2 || retries[0].Error != "flaky: attempt 1 failed" || retries[1].Error != "flaky: attempt 2 failed" {
		t.Fatalf("retry events %+v", retries)
	}
	if toFloat(retries[1].Metadata["delay_ms"]) < toFloat(retries[0].Metadata["delay_ms"]) {
		t.Errorf("exponential backoff did not grow: %v then %v", retries[0].Metadata["delay_ms"], retries[1].Metadata["delay_ms"])
	}
	v, _ := inst.AssetValue(context.Background(), "flaky")
	if strings.TrimSpace(string(v.Data)) != `{"attempt":3}` {
		t.Errorf("stored value %s, want the third attempt's", v.Data)
	}

	res = materialize(t, inst, ws, "always_flaky")
	if msg := stepError(t, res, "always_flaky"); msg != "always flaky: attempt 3 failed" {
		t.Errorf("final error %q", msg)
	}
	if n := len(eventsOf(res, store.EventStepRetry, "always_flaky")); n != 2 {
		t.Errorf("%d retry events, want 2", n)
	}
	if a := eventsOf(res, store.EventStepFailure, "always_flaky")[0].Metadata["attempts"]; fmt.Sprint(a) != "3" {
		t.Errorf("attempts = %v, want 3", a)
	}

	res = materialize(t, inst, ws, "asks_retry")
	want := `the upstream service is busy (the step asked to be retried, but asset "asks_retry" has no retry_policy)`
	if msg := stepError(t, res, "asks_retry"); msg != want {
		t.Errorf("error %q, want %q", msg, want)
	}
}

func toFloat(v any) float64 {
	f, _ := strconv.ParseFloat(fmt.Sprint(v), 64)
	return f
}

// TestLogLevelFilter: with logging.level warning in wasmorch.yaml, DEBUG and INFO log events
// (including stdout lines) are not stored.
func TestLogLevelFilter(t *testing.T) {
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, writeWorkspace(t, map[string]string{"faults": guesttest.Path(t, "guests/go/faults/faults.wasm")}, "logging:\n  level: warning\n"))
	res := materialize(t, inst, ws, "logs")
	if !res.Success() {
		t.Fatal(res.Err())
	}
	levels := map[string]int{}
	for _, ev := range eventsOf(res, store.EventLog, "logs") {
		levels[ev.Level]++
	}
	if levels[store.LevelDebug]+levels[store.LevelInfo] != 0 || levels[store.LevelWarn] == 0 || levels[store.LevelError] == 0 {
		t.Errorf("stored log levels %v, want only WARNING and ERROR", levels)
	}
}

// TestTypedRunConfig: config is validated against the asset's schema before the run starts, with
// every error listed by path; defaults reach the guest; a secret given as {"env": NAME} reaches
// the guest but is never stored in clear, in the run record or in any event.
func TestTypedRunConfig(t *testing.T) {
	ctx := context.Background()
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, faultsWorkspace(t))

	_, err := inst.Materialize(ctx, ws, "typed_config", host.WithRunConfig([]byte(
		`{"ops": {"typed_config": {"config": {"count": "three", "mode": "medium", "nmae": "x"}}}}`)))
	for _, want := range []string{
		"4 errors",
		`ops.typed_config.config: missing required field "name"`,
		`ops.typed_config.config.count: expected integer, got string "three"`,
		`ops.typed_config.config.mode: must be one of ["fast","slow"], got "medium"`,
		`ops.typed_config.config: unknown field "nmae" (did you mean "name"?)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nwant it to contain %q", err, want)
		}
	}
	if runs, _ := inst.Store().Runs(ctx, store.RunFilter{}); len(runs) != 0 {
		t.Fatalf("invalid config created %d run(s); validation must happen before the run", len(runs))
	}

	t.Setenv("WASMORCH_TEST_SECRET", "hunter2-do-not-store")
	res := materialize(t, inst, ws, "typed_config", host.WithRunConfig([]byte(
		`{"ops": {"typed_config": {"config": {"name": "ann", "secret": {"env": "WASMORCH_TEST_SECRET"}}}}}`)))
	if !res.Success() {
		t.Fatal(res.Err())
	}
	v, err := inst.AssetValue(ctx, "typed_config")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.Unmarshal(v.Data, &got)
	if got["count"] != 2.0 || got["mode"] != "fast" || got["name"] != "ann" || got["secret"] != "hunter2-do-not-store" {
		t.Errorf("the guest saw config %v; want defaults applied and the secret resolved", got)
	}
	run, _ := inst.Store().Run(ctx, res.RunID)
	events, _ := inst.Store().Events(ctx, res.RunID, 0, 0)
	stored, _ := json.Marshal(struct {
		R store.Run
		E []store.Event
	}{run, events})
	if strings.Contains(string(stored), "hunter2") {
		t.Error("the secret was stored in clear in the run record or its events")
	}
	if !strings.Contains(string(run.Config), `"secret":{"env":"WASMORCH_TEST_SECRET"}`) {
		t.Errorf("stored run config %s does not show where the secret came from", run.Config)
	}
}

// TestJSONOutputSchema: a JSON output that breaks its declared JSON Schema fails the step with
// every problem and its path, and is not stored; one that keeps it materializes.
func TestJSONOutputSchema(t *testing.T) {
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, faultsWorkspace(t))
	if res := materialize(t, inst, ws, "json_contract_ok"); !res.Success() {
		t.Fatal(res.Err())
	}
	res := materialize(t, inst, ws, "json_contract_broken")
	msg := stepError(t, res, "json_contract_broken")
	for _, want := range []string{`output "result" does not match its declared schema`, "value.count: must be at least 0, got -1", "value.label: expected string, got integer 7"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if _, err := inst.AssetValue(context.Background(), "json_contract_broken"); err == nil {
		t.Error("a value breaking its JSON Schema was stored")
	}
}
