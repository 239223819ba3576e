//! What an asset, op or check function knows about its step.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use crate::arrow::ipc::StreamWriter;
use crate::arrow::Table;
use crate::error::{Error, Result};
use crate::host::{Format, HostApi, Level, RESERVED_METADATA};
use crate::json::{self, JsonValue};
use crate::partitions::{split_partition_key, PartitionWindow};
use crate::value::{FromInput, InputStream, Json, PartitionedBatches};

/// The step an asset, op or check function runs in: its identity, run config, logging,
/// metadata and resources.
///
/// Inside WebAssembly the SDK makes one per step. In native tests, [`Context::for_test`] makes
/// one that records logs and metadata in memory, and answers resource calls with the stand-ins
/// given to [`with_resource`](Context::with_resource):
///
/// ```
/// use wasmorch::{Context, Level};
/// let ctx = Context::for_test()
///     .with_config_json(r#"{"limit": 3}"#)
///     .with_partition_key("2026-01-15");
/// ctx.info("hello");
/// ctx.add_metadata_json(r#"{"rows_dropped": 2}"#).unwrap();
/// assert_eq!(ctx.config().get_i64("limit"), Some(3));
/// assert_eq!(ctx.partition_key(), "2026-01-15");
/// assert_eq!(ctx.logs()[0].level, Level::Info);
/// assert_eq!(ctx.metadata().get_i64("rows_dropped"), Some(2));
/// ```
pub struct Context {
    kind: String,
    name: String,
    asset_key: String,
    run_id: String,
    step_key: String,
    partition_key: String,
    partition_window: Option<PartitionWindow>,
    partition_dimensions: Vec<String>,
    mapping_key: String,
    attempt: u32,
    config_json: String,
    config: JsonValue,
    /// The names of the step's inputs, in order.
    inputs: Vec<String>,
    sink: Sink,
}

enum Sink {
    Host(Rc<dyn HostApi>),
    Test(
        RefCell<Recorded>,
        Vec<(String, TestResource)>,
        Vec<TestInput>,
    ),
}

/// A test context's stand-in for a resource.
type TestResource = Box<dyn Fn(&JsonValue) -> Result<JsonValue>>;

/// A test context's input: its name, format and chunks with their partition keys.
struct TestInput {
    name: String,
    format: Format,
    chunks: Vec<(String, Vec<u8>)>,
}

#[derive(Default)]
struct Recorded {
    logs: Vec<LogEntry>,
    metadata: Vec<(String, JsonValue)>,
}

/// One log event recorded by a test context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// The event's level.
    pub level: Level,
    /// The message as the host would receive it.
    pub message: String,
}

/// The invocation fields a context carries.
pub(crate) struct StepInfo {
    pub kind: String,
    pub name: String,
    /// The asset a check step checks (its input `asset`), or "".
    pub checked_asset: String,
    /// The names of the invocation's inputs.
    pub inputs: Vec<String>,
    pub run_id: String,
    pub step_key: String,
    pub partition_key: String,
    pub partition_window: Option<PartitionWindow>,
    /// The dimension names of the asset's multi partitions, or empty.
    pub partition_dimensions: Vec<String>,
    pub mapping_key: String,
    pub attempt: u32,
    pub config: JsonValue,
}

impl Context {
    pub(crate) fn for_step(info: StepInfo, host: Rc<dyn HostApi>) -> Self {
        let asset_key = if info.kind == "check" {
            info.checked_asset
        } else {
            info.name.clone()
        };
        Context {
            config_json: info.config.to_string(),
            kind: info.kind,
            name: info.name,
            asset_key,
            run_id: info.run_id,
            step_key: info.step_key,
            partition_key: info.partition_key,
            partition_window: info.partition_window,
            partition_dimensions: info.partition_dimensions,
            mapping_key: info.mapping_key,
            attempt: info.attempt,
            config: info.config,
            inputs: info.inputs,
            sink: Sink::Host(host),
        }
    }

