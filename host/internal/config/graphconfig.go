package config

import (
	"bytes"
	"encoding/json"
)

// GraphNode is one node of a graph job, as run config sees it: an op, with its config schema, or
// a nested graph, with nodes of its own. Run config nests the same way Dagster's does:
// {"ops": {"GRAPH_NODE": {"ops": {"OP_NODE": {"config": {...}}}}}}.
type GraphNode struct {
	// Step is the op node's step key, which keys its entry in the returned per-step config.
	Step string
	// Schema is the op's config schema; nil accepts any object.
	Schema *Schema
	// Default is the node's config given in the graph's wiring (decoded JSON), or nil. Run config
	// for the node is merged over it key by key.
	Default any
	// Nodes is set for a nested graph.
	Nodes map[string]*GraphNode
}

// ValidateGraphRunConfig is ValidateRunConfig for a graph job: ops are nested by graph node,
// and the top-level graph's inputs are given as {"inputs": {"NAME": {"value": V}}}. Every input
// named in inputs must be given. It returns each op step's resolved config keyed by
// GraphNode.Step, each input's resolved value, and the redacted run config (the only form that
// may be stored). Every problem is reported, each with its path.
func ValidateGraphRunConfig(run []byte, nodes map[string]*GraphNode, inputs []string, lookup func(string) (string, bool)) (perStep, inputValues map[string]json.RawMessage, redactedRun json.RawMessage, errs []Error) {
	w := &walker{mode: envResolve, lookup: lookup}
	var doc any = map[string]any{}
	if len(bytes.TrimSpace(run)) > 0 {
		var err error
		if doc, err = decodeJSON(run); err != nil {
			return nil, nil, nil, []Error{{Message: "run config is not valid JSON: " + err.Error()}}
		}
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, nil, nil, []Error{{Message: `run config must be an object of the shape {"ops": {"NODE": {"config": {...}}}}, got ` + describe(doc, "")}}
	}
	for _, k := range sortedKeys(top) {
		if k != "ops" && k != "inputs" {
			w.fail("", "unknown top-level field %q%s", k, unknownHint(k, []string{"ops", "inputs"}))
		}
	}
	g := &graphWalk{w: w, resolved: map[string]any{}}
	redactedOps := g.ops("ops", top["ops"], nodes)

	inputValues = map[string]json.RawMessage{}
	redactedInputs := map[string]any{}
	given := map[string]any{}
	if raw, ok := top["inputs"]; ok {
		if m, ok := raw.(map[string]any); ok {
			given = m
		} else {
			w.fail("inputs", "expected an object keyed by graph input name, got %s", describe(raw, ""))
		}
	}
	declared := map[string]bool{}
	for _, name := range inputs {
		declared[name] = true
	}
	for _, name := range sortedKeys(given) {
		if !declared[name] {
			w.fail("inputs", "the graph has no input %q%s", name, suggest(name, inputs))
		}
	}
	for _, name := range inputs {
		path := childPath("inputs", name)
		entry, ok := given[name]
		if !ok {
			w.fail(path, `missing: the graph's input %q must be given as {"value": ...}`, name)
			continue
		}
		em, ok := entry.(map[string]any)
		if !ok {
			w.fail(path, `expected an object with a "value" field, got %s`, describe(entry, ""))
			continue
		}
		v, ok := em["value"]
		for _, k := range sortedKeys(em) {
			if k != "value" {
				w.fail(path, "unknown field %q%s", k, unknownHint(k, []string{"value"}))
			}
		}
		if !ok {
			w.fail(path, `missing required field "value"`)
			continue
		}
		res, red := w.walk(anySchema, v, childPath(path, "value"))
		b, err := marshal(res)
		if err != nil {
			w.fail(path, "cannot encode the value: %v", err)
			continue
		}
		inputValues[name] = b
		redactedInputs[name] = map[string]any{"value": red}
	}
	if len(w.errs) > 0 {
		sortErrors(w.errs)
		return nil, nil, nil, w.errs
	}
	perStep = make(map[string]json.RawMessage, len(g.resolved))
	for step, v := range g.resolved {
		b, err := marshal(v)
		if err != nil {
			w.fail(step, "cannot encode the resolved config: %v", err)
			continue
		}
		perStep[step] = b
	}
	out := map[string]any{"ops": redactedOps}
	if len(redactedInputs) > 0 {
		out["inputs"] = redactedInputs
	}
	redactedRun, err := marshal(out)
	if err != nil {
		w.fail("", "cannot encode the redacted run config: %v", err)
	}
	if len(w.errs) > 0 {
		sortErrors(w.errs)
		return nil, nil, nil, w.errs
	}
	return perStep, inputValues, redactedRun, nil
}

