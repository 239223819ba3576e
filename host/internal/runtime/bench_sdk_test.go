package runtime

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/host/iomanager"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// loadSDKModules loads every SDK's conformance module that exists, for the per-language
// benchmarks.
func loadSDKModules(b *testing.B, memoryLimit uint64) map[string]*Module {
	return loadSDKModulesWith(b, Config{MemoryLimitBytes: memoryLimit})
}

// loadSDKModulesWith is loadSDKModules with a runtime configured as cfg (and the test cache).
func loadSDKModulesWith(b *testing.B, cfg Config) map[string]*Module {
	ctx := context.Background()
	cfg.CacheDir = guesttest.CacheDir(b)
	rt, err := New(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close(ctx) })
	root := guesttest.Root(b)
	mods := map[string]*Module{}
	for _, sdk := range sdks {
		if _, err := os.Stat(filepath.Join(root, "testdata", filepath.Dir(sdk.module))); err != nil {
			continue
		}
		m, err := rt.LoadFile(ctx, sdk.name, guesttest.Path(b, sdk.module))
		if err != nil {
			b.Fatal(err)
		}
		mods[sdk.name] = m
	}
	return mods
}

// BenchmarkStepOverhead runs the conformance `partition` asset (read the invocation, write a few
// bytes) in a fresh instance per step, for each SDK: the per-step overhead of each language.
//
//	go test -run '^$' -bench StepOverhead -benchtime 2s -count 5 ./host/internal/runtime/
//
// The "-go-heap" cases run the same steps with guest memory in the Go heap and data segments
// copied into each instance (Config.goHeapMemory), as before issue 6's profile-guided pass: the
// before and after of that change, measured in the same run.
func BenchmarkStepOverhead(b *testing.B) {
	mods := loadSDKModules(b, 0)
	heapMods := loadSDKModulesWith(b, Config{goHeapMemory: true})
	for _, sdk := range sdks {
		for _, c := range []struct {
			suffix string
			m      *Module
		}{{"", mods[sdk.name]}, {"-go-heap", heapMods[sdk.name]}} {
			if c.m == nil {
				continue
			}
			m := c.m
			b.Run(sdk.name+c.suffix, func(b *testing.B) {
				step := partitionStep()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := m.Run(context.Background(), step); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

const passThroughBatches = 1024 // of 1 MiB each: 1 GiB of int64 column data

var passSchema = arrow.NewSchema([]arrow.Field{{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)

// passReader serves the same prebuilt 1 MiB batch passThroughBatches times, so the benchmark
// measures moving data, not generating it.
type passReader struct {
	batch arrow.Record
	n     int
}

func (r *passReader) Retain()               {}
func (r *passReader) Release()              {}
func (r *passReader) Schema() *arrow.Schema { return passSchema }
func (r *passReader) Record() arrow.Record  { return r.batch }
func (r *passReader) Err() error            { return nil }
func (r *passReader) Next() bool            { r.n++; return r.n <= passThroughBatches }

// BenchmarkArrowPassThrough streams 1 GiB of Arrow data through the `echo` asset of each SDK
// (host encodes, guest decodes and re-encodes, host decodes) and, as the baseline in the same
// run, copies the same bytes with Go's copy. The MB/s columns compare directly.
//
//	go test -run '^$' -bench ArrowPassThrough -benchtime 1x -count 3 ./host/internal/runtime/
func BenchmarkArrowPassThrough(b *testing.B) {
	bld := array.NewInt64Builder(memory.DefaultAllocator)
	for i := 0; i < (1<<20)/8; i++ {
		bld.Append(int64(i))
	}
	col := bld.NewArray()
	bld.Release()
	batch := array.NewRecord(passSchema, []arrow.Array{col}, int64(col.Len()))
	col.Release()
	defer batch.Release()
	const total = passThroughBatches << 20

	b.Run("memcpy", func(b *testing.B) {
		src := batch.Column(0).Data().Buffers()[1].Bytes()
		dst := make([]byte, len(src))
		b.SetBytes(total)
		for i := 0; i < b.N; i++ {
			for j := 0; j < passThroughBatches; j++ {
				copy(dst, src)
			}
		}
	})
	mods := loadSDKModules(b, 256<<20)
	for _, sdk := range sdks {
		m := mods[sdk.name]
		if m == nil {
			continue
		}
		b.Run(sdk.name, func(b *testing.B) {
			b.SetBytes(total)
			for i := 0; i < b.N; i++ {
				var rows int64
				step := Step{
					Invocation: Invocation{Kind: "asset", Name: "echo", RunID: "r", StepKey: "echo", Attempt: 1,
						Inputs: []InvocationValue{{Name: "in", Format: "arrow"}}, Outputs: []InvocationValue{{Name: abi.OutputResult, Format: "arrow"}}},
					Inputs: map[string]Input{"in": {Format: abi.FormatArrow, Load: func(context.Context) (iomanager.Value, error) {
						return iomanager.Value{Format: abi.FormatArrow, Records: &passReader{batch: batch}}, nil
					}}},
					Outputs: map[string]Output{abi.OutputResult: {Format: abi.FormatArrow, Store: func(ctx context.Context, v iomanager.Value) (string, error) {
						for v.Records.Next() {
							rows += v.Records.Record().NumRows()
						}
						return "mem://echo", v.Records.Err()
					}}},
				}
				if _, err := m.Run(context.Background(), step); err != nil {
					b.Fatal(err)
				}
				if rows != passThroughBatches*batch.NumRows() {
					b.Fatalf("%d rows came back, want %d", rows, passThroughBatches*batch.NumRows())
				}
			}
		})
	}
}

// BenchmarkFirstStep is the per-step overhead of each SDK when its module is not loaded yet: a new
// runtime loads the conformance module (validate, instrument, compile or read the compiled code
// from the disk cache, read the manifest in a fresh instance) and runs one `partition` step in
// another fresh instance. "cold" starts from an empty compilation cache, so the module is
// compiled; "warm" from a disk cache an earlier runtime filled, which is what a second `wasmorch`
// process sees. Compare with BenchmarkStepOverhead, the step alone once the module is loaded.
//
//	go test -run '^$' -bench FirstStep -benchtime 3x -count 3 ./host/internal/runtime/
func BenchmarkFirstStep(b *testing.B) {
	ctx := context.Background()
	for _, sdk := range sdks {
		path := guesttest.Path(b, sdk.module)
		warm := b.TempDir()
		for _, cache := range []string{"cold", "warm"} {
			b.Run(sdk.name+"/"+cache, func(b *testing.B) {
				if cache == "warm" {
					firstStep(ctx, b, path, warm) // fill the cache
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					dir := warm
					if cache == "cold" {
						b.StopTimer()
						dir = b.TempDir()
						b.StartTimer()
					}
					firstStep(ctx, b, path, dir)
				}
			})
		}
	}
}

// firstStep loads the module at path into a new runtime with the compilation cache cacheDir and
// runs one `partition` step; closing the runtime is outside the clock.
func firstStep(ctx context.Context, b *testing.B, path, cacheDir string) {
	rt, err := New(ctx, Config{CacheDir: cacheDir})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		b.StopTimer()
		rt.Close(ctx)
		b.StartTimer()
	}()
	m, err := rt.LoadFile(ctx, "conformance", path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Run(ctx, partitionStep()); err != nil {
		b.Fatal(err)
	}
}

// partitionStep is a step of the conformance `partition` asset (read the invocation, write a few
// bytes), its output stored by the memory IO manager.
func partitionStep() Step {
	mem := iomanager.NewInMemory()
	return Step{
		Invocation: Invocation{Kind: "asset", Name: "partition", RunID: "r", StepKey: "partition", Attempt: 1, PartitionKey: "p",
			Outputs: []InvocationValue{{Name: abi.OutputResult, Format: "bytes"}}},
		Outputs: map[string]Output{abi.OutputResult: {Format: abi.FormatBytes, Store: func(ctx context.Context, v iomanager.Value) (string, error) {
			return mem.HandleOutput(ctx, iomanager.OutputContext{AssetKey: "partition", RunID: "r", Format: abi.FormatBytes}, v)
		}}},
	}
}
