package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/wasmorch/wasmorch/host/internal/partitions"
)

// checkRetry validates a retry policy's ranges and names.
func checkRetry(p *problems, path string, r *RetryPolicy) {
	if r == nil {
		return
	}
	if r.MaxRetries < 0 || r.MaxRetries > 100 {
		p.add(path+".max_retries", "%d is out of range (0..100)", r.MaxRetries)
	}
	if r.DelaySeconds < 0 {
		p.add(path+".delay_seconds", "must not be negative")
	}
	switch r.Backoff {
	case "", "none", "linear", "exponential":
	default:
		p.add(path+".backoff", "unknown backoff %q (want none, linear or exponential)", r.Backoff)
	}
	switch r.Jitter {
	case "", "none", "full", "plus_minus":
	default:
		p.add(path+".jitter", "unknown jitter %q (want none, full or plus_minus)", r.Jitter)
	}
}

// checkMapping validates a partition mapping (ABI.md 7.7) with the partitions package; whether
// it fits the two partitions definitions is the engine's check, which knows both.
func checkMapping(p *problems, path string, raw json.RawMessage) {
	if _, err := partitions.ParseMappingAt(path, raw); err != nil {
		p.add("", "%v", err)
	}
}

// validateGraphsAndJobs checks names, node wiring inside each graph, and that each job has
// exactly one of a selection and a graph. References to ops or graphs of other modules
// ("module:name") are resolved by the engine.
func (m *Manifest) validateGraphsAndJobs(p *problems) {
	local := map[string]bool{}
	for _, o := range m.Ops {
		local[o.Name] = true
	}
	graphNames := map[string]bool{}
	for _, g := range m.Graphs {
		graphNames[g.Name] = true
	}
	for i, g := range m.Graphs {
		path := fmt.Sprintf("graphs[%d]", i)
		if ValidName(g.Name) && local[g.Name] {
			p.add(path+".name", "graph %q has the name of an op of this module", g.Name)
		}
		checkGraph(p, path, g, func(op string) bool { return local[op] || graphNames[op] })
	}
	jobs := map[string]bool{}
	for i, j := range m.Jobs {
		path := fmt.Sprintf("jobs[%d]", i)
		if !ValidName(j.Name) || jobs[j.Name] {
			p.add(path+".name", "%q is not a valid, unique job name", j.Name)
		}
		jobs[j.Name] = true
		switch {
		case (j.Selection == "") == (j.Graph == ""):
			p.add(path, "a job needs exactly one of selection and graph")
		case j.Graph != "" && !strings.Contains(j.Graph, ":") && !graphNames[j.Graph]:
			p.add(path+".graph", "no graph %q in this module", j.Graph)
		}
		checkObject(p, path+".config", j.Config, "a JSON object (the job's default run config)")
	}
}

// ParseGraph decodes and checks a graph declared outside a module (in wasmorch.yaml): names,
// inputs and the wiring between its nodes. Which ops its nodes name is resolved by the engine,
// which knows every module. Every problem is reported, each with its path under path.
func ParseGraph(data []byte, path string) (Graph, error) {
	var g Graph
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return g, fmt.Errorf("%w: %s: %s", ErrInvalid, path, describeSyntax(data, err))
	}
	var p problems
	checkGraph(&p, path, g, nil)
	if len(p) > 0 {
		return g, p.err()
	}
	return g, nil
}

// checkGraph checks one graph's names and wiring. localOp reports whether a bare op name is an op
// or graph the graph can use; nil leaves bare names to the engine.
func checkGraph(p *problems, path string, g Graph, localOp func(string) bool) {
	if !ValidName(g.Name) {
		p.add(path+".name", "%q is not a valid graph name", g.Name)
	}
	inputs := map[string]bool{}
	for j, in := range g.Ins {
		if !ValidName(in.Name) || inputs[in.Name] {
			p.add(fmt.Sprintf("%s.ins[%d].name", path, j), "%q is not a valid, unique input name", in.Name)
		}
		inputs[in.Name] = true
	}
	if len(g.Nodes) == 0 {
		p.add(path+".nodes", "a graph needs at least one node")
	}
	nodes := map[string]bool{}
	for j, n := range g.Nodes {
		if !ValidName(n.Name) || nodes[n.Name] {
			p.add(fmt.Sprintf("%s.nodes[%d].name", path, j), "%q is not a valid, unique node name", n.Name)
		}
		nodes[n.Name] = true
	}
	for j, n := range g.Nodes {
		np := fmt.Sprintf("%s.nodes[%d] (node %q)", path, j, n.Name)
		switch {
		case n.Op == "":
			p.add(np+".op", "is required")
		case strings.Contains(n.Op, ":"):
			mod, name, _ := strings.Cut(n.Op, ":")
			if mod == "" || !ValidName(name) {
				p.add(np+".op", "%q is not MODULE:NAME", n.Op)
			}
		case n.Op == g.Name:
			p.add(np+".op", "graph %q cannot contain itself", g.Name)
		case localOp != nil && !localOp(n.Op):
			p.add(np+".op", "no op or graph %q in this module (use MODULE:NAME for another module's)", n.Op)
		case localOp == nil && !ValidName(n.Op):
			p.add(np+".op", "%q is not an op name or MODULE:NAME", n.Op)
		}
		checkObject(p, np+".config", n.Config, "a JSON object (the node's default config)")
		for _, in := range sortedNames(n.Ins) {
			from := n.Ins[in]
			fp := np + ".ins." + in
			switch {
			case from.GraphInput != "" && (from.Node != "" || from.Output != ""):
				p.add(fp, "give either graph_input or node and output, not both")
			case from.GraphInput != "" && from.Collect:
				p.add(fp+".collect", "only a node's dynamic or mapped output can be collected, not a graph input")
			case from.GraphInput != "":
				if !inputs[from.GraphInput] {
					p.add(fp+".graph_input", "the graph has no input %q", from.GraphInput)
				}
			case from.Node == "" || from.Output == "":
				p.add(fp, "needs node and output, or graph_input")
			case !nodes[from.Node]:
				p.add(fp+".node", "the graph has no node %q", from.Node)
			case from.Node == n.Name:
				p.add(fp+".node", "node %q cannot read its own output", n.Name)
			}
		}
	}
	for j, out := range g.Outs {
		op := fmt.Sprintf("%s.outs[%d]", path, j)
		if !ValidName(out.Name) {
			p.add(op+".name", "%q is not a valid output name", out.Name)
		}
		if !nodes[out.Node] {
			p.add(op+".node", "the graph has no node %q", out.Node)
		}
		if out.Output == "" {
			p.add(op+".output", "is required")
		}
	}
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
