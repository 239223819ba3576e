//! The manifest JSON (ABI.md section 7), with the same fields, order and omissions as the Go
//! SDK's.

use crate::arrow::Schema;
use crate::host::{ABI_VERSION, SDK_NAME, SDK_VERSION};
use crate::json::{quote, JsonValue, Object};
use crate::registry::{AssetDef, CheckDef, Module, OpDef};

/// `[a,b,...]` of already-encoded JSON values.
fn array(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().collect();
    format!("[{}]", items.join(","))
}

fn string_array(items: &[String]) -> String {
    array(items.iter().map(|s| quote(s)))
}

/// Tags as an object with sorted names, as Go's encoding/json writes maps.
fn tags(tags: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = tags.iter().collect();
    sorted.sort();
    sorted
        .into_iter()
        .fold(Object::new(), |o, (k, v)| o.string(k, v))
        .finish()
}

/// A JSON document re-encoded compactly; the registry checked that it parses.
fn compact(json: &str) -> String {
    JsonValue::parse(json).map_or_else(|_| json.to_string(), |v| v.to_string())
}

/// The schema in the form of ABI.md section 7.5.
pub(crate) fn schema_json(schema: &Schema) -> String {
    let fields = schema.fields().iter().map(|f| {
        Object::new()
            .string("name", f.name())
            .string("type", &f.data_type().abi_name())
            .bool("nullable", f.is_nullable())
            .finish()
    });
    Object::new().raw("fields", &array(fields)).finish()
}

fn asset_json(a: &AssetDef) -> String {
    let mut o = Object::new().string("key", &a.key);
    if !a.ins.is_empty() {
        let ins = a.ins.iter().zip(&a.in_formats).map(|(i, f)| {
            Object::new()
                .string("name", &i.name)
                .string("asset", &i.asset)
                .string("format", f.name())
                .finish()
        });
        o = o.raw("ins", &array(ins));
    }
    if !a.deps.is_empty() {
        o = o.raw("deps", &string_array(&a.deps));
    }
    if let Some(g) = &a.group {
        o = o.string("group", g);
    }
    if let Some(d) = &a.description {
        o = o.string("description", d);
    }
    if !a.tags.is_empty() {
        o = o.raw("tags", &tags(&a.tags));
    }
    let mut output = Object::new().string("format", a.out_format.name());
    if let Some(s) = &a.schema {
        output = output.raw("schema", &schema_json(s));
    }
    o = o.raw("output", &output.finish());
    if let Some(c) = &a.config_schema {
        o = o.raw("config_schema", &compact(c));
    }
    if !a.resources.is_empty() {
        o = o.raw("resources", &string_array(&a.resources));
    }
    if let Some(m) = &a.io_manager {
        o = o.string("io_manager", m);
    }
    if let Some(v) = &a.code_version {
        o = o.string("code_version", v);
    }
    if let Some(r) = &a.retry_policy {
        o = o.raw("retry_policy", &r.to_json());
    }
    o.finish()
}

fn op_json(op: &OpDef) -> String {
    let mut o = Object::new().string("name", &op.name);
    if let Some(d) = &op.description {
        o = o.string("description", d);
    }
    if !op.tags.is_empty() {
        o = o.raw("tags", &tags(&op.tags));
    }
    // `optional` and `dynamic` only when true; the host reads a missing flag as false.
    if !op.ins.is_empty() {
        let ins = op
            .ins
            .iter()
            .zip(op.in_formats.iter().zip(&op.in_optional))
            .map(|(n, (f, optional))| {
                let mut i = Object::new().string("name", n).string("format", f.name());
                if *optional {
                    i = i.bool("optional", true);
                }
                i.finish()
            });
        o = o.raw("ins", &array(ins));
    }
    let outs = op.out_names();
    let outs = outs.iter().zip(&op.out_specs).map(|(n, spec)| {
        let mut out = Object::new()
            .string("name", n)
            .string("format", spec.format.name());
        if spec.optional {
            out = out.bool("optional", true);
        }
        if spec.dynamic {
            out = out.bool("dynamic", true);
        }
        out.finish()
    });
    o = o.raw("outs", &array(outs));
    if let Some(c) = &op.config_schema {
        o = o.raw("config_schema", &compact(c));
    }
    if !op.resources.is_empty() {
        o = o.raw("resources", &string_array(&op.resources));
    }
    if let Some(r) = &op.retry_policy {
        o = o.raw("retry_policy", &r.to_json());
    }
    o.finish()
}

fn check_json(c: &CheckDef) -> String {
    let mut o = Object::new()
        .string("name", &c.name)
        .string("asset", &c.asset);
    if let Some(d) = &c.description {
        o = o.string("description", d);
    }
    if c.blocking {
        o = o.bool("blocking", true);
    }
    if let Some(s) = &c.config_schema {
        o = o.raw("config_schema", &compact(s));
    }
    if !c.resources.is_empty() {
        o = o.raw("resources", &string_array(&c.resources));
    }
    o.finish()
}

/// The manifest of a module whose registrations are valid.
pub(crate) fn manifest_json(m: &Module) -> String {
    let mut o = Object::new().int("abi_version", ABI_VERSION.into()).raw(
        "sdk",
        &Object::new()
            .string("name", SDK_NAME)
            .string("version", SDK_VERSION)
            .finish(),
    );
    if !m.assets.is_empty() {
        o = o.raw("assets", &array(m.assets.iter().map(asset_json)));
    }
    if !m.ops.is_empty() {
        o = o.raw("ops", &array(m.ops.iter().map(op_json)));
    }
    if !m.checks.is_empty() {
        o = o.raw("checks", &array(m.checks.iter().map(check_json)));
    }
    o.finish()
}

