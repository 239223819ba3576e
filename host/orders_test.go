package host_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/host/store"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// TestOrdersPipeline materializes the example end to end on the real runtime, store and IO
// manager, and checks the exact stored revenue per region (computed by hand from orders.csv:
// rows with an empty Order_ID or Amount are dropped before summing).
func TestOrdersPipeline(t *testing.T) {
	ctx := context.Background()
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, ordersWorkspace(t))
	res := materialize(t, inst, ws, "*")
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if got := len(eventsOf(res, store.EventMaterialization, "")); got != 3 {
		t.Fatalf("%d materializations, want 3", got)
	}

	v, err := inst.AssetValue(ctx, "revenue_by_region")
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	want := map[string]float64{"east": 137.64, "north": 83.55, "south": 201.84, "west": 274.15}
	got := tableColumns(t, v.Table, "region", "revenue")
	if len(got) != len(want) {
		t.Fatalf("revenue_by_region has %d rows: %v", len(got), got)
	}
	for region, rev := range want {
		if math.Abs(got[region]-rev) > 1e-9 {
			t.Errorf("revenue[%s] = %v, want %v", region, got[region], rev)
		}
	}

	cleaned, err := inst.AssetValue(ctx, "cleaned_orders")
	if err != nil {
		t.Fatal(err)
	}
	defer cleaned.Release()
	if cleaned.Table.NumRows() != 16 {
		t.Errorf("cleaned_orders has %d rows, want 16 (20 minus 4 with a null id or amount)", cleaned.Table.NumRows())
	}
	for _, f := range cleaned.Table.Schema().Fields() {
		for _, c := range f.Name {
			if c >= 'A' && c <= 'Z' {
				t.Errorf("cleaned_orders column %q is not lower-case", f.Name)
			}
		}
	}

	m := v.Materialization
	digest := ws.Modules()["orders"]
	if m.CodeVersion != digest || m.Metadata["module_digest"] != digest {
		t.Errorf("code version %q / metadata %v, want the module digest %s", m.CodeVersion, m.Metadata["module_digest"], digest)
	}
	if m.Metadata["rows"] != float64(4) || m.Metadata["schema"] == nil || m.Metadata["regions"] != float64(4) {
		t.Errorf("metadata %v: want rows=4, a schema, and the guest's regions=4", m.Metadata)
	}
	if s, _ := m.Metadata["summary"].(map[string]any); s["type"] != "markdown" || s["value"] != "**4** regions, **697.18** revenue in all" {
		t.Errorf("typed markdown summary = %v", m.Metadata["summary"])
	}

	// The asset index answers from the store, newest first.
	mats, err := inst.Store().Materializations(ctx, "revenue_by_region", 0)
	if err != nil || len(mats) != 1 || mats[0].RunID != res.RunID {
		t.Fatalf("materializations index: %v, %v", mats, err)
	}
	run, err := inst.Store().Run(ctx, res.RunID)
	if err != nil || run.Status != store.RunSuccess || len(run.StepKeys) != 3 {
		t.Fatalf("stored run: %+v, %v", run, err)
	}

	// A second run of only the last asset reads its input from the first run's stored value.
	res2 := materialize(t, inst, ws, "revenue_by_region")
	if err := res2.Err(); err != nil {
		t.Fatal(err)
	}
	mats, _ = inst.Store().Materializations(ctx, "revenue_by_region", 0)
	if len(mats) != 2 || mats[0].RunID != res2.RunID {
		t.Fatalf("after the second run: %d materializations, newest from %s", len(mats), mats[0].RunID)
	}
}

func tableColumns(t *testing.T, tbl arrow.Table, keyCol, valCol string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	tr := array.NewTableReader(tbl, 1024)
	defer tr.Release()
	for tr.Next() {
		rec := tr.Record()
		ki := rec.Schema().FieldIndices(keyCol)
		vi := rec.Schema().FieldIndices(valCol)
		if len(ki) != 1 || len(vi) != 1 {
			t.Fatalf("schema %s lacks %s or %s", rec.Schema(), keyCol, valCol)
		}
		keys := rec.Column(ki[0]).(*array.String)
		vals := rec.Column(vi[0]).(*array.Float64)
		for i := 0; i < keys.Len(); i++ {
			out[keys.Value(i)] = vals.Value(i)
		}
	}
	return out
}

// TestUpstreamNeverMaterialized: selecting only a downstream asset whose upstream has no stored
// value fails that step with advice, not a crash.
func TestUpstreamNeverMaterialized(t *testing.T) {
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, ordersWorkspace(t))
	res := materialize(t, inst, ws, "cleaned_orders")
	msg := stepError(t, res, "cleaned_orders")
	want := `input "raw_orders": asset "raw_orders" has never been materialized; materialize it first or add it to the selection (e.g. --select '+cleaned_orders')`
	if msg != want {
		t.Errorf("error:\n%s\nwant:\n%s", msg, want)
	}
}

// TestStaleness: after a full materialization everything is fresh; re-materializing an upstream
// makes its downstream stale, and a stale: selection runs exactly the stale assets; a changed
// code version makes an asset stale.
func TestStaleness(t *testing.T) {
	ctx := context.Background()
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, ordersWorkspace(t))
	fresh, err := inst.Staleness(ctx, ws)
	if err != nil || fresh["raw_orders"].Status != "missing" {
		t.Fatalf("before any run: %+v, %v", fresh, err)
	}
	if err := materialize(t, inst, ws, "*").Err(); err != nil {
		t.Fatal(err)
	}
	fresh, _ = inst.Staleness(ctx, ws)
	for k, f := range fresh {
		if f.Status != "fresh" {
			t.Errorf("%s is %s after a full run: %v", k, f.Status, f.Reasons)
		}
	}
	if _, err := inst.Materialize(ctx, ws, "stale:"); !errors.Is(err, host.ErrNothingStale) {
		t.Errorf("stale: with nothing stale: %v", err)
	}

	if err := materialize(t, inst, ws, "raw_orders").Err(); err != nil {
		t.Fatal(err)
	}
	fresh, _ = inst.Staleness(ctx, ws)
	if f := fresh["cleaned_orders"]; f.Status != "stale" || f.Reasons[0] != "upstream raw_orders was materialized after it" {
		t.Errorf("cleaned_orders: %+v", f)
	}
	if f := fresh["revenue_by_region"]; f.Status != "stale" || f.Reasons[0] != "upstream cleaned_orders is stale" {
		t.Errorf("revenue_by_region: %+v", f)
	}
	res := materialize(t, inst, ws, "stale:")
	if len(res.Steps) != 2 || res.Steps["cleaned_orders"].Status != "SUCCESS" || res.Steps["revenue_by_region"].Status != "SUCCESS" {
		t.Errorf("stale: ran %v, want cleaned_orders and revenue_by_region", res.Steps)
	}

	// A new build of the module (another digest) makes every asset of it stale.
	orders, _ := os.ReadFile(guesttest.Path(t, "orders/go/orders.wasm"))
	rebuilt := filepath.Join(t.TempDir(), "orders.wasm")
	os.WriteFile(rebuilt, append(orders, 0, 6, 4, 'n', 'o', 't', 'e', '!'), 0o644) // an extra custom section (wazero refuses an empty payload)
	ws2 := loadWorkspace(t, inst, writeWorkspace(t, map[string]string{"orders": rebuilt}, ""))
	fresh, _ = inst.Staleness(ctx, ws2)
	if f := fresh["raw_orders"]; f.Status != "stale" || !strings.Contains(f.Reasons[0], "code version changed (sha256:") {
		t.Errorf("after a rebuild: %+v", f)
	}
}
