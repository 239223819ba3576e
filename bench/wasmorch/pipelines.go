package main

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/wasmorch/wasmorch/host"
)

// pipeline is one of the three pipelines of bench/README.md.
type pipeline struct {
	name string
	// modules are the guest modules by language, relative to testdata/.
	modules map[string]string
	steps   int
	config  []byte
	// check verifies the values of a finished run (bench/README.md's "Check").
	check func(ctx context.Context, inst *host.Instance, res *host.Result) error
	// baselines runs the pipeline's steps natively; nil when the pipeline has none.
	baselines *graphShape
}

func pipelines(rows int64) []pipeline {
	return []pipeline{
		{
			name:      "fib_chain",
			modules:   map[string]string{"go": "bench/go/fib_chain.wasm", "rust": "bench/rust/fib_chain.wasm"},
			steps:     40,
			check:     checkFibChain,
			baselines: fibChainShape(),
		},
		{
			name:      "graph1000",
			modules:   map[string]string{"go": "bench/go/graph1000.wasm", "rust": "bench/rust/graph1000.wasm"},
			steps:     1000,
			check:     checkGraph1000,
			baselines: graph1000Shape(),
		},
		{
			name:    "orders",
			modules: map[string]string{"go": "bench/go/orders.wasm", "rust": "bench/rust/orders.wasm"},
			steps:   3,
			config:  fmt.Appendf(nil, `{"ops": {"raw_orders": {"config": {"rows": %d, "seed": 42}}}}`, rows),
			check: func(ctx context.Context, inst *host.Instance, res *host.Result) error {
				if rows != 1_000_000 {
					return nil // the expected values are for 1,000,000 rows
				}
				return checkOrders(ctx, inst, res)
			},
		},
	}
}

// jsonInt loads a JSON integer an asset stored.
func jsonInt(ctx context.Context, inst *host.Instance, res *host.Result, key string) (int64, error) {
	m, ok := res.Materializations[key]
	if !ok {
		return 0, fmt.Errorf("the run did not materialize %s", key)
	}
	v, err := inst.LoadMaterialization(ctx, m)
	if err != nil {
		return 0, err
	}
	defer v.Release()
	n, err := strconv.ParseInt(strings.TrimSpace(string(v.Data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is %q, not an integer", key, v.Data)
	}
	return n, nil
}

func checkFibChain(ctx context.Context, inst *host.Instance, res *host.Result) error {
	if len(res.Materializations) != 40 {
		return fmt.Errorf("%d assets materialized, want 40", len(res.Materializations))
	}
	for _, i := range []int{0, 1, 20, 39} {
		key := fmt.Sprintf("fib_%02d", i)
		n, err := jsonInt(ctx, inst, res, key)
		if err != nil {
			return err
		}
		if want := int64(55 * (i + 1)); n != want {
			return fmt.Errorf("%s is %d, want %d", key, n, want)
		}
	}
	return nil
}

func checkGraph1000(ctx context.Context, inst *host.Instance, res *host.Result) error {
	if len(res.Materializations) != 1000 {
		return fmt.Errorf("%d assets materialized, want 1000", len(res.Materializations))
	}
	want := map[string]int64{"hub_000": 1, "leaf_000_3": 2, "hub_050": 101}
	for j := range 9 {
		want[fmt.Sprintf("leaf_099_%d", j)] = 200
	}
	for key, w := range want {
		n, err := jsonInt(ctx, inst, res, key)
		if err != nil {
			return err
		}
		if n != w {
			return fmt.Errorf("%s is %d, want %d", key, n, w)
		}
	}
	return nil
}

// expectedRevenue is bench/README.md's table, in cents.
var expectedRevenue = map[string]int64{
	"east":  12_008_286_820,
	"north": 11_967_912_381,
	"south": 11_982_729_568,
	"west":  12_056_830_052,
}

func checkOrders(ctx context.Context, inst *host.Instance, res *host.Result) error {
	if m, ok := res.Materializations["cleaned_orders"]; !ok {
		return fmt.Errorf("the run did not materialize cleaned_orders")
	} else if rows := fmt.Sprint(m.Metadata["rows"]); rows != "960894" {
		return fmt.Errorf("cleaned_orders has %s rows, want 960894", rows)
	}
	m, ok := res.Materializations["revenue_by_region"]
	if !ok {
		return fmt.Errorf("the run did not materialize revenue_by_region")
	}
	v, err := inst.LoadMaterialization(ctx, m)
	if err != nil {
		return err
	}
	defer v.Release()
	got := map[string]int64{}
	tr := array.NewTableReader(v.Table, 0)
	defer tr.Release()
	for tr.Next() {
		rec := tr.Record()
		regions, ok1 := rec.Column(0).(*array.String)
		revenue, ok2 := rec.Column(1).(*array.Float64)
		if !ok1 || !ok2 {
			return fmt.Errorf("revenue_by_region has schema %s, want region utf8, revenue float64", rec.Schema())
		}
		for i := range int(rec.NumRows()) {
			got[regions.Value(i)] = int64(math.Round(revenue.Value(i) * 100))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(expectedRevenue) {
		return fmt.Errorf("revenue_by_region is %v (cents), want %v", got, expectedRevenue)
	}
	return nil
}