    /// A context for native tests. Its config is `{}`, its run ID `test-run`, its attempt 1,
    /// and its asset key and partition key are empty; the `with_*` methods change them. Logs and
    /// metadata are kept for [`logs`](Context::logs) and [`metadata`](Context::metadata), and
    /// it has no resources until [`with_resource`](Context::with_resource) gives one, and no
    /// inputs until [`with_input_table`](Context::with_input_table) and its siblings give
    /// some.
    pub fn for_test() -> Self {
        Context {
            kind: "asset".to_string(),
            name: String::new(),
            asset_key: String::new(),
            run_id: "test-run".to_string(),
            step_key: String::new(),
            partition_key: String::new(),
            partition_window: None,
            partition_dimensions: Vec::new(),
            mapping_key: String::new(),
            attempt: 1,
            config_json: "{}".to_string(),
            config: JsonValue::Object(Vec::new()),
            inputs: Vec::new(),
            sink: Sink::Test(RefCell::new(Recorded::default()), Vec::new(), Vec::new()),
        }
    }

    /// Gives a test context a stand-in for the resource `key`: [`resource`](Context::resource)
    /// calls `respond` with the parsed request and returns its response or error. A later
    /// stand-in for the same key replaces an earlier one.
    ///
    /// ```
    /// use wasmorch::prelude::*;
    /// fn greeting(ctx: &mut Context) -> Result<Bytes> {
    ///     let req = Object::new().string("op", "get").string("name", "GREETING");
    ///     let resp = ctx.resource("vars", req)?;
    ///     Ok(Bytes::from(resp.require_str("value")?))
    /// }
    /// let mut ctx = Context::for_test().with_resource("vars", |req| {
    ///     assert_eq!(req.get_str("name"), Some("GREETING"));
    ///     JsonValue::parse(r#"{"value": "hello", "found": true}"#)
    /// });
    /// assert_eq!(greeting(&mut ctx).unwrap(), Bytes::from("hello"));
    ///
    /// let mut denied = Context::for_test()
    ///     .with_resource("vars", |_| Err(Error::msg("resource_call returned ERR_DENIED: no")));
    /// assert!(greeting(&mut denied).unwrap_err().message().contains("ERR_DENIED"));
    /// ```
    pub fn with_resource<F>(mut self, key: &str, respond: F) -> Self
    where
        F: Fn(&JsonValue) -> Result<JsonValue> + 'static,
    {
        if let Sink::Test(_, resources, _) = &mut self.sink {
            resources.retain(|(k, _)| k != key);
            resources.push((key.to_string(), Box::new(respond)));
        }
        self
    }

    /// Sets the run config of a test context.
    ///
    /// # Panics
    ///
    /// If `config` is not valid JSON: a test's own mistake.
    pub fn with_config_json(mut self, config: &str) -> Self {
        self.config =
            JsonValue::parse(config).unwrap_or_else(|e| panic!("Context::with_config_json: {}", e));
        self.config_json = config.to_string();
        self
    }

    /// Sets the partition key of a test context.
    pub fn with_partition_key(mut self, key: &str) -> Self {
        self.partition_key = key.to_string();
        self
    }

    /// Sets the time window of a test context's partition.
    pub fn with_partition_window(mut self, start: &str, end: &str) -> Self {
        self.partition_window = Some(PartitionWindow::new(start, end));
        self
    }

    /// Sets the dimension names of a test context's multi-dimensional partitions, which
    /// [`partition_dimension`](Context::partition_dimension) looks keys up by. In a step, the
    /// SDK takes them from the asset's [`Partitions`](crate::Partitions).
    pub fn with_partition_dimensions(mut self, names: &[&str]) -> Self {
        self.partition_dimensions = names.iter().map(|n| n.to_string()).collect();
        self
    }

    /// Gives a test context an input, as the host would send it; a later input of the same
    /// name replaces an earlier one.
    fn with_test_input(
        mut self,
        name: &str,
        format: Format,
        chunks: Vec<(String, Vec<u8>)>,
    ) -> Self {
        if let Sink::Test(_, _, inputs) = &mut self.sink {
            inputs.retain(|i| i.name != name);
            inputs.push(TestInput {
                name: name.to_string(),
                format,
                chunks,
            });
        }
        self.inputs.retain(|n| n != name);
        self.inputs.push(name.to_string());
        self
    }

    /// Gives a test context the Arrow input `name`, from an unpartitioned upstream asset, for
    /// [`input`](Context::input) and [`input_batches`](Context::input_batches).
    ///
    /// # Panics
    ///
    /// If the table cannot be encoded as Arrow IPC: a test's own mistake.
    pub fn with_input_table(self, name: &str, table: Table) -> Self {
        self.with_input_partitions(name, vec![("", table)])
    }

