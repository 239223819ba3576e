package host_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/host/store"
)

// runsOfBackfill returns the backfill's runs, oldest first.
func runsOfBackfill(t *testing.T, inst *host.Instance, id string) []store.Run {
	t.Helper()
	runs, err := inst.Store().Runs(context.Background(), store.RunFilter{Tags: map[string]string{store.BackfillTag: id}})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(runs)
	return runs
}

// byPartition maps each run's partition tag to its steps.
func byPartition(runs []store.Run) map[string][]string {
	out := map[string][]string{}
	for _, r := range runs {
		out[r.Tags[host.PartitionTag]] = r.StepKeys
	}
	return out
}

// materializationsPerPartition counts the stored materializations of each partition of an asset.
func materializationsPerPartition(t *testing.T, inst *host.Instance, asset string) map[string]int {
	t.Helper()
	mats, err := inst.Store().Materializations(context.Background(), asset, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, ev := range mats {
		n[ev.Materialization.PartitionKey]++
	}
	return n
}

// TestBackfillRunsPerPartitionInDependencyOrder: a backfill of hourly partitions and the daily
// partitions that read them is one run per partition key and definition (daily_events and
// daily_shifted share one, as in Dagster); each daily run starts after the runs of its 24 hours
// succeeded, and daily_shifted's partition after the day it reads.
func TestBackfillRunsPerPartitionInDependencyOrder(t *testing.T) {
	ctx := context.Background()
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, partsWorkspace(t, ""))
	var mu sync.Mutex
	var progress []host.BackfillProgress
	b, err := inst.LaunchBackfill(ctx, ws, host.BackfillRequest{Selection: "hourly_events,daily_events,daily_shifted",
		From: "2026-01-01-00:00", To: "2026-01-02-23:00", Concurrency: 3},
		host.WithBackfillProgress(func(p host.BackfillProgress) { mu.Lock(); progress = append(progress, p); mu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != store.BackfillCompleted || b.EndedAt.IsZero() || len(b.PartitionKeys) != 48 {
		t.Fatalf("backfill = %s, %d keys, ended %v: %s", b.Status, len(b.PartitionKeys), b.EndedAt, b.Error)
	}
	// 48 hourly runs and three daily runs: Jan 1 (daily_events), Jan 2 (daily_events and
	// daily_shifted, which reads Jan 1) and Jan 3 (daily_shifted, which reads Jan 2).
	runs := runsOfBackfill(t, inst, b.ID)
	if len(runs) != 51 || len(progress) != 51 || progress[len(progress)-1].Done != 51 {
		t.Fatalf("%d runs, %d progress reports", len(runs), len(progress))
	}
	ended := map[string]time.Time{}
	started := map[string]time.Time{}
	for _, r := range runs {
		if r.Status != store.RunSuccess {
			t.Fatalf("run %s: %s, steps %v", r.ID, r.Status, r.StepKeys)
		}
		for _, step := range r.StepKeys {
			if r.Tags[host.PartitionTag] == "" || !strings.HasSuffix(step, "["+r.Tags[host.PartitionTag]+"]") {
				t.Errorf("run of %s has tags %v", step, r.Tags)
			}
			started[step], ended[step] = r.StartedAt, r.EndedAt
		}
	}
	if s := byPartition(runs)["2026-01-02"]; !slices.Equal(s, []string{"daily_events[2026-01-02]", "daily_shifted[2026-01-02]"}) {
		t.Errorf("the run of 2026-01-02 has steps %v", s)
	}
	for _, h := range hoursOf("2026-01-02") {
		if !ended["hourly_events["+h+"]"].Before(started["daily_events[2026-01-02]"]) {
			t.Errorf("daily_events[2026-01-02] started before hourly_events[%s] ended", h)
		}
	}
	if !ended["daily_events[2026-01-02]"].Before(started["daily_shifted[2026-01-03]"]) {
		t.Error("daily_shifted[2026-01-03] started before daily_events[2026-01-02] ended")
	}
	if got := upstreamKeys(partRows(t, inst, "daily_events", "2026-01-02")); !slices.Equal(got, hoursOf("2026-01-02")) {
		t.Errorf("daily_events[2026-01-02] read %v", got)
	}
	rep, err := inst.BackfillReport(ctx, ws, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Partitions) != 52 || rep.Counts[store.PartitionMaterialized] != 52 || rep.Runs != 51 {
		t.Errorf("report: %d partitions, counts %v, %d runs", len(rep.Partitions), rep.Counts, rep.Runs)
	}
	if list, _ := inst.Backfills(ctx, 0); len(list) != 1 || list[0].ID != b.ID {
		t.Errorf("backfills = %v", list)
	}
}

// TestBackfillFailureCancelAndResume: a failed partition fails its run and skips the runs that
// read it; the backfill ends FAILED and its report shows which. A canceled backfill starts no
// more runs; resuming it materializes exactly what is missing, once.
func TestBackfillFailureCancelAndResume(t *testing.T) {
	ctx := context.Background()
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, partsWorkspace(t, ""))
	// daily_events[2026-01-01] fails (no hourly partition was materialized), and every later
	// day's run waits for it through daily_shifted, so none starts.
	b, err := inst.LaunchBackfill(ctx, ws, host.BackfillRequest{Selection: "daily_events,daily_shifted", From: "2026-01-01", To: "2026-01-03"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != store.BackfillFailed || !strings.Contains(b.Error, "1 of 4 run(s) failed and 3 were skipped") {
		t.Fatalf("backfill = %s: %s", b.Status, b.Error)
	}
	rep, err := inst.BackfillReport(ctx, ws, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts[store.PartitionFailed] != 1 || rep.Counts[host.PartitionPending] != 5 || rep.Partitions[0].State != store.PartitionFailed ||
		rep.Partitions[0].Asset != "daily_events" || rep.Partitions[0].Partition != "2026-01-01" {
		t.Errorf("counts = %v, first %+v", rep.Counts, rep.Partitions[0])
	}

	// Cancel from the progress callback after 5 of 40 runs.
	var once sync.Once
	var id string
	b, err = inst.LaunchBackfill(ctx, ws, host.BackfillRequest{Selection: "trivial_daily", From: "2026-01-01", To: "2026-02-09", Concurrency: 2},
		host.WithBackfillCreated(func(b store.Backfill) { id = b.ID }),
		host.WithBackfillProgress(func(p host.BackfillProgress) {
			if p.Done >= 5 {
				once.Do(func() {
					if _, err := inst.CancelBackfill(ctx, id); err != nil {
						t.Error(err)
					}
				})
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != store.BackfillCanceled {
		t.Fatalf("backfill = %s", b.Status)
	}
	before := len(runsOfBackfill(t, inst, b.ID))
	if before >= 40 || before < 5 {
		t.Fatalf("%d runs started before the cancel took effect", before)
	}
	if _, err := inst.CancelBackfill(ctx, b.ID); err == nil {
		t.Error("canceling a canceled backfill succeeded")
	}
	b, err = inst.ResumeBackfill(ctx, ws, b.ID)
	if err != nil || b.Status != store.BackfillCompleted {
		t.Fatalf("resume: %v, %s %s", err, b.Status, b.Error)
	}
	counts := materializationsPerPartition(t, inst, "trivial_daily")
	if len(counts) != 40 {
		t.Errorf("%d partitions materialized, want 40", len(counts))
	}
	for k, n := range counts {
		if n != 1 {
			t.Errorf("partition %s materialized %d times", k, n)
		}
	}
	if _, err := inst.ResumeBackfill(ctx, ws, b.ID); err == nil || !strings.Contains(err.Error(), "complete") {
		t.Errorf("resuming a complete backfill: %v", err)
	}
	if _, err := inst.ResumeBackfill(ctx, ws, "no-such-backfill"); !errors.Is(err, store.ErrBackfillNotFound) {
		t.Errorf("resuming an unknown backfill: %v", err)
	}
}

// TestBackfillBadInputs: requests that cannot be planned are refused before anything is stored.
func TestBackfillBadInputs(t *testing.T) {
	ctx := context.Background()
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, partsWorkspace(t, ""))
	for _, tc := range []struct {
		req  host.BackfillRequest
		want string
	}{
		{host.BackfillRequest{Selection: "trivial_daily", From: "2026-01-10", To: "2026-01-01"}, "after"},
		{host.BackfillRequest{Selection: "trivial_daily", From: "1999-12-31", To: "2000-01-05"}, "1999-12-31"},
		{host.BackfillRequest{Selection: "regions", From: "us", To: "mars"}, `"mars"`},
		{host.BackfillRequest{Selection: "all_days", From: "2026-01-01", To: "2026-01-02"}, "no partitioned asset"},
		{host.BackfillRequest{Selection: "trivial_daily,regions", From: "us", To: "eu"}, "different partitions definitions"},
		{host.BackfillRequest{Selection: "trivial_daily", From: "2026-01-01"}, "--to"},
		{host.BackfillRequest{Selection: "trivial_daily", From: "2026-01-01", To: "2026-01-02", Concurrency: -1}, "negative"},
		{host.BackfillRequest{Selection: "trivial_daily", From: "2026-01-01", To: "2026-01-02", OneRun: true, Concurrency: 4}, "one-run backfill has no runs to run at once"},
	} {
		_, err := inst.LaunchBackfill(ctx, ws, tc.req)
		if !errors.Is(err, host.ErrInvalidPartition) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want ErrInvalidPartition containing %q", tc.req, err, tc.want)
		}
	}
	if list, _ := inst.Backfills(ctx, 0); len(list) != 0 {
		t.Errorf("refused requests stored backfills: %v", list)
	}
}

// TestBackfillOneRun: --one-run materializes the whole range in a single run.
func TestBackfillOneRun(t *testing.T) {
	ctx := context.Background()
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, partsWorkspace(t, ""))
	b, err := inst.LaunchBackfill(ctx, ws, host.BackfillRequest{Selection: "trivial_daily", From: "2026-01-01", To: "2026-01-20", OneRun: true})
	if err != nil || b.Status != store.BackfillCompleted {
		t.Fatalf("%v %s", err, b.Status)
	}
	runs := runsOfBackfill(t, inst, b.ID)
	if len(runs) != 1 || len(runs[0].StepKeys) != 20 {
		t.Fatalf("%d runs", len(runs))
	}
}

// Environment of the "backfill" child role.
const (
	backfillChildHome      = "WASMORCH_TEST_BACKFILL_HOME"
	backfillChildWorkspace = "WASMORCH_TEST_BACKFILL_WORKSPACE"
)

func init() { childMains["backfill"] = backfillChild }

// backfillChild launches a backfill of 60 daily partitions and prints a line per finished run,
// until the test kills it.
func backfillChild() int {
	ctx := context.Background()
	inst, err := host.Open(ctx, os.Getenv(backfillChildHome))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	ws, err := inst.LoadWorkspace(ctx, os.Getenv(backfillChildWorkspace))
	if err != nil {
		fmt.Fprintln(os.Stderr, "load workspace:", err)
		return 1
	}
	_, err = inst.LaunchBackfill(ctx, ws, host.BackfillRequest{Selection: "trivial_daily", From: "2026-01-01", To: "2026-03-01", Concurrency: 2},
		host.WithBackfillCreated(func(b store.Backfill) { fmt.Printf("backfill %s\n", b.ID) }),
		host.WithBackfillProgress(func(p host.BackfillProgress) { fmt.Printf("done %d\n", p.Done) }))
	if err != nil {
		fmt.Fprintln(os.Stderr, "backfill:", err)
		return 1
	}
	return 0
}

// TestBackfillResumesAfterCrash kills the process running a backfill with SIGKILL partway, then
// resumes the backfill in a new process: every partition ends materialized exactly once.
func TestBackfillResumesAfterCrash(t *testing.T) {
	home := t.TempDir()
	wsPath := partsWorkspace(t, "")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=backfill", backfillChildHome+"="+home, backfillChildWorkspace+"="+wsPath)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var id string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "backfill "); ok {
			id = rest
		}
		if line == "done 12" {
			cmd.Process.Signal(syscall.SIGKILL)
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	err = cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || !exitErr.Sys().(syscall.WaitStatus).Signaled() {
		t.Fatalf("child ended with %v before it was killed:\n%s", err, stderr.String())
	}
	if id == "" {
		t.Fatalf("the child printed no backfill id:\n%s", stderr.String())
	}

	ctx := context.Background()
	inst := openInstanceIn(t, home)
	ws := loadWorkspace(t, inst, wsPath)
	b, err := inst.Store().Backfill(ctx, id)
	if err != nil || b.Status != store.BackfillRequested {
		t.Fatalf("backfill after the crash: %s, %v", b.Status, err)
	}
	b, err = inst.ResumeBackfill(ctx, ws, id)
	if err != nil || b.Status != store.BackfillCompleted {
		t.Fatalf("resume: %v, %s %s", err, b.Status, b.Error)
	}
	counts := materializationsPerPartition(t, inst, "trivial_daily")
	if len(counts) != 60 {
		t.Errorf("%d partitions materialized, want 60", len(counts))
	}
	for k, n := range counts {
		if n != 1 {
			t.Errorf("partition %s materialized %d times", k, n)
		}
	}
	rep, err := inst.BackfillReport(ctx, ws, id)
	if err != nil || rep.Counts[store.PartitionMaterialized] != 60 {
		t.Errorf("report counts %v, %v", rep.Counts, err)
	}
}
