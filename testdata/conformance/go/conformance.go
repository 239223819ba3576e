// Command conformance implements testdata/conformance/CASES.md with the Go SDK. The host's
// conformance test runs the same cases against every SDK's module and expects identical results.
//
// Build:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o conformance.wasm .
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	wasmorch "github.com/wasmorch/wasmorch/sdk-go"
)

func init() {
	g := wasmorch.Group("conformance")
	wasmorch.Asset("echo", echo, g, wasmorch.In("in", "echo_source"))
	wasmorch.Asset("join", join, g, wasmorch.In("left", "join_left"), wasmorch.In("right", "join_right"))
	wasmorch.Op("split", split, wasmorch.OpInputs("in"), wasmorch.OpOutputs("evens", "odds"))
	wasmorch.Asset("config", config, g)
	wasmorch.Asset("partition", partition, g)
	wasmorch.Asset("logs", logs, g)
	wasmorch.Asset("metadata", metadata, g)
	wasmorch.Asset("error", fail, g)
	wasmorch.Asset("panic", panics, g)

	// Checks, typed config, resources, retries and fan-out.
	wasmorch.Asset("checked", checked, g)
	wasmorch.Check("checked", "is_ok", isOK, wasmorch.Blocking())
	wasmorch.Check("checked", "warns", warns)
	wasmorch.Asset("typed_config", typedConfig, g, wasmorch.ConfigSchema(typedConfigSchema))
	wasmorch.Asset("uses_resource", usesResource, g, wasmorch.Resources("vars"))
	wasmorch.Asset("retries", retries, g,
		wasmorch.Retry(wasmorch.RetryPolicy{MaxRetries: 2, Delay: 500 * time.Millisecond, Backoff: wasmorch.BackoffExponential}))
	wasmorch.Op("fan_out", fanOut, wasmorch.OpOutputs("chunks", "count"), wasmorch.OpDynamicOutputs("chunks"))
	wasmorch.Op("mapped", mapped, wasmorch.OpInputs("n"))
	wasmorch.Graph("conformance_graph",
		wasmorch.Node("fan", "fan_out"),
		wasmorch.Node("double", "mapped", wasmorch.Wire("n", "fan", "chunks")),
		wasmorch.Node("total", "MODULE:sum", wasmorch.Collect("values", "double", "result"), wasmorch.NodeConfig(`{"precision": 2}`)),
		wasmorch.GraphOutput("total", "total", "result"),
	)
	wasmorch.Job("conformance_job", wasmorch.JobGraph("conformance_graph"),
		wasmorch.JobTags(map[string]string{"suite": "conformance"}), wasmorch.JobConfig(`{"ops": {"fan": {"config": {}}}}`))
}

func main() {}

// echo streams its input back batch by batch; the SDK releases the input after writing the
// output, so the reader handed back is retained once more for the output side.
func echo(_ *wasmorch.Context, in array.RecordReader) (array.RecordReader, error) {
	in.Retain()
	return in, nil
}

func join(ctx *wasmorch.Context, left, right arrow.Record) (arrow.Record, error) {
	lid, ok1 := column[*array.Int64](left, "id")
	lname, ok2 := column[*array.String](left, "name")
	rid, ok3 := column[*array.Int64](right, "id")
	ramount, ok4 := column[*array.Float64](right, "amount")
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, errors.New("join: want left(id int64, name utf8) and right(id int64, amount float64)")
	}
	byID := map[int64][]int{}
	for i := 0; i < lid.Len(); i++ {
		if lid.IsValid(i) {
			byID[lid.Value(i)] = append(byID[lid.Value(i)], i)
		}
	}
	type pair struct{ l, r int }
	var pairs []pair
	for r := 0; r < rid.Len(); r++ {
		if rid.IsNull(r) {
			continue
		}
		for _, l := range byID[rid.Value(r)] {
			pairs = append(pairs, pair{l, r})
		}
	}
	sort.SliceStable(pairs, func(a, b int) bool { return rid.Value(pairs[a].r) < rid.Value(pairs[b].r) })
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(ctx.Allocator(), schema)
	defer b.Release()
	for _, p := range pairs {
		b.Field(0).(*array.Int64Builder).Append(rid.Value(p.r))
		if lname.IsNull(p.l) {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(lname.Value(p.l))
		}
		if ramount.IsNull(p.r) {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.Float64Builder).Append(ramount.Value(p.r))
		}
	}
	return b.NewRecord(), nil
}

func column[T arrow.Array](rec arrow.Record, name string) (T, bool) {
	var zero T
	idx := rec.Schema().FieldIndices(name)
	if len(idx) != 1 {
		return zero, false
	}
	c, ok := rec.Column(idx[0]).(T)
	return c, ok
}

