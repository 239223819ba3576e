package host

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/host/internal/config"
	"github.com/wasmorch/wasmorch/host/internal/graph"
	"github.com/wasmorch/wasmorch/host/internal/manifest"
	wruntime "github.com/wasmorch/wasmorch/host/internal/runtime"
)

// ErrInvalidGraph is wrapped by errors about a graph's wiring: an unknown op, an input wired to
// nothing or to an output of another format, a cycle, a fan-out that cannot be mapped.
var ErrInvalidGraph = errors.New("invalid graph")

// opDef is an op of a loaded module.
type opDef struct {
	spec   *manifest.Op
	module *wruntime.Module
	config *config.Schema
}

func (o *opDef) ref() string { return o.module.Name + ":" + o.spec.Name }

func (o *opDef) in(name string) (*manifest.OpIn, bool) {
	for i := range o.spec.Ins {
		if o.spec.Ins[i].Name == name {
			return &o.spec.Ins[i], true
		}
	}
	return nil, false
}

func (o *opDef) out(name string) (*manifest.OpOut, bool) {
	for i := range o.spec.Outs {
		if o.spec.Outs[i].Name == name {
			return &o.spec.Outs[i], true
		}
	}
	return nil, false
}

func formatOf(f string) abi.Format {
	if f == "" {
		return abi.FormatArrow
	}
	ff, _ := abi.ParseFormat(f)
	return ff
}

// graphDef is a graph declared by a module or by the workspace file (module "").
type graphDef struct {
	spec   manifest.Graph
	module string
	source string
}

func (g *graphDef) ref() string {
	if g.module == "" {
		return g.spec.Name
	}
	return g.module + ":" + g.spec.Name
}

// loadOpsAndGraphs indexes every module's ops and graphs and parses the workspace file's graphs.
func (ws *Workspace) loadOpsAndGraphs() []error {
	var errs []error
	ws.ops = map[string]*opDef{}
	ws.graphs = map[string]*graphDef{}
	for _, m := range ws.modules {
		for i := range m.Manifest.Ops {
			o := &m.Manifest.Ops[i]
			cs, err := config.Compile(o.ConfigSchema)
			if err != nil {
				errs = append(errs, fmt.Errorf("module %q: op %q: config_schema: %w", m.Name, o.Name, err))
				continue
			}
			ws.ops[m.Name+":"+o.Name] = &opDef{spec: o, module: m, config: cs}
		}
		for _, g := range m.Manifest.Graphs {
			ws.graphs[m.Name+":"+g.Name] = &graphDef{spec: g, module: m.Name, source: fmt.Sprintf("module %q", m.Name)}
		}
	}
	for _, g := range ws.file.Graphs {
		source := fmt.Sprintf("%s line %d", ws.file.Path, g.Line)
		spec, err := manifest.ParseGraph(g.JSON, "graphs."+g.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", source, err))
			continue
		}
		ws.graphs[g.Name] = &graphDef{spec: spec, source: source}
	}
	return errs
}