    /// Gives a test context the Arrow input `name` as the host sends an input that reads
    /// several upstream partitions: one stream, each partition's batches in the order given,
    /// every batch tagged with its partition's key.
    ///
    /// ```
    /// use wasmorch::prelude::*;
    /// # let schema = Schema::new(vec![Field::new("n", DataType::Int64, true)]);
    /// # let table = |v: Vec<i64>| Table::from_batch(RecordBatch::try_new(schema.clone(), vec![Array::from(Int64Array::from(v))]).unwrap());
    /// let ctx = Context::for_test().with_input_partitions("hourly", vec![
    ///     ("2026-01-01-00:00", table(vec![1, 2])),
    ///     ("2026-01-01-01:00", table(vec![3])),
    /// ]);
    /// let keys: Vec<String> = ctx.input_batches("hourly").unwrap()
    ///     .map(|item| item.map(|(key, _)| key))
    ///     .collect::<Result<_>>().unwrap();
    /// assert_eq!(keys, vec!["2026-01-01-00:00", "2026-01-01-01:00"]);
    /// assert_eq!(ctx.input::<Table>("hourly").unwrap().num_rows(), 3);
    /// ```
    ///
    /// # Panics
    ///
    /// If the tables' schemas differ or cannot be encoded: a test's own mistake.
    pub fn with_input_partitions(self, name: &str, partitions: Vec<(&str, Table)>) -> Self {
        let chunks = arrow_chunks(&partitions)
            .unwrap_or_else(|e| panic!("Context::with_input_partitions(\"{}\"): {}", name, e));
        self.with_test_input(name, Format::Arrow, chunks)
    }

    /// Gives a test context the JSON input `name`. An input that reads several upstream
    /// partitions is a JSON object with one member per partition key.
    pub fn with_input_json(self, name: &str, json: &str) -> Self {
        self.with_test_input(
            name,
            Format::Json,
            vec![(String::new(), json.as_bytes().to_vec())],
        )
    }

    /// Gives a test context the bytes input `name`.
    pub fn with_input_bytes(self, name: &str, bytes: Vec<u8>) -> Self {
        self.with_test_input(name, Format::Bytes, vec![(String::new(), bytes)])
    }

    /// Sets the dynamic mapping key of a test context.
    pub fn with_mapping_key(mut self, key: &str) -> Self {
        self.mapping_key = key.to_string();
        self
    }

    /// Sets the run ID of a test context.
    pub fn with_run_id(mut self, id: &str) -> Self {
        self.run_id = id.to_string();
        self
    }

    /// Sets the asset key of a test context, and its step key if that is not set.
    pub fn with_asset_key(mut self, key: &str) -> Self {
        self.name = key.to_string();
        self.asset_key = key.to_string();
        if self.step_key.is_empty() {
            self.step_key = key.to_string();
        }
        self
    }

    /// Sets the step key of a test context.
    pub fn with_step_key(mut self, key: &str) -> Self {
        self.step_key = key.to_string();
        self
    }

