//! The partitions fixture (`testdata/partitions/wasmorch.yaml`, issue 7): assets that cover
//! every partitions definition and partition mapping of ABI.md 7.6 and 7.7, all running one
//! function, [`record`], which writes down what the step saw: its partition key and window, and
//! for every batch of every input the batch's upstream partition key and row count.
//!
//! | asset | partitions | input (mapping) |
//! |---|---|---|
//! | `hourly_events` | hourly, January 2026, UTC | — |
//! | `daily_events` | daily, January 2026 | `hourly` ← `hourly_events` (time window) |
//! | `daily_shifted` | daily, January 2026 | `prev` ← `daily_events` (time window -1, -1: yesterday) |
//! | `all_days` | — | `days` ← `daily_events` (all) |
//! | `regions` | static us, eu, apac | — |
//! | `continents` | static americas, europe | `regions` ← `regions` (static americas→us, europe→eu) |
//! | `sales` | multi date × region × channel (web, store) | — |
//! | `sales_by_region` | multi date × region | `sales` ← `sales` (multi: channel all) |
//! | `customer_report` | dynamic `customers` | — |
//! | `trivial_daily` | daily, 2000-01-01 to 2030-01-01 (10,958 keys, for backfills) | — |
//! | `ny_daily` | daily, 2026-03-01 to 2026-03-15, America/New_York (23-hour 2026-03-08) | — |
//!
//! Every definition has an end, so the key sets do not depend on today's date.
//!
//! Build (`make guests` runs exactly this):
//!
//! ```text
//! RUSTC=/usr/bin/rustc /usr/bin/cargo build --release --target wasm32-wasi --offline
//! cp target/wasm32-wasi/release/parts.wasm parts.wasm
//! ```

use wasmorch::prelude::*;
use wasmorch::AssetDef;

wasmorch::module! {
    part("hourly_events")
        .partitions(Partitions::hourly(JAN_START).end(JAN_END).timezone("UTC"));
    part("daily_events")
        .partitions(january())
        .context_input("hourly", "hourly_events", Format::Arrow)
        .partition_mapping("hourly", PartitionMapping::time_window());
    part("daily_shifted")
        .partitions(january())
        .context_input("prev", "daily_events", Format::Arrow)
        .partition_mapping("prev", PartitionMapping::time_window_offsets(-1, -1));
    part("all_days")
        .context_input("days", "daily_events", Format::Arrow)
        .partition_mapping("days", PartitionMapping::all());
    part("regions").partitions(regions());
    part("continents")
        .partitions(Partitions::static_keys(&["americas", "europe"]))
        .context_input("regions", "regions", Format::Arrow)
        .partition_mapping(
            "regions",
            PartitionMapping::static_map(&[("americas", "us"), ("europe", "eu")]),
        );
    part("sales").partitions(Partitions::multi(vec![
        ("date", january()),
        ("region", regions()),
        ("channel", Partitions::static_keys(&["web", "store"])),
    ]));
    part("sales_by_region")
        .partitions(Partitions::multi(vec![("date", january()), ("region", regions())]))
        .context_input("sales", "sales", Format::Arrow)
        .partition_mapping(
            "sales",
            PartitionMapping::multi(vec![("channel", PartitionMapping::all())]),
        );
    part("customer_report").partitions(Partitions::dynamic("customers"));
    part("trivial_daily").partitions(Partitions::daily("2000-01-01").end("2030-01-01"));
    part("ny_daily").partitions(
        Partitions::daily("2026-03-01")
            .end("2026-03-15")
            .timezone("America/New_York"),
    );
}

const JAN_START: &str = "2026-01-01";
const JAN_END: &str = "2026-02-01";

/// The days of January 2026.
fn january() -> Partitions {
    Partitions::daily(JAN_START).end(JAN_END)
}

fn regions() -> Partitions {
    Partitions::static_keys(&["us", "eu", "apac"])
}

/// `fail` fails every partition, `fail_keys` the listed ones; anything else is refused.
const CONFIG_SCHEMA: &str = r#"{
    "type": "object",
    "properties": {
        "fail": {"type": "boolean"},
        "fail_keys": {"type": "array", "items": {"type": "string"}}
    },
    "additionalProperties": false
}"#;