#[cfg(test)]
mod tests {
    use crate::arrow::{DataType, Field, Schema, Table, TimeUnit};
    use crate::prelude::*;

    fn cleaned(_: &mut Context, raw: Table) -> Result<Table> {
        Ok(raw)
    }

    fn report(_: &mut Context, _t: Table, _s: BatchReader) -> Result<Json> {
        Ok(Json("{}".into()))
    }

    fn split(_: &mut Context, t: Table) -> Result<(Table, Bytes)> {
        Ok((t, Bytes::default()))
    }

    #[test]
    fn manifest_matches_abi_section_7() {
        let schema = Schema::new(vec![
            Field::new("order_id", DataType::Int64, false),
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
        ]);
        let mut m = Module::new();
        m.add(
            asset("cleaned_orders", cleaned)
                .ins(&["raw_orders"])
                .deps(&["audit/log"])
                .group("orders")
                .description("Orders with nulls dropped.")
                .tag("team", "finance")
                .tag("a", "\"quoted\"")
                .schema(schema)
                .config_schema(r#"{"type": "object", "properties": {"limit": {"type": "integer", "default": 10}}}"#)
                .resources(&["warehouse"])
                .io_manager("fs")
                .code_version("v2"),
        )
        .add(asset("reports/daily", report).input("t", "cleaned_orders").input("s", "orders/raw"))
        .add(op("split", split).ins(&["orders"]).outs(&["big", "blob"]).description("d"))
        .add(op("noop", |_: &mut Context| -> Result<Bytes> { Ok(Bytes::default()) }));
        let want = concat!(
            r#"{"abi_version":1,"sdk":{"name":"wasmorch-rust","version":"0.1.0"},"#,
            r#""assets":[{"key":"cleaned_orders","ins":[{"name":"raw_orders","asset":"raw_orders","format":"arrow"}],"#,
            r#""deps":["audit/log"],"group":"orders","description":"Orders with nulls dropped.","#,
            r#""tags":{"a":"\"quoted\"","team":"finance"},"#,
            r#""output":{"format":"arrow","schema":{"fields":[{"name":"order_id","type":"int64","nullable":false},"#,
            r#"{"name":"ts","type":"timestamp[us, tz=UTC]","nullable":true}]}},"#,
            r#""config_schema":{"type":"object","properties":{"limit":{"type":"integer","default":10}}},"#,
            r#""resources":["warehouse"],"io_manager":"fs","code_version":"v2"},"#,
            r#"{"key":"reports/daily","ins":[{"name":"t","asset":"cleaned_orders","format":"arrow"},"#,
            r#"{"name":"s","asset":"orders/raw","format":"arrow"}],"output":{"format":"json"}}],"#,
            r#""ops":[{"name":"split","description":"d","ins":[{"name":"orders","format":"arrow"}],"#,
            r#""outs":[{"name":"big","format":"arrow"},{"name":"blob","format":"bytes"}]},"#,
            r#"{"name":"noop","outs":[{"name":"result","format":"bytes"}]}]}"#,
        );
        let got = m.manifest_json().unwrap();
        assert_eq!(got, want);
        // And it is valid JSON.
        crate::json::JsonValue::parse(&got).unwrap();
    }

    fn is_ok(_: &mut Context, v: Bytes) -> Result<CheckResult> {
        Ok(CheckResult::new(v.0 == b"ok"))
    }

    fn warns(_: &mut Context) -> Result<CheckResult> {
        Ok(CheckResult::fail().with_severity(Severity::Warn))
    }

    fn fan_out(_: &mut Context, _n: Option<Json>) -> Result<(Dynamic<JsonValue>, Option<Bytes>)> {
        Ok((Dynamic::new(), None))
    }

    #[test]
    fn checks_retries_and_op_flags() {
        let mut m = Module::new();
        m.add(
            asset("checked", |_: &mut Context| -> Result<Bytes> {
                Ok(Bytes::default())
            })
            .retry_policy(RetryPolicy {
                max_retries: 2,
                delay_seconds: 0.5,
                backoff: Backoff::Exponential,
                jitter: Jitter::Full,
            }),
        )
        .add(
            op("fan_out", fan_out)
                .ins(&["n"])
                .outs(&["chunks", "extra"])
                .resources(&["vars"])
                .retry_policy(RetryPolicy::new(1)),
        )
        .add(
            check("is_ok", "checked", is_ok)
                .blocking(true)
                .description("The value is ok.")
                .config_schema(r#"{"type": "object"}"#)
                .resources(&["vars"]),
        )
        .add(check("warns", "checked", warns).blocking(false));
        let want = concat!(
            r#"{"abi_version":1,"sdk":{"name":"wasmorch-rust","version":"0.1.0"},"#,
            r#""assets":[{"key":"checked","output":{"format":"bytes"},"#,
            r#""retry_policy":{"max_retries":2,"delay_seconds":0.5,"backoff":"exponential","jitter":"full"}}],"#,
            r#""ops":[{"name":"fan_out","ins":[{"name":"n","format":"json","optional":true}],"#,
            r#""outs":[{"name":"chunks","format":"json","dynamic":true},{"name":"extra","format":"bytes","optional":true}],"#,
            r#""resources":["vars"],"retry_policy":{"max_retries":1}}],"#,
            r#""checks":[{"name":"is_ok","asset":"checked","description":"The value is ok.","blocking":true,"#,
            r#""config_schema":{"type":"object"},"resources":["vars"]},"#,
            r#"{"name":"warns","asset":"checked"}]}"#,
        );
        let got = m.manifest_json().unwrap();
        assert_eq!(got, want);
        crate::json::JsonValue::parse(&got).unwrap();
    }
}
