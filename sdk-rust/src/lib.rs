//! # wasmorch: write wasmorch assets and ops in Rust
//!
//! A wasmorch guest is a WebAssembly module whose assets are plain functions. This crate is the
//! Rust SDK for the guest ABI v1 (`abi/ABI.md`): it registers the functions, writes the
//! manifest, reads the invocation, streams inputs and outputs as Arrow IPC, JSON or bytes, and
//! turns errors and panics into failed steps. It has no dependencies; the Arrow IPC codec and
//! the JSON reader are its own.
//!
//! ```
//! use wasmorch::prelude::*;
//!
//! /// Orders with a missing amount dropped.
//! fn cleaned_orders(ctx: &mut Context, raw: Table) -> Result<Table> {
//!     let mut batches = Vec::new();
//!     for batch in raw.batches() {
//!         let amount: &Float64Array = batch.column_as("amount")?;
//!         let keep: Vec<bool> = (0..batch.num_rows()).map(|i| amount.is_valid(i)).collect();
//!         batches.push(batch.filter(&keep)?);
//!     }
//!     let cleaned = Table::new(raw.schema().clone(), batches)?;
//!     ctx.info(format!("kept {} of {} rows", cleaned.num_rows(), raw.num_rows()));
//!     Ok(cleaned)
//! }
//!
//! wasmorch::module! {
//!     asset("cleaned_orders", cleaned_orders).ins(&["raw_orders"]).group("orders");
//! }
//! # fn main() {
//! #     assert!(wasmorch_module().manifest_json().unwrap().contains("cleaned_orders"));
//! # }
//! ```
//!
//! [`module!`] defines `wasmorch_module()`, which returns the [`Module`], and, when compiling
//! for wasm32, the exports `wasmorch_abi_version`, `wasmorch_manifest`, `wasmorch_run` and
//! `_initialize` in your crate. Build the crate as a `cdylib` for `wasm32-wasi`; see the
//! README for the Cargo.toml and the command.
//!
//! What a function can take and return is listed in [`value`]; [`Context`] gives the step's
//! identity, run config, logging, metadata and resources; [`check`] registers asset checks,
//! which return a [`CheckResult`]; [`op`] registers ops, whose outputs may be optional or
//! [`Dynamic`] (fan-out); [`graph`](fn@graph) wires ops into a graph and [`job`] names a
//! graph or an asset selection to run; [`RetryPolicy`] says when a failed step runs again;
//! [`Partitions`] splits an asset into partitions, [`PartitionMapping`] says which upstream
//! partitions an input reads, and [`PartitionedBatches`] reads them batch by batch with their
//! keys;
//! [`arrow`] has the table types and the IPC codec; [`json`] reads and writes JSON.
//!
//! ## Errors and panics
//!
//! A function returns [`Result`]; `?` converts any `std::error::Error`. An error's message
//! becomes the step's failure message unchanged, and [`Error::retry`] asks for a retry
//! (`wasmorch_run` status 2), which the step's [`RetryPolicy`] honours. A panic
//! also fails the step: the SDK's panic hook gives `panic: <message>` to the host and prints
//! `panicked at <file:line:col>: <message>` on stderr before the module aborts.

#![warn(missing_docs)]
// Natively, the dispatcher behind the wasm exports runs only in this crate's tests; the wasm32
// build, which uses it, still reports real dead code.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

pub mod arrow;
mod checks;
mod context;
mod error;
mod graph;
mod host;
pub mod json;
mod manifest;
mod partitions;
mod registry;
mod retry;
mod run;
pub mod value;

pub use checks::{CheckResult, Severity};
pub use context::{Context, LogEntry};
pub use error::{Error, Result, ResultExt};
pub use graph::{graph, job, node, GraphDef, JobDef, NodeDef};
pub use host::{Format, HostError, Level, ABI_VERSION};
pub use json::JsonValue;
pub use partitions::{
    split_partition_key, PartitionMapping, PartitionWindow, Partitions, MULTI_KEY_SEPARATOR,
};
pub use registry::{
    asset, check, op, AssetDef, CheckDef, CheckInputs, Definition, Handler, Inputs, Module, OpDef,
    OpOutput, OpOutputs,
};
pub use retry::{Backoff, Jitter, RetryPolicy};
pub use value::{
    BatchReader, Bytes, Dynamic, FromInput, InputStream, IntoOutput, Json, OutputStream,
    PartitionedBatches,
};

/// Everything an asset module usually needs: `use wasmorch::prelude::*;`.
pub mod prelude {
    pub use crate::arrow::{
        Array, BinaryArray, BooleanArray, DataType, Date32Array, Field, Float32Array, Float64Array,
        Int16Array, Int32Array, Int64Array, Int8Array, RecordBatch, Schema, StringArray, Table,
        TimeUnit, TimestampArray, UInt16Array, UInt32Array, UInt64Array, UInt8Array,
    };
    pub use crate::json::{JsonValue, Object};
    pub use crate::{
        asset, bail, check, ensure, format_err, graph, job, node, op, Backoff, BatchReader, Bytes,
        CheckResult, Context, Dynamic, Error, Format, Jitter, Json, Level, Module,
        PartitionMapping, PartitionWindow, PartitionedBatches, Partitions, Result, ResultExt,
        RetryPolicy, Severity,
    };
}

