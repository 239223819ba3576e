package wasmorch

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Graph declares a graph: ops (and other graphs) wired into named nodes, which a job runs
// (ABI.md section 7.8). Call it from an init function, next to the ops it wires:
//
//	wasmorch.Graph("orders_graph",
//		wasmorch.Node("fetch", "fetch_orders"),
//		wasmorch.Node("split", "split_by_region", wasmorch.Wire("orders", "fetch", "result")),
//		wasmorch.Node("clean", "clean_region", wasmorch.Wire("rows", "split", "regions")), // mapped
//		wasmorch.Node("report", "report", wasmorch.Collect("parts", "clean", "result")),
//	)
//
// A node's op names an op or graph of this module, or MODULE:NAME for one in another module of
// the workspace. A node reading a dynamic output (OpDynamicOutputs), or the output of a node
// mapped over one, runs once per mapping key; Collect gathers the values back into one input.
//
// The host checks the wiring when it loads the workspace; problems this module can see alone
// (names, unknown nodes) are reported by wasmorch_manifest, like every registration problem.
func Graph(name string, parts ...GraphPart) {
	defaultRegistry.enqueue(queued{add: func(r *registry) { r.addGraph(name, parts) }})
}

// GraphPart is a node, input, output or description of a Graph.
type GraphPart func(*graphDef)

// NodeWire is how one input of a node is wired.
type NodeWire func(*graphNodeJSON)

// Node adds a node named name that runs op (an op or graph name, or MODULE:NAME).
func Node(name, op string, wires ...NodeWire) GraphPart {
	return func(g *graphDef) {
		n := graphNodeJSON{Name: name, Op: op, Ins: map[string]graphFromJSON{}}
		for _, w := range wires {
			if w != nil {
				w(&n)
			}
		}
		if len(n.Ins) == 0 {
			n.Ins = nil
		}
		g.Nodes = append(g.Nodes, n)
	}
}

// Wire feeds the node's input from output of node.
func Wire(input, node, output string) NodeWire {
	return func(n *graphNodeJSON) { n.Ins[input] = graphFromJSON{Node: node, Output: output} }
}

// Collect feeds the node's input with every mapped value of output of node (a dynamic output,
// or a node mapped over one): Arrow tables concatenated in mapping-key order, JSON values as an
// array.
func Collect(input, node, output string) NodeWire {
	return func(n *graphNodeJSON) { n.Ins[input] = graphFromJSON{Node: node, Output: output, Collect: true} }
}

// FromGraphInput feeds the node's input from one of the graph's own inputs.
func FromGraphInput(input, graphInput string) NodeWire {
	return func(n *graphNodeJSON) { n.Ins[input] = graphFromJSON{GraphInput: graphInput} }
}

// NodeConfig gives the node default config (JSON), which run config overrides key by key.
func NodeConfig(configJSON string) NodeWire {
	return func(n *graphNodeJSON) { n.Config = json.RawMessage(configJSON) }
}

// GraphInputs declares the graph's inputs; a job running the graph takes their values from run
// config ({"inputs": {"NAME": {"value": ...}}}), a graph nested in another from its node's wiring.
func GraphInputs(names ...string) GraphPart {
	return func(g *graphDef) {
		for _, n := range names {
			g.Ins = append(g.Ins, graphInJSON{Name: n})
		}
	}
}

// GraphOutput exposes output of node as the graph's output name, for graphs nested in others.
func GraphOutput(name, node, output string) GraphPart {
	return func(g *graphDef) { g.Outs = append(g.Outs, graphOutJSON{Name: name, Node: node, Output: output}) }
}

// GraphDescription sets the graph's description.
func GraphDescription(text string) GraphPart {
	return func(g *graphDef) { g.Description = text }
}

// Job declares a job of this module: either a graph to run (JobGraph) or an asset selection
// (JobSelection), with default run config and tags.
func Job(name string, opts ...JobOption) {
	defaultRegistry.enqueue(queued{add: func(r *registry) { r.addJob(name, opts) }})
}

// JobOption configures a Job.
type JobOption func(*jobJSON)

// JobGraph makes the job run a graph.
func JobGraph(graph string) JobOption { return func(j *jobJSON) { j.Graph = graph } }

// JobSelection makes the job materialize an asset selection ("group:orders", "+report").
func JobSelection(selection string) JobOption { return func(j *jobJSON) { j.Selection = selection } }

