package graph

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// DefaultGroup is the group of an asset declared without one, as in Dagster.
const DefaultGroup = "default"

// Node is one asset as declared by a module.
type Node struct {
	// Key is the asset key: path components of [A-Za-z0-9_-], not starting with '-', joined
	// by '/', e.g. "orders/raw". Keys are global across the workspace.
	Key string
	// Module is the name, in the workspace, of the module that declares the asset. It is only
	// used to tell the user where a problem is.
	Module string
	// Group is the asset group; "" means DefaultGroup.
	Group string
	// Deps are the upstream asset keys: the asset's named inputs and its non-input deps.
	Deps []string
}

// Graph is a validated, acyclic asset graph. It is immutable and safe for concurrent use.
type Graph struct {
	// Node i is keys[i]. Since keys are sorted, comparing indices compares keys, which is
	// what makes every ordering deterministic without extra sorting.
	keys   []string
	index  map[string]int
	nodes  []Node
	up     [][]int // direct parents of each node, ascending, no duplicates
	down   [][]int // direct children of each node, ascending, no duplicates
	groups map[string][]int
	// groupNames is sorted.
	groupNames []string
}

// New builds the graph of nodes and validates it as a whole. It returns every problem found
// as an *Errors whose elements are *InvalidKeyError, *InvalidGroupError, *DuplicateKeyError,
// *UnknownDepError and *CycleError, all wrapping ErrInvalidGraph. Problems are reported in
// that order, each kind sorted by asset key, so the report does not depend on the order in
// which modules were loaded.
//
// New does not keep nodes; it copies what it needs.
func New(nodes []Node) (*Graph, error) {
	// Sort definitions by key, then module, so duplicates are adjacent and every report is
	// independent of input order. Sorting a permutation moves 4-byte indices, not Nodes.
	perm := make([]int32, len(nodes))
	totalDeps := 0
	for i := range perm {
		perm[i] = int32(i)
		totalDeps += len(nodes[i].Deps)
	}
	slices.SortStableFunc(perm, func(a, b int32) int {
		return cmp.Or(strings.Compare(nodes[a].Key, nodes[b].Key), strings.Compare(nodes[a].Module, nodes[b].Module))
	})
	defs := make([]Node, len(nodes))
	for i, p := range perm {
		defs[i] = nodes[p]
	}
	// The graph's copies of deps and its edge lists are carved out of a few large arrays
	// instead of one small allocation per node, which keeps New at a few hundred
	// allocations however large the workspace (planning cost is dominated by allocation).
	depsArena := make([]string, 0, totalDeps)
	upArena := make([]int, 0, totalDeps)

	var syntaxErrs, dupErrs, depErrs []error
	g := &Graph{
		keys:   make([]string, 0, len(defs)),
		index:  make(map[string]int, len(defs)),
		nodes:  make([]Node, 0, len(defs)),
		groups: map[string][]int{},
	}
	for i := 0; i < len(defs); {
		j := i + 1
		for j < len(defs) && defs[j].Key == defs[i].Key {
			j++
		}
		for _, d := range defs[i:j] {
			if _, reason := scanKey(d.Key); reason != "" {
				syntaxErrs = append(syntaxErrs, &InvalidKeyError{Module: d.Module, Key: d.Key, Reason: reason})
			}
			if d.Group != "" {
				if _, reason := scanName(d.Group); reason != "" {
					syntaxErrs = append(syntaxErrs, &InvalidGroupError{Module: d.Module, Key: d.Key, Group: d.Group, Reason: reason})
				}
			}
		}
		if j-i > 1 {
			mods := make([]string, 0, j-i)
			for _, d := range defs[i:j] {
				mods = append(mods, d.Module)
			}
			dupErrs = append(dupErrs, &DuplicateKeyError{Key: defs[i].Key, Modules: mods})
		}
		// The first definition stands for the key in the rest of validation, so that one
		// duplicate does not also produce spurious unknown-dependency errors. Invalid keys
		// are kept too: a dependency on an asset whose key is malformed is reported once, as
		// the malformed key, not a second time as unknown.
		n := defs[i]
		start := len(depsArena)
		depsArena = append(depsArena, n.Deps...)
		n.Deps = depsArena[start:len(depsArena):len(depsArena)]
		if n.Group == "" {
			n.Group = DefaultGroup
		}
		g.index[n.Key] = len(g.keys)
		g.keys = append(g.keys, n.Key)
		g.nodes = append(g.nodes, n)
		i = j
	}

	// Edges. Every definition's deps are checked, duplicates included, since each is code a
	// user has to fix; edges come from the first definition only.
	g.up = make([][]int, len(g.keys))
	g.down = make([][]int, len(g.keys))
	sugg := depSuggester{keys: g.keys}
	for i, d := range defs {
		v := g.index[d.Key]
		var reported []string // unknown deps of d already reported; rare, so a slice
		firstDef := i == 0 || defs[i-1].Key != d.Key
		start := len(upArena)
		for _, dep := range d.Deps {
			p, ok := g.index[dep]
			if !ok {
				if !slices.Contains(reported, dep) {
					reported = append(reported, dep)
					depErrs = append(depErrs, &UnknownDepError{
						Module: d.Module, Key: d.Key, Dep: dep,
						Suggestions: sugg.suggest(dep, d.Key),
					})
				}
				continue
			}
			if firstDef {
				upArena = append(upArena, p)
			}
		}
		if firstDef {
			parents := upArena[start:]
			slices.Sort(parents)
			parents = slices.Compact(parents)
			upArena = upArena[:start+len(parents)]
			g.up[v] = parents[:len(parents):len(parents)]
		}
	}
	childCount := make([]int, len(g.keys))
	for _, ps := range g.up {
		for _, p := range ps {
			childCount[p]++
		}
	}
	downArena := make([]int, len(upArena))
	offset := 0
	for p, c := range childCount {
		g.down[p] = downArena[offset : offset : offset+c]
		offset += c
	}
	for v, ps := range g.up {
		for _, p := range ps {
			g.down[p] = append(g.down[p], v) // v ascends, so each down list is sorted
		}
	}
	cycleErrs := g.cycles()

	if errs := slices.Concat(syntaxErrs, dupErrs, depErrs, cycleErrs); len(errs) > 0 {
		return nil, &Errors{Errs: errs}
	}

	for v, n := range g.nodes {
		g.groups[n.Group] = append(g.groups[n.Group], v)
	}
	for name := range g.groups {
		g.groupNames = append(g.groupNames, name)
	}
	slices.Sort(g.groupNames)
	return g, nil
}

