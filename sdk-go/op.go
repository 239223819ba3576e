package wasmorch

import (
	"fmt"
	"reflect"
	"strings"
)

// Op registers fn as an op: a step with named inputs and several named outputs, which graphs and
// jobs wire together by name (ABI.md section 7.2). Call it from an init function.
//
// fn has the shape func(*Context, in1, ..., inN) (out1, ..., outM, error): one parameter per
// name given to OpInputs and one result per name given to OpOutputs, in order. Parameter and
// result types follow the same rules as for assets (arrow.Record, array.RecordReader, []byte,
// anything else JSON). Every output is written when fn returns a nil error.
//
// # Errors
//
// Like Asset, Op never panics; problems are reported by wasmorch_manifest.
func Op(name string, fn any, opts ...OpOption) {
	defaultRegistry.addOp(name, fn, opts)
}

// OpOption configures an op registered with Op.
type OpOption func(*opDef)

// OpInputs names the op's inputs, in parameter order.
func OpInputs(names ...string) OpOption {
	return func(o *opDef) { o.ins = append(o.ins, names...) }
}

// OpOutputs names the op's outputs, in result order; the default is one output "result".
func OpOutputs(names ...string) OpOption {
	return func(o *opDef) { o.outs = append(o.outs, names...) }
}

// OpDescription sets the op's human-readable description.
func OpDescription(text string) OpOption {
	return func(o *opDef) { o.description = text }
}

type opDef struct {
	name        string
	description string
	ins         []string
	outs        []string

	fn       reflect.Value
	inKinds  []valueKind
	inTypes  []reflect.Type
	outKinds []valueKind
	problems []string
}

func (o *opDef) problem(format string, args ...any) {
	o.problems = append(o.problems, fmt.Sprintf(format, args...))
}

func (r *registry) addOp(name string, fn any, opts []OpOption) {
	o := &opDef{name: name}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	if len(o.outs) == 0 {
		o.outs = []string{outputResult}
	}
	o.check(fn)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.opsByName[name] != nil || r.seen["op:"+name] {
		o.problem("the op name is registered twice; op names must be unique within a module")
	}
	r.seen["op:"+name] = true
	if len(o.problems) > 0 {
		for _, p := range o.problems {
			r.errs = append(r.errs, &registrationError{asset: name, problem: p, kind: "op"})
		}
		return
	}
	r.ops = append(r.ops, o)
	r.opsByName[name] = o
}

func (o *opDef) check(fn any) {
	if !nameRE.MatchString(o.name) {
		o.problem("invalid op name %q: want [A-Za-z_][A-Za-z0-9_]*", o.name)
	}
	for _, list := range [][]string{o.ins, o.outs} {
		seen := map[string]bool{}
		for _, n := range list {
			if !nameRE.MatchString(n) {
				o.problem("invalid input or output name %q: want [A-Za-z_][A-Za-z0-9_]*", n)
			}
			if seen[n] {
				o.problem("the name %q is declared twice", n)
			}
			seen[n] = true
		}
	}
	v := reflect.ValueOf(fn)
	if fn == nil || v.Kind() != reflect.Func || v.IsNil() {
		o.problem("Op needs a function func(*wasmorch.Context, inputs...) (outputs..., error), got %T", fn)
		return
	}
	t := v.Type()
	if t.IsVariadic() || t.NumIn() == 0 || t.In(0) != contextType {
		o.problem("the function %s must take *wasmorch.Context as its first parameter and one parameter per input", t)
		return
	}
	if t.NumOut() != len(o.outs)+1 || t.Out(t.NumOut()-1) != errorType {
		o.problem("the function %s must return one value per output (%s) and then an error", t, strings.Join(o.outs, ", "))
		return
	}
	if got := t.NumIn() - 1; got != len(o.ins) {
		o.problem("the function %s takes %d inputs after *wasmorch.Context, but OpInputs declares %d", t, got, len(o.ins))
		return
	}
	ok := true
	for i, name := range o.ins {
		k, err := classify(t.In(i+1), asInput)
		if err != nil {
			o.problem("input %q: %v", name, err)
			ok = false
			continue
		}
		o.inKinds = append(o.inKinds, k)
		o.inTypes = append(o.inTypes, t.In(i+1))
	}
	for i, name := range o.outs {
		k, err := classify(t.Out(i), asResult)
		if err != nil {
			o.problem("output %q: %v", name, err)
			ok = false
			continue
		}
		o.outKinds = append(o.outKinds, k)
	}
	if ok {
		o.fn = v
	}
}

func (r *registry) lookupOp(name string) (*opDef, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if o, ok := r.opsByName[name]; ok {
		return o, nil
	}
	names := make([]string, len(r.ops))
	for i, o := range r.ops {
		names[i] = o.name
	}
	return nil, fmt.Errorf("this module defines no op %q (it defines: %s)", name, strings.Join(names, ", "))
}

// stepOp runs an op step: inputs by name, the function, then every output by name.
func (d *dispatcher) stepOp(r *registry, name string, ctx *Context) error {
	o, err := r.lookupOp(name)
	if err != nil {
		return fmt.Errorf("wasmorch: %w", err)
	}
	args := make([]reflect.Value, 1+len(o.ins))
	args[0] = reflect.ValueOf(ctx)
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()
	for i, in := range o.ins {
		v, cleanup, err := d.loadInput(inputDef{name: in}, o.inKinds[i], o.inTypes[i])
		if cleanup != nil {
			cleanups = append(cleanups, cleanup)
		}
		if err != nil {
			return fmt.Errorf("op %q: input %q: %w", o.name, in, err)
		}
		args[i+1] = v
	}
	out := o.fn.Call(args)
	if err, _ := out[len(out)-1].Interface().(error); err != nil {
		return err
	}
	for i, name := range o.outs {
		if err := d.writeValue(name, o.outKinds[i], out[i]); err != nil {
			return fmt.Errorf("op %q: output %q: %w", o.name, name, err)
		}
	}
	return nil
}

type manifestOp struct {
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Ins         []manifestOpIO `json:"ins,omitempty"`
	Outs        []manifestOpIO `json:"outs,omitempty"`
}

type manifestOpIO struct {
	Name   string `json:"name"`
	Format string `json:"format"`
}

func (o *opDef) manifest() manifestOp {
	m := manifestOp{Name: o.name, Description: o.description}
	for i, n := range o.ins {
		m.Ins = append(m.Ins, manifestOpIO{Name: n, Format: o.inKinds[i].format().String()})
	}
	for i, n := range o.outs {
		m.Outs = append(m.Outs, manifestOpIO{Name: n, Format: o.outKinds[i].format().String()})
	}
	return m
}
