package wasmorch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/apache/arrow/go/v15/arrow"
)

// Asset registers the function fn as the software-defined asset key. Call it from an init
// function of the guest's main package.
//
// fn must have the shape func(*Context, T1, ..., TN) (R, error), with one parameter after the
// Context for every input declared with Ins or In, in declaration order. See the package
// documentation for the types T and R may have.
//
// # Errors
//
// Asset never panics. A problem with the key, the options or the shape of fn is recorded with the
// asset's key, and wasmorch_manifest then fails: it logs every problem at ERROR level through the
// host's log function and returns 1, so the host refuses the module at load time. Manifest returns
// the same problems, so a native test can catch them first.
func Asset(key string, fn any, opts ...AssetOption) {
	defaultRegistry.queueAsset(key, fn, opts)
}

// AssetOption configures an asset registered with Asset.
type AssetOption func(*assetDef)

// Ins declares one input per upstream asset key, in order. The input's name is the last
// component of the key ("orders/raw" gives the input "raw"), so each key must end in a valid
// name; use In otherwise.
func Ins(keys ...string) AssetOption {
	return func(a *assetDef) {
		for _, k := range keys {
			a.ins = append(a.ins, inputDef{name: k[strings.LastIndexByte(k, '/')+1:], asset: k, fromIns: true})
		}
	}
}

// In declares one input named name, loaded from the asset assetKey. Inputs from Ins, In and
// InMapped options are numbered in the order the options are given, and match the function's parameters
// after the Context in that order.
func In(name, assetKey string) AssetOption {
	return func(a *assetDef) {
		a.ins = append(a.ins, inputDef{name: name, asset: assetKey})
	}
}

// Deps declares upstream assets that must materialize first but are not loaded as inputs.
func Deps(keys ...string) AssetOption {
	return func(a *assetDef) { a.deps = append(a.deps, keys...) }
}

// Group puts the asset in a group; the host's default group is "default".
func Group(name string) AssetOption {
	return func(a *assetDef) { a.group = name }
}

// Description sets the asset's human-readable description.
func Description(text string) AssetOption {
	return func(a *assetDef) { a.description = text }
}

// Tags adds string tags to the asset; a later value for the same tag wins.
func Tags(tags map[string]string) AssetOption {
	return func(a *assetDef) {
		if a.tags == nil {
			a.tags = make(map[string]string, len(tags))
		}
		for k, v := range tags {
			a.tags[k] = v
		}
	}
}

// Schema declares the Arrow schema of the asset's result, which must then travel as Arrow. The
// host checks every output against it. Only the types listed in ABI.md section 7.5 can be
// declared.
func Schema(s *arrow.Schema) AssetOption {
	return func(a *assetDef) { a.schema = s }
}

// IOManager names the IO manager that stores the asset's value; the workspace default is "fs".
func IOManager(key string) AssetOption {
	return func(a *assetDef) {
		if key == "" {
			a.problem("IOManager: the key is empty")
		}
		a.ioManager = key
	}
}

// Resources declares the resource keys the asset needs; the workspace must grant them.
func Resources(keys ...string) AssetOption {
	return func(a *assetDef) {
		a.problems = append(a.problems, resourceProblems("Resources", keys)...)
		a.resources = append(a.resources, validResources(keys)...)
	}
}

// resourceProblems checks resource keys for Resources and OpResources: the manifest's name
// rule (ABI.md section 7).
func resourceProblems(option string, keys []string) []string {
	var out []string
	for _, k := range keys {
		switch {
		case k == "":
			out = append(out, option+": a resource key is empty")
		case !nameRE.MatchString(k):
			out = append(out, fmt.Sprintf("%s: invalid resource key %q: want [A-Za-z_][A-Za-z0-9_]*", option, k))
		}
	}
	return out
}

func validResources(keys []string) []string {
	var out []string
	for _, k := range keys {
		if nameRE.MatchString(k) {
			out = append(out, k)
		}
	}
	return out
}

// CodeVersion overrides the module digest as the asset's code version, so rebuilding the module
// without changing the asset's logic does not mark it stale.
func CodeVersion(v string) AssetOption {
	return func(a *assetDef) { a.codeVersion = v }
}

