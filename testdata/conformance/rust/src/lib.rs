//! The conformance cases of `testdata/conformance/CASES.md`, implemented with the wasmorch Rust
//! SDK. The host's conformance test runs the same cases against every SDK's module and expects
//! identical results.
//!
//! Build (`make guests` runs exactly this):
//!
//! ```text
//! RUSTC=/usr/bin/rustc /usr/bin/cargo build --release --target wasm32-wasi
//! cp target/wasm32-wasi/release/conformance.wasm conformance.wasm
//! ```

use std::collections::HashMap;

use wasmorch::prelude::*;

wasmorch::module! {
    asset("echo", echo).input("in", "echo_source").group("conformance");
    asset("join", join)
        .input("left", "join_left")
        .input("right", "join_right")
        .group("conformance");
    op("split", split).ins(&["in"]).outs(&["evens", "odds"]);
    asset("config", config).group("conformance");
    asset("partition", partition).group("conformance");
    asset("logs", logs).group("conformance");
    asset("metadata", metadata).group("conformance");
    asset("error", error).group("conformance");
    asset("panic", panics).group("conformance");

    // Checks, typed config, resources, retries and fan-out.
    asset("checked", checked).group("conformance");
    check("is_ok", "checked", is_ok).blocking(true);
    check("warns", "checked", warns).blocking(false);
    asset("typed_config", typed_config)
        .group("conformance")
        .config_schema(TYPED_CONFIG_SCHEMA);
    asset("uses_resource", uses_resource)
        .group("conformance")
        .resources(&["vars"]);
    asset("retries", retries)
        .group("conformance")
        .retry_policy(RetryPolicy {
            max_retries: 2,
            delay_seconds: 0.5,
            backoff: Backoff::Exponential,
            jitter: Jitter::None,
        });
    op("fan_out", fan_out).outs(&["chunks", "count"]);
    op("mapped", mapped).ins(&["n"]);
    graph("conformance_graph")
        .node(node("fan", "fan_out"))
        .node(node("double", "mapped").wire("n", "fan", "chunks"))
        .node(
            node("total", "MODULE:sum")
                .collect("values", "double", "result")
                .config(r#"{"precision": 2}"#),
        )
        .output("total", "total", "result");
    job("conformance_job")
        .graph("conformance_graph")
        .tag("suite", "conformance")
        .config(r#"{"ops": {"fan": {"config": {}}}}"#);
}

/// The config schema of `typed_config`, exactly as CASES.md gives it.
const TYPED_CONFIG_SCHEMA: &str = r#"{"type":"object","properties":{"limit":{"type":"integer","default":10},"label":{"type":"string"}},"required":["label"]}"#;

/// Writes every batch of `in` back unchanged, one at a time: the reader handed back is pulled
/// batch by batch after the function returns, so at most a batch or two is ever in memory.
fn echo(_ctx: &mut Context, input: BatchReader) -> Result<BatchReader> {
    Ok(input)
}

/// The output of `join`.
fn join_schema() -> Schema {
    Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
    ])
}

/// Inner join on `id`, rows sorted by id, then by the row order of `right`, then of `left`.
/// A null id never matches; nulls in `name` and `amount` pass through.
fn join(_ctx: &mut Context, left: RecordBatch, right: RecordBatch) -> Result<RecordBatch> {
    let left_ids: &Int64Array = left.column_as("id").context("join: left")?;
    let names: &StringArray = left.column_as("name").context("join: left")?;
    let right_ids: &Int64Array = right.column_as("id").context("join: right")?;
    let amounts: &Float64Array = right.column_as("amount").context("join: right")?;

    let mut by_id: HashMap<i64, Vec<usize>> = HashMap::new();
    for (row, id) in left_ids.iter().enumerate() {
        if let Some(id) = id {
            by_id.entry(id).or_default().push(row);
        }
    }
    // (id, right row, left row), generated in right-then-left order; the stable sort by id
    // keeps that order among equal ids.
    let mut pairs: Vec<(i64, usize, usize)> = Vec::new();
    for (r, id) in right_ids.iter().enumerate() {
        let id = match id {
            Some(id) => id,
            None => continue,
        };
        if let Some(ls) = by_id.get(&id) {
            pairs.extend(ls.iter().map(|&l| (id, r, l)));
        }
    }
    pairs.sort_by_key(|&(id, _, _)| id);

    let ids = Int64Array::from_values(pairs.iter().map(|p| p.0).collect());
    let right_rows: Vec<usize> = pairs.iter().map(|p| p.1).collect();
    let left_rows: Vec<usize> = pairs.iter().map(|p| p.2).collect();
    RecordBatch::try_new(
        join_schema(),
        vec![
            Array::from(ids),
            Array::from(names.clone()).take(&left_rows)?,
            Array::from(amounts.clone()).take(&right_rows)?,
        ],
    )
}