// maxSuggestedDeps bounds how many distinct missing keys New looks for suggestions for.
// Each search compares with every key (about 16ms among 100,000 keys), and a workspace with
// more missing keys than this has a systematic problem, such as a module left out, that
// suggestions would not fix; those errors just say the key is missing.
const maxSuggestedDeps = 50

// depSuggester suggests keys for unknown dependencies, searching once per missing key:
// many assets often depend on the same missing key.
type depSuggester struct {
	keys []string
	memo map[string][]string
}

// suggest returns the keys close to dep, leaving out self (the asset declaring dep): an
// asset is never meant to depend on itself, and offering it would suggest a cycle.
func (s *depSuggester) suggest(dep, self string) []string {
	found, ok := s.memo[dep]
	if !ok {
		if len(s.memo) >= maxSuggestedDeps {
			return nil
		}
		if s.memo == nil {
			s.memo = map[string][]string{}
		}
		found = suggest(dep, s.keys, maxSuggestions+1)
		s.memo[dep] = found
	}
	out := slices.DeleteFunc(slices.Clone(found), func(k string) bool { return k == self })
	return out[:min(len(out), maxSuggestions)]
}

// cycles finds the strongly connected components of the graph (Tarjan's algorithm, iterative
// so that a long chain cannot exhaust the stack) and reports one concrete cycle per component
// that has one, sorted by its first key.
func (g *Graph) cycles() []error {
	n := len(g.keys)
	index := make([]int, n) // 0 means not visited yet; otherwise visit order + 1
	low := make([]int, n)
	onStack := make([]bool, n)
	var stack []int
	type frame struct{ v, next int }
	var call []frame
	var errs []error
	counter := 0
	visit := func(v int) {
		counter++
		index[v], low[v] = counter, counter
		stack = append(stack, v)
		onStack[v] = true
		call = append(call, frame{v: v})
	}
	for root := range n {
		if index[root] != 0 {
			continue
		}
		visit(root)
		for len(call) > 0 {
			top := len(call) - 1
			v := call[top].v
			if i := call[top].next; i < len(g.down[v]) {
				call[top].next++
				w := g.down[v][i]
				if index[w] == 0 {
					visit(w)
				} else if onStack[w] {
					low[v] = min(low[v], index[w])
				}
				continue
			}
			call = call[:top]
			if top > 0 {
				p := call[top-1].v
				low[p] = min(low[p], low[v])
			}
			if low[v] != index[v] {
				continue
			}
			// v is the root of a component, which is the top of the stack down to v. Most
			// components are a single acyclic node, so the slice is only copied for a cycle.
			at := len(stack) - 1
			for stack[at] != v {
				at--
			}
			comp := stack[at:]
			if len(comp) > 1 || slices.Contains(g.down[v], v) {
				errs = append(errs, g.cycleIn(slices.Clone(comp)))
			}
			for _, w := range comp {
				onStack[w] = false
			}
			stack = stack[:at]
		}
	}
	slices.SortFunc(errs, func(a, b error) int {
		return strings.Compare(a.(*CycleError).Path[0], b.(*CycleError).Path[0])
	})
	return errs
}