    /// Sets the attempt number of a test context.
    pub fn with_attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt;
        self
    }

    /// The ID of the run the step belongs to.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The key of the asset being materialized, or checked by a check step (for an op step,
    /// the op's name).
    pub fn asset_key(&self) -> &str {
        &self.asset_key
    }

    /// The asset key, op name or check name: the invocation's `name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The kind of step: `asset`, `op` or `check`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The step's key within the run.
    pub fn step_key(&self) -> &str {
        &self.step_key
    }

    /// The partition being materialized, or "" when the asset is not partitioned. A key of
    /// multi-dimensional partitions joins the dimension keys with `|`, in dimension order:
    /// `2026-01-15|us|web`.
    pub fn partition_key(&self) -> &str {
        &self.partition_key
    }

    /// The time window `[start, end)` of the partition being materialized, as RFC 3339
    /// timestamps, when its definition is time-based (for multi partitions, when one dimension
    /// is); `None` otherwise.
    ///
    /// ```
    /// use wasmorch::Context;
    /// let ctx = Context::for_test()
    ///     .with_partition_key("2026-03-08")
    ///     .with_partition_window("2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00");
    /// let w = ctx.partition_window().unwrap();
    /// assert_eq!((w.start.as_str(), w.end.as_str()), ("2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00"));
    /// assert!(Context::for_test().partition_window().is_none());
    /// ```
    pub fn partition_window(&self) -> Option<&PartitionWindow> {
        self.partition_window.as_ref()
    }

    /// The dimension keys of the partition key, in dimension order: the key split at `|`.
    /// Empty when the step is not partitioned; one key for one-dimensional partitions.
    pub fn partition_dimension_keys(&self) -> Vec<&str> {
        split_partition_key(&self.partition_key)
    }

    /// The key of the dimension `name` of a multi-dimensional partition key, or `None` when the
    /// asset's partitions have no such dimension.
    ///
    /// ```
    /// use wasmorch::Context;
    /// let ctx = Context::for_test()
    ///     .with_partition_key("2026-01-15|us|web")
    ///     .with_partition_dimensions(&["date", "region", "channel"]);
    /// assert_eq!(ctx.partition_dimension("region"), Some("us"));
    /// assert_eq!(ctx.partition_dimension_keys(), vec!["2026-01-15", "us", "web"]);
    /// assert_eq!(ctx.partition_dimension("customer"), None);
    /// ```
    pub fn partition_dimension(&self, name: &str) -> Option<&str> {
        let keys = self.partition_dimension_keys();
        if keys.len() != self.partition_dimensions.len() {
            return None;
        }
        self.partition_dimensions
            .iter()
            .position(|d| d == name)
            .map(|i| keys[i])
    }

    /// The names of the step's inputs, as the invocation lists them: parameters and inputs
    /// read through the context alike.
    pub fn input_names(&self) -> Vec<&str> {
        self.inputs.iter().map(String::as_str).collect()
    }

    /// Reads the input `name` as any [`FromInput`] type: `ctx.input::<Table>("orders")`,
    /// `ctx.input::<JsonValue>("settings")`. Meant for inputs declared with
    /// [`AssetDef::context_input`](crate::AssetDef::context_input), which the function reads
    /// itself; each call reads the input from its beginning. An input that reads several
    /// upstream partitions is one value: a table of every partition's batches, or a JSON
    /// object with a member per partition key.
    ///
    /// The error names the input: it is missing, the host sends another format than `T`
    /// takes, or its data does not decode.
    pub fn input<T: FromInput>(&self, name: &str) -> Result<T> {
        // Named as the dispatcher names a parameter input: `asset "x": input "y"`.
        let what = || {
            if self.name.is_empty() {
                format!("input \"{}\"", name)
            } else {
                format!("{} \"{}\": input \"{}\"", self.kind, self.name, name)
            }
        };
        let reader = "the type it is read as";
        let stream = match &self.sink {
            Sink::Host(h) => crate::run::open_input(h, name, T::FORMAT, T::OPTIONAL, reader)
                .map_err(|e| e.context(what()))?,
            Sink::Test(_, _, inputs) => match inputs.iter().find(|i| i.name == name) {
                Some(i) if i.format != T::FORMAT => {
                    return Err(Error::msg(format!(
                        "the test context has it as {}, but {} takes {}",
                        i.format,
                        reader,
                        T::FORMAT
                    ))
                    .context(what()))
                }
                Some(i) => Some(InputStream::from_chunks(i.chunks.clone())),
                None if T::OPTIONAL => None,
                None => {
                    let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
                    return Err(Error::msg(format!(
                        "the test context has no such input (it has: {}); give one with \
                         Context::with_input_table, with_input_partitions, with_input_json or \
                         with_input_bytes",
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ))
                    .context(what()));
                }
            },
        };
        match stream {
            Some(s) => T::from_input(s),
            None => T::from_absent(),
        }
        .map_err(|e| e.context(what()))
    }

    /// Reads the Arrow input `name` one record batch at a time, each batch with the key of the
    /// upstream partition it comes from ("" for an unpartitioned upstream asset):
    /// [`input`](Context::input)`::<PartitionedBatches>(name)`.
    ///
    /// ```
    /// use wasmorch::prelude::*;
    /// /// Rows per upstream partition, read batch by batch.
    /// fn rows_by_partition(ctx: &mut Context) -> Result<JsonValue> {
    ///     let mut rows = Object::new();
    ///     for item in ctx.input_batches("events")? {
    ///         let (key, batch) = item?;
    ///         rows = rows.int(&key, batch.num_rows() as i64);
    ///     }
    ///     JsonValue::parse(&rows.finish())
    /// }
    /// # let schema = Schema::new(vec![Field::new("n", DataType::Int64, true)]);
    /// # let table = |v: Vec<i64>| Table::from_batch(RecordBatch::try_new(schema.clone(), vec![Array::from(Int64Array::from(v))]).unwrap());
    /// let mut ctx = Context::for_test()
    ///     .with_input_partitions("events", vec![("us", table(vec![1, 2])), ("eu", table(vec![3]))]);
    /// assert_eq!(rows_by_partition(&mut ctx).unwrap().to_string(), r#"{"us":2,"eu":1}"#);
    /// ```
    pub fn input_batches(&self, name: &str) -> Result<PartitionedBatches> {
        self.input(name)
    }

    /// The dynamic mapping key of a mapped op's step (ABI.md section 7.2), or "".
    pub fn mapping_key(&self) -> &str {
        &self.mapping_key
    }

    /// The attempt number, starting at 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The run config as JSON text: `{}` when there is none. The host has validated it against
    /// the config schema and applied its defaults.
    pub fn config_json(&self) -> &str {
        &self.config_json
    }

    /// The run config, parsed; see [`JsonValue::get_str`], [`JsonValue::require_str`] and the
    /// other getters.
    pub fn config(&self) -> &JsonValue {
        &self.config
    }

    /// Logs `message` at `level` as one event of the step. Logging never fails the step: if
    /// the host refuses the event (its log limit is reached), it is dropped.
    pub fn log(&self, level: Level, message: &str) {
        match &self.sink {
            Sink::Host(h) => {
                h.log(level, message);
            }
            Sink::Test(r, ..) => r.borrow_mut().logs.push(LogEntry {
                level,
                message: message.to_string(),
            }),
        }
    }

    /// Logs at DEBUG level.
    pub fn debug(&self, message: impl AsRef<str>) {
        self.log(Level::Debug, message.as_ref());
    }

    /// Logs at INFO level.
    pub fn info(&self, message: impl AsRef<str>) {
        self.log(Level::Info, message.as_ref());
    }

    /// Logs at WARNING level.
    pub fn warn(&self, message: impl AsRef<str>) {
        self.log(Level::Warning, message.as_ref());
    }

    /// Logs at ERROR level. This does not fail the step: returning an error does.
    pub fn error(&self, message: impl AsRef<str>) {
        self.log(Level::Error, message.as_ref());
    }

    /// Merges a JSON object into the metadata of the step's result (the asset's
    /// materialization). Values may be any JSON; a later value for a name replaces an earlier
    /// one. The names `rows`, `bytes`, `schema`, `format`, `duration_ms` and `module_digest`
    /// belong to the host and are refused.
    pub fn add_metadata_json(&self, json: &str) -> Result<()> {
        let value = JsonValue::parse(json).map_err(|e| e.context("metadata"))?;
        let members = match value {
            JsonValue::Object(m) => m,
            other => {
                return Err(Error::msg(format!(
                    "metadata must be a JSON object, got {}",
                    other.type_name()
                )))
            }
        };
        if let Some((k, _)) = members
            .iter()
            .find(|(k, _)| RESERVED_METADATA.contains(&k.as_str()))
        {
            return Err(Error::msg(format!(
                "metadata entry \"{}\" is reserved for the host (reserved: {})",
                k,
                RESERVED_METADATA.join(", ")
            )));
        }
        match &self.sink {
            Sink::Host(h) => {
                let h: &dyn HostApi = &**h;
                h.check("metadata_add", h.metadata_add(json))?;
            }
            Sink::Test(r, ..) => {
                let mut r = r.borrow_mut();
                for (k, v) in members {
                    r.metadata.retain(|(old, _)| *old != k);
                    r.metadata.push((k, v));
                }
            }
        }
        Ok(())
    }

    /// Merges the object built by `metadata` into the step's metadata; see
    /// [`add_metadata_json`](Context::add_metadata_json).
    ///
    /// ```
    /// use wasmorch::{json::Object, Context};
    /// let ctx = Context::for_test();
    /// ctx.add_metadata(Object::new().int("answer", 42).string("label", "x")).unwrap();
    /// assert_eq!(ctx.metadata().to_string(), r#"{"answer":42,"label":"x"}"#);
    /// ```
    pub fn add_metadata(&self, metadata: json::Object) -> Result<()> {
        self.add_metadata_json(&metadata.finish())
    }

    /// Calls the resource `key` (ABI.md section 4.7) with a JSON request and returns the
    /// parsed JSON response. The step must declare the key with `.resources(&[...])` and the
    /// workspace must grant it in `wasmorch.yaml`; the request's shape depends on the
    /// resource's kind, for example `{"op": "get", "name": "REGION"}` for an `env` resource.
    ///
    /// A refused call is an error carrying the host's message, such as
    /// `resource_call returned ERR_DENIED: asset did not declare resource "vars" in its
    /// manifest (add it to the asset's resources)`; returning it with `?` fails the step with
    /// that message. In a test context the stand-in given to
    /// [`with_resource`](Context::with_resource) answers.
    ///
    /// ```no_run
    /// use wasmorch::prelude::*;
    /// fn region(ctx: &mut Context) -> Result<Bytes> {
    ///     let resp = ctx.resource("vars", Object::new().string("op", "get").string("name", "REGION"))?;
    ///     Ok(Bytes::from(resp.require_str("value")?))
    /// }
    /// ```
    pub fn resource(&self, key: &str, request: impl Into<Json>) -> Result<JsonValue> {
        let request = request.into();
        let parsed = JsonValue::parse(&request.0)
            .map_err(|e| e.context(format!("resource \"{}\": the request", key)))?;
        match &self.sink {
            Sink::Host(h) => {
                let h: &dyn HostApi = &**h;
                let n = h.resource_call(key, request.0.as_bytes());
                if n < 0 {
                    return Err(h.error("resource_call", n).into());
                }
                let len = usize::try_from(n).map_err(|_| {
                    Error::msg(format!(
                        "resource \"{}\": a response of {} bytes does not fit in memory",
                        key, n
                    ))
                })?;
                let mut buf = vec![0; len];
                let m = h.check("response_read", h.response_read(&mut buf))?;
                buf.truncate(m as usize);
                JsonValue::parse_bytes(&buf)
                    .map_err(|e| e.context(format!("resource \"{}\": the response", key)))
            }
            Sink::Test(_, resources, _) => match resources.iter().find(|(k, _)| k == key) {
                Some((_, respond)) => respond(&parsed),
                None => {
                    let keys: Vec<&str> = resources.iter().map(|(k, _)| k.as_str()).collect();
                    Err(Error::msg(format!(
                        "resource \"{}\": the test context has no such resource (it has: {}); \
                         give one with Context::with_resource",
                        key,
                        if keys.is_empty() {
                            "none".to_string()
                        } else {
                            keys.join(", ")
                        }
                    )))
                }
            },
        }
    }

    /// The log events a test context recorded, oldest first; empty for a context running in
    /// the host, whose logs went to the host.
    pub fn logs(&self) -> Vec<LogEntry> {
        match &self.sink {
            Sink::Test(r, ..) => r.borrow().logs.clone(),
            Sink::Host(_) => Vec::new(),
        }
    }

    /// The metadata a test context recorded, merged as the host merges it, as a JSON object;
    /// an empty object for a context running in the host.
    pub fn metadata(&self) -> JsonValue {
        match &self.sink {
            Sink::Test(r, ..) => JsonValue::Object(r.borrow().metadata.clone()),
            Sink::Host(_) => JsonValue::Object(Vec::new()),
        }
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("asset_key", &self.asset_key)
            .field("run_id", &self.run_id)
            .field("step_key", &self.step_key)
            .field("partition_key", &self.partition_key)
            .field("partition_window", &self.partition_window)
            .field("mapping_key", &self.mapping_key)
            .field("attempt", &self.attempt)
            .field("config", &self.config_json)
            .finish()
    }
}