// ConfigSchema declares the JSON Schema (a JSON object) of the asset's run config. The host
// validates config against it and applies its defaults before the step runs; Context.Config then
// decodes the result.
func ConfigSchema(jsonSchema string) AssetOption {
	return func(a *assetDef) {
		schema, err := compactConfigSchema("ConfigSchema", jsonSchema)
		if err != nil {
			a.problem("%v", err)
			return
		}
		a.configSchema = schema
	}
}

// OutputJSONSchema declares the JSON Schema (a JSON object) that a JSON result must satisfy; the
// host validates every result against it and fails the step, naming each problem's path, if it
// does not.
func OutputJSONSchema(jsonSchema string) AssetOption {
	return func(a *assetDef) {
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(jsonSchema)); err != nil || buf.Len() == 0 || buf.Bytes()[0] != '{' {
			a.problem("OutputJSONSchema: want a JSON Schema object, got %s", truncate(jsonSchema, 40))
			return
		}
		a.outputSchema = json.RawMessage(buf.Bytes())
	}
}

// assetDef is one registered asset: what the manifest says about it and how to call it.
type assetDef struct {
	key          string
	ins          []inputDef
	deps         []string
	group        string
	description  string
	tags         map[string]string
	schema       *arrow.Schema
	ioManager    string
	resources    []string
	codeVersion  string
	configSchema json.RawMessage
	outputSchema json.RawMessage // JSON Schema of a JSON result
	partitions   *partitionsJSON
	retry        *RetryPolicy

	fn      reflect.Value
	inKinds []valueKind // one per input, from the parameter types
	inTypes []reflect.Type
	out     valueKind

	problems []string // found while applying options and checking fn
}

type inputDef struct {
	name    string
	asset   string
	fromIns bool         // the name was derived from the key by Ins
	mapping *mappingJSON // from InMapped; nil for the host's default mapping
}

func (a *assetDef) problem(msgFormat string, args ...any) {
	a.problems = append(a.problems, fmt.Sprintf(msgFormat, args...))
}

// registrationError is one problem with one Asset call.
type registrationError struct {
	asset   string
	problem string
	kind    string // "" for an asset, "op" for an op
}

func (e *registrationError) Error() string {
	kind := e.kind
	if kind == "" {
		kind = "asset"
	}
	return fmt.Sprintf("%s %q: %s", kind, e.asset, e.problem)
}

// registry holds the assets a module defines. The guest uses defaultRegistry; tests build their
// own.
type registry struct {
	mu        sync.Mutex
	assets    []*assetDef
	byKey     map[string]*assetDef
	ops       []*opDef
	opsByName map[string]*opDef
	checks    []*checkDef
	graphs    []*graphDef
	jobs      []*jobJSON
	seen      map[string]bool // every key passed to Asset, valid or not, to report duplicates
	errs      []error
	queue     []queued // registrations not made yet; see queued
	resolved  bool     // the queue was replayed; later registrations are made at once
}

var defaultRegistry = newRegistry()

func newRegistry() *registry {
	return &registry{byKey: map[string]*assetDef{}, opsByName: map[string]*opDef{}, seen: map[string]bool{}}
}

// Patterns from ABI.md section 7, matched by hand rather than with regexp: matching was a third
// of the cost of registering assets, which a Go guest pays in every step (each step is a fresh
// instance that runs init again). TestPatternsMatchABI checks them against the regexps.
var (
	nameRE     = bytePattern{first: isNameStart, rest: isNameByte} // ^[A-Za-z_][A-Za-z0-9_]*$
	keyPartRE  = bytePattern{first: isNameByte, rest: isKeyByte}   // ^[A-Za-z0-9_][A-Za-z0-9_-]*$
	keyExample = `one or more components matching [A-Za-z0-9_][A-Za-z0-9_-]* joined by "/", such as "orders/raw"`
)

// bytePattern matches a non-empty ASCII string whose first byte satisfies first and every other
// byte rest.
type bytePattern struct{ first, rest func(byte) bool }

