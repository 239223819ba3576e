package cli

import (
	"regexp"
	"strings"
	"testing"

	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// TestCLIPartitionsAndBackfills walks through the partitions commands: materialize one
// partition and a range, list partition states, dynamic keys, and a backfill launched, listed,
// shown and resumed.
func TestCLIPartitionsAndBackfills(t *testing.T) {
	ws := workspaceWith(t, map[string]string{"parts": guesttest.Path(t, "partitions/rust/parts.wasm")})
	mustRun := func(args ...string) (string, string) {
		t.Helper()
		code, out, errOut := run(t, append(args, "-w", ws)...)
		if code != 0 {
			t.Fatalf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
		}
		return out, errOut
	}
	out, _ := mustRun("asset", "materialize", "--select", "trivial_daily", "--partition-range", "2026-01-01...2026-01-05")
	if !strings.Contains(out, "5 succeeded, 0 failed") || !strings.Contains(out, "trivial_daily[2026-01-03]") {
		t.Errorf("range run:\n%s", out)
	}
	code, out, errOut := run(t, "asset", "materialize", "--select", "trivial_daily", "--partition", "2026-01-06", "-w", ws,
		"--config-json", `{"ops": {"trivial_daily": {"config": {"fail": true}}}}`)
	if code != 1 || !strings.Contains(errOut, "asked to fail for partition 2026-01-06") {
		t.Errorf("failing partition: exit %d\n%s\n%s", code, out, errOut)
	}
	out, _ = mustRun("partitions", "list", "trivial_daily")
	if !regexp.MustCompile(`trivial_daily: \d+ partitions \(.*\): 5 materialized, 1 failed, 0 in progress, \d+ missing`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^2026-01-06\s+failed\s+run `).MatchString(out) || !regexp.MustCompile(`(?m)^2026-01-07\s+missing$`).MatchString(out) {
		t.Errorf("partitions list:\n%.600s", out)
	}
	out, _ = mustRun("partitions", "list", "trivial_daily", "--state", "failed,materialized")
	if n := strings.Count(out, "\n"); n != 7 {
		t.Errorf("--state failed,materialized printed %d lines:\n%s", n, out)
	}
	if code, _, errOut := run(t, "partitions", "list", "trivial_daily", "--state", "done", "-w", ws); code != 1 || !strings.Contains(errOut, `unknown state "done"`) {
		t.Errorf("bad --state: exit %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "asset", "materialize", "--select", "trivial_daily", "--partition-range", "2026-01-01..2026-01-05", "-w", ws); code != 1 || !strings.Contains(errOut, "START...END") {
		t.Errorf("bad range: exit %d %s", code, errOut)
	}

	out, _ = mustRun("partitions", "add", "customer_report", "acme", "globex")
	if !strings.Contains(out, "Added 2 partition(s)") {
		t.Errorf("add: %s", out)
	}
	if code, _, errOut := run(t, "partitions", "add", "customer_report", "bad/key", "-w", ws); code != 1 || !strings.Contains(errOut, `"bad/key"`) {
		t.Errorf("add bad key: exit %d %s", code, errOut)
	}
	mustRun("partitions", "remove", "customer_report", "globex")
	out, _ = mustRun("partitions", "list", "customer_report")
	if !strings.Contains(out, "1 partitions") || !strings.Contains(out, "acme") || strings.Contains(out, "globex") {
		t.Errorf("dynamic list:\n%s", out)
	}

	out, errOut = mustRun("backfill", "launch", "--select", "trivial_daily", "--from", "2026-01-10", "--to", "2026-01-14")
	id := regexp.MustCompile(`Backfill ([0-9a-f-]{36}) COMPLETED`).FindStringSubmatch(out)
	if id == nil || !strings.Contains(errOut, "5/5 runs done") {
		t.Fatalf("backfill launch:\n%s\n%s", out, errOut)
	}
	out, _ = mustRun("backfill", "list")
	if !strings.Contains(out, id[1]) || !strings.Contains(out, "2026-01-10...2026-01-14 (5)") {
		t.Errorf("backfill list:\n%s", out)
	}
	out, _ = mustRun("backfill", "show", id[1])
	if !strings.Contains(out, "5 materialized, 0 failed, 0 in progress, 0 pending") || !regexp.MustCompile(`trivial_daily\s+2026-01-12\s+materialized`).MatchString(out) {
		t.Errorf("backfill show:\n%s", out)
	}
	if code, _, errOut := run(t, "backfill", "resume", id[1], "-w", ws); code != 1 || !strings.Contains(errOut, "already complete") {
		t.Errorf("resume of a complete backfill: exit %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "backfill", "show", "nope", "-w", ws); code != 1 || !strings.Contains(errOut, `no backfill "nope"`) {
		t.Errorf("show unknown: exit %d %s", code, errOut)
	}
	out, _ = mustRun("asset", "show", "trivial_daily", "--partition", "2026-01-03")
	if !strings.Contains(out, "Partition:    2026-01-03") {
		t.Errorf("asset show --partition:\n%s", out)
	}
}
