package graph

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

// sampleNodes is the workspace most tests use: two modules, prefixed keys, five groups
// (one of them the default), a diamond and a chain of fan-outs.
//
//	orders/raw ─> orders/cleaned_orders ─┬─> revenue_by_region ─┬─> dashboard
//	customers/raw ───────────────────────┴─> customer_ltv ──────┘
//	  (both of customers/raw's and orders/cleaned_orders's children depend on both)
//
//	fan/root ─> fan/a1, fan/a2, fan/a3 ─> fan/hub ─> fan/b1, fan/b2
func sampleNodes() []Node {
	return []Node{
		{Key: "orders/raw", Module: "ingest", Group: "orders"},
		{Key: "orders/cleaned_orders", Module: "ingest", Group: "orders", Deps: []string{"orders/raw"}},
		{Key: "customers/raw", Module: "ingest", Group: "customers"},
		{Key: "revenue_by_region", Module: "analytics", Group: "revenue", Deps: []string{"orders/cleaned_orders", "customers/raw"}},
		{Key: "customer_ltv", Module: "analytics", Group: "revenue", Deps: []string{"customers/raw", "orders/cleaned_orders", "customers/raw"}},
		{Key: "dashboard", Module: "analytics", Deps: []string{"revenue_by_region", "customer_ltv"}},
		{Key: "fan/root", Module: "analytics", Group: "fan"},
		{Key: "fan/a1", Module: "analytics", Group: "fan", Deps: []string{"fan/root"}},
		{Key: "fan/a2", Module: "analytics", Group: "fan", Deps: []string{"fan/root"}},
		{Key: "fan/a3", Module: "analytics", Group: "fan", Deps: []string{"fan/root"}},
		{Key: "fan/hub", Module: "analytics", Group: "fan", Deps: []string{"fan/a3", "fan/a1", "fan/a2"}},
		{Key: "fan/b1", Module: "analytics", Group: "fan", Deps: []string{"fan/hub"}},
		{Key: "fan/b2", Module: "analytics", Group: "fan", Deps: []string{"fan/hub"}},
	}
}

// sampleTopo is every key of the sample in the order TopoSort must produce: among ready
// assets the smallest key first.
var sampleTopo = []string{
	"customers/raw", "fan/root", "fan/a1", "fan/a2", "fan/a3", "fan/hub", "fan/b1", "fan/b2",
	"orders/raw", "orders/cleaned_orders", "customer_ltv", "revenue_by_region", "dashboard",
}

func sampleGraph(t testing.TB) *Graph {
	t.Helper()
	g, err := New(sampleNodes())
	if err != nil {
		t.Fatalf("New(sample): %v", err)
	}
	return g
}

// messages returns the message of each problem in err, which must be an *Errors.
func messages(t *testing.T, err error) []string {
	t.Helper()
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %T %q is not an *Errors", err, err)
	}
	var out []string
	for _, e := range errs.Errs {
		out = append(out, e.Error())
	}
	return out
}