type graphWalk struct {
	w        *walker
	resolved map[string]any // step key → resolved config
}

// ops walks one level of "ops" (raw may be nil when absent) and returns its redacted form.
func (g *graphWalk) ops(path string, raw any, nodes map[string]*GraphNode) map[string]any {
	given := map[string]any{}
	if raw != nil {
		if m, ok := raw.(map[string]any); ok {
			given = m
		} else {
			g.w.fail(path, "expected an object keyed by node name, got %s", describe(raw, ""))
		}
	}
	names := sortedKeys(nodes)
	for _, name := range sortedKeys(given) {
		if _, ok := nodes[name]; !ok {
			g.w.fail(path, "unknown node %q%s", name, suggest(name, names))
		}
	}
	redacted := map[string]any{}
	for _, name := range names {
		n := nodes[name]
		entryPath := childPath(path, name)
		entry, present := given[name]
		var em map[string]any
		if present {
			var ok bool
			if em, ok = entry.(map[string]any); !ok {
				want := `"config"`
				if n.Nodes != nil {
					want = `"ops"`
				}
				g.w.fail(entryPath, "expected an object with an %s field, got %s", want, describe(entry, ""))
				continue
			}
		}
		if n.Nodes != nil {
			for _, k := range sortedKeys(em) {
				if k != "ops" {
					g.w.fail(entryPath, "unknown field %q%s (node %q is a graph: configure its nodes under ops)", k, unknownHint(k, []string{"ops"}), name)
				}
			}
			if sub := g.ops(childPath(entryPath, "ops"), em["ops"], n.Nodes); len(sub) > 0 {
				redacted[name] = map[string]any{"ops": sub}
			}
			continue
		}
		for _, k := range sortedKeys(em) {
			if k != "config" {
				g.w.fail(entryPath, "unknown field %q%s", k, unknownHint(k, []string{"config"}))
			}
		}
		s := n.Schema
		if s == nil {
			s = objectSchema
		}
		cfg, hasCfg := em["config"]
		switch {
		case n.Default != nil && hasCfg:
			cfg = MergeValues(deepCopy(n.Default), cfg)
		case n.Default != nil:
			cfg = deepCopy(n.Default)
		case hasCfg:
		case s.hasDefault:
			cfg = deepCopy(s.def)
		case s.allows("object"):
			cfg = map[string]any{}
		default:
			g.w.fail(entryPath, `missing required field "config"`)
			continue
		}
		res, red := g.w.walk(s, cfg, childPath(entryPath, "config"))
		g.resolved[n.Step] = res
		redacted[name] = map[string]any{"config": red}
	}
	return redacted
}

// MergeValues deep-merges decoded JSON: objects key by key, anything else replaced by override,
// as Dagster merges run config files.
func MergeValues(base, override any) any {
	bm, ok1 := base.(map[string]any)
	om, ok2 := override.(map[string]any)
	if !ok1 || !ok2 {
		return override
	}
	out := make(map[string]any, len(bm)+len(om))
	for k, v := range bm {
		out[k] = v
	}
	for k, v := range om {
		out[k] = MergeValues(bm[k], v)
	}
	return out
}
