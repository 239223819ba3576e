package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/google/uuid"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/host/internal/config"
	"github.com/wasmorch/wasmorch/host/internal/exec"
	"github.com/wasmorch/wasmorch/host/internal/manifest"
	wruntime "github.com/wasmorch/wasmorch/host/internal/runtime"
	"github.com/wasmorch/wasmorch/host/iomanager"
	"github.com/wasmorch/wasmorch/host/store"
	"github.com/wasmorch/wasmorch/internal/crashpoint"
)

// stepOutput is one value an op step stored.
type stepOutput struct {
	location, ioManager string
	format              abi.Format
}

// stepOutputOf reads a STEP_OUTPUT event (see store.EventStepOutput): the output's name
// (NAME[KEY] for a mapped value), its mapping key, and where the value is stored.
func stepOutputOf(ev store.Event) (name, mappingKey string, v stepOutput) {
	str := func(k string) string { s, _ := ev.Metadata[k].(string); return s }
	v = stepOutput{location: str("location"), ioManager: str("io_manager")}
	v.format, _ = abi.ParseFormat(str("format"))
	return str("output"), str("mapping_key"), v
}

// graphRunner holds the state of one run of a graph job.
type graphRunner struct {
	inst    *Instance
	ws      *Workspace
	plan    *opPlan
	runID   string
	configs map[string]json.RawMessage
	inputs  map[string]json.RawMessage
	log     *runLog
	iom     string

	mu sync.Mutex
	// outputs are the values each finished step stored, by step key and output name (a dynamic
	// output's values as NAME[KEY]); fanKeys are each fan-out node's mapping keys, sorted.
	outputs map[string]map[string]stepOutput
	fanKeys map[string][]string
	// done are steps a re-executed run's parent finished, whose outputs are read, not rebuilt.
	done map[string]bool
}

// graphSelectionPrefix marks the Selection of a graph job's run: "graph:" and the graph.
const graphSelectionPrefix = "graph:"

// graphParent is what a re-execution takes from its parent run: the outputs each step stored,
// the mapping keys of each fan-out, and which steps succeeded.
type graphParent struct {
	outputs     map[string]map[string]stepOutput
	fanKeys     map[string][]string
	succeeded   map[string]bool
	fromFailure bool
}

// initialSteps are the steps a run starts with: the unmapped nodes, or for a re-execution from
// failure, every step its parent did not finish, including mapped steps of a fan-out the
// parent finished (a fan-out that did not finish expands again as it runs).
func (r *graphRunner) initialSteps(parent *graphParent) []exec.Step {
	if parent == nil || !parent.fromFailure {
		var steps []exec.Step
		for _, n := range r.plan.nodes {
			if n.mappedOver == "" {
				steps = append(steps, r.step(n, ""))
			}
		}
		return steps
	}
	for step, outs := range parent.outputs {
		if parent.succeeded[step] {
			r.outputs[step] = outs
		}
	}
	for k := range parent.succeeded {
		r.done[k] = true
	}
	for node, keys := range parent.fanKeys {
		if parent.succeeded[node] {
			r.fanKeys[node] = keys
		}
	}
	var steps []exec.Step
	for _, n := range r.plan.nodes {
		switch {
		case n.mappedOver == "" && !r.done[n.key]:
			s := r.step(n, "")
			// A collect whose fan-out the parent finished waits for the mapped steps re-run here.
			for _, in := range n.ins {
				if f := r.plan.fanOutOf(in); in.collect && !in.dynamic && r.done[f] {
					for _, k := range r.fanKeys[f] {
						if m := abi.MappedName(in.from, k); !r.done[m] {
							s.Deps = append(s.Deps, m)
						}
					}
				}
			}
			steps = append(steps, s)
		case n.mappedOver != "" && r.done[n.mappedOver]:
			for _, k := range r.fanKeys[n.mappedOver] {
				if !r.done[abi.MappedName(n.key, k)] {
					steps = append(steps, r.step(n, k))
				}
			}
		}
	}
	return steps
}