/// Rows whose `n` is even go to `evens`, odd ones to `odds`, in order; null rows are dropped.
/// Each output is one batch, written even when empty.
fn split(_ctx: &mut Context, input: RecordBatch) -> Result<(RecordBatch, RecordBatch)> {
    let n: &Int64Array = input.column_as("n").context("split")?;
    let (mut evens, mut odds) = (Vec::new(), Vec::new());
    for v in n.iter().flatten() {
        if v % 2 == 0 {
            evens.push(v);
        } else {
            odds.push(v);
        }
    }
    let schema = std::sync::Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
    let batch = |values: Vec<i64>| {
        RecordBatch::try_new(schema.clone(), vec![Array::from(Int64Array::from(values))])
    };
    Ok((batch(evens)?, batch(odds)?))
}

/// Reads `{"name": "<string>", "n": <integer>}` and writes
/// `{"greeting": "hello <name>", "n_times_2": <2n>}`.
fn config(ctx: &mut Context) -> Result<Json> {
    let config = ctx.config();
    let name = config.require_str("name").context("config")?;
    let n = match config.get("n") {
        None | Some(JsonValue::Null) => 0,
        Some(_) => config.require_i64("n").context("config")?,
    };
    let n_times_2 = n
        .checked_mul(2)
        .with_context(|| format!("config: n = {} is too large to double", n))?;
    Ok(Json::from(
        Object::new()
            .string("greeting", &format!("hello {}", name))
            .int("n_times_2", n_times_2),
    ))
}

/// Writes the partition key as raw UTF-8 ("" when there is none).
fn partition(ctx: &mut Context) -> Result<Bytes> {
    Ok(Bytes::from(ctx.partition_key()))
}

/// Logs one line at each level, then writes `ok`.
fn logs(ctx: &mut Context) -> Result<Bytes> {
    ctx.debug("conformance debug");
    ctx.info("conformance info");
    ctx.warn("conformance warning");
    ctx.error("conformance error");
    Ok(Bytes::from("ok"))
}

/// Attaches `{"answer": 42, "label": "conformance"}` to the materialization, then writes `ok`.
fn metadata(ctx: &mut Context) -> Result<Bytes> {
    ctx.add_metadata(
        Object::new()
            .int("answer", 42)
            .string("label", "conformance"),
    )?;
    Ok(Bytes::from("ok"))
}

/// Fails through the normal error path.
fn error(_ctx: &mut Context) -> Result<Bytes> {
    bail!("conformance: deliberate error")
}

/// Panics the way Rust panics.
fn panics(_ctx: &mut Context) -> Result<Bytes> {
    panic!("conformance: deliberate panic")
}

/// Writes `ok`, which the checks below look at.
fn checked(_ctx: &mut Context) -> Result<Bytes> {
    Ok(Bytes::from("ok"))
}

/// Passes when the value is exactly `ok`, else fails with severity ERROR; either way attaches
/// the value's length.
fn is_ok(_ctx: &mut Context, value: Bytes) -> Result<CheckResult> {
    Ok(CheckResult::new(value.0 == b"ok")
        .with_severity(Severity::Error)
        .with_metadata(Object::new().int("length", value.0.len() as i64)))
}

/// Reads nothing and always fails with severity WARN.
fn warns(_ctx: &mut Context) -> Result<CheckResult> {
    Ok(CheckResult::fail().with_severity(Severity::Warn))
}

/// Writes `{"limit": <limit>, "label": <label>}`; the host has applied the default limit.
fn typed_config(ctx: &mut Context) -> Result<Json> {
    let config = ctx.config();
    let limit = config.require_i64("limit").context("typed_config")?;
    let label = config.require_str("label").context("typed_config")?;
    Ok(Json::from(
        Object::new().int("limit", limit).string("label", label),
    ))
}

/// Reads CONFORMANCE_VAR through the `vars` resource and writes its value; a refused call
/// fails the step with the host's message.
fn uses_resource(ctx: &mut Context) -> Result<Bytes> {
    let resp = ctx.resource(
        "vars",
        Object::new()
            .string("op", "get")
            .string("name", "CONFORMANCE_VAR"),
    )?;
    let value = resp
        .require_str("value")
        .context("uses_resource: the response")?;
    Ok(Bytes::from(value))
}

