// Package pipeline is Dagster's orders tutorial as wasmorch assets: raw_orders reads a CSV,
// cleaned_orders drops incomplete rows, and revenue_by_region sums the amounts per region.
// The orders guest (../main.go) registers all three; the polyglot example registers only
// raw_orders from here and takes the other two from Rust and C.
//
// The expected values are in ../EXPECTED.md; pipeline_test.go checks them natively.
package pipeline

import (
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	wasmorch "github.com/wasmorch/wasmorch/sdk-go"
)

//go:embed orders.csv
var embeddedCSV string

// csvHeader is the header raw_orders expects, in this order.
var csvHeader = []string{"Order_ID", "Customer", "Region", "Amount", "Order_Date"}

var rawOrdersSchema = arrow.NewSchema([]arrow.Field{
	{Name: "Order_ID", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "Customer", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "Region", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "Amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "Order_Date", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

var revenueSchema = arrow.NewSchema([]arrow.Field{
	{Name: "region", Type: arrow.BinaryTypes.String, Nullable: false},
	{Name: "revenue", Type: arrow.PrimitiveTypes.Float64, Nullable: false},
}, nil)

// Register registers the named assets of the pipeline (all three when none are named).
func Register(keys ...string) {
	want := func(k string) bool { return len(keys) == 0 || slices.Contains(keys, k) }
	if want("raw_orders") {
		wasmorch.Asset("raw_orders", RawOrders,
			wasmorch.Group("orders"),
			wasmorch.Description("Orders as they come from the shop's CSV export."),
			wasmorch.Schema(rawOrdersSchema),
			wasmorch.ConfigSchema(`{"type": "object", "additionalProperties": false, "properties": {
			"csv": {"type": "string", "description": "CSV text to read instead of the embedded orders.csv"}}}`),
		)
	}
	if want("cleaned_orders") {
		wasmorch.Asset("cleaned_orders", CleanedOrders,
			wasmorch.Ins("raw_orders"),
			wasmorch.Group("orders"),
			wasmorch.Description("Orders with a missing order ID or amount dropped, and lower-case column names."),
			wasmorch.Schema(lowerCaseSchema(rawOrdersSchema)),
		)
	}
	if want("revenue_by_region") {
		wasmorch.Asset("revenue_by_region", RevenueByRegion,
			wasmorch.Ins("cleaned_orders"),
			wasmorch.Group("orders"),
			wasmorch.Description("Sum of order amounts per region, sorted by region."),
			wasmorch.Schema(revenueSchema),
		)
	}
}

type rawOrdersConfig struct {
	CSV string `json:"csv"`
}

// RawOrders parses the orders CSV. An empty cell is a null; a cell that should be a number and
// is not fails the asset, naming the line and column.
func RawOrders(ctx *wasmorch.Context) (arrow.Record, error) {
	var cfg rawOrdersConfig
	if err := ctx.Config(&cfg); err != nil {
		return nil, err
	}
	text, source := embeddedCSV, "orders.csv"
	if cfg.CSV != "" {
		text, source = cfg.CSV, "config csv"
	}

	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = len(csvHeader)
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: reading the header: %w", source, err)
	}
	if !slices.Equal(header, csvHeader) {
		return nil, fmt.Errorf("%s line 1: the header is %q, want %q", source, header, csvHeader)
	}

	b := array.NewRecordBuilder(ctx.Allocator(), rawOrdersSchema)
	defer b.Release()
	ids := b.Field(0).(*array.Int64Builder)
	customers := b.Field(1).(*array.StringBuilder)
	regions := b.Field(2).(*array.StringBuilder)
	amounts := b.Field(3).(*array.Float64Builder)
	dates := b.Field(4).(*array.StringBuilder)

	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err) // csv.ParseError names the line
		}
		line, _ := r.FieldPos(0)
		if err := appendInt(ids, row[0]); err != nil {
			return nil, fmt.Errorf("%s line %d, column %s: %w", source, line, csvHeader[0], err)
		}
		appendString(customers, row[1])
		appendString(regions, row[2])
		if err := appendFloat(amounts, row[3]); err != nil {
			return nil, fmt.Errorf("%s line %d, column %s: %w", source, line, csvHeader[3], err)
		}
		appendString(dates, row[4])
	}
	rec := b.NewRecord()
	ctx.Info("read orders", "rows", rec.NumRows(), "source", source)
	return rec, nil
}

func appendString(b *array.StringBuilder, cell string) {
	if cell == "" {
		b.AppendNull()
		return
	}
	b.Append(cell)
}

func appendInt(b *array.Int64Builder, cell string) error {
	cell = strings.TrimSpace(cell)
	if cell == "" {
		b.AppendNull()
		return nil
	}
	v, err := strconv.ParseInt(cell, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not an integer", cell)
	}
	b.Append(v)
	return nil
}

