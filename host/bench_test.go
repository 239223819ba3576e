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
	inst, err := host.Open(ctx, b.TempDir(), host.WithCompilationCacheDir(guesttest.CacheDir(b)))
	if err != nil {
		b.Fatal(err)
	}
	defer inst.Close()
	ws, err := inst.LoadWorkspace(ctx, writeWorkspaceB(b, guesttest.Path(b, "guests/go/faults/faults.wasm")))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := inst.Materialize(ctx, ws, "trivial")
		if err != nil || !res.Success() {
			b.Fatal(err, res.Err())
		}
	}
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
			inst, err := host.Open(ctx, b.TempDir(), host.WithCompilationCacheDir(guesttest.CacheDir(b)), host.WithRunLauncher(lc.make()))
			if err != nil {
				b.Fatal(err)
			}
			defer inst.Close()
			ws, err := inst.LoadWorkspace(ctx, writeWorkspaceB(b, guesttest.Path(b, "guests/go/faults/faults.wasm")))
			if err != nil {
				b.Fatal(err)
			}
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