// runGraph runs a graph job's ops: run config is validated and every grant checked before the
// run exists; mapped steps are added as their fan-outs finish.
func (i *Instance) runGraph(ctx context.Context, ws *Workspace, plan *opPlan, o materializeOptions) (*Result, error) {
	configs, inputs, redacted, errs := config.ValidateGraphRunConfig(o.config, plan.config, plan.inputs, os.LookupEnv)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRunConfig, config.Join(errs))
	}
	var grantErrs []error
	for _, n := range plan.nodes {
		if err := ws.resources.CheckGrants(n.key, n.op.spec.Resources); err != nil {
			grantErrs = append(grantErrs, err)
		}
	}
	if len(grantErrs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrMissingGrant, errors.Join(grantErrs...))
	}
	r := &graphRunner{inst: i, ws: ws, plan: plan, configs: configs, inputs: inputs,
		iom: pick(ws.file.IOManager, iomanager.FS), outputs: map[string]map[string]stepOutput{}, fanKeys: map[string][]string{}, done: map[string]bool{}}
	if _, ok := i.ioms[r.iom]; !ok {
		return nil, fmt.Errorf("unknown IO manager %q (available: %s)", r.iom, strings.Join(i.ioManagerKeys(), ", "))
	}
	steps := r.initialSteps(o.graphParent)
	if len(steps) == 0 {
		return nil, fmt.Errorf("run %s has no failed, skipped or unfinished steps; nothing to re-execute from failure", o.parentRunID)
	}
	static := make([]string, len(steps))
	for i, s := range steps {
		static[i] = s.Key
	}
	runID, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	run := store.Run{
		ID:          runID.String(),
		JobName:     o.jobName,
		Selection:   graphSelectionPrefix + plan.graph.ref(),
		StepKeys:    static,
		Config:      redacted,
		ParentRunID: o.parentRunID,
		RootRunID:   o.rootRunID,
		Tags:        o.tags,
		CreatedAt:   time.Now(),
	}
	if err := i.storeRun(ctx, &run, o); err != nil {
		return nil, err
	}
	if o.launch == launchCreate {
		return &Result{RunID: run.ID, Status: store.RunNotStarted}, nil
	}
	r.runID = run.ID
	r.log = newRunLog(i.store, run.ID, o.onEvent)
	r.log.minLevel = levelRank[ws.file.Logging.Level]
	if err := r.log.write(store.Event{Type: store.EventRunStart, Message: fmt.Sprintf("starting run of graph %q: %d step(s) before any fan-out", plan.graph.ref(), len(static)),
		Metadata: map[string]any{"steps": len(static), "graph": plan.graph.ref()}}); err != nil {
		r.log.close()
		return nil, fmt.Errorf("start run: %w", err)
	}
	return finishRun(ctx, r.log, run.ID, steps, i.concurrency(ws))
}

// step is the executor step of a node, for one mapping key of a mapped node.
func (r *graphRunner) step(n *planNode, mappingKey string) exec.Step {
	key := n.key
	if mappingKey != "" {
		key = abi.MappedName(n.key, mappingKey)
	}
	var deps []string
	seen := map[string]bool{}
	dep := func(k string) {
		if !seen[k] && !r.done[k] {
			seen[k] = true
			deps = append(deps, k)
		}
	}
	for _, in := range n.ins {
		switch {
		case in.graphInput != "":
		case in.collect:
			dep(r.plan.fanOutOf(in))
		case in.dynamic:
			dep(in.from)
		case r.plan.byKey[in.from].mappedOver != "":
			dep(abi.MappedName(in.from, mappingKey))
		default:
			dep(in.from)
		}
	}
	s := exec.Step{Key: key, Deps: deps, Run: func(ctx context.Context) error { return r.runOp(ctx, n, key, mappingKey) }}
	if n.hasDynamicOutput() {
		s.Expand = func() exec.Expansion { return r.expand(n.key) }
	}
	return s
}

func (n *planNode) hasDynamicOutput() bool {
	for _, o := range n.op.spec.Outs {
		if o.Dynamic {
			return true
		}
	}
	return false
}

