// Command ops is a guest of ops, graphs and jobs for the host's graph tests: a fan-out, mapped
// ops, collects of JSON and Arrow values, an optional output, a nested graph and a job.
package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	wasmorch "github.com/wasmorch/wasmorch/sdk-go"
)

func main() {}

type numbersConfig struct {
	N int `json:"n" default:"3"`
}

type gateConfig struct {
	// WaitKey's step waits until file WaitFor exists under the scratch resource.
	WaitKey string `json:"wait_key" default:""`
	WaitFor string `json:"wait_for" default:""`
	// FailKey's step fails.
	FailKey string `json:"fail_key" default:""`
}

func init() {
	wasmorch.Op("numbers", func(ctx *wasmorch.Context) ([]int, error) {
		var c numbersConfig
		if err := ctx.Config(&c); err != nil {
			return nil, err
		}
		out := []int{}
		for i := 1; i <= c.N; i++ {
			out = append(out, i)
		}
		return out, nil
	}, wasmorch.OpConfigFrom(numbersConfig{}))

	// split fans out: one value per number, keyed n1, n2, ...
	wasmorch.Op("split", func(ctx *wasmorch.Context, ns []int) (map[string]int, int, error) {
		chunks := map[string]int{}
		for _, n := range ns {
			chunks[fmt.Sprintf("n%d", n)] = n
		}
		return chunks, len(ns), nil
	}, wasmorch.OpInputs("ns"), wasmorch.OpOutputs("chunks", "count"), wasmorch.OpDynamicOutputs("chunks"))

	wasmorch.Op("gate", func(ctx *wasmorch.Context, x int) (int, error) {
		var c gateConfig
		if err := ctx.Config(&c); err != nil {
			return 0, err
		}
		if ctx.MappingKey() == c.FailKey {
			return 0, fmt.Errorf("gate: deliberate failure for %s", c.FailKey)
		}
		if ctx.MappingKey() == c.WaitKey {
			for {
				resp, err := ctx.Resource("scratch", map[string]any{"op": "stat", "path": c.WaitFor})
				if err == nil && strings.Contains(string(resp), `"size"`) {
					break
				}
			}
		}
		return x, nil
	}, wasmorch.OpInputs("x"), wasmorch.OpConfigFrom(gateConfig{}), wasmorch.OpResources("scratch"))

	wasmorch.Op("mark", func(ctx *wasmorch.Context, x int) (int, error) {
		_, err := ctx.Resource("scratch", map[string]any{"op": "write", "path": "marked_" + ctx.MappingKey(),
			"data_base64": base64.StdEncoding.EncodeToString([]byte("ok"))})
		return x * x, err
	}, wasmorch.OpInputs("x"), wasmorch.OpResources("scratch"))

	wasmorch.Op("square", func(ctx *wasmorch.Context, x int) (int, error) {
		return x * x, nil
	}, wasmorch.OpInputs("x"))

	wasmorch.Op("total", func(ctx *wasmorch.Context, values []int) (map[string]int, error) {
		sum := 0
		for _, v := range values {
			sum += v
		}
		return map[string]int{"sum": sum, "count": len(values)}, nil
	}, wasmorch.OpInputs("values"))

	// as_table turns a mapped value into a one-row Arrow table (n, key).
	wasmorch.Op("as_table", func(ctx *wasmorch.Context, x int) (arrow.Record, error) {
		schema := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, {Name: "key", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		defer b.Release()
		b.Field(0).(*array.Int64Builder).Append(int64(x))
		b.Field(1).(*array.StringBuilder).Append(ctx.MappingKey())
		return b.NewRecord(), nil
	}, wasmorch.OpInputs("x"))

	// table_sum reads the collected Arrow table.
	wasmorch.Op("table_sum", func(ctx *wasmorch.Context, rec arrow.Record) (map[string]any, error) {
		ns := rec.Column(0).(*array.Int64)
		keys := rec.Column(1).(*array.String)
		sum, order := int64(0), []string{}
		for i := 0; i < ns.Len(); i++ {
			sum += ns.Value(i)
			order = append(order, keys.Value(i))
		}
		return map[string]any{"rows": rec.NumRows(), "sum": sum, "keys": order}, nil
	}, wasmorch.OpInputs("table"))

	// maybe writes its optional output "extra" only when config says so.
	wasmorch.Op("maybe", func(ctx *wasmorch.Context) (int, *int, error) {
		var c struct {
			Extra bool `json:"extra"`
		}
		if err := ctx.Config(&c); err != nil {
			return 0, nil, err
		}
		if c.Extra {
			v := 7
			return 1, &v, nil
		}
		return 1, nil, nil
	}, wasmorch.OpOutputs("result", "extra"), wasmorch.OpOptionalOutputs("extra"), wasmorch.OpConfigSchema(`{"type":"object","properties":{"extra":{"type":"boolean","default":false}}}`))

	wasmorch.Op("text", func(ctx *wasmorch.Context) ([]byte, error) { return []byte("hello"), nil },
		wasmorch.OpOutputs("result"))

	wasmorch.Op("flaky_op", func(ctx *wasmorch.Context) (int, error) {
		if ctx.Attempt() < 2 {
			return 0, wasmorch.RetryLater(errors.New("not yet"))
		}
		return ctx.Attempt(), nil
	}, wasmorch.OpRetry(wasmorch.RetryPolicy{MaxRetries: 2}))

	wasmorch.Op("describe", func(ctx *wasmorch.Context, v json.RawMessage) (string, error) {
		return "got " + string(v), nil
	}, wasmorch.OpInputs("v"))

	// counter increments the number stored under "count" in the kv resource "state".
	wasmorch.Op("counter", func(ctx *wasmorch.Context) (int, error) {
		resp, err := ctx.Resource("state", map[string]any{"op": "get", "key": "count"})
		if err != nil {
			return 0, err
		}
		var got struct {
			Value []byte `json:"value_base64"`
			Found bool   `json:"found"`
		}
		if err := json.Unmarshal(resp, &got); err != nil {
			return 0, err
		}
		n := 0
		if got.Found {
			fmt.Sscan(string(got.Value), &n)
		}
		n++
		_, err = ctx.Resource("state", map[string]any{"op": "put", "key": "count", "value_base64": base64.StdEncoding.EncodeToString([]byte(fmt.Sprint(n)))})
		return n, err
	}, wasmorch.OpResources("state"))
	wasmorch.Graph("count", wasmorch.Node("counter", "counter"))
	wasmorch.Job("count_job", wasmorch.JobGraph("count"))

	// fetch GETs config url through the http resource "api" and returns the body's text.
	wasmorch.Op("fetch", func(ctx *wasmorch.Context) (string, error) {
		var c struct {
			URL string `json:"url"`
		}
		if err := ctx.Config(&c); err != nil {
			return "", err
		}
		resp, err := ctx.Resource("api", map[string]any{"method": "GET", "url": c.URL})
		if err != nil {
			return "", err
		}
		var got struct {
			Status int    `json:"status"`
			Body   []byte `json:"body_base64"`
		}
		if err := json.Unmarshal(resp, &got); err != nil {
			return "", err
		}
		return fmt.Sprintf("%d %s", got.Status, got.Body), nil
	}, wasmorch.OpResources("api"), wasmorch.OpConfigSchema(`{"type":"object","properties":{"url":{"type":"string"}},"required":["url"]}`))
	wasmorch.Graph("fetching", wasmorch.Node("fetch", "fetch"))
	wasmorch.Job("fetch_job", wasmorch.JobGraph("fetching"))

	// An asset with a check that calls a resource: it passes when scratch holds check_ok.
	wasmorch.Asset("tally", func(ctx *wasmorch.Context) (int, error) { return 1, nil })
	wasmorch.Check("tally", "scratch_has_marker", func(ctx *wasmorch.Context, v int) (wasmorch.CheckResult, error) {
		_, err := ctx.Resource("scratch", map[string]any{"op": "stat", "path": "check_ok"})
		return wasmorch.CheckResult{Passed: err == nil, Severity: wasmorch.SeverityError}, nil
	}, wasmorch.CheckResources("scratch"))

	// square_all is a nested graph: each value squared, then collected.
	wasmorch.Graph("square_all",
		wasmorch.GraphInputs("ns"),
		wasmorch.Node("split", "split", wasmorch.FromGraphInput("ns", "ns")),
		wasmorch.Node("square", "square", wasmorch.Wire("x", "split", "chunks")),
		wasmorch.Node("total", "total", wasmorch.Collect("values", "square", "result")),
		wasmorch.GraphOutput("total", "total", "result"),
	)
	wasmorch.Graph("fan",
		wasmorch.Node("numbers", "numbers"),
		wasmorch.Node("split", "split", wasmorch.Wire("ns", "numbers", "result")),
		wasmorch.Node("gate", "gate", wasmorch.Wire("x", "split", "chunks")),
		wasmorch.Node("mark", "mark", wasmorch.Wire("x", "gate", "result")),
		wasmorch.Node("total", "total", wasmorch.Collect("values", "mark", "result")),
		wasmorch.Node("as_table", "as_table", wasmorch.Wire("x", "split", "chunks")),
		wasmorch.Node("table_sum", "table_sum", wasmorch.Collect("table", "as_table", "result")),
	)
	wasmorch.Graph("nested",
		wasmorch.Node("numbers", "numbers", wasmorch.NodeConfig(`{"n": 4}`)),
		wasmorch.Node("inner", "square_all", wasmorch.Wire("ns", "numbers", "result")),
		wasmorch.Node("describe", "describe", wasmorch.Wire("v", "inner", "total")),
	)
	wasmorch.Graph("optional",
		wasmorch.Node("maybe", "maybe"),
		wasmorch.Node("square_extra", "square", wasmorch.Wire("x", "maybe", "extra")),
		wasmorch.Node("square_result", "square", wasmorch.Wire("x", "maybe", "result")),
	)
	wasmorch.Graph("from_input",
		wasmorch.GraphInputs("n"),
		wasmorch.Node("square", "square", wasmorch.FromGraphInput("x", "n")),
		wasmorch.Node("retry", "flaky_op"),
	)
	wasmorch.Job("fan_job", wasmorch.JobGraph("fan"), wasmorch.JobTags(map[string]string{"kind": "fan"}))
	wasmorch.Job("nested_job", wasmorch.JobGraph("nested"))
	wasmorch.Job("optional_job", wasmorch.JobGraph("optional"))
	wasmorch.Job("input_job", wasmorch.JobGraph("from_input"))
}
