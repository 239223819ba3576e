package badgerstore

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wasmorch/wasmorch/host/store"
)

// The bank crash test: a child process moves money between accounts through the store while the
// test SIGKILLs it at random moments, reopening the same directory after each kill and checking
// that nothing acknowledged was lost and nothing half-done is visible.
//
// An account is an asset, "acct/NN"; its balance is the "balance" metadata of its newest
// materialization. A transfer is one AppendEvents call carrying two ASSET_MATERIALIZATION events,
// the payer's and the payee's new balances, each also recording the balance it replaces ("prev")
// and the transfer's id. So the materialization index, not just the event log, must stay
// consistent: the sum of the latest balances is the initial total only if every transfer is all
// or nothing.
//
// SIGKILL ends the process, not the kernel: a commit that returned is in the page cache (Badger
// writes its WAL through mmap) and must survive whether or not it was synced. So the test expects
// every acknowledged write back, synced or not. It cannot tell what a power loss would keep; see
// docs/DURABILITY.md.

const (
	// bankSeedEnv overrides the random seed (logged by every run) to replay a failure's choices
	// of kill moments, accounts and amounts. Thread timing still differs between runs.
	bankSeedEnv = "WASMORCH_BANK_SEED"
	// bankKillsEnv overrides how many times the child is killed (default bankKills).
	bankKillsEnv = "WASMORCH_BANK_KILLS"

	// The child role: bankChildEnv names the store directory; TestMain then runs bankChild.
	bankChildEnv     = "WASMORCH_BANK_CHILD_DIR"
	bankChildRound   = "WASMORCH_BANK_CHILD_ROUND"
	bankChildSeedEnv = "WASMORCH_BANK_CHILD_SEED"

	bankKills    = 15
	bankAccounts = 16
	bankInitial  = 1000
	// bankWorkers goroutines transfer concurrently; one more only creates, starts and ends runs.
	bankWorkers = 4
	// bankRunLength is how many transfers a worker's run carries; the last one is appended
	// together with the run's terminal event, so it is a synced transfer.
	bankRunLength = 25
	// bankChurnEvery is how many transfers pass between two runs of the churn goroutine.
	bankChurnEvery = 8
	// bankMemTable is the child's memtable size: small, so that rotations, level-0 flushes and
	// compactions happen between kills (Badger's default, 64 MiB, would take minutes of load).
	bankMemTable = 1 << 20

	bankKVNamespace = "bank"
)

func withMemTableSize(n int64) Option { return func(c *config) { c.memTableSize = n } }

func TestMain(m *testing.M) {
	if dir := os.Getenv(bankChildEnv); dir != "" {
		os.Exit(bankChild(dir))
	}
	os.Exit(m.Run())
}

func bankAccount(i int) string { return fmt.Sprintf("acct/%02d", i) }

func bankAccountKeys() []string {
	keys := make([]string, bankAccounts)
	for i := range keys {
		keys[i] = bankAccount(i)
	}
	return keys
}

func bankMaterialization(account, transfer string, prev, balance int) store.Event {
	md := map[string]any{"balance": balance, "transfer": transfer}
	if prev >= 0 {
		md["prev"] = prev
	}
	return store.Event{Type: store.EventMaterialization, StepKey: "transfer", Materialization: &store.Materialization{
		AssetKey: account, Format: "json", Location: "bank", IOManager: "bank", CodeVersion: "v1", Metadata: md,
	}}
}

// bankInt reads an integer the test wrote into metadata (JSON gives it back as float64).
func bankInt(md map[string]any, name string) (int, error) {
	f, ok := md[name].(float64)
	if !ok || f != float64(int(f)) {
		return 0, fmt.Errorf("metadata %q = %#v, want an integer", name, md[name])
	}
	return int(f), nil
}

// bankChange is how much a transfer's materialization changed its account's balance (0 when its
// metadata is broken, which the replay reports).
func bankChange(ev store.Event) int {
	prev, err1 := bankInt(ev.Materialization.Metadata, "prev")
	bal, err2 := bankInt(ev.Materialization.Metadata, "balance")
	if err1 != nil || err2 != nil {
		return 0
	}
	return bal - prev
}

