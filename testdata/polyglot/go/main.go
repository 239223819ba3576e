// Command raw_orders is the Go third of the polyglot orders example: it defines only
// raw_orders, from the same code as the all-Go example; cleaned_orders comes from Rust
// (../rust) and revenue_by_region from C (../c).
//
// Build (make guests does this):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o raw_orders.wasm .
package main

import "orders/pipeline"

func init() { pipeline.Register("raw_orders") }

func main() {}
