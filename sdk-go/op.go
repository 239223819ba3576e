package wasmorch

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

// Op registers fn as an op: a step with named inputs and several named outputs, which graphs and
// jobs wire together by name (ABI.md section 7.2). Call it from an init function.
//
// fn has the shape func(*Context, in1, ..., inN) (out1, ..., outM, error): one parameter per
// name given to OpInputs and one result per name given to OpOutputs, in order. Parameter and
// result types follow the same rules as for assets (arrow.Record, array.RecordReader, []byte,
// anything else JSON), and decide each input's and output's format in the manifest. When fn
// returns a nil error, every output is written, except:
//
//   - an output named in OpOptionalOutputs whose value is nil (a nil pointer, slice, map,
//     interface, arrow.Record or array.RecordReader) is not written;
//   - an output named in OpDynamicOutputs is a fan-out: its result is a map[string]T and each
//     entry is written as the output NAME[KEY], in key order.
//
// # Errors
//
// Like Asset, Op never panics; problems are reported by wasmorch_manifest.
func Op(name string, fn any, opts ...OpOption) {
	defaultRegistry.queueOp(name, fn, opts)
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

// OpOptionalInputs marks inputs, declared with OpInputs, that a graph may leave unwired. The
// parameter of a missing optional input gets its type's zero value; use a pointer, slice, map or
// arrow type to tell a missing input from a zero one.
func OpOptionalInputs(names ...string) OpOption {
	return func(o *opDef) { o.optionalIns = append(o.optionalIns, names...) }
}

// OpOptionalOutputs marks outputs, declared with OpOutputs, that the op may leave unwritten: a
// nil result (pointer, slice, map, interface, arrow.Record or array.RecordReader) for such an
// output writes nothing, and the steps that read it do not run. The output's type must be one
// that can be nil.
func OpOptionalOutputs(names ...string) OpOption {
	return func(o *opDef) { o.optionalOuts = append(o.optionalOuts, names...) }
}

// OpDynamicOutputs marks outputs, declared with OpOutputs, as dynamic (fan-out) outputs: the
// op's result for each is a map[string]T, T any output type, and every entry is written as the
// output NAME[KEY]. Downstream steps then run once per key, and learn it from
// Context.MappingKey. A key must be 1 to 255 characters of A-Z, a-z, 0-9 and _; any other key
// fails the step. An empty or nil map writes nothing, which the ABI allows.
//
//	wasmorch.Op("fan_out", fanOut, wasmorch.OpOutputs("chunks", "count"), wasmorch.OpDynamicOutputs("chunks"))
//
//	func fanOut(ctx *wasmorch.Context) (chunks map[string]int, count int, err error)
func OpDynamicOutputs(names ...string) OpOption {
	return func(o *opDef) { o.dynamicOuts = append(o.dynamicOuts, names...) }
}

// OpDescription sets the op's human-readable description.
func OpDescription(text string) OpOption {
	return func(o *opDef) { o.description = text }
}

// OpTags adds string tags to the op; a later value for the same tag wins.
func OpTags(tags map[string]string) OpOption {
	return func(o *opDef) {
		if o.tags == nil {
			o.tags = make(map[string]string, len(tags))
		}
		maps.Copy(o.tags, tags)
	}
}

// OpConfigSchema declares the JSON Schema (a JSON object) of the op's run config, as
// ConfigSchema does for an asset.
func OpConfigSchema(jsonSchema string) OpOption {
	return func(o *opDef) {
		schema, err := compactConfigSchema("OpConfigSchema", jsonSchema)
		if err != nil {
			o.problem("%v", err)
			return
		}
		o.configSchema = schema
	}
}

// OpConfigFrom declares the op's config schema from a Go struct, by the rules of ConfigFrom.
func OpConfigFrom(example any) OpOption {
	return func(o *opDef) {
		schema, err := configSchemaFrom("OpConfigFrom", example)
		if err != nil {
			o.problem("%v", err)
			return
		}
		o.configSchema = schema
	}
}

// OpResources declares the resource keys the op calls through Context.Resource; the workspace
// must grant them.
func OpResources(keys ...string) OpOption {
	return func(o *opDef) {
		o.problems = append(o.problems, resourceProblems("OpResources", keys)...)
		o.resources = append(o.resources, validResources(keys)...)
	}
}

// OpRetry gives the op a retry policy, as Retry does for an asset.
func OpRetry(p RetryPolicy) OpOption {
	return func(o *opDef) {
		o.problems = append(o.problems, p.problems("OpRetry")...)
		o.retry = &p
	}
}

type opDef struct {
	name         string
	description  string
	tags         map[string]string
	ins          []string
	outs         []string
	optionalIns  []string
	optionalOuts []string
	dynamicOuts  []string
	configSchema json.RawMessage
	resources    []string
	retry        *RetryPolicy

	fn       reflect.Value
	inKinds  []valueKind
	inTypes  []reflect.Type
	outKinds []valueKind // of the map's values for a dynamic output
	problems []string
}

func (o *opDef) problem(format string, args ...any) {
	o.problems = append(o.problems, fmt.Sprintf(format, args...))
}

func (o *opDef) inOptional(name string) bool  { return slices.Contains(o.optionalIns, name) }
func (o *opDef) outOptional(name string) bool { return slices.Contains(o.optionalOuts, name) }
func (o *opDef) outDynamic(name string) bool  { return slices.Contains(o.dynamicOuts, name) }

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
	for _, c := range []struct {
		option, what    string
		names, declared []string
	}{
		{"OpOptionalInputs", "input", o.optionalIns, o.ins},
		{"OpOptionalOutputs", "output", o.optionalOuts, o.outs},
		{"OpDynamicOutputs", "output", o.dynamicOuts, o.outs},
	} {
		for _, n := range c.names {
			if !slices.Contains(c.declared, n) {
				o.problem("%s names %q, which is not a declared %s (declared: %s)", c.option, n, c.what, namesOrNone(c.declared))
			}
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
		rt := t.Out(i)
		if o.outDynamic(name) {
			if rt.Kind() != reflect.Map || rt.Key().Kind() != reflect.String {
				o.problem("output %q is dynamic, so its result must be a map[string]T with one entry per mapping key, got %s", name, rt)
				ok = false
				continue
			}
			rt = rt.Elem()
		} else if o.outOptional(name) && !nillable(rt) {
			o.problem("output %q is optional, but its type %s cannot be nil; use a pointer, slice, map or Arrow type so that nil can mean \"not written\"", name, rt)
			ok = false
			continue
		}
		k, err := classify(rt, asResult)
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

func nillable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return true
	}
	return false
}

func isNil(v reflect.Value) bool {
	return nillable(v.Type()) && v.IsNil()
}

func namesOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func (r *registry) lookupOp(name string) (*opDef, error) {
	r.resolve()
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
func (d *dispatcher) stepOp(r *registry, inv *invocationJSON, ctx *Context) error {
	o, err := r.lookupOp(inv.Name)
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
		optional := o.inOptional(in)
		if optional && !inv.hasInput(in) {
			args[i+1] = reflect.Zero(o.inTypes[i]) // the graph leaves it unwired
			continue
		}
		v, cleanup, err := d.loadInput(inputDef{name: in}, o.inKinds[i], o.inTypes[i])
		if cleanup != nil {
			cleanups = append(cleanups, cleanup)
		}
		var he *HostError
		if optional && errors.As(err, &he) && he.Code == statusErrNotFound && he.Call == "input_open" {
			args[i+1] = reflect.Zero(o.inTypes[i])
			continue
		}
		if err != nil {
			return fmt.Errorf("op %q: input %q: %w", o.name, in, err)
		}
		args[i+1] = v
	}
	out := o.fn.Call(args)
	if err, _ := out[len(out)-1].Interface().(error); err != nil {
		o.releaseFrom(out, 0)
		return err
	}
	return d.writeOpOutputs(o, out[:len(o.outs)])
}

// writeOpOutputs writes the op's results in declaration order, the entries of a dynamic output
// in key order. Every mapping key is checked before anything is written. Arrow values are
// released whether or not they were written.
func (d *dispatcher) writeOpOutputs(o *opDef, out []reflect.Value) error {
	for i, name := range o.outs {
		if !o.outDynamic(name) {
			continue
		}
		for _, key := range sortedKeys(out[i]) {
			if !validMappingKey(key) {
				o.releaseFrom(out, 0)
				return fmt.Errorf("op %q: output %q: invalid mapping key %q: a mapping key is 1 to %d characters of A-Z, a-z, 0-9 and _ (%s)",
					o.name, name, truncate(key, 80), maxMappingKeyLen, mappingKeyPattern)
			}
		}
	}
	for i, name := range o.outs {
		var err error
		switch v := out[i]; {
		case o.outDynamic(name):
			keys := sortedKeys(v)
			for j, key := range keys {
				mapped := mappedName(name, key)
				if err = d.writeValue(mapped, o.outKinds[i], v.MapIndex(reflect.ValueOf(key).Convert(v.Type().Key()))); err != nil {
					err = fmt.Errorf("op %q: output %q: %w", o.name, mapped, err)
					for _, rest := range keys[j+1:] {
						releaseValue(o.outKinds[i], v.MapIndex(reflect.ValueOf(rest).Convert(v.Type().Key())))
					}
					break
				}
			}
		case o.outOptional(name) && isNil(v):
			// not written
		default:
			if err = d.writeValue(name, o.outKinds[i], v); err != nil {
				err = fmt.Errorf("op %q: output %q: %w", o.name, name, err)
			}
		}
		if err != nil {
			o.releaseFrom(out, i+1)
			return err
		}
	}
	return nil
}

// sortedKeys returns the keys of a string-keyed map value, sorted.
func sortedKeys(m reflect.Value) []string {
	keys := make([]string, 0, m.Len())
	for _, k := range m.MapKeys() {
		keys = append(keys, k.String())
	}
	slices.Sort(keys)
	return keys
}

// releaseFrom releases the Arrow values among the op's results out[from:], which the SDK owns
// once the function returns and which will not be written.
func (o *opDef) releaseFrom(out []reflect.Value, from int) {
	for i := from; i < len(o.outs) && i < len(out); i++ {
		v := out[i]
		if o.outDynamic(o.outs[i]) {
			for _, k := range v.MapKeys() {
				releaseValue(o.outKinds[i], v.MapIndex(k))
			}
			continue
		}
		releaseValue(o.outKinds[i], v)
	}
}

// releaseValue releases a non-nil Arrow value of kind k; other values need nothing.
func releaseValue(k valueKind, v reflect.Value) {
	if !v.IsValid() || (k != kindRecord && k != kindRecordReader) || v.IsNil() {
		return
	}
	switch x := v.Interface().(type) {
	case arrow.Record:
		x.Release()
	case array.RecordReader:
		x.Release()
	}
}

type manifestOp struct {
	Name         string            `json:"name"`
	Description  string            `json:"description,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
	Ins          []manifestOpIO    `json:"ins,omitempty"`
	Outs         []manifestOpIO    `json:"outs,omitempty"`
	ConfigSchema json.RawMessage   `json:"config_schema,omitempty"`
	Resources    []string          `json:"resources,omitempty"`
	RetryPolicy  *retryJSON        `json:"retry_policy,omitempty"`
}

type manifestOpIO struct {
	Name     string `json:"name"`
	Format   string `json:"format"`
	Optional bool   `json:"optional,omitempty"`
	Dynamic  bool   `json:"dynamic,omitempty"`
}

func (o *opDef) manifest() manifestOp {
	m := manifestOp{
		Name: o.name, Description: o.description, Tags: o.tags,
		ConfigSchema: o.configSchema, Resources: o.resources, RetryPolicy: o.retry.manifest(),
	}
	for i, n := range o.ins {
		m.Ins = append(m.Ins, manifestOpIO{Name: n, Format: o.inKinds[i].format().String(), Optional: o.inOptional(n)})
	}
	for i, n := range o.outs {
		m.Outs = append(m.Outs, manifestOpIO{Name: n, Format: o.outKinds[i].format().String(),
			Optional: o.outOptional(n), Dynamic: o.outDynamic(n)})
	}
	return m
}