// cycleIn returns a shortest cycle through the smallest key of the strongly connected
// component comp, found by breadth-first search along data-flow edges inside comp.
func (g *Graph) cycleIn(comp []int) *CycleError {
	in := make(map[int]bool, len(comp))
	for _, v := range comp {
		in[v] = true
	}
	start := slices.Min(comp)
	prev := map[int]int{}
	queue := []int{start}
	last := -1
	for len(queue) > 0 && last < 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range g.down[v] {
			if w == start {
				last = v
				break
			}
			if _, seen := prev[w]; !seen && in[w] {
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	// Walk back from the last asset before start; a strongly connected component always
	// has a path back to start, so last is set.
	rev := []int{start}
	for v := last; v != start; v = prev[v] {
		rev = append(rev, v)
	}
	rev = append(rev, start)
	slices.Reverse(rev)
	e := &CycleError{Path: make([]string, len(rev))}
	mods := map[string]bool{}
	for i, v := range rev {
		e.Path[i] = g.keys[v]
		if !mods[g.nodes[v].Module] {
			mods[g.nodes[v].Module] = true
			e.Modules = append(e.Modules, g.nodes[v].Module)
		}
	}
	slices.Sort(e.Modules)
	return e
}

// Keys returns every asset key, sorted.
func (g *Graph) Keys() []string { return slices.Clone(g.keys) }

// Node returns the declaration of key, with Group set to DefaultGroup when it was empty.
func (g *Graph) Node(key string) (Node, bool) {
	v, ok := g.index[key]
	if !ok {
		return Node{}, false
	}
	n := g.nodes[v]
	n.Deps = slices.Clone(n.Deps)
	return n, true
}

// Upstream returns the direct parents of key (the assets it depends on), sorted and without
// duplicates; nil for an unknown key.
func (g *Graph) Upstream(key string) []string {
	v, ok := g.index[key]
	if !ok {
		return nil
	}
	return g.names(g.up[v])
}

// Downstream returns the direct children of key (the assets that depend on it), sorted; nil
// for an unknown key.
func (g *Graph) Downstream(key string) []string {
	v, ok := g.index[key]
	if !ok {
		return nil
	}
	return g.names(g.down[v])
}

// Groups returns the names of all groups that have at least one asset, sorted. Assets
// declared without a group are in DefaultGroup.
func (g *Graph) Groups() []string { return slices.Clone(g.groupNames) }

func (g *Graph) names(vs []int) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = g.keys[v]
	}
	return out
}

// TopoSort returns the assets of keys in a topological order: every asset comes after all
// of its ancestors in keys, including ancestors reached only through assets outside keys.
// Among assets whose order the graph does not fix, the smallest key comes first, so the
// result is the same whatever the order of keys. Keys not in the graph are dropped and
// duplicates appear once.
func (g *Graph) TopoSort(keys []string) []string {
	mark := make([]bool, len(g.keys))
	for _, k := range keys {
		if v, ok := g.index[k]; ok {
			mark[v] = true
		}
	}
	return g.topo(mark)
}

