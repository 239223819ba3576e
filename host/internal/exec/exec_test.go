package exec

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFailureSkipsDownstreamAndOtherBranchesFinish(t *testing.T) {
	var mu sync.Mutex
	ran := map[string]bool{}
	mark := func(k string, err error) func(context.Context) error {
		return func(context.Context) error {
			mu.Lock()
			ran[k] = true
			mu.Unlock()
			return err
		}
	}
	steps := []Step{
		{Key: "a", Run: mark("a", nil)},
		{Key: "bad", Deps: []string{"a"}, Run: mark("bad", errors.New("boom"))},
		{Key: "after_bad", Deps: []string{"bad"}, Run: mark("after_bad", nil)},
		{Key: "after_after", Deps: []string{"after_bad", "ok"}, Run: mark("after_after", nil)},
		{Key: "ok", Deps: []string{"a"}, Run: mark("ok", nil)},
		{Key: "ok2", Deps: []string{"ok"}, Run: mark("ok2", nil)},
	}
	var skipped []string
	out, err := Execute(context.Background(), steps, 2, Hooks{OnSkip: func(k, _ string) { skipped = append(skipped, k) }})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Status{"a": Succeeded, "bad": Failed, "after_bad": Skipped, "after_after": Skipped, "ok": Succeeded, "ok2": Succeeded}
	for k, s := range want {
		if out[k].Status != s {
			t.Errorf("%s: %s, want %s", k, out[k].Status, s)
		}
	}
	if ran["after_bad"] || ran["after_after"] {
		t.Error("a skipped step ran")
	}
	if out["after_bad"].SkippedBecause != "bad" || out["after_after"].SkippedBecause != "after_bad" {
		t.Errorf("skip causes: %+v %+v", out["after_bad"], out["after_after"])
	}
	if len(skipped) != 2 {
		t.Errorf("OnSkip called for %v", skipped)
	}
	if out["bad"].Err == nil || out["bad"].Err.Error() != "boom" {
		t.Errorf("failure error = %v", out["bad"].Err)
	}
}

func TestConcurrencyBound(t *testing.T) {
	var cur, peak atomic.Int32
	var steps []Step
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		steps = append(steps, Step{Key: k, Run: func(context.Context) error {
			n := cur.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
			cur.Add(-1)
			return nil
		}})
	}
	if _, err := Execute(context.Background(), steps, 3, Hooks{}); err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p != 3 {
		t.Errorf("peak concurrency %d, want 3", p)
	}
}

func TestInvalidPlans(t *testing.T) {
	nop := func(context.Context) error { return nil }
	for name, steps := range map[string][]Step{
		"unknown dep": {{Key: "a", Deps: []string{"x"}, Run: nop}},
		"duplicate":   {{Key: "a", Run: nop}, {Key: "a", Run: nop}},
		"cycle":       {{Key: "a", Deps: []string{"b"}, Run: nop}, {Key: "b", Deps: []string{"a"}, Run: nop}},
	} {
		if _, err := Execute(context.Background(), steps, 1, Hooks{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCancelSkipsUnstartedSteps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	steps := []Step{
		{Key: "a", Run: func(ctx context.Context) error { cancel(); <-ctx.Done(); return ctx.Err() }},
		{Key: "b", Deps: []string{"a"}, Run: func(context.Context) error { t.Error("b ran"); return nil }},
		{Key: "c", Run: func(context.Context) error { return nil }},
	}
	out, err := Execute(ctx, steps, 1, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if out["a"].Status != Failed || out["b"].Status != Skipped {
		t.Fatalf("outcomes %+v", out)
	}
}

func TestPanickingStepFails(t *testing.T) {
	out, _ := Execute(context.Background(), []Step{{Key: "p", Run: func(context.Context) error { panic("oops") }}}, 1, Hooks{})
	if out["p"].Status != Failed {
		t.Fatalf("%+v", out["p"])
	}
}
