package host_test

// Crash recovery, tested the way Dagster tests its daemon: a real host process (this test binary
// in the "run" child role) is killed with SIGKILL at a named point (package crashpoint), and the
// test opens the instance again and checks what the next process finds. docs/RATIONALE.md
// ("Crash recovery tests") lists the points and what each case proves.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/ipc"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/host/store"
	"github.com/wasmorch/wasmorch/internal/crashpoint"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// Environment of the "run" child role.
const (
	runChildHome      = "WASMORCH_TEST_RUN_HOME"
	runChildWorkspace = "WASMORCH_TEST_RUN_WORKSPACE"
	runChildCache     = "WASMORCH_TEST_RUN_CACHE"
	runChildSelect    = "WASMORCH_TEST_RUN_SELECT" // an asset selection to materialize, or
	runChildJob       = "WASMORCH_TEST_RUN_JOB"    // a job to execute
	// runChildKillAfter makes the child kill itself with SIGKILL once the run has returned
	// successfully, before it closes the instance: a crash after the run's end.
	runChildKillAfter = "WASMORCH_TEST_RUN_KILL_AFTER_RUN"
)

func init() { childMains["run"] = runChild }

// runChild opens the instance, runs one selection or job and closes the instance: what
// `wasmorch asset materialize` or `wasmorch job execute` does, in a process a test can kill.
func runChild() int {
	ctx := context.Background()
	inst, err := host.Open(ctx, os.Getenv(runChildHome), host.WithCompilationCacheDir(os.Getenv(runChildCache)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	ws, err := inst.LoadWorkspace(ctx, os.Getenv(runChildWorkspace))
	if err != nil {
		fmt.Fprintln(os.Stderr, "load workspace:", err)
		return 1
	}
	var res *host.Result
	if job := os.Getenv(runChildJob); job != "" {
		res, err = inst.ExecuteJob(ctx, ws, job)
	} else {
		res, err = inst.Materialize(ctx, ws, os.Getenv(runChildSelect))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		return 1
	}
	if !res.Success() {
		fmt.Fprintln(os.Stderr, res.Err())
		return 1
	}
	if os.Getenv(runChildKillAfter) != "" {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	if err := inst.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
		return 1
	}
	return 0
}

// runChildUntilKilled runs the child role with env added and fails the test unless the child
// died of SIGKILL: a normal exit means the crash point was never reached.
func runChildUntilKilled(t *testing.T, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=run")
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("child %v: want death by SIGKILL, got %v\n%s", env, err, out.Bytes())
	}
	status, ok := exitErr.Sys().(syscall.WaitStatus)
	if !ok || !status.Signaled() || status.Signal() != syscall.SIGKILL {
		t.Fatalf("child %v: want death by SIGKILL, got %v\n%s", env, exitErr, out.Bytes())
	}
}

// The orders pipeline: three Arrow assets in a chain, so the executor runs them one at a time
// and a crash at the N-th hit of a point lands at a known step.
var ordersChain = []string{"raw_orders", "cleaned_orders", "revenue_by_region"}

var ordersRows = map[string]int64{"raw_orders": 20, "cleaned_orders": 16, "revenue_by_region": 4}

// goodRun is what the successful run before the crash stored.
type goodRun struct {
	runID string
	mats  map[string]store.Materialization
	files map[string][]byte // asset key -> bytes of its stored file
	// writes counts, per asset, the writes of two bytes or more the filesystem IO manager makes
	// for the asset's Arrow file: each is one hit of crashpoint.OutputMidWrite.
	writes map[string]int
}

func TestCrashRecoveryAssetRun(t *testing.T) {
	cases := []struct {
		name string
		// at is WASMORCH_CRASH_AT, from the good run (for points counted in file writes).
		at           func(goodRun) string
		killAfterRun bool
		// The outcome the next process must find.
		status       store.RunStatus
		materialized []string // the assets the crash run materialized, in order
		started      []string // the steps the crash run started, in order
		midWrite     string   // the asset whose file was being written, if any
	}{
		{name: "run created", at: fixed(crashpoint.RunCreated),
			status: store.RunFailure},
		{name: "second step started", at: fixed(crashpoint.StepStarted + ":2"),
			status: store.RunFailure, materialized: ordersChain[:1], started: ordersChain[:2]},
		{name: "first write of the first output", at: fixed(crashpoint.OutputMidWrite + ":1"),
			status: store.RunFailure, started: ordersChain[:1], midWrite: "raw_orders"},
		{name: "last write of the second output", at: func(g goodRun) string {
			return fmt.Sprintf("%s:%d", crashpoint.OutputMidWrite, g.writes["raw_orders"]+g.writes["cleaned_orders"])
		}, status: store.RunFailure, materialized: ordersChain[:1], started: ordersChain[:2], midWrite: "cleaned_orders"},
		{name: "second materialization stored", at: fixed(crashpoint.Materialized + ":2"),
			status: store.RunFailure, materialized: ordersChain[:2], started: ordersChain[:2]},
		{name: "before run success", at: fixed(crashpoint.BeforeRunSuccess),
			status: store.RunFailure, materialized: ordersChain, started: ordersChain},
		{name: "after run success", at: fixed(""), killAfterRun: true,
			status: store.RunSuccess, materialized: ordersChain, started: ordersChain},
	}
	cache := guesttest.CacheDir(t)
	wsPath := ordersWorkspace(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			home := t.TempDir()
			good := materializeGood(t, home, cache, wsPath)

			env := []string{runChildHome + "=" + home, runChildWorkspace + "=" + wsPath, runChildCache + "=" + cache, runChildSelect + "=*"}
			if at := c.at(good); at != "" {
				env = append(env, crashpoint.Env+"="+at)
			}
			if c.killAfterRun {
				env = append(env, runChildKillAfter+"=1")
			}
			runChildUntilKilled(t, env...)
			storage := filepath.Join(home, "storage")
			temps := tempFiles(t, storage)
			tempData := map[string][]byte{} // read now: opening the instance removes them
			for _, p := range temps {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				tempData[p] = b
			}

			inst, err := host.Open(ctx, home, host.WithCompilationCacheDir(cache))
			if err != nil {
				t.Fatalf("the instance does not open after the crash: %v", err)
			}
			defer inst.Close()
			if left := tempFiles(t, storage); len(left) != 0 {
				t.Errorf("opening the instance after the crash left its temporary files: %v", rel(storage, left))
			}
			crashRun := newRun(t, inst, good.runID)
			events := checkRunEnd(t, inst, crashRun, c.status)
			if got := stepKeysOf(events, store.EventStepStart); !slices.Equal(got, c.started) {
				t.Errorf("crash run started steps %v, want %v", got, c.started)
			}
			if got := stepKeysOf(events, store.EventMaterialization); !slices.Equal(got, c.materialized) {
				t.Errorf("crash run materialized %v, want %v", got, c.materialized)
			}
			// An asset without checks records its materialization and its step's success in
			// one transaction: the crash run has one for every other.
			if got := stepKeysOf(events, store.EventStepSuccess); !slices.Equal(got, c.materialized) {
				t.Errorf("crash run has STEP_SUCCESS for %v, want %v (its materializations)", got, c.materialized)
			}
			checkMaterializations(t, inst, good)
			checkStorage(t, inst, storage)

			// The good run's files are untouched, and an asset the crash run did not
			// materialize still reads as the good run's value.
			for _, key := range ordersChain {
				if b, err := os.ReadFile(good.mats[key].Location); err != nil || !bytes.Equal(b, good.files[key]) {
					t.Errorf("%s: the good run's file changed or went away after the crash (%v)", key, err)
				}
				if slices.Contains(c.materialized, key) {
					continue
				}
				v, err := inst.AssetValue(ctx, key)
				if err != nil {
					t.Errorf("%s after the crash: %v", key, err)
					continue
				}
				if v.Materialization.Location != good.mats[key].Location {
					t.Errorf("%s reads %s after the crash, want the good run's %s", key, v.Materialization.Location, good.mats[key].Location)
				}
				v.Release()
			}

			if c.midWrite != "" {
				checkHalfWritten(t, storage, temps, tempData, c.midWrite, crashRun, good)
			} else if len(temps) != 0 {
				t.Errorf("temporary files left by a crash outside any write: %v", temps)
			}

			// The next run of the same selection succeeds and adds exactly one materialization
			// per asset, under a new run id.
			before := materializationCounts(t, inst, ordersChain)
			ws := loadWorkspace(t, inst, wsPath)
			again := materialize(t, inst, ws, "*")
			if !again.Success() {
				t.Fatalf("run after the crash: %v", again.Err())
			}
			if again.RunID == good.runID || again.RunID == crashRun {
				t.Errorf("run after the crash reused run id %s (good %s, crashed %s)", again.RunID, good.runID, crashRun)
			}
			after := materializationCounts(t, inst, ordersChain)
			for _, key := range ordersChain {
				if after[key] != before[key]+1 {
					t.Errorf("%s: %d materializations after one more run, want %d", key, after[key], before[key]+1)
				}
				v, err := inst.AssetValue(ctx, key)
				if err != nil || v.Materialization.Location != again.Materializations[key].Location {
					t.Fatalf("%s after the next run: %+v, %v", key, v, err)
				}
				v.Release()
			}
			checkMaterializations(t, inst, good)
			checkStorage(t, inst, storage)
			if left := tempFiles(t, storage); len(left) > 0 {
				t.Errorf("temporary files left by the run after the crash: %v", rel(storage, left))
			}
		})
	}
}