/// Defines the module's assets, ops, checks, graphs and jobs and exports them to the host.
///
/// Each entry is an [`asset`], [`op`], [`check`], [`graph`](fn@graph) or [`job`] expression,
/// ended by `;`:
///
/// ```
/// use wasmorch::prelude::*;
/// # fn raw_orders(_: &mut Context) -> Result<Table> { unimplemented!() }
/// # fn not_empty(_: &mut Context, t: Table) -> Result<CheckResult> { unimplemented!() }
/// # fn split(_: &mut Context, t: Table) -> Result<(Table, Table)> { unimplemented!() }
/// # fn load(_: &mut Context) -> Result<Table> { unimplemented!() }
/// wasmorch::module! {
///     asset("raw_orders", raw_orders).group("orders");
///     check("not_empty", "raw_orders", not_empty).blocking(true);
///     op("split", split).ins(&["orders"]).outs(&["big", "small"]);
///     op("load_orders", load);
///     graph("orders_graph")
///         .node(node("load", "load_orders"))
///         .node(node("split", "split").wire("orders", "load", "result"))
///         .output("big", "split", "big");
///     job("orders_job").graph("orders_graph").tag("team", "data");
/// }
/// # fn main() { assert!(wasmorch_module().problems().is_empty()); }
/// ```
///
/// It expands to `pub fn wasmorch_module() -> wasmorch::Module`, for native tests, and, on
/// wasm32 only, to the module's exports: `wasmorch_abi_version`, `wasmorch_manifest`,
/// `wasmorch_run` and the WASI reactor initializer `_initialize`. Use it once per crate, at the
/// crate root of a `cdylib`.
#[macro_export]
macro_rules! module {
    ($($def:expr);* $(;)?) => {
        /// Every asset, op, check, graph and job of this module, as listed in
        /// `wasmorch::module!`.
        pub fn wasmorch_module() -> $crate::Module {
            #[allow(unused_imports)]
            use $crate::{asset, check, graph, job, node, op};
            let mut module = $crate::Module::new();
            $( module.add($def); )*
            module
        }

        /// ABI export: the ABI version the module was built for.
        #[cfg(target_arch = "wasm32")]
        #[no_mangle]
        pub extern "C" fn wasmorch_abi_version() -> i32 {
            $crate::ABI_VERSION
        }

        /// ABI export: hands the manifest to the host.
        #[cfg(target_arch = "wasm32")]
        #[no_mangle]
        pub extern "C" fn wasmorch_manifest() -> i32 {
            $crate::__private::export_manifest(wasmorch_module)
        }

        /// ABI export: runs one step.
        #[cfg(target_arch = "wasm32")]
        #[no_mangle]
        pub extern "C" fn wasmorch_run() -> i32 {
            $crate::__private::export_run(wasmorch_module)
        }

        /// WASI reactor initializer: runs static constructors once per instance.
        #[cfg(target_arch = "wasm32")]
        #[no_mangle]
        pub extern "C" fn _initialize() {
            $crate::__private::initialize()
        }
    };
}

/// Support for [`module!`]; not a public API.
#[doc(hidden)]
pub mod __private {
    #[cfg(target_arch = "wasm32")]
    pub use wasm::*;

    #[cfg(target_arch = "wasm32")]
    mod wasm {
        use std::rc::Rc;

        use crate::host::{HostApi, WasmHost};
        use crate::registry::Module;

        /// `wasmorch_manifest`.
        pub fn export_manifest(module: fn() -> Module) -> i32 {
            install_panic_hook();
            crate::run::write_manifest(&module(), &WasmHost)
        }

        /// `wasmorch_run`.
        pub fn export_run(module: fn() -> Module) -> i32 {
            install_panic_hook();
            let host: Rc<dyn HostApi> = Rc::new(WasmHost);
            crate::run::run(&module(), host)
        }

        /// `_initialize`: wasi-libc's and Rust's static constructors, which the linker gathers
        /// into `__wasm_call_ctors`. Exporting `_initialize` makes the linker build a reactor,
        /// whose exports do not re-run the constructors on every call.
        pub fn initialize() {
            extern "C" {
                fn __wasm_call_ctors();
            }
            // SAFETY: `__wasm_call_ctors` is synthesized by wasm-ld and takes no arguments; the
            // host calls `_initialize` once per instance, before any other export, which is
            // when constructors must run.
            unsafe { __wasm_call_ctors() }
        }

        /// Makes a panic a failed step: the message goes to `error_set` and to stderr, and
        /// then `panic = "abort"` (the only strategy on wasm32-wasi) traps, which ends the step.
        fn install_panic_hook() {
            std::panic::set_hook(Box::new(|info| {
                let payload = info.payload();
                let msg = payload
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("Box<dyn Any>");
                WasmHost.error_set(&format!("panic: {}", msg));
                match info.location() {
                    Some(l) => eprintln!(
                        "panicked at {}:{}:{}: {}",
                        l.file(),
                        l.line(),
                        l.column(),
                        msg
                    ),
                    None => eprintln!("panicked at an unknown location: {}", msg),
                }
            }));
        }
    }
}
