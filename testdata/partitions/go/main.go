// Command go_parts is the Go fixture of partitioned assets (issue 7): a static asset and a daily
// asset that reads every partition of it. Each writes one row per upstream batch with its own
// partition key, its window's start and the batch's partition key, so a test can see what the
// host handed the step.
//
// Build (the Makefile does this):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o go_parts.wasm .
package main

import (
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	wasmorch "github.com/wasmorch/wasmorch/sdk-go"
)

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.String},
	{Name: "window_start", Type: arrow.BinaryTypes.String},
	{Name: "upstream_key", Type: arrow.BinaryTypes.String},
}, nil)

func init() {
	wasmorch.Asset("go_regions", regions,
		wasmorch.Partitioned(wasmorch.StaticPartitions("us", "eu", "apac")),
		wasmorch.Schema(schema))
	wasmorch.Asset("go_daily", daily,
		wasmorch.Partitioned(wasmorch.Daily("2026-01-01", wasmorch.End("2026-02-01"))),
		wasmorch.InMapped("regions", "go_regions", wasmorch.AllMapping()),
		wasmorch.Schema(schema))
}

// regions has no inputs: one row whose upstream_key is "".
func regions(ctx *wasmorch.Context) (arrow.Record, error) {
	return rows(ctx, []string{""}), nil
}

// daily writes a row for each batch of its input, naming the go_regions partition it came from.
func daily(ctx *wasmorch.Context, in *wasmorch.PartitionReader) (arrow.Record, error) {
	var upstream []string
	for in.Next() {
		upstream = append(upstream, in.PartitionKey())
	}
	if err := in.Err(); err != nil {
		return nil, err
	}
	return rows(ctx, upstream), nil
}

// rows builds the output: the step's key and window start on every row, one row per upstream key.
func rows(ctx *wasmorch.Context, upstream []string) arrow.Record {
	start := ""
	if s, _, ok := ctx.PartitionWindow(); ok {
		start = s.Format(time.RFC3339)
	}
	b := array.NewRecordBuilder(ctx.Allocator(), schema)
	defer b.Release()
	for _, u := range upstream {
		b.Field(0).(*array.StringBuilder).Append(ctx.PartitionKey())
		b.Field(1).(*array.StringBuilder).Append(start)
		b.Field(2).(*array.StringBuilder).Append(u)
	}
	return b.NewRecord()
}

func main() {}
