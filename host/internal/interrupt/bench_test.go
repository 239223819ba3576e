package interrupt

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
)

// benchCases runs plain, instrumented and WithCloseOnContextDone variants of
// a module with wazero's compiler.
func benchCases(b *testing.B, wasm []byte, fn string, arg, want uint64, perOp float64, unit string) {
	cfg := compilerConfig(b)
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		wasm []byte
		cfg  wazero.RuntimeConfig
	}{
		{"plain", wasm, cfg},
		{"instrumented", mustInstrument(b, wasm), cfg},
		{"closeOnContextDone", wasm, cfg.WithCloseOnContextDone(true)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			mod := instantiate(b, newRuntime(b, bc.cfg), bc.wasm, bc.name)
			f := mod.ExportedFunction(fn)
			b.ResetTimer()
			for range b.N {
				got, err := f.Call(ctx, arg)
				if err != nil || got[0] != want {
					b.Fatalf("%s(%d) = %v, %v", fn, arg, got, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/perOp, unit)
		})
	}
}

// BenchmarkLoop measures what the checks cost a tight loop of 10 million
// iterations (152 yields), against the plain module and against the
// WithCloseOnContextDone alternative this package replaces.
func BenchmarkLoop(b *testing.B) {
	const iterations = 10_000_000
	benchCases(b, countWasm(), "count", iterations, iterations, iterations, "ns/iter")
}

// BenchmarkFib measures the entry checks on naive recursion: fib(27) makes
// 317,811 calls (4.8 yields), each a function entry check.
func BenchmarkFib(b *testing.B) {
	const n, calls = 27, 317_811
	benchCases(b, fibWasm(), "fib", n, uint64(fibRef(n)), calls, "ns/call")
}

// BenchmarkFuelLookup measures the part of a yield that finds the calling
// instance's fuel.
func BenchmarkFuelLookup(b *testing.B) {
	mod := instantiate(b, newRuntime(b, compilerConfig(b)), mustInstrument(b, spinWasm()), "m")
	b.ReportAllocs()
	for range b.N {
		if _, err := fuelOf(mod); err != nil {
			b.Fatal(err)
		}
	}
}
