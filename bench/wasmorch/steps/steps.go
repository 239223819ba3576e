// Package steps holds the trivial steps of the side-by-side benchmarks (bench/README.md) as
// native Go, for the baselines of bench/wasmorch: called directly, and in the nativestep
// program that a process-per-step baseline runs. It must stay exactly what the guests compute.
package steps

// Fib is a fib_chain step: upstream + fibonacci(10), computed iteratively (55).
func Fib(upstream int64) int64 {
	a, b := int64(0), int64(1)
	for range 10 {
		a, b = b, a+b
	}
	return upstream + a
}

// Max is a graph1000 step: 1 + the largest input, and 1 with no inputs (hub_000).
func Max(ins []int64) int64 {
	var top int64
	for _, v := range ins {
		top = max(top, v)
	}
	return top + 1
}
