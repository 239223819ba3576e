package wasmorch

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// Tests for what ops share with assets: fan-out, optional inputs and outputs, config, resources,
// retries, tags, and the mapping key.

func opInvocation(name string, extra map[string]any) map[string]any {
	inv := invocation(name, extra)
	inv["kind"] = "op"
	return inv
}

// opManifest registers nothing itself: it returns the one op of r's manifest, as JSON decoded
// into a generic map, so tests see exactly the fields the host sees.
func opManifest(t *testing.T, r *registry) map[string]any {
	t.Helper()
	data, err := r.manifest()
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Ops []map[string]any `json:"ops"`
	}
	if err := json.Unmarshal(data, &m); err != nil || len(m.Ops) != 1 {
		t.Fatalf("manifest %s: %v", data, err)
	}
	return m.Ops[0]
}

func jsonEqual(t *testing.T, what string, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gotJS, _ := json.Marshal(got)
	var g any
	json.Unmarshal(gotJS, &g)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %s\nwant %s", what, gotJS, want)
	}
}

func fanOut(*Context) (chunks map[string]int, count int, err error) {
	return map[string]int{"c": 3, "a": 1, "b": 2}, 3, nil
}

func TestOpDynamicOutputWritesOneValuePerKeyInKeyOrder(t *testing.T) {
	r := newRegistry()
	r.addOp("fan_out", fanOut, []OpOption{OpOutputs("chunks", "count"), OpDynamicOutputs("chunks")})
	jsonEqual(t, "outs", opManifest(t, r)["outs"],
		`[{"name":"chunks","format":"json","dynamic":true},{"name":"count","format":"json"}]`)

	h := newFakeHost(t, opInvocation("fan_out", nil))
	h.anyOutput = true
	runOK(t, r, h, memory.DefaultAllocator)
	if want := []string{"chunks[a]", "chunks[b]", "chunks[c]", "count"}; !slices.Equal(h.opened, want) {
		t.Errorf("outputs opened %q, want %q", h.opened, want)
	}
	for name, want := range map[string]string{"chunks[a]": "1", "chunks[b]": "2", "chunks[c]": "3", "count": "3"} {
		if out := h.outputs[name]; out == nil || !out.closed || out.format != formatJSON || out.data.String() != want {
			t.Errorf("%s = %+v, want %s", name, out, want)
		}
	}
}

func TestOpDynamicArrowOutputsAreReleased(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	parts := func(ctx *Context) (map[string]arrow.Record, error) {
		return map[string]arrow.Record{
			"eu": int64Record(ctx.Allocator(), ints(1, 2)...),
			"us": int64Record(ctx.Allocator(), ints(3)...),
		}, nil
	}
	r := newRegistry()
	r.addOp("parts", parts, []OpOption{OpDynamicOutputs("result")})
	jsonEqual(t, "outs", opManifest(t, r)["outs"], `[{"name":"result","format":"arrow","dynamic":true}]`)
	h := newFakeHost(t, opInvocation("parts", nil))
	h.anyOutput = true
	runOK(t, r, h, mem)
	if !slices.Equal(h.opened, []string{"result[eu]", "result[us]"}) || h.outputs["result[eu]"].format != formatArrow {
		t.Errorf("opened %q", h.opened)
	}

	// A bad key fails before anything is written, and every record is still released.
	bad := func(ctx *Context) (map[string]arrow.Record, []byte, error) {
		return map[string]arrow.Record{
			"ok":      int64Record(ctx.Allocator(), ints(1)...),
			"not-ok!": int64Record(ctx.Allocator(), ints(2)...),
		}, []byte("x"), nil
	}
	r = newRegistry()
	r.addOp("bad", bad, []OpOption{OpOutputs("parts", "raw"), OpDynamicOutputs("parts")})
	h = newFakeHost(t, opInvocation("bad", nil))
	h.anyOutput = true
	if st := r.run(h, mem); st != runFailure {
		t.Fatalf("status %d, want failure", st)
	}
	if len(h.opened) != 0 {
		t.Errorf("outputs %q were opened before the bad key was found", h.opened)
	}
}