// resolveRef finds what a graph node's op names: in a module's graph, a bare name is an op or
// graph of that module; in the workspace file's graph, a workspace graph or the op or graph of
// the one module that defines that name. MODULE:NAME always names another module's.
func (ws *Workspace) resolveRef(from *graphDef, ref string) (*opDef, *graphDef, error) {
	if mod, name, ok := strings.Cut(ref, ":"); ok {
		if !ws.hasModule(mod) {
			return nil, nil, fmt.Errorf("no module %q in the workspace%s", mod, didYouMean(mod, ws.moduleNames()))
		}
		if o := ws.ops[ref]; o != nil {
			return o, nil, nil
		}
		if g := ws.graphs[ref]; g != nil {
			return nil, g, nil
		}
		return nil, nil, fmt.Errorf("module %q defines no op or graph %q%s", mod, name, didYouMean(name, ws.namesIn(mod)))
	}
	if from.module != "" {
		if o := ws.ops[from.module+":"+ref]; o != nil {
			return o, nil, nil
		}
		if g := ws.graphs[from.module+":"+ref]; g != nil {
			return nil, g, nil
		}
		return nil, nil, fmt.Errorf("module %q defines no op or graph %q%s", from.module, ref, didYouMean(ref, ws.namesIn(from.module)))
	}
	if g := ws.graphs[ref]; g != nil {
		return nil, g, nil
	}
	var found []string
	for k := range ws.ops {
		if strings.HasSuffix(k, ":"+ref) {
			found = append(found, k)
		}
	}
	for k, g := range ws.graphs {
		if g.module != "" && strings.HasSuffix(k, ":"+ref) {
			found = append(found, k)
		}
	}
	sort.Strings(found)
	switch len(found) {
	case 1:
		if o := ws.ops[found[0]]; o != nil {
			return o, nil, nil
		}
		return nil, ws.graphs[found[0]], nil
	case 0:
		var all []string
		for k := range ws.ops {
			all = append(all, k)
		}
		for k := range ws.graphs {
			all = append(all, k)
		}
		var bare []string
		for _, k := range all {
			_, n, _ := strings.Cut(k, ":")
			if n == "" {
				n = k
			}
			bare = append(bare, n)
		}
		return nil, nil, fmt.Errorf("no module defines an op or graph %q%s", ref, didYouMean(ref, bare))
	default:
		return nil, nil, fmt.Errorf("op %q is defined by several modules (%s); write MODULE:NAME", ref, strings.Join(found, ", "))
	}
}

func (ws *Workspace) hasModule(name string) bool {
	for _, m := range ws.modules {
		if m.Name == name {
			return true
		}
	}
	return false
}

func (ws *Workspace) moduleNames() []string {
	var out []string
	for _, m := range ws.modules {
		out = append(out, m.Name)
	}
	return out
}

func (ws *Workspace) namesIn(module string) []string {
	var out []string
	for k := range ws.ops {
		if m, n, _ := strings.Cut(k, ":"); m == module {
			out = append(out, n)
		}
	}
	for k := range ws.graphs {
		if m, n, _ := strings.Cut(k, ":"); m == module {
			out = append(out, n)
		}
	}
	return out
}

func didYouMean(q string, candidates []string) string {
	s := graph.Suggest(q, candidates)
	if len(s) == 0 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", quoteAll(s))
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, " or ")
}

// ---- plans ----

// opPlan is a graph flattened into op steps: nested graphs are inlined, with node keys joined
// by "." as Dagster does ("outer.inner"), and mapped nodes are marked with the fan-out they run
// over. Mapped nodes have no step until their fan-out has run.
type opPlan struct {
	graph  *graphDef
	nodes  []*planNode // in dependency order
	byKey  map[string]*planNode
	inputs []string // the top-level graph's inputs, given in run config
	config map[string]*config.GraphNode
}

type planNode struct {
	key string
	op  *opDef
	ins []planInput
	// mappedOver is the key of the fan-out node this node runs once per mapping key of, or "".
	mappedOver string
}

// planInput is one wired input of an op node.
type planInput struct {
	name   string
	format abi.Format
	// from and output name the upstream node and its output; graphInput is set instead for a
	// top-level graph input, whose value comes from run config.
	from, output string
	graphInput   string
	// collect gathers every mapped value; dynamic says the upstream output is itself the fan-out.
	collect, dynamic bool
}

// source is where a wire leads after nested graphs are resolved.
type source struct {
	node, output, graphInput string
	collect                  bool
}

type planBuilder struct {
	ws   *Workspace
	plan *opPlan
	errs []string
}

func (b *planBuilder) fail(format string, args ...any) {
	b.errs = append(b.errs, fmt.Sprintf(format, args...))
}

// graphFor resolves the graph a job runs, as a job declared in from resolves names (a module's
// graph, or nil for wasmorch.yaml).
func (ws *Workspace) graphFor(ref string, from *graphDef) (*graphDef, error) {
	if from == nil {
		from = &graphDef{}
	}
	_, g, err := ws.resolveRef(from, ref)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidGraph, err)
	}
	if g == nil {
		return nil, fmt.Errorf("%w: %q is an op, not a graph; a job runs a graph", ErrInvalidGraph, ref)
	}
	return g, nil
}