// TestBankCrash kills a child process writing to the store bankKills times at random moments
// and checks the store after every kill (see checkBank for what is checked).
func TestBankCrash(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(bankSeedEnv); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", bankSeedEnv, v, err)
		}
	}
	kills := bankKills
	if v := os.Getenv(bankKillsEnv); v != "" {
		var err error
		if kills, err = strconv.Atoi(v); err != nil || kills < 1 {
			t.Fatalf("%s=%q: want a positive number", bankKillsEnv, v)
		}
	}
	t.Logf("seed %d (rerun with %s=%d), %d kills", seed, bankSeedEnv, seed, kills)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	ctx := t.Context()

	s, err := Open(dir, withMemTableSize(bankMemTable))
	if err != nil {
		t.Fatal(err)
	}
	genesis := []store.Event{{Type: store.EventRunStart}}
	for _, k := range bankAccountKeys() {
		genesis = append(genesis, bankMaterialization(k, "genesis", -1, bankInitial))
	}
	genesis = append(genesis, store.Event{Type: store.EventRunSuccess})
	if err := s.CreateRun(ctx, store.Run{ID: "bank-genesis", JobName: "bank"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendEvents(ctx, "bank-genesis", genesis...); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	acks := newBankAcks()
	acks.run("bank-genesis", store.EventRunStart, store.EventRunSuccess)
	for round := 1; round <= kills; round++ {
		// Most kills land while the load runs; one in five lands early, possibly while the
		// child is still opening the store and replaying the last child's WAL.
		early := rng.IntN(5) == 0
		delay := time.Duration(20+rng.IntN(680)) * time.Millisecond
		if early {
			delay = time.Duration(rng.IntN(40)) * time.Millisecond
		}
		before := acks.transfers
		runBankChild(t, dir, round, rng.Uint64(), early, delay, acks)
		stats := checkBank(t, dir, round, acks)
		t.Logf("kill %d (%v after %s): %d transfers acknowledged, %d stored in all, %d events, highest event ID %d",
			round, delay, map[bool]string{true: "start", false: "ready"}[early],
			acks.transfers-before, stats.transfers, stats.events, stats.maxID)
		if t.Failed() {
			t.Fatalf("stopping after kill %d; rerun with %s=%d", round, bankSeedEnv, seed)
		}
	}
	// What the kills hit besides commits: every memtable flushed to a table left an .sst file
	// (compactions merge some away).
	tables, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	t.Logf("%d transfers acknowledged in all; %d tables in the store directory", acks.transfers, len(tables))
}

// bankAcks is what the children acknowledged: each line a child wrote after a call returned.
type bankAcks struct {
	transfers   int
	transferIDs map[string]bool
	runs        map[string][]store.EventType // run id -> acknowledged run-status events
	kv          map[string]bankKVValue       // key -> last acknowledged value
}

func newBankAcks() *bankAcks {
	return &bankAcks{transferIDs: map[string]bool{}, runs: map[string][]store.EventType{}, kv: map[string]bankKVValue{}}
}

func (a *bankAcks) run(id string, status ...store.EventType) {
	a.runs[id] = append(a.runs[id], status...)
}

// bankKVValue is a kv value a worker wrote: its round and its sequence number in that round.
type bankKVValue struct{ round, seq int }

func parseBankKV(s string) (bankKVValue, error) {
	r, q, ok := strings.Cut(s, ".")
	var v bankKVValue
	var err1, err2 error
	v.round, err1 = strconv.Atoi(r)
	v.seq, err2 = strconv.Atoi(q)
	if !ok || err1 != nil || err2 != nil {
		return v, fmt.Errorf("kv value %q is not <round>.<seq>", s)
	}
	return v, nil
}

// runBankChild starts the child on dir, kills it with SIGKILL delay after it started (early) or
// after it opened the store, and records every line it acknowledged.
func runBankChild(t *testing.T, dir string, round int, seed uint64, early bool, delay time.Duration, acks *bankAcks) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		bankChildEnv+"="+dir,
		bankChildRound+"="+strconv.Itoa(round),
		bankChildSeedEnv+"="+strconv.FormatUint(seed, 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kill := func() { _ = cmd.Process.Signal(syscall.SIGKILL) }
	var timer *time.Timer
	if early {
		timer = time.AfterFunc(delay, kill)
	}
	// A child that never gets ready is killed too, and the test fails below.
	watchdog := time.AfterFunc(30*time.Second, kill)
	defer watchdog.Stop()

	ready := false
	var bad []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case len(f) == 1 && f[0] == "ready":
			ready = true
			watchdog.Stop()
			if timer == nil {
				timer = time.AfterFunc(delay, kill)
			}
		case len(f) == 2 && f[0] == "transfer":
			acks.transfers++
			acks.transferIDs[f[1]] = true
		case len(f) == 2 && f[0] == "run":
			acks.run(f[1])
		case len(f) == 3 && f[0] == "status":
			acks.run(f[1], store.EventType(f[2]))
		case len(f) == 3 && f[0] == "kv":
			v, err := parseBankKV(f[2])
			if err != nil {
				bad = append(bad, line)
				continue
			}
			acks.kv[f[1]] = v
		default:
			bad = append(bad, line)
		}
	}
	if timer != nil {
		timer.Stop()
	}
	err = cmd.Wait()
	if len(bad) > 0 {
		t.Errorf("round %d: the child wrote lines the test does not understand: %q", round, bad)
	}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("round %d: the child ended on its own (%v), not by SIGKILL; its stderr:\n%s", round, err, stderr.String())
	}
	if !ready && !early {
		t.Fatalf("round %d: the child did not open the store within 30 s; its stderr:\n%s", round, stderr.String())
	}
}

