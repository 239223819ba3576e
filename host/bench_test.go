package host_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// BenchmarkMaterializeTrivial is a whole one-step run of the trivial Go asset: create the run,
// RUN_START (synced), STEP_START, a fresh instance, the output through the ABI and the fs IO
// manager, the materialization and STEP_SUCCESS events, RUN_SUCCESS (synced). Compare with
// BenchmarkTrivialStep in host/internal/runtime, which is the step alone.
//
//	go test -run '^$' -bench MaterializeTrivial ./host/
func BenchmarkMaterializeTrivial(b *testing.B) {
	ctx := context.Background()
	inst, ws := faultsBench(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := inst.Materialize(ctx, ws, "trivial")
		if err != nil || !res.Success() {
			b.Fatal(err, res.Err())
		}
	}
}

// faultsBench opens an instance, closed when b ends, with the faults guest's workspace loaded.
func faultsBench(b *testing.B, opts ...host.Option) (*host.Instance, *host.Workspace) {
	inst, err := host.Open(context.Background(), b.TempDir(), append([]host.Option{host.WithCompilationCacheDir(guesttest.CacheDir(b))}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { inst.Close() })
	ws, err := inst.LoadWorkspace(context.Background(), writeWorkspaceB(b, guesttest.Path(b, "guests/go/faults/faults.wasm")))
	if err != nil {
		b.Fatal(err)
	}
	return inst, ws
}

func writeWorkspaceB(b *testing.B, wasm string) string {
	p := filepath.Join(b.TempDir(), "wasmorch.yaml")
	if err := os.WriteFile(p, []byte("modules:\n  - name: faults\n    path: "+wasm+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkLaunchTrivial is the same one-step run as BenchmarkMaterializeTrivial started with
// Launch and waited for: in-process (a goroutine) and in a run-worker subprocess (a process
// start, the workspace loaded again from the compilation cache, every event over the pipe).
//
//	go test -run '^$' -bench 'MaterializeTrivial|LaunchTrivial' ./host/
func BenchmarkLaunchTrivial(b *testing.B) {
	for _, lc := range launchersUnderTest {
		b.Run(lc.name, func(b *testing.B) {
			ctx := context.Background()
			inst, ws := faultsBench(b, host.WithRunLauncher(lc.make()))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				l, err := inst.Launch(ctx, ws, host.LaunchRequest{Selection: "trivial"})
				if err != nil {
					b.Fatal(err)
				}
				res, err := l.Wait(ctx)
				if err != nil || !res.Success() {
					b.Fatal(err, res.Err())
				}
			}
		})
	}
}
