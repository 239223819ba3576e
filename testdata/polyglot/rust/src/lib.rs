//! The Rust third of the polyglot orders example (`testdata/polyglot/wasmorch.yaml`):
//! `cleaned_orders`, which behaves exactly like the Go asset of the same name in
//! `testdata/orders/go/pipeline`. `raw_orders` comes from Go and `revenue_by_region` from C.
//!
//! Build (`make guests` runs exactly this):
//!
//! ```text
//! RUSTC=/usr/bin/rustc /usr/bin/cargo build --release --target wasm32-wasi
//! cp target/wasm32-wasi/release/cleaned_orders.wasm cleaned_orders.wasm
//! ```

use wasmorch::prelude::*;

wasmorch::module! {
    asset("cleaned_orders", cleaned_orders)
        .ins(&["raw_orders"])
        .group("orders")
        .description("Orders with a missing order ID or amount dropped, and lower-case column names.")
        .schema(cleaned_schema());
}

/// The declared schema: raw_orders' columns in lower case, every one nullable.
fn cleaned_schema() -> Schema {
    Schema::new(vec![
        Field::new("order_id", DataType::Int64, true),
        Field::new("customer", DataType::Utf8, true),
        Field::new("region", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
        Field::new("order_date", DataType::Utf8, true),
    ])
}

/// Drops the rows whose `order_id` or `amount` is null and lower-cases every column name,
/// keeping the column types. Works for any column types.
fn cleaned_orders(ctx: &mut Context, raw: RecordBatch) -> Result<RecordBatch> {
    let schema: Schema = raw
        .schema()
        .fields()
        .iter()
        .map(|f| f.clone().with_name(f.name().to_lowercase()))
        .collect();
    let id = column_index(&schema, "order_id")?;
    let amount = column_index(&schema, "amount")?;
    let (ids, amounts) = (raw.column(id), raw.column(amount));
    let keep: Vec<bool> = (0..raw.num_rows())
        .map(|i| ids.is_valid(i) && amounts.is_valid(i))
        .collect();
    let cleaned = raw.filter(&keep)?.with_schema(schema)?;
    ctx.info(format!(
        "cleaned orders rows_in={} rows_out={}",
        raw.num_rows(),
        cleaned.num_rows()
    ));
    Ok(cleaned)
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
    use wasmorch::Level;

    fn raw_schema() -> Schema {
        Schema::new(vec![
            Field::new("Order_ID", DataType::Int64, true),
            Field::new("Customer", DataType::Utf8, true),
            Field::new("Region", DataType::Utf8, true),
            Field::new("Amount", DataType::Float64, true),
            Field::new("Order_Date", DataType::Utf8, true),
        ])
    }

    fn raw() -> RecordBatch {
        let s = |v: Vec<Option<&str>>| Array::from(v.into_iter().collect::<StringArray>());
        RecordBatch::try_new(
            raw_schema(),
            vec![
                Array::from(Int64Array::from(vec![
                    Some(1),
                    None,
                    Some(3),
                    Some(4),
                    Some(5),
                ])),
                s(vec![
                    Some("Alice"),
                    Some("Eve"),
                    Some("Carol"),
                    None,
                    Some("Dan"),
                ]),
                s(vec![
                    Some("north"),
                    Some("east"),
                    None,
                    Some("west"),
                    Some("south"),
                ]),
                Array::from(Float64Array::from(vec![
                    Some(12.5),
                    Some(7.0),
                    None,
                    Some(100.75),
                    Some(40.0),
                ])),
                s(vec![
                    Some("2024-01-02"),
                    Some("2024-01-03"),
                    Some("2024-01-04"),
                    Some("2024-01-05"),
                    None,
                ]),
            ],
        )
        .unwrap()
    }

    #[test]
    fn drops_incomplete_rows_and_lower_cases_names() {
        let mut ctx = Context::for_test();
        let out = cleaned_orders(&mut ctx, raw()).unwrap();
        assert_eq!(**out.schema(), cleaned_schema());
        assert_eq!(out.num_rows(), 3);
        let ids: &Int64Array = out.column_as("order_id").unwrap();
        assert_eq!(ids.values(), &[1, 4, 5]);
        let customers: &StringArray = out.column_as("customer").unwrap();
        assert_eq!(
            customers.iter().collect::<Vec<_>>(),
            vec![Some("Alice"), None, Some("Dan")]
        );
        let dates: &StringArray = out.column_as("order_date").unwrap();
        assert_eq!(dates.get(2), None, "nulls in other columns are kept");
        let amounts: &Float64Array = out.column_as("amount").unwrap();
        assert_eq!(amounts.values(), &[12.5, 100.75, 40.0]);
        let logs = ctx.logs();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].level, Level::Info);
        assert_eq!(logs[0].message, "cleaned orders rows_in=5 rows_out=3");
    }

    #[test]
    fn everything_dropped_still_has_the_schema() {
        let b = raw().filter(&[false, true, false, false, false]).unwrap();
        let out = cleaned_orders(&mut Context::for_test(), b).unwrap();
        assert_eq!(out.num_rows(), 0);
        assert_eq!(**out.schema(), cleaned_schema());
    }

    #[test]
    fn a_missing_column_is_named() {
        let b = raw().project(&["Order_ID", "Customer"]).unwrap();
        let e = cleaned_orders(&mut Context::for_test(), b).unwrap_err();
        assert_eq!(
            e.message(),
            "want exactly one column \"amount\", got columns [\"order_id\" \"customer\"]"
        );
    }

    #[test]
    fn manifest_declares_the_go_shape() {
        let m = wasmorch_module().manifest_json().unwrap();
        assert!(m.contains(r#""key":"cleaned_orders","ins":[{"name":"raw_orders","asset":"raw_orders","format":"arrow"}],"group":"orders""#), "{}", m);
        assert!(
            m.contains(r#"{"name":"order_date","type":"utf8","nullable":true}"#),
            "{}",
            m
        );
    }
}
