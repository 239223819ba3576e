package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/bench/wasmorch/steps"
	"github.com/wasmorch/wasmorch/host/iomanager"
)

// graphShape is a pipeline's steps as native code: each step is Fib of its one input (or of 0)
// or Max of its inputs, and layers lists the steps that may run at once, in order.
type graphShape struct {
	fib    bool
	inputs [][]int // inputs[i] are the steps step i reads
	layers [][]int
}

func fibChainShape() *graphShape {
	g := &graphShape{fib: true}
	for i := range 40 {
		if i == 0 {
			g.inputs = append(g.inputs, nil)
		} else {
			g.inputs = append(g.inputs, []int{i - 1})
		}
		g.layers = append(g.layers, []int{i})
	}
	return g
}

// graph1000Shape numbers stage k's hub 10k and its leaves 10k+1 … 10k+9.
func graph1000Shape() *graphShape {
	g := &graphShape{inputs: make([][]int, 1000)}
	for k := range 100 {
		hub := 10 * k
		if k > 0 {
			for j := range 9 {
				g.inputs[hub] = append(g.inputs[hub], 10*(k-1)+1+j)
			}
		}
		leaves := make([]int, 9)
		for j := range 9 {
			leaves[j] = hub + 1 + j
			g.inputs[hub+1+j] = []int{hub}
		}
		g.layers = append(g.layers, []int{hub}, leaves)
	}
	return g
}

// last is the value every pipeline's final step must have: fib_39 and every leaf_099_J.
const (
	fibLast   = 2200
	graphLast = 200
)

func (g *graphShape) want() int64 {
	if g.fib {
		return fibLast
	}
	return graphLast
}

// callAll runs every step as a Go function call, in order, into vals.
func (g *graphShape) callAll(vals []int64, buf []int64) {
	for _, layer := range g.layers {
		for _, i := range layer {
			if g.fib {
				var up int64
				if len(g.inputs[i]) == 1 {
					up = vals[g.inputs[i][0]]
				}
				vals[i] = steps.Fib(up)
				continue
			}
			buf = buf[:0]
			for _, in := range g.inputs[i] {
				buf = append(buf, vals[in])
			}
			vals[i] = steps.Max(buf)
		}
	}
}

// nativeCall times the pipeline as Go function calls. One run takes nanoseconds to
// microseconds, so each repetition runs it for at least 200 ms and reports the time of one.
func (g *graphShape) nativeCall(reps int) (Stats, error) {
	vals := make([]int64, len(g.inputs))
	buf := make([]int64, 0, 16)
	var s Stats
	for range reps {
		n := 0
		start := time.Now()
		for time.Since(start) < 200*time.Millisecond {
			for range 100 {
				g.callAll(vals, buf)
			}
			n += 100
		}
		s.Times = append(s.Times, time.Since(start)/time.Duration(n))
		if got := vals[len(vals)-1]; got != g.want() {
			return s, fmt.Errorf("native call: the last step is %d, want %d", got, g.want())
		}
	}
	return s, nil
}

// storageOnly times only what the filesystem IO manager does for each step's output (create
// the asset's directory, write a temporary file, fsync, rename, fsync the directory), with the
// real iomanager.FileSystem over a fresh directory beside wasmorch's, the steps of a layer at
// once as in processPerStep: the floor a durable per-run file layout puts under each step on
// this machine's disk, before any step runs.
func (g *graphShape) storageOnly(ctx context.Context, work string, reps int) (Stats, error) {
	var s Stats
	for rep := range reps {
		dir, err := os.MkdirTemp(work, "storage-")
		if err != nil {
			return s, err
		}
		fs, err := iomanager.NewFileSystem(dir)
		if err != nil {
			return s, err
		}
		runID := fmt.Sprintf("run%d", rep)
		start := time.Now()
		err = g.runLayers(func(i int) error {
			out := iomanager.OutputContext{AssetKey: fmt.Sprintf("step_%04d", i), RunID: runID, OutputName: "result", Format: abi.FormatJSON}
			_, err := fs.HandleOutput(ctx, out, iomanager.Value{Format: abi.FormatJSON, Data: strings.NewReader("2200\n")})
			return err
		})
		s.Times = append(s.Times, time.Since(start))
		os.RemoveAll(dir)
		if err != nil {
			return s, err
		}
	}
	return s, nil
}

