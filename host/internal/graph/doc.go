// Package graph is the global asset graph of a wasmorch workspace: every software-defined asset
// declared by every module, the dependencies between them, and Dagster's CLI asset selection
// syntax (`dagster asset materialize --select`) evaluated over it.
//
// The host builds one Graph from the asset declarations it has read out of the modules. New
// checks the declarations as a whole — keys well formed and unique across modules, every
// dependency defined by some module, no cycles — and reports every problem it finds at once,
// so that a user fixing a workspace sees the whole list instead of one problem per attempt.
// Once New succeeds the graph is known to be a DAG; selection, planning and the executor's skip
// logic all rely on that and never check for cycles again.
//
// What this package must not do: it knows nothing of WebAssembly, stores, runs, partitions or
// execution. It takes plain asset keys, module names and group names, and must not import
// wazero, Arrow, the store or anything that runs guests. That keeps it cheap to test
// exhaustively and usable from the CLI before any module is instantiated.
//
// Everything it returns is deterministic: lists of assets are in topological order where one
// applies (ties broken by key) and sorted by key otherwise, so plans, logs and test output do
// not change from run to run. A Graph is immutable after New and safe for concurrent use.
package graph