// bankOut writes the child's acknowledgements, one line per write(2): a pipe write of at most
// PIPE_BUF bytes is atomic, so a line is either wholly in the pipe when SIGKILL lands or absent.
type bankOut struct{ mu sync.Mutex }

func (o *bankOut) printf(format string, args ...any) {
	line := fmt.Sprintf(format+"\n", args...)
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, err := os.Stdout.WriteString(line); err != nil {
		os.Exit(3) // the test is gone
	}
}

// bankChild is the process the test kills: it opens the store and transfers until killed. It
// returns (with a message on stderr) only when something fails, which fails the test.
func bankChild(dir string) int {
	round, err1 := strconv.Atoi(os.Getenv(bankChildRound))
	seed, err2 := strconv.ParseUint(os.Getenv(bankChildSeedEnv), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		fmt.Fprintf(os.Stderr, "bank child: %v\n", err)
		return 2
	}
	s, err := Open(dir, withMemTableSize(bankMemTable))
	if err != nil {
		fmt.Fprintf(os.Stderr, "bank child: %v\n", err)
		return 1
	}
	// The store is never closed: the child ends by SIGKILL.
	out := &bankOut{}
	out.printf("ready")
	ctx := context.Background()
	var locks [bankAccounts]sync.Mutex
	errc := make(chan error, bankWorkers+1)
	tick := make(chan struct{}, bankWorkers)
	for w := range bankWorkers {
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		go func() { errc <- bankWorker(ctx, s, out, &locks, round, w, rng, tick) }()
	}
	go func() { errc <- bankStatusChurn(ctx, s, out, round, tick) }()
	select {
	case err := <-errc:
		fmt.Fprintf(os.Stderr, "bank child: %v\n", err)
	case <-time.After(time.Minute):
		fmt.Fprintln(os.Stderr, "bank child: not killed within a minute")
	}
	return 1
}

// bankStartRun creates a run and starts it, acknowledging both (both are synced).
func bankStartRun(ctx context.Context, s *Store, out *bankOut, id string) error {
	if err := s.CreateRun(ctx, store.Run{ID: id, JobName: "bank"}); err != nil {
		return err
	}
	out.printf("run %s", id)
	if _, err := s.AppendEvents(ctx, id, store.Event{Type: store.EventRunStart}); err != nil {
		return err
	}
	out.printf("status %s %s", id, store.EventRunStart)
	return nil
}

