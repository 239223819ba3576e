package exec

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
)

// fanOut builds the plan of a fan-out: "split" expands into work[k] and post[k] for each key,
// and "collect" (already in the plan, depending on split) gains a dependency on every post[k].
func fanOut(keys []string, run func(key string) error) []Step {
	step := func(k string, deps ...string) Step {
		return Step{Key: k, Deps: deps, Run: func(context.Context) error { return run(k) }}
	}
	split := step("split")
	split.Expand = func() Expansion {
		e := Expansion{Deps: map[string][]string{}}
		for _, k := range keys {
			w, p := fmt.Sprintf("work[%s]", k), fmt.Sprintf("post[%s]", k)
			e.Steps = append(e.Steps, step(w, "split"), step(p, w))
			e.Deps["collect"] = append(e.Deps["collect"], p)
		}
		return e
	}
	return []Step{split, step("collect", "split"), step("after", "collect")}
}

func TestExpansionRunsMappedStepsThenCollect(t *testing.T) {
	var mu sync.Mutex
	var order []string
	steps := fanOut([]string{"a", "b", "c"}, func(k string) error {
		mu.Lock()
		order = append(order, k)
		mu.Unlock()
		return nil
	})
	out, err := Execute(context.Background(), steps, 3, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 9 {
		t.Fatalf("%d outcomes, want 9: %v", len(out), out)
	}
	for k, o := range out {
		if o.Status != Succeeded {
			t.Errorf("%s: %s", k, o.Status)
		}
	}
	pos := map[string]int{}
	for i, k := range order {
		pos[k] = i
	}
	for _, k := range []string{"a", "b", "c"} {
		if !(pos["split"] < pos["work["+k+"]"] && pos["work["+k+"]"] < pos["post["+k+"]"] && pos["post["+k+"]"] < pos["collect"]) {
			t.Errorf("order %v breaks split < work[%s] < post[%s] < collect", order, k, k)
		}
	}
	if pos["after"] != len(order)-1 {
		t.Errorf("after ran before the end: %v", order)
	}
}

// A mapped step's downstream starts as soon as that one mapped step finishes: work[slow] waits
// until post[fast] has started, which deadlocks if post waited for the whole fan-out.
func TestDownstreamOfMappedStepDoesNotWaitForTheFanOut(t *testing.T) {
	postFastStarted := make(chan struct{})
	steps := fanOut([]string{"fast", "slow"}, func(k string) error {
		switch k {
		case "post[fast]":
			close(postFastStarted)
		case "work[slow]":
			<-postFastStarted
		}
		return nil
	})
	out, err := Execute(context.Background(), steps, 2, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if out["collect"].Status != Succeeded {
		t.Fatalf("collect: %+v", out["collect"])
	}
}

func TestFailedMappedStepSkipsItsBranchAndCollect(t *testing.T) {
	steps := fanOut([]string{"a", "b"}, func(k string) error {
		if k == "work[a]" {
			return errors.New("boom")
		}
		return nil
	})
	var skipped []string
	out, err := Execute(context.Background(), steps, 2, Hooks{OnSkip: func(k, _ string) { skipped = append(skipped, k) }})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Status{"split": Succeeded, "work[a]": Failed, "post[a]": Skipped, "work[b]": Succeeded, "post[b]": Succeeded, "collect": Skipped, "after": Skipped}
	for k, s := range want {
		if out[k].Status != s {
			t.Errorf("%s: %s, want %s", k, out[k].Status, s)
		}
	}
	sort.Strings(skipped)
	if strings.Join(skipped, ",") != "after,collect,post[a]" {
		t.Errorf("OnSkip for %v", skipped)
	}
}

func TestEmptyFanOutReleasesCollect(t *testing.T) {
	steps := fanOut(nil, func(string) error { return nil })
	out, err := Execute(context.Background(), steps, 2, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 || out["collect"].Status != Succeeded || out["after"].Status != Succeeded {
		t.Fatalf("%+v", out)
	}
}

func TestSkipErrorSkipsTheStepAndDownstream(t *testing.T) {
	steps := []Step{
		{Key: "a", Run: func(context.Context) error { return Skip("its optional input was not produced") }},
		{Key: "b", Deps: []string{"a"}, Run: func(context.Context) error { t.Error("b ran"); return nil }},
		{Key: "c", Run: func(context.Context) error { return nil }},
	}
	out, err := Execute(context.Background(), steps, 2, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if out["a"].Status != Skipped || out["a"].SkippedBecause != "its optional input was not produced" || out["a"].Err != nil {
		t.Errorf("a: %+v", out["a"])
	}
	if out["b"].Status != Skipped || out["b"].SkippedBecause != "a" || out["c"].Status != Succeeded {
		t.Errorf("b: %+v, c: %+v", out["b"], out["c"])
	}
}

func TestBadExpansionFailsTheExpandingStep(t *testing.T) {
	steps := []Step{
		{Key: "a", Run: func(context.Context) error { return nil }, Expand: func() Expansion {
			return Expansion{Steps: []Step{{Key: "x", Deps: []string{"nowhere"}, Run: func(context.Context) error { return nil }}}}
		}},
		{Key: "b", Deps: []string{"a"}, Run: func(context.Context) error { return nil }},
	}
	out, err := Execute(context.Background(), steps, 2, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if out["a"].Status != Failed || !strings.Contains(out["a"].Err.Error(), `"nowhere"`) || out["b"].Status != Skipped {
		t.Fatalf("%+v", out)
	}
}