func TestGraphAccessors(t *testing.T) {
	g := sampleGraph(t)

	wantKeys := []string{
		"customer_ltv", "customers/raw", "dashboard", "fan/a1", "fan/a2", "fan/a3", "fan/b1", "fan/b2",
		"fan/hub", "fan/root", "orders/cleaned_orders", "orders/raw", "revenue_by_region",
	}
	if got := g.Keys(); !slices.Equal(got, wantKeys) {
		t.Errorf("Keys() = %q, want %q", got, wantKeys)
	}
	if got, want := g.Groups(), []string{"customers", "default", "fan", "orders", "revenue"}; !slices.Equal(got, want) {
		t.Errorf("Groups() = %q, want %q", got, want)
	}

	tests := []struct {
		key        string
		upstream   []string
		downstream []string
	}{
		{"orders/raw", []string{}, []string{"orders/cleaned_orders"}},
		{"orders/cleaned_orders", []string{"orders/raw"}, []string{"customer_ltv", "revenue_by_region"}},
		{"customer_ltv", []string{"customers/raw", "orders/cleaned_orders"}, []string{"dashboard"}}, // duplicate dep collapsed
		{"dashboard", []string{"customer_ltv", "revenue_by_region"}, []string{}},
		{"fan/hub", []string{"fan/a1", "fan/a2", "fan/a3"}, []string{"fan/b1", "fan/b2"}},
		{"fan/root", []string{}, []string{"fan/a1", "fan/a2", "fan/a3"}},
	}
	for _, tt := range tests {
		if got := g.Upstream(tt.key); !slices.Equal(got, tt.upstream) {
			t.Errorf("Upstream(%q) = %q, want %q", tt.key, got, tt.upstream)
		}
		if got := g.Downstream(tt.key); !slices.Equal(got, tt.downstream) {
			t.Errorf("Downstream(%q) = %q, want %q", tt.key, got, tt.downstream)
		}
	}
	if g.Upstream("nope") != nil || g.Downstream("nope") != nil {
		t.Errorf("Upstream/Downstream of an unknown key should be nil")
	}

	n, ok := g.Node("dashboard")
	if !ok || n.Module != "analytics" || n.Group != DefaultGroup || !slices.Equal(n.Deps, []string{"revenue_by_region", "customer_ltv"}) {
		t.Errorf("Node(dashboard) = %+v, %v", n, ok)
	}
	n.Deps[0] = "mutated"
	if n2, _ := g.Node("dashboard"); n2.Deps[0] != "revenue_by_region" {
		t.Errorf("Node returned an alias of the graph's deps")
	}
	if _, ok := g.Node("nope"); ok {
		t.Errorf("Node(nope) found")
	}
	keys := g.Keys()
	keys[0] = "mutated"
	if g.Keys()[0] != "customer_ltv" {
		t.Errorf("Keys returned an alias of the graph's keys")
	}
}

func TestNewDoesNotKeepInput(t *testing.T) {
	nodes := sampleNodes()
	g := sampleGraph(t)
	g2, err := New(nodes)
	if err != nil {
		t.Fatal(err)
	}
	nodes[5].Deps[0] = "mutated"
	if n, _ := g2.Node("dashboard"); n.Deps[0] != "revenue_by_region" {
		t.Errorf("graph shares Deps with its input")
	}
	if !slices.Equal(g.Keys(), g2.Keys()) {
		t.Errorf("graphs differ")
	}
}

func TestNewIndependentOfInputOrder(t *testing.T) {
	want := sampleGraph(t)
	wantAll, _ := want.Select("*")
	bad := append(sampleNodes(),
		Node{Key: "x", Module: "b", Deps: []string{"missing"}},
		Node{Key: "x", Module: "a", Deps: []string{"y"}},
		Node{Key: "y", Module: "a", Deps: []string{"x"}},
		Node{Key: "z//", Module: "a"},
	)
	_, wantErr := New(bad)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		nodes := sampleNodes()
		rng.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
		g, err := New(nodes)
		if err != nil {
			t.Fatal(err)
		}
		if all, _ := g.Select("*"); !slices.Equal(all, wantAll) {
			t.Fatalf("Select(*) after shuffle = %q, want %q", all, wantAll)
		}
		rng.Shuffle(len(bad), func(i, j int) { bad[i], bad[j] = bad[j], bad[i] })
		if _, err := New(bad); err.Error() != wantErr.Error() {
			t.Fatalf("errors depend on input order:\n%v\nwant\n%v", err, wantErr)
		}
	}
}

func TestEmptyGraph(t *testing.T) {
	for _, nodes := range [][]Node{nil, {}} {
		g, err := New(nodes)
		if err != nil {
			t.Fatal(err)
		}
		if len(g.Keys()) != 0 || len(g.Groups()) != 0 || len(g.TopoSort([]string{"a"})) != 0 {
			t.Errorf("empty graph is not empty")
		}
		_, err = g.Select("*")
		if !errors.Is(err, ErrNoMatch) || err.Error() != `selection "*": the workspace defines no assets` {
			t.Errorf("Select(*) on empty graph: %v", err)
		}
	}
}

