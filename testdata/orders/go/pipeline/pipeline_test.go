package pipeline

import (
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	wasmorch "github.com/wasmorch/wasmorch/sdk-go"
)

// The expected revenue per region, worked out by hand from orders.csv (see EXPECTED.md). Rows
// 5 and 12 have no Order_ID and rows 7 and 16 no Amount; the other 16 rows count.
var wantRevenue = []regionRevenue{
	{"east", 137.64},  // 7.25 + 31.60 + 88.80 + 9.99
	{"north", 83.55},  // 12.50 + 8.10 + 47.95 + 15.00
	{"south", 201.84}, // 40.00 + 19.99 + 64.35 + 5.05 + 72.45
	{"west", 274.15},  // 100.75 + 23.40 + 150.00
}

const wantTotal = 697.18

type regionRevenue struct {
	Region  string
	Revenue float64
}

// newCtx returns a test context whose allocator fails the test on leaks.
func newCtx(t *testing.T, opts ...wasmorch.TestOption) *wasmorch.Context {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return wasmorch.NewTestContext(append([]wasmorch.TestOption{wasmorch.WithAllocator(mem)}, opts...)...)
}

func TestRawOrders(t *testing.T) {
	ctx := newCtx(t, wasmorch.WithAssetKey("raw_orders"))
	rec, err := RawOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()

	if !rec.Schema().Equal(rawOrdersSchema) {
		t.Errorf("schema = %s", rec.Schema())
	}
	if rec.NumRows() != 20 {
		t.Fatalf("rows = %d, want 20", rec.NumRows())
	}
	ids := rec.Column(0).(*array.Int64)
	amounts := rec.Column(3).(*array.Float64)
	if ids.NullN() != 2 || amounts.NullN() != 2 {
		t.Errorf("nulls: Order_ID %d, Amount %d; want 2 and 2", ids.NullN(), amounts.NullN())
	}
	// Row 5 (index 4) has no Order_ID, row 7 (index 6) no Amount.
	if ids.IsValid(4) || amounts.IsValid(6) {
		t.Errorf("row 5 Order_ID or row 7 Amount is not null")
	}
	first := []any{ids.Value(0), rec.Column(1).(*array.String).Value(0), rec.Column(2).(*array.String).Value(0),
		amounts.Value(0), rec.Column(4).(*array.String).Value(0)}
	if want := []any{int64(1), "Alice", "north", 12.50, "2026-01-02"}; !reflect.DeepEqual(first, want) {
		t.Errorf("first row = %v, want %v", first, want)
	}
	if logs := ctx.Logs(); len(logs) != 1 || logs[0].Message != "read orders rows=20 source=orders.csv" {
		t.Errorf("logs = %q", logs)
	}
}

func TestRawOrdersConfigCSV(t *testing.T) {
	csv := "Order_ID,Customer,Region,Amount,Order_Date\n100,Zoe,east,1.25,2026-02-01\n101,,west,,\n"
	rec, err := RawOrders(newCtx(t, wasmorch.WithConfig(rawOrdersConfig{CSV: csv})))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	if rec.NumRows() != 2 {
		t.Fatalf("rows = %d, want 2", rec.NumRows())
	}
	for _, c := range []int{1, 3, 4} {
		if rec.Column(c).IsValid(1) {
			t.Errorf("column %s of row 2 is not null", rec.Schema().Field(c).Name)
		}
	}
}

