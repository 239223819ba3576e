package graph_test

import (
	"errors"
	"fmt"

	"github.com/wasmorch/wasmorch/host/internal/graph"
)

func Example() {
	g, err := graph.New([]graph.Node{
		{Key: "orders/raw", Module: "ingest", Group: "orders"},
		{Key: "orders/cleaned_orders", Module: "ingest", Group: "orders", Deps: []string{"orders/raw"}},
		{Key: "customers/raw", Module: "ingest"},
		{Key: "revenue_by_region", Module: "analytics", Deps: []string{"orders/cleaned_orders", "customers/raw"}},
	})
	if err != nil {
		panic(err)
	}

	// Parents of cleaned_orders, it, and everything downstream, in the order to run them.
	keys, _ := g.Select("+orders/cleaned_orders*")
	fmt.Println(keys)

	keys, _ = g.Select("group:orders, customers/raw")
	fmt.Println(keys)

	// Keys match exactly; a near miss says what was probably meant.
	_, err = g.Select("cleaned")
	fmt.Println(err)
	fmt.Println(errors.Is(err, graph.ErrNoMatch))

	// Output:
	// [orders/raw orders/cleaned_orders revenue_by_region]
	// [customers/raw orders/raw orders/cleaned_orders]
	// selection "cleaned": no asset "cleaned"; did you mean "orders/cleaned_orders"?
	// true
}

func ExampleNew() {
	_, err := graph.New([]graph.Node{
		{Key: "a", Module: "m1", Deps: []string{"c"}},
		{Key: "b", Module: "m1", Deps: []string{"a"}},
		{Key: "c", Module: "m2", Deps: []string{"b"}},
		{Key: "report", Module: "m2", Deps: []string{"bb"}},
	})
	fmt.Println(err)

	var cycle *graph.CycleError
	if errors.As(err, &cycle) {
		fmt.Println(cycle.Path)
	}

	// Output:
	// module "m2": asset "report" depends on "bb", which no module defines; did you mean "b"?
	// dependency cycle: a -> b -> c -> a (modules "m1", "m2"); each asset depends on the one before it: remove one of these dependencies
	// [a b c a]
}
