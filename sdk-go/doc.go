// Package wasmorch is the Go guest SDK of wasmorch: it turns plain Go functions into
// software-defined assets inside a WebAssembly module that the wasmorch host runs.
//
// A guest is a main package that registers its assets from init functions and is built as a WASI
// reactor:
//
//	package main
//
//	import (
//		"github.com/apache/arrow/go/v15/arrow"
//		wasmorch "github.com/wasmorch/wasmorch/sdk-go"
//	)
//
//	func init() {
//		wasmorch.Asset("cleaned_orders", cleanedOrders, wasmorch.Ins("raw_orders"), wasmorch.Group("orders"))
//	}
//
//	func cleanedOrders(ctx *wasmorch.Context, raw arrow.Record) (arrow.Record, error) { ... }
//
//	func main() {}
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o orders.wasm .
//
// The SDK exports wasmorch_abi_version, wasmorch_manifest and wasmorch_run (abi/ABI.md, version 1)
// and speaks to the host only through the wasmorch import module. The same asset functions run
// unchanged in an ordinary native go test: build a Context with NewTestContext and call them.
//
// # Asset functions
//
// An asset function has the shape
//
//	func(ctx *wasmorch.Context, in1 T1, ..., inN TN) (R, error)
//
// The Context always comes first, and the inputs follow in the order the Ins, In and InMapped options declare
// them. The static Go type of a parameter or result decides the format it travels in:
//
//   - arrow.Record: the whole Arrow table in one record (format arrow)
//   - array.RecordReader: an Arrow table batch by batch, for tables larger than memory (format arrow)
//   - *PartitionReader (inputs only): an Arrow table batch by batch, with the upstream partition
//     each batch belongs to (format arrow)
//   - []byte: opaque bytes (format bytes)
//   - any other type: JSON through encoding/json (format json)
//
// # Partitions
//
// Partitioned splits an asset into partitions (Daily, Hourly, Weekly, Monthly, CronPartitions,
// StaticPartitions, DynamicPartitions, MultiPartitions), and each step materializes one: its key
// is Context.PartitionKey (Context.PartitionKeys splits a multi-dimensional one), and a time
// partition's window is Context.PartitionWindow. InMapped declares an input with a partition
// mapping (IdentityMapping, TimeWindowMapping, AllMapping, StaticMapping, MultiMapping) that says
// which upstream partitions the step reads. An Arrow input that reads several arrives as one table
// in partition order; a *PartitionReader parameter tells each batch's partition. A JSON input
// that reads several arrives as an object of partition key to value, so declare it as a
// map[string]T.
//
// # Ops
//
// Op registers a step with several named inputs and outputs, func(ctx, in1, ..., inN)
// (out1, ..., outM, error), which graphs wire by name. OpDynamicOutputs makes an output a
// fan-out: the function returns a map[string]T for it, each entry is written as NAME[KEY], and
// the steps downstream run once per key, reading it with Context.MappingKey. OpOptionalOutputs
// lets a nil result go unwritten, and OpOptionalInputs lets a graph leave an input unwired, in
// which case its parameter gets its zero value. OpConfigFrom, OpConfigSchema, OpResources,
// OpRetry and OpTags do for ops what the asset options do for assets.
//
// # Ownership of Arrow values
//
// Input records and readers belong to the SDK: it releases them after the function returns, so
// the function must not Release them, and must Retain anything it keeps or returns. A returned
// arrow.Record or array.RecordReader is handed to the SDK, which releases it after writing it; this
// is the usual Arrow convention for a value a function creates. In native tests, where no SDK
// dispatcher runs, the test releases what the function returned.
//
// # What the SDK must not do
//
// It must not panic during registration (problems are collected and reported by
// wasmorch_manifest), must not depend on anything but the standard library and Arrow, and must not
// spell an ABI name or number anywhere but abi.go and abi_wasip1.go, which abi_drift_test.go checks
// against abi/abi.go.
package wasmorch