// JobConfig sets the job's default run config, in Dagster's shape.
func JobConfig(runConfigJSON string) JobOption {
	return func(j *jobJSON) { j.Config = json.RawMessage(runConfigJSON) }
}

// JobDescription sets the job's description.
func JobDescription(text string) JobOption { return func(j *jobJSON) { j.Description = text } }

// JobTags sets the job's tags, attached to each of its runs.
func JobTags(tags map[string]string) JobOption { return func(j *jobJSON) { j.Tags = tags } }

type graphDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Ins         []graphInJSON   `json:"ins,omitempty"`
	Nodes       []graphNodeJSON `json:"nodes"`
	Outs        []graphOutJSON  `json:"outs,omitempty"`
}

type graphInJSON struct {
	Name string `json:"name"`
}

type graphNodeJSON struct {
	Name   string                   `json:"name"`
	Op     string                   `json:"op"`
	Ins    map[string]graphFromJSON `json:"ins,omitempty"`
	Config json.RawMessage          `json:"config,omitempty"`
}

type graphFromJSON struct {
	Node       string `json:"node,omitempty"`
	Output     string `json:"output,omitempty"`
	GraphInput string `json:"graph_input,omitempty"`
	Collect    bool   `json:"collect,omitempty"`
}

type graphOutJSON struct {
	Name   string `json:"name"`
	Node   string `json:"node"`
	Output string `json:"output"`
}

type jobJSON struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Selection   string            `json:"selection,omitempty"`
	Graph       string            `json:"graph,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Config      json.RawMessage   `json:"config,omitempty"`
}

func (r *registry) addGraph(name string, parts []GraphPart) {
	g := &graphDef{Name: name}
	for _, p := range parts {
		if p != nil {
			p(g)
		}
	}
	var problems []string
	if !nameRE.MatchString(name) {
		problems = append(problems, fmt.Sprintf("invalid graph name %q: want [A-Za-z_][A-Za-z0-9_]*", name))
	}
	if len(g.Nodes) == 0 {
		problems = append(problems, "a graph needs at least one node (wasmorch.Node)")
	}
	nodes := map[string]bool{}
	for _, n := range g.Nodes {
		if !nameRE.MatchString(n.Name) || nodes[n.Name] {
			problems = append(problems, fmt.Sprintf("node name %q is invalid or used twice", n.Name))
		}
		nodes[n.Name] = true
	}
	for _, n := range g.Nodes {
		for in, from := range n.Ins {
			if from.Node != "" && !nodes[from.Node] {
				problems = append(problems, fmt.Sprintf("node %q input %q reads node %q, which the graph does not have", n.Name, in, from.Node))
			}
		}
		if len(n.Config) > 0 && !json.Valid(n.Config) {
			problems = append(problems, fmt.Sprintf("node %q: NodeConfig is not valid JSON", n.Name))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.record("graph", name, problems) {
		r.graphs = append(r.graphs, g)
	}
}

// record notes a graph or job name as registered and its problems, including a second
// registration of the name; it reports whether there were none. r.mu is held.
func (r *registry) record(kind, name string, problems []string) bool {
	if r.seen[kind+":"+name] {
		problems = append(problems, "the "+kind+" name is registered twice")
	}
	r.seen[kind+":"+name] = true
	for _, p := range problems {
		r.errs = append(r.errs, &registrationError{asset: name, problem: p, kind: kind})
	}
	return len(problems) == 0
}

func (r *registry) addJob(name string, opts []JobOption) {
	j := &jobJSON{Name: name}
	for _, o := range opts {
		if o != nil {
			o(j)
		}
	}
	var problems []string
	if !nameRE.MatchString(name) {
		problems = append(problems, fmt.Sprintf("invalid job name %q: want [A-Za-z_][A-Za-z0-9_]*", name))
	}
	if (strings.TrimSpace(j.Graph) == "") == (strings.TrimSpace(j.Selection) == "") {
		problems = append(problems, "a job needs exactly one of JobGraph and JobSelection")
	}
	if len(j.Config) > 0 && !json.Valid(j.Config) {
		problems = append(problems, "JobConfig is not valid JSON")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.record("job", name, problems) {
		r.jobs = append(r.jobs, j)
	}
}