func TestTopoSort(t *testing.T) {
	g := sampleGraph(t)
	tests := []struct {
		name string
		keys []string
		want []string
	}{
		{"all", g.Keys(), sampleTopo},
		{"none", nil, []string{}},
		// fan/root is an ancestor, so it goes first although "fan/b1" < "fan/root".
		{"ancestor before smaller key", []string{"fan/b1", "fan/root"}, []string{"fan/root", "fan/b1"}},
		// orders/raw constrains dashboard only through assets not in the subset.
		{"order through assets outside the subset", []string{"dashboard", "orders/raw"}, []string{"orders/raw", "dashboard"}},
		// Unrelated assets: smallest key first, whatever their ancestors.
		{"ties by key", []string{"revenue_by_region", "fan/a2", "customers/raw"}, []string{"customers/raw", "fan/a2", "revenue_by_region"}},
		{"diamond", []string{"dashboard", "customer_ltv", "revenue_by_region", "orders/cleaned_orders"},
			[]string{"orders/cleaned_orders", "customer_ltv", "revenue_by_region", "dashboard"}},
		{"unknown and duplicate keys", []string{"nope", "fan/hub", "fan/hub", "fan/a1"}, []string{"fan/a1", "fan/hub"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := g.TopoSort(tt.keys)
			if !slices.Equal(got, tt.want) {
				t.Errorf("TopoSort(%q) = %q, want %q", tt.keys, got, tt.want)
			}
			rev := slices.Clone(tt.keys)
			slices.Reverse(rev)
			if got := g.TopoSort(rev); !slices.Equal(got, tt.want) {
				t.Errorf("TopoSort depends on input order: %q", got)
			}
		})
	}
}

