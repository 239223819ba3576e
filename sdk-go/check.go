package wasmorch

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// Severities of a CheckResult.
const (
	SeverityWarn  = "WARN"
	SeverityError = "ERROR"
)

// CheckResult is an asset check's verdict.
type CheckResult struct {
	Passed bool
	// Severity is SeverityError (the default) or SeverityWarn.
	Severity string
	// Metadata is stored with the evaluation, for example the number of bad rows.
	Metadata map[string]any
}

// Check registers fn as an asset check named name on the asset key asset. The host runs it right
// after the asset materializes, handing it the asset's value. fn has the shape
// func(*Context, T) (CheckResult, error), where T follows the input rules of Asset. A check that
// does not need the value has the shape func(*Context) (CheckResult, error), and the SDK does
// not load it. A returned error is an evaluation that failed to run, recorded as a failed ERROR
// check.
func Check(asset, name string, fn any, opts ...CheckOption) {
	defaultRegistry.queueCheck(asset, name, fn, opts)
}

// CheckOption configures a check registered with Check.
type CheckOption func(*checkDef)

// Blocking makes a failed ERROR-severity evaluation stop the steps downstream of the asset.
func Blocking() CheckOption { return func(c *checkDef) { c.blocking = true } }

// CheckDescription sets the check's human-readable description.
func CheckDescription(text string) CheckOption { return func(c *checkDef) { c.description = text } }

// CheckResources declares the workspace resources the check calls with Context.Resource.
func CheckResources(keys ...string) CheckOption {
	return func(c *checkDef) {
		c.problems = append(c.problems, resourceProblems("CheckResources", keys)...)
		c.resources = append(c.resources, validResources(keys)...)
	}
}

type checkDef struct {
	asset, name, description string
	blocking                 bool
	resources                []string
	fn                       reflect.Value
	inKind                   valueKind
	inType                   reflect.Type
	problems                 []string
}

var checkResultType = reflect.TypeOf(CheckResult{})

func (r *registry) addCheck(asset, name string, fn any, opts []CheckOption) {
	c := &checkDef{asset: asset, name: name}
	for _, opt := range opts {
		if opt != nil {
			opt(c)
		}
	}
	if !validKey(asset) {
		c.problems = append(c.problems, fmt.Sprintf("invalid asset key %q: an asset key is %s", asset, keyExample))
	}
	if !nameRE.MatchString(name) {
		c.problems = append(c.problems, fmt.Sprintf("invalid check name %q: want [A-Za-z_][A-Za-z0-9_]*", name))
	}
	v := reflect.ValueOf(fn)
	if fn == nil || v.Kind() != reflect.Func || v.IsNil() {
		c.problems = append(c.problems, fmt.Sprintf("Check needs a function func(*wasmorch.Context, T) (wasmorch.CheckResult, error), got %T", fn))
	} else if t := v.Type(); t.NumIn() < 1 || t.NumIn() > 2 || t.IsVariadic() || t.In(0) != contextType || t.NumOut() != 2 || t.Out(0) != checkResultType || t.Out(1) != errorType {
		c.problems = append(c.problems, fmt.Sprintf("the function %s must have the shape func(*wasmorch.Context, T) (wasmorch.CheckResult, error), or func(*wasmorch.Context) (wasmorch.CheckResult, error) for a check that does not read the asset", t))
	} else if t.NumIn() == 1 {
		c.fn = v
	} else if k, err := classify(t.In(1), asInput); err != nil {
		c.problems = append(c.problems, fmt.Sprintf("the asset value parameter: %v", err))
	} else {
		c.fn, c.inKind, c.inType = v, k, t.In(1)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	id := "check:" + asset + ":" + name
	if r.seen[id] {
		c.problems = append(c.problems, "the check is registered twice")
	}
	r.seen[id] = true
	if len(c.problems) > 0 {
		for _, p := range c.problems {
			r.errs = append(r.errs, &registrationError{asset: asset + ":" + name, problem: p, kind: "check"})
		}
		return
	}
	r.checks = append(r.checks, c)
}

type manifestCheck struct {
	Name        string   `json:"name"`
	Asset       string   `json:"asset"`
	Description string   `json:"description,omitempty"`
	Blocking    bool     `json:"blocking,omitempty"`
	Resources   []string `json:"resources,omitempty"`
}

// stepCheck runs a check step: the asset's value in, a verdict out through check_result.
func (d *dispatcher) stepCheck(r *registry, inv *invocationJSON, ctx *Context) error {
	asset := ""
	for _, in := range inv.Inputs {
		if in.Name == "asset" {
			asset = in.Asset
		}
	}
	var c *checkDef
	r.resolve()
	r.mu.Lock()
	var names []string
	for _, x := range r.checks {
		names = append(names, x.asset+":"+x.name)
		if x.name == inv.Name && (asset == "" || x.asset == asset) {
			c = x
		}
	}
	r.mu.Unlock()
	if c == nil {
		return fmt.Errorf("wasmorch: this module defines no check %q on asset %q (it defines: %s)", inv.Name, asset, strings.Join(names, ", "))
	}
	args := []reflect.Value{reflect.ValueOf(ctx)}
	if c.inType != nil { // the check reads the asset's value
		v, cleanup, err := d.loadInput(inputDef{name: "asset"}, c.inKind, c.inType)
		if cleanup != nil {
			defer cleanup()
		}
		if err != nil {
			return fmt.Errorf("check %q: the value of asset %q: %w", c.name, c.asset, err)
		}
		args = append(args, v)
	}
	out := c.fn.Call(args)
	if err, _ := out[1].Interface().(error); err != nil {
		return err
	}
	res := out[0].Interface().(CheckResult)
	severity := int32(1)
	switch res.Severity {
	case "", SeverityError:
	case SeverityWarn:
		severity = 0
	default:
		return fmt.Errorf("check %q: severity %q is not WARN or ERROR", c.name, res.Severity)
	}
	if len(res.Metadata) > 0 {
		js, err := json.Marshal(res.Metadata)
		if err != nil {
			return fmt.Errorf("check %q: metadata: %w", c.name, err)
		}
		if st := d.h.metadataAdd(js); st < 0 {
			return hostError(d.h, "metadata_add", int64(st))
		}
	}
	passed := int32(0)
	if res.Passed {
		passed = 1
	}
	if st := d.h.checkResult(passed, severity); st < 0 {
		return hostError(d.h, "check_result", int64(st))
	}
	return nil
}
