package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv(host.CacheDirEnv, guesttest.CacheDir(t))
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func workspaceWith(t *testing.T, modules map[string]string) string {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("modules:\n")
	for name, p := range modules {
		fmt.Fprintf(&b, "  - name: %s\n    path: %s\n", name, p)
	}
	ws := filepath.Join(dir, "wasmorch.yaml")
	os.WriteFile(ws, []byte(b.String()), 0o644)
	return ws
}

// TestCLIWalkthrough runs what the README shows, in order, against the example module.
func TestCLIWalkthrough(t *testing.T) {
	ws := workspaceWith(t, map[string]string{"orders": guesttest.Path(t, "orders/go/orders.wasm")})
	home := filepath.Join(filepath.Dir(ws), ".wasmorch")

	code, out, errOut := run(t, "asset", "materialize", "--select", "*", "-w", ws)
	if code != 0 {
		t.Fatalf("materialize exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	runID := regexp.MustCompile(`Run ([0-9a-f-]{36}) SUCCESS`).FindStringSubmatch(out)
	if runID == nil {
		t.Fatalf("no run line in:\n%s", out)
	}
	for _, want := range []string{
		"3 succeeded, 0 failed, 0 skipped",
		filepath.Join(home, "storage", "revenue_by_region", runID[1]+".arrow") + " (4 rows)",
		"Run state: " + home,
		"wasmorch run show " + runID[1] + " -w " + ws,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("materialize stdout lacks %q:\n%s", want, out)
		}
	}
	// Not a terminal, so progress is plain lines.
	for _, want := range []string{"START    raw_orders", "OK       revenue_by_region", "INFO     revenue_by_region"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("progress lacks %q:\n%s", want, errOut)
		}
	}

	code, out, _ = run(t, "asset", "list", "-w", ws)
	if code != 0 || !regexp.MustCompile(`cleaned_orders\s+orders\s+orders\s+arrow\s+raw_orders\s+\d{4}-\S+ \S+\s+\S+\s+fresh`).MatchString(out) {
		t.Errorf("asset list (exit %d):\n%s", code, out)
	}

	code, out, _ = run(t, "asset", "show", "revenue_by_region", "-w", ws)
	for _, want := range []string{"region: utf8", "revenue: float64", "First 4 of 4 rows", "rows: 4", "module_digest: sha256:"} {
		if !strings.Contains(out, want) {
			t.Errorf("asset show lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`west\s+274\.15`).MatchString(out) || code != 0 {
		t.Errorf("asset show rows (exit %d):\n%s", code, out)
	}

	code, out, _ = run(t, "run", "list", "-w", ws)
	if code != 0 || !strings.Contains(out, runID[1]+"  SUCCESS") {
		t.Errorf("run list (exit %d):\n%s", code, out)
	}

	code, out, _ = run(t, "run", "show", runID[1][:13], "-w", ws)
	for _, want := range []string{"Status:    SUCCESS", "RUN_START", "ASSET_MATERIALIZATION", "revenue by region", "RUN_SUCCESS"} {
		if !strings.Contains(out, want) {
			t.Errorf("run show lacks %q:\n%s", want, out)
		}
	}
	if code != 0 {
		t.Errorf("run show exit %d", code)
	}
}

func TestCLIFailures(t *testing.T) {
	ws := workspaceWith(t, map[string]string{"faults": guesttest.Path(t, "guests/go/faults/faults.wasm")})
	code, out, errOut := run(t, "asset", "materialize", "--select", "fails*", "-w", ws)
	if code != 1 {
		t.Fatalf("a failed run exited %d", code)
	}
	if !strings.Contains(out, "FAILURE") || !strings.Contains(errOut, `step "fails" failed: boom: the upstream API said no`) || !strings.Contains(errOut, "SKIPPED  after_fails") {
		t.Errorf("failure output:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}

	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"no select":       {[]string{"asset", "materialize", "-w", ws}, "--select is required"},
		"unknown asset":   {[]string{"asset", "materialize", "--select", "fail", "-w", ws}, `did you mean "fails"`},
		"bad config":      {[]string{"asset", "materialize", "--select", "fails", "--config-json", "{", "-w", ws}, "invalid run config"},
		"no workspace":    {[]string{"asset", "list", "-w", filepath.Join(t.TempDir(), "wasmorch.yaml")}, "does not exist"},
		"unknown run":     {[]string{"run", "show", "nope", "-w", ws}, `no run "nope"`},
		"never stored":    {[]string{"asset", "show", "ok_source", "-w", ws}, `asset "ok_source" has never been materialized`},
		"unknown command": {[]string{"assets"}, `unknown command "assets"`},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, errOut := run(t, c.args...)
			if code == 0 || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant %q", code, errOut, c.want)
			}
		})
	}
}

