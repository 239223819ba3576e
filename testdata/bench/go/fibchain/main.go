// Command fibchain is the Go guest of the fib_chain benchmark (bench/README.md, a): 40 assets
// fib_00 … fib_39 in a chain, each returning its upstream plus fibonacci(10).
//
// Build (make guests does this, from testdata/bench/go):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o fib_chain.wasm ./fibchain
package main

import (
	"fmt"

	wasmorch "github.com/wasmorch/wasmorch/sdk-go"
)

// Assets is the length of the chain.
const Assets = 40

func init() {
	wasmorch.Asset(key(0), func(*wasmorch.Context) (int64, error) { return fib10(), nil },
		wasmorch.Group("fib_chain"))
	for i := 1; i < Assets; i++ {
		wasmorch.Asset(key(i), step, wasmorch.Ins(key(i-1)), wasmorch.Group("fib_chain"))
	}
}

func key(i int) string { return fmt.Sprintf("fib_%02d", i) }

func step(_ *wasmorch.Context, upstream int64) (int64, error) { return upstream + fib10(), nil }

// fib10 is fibonacci(10), computed iteratively as the spec says (55).
func fib10() int64 {
	a, b := int64(0), int64(1)
	for range 10 {
		a, b = b, a+b
	}
	return a
}

func main() {}
