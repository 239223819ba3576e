package graph

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// fuzzNodes is a small fixed graph for FuzzSelectReference: a diamond with a tail, a chain, an
// isolated asset in the default group, and keys with '/', '-' and '_'.
//
//	src/a ─┬─> mid-1 ─┬─> sink_x ─> tail/end
//	       └─> mid_2 ─┘
//	c/1 ─> c/2 ─> c/3          lonely
func fuzzNodes() []Node {
	return []Node{
		{Key: "src/a", Module: "m", Group: "src"},
		{Key: "mid-1", Module: "m", Group: "mid", Deps: []string{"src/a"}},
		{Key: "mid_2", Module: "m", Group: "mid", Deps: []string{"src/a"}},
		{Key: "sink_x", Module: "n", Group: "out", Deps: []string{"mid_2", "mid-1"}},
		{Key: "tail/end", Module: "n", Group: "out", Deps: []string{"sink_x"}},
		{Key: "c/1", Module: "n", Group: "chain"},
		{Key: "c/2", Module: "n", Group: "chain", Deps: []string{"c/1"}},
		{Key: "c/3", Module: "n", Group: "g-3", Deps: []string{"c/2"}},
		{Key: "lonely", Module: "n"},
	}
}

// FuzzSelectReference checks Select against a deliberately naive model of the selection syntax
// over a small fixed graph: the expression fails exactly when the model finds a malformed or
// unmatched clause, and otherwise selects exactly the model's set, each key once, in dependency
// order (and in TopoSort's order). FuzzSelect checks the same invariants without a model; this
// one also catches a wrong selection. The seed corpus is in testdata/fuzz/FuzzSelectReference;
// plain `go test` runs it.
func FuzzSelectReference(f *testing.F) {
	for _, seed := range []string{
		"*", " * ", "src/a", "src/a*", "*tail/end", "+sink_x", "++sink_x+", "+++tail/end", "sink_x++",
		"+mid-1+", "*mid_2*", "group:mid", "group:mid+", "*group:out", "+group:chain", "group:g-3",
		"group:default", "lonely,c/1*", "c/1++,c/3", "*,lonely", "a,,b", ",", "", " ", "+", "*+",
		"+*", "**", "***src/a", "src/a**", "group:", "group:*", "group:mid/x", "tag:x", "mid",
		"src//a", "-x", "c/-1", "é", "src/a\u00a0", "\u2028lonely", "c/2,+c/2+,*c/2*", "group:src*,*group:out",
	} {
		f.Add(seed)
	}
	g, err := New(fuzzNodes())
	if err != nil {
		f.Fatal(err)
	}
	keys := g.Keys()
	parents, children := map[string][]string{}, map[string][]string{}
	groups := map[string][]string{}
	for _, n := range fuzzNodes() {
		parents[n.Key] = n.Deps
		for _, d := range n.Deps {
			children[d] = append(children[d], n.Key)
		}
		group := n.Group
		if group == "" {
			group = DefaultGroup
		}
		groups[group] = append(groups[group], n.Key)
	}
	ancestors := map[string]map[string]bool{}
	for _, k := range keys {
		ancestors[k] = reach([]string{k}, -1, parents)
		delete(ancestors[k], k)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		want, wantOK := referenceSelect(expr, keys, groups, parents, children)
		got, err := g.Select(expr)
		if err != nil {
			if wantOK {
				t.Fatalf("Select(%q) failed (%v), the model selects %q", expr, err, sortedSet(want))
			}
			var errs *Errors
			if !errors.As(err, &errs) || len(errs.Errs) == 0 {
				t.Fatalf("Select(%q): error %T is not a non-empty *Errors", expr, err)
			}
			for _, e := range errs.Errs {
				if (!errors.Is(e, ErrBadSelection) && !errors.Is(e, ErrNoMatch)) || e.Error() == "" {
					t.Fatalf("Select(%q): problem %q wraps no selection sentinel or is empty", expr, e)
				}
				var se *SyntaxError
				if errors.As(e, &se) && (se.Column() < 0 || se.Pos >= len(expr)+1) {
					t.Fatalf("Select(%q): syntax error at %d, column %d", expr, se.Pos, se.Column())
				}
			}
			return
		}
		if !wantOK {
			t.Fatalf("Select(%q) = %q, the model finds the expression invalid", expr, got)
		}
		seen := map[string]bool{}
		for i, k := range got {
			if _, ok := g.Node(k); !ok || seen[k] {
				t.Fatalf("Select(%q) = %q: %q is no key of the graph, or repeated", expr, got, k)
			}
			seen[k] = true
			for _, later := range got[i+1:] {
				if ancestors[k][later] {
					t.Fatalf("Select(%q) = %q puts %q before its ancestor %q", expr, got, k, later)
				}
			}
		}
		if !slices.Equal(sortedSet(seen), sortedSet(want)) {
			t.Fatalf("Select(%q) = %q, the model selects %q", expr, sortedSet(seen), sortedSet(want))
		}
		if topo := g.TopoSort(got); !slices.Equal(topo, got) {
			t.Fatalf("Select(%q) = %q, not in TopoSort's order %q", expr, got, topo)
		}
	})
}

// referenceSelect is the model: split on ',', trim white space, peel the runs of '*' and '+'
// off both ends, and look the rest up exactly. ok is false when any clause is malformed or
// names nothing.
func referenceSelect(expr string, keys []string, groups, parents, children map[string][]string) (map[string]bool, bool) {
	out := map[string]bool{}
	if strings.TrimSpace(expr) == "" {
		return nil, false
	}
	for _, clause := range strings.Split(expr, ",") {
		clause = strings.TrimFunc(clause, unicode.IsSpace)
		if clause == "*" {
			for _, k := range keys {
				out[k] = true
			}
			continue
		}
		isMod := func(r rune) bool { return r == '*' || r == '+' }
		body := strings.TrimLeftFunc(clause, isMod)
		left := clause[:len(clause)-len(body)]
		body = strings.TrimRightFunc(body, isMod)
		right := clause[len(left)+len(body):]
		up, ok1 := depthOf(left)
		down, ok2 := depthOf(right)
		if !ok1 || !ok2 || body == "" {
			return nil, false
		}
		var seeds []string
		if name, isGroup := strings.CutPrefix(body, "group:"); isGroup {
			seeds = groups[name]
		} else if slices.Contains(keys, body) {
			seeds = []string{body}
		}
		if len(seeds) == 0 {
			return nil, false
		}
		for k := range reach(seeds, up, parents) {
			out[k] = true
		}
		for k := range reach(seeds, down, children) {
			out[k] = true
		}
	}
	return out, true
}

// depthOf reads a modifier run: "" is 0, "*" is unlimited (-1), n '+' are n.
func depthOf(mod string) (int, bool) {
	switch {
	case mod == "*":
		return -1, true
	case strings.Trim(mod, "+") == "":
		return len(mod), true
	}
	return 0, false
}

// reach returns seeds and every node within depth steps along adj (-1: any number of steps).
func reach(seeds []string, depth int, adj map[string][]string) map[string]bool {
	dist := map[string]int{}
	queue := []string{}
	for _, s := range seeds {
		if _, ok := dist[s]; !ok {
			dist[s] = 0
			queue = append(queue, s)
		}
	}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		if depth >= 0 && dist[v] >= depth {
			continue
		}
		for _, w := range adj[v] {
			if _, ok := dist[w]; !ok {
				dist[w] = dist[v] + 1
				queue = append(queue, w)
			}
		}
	}
	out := map[string]bool{}
	for k := range dist {
		out[k] = true
	}
	return out
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
