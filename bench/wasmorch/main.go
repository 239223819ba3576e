// Command wasmorch-bench is the wasmorch side of the side-by-side benchmarks (issue 6, points 2
// and 3; the pipelines are defined in bench/README.md). For each pipeline and guest language it
// times, N times, from loading the workspace (compilation cache warm) to every asset
// materialized by host.Materialize, checks the values after every repetition, and runs the
// baselines for the sandbox cost in the same process: the same steps as native Go calls, and as
// one native process per step (fork/exec). It writes one JSON line per measurement.
//
//	make guests && go run ./bench/wasmorch -reps 5 -out bench-out/wasmorch.jsonl
//
// It imports only the public host API, like any program embedding wasmorch.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

func main() {
	reps := flag.Int("reps", 5, "timed repetitions of each measurement")
	out := flag.String("out", "bench-out/wasmorch.jsonl", "file the JSON lines are written to (also printed on stdout)")
	only := flag.String("only", "", "run only the pipelines whose name contains one of these, comma-separated (fib_chain, graph1000, orders)")
	storage := flag.String("storage", "", "directory the instances' homes (run store and asset storage) are made in, e.g. a tmpfs (default: the system temporary directory)")
	guests := flag.String("guests", "go,rust", "guest languages to run, comma-separated")
	rows := flag.Int64("rows", 1_000_000, "rows of the orders pipeline (the checks hold only for 1,000,000)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file (narrow it with -only and -guests)")
	cacheDir := flag.String("cache", defaultCacheDir(), "compilation cache directory (empty: a new one, so each Go guest is compiled once, cold, in its warm-up)")
	flag.Parse()

	ctx, stop := signalContext()
	defer stop()
	if err := run(ctx, options{reps: *reps, out: *out, only: *only, storage: *storage, guests: strings.Split(*guests, ","), rows: *rows, cpuProfile: *cpuProfile, cacheDir: *cacheDir}); err != nil {
		fmt.Fprintln(os.Stderr, "wasmorch-bench:", err)
		os.Exit(1)
	}
}

type options struct {
	reps       int
	out        string
	only       string
	storage    string
	guests     []string
	rows       int64
	cpuProfile string
	cacheDir   string
}

// defaultCacheDir is a compilation cache kept between runs; wazero keys entries by module bytes
// and its own version, so a changed guest is never served a stale entry.
func defaultCacheDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(base, "wasmorch-bench-cache")
}