// planGraphs flattens every graph of the workspace once, when it loads, so a graph no job runs
// yet is checked too; jobs then use the stored plans.
func (ws *Workspace) planGraphs() []error {
	ws.plans = map[string]*opPlan{}
	var errs []error
	for _, ref := range sortedKeys(ws.graphs) {
		g := ws.graphs[ref]
		plan, err := ws.planGraph(g)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", g.source, err))
			continue
		}
		ws.plans[ref] = plan
	}
	return errs
}

// planGraph flattens graph g. All problems are reported together.
func (ws *Workspace) planGraph(g *graphDef) (*opPlan, error) {
	b := &planBuilder{ws: ws, plan: &opPlan{graph: g, byKey: map[string]*planNode{}, config: map[string]*config.GraphNode{}}}
	top := map[string]source{}
	for _, in := range g.spec.Ins {
		top[in.Name] = source{graphInput: in.Name}
		b.plan.inputs = append(b.plan.inputs, in.Name)
	}
	b.addGraph(g, "", top, []string{g.ref()}, b.plan.config)
	if len(b.errs) == 0 {
		b.mapNodes()
	}
	if len(b.errs) > 0 {
		if len(b.errs) == 1 {
			return nil, fmt.Errorf("%w %q: %s", ErrInvalidGraph, g.ref(), b.errs[0])
		}
		return nil, fmt.Errorf("%w %q (%d problems):\n  %s", ErrInvalidGraph, g.ref(), len(b.errs), strings.Join(b.errs, "\n  "))
	}
	return b.plan, nil
}