/// An asset of this fixture: [`record`] with its declared schema and run config.
fn part(key: &str) -> AssetDef {
    asset(key, record)
        .group("partitions")
        .schema(record_schema())
        .config_schema(CONFIG_SCHEMA)
}

/// The columns [`record`] writes.
fn record_schema() -> Schema {
    Schema::new(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("window_start", DataType::Utf8, false),
        Field::new("window_end", DataType::Utf8, false),
        Field::new("input", DataType::Utf8, false),
        Field::new("upstream_key", DataType::Utf8, false),
        Field::new("rows", DataType::Int64, false),
    ])
}

/// Every asset's function. It logs its partition key, fails when the run config asks it to
/// (`{"fail": true}`, or `{"fail_keys": [...]}` holding its key), and otherwise reads each of
/// its inputs batch by batch and writes one row per batch: its own key and window (RFC 3339,
/// "" when it has none), the input's name, the key of the upstream partition the batch came
/// from, and the batch's row count. An asset without inputs writes one row with an empty input
/// and upstream key and 0 rows.
fn record(ctx: &mut Context) -> Result<RecordBatch> {
    let key = ctx.partition_key().to_string();
    ctx.info(format!("{}: partition key \"{}\"", ctx.asset_key(), key));
    if asked_to_fail(ctx.config(), &key) {
        bail!("asked to fail for partition {}", key);
    }
    let mut rows = Rows::default();
    let names: Vec<String> = ctx.input_names().into_iter().map(String::from).collect();
    if names.is_empty() {
        rows.push("", "", 0);
    }
    for name in &names {
        for item in ctx.input_batches(name)? {
            let (upstream_key, batch) = item?;
            rows.push(name, &upstream_key, batch.num_rows());
        }
    }
    let (start, end) = ctx
        .partition_window()
        .map_or(("", ""), |w| (w.start.as_str(), w.end.as_str()));
    rows.into_batch(&key, start, end)
}

fn asked_to_fail(config: &JsonValue, key: &str) -> bool {
    config.get_bool("fail") == Some(true)
        || config
            .get("fail_keys")
            .and_then(JsonValue::as_array)
            .map_or(false, |keys| keys.iter().any(|k| k.as_str() == Some(key)))
}

/// The per-batch columns of [`record`]'s output.
#[derive(Default)]
struct Rows {
    input: Vec<String>,
    upstream_key: Vec<String>,
    rows: Vec<i64>,
}

impl Rows {
    fn push(&mut self, input: &str, upstream_key: &str, rows: usize) {
        self.input.push(input.to_string());
        self.upstream_key.push(upstream_key.to_string());
        self.rows.push(rows as i64);
    }

    fn into_batch(self, key: &str, start: &str, end: &str) -> Result<RecordBatch> {
        let n = self.rows.len();
        let repeat = |s: &str| strings(std::iter::repeat(s).take(n));
        RecordBatch::try_new(
            record_schema(),
            vec![
                repeat(key),
                repeat(start),
                repeat(end),
                strings(self.input.iter().map(String::as_str)),
                strings(self.upstream_key.iter().map(String::as_str)),
                Array::from(Int64Array::from(self.rows)),
            ],
        )
    }
}