func TestOpDynamicOutputRefusesInvalidKeys(t *testing.T) {
	long := strings.Repeat("k", 256)
	for _, tt := range []struct{ key, shown string }{
		{"eu-1", `"eu-1"`},
		{"", `""`},
		{"a[b]", `"a[b]"`},
		{"é", `"é"`},
		{long, `"` + strings.Repeat("k", 80) + `..."`},
	} {
		r := newRegistry()
		r.addOp("fan_out", func(*Context) (map[string]string, error) {
			return map[string]string{"fine": "x", tt.key: "y"}, nil
		}, []OpOption{OpOutputs("chunks"), OpDynamicOutputs("chunks")})
		h := newFakeHost(t, opInvocation("fan_out", nil))
		h.anyOutput = true
		if st := r.run(h, memory.DefaultAllocator); st != runFailure {
			t.Errorf("key %q: status %d, want failure", tt.key, st)
		}
		want := `op "fan_out": output "chunks": invalid mapping key ` + tt.shown + `: a mapping key is 1 to 255 characters of A-Z, a-z, 0-9 and _`
		if !strings.HasPrefix(h.errorText(), want) {
			t.Errorf("key %q: error %q\nwant prefix %q", tt.key, h.errorText(), want)
		}
		if len(h.opened) != 0 {
			t.Errorf("key %q: outputs %q opened", tt.key, h.opened)
		}
	}
	// 255 characters is the longest key allowed; a named string key type works too.
	type region string
	r := newRegistry()
	r.addOp("fan_out", func(*Context) (map[region]bool, error) {
		return map[region]bool{region(strings.Repeat("k", 255)): true}, nil
	}, []OpOption{OpDynamicOutputs("result")})
	h := newFakeHost(t, opInvocation("fan_out", nil))
	h.anyOutput = true
	runOK(t, r, h, memory.DefaultAllocator)
	if len(h.opened) != 1 || h.opened[0] != "result["+strings.Repeat("k", 255)+"]" {
		t.Errorf("opened %q", h.opened)
	}
}

func TestOpDynamicOutputMayWriteNoKey(t *testing.T) {
	r := newRegistry()
	r.addOp("none", func(*Context) (map[string]int, error) { return nil, nil }, []OpOption{OpDynamicOutputs("result")})
	h := newFakeHost(t, opInvocation("none", nil))
	h.anyOutput = true
	runOK(t, r, h, memory.DefaultAllocator)
	if len(h.opened) != 0 {
		t.Errorf("opened %q", h.opened)
	}
}

func TestMappingKeyConstantsAgree(t *testing.T) {
	re := regexp.MustCompile(mappingKeyPattern)
	for _, k := range []string{"", "a", "A_9", "eu-1", "a b", "é", "[x]", strings.Repeat("z", 255), strings.Repeat("z", 256)} {
		want := re.MatchString(k) && len(k) <= 255
		if got := validMappingKey(k); got != want {
			t.Errorf("validMappingKey(%q) = %v, want %v", k, got, want)
		}
	}
	if mappedName("chunk", "eu_1") != "chunk[eu_1]" {
		t.Error(mappedName("chunk", "eu_1"))
	}
}

func TestOpOptionalOutputsAreSkippedWhenNil(t *testing.T) {
	type big struct{ N int }
	split := func(_ *Context, ns []int) (small []int, large *big, raw []byte, rec arrow.Record, err error) {
		for _, n := range ns {
			if n > 100 {
				large = &big{n}
			} else {
				small = append(small, n)
			}
		}
		return small, large, nil, nil, nil
	}
	r := newRegistry()
	r.addOp("split", split, []OpOption{OpInputs("in"), OpOutputs("small", "large", "raw", "rec"),
		OpOptionalOutputs("small", "large", "raw", "rec")})
	jsonEqual(t, "outs", opManifest(t, r)["outs"], `[
		{"name":"small","format":"json","optional":true},{"name":"large","format":"json","optional":true},
		{"name":"raw","format":"bytes","optional":true},{"name":"rec","format":"arrow","optional":true}]`)

	for _, tt := range []struct {
		in   string
		want map[string]string
	}{
		{`[1, 2]`, map[string]string{"small": "[1,2]"}},
		{`[500]`, map[string]string{"large": `{"N":500}`}},
		{`[]`, map[string]string{}},
	} {
		h := newFakeHost(t, opInvocation("split", nil))
		h.anyOutput = true
		h.addInput("in", formatJSON, []byte(tt.in))
		runOK(t, r, h, memory.DefaultAllocator)
		got := map[string]string{}
		for name, out := range h.outputs {
			got[name] = out.data.String()
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("in %s: outputs %v, want %v", tt.in, got, tt.want)
		}
	}

	// A non-optional output is written even when nil: JSON null for a slice.
	r = newRegistry()
	r.addOp("plain", func(*Context) ([]int, error) { return nil, nil }, nil)
	h := newFakeHost(t, opInvocation("plain", nil))
	h.anyOutput = true
	runOK(t, r, h, memory.DefaultAllocator)
	if out := h.outputs["result"]; out == nil || out.data.String() != "null" {
		t.Errorf("result = %+v, want null", out)
	}
}

