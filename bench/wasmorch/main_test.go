package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// The benchmark itself runs with `go run ./bench/wasmorch`; these tests only check that its
// pieces compute the values bench/README.md gives, quickly enough for `make test`.

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		times []time.Duration
		want  time.Duration
	}{
		{[]time.Duration{3, 1, 2}, 2},
		{[]time.Duration{4, 1, 3, 2}, 2}, // (2+3)/2 in integer nanoseconds
		{[]time.Duration{7}, 7},
	} {
		if got := (Stats{Times: c.times}).Median(); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.times, got, c.want)
		}
	}
}

func TestNativeShapes(t *testing.T) {
	for name, g := range map[string]*graphShape{"fib_chain": fibChainShape(), "graph1000": graph1000Shape()} {
		vals := make([]int64, len(g.inputs))
		g.callAll(vals, nil)
		if got := vals[len(vals)-1]; got != g.want() {
			t.Errorf("%s: last step %d, want %d", name, got, g.want())
		}
		if name == "graph1000" {
			edges := 0
			for _, in := range g.inputs {
				edges += len(in)
			}
			if len(g.inputs) != 1000 || edges != 1791 || len(g.layers) != 200 {
				t.Errorf("graph1000: %d steps, %d edges, %d layers; want 1000, 1791, 200", len(g.inputs), edges, len(g.layers))
			}
			if vals[500] != 101 { // hub_050
				t.Errorf("hub_050 = %d, want 101", vals[500])
			}
		}
	}
}

// TestFibChainRust runs the whole driver on the smallest pipeline: one repetition of fib_chain
// with the Rust guest, its values checked, and both baselines.
func TestFibChainRust(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the fib_chain benchmark once")
	}
	guesttest.Path(t, "bench/rust/fib_chain.wasm")
	out := filepath.Join(t.TempDir(), "out.jsonl")
	if err := run(context.Background(), options{reps: 1, out: out, only: "fib_chain", guests: []string{"rust"}, rows: 1_000_000, cacheDir: guesttest.CacheDir(t)}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var guests []string
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if r.Pipeline != "fib_chain" || len(r.Reps) != 1 || r.Median <= 0 || r.Min > r.Median || r.Max < r.Median {
			t.Errorf("bad record %+v", r)
		}
		guests = append(guests, r.Mode)
	}
	if got, want := strings.Join(guests, " "), "wasm native-call process-per-step storage-only"; got != want {
		t.Errorf("records for %s, want %s", got, want)
	}
}

// TestStorageOnlyBaseline runs the storage-only baseline once over the real filesystem IO
// manager (a failed write is an error), and checks it leaves nothing behind.
func TestStorageOnlyBaseline(t *testing.T) {
	work := t.TempDir()
	s, err := graph1000Shape().storageOnly(context.Background(), work, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Times) != 1 || s.Times[0] <= 0 {
		t.Fatalf("times %v", s.Times)
	}
	if left, _ := os.ReadDir(work); len(left) != 0 {
		t.Errorf("%d entries left in the work directory", len(left))
	}
}

// TestSelectionTyposAreErrors: an -only or -guests item that selects nothing is refused by name.
func TestSelectionTyposAreErrors(t *testing.T) {
	ps := pipelines(1000)
	if err := checkSelection(ps, "fib_chain,orders", []string{"go", "rust"}); err != nil {
		t.Fatal(err)
	}
	if err := checkSelection(ps, "fib_chain,orderz", []string{"go"}); err == nil || !strings.Contains(err.Error(), `"orderz" matches no pipeline`) {
		t.Errorf("-only typo: %v", err)
	}
	if err := checkSelection(ps, "", []string{"go", "pyhton"}); err == nil || !strings.Contains(err.Error(), `no pipeline has a "pyhton" guest`) {
		t.Errorf("-guests typo: %v", err)
	}
}
