//! The Rust guest of the orders benchmark (bench/README.md, c): `raw_orders` generates N rows
//! from splitmix64, `cleaned_orders` drops the rows without an order ID or amount and lower-cases
//! the column names, and `revenue_by_region` sums the amounts per region in whole cents. Same
//! keys, schemas, config and values as the Go guest (`testdata/bench/go/orders`), whose
//! `cleaned_orders` and `revenue_by_region` are those of `testdata/orders/go/pipeline`.
//!
//! The tables travel in record batches of up to 64Ki rows: `raw_orders` generates one batch at a
//! time while the SDK writes them, and the other two read their input batch by batch.
//!
//! Build (make guests does this, from testdata/bench/rust):
//!
//! ```text
//! RUSTC=/usr/bin/rustc /usr/bin/cargo build --release --target wasm32-wasi --offline -p orders
//! ```

use std::sync::Arc;

use wasmorch::prelude::*;

wasmorch::module! {
    asset("raw_orders", raw_orders)
        .group("orders")
        .description("N generated orders (bench/README.md, c).")
        .schema(raw_schema())
        .config_schema(RAW_CONFIG_SCHEMA);
    asset("cleaned_orders", cleaned_orders)
        .ins(&["raw_orders"])
        .group("orders")
        .description("Orders with a missing order ID or amount dropped, and lower-case column names.")
        .schema(lower_case(&raw_schema()));
    asset("revenue_by_region", revenue_by_region)
        .ins(&["cleaned_orders"])
        .group("orders")
        .description("Sum of order amounts per region, sorted by region.")
        .schema(revenue_schema());
}

/// The config schema the Go guest derives from its config struct (`wasmorch.ConfigFrom`).
const RAW_CONFIG_SCHEMA: &str = r#"{"additionalProperties":false,"properties":{"rows":{"default":1000000,"description":"number of rows to generate","type":"integer"},"seed":{"default":42,"description":"splitmix64 seed","type":"integer"}},"type":"object"}"#;

/// The defaults of [`RAW_CONFIG_SCHEMA`], for a config without them (native tests).
const DEFAULT_ROWS: i64 = 1_000_000;
const DEFAULT_SEED: u64 = 42;

/// Rows per generated record batch.
const BATCH_ROWS: usize = 64 << 10;

const REGIONS: [&str; 4] = ["north", "south", "east", "west"];

/// The schema of raw_orders, that of the orders example.
fn raw_schema() -> Schema {
    Schema::new(vec![
        Field::new("Order_ID", DataType::Int64, true),
        Field::new("Customer", DataType::Utf8, true),
        Field::new("Region", DataType::Utf8, true),
        Field::new("Amount", DataType::Float64, true),
        Field::new("Order_Date", DataType::Utf8, true),
    ])
}

fn revenue_schema() -> Schema {
    Schema::new(vec![
        Field::new("region", DataType::Utf8, false),
        Field::new("revenue", DataType::Float64, false),
    ])
}

/// `s` with every field name in lower case.
fn lower_case(s: &Schema) -> Schema {
    s.fields()
        .iter()
        .map(|f| f.clone().with_name(f.name().to_lowercase()))
        .collect()
}

