package wasmorch

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
)

func split(_ *Context, ns []int) (evens, odds []int, err error) {
	evens, odds = []int{}, []int{}
	for _, n := range ns {
		if n%2 == 0 {
			evens = append(evens, n)
		} else {
			odds = append(odds, n)
		}
	}
	return evens, odds, nil
}

func TestOpWritesEveryOutputByName(t *testing.T) {
	r := newRegistry()
	r.addOp("split", split, []OpOption{OpInputs("in"), OpOutputs("evens", "odds")})
	if errs := r.problems(); len(errs) > 0 {
		t.Fatal(errs)
	}
	inv := invocation("split", nil)
	inv["kind"] = "op"
	h := newFakeHost(t, inv)
	h.anyOutput = true
	h.addInput("in", formatJSON, []byte(`[1, 2, 3, 4, 6]`))
	runOK(t, r, h, memory.DefaultAllocator)
	for name, want := range map[string]string{"evens": "[2,4,6]", "odds": "[1,3]"} {
		out := h.outputs[name]
		if out == nil || out.format != formatJSON || out.data.String() != want || !out.closed {
			t.Errorf("output %s = %+v, want %s, closed", name, out, want)
		}
	}
}

func TestOpManifestAndProblems(t *testing.T) {
	r := newRegistry()
	r.addOp("split", split, []OpOption{OpInputs("in"), OpOutputs("evens", "odds"), OpDescription("even/odd")})
	data, err := r.manifest()
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Ops []manifestOp `json:"ops"`
	}
	json.Unmarshal(data, &m)
	if len(m.Ops) != 1 || m.Ops[0].Name != "split" || len(m.Ops[0].Outs) != 2 || m.Ops[0].Outs[1].Name != "odds" || m.Ops[0].Ins[0].Format != "json" {
		t.Fatalf("manifest ops = %s", data)
	}

	bad := newRegistry()
	bad.addOp("split", split, []OpOption{OpInputs("in"), OpOutputs("evens")})
	bad.addOp("1bad", func(*Context) (int, error) { return 0, nil }, nil)
	_, err = bad.manifest()
	for _, want := range []string{
		`op "split": the function func(*wasmorch.Context, []int) ([]int, []int, error) must return one value per output (evens) and then an error`,
		`op "1bad": invalid op name "1bad"`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}

	inv := invocation("nope", nil)
	inv["kind"] = "op"
	h := newFakeHost(t, inv)
	if st := r.run(h, memory.DefaultAllocator); st != runFailure || !strings.Contains(h.errorText(), `no op "nope" (it defines: split)`) {
		t.Errorf("unknown op: status %d, error %q", st, h.errorText())
	}
}

func TestRetryLaterAndPolicy(t *testing.T) {
	r := newRegistry()
	r.addAsset("busy", func(*Context) (int, error) { return 0, RetryLater(errors.New("busy")) },
		[]AssetOption{Retry(RetryPolicy{MaxRetries: 2, Delay: 1500 * time.Millisecond, Backoff: BackoffLinear})})
	data, err := r.manifest()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"retry_policy":{"max_retries":2,"delay_seconds":1.5,"backoff":"linear"}`) {
		t.Errorf("manifest = %s", data)
	}
	h := newFakeHost(t, invocation("busy", nil))
	if st := r.run(h, memory.DefaultAllocator); st != runRetryLater || h.errorText() != "busy" {
		t.Errorf("status %d, error %q; want %d and the message", st, h.errorText(), runRetryLater)
	}
	bad := newRegistry()
	bad.addAsset("x", func(*Context) (int, error) { return 0, nil }, []AssetOption{Retry(RetryPolicy{MaxRetries: -1})})
	if _, err := bad.manifest(); err == nil || !strings.Contains(err.Error(), "MaxRetries -1 is out of range") {
		t.Errorf("err = %v", err)
	}
}

func TestCheckRunsAndReports(t *testing.T) {
	r := newRegistry()
	r.addCheck("orders", "non_negative", func(_ *Context, amounts []float64) (CheckResult, error) {
		bad := 0
		for _, a := range amounts {
			if a < 0 {
				bad++
			}
		}
		return CheckResult{Passed: bad == 0, Severity: SeverityWarn, Metadata: map[string]any{"negative_rows": bad}}, nil
	}, []CheckOption{Blocking(), CheckDescription("amounts are never negative")})
	data, err := r.manifest()
	if err != nil || !strings.Contains(string(data), `"checks":[{"name":"non_negative","asset":"orders","description":"amounts are never negative","blocking":true}]`) {
		t.Fatalf("manifest %s, %v", data, err)
	}
	inv := invocation("non_negative", nil)
	inv["kind"] = "check"
	inv["inputs"] = []map[string]string{{"name": "asset", "asset": "orders", "format": "json"}}
	h := newFakeHost(t, inv)
	h.addInput("asset", formatJSON, []byte(`[1, -2, 3, -4]`))
	runOK(t, r, h, memory.DefaultAllocator)
	if h.check == nil || *h.check != [2]int32{0, 0} {
		t.Errorf("check_result = %v, want failed WARN", h.check)
	}
	if len(h.metadata) != 1 || h.metadata[0] != `{"negative_rows":2}` {
		t.Errorf("metadata = %v", h.metadata)
	}

	bad := newRegistry()
	bad.addCheck("orders", "bad", func(*Context) (bool, error) { return true, nil }, nil)
	if _, err := bad.manifest(); err == nil || !strings.Contains(err.Error(), `check "orders:bad": the function`) {
		t.Errorf("bad shape: %v", err)
	}
}

func TestTypedMetadataConstructors(t *testing.T) {
	got, _ := json.Marshal(map[string]any{
		"m": Markdown("# x"), "u": URL("https://e.com"), "t": MetadataTable([]string{"a"}, [][]any{{1}}),
	})
	want := `{"m":{"type":"markdown","value":"# x"},"t":{"type":"table","value":{"columns":["a"],"rows":[[1]]}},"u":{"type":"url","value":"https://e.com"}}`
	if string(got) != want {
		t.Errorf("%s\nwant %s", got, want)
	}
}

func TestResourceInATestContext(t *testing.T) {
	ctx := NewTestContext(WithResource("landing", func(req []byte) ([]byte, error) {
		return []byte(`{"echo":` + string(req) + `}`), nil
	}))
	resp, err := ctx.Resource("landing", map[string]string{"op": "read"})
	if err != nil || string(resp) != `{"echo":{"op":"read"}}` {
		t.Fatalf("resp %s, err %v", resp, err)
	}
	if _, err := ctx.Resource("other", nil); err == nil || !strings.Contains(err.Error(), "use WithResource") {
		t.Errorf("unknown resource: %v", err)
	}
}
