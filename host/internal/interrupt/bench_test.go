package interrupt

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// BenchmarkLoop measures what the checks cost a tight loop of 10 million
// iterations, against the plain module and against the
// WithCloseOnContextDone alternative this package replaces, and against the
// fuel prototype that also returns to Go now and then.
func BenchmarkLoop(b *testing.B) {
	const iterations = 10_000_000
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		wasm []byte
		cfg  wazero.RuntimeConfig
	}{
		{"plain", countWasm(), wazero.NewRuntimeConfig()},
		{"instrumented", mustInstrument(b, countWasm()), wazero.NewRuntimeConfig()},
		{"closeOnContextDone", countWasm(), wazero.NewRuntimeConfig().WithCloseOnContextDone(true)},
		{"fuelPrototype", nil, wazero.NewRuntimeConfig()}, // see gcstall_test.go
	} {
		b.Run(bc.name, func(b *testing.B) {
			var mod api.Module
			if bc.wasm == nil {
				mod = instantiateFuel(b, newRuntime(b, bc.cfg), new(atomic.Bool))
			} else {
				mod = instantiate(b, newRuntime(b, bc.cfg), bc.wasm, bc.name)
			}
			count := mod.ExportedFunction("count")
			b.ResetTimer()
			for range b.N {
				got, err := count.Call(ctx, iterations)
				if err != nil || got[0] != iterations {
					b.Fatalf("count(%d) = %v, %v", iterations, got, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/iterations, "ns/iter")
		})
	}
}
