package wasmorch

import (
	"fmt"
	"strings"
	"testing"
)

// register makes the same registrations either at once or queued, as the package-level
// functions do.
func register(r *registry, queue bool) {
	one := func(*Context) (int64, error) { return 1, nil }
	plus := func(_ *Context, x int64) (int64, error) { return x + 1, nil }
	asset := r.addAsset
	op := r.addOp
	check := r.addCheck
	if queue {
		asset, op, check = r.queueAsset, r.queueOp, r.queueCheck
	}
	asset("a", one, nil)
	asset("bad key!", one, nil)
	op("bad op!", func(*Context) error { return nil }, nil)
	asset("b", plus, []AssetOption{Ins("a")})
	asset("a", one, nil) // a duplicate
	check("b", "positive", func(*Context, int64) (CheckResult, error) { return CheckResult{Passed: true}, nil }, nil)
	asset("c", plus, []AssetOption{Ins("b"), Group("g")})
}

// TestQueuedRegistrationIsTheSame: replaying the queue gives the problems, in the same order, and
// the manifest that registering at once gives.
func TestQueuedRegistrationIsTheSame(t *testing.T) {
	eager, lazy := newRegistry(), newRegistry()
	register(eager, false)
	register(lazy, true)
	if len(lazy.assets) != 0 || len(lazy.errs) != 0 {
		t.Fatalf("queued registrations were made at once: %d assets, %d problems", len(lazy.assets), len(lazy.errs))
	}
	want, got := fmt.Sprint(eager.problems()), fmt.Sprint(lazy.problems())
	if got != want || !strings.Contains(got, "bad key!") || !strings.Contains(got, "registered twice") || !strings.Contains(got, "bad op!") {
		t.Fatalf("queued problems\n%s\nwant\n%s", got, want)
	}

	// Without the bad registrations, the manifests are equal too.
	eager, lazy = newRegistry(), newRegistry()
	for _, r := range []*registry{eager, lazy} {
		add := r.addAsset
		if r == lazy {
			add = r.queueAsset
		}
		add("a", func(*Context) (int64, error) { return 1, nil }, nil)
		add("b", func(_ *Context, x int64) (int64, error) { return x, nil }, []AssetOption{Ins("a"), Description("b from a")})
	}
	me, err1 := eager.manifest()
	ml, err2 := lazy.manifest()
	if err1 != nil || err2 != nil || string(me) != string(ml) {
		t.Fatalf("manifests differ:\n%s (%v)\n%s (%v)", me, err1, ml, err2)
	}
	// After the registry was read, a registration is made at once.
	lazy.queueAsset("late", func(*Context) (int64, error) { return 1, nil }, nil)
	if _, ok := lazy.byKey["late"]; !ok {
		t.Error("a registration after resolve was queued")
	}
}

// TestLookupBuildsOnlyTheStepsAsset: running an asset checks and builds that asset alone.
func TestLookupBuildsOnlyTheStepsAsset(t *testing.T) {
	r := newRegistry()
	built := 0
	counting := AssetOption(func(*assetDef) { built++ })
	for i := range 100 {
		r.queueAsset(fmt.Sprintf("a%d", i), func(*Context) (int64, error) { return 1, nil }, []AssetOption{counting})
	}
	r.queueAsset("broken", 42, nil)
	a, err := r.lookup("a50")
	if err != nil || a.key != "a50" {
		t.Fatalf("lookup a50: %v, %v", a, err)
	}
	if built != 1 || r.resolved {
		t.Fatalf("lookup built %d assets (resolved %v), want 1 and no replay", built, r.resolved)
	}
	if _, err := r.lookup("broken"); err == nil || !strings.Contains(err.Error(), `asset "broken"`) {
		t.Fatalf("lookup of a broken asset: %v", err)
	}
	// An unknown key replays the queue and lists what the module defines.
	_, err = r.lookup("nope")
	if err == nil || !strings.Contains(err.Error(), `no asset "nope"`) || !strings.Contains(err.Error(), "a99") || !r.resolved {
		t.Fatalf("lookup of an unknown key: %v (resolved %v)", err, r.resolved)
	}
}
