package host_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// TestPolyglotMatchesGo materializes the orders pipeline written in three languages (raw_orders
// in Go, cleaned_orders in Rust, revenue_by_region in C) and the all-Go pipeline, and checks that
// every stored table is the same, value for value.
func TestPolyglotMatchesGo(t *testing.T) {
	root := guesttest.Root(t)
	ctx := context.Background()
	guesttest.Path(t, "polyglot/go/raw_orders.wasm") // builds every guest
	poly := openInstance(t)
	polyWS := loadWorkspace(t, poly, filepath.Join(root, "testdata", "polyglot", "wasmorch.yaml"))
	if err := materialize(t, poly, polyWS, "*").Err(); err != nil {
		t.Fatal(err)
	}
	goInst := openInstance(t)
	goWS := loadWorkspace(t, goInst, ordersWorkspace(t))
	if err := materialize(t, goInst, goWS, "*").Err(); err != nil {
		t.Fatal(err)
	}
	modules := map[string]string{}
	for _, a := range polyWS.Assets() {
		modules[a.Key] = a.Module
	}
	if modules["raw_orders"] != "go_raw_orders" || modules["cleaned_orders"] != "rust_cleaned_orders" || modules["revenue_by_region"] != "c_revenue_by_region" {
		t.Fatalf("assets come from the wrong modules: %v", modules)
	}
	for _, key := range []string{"raw_orders", "cleaned_orders", "revenue_by_region"} {
		want, err := goInst.AssetValue(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := poly.AssetValue(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Table.Schema().Equal(want.Table.Schema()) {
			t.Errorf("%s schema:\n polyglot %s\n all-Go   %s", key, got.Table.Schema(), want.Table.Schema())
		} else if !array.TableEqual(got.Table, want.Table) {
			t.Errorf("%s differs between the polyglot and the all-Go pipeline", key)
		}
		got.Release()
		want.Release()
	}
}
