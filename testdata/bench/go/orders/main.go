// Command orders is the Go guest of the orders benchmark (bench/README.md, c): the orders
// example's cleaned_orders and revenue_by_region (testdata/orders/go/pipeline, unchanged), fed by
// a raw_orders that generates N rows from splitmix64 instead of parsing the embedded CSV.
//
// Build (make guests does this, from testdata/bench/go):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o orders.wasm ./orders
package main

import (
	"fmt"
	"strconv"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	wasmorch "github.com/wasmorch/wasmorch/sdk-go"

	"orders/pipeline"
)

// rawOrdersSchema is the schema of the example's raw_orders (pipeline keeps its own unexported).
var rawOrdersSchema = arrow.NewSchema([]arrow.Field{
	{Name: "Order_ID", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "Customer", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "Region", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "Amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "Order_Date", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

type genConfig struct {
	Rows int64  `json:"rows" default:"1000000" doc:"number of rows to generate"`
	Seed uint64 `json:"seed" default:"42" doc:"splitmix64 seed"`
}

func init() {
	wasmorch.Asset("raw_orders", generate,
		wasmorch.Group("orders"),
		wasmorch.Description("N generated orders (bench/README.md, c)."),
		wasmorch.Schema(rawOrdersSchema),
		wasmorch.ConfigFrom(genConfig{}))
	pipeline.Register("cleaned_orders", "revenue_by_region")
}

var regions = [4]string{"north", "south", "east", "west"}

// Splitmix64 is word i of the splitmix64 sequence seeded with seed.
func Splitmix64(seed, i uint64) uint64 {
	z := seed + (i+1)*0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func generate(ctx *wasmorch.Context) (arrow.Record, error) {
	var cfg genConfig
	if err := ctx.Config(&cfg); err != nil {
		return nil, err
	}
	if cfg.Rows < 0 {
		return nil, fmt.Errorf("rows is %d, want 0 or more", cfg.Rows)
	}
	b := array.NewRecordBuilder(ctx.Allocator(), rawOrdersSchema)
	defer b.Release()
	ids := b.Field(0).(*array.Int64Builder)
	customers := b.Field(1).(*array.StringBuilder)
	regionsB := b.Field(2).(*array.StringBuilder)
	amounts := b.Field(3).(*array.Float64Builder)
	dates := b.Field(4).(*array.StringBuilder)
	n := int(cfg.Rows)
	for _, f := range b.Fields() {
		f.Reserve(n)
	}
	customers.ReserveData(n * 13)
	regionsB.ReserveData(n * 5)
	dates.ReserveData(n * 10)

	buf := make([]byte, 0, 32)
	for i := range uint64(n) {
		h := Splitmix64(cfg.Seed, i)
		if h%50 == 0 {
			ids.AppendNull()
		} else {
			ids.Append(int64(i + 1))
		}
		buf = strconv.AppendUint(append(buf[:0], "customer_"...), (h>>8)%10000, 10)
		customers.BinaryBuilder.Append(buf)
		regionsB.Append(regions[(h>>24)%4])
		if (h>>32)%50 == 0 {
			amounts.AppendNull()
		} else {
			amounts.Append(float64((h>>40)%100000) / 100)
		}
		day := 1 + (h>>56)%28
		buf = append(buf[:0], "2026-01-"...)
		buf = append(buf, byte('0'+day/10), byte('0'+day%10))
		dates.BinaryBuilder.Append(buf)
	}
	rec := b.NewRecord()
	ctx.Info("generated orders", "rows", rec.NumRows(), "seed", cfg.Seed)
	return rec, nil
}

func main() {}