/// The chunks the host sends for an input of several partitions: the schema with the first
/// batch, then one batch a chunk, each with its partition's key, then the end-of-stream marker
/// under "".
fn arrow_chunks(partitions: &[(&str, Table)]) -> Result<Vec<(String, Vec<u8>)>> {
    let schema = match partitions.first() {
        Some((_, t)) => t.schema().clone(),
        None => {
            return Err(Error::msg(
                "no partitions are given; give at least one table",
            ))
        }
    };
    let mut w = StreamWriter::try_new(Vec::new(), &schema)?;
    let mut cuts: Vec<(String, usize)> = Vec::new();
    for (key, table) in partitions {
        if table.schema() != &schema {
            return Err(Error::msg(format!(
                "partition \"{}\" has the schema {}, but the first has {}",
                key,
                table.schema(),
                schema
            )));
        }
        for batch in table.batches() {
            w.write(batch)?;
            cuts.push((key.to_string(), w.get_ref().len()));
        }
    }
    let bytes = w.finish()?;
    let mut chunks = Vec::new();
    let mut prev = 0;
    for (key, cut) in cuts {
        chunks.push((key, bytes[prev..cut].to_vec()));
        prev = cut;
    }
    chunks.push((String::new(), bytes[prev..].to_vec()));
    Ok(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_context_records() {
        let ctx = Context::for_test()
            .with_asset_key("orders/raw")
            .with_attempt(2);
        assert_eq!(ctx.asset_key(), "orders/raw");
        assert_eq!(ctx.step_key(), "orders/raw");
        assert_eq!(ctx.attempt(), 2);
        assert_eq!(ctx.config_json(), "{}");
        ctx.debug("d");
        ctx.warn(format!("w{}", 1));
        ctx.error("e");
        let levels: Vec<Level> = ctx.logs().iter().map(|l| l.level).collect();
        assert_eq!(levels, vec![Level::Debug, Level::Warning, Level::Error]);
        assert_eq!(ctx.logs()[1].message, "w1");

        ctx.add_metadata_json(r#"{"a": 1, "b": [true]}"#).unwrap();
        ctx.add_metadata_json(r#"{"a": 2}"#).unwrap();
        assert_eq!(ctx.metadata().to_string(), r#"{"b":[true],"a":2}"#);
        assert_eq!(
            ctx.add_metadata_json(r#"{"rows": 1}"#).unwrap_err().message(),
            "metadata entry \"rows\" is reserved for the host (reserved: rows, bytes, schema, format, duration_ms, module_digest)"
        );
        assert!(ctx.add_metadata_json("[1]").is_err());
        assert!(ctx.add_metadata_json("{").is_err());
    }

    #[test]
    fn test_resources() {
        let ctx = Context::for_test()
            .with_resource("vars", |_| Err(Error::msg("replaced")))
            .with_resource("vars", |req| {
                let name = req.require_str("name")?;
                JsonValue::parse(&format!(r#"{{"value": "v-{}", "found": true}}"#, name))
            })
            .with_resource("kv", |_| Ok(JsonValue::Null));
        let resp = ctx
            .resource("vars", r#"{"op": "get", "name": "X"}"#)
            .unwrap();
        assert_eq!(resp.get_str("value"), Some("v-X"));
        assert_eq!(
            ctx.resource("vars", r#"{"op": "get"}"#)
                .unwrap_err()
                .message(),
            "the field \"name\" is required"
        );
        assert_eq!(
            ctx.resource("files", "{}").unwrap_err().message(),
            "resource \"files\": the test context has no such resource (it has: vars, kv); give one with Context::with_resource"
        );
        assert_eq!(
            ctx.resource("vars", "{").unwrap_err().message(),
            "resource \"vars\": the request: invalid JSON at byte 1: unexpected end of input"
        );
        assert_eq!(
            Context::for_test().resource("x", JsonValue::Null).unwrap_err().message(),
            "resource \"x\": the test context has no such resource (it has: none); give one with Context::with_resource"
        );
    }

    #[test]
    #[should_panic(expected = "Context::with_config_json")]
    fn invalid_test_config_panics() {
        let _ = Context::for_test().with_config_json("{nope");
    }

    fn n_table(values: &[i64]) -> Table {
        use crate::arrow::{Array, DataType, Field, Int64Array, RecordBatch, Schema};
        let schema = Schema::new(vec![Field::new("n", DataType::Int64, true)]);
        let batch =
            RecordBatch::try_new(schema, vec![Array::from(Int64Array::from(values.to_vec()))])
                .unwrap();
        Table::from_batch(batch)
    }

    #[test]
    fn test_partitions_and_inputs() {
        let ctx = Context::for_test()
            .with_asset_key("daily")
            .with_partition_key("2026-01-15|us")
            .with_partition_window("2026-01-15T00:00:00Z", "2026-01-16T00:00:00Z")
            .with_partition_dimensions(&["date", "region"])
            .with_input_json("settings", r#"{"2026-01-14": 1, "2026-01-15": 2}"#)
            .with_input_bytes("blob", b"raw".to_vec())
            .with_input_table("plain", n_table(&[1]))
            .with_input_partitions(
                "hourly",
                vec![
                    ("h0", n_table(&[1, 2])),
                    ("h1", n_table(&[])),
                    ("h2", n_table(&[3])),
                ],
            );
        assert_eq!(
            ctx.partition_window(),
            Some(&PartitionWindow::new(
                "2026-01-15T00:00:00Z",
                "2026-01-16T00:00:00Z"
            ))
        );
        assert_eq!(ctx.partition_dimension("date"), Some("2026-01-15"));
        assert_eq!(ctx.partition_dimension("region"), Some("us"));
        assert_eq!(ctx.partition_dimension("nope"), None);
        assert_eq!(
            ctx.input_names(),
            vec!["settings", "blob", "plain", "hourly"]
        );

        let keyed: Vec<(String, usize)> = ctx
            .input_batches("hourly")
            .unwrap()
            .map(|item| item.map(|(k, b)| (k, b.num_rows())))
            .collect::<Result<_>>()
            .unwrap();
        let want = [("h0", 2), ("h1", 0), ("h2", 1)];
        let want: Vec<(String, usize)> = want.iter().map(|(k, n)| (k.to_string(), *n)).collect();
        assert_eq!(keyed, want);
        // Each read starts again from the beginning, and a table holds every partition.
        assert_eq!(ctx.input::<Table>("hourly").unwrap().num_rows(), 3);
        let plain: Vec<String> = ctx
            .input_batches("plain")
            .unwrap()
            .map(|item| item.map(|(k, _)| k))
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(plain, vec![""]);
        let settings: JsonValue = ctx.input("settings").unwrap();
        assert_eq!(settings.get_i64("2026-01-15"), Some(2));
        assert_eq!(ctx.input::<crate::Bytes>("blob").unwrap().0, b"raw");
        assert_eq!(ctx.input::<Option<crate::Bytes>>("absent").unwrap(), None);

        assert_eq!(
            ctx.input::<Table>("settings").unwrap_err().message(),
            "asset \"daily\": input \"settings\": the test context has it as json, but the type it is read as takes arrow"
        );
        assert_eq!(
            ctx.input_batches("absent").unwrap_err().message(),
            "asset \"daily\": input \"absent\": the test context has no such input (it has: settings, blob, plain, hourly); give one with Context::with_input_table, with_input_partitions, with_input_json or with_input_bytes"
        );
        assert_eq!(
            Context::for_test().input::<Table>("x").unwrap_err().message(),
            "input \"x\": the test context has no such input (it has: none); give one with Context::with_input_table, with_input_partitions, with_input_json or with_input_bytes"
        );
        // An unpartitioned test step: no window, no dimension keys.
        let plain = Context::for_test();
        assert!(plain.partition_window().is_none());
        assert!(plain.partition_dimension_keys().is_empty());
        assert_eq!(plain.partition_dimension("date"), None);
    }

    #[test]
    #[should_panic(
        expected = "Context::with_input_partitions(\"x\"): partition \"b\" has the schema"
    )]
    fn test_partitions_of_different_schemas_panic() {
        use crate::arrow::{Array, DataType, Field, RecordBatch, Schema, StringArray};
        let other = Schema::new(vec![Field::new("s", DataType::Utf8, true)]);
        let batch = RecordBatch::try_new(
            other,
            vec![Array::from(
                vec![Some("a")].into_iter().collect::<StringArray>(),
            )],
        )
        .unwrap();
        let _ = Context::for_test().with_input_partitions(
            "x",
            vec![("a", n_table(&[1])), ("b", Table::from_batch(batch))],
        );
    }
}
