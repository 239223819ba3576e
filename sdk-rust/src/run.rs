//! `wasmorch_manifest` and `wasmorch_run` without the wasm calling convention: the dispatcher
//! that reads the invocation, opens inputs, calls the function and writes its outputs.

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::rc::Rc;

use crate::context::{Context, StepInfo};
use crate::error::{Error, Result};
use crate::host::{
    Format, HostApi, Level, ERR_NOT_FOUND, INPUT_ASSET, OUTPUT_RESULT, RUN_FAILURE, RUN_RETRY,
    RUN_SUCCESS,
};
use crate::json::JsonValue;
use crate::partitions::PartitionWindow;
use crate::registry::{CallError, ErasedOutput, Module, OutValue, StepFn};
use crate::value::{mapping_key_problem, ChunkSource, InputStream, OutputStream};

/// Runs `wasmorch_manifest`: hands the manifest to the host and returns 0, or reports every
/// registration problem (each as an ERROR log line, all of them through `error_set`) and
/// returns 1.
pub(crate) fn write_manifest(module: &Module, host: &dyn HostApi) -> i32 {
    let problems = module.problems();
    if !problems.is_empty() {
        let msgs: Vec<String> = problems
            .iter()
            .map(|p| format!("wasmorch: registration failed: {}", p))
            .collect();
        for m in &msgs {
            report(host, m);
        }
        host.error_set(&msgs.join("; "));
        return 1;
    }
    let json = crate::manifest::manifest_json(module);
    let st = host.manifest_write(&json);
    if st < 0 {
        report(
            host,
            &format!("wasmorch: {}", host.error("manifest_write", st.into())),
        );
        return 1;
    }
    0
}

/// Logs at ERROR level, or writes to stderr if the host refuses.
fn report(host: &dyn HostApi, msg: &str) {
    if host.log(Level::Error, msg) < 0 {
        eprintln!("{}", msg);
    }
}

/// Runs `wasmorch_run` and returns its status: 0, or 1 (2 for [`Error::retry`]) after giving
/// the error's message to `error_set`.
pub(crate) fn run(module: &Module, host: Rc<dyn HostApi>) -> i32 {
    match step(module, &host) {
        Ok(()) => RUN_SUCCESS,
        Err(e) => {
            if host.error_set(e.message()) < 0 {
                // Nothing else can carry the message; stderr at least reaches the event log.
                eprintln!("{}", e.message());
            }
            if e.is_retry() {
                RUN_RETRY
            } else {
                RUN_FAILURE
            }
        }
    }
}

fn step(module: &Module, host: &Rc<dyn HostApi>) -> Result<()> {
    let info =
        read_invocation(&**host).map_err(|e| e.context("wasmorch: reading the invocation"))?;
    let name = info.name.clone();
    match info.kind.as_str() {
        "asset" => {
            let a = module.find_asset(&name).ok_or_else(|| {
                let keys: Vec<&str> = module.assets.iter().map(|a| a.key.as_str()).collect();
                Error::msg(format!(
                    "wasmorch: this module defines no asset \"{}\" (it defines: {})",
                    name,
                    list(&keys)
                ))
            })?;
            // Inputs read through the context are opened by the function, not here.
            let ins: Vec<InputDecl> = a
                .param_ins()
                .zip(&a.in_formats)
                .map(|(i, f)| (i.name.as_str(), *f, false))
                .collect();
            let outs = [(OUTPUT_RESULT.to_string(), a.out_format)];
            let mut info = info;
            if let Some(p) = &a.partitions {
                info.partition_dimensions =
                    p.dimension_names().into_iter().map(String::from).collect();
            }
            let values = call_fn(host, "asset", info, &ins, &a.run)?;
            write_outputs(host, "asset", &name, &outs, values)
        }
        "op" => {
            let o = module.find_op(&name).ok_or_else(|| {
                let names: Vec<&str> = module.ops.iter().map(|o| o.name.as_str()).collect();
                Error::msg(format!(
                    "wasmorch: this module defines no op \"{}\" (it defines: {})",
                    name,
                    list(&names)
                ))
            })?;
            let ins: Vec<InputDecl> = o
                .ins
                .iter()
                .zip(o.in_formats.iter().zip(&o.in_optional))
                .map(|(n, (f, optional))| (n.as_str(), *f, *optional))
                .collect();
            let outs: Vec<(String, Format)> = o
                .out_names()
                .into_iter()
                .zip(o.out_specs.iter().map(|s| s.format))
                .collect();
            let values = call_fn(host, "op", info, &ins, &o.run)?;
            write_outputs(host, "op", &name, &outs, values)
        }
        "check" => {
            let asset = info.checked_asset.clone();
            let c = module.find_check(&name, &asset).ok_or_else(|| {
                let names: Vec<String> = module
                    .checks
                    .iter()
                    .map(|c| format!("{} on {}", c.name, c.asset))
                    .collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                Error::msg(format!(
                    "wasmorch: this module defines no check \"{}\"{} (it defines: {})",
                    name,
                    if asset.is_empty() {
                        String::new()
                    } else {
                        format!(" on asset \"{}\"", asset)
                    },
                    list(&names)
                ))
            })?;
            let ins: Vec<InputDecl> = c
                .in_format
                .iter()
                .map(|(f, optional)| (INPUT_ASSET, *f, *optional))
                .collect();
            let what = format!("check \"{}\" on asset \"{}\"", c.name, c.asset);
            let mut ctx = Context::for_step(info, Rc::clone(host));
            let result = call_with(host, &what, &mut ctx, &ins, &c.run)?;
            if let Some(js) = result.metadata_json().map_err(|e| e.context(&what))? {
                ctx.add_metadata_json(&js)
                    .map_err(|e| e.context(format!("{}: metadata", what)))?;
            }
            host.check(
                "check_result",
                host.check_result(result.passed(), result.severity().code()),
            )
            .map_err(|e| Error::from(e).context(&what))?;
            Ok(())
        }
        kind => Err(Error::msg(format!(
            "wasmorch: the invocation is for {} \"{}\", but the Rust SDK runs assets, ops and \
             checks only",
            kind, name
        ))),
    }
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "nothing".to_string()
    } else {
        names.join(", ")
    }
}

/// An input as the dispatcher opens it: name, format, and whether it may be missing.
type InputDecl<'a> = (&'a str, Format, bool);

