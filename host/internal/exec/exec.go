// Package exec runs a plan of steps: each step starts once every upstream step in the plan has
// succeeded, at most a bounded number run at once, and a failed step's downstream steps are
// skipped while independent branches finish.
//
// It schedules and nothing else: what a step does (running a guest, storing outputs, writing
// events) is the caller's closure, so this package knows nothing of wasm, stores or IO managers.
package exec

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
)

// Step is one node of a plan.
type Step struct {
	Key string
	// Deps are keys of steps in the same plan that must succeed first. Upstreams outside the plan
	// are the caller's concern.
	Deps []string
	Run  func(ctx context.Context) error
	// Expand, when set, is called once Run has succeeded, on the scheduling goroutine and before
	// any step downstream is released, and may add steps to the running plan: a dynamic fan-out
	// learns its mapping keys only when it has run.
	Expand func() Expansion
}

// Expansion is what a finished step adds to the plan.
type Expansion struct {
	// Steps are new steps. Their Deps may name any step of the plan, finished or not.
	Steps []Step
	// Deps adds dependencies to steps already in the plan that have not been released yet
	// (typically a collect step, which waits for every mapped step).
	Deps map[string][]string
}

// SkipError is returned by a step's Run to mark the step skipped rather than failed (an op whose
// optional input was not produced, say). Its downstream steps are skipped too.
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return "skipped: " + e.Reason }

// Skip returns a *SkipError with the reason.
func Skip(reason string) error { return &SkipError{Reason: reason} }

// Status is a step's outcome.
type Status string

// Outcomes.
const (
	Succeeded Status = "SUCCESS"
	Failed    Status = "FAILURE"
	Skipped   Status = "SKIPPED"
)

// Outcome is what happened to one step.
type Outcome struct {
	Status Status
	Err    error
	// SkippedBecause names the failed or skipped upstream step that caused a skip.
	SkippedBecause string
}

// Hooks observe scheduling; any may be nil.
type Hooks struct {
	// OnSkip is called once for each skipped step, from the scheduling goroutine.
	OnSkip func(key, because string)
}

// Execute runs the plan and returns every step's outcome. It returns an error only for an invalid
// plan (an unknown dependency, a duplicate key, a cycle), before anything runs. When ctx is
// canceled, steps not yet started are skipped with the cause and running steps see the
// cancellation through their context.
func Execute(ctx context.Context, steps []Step, concurrency int, hooks Hooks) (map[string]Outcome, error) {
	if concurrency <= 0 {
		concurrency = runtime.NumCPU()
	}
	byKey := make(map[string]*Step, len(steps))
	for i := range steps {
		s := &steps[i]
		if _, dup := byKey[s.Key]; dup {
			return nil, fmt.Errorf("plan has step %q twice", s.Key)
		}
		byKey[s.Key] = s
	}
	waiting := make(map[string]int, len(steps))
	children := map[string][]string{}
	for _, s := range steps {
		for _, d := range s.Deps {
			if _, ok := byKey[d]; !ok {
				return nil, fmt.Errorf("step %q depends on %q, which is not in the plan", s.Key, d)
			}
			children[d] = append(children[d], s.Key)
		}
		waiting[s.Key] = len(s.Deps)
	}
	if err := checkAcyclic(steps, children); err != nil {
		return nil, err
	}

	total := len(steps)
	outcomes := make(map[string]Outcome, len(steps))
	type done struct {
		key string
		err error
	}
	results := make(chan done)
	var wg sync.WaitGroup
	var ready []string
	for _, s := range steps {
		if waiting[s.Key] == 0 {
			ready = append(ready, s.Key)
		}
	}
	running := 0
	skip := func(key, because string) {
		var stack = []string{key}
		var causes = []string{because}
		for len(stack) > 0 {
			k, c := stack[len(stack)-1], causes[len(causes)-1]
			stack, causes = stack[:len(stack)-1], causes[:len(causes)-1]
			if _, seen := outcomes[k]; seen {
				continue
			}
			outcomes[k] = Outcome{Status: Skipped, SkippedBecause: c}
			if hooks.OnSkip != nil {
				hooks.OnSkip(k, c)
			}
			for _, ch := range children[k] {
				stack = append(stack, ch)
				causes = append(causes, k)
			}
		}
	}
	for len(outcomes) < total {
		if ctx.Err() != nil {
			// Skip what has not started; wait for running steps below.
			for _, k := range ready {
				skip(k, "run canceled")
			}
			ready = nil
			if running == 0 {
				for k := range byKey {
					if _, ok := outcomes[k]; !ok {
						skip(k, "run canceled")
					}
				}
				break
			}
		}
		for running < concurrency && len(ready) > 0 && ctx.Err() == nil {
			key := ready[0]
			ready = ready[1:]
			running++
			wg.Add(1)
			go func(s *Step) {
				defer wg.Done()
				err := runSafely(ctx, s)
				results <- done{s.Key, err}
			}(byKey[key])
		}
		if running == 0 {
			break
		}
		var r done
		select {
		case r = <-results:
		case <-ctx.Done():
			if len(ready) > 0 {
				continue
			}
			r = <-results
		}
		running--
		var skipped *SkipError
		if errors.As(r.err, &skipped) {
			outcomes[r.key] = Outcome{Status: Skipped, SkippedBecause: skipped.Reason}
			for _, ch := range children[r.key] {
				skip(ch, r.key)
			}
			continue
		}
		if r.err == nil && byKey[r.key].Expand != nil {
			r.err = expand(byKey[r.key].Expand(), byKey, children, waiting, outcomes, &total, &ready, skip)
		}
		if r.err != nil {
			outcomes[r.key] = Outcome{Status: Failed, Err: r.err}
			for _, ch := range children[r.key] {
				skip(ch, r.key)
			}
			continue
		}
		outcomes[r.key] = Outcome{Status: Succeeded}
		for _, ch := range children[r.key] {
			waiting[ch]--
			if waiting[ch] == 0 {
				if _, skipped := outcomes[ch]; !skipped {
					ready = append(ready, ch)
				}
			}
		}
		sort.Strings(ready)
	}
	wg.Wait()
	return outcomes, nil
}

