package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/host/iomanager"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// BenchmarkCompile measures loading the example module (14 MB, Go + arrow-go): cold (empty
// compilation cache: instrument + compile + manifest), warm (a new runtime over a filled disk
// cache, as a second process sees it), and in-process (the same runtime; the digest is a map hit).
//
//	go test -run '^$' -bench Compile -benchtime 3x ./host/internal/runtime/
func BenchmarkCompile(b *testing.B) {
	ctx := context.Background()
	wasm, err := os.ReadFile(guesttest.Path(b, "orders/go/orders.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("cold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			rt, err := New(ctx, Config{CacheDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := rt.Load(ctx, "orders", wasm); err != nil {
				b.Fatal(err)
			}
			rt.Close(ctx)
		}
	})
	b.Run("warm-disk-cache", func(b *testing.B) {
		dir := b.TempDir()
		rt, _ := New(ctx, Config{CacheDir: dir})
		if _, err := rt.Load(ctx, "orders", wasm); err != nil {
			b.Fatal(err)
		}
		rt.Close(ctx)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			rt, err := New(ctx, Config{CacheDir: dir})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := rt.Load(ctx, "orders", wasm); err != nil {
				b.Fatal(err)
			}
			rt.Close(ctx)
		}
	})
	b.Run("same-runtime", func(b *testing.B) {
		rt, _ := New(ctx, Config{CacheDir: guesttest.CacheDir(b)})
		defer rt.Close(ctx)
		if _, err := rt.Load(ctx, "orders", wasm); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := rt.Load(ctx, "orders", wasm); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// trivial is the faults guest's `trivial` asset, compiled natively: the baseline for step overhead.
//
//go:noinline
func trivial() (int, error) { return 1, nil }

// BenchmarkTrivialStep compares one step of the `trivial` Go asset in a fresh wasm instance
// (instantiate, Go runtime start, invocation, output through the ABI into the memory IO manager)
// with a direct native call of the same function plus the same JSON encoding and store.
//
//	go test -run '^$' -bench TrivialStep ./host/internal/runtime/
func BenchmarkTrivialStep(b *testing.B) {
	ctx := context.Background()
	b.Run("native", func(b *testing.B) {
		mem := iomanager.NewInMemory()
		for i := 0; i < b.N; i++ {
			v, err := trivial()
			if err != nil {
				b.Fatal(err)
			}
			data, _ := json.Marshal(v)
			if _, err := mem.HandleOutput(ctx, iomanager.OutputContext{AssetKey: "trivial", RunID: "r", Format: abi.FormatJSON},
				iomanager.Value{Format: abi.FormatJSON, Data: bytes.NewReader(data)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wasm", func(b *testing.B) {
		rt, err := New(ctx, Config{CacheDir: guesttest.CacheDir(b)})
		if err != nil {
			b.Fatal(err)
		}
		defer rt.Close(ctx)
		m, err := rt.LoadFile(ctx, "faults", guesttest.Path(b, "guests/go/faults/faults.wasm"))
		if err != nil {
			b.Fatal(err)
		}
		mem := iomanager.NewInMemory()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := m.Run(ctx, trivialStep(mem, "r")); err != nil {
				b.Fatal(err)
			}
		}
	})
}
