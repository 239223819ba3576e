// Command orders is the example guest: Dagster's orders tutorial, all three assets in Go.
//
// Build (make guests does this):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o orders.wasm .
package main

import "orders/pipeline"

func init() { pipeline.Register() }

func main() {}