func run(ctx context.Context, o options) error {
	if o.reps < 1 {
		return fmt.Errorf("-reps is %d, want at least 1", o.reps)
	}
	if err := checkSelection(pipelines(o.rows), o.only, o.guests); err != nil {
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	f, err := os.Create(o.out)
	if err != nil {
		return err
	}
	defer f.Close()
	w := io.MultiWriter(f, os.Stdout)

	work, err := os.MkdirTemp("", "wasmorch-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	cacheDir := o.cacheDir
	if cacheDir == "" {
		cacheDir = filepath.Join(work, "cache")
	}
	storage := o.storage
	if storage == "" {
		storage = work
	} else if err := os.MkdirAll(storage, 0o755); err != nil {
		return err
	}
	b := &bench{root: root, work: work, storage: storage, reps: o.reps, out: json.NewEncoder(w), cacheDir: cacheDir}

	if o.cpuProfile != "" {
		pf, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	for _, p := range pipelines(o.rows) {
		if !chosen(p.name, o.only) {
			continue
		}
		wasm := map[string]wasmStats{}
		for _, g := range o.guests {
			rel, ok := p.modules[g]
			if !ok {
				continue
			}
			s, err := b.wasmorch(ctx, p, g, rel)
			if err != nil {
				return fmt.Errorf("%s, %s guest: %w", p.name, g, err)
			}
			wasm[g] = s
		}
		if p.baselines == nil {
			continue
		}
		if err := b.baselines(ctx, p, wasm); err != nil {
			return fmt.Errorf("%s baselines: %w", p.name, err)
		}
	}
	return nil
}

// Record is one JSON line of bench-out/wasmorch.jsonl, in the shape bench/dagster writes
// (pipeline, mode, reps as the list of times, median, min, max, steps) so that bench/report reads
// both alike. Times are in seconds.
type Record struct {
	Pipeline string `json:"pipeline"`
	// Mode is "wasm" for wasmorch, or the baseline: "native-call" (the steps as Go function
	// calls), "process-per-step" (one fork/exec of a native program per step) or "storage-only"
	// (only the filesystem IO manager's write of each output).
	Mode string `json:"mode"`
	// Guest is the guest language ("go", "rust"), or "native" for a baseline.
	Guest  string    `json:"guest"`
	Reps   []float64 `json:"reps"`
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Steps  int       `json:"steps"`
	// PerStep is Median / Steps.
	PerStep float64 `json:"per_step"`
	// Load and Materialize split a wasmorch repetition: LoadWorkspace, then Materialize
	// (medians). Open is opening the instance over empty storage, outside the clock.
	Load        float64 `json:"load_median,omitempty"`
	Materialize float64 `json:"materialize_median,omitempty"`
	Open        float64 `json:"open_median,omitempty"`
	// WasmorchOver is, for a baseline, the wasmorch median of each guest divided by the
	// baseline's median (per step and whole pipeline alike: both run the same steps).
	WasmorchOver map[string]float64 `json:"wasmorch_over_baseline,omitempty"`
	// MaterializeOver is the same ratio with only wasmorch's Materialize (no workspace load).
	MaterializeOver map[string]float64 `json:"wasmorch_materialize_over_baseline,omitempty"`
	CPUs            int                `json:"cpus"`
	GoVersion       string             `json:"go_version"`
	Note            string             `json:"note,omitempty"`
}

// Stats are the times of the repetitions of one measurement.
type Stats struct {
	Times []time.Duration
}

func (s Stats) sorted() []time.Duration {
	t := slices.Clone(s.Times)
	slices.Sort(t)
	return t
}

// Median is the middle time (the mean of the two middle times for an even count).
func (s Stats) Median() time.Duration {
	t := s.sorted()
	if len(t) == 0 {
		return 0
	}
	if len(t)%2 == 1 {
		return t[len(t)/2]
	}
	return (t[len(t)/2-1] + t[len(t)/2]) / 2
}

func (s Stats) Min() time.Duration { return slices.Min(s.Times) }
func (s Stats) Max() time.Duration { return slices.Max(s.Times) }

func (s Stats) record(pipeline, mode, guest string, steps int) Record {
	reps := make([]float64, len(s.Times))
	for i, t := range s.Times {
		reps[i] = t.Seconds()
	}
	m := s.Median().Seconds()
	return Record{Pipeline: pipeline, Mode: mode, Guest: guest, Reps: reps, Median: m, Min: s.Min().Seconds(), Max: s.Max().Seconds(),
		Steps: steps, PerStep: m / float64(steps), CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
}

// repoRoot is the directory of the wasmorch go.mod at or above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.HasPrefix(string(b), "module github.com/wasmorch/wasmorch\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no wasmorch repository root above %s: run from the repository", dir)
		}
	}
}

// guestPath returns the absolute path of a guest under testdata/, building it with make when it
// is missing or stale.
func guestPath(ctx context.Context, root, rel string) (string, error) {
	target := filepath.ToSlash(filepath.Join("testdata", rel))
	cmd := exec.CommandContext(ctx, "make", "-s", "-C", root, target)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("make %s: %w\n%s", target, err, out)
	}
	p := filepath.Join(root, target)
	if _, err := os.Stat(p); err != nil {
		return "", errors.New("make " + target + " did not build it")
	}
	return p, nil
}

// checkSelection refuses an -only item that names no pipeline and a -guests item that no
// pipeline has a module for, so that a typo is not a run that measures nothing.
func checkSelection(ps []pipeline, only string, guests []string) error {
	var names []string
	langs := map[string]bool{}
	for _, p := range ps {
		names = append(names, p.name)
		for g := range p.modules {
			langs[g] = true
		}
	}
	if only != "" {
		for _, o := range strings.Split(only, ",") {
			if !slices.ContainsFunc(names, func(n string) bool { return o != "" && strings.Contains(n, o) }) {
				return fmt.Errorf("-only %q: %q matches no pipeline (have %s)", only, o, strings.Join(names, ", "))
			}
		}
	}
	for _, g := range guests {
		if !langs[g] {
			have := slices.Sorted(maps.Keys(langs))
			return fmt.Errorf("-guests: no pipeline has a %q guest (have %s)", g, strings.Join(have, ", "))
		}
	}
	return nil
}

// chosen reports whether -only selects the pipeline: empty selects all, else a comma-separated
// list of substrings of which one must match.
func chosen(name, only string) bool {
	if only == "" {
		return true
	}
	for _, o := range strings.Split(only, ",") {
		if o != "" && strings.Contains(name, o) {
			return true
		}
	}
	return false
}