// bankWorker transfers between random accounts. It holds both accounts' locks from reading
// their balances to the end of the append, as an application must without compare-and-set; the
// store's own locking is what the test checks, between workers on disjoint accounts and the
// churn goroutine.
func bankWorker(ctx context.Context, s *Store, out *bankOut, locks *[bankAccounts]sync.Mutex, round, w int, rng *rand.Rand, tick chan<- struct{}) error {
	runs := 0
	runID := fmt.Sprintf("bank-r%d-w%d-%d", round, w, runs)
	if err := bankStartRun(ctx, s, out, runID); err != nil {
		return err
	}
	kvSeq := 0
	kvKey := fmt.Sprintf("w%d", w)
	ends := []store.EventType{store.EventRunSuccess, store.EventRunFailure, store.EventRunCancel}
	for seq := 1; ; seq++ {
		a := rng.IntN(bankAccounts)
		b := rng.IntN(bankAccounts - 1)
		if b >= a {
			b++
		}
		id := fmt.Sprintf("r%d.w%d.%d", round, w, seq)
		var end store.EventType
		if seq%bankRunLength == 0 {
			end = ends[rng.IntN(len(ends))]
		}
		log := rng.IntN(8) == 0
		step := rng.IntN(8) == 0

		locks[min(a, b)].Lock()
		locks[max(a, b)].Lock()
		err := func() error {
			latest, err := s.LatestMaterializations(ctx, bankAccount(a), bankAccount(b))
			if err != nil {
				return err
			}
			balA, errA := bankInt(latest[bankAccount(a)].Materialization.Metadata, "balance")
			balB, errB := bankInt(latest[bankAccount(b)].Materialization.Metadata, "balance")
			if err := errors.Join(errA, errB); err != nil {
				return err
			}
			amount := min(1+rng.IntN(50), balA)
			var events []store.Event
			if log {
				events = append(events, store.Event{Type: store.EventLog, Level: store.LevelInfo, Message: "transfer " + id})
			}
			if step {
				events = append(events, store.Event{Type: store.EventStepStart, StepKey: "transfer"})
			}
			events = append(events,
				bankMaterialization(bankAccount(a), id, balA, balA-amount),
				bankMaterialization(bankAccount(b), id, balB, balB+amount))
			if step {
				events = append(events, store.Event{Type: store.EventStepSuccess, StepKey: "transfer"})
			}
			if end != "" {
				events = append(events, store.Event{Type: end})
			}
			_, err = s.AppendEvents(ctx, runID, events...)
			return err
		}()
		locks[max(a, b)].Unlock()
		locks[min(a, b)].Unlock()
		if err != nil {
			return fmt.Errorf("transfer %s: %w", id, err)
		}
		out.printf("transfer %s", id)
		select {
		case tick <- struct{}{}:
		default:
		}

		if end != "" {
			out.printf("status %s %s", runID, end)
			if _, err := s.AppendEvents(ctx, runID, store.Event{Type: store.EventRunFailure}); !errors.Is(err, store.ErrRunFinished) {
				return fmt.Errorf("RUN_FAILURE on run %s after %s: %v, want ErrRunFinished", runID, end, err)
			}
			runs++
			runID = fmt.Sprintf("bank-r%d-w%d-%d", round, w, runs)
			if err := bankStartRun(ctx, s, out, runID); err != nil {
				return err
			}
		}
		if rng.IntN(4) == 0 {
			kvSeq++
			v := fmt.Sprintf("%d.%d", round, kvSeq)
			if err := s.KVPut(ctx, bankKVNamespace, kvKey, []byte(v)); err != nil {
				return err
			}
			out.printf("kv %s %s", kvKey, v)
		}
	}
}

// bankStatusChurn creates, starts and ends a run every bankChurnEvery transfers: synced writes
// interleaved with the workers' unsynced ones. (Unpaced, its syncs would take most of the time
// and most kills would land in a sync rather than in a transfer.)
func bankStatusChurn(ctx context.Context, s *Store, out *bankOut, round int, tick <-chan struct{}) error {
	for n := 0; ; n++ {
		for range bankChurnEvery {
			<-tick
		}
		id := fmt.Sprintf("bank-r%d-s%d", round, n)
		if err := bankStartRun(ctx, s, out, id); err != nil {
			return err
		}
		if _, err := s.AppendEvents(ctx, id, store.Event{Type: store.EventStepStart, StepKey: "noop"},
			store.Event{Type: store.EventStepSuccess, StepKey: "noop"}); err != nil {
			return err
		}
		if _, err := s.AppendEvents(ctx, id, store.Event{Type: store.EventRunSuccess}); err != nil {
			return err
		}
		out.printf("status %s %s", id, store.EventRunSuccess)
	}
}

