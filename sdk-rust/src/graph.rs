//! Declaring graphs and jobs: [`graph`], [`node`] and [`job`] (ABI.md sections 7.8 and 7.9).

use crate::json::JsonValue;
use crate::registry::{valid_name, NAME_RULE};

/// Where a node input comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// An output of another node; `collect` gathers all its mapped values into one.
    Node {
        node: String,
        output: String,
        collect: bool,
    },
    /// One of the graph's own inputs.
    GraphInput(String),
}

/// One node of a graph, built with [`node`] and its builder methods, added with
/// [`GraphDef::node`].
#[derive(Clone, Debug)]
pub struct NodeDef {
    pub(crate) name: String,
    pub(crate) op: String,
    /// The node's inputs in wiring order; the manifest sorts them by name.
    pub(crate) ins: Vec<(String, Source)>,
    pub(crate) config: Option<String>,
}

/// An output of a graph: an output of one of its nodes, under the graph's name for it.
#[derive(Clone, Debug)]
pub(crate) struct GraphOut {
    pub name: String,
    pub node: String,
    pub output: String,
}

/// A registered graph, built with [`graph`] and its builder methods.
#[derive(Clone, Debug)]
pub struct GraphDef {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) ins: Vec<String>,
    pub(crate) nodes: Vec<NodeDef>,
    pub(crate) outs: Vec<GraphOut>,
}

/// A registered job, built with [`job`] and its builder methods.
#[derive(Clone, Debug)]
pub struct JobDef {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) selection: String,
    pub(crate) graph: String,
    pub(crate) tags: Vec<(String, String)>,
    pub(crate) config: Option<String>,
}

/// Declares the graph `name`: ops (and other graphs) wired into named nodes, which a [`job`]
/// runs (ABI.md section 7.8).
///
/// A node's op names an op or graph of this module, or `MODULE:NAME` for one in another module
/// of the workspace. A node reading a [`Dynamic`](crate::Dynamic) output, or the output of a node
/// mapped over one, runs once per mapping key; [`NodeDef::collect`] gathers the values back into
/// one input. Mistakes this module can see alone (invalid names, a node reading a node the graph
/// does not have, a local op that does not exist, config that is not a JSON object) are
/// reported by the manifest, like every registration problem; the host checks the rest of the
/// wiring when it loads the workspace.
///
/// ```
/// use wasmorch::prelude::*;
/// # fn fan_out(_: &mut Context) -> Result<Dynamic<JsonValue>> { unimplemented!() }
/// # fn mapped(_: &mut Context, n: JsonValue) -> Result<JsonValue> { unimplemented!() }
/// let mut module = Module::new();
/// module
///     .add(op("fan_out", fan_out).outs(&["chunks"]))
///     .add(op("mapped", mapped).ins(&["n"]))
///     .add(
///         graph("sum_graph")
///             .node(node("fan", "fan_out"))
///             .node(node("double", "mapped").wire("n", "fan", "chunks")) // once per key
///             .node(node("total", "stats:sum").collect("values", "double", "result"))
///             .output("total", "total", "result"),
///     )
///     .add(job("sum_job").graph("sum_graph").tag("team", "data"));
/// assert!(module.manifest_json().unwrap().contains(
///     r#"{"name":"total","op":"stats:sum","ins":{"values":{"node":"double","output":"result","collect":true}}}"#
/// ));
/// ```
pub fn graph(name: &str) -> GraphDef {
    GraphDef {
        name: name.to_string(),
        description: String::new(),
        ins: Vec::new(),
        nodes: Vec::new(),
        outs: Vec::new(),
    }
}

/// A node named `name` that runs `op`: an op or graph of this module, or `MODULE:NAME` for one
/// in another module. Wire its inputs with [`wire`](NodeDef::wire),
/// [`collect`](NodeDef::collect) and [`from_graph_input`](NodeDef::from_graph_input), and add
/// it to a graph with [`GraphDef::node`].
pub fn node(name: &str, op: &str) -> NodeDef {
    NodeDef {
        name: name.to_string(),
        op: op.to_string(),
        ins: Vec::new(),
        config: None,
    }
}