// TestHomeOverride: WASMORCH_HOME moves run state and outputs away from the workspace directory.
func TestHomeOverride(t *testing.T) {
	ws := workspaceWith(t, map[string]string{"faults": guesttest.Path(t, "guests/go/faults/faults.wasm")})
	home := t.TempDir()
	t.Setenv(host.HomeEnv, home)
	code, out, errOut := run(t, "asset", "materialize", "--select", "ok_source", "-w", ws)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if !strings.Contains(out, "Run state: "+home) || !strings.Contains(out, filepath.Join(home, "storage", "ok_source")) {
		t.Errorf("output does not point at WASMORCH_HOME:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(ws), ".wasmorch")); !os.IsNotExist(err) {
		t.Errorf(".wasmorch was created beside the workspace despite WASMORCH_HOME (%v)", err)
	}
	// Without -w, commands that only read run state find it through WASMORCH_HOME.
	code, out, _ = run(t, "run", "list")
	if code != 0 || !strings.Contains(out, "SUCCESS") {
		t.Errorf("run list via WASMORCH_HOME (exit %d):\n%s", code, out)
	}
}

// TestJSONLogFormat: logging.format json prints one JSON object per event, for log shippers.
func TestJSONLogFormat(t *testing.T) {
	ws := workspaceWith(t, map[string]string{"faults": guesttest.Path(t, "guests/go/faults/faults.wasm")})
	f, _ := os.OpenFile(ws, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("logging:\n  format: json\n")
	f.Close()
	code, _, errOut := run(t, "asset", "materialize", "--select", "logs", "-w", ws)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	types := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(errOut), "\n") {
		var ev struct {
			Type    string `json:"type"`
			RunID   string `json:"run_id"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.RunID == "" {
			t.Fatalf("not a JSON event line: %q (%v)", line, err)
		}
		types[ev.Type] = true
	}
	for _, want := range []string{"RUN_START", "STEP_START", "LOG", "ASSET_MATERIALIZATION", "STEP_SUCCESS"} {
		if !types[want] {
			t.Errorf("no %s event in the JSON output", want)
		}
	}
	if code, _, errOut := run(t, "asset", "materialize", "--select", "logs", "--log-format", "yaml", "-w", ws); code == 0 || !strings.Contains(errOut, `--log-format "yaml" is not console or json`) {
		t.Errorf("bad --log-format: exit %d %s", code, errOut)
	}
}

func TestJobCommands(t *testing.T) {
	ws := workspaceWith(t, map[string]string{"faults": guesttest.Path(t, "guests/go/faults/faults.wasm")})
	f, _ := os.OpenFile(ws, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("jobs:\n  - name: greet\n    selection: typed_config\n    tags: {team: data}\n    config:\n      ops:\n        typed_config:\n          config: {name: from-job}\n")
	f.Close()
	code, out, _ := run(t, "job", "list", "-w", ws)
	if code != 0 || !regexp.MustCompile(`greet\s+typed_config\s+team=data`).MatchString(out) {
		t.Errorf("job list (exit %d):\n%s", code, out)
	}
	cfg := filepath.Join(t.TempDir(), "prod.yaml")
	os.WriteFile(cfg, []byte("ops:\n  typed_config:\n    config:\n      count: 9\n"), 0o644)
	code, out, errOut := run(t, "job", "execute", "-j", "greet", "-c", cfg, "-w", ws)
	if code != 0 || !strings.Contains(out, "1 succeeded") {
		t.Fatalf("job execute (exit %d):\n%s\n%s", code, out, errOut)
	}
	code, out, _ = run(t, "asset", "show", "typed_config", "-w", ws)
	if code != 0 || !strings.Contains(out, `"name":"from-job"`) || !strings.Contains(out, `"count":9`) {
		t.Errorf("the job's config and the -c file did not both reach the guest:\n%s", out)
	}
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"no job name":    {[]string{"job", "execute", "-w", ws}, "-j NAME is required"},
		"unknown job":    {[]string{"job", "execute", "-j", "nope", "-w", ws}, `no job "nope" (jobs: greet)`},
		"missing config": {[]string{"job", "execute", "-j", "greet", "-c", "/nonexistent.yaml", "-w", ws}, "run config file"},
	} {
		if code, _, errOut := run(t, c.args...); code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", name, code, errOut, c.want)
		}
	}
}

func TestRunReexecute(t *testing.T) {
	ws := workspaceWith(t, map[string]string{"faults": guesttest.Path(t, "guests/go/faults/faults.wasm")})
	code, out, _ := run(t, "asset", "materialize", "--select", "echo_config*", "--config-json",
		`{"ops": {"echo_config": {"config": {"v": 1}}, "fails_if": {"config": {"fail": true}}}}`, "-w", ws)
	runID := regexp.MustCompile(`Run ([0-9a-f-]{36}) FAILURE`).FindStringSubmatch(out)
	if code != 1 || runID == nil {
		t.Fatalf("first run (exit %d):\n%s", code, out)
	}
	code, out, errOut := run(t, "run", "reexecute", runID[1][:13], "--from-failure", "--config-json",
		`{"ops": {"fails_if": {"config": {"fail": false}}}}`, "-w", ws)
	if code != 0 || !strings.Contains(out, "2 succeeded, 0 failed, 0 skipped") {
		t.Fatalf("reexecute (exit %d):\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := run(t, "run", "reexecute", "zzz", "-w", ws); code == 0 || !strings.Contains(errOut, `no run "zzz"`) {
		t.Errorf("unknown run: exit %d %s", code, errOut)
	}
}

func TestAssetChecksCommand(t *testing.T) {
	ws := workspaceWith(t, map[string]string{"faults": guesttest.Path(t, "guests/go/faults/faults.wasm")})
	if code, out, errOut := run(t, "asset", "materialize", "--select", "checked", "-w", ws); code != 0 {
		t.Fatalf("materialize: %s %s", out, errOut)
	}
	code, out, _ := run(t, "asset", "checks", "checked", "-w", ws)
	if code != 0 || !regexp.MustCompile(`n_small\s+FAILED\s+WARN\s+true`).MatchString(out) || !regexp.MustCompile(`n_positive\s+PASSED\s+ERROR\s+false\s+\S+\s+\{"n":5\}`).MatchString(out) {
		t.Errorf("asset checks (exit %d):\n%s", code, out)
	}
	if code, out, _ := run(t, "asset", "checks", "ok_source", "-w", ws); code != 0 || !strings.Contains(out, `No check evaluations for asset "ok_source"`) {
		t.Errorf("no evaluations (exit %d): %s", code, out)
	}
}

// A graph job runs from the CLI: its mapped steps show by key, and a failed run re-executes
// from failure through the CLI as well.
func TestGraphJobCommands(t *testing.T) {
	ws := workspaceWith(t, map[string]string{"ops": guesttest.Path(t, "guests/go/ops/ops.wasm")})
	f, _ := os.OpenFile(ws, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("resources:\n  scratch: {kind: files, root: " + t.TempDir() + ", mode: read-write}\n")
	f.Close()
	code, out, _ := run(t, "job", "list", "-w", ws)
	if code != 0 || !regexp.MustCompile(`fan_job\s+graph fan\s+kind=fan\s+module "ops"`).MatchString(out) {
		t.Errorf("job list (exit %d):\n%s", code, out)
	}
	code, out, errOut := run(t, "job", "execute", "-j", "fan_job", "--plain", "--config-json", `{"ops": {"gate": {"config": {"fail_key": "n3"}}}}`, "-w", ws)
	runID := regexp.MustCompile(`Run ([0-9a-f-]{36}) FAILURE`).FindStringSubmatch(out)
	if code != 1 || runID == nil || !strings.Contains(out+errOut, "gate[n3]") || !strings.Contains(out+errOut, "deliberate failure for n3") {
		t.Fatalf("job execute (exit %d):\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = run(t, "run", "reexecute", runID[1], "--from-failure", "--config-json", `{"ops": {"gate": {"config": {"fail_key": "none"}}}}`, "-w", ws)
	if code != 0 || !strings.Contains(out, "3 succeeded, 0 failed, 0 skipped") {
		t.Fatalf("reexecute (exit %d):\n%s\n%s", code, out, errOut)
	}
}