/// Opens the inputs and calls the function in a fresh context.
fn call_fn<O>(
    host: &Rc<dyn HostApi>,
    kind: &str,
    info: StepInfo,
    ins: &[InputDecl],
    run: &StepFn<O>,
) -> Result<O> {
    let what = format!("{} \"{}\"", kind, info.name);
    let mut ctx = Context::for_step(info, Rc::clone(host));
    call_with(host, &what, &mut ctx, ins, run)
}

/// Opens the inputs (an optional one the step has no value for is `None`) and calls the
/// function. `what` names the step in errors, such as `asset "x"`.
fn call_with<O>(
    host: &Rc<dyn HostApi>,
    what: &str,
    ctx: &mut Context,
    ins: &[InputDecl],
    run: &StepFn<O>,
) -> Result<O> {
    let mut streams = Vec::with_capacity(ins.len());
    for (input, format, optional) in ins {
        streams.push(
            open_input(
                host,
                input,
                *format,
                *optional,
                "the function's parameter type",
            )
            .map_err(|e| e.context(format!("{}: input \"{}\"", what, input)))?,
        );
    }
    match run(ctx, streams) {
        Ok(v) => Ok(v),
        Err(CallError::Input(i, e)) => Err(e.context(format!("{}: input \"{}\"", what, ins[i].0))),
        Err(CallError::Function(e)) => Err(e),
    }
}

/// Writes and closes every output: a value under its name, nothing for an absent optional
/// output, and each value of a dynamic output as `NAME[KEY]`, in order.
fn write_outputs(
    host: &Rc<dyn HostApi>,
    kind: &str,
    name: &str,
    outs: &[(String, Format)],
    values: Vec<OutValue>,
) -> Result<()> {
    for ((output, format), value) in outs.iter().zip(values) {
        let what = || format!("{} \"{}\": output \"{}\"", kind, name, output);
        match value {
            OutValue::One(v) => {
                write_output(host, output, *format, v).map_err(|e| e.context(what()))?
            }
            OutValue::Absent => {}
            OutValue::Mapped(items) => {
                let mut written: HashSet<String> = HashSet::new();
                for item in items {
                    let (key, v) = item.map_err(|e| e.context(what()))?;
                    if let Some(e) = mapping_key_problem(&key, written.contains(&key)) {
                        return Err(e.context(what()));
                    }
                    let mapped = format!("{}[{}]", output, key);
                    write_output(host, &mapped, *format, v).map_err(|e| {
                        e.context(format!("{} \"{}\": output \"{}\"", kind, name, mapped))
                    })?;
                    written.insert(key);
                }
            }
        }
    }
    Ok(())
}

/// Reads the invocation (ABI.md section 8); unknown fields are ignored.
fn read_invocation(host: &dyn HostApi) -> Result<StepInfo> {
    let n = host.check("invocation_len", host.invocation_len())?;
    let mut buf = vec![0; n as usize];
    let m = host.check("invocation_read", host.invocation_read(&mut buf))?;
    buf.truncate(m as usize);
    let inv = JsonValue::parse_bytes(&buf)?;
    let text = |key: &str| inv.get_str(key).unwrap_or_default().to_string();
    let config = match inv.get("config") {
        None | Some(JsonValue::Null) => JsonValue::Object(Vec::new()),
        Some(c) => c.clone(),
    };
    // A check's asset is its input `asset` (ABI.md 7.3): it tells checks of the same name on
    // different assets apart.
    let checked_asset = inv
        .get("inputs")
        .and_then(JsonValue::as_array)
        .unwrap_or_default()
        .iter()
        .find(|i| i.get_str("name") == Some(INPUT_ASSET))
        .and_then(|i| i.get_str("asset"))
        .unwrap_or_default()
        .to_string();
    let inputs = inv
        .get("inputs")
        .and_then(JsonValue::as_array)
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i.get_str("name").map(String::from))
        .collect();
    // {"start": RFC3339, "end": RFC3339} for time partitions, null otherwise (ABI.md 8).
    let partition_window = inv
        .get("partition_window")
        .and_then(|w| Some(PartitionWindow::new(w.get_str("start")?, w.get_str("end")?)));
    Ok(StepInfo {
        kind: text("kind"),
        name: text("name"),
        checked_asset,
        inputs,
        run_id: text("run_id"),
        step_key: text("step_key"),
        partition_key: text("partition_key"),
        partition_window,
        partition_dimensions: Vec::new(),
        mapping_key: text("mapping_key"),
        attempt: inv
            .get_i64("attempt")
            .and_then(|a| u32::try_from(a).ok())
            .unwrap_or(1),
        config,
    })
}

/// An input's chunks as a reader (ABI.md section 4.3). It reads straight into the caller's
/// buffer, so message bodies land in their final, aligned place. Dropping it closes the handle.
struct HostInput {
    host: Rc<dyn HostApi>,
    handle: i32,
    /// Unread bytes of the current chunk.
    left: u64,
    done: bool,
}

fn io_error(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::Other, e)
}

impl Read for HostInput {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.left == 0 {
            if self.done {
                return Ok(0);
            }
            let n = self.host.input_next(self.handle);
            if n < 0 {
                return Err(io_error(self.host.error("input_next", n)));
            }
            if n == 0 {
                self.done = true;
                return Ok(0);
            }
            self.left = n as u64;
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let m = self.host.input_read(self.handle, &mut buf[..want]);
        if m < 0 {
            return Err(io_error(self.host.error("input_read", m.into())));
        }
        if m == 0 {
            return Err(io_error(format!(
                "input_read returned 0 with {} bytes of the chunk unread",
                self.left
            )));
        }
        self.left -= m as u64;
        Ok(m as usize)
    }
}

impl ChunkSource for HostInput {
    fn partition_key(&mut self) -> Result<String> {
        Ok(self.host.chunk_partition_key(self.handle)?)
    }
}

impl Drop for HostInput {
    fn drop(&mut self) {
        self.host.input_close(self.handle);
    }
}