func appendFloat(b *array.Float64Builder, cell string) error {
	cell = strings.TrimSpace(cell)
	if cell == "" {
		b.AppendNull()
		return nil
	}
	v, err := strconv.ParseFloat(cell, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%q is not a number", cell)
	}
	b.Append(v)
	return nil
}

// CleanedOrders drops the rows whose order_id or amount is null and lower-cases every column
// name. It copies whole runs of kept rows, so it works for any column types.
func CleanedOrders(ctx *wasmorch.Context, raw arrow.Record) (arrow.Record, error) {
	schema := lowerCaseSchema(raw.Schema())
	id, err := columnIndex(schema, "order_id")
	if err != nil {
		return nil, err
	}
	amount, err := columnIndex(schema, "amount")
	if err != nil {
		return nil, err
	}

	// Runs [start, end) of consecutive rows to keep.
	var runs [][2]int64
	var kept int64
	for i := range raw.NumRows() {
		if raw.Column(id).IsNull(int(i)) || raw.Column(amount).IsNull(int(i)) {
			continue
		}
		if n := len(runs); n > 0 && runs[n-1][1] == i {
			runs[n-1][1] = i + 1
		} else {
			runs = append(runs, [2]int64{i, i + 1})
		}
		kept++
	}

	cols := make([]arrow.Array, raw.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for c := range cols {
		col, err := keepRuns(ctx, raw.Column(c), runs)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", schema.Field(c).Name, err)
		}
		cols[c] = col
	}
	ctx.Info("cleaned orders", "rows_in", raw.NumRows(), "rows_out", kept)
	return array.NewRecord(schema, cols, kept), nil
}

// keepRuns returns a new array with the rows of the runs of col.
func keepRuns(ctx *wasmorch.Context, col arrow.Array, runs [][2]int64) (arrow.Array, error) {
	if len(runs) == 0 {
		return array.NewSlice(col, 0, 0), nil
	}
	parts := make([]arrow.Array, len(runs))
	for i, r := range runs {
		parts[i] = array.NewSlice(col, r[0], r[1])
	}
	defer func() {
		for _, p := range parts {
			p.Release()
		}
	}()
	return array.Concatenate(parts, ctx.Allocator())
}

// RevenueByRegion sums amount per region, sorted by region. Amounts are summed in whole cents,
// so the totals are exact and equal the decimal values in EXPECTED.md; rows without a region
// count under "unknown".
func RevenueByRegion(ctx *wasmorch.Context, orders arrow.Record) (arrow.Record, error) {
	ri, err := columnIndex(orders.Schema(), "region")
	if err != nil {
		return nil, err
	}
	ai, err := columnIndex(orders.Schema(), "amount")
	if err != nil {
		return nil, err
	}
	regions, ok := orders.Column(ri).(*array.String)
	if !ok {
		return nil, fmt.Errorf("column region has type %s, want utf8", orders.Column(ri).DataType())
	}
	amounts, ok := orders.Column(ai).(*array.Float64)
	if !ok {
		return nil, fmt.Errorf("column amount has type %s, want float64", orders.Column(ai).DataType())
	}

	cents := map[string]int64{}
	var total int64
	for i := range int(orders.NumRows()) {
		if amounts.IsNull(i) {
			continue
		}
		region := "unknown"
		if regions.IsValid(i) {
			region = regions.Value(i)
		}
		c := int64(math.Round(amounts.Value(i) * 100))
		cents[region] += c
		total += c
	}

	keys := make([]string, 0, len(cents))
	for k := range cents {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	b := array.NewRecordBuilder(ctx.Allocator(), revenueSchema)
	defer b.Release()
	for _, k := range keys {
		b.Field(0).(*array.StringBuilder).Append(k)
		b.Field(1).(*array.Float64Builder).Append(float64(cents[k]) / 100)
	}
	totalRevenue := float64(total) / 100
	summary := wasmorch.Markdown(fmt.Sprintf("**%d** regions, **%.2f** revenue in all", len(keys), totalRevenue))
	if err := ctx.AddMetadata(map[string]any{"regions": len(keys), "total_revenue": totalRevenue, "summary": summary}); err != nil {
		return nil, err
	}
	ctx.Info("revenue by region", "regions", len(keys), "total_revenue", totalRevenue)
	return b.NewRecord(), nil
}

// lowerCaseSchema returns s with every field name in lower case.
func lowerCaseSchema(s *arrow.Schema) *arrow.Schema {
	fields := slices.Clone(s.Fields())
	for i := range fields {
		fields[i].Name = strings.ToLower(fields[i].Name)
	}
	md := s.Metadata()
	return arrow.NewSchema(fields, &md)
}

func columnIndex(s *arrow.Schema, name string) (int, error) {
	idx := s.FieldIndices(name)
	if len(idx) != 1 {
		names := make([]string, s.NumFields())
		for i, f := range s.Fields() {
			names[i] = f.Name
		}
		return 0, fmt.Errorf("want exactly one column %q, got columns %q", name, names)
	}
	return idx[0], nil
}