/// Declares the job `name`: a [graph](JobDef::graph) to run or an asset
/// [selection](JobDef::selection) to materialize, exactly one of them, with default run config
/// and tags (ABI.md section 7.9).
///
/// ```
/// use wasmorch::prelude::*;
/// # fn orders(_: &mut Context) -> Result<Bytes> { unimplemented!() }
/// let mut module = Module::new();
/// module
///     .add(asset("orders", orders).group("orders"))
///     .add(job("daily_orders").selection("group:orders").tag("schedule", "daily"));
/// assert!(module.manifest_json().unwrap().contains(
///     r#""jobs":[{"name":"daily_orders","selection":"group:orders","tags":{"schedule":"daily"}}]"#
/// ));
/// ```
pub fn job(name: &str) -> JobDef {
    JobDef {
        name: name.to_string(),
        description: String::new(),
        selection: String::new(),
        graph: String::new(),
        tags: Vec::new(),
        config: None,
    }
}

impl NodeDef {
    /// Feeds the node's input `input` from output `output` of node `node`.
    pub fn wire(self, input: &str, node: &str, output: &str) -> Self {
        self.source(input, node, output, false)
    }

    /// Feeds the node's input `input` with every mapped value of output `output` of node `node`
    /// (a [`Dynamic`](crate::Dynamic) output, or a node mapped over one): Arrow tables
    /// concatenated in mapping-key order, JSON values as an array (`"collect": true`).
    pub fn collect(self, input: &str, node: &str, output: &str) -> Self {
        self.source(input, node, output, true)
    }

    /// Feeds the node's input `input` from the graph's own input `graph_input` (declared with
    /// [`GraphDef::input`] or [`GraphDef::ins`]).
    pub fn from_graph_input(mut self, input: &str, graph_input: &str) -> Self {
        self.ins.push((
            input.to_string(),
            Source::GraphInput(graph_input.to_string()),
        ));
        self
    }

    /// Gives the node default config, a JSON object, which run config overrides key by key.
    pub fn config(mut self, json: &str) -> Self {
        self.config = Some(json.to_string());
        self
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The op or graph it runs.
    pub fn op(&self) -> &str {
        &self.op
    }

    fn source(mut self, input: &str, node: &str, output: &str, collect: bool) -> Self {
        self.ins.push((
            input.to_string(),
            Source::Node {
                node: node.to_string(),
                output: output.to_string(),
                collect,
            },
        ));
        self
    }

    /// The problems with this node, each prefixed `node "name": `; `nodes` are the names of the
    /// graph's nodes, `inputs` the graph's inputs, `local` tells whether a bare op name is an op
    /// or graph of this module.
    fn problems(
        &self,
        graph: &str,
        nodes: &[NodeDef],
        inputs: &[String],
        local: &dyn Fn(&str) -> bool,
        add: &mut impl FnMut(String),
    ) {
        let mut add = |msg: String| add(format!("node \"{}\": {}", self.name, msg));
        if self.op == graph {
            add(format!("graph \"{}\" cannot contain itself", graph));
        } else if let Some(problem) = reference_problem("op or graph", &self.op, local) {
            add(problem);
        }
        for (i, (input, source)) in self.ins.iter().enumerate() {
            if !valid_name(input) {
                add(format!("invalid input name \"{}\" ({})", input, NAME_RULE));
            } else if self.ins[..i].iter().any(|(n, _)| n == input) {
                add(format!("input \"{}\" is wired twice", input));
            }
            match source {
                Source::Node { node, output, .. } => {
                    if node == &self.name {
                        add(format!("input \"{}\" reads the node's own output", input));
                    } else if !nodes.iter().any(|n| &n.name == node) {
                        add(format!(
                            "input \"{}\" reads node \"{}\", which the graph does not have",
                            input, node
                        ));
                    }
                    if !valid_name(output) {
                        add(format!(
                            "input \"{}\" reads output \"{}\" of node \"{}\": not a valid \
                             output name ({})",
                            input, output, node, NAME_RULE
                        ));
                    }
                }
                Source::GraphInput(name) => {
                    if !inputs.contains(name) {
                        add(format!(
                            "input \"{}\" reads graph input \"{}\", which the graph does not \
                             declare (add it with .input(\"{}\"))",
                            input, name, name
                        ));
                    }
                }
            }
        }
        if let Some(problem) = self.config.as_deref().and_then(object_problem) {
            add(format!("config: {}", problem));
        }
    }
}

impl GraphDef {
    /// Declares one input of the graph. A job running the graph takes its value from run config
    /// (`{"inputs": {"NAME": {"value": ...}}}`); a graph nested in another from its node's
    /// wiring. Nodes read it with [`NodeDef::from_graph_input`].
    pub fn input(mut self, name: &str) -> Self {
        self.ins.push(name.to_string());
        self
    }

    /// Declares several inputs of the graph, in order; see [`input`](GraphDef::input).
    pub fn ins(mut self, names: &[&str]) -> Self {
        self.ins.extend(names.iter().map(|s| s.to_string()));
        self
    }

