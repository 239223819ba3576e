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
}

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
        assert!(m.contains(r#""ops":[{"name":"split","ins":[{"name":"in","format":"arrow"}],"outs":[{"name":"evens","format":"arrow"},{"name":"odds","format":"arrow"}]}]"#), "{}", m);
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
}