func TestOpOptionalInputsGetZeroValuesWhenUnwired(t *testing.T) {
	type seen struct {
		Base  int
		Extra *int
		Rec   bool
	}
	fn := func(_ *Context, base int, extra *int, rec arrow.Record) (seen, error) {
		return seen{base, extra, rec != nil}, nil
	}
	r := newRegistry()
	r.addOp("join", fn, []OpOption{OpInputs("base", "extra", "rec"), OpOptionalInputs("extra", "rec")})
	jsonEqual(t, "ins", opManifest(t, r)["ins"], `[
		{"name":"base","format":"json"},{"name":"extra","format":"json","optional":true},
		{"name":"rec","format":"arrow","optional":true}]`)

	inputs := func(names ...string) []map[string]string {
		var out []map[string]string
		for _, n := range names {
			out = append(out, map[string]string{"name": n, "format": "json"})
		}
		return out
	}
	for _, tt := range []struct {
		name   string
		listed []string
		extra  bool // the host has the input extra
		want   string
	}{
		{"unwired, not listed", []string{"base"}, false, `{"Base":1,"Extra":null,"Rec":false}`},
		{"wired", []string{"base", "extra"}, true, `{"Base":1,"Extra":7,"Rec":false}`},
		// A host that lists the input but has no value for it: the optional input is missing.
		{"listed but not found", []string{"base", "extra"}, false, `{"Base":1,"Extra":null,"Rec":false}`},
	} {
		h := newFakeHost(t, opInvocation("join", map[string]any{"inputs": inputs(tt.listed...)}))
		h.anyOutput = true
		h.addInput("base", formatJSON, []byte(`1`))
		if tt.extra {
			h.addInput("extra", formatJSON, []byte(`7`))
		}
		runOK(t, r, h, memory.DefaultAllocator)
		if got := h.outputs["result"].data.String(); got != tt.want {
			t.Errorf("%s: result %s, want %s", tt.name, got, tt.want)
		}
	}

	// A required input that is missing still fails the step, naming it.
	h := newFakeHost(t, opInvocation("join", map[string]any{"inputs": inputs()}))
	h.anyOutput = true
	if st := r.run(h, memory.DefaultAllocator); st != runFailure || !strings.Contains(h.errorText(), `op "join": input "base": input_open returned ERR_NOT_FOUND`) {
		t.Errorf("status %d, error %q", st, h.errorText())
	}
}

type opConfig struct {
	Limit int    `json:"limit" default:"10"`
	Label string `json:"label"`
}