    /// Adds a node, built with [`node`].
    pub fn node(mut self, node: NodeDef) -> Self {
        self.nodes.push(node);
        self
    }

    /// Exposes output `output` of node `node` as the graph's output `name`, for graphs nested in
    /// others.
    pub fn output(mut self, name: &str, node: &str, output: &str) -> Self {
        self.outs.push(GraphOut {
            name: name.to_string(),
            node: node.to_string(),
            output: output.to_string(),
        });
        self
    }

    /// Sets the human-readable description.
    pub fn description(mut self, text: &str) -> Self {
        self.description = text.to_string();
        self
    }

    /// The graph's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its nodes, in the order they were added.
    pub fn nodes(&self) -> &[NodeDef] {
        &self.nodes
    }

    /// The problems with this registration, each prefixed `graph "name": `; `local` tells
    /// whether a bare op name is an op or graph of this module.
    pub(crate) fn problems(&self, local: &dyn Fn(&str) -> bool) -> Vec<String> {
        let mut p = Vec::new();
        let mut add = |msg: String| p.push(format!("graph \"{}\": {}", self.name, msg));
        if !valid_name(&self.name) {
            add(format!(
                "invalid graph name \"{}\" ({})",
                self.name, NAME_RULE
            ));
        }
        names_problems("input", &self.ins, &mut add);
        if self.nodes.is_empty() {
            add("the graph has no nodes; add them with .node(node(name, op))".to_string());
        }
        let node_names: Vec<String> = self.nodes.iter().map(|n| n.name.clone()).collect();
        names_problems("node", &node_names, &mut add);
        for n in &self.nodes {
            n.problems(&self.name, &self.nodes, &self.ins, local, &mut add);
        }
        let out_names: Vec<String> = self.outs.iter().map(|o| o.name.clone()).collect();
        names_problems("output", &out_names, &mut add);
        for o in &self.outs {
            if !self.nodes.iter().any(|n| n.name == o.node) {
                add(format!(
                    "output \"{}\" reads node \"{}\", which the graph does not have",
                    o.name, o.node
                ));
            }
            if !valid_name(&o.output) {
                add(format!(
                    "output \"{}\" reads output \"{}\" of node \"{}\": not a valid output name \
                     ({})",
                    o.name, o.output, o.node, NAME_RULE
                ));
            }
        }
        p
    }
}

impl JobDef {
    /// Makes the job run the graph `name`: a graph of this module, or `MODULE:NAME`.
    pub fn graph(mut self, name: &str) -> Self {
        self.graph = name.to_string();
        self
    }

    /// Makes the job materialize an asset selection, in the CLI's syntax (`"group:orders"`,
    /// `"+report"`).
    pub fn selection(mut self, selection: &str) -> Self {
        self.selection = selection.to_string();
        self
    }

    /// Sets the job's default run config, a JSON object in Dagster's shape
    /// (`{"ops": {"NODE": {"config": {...}}}}`).
    pub fn config(mut self, json: &str) -> Self {
        self.config = Some(json.to_string());
        self
    }