func fixed(at string) func(goodRun) string { return func(goodRun) string { return at } }

// materializeGood materializes the orders chain once in an instance at home and closes it.
func materializeGood(t *testing.T, home, cache, wsPath string) goodRun {
	t.Helper()
	inst, err := host.Open(context.Background(), home, host.WithCompilationCacheDir(cache))
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	res := materialize(t, inst, loadWorkspace(t, inst, wsPath), "*")
	if !res.Success() {
		t.Fatal(res.Err())
	}
	g := goodRun{runID: res.RunID, mats: res.Materializations, files: map[string][]byte{}, writes: map[string]int{}}
	for _, key := range ordersChain {
		if g.files[key], err = os.ReadFile(res.Materializations[key].Location); err != nil {
			t.Fatal(err)
		}
		g.writes[key] = arrowFileWrites(t, g.files[key])
	}
	return g
}

// arrowFileWrites rewrites an Arrow IPC file the way the filesystem IO manager writes one (a
// FileWriter fed the file's record batches) and counts the writes of two bytes or more, the
// writes crashpoint.OutputMidWrite counts as hits. It fails the test unless the rewrite is the
// same bytes, which shows the write sequence is the IO manager's.
func arrowFileWrites(t *testing.T, file []byte) int {
	t.Helper()
	r, err := ipc.NewFileReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var w countingWriter
	fw, err := ipc.NewFileWriter(&w, ipc.WithSchema(r.Schema()))
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.NumRecords() {
		rec, err := r.RecordAt(i)
		if err != nil {
			t.Fatal(err)
		}
		err = fw.Write(rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.buf.Bytes(), file) {
		t.Fatalf("rewriting a stored Arrow file does not give the same bytes (%d, stored %d): the write count would be a guess", w.buf.Len(), len(file))
	}
	return w.writes
}

type countingWriter struct {
	buf    bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if len(p) >= 2 {
		w.writes++
	}
	return w.buf.Write(p)
}

// Seek answers the FileWriter's question for its position; it seeks nowhere else.
func (w *countingWriter) Seek(offset int64, whence int) (int64, error) {
	if offset != 0 || whence != io.SeekCurrent {
		return 0, fmt.Errorf("countingWriter: seek %d from %d", offset, whence)
	}
	return int64(w.buf.Len()), nil
}

// newRun returns the id of the one run in the instance that is not among known.
func newRun(t *testing.T, inst *host.Instance, known ...string) string {
	t.Helper()
	runs, err := inst.Store().Runs(context.Background(), store.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range runs {
		if !slices.Contains(known, r.ID) {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("want exactly one run from the crashed process, found %v", ids)
	}
	return ids[0]
}

// checkRunEnd checks that the run ended exactly once with status want: a FAILURE is the one
// recorded on opening the instance for a run whose process died. It returns the run's events.
func checkRunEnd(t *testing.T, inst *host.Instance, runID string, want store.RunStatus) []store.Event {
	t.Helper()
	ctx := context.Background()
	run, err := inst.Store().Run(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != want {
		t.Errorf("run %s is %s after the crash, want %s", runID, run.Status, want)
	}
	events, err := inst.Store().Events(ctx, runID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	ends := map[store.EventType]int{}
	for _, ev := range events {
		if ev.Type.IsRunStatus() && ev.Type != store.EventRunStart {
			ends[ev.Type]++
		}
	}
	wantEnd := store.EventRunSuccess
	if want == store.RunFailure {
		wantEnd = store.EventRunFailure
	}
	if len(ends) != 1 || ends[wantEnd] != 1 {
		t.Errorf("run %s ended %v, want exactly one %s", runID, ends, wantEnd)
	}
	if len(events) == 0 {
		t.Fatalf("run %s has no events", runID)
	}
	last := events[len(events)-1]
	if last.Type != wantEnd {
		t.Errorf("last event of run %s is %s, want %s", runID, last.Type, wantEnd)
	}
	if want == store.RunFailure && !strings.Contains(last.Error, "stopped before the run finished") {
		t.Errorf("run %s failed with %q, want the interrupted-run message", runID, last.Error)
	}
	return events
}

func stepKeysOf(events []store.Event, typ store.EventType) []string {
	var keys []string
	for _, ev := range events {
		if ev.Type == typ {
			keys = append(keys, ev.StepKey)
		}
	}
	return keys
}

// checkMaterializations checks the asset catalog against the event logs of every run: each
// ASSET_MATERIALIZATION event is indexed under its asset exactly once, nothing else is indexed,
// and every indexed value decodes to the table the orders pipeline produces, byte for byte the
// good run's file.
func checkMaterializations(t *testing.T, inst *host.Instance, good goodRun) {
	t.Helper()
	ctx := context.Background()
	runs, err := inst.Store().Runs(ctx, store.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	logged := map[string][]int64{}
	for _, r := range runs {
		events, err := inst.Store().Events(ctx, r.ID, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range events {
			if ev.Type == store.EventMaterialization {
				logged[ev.Materialization.AssetKey] = append(logged[ev.Materialization.AssetKey], ev.ID)
			}
		}
	}
	keys, err := inst.Store().AssetKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, sortedNames(map[string]string{"raw_orders": "", "cleaned_orders": "", "revenue_by_region": ""})) {
		t.Errorf("asset keys in the catalog: %v", keys)
	}
	for _, key := range keys {
		mats, err := inst.Store().Materializations(ctx, key, 0)
		if err != nil {
			t.Fatal(err)
		}
		var indexed []int64
		for _, ev := range mats {
			indexed = append(indexed, ev.ID)
			b, err := os.ReadFile(ev.Materialization.Location)
			if err != nil {
				t.Errorf("%s: materialization %d (run %s) has no file: %v", key, ev.ID, ev.RunID, err)
				continue
			}
			if !bytes.Equal(b, good.files[key]) {
				t.Errorf("%s: file of materialization %d (run %s) differs from the good run's", key, ev.ID, ev.RunID)
			}
			v, err := inst.LoadMaterialization(ctx, *ev.Materialization)
			if err != nil {
				t.Errorf("%s: materialization %d does not decode: %v", key, ev.ID, err)
				continue
			}
			if v.Table == nil || v.Table.NumRows() != ordersRows[key] {
				t.Errorf("%s: materialization %d decodes to %v, want %d rows", key, ev.ID, v.Table, ordersRows[key])
			}
			v.Release()
		}
		want := logged[key]
		slices.Sort(indexed)
		slices.Sort(want)
		if !slices.Equal(indexed, want) {
			t.Errorf("%s: catalog holds materialization events %v, the run logs %v", key, indexed, want)
		}
	}
}

// checkStorage checks that every complete file in the storage directory is a value the store
// points to (an asset materialization or an op's STEP_OUTPUT), and every value it points to is
// there: a crash neither loses a recorded value nor leaves an unrecorded one under a final name.
func checkStorage(t *testing.T, inst *host.Instance, storage string) {
	t.Helper()
	ctx := context.Background()
	recorded := map[string]bool{}
	runs, err := inst.Store().Runs(ctx, store.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		events, err := inst.Store().Events(ctx, r.ID, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range events {
			switch {
			case ev.Type == store.EventMaterialization:
				recorded[ev.Materialization.Location] = true
			case ev.Type == store.EventStepOutput:
				loc, _ := ev.Metadata["location"].(string)
				recorded[loc] = true
			}
		}
	}
	onDisk := map[string]bool{}
	err = filepath.WalkDir(storage, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || isTemp(d.Name()) {
			return err
		}
		onDisk[p] = true
		if !recorded[p] {
			t.Errorf("file %s is in the storage directory under a final name, but no event records it", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range recorded {
		if !onDisk[p] {
			t.Errorf("the store records a value at %s, which is not in the storage directory", p)
		}
	}
}

// isTemp reports whether name is a temporary file of the filesystem IO manager (".FINAL.*.tmp").
func isTemp(name string) bool { return strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp") }

func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && isTemp(d.Name()) {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func rel(dir string, paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i], _ = filepath.Rel(dir, p)
	}
	return out
}

// checkHalfWritten checks what a crash in the middle of writing key's file left: one temporary
// file holding a strict prefix of the value (the same bytes the good run wrote, cut short), which
// is not a valid Arrow file, and nothing at the final path.
func checkHalfWritten(t *testing.T, storage string, temps []string, tempData map[string][]byte, key, crashRun string, good goodRun) {
	t.Helper()
	final := filepath.Join(storage, key, crashRun+".arrow")
	if _, err := os.Stat(final); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the half-written value of %s is at its final path %s (%v)", key, final, err)
	}
	if len(temps) != 1 || filepath.Dir(temps[0]) != filepath.Dir(final) || !strings.HasPrefix(filepath.Base(temps[0]), "."+filepath.Base(final)+".") {
		t.Fatalf("temporary files after a crash writing %s: %v, want one for %s", key, temps, final)
	}
	half := tempData[temps[0]]
	whole := good.files[key]
	if len(half) == 0 || len(half) >= len(whole) || !bytes.Equal(half, whole[:len(half)]) {
		t.Fatalf("the temporary file of %s holds %d bytes, want a strict prefix of the %d-byte value", key, len(half), len(whole))
	}
	t.Logf("%s: the crash left %d of %d bytes in %s", key, len(half), len(whole), filepath.Base(temps[0]))
	if r, err := ipc.NewFileReader(bytes.NewReader(half)); err == nil {
		r.Close()
		t.Errorf("the half-written file of %s reads as a valid Arrow file", key)
	}
}

func materializationCounts(t *testing.T, inst *host.Instance, keys []string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, key := range keys {
		mats, err := inst.Store().Materializations(context.Background(), key, 0)
		if err != nil {
			t.Fatal(err)
		}
		out[key] = len(mats)
	}
	return out
}

// TestCrashRecoveryBeforeChecks: an asset with checks records its materialization first, runs
// its checks, then records its step's success. A crash in between leaves the value stored and
// indexed, the step unfinished and no check evaluated; the next run evaluates them.
func TestCrashRecoveryBeforeChecks(t *testing.T) {
	ctx := context.Background()
	cache := guesttest.CacheDir(t)
	wsPath := faultsWorkspace(t)
	home := t.TempDir()
	runChildUntilKilled(t, runChildHome+"="+home, runChildWorkspace+"="+wsPath, runChildCache+"="+cache,
		runChildSelect+"=checked", crashpoint.Env+"="+crashpoint.Materialized)

	inst, err := host.Open(ctx, home, host.WithCompilationCacheDir(cache))
	if err != nil {
		t.Fatalf("the instance does not open after the crash: %v", err)
	}
	defer inst.Close()
	crashRun := newRun(t, inst)
	events := checkRunEnd(t, inst, crashRun, store.RunFailure)
	for typ, want := range map[store.EventType][]string{
		store.EventStepStart: {"checked"}, store.EventMaterialization: {"checked"},
		store.EventStepSuccess: nil, store.EventCheckEvaluation: nil,
	} {
		if got := stepKeysOf(events, typ); !slices.Equal(got, want) {
			t.Errorf("crash run: %s for %v, want %v", typ, got, want)
		}
	}
	mats, err := inst.Store().Materializations(ctx, "checked", 0)
	if err != nil || len(mats) != 1 || mats[0].RunID != crashRun {
		t.Fatalf("materializations of checked after the crash: %+v, %v", mats, err)
	}
	v, err := inst.AssetValue(ctx, "checked")
	if err != nil || strings.TrimSpace(string(v.Data)) != `{"n":5}` {
		t.Fatalf("checked after the crash: %v, %v", v, err)
	}
	if evals, err := inst.Store().CheckEvaluations(ctx, "checked", 0); err != nil || len(evals) != 0 {
		t.Errorf("check evaluations after the crash: %+v, %v", evals, err)
	}
	checkStorage(t, inst, filepath.Join(home, "storage"))

	again := materialize(t, inst, loadWorkspace(t, inst, wsPath), "checked")
	if !again.Success() {
		t.Fatalf("run after the crash: %v", again.Err())
	}
	if again.RunID == crashRun {
		t.Errorf("run after the crash reused run id %s", crashRun)
	}
	if mats, err := inst.Store().Materializations(ctx, "checked", 0); err != nil || len(mats) != 2 || mats[0].RunID != again.RunID {
		t.Errorf("materializations of checked after the next run: %+v, %v", mats, err)
	}
	evals, err := inst.Store().CheckEvaluations(ctx, "checked", 0)
	if err != nil || len(evals) != 2 || evals[0].RunID != again.RunID || evals[1].RunID != again.RunID {
		t.Errorf("check evaluations after the next run: %+v, %v (want both checks, from the new run)", evals, err)
	}
	checkStorage(t, inst, filepath.Join(home, "storage"))
}

// TestCrashRecoveryGraphJob: the same for a run of a graph job, whose op outputs are recorded as
// STEP_OUTPUT events rather than materializations. nested_job runs numbers, then inner.split (a
// fan-out), then inner.square once per number, inner.total and describe.
func TestCrashRecoveryGraphJob(t *testing.T) {
	cases := []struct {
		name    string
		at      string
		started []string // the steps the crash run started, in order
		outputs []string // STEP.OUTPUT the crash run stored, in order
	}{
		{name: "run created", at: crashpoint.RunCreated},
		{name: "second step started", at: crashpoint.StepStarted + ":2", started: []string{"numbers", "inner.split"}, outputs: []string{"numbers.result"}},
	}
	cache := guesttest.CacheDir(t)
	wsPath, _ := opsWorkspace(t, "")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			home := t.TempDir()
			inst, err := host.Open(ctx, home, host.WithCompilationCacheDir(cache))
			if err != nil {
				t.Fatal(err)
			}
			good := executeJob(t, inst, loadWorkspace(t, inst, wsPath), "nested_job")
			if !good.Success() {
				t.Fatal(good.Err())
			}
			if err := inst.Close(); err != nil {
				t.Fatal(err)
			}

			runChildUntilKilled(t, runChildHome+"="+home, runChildWorkspace+"="+wsPath, runChildCache+"="+cache,
				runChildJob+"=nested_job", crashpoint.Env+"="+c.at)
			storage := filepath.Join(home, "storage")
			if temps := tempFiles(t, storage); len(temps) != 0 {
				t.Errorf("temporary files left by a crash outside any write: %v", temps)
			}
			inst, err = host.Open(ctx, home, host.WithCompilationCacheDir(cache))
			if err != nil {
				t.Fatalf("the instance does not open after the crash: %v", err)
			}
			defer inst.Close()
			crashRun := newRun(t, inst, good.RunID)
			events := checkRunEnd(t, inst, crashRun, store.RunFailure)
			if got := stepKeysOf(events, store.EventStepStart); !slices.Equal(got, c.started) {
				t.Errorf("crash run started steps %v, want %v", got, c.started)
			}
			var outputs []string
			for _, ev := range events {
				if ev.Type != store.EventStepOutput {
					continue
				}
				name, _ := ev.Metadata["output"].(string)
				outputs = append(outputs, ev.StepKey+"."+name)
				// What the crash run stored reads back as what the good run stored.
				got, err := inst.OpOutput(ctx, crashRun, ev.StepKey, name)
				if err != nil {
					t.Errorf("%s.%s of the crashed run: %v", ev.StepKey, name, err)
					continue
				}
				want, err := inst.OpOutput(ctx, good.RunID, ev.StepKey, name)
				if err != nil || !bytes.Equal(got.Data, want.Data) {
					t.Errorf("%s.%s of the crashed run is %q, the good run's %q (%v)", ev.StepKey, name, got.Data, want.Data, err)
				}
			}
			if !slices.Equal(outputs, c.outputs) {
				t.Errorf("crash run stored outputs %v, want %v", outputs, c.outputs)
			}
			checkStorage(t, inst, storage)
			if got := jsonOutput(t, inst, good, "describe", "result"); got != `got {"count":4,"sum":30}` {
				t.Errorf("the good run's describe output after the crash = %v", got)
			}

			again := executeJob(t, inst, loadWorkspace(t, inst, wsPath), "nested_job")
			if !again.Success() {
				t.Fatalf("run after the crash: %v", again.Err())
			}
			if again.RunID == good.RunID || again.RunID == crashRun {
				t.Errorf("run after the crash reused run id %s (good %s, crashed %s)", again.RunID, good.RunID, crashRun)
			}
			if got := jsonOutput(t, inst, again, "describe", "result"); got != `got {"count":4,"sum":30}` {
				t.Errorf("describe after the crash = %v", got)
			}
			checkStorage(t, inst, storage)
		})
	}
}