fn strings<'a>(values: impl Iterator<Item = &'a str>) -> Array {
    Array::from(values.map(Some).collect::<StringArray>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmorch::Level;

    /// The rows of a record batch as `(key, window_start, window_end, input, upstream_key,
    /// rows)`.
    fn rows(b: &RecordBatch) -> Vec<(String, String, String, String, String, i64)> {
        let col = |name: &str| -> Vec<String> {
            let a: &StringArray = b.column_as(name).unwrap();
            a.iter().map(|v| v.unwrap().to_string()).collect()
        };
        let (k, s, e, i, u) = (
            col("key"),
            col("window_start"),
            col("window_end"),
            col("input"),
            col("upstream_key"),
        );
        let n: &Int64Array = b.column_as("rows").unwrap();
        (0..b.num_rows())
            .map(|r| {
                (
                    k[r].clone(),
                    s[r].clone(),
                    e[r].clone(),
                    i[r].clone(),
                    u[r].clone(),
                    n.values()[r],
                )
            })
            .collect()
    }

    fn row(
        key: &str,
        start: &str,
        end: &str,
        input: &str,
        upstream: &str,
        n: i64,
    ) -> (String, String, String, String, String, i64) {
        (
            key.into(),
            start.into(),
            end.into(),
            input.into(),
            upstream.into(),
            n,
        )
    }

    fn table(n: usize) -> Table {
        Table::from_batch(
            Rows {
                input: vec![String::new(); n],
                upstream_key: vec![String::new(); n],
                rows: vec![0; n],
            }
            .into_batch("k", "", "")
            .unwrap(),
        )
    }

    #[test]
    fn an_asset_without_inputs_writes_one_row() {
        let mut ctx = Context::for_test()
            .with_asset_key("hourly_events")
            .with_partition_key("2026-01-15-06:00")
            .with_partition_window("2026-01-15T06:00:00Z", "2026-01-15T07:00:00Z");
        let out = record(&mut ctx).unwrap();
        assert_eq!(**out.schema(), record_schema());
        assert_eq!(
            rows(&out),
            vec![row(
                "2026-01-15-06:00",
                "2026-01-15T06:00:00Z",
                "2026-01-15T07:00:00Z",
                "",
                "",
                0
            )]
        );
        let logs = ctx.logs();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].level, Level::Info);
        assert_eq!(
            logs[0].message,
            "hourly_events: partition key \"2026-01-15-06:00\""
        );
    }

    #[test]
    fn one_row_per_input_batch_with_its_upstream_key() {
        let mut ctx = Context::for_test()
            .with_asset_key("sales_by_region")
            .with_partition_key("2026-01-15|us")
            .with_input_partitions(
                "sales",
                vec![
                    ("2026-01-15|us|web", table(2)),
                    ("2026-01-15|us|store", table(0)),
                    ("2026-01-15|us|store", table(1)),
                ],
            )
            .with_input_table("other", table(3));
        let out = record(&mut ctx).unwrap();
        assert_eq!(
            rows(&out),
            vec![
                row("2026-01-15|us", "", "", "sales", "2026-01-15|us|web", 2),
                row("2026-01-15|us", "", "", "sales", "2026-01-15|us|store", 0),
                row("2026-01-15|us", "", "", "sales", "2026-01-15|us|store", 1),
                row("2026-01-15|us", "", "", "other", "", 3),
            ]
        );
    }

    #[test]
    fn an_input_without_batches_writes_no_row() {
        let empty = Table::empty(record_schema());
        let mut ctx = Context::for_test().with_input_table("days", empty);
        assert_eq!(record(&mut ctx).unwrap().num_rows(), 0);
    }

    #[test]
    fn run_config_asks_to_fail() {
        let cases = [
            (r#"{"fail": true}"#, "2026-01-02", true),
            (r#"{"fail": false}"#, "2026-01-02", false),
            (r#"{"fail_keys": ["2026-01-02", "x"]}"#, "2026-01-02", true),
            (r#"{"fail_keys": ["2026-01-03"]}"#, "2026-01-02", false),
            (r#"{"fail": true}"#, "", true),
        ];
        for (config, key, fails) in cases {
            let mut ctx = Context::for_test()
                .with_config_json(config)
                .with_partition_key(key);
            match record(&mut ctx) {
                Err(e) => {
                    assert!(fails, "{} {}: {}", config, key, e);
                    assert_eq!(e.message(), format!("asked to fail for partition {}", key));
                }
                Ok(_) => assert!(!fails, "{} {} did not fail", config, key),
            }
            assert_eq!(ctx.logs().len(), 1, "the key is logged before failing");
        }
    }

    #[test]
    fn a_wrong_input_format_is_an_error() {
        let mut ctx = Context::for_test()
            .with_asset_key("all_days")
            .with_input_json("days", "{}");
        assert_eq!(
            record(&mut ctx).unwrap_err().message(),
            "asset \"all_days\": input \"days\": the test context has it as json, but the type it is read as takes arrow"
        );
    }

    /// The manifest, asset by asset: partitions and inputs exactly as ABI.md 7.6 and 7.7 write
    /// them, and the same output and config on every asset.
    #[test]
    fn manifest_declares_every_definition_and_mapping() {
        let m = wasmorch_module();
        assert_eq!(m.problems(), Vec::<String>::new());
        let manifest = JsonValue::parse(&m.manifest_json().unwrap()).unwrap();
        let jan = r#"{"type":"time","schedule":"daily","start":"2026-01-01","end":"2026-02-01"}"#;
        let regions = r#"{"type":"static","keys":["us","eu","apac"]}"#;
        let arrow_in = |name: &str, asset: &str, mapping: &str| {
            format!(
                r#"[{{"name":"{}","asset":"{}","format":"arrow","partition_mapping":{}}}]"#,
                name, asset, mapping
            )
        };
        let want: Vec<(&str, String, Option<String>)> = vec![
            (
                "hourly_events",
                r#"{"type":"time","schedule":"hourly","start":"2026-01-01","end":"2026-02-01","timezone":"UTC"}"#.into(),
                None,
            ),
            (
                "daily_events",
                jan.into(),
                Some(arrow_in("hourly", "hourly_events", r#"{"type":"time_window"}"#)),
            ),
            (
                "daily_shifted",
                jan.into(),
                Some(arrow_in(
                    "prev",
                    "daily_events",
                    r#"{"type":"time_window","start_offset":-1,"end_offset":-1}"#,
                )),
            ),
            (
                "all_days",
                "null".into(),
                Some(arrow_in("days", "daily_events", r#"{"type":"all"}"#)),
            ),
            ("regions", regions.into(), None),
            (
                "continents",
                r#"{"type":"static","keys":["americas","europe"]}"#.into(),
                Some(arrow_in(
                    "regions",
                    "regions",
                    r#"{"type":"static","map":{"americas":"us","europe":"eu"}}"#,
                )),
            ),
            (
                "sales",
                format!(
                    r#"{{"type":"multi","dimensions":[{{"name":"date","partitions":{}}},{{"name":"region","partitions":{}}},{{"name":"channel","partitions":{{"type":"static","keys":["web","store"]}}}}]}}"#,
                    jan, regions
                ),
                None,
            ),
            (
                "sales_by_region",
                format!(
                    r#"{{"type":"multi","dimensions":[{{"name":"date","partitions":{}}},{{"name":"region","partitions":{}}}]}}"#,
                    jan, regions
                ),
                Some(arrow_in(
                    "sales",
                    "sales",
                    r#"{"type":"multi","dimensions":{"channel":{"type":"all"}}}"#,
                )),
            ),
            (
                "customer_report",
                r#"{"type":"dynamic","name":"customers"}"#.into(),
                None,
            ),
            (
                "trivial_daily",
                r#"{"type":"time","schedule":"daily","start":"2000-01-01","end":"2030-01-01"}"#
                    .into(),
                None,
            ),
            (
                "ny_daily",
                r#"{"type":"time","schedule":"daily","start":"2026-03-01","end":"2026-03-15","timezone":"America/New_York"}"#.into(),
                None,
            ),
        ];
        let assets = manifest
            .get("assets")
            .and_then(JsonValue::as_array)
            .unwrap();
        let keys: Vec<&str> = assets.iter().map(|a| a.get_str("key").unwrap()).collect();
        let want_keys: Vec<&str> = want.iter().map(|(k, ..)| *k).collect();
        assert_eq!(keys, want_keys);
        let output = format!(
            r#"{{"format":"arrow","schema":{}}}"#,
            concat!(
                r#"{"fields":[{"name":"key","type":"utf8","nullable":false},"#,
                r#"{"name":"window_start","type":"utf8","nullable":false},"#,
                r#"{"name":"window_end","type":"utf8","nullable":false},"#,
                r#"{"name":"input","type":"utf8","nullable":false},"#,
                r#"{"name":"upstream_key","type":"utf8","nullable":false},"#,
                r#"{"name":"rows","type":"int64","nullable":false}]}"#
            )
        );
        for (a, (key, partitions, ins)) in assets.iter().zip(&want) {
            let field = |name: &str| a.get(name).map_or("null".to_string(), |v| v.to_string());
            assert_eq!(field("partitions"), *partitions, "{}", key);
            assert_eq!(
                field("ins"),
                ins.clone().unwrap_or_else(|| "null".into()),
                "{}",
                key
            );
            assert_eq!(field("output"), output, "{}", key);
            assert_eq!(a.get_str("group"), Some("partitions"), "{}", key);
            assert!(field("config_schema").contains(r#""fail_keys""#), "{}", key);
        }
    }
}