    /// Adds a string tag, attached to each of the job's runs; a later value for the same name
    /// wins.
    pub fn tag(mut self, name: &str, value: &str) -> Self {
        self.tags.retain(|(k, _)| k != name);
        self.tags.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the human-readable description.
    pub fn description(mut self, text: &str) -> Self {
        self.description = text.to_string();
        self
    }

    /// The job's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The problems with this registration, each prefixed `job "name": `; `local_graph` tells
    /// whether a bare graph name is a graph of this module.
    pub(crate) fn problems(&self, local_graph: &dyn Fn(&str) -> bool) -> Vec<String> {
        let mut p = Vec::new();
        let mut add = |msg: String| p.push(format!("job \"{}\": {}", self.name, msg));
        if !valid_name(&self.name) {
            add(format!(
                "invalid job name \"{}\" ({})",
                self.name, NAME_RULE
            ));
        }
        let (graph, selection) = (self.graph.trim(), self.selection.trim());
        match (graph.is_empty(), selection.is_empty()) {
            (true, true) => add(
                "a job needs exactly one of .graph(name) and .selection(selection); it has \
                 neither"
                    .to_string(),
            ),
            (false, false) => add(
                "a job needs exactly one of .graph(name) and .selection(selection); it has both"
                    .to_string(),
            ),
            (false, true) => {
                if let Some(problem) = reference_problem("graph", &self.graph, local_graph) {
                    add(problem);
                }
            }
            (true, false) => {}
        }
        if let Some(problem) = self.config.as_deref().and_then(object_problem) {
            add(format!("config: {}", problem));
        }
        p
    }
}

/// What is wrong with `reference`, the name of a `what` ("op or graph", "graph") of this module
/// or `MODULE:NAME` of another; `local` tells whether a bare name exists in this module.
fn reference_problem(what: &str, reference: &str, local: &dyn Fn(&str) -> bool) -> Option<String> {
    if reference.is_empty() {
        return Some(format!(
            "no {} named; give one of this module, or MODULE:NAME for another module's",
            what
        ));
    }
    match reference.split_once(':') {
        Some((module, name)) if module.is_empty() || !valid_name(name) => Some(format!(
            "\"{}\" is not MODULE:NAME (a module name, \":\" and a name: {})",
            reference, NAME_RULE
        )),
        Some(_) => None,
        None if !valid_name(reference) => Some(format!(
            "\"{}\" is not a valid {} name ({}) or MODULE:NAME",
            reference, what, NAME_RULE
        )),
        None if !local(reference) => Some(format!(
            "no {} \"{}\" in this module (name another module's as MODULE:NAME)",
            what, reference
        )),
        None => None,
    }
}

/// Invalid and repeated names among `names`, the graph's `what`s.
fn names_problems(what: &str, names: &[String], add: &mut impl FnMut(String)) {
    for (i, n) in names.iter().enumerate() {
        if !valid_name(n) {
            add(format!("invalid {} name \"{}\" ({})", what, n, NAME_RULE));
        } else if names[..i].contains(n) {
            add(format!("the {} name \"{}\" is used twice", what, n));
        }
    }
}

/// Why `json` is not a JSON object, if it is not.
fn object_problem(json: &str) -> Option<String> {
    match JsonValue::parse(json) {
        Err(e) => Some(e.message().to_string()),
        Ok(JsonValue::Object(_)) => None,
        Ok(other) => Some(format!("must be a JSON object, got {}", other.type_name())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use crate::Definition;

    fn one(_: &mut Context, _n: JsonValue) -> Result<JsonValue> {
        Ok(JsonValue::Null)
    }

    fn problems(defs: Vec<Definition>) -> Vec<String> {
        let mut m = Module::new();
        m.add(op("double", one).ins(&["n"]));
        for d in defs {
            m.add(d);
        }
        m.problems()
    }

    #[test]
    fn graph_problems_name_the_graph_and_node() {
        let p = problems(vec![
            graph("1bad").into(),
            graph("g")
                .ins(&["day", "day", "bad-in"])
                .node(node("a", "double").wire("in", "nowhere", "result"))
                .node(node("a", "double"))
                .node(node("bad name", "double"))
                .node(
                    node("b", "double")
                        .wire("n", "b", "result")
                        .collect("n", "a", "bad-out")
                        .from_graph_input("x-y", "missing")
                        .config("[1]"),
                )
                .node(node("c", "").config(r#"{"a" 1}"#))
                .node(node("d", "not-a-name"))
                .node(node("e", ":sum"))
                .node(node("f", "mod:bad-name"))
                .node(node("h", "unknown_op"))
                .node(node("i", "g"))
                .output("out", "a", "result")
                .output("out", "nowhere", "bad output")
                .output("bad-out", "a", "result")
                .into(),
            graph("g").node(node("n", "mod:op")).into(),
            graph("double").node(node("n", "g")).into(),
        ]);
        let want = [
            "graph \"1bad\": invalid graph name \"1bad\" (want [A-Za-z_][A-Za-z0-9_]*)",
            "graph \"1bad\": the graph has no nodes; add them with .node(node(name, op))",
            "graph \"g\": the input name \"day\" is used twice",
            "graph \"g\": invalid input name \"bad-in\" (want [A-Za-z_][A-Za-z0-9_]*)",
            "graph \"g\": the node name \"a\" is used twice",
            "graph \"g\": invalid node name \"bad name\" (want [A-Za-z_][A-Za-z0-9_]*)",
            "graph \"g\": node \"a\": input \"in\" reads node \"nowhere\", which the graph does not have",
            "graph \"g\": node \"b\": input \"n\" reads the node's own output",
            "graph \"g\": node \"b\": input \"n\" is wired twice",
            "graph \"g\": node \"b\": input \"n\" reads output \"bad-out\" of node \"a\": not a valid output name (want [A-Za-z_][A-Za-z0-9_]*)",
            "graph \"g\": node \"b\": invalid input name \"x-y\" (want [A-Za-z_][A-Za-z0-9_]*)",
            "graph \"g\": node \"b\": input \"x-y\" reads graph input \"missing\", which the graph does not declare (add it with .input(\"missing\"))",
            "graph \"g\": node \"b\": config: must be a JSON object, got array",
            "graph \"g\": node \"c\": no op or graph named; give one of this module, or MODULE:NAME for another module's",
            "graph \"g\": node \"c\": config: invalid JSON at byte 5: expected ':' after the object key",
            "graph \"g\": node \"d\": \"not-a-name\" is not a valid op or graph name (want [A-Za-z_][A-Za-z0-9_]*) or MODULE:NAME",
            "graph \"g\": node \"e\": \":sum\" is not MODULE:NAME (a module name, \":\" and a name: want [A-Za-z_][A-Za-z0-9_]*)",
            "graph \"g\": node \"f\": \"mod:bad-name\" is not MODULE:NAME (a module name, \":\" and a name: want [A-Za-z_][A-Za-z0-9_]*)",
            "graph \"g\": node \"h\": no op or graph \"unknown_op\" in this module (name another module's as MODULE:NAME)",
            "graph \"g\": node \"i\": graph \"g\" cannot contain itself",
            "graph \"g\": the output name \"out\" is used twice",
            "graph \"g\": invalid output name \"bad-out\" (want [A-Za-z_][A-Za-z0-9_]*)",
            "graph \"g\": output \"out\" reads node \"nowhere\", which the graph does not have",
            "graph \"g\": output \"out\" reads output \"bad output\" of node \"nowhere\": not a valid output name (want [A-Za-z_][A-Za-z0-9_]*)",
            "graph \"g\": the name is registered twice; graph names must be unique within a module",
            "graph \"double\": an op of this module has the same name; a node could not tell them apart",
        ];
        assert_eq!(p, want);
    }

    #[test]
    fn job_problems_name_the_job() {
        let p = problems(vec![
            graph("g").node(node("n", "double")).into(),
            job("j").into(),
            job("k").graph("g").selection("*").into(),
            job("blank").graph("  ").selection(" ").into(),
            job("bad-name").selection("*").config("not json").into(),
            job("cfg").graph("g").config(r#""a string""#).into(),
            job("missing").graph("no_such_graph").into(),
            job("op_not_graph").graph("double").into(),
            job("bad_ref").graph("x:").into(),
            job("k").selection("group:x").into(),
        ]);
        let want = [
            "job \"j\": a job needs exactly one of .graph(name) and .selection(selection); it has neither",
            "job \"k\": a job needs exactly one of .graph(name) and .selection(selection); it has both",
            "job \"blank\": a job needs exactly one of .graph(name) and .selection(selection); it has neither",
            "job \"bad-name\": invalid job name \"bad-name\" (want [A-Za-z_][A-Za-z0-9_]*)",
            "job \"bad-name\": config: invalid JSON at byte 0: expected a JSON value",
            "job \"cfg\": config: must be a JSON object, got string",
            "job \"missing\": no graph \"no_such_graph\" in this module (name another module's as MODULE:NAME)",
            "job \"op_not_graph\": no graph \"double\" in this module (name another module's as MODULE:NAME)",
            "job \"bad_ref\": \"x:\" is not MODULE:NAME (a module name, \":\" and a name: want [A-Za-z_][A-Za-z0-9_]*)",
            "job \"k\": the name is registered twice; job names must be unique within a module",
        ];
        assert_eq!(p, want);
    }

    #[test]
    fn problems_reach_the_manifest() {
        let mut m = Module::new();
        m.add(op("double", one).ins(&["n"]))
            .add(graph("g").node(node("a", "double").wire("n", "nowhere", "result")))
            .add(job("j").graph("g").selection("*"));
        let e = m.manifest_json().unwrap_err();
        assert_eq!(
            e.message(),
            "graph \"g\": node \"a\": input \"n\" reads node \"nowhere\", which the graph does \
             not have; job \"j\": a job needs exactly one of .graph(name) and \
             .selection(selection); it has both"
        );
    }

    #[test]
    fn builders_keep_what_they_are_given() {
        let g = graph("g")
            .node(node("a", "op_a"))
            .node(node("b", "mod:op_b"));
        assert_eq!(g.name(), "g");
        let ops: Vec<(&str, &str)> = g.nodes().iter().map(|n| (n.name(), n.op())).collect();
        assert_eq!(ops, [("a", "op_a"), ("b", "mod:op_b")]);
        let j = job("j").tag("k", "1").tag("k", "2");
        assert_eq!(
            (j.name(), &j.tags[..]),
            ("j", &[("k".to_string(), "2".to_string())][..])
        );
    }
}
