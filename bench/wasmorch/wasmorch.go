package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/wasmorch/wasmorch/host"
)

// bench holds what every measurement shares.
type bench struct {
	root, work string
	storage    string // where instance homes are made
	reps       int
	cacheDir   string
	out        *json.Encoder
	nativeStep string
}

// wasmStats are the repetitions of one pipeline with one guest language.
type wasmStats struct {
	total, load, materialize, open Stats
}

func (b *bench) emit(r Record) {
	if err := b.out.Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, "wasmorch-bench: writing a record:", err)
	}
}

// wasmorch times one pipeline with one guest: a warm-up repetition (which fills the
// compilation cache and is not counted), then b.reps timed ones, each over empty storage.
func (b *bench) wasmorch(ctx context.Context, p pipeline, guest, rel string) (wasmStats, error) {
	var s wasmStats
	wasm, err := guestPath(ctx, b.root, rel)
	if err != nil {
		return s, err
	}
	wsFile := filepath.Join(b.work, p.name+"-"+guest+".yaml")
	ws := fmt.Sprintf("# %s, %s guest (bench/README.md)\nmodules:\n  - name: %s\n    path: %s\n", p.name, guest, p.name, wasm)
	if err := os.WriteFile(wsFile, []byte(ws), 0o644); err != nil {
		return s, err
	}
	for rep := -1; rep < b.reps; rep++ {
		open, load, mat, err := b.once(ctx, p, wsFile)
		if err != nil {
			return s, fmt.Errorf("repetition %d: %w", rep+1, err)
		}
		if rep < 0 {
			continue
		}
		s.open.Times = append(s.open.Times, open)
		s.load.Times = append(s.load.Times, load)
		s.materialize.Times = append(s.materialize.Times, mat)
		s.total.Times = append(s.total.Times, load+mat)
	}
	r := s.total.record(p.name, "wasm", guest, p.steps)
	r.Load = s.load.Median().Seconds()
	r.Materialize = s.materialize.Median().Seconds()
	r.Open = s.open.Median().Seconds()
	r.Note = fmt.Sprintf("LoadWorkspace (compilation cache warm) + Materialize of every asset, fs IO manager, concurrency %d", runtime.NumCPU())
	b.emit(r)
	return s, nil
}

// once is one repetition: an instance over empty storage (not timed), then the timed load and
// materialization, then the value checks (not timed).
func (b *bench) once(ctx context.Context, p pipeline, wsFile string) (open, load, mat time.Duration, err error) {
	home, err := os.MkdirTemp(b.storage, "home-")
	if err != nil {
		return 0, 0, 0, err
	}
	defer os.RemoveAll(home)
	runtime.GC() // do not bill one repetition for the previous one's garbage

	t0 := time.Now()
	inst, err := host.Open(ctx, home, host.WithCompilationCacheDir(b.cacheDir))
	if err != nil {
		return 0, 0, 0, err
	}
	defer inst.Close()
	t1 := time.Now()
	ws, err := inst.LoadWorkspace(ctx, wsFile)
	if err != nil {
		return 0, 0, 0, err
	}
	t2 := time.Now()
	var opts []host.MaterializeOption
	if p.config != nil {
		opts = append(opts, host.WithRunConfig(p.config))
	}
	res, err := inst.Materialize(ctx, ws, "*", opts...)
	t3 := time.Now()
	if err != nil {
		return 0, 0, 0, err
	}
	if !res.Success() {
		return 0, 0, 0, res.Err()
	}
	if err := p.check(ctx, inst, res); err != nil {
		return 0, 0, 0, fmt.Errorf("wrong values: %w", err)
	}
	return t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), nil
}

// signalContext is cancelled on SIGINT or SIGTERM, so a long run stops cleanly.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
