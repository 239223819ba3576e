// Command graph1000 is the Go guest of the graph1000 benchmark (bench/README.md, b): 100
// stages, each a hub hub_KKK and 9 leaves leaf_KKK_J reading it; hub_KKK (k ≥ 1) reads the 9
// leaves of stage k-1. Every asset returns 1 + the largest of its inputs, so its depth.
//
// Build (make guests does this, from testdata/bench/go):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o graph1000.wasm ./graph1000
package main

import (
	"fmt"

	wasmorch "github.com/wasmorch/wasmorch/sdk-go"
)

const (
	stages = 100
	leaves = 9
)

func init() {
	for k := range stages {
		if k == 0 {
			wasmorch.Asset(hub(0), func(*wasmorch.Context) (int64, error) { return 1, nil }, wasmorch.Group("graph1000"))
		} else {
			ins := make([]string, leaves)
			for j := range ins {
				ins[j] = leaf(k-1, j)
			}
			wasmorch.Asset(hub(k), fanIn, wasmorch.Ins(ins...), wasmorch.Group("graph1000"))
		}
		for j := range leaves {
			wasmorch.Asset(leaf(k, j), fanOut, wasmorch.Ins(hub(k)), wasmorch.Group("graph1000"))
		}
	}
}

func hub(k int) string     { return fmt.Sprintf("hub_%03d", k) }
func leaf(k, j int) string { return fmt.Sprintf("leaf_%03d_%d", k, j) }

func fanOut(_ *wasmorch.Context, hub int64) (int64, error) { return hub + 1, nil }

func fanIn(_ *wasmorch.Context, a, b, c, d, e, f, g, h, i int64) (int64, error) {
	return 1 + max(a, b, c, d, e, f, g, h, i), nil
}

func main() {}