// expand adds the steps of a fan-out that has just finished: every node mapped over it, once
// per mapping key, and to each step collecting it, a dependency on every mapped value.
func (r *graphRunner) expand(fanOut string) exec.Expansion {
	r.mu.Lock()
	keys := r.fanKeys[fanOut]
	r.mu.Unlock()
	e := exec.Expansion{Deps: map[string][]string{}}
	for _, n := range r.plan.nodes {
		if n.mappedOver == fanOut {
			for _, k := range keys {
				e.Steps = append(e.Steps, r.step(n, k))
			}
		}
		if n.mappedOver != "" {
			continue
		}
		for _, in := range n.ins {
			if in.collect && !in.dynamic && r.plan.fanOutOf(in) == fanOut {
				for _, k := range keys {
					e.Deps[n.key] = append(e.Deps[n.key], abi.MappedName(in.from, k))
				}
			}
		}
	}
	return e
}

// runOp runs one op step.
func (r *graphRunner) runOp(ctx context.Context, n *planNode, key, mappingKey string) error {
	md := map[string]any{"op": n.op.spec.Name, "module": n.op.module.Name}
	if mappingKey != "" {
		md["mapping_key"] = mappingKey
	}
	step := wruntime.Step{
		Invocation: wruntime.Invocation{
			Kind: "op", Name: n.op.spec.Name, RunID: r.runID, StepKey: key, Attempt: 1,
			Config: r.configs[n.key], MappingKey: mappingKey,
		},
		Inputs:  map[string]wruntime.Input{},
		Outputs: map[string]wruntime.Output{},
		Log: func(level int32, msg string) {
			r.log.log(store.Event{StepKey: key, Level: levelNames[level], Message: msg})
		},
		Resources:         r.ws.resources,
		DeclaredResources: n.op.spec.Resources,
	}
	// Inputs are resolved before the step starts: one whose value was never produced (an
	// optional output left unwritten, an empty fan-out) skips the step.
	for _, in := range n.ins {
		input, ok, err := r.input(n, in, mappingKey)
		if err != nil {
			r.log.write(store.Event{Type: store.EventStepFailure, StepKey: key, Error: err.Error(), Message: "step failed", Metadata: md})
			return err
		}
		if !ok {
			if decl, _ := n.op.in(in.name); decl != nil && decl.Optional {
				continue
			}
			reason := fmt.Sprintf("input %q has no value: %s", in.name, r.missing(in, mappingKey))
			r.log.write(store.Event{Type: store.EventStepSkipped, StepKey: key, Message: "skipped: " + reason, Metadata: md})
			return exec.Skip(reason)
		}
		step.Inputs[in.name] = input
		step.Invocation.Inputs = append(step.Invocation.Inputs, wruntime.InvocationValue{Name: in.name, Format: in.format.String()})
	}
	if err := r.log.write(store.Event{Type: store.EventStepStart, StepKey: key, Metadata: md,
		Message: fmt.Sprintf("started op %q (module %q)", n.op.spec.Name, n.op.module.Name)}); err != nil {
		return err
	}
	crashpoint.Hit(crashpoint.StepStarted)
	iom := r.inst.ioms[r.iom]
	for _, o := range n.op.spec.Outs {
		name, format := o.Name, formatOf(o.Format)
		store := func(ctx context.Context, outName string, v iomanager.Value) (string, error) {
			return iom.HandleOutput(ctx, iomanager.OutputContext{RunID: r.runID, StepKey: key, OutputName: outName, Format: format}, v)
		}
		step.Outputs[name] = wruntime.Output{Format: format, Optional: o.Optional, Dynamic: o.Dynamic,
			Store: func(ctx context.Context, v iomanager.Value) (string, error) { return store(ctx, name, v) },
			StoreMapped: func(ctx context.Context, k string, v iomanager.Value) (string, error) {
				return store(ctx, abi.MappedName(name, k), v)
			}}
		step.Invocation.Outputs = append(step.Invocation.Outputs, wruntime.InvocationValue{Name: name, Format: format.String()})
	}
	attempts := 1
	res, err := runWithRetries(ctx, r.log, key, fmt.Sprintf("op %q", n.op.spec.Name), n.op.spec.RetryPolicy, n.op.module, &step, &attempts)
	if err != nil {
		r.log.write(failureEvent(key, err, attempts, md))
		return err
	}
	produced := map[string]stepOutput{}
	var keys []string
	var events []store.Event
	for _, name := range sortedKeys(res.Outputs) {
		out := res.Outputs[name]
		produced[name] = stepOutput{location: out.Location, ioManager: r.iom, format: out.Format}
		omd := map[string]any{"output": name, "location": out.Location, "io_manager": r.iom, "format": out.Format.String(), "bytes": out.Bytes}
		for k, v := range out.Metadata {
			omd[k] = v
		}
		if out.MappingKey != "" {
			omd["mapping_key"] = out.MappingKey
			keys = append(keys, out.MappingKey)
		}
		if out.Format == abi.FormatArrow {
			omd["rows"] = out.Rows
			if out.Schema != nil {
				omd["schema"] = manifest.SchemaOf(out.Schema)
			}
		}
		events = append(events, store.Event{Type: store.EventStepOutput, StepKey: key, Metadata: omd, Message: fmt.Sprintf("stored output %q", name)})
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	smd := map[string]any{"duration_ms": float64(res.Duration.Microseconds()) / 1000}
	for k, v := range res.Metadata {
		smd[k] = v
	}
	msg := fmt.Sprintf("finished in %s", res.Duration.Round(time.Millisecond))
	fanOut := n.hasDynamicOutput()
	if fanOut {
		smd["mapping_keys"] = len(keys)
		msg += fmt.Sprintf("; fanned out to %d mapping key(s)", len(keys))
	}
	r.mu.Lock()
	r.outputs[key] = produced
	if fanOut {
		r.fanKeys[n.key] = keys
	}
	r.mu.Unlock()
	events = append(events, store.Event{Type: store.EventStepSuccess, StepKey: key, Message: msg, Metadata: smd})
	return r.log.write(events...)
}

// value returns what a finished step stored for an output.
func (r *graphRunner) value(step, output string) (stepOutput, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.outputs[step][output]
	return v, ok
}

// input builds how the step loads one input. ok is false when the value it reads was never
// produced.
func (r *graphRunner) input(n *planNode, in planInput, mappingKey string) (wruntime.Input, bool, error) {
	if in.graphInput != "" {
		v := r.inputs[in.graphInput]
		return wruntime.Input{Format: abi.FormatJSON, Load: func(context.Context) (iomanager.Value, error) {
			return iomanager.Value{Format: abi.FormatJSON, Data: bytes.NewReader(v)}, nil
		}}, true, nil
	}
	if in.collect {
		return r.collectInput(in)
	}
	step, output := in.from, in.output
	switch {
	case in.dynamic:
		output = abi.MappedName(in.output, mappingKey)
	case r.plan.byKey[in.from].mappedOver != "":
		step = abi.MappedName(in.from, mappingKey)
	}
	v, ok := r.value(step, output)
	if !ok {
		return wruntime.Input{}, false, nil
	}
	return wruntime.Input{Format: in.format, Load: r.loader(v, step, output)}, true, nil
}

func (r *graphRunner) loader(v stepOutput, step, output string) func(context.Context) (iomanager.Value, error) {
	return func(ctx context.Context) (iomanager.Value, error) {
		iom := r.inst.ioms[v.ioManager]
		val, err := iom.LoadInput(ctx, iomanager.InputContext{Location: v.location, Format: v.format})
		if err != nil {
			return val, fmt.Errorf("output %q of step %q: %w", output, step, err)
		}
		return val, nil
	}
}

// missing says why an input has no value.
func (r *graphRunner) missing(in planInput, mappingKey string) string {
	switch {
	case in.collect:
		return fmt.Sprintf("the fan-out of node %q produced no values to collect", r.plan.fanOutOf(in))
	case in.dynamic:
		return fmt.Sprintf("node %q wrote no value %q", in.from, abi.MappedName(in.output, mappingKey))
	case r.plan.byKey[in.from].mappedOver != "":
		return fmt.Sprintf("step %q did not write its optional output %q", abi.MappedName(in.from, mappingKey), in.output)
	}
	return fmt.Sprintf("node %q did not write its optional output %q", in.from, in.output)
}

// collectInput gathers every mapped value of a fan-out, in mapping-key order, into one input:
// Arrow tables are concatenated (their schemas must be equal), JSON values become an array.
func (r *graphRunner) collectInput(in planInput) (wruntime.Input, bool, error) {
	fanOut := r.plan.fanOutOf(in)
	r.mu.Lock()
	keys := r.fanKeys[fanOut]
	r.mu.Unlock()
	type part struct {
		key, step, output string
		v                 stepOutput
	}
	var parts []part
	for _, k := range keys {
		p := part{key: k, step: abi.MappedName(in.from, k), output: in.output}
		if in.dynamic {
			p.step, p.output = in.from, abi.MappedName(in.output, k)
		}
		if v, ok := r.value(p.step, p.output); ok {
			p.v = v
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return wruntime.Input{}, false, nil
	}
	load := func(ctx context.Context, p part) (iomanager.Value, error) {
		return r.loader(p.v, p.step, p.output)(ctx)
	}
	if in.format == abi.FormatJSON {
		return wruntime.Input{Format: abi.FormatJSON, Load: func(ctx context.Context) (iomanager.Value, error) {
			var buf bytes.Buffer
			buf.WriteByte('[')
			for i, p := range parts {
				v, err := load(ctx, p)
				if err != nil {
					return iomanager.Value{}, err
				}
				b, err := io.ReadAll(v.Data)
				v.Release()
				if err != nil {
					return iomanager.Value{}, fmt.Errorf("collect %q: %w", in.name, err)
				}
				if i > 0 {
					buf.WriteByte(',')
				}
				buf.Write(bytes.TrimSpace(b))
			}
			buf.WriteByte(']')
			return iomanager.Value{Format: abi.FormatJSON, Data: &buf}, nil
		}}, true, nil
	}
	return wruntime.Input{Format: abi.FormatArrow, Load: func(ctx context.Context) (iomanager.Value, error) {
		first, err := load(ctx, parts[0])
		if err != nil {
			return iomanager.Value{}, err
		}
		c := &concatReader{ctx: ctx, cur: first.Records, schema: first.Records.Schema(), firstKey: parts[0].key}
		for _, p := range parts[1:] {
			p := p
			c.rest = append(c.rest, p.key)
			c.loads = append(c.loads, func(ctx context.Context) (iomanager.Value, error) { return load(ctx, p) })
		}
		return iomanager.Value{Format: abi.FormatArrow, Records: c}, nil
	}}, true, nil
}

// concatReader reads several stored tables one after another as one table. Each is opened only
// when the one before is exhausted, so collecting a large fan-out holds one table open at a time.
type concatReader struct {
	ctx      context.Context
	schema   *arrow.Schema
	cur      array.RecordReader
	firstKey string
	rest     []string
	loads    []func(context.Context) (iomanager.Value, error)
	err      error
}

func (c *concatReader) Retain()               {}
func (c *concatReader) Schema() *arrow.Schema { return c.schema }
func (c *concatReader) Err() error            { return c.err }

func (c *concatReader) Record() arrow.Record {
	if c.cur == nil {
		return nil
	}
	return c.cur.Record()
}

func (c *concatReader) Release() {
	if c.cur != nil {
		c.cur.Release()
		c.cur = nil
	}
}

func (c *concatReader) Next() bool {
	for c.err == nil && c.cur != nil {
		if c.cur.Next() {
			return true
		}
		if err := c.cur.Err(); err != nil && !errors.Is(err, io.EOF) {
			c.err = err
			return false
		}
		c.cur.Release()
		c.cur = nil
		if len(c.loads) == 0 {
			return false
		}
		key := c.rest[0]
		v, err := c.loads[0](c.ctx)
		c.rest, c.loads = c.rest[1:], c.loads[1:]
		if err != nil {
			c.err = err
			return false
		}
		if !v.Records.Schema().Equal(c.schema) {
			v.Release()
			c.err = fmt.Errorf("cannot collect: the value for mapping key %q has schema %s, but the value for %q has %s",
				key, v.Records.Schema(), c.firstKey, c.schema)
			return false
		}
		c.cur = v.Records
	}
	return false
}
