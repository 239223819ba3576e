//! The manifest JSON (ABI.md section 7), with the same fields, order and omissions as the Go
//! SDK's.

use crate::arrow::Schema;
use crate::graph::{GraphDef, JobDef, NodeDef, Source};
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
        let ins = a.input_formats().into_iter().map(|(i, f)| {
            let o = Object::new()
                .string("name", &i.name)
                .string("asset", &i.asset)
                .string("format", f.name());
            match &i.mapping {
                Some(m) => o.raw("partition_mapping", &m.to_json()),
                None => o,
            }
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
    if let Some(p) = &a.partitions {
        o = o.raw("partitions", &p.to_json());
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

fn node_json(n: &NodeDef) -> String {
    let mut o = Object::new().string("name", &n.name).string("op", &n.op);
    if !n.ins.is_empty() {
        // Sorted by input name, as Go's encoding/json writes maps; the registry refused an
        // input wired twice.
        let mut ins: Vec<&(String, Source)> = n.ins.iter().collect();
        ins.sort_by(|a, b| a.0.cmp(&b.0));
        let ins = ins.into_iter().fold(Object::new(), |o, (input, source)| {
            let from = match source {
                Source::Node {
                    node,
                    output,
                    collect,
                } => {
                    let from = Object::new().string("node", node).string("output", output);
                    // `collect` only when true; the host reads a missing flag as false.
                    if *collect {
                        from.bool("collect", true)
                    } else {
                        from
                    }
                }
                Source::GraphInput(name) => Object::new().string("graph_input", name),
            };
            o.raw(input, &from.finish())
        });
        o = o.raw("ins", &ins.finish());
    }
    if let Some(c) = &n.config {
        o = o.raw("config", &compact(c));
    }
    o.finish()
}

/// A graph in the form of ABI.md section 7.8.
fn graph_json(g: &GraphDef) -> String {
    let mut o = Object::new().string("name", &g.name);
    if !g.description.is_empty() {
        o = o.string("description", &g.description);
    }
    if !g.ins.is_empty() {
        let ins = g
            .ins
            .iter()
            .map(|n| Object::new().string("name", n).finish());
        o = o.raw("ins", &array(ins));
    }
    o = o.raw("nodes", &array(g.nodes.iter().map(node_json)));
    if !g.outs.is_empty() {
        let outs = g.outs.iter().map(|out| {
            Object::new()
                .string("name", &out.name)
                .string("node", &out.node)
                .string("output", &out.output)
                .finish()
        });
        o = o.raw("outs", &array(outs));
    }
    o.finish()
}

/// A job in the form of ABI.md section 7.9.
fn job_json(j: &JobDef) -> String {
    let mut o = Object::new().string("name", &j.name);
    for (field, value) in [
        ("description", &j.description),
        ("selection", &j.selection),
        ("graph", &j.graph),
    ] {
        if !value.is_empty() {
            o = o.string(field, value);
        }
    }
    if !j.tags.is_empty() {
        o = o.raw("tags", &tags(&j.tags));
    }
    if let Some(c) = &j.config {
        o = o.raw("config", &compact(c));
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
    if !m.graphs.is_empty() {
        o = o.raw("graphs", &array(m.graphs.iter().map(graph_json)));
    }
    if !m.jobs.is_empty() {
        o = o.raw("jobs", &array(m.jobs.iter().map(job_json)));
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

    fn numbers(_: &mut Context, _n: JsonValue) -> Result<(Dynamic<JsonValue>, JsonValue)> {
        Ok((Dynamic::new(), JsonValue::Null))
    }

    #[test]
    fn graphs_and_jobs_match_abi_sections_7_8_and_7_9() {
        // The graph of sdk-go/graph_test.go, and more: a description, a second graph input, a
        // nested graph, wiring given out of order and a job of each kind.
        let mut m = Module::new();
        m.add(op("split", numbers).ins(&["in"]).outs(&["evens", "odds"]))
            .add(
                graph("numbers")
                    .input("ns")
                    .node(node("split", "split").from_graph_input("in", "ns"))
                    .node(
                        node("report", "other:report")
                            .collect("parts", "split", "evens")
                            .config(r#"{"limit": 3, "nested": {"a": [1, 2.50, "x"]}}"#),
                    )
                    .output("evens", "split", "evens")
                    .description("splits numbers"),
            )
            .add(
                graph("outer")
                    .ins(&["first", "second"])
                    .node(
                        node("inner", "numbers")
                            .wire("z_last", "pre", "odds")
                            .from_graph_input("ns", "second")
                            .wire("a_first", "pre", "evens"),
                    )
                    .node(node("pre", "split").from_graph_input("in", "first")),
            )
            .add(
                job("numbers_job")
                    .graph("numbers")
                    .config(r#"{"inputs": {"ns": {"value": [1, 2]}}}"#)
                    .tag("team", "data")
                    .tag("a", "first")
                    .tag("team", "numbers")
                    .description("runs numbers"),
            )
            .add(job("assets_job").selection("group:orders"))
            .add(job("remote_job").graph("other:graph").config("{}"));
        let want = concat!(
            r#"{"abi_version":1,"sdk":{"name":"wasmorch-rust","version":"0.1.0"},"#,
            r#""ops":[{"name":"split","ins":[{"name":"in","format":"json"}],"#,
            r#""outs":[{"name":"evens","format":"json","dynamic":true},{"name":"odds","format":"json"}]}],"#,
            r#""graphs":[{"name":"numbers","description":"splits numbers","ins":[{"name":"ns"}],"nodes":["#,
            r#"{"name":"split","op":"split","ins":{"in":{"graph_input":"ns"}}},"#,
            r#"{"name":"report","op":"other:report","ins":{"parts":{"node":"split","output":"evens","collect":true}},"#,
            r#""config":{"limit":3,"nested":{"a":[1,2.50,"x"]}}}],"#,
            r#""outs":[{"name":"evens","node":"split","output":"evens"}]},"#,
            r#"{"name":"outer","ins":[{"name":"first"},{"name":"second"}],"nodes":["#,
            r#"{"name":"inner","op":"numbers","ins":{"a_first":{"node":"pre","output":"evens"},"#,
            r#""ns":{"graph_input":"second"},"z_last":{"node":"pre","output":"odds"}}},"#,
            r#"{"name":"pre","op":"split","ins":{"in":{"graph_input":"first"}}}]}],"#,
            r#""jobs":[{"name":"numbers_job","description":"runs numbers","graph":"numbers","#,
            r#""tags":{"a":"first","team":"numbers"},"config":{"inputs":{"ns":{"value":[1,2]}}}},"#,
            r#"{"name":"assets_job","selection":"group:orders"},"#,
            r#"{"name":"remote_job","graph":"other:graph","config":{}}]}"#,
        );
        assert_eq!(m.problems(), Vec::<String>::new());
        let got = m.manifest_json().unwrap();
        assert_eq!(got, want);
        crate::json::JsonValue::parse(&got).unwrap();
    }

    #[test]
    fn a_module_of_graphs_and_jobs_alone_is_valid() {
        // The ops live in other modules of the workspace.
        let mut m = Module::new();
        m.add(graph("g").node(node("n", "other:op")))
            .add(job("j").selection("*"));
        assert_eq!(
            m.manifest_json().unwrap(),
            concat!(
                r#"{"abi_version":1,"sdk":{"name":"wasmorch-rust","version":"0.1.0"},"#,
                r#""graphs":[{"name":"g","nodes":[{"name":"n","op":"other:op"}]}],"#,
                r#""jobs":[{"name":"j","selection":"*"}]}"#,
            )
        );
        let mut jobs_only = Module::new();
        jobs_only.add(job("j").graph("other:g"));
        assert!(jobs_only.problems().is_empty());
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

    fn by_partition(_: &mut Context, _days: PartitionedBatches) -> Result<Table> {
        unimplemented!()
    }

    #[test]
    fn partitions_and_mappings_match_abi_sections_7_6_and_7_7() {
        let date = || Partitions::daily("2026-01-01").end("2026-02-01");
        let mut m = Module::new();
        m.add(
            asset("hourly_events", |_: &mut Context| -> Result<Table> {
                unimplemented!()
            })
            .partitions(
                Partitions::hourly("2026-01-01")
                    .end("2026-02-01")
                    .timezone("UTC"),
            )
            .group("events"),
        )
        .add(
            asset("daily", by_partition)
                .context_input("prev", "customers", Format::Json)
                .input("hourly", "hourly_events")
                .partition_mapping("prev", PartitionMapping::time_window_offsets(-1, -1))
                .partition_mapping("hourly", PartitionMapping::time_window())
                .partitions(date())
                .config_schema(r#"{"type": "object"}"#)
                .resources(&["r"]),
        )
        .add(
            asset("sales", |_: &mut Context| -> Result<Table> {
                unimplemented!()
            })
            .partitions(Partitions::multi(vec![
                ("date", date()),
                ("region", Partitions::static_keys(&["us", "eu", "apac"])),
                ("channel", Partitions::static_keys(&["web", "store"])),
            ])),
        )
        .add(
            asset("by_region", by_partition)
                .input_mapped(
                    "sales",
                    "sales",
                    PartitionMapping::multi(vec![("channel", PartitionMapping::all())]),
                )
                .partitions(Partitions::multi(vec![
                    ("date", date()),
                    ("region", Partitions::static_keys(&["us", "eu", "apac"])),
                ])),
        )
        .add(
            asset("customers", |_: &mut Context| -> Result<Json> {
                unimplemented!()
            })
            .partitions(Partitions::dynamic("customers")),
        );
        let want = concat!(
            r#"{"abi_version":1,"sdk":{"name":"wasmorch-rust","version":"0.1.0"},"assets":["#,
            r#"{"key":"hourly_events","group":"events","output":{"format":"arrow"},"#,
            r#""partitions":{"type":"time","schedule":"hourly","start":"2026-01-01","end":"2026-02-01","timezone":"UTC"}},"#,
            r#"{"key":"daily","ins":["#,
            r#"{"name":"prev","asset":"customers","format":"json","partition_mapping":{"type":"time_window","start_offset":-1,"end_offset":-1}},"#,
            r#"{"name":"hourly","asset":"hourly_events","format":"arrow","partition_mapping":{"type":"time_window"}}],"#,
            r#""output":{"format":"arrow"},"config_schema":{"type":"object"},"#,
            r#""partitions":{"type":"time","schedule":"daily","start":"2026-01-01","end":"2026-02-01"},"resources":["r"]},"#,
            r#"{"key":"sales","output":{"format":"arrow"},"partitions":{"type":"multi","dimensions":["#,
            r#"{"name":"date","partitions":{"type":"time","schedule":"daily","start":"2026-01-01","end":"2026-02-01"}},"#,
            r#"{"name":"region","partitions":{"type":"static","keys":["us","eu","apac"]}},"#,
            r#"{"name":"channel","partitions":{"type":"static","keys":["web","store"]}}]}},"#,
            r#"{"key":"by_region","ins":[{"name":"sales","asset":"sales","format":"arrow","#,
            r#""partition_mapping":{"type":"multi","dimensions":{"channel":{"type":"all"}}}}],"#,
            r#""output":{"format":"arrow"},"partitions":{"type":"multi","dimensions":["#,
            r#"{"name":"date","partitions":{"type":"time","schedule":"daily","start":"2026-01-01","end":"2026-02-01"}},"#,
            r#"{"name":"region","partitions":{"type":"static","keys":["us","eu","apac"]}}]}},"#,
            r#"{"key":"customers","output":{"format":"json"},"partitions":{"type":"dynamic","name":"customers"}}]}"#,
        );
        assert_eq!(m.problems(), Vec::<String>::new());
        let got = m.manifest_json().unwrap();
        assert_eq!(got, want);
        crate::json::JsonValue::parse(&got).unwrap();
    }
}