// addGraph inlines graph g under prefix, with its inputs wired to the given sources, and returns
// where each of its outputs leads.
func (b *planBuilder) addGraph(g *graphDef, prefix string, inputs map[string]source, stack []string, cfg map[string]*config.GraphNode) map[string]source {
	order, ok := b.nodeOrder(g, prefix)
	if !ok {
		return nil
	}
	graphOuts := map[string]map[string]source{} // node name → its outputs, for graph nodes
	opNodes := map[string]*opDef{}
	for _, n := range order {
		where := fmt.Sprintf("graph %q node %q", g.ref(), n.Name)
		key := prefix + n.Name
		op, sub, err := b.ws.resolveRef(g, n.Op)
		if err != nil {
			b.fail("%s: %v", where, err)
			continue
		}
		// Resolve each wired input to its source.
		srcs := map[string]source{}
		for _, in := range sortedKeys(n.Ins) {
			from := n.Ins[in]
			switch {
			case from.GraphInput != "":
				s, ok := inputs[from.GraphInput]
				if !ok {
					b.fail("%s: input %q: the graph has no input %q", where, in, from.GraphInput)
					continue
				}
				srcs[in] = s
			case opNodes[from.Node] != nil:
				up := opNodes[from.Node]
				if _, ok := up.out(from.Output); !ok {
					b.fail("%s: input %q reads output %q of node %q, but op %s has outputs %s", where, in, from.Output, from.Node, up.ref(), outNames(up))
					continue
				}
				srcs[in] = source{node: prefix + from.Node, output: from.Output, collect: from.Collect}
			case graphOuts[from.Node] != nil:
				s, ok := graphOuts[from.Node][from.Output]
				if !ok {
					b.fail("%s: input %q reads output %q of node %q, a graph with outputs %s", where, in, from.Output, from.Node, strings.Join(sortedKeys(graphOuts[from.Node]), ", "))
					continue
				}
				s.collect = s.collect || from.Collect
				srcs[in] = s
			default:
				// The upstream node failed to resolve; its error is already reported.
				continue
			}
		}
		if sub != nil {
			for _, s := range stack {
				if s == sub.ref() {
					b.fail("%s: graph %q contains itself (%s → %s)", where, sub.ref(), strings.Join(stack, " → "), sub.ref())
					sub = nil
					break
				}
			}
			if sub == nil {
				continue
			}
			if len(n.Config) > 0 && string(n.Config) != "null" {
				b.fail("%s: config is set on a node that is a graph; configure the ops inside it", where)
			}
			subInputs := map[string]source{}
			declared := map[string]bool{}
			for _, gi := range sub.spec.Ins {
				declared[gi.Name] = true
				s, ok := srcs[gi.Name]
				if !ok {
					b.fail("%s: input %q of graph %q is not wired", where, gi.Name, sub.ref())
					continue
				}
				subInputs[gi.Name] = s
			}
			for in := range n.Ins {
				if !declared[in] {
					b.fail("%s: wires input %q, but graph %q has inputs %s", where, in, sub.ref(), graphInNames(sub))
				}
			}
			sc := map[string]*config.GraphNode{}
			cfg[n.Name] = &config.GraphNode{Nodes: sc}
			graphOuts[n.Name] = b.addGraph(sub, key+".", subInputs, append(stack, sub.ref()), sc)
			if graphOuts[n.Name] == nil {
				graphOuts[n.Name] = map[string]source{}
			}
			continue
		}
		opNodes[n.Name] = op
		pn := &planNode{key: key, op: op}
		for in := range n.Ins {
			if _, ok := op.in(in); !ok {
				b.fail("%s: wires input %q, but op %s has inputs %s", where, in, op.ref(), inNames(op))
			}
		}
		for _, decl := range op.spec.Ins {
			s, wired := srcs[decl.Name]
			if !wired {
				if _, given := n.Ins[decl.Name]; !given && !decl.Optional {
					b.fail("%s: input %q of op %s is not wired (wire it, or declare it optional in the op)", where, decl.Name, op.ref())
				}
				continue
			}
			want := formatOf(decl.Format)
			pi := planInput{name: decl.Name, format: want, from: s.node, output: s.output, graphInput: s.graphInput, collect: s.collect}
			var got abi.Format
			var gotFrom string
			if s.graphInput != "" {
				got, gotFrom = abi.FormatJSON, fmt.Sprintf("graph input %q (a JSON value from run config)", s.graphInput)
			} else {
				up := b.plan.byKey[s.node]
				out, _ := up.op.out(s.output)
				got, gotFrom = formatOf(out.Format), fmt.Sprintf("output %q of node %q (op %s)", s.output, s.node, up.op.ref())
				pi.dynamic = out.Dynamic
			}
			if got != want {
				b.fail("%s: wiring type mismatch: input %q of op %s reads %s, but %s is %s", where, decl.Name, op.ref(), want, gotFrom, got)
				continue
			}
			if s.collect && want == abi.FormatBytes {
				b.fail("%s: input %q collects bytes values, which cannot be gathered into one value; use arrow (concatenated) or json (an array)", where, decl.Name)
				continue
			}
			pn.ins = append(pn.ins, pi)
		}
		b.plan.nodes = append(b.plan.nodes, pn)
		b.plan.byKey[key] = pn
		var def any
		if len(n.Config) > 0 && string(n.Config) != "null" {
			json.Unmarshal(n.Config, &def)
		}
		cfg[n.Name] = &config.GraphNode{Step: key, Schema: op.config, Default: def}
	}
	outs := map[string]source{}
	for _, o := range g.spec.Outs {
		switch {
		case opNodes[o.Node] != nil:
			if _, ok := opNodes[o.Node].out(o.Output); !ok {
				b.fail("graph %q output %q: node %q (op %s) has no output %q", g.ref(), o.Name, o.Node, opNodes[o.Node].ref(), o.Output)
				continue
			}
			outs[o.Name] = source{node: prefix + o.Node, output: o.Output}
		case graphOuts[o.Node] != nil:
			s, ok := graphOuts[o.Node][o.Output]
			if !ok {
				b.fail("graph %q output %q: graph node %q has no output %q", g.ref(), o.Name, o.Node, o.Output)
				continue
			}
			outs[o.Name] = s
		}
	}
	return outs
}