// DescendantsWithin returns the assets of within that depend on key through a path that
// stays inside within, in topological order; key itself is not included. The executor uses it
// to skip the steps of a run that can no longer run once key's step has failed: an asset
// reached only through an asset outside the run reads that asset's stored value, which the
// failure does not touch, so it is not skipped. It returns nil for an unknown key.
func (g *Graph) DescendantsWithin(key string, within []string) []string {
	start, ok := g.index[key]
	if !ok {
		return nil
	}
	in := make([]bool, len(g.keys))
	for _, k := range within {
		if v, ok := g.index[k]; ok {
			in[v] = true
		}
	}
	mark := make([]bool, len(g.keys))
	stack := []int{start}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range g.down[v] {
			if in[c] && !mark[c] {
				mark[c] = true
				stack = append(stack, c)
			}
		}
	}
	return g.topo(mark)
}

// topo returns the marked nodes in topological order, smallest key first among the ready
// ones (Kahn's algorithm with a min-heap). Unmarked ancestors constrain the order but are not
// output; they are released as soon as they are ready, since doing so emits nothing and can
// only make more marked nodes ready. Only marked nodes and their ancestors are visited, so
// ordering a few assets of a large graph stays cheap.
func (g *Graph) topo(mark []bool) []string {
	inClosure := make([]bool, len(g.keys))
	var closure []int
	count := 0
	for v, m := range mark {
		if m {
			inClosure[v] = true
			closure = append(closure, v)
			count++
		}
	}
	for i := 0; i < len(closure); i++ {
		for _, p := range g.up[closure[i]] {
			if !inClosure[p] {
				inClosure[p] = true
				closure = append(closure, p)
			}
		}
	}
	// Every parent of a node in the closure is in the closure, so a node waits for all of
	// its parents.
	pending := make([]int32, len(g.keys))
	var free []int
	var ready minHeap
	enqueue := func(v int) {
		if mark[v] {
			ready.push(v)
		} else {
			free = append(free, v)
		}
	}
	for _, v := range closure {
		pending[v] = int32(len(g.up[v]))
		if pending[v] == 0 {
			enqueue(v)
		}
	}
	release := func(v int) {
		for _, c := range g.down[v] {
			if inClosure[c] {
				pending[c]--
				if pending[c] == 0 {
					enqueue(c)
				}
			}
		}
	}
	out := make([]string, 0, count)
	for {
		for len(free) > 0 {
			v := free[len(free)-1]
			free = free[:len(free)-1]
			release(v)
		}
		if len(ready) == 0 {
			return out
		}
		v := ready.pop()
		out = append(out, g.keys[v])
		release(v)
	}
}

// minHeap is a binary min-heap of node indices. It avoids container/heap, whose interface
// boxing would allocate on every push for the graph sizes planning has to handle.
type minHeap []int

func (h *minHeap) push(v int) {
	*h = append(*h, v)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if s[p] <= s[i] {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *minHeap) pop() int {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && s[l] < s[m] {
			m = l
		}
		if r < n && s[r] < s[m] {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// scanKey checks s as an asset key. It returns the byte offset of the first problem and a
// description of it, or (-1, "") when s is valid. The offset lets Select point at the
// offending character of a clause.
func scanKey(s string) (pos int, reason string) {
	if s == "" {
		return 0, "it is empty"
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '/' {
			if !isNameByte(s[i]) {
				r, _ := utf8.DecodeRuneInString(s[i:])
				return i, fmt.Sprintf("character %q is not allowed", r)
			}
			continue
		}
		if i == start {
			return i, "it has an empty path component (a leading, trailing or doubled '/')"
		}
		if s[start] == '-' {
			return start, fmt.Sprintf("path component %q starts with '-'", s[start:i])
		}
		start = i + 1
	}
	return -1, ""
}

// scanName checks s as a group name: a single key path component.
func scanName(s string) (pos int, reason string) {
	if s == "" {
		return 0, "it is empty"
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			r, _ := utf8.DecodeRuneInString(s[i:])
			return i, fmt.Sprintf("character %q is not allowed", r)
		}
	}
	if s[0] == '-' {
		return 0, "it starts with '-'"
	}
	return -1, ""
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}