func TestOpConfigResourcesRetryAndTags(t *testing.T) {
	fn := func(ctx *Context) (map[string]any, error) {
		var c opConfig
		if err := ctx.Config(&c); err != nil {
			return nil, err
		}
		return map[string]any{"limit": c.Limit, "label": c.Label, "key": ctx.AssetKey()}, nil
	}
	r := newRegistry()
	r.addOp("load", fn, []OpOption{
		OpConfigFrom(opConfig{}),
		OpResources("warehouse", "cache"),
		OpRetry(RetryPolicy{MaxRetries: 2, Delay: 500 * time.Millisecond, Backoff: BackoffExponential}),
		OpTags(map[string]string{"team": "a", "tier": "1"}), OpTags(map[string]string{"team": "b"}),
		OpDescription("loads"),
	})
	jsonEqual(t, "op", opManifest(t, r), `{
		"name": "load", "description": "loads", "tags": {"team": "b", "tier": "1"},
		"outs": [{"name": "result", "format": "json"}],
		"config_schema": {"type": "object", "additionalProperties": false, "required": ["label"],
			"properties": {"limit": {"type": "integer", "default": 10}, "label": {"type": "string"}}},
		"resources": ["warehouse", "cache"],
		"retry_policy": {"max_retries": 2, "delay_seconds": 0.5, "backoff": "exponential"}}`)

	h := newFakeHost(t, opInvocation("load", map[string]any{"config": map[string]any{"limit": 3, "label": "x"}}))
	h.anyOutput = true
	runOK(t, r, h, memory.DefaultAllocator)
	if got := h.outputs["result"].data.String(); got != `{"key":"load","label":"x","limit":3}` {
		t.Errorf("result %s", got)
	}
	// A config error names the op, not an asset.
	h = newFakeHost(t, opInvocation("load", map[string]any{"config": map[string]any{"limit": "ten"}}))
	h.anyOutput = true
	if st := r.run(h, memory.DefaultAllocator); st != runFailure || !strings.HasPrefix(h.errorText(), `op "load": decoding config`) {
		t.Errorf("status %d, error %q", st, h.errorText())
	}

	r = newRegistry()
	r.addOp("typed", fn, []OpOption{OpConfigSchema(`{"type": "object",
		"properties": {"label": {"type": "string"}}}`)})
	jsonEqual(t, "config_schema", opManifest(t, r)["config_schema"], `{"type":"object","properties":{"label":{"type":"string"}}}`)
}

func TestOpRetryLater(t *testing.T) {
	r := newRegistry()
	r.addOp("flaky", func(ctx *Context) (string, error) {
		if ctx.Attempt() < 3 {
			return "", RetryLater(nil)
		}
		return "done", nil
	}, []OpOption{OpRetry(RetryPolicy{MaxRetries: 2})})
	h := newFakeHost(t, opInvocation("flaky", nil))
	h.anyOutput = true
	if st := r.run(h, memory.DefaultAllocator); st != runRetryLater {
		t.Errorf("attempt 1: status %d, want %d", st, runRetryLater)
	}
	h = newFakeHost(t, opInvocation("flaky", map[string]any{"attempt": 3}))
	h.anyOutput = true
	runOK(t, r, h, memory.DefaultAllocator)
}

func TestOpMappingKey(t *testing.T) {
	mapped := func(ctx *Context, n int) (map[string]any, error) {
		return map[string]any{"key": ctx.MappingKey(), "n2": 2 * n}, nil
	}
	r := newRegistry()
	r.addOp("mapped", mapped, []OpOption{OpInputs("n")})
	h := newFakeHost(t, opInvocation("mapped", map[string]any{"mapping_key": "eu_1"}))
	h.anyOutput = true
	h.addInput("n", formatJSON, []byte(`21`))
	runOK(t, r, h, memory.DefaultAllocator)
	if got := h.outputs["result"].data.String(); got != `{"key":"eu_1","n2":42}` {
		t.Errorf("result %s", got)
	}

	out, _ := mapped(NewTestContext(WithMappingKey("b")), 2)
	if out["key"] != "b" || out["n2"] != 4 {
		t.Errorf("native: %v", out)
	}
	if k := NewTestContext().MappingKey(); k != "" {
		t.Errorf("default mapping key %q", k)
	}
}