func (p bytePattern) MatchString(s string) bool {
	if s == "" || !p.first(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !p.rest(s[i]) {
			return false
		}
	}
	return true
}

func isNameStart(c byte) bool { return c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' }
func isNameByte(c byte) bool  { return isNameStart(c) || '0' <= c && c <= '9' }
func isKeyByte(c byte) bool   { return isNameByte(c) || c == '-' }

func validKey(k string) bool {
	for {
		part, rest, more := strings.Cut(k, "/")
		if !keyPartRE.MatchString(part) {
			return false
		}
		if !more {
			return true
		}
		k = rest
	}
}

// Deferred registration. A Go guest's init runs again in every step's fresh instance, and in a
// module of 1,000 assets checking every registration was most of a step (graph1000 in
// docs/BENCHMARKS.md). So Asset, Op, Check, Graph and Job only queue their arguments. The queue
// is replayed in call order the first time anything reads the registry (resolve), which gives
// exactly the definitions, problems and problem order that registering at once gives. A step
// that runs an asset needs that asset alone: lookup builds and checks just the queued entry with
// its key. The manifest, and op and check steps, resolve everything.
type queued struct {
	asset *queuedAsset // set for Asset, for lookup
	add   func(r *registry)
}

type queuedAsset struct {
	key  string
	fn   any
	opts []AssetOption
}

// enqueue queues a registration, or makes it at once if the registry was already read.
func (r *registry) enqueue(q queued) {
	r.mu.Lock()
	if !r.resolved {
		r.queue = append(r.queue, q)
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	q.add(r)
}

func (r *registry) queueAsset(key string, fn any, opts []AssetOption) {
	r.enqueue(queued{asset: &queuedAsset{key, fn, opts}, add: func(r *registry) { r.addAsset(key, fn, opts) }})
}

func (r *registry) queueOp(name string, fn any, opts []OpOption) {
	r.enqueue(queued{add: func(r *registry) { r.addOp(name, fn, opts) }})
}

func (r *registry) queueCheck(asset, name string, fn any, opts []CheckOption) {
	r.enqueue(queued{add: func(r *registry) { r.addCheck(asset, name, fn, opts) }})
}

// resolve makes the queued registrations, in order. The caller must not hold r.mu.
func (r *registry) resolve() {
	r.mu.Lock()
	q := r.queue
	r.queue, r.resolved = nil, true
	r.mu.Unlock()
	for _, e := range q {
		e.add(r)
	}
}

// newAssetDef applies the options and checks the definition; problems are in a.problems.
func newAssetDef(key string, fn any, opts []AssetOption) *assetDef {
	a := &assetDef{key: key}
	for _, opt := range opts {
		if opt != nil {
			opt(a)
		}
	}
	a.check(fn)
	return a
}

func (r *registry) addAsset(key string, fn any, opts []AssetOption) {
	a := newAssetDef(key, fn, opts)

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[key] {
		a.problem("the key is registered twice; asset keys must be unique within a module")
	}
	r.seen[key] = true
	if len(a.problems) > 0 {
		for _, p := range a.problems {
			r.errs = append(r.errs, &registrationError{asset: key, problem: p})
		}
		return
	}
	r.assets = append(r.assets, a)
	r.byKey[key] = a
}

// check validates the key, the options and the shape of fn, recording each problem.
func (a *assetDef) check(fn any) {
	if !validKey(a.key) {
		a.problem("invalid asset key %q: an asset key is %s", a.key, keyExample)
	}
	names := map[string]string{}
	for _, in := range a.ins {
		switch {
		case !validKey(in.asset):
			a.problem("input %q: invalid upstream asset key %q: an asset key is %s", in.name, in.asset, keyExample)
		case !nameRE.MatchString(in.name) && in.fromIns:
			a.problem("input from Ins(%q): its last component %q is not a valid input name ([A-Za-z_][A-Za-z0-9_]*); use In(name, %q)", in.asset, in.name, in.asset)
		case !nameRE.MatchString(in.name):
			a.problem("input %q: not a valid input name ([A-Za-z_][A-Za-z0-9_]*)", in.name)
		case names[in.name] != "":
			a.problem("input name %q is declared twice (assets %q and %q); use In to give one another name", in.name, names[in.name], in.asset)
		case in.asset == a.key:
			a.problem("input %q: an asset cannot take itself as an input", in.name)
		}
		names[in.name] = in.asset
	}
	for _, d := range a.deps {
		if !validKey(d) {
			a.problem("Deps: invalid asset key %q: an asset key is %s", d, keyExample)
		}
	}
	a.checkFunc(fn)
	if a.schema != nil {
		if _, err := schemaToJSON(a.schema); err != nil {
			a.problem("Schema: %v", err)
		}
		if a.fn.IsValid() && a.out.format() != formatArrow {
			a.problem("Schema is set, but the result type %s travels as %s; a schema describes Arrow results only",
				a.fn.Type().Out(0), a.out.format())
		}
	}
}

func (a *assetDef) checkFunc(fn any) {
	if fn == nil {
		a.problem("the function is nil")
		return
	}
	v := reflect.ValueOf(fn)
	t := v.Type()
	if t.Kind() != reflect.Func {
		a.problem("Asset needs a function func(*wasmorch.Context, inputs...) (R, error), got %s", t)
		return
	}
	if v.IsNil() {
		a.problem("the function is nil")
		return
	}
	if t.IsVariadic() {
		a.problem("the function %s is variadic; declare one parameter per input", t)
		return
	}
	if t.NumIn() == 0 || t.In(0) != contextType {
		a.problem("the function %s must take *wasmorch.Context as its first parameter", t)
		return
	}
	if t.NumOut() != 2 || t.Out(1) != errorType {
		a.problem("the function %s must return exactly (R, error)", t)
		return
	}
	if got, want := t.NumIn()-1, len(a.ins); got != want {
		a.problem("the function %s takes %d input%s after *wasmorch.Context, but %d input%s declared with Ins/In (%s)",
			t, got, plural(got, "", "s"), want, plural(want, " is", "s are"), a.inputNames())
		return
	}
	ok := true
	for i, in := range a.ins {
		pt := t.In(i + 1)
		k, err := classify(pt, asInput)
		if err != nil {
			a.problem("parameter %d (input %q): %v", i+2, in.name, err)
			ok = false
			continue
		}
		a.inKinds = append(a.inKinds, k)
		a.inTypes = append(a.inTypes, pt)
	}
	out, err := classify(t.Out(0), asResult)
	if err != nil {
		a.problem("result: %v", err)
		ok = false
	}
	if ok {
		a.fn, a.out = v, out
	}
}

func (a *assetDef) inputNames() string {
	if len(a.ins) == 0 {
		return "none"
	}
	names := make([]string, len(a.ins))
	for i, in := range a.ins {
		names[i] = in.name
	}
	return strings.Join(names, ", ")
}

func (r *registry) lookup(key string) (*assetDef, error) {
	r.mu.Lock()
	if a, ok := r.byKey[key]; ok {
		r.mu.Unlock()
		return a, nil
	}
	if !r.resolved {
		// The step's asset alone, without registering the others (see queued). A module with a
		// duplicate key or another problem fails its manifest, so the host never runs it.
		for _, q := range r.queue {
			if q.asset != nil && q.asset.key == key {
				r.mu.Unlock()
				a := newAssetDef(key, q.asset.fn, q.asset.opts)
				if len(a.problems) > 0 {
					return nil, &registrationError{asset: key, problem: strings.Join(a.problems, "; ")}
				}
				return a, nil
			}
		}
	}
	r.mu.Unlock()
	r.resolve()
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.byKey[key]; ok {
		return a, nil
	}
	keys := make([]string, len(r.assets))
	for i, a := range r.assets {
		keys[i] = a.key
	}
	return nil, fmt.Errorf("this module defines no asset %q (it defines: %s)", key, strings.Join(keys, ", "))
}

// problems returns the registration errors, in registration order.
func (r *registry) problems() []error {
	r.resolve()
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

var errNoAssets = errors.New("the module registers no assets or ops; call wasmorch.Asset or wasmorch.Op from an init function of the main package")
