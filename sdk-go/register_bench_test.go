package wasmorch

import (
	"fmt"
	"regexp"
	"testing"
)

// BenchmarkRegisterGraph1000 registers the graph1000 benchmark's assets (bench/README.md) into a
// fresh registry: what a Go guest's init does on every instantiation, so once per step.
//
//	cd sdk-go && go test -run '^$' -bench RegisterGraph1000
func BenchmarkRegisterGraph1000(b *testing.B) {
	b.Run("at-once", func(b *testing.B) { registerGraph1000(b, false) })
	b.Run("queued", func(b *testing.B) { registerGraph1000(b, true) })
}

// registerGraph1000 registers graph1000's assets b.N times, at once or queued as Asset does (and
// then looks one up, as a step does).
func registerGraph1000(b *testing.B, queue bool) {
	fanOut := func(_ *Context, hub int64) (int64, error) { return hub + 1, nil }
	fanIn := func(_ *Context, a, b, c, d, e, f, g, h, i int64) (int64, error) { return 1, nil }
	for i := 0; i < b.N; i++ {
		r := newRegistry()
		add := r.addAsset
		if queue {
			add = r.queueAsset
		}
		for k := range 100 {
			hub := fmt.Sprintf("hub_%03d", k)
			if k == 0 {
				add(hub, func(*Context) (int64, error) { return 1, nil }, []AssetOption{Group("graph1000")})
			} else {
				ins := make([]string, 9)
				for j := range ins {
					ins[j] = fmt.Sprintf("leaf_%03d_%d", k-1, j)
				}
				add(hub, fanIn, []AssetOption{Ins(ins...), Group("graph1000")})
			}
			for j := range 9 {
				add(fmt.Sprintf("leaf_%03d_%d", k, j), fanOut, []AssetOption{Ins(hub), Group("graph1000")})
			}
		}
		if _, err := r.lookup("leaf_099_8"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPatternsMatchABI checks the hand-written matchers against ABI.md section 7's patterns.
func TestPatternsMatchABI(t *testing.T) {
	name := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	keyPart := regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]*$`)
	key := regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]*(/[A-Za-z0-9_][A-Za-z0-9_-]*)*$`)
	alphabet := []string{"", "a", "Z", "_", "0", "9", "-", "/", "é", " ", ".", "\\x00"}
	var inputs []string
	for _, a := range alphabet {
		for _, b := range alphabet {
			for _, c := range alphabet {
				inputs = append(inputs, a+b+c)
			}
		}
	}
	inputs = append(inputs, "orders/raw", "hub_000", "leaf_001_2", "a//b", "/a", "a/", "-a", "a-b/c_d/9")
	for _, s := range inputs {
		if got, want := nameRE.MatchString(s), name.MatchString(s); got != want {
			t.Errorf("name %q: %v, the pattern says %v", s, got, want)
		}
		if got, want := keyPartRE.MatchString(s), keyPart.MatchString(s); got != want {
			t.Errorf("key part %q: %v, the pattern says %v", s, got, want)
		}
		if got, want := validKey(s), key.MatchString(s); got != want {
			t.Errorf("key %q: %v, the pattern says %v", s, got, want)
		}
	}
}