func split(ctx *wasmorch.Context, in arrow.Record) (evens, odds arrow.Record, err error) {
	n, ok := column[*array.Int64](in, "n")
	if !ok {
		return nil, nil, errors.New("split: want a column n int64")
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	eb := array.NewInt64Builder(ctx.Allocator())
	ob := array.NewInt64Builder(ctx.Allocator())
	defer eb.Release()
	defer ob.Release()
	for i := 0; i < n.Len(); i++ {
		if n.IsNull(i) {
			continue
		}
		if v := n.Value(i); v%2 == 0 {
			eb.Append(v)
		} else {
			ob.Append(v)
		}
	}
	e, o := eb.NewArray(), ob.NewArray()
	defer e.Release()
	defer o.Release()
	return array.NewRecord(schema, []arrow.Array{e}, int64(e.Len())), array.NewRecord(schema, []arrow.Array{o}, int64(o.Len())), nil
}

func config(ctx *wasmorch.Context) (map[string]any, error) {
	var c struct {
		Name *string `json:"name"`
		N    int64   `json:"n"`
	}
	if err := ctx.Config(&c); err != nil {
		return nil, err
	}
	if c.Name == nil {
		return nil, errors.New("config: the field name is required")
	}
	return map[string]any{"greeting": "hello " + *c.Name, "n_times_2": 2 * c.N}, nil
}

func partition(ctx *wasmorch.Context) ([]byte, error) { return []byte(ctx.PartitionKey()), nil }

func logs(ctx *wasmorch.Context) ([]byte, error) {
	ctx.Debug("conformance debug")
	ctx.Info("conformance info")
	ctx.Warn("conformance warning")
	ctx.Error("conformance error")
	return []byte("ok"), nil
}

func metadata(ctx *wasmorch.Context) ([]byte, error) {
	if err := ctx.AddMetadata(map[string]any{"answer": 42, "label": "conformance"}); err != nil {
		return nil, err
	}
	return []byte("ok"), nil
}

func fail(*wasmorch.Context) ([]byte, error) {
	return nil, fmt.Errorf("conformance: deliberate error")
}

func panics(*wasmorch.Context) ([]byte, error) { panic("conformance: deliberate panic") }

func checked(*wasmorch.Context) ([]byte, error) { return []byte("ok"), nil }

func isOK(_ *wasmorch.Context, value []byte) (wasmorch.CheckResult, error) {
	return wasmorch.CheckResult{
		Passed:   string(value) == "ok",
		Severity: wasmorch.SeverityError,
		Metadata: map[string]any{"length": len(value)},
	}, nil
}

// warns reads nothing: a check function without a value parameter does not load the asset.
func warns(*wasmorch.Context) (wasmorch.CheckResult, error) {
	return wasmorch.CheckResult{Passed: false, Severity: wasmorch.SeverityWarn}, nil
}

// typedConfigSchema is declared as text, not with ConfigFrom, because CASES.md fixes the schema
// exactly (ConfigFrom would add "additionalProperties": false).
const typedConfigSchema = `{"type":"object","properties":{"limit":{"type":"integer","default":10},"label":{"type":"string"}},"required":["label"]}`

func typedConfig(ctx *wasmorch.Context) (map[string]any, error) {
	var c struct {
		Limit int64  `json:"limit"`
		Label string `json:"label"`
	}
	if err := ctx.Config(&c); err != nil {
		return nil, err
	}
	return map[string]any{"limit": c.Limit, "label": c.Label}, nil
}

func usesResource(ctx *wasmorch.Context) ([]byte, error) {
	resp, err := ctx.Resource("vars", map[string]string{"op": "get", "name": "CONFORMANCE_VAR"})
	if err != nil {
		return nil, err // carries the host's message
	}
	var r struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(resp, &r); err != nil {
		return nil, fmt.Errorf("uses_resource: decoding %s: %w", resp, err)
	}
	return []byte(r.Value), nil
}

func retries(ctx *wasmorch.Context) ([]byte, error) {
	if ctx.Attempt() < 3 {
		return nil, wasmorch.RetryLater(errors.New("conformance: try again"))
	}
	return []byte(fmt.Sprintf("attempt %d", ctx.Attempt())), nil
}

func fanOut(*wasmorch.Context) (chunks map[string]int64, count int64, err error) {
	return map[string]int64{"a": 1, "b": 2, "c": 3}, 3, nil
}

func mapped(ctx *wasmorch.Context, n int64) (map[string]any, error) {
	return map[string]any{"key": ctx.MappingKey(), "n2": 2 * n}, nil
}
