package graph

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestSelect(t *testing.T) {
	g := sampleGraph(t)
	tests := []struct {
		expr string
		want []string
	}{
		// Exact keys.
		{"orders/raw", []string{"orders/raw"}},
		{"dashboard", []string{"dashboard"}},
		// Ancestors and descendants.
		{"*dashboard", []string{"customers/raw", "orders/raw", "orders/cleaned_orders", "customer_ltv", "revenue_by_region", "dashboard"}},
		{"orders/raw*", []string{"orders/raw", "orders/cleaned_orders", "customer_ltv", "revenue_by_region", "dashboard"}},
		{"*revenue_by_region*", []string{"customers/raw", "orders/raw", "orders/cleaned_orders", "revenue_by_region", "dashboard"}},
		{"*fan/root", []string{"fan/root"}},
		{"fan/b2*", []string{"fan/b2"}},
		// Levels: one per '+', breadth first.
		{"+dashboard", []string{"customer_ltv", "revenue_by_region", "dashboard"}},
		{"++dashboard", []string{"customers/raw", "orders/cleaned_orders", "customer_ltv", "revenue_by_region", "dashboard"}},
		{"+++dashboard", []string{"customers/raw", "orders/raw", "orders/cleaned_orders", "customer_ltv", "revenue_by_region", "dashboard"}},
		{"++++++dashboard", []string{"customers/raw", "orders/raw", "orders/cleaned_orders", "customer_ltv", "revenue_by_region", "dashboard"}},
		{"fan/root+", []string{"fan/root", "fan/a1", "fan/a2", "fan/a3"}},
		{"fan/root++", []string{"fan/root", "fan/a1", "fan/a2", "fan/a3", "fan/hub"}},
		{"fan/root+++", []string{"fan/root", "fan/a1", "fan/a2", "fan/a3", "fan/hub", "fan/b1", "fan/b2"}},
		{"++fan/hub", []string{"fan/root", "fan/a1", "fan/a2", "fan/a3", "fan/hub"}},
		// Mixed sides.
		{"+fan/hub+", []string{"fan/a1", "fan/a2", "fan/a3", "fan/hub", "fan/b1", "fan/b2"}},
		{"+orders/cleaned_orders*", []string{"orders/raw", "orders/cleaned_orders", "customer_ltv", "revenue_by_region", "dashboard"}},
		{"*customer_ltv+", []string{"customers/raw", "orders/raw", "orders/cleaned_orders", "customer_ltv", "dashboard"}},
		{"++fan/b1*", []string{"fan/a1", "fan/a2", "fan/a3", "fan/hub", "fan/b1"}},
		// Groups, with modifiers.
		{"group:orders", []string{"orders/raw", "orders/cleaned_orders"}},
		{"group:default", []string{"dashboard"}},
		{"group:revenue+", []string{"customer_ltv", "revenue_by_region", "dashboard"}},
		{"group:orders*", []string{"orders/raw", "orders/cleaned_orders", "customer_ltv", "revenue_by_region", "dashboard"}},
		{"*group:revenue", []string{"customers/raw", "orders/raw", "orders/cleaned_orders", "customer_ltv", "revenue_by_region"}},
		{"+group:customers+", []string{"customers/raw", "customer_ltv", "revenue_by_region"}},
		// Everything.
		{"*", sampleTopo},
		{" * ", sampleTopo},
		{"*,dashboard", sampleTopo},
		// Unions, whitespace, topological order over key order.
		{"orders/raw,customers/raw", []string{"customers/raw", "orders/raw"}},
		{" dashboard ,\tfan/b1 ", []string{"dashboard", "fan/b1"}},
		{"fan/b1,fan/root", []string{"fan/root", "fan/b1"}},
		{"dashboard,orders/raw", []string{"orders/raw", "dashboard"}},
		{"orders/raw*, *dashboard", []string{"customers/raw", "orders/raw", "orders/cleaned_orders", "customer_ltv", "revenue_by_region", "dashboard"}},
		{"dashboard,dashboard", []string{"dashboard"}},
		{"group:fan,group:orders", []string{"fan/root", "fan/a1", "fan/a2", "fan/a3", "fan/hub", "fan/b1", "fan/b2", "orders/raw", "orders/cleaned_orders"}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := g.Select(tt.expr)
			if err != nil {
				t.Fatalf("Select(%q): %v", tt.expr, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Select(%q) =\n  %q\nwant\n  %q", tt.expr, got, tt.want)
			}
		})
	}
}