/// Opens an input; `None` for an optional input the step has no value for. `reader` names
/// what reads it, for the error when the formats differ.
pub(crate) fn open_input(
    host: &Rc<dyn HostApi>,
    name: &str,
    want: Format,
    optional: bool,
    reader: &str,
) -> Result<Option<InputStream>> {
    let handle = host.input_open(name);
    if handle == ERR_NOT_FOUND && optional {
        return Ok(None);
    }
    let handle = host.check("input_open", handle)?;
    let input = HostInput {
        host: Rc::clone(host),
        handle,
        left: 0,
        done: false,
    };
    let code = host.check("input_format", host.input_format(handle))?;
    match Format::from_code(code) {
        Some(f) if f == want => Ok(Some(InputStream::new(Box::new(input)))),
        got => Err(Error::msg(format!(
            "the host sends it as {}, but {} takes {}",
            got.map_or_else(|| format!("format {}", code), |f| f.name().to_string()),
            reader,
            want
        ))),
    }
}

/// `output_write` as a `Write`.
struct HostOutput<'h> {
    host: &'h dyn HostApi,
    handle: i32,
}

impl Write for HostOutput<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let st = self.host.output_write(self.handle, buf);
        if st < 0 {
            return Err(io_error(self.host.error("output_write", st.into())));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn write_output(
    host: &Rc<dyn HostApi>,
    name: &str,
    format: Format,
    value: Box<dyn ErasedOutput>,
) -> Result<()> {
    let host: &dyn HostApi = &**host;
    let handle = host.check("output_open", host.output_open(name, format))?;
    let mut sink = HostOutput { host, handle };
    {
        let mut out = OutputStream::new(&mut sink);
        value.write_boxed(&mut out)?;
        out.flush_to_host()?;
    }
    host.check("output_close", host.output_close(handle))?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod fakehost {
    //! An in-memory host for running whole steps natively.

    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use super::*;
    use crate::host::{ERR_INVALID, ERR_NOT_FOUND, ERR_STATE};

    #[derive(Default)]
    pub(crate) struct State {
        pub invocation: String,
        /// Inputs by name: format and chunks.
        pub inputs: BTreeMap<String, (Format, Vec<Vec<u8>>)>,
        /// The partition key of each chunk of an input, by input name; "" where missing.
        pub input_keys: BTreeMap<String, Vec<String>>,
        /// `input_partition_key` calls.
        pub key_calls: usize,
        /// Outputs by name: declared format, then what was written and whether it was closed.
        pub outputs: BTreeMap<String, (Format, Vec<u8>, bool)>,
        pub open_inputs: BTreeMap<i32, (String, usize, Vec<u8>, usize)>,
        pub open_outputs: BTreeMap<i32, String>,
        pub next_handle: i32,
        pub last_error: String,
        pub error: Option<String>,
        pub logs: Vec<(Level, String)>,
        pub metadata: Vec<String>,
        pub manifest: Option<String>,
        pub max_read: usize,
        /// Outputs declared dynamic: opened only as `NAME[KEY]`, stored under that name.
        pub dynamic: Vec<String>,
        /// `check_result` calls: (passed, severity).
        pub check_results: Vec<(bool, i32)>,
        /// Resources by key: the response, or a status code and message.
        pub resources: BTreeMap<String, std::result::Result<String, (i32, String)>>,
        pub resource_requests: Vec<(String, String)>,
        pub response: Vec<u8>,
    }

    pub(crate) struct FakeHost(pub RefCell<State>);

    impl FakeHost {
        pub(crate) fn new(invocation: &str) -> Rc<FakeHost> {
            Rc::new(FakeHost(RefCell::new(State {
                invocation: invocation.to_string(),
                max_read: usize::MAX,
                ..State::default()
            })))
        }

        fn fail(&self, code: i32, msg: String) -> i32 {
            self.0.borrow_mut().last_error = msg;
            code
        }
    }

    impl HostApi for FakeHost {
        fn last_error_len(&self) -> i32 {
            self.0.borrow().last_error.len() as i32
        }
        fn last_error_read(&self, buf: &mut [u8]) -> i32 {
            let s = self.0.borrow();
            let n = buf.len().min(s.last_error.len());
            buf[..n].copy_from_slice(&s.last_error.as_bytes()[..n]);
            n as i32
        }
        fn invocation_len(&self) -> i32 {
            self.0.borrow().invocation.len() as i32
        }
        fn invocation_read(&self, buf: &mut [u8]) -> i32 {
            let s = self.0.borrow();
            let n = buf.len().min(s.invocation.len());
            buf[..n].copy_from_slice(&s.invocation.as_bytes()[..n]);
            n as i32
        }
        fn input_open(&self, name: &str) -> i32 {
            if !self.0.borrow().inputs.contains_key(name) {
                return self.fail(ERR_NOT_FOUND, format!("no input \"{}\"", name));
            }
            let mut s = self.0.borrow_mut();
            let h = s.next_handle;
            s.next_handle += 1;
            s.open_inputs
                .insert(h, (name.to_string(), 0, Vec::new(), 0));
            h
        }
        fn input_format(&self, handle: i32) -> i32 {
            let s = self.0.borrow();
            match s.open_inputs.get(&handle) {
                Some((name, ..)) => s.inputs[name].0 as i32,
                None => ERR_INVALID,
            }
        }
        fn input_next(&self, handle: i32) -> i64 {
            let mut s = self.0.borrow_mut();
            let (name, next, _, _) = s.open_inputs[&handle].clone();
            let chunk = s.inputs[&name].1.get(next).cloned();
            let e = s.open_inputs.get_mut(&handle).unwrap();
            match chunk {
                Some(c) => {
                    e.1 += 1;
                    e.2 = c;
                    e.3 = 0;
                    e.2.len() as i64
                }
                None => {
                    e.2.clear();
                    0
                }
            }
        }
        fn input_read(&self, handle: i32, buf: &mut [u8]) -> i32 {
            let mut s = self.0.borrow_mut();
            let max = s.max_read;
            let e = s.open_inputs.get_mut(&handle).unwrap();
            let n = buf.len().min(e.2.len() - e.3).min(max);
            buf[..n].copy_from_slice(&e.2[e.3..e.3 + n]);
            e.3 += n;
            n as i32
        }
        fn input_close(&self, handle: i32) -> i32 {
            self.0.borrow_mut().open_inputs.remove(&handle);
            0
        }
        fn input_partition_key(&self, handle: i32, buf: &mut [u8]) -> i32 {
            let mut s = self.0.borrow_mut();
            s.key_calls += 1;
            let key = match s.open_inputs.get(&handle) {
                None => return ERR_INVALID,
                Some((_, 0, ..)) => String::new(),
                Some((name, entered, ..)) => s
                    .input_keys
                    .get(name)
                    .and_then(|keys| keys.get(entered - 1))
                    .cloned()
                    .unwrap_or_default(),
            };
            let n = buf.len().min(key.len());
            buf[..n].copy_from_slice(&key.as_bytes()[..n]);
            key.len() as i32
        }
        fn output_open(&self, name: &str, format: Format) -> i32 {
            let (base, mapped) = match name.strip_suffix(']').and_then(|n| n.split_once('[')) {
                Some((base, key)) if crate::host::valid_mapping_key(key) => (base, true),
                _ => (name, false),
            };
            let dynamic = self.0.borrow().dynamic.iter().any(|d| d == base);
            if dynamic != mapped {
                return self.fail(
                    ERR_INVALID,
                    format!("output \"{}\": dynamic is {}", name, dynamic),
                );
            }
            if mapped {
                let mut s = self.0.borrow_mut();
                if s.outputs.contains_key(name) {
                    drop(s);
                    return self.fail(ERR_STATE, format!("output \"{}\" was already opened", name));
                }
                let f = s.outputs[base].0;
                s.outputs.insert(name.to_string(), (f, Vec::new(), false));
            }
            let declared = self.0.borrow().outputs.get(name).map(|o| o.0);
            match declared {
                None => self.fail(ERR_NOT_FOUND, format!("no output \"{}\"", name)),
                Some(f) if f != format => self.fail(
                    ERR_INVALID,
                    format!("output \"{}\" is declared {}", name, f),
                ),
                Some(_) => {
                    let mut s = self.0.borrow_mut();
                    let h = s.next_handle;
                    s.next_handle += 1;
                    s.open_outputs.insert(h, name.to_string());
                    h
                }
            }
        }
        fn output_write(&self, handle: i32, data: &[u8]) -> i32 {
            let mut s = self.0.borrow_mut();
            let name = s.open_outputs[&handle].clone();
            s.outputs.get_mut(&name).unwrap().1.extend_from_slice(data);
            0
        }
        fn output_close(&self, handle: i32) -> i32 {
            let mut s = self.0.borrow_mut();
            match s.open_outputs.remove(&handle) {
                Some(name) => {
                    s.outputs.get_mut(&name).unwrap().2 = true;
                    0
                }
                None => ERR_STATE,
            }
        }
        fn error_set(&self, message: &str) -> i32 {
            self.0.borrow_mut().error = Some(message.to_string());
            0
        }
        fn metadata_add(&self, json: &str) -> i32 {
            self.0.borrow_mut().metadata.push(json.to_string());
            0
        }
        fn check_result(&self, passed: bool, severity: i32) -> i32 {
            self.0.borrow_mut().check_results.push((passed, severity));
            0
        }
        fn resource_call(&self, key: &str, request: &[u8]) -> i64 {
            let mut s = self.0.borrow_mut();
            s.resource_requests.push((
                key.to_string(),
                String::from_utf8_lossy(request).into_owned(),
            ));
            match s.resources.get(key).cloned() {
                Some(Ok(resp)) => {
                    s.response = resp.into_bytes();
                    s.response.len() as i64
                }
                Some(Err((code, msg))) => {
                    s.last_error = msg;
                    code.into()
                }
                None => {
                    s.last_error = format!("no resource \"{}\"", key);
                    crate::host::ERR_DENIED.into()
                }
            }
        }
        fn response_read(&self, buf: &mut [u8]) -> i32 {
            let s = self.0.borrow();
            let n = buf.len().min(s.response.len());
            buf[..n].copy_from_slice(&s.response[..n]);
            n as i32
        }
        fn log(&self, level: Level, message: &str) -> i32 {
            self.0.borrow_mut().logs.push((level, message.to_string()));
            0
        }
        fn manifest_write(&self, json: &str) -> i32 {
            self.0.borrow_mut().manifest = Some(json.to_string());
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fakehost::FakeHost;
    use super::*;
    use crate::arrow::{Array, DataType, Field, Int64Array, RecordBatch, Schema, Table};
    use crate::prelude::*;

    fn invocation(kind: &str, name: &str, extra: &str) -> String {
        format!(
            r#"{{"abi_version":1,"kind":"{}","name":"{}","run_id":"r1","step_key":"{}","attempt":2,"partition_key":"p","partition_window":null,"config":{{"k":"v"}},"future_field":[1]{}}}"#,
            kind, name, name, extra
        )
    }

    fn n_table(batches: &[&[i64]]) -> Table {
        let schema = Schema::new(vec![Field::new("n", DataType::Int64, true)]);
        let batches = batches
            .iter()
            .map(|v| {
                RecordBatch::try_new(
                    schema.clone(),
                    vec![Array::from(Int64Array::from(v.to_vec()))],
                )
                .unwrap()
            })
            .collect();
        Table::new(schema, batches).unwrap()
    }

    /// The chunks the host sends for a table: the schema with batch 0, then one batch each,
    /// then the end-of-stream marker.
    fn chunks(t: &Table) -> Vec<Vec<u8>> {
        let mut w = crate::arrow::ipc::StreamWriter::try_new(Vec::new(), t.schema()).unwrap();
        let mut cuts = Vec::new();
        for b in t.batches() {
            w.write(b).unwrap();
            cuts.push(w.get_ref().len());
        }
        let bytes = w.finish().unwrap();
        let mut out = Vec::new();
        let mut prev = 0;
        for c in cuts {
            out.push(bytes[prev..c].to_vec());
            prev = c;
        }
        out.push(bytes[prev..].to_vec());
        out
    }

    fn double(ctx: &mut Context, input: BatchReader) -> Result<BatchReader> {
        ctx.info(format!(
            "run {} attempt {} partition {}",
            ctx.run_id(),
            ctx.attempt(),
            ctx.partition_key()
        ));
        let schema = input.schema().clone();
        let out_schema = schema.clone();
        Ok(BatchReader::new(
            schema,
            input.map(move |b| {
                let b = b?;
                let n: &Int64Array = b.column_as("n")?;
                let doubled: Int64Array = n.iter().map(|v| v.map(|v| v * 2)).collect();
                RecordBatch::try_new(out_schema.clone(), vec![Array::from(doubled)])
            }),
        ))
    }

    fn parity(_: &mut Context, input: Table) -> Result<(Table, Json)> {
        let rows = input.num_rows() as i64;
        Ok((input, Json(format!("{{\"rows\":{}}}", rows))))
    }

    fn fails(ctx: &mut Context) -> Result<Bytes> {
        ctx.config().require_str("missing")?;
        Ok(Bytes::default())
    }

    fn retries(_: &mut Context) -> Result<Bytes> {
        Err(Error::retry("try later"))
    }

    fn module() -> Module {
        let mut m = Module::new();
        m.add(asset("double", double).input("in", "src"))
            .add(asset("fails", fails))
            .add(asset("retries", retries))
            .add(op("parity", parity).ins(&["in"]).outs(&["table", "count"]));
        m
    }

    #[test]
    fn streams_an_asset_batch_by_batch() {
        let input = n_table(&[&[1, 2], &[], &[3]]);
        let host = FakeHost::new(&invocation("asset", "double", ""));
        {
            let mut s = host.0.borrow_mut();
            s.inputs
                .insert("in".into(), (Format::Arrow, chunks(&input)));
            s.outputs
                .insert("result".into(), (Format::Arrow, Vec::new(), false));
            s.max_read = 1000; // force partial reads
        }
        let status = run(&module(), host.clone());
        let s = host.0.borrow();
        assert_eq!(status, RUN_SUCCESS, "error: {:?}", s.error);
        assert!(s.open_inputs.is_empty(), "the input handle was closed");
        let (_, bytes, closed) = &s.outputs["result"];
        assert!(closed);
        let out = Table::from_ipc(bytes).unwrap();
        assert_eq!(out, n_table(&[&[2, 4], &[], &[6]]));
        assert_eq!(
            s.logs,
            vec![(Level::Info, "run r1 attempt 2 partition p".to_string())]
        );
    }

    #[test]
    fn op_writes_every_output_in_order() {
        let host = FakeHost::new(&invocation("op", "parity", ""));
        {
            let mut s = host.0.borrow_mut();
            s.inputs.insert(
                "in".into(),
                (Format::Arrow, chunks(&n_table(&[&[1], &[2, 3]]))),
            );
            s.outputs
                .insert("table".into(), (Format::Arrow, Vec::new(), false));
            s.outputs
                .insert("count".into(), (Format::Json, Vec::new(), false));
        }
        assert_eq!(run(&module(), host.clone()), RUN_SUCCESS);
        let s = host.0.borrow();
        assert_eq!(s.outputs["count"].1, b"{\"rows\":3}");
        assert_eq!(
            Table::from_ipc(&s.outputs["table"].1).unwrap().num_rows(),
            3
        );
    }

    #[test]
    fn errors_reach_error_set() {
        let cases = [
            (invocation("asset", "fails", ""), RUN_FAILURE, "the field \"missing\" is required"),
            (invocation("asset", "retries", ""), RUN_RETRY, "try later"),
            (
                invocation("asset", "nope", ""),
                RUN_FAILURE,
                "wasmorch: this module defines no asset \"nope\" (it defines: double, fails, retries)",
            ),
            (
                invocation("sensor", "s", ""),
                RUN_FAILURE,
                "wasmorch: the invocation is for sensor \"s\", but the Rust SDK runs assets, ops and checks only",
            ),
            (
                invocation("asset", "double", ""),
                RUN_FAILURE,
                "asset \"double\": input \"in\": input_open returned ERR_NOT_FOUND: no input \"in\"",
            ),
            (
                "{".to_string(),
                RUN_FAILURE,
                "wasmorch: reading the invocation: invalid JSON at byte 1: unexpected end of input",
            ),
        ];
        for (inv, want_status, want_msg) in cases {
            let host = FakeHost::new(&inv);
            assert_eq!(run(&module(), host.clone()), want_status, "{}", inv);
            assert_eq!(host.0.borrow().error.as_deref(), Some(want_msg));
        }
    }

    #[test]
    fn bad_input_data_names_the_input() {
        let host = FakeHost::new(&invocation("asset", "double", ""));
        {
            let mut s = host.0.borrow_mut();
            s.inputs
                .insert("in".into(), (Format::Arrow, vec![b"not arrow".to_vec()]));
            s.outputs
                .insert("result".into(), (Format::Arrow, Vec::new(), false));
        }
        assert_eq!(run(&module(), host.clone()), RUN_FAILURE);
        let err = host.0.borrow().error.clone().unwrap();
        assert!(
            err.starts_with("asset \"double\": input \"in\": Arrow IPC stream:"),
            "{}",
            err
        );

        let host = FakeHost::new(&invocation("asset", "double", ""));
        host.0
            .borrow_mut()
            .inputs
            .insert("in".into(), (Format::Json, vec![b"{}".to_vec()]));
        assert_eq!(run(&module(), host.clone()), RUN_FAILURE);
        assert_eq!(
            host.0.borrow().error.as_deref(),
            Some("asset \"double\": input \"in\": the host sends it as json, but the function's parameter type takes arrow")
        );
    }

    #[test]
    fn manifest_export() {
        let host = FakeHost::new("");
        assert_eq!(write_manifest(&module(), &*host), 0);
        let m = host.0.borrow().manifest.clone().unwrap();
        assert!(m.starts_with(r#"{"abi_version":1,"sdk":{"name":"wasmorch-rust","version":"0.1.0"},"assets":[{"key":"double","ins":[{"name":"in","asset":"src","format":"arrow"}]"#), "{}", m);

        let mut bad = Module::new();
        bad.add(asset("x y", fails)).add(asset("x y", fails));
        let host = FakeHost::new("");
        assert_eq!(write_manifest(&bad, &*host), 1);
        let s = host.0.borrow();
        assert!(s.manifest.is_none());
        assert_eq!(s.logs.len(), 3);
        assert!(s.logs.iter().all(|(l, m)| *l == Level::Error
            && m.starts_with("wasmorch: registration failed: asset \"x y\": ")));
        let joined: Vec<&str> = s.logs.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(s.error.as_deref(), Some(joined.join("; ").as_str()));
    }

    // ---- checks, resources, fan-out, optional values ----

    fn bytes_ok(_: &mut Context) -> Result<Bytes> {
        Ok(Bytes::from("ok"))
    }

    fn is_ok(ctx: &mut Context, v: Bytes) -> Result<CheckResult> {
        ctx.info(format!("checking {}", ctx.asset_key()));
        Ok(CheckResult::new(v.0 == b"ok")
            .with_metadata(Object::new().int("length", v.0.len() as i64)))
    }

    fn warns(_: &mut Context) -> Result<CheckResult> {
        Ok(CheckResult::fail().with_severity(Severity::Warn))
    }

    fn reserved(_: &mut Context) -> Result<CheckResult> {
        Ok(CheckResult::pass().with_metadata(Object::new().int("rows", 1)))
    }

    fn uses_resource(ctx: &mut Context) -> Result<Bytes> {
        let resp = ctx.resource(
            "vars",
            Object::new()
                .string("op", "get")
                .string("name", "CONFORMANCE_VAR"),
        )?;
        Ok(Bytes::from(resp.require_str("value")?))
    }

    fn fan_out(_: &mut Context) -> Result<(Dynamic<JsonValue>, JsonValue)> {
        let mut chunks = Dynamic::new();
        for (k, v) in [("a", 1i64), ("b", 2), ("c", 3)] {
            chunks.push(k, JsonValue::from(v))?;
        }
        Ok((chunks, JsonValue::from(3i64)))
    }

    fn bad_key(_: &mut Context) -> Result<Dynamic<Bytes>> {
        Ok(Dynamic::new()
            .with("ok", Bytes::from("1"))
            .with("not-ok", Bytes::from("2")))
    }

    fn twice(_: &mut Context) -> Result<Dynamic<Bytes>> {
        Ok(Dynamic::from_iter_lazy(vec![
            Ok(("a".to_string(), Bytes::from("1"))),
            Ok(("a".to_string(), Bytes::from("2"))),
        ]))
    }

    fn maybe(_: &mut Context, n: Option<JsonValue>) -> Result<(Option<Bytes>, Bytes)> {
        match n {
            Some(n) => Ok((Some(Bytes::from(n.to_string())), Bytes::from("some"))),
            None => Ok((None, Bytes::from("none"))),
        }
    }

    fn mapped(ctx: &mut Context, n: JsonValue) -> Result<Json> {
        let n = n.as_i64().context("n is not an integer")?;
        Ok(Json::from(
            Object::new()
                .string("key", ctx.mapping_key())
                .int("n2", 2 * n),
        ))
    }

    fn extras() -> Module {
        let mut m = Module::new();
        m.add(asset("checked", bytes_ok))
            .add(check("is_ok", "checked", is_ok).blocking(true))
            .add(check("warns", "checked", warns))
            .add(check("is_ok", "other", is_ok))
            .add(check("reserved", "checked", reserved))
            .add(asset("uses_resource", uses_resource).resources(&["vars"]))
            .add(op("fan_out", fan_out).outs(&["chunks", "count"]))
            .add(op("bad_key", bad_key).outs(&["chunks"]))
            .add(op("twice", twice).outs(&["chunks"]))
            .add(op("maybe", maybe).ins(&["n"]).outs(&["value", "which"]))
            .add(op("mapped", mapped).ins(&["n"]));
        m
    }

    fn check_invocation(name: &str, asset: &str) -> String {
        invocation(
            "check",
            name,
            &format!(
                r#","inputs":[{{"name":"asset","format":"bytes","asset":"{}"}}]"#,
                asset
            ),
        )
    }

    #[test]
    fn checks_report_through_check_result() {
        for (value, passed) in [(&b"ok"[..], true), (&b"nope"[..], false)] {
            let host = FakeHost::new(&check_invocation("is_ok", "checked"));
            host.0
                .borrow_mut()
                .inputs
                .insert("asset".into(), (Format::Bytes, vec![value.to_vec()]));
            assert_eq!(run(&extras(), host.clone()), RUN_SUCCESS);
            let s = host.0.borrow();
            assert_eq!(s.check_results, vec![(passed, 1)]);
            assert_eq!(s.metadata, vec![format!(r#"{{"length":{}}}"#, value.len())]);
            assert_eq!(s.logs, vec![(Level::Info, "checking checked".to_string())]);
        }

        // A check that reads nothing does not open the input.
        let host = FakeHost::new(&check_invocation("warns", "checked"));
        assert_eq!(run(&extras(), host.clone()), RUN_SUCCESS);
        assert_eq!(host.0.borrow().check_results, vec![(false, 0)]);
        assert!(host.0.borrow().metadata.is_empty());
    }

    #[test]
    fn check_errors() {
        let cases = [
            (
                check_invocation("reserved", "checked"),
                "check \"reserved\" on asset \"checked\": metadata: metadata entry \"rows\" is reserved for the host (reserved: rows, bytes, schema, format, duration_ms, module_digest)",
            ),
            (
                check_invocation("nope", "checked"),
                "wasmorch: this module defines no check \"nope\" on asset \"checked\" (it defines: is_ok on checked, warns on checked, is_ok on other, reserved on checked)",
            ),
            (
                // Two checks are named is_ok; without the input, the SDK cannot tell which.
                invocation("check", "is_ok", ""),
                "wasmorch: this module defines no check \"is_ok\" (it defines: is_ok on checked, warns on checked, is_ok on other, reserved on checked)",
            ),
            (
                check_invocation("is_ok", "checked"),
                "check \"is_ok\" on asset \"checked\": input \"asset\": input_open returned ERR_NOT_FOUND: no input \"asset\"",
            ),
        ];
        for (inv, want) in cases {
            let host = FakeHost::new(&inv);
            assert_eq!(run(&extras(), host.clone()), RUN_FAILURE, "{}", inv);
            let s = host.0.borrow();
            assert_eq!(s.error.as_deref(), Some(want));
            assert!(s.check_results.is_empty());
        }
    }

    #[test]
    fn resources_go_through_resource_call() {
        let host = FakeHost::new(&invocation("asset", "uses_resource", ""));
        {
            let mut s = host.0.borrow_mut();
            s.resources.insert(
                "vars".into(),
                Ok(r#"{"value":"from the host","found":true}"#.into()),
            );
            s.outputs
                .insert("result".into(), (Format::Bytes, Vec::new(), false));
        }
        assert_eq!(run(&extras(), host.clone()), RUN_SUCCESS);
        let s = host.0.borrow();
        assert_eq!(s.outputs["result"].1, b"from the host");
        assert_eq!(
            s.resource_requests,
            vec![(
                "vars".to_string(),
                r#"{"op":"get","name":"CONFORMANCE_VAR"}"#.to_string()
            )]
        );
    }

    #[test]
    fn a_denied_resource_fails_with_the_hosts_message() {
        let host = FakeHost::new(&invocation("asset", "uses_resource", ""));
        {
            let mut s = host.0.borrow_mut();
            s.resources.insert(
                "vars".into(),
                Err((
                    crate::host::ERR_DENIED,
                    "no resource \"vars\" is granted in wasmorch.yaml".into(),
                )),
            );
            s.outputs
                .insert("result".into(), (Format::Bytes, Vec::new(), false));
        }
        assert_eq!(run(&extras(), host.clone()), RUN_FAILURE);
        assert_eq!(
            host.0.borrow().error.as_deref(),
            Some("resource_call returned ERR_DENIED: no resource \"vars\" is granted in wasmorch.yaml")
        );

        // A response that is not JSON is named.
        let host = FakeHost::new(&invocation("asset", "uses_resource", ""));
        host.0
            .borrow_mut()
            .resources
            .insert("vars".into(), Ok("{".into()));
        assert_eq!(run(&extras(), host.clone()), RUN_FAILURE);
        assert_eq!(
            host.0.borrow().error.as_deref(),
            Some(
                "resource \"vars\": the response: invalid JSON at byte 1: unexpected end of input"
            )
        );
    }

    fn op_host(name: &str, extra: &str, outs: &[(&str, Format)], dynamic: &[&str]) -> Rc<FakeHost> {
        let host = FakeHost::new(&invocation("op", name, extra));
        {
            let mut s = host.0.borrow_mut();
            for (o, f) in outs {
                s.outputs.insert(o.to_string(), (*f, Vec::new(), false));
            }
            s.dynamic = dynamic.iter().map(|d| d.to_string()).collect();
        }
        host
    }

    #[test]
    fn dynamic_outputs_are_written_per_mapping_key() {
        let host = op_host(
            "fan_out",
            "",
            &[("chunks", Format::Json), ("count", Format::Json)],
            &["chunks"],
        );
        assert_eq!(
            run(&extras(), host.clone()),
            RUN_SUCCESS,
            "{:?}",
            host.0.borrow().error
        );
        let s = host.0.borrow();
        for (name, want) in [
            ("chunks[a]", "1"),
            ("chunks[b]", "2"),
            ("chunks[c]", "3"),
            ("count", "3"),
        ] {
            let (_, data, closed) = &s.outputs[name];
            assert!(closed, "{}", name);
            assert_eq!(String::from_utf8_lossy(data), want, "{}", name);
        }
        assert!(s.outputs["chunks"].1.is_empty());
    }

    #[test]
    fn bad_mapping_keys_fail_the_step() {
        let host = op_host("bad_key", "", &[("chunks", Format::Bytes)], &["chunks"]);
        assert_eq!(run(&extras(), host.clone()), RUN_FAILURE);
        assert_eq!(
            host.0.borrow().error.as_deref(),
            Some("op \"bad_key\": output \"chunks\": invalid mapping key \"not-ok\": a mapping key is 1 to 255 characters of A-Z, a-z, 0-9 and _ (^[A-Za-z0-9_]+$), but it has other characters")
        );
        let host = op_host("twice", "", &[("chunks", Format::Bytes)], &["chunks"]);
        assert_eq!(run(&extras(), host.clone()), RUN_FAILURE);
        assert_eq!(
            host.0.borrow().error.as_deref(),
            Some("op \"twice\": output \"chunks\": the mapping key \"a\" is used twice; each key names one value")
        );
    }

    #[test]
    fn optional_inputs_and_outputs() {
        let outs = [("value", Format::Bytes), ("which", Format::Bytes)];
        // The input is missing: None in, the optional output not opened.
        let host = op_host("maybe", "", &outs, &[]);
        assert_eq!(
            run(&extras(), host.clone()),
            RUN_SUCCESS,
            "{:?}",
            host.0.borrow().error
        );
        {
            let s = host.0.borrow();
            assert_eq!(s.outputs["which"].1, b"none");
            assert!(!s.outputs["value"].2, "the optional output was not opened");
        }
        let host = op_host("maybe", "", &outs, &[]);
        host.0
            .borrow_mut()
            .inputs
            .insert("n".into(), (Format::Json, vec![b"7".to_vec()]));
        assert_eq!(run(&extras(), host.clone()), RUN_SUCCESS);
        let s = host.0.borrow();
        assert_eq!(s.outputs["which"].1, b"some");
        assert_eq!(s.outputs["value"].1, b"7");
        assert!(s.outputs["value"].2);
    }

    #[test]
    fn mapped_ops_see_their_key() {
        let host = op_host(
            "mapped",
            r#","mapping_key":"b""#,
            &[("result", Format::Json)],
            &[],
        );
        host.0
            .borrow_mut()
            .inputs
            .insert("n".into(), (Format::Json, vec![b"21".to_vec()]));
        assert_eq!(run(&extras(), host.clone()), RUN_SUCCESS);
        assert_eq!(
            host.0.borrow().outputs["result"].1,
            br#"{"key":"b","n2":42}"#
        );
    }

    // ---- partitions ----

    /// One `INPUT:KEY:ROWS` entry per batch of every input, read through the context, and the
    /// step's own key, window and region.
    fn per_batch(ctx: &mut Context) -> Result<Json> {
        let mut rows = Vec::new();
        for name in ctx.input_names() {
            for item in ctx.input_batches(name)? {
                let (key, batch) = item?;
                rows.push(JsonValue::from(format!(
                    "{}:{}:{}",
                    name,
                    key,
                    batch.num_rows()
                )));
            }
        }
        let window = ctx
            .partition_window()
            .map(|w| w.to_string())
            .unwrap_or_default();
        Ok(Json::from(
            Object::new()
                .string("key", ctx.partition_key())
                .string("window", &window)
                .string("region", ctx.partition_dimension("region").unwrap_or("-"))
                .value("batches", &JsonValue::Array(rows)),
        ))
    }

    /// The same input as a keyed parameter and as a whole table.
    fn keyed_param(_: &mut Context, keyed: PartitionedBatches, whole: Table) -> Result<Json> {
        let parts: Vec<String> = keyed
            .read_partitions()?
            .into_iter()
            .map(|(k, t)| format!("{}={}", k, t.num_rows()))
            .collect();
        Ok(Json(format!(
            "{{\"parts\":\"{}\",\"whole\":{}}}",
            parts.join(","),
            whole.num_rows()
        )))
    }

    fn parts() -> Module {
        let mut m = Module::new();
        m.add(
            asset("per_batch", per_batch)
                .partitions(Partitions::multi(vec![
                    ("date", Partitions::daily("2026-01-01")),
                    ("region", Partitions::static_keys(&["us", "eu"])),
                ]))
                .context_input("hourly", "hourly_events", Format::Arrow)
                .context_input("plain", "plain", Format::Arrow)
                .partition_mapping("plain", PartitionMapping::all()),
        )
        .add(
            asset("keyed_param", keyed_param)
                .input_mapped("keyed", "hourly_events", PartitionMapping::time_window())
                .input("whole", "hourly_events"),
        );
        m
    }

    fn partitioned_invocation(name: &str, key: &str, window: &str, inputs: &[&str]) -> String {
        let inputs: Vec<String> = inputs
            .iter()
            .map(|i| format!(r#"{{"name":"{}","format":"arrow","asset":"{}"}}"#, i, i))
            .collect();
        format!(
            r#"{{"abi_version":1,"kind":"asset","name":"{}","run_id":"r","step_key":"{}[{}]","attempt":1,"partition_key":"{}","partition_window":{},"config":{{}},"inputs":[{}],"outputs":[{{"name":"result","format":"json"}}]}}"#,
            name,
            name,
            key,
            key,
            window,
            inputs.join(",")
        )
    }

    fn json_result(host: &FakeHost) -> JsonValue {
        let s = host.0.borrow();
        assert_eq!(s.error, None);
        JsonValue::parse_bytes(&s.outputs["result"].1).unwrap()
    }

    #[test]
    fn each_batch_comes_with_its_chunks_partition_key() {
        let host = FakeHost::new(&partitioned_invocation(
            "per_batch",
            "2026-01-15|us",
            r#"{"start":"2026-01-15T00:00:00Z","end":"2026-01-16T00:00:00Z"}"#,
            &["hourly", "plain"],
        ));
        {
            let mut s = host.0.borrow_mut();
            // Three batches of two partitions, then the end-of-stream marker in a chunk of its
            // own, whose key is "".
            s.inputs.insert(
                "hourly".into(),
                (
                    Format::Arrow,
                    chunks(&n_table(&[&[1, 2], &[3], &[4, 5, 6]])),
                ),
            );
            s.input_keys.insert(
                "hourly".into(),
                vec!["h00".into(), "h00".into(), "h01".into(), "".into()],
            );
            s.inputs
                .insert("plain".into(), (Format::Arrow, chunks(&n_table(&[&[7]]))));
            s.outputs
                .insert("result".into(), (Format::Json, Vec::new(), false));
            s.max_read = 7; // force partial reads across message boundaries
        }
        assert_eq!(run(&parts(), host.clone()), RUN_SUCCESS);
        assert_eq!(
            json_result(&host).to_string(),
            concat!(
                r#"{"key":"2026-01-15|us","window":"[2026-01-15T00:00:00Z, 2026-01-16T00:00:00Z)","#,
                r#""region":"us","batches":["hourly:h00:2","hourly:h00:1","hourly:h01:3","plain::1"]}"#
            )
        );
        let s = host.0.borrow();
        assert_eq!(s.key_calls, 4, "one input_partition_key call per batch");
        assert!(s.open_inputs.is_empty(), "the handles were closed");
    }

    #[test]
    fn a_window_of_null_and_an_unpartitioned_step() {
        let host = FakeHost::new(&partitioned_invocation("per_batch", "", "null", &[]));
        host.0
            .borrow_mut()
            .outputs
            .insert("result".into(), (Format::Json, Vec::new(), false));
        assert_eq!(run(&parts(), host.clone()), RUN_SUCCESS);
        assert_eq!(
            json_result(&host).to_string(),
            r#"{"key":"","window":"","region":"-","batches":[]}"#
        );
    }

    #[test]
    fn keyed_and_whole_table_parameters_read_the_same_stream() {
        let long = "k".repeat(300); // longer than the first buffer: read again at full length
        let host = FakeHost::new(&partitioned_invocation(
            "keyed_param",
            "2026-01-15",
            "null",
            &["keyed", "whole"],
        ));
        {
            let mut s = host.0.borrow_mut();
            let table = chunks(&n_table(&[&[1, 2], &[3], &[], &[4]]));
            let keys = vec![
                "a".to_string(),
                "a".into(),
                long.clone(),
                "b".into(),
                "".into(),
            ];
            for input in ["keyed", "whole"] {
                s.inputs
                    .insert(input.into(), (Format::Arrow, table.clone()));
                s.input_keys.insert(input.into(), keys.clone());
            }
            s.outputs
                .insert("result".into(), (Format::Json, Vec::new(), false));
        }
        assert_eq!(run(&parts(), host.clone()), RUN_SUCCESS);
        assert_eq!(
            json_result(&host).to_string(),
            format!(r#"{{"parts":"a=3,{}=0,b=1","whole":4}}"#, long)
        );
        // Four batches for the keyed parameter, one of them read twice; none for the table.
        assert_eq!(host.0.borrow().key_calls, 5);
    }

    #[test]
    fn context_input_errors_name_the_asset_and_input() {
        let cases: [(&str, Option<(Format, &[u8])>, &str); 2] = [
            (
                "missing",
                None,
                "asset \"per_batch\": input \"hourly\": input_open returned ERR_NOT_FOUND: no input \"hourly\"",
            ),
            (
                "json",
                Some((Format::Json, b"{}")),
                "asset \"per_batch\": input \"hourly\": the host sends it as json, but the type it is read as takes arrow",
            ),
        ];
        for (what, input, want) in cases {
            let host = FakeHost::new(&partitioned_invocation(
                "per_batch",
                "2026-01-15|us",
                "null",
                &["hourly"],
            ));
            if let Some((f, data)) = input {
                host.0
                    .borrow_mut()
                    .inputs
                    .insert("hourly".into(), (f, vec![data.to_vec()]));
            }
            assert_eq!(run(&parts(), host.clone()), RUN_FAILURE, "{}", what);
            assert_eq!(host.0.borrow().error.as_deref(), Some(want), "{}", what);
        }
    }
}