/// Asks for a retry on attempts 1 and 2, and writes `attempt N` after that.
fn retries(ctx: &mut Context) -> Result<Bytes> {
    if ctx.attempt() < 3 {
        return Err(Error::retry("conformance: try again"));
    }
    Ok(Bytes::from(format!("attempt {}", ctx.attempt())))
}

/// Writes chunks[a] = 1, chunks[b] = 2 and chunks[c] = 3, then count = 3.
fn fan_out(_ctx: &mut Context) -> Result<(Dynamic<JsonValue>, JsonValue)> {
    let mut chunks = Dynamic::new();
    for (key, n) in [("a", 1i64), ("b", 2), ("c", 3)] {
        chunks.push(key, JsonValue::from(n))?;
    }
    let count = chunks.len() as i64;
    Ok((chunks, JsonValue::from(count)))
}

/// Writes `{"key": <mapping key>, "n2": <2n>}`.
fn mapped(ctx: &mut Context, n: JsonValue) -> Result<Json> {
    let n = n
        .as_i64()
        .with_context(|| format!("mapped: n must be an integer, got {}", n))?;
    let n2 = n
        .checked_mul(2)
        .with_context(|| format!("mapped: n = {} is too large to double", n))?;
    Ok(Json::from(
        Object::new().string("key", ctx.mapping_key()).int("n2", n2),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmorch::Level;

    fn ids_batch(schema: Schema, ids: Vec<Option<i64>>, other: Array) -> RecordBatch {
        RecordBatch::try_new(schema, vec![Array::from(Int64Array::from(ids)), other]).unwrap()
    }

    /// Rows of a join result: (id, name, amount).
    fn rows(b: &RecordBatch) -> Vec<(Option<i64>, Option<String>, Option<f64>)> {
        let ids: &Int64Array = b.column_as("id").unwrap();
        let names: &StringArray = b.column_as("name").unwrap();
        let amounts: &Float64Array = b.column_as("amount").unwrap();
        (0..b.num_rows())
            .map(|i| (ids.get(i), names.get(i).map(str::to_string), amounts.get(i)))
            .collect()
    }

    #[test]
    fn manifest_is_valid() {
        let m = wasmorch_module().manifest_json().unwrap();
        assert!(m.contains(r#"{"key":"echo","ins":[{"name":"in","asset":"echo_source","format":"arrow"}],"group":"conformance","output":{"format":"arrow"}}"#), "{}", m);
        assert!(m.contains(r#""ops":[{"name":"split","ins":[{"name":"in","format":"arrow"}],"outs":[{"name":"evens","format":"arrow"},{"name":"odds","format":"arrow"}]},"#), "{}", m);
    }

    #[test]
    fn graph_and_job_are_declared_as_cases_md_says() {
        let m = wasmorch_module().manifest_json().unwrap();
        let graphs = concat!(
            r#""graphs":[{"name":"conformance_graph","nodes":[{"name":"fan","op":"fan_out"},"#,
            r#"{"name":"double","op":"mapped","ins":{"n":{"node":"fan","output":"chunks"}}},"#,
            r#"{"name":"total","op":"MODULE:sum","ins":{"values":{"node":"double","output":"result","collect":true}},"#,
            r#""config":{"precision":2}}],"outs":[{"name":"total","node":"total","output":"result"}]}]"#,
        );
        let jobs = concat!(
            r#""jobs":[{"name":"conformance_job","graph":"conformance_graph","#,
            r#""tags":{"suite":"conformance"},"config":{"ops":{"fan":{"config":{}}}}}]}"#,
        );
        assert!(m.contains(graphs), "{}", m);
        assert!(m.ends_with(jobs), "{}", m);
    }

    #[test]
    fn join_matches_the_host_case() {
        let left = ids_batch(
            Schema::new(vec![
                Field::new("id", DataType::Int64, true),
                Field::new("name", DataType::Utf8, true),
            ]),
            vec![Some(1), Some(2), Some(3), None, Some(5)],
            Array::from(StringArray::from_iter(vec![
                Some("a"),
                None,
                Some("c"),
                Some("d"),
                Some("e"),
            ])),
        );
        let right = ids_batch(
            Schema::new(vec![
                Field::new("id", DataType::Int64, true),
                Field::new("amount", DataType::Float64, true),
            ]),
            vec![Some(3), Some(1), Some(1), Some(9), None, Some(2)],
            Array::from(Float64Array::from(vec![
                Some(30.5),
                Some(10.0),
                Some(11.0),
                Some(90.0),
                Some(1.0),
                None,
            ])),
        );
        let out = join(&mut Context::for_test(), left, right).unwrap();
        assert_eq!(
            rows(&out),
            vec![
                (Some(1), Some("a".to_string()), Some(10.0)),
                (Some(1), Some("a".to_string()), Some(11.0)),
                (Some(2), None, None),
                (Some(3), Some("c".to_string()), Some(30.5)),
            ]
        );
        assert_eq!(
            out.schema().to_string(),
            "id: int64, name: utf8, amount: float64"
        );
    }

    #[test]
    fn join_names_a_wrong_column() {
        let bad = RecordBatch::new_empty(Schema::new(vec![Field::new("id", DataType::Utf8, true)]));
        let e = join(&mut Context::for_test(), bad.clone(), bad).unwrap_err();
        assert_eq!(
            e.message(),
            "join: left: column \"id\" is utf8, not int64 or timestamp"
        );
    }

    #[test]
    fn split_by_parity() {
        let schema = Schema::new(vec![Field::new("n", DataType::Int64, true)]);
        let input = RecordBatch::try_new(
            schema.clone(),
            vec![Array::from(Int64Array::from(vec![
                Some(1),
                Some(2),
                None,
                Some(4),
                Some(7),
                Some(-3),
                Some(8),
            ]))],
        )
        .unwrap();
        let (evens, odds) = split(&mut Context::for_test(), input).unwrap();
        let values = |b: &RecordBatch| b.column_as::<Int64Array>("n").unwrap().values().to_vec();
        assert_eq!(values(&evens), vec![2, 4, 8]);
        assert_eq!(values(&odds), vec![1, 7, -3]);
        let (e, o) = split(&mut Context::for_test(), RecordBatch::new_empty(schema)).unwrap();
        assert_eq!((e.num_rows(), o.num_rows()), (0, 0));
    }

    #[test]
    fn config_greets() {
        let mut ctx = Context::for_test().with_config_json(r#"{"name": "world", "n": 21}"#);
        let out = config(&mut ctx).unwrap().parse().unwrap();
        assert_eq!(out.get_str("greeting"), Some("hello world"));
        assert_eq!(out.get_i64("n_times_2"), Some(42));
        let mut ctx = Context::for_test().with_config_json(r#"{"n": 1}"#);
        assert_eq!(
            config(&mut ctx).unwrap_err().message(),
            "config: the field \"name\" is required"
        );
    }

    #[test]
    fn partition_logs_metadata_error() {
        let mut ctx = Context::for_test().with_partition_key("2026-01-15|us");
        assert_eq!(partition(&mut ctx).unwrap(), Bytes::from("2026-01-15|us"));

        let mut ctx = Context::for_test();
        assert_eq!(logs(&mut ctx).unwrap(), Bytes::from("ok"));
        let got: Vec<(Level, String)> = ctx
            .logs()
            .into_iter()
            .map(|l| (l.level, l.message))
            .collect();
        assert_eq!(
            got,
            vec![
                (Level::Debug, "conformance debug".to_string()),
                (Level::Info, "conformance info".to_string()),
                (Level::Warning, "conformance warning".to_string()),
                (Level::Error, "conformance error".to_string()),
            ]
        );

        let mut ctx = Context::for_test();
        metadata(&mut ctx).unwrap();
        assert_eq!(
            ctx.metadata().to_string(),
            r#"{"answer":42,"label":"conformance"}"#
        );

        assert_eq!(
            error(&mut Context::for_test()).unwrap_err().message(),
            "conformance: deliberate error"
        );
    }

    #[test]
    #[should_panic(expected = "conformance: deliberate panic")]
    fn panic_panics() {
        let _ = panics(&mut Context::for_test());
    }

    #[test]
    fn new_definitions_in_the_manifest() {
        let m = JsonValue::parse(&wasmorch_module().manifest_json().unwrap()).unwrap();
        let find = |list: &str, field: &str, name: &str| -> String {
            m.get(list)
                .and_then(JsonValue::as_array)
                .unwrap()
                .iter()
                .find(|d| d.get_str(field) == Some(name))
                .unwrap_or_else(|| panic!("{} {} is missing", list, name))
                .to_string()
        };
        assert_eq!(
            find("assets", "key", "checked"),
            r#"{"key":"checked","group":"conformance","output":{"format":"bytes"}}"#
        );
        assert_eq!(
            find("checks", "name", "is_ok"),
            r#"{"name":"is_ok","asset":"checked","blocking":true}"#
        );
        assert_eq!(
            find("checks", "name", "warns"),
            r#"{"name":"warns","asset":"checked"}"#
        );
        assert_eq!(
            find("assets", "key", "typed_config"),
            concat!(
                r#"{"key":"typed_config","group":"conformance","output":{"format":"json"},"#,
                r#""config_schema":{"type":"object","properties":{"limit":{"type":"integer","default":10},"label":{"type":"string"}},"required":["label"]}}"#
            )
        );
        assert_eq!(
            find("assets", "key", "uses_resource"),
            r#"{"key":"uses_resource","group":"conformance","output":{"format":"bytes"},"resources":["vars"]}"#
        );
        assert_eq!(
            find("assets", "key", "retries"),
            r#"{"key":"retries","group":"conformance","output":{"format":"bytes"},"retry_policy":{"max_retries":2,"delay_seconds":0.5,"backoff":"exponential"}}"#
        );
        assert_eq!(
            find("ops", "name", "fan_out"),
            r#"{"name":"fan_out","outs":[{"name":"chunks","format":"json","dynamic":true},{"name":"count","format":"json"}]}"#
        );
        assert_eq!(
            find("ops", "name", "mapped"),
            r#"{"name":"mapped","ins":[{"name":"n","format":"json"}],"outs":[{"name":"result","format":"json"}]}"#
        );
    }

    #[test]
    fn checks_on_checked() {
        let mut ctx = Context::for_test();
        assert_eq!(checked(&mut ctx).unwrap(), Bytes::from("ok"));
        let pass = is_ok(&mut ctx, Bytes::from("ok")).unwrap();
        assert!(pass.passed());
        assert_eq!(pass.metadata().to_string(), r#"{"length":2}"#);
        let fail = is_ok(&mut ctx, Bytes::from("not ok")).unwrap();
        assert_eq!((fail.passed(), fail.severity()), (false, Severity::Error));
        assert_eq!(fail.metadata().get_i64("length"), Some(6));
        let w = warns(&mut ctx).unwrap();
        assert_eq!((w.passed(), w.severity()), (false, Severity::Warn));
    }

    #[test]
    fn typed_config_echoes_the_config() {
        let mut ctx = Context::for_test().with_config_json(r#"{"limit": 10, "label": "x"}"#);
        let out = typed_config(&mut ctx).unwrap();
        assert_eq!(out.0, r#"{"limit":10,"label":"x"}"#);
        let mut ctx = Context::for_test().with_config_json(r#"{"limit": 10}"#);
        assert_eq!(
            typed_config(&mut ctx).unwrap_err().message(),
            "typed_config: the field \"label\" is required"
        );
    }

    #[test]
    fn uses_resource_reads_vars() {
        let mut ctx = Context::for_test().with_resource("vars", |req| {
            assert_eq!(req.to_string(), r#"{"op":"get","name":"CONFORMANCE_VAR"}"#);
            JsonValue::parse(r#"{"value": "from vars", "found": true}"#)
        });
        assert_eq!(uses_resource(&mut ctx).unwrap(), Bytes::from("from vars"));
        let mut denied = Context::for_test().with_resource("vars", |_| {
            Err(Error::msg("resource_call returned ERR_DENIED: not granted"))
        });
        assert_eq!(
            uses_resource(&mut denied).unwrap_err().message(),
            "resource_call returned ERR_DENIED: not granted"
        );
    }

    #[test]
    fn retries_until_attempt_3() {
        for attempt in [1, 2] {
            let e = retries(&mut Context::for_test().with_attempt(attempt)).unwrap_err();
            assert!(e.is_retry());
            assert_eq!(e.message(), "conformance: try again");
        }
        let out = retries(&mut Context::for_test().with_attempt(3)).unwrap();
        assert_eq!(out, Bytes::from("attempt 3"));
    }

    #[test]
    fn fan_out_and_mapped() {
        let (chunks, count) = fan_out(&mut Context::for_test()).unwrap();
        let chunks: Vec<(String, String)> = chunks
            .into_vec()
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect();
        assert_eq!(
            chunks,
            vec![
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), "2".to_string()),
                ("c".to_string(), "3".to_string()),
            ]
        );
        assert_eq!(count.to_string(), "3");
        let mut ctx = Context::for_test().with_mapping_key("b");
        let out = mapped(&mut ctx, JsonValue::from(2i64)).unwrap();
        assert_eq!(out.0, r#"{"key":"b","n2":4}"#);
        assert!(mapped(&mut ctx, JsonValue::from("x")).is_err());
    }
}