func TestSelectErrors(t *testing.T) {
	g := sampleGraph(t)
	const keyHintSuffix = `; use path components of letters, digits, '_' and '-' (not starting with '-') joined by '/', e.g. "orders/raw"`
	const groups = `groups are "customers", "default", "fan", "orders" and "revenue"`
	tests := []struct {
		expr string
		want []string
		// sentinel each problem must wrap, in order
		sentinels []error
	}{
		// Empty expressions and clauses.
		{"", []string{`selection "": empty selection; name an asset key, "group:<name>", or "*" for every asset`}, []error{ErrBadSelection}},
		{" \t", []string{`selection " \t": empty selection; name an asset key, "group:<name>", or "*" for every asset`}, []error{ErrBadSelection}},
		{"dashboard,,fan/b1", []string{`selection "dashboard,,fan/b1" at column 10: empty clause; remove the extra ','`}, []error{ErrBadSelection}},
		{"dashboard, ,fan/b1", []string{`selection "dashboard, ,fan/b1" at column 10: empty clause; remove the extra ','`}, []error{ErrBadSelection}},
		{"dashboard,", []string{`selection "dashboard," at column 10: empty clause; remove the extra ','`}, []error{ErrBadSelection}},
		{",dashboard", []string{`selection ",dashboard" at column 1: empty clause; remove the extra ','`}, []error{ErrBadSelection}},
		// Misplaced and malformed modifiers.
		{"a**b", []string{`selection "a**b" at column 2: '*' may only appear at the start of a clause (all ancestors) or at its end (all descendants)`}, []error{ErrBadSelection}},
		{"**", []string{`selection "**" at column 2: repeated '*'; a single '*' selects all ancestors`}, []error{ErrBadSelection}},
		{"dashboard**", []string{`selection "dashboard**" at column 11: repeated '*'; a single '*' selects all descendants`}, []error{ErrBadSelection}},
		{"+*dashboard", []string{`selection "+*dashboard" at column 2: '*' and '+' cannot be combined on one side of a clause; '*' alone selects all ancestors`}, []error{ErrBadSelection}},
		{"*+dashboard", []string{`selection "*+dashboard" at column 2: '*' and '+' cannot be combined on one side of a clause; '*' alone selects all ancestors`}, []error{ErrBadSelection}},
		{"dashboard+*", []string{`selection "dashboard+*" at column 11: '*' and '+' cannot be combined on one side of a clause; '*' alone selects all descendants`}, []error{ErrBadSelection}},
		{"fan+hub", []string{`selection "fan+hub" at column 4: '+' may only appear at the start of a clause (parents) or at its end (children)`}, []error{ErrBadSelection}},
		{"fan/+hub", []string{`selection "fan/+hub" at column 5: '+' may only appear at the start of a clause (parents) or at its end (children)`}, []error{ErrBadSelection}},
		{"+", []string{`selection "+" at column 2: missing an asset key or "group:<name>"`}, []error{ErrBadSelection}},
		{"++*", []string{`selection "++*" at column 3: '*' and '+' cannot be combined on one side of a clause; '*' alone selects all ancestors`}, []error{ErrBadSelection}},
		// Bad keys and group names.
		{"orders/raw x", []string{`selection "orders/raw x" at column 11: invalid asset key: character ' ' is not allowed` + keyHintSuffix}, []error{ErrBadSelection}},
		{"a//b", []string{`selection "a//b" at column 3: invalid asset key: it has an empty path component (a leading, trailing or doubled '/')` + keyHintSuffix}, []error{ErrBadSelection}},
		{"orders/-raw", []string{`selection "orders/-raw" at column 8: invalid asset key: path component "-raw" starts with '-'` + keyHintSuffix}, []error{ErrBadSelection}},
		{"données", []string{`selection "données" at column 5: invalid asset key: character 'é' is not allowed` + keyHintSuffix}, []error{ErrBadSelection}},
		{"tag:pii", []string{`selection "tag:pii" at column 1: unknown selection prefix "tag:"; only "group:<name>" is supported`}, []error{ErrBadSelection}},
		{"+Group:orders", []string{`selection "+Group:orders" at column 2: unknown selection prefix "Group:"; only "group:<name>" is supported`}, []error{ErrBadSelection}},
		{"group:", []string{`selection "group:" at column 7: missing group name after "group:"`}, []error{ErrBadSelection}},
		{"group:*", []string{`selection "group:*" at column 7: missing group name after "group:"`}, []error{ErrBadSelection}},
		{"group:a/b", []string{`selection "group:a/b" at column 8: invalid group name: character '/' is not allowed; group names use letters, digits, '_' and '-'`}, []error{ErrBadSelection}},
		{"group:o*rders", []string{`selection "group:o*rders" at column 8: '*' may only appear at the start of a clause (all ancestors) or at its end (all descendants)`}, []error{ErrBadSelection}},
		// Position names the clause when there are several; columns count characters.
		{"dashboard, a b", []string{`selection "dashboard, a b", clause "a b" at column 13: invalid asset key: character ' ' is not allowed` + keyHintSuffix}, []error{ErrBadSelection}},
		{"é,a+b", []string{
			`selection "é,a+b", clause "é" at column 1: invalid asset key: character 'é' is not allowed` + keyHintSuffix,
			`selection "é,a+b", clause "a+b" at column 4: '+' may only appear at the start of a clause (parents) or at its end (children)`,
		}, []error{ErrBadSelection, ErrBadSelection}},
		// No match, with suggestions.
		{"revenu", []string{`selection "revenu": no asset "revenu"; did you mean "revenue_by_region"?`}, []error{ErrNoMatch}},
		{"+revenu*", []string{`selection "+revenu*": no asset "revenu"; did you mean "revenue_by_region"?`}, []error{ErrNoMatch}},
		{"cleaned", []string{`selection "cleaned": no asset "cleaned"; did you mean "orders/cleaned_orders"?`}, []error{ErrNoMatch}},
		{"raw*", []string{`selection "raw*": no asset "raw"; did you mean "customers/raw" or "orders/raw"?`}, []error{ErrNoMatch}},
		{"Dashboard", []string{`selection "Dashboard": no asset "Dashboard"; did you mean "dashboard"?`}, []error{ErrNoMatch}},
		{"fan/a", []string{`selection "fan/a": no asset "fan/a"; did you mean "fan/a1", "fan/a2" or "fan/a3"?`}, []error{ErrNoMatch}},
		{"zzz", []string{`selection "zzz": no asset "zzz"; asset keys match exactly and no defined key is close to it`}, []error{ErrNoMatch}},
		{"group:order", []string{`selection "group:order": no group "order"; did you mean "orders"? The ` + groups}, []error{ErrNoMatch}},
		{"group:nope*", []string{`selection "group:nope*": no group "nope"; the ` + groups}, []error{ErrNoMatch}},
		// Every failing clause is reported, in order, and valid ones do not hide them.
		{"revenu, group:nope, a**b, dashboard, ,", []string{
			`selection "revenu": no asset "revenu"; did you mean "revenue_by_region"?`,
			`selection "group:nope": no group "nope"; the ` + groups,
			`selection "revenu, group:nope, a**b, dashboard, ,", clause "a**b" at column 22: '*' may only appear at the start of a clause (all ancestors) or at its end (all descendants)`,
			`selection "revenu, group:nope, a**b, dashboard, ," at column 36: empty clause; remove the extra ','`,
			`selection "revenu, group:nope, a**b, dashboard, ," at column 38: empty clause; remove the extra ','`,
		}, []error{ErrNoMatch, ErrNoMatch, ErrBadSelection, ErrBadSelection, ErrBadSelection}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := g.Select(tt.expr)
			if err == nil || got != nil {
				t.Fatalf("Select(%q) = %q, %v; want an error", tt.expr, got, err)
			}
			if msgs := messages(t, err); !slices.Equal(msgs, tt.want) {
				t.Errorf("Select(%q) problems:\n%s\nwant:\n%s", tt.expr, strings.Join(msgs, "\n"), strings.Join(tt.want, "\n"))
			}
			var errs *Errors
			errors.As(err, &errs)
			for i, e := range errs.Errs {
				if i < len(tt.sentinels) && !errors.Is(e, tt.sentinels[i]) {
					t.Errorf("problem %d does not wrap %v", i, tt.sentinels[i])
				}
				if errors.Is(e, ErrInvalidGraph) {
					t.Errorf("problem %d wraps ErrInvalidGraph", i)
				}
			}
			for _, s := range tt.sentinels {
				if !errors.Is(err, s) {
					t.Errorf("errors.Is(err, %v) = false through *Errors", s)
				}
			}
		})
	}
}