type bankStats struct {
	events, transfers int
	maxID             int64
}

// checkBank reopens the store after a kill and checks:
//   - it opens;
//   - every run's events have strictly increasing IDs, unique across the store, and replaying
//     its run-status events with store.NextStatus is legal (so at most one terminal event) and
//     gives the stored status;
//   - replaying every account materialization in ID order, each one's "prev" is the balance the
//     previous one left (IDs follow commit order, nothing in between was lost), each transfer is
//     exactly two materializations with consecutive IDs that move the same amount, and the
//     balances sum to the initial total;
//   - LatestMaterializations, Materializations and AssetKeys agree with that replay;
//   - every acknowledged transfer, run, run-status event and kv value is there;
//   - a new write works and gets an ID above every stored one.
func checkBank(t *testing.T, dir string, round int, acks *bankAcks) bankStats {
	t.Helper()
	ctx := t.Context()
	s, err := Open(dir, withMemTableSize(bankMemTable))
	if err != nil {
		t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Errorf("round %d: close: %v", round, err)
		}
	}()
	var stats bankStats
	errorf := func(format string, args ...any) {
		t.Helper()
		t.Errorf("round %d: "+format, append([]any{round}, args...)...)
	}

	runs, err := s.Runs(ctx, store.RunFilter{})
	if err != nil {
		t.Fatalf("round %d: Runs: %v", round, err)
	}
	var all []store.Event
	seenID := map[int64]string{}
	listed := map[string]bool{}
	for _, run := range runs {
		listed[run.ID] = true
		events, err := s.Events(ctx, run.ID, 0, 0)
		if err != nil {
			t.Fatalf("round %d: Events(%s): %v", round, run.ID, err)
		}
		status := store.RunNotStarted
		terminal := 0
		for i, ev := range events {
			if i > 0 && ev.ID <= events[i-1].ID {
				errorf("run %s: event %d has ID %d after %d", run.ID, i, ev.ID, events[i-1].ID)
			}
			if other, dup := seenID[ev.ID]; dup {
				errorf("event ID %d is in run %s and in run %s", ev.ID, other, run.ID)
			}
			seenID[ev.ID] = run.ID
			if ev.Type.IsRunStatus() {
				next, err := store.NextStatus(status, ev.Type)
				if err != nil {
					errorf("run %s: event %d (ID %d): %v", run.ID, i, ev.ID, err)
				}
				status = next
				if next.Finished() {
					terminal++
				}
			}
		}
		if terminal > 1 {
			errorf("run %s has %d terminal events", run.ID, terminal)
		}
		if run.Status != status {
			errorf("run %s is stored %s, its events say %s", run.ID, run.Status, status)
		}
		for _, want := range acks.runs[run.ID] {
			if !slices.ContainsFunc(events, func(ev store.Event) bool { return ev.Type == want }) {
				errorf("run %s: acknowledged %s is missing", run.ID, want)
			}
		}
		all = append(all, events...)
	}
	for id := range acks.runs {
		if !listed[id] {
			errorf("acknowledged run %s is not listed by Runs", id)
		}
	}
	slices.SortFunc(all, func(a, b store.Event) int { return cmp.Compare(a.ID, b.ID) })
	stats.events = len(all)
	if len(all) > 0 {
		stats.maxID = all[len(all)-1].ID
	}

	balance := map[string]int{}
	history := map[string][]store.Event{} // account -> its materializations, oldest first
	transfers := map[string][]store.Event{}
	for _, ev := range all {
		m := ev.Materialization
		if m == nil {
			continue
		}
		bal, err := bankInt(m.Metadata, "balance")
		if err != nil {
			errorf("event %d: %v", ev.ID, err)
			continue
		}
		tr, _ := m.Metadata["transfer"].(string)
		if tr != "genesis" {
			prev, err := bankInt(m.Metadata, "prev")
			cur, known := balance[m.AssetKey]
			if err != nil || !known || prev != cur {
				errorf("event %d (transfer %s) moves %s from %v, but the events before it leave %v (known %v)",
					ev.ID, tr, m.AssetKey, m.Metadata["prev"], cur, known)
			}
			transfers[tr] = append(transfers[tr], ev)
		}
		balance[m.AssetKey] = bal
		history[m.AssetKey] = append(history[m.AssetKey], ev)
	}
	stats.transfers = len(transfers)
	for id, evs := range transfers {
		if len(evs) != 2 {
			errorf("transfer %s has %d materializations, want 2", id, len(evs))
			continue
		}
		if evs[1].ID != evs[0].ID+1 || evs[0].RunID != evs[1].RunID || bankChange(evs[0]) != -bankChange(evs[1]) {
			errorf("transfer %s is not one atomic move: %+v and %+v", id, evs[0], evs[1])
		}
	}
	for id := range acks.transferIDs {
		if transfers[id] == nil {
			errorf("acknowledged transfer %s is missing", id)
		}
	}
	sum := 0
	for _, b := range balance {
		sum += b
	}
	if sum != bankAccounts*bankInitial || len(balance) != bankAccounts {
		errorf("%d accounts hold %d in all, want %d accounts holding %d", len(balance), sum, bankAccounts, bankAccounts*bankInitial)
	}

	keys := bankAccountKeys()
	latest, err := s.LatestMaterializations(ctx, keys...)
	if err != nil {
		t.Fatalf("round %d: LatestMaterializations: %v", round, err)
	}
	for _, k := range keys {
		h := history[k]
		if len(h) == 0 {
			continue
		}
		if !reflect.DeepEqual(latest[k], h[len(h)-1]) {
			errorf("LatestMaterializations[%s] = event %d, the event logs' newest is %d", k, latest[k].ID, h[len(h)-1].ID)
		}
		indexed, err := s.Materializations(ctx, k, 0)
		if err != nil {
			t.Fatalf("round %d: Materializations(%s): %v", round, k, err)
		}
		slices.Reverse(indexed)
		if !reflect.DeepEqual(indexed, h) {
			errorf("Materializations(%s) holds %d events, the event logs %d (or they differ)", k, len(indexed), len(h))
		}
	}
	if got, err := s.AssetKeys(ctx); err != nil || !slices.Equal(got, keys) {
		errorf("AssetKeys = %q, %v; want the %d accounts", got, err, bankAccounts)
	}

	// kv: worker w overwrites key "w<w>" with "<round>.<seq>", seq counting from 1 in each
	// round, one put at a time. What is stored is the last acknowledged value, or a put that
	// was in flight when the child died: the next seq of the same round, or seq 1 of a later
	// round.
	for w := range bankWorkers {
		key := fmt.Sprintf("w%d", w)
		raw, found, err := s.KVGet(ctx, bankKVNamespace, key)
		if err != nil {
			t.Fatalf("round %d: KVGet(%s): %v", round, key, err)
		}
		acked, wasAcked := acks.kv[key]
		if !found {
			if wasAcked {
				errorf("kv %s: acknowledged %d.%d, found nothing", key, acked.round, acked.seq)
			}
			continue
		}
		got, err := parseBankKV(string(raw))
		if err != nil {
			errorf("kv %s: %v", key, err)
			continue
		}
		inFlight := got.seq == 1 && (!wasAcked || got.round > acked.round) ||
			wasAcked && got.round == acked.round && got.seq == acked.seq+1
		if got != acked && !inFlight {
			errorf("kv %s = %d.%d, but %d.%d was the last acknowledged (acknowledged: %v)", key, got.round, got.seq, acked.round, acked.seq, wasAcked)
		}
	}

	// Writes work after the crash and IDs continue above everything stored.
	id := fmt.Sprintf("bank-verify-%d", round)
	if err := s.CreateRun(ctx, store.Run{ID: id, JobName: "bank"}); err != nil {
		t.Fatalf("round %d: CreateRun after reopen: %v", round, err)
	}
	evs, err := s.AppendEvents(ctx, id, store.Event{Type: store.EventRunStart}, store.Event{Type: store.EventRunSuccess})
	if err != nil {
		t.Fatalf("round %d: AppendEvents after reopen: %v", round, err)
	}
	if evs[0].ID <= stats.maxID {
		errorf("first ID after reopen is %d, not above the stored %d", evs[0].ID, stats.maxID)
	}
	acks.run(id, store.EventRunStart, store.EventRunSuccess)
	return stats
}