// nodeOrder sorts a graph's nodes so each comes after the nodes it reads, reporting a cycle.
func (b *planBuilder) nodeOrder(g *graphDef, prefix string) ([]manifest.GraphNode, bool) {
	byName := map[string]manifest.GraphNode{}
	indeg := map[string]int{}
	children := map[string][]string{}
	for _, n := range g.spec.Nodes {
		byName[n.Name] = n
		seen := map[string]bool{}
		for _, from := range n.Ins {
			if from.Node != "" && !seen[from.Node] {
				seen[from.Node] = true
				indeg[n.Name]++
				children[from.Node] = append(children[from.Node], n.Name)
			}
		}
	}
	var queue, order []string
	for _, n := range g.spec.Nodes {
		if indeg[n.Name] == 0 {
			queue = append(queue, n.Name)
		}
	}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		order = append(order, k)
		for _, c := range children[k] {
			if indeg[c]--; indeg[c] == 0 {
				queue = append(queue, c)
			}
		}
	}
	if len(order) < len(g.spec.Nodes) {
		var stuck []string
		for _, n := range g.spec.Nodes {
			if indeg[n.Name] > 0 {
				stuck = append(stuck, n.Name)
			}
		}
		b.fail("graph %q has a cycle among nodes %s", g.ref(), strings.Join(stuck, ", "))
		return nil, false
	}
	out := make([]manifest.GraphNode, len(order))
	for i, k := range order {
		out[i] = byName[k]
	}
	return out, true
}

// mapNodes works out which nodes run once per mapping key. A node reading a dynamic output, or
// the output of a mapped node, without collect is mapped over that fan-out; collect gathers
// the values back into one unmapped step. Nested fan-outs are refused.
func (b *planBuilder) mapNodes() {
	for _, n := range b.plan.nodes {
		where := fmt.Sprintf("node %q (op %s)", n.key, n.op.ref())
		for _, in := range n.ins {
			if in.graphInput != "" {
				continue
			}
			up := b.plan.byKey[in.from]
			fanOut := up.mappedOver
			if in.dynamic {
				if up.mappedOver != "" {
					b.fail("%s: input %q reads dynamic output %q of node %q, which is itself mapped over %q; nested fan-outs are not supported", where, in.name, in.output, up.key, up.mappedOver)
					continue
				}
				fanOut = up.key
			}
			switch {
			case in.collect && fanOut == "":
				b.fail("%s: input %q collects output %q of node %q, which is neither dynamic nor mapped; remove collect", where, in.name, in.output, in.from)
			case in.collect:
			case fanOut == "":
			case n.mappedOver != "" && n.mappedOver != fanOut:
				b.fail("%s: reads values mapped over both %q and %q; collect one of them first", where, n.mappedOver, fanOut)
			default:
				n.mappedOver = fanOut
			}
		}
		if n.mappedOver == "" {
			continue
		}
		for _, in := range n.ins {
			if in.collect && in.graphInput == "" {
				up := b.plan.byKey[in.from]
				if up.mappedOver == n.mappedOver || (in.dynamic && up.key == n.mappedOver) {
					b.fail("%s: collects input %q inside the fan-out of %q it gathers; collect it in a node downstream", where, in.name, n.mappedOver)
				}
			}
		}
		for _, o := range n.op.spec.Outs {
			if o.Dynamic {
				b.fail("%s: is mapped over %q and has dynamic output %q; nested fan-outs are not supported", where, n.mappedOver, o.Name)
			}
		}
	}
}

// fanOutOf returns the fan-out node a collect input gathers.
func (p *opPlan) fanOutOf(in planInput) string {
	if in.dynamic {
		return in.from
	}
	return p.byKey[in.from].mappedOver
}

func outNames(o *opDef) string {
	var n []string
	for _, out := range o.spec.Outs {
		n = append(n, out.Name)
	}
	if len(n) == 0 {
		return "(none)"
	}
	return strings.Join(n, ", ")
}

func inNames(o *opDef) string {
	var n []string
	for _, in := range o.spec.Ins {
		n = append(n, in.Name)
	}
	if len(n) == 0 {
		return "(none)"
	}
	return strings.Join(n, ", ")
}

func graphInNames(g *graphDef) string {
	var n []string
	for _, in := range g.spec.Ins {
		n = append(n, in.Name)
	}
	if len(n) == 0 {
		return "(none)"
	}
	return strings.Join(n, ", ")
}