func TestSelectErrorFields(t *testing.T) {
	g := sampleGraph(t)

	_, err := g.Select("dashboard, +fan/a**")
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("errors.As(%v, *SyntaxError) = false", err)
	}
	if se.Clause != "+fan/a**" || se.Pos != 18 || se.Column() != 19 || se.Expr != "dashboard, +fan/a**" {
		t.Errorf("SyntaxError = %+v, column %d", se, se.Column())
	}
	if se.Expr[se.Pos] != '*' {
		t.Errorf("Pos does not point at the offending byte")
	}

	_, err = g.Select("dashboard,group:revnue")
	var nm *NoMatchError
	if !errors.As(err, &nm) {
		t.Fatalf("errors.As(%v, *NoMatchError) = false", err)
	}
	want := NoMatchError{Clause: "group:revnue", Name: "revnue", Group: true, Suggestions: []string{"revenue"},
		Groups: []string{"customers", "default", "fan", "orders", "revenue"}}
	if nm.Clause != want.Clause || nm.Name != want.Name || !nm.Group ||
		!slices.Equal(nm.Suggestions, want.Suggestions) || !slices.Equal(nm.Groups, want.Groups) {
		t.Errorf("NoMatchError = %+v, want %+v", nm, want)
	}
}

func TestSelectManyGroupsListed(t *testing.T) {
	var nodes []Node
	for _, grp := range []string{"g01", "g02", "g03", "g04", "g05", "g06", "g07", "g08", "g09", "g10", "g11", "g12"} {
		nodes = append(nodes, Node{Key: "a_" + grp, Module: "m", Group: grp})
	}
	g, err := New(nodes)
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.Select("group:nothing_like_these")
	want := `selection "group:nothing_like_these": no group "nothing_like_these"; the groups are "g01", "g02", "g03", "g04", "g05", "g06", "g07", "g08", "g09", "g10" and 2 more`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

// FuzzSelect checks that no expression makes Select panic, that a result only names keys of
// the graph, once each and in topological order, and that every error wraps a selection
// sentinel.
func FuzzSelect(f *testing.F) {
	for _, seed := range []string{
		"", "*", "**", "***", "+", "++", "*+*", "a**b", "dashboard", "*dashboard*", "+dashboard+",
		"++fan/hub++", "group:orders*", "*group:revenue", "group:", "group:*", "group:a/b", "tag:x",
		"a,,b", ",", " , ", "revenu", "cleaned", "orders/raw, customers/raw", "fan/+hub", "a//b",
		"orders/-raw", "é", "\x00", "group:orders,*,+++dashboard", "+*", "*+", "dashboard\n,\tfan/b1",
	} {
		f.Add(seed)
	}
	g := sampleGraph(f)
	// ancestors[k] holds every ancestor of k, computed independently of Select's expansion.
	ancestors := map[string]map[string]bool{}
	var collect func(k string, into map[string]bool)
	collect = func(k string, into map[string]bool) {
		for _, p := range g.Upstream(k) {
			into[p] = true
			collect(p, into)
		}
	}
	for _, k := range g.Keys() {
		ancestors[k] = map[string]bool{}
		collect(k, ancestors[k])
	}
	f.Fuzz(func(t *testing.T, expr string) {
		got, err := g.Select(expr)
		if err != nil {
			if got != nil {
				t.Fatalf("Select(%q) returned both %q and %v", expr, got, err)
			}
			var errs *Errors
			if !errors.As(err, &errs) || len(errs.Errs) == 0 {
				t.Fatalf("Select(%q) error %T is not a non-empty *Errors", expr, err)
			}
			for _, e := range errs.Errs {
				if !errors.Is(e, ErrBadSelection) && !errors.Is(e, ErrNoMatch) {
					t.Fatalf("Select(%q): %v wraps no selection sentinel", expr, e)
				}
				if e.Error() == "" {
					t.Fatalf("Select(%q): empty message", expr)
				}
			}
			return
		}
		if len(got) == 0 {
			t.Fatalf("Select(%q) succeeded with nothing selected", expr)
		}
		seen := map[string]bool{}
		for i, k := range got {
			if _, ok := g.Node(k); !ok {
				t.Fatalf("Select(%q) returned %q, which is not a key of the graph", expr, k)
			}
			if seen[k] {
				t.Fatalf("Select(%q) returned %q twice", expr, k)
			}
			seen[k] = true
			for _, later := range got[i+1:] {
				if ancestors[k][later] {
					t.Fatalf("Select(%q) = %q puts %q before its ancestor %q", expr, got, k, later)
				}
			}
		}
		if again, _ := g.Select(expr); !slices.Equal(again, got) {
			t.Fatalf("Select(%q) is not deterministic", expr)
		}
	})
}