func TestOpRegistrationProblems(t *testing.T) {
	noop := func(*Context) (int, error) { return 0, nil }
	tests := []struct {
		name string
		fn   any
		opts []OpOption
		want []string
	}{
		{"dynamic output not declared", noop, []OpOption{OpDynamicOutputs("chunks")},
			[]string{`op "o": OpDynamicOutputs names "chunks", which is not a declared output (declared: result)`}},
		{"optional output not declared", noop, []OpOption{OpOptionalOutputs("x")},
			[]string{`op "o": OpOptionalOutputs names "x", which is not a declared output (declared: result)`}},
		{"optional input not declared", noop, []OpOption{OpOptionalInputs("x")},
			[]string{`op "o": OpOptionalInputs names "x", which is not a declared input (declared: none)`}},
		{"dynamic output that is no map", noop, []OpOption{OpDynamicOutputs("result")},
			[]string{`op "o": output "result" is dynamic, so its result must be a map[string]T with one entry per mapping key, got int`}},
		{"dynamic output with int keys", func(*Context) (map[int]string, error) { return nil, nil }, []OpOption{OpDynamicOutputs("result")},
			[]string{`op "o": output "result" is dynamic, so its result must be a map[string]T with one entry per mapping key, got map[int]string`}},
		{"dynamic output of an unsupported type", func(*Context) (map[string]chan int, error) { return nil, nil }, []OpOption{OpDynamicOutputs("result")},
			[]string{`op "o": output "result": type chan int cannot travel as JSON: chan int has kind chan (supported: arrow.Record, array.RecordReader, []byte, or a JSON-encodable type)`}},
		{"optional output that cannot be nil", noop, []OpOption{OpOptionalOutputs("result")},
			[]string{`op "o": output "result" is optional, but its type int cannot be nil; use a pointer, slice, map or Arrow type so that nil can mean "not written"`}},
		{"config schema not JSON", noop, []OpOption{OpConfigSchema(`{"type":`)},
			[]string{`op "o": OpConfigSchema: not valid JSON: unexpected end of JSON input`}},
		{"config schema not an object", noop, []OpOption{OpConfigSchema(`[1]`)},
			[]string{`op "o": OpConfigSchema: a config schema must be a JSON object, got [1]`}},
		{"config from a non-struct", noop, []OpOption{OpConfigFrom(3)},
			[]string{`op "o": OpConfigFrom needs a struct value, got int`}},
		{"bad resources", noop, []OpOption{OpResources("db", "", "my-db")},
			[]string{`op "o": OpResources: a resource key is empty`, `op "o": OpResources: invalid resource key "my-db": want [A-Za-z_][A-Za-z0-9_]*`}},
		{"bad retry policy", noop, []OpOption{OpRetry(RetryPolicy{MaxRetries: 101, Delay: -time.Second, Backoff: "fast", Jitter: "some"})},
			[]string{
				`op "o": OpRetry: MaxRetries 101 is out of range (0..100)`,
				`op "o": OpRetry: Delay must not be negative`,
				`op "o": OpRetry: Backoff "fast" is not "none", "linear" or "exponential"`,
				`op "o": OpRetry: Jitter "some" is not "none", "full" or "plus_minus"`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRegistry()
			r.addOp("o", tt.fn, tt.opts) // must not panic
			var got []string
			for _, err := range r.problems() {
				got = append(got, err.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n got %q\nwant %q", got, tt.want)
			}
			if len(r.ops) != 0 {
				t.Error("an op with problems was registered")
			}
			if _, err := r.manifest(); err == nil {
				t.Error("the manifest was built despite the problems")
			}
		})
	}
}

func TestCheckWithoutValueDoesNotLoadIt(t *testing.T) {
	r := newRegistry()
	r.addCheck("checked", "warns", func(*Context) (CheckResult, error) {
		return CheckResult{Passed: false, Severity: SeverityWarn}, nil
	}, nil)
	r.addCheck("checked", "bad", func(*Context, int, int) (CheckResult, error) { return CheckResult{}, nil }, nil)
	if errs := r.problems(); len(errs) != 1 || !strings.Contains(errs[0].Error(), `check "checked:bad": the function func(*wasmorch.Context, int, int)`) {
		t.Fatalf("problems %v", errs)
	}
	inv := invocation("warns", nil)
	inv["kind"] = "check"
	inv["inputs"] = []map[string]string{{"name": "asset", "asset": "checked", "format": "bytes"}}
	h := newFakeHost(t, inv)
	h.fail["input_open"] = statusErrIO // opening the value would fail the step
	runOK(t, r, h, memory.DefaultAllocator)
	if h.check == nil || *h.check != [2]int32{0, 0} {
		t.Errorf("check_result %v, want failed WARN", h.check)
	}
}