func TestRawOrdersErrors(t *testing.T) {
	const header = "Order_ID,Customer,Region,Amount,Order_Date\n"
	tests := []struct {
		name, csv, want string
	}{
		{"wrong number of fields", header + "1,A,north,1.00,d\n2,B,south,12,5,d\n", "config csv: record on line 3: wrong number of fields"},
		{"amount not a number", header + "1,A,north,1.00,d\n2,B,south,twelve,d\n", `config csv line 3, column Amount: "twelve" is not a number`},
		{"order id not an integer", header + "x1,A,north,1.00,d\n", `config csv line 2, column Order_ID: "x1" is not an integer`},
		{"wrong header", "id,customer,region,amount,date\n", `config csv line 1: the header is ["id" "customer" "region" "amount" "date"], want ["Order_ID" "Customer" "Region" "Amount" "Order_Date"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := RawOrders(newCtx(t, wasmorch.WithConfigJSON(mustJSON(t, map[string]string{"csv": tt.csv}))))
			if err == nil {
				rec.Release()
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q, want %q", err, tt.want)
			}
		})
	}
}

// cleanedOrders runs raw_orders then cleaned_orders with ctx; the test releases the result.
func cleanedOrders(t *testing.T, ctx *wasmorch.Context) arrow.Record {
	t.Helper()
	raw, err := RawOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Release()
	rec, err := CleanedOrders(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Release)
	return rec
}

func TestCleanedOrders(t *testing.T) {
	ctx := newCtx(t)
	rec := cleanedOrders(t, ctx)

	var names []string
	for _, f := range rec.Schema().Fields() {
		names = append(names, f.Name)
	}
	if want := []string{"order_id", "customer", "region", "amount", "order_date"}; !reflect.DeepEqual(names, want) {
		t.Errorf("columns = %v, want %v", names, want)
	}
	if rec.NumRows() != 16 {
		t.Fatalf("rows = %d, want 16", rec.NumRows())
	}
	ids := rec.Column(0).(*array.Int64)
	var got []int64
	for i := range ids.Len() {
		got = append(got, ids.Value(i))
	}
	want := []int64{1, 2, 3, 4, 6, 8, 9, 10, 11, 13, 14, 15, 17, 18, 19, 20}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order_id = %v, want %v", got, want)
	}
	if ids.NullN() != 0 || rec.Column(3).NullN() != 0 {
		t.Errorf("nulls left: order_id %d, amount %d", ids.NullN(), rec.Column(3).NullN())
	}
	if c := rec.Column(1).(*array.String); c.Value(4) != "Frank" || c.Value(15) != "Walter" {
		t.Errorf("customers of kept rows are misaligned: %s, %s", c.Value(4), c.Value(15))
	}
}

func TestCleanedOrdersDropsEverything(t *testing.T) {
	csv := "Order_ID,Customer,Region,Amount,Order_Date\n,A,north,1.00,d\n2,B,south,,d\n"
	ctx := newCtx(t, wasmorch.WithConfig(rawOrdersConfig{CSV: csv}))
	rec := cleanedOrders(t, ctx)
	if rec.NumRows() != 0 || rec.NumCols() != 5 {
		t.Errorf("got %d rows and %d columns, want 0 and 5", rec.NumRows(), rec.NumCols())
	}
}

func TestRevenueByRegion(t *testing.T) {
	ctx := newCtx(t, wasmorch.WithAssetKey("revenue_by_region"))
	cleaned := cleanedOrders(t, ctx)

	ctx = newCtx(t, wasmorch.WithAssetKey("revenue_by_region"))
	rec, err := RevenueByRegion(ctx, cleaned)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()

	if !rec.Schema().Equal(revenueSchema) {
		t.Errorf("schema = %s", rec.Schema())
	}
	regions, revenue := rec.Column(0).(*array.String), rec.Column(1).(*array.Float64)
	var got []regionRevenue
	for i := range int(rec.NumRows()) {
		got = append(got, regionRevenue{regions.Value(i), revenue.Value(i)})
	}
	// Exact comparison on purpose: the asset sums in cents, so each total is the float64
	// nearest to its two-decimal value, which is what the literals above parse to.
	if !reflect.DeepEqual(got, wantRevenue) {
		t.Errorf("revenue_by_region = %v, want %v", got, wantRevenue)
	}
	wantSummary := wasmorch.Markdown("**4** regions, **697.18** revenue in all")
	if md, want := ctx.Metadata(), map[string]any{"regions": 4, "total_revenue": wantTotal, "summary": wantSummary}; !reflect.DeepEqual(md, want) {
		t.Errorf("metadata = %v, want %v", md, want)
	}
	logs := ctx.Logs()
	if len(logs) != 1 || logs[0].Level != slog.LevelInfo || logs[0].Message != "revenue by region regions=4 total_revenue=697.18" {
		t.Errorf("logs = %q, want one INFO line", logs)
	}
}

func TestRevenueByRegionNeedsColumns(t *testing.T) {
	s := arrow.NewSchema([]arrow.Field{{Name: "region", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, s)
	defer b.Release()
	rec := b.NewRecord()
	defer rec.Release()
	_, err := RevenueByRegion(wasmorch.NewTestContext(), rec)
	if err == nil || err.Error() != `want exactly one column "amount", got columns ["region"]` {
		t.Errorf("error = %v", err)
	}
}

func TestManifest(t *testing.T) {
	Register() // what the orders guest's init does
	data, err := wasmorch.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Assets []struct {
			Key   string `json:"key"`
			Group string `json:"group"`
			Ins   []struct {
				Name, Asset, Format string
			} `json:"ins"`
			Output struct {
				Format string          `json:"format"`
				Schema json.RawMessage `json:"schema"`
			} `json:"output"`
		} `json:"assets"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, a := range m.Assets {
		keys = append(keys, a.Key)
		if a.Group != "orders" || a.Output.Format != "arrow" {
			t.Errorf("asset %s: group %q, output format %q", a.Key, a.Group, a.Output.Format)
		}
	}
	if want := []string{"raw_orders", "cleaned_orders", "revenue_by_region"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("assets = %v, want %v", keys, want)
	}
	if got := string(m.Assets[2].Output.Schema); got != `{"fields":[{"name":"region","type":"utf8","nullable":false},{"name":"revenue","type":"float64","nullable":false}]}` {
		t.Errorf("revenue_by_region schema = %s", got)
	}
	if in := m.Assets[1].Ins; len(in) != 1 || in[0].Name != "raw_orders" || in[0].Format != "arrow" {
		t.Errorf("cleaned_orders ins = %+v", in)
	}
	if !strings.Contains(string(data), `"config_schema":{"type":"object"`) {
		t.Errorf("raw_orders has no config schema: %s", data)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(js)
}