// expand adds an expansion's steps to the running plan. A new step whose dependencies have all
// succeeded is ready at once; one with a failed or skipped dependency is skipped.
func expand(e Expansion, byKey map[string]*Step, children map[string][]string, waiting map[string]int,
	outcomes map[string]Outcome, total *int, ready *[]string, skip func(key, because string)) error {
	for i := range e.Steps {
		if _, dup := byKey[e.Steps[i].Key]; dup {
			return fmt.Errorf("expansion adds step %q, which is already in the plan", e.Steps[i].Key)
		}
	}
	for target, deps := range e.Deps {
		if _, ok := byKey[target]; !ok {
			return fmt.Errorf("expansion adds dependencies to %q, which is not in the plan", target)
		}
		if _, done := outcomes[target]; done {
			return fmt.Errorf("expansion adds dependencies to %q, which has already finished", target)
		}
		for _, d := range deps {
			if _, ok := byKey[d]; !ok && !stepIn(e.Steps, d) {
				return fmt.Errorf("expansion makes %q depend on %q, which is not in the plan", target, d)
			}
		}
	}
	for i := range e.Steps {
		s := e.Steps[i]
		for _, d := range s.Deps {
			if _, ok := byKey[d]; !ok && !stepIn(e.Steps, d) {
				return fmt.Errorf("expansion adds step %q depending on %q, which is not in the plan", s.Key, d)
			}
		}
	}
	for i := range e.Steps {
		s := e.Steps[i]
		byKey[s.Key] = &s
		*total++
	}
	// Wire the new edges; a dependency already finished counts at once.
	var failedDep = map[string]string{}
	addEdge := func(child, dep string) {
		if o, done := outcomes[dep]; done {
			if o.Status != Succeeded {
				failedDep[child] = dep
			}
			return
		}
		children[dep] = append(children[dep], child)
		waiting[child]++
	}
	for _, s := range e.Steps {
		waiting[s.Key] = 0
		for _, d := range s.Deps {
			addEdge(s.Key, d)
		}
	}
	for target, deps := range e.Deps {
		for _, d := range deps {
			addEdge(target, d)
		}
	}
	for _, s := range e.Steps {
		if dep, bad := failedDep[s.Key]; bad {
			skip(s.Key, dep)
		}
	}
	for target, dep := range failedDep {
		if _, done := outcomes[target]; !done {
			skip(target, dep)
		}
	}
	for _, s := range e.Steps {
		if _, done := outcomes[s.Key]; !done && waiting[s.Key] == 0 {
			*ready = append(*ready, s.Key)
		}
	}
	return nil
}

func stepIn(steps []Step, key string) bool {
	for i := range steps {
		if steps[i].Key == key {
			return true
		}
	}
	return false
}

// runSafely turns a panicking step closure into a failed step rather than a crashed host.
func runSafely(ctx context.Context, s *Step) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("step %q panicked in the host: %v", s.Key, r)
		}
	}()
	return s.Run(ctx)
}

func checkAcyclic(steps []Step, children map[string][]string) error {
	indeg := map[string]int{}
	for _, s := range steps {
		indeg[s.Key] = len(s.Deps)
	}
	var queue []string
	for _, s := range steps {
		if indeg[s.Key] == 0 {
			queue = append(queue, s.Key)
		}
	}
	seen := 0
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		seen++
		for _, c := range children[k] {
			indeg[c]--
			if indeg[c] == 0 {
				queue = append(queue, c)
			}
		}
	}
	if seen != len(steps) {
		return fmt.Errorf("plan has a dependency cycle")
	}
	return nil
}