func TestDescendantsWithin(t *testing.T) {
	g := sampleGraph(t)
	tests := []struct {
		name   string
		key    string
		within []string
		want   []string
	}{
		{"whole graph", "orders/raw", g.Keys(), []string{"orders/cleaned_orders", "customer_ltv", "revenue_by_region", "dashboard"}},
		{"restricted", "fan/root", []string{"fan/root", "fan/a1", "fan/hub", "fan/b2"}, []string{"fan/a1", "fan/hub", "fan/b2"}},
		// fan/a1 is not in the run, so fan/hub reads its stored value and is not affected.
		{"path leaves the set", "fan/root", []string{"fan/root", "fan/hub", "fan/b1"}, []string{}},
		{"diamond reached twice", "customers/raw", []string{"customer_ltv", "revenue_by_region", "dashboard"},
			[]string{"customer_ltv", "revenue_by_region", "dashboard"}},
		{"key outside the set still propagates", "orders/cleaned_orders", []string{"revenue_by_region"}, []string{"revenue_by_region"}},
		{"leaf", "dashboard", g.Keys(), []string{}},
		{"unknown key", "nope", g.Keys(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := g.DescendantsWithin(tt.key, tt.within)
			if !slices.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Errorf("DescendantsWithin(%q, %q) = %#v, want %#v", tt.key, tt.within, got, tt.want)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	keyHintSuffix := `; use path components of letters, digits, '_' and '-' (not starting with '-') joined by '/', e.g. "orders/raw"`
	tests := []struct {
		name  string
		nodes []Node
		want  []string
		check func(t *testing.T, err error)
	}{
		{
			name:  "doubled slash",
			nodes: []Node{{Key: "a//b", Module: "m"}},
			want:  []string{`module "m": asset key "a//b" is invalid: it has an empty path component (a leading, trailing or doubled '/')` + keyHintSuffix},
			check: func(t *testing.T, err error) {
				var e *InvalidKeyError
				if !errors.As(err, &e) || e.Module != "m" || e.Key != "a//b" {
					t.Errorf("errors.As InvalidKeyError: %+v", e)
				}
			},
		},
		{
			name:  "empty key",
			nodes: []Node{{Key: "", Module: "m"}},
			want:  []string{`module "m": asset key "" is invalid: it is empty` + keyHintSuffix},
		},
		{
			name: "bad characters and dashes",
			nodes: []Node{
				{Key: "orders raw", Module: "m"},
				{Key: "-x", Module: "m"},
				{Key: "a/-b", Module: "m"},
				{Key: "/a", Module: "m"},
				{Key: "a/", Module: "m"},
				{Key: "café", Module: "m"},
				{Key: "a.b", Module: "m"},
				{Key: "ok-key_1/B-2", Module: "m"},
			},
			want: []string{
				`module "m": asset key "-x" is invalid: path component "-x" starts with '-'` + keyHintSuffix,
				`module "m": asset key "/a" is invalid: it has an empty path component (a leading, trailing or doubled '/')` + keyHintSuffix,
				`module "m": asset key "a.b" is invalid: character '.' is not allowed` + keyHintSuffix,
				`module "m": asset key "a/" is invalid: it has an empty path component (a leading, trailing or doubled '/')` + keyHintSuffix,
				`module "m": asset key "a/-b" is invalid: path component "-b" starts with '-'` + keyHintSuffix,
				`module "m": asset key "café" is invalid: character 'é' is not allowed` + keyHintSuffix,
				`module "m": asset key "orders raw" is invalid: character ' ' is not allowed` + keyHintSuffix,
			},
		},
		{
			name:  "invalid group",
			nodes: []Node{{Key: "a", Module: "m", Group: "my group"}, {Key: "b", Module: "m", Group: "-g"}},
			want: []string{
				`module "m": asset "a" has invalid group name "my group": character ' ' is not allowed; use letters, digits, '_' and '-' (not starting with '-')`,
				`module "m": asset "b" has invalid group name "-g": it starts with '-'; use letters, digits, '_' and '-' (not starting with '-')`,
			},
			check: func(t *testing.T, err error) {
				var e *InvalidGroupError
				if !errors.As(err, &e) || e.Group != "my group" {
					t.Errorf("errors.As InvalidGroupError: %+v", e)
				}
			},
		},
		{
			name:  "duplicate across modules",
			nodes: []Node{{Key: "x", Module: "b"}, {Key: "x", Module: "a"}},
			want:  []string{`asset "x" is defined by both module "a" and module "b"; asset keys are global across the workspace: rename all but one (for example with a key prefix) or remove a module`},
			check: func(t *testing.T, err error) {
				var e *DuplicateKeyError
				if !errors.As(err, &e) || e.Key != "x" || !slices.Equal(e.Modules, []string{"a", "b"}) {
					t.Errorf("errors.As DuplicateKeyError: %+v", e)
				}
			},
		},
		{
			name:  "duplicate within a module",
			nodes: []Node{{Key: "x", Module: "a"}, {Key: "x", Module: "a"}},
			want:  []string{`module "a": asset "x" is defined 2 times; remove all but one definition`},
		},
		{
			name:  "duplicate in three modules",
			nodes: []Node{{Key: "x", Module: "c"}, {Key: "x", Module: "a"}, {Key: "x", Module: "b"}, {Key: "x", Module: "a"}},
			want:  []string{`asset "x" is defined by module "a" (2 times), module "b" and module "c"; asset keys are global across the workspace: rename all but one (for example with a key prefix) or remove a module`},
		},
		{
			name: "unknown dep with suggestion",
			nodes: []Node{
				{Key: "orders/raw", Module: "ingest"},
				{Key: "orders/cleaned_orders", Module: "ingest", Deps: []string{"orders/raw"}},
				{Key: "revenue", Module: "analytics", Deps: []string{"orders/cleaned", "orders/cleaned"}}, // reported once
			},
			want: []string{`module "analytics": asset "revenue" depends on "orders/cleaned", which no module defines; did you mean "orders/cleaned_orders"?`},
			check: func(t *testing.T, err error) {
				var e *UnknownDepError
				if !errors.As(err, &e) || e.Dep != "orders/cleaned" || !slices.Equal(e.Suggestions, []string{"orders/cleaned_orders"}) {
					t.Errorf("errors.As UnknownDepError: %+v", e)
				}
			},
		},
		{
			name: "unknown dep: typo, last component, and not the asset itself",
			nodes: []Node{
				{Key: "y", Module: "m", Deps: []string{"yy"}},
				{Key: "yyy", Module: "m"},
				{Key: "staging/raw", Module: "m"},
				{Key: "x", Module: "m", Deps: []string{"raw"}},
			},
			want: []string{
				`module "m": asset "x" depends on "raw", which no module defines; did you mean "staging/raw"?`,
				`module "m": asset "y" depends on "yy", which no module defines; did you mean "yyy"?`,
			},
		},
		{
			name:  "unknown dep without suggestion and empty dep",
			nodes: []Node{{Key: "x", Module: "m", Deps: []string{"completely_different", ""}}},
			want: []string{
				`module "m": asset "x" depends on "completely_different", which no module defines; add a module that defines it or remove the dependency`,
				`module "m": asset "x" has a dependency with an empty key; remove it`,
			},
		},
		{
			name: "dep on a malformed key is reported once, as the malformed key",
			nodes: []Node{
				{Key: "a//b", Module: "m"},
				{Key: "c", Module: "m", Deps: []string{"a//b"}},
			},
			want: []string{`module "m": asset key "a//b" is invalid: it has an empty path component (a leading, trailing or doubled '/')` + keyHintSuffix},
		},
		{
			name: "deps of every duplicate definition are checked",
			nodes: []Node{
				{Key: "x", Module: "a", Deps: []string{"p"}},
				{Key: "x", Module: "b", Deps: []string{"q"}},
			},
			want: []string{
				`asset "x" is defined by both module "a" and module "b"; asset keys are global across the workspace: rename all but one (for example with a key prefix) or remove a module`,
				`module "a": asset "x" depends on "p", which no module defines; add a module that defines it or remove the dependency`,
				`module "b": asset "x" depends on "q", which no module defines; add a module that defines it or remove the dependency`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := New(tt.nodes)
			if g != nil || err == nil {
				t.Fatalf("New = %v, %v; want an error", g, err)
			}
			if !errors.Is(err, ErrInvalidGraph) {
				t.Errorf("errors.Is(err, ErrInvalidGraph) = false")
			}
			if errors.Is(err, ErrBadSelection) || errors.Is(err, ErrNoMatch) {
				t.Errorf("graph error wraps a selection sentinel")
			}
			if got := messages(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if got, want := err.Error(), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("Error() = %q, want %q", got, want)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func TestNewCycles(t *testing.T) {
	const hint = "; each asset depends on the one before it: remove one of these dependencies"
	tests := []struct {
		name  string
		nodes []Node
		paths [][]string
		want  []string
	}{
		{
			name:  "self dependency",
			nodes: []Node{{Key: "a", Module: "m1", Deps: []string{"a"}}},
			paths: [][]string{{"a", "a"}},
			want:  []string{"dependency cycle: a -> a (module \"m1\")" + hint},
		},
		{
			name: "length 2",
			nodes: []Node{
				{Key: "a", Module: "m1", Deps: []string{"b"}},
				{Key: "b", Module: "m2", Deps: []string{"a"}},
			},
			paths: [][]string{{"a", "b", "a"}},
			want:  []string{"dependency cycle: a -> b -> a (modules \"m1\", \"m2\")" + hint},
		},
		{
			// a feeds b, b feeds c, c feeds a: declared as deps in the other direction.
			name: "length 3",
			nodes: []Node{
				{Key: "c", Module: "m2", Deps: []string{"b"}},
				{Key: "b", Module: "m1", Deps: []string{"a"}},
				{Key: "a", Module: "m1", Deps: []string{"c"}},
				{Key: "src", Module: "m1"},
				{Key: "out", Module: "m2", Deps: []string{"c", "src"}},
			},
			paths: [][]string{{"a", "b", "c", "a"}},
			want:  []string{"dependency cycle: a -> b -> c -> a (modules \"m1\", \"m2\")" + hint},
		},
		{
			// a -> b -> c -> d -> a and a shortcut c -> a: the shortest cycle through a is
			// reported.
			name: "shortest cycle through the smallest key",
			nodes: []Node{
				{Key: "a", Module: "m", Deps: []string{"d", "c"}},
				{Key: "b", Module: "m", Deps: []string{"a"}},
				{Key: "c", Module: "m", Deps: []string{"b"}},
				{Key: "d", Module: "m", Deps: []string{"c"}},
			},
			paths: [][]string{{"a", "b", "c", "a"}},
			want:  []string{"dependency cycle: a -> b -> c -> a (module \"m\")" + hint},
		},
		{
			name: "two independent cycles",
			nodes: []Node{
				{Key: "z1", Module: "m", Deps: []string{"z2"}},
				{Key: "z2", Module: "m", Deps: []string{"z1"}},
				{Key: "k", Module: "n", Deps: []string{"k"}},
			},
			paths: [][]string{{"k", "k"}, {"z1", "z2", "z1"}},
			want: []string{
				"dependency cycle: k -> k (module \"n\")" + hint,
				"dependency cycle: z1 -> z2 -> z1 (module \"m\")" + hint,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.nodes)
			if !errors.Is(err, ErrInvalidGraph) {
				t.Fatalf("New: %v; want ErrInvalidGraph", err)
			}
			if got := messages(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			var errs *Errors
			errors.As(err, &errs)
			for i, e := range errs.Errs {
				var ce *CycleError
				if !errors.As(e, &ce) {
					t.Fatalf("problem %d is %T, want *CycleError", i, e)
				}
				if !slices.Equal(ce.Path, tt.paths[i]) {
					t.Errorf("cycle %d path = %q, want %q", i, ce.Path, tt.paths[i])
				}
			}
		})
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	nodes := append(sampleNodes(),
		Node{Key: "Orders//x", Module: "broken"},
		Node{Key: "dashboard", Module: "broken"},
		Node{Key: "report", Module: "broken", Deps: []string{"revenu_by_region", "loop/a"}},
		Node{Key: "loop/a", Module: "broken", Deps: []string{"loop/b"}},
		Node{Key: "loop/b", Module: "analytics", Deps: []string{"loop/a"}},
	)
	_, err := New(nodes)
	want := []string{
		`module "broken": asset key "Orders//x" is invalid: it has an empty path component (a leading, trailing or doubled '/'); use path components of letters, digits, '_' and '-' (not starting with '-') joined by '/', e.g. "orders/raw"`,
		`asset "dashboard" is defined by both module "analytics" and module "broken"; asset keys are global across the workspace: rename all but one (for example with a key prefix) or remove a module`,
		`module "broken": asset "report" depends on "revenu_by_region", which no module defines; did you mean "revenue_by_region"?`,
		`dependency cycle: loop/a -> loop/b -> loop/a (modules "analytics", "broken"); each asset depends on the one before it: remove one of these dependencies`,
	}
	if got := messages(t, err); !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, target := range []any{new(*InvalidKeyError), new(*DuplicateKeyError), new(*UnknownDepError), new(*CycleError)} {
		if !errors.As(err, target) {
			t.Errorf("errors.As(err, %T) = false", target)
		}
	}
}

// TestLongChain checks that nothing recurses per node: a 200,000-long chain (and a cycle
// through all of it) would exhaust a recursive implementation's patience if not its stack.
func TestLongChain(t *testing.T) {
	const n = 200_000
	nodes := make([]Node, n)
	key := func(i int) string { return fmt.Sprintf("c%06d", i) }
	for i := range nodes {
		nodes[i] = Node{Key: key(i), Module: "m"}
		if i > 0 {
			nodes[i].Deps = []string{key(i - 1)}
		}
	}
	g, err := New(nodes)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := g.Select("*" + key(n-1)); len(got) != n || got[0] != key(0) {
		t.Errorf("Select(*last) = %d keys starting %q", len(got), got[0])
	}
	nodes[0].Deps = []string{key(n - 1)}
	_, err = New(nodes)
	var ce *CycleError
	if !errors.As(err, &ce) || len(ce.Path) != n+1 || ce.Path[0] != key(0) || ce.Path[n] != key(0) {
		t.Errorf("long cycle not reported as one cycle: %d-element path", len(ce.Path))
	}
}

// TestConcurrentUse exercises the claim that a Graph is safe for concurrent use; it only
// means something under -race.
func TestConcurrentUse(t *testing.T) {
	g := sampleGraph(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if got, err := g.Select("*"); err != nil || !slices.Equal(got, sampleTopo) {
					t.Errorf("Select(*) = %q, %v", got, err)
				}
				g.Select("revenu")
				g.DescendantsWithin("fan/root", g.Keys())
				g.TopoSort([]string{"dashboard", "orders/raw"})
				g.Upstream("dashboard")
				g.Node("dashboard")
			}
		})
	}
	wg.Wait()
}

func TestSuggest(t *testing.T) {
	keys := []string{
		"customer_ltv", "customers/raw", "dashboard", "orders/cleaned_orders", "orders/raw",
		"revenue", "revenue_by_region", "staging/orders", "zz",
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"revenu", []string{"revenue", "revenue_by_region"}},                          // typo beats prefix
		{"cleaned", []string{"orders/cleaned_orders"}},                                // prefix of last component
		{"raw", []string{"customers/raw", "orders/raw"}},                              // last component, ties by key
		{"Dashboard", []string{"dashboard"}},                                          // case
		{"dashbaord", []string{"dashboard"}},                                          // transposition = 2 edits
		{"ORDERS", []string{"staging/orders", "orders/raw", "orders/cleaned_orders"}}, // last, then prefix by distance
		{"prod/raw", []string{"customers/raw", "orders/raw"}},                         // right name, wrong prefix
		{"by_region", []string{"revenue_by_region"}},                                  // substring
		{"z", []string{"zz"}},                                                         // one edit; too short for prefix
		{"nothing_like_it", nil},
		{"", nil},
	}
	for _, tt := range tests {
		if got := suggest(tt.query, keys, maxSuggestions); !slices.Equal(got, tt.want) {
			t.Errorf("suggest(%q) = %q, want %q", tt.query, got, tt.want)
		}
	}
}

func TestLevenshtein(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"flaw", "lawn", 2}, {"revenu", "revenue", 1}, {"héllo", "hello", 1},
	}
	for _, tt := range tests {
		if got := levenshtein(tt.a, tt.b); got != tt.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := levenshtein(tt.b, tt.a); got != tt.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tt.b, tt.a, got, tt.want)
		}
	}
}

// TestBoundedDistance checks the banded, filtered distance against the plain
// dynamic-programming definition on random strings over a small alphabet (so that
// near-misses are common), for every bound.
func TestBoundedDistance(t *testing.T) {
	naive := func(a, b []rune) int {
		row := make([]int, len(b)+1)
		for j := range row {
			row[j] = j
		}
		for i := 1; i <= len(a); i++ {
			diag := row[0]
			row[0] = i
			for j := 1; j <= len(b); j++ {
				cost := 1
				if a[i-1] == b[j-1] {
					cost = 0
				}
				diag, row[j] = row[j], min(row[j]+1, row[j-1]+1, diag+cost)
			}
		}
		return row[len(b)]
	}
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []rune("ab/_é")
	random := func() string {
		r := make([]rune, rng.IntN(9))
		for i := range r {
			r[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(r)
	}
	for range 5000 {
		a, b := random(), random()
		want := naive([]rune(a), []rune(b))
		d := newDistance(a)
		for bound := 0; bound <= 10; bound++ {
			if got := d.bounded(b, bound); got != min(want, bound+1) {
				t.Fatalf("bounded(%q, %q, %d) = %d, want %d (distance %d)", a, b, bound, got, min(want, bound+1), want)
			}
		}
		if got := levenshtein(a, b); got != want {
			t.Fatalf("levenshtein(%q, %q) = %d, want %d", a, b, got, want)
		}
	}
}

// TestDepSuggestionsBounded checks that suggestions are searched for a bounded number of
// distinct missing keys, the same ones whatever the input order, and that a repeated missing
// key reuses its search without offering the declaring asset itself.
func TestDepSuggestionsBounded(t *testing.T) {
	nodes := []Node{{Key: "target_0", Module: "m"}}
	for i := range maxSuggestedDeps + 10 {
		nodes = append(nodes, Node{Key: fmt.Sprintf("asset_%03d", i), Module: "m", Deps: []string{fmt.Sprintf("target_%d", i+1)}})
	}
	// A second asset missing the same key; its own key is the best match and must be skipped.
	nodes = append(nodes, Node{Key: "target_1x", Module: "m", Deps: []string{"target_1"}})
	_, err := New(nodes)
	var errs *Errors
	if !errors.As(err, &errs) || len(errs.Errs) != maxSuggestedDeps+11 {
		t.Fatalf("New: %v", err)
	}
	with := 0
	for _, e := range errs.Errs {
		ue := e.(*UnknownDepError)
		if len(ue.Suggestions) > 0 {
			with++
		}
		if slices.Contains(ue.Suggestions, ue.Key) {
			t.Errorf("%v offers the asset itself", ue)
		}
	}
	if with != maxSuggestedDeps+1 { // the repeated key counts once
		t.Errorf("%d errors carry suggestions, want %d", with, maxSuggestedDeps+1)
	}
	last := errs.Errs[len(errs.Errs)-1].(*UnknownDepError)
	if last.Key != "target_1x" || !slices.Equal(last.Suggestions, []string{"target_0"}) {
		t.Errorf("repeated missing key: %v", last)
	}
}