/// Word `i` of the splitmix64 sequence seeded with `seed`.
pub fn splitmix64(seed: u64, i: u64) -> u64 {
    let mut z = seed.wrapping_add(i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `rows` (default 1,000,000) and `seed` (default 42) from the run config.
fn gen_config(ctx: &Context) -> Result<(u64, u64)> {
    let config = ctx.config();
    let rows = match config.get("rows") {
        None => DEFAULT_ROWS,
        Some(_) => config.require_i64("rows").context("config")?,
    };
    ensure!(rows >= 0, "rows is {}, want 0 or more", rows);
    let seed = match config.get("seed") {
        None => DEFAULT_SEED,
        Some(v) => v
            .as_u64()
            .with_context(|| format!("config: seed is {}, want an integer from 0 to 2^64-1", v))?,
    };
    Ok((rows as u64, seed))
}

/// The generated orders, one batch of up to [`BATCH_ROWS`] rows at a time, generated while the
/// SDK writes them (bench/README.md, c, "Input rows").
fn raw_orders(ctx: &mut Context) -> Result<BatchReader> {
    let (rows, seed) = gen_config(ctx)?;
    ctx.info(format!("generated orders rows={} seed={}", rows, seed));
    let schema = Arc::new(raw_schema());
    let batch_schema = Arc::clone(&schema);
    let mut next = 0u64;
    let mut sent_one = false;
    Ok(BatchReader::from_fn(schema, move || {
        if next >= rows && sent_one {
            return Ok(None);
        }
        let n = (rows - next).min(BATCH_ROWS as u64);
        let batch = generate(&batch_schema, seed, next, n as usize)?;
        next += n;
        sent_one = true;
        Ok(Some(batch))
    }))
}

/// Rows `first .. first + n` of the generated orders.
fn generate(schema: &Arc<Schema>, seed: u64, first: u64, n: usize) -> Result<RecordBatch> {
    let mut ids = Int64Array::builder(n);
    let mut customers = StringArray::builder(n, n * 13);
    let mut regions = StringArray::builder(n, n * 5);
    let mut amounts = Float64Array::builder(n);
    let mut dates = StringArray::builder(n, n * 10);

    // "customer_" and up to 4 digits, and "2026-01-DD", rewritten in place for every row.
    let mut customer = *b"customer_0000";
    let mut date = *b"2026-01-00";
    for i in first..first + n as u64 {
        let h = splitmix64(seed, i);
        if h % 50 == 0 {
            ids.append_null();
        } else {
            ids.append_value((i + 1) as i64);
        }
        let len = 9 + write_decimal(&mut customer[9..], (h >> 8) % 10_000);
        customers.append_value(ascii(&customer[..len]));
        regions.append_value(REGIONS[((h >> 24) % 4) as usize]);
        if (h >> 32) % 50 == 0 {
            amounts.append_null();
        } else {
            amounts.append_value(((h >> 40) % 100_000) as f64 / 100.0);
        }
        let day = 1 + (h >> 56) % 28;
        date[8] = b'0' + (day / 10) as u8;
        date[9] = b'0' + (day % 10) as u8;
        dates.append_value(ascii(&date));
    }
    RecordBatch::try_new(
        Arc::clone(schema),
        vec![
            Array::from(ids.finish()),
            Array::from(customers.finish()),
            Array::from(regions.finish()),
            Array::from(amounts.finish()),
            Array::from(dates.finish()),
        ],
    )
}

/// Writes `v` in decimal, without padding, at the start of `out` (which must be long enough),
/// and returns the number of digits.
fn write_decimal(out: &mut [u8], mut v: u64) -> usize {
    let mut digits = [0u8; 20];
    let mut n = 0;
    loop {
        digits[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for (o, d) in out.iter_mut().zip(digits[..n].iter().rev()) {
        *o = *d;
    }
    n
}

/// ASCII bytes as a `&str`.
fn ascii(b: &[u8]) -> &str {
    std::str::from_utf8(b).expect("generated values are ASCII")
}

/// Drops the rows whose `order_id` or `amount` is null and lower-cases every column name,
/// keeping the order of the rows and the batches. Works for any column types.
fn cleaned_orders(ctx: &mut Context, raw: BatchReader) -> Result<Table> {
    let schema = Arc::new(lower_case(raw.schema()));
    let id = column_index(&schema, "order_id")?;
    let amount = column_index(&schema, "amount")?;
    let (mut rows_in, mut rows_out) = (0, 0);
    let mut batches = Vec::new();
    let mut keep = Vec::new();
    for batch in raw {
        let batch = batch?;
        let (ids, amounts) = (batch.column(id), batch.column(amount));
        rows_in += batch.num_rows();
        let cleaned = if ids.null_count() == 0 && amounts.null_count() == 0 {
            batch
        } else {
            keep.clear();
            keep.extend((0..batch.num_rows()).map(|i| ids.is_valid(i) && amounts.is_valid(i)));
            batch.filter(&keep)?
        };
        rows_out += cleaned.num_rows();
        batches.push(cleaned.with_schema(Arc::clone(&schema))?);
    }
    ctx.info(format!(
        "cleaned orders rows_in={} rows_out={}",
        rows_in, rows_out
    ));
    Table::new(schema, batches)
}

/// Sums `amount` per `region` in whole cents (`round(amount * 100)`), so the totals are exact,
/// sorted by region; rows without a region count under "unknown", rows without an amount not
/// at all.
fn revenue_by_region(ctx: &mut Context, orders: BatchReader) -> Result<RecordBatch> {
    let ri = column_index(orders.schema(), "region")?;
    let ai = column_index(orders.schema(), "amount")?;
    // (region, cents), in order of appearance: a handful of regions, so a linear search.
    let mut cents: Vec<(String, i64)> = Vec::new();
    let mut total = 0i64;
    for batch in orders {
        let batch = batch?;
        let regions: &StringArray = batch.column(ri).downcast().with_context(|| {
            format!(
                "column region has type {}, want utf8",
                batch.column(ri).data_type()
            )
        })?;
        let amounts: &Float64Array = batch.column(ai).downcast().with_context(|| {
            format!(
                "column amount has type {}, want float64",
                batch.column(ai).data_type()
            )
        })?;
        let (check_regions, check_amounts) = (regions.null_count() > 0, amounts.null_count() > 0);
        let values = amounts.values();
        // The slot of the previous row's region, tried first.
        let mut last = usize::MAX;
        for (i, &amount) in values.iter().enumerate() {
            if check_amounts && amounts.is_null(i) {
                continue;
            }
            let region = if check_regions && regions.is_null(i) {
                "unknown"
            } else {
                regions.value(i)
            };
            let c = (amount * 100.0).round() as i64;
            if last >= cents.len() || cents[last].0 != region {
                last = match cents.iter().position(|(r, _)| r == region) {
                    Some(p) => p,
                    None => {
                        cents.push((region.to_string(), 0));
                        cents.len() - 1
                    }
                };
            }
            cents[last].1 += c;
            total += c;
        }
    }
    cents.sort_by(|a, b| a.0.cmp(&b.0));

    let mut regions = StringArray::builder(cents.len(), 0);
    let mut revenue = Float64Array::builder(cents.len());
    for (region, c) in &cents {
        regions.append_value(region);
        revenue.append_value(*c as f64 / 100.0);
    }
    let total_revenue = total as f64 / 100.0;
    let summary = Object::new().string("type", "markdown").string(
        "value",
        &format!(
            "**{}** regions, **{:.2}** revenue in all",
            cents.len(),
            total_revenue
        ),
    );
    ctx.add_metadata(
        Object::new()
            .int("regions", cents.len() as i64)
            .float("total_revenue", total_revenue)
            .raw("summary", &summary.finish()),
    )?;
    ctx.info(format!(
        "revenue by region regions={} total_revenue={}",
        cents.len(),
        total_revenue
    ));
    RecordBatch::try_new(
        revenue_schema(),
        vec![Array::from(regions.finish()), Array::from(revenue.finish())],
    )
}

/// The index of the one column named `name`, or an error listing the columns.
fn column_index(schema: &Schema, name: &str) -> Result<usize> {
    let matches: Vec<usize> = (0..schema.len())
        .filter(|&i| schema.field(i).name() == name)
        .collect();
    match matches[..] {
        [i] => Ok(i),
        _ => {
            let names: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| format!("{:?}", f.name()))
                .collect();
            bail!(
                "want exactly one column \"{}\", got columns [{}]",
                name,
                names.join(" ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The generator must give the rows bench/README.md lists, which the Go guest and the
    // Dagster side check too.

    #[test]
    fn registrations_are_valid() {
        assert_eq!(wasmorch_module().problems(), Vec::<String>::new());
    }

    #[test]
    fn splitmix64_words() {
        for &(seed, i, want) in &[
            (0, 0, 0xe220a8397b1dcdafu64),
            (42, 0, 0xbdd732262feb6e95),
            (42, 4, 0x09bc585a244823f2),
        ] {
            assert_eq!(
                splitmix64(seed, i),
                want,
                "splitmix64({}, {}) = {:#x}, want {:#x}",
                seed,
                i,
                splitmix64(seed, i),
                want
            );
        }
    }

    /// bench/README.md's "Check" table, from the generator's rules alone (no Arrow).
    #[test]
    fn readme_counts_and_cents() {
        let (mut id_nulls, mut amount_nulls, mut both, mut kept) = (0, 0, 0, 0);
        let mut cents = [0i64; 4];
        for i in 0..1_000_000 {
            let h = splitmix64(42, i);
            let (no_id, no_amount) = (h % 50 == 0, (h >> 32) % 50 == 0);
            id_nulls += no_id as u32;
            amount_nulls += no_amount as u32;
            both += (no_id && no_amount) as u32;
            if !no_id && !no_amount {
                kept += 1;
                cents[((h >> 24) % 4) as usize] += ((h >> 40) % 100_000) as i64;
            }
        }
        assert_eq!((id_nulls, amount_nulls, both, kept), (19_673, 19_811, 378, 960_894));
        // north, south, east, west
        assert_eq!(
            cents,
            [11_967_912_381, 11_982_729_568, 12_008_286_820, 12_056_830_052]
        );
    }

    fn generated(config: &str) -> Table {
        let mut ctx = Context::for_test().with_config_json(config);
        raw_orders(&mut ctx).unwrap().read_all().unwrap()
    }

    #[test]
    fn generate_first_rows() {
        let t = generated(r#"{"rows": 5, "seed": 42}"#);
        assert_eq!(t.num_rows(), 5);
        let b = t.to_batch().unwrap();
        let ids: &Int64Array = b.column_as("Order_ID").unwrap();
        let customers: &StringArray = b.column_as("Customer").unwrap();
        let regions: &StringArray = b.column_as("Region").unwrap();
        let amounts: &Float64Array = b.column_as("Amount").unwrap();
        let dates: &StringArray = b.column_as("Order_Date").unwrap();
        let row = |i| {
            (
                ids.get(i),
                customers.get(i),
                regions.get(i),
                amounts.get(i),
                dates.get(i),
            )
        };
        assert_eq!(
            row(0),
            (
                Some(1),
                Some("customer_5294"),
                Some("west"),
                Some(413.94),
                Some("2026-01-22")
            )
        );
        assert_eq!(
            row(4),
            (
                None,
                Some("customer_7043"),
                Some("north"),
                Some(380.40),
                Some("2026-01-10")
            )
        );
    }

    #[test]
    fn batches_and_edge_cases() {
        let t = generated(r#"{"rows": 0}"#);
        assert_eq!((t.num_batches(), t.num_rows()), (1, 0));
        let n = BATCH_ROWS * 2 + 3;
        let t = generated(&format!(r#"{{"rows": {}, "seed": 7}}"#, n));
        let sizes: Vec<usize> = t.batches().iter().map(RecordBatch::num_rows).collect();
        assert_eq!(sizes, vec![BATCH_ROWS, BATCH_ROWS, 3]);
        // Row BATCH_ROWS is the first of the second batch and has ID BATCH_ROWS + 1 unless null.
        let ids: &Int64Array = t.batches()[1].column_as("Order_ID").unwrap();
        if splitmix64(7, BATCH_ROWS as u64) % 50 != 0 {
            assert_eq!(ids.get(0), Some(BATCH_ROWS as i64 + 1));
        }
        let mut ctx = Context::for_test().with_config_json(r#"{"rows": -1}"#);
        assert_eq!(
            raw_orders(&mut ctx).unwrap_err().message(),
            "rows is -1, want 0 or more"
        );
        assert_eq!(write_decimal(&mut [0; 4], 0), 1);
        let mut buf = [0u8; 4];
        assert_eq!(write_decimal(&mut buf, 9_876), 4);
        assert_eq!(&buf, b"9876");
    }

    /// The whole pipeline on a small input, against a direct computation from the generator.
    #[test]
    fn pipeline_matches_the_generator() {
        let rows = 3 * BATCH_ROWS as u64 / 2;
        let raw = generated(&format!(r#"{{"rows": {}, "seed": 42}}"#, rows));
        let mut ctx = Context::for_test();
        let cleaned = cleaned_orders(&mut ctx, raw.into()).unwrap();
        assert_eq!(
            cleaned.schema().to_string(),
            lower_case(&raw_schema()).to_string()
        );
        let mut want_rows = 0;
        let mut want = std::collections::BTreeMap::<&str, i64>::new();
        for i in 0..rows {
            let h = splitmix64(42, i);
            if h % 50 == 0 || (h >> 32) % 50 == 0 {
                continue;
            }
            want_rows += 1;
            *want.entry(REGIONS[((h >> 24) % 4) as usize]).or_default() +=
                ((h >> 40) % 100_000) as i64;
        }
        assert_eq!(cleaned.num_rows(), want_rows);
        assert_eq!(
            ctx.logs()[0].message,
            format!("cleaned orders rows_in={} rows_out={}", rows, want_rows)
        );

        let mut ctx = Context::for_test();
        let revenue = revenue_by_region(&mut ctx, cleaned.into()).unwrap();
        let regions: &StringArray = revenue.column_as("region").unwrap();
        let amounts: &Float64Array = revenue.column_as("revenue").unwrap();
        let got: Vec<(&str, i64)> = (0..revenue.num_rows())
            .map(|i| (regions.value(i), (amounts.value(i) * 100.0).round() as i64))
            .collect();
        let want: Vec<(&str, i64)> = want.into_iter().collect();
        assert_eq!(got, want);
        let md = ctx.metadata();
        assert_eq!(md.get_i64("regions"), Some(4));
        let total: i64 = want.iter().map(|(_, c)| c).sum();
        assert_eq!(md.get_f64("total_revenue"), Some(total as f64 / 100.0));
        assert_eq!(
            md.get("summary").and_then(|s| s.get_str("type")),
            Some("markdown")
        );
    }

    #[test]
    fn revenue_counts_missing_regions_as_unknown() {
        let schema = Schema::new(vec![
            Field::new("region", DataType::Utf8, true),
            Field::new("amount", DataType::Float64, true),
        ]);
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Array::from(StringArray::from_iter(vec![
                    Some("west"),
                    None,
                    Some("east"),
                    Some("west"),
                ])),
                Array::from(Float64Array::from(vec![
                    Some(0.1),
                    Some(2.0),
                    None,
                    Some(1.1),
                ])),
            ],
        )
        .unwrap();
        let out = revenue_by_region(
            &mut Context::for_test(),
            BatchReader::from_batches(schema, vec![batch]),
        )
        .unwrap();
        let regions: &StringArray = out.column_as("region").unwrap();
        let revenue: &Float64Array = out.column_as("revenue").unwrap();
        assert_eq!(
            regions.iter().collect::<Vec<_>>(),
            vec![Some("unknown"), Some("west")]
        );
        assert_eq!(revenue.values(), &[2.0, 1.2]);
    }
}
