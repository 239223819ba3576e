package graph

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// groupPrefix introduces a group clause, as in Dagster ("group:orders").
const groupPrefix = "group:"

// unlimited is the expansion depth of a '*' modifier.
const unlimited = -1

// clause is one parsed comma-separated clause of a selection.
type clause struct {
	text  string // as written, surrounding whitespace removed
	all   bool   // the clause is "*"
	group bool   // name is a group name
	name  string // asset key or group name
	// up and down are how many levels of ancestors and descendants to add: the number of
	// '+', or unlimited for '*'.
	up, down int
	err      error // a *SyntaxError; the other fields are then meaningless
}

// Select evaluates a selection expression in the syntax of Dagster's
// `dagster asset materialize --select` and returns the selected asset keys in topological
// order (see TopoSort).
//
// The expression is a comma-separated union of clauses; whitespace around clauses is
// ignored. A clause is
//
//	key         the asset with exactly this key, e.g. "orders/raw"
//	group:name  every asset of the group
//	*           every asset
//
// and a key or group clause may carry modifiers on either side:
//
//	*key        key and all of its ancestors      key*    key and all of its descendants
//	+key        key and its parents               key+    key and its children
//	++key       ... up to two levels (one per +)  key++   ... down to two levels
//
// Both sides combine ("*key*", "+key*", "group:orders*"); one side cannot mix '*' and '+'.
//
// Keys match exactly, as in Dagster: "cleaned" does not select "orders/cleaned". Instead,
// a clause that matches nothing fails with a *NoMatchError naming the closest keys (or the
// available groups), wrapping ErrNoMatch; a malformed expression fails with a *SyntaxError
// pointing at the offending character, wrapping ErrBadSelection. Every failing clause is
// reported, in order, in one *Errors, and if any clause fails nothing is selected: running a
// partial selection the user did not ask for would be worse than stopping.
func (g *Graph) Select(expr string) ([]string, error) {
	clauses := parseSelection(expr)
	mark := make([]bool, len(g.keys))
	var errs []error
	for _, c := range clauses {
		if c.err != nil {
			errs = append(errs, c.err)
			continue
		}
		seeds, err := g.resolve(c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(errs) > 0 {
			continue // the result will be discarded; only look for further errors
		}
		for _, v := range seeds {
			mark[v] = true
		}
		g.expand(seeds, c.up, g.up, mark)
		g.expand(seeds, c.down, g.down, mark)
	}
	if len(errs) > 0 {
		return nil, &Errors{Errs: errs}
	}
	return g.topo(mark), nil
}

// resolve returns the nodes a clause names before its modifiers are applied.
func (g *Graph) resolve(c clause) ([]int, error) {
	switch {
	case c.all:
		if len(g.keys) == 0 {
			return nil, &NoMatchError{Clause: c.text, Name: "*"}
		}
		all := make([]int, len(g.keys))
		for i := range all {
			all[i] = i
		}
		return all, nil
	case c.group:
		members, ok := g.groups[c.name]
		if !ok {
			return nil, &NoMatchError{
				Clause: c.text, Name: c.name, Group: true,
				Suggestions: suggest(c.name, g.groupNames, maxSuggestions),
				Groups:      slices.Clone(g.groupNames),
			}
		}
		return members, nil
	default:
		v, ok := g.index[c.name]
		if !ok {
			return nil, &NoMatchError{Clause: c.text, Name: c.name, Suggestions: suggest(c.name, g.keys, maxSuggestions)}
		}
		return []int{v}, nil
	}
}

// expand marks every node within depth steps of seeds along adj (breadth first, so a node
// reachable both near and far counts as near); depth unlimited follows adj to the end.
func (g *Graph) expand(seeds []int, depth int, adj [][]int, mark []bool) {
	if depth == 0 {
		return
	}
	seen := make([]bool, len(g.keys))
	frontier := slices.Clone(seeds)
	for _, v := range frontier {
		seen[v] = true
	}
	var next []int
	for level := 0; len(frontier) > 0 && (depth == unlimited || level < depth); level++ {
		next = next[:0]
		for _, v := range frontier {
			for _, w := range adj[v] {
				if !seen[w] {
					seen[w] = true
					mark[w] = true
					next = append(next, w)
				}
			}
		}
		frontier, next = next, frontier // reuse both buffers: a long chain has one level per asset
	}
}

// parseSelection splits expr into clauses and parses each. Parsing never stops at the first
// bad clause, so that Select can report all of them.
func parseSelection(expr string) []clause {
	if strings.TrimSpace(expr) == "" {
		return []clause{{err: &SyntaxError{Expr: expr, Pos: -1,
			Reason: `empty selection; name an asset key, "group:<name>", or "*" for every asset`}}}
	}
	var clauses []clause
	for start := 0; ; {
		end := strings.IndexByte(expr[start:], ',')
		last := end < 0
		if last {
			end = len(expr)
		} else {
			end += start
		}
		raw := expr[start:end]
		lead := len(raw) - len(strings.TrimLeftFunc(raw, unicode.IsSpace))
		text := strings.TrimRightFunc(raw[lead:], unicode.IsSpace)
		if text == "" {
			// Point at the comma before the empty clause, or after it for a leading one.
			// The expression is not blank, so one of them exists.
			comma := start - 1
			if start == 0 {
				comma = end
			}
			clauses = append(clauses, clause{err: &SyntaxError{Expr: expr, Pos: comma, Reason: "empty clause; remove the extra ','"}})
		} else {
			clauses = append(clauses, parseClause(expr, text, start+lead))
		}
		if last {
			return clauses
		}
		start = end + 1
	}
}

// parseClause parses text, a clause found at byte offset pos of expr.
func parseClause(expr, text string, pos int) clause {
	c := clause{text: text}
	bad := func(off int, reason string) clause {
		c.err = &SyntaxError{Expr: expr, Clause: text, Pos: pos + off, Reason: reason}
		return c
	}
	if text == "*" {
		c.all = true
		return c
	}
	isMod := func(b byte) bool { return b == '*' || b == '+' }
	i := 0
	for i < len(text) && isMod(text[i]) {
		i++
	}
	j := len(text)
	for j > i && isMod(text[j-1]) {
		j--
	}
	var off int
	var reason string
	if c.up, off, reason = modifier(text[:i], "ancestors"); reason != "" {
		return bad(off, reason)
	}
	if c.down, off, reason = modifier(text[j:], "descendants"); reason != "" {
		return bad(j+off, reason)
	}
	body := text[i:j]
	if body == "" {
		return bad(i, `missing an asset key or "group:<name>"`)
	}
	if name, ok := strings.CutPrefix(body, groupPrefix); ok {
		at := i + len(groupPrefix)
		if name == "" {
			return bad(at, `missing group name after "group:"`)
		}
		if p, reason := scanName(name); reason != "" {
			return bad(at+p, bodyReason(name, p, "invalid group name: "+reason+"; group names use letters, digits, '_' and '-'"))
		}
		c.group, c.name = true, name
		return c
	}
	if p, reason := scanKey(body); reason != "" {
		if colon := strings.IndexByte(body, ':'); colon >= 0 && colon <= p {
			return bad(i, fmt.Sprintf(`unknown selection prefix %q; only "group:<name>" is supported`, body[:colon+1]))
		}
		return bad(i+p, bodyReason(body, p, "invalid asset key: "+reason+"; "+keyHint))
	}
	c.name = body
	return c
}

// bodyReason explains a bad character at s[p] of a clause's key or group name, replacing the
// generic reason when the character is a misplaced modifier.
func bodyReason(s string, p int, generic string) string {
	if p < len(s) {
		switch s[p] {
		case '*':
			return "'*' may only appear at the start of a clause (all ancestors) or at its end (all descendants)"
		case '+':
			return "'+' may only appear at the start of a clause (parents) or at its end (children)"
		}
	}
	return generic
}

// modifier parses the run of '*' and '+' on one side of a clause: "" is depth 0, "*" is
// unlimited, and n '+' are depth n. Anything else is an error at byte offset off of mod.
func modifier(mod, side string) (depth, off int, reason string) {
	if mod == "" {
		return 0, 0, ""
	}
	if mod == "*" {
		return unlimited, 0, ""
	}
	star := strings.IndexByte(mod, '*')
	if star < 0 {
		return len(mod), 0, ""
	}
	// Either a '*' is followed by something, or a '+' run is followed by a '*'.
	off = star
	if star == 0 {
		off = 1
	}
	if strings.Trim(mod, "*") == "" {
		return 0, off, fmt.Sprintf("repeated '*'; a single '*' selects all %s", side)
	}
	return 0, off, fmt.Sprintf("'*' and '+' cannot be combined on one side of a clause; '*' alone selects all %s", side)
}