// processPerStep times the pipeline as one process per step: each step runs the nativestep
// program with its inputs as arguments and reads the result from its stdout. The steps of a
// layer run at once, at most one per CPU, like wasmorch's default concurrency.
func (g *graphShape) processPerStep(ctx context.Context, bin string, reps int) (Stats, error) {
	var s Stats
	vals := make([]int64, len(g.inputs))
	for range reps {
		start := time.Now()
		err := g.runLayers(func(i int) (err error) {
			vals[i], err = g.exec(ctx, bin, i, vals)
			return err
		})
		if err != nil {
			return s, err
		}
		s.Times = append(s.Times, time.Since(start))
		if got := vals[len(vals)-1]; got != g.want() {
			return s, fmt.Errorf("process per step: the last step is %d, want %d", got, g.want())
		}
	}
	return s, nil
}

// runLayers calls step for every step, layer after layer, the steps of a layer at once, at most
// one per CPU. It returns the first error of the first layer that had one.
func (g *graphShape) runLayers(step func(i int) error) error {
	workers := runtime.NumCPU()
	for _, layer := range g.layers {
		var wg sync.WaitGroup
		errs := make([]error, len(layer))
		sem := make(chan struct{}, workers)
		for li, i := range layer {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				errs[li] = step(i)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (g *graphShape) exec(ctx context.Context, bin string, i int, vals []int64) (int64, error) {
	args := []string{"max"}
	if g.fib {
		args = []string{"fib", "0"}
		if len(g.inputs[i]) == 1 {
			args[1] = strconv.FormatInt(vals[g.inputs[i][0]], 10)
		}
	} else {
		for _, in := range g.inputs[i] {
			args = append(args, strconv.FormatInt(vals[in], 10))
		}
	}
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	if err != nil {
		return 0, fmt.Errorf("step %d: %s %v: %w", i, bin, args, err)
	}
	return strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
}

// buildNativeStep builds the nativestep program into the work directory.
func (b *bench) buildNativeStep(ctx context.Context) (string, error) {
	if b.nativeStep != "" {
		return b.nativeStep, nil
	}
	bin := filepath.Join(b.work, "nativestep")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./bench/wasmorch/nativestep")
	cmd.Dir = b.root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building nativestep: %w\n%s", err, out)
	}
	b.nativeStep = bin
	return bin, nil
}

// baselines runs both baselines of a pipeline and writes them with their ratios to wasmorch.
func (b *bench) baselines(ctx context.Context, p pipeline, wasm map[string]wasmStats) error {
	bin, err := b.buildNativeStep(ctx)
	if err != nil {
		return err
	}
	call, err := p.baselines.nativeCall(b.reps)
	if err != nil {
		return err
	}
	b.emitBaseline(p, "native-call", call, wasm, "the steps as Go function calls, in one process")
	fork, err := p.baselines.processPerStep(ctx, bin, b.reps)
	if err != nil {
		return err
	}
	b.emitBaseline(p, "process-per-step", fork, wasm,
		fmt.Sprintf("one fork/exec of a native Go program per step, up to %d at once", runtime.NumCPU()))
	files, err := p.baselines.storageOnly(ctx, b.storage, b.reps)
	if err != nil {
		return err
	}
	b.emitBaseline(p, "storage-only", files, wasm,
		fmt.Sprintf("only the filesystem IO manager's write of each step's output, up to %d at once", runtime.NumCPU()))
	return nil
}

func (b *bench) emitBaseline(p pipeline, name string, s Stats, wasm map[string]wasmStats, note string) {
	r := s.record(p.name, name, "native", p.steps)
	r.Note = note
	r.WasmorchOver = map[string]float64{}
	r.MaterializeOver = map[string]float64{}
	for g, w := range wasm {
		r.WasmorchOver[g] = w.total.Median().Seconds() / r.Median
		r.MaterializeOver[g] = w.materialize.Median().Seconds() / r.Median
	}
	b.emit(r)
}
