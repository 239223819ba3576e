package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/host/iomanager"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// TestHostFunctionsMatchABI fails when the host implements a function the ABI does not define,
// or the reverse, so abi.Imports stays the one list.
func TestHostFunctionsMatchABI(t *testing.T) {
	var impl, spec []string
	for name := range hostFuncs {
		impl = append(impl, name)
	}
	for _, f := range abi.Imports {
		spec = append(spec, f.Name)
	}
	sort.Strings(impl)
	sort.Strings(spec)
	if strings.Join(impl, ",") != strings.Join(spec, ",") {
		t.Fatalf("host implements %v\nABI defines %v", impl, spec)
	}
}

// TestGuestImportsAreABIFunctions: the SDK-built guests import only functions of abi.Imports,
// with the ABI's signatures (a drift between the Go SDK and abi/ fails here as a load error).
func TestGuestImportsAreABIFunctions(t *testing.T) {
	ctx := context.Background()
	rt, err := New(ctx, Config{CacheDir: guesttest.CacheDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	for _, rel := range []string{"orders/go/orders.wasm", "guests/go/faults/faults.wasm"} {
		m, err := rt.LoadFile(ctx, "m", guesttest.Path(t, rel))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		for _, def := range m.compiled.ImportedFunctions() {
			mod, name, _ := def.Import()
			if mod != abi.ImportModule {
				continue
			}
			if _, ok := abi.Import(name); !ok {
				t.Errorf("%s imports %s.%s, which abi.Imports lacks", rel, mod, name)
			}
		}
	}
}

func TestLoadRefusesOversizedModule(t *testing.T) {
	ctx := context.Background()
	rt, err := New(ctx, Config{MaxModuleBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	_, err = rt.Load(ctx, "big", make([]byte, 2048))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), `module "big"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigRejectsImpossibleMemoryLimit(t *testing.T) {
	if _, err := New(context.Background(), Config{MemoryLimitBytes: 8 << 30}); err == nil {
		t.Fatal("accepted an 8 GiB memory limit for wasm32")
	}
}

func TestTruncateKeepsUTF8(t *testing.T) {
	s := strings.Repeat("é", 100)
	got := truncate(s, 50)
	if len(got) > 50 || !strings.HasSuffix(got, "[truncated]") || !json.Valid([]byte(`"`+got+`"`)) {
		t.Fatalf("truncate = %q", got)
	}
}

// trivialStep runs the faults guest's `trivial` asset, storing its output in memory.
func trivialStep(mem *iomanager.InMemory, runID string) Step {
	return Step{
		Invocation: Invocation{Kind: "asset", Name: "trivial", RunID: runID, StepKey: "trivial", Attempt: 1,
			Outputs: []InvocationValue{{Name: abi.OutputResult, Format: "json"}}},
		Outputs: map[string]Output{abi.OutputResult: {Format: abi.FormatJSON, Store: func(ctx context.Context, v iomanager.Value) (string, error) {
			return mem.HandleOutput(ctx, iomanager.OutputContext{AssetKey: "trivial", RunID: runID, Format: abi.FormatJSON}, v)
		}}},
	}
}

func TestRunTrivialStep(t *testing.T) {
	ctx := context.Background()
	rt, err := New(ctx, Config{CacheDir: guesttest.CacheDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	m, err := rt.LoadFile(ctx, "faults", guesttest.Path(t, "guests/go/faults/faults.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	mem := iomanager.NewInMemory()
	res, err := m.Run(ctx, trivialStep(mem, "r1"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := mem.LoadInput(ctx, iomanager.InputContext{AssetKey: "trivial", Location: res.Outputs[abi.OutputResult].Location, Format: abi.FormatJSON})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := iomanager.ReadAllBytes(v)
	if string(bytes.TrimSpace(b)) != "1" {
		t.Fatalf("trivial wrote %q", b)
	}
	// A step asking for an output it does not declare is told so.
	step := trivialStep(mem, "r2")
	step.Outputs = map[string]Output{}
	_, err = m.Run(ctx, step)
	if err == nil || !strings.Contains(err.Error(), `has no output "result"`) {
		t.Fatalf("undeclared output: %v", err)
	}
}

func TestCompareSchemas(t *testing.T) {
	f := func(name string, typ arrow.DataType) arrow.Field {
		return arrow.Field{Name: name, Type: typ, Nullable: true}
	}
	declared := arrow.NewSchema([]arrow.Field{f("id", arrow.PrimitiveTypes.Int64), f("ts", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"})}, nil)
	for name, c := range map[string]struct {
		actual *arrow.Schema
		want   string
	}{
		"equal":   {declared, ""},
		"type":    {arrow.NewSchema([]arrow.Field{f("id", arrow.PrimitiveTypes.Int32), f("ts", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"})}, nil), `column "id": declared int64, got int32`},
		"tz":      {arrow.NewSchema([]arrow.Field{f("id", arrow.PrimitiveTypes.Int64), f("ts", &arrow.TimestampType{Unit: arrow.Microsecond})}, nil), `column "ts": declared timestamp[us, tz=UTC], got timestamp[us]`},
		"missing": {arrow.NewSchema([]arrow.Field{f("id", arrow.PrimitiveTypes.Int64)}, nil), `column "ts" (declared timestamp[us, tz=UTC]) is missing`},
		"extra":   {arrow.NewSchema(append(declared.Fields(), f("x", arrow.BinaryTypes.String)), nil), `column "x" (utf8) is not in the declared schema`},
		"reorder": {arrow.NewSchema([]arrow.Field{declared.Field(1), declared.Field(0)}, nil), `columns are in a different order: declared ["id" "ts"], got ["ts" "id"]`},
	} {
		got := strings.Join(compareSchemas(declared, c.actual), "; ")
		if got != c.want {
			t.Errorf("%s: %q, want %q", name, got, c.want)
		}
	}
}

func TestTypedMetadataValues(t *testing.T) {
	for _, c := range []struct {
		json, want string
	}{
		{`3`, ""}, {`{"a": 1}`, ""}, {`{"type": "weird"}`, ""}, // plain JSON
		{`{"type": "markdown", "value": "# hi"}`, ""},
		{`{"type": "url", "value": "https://example.com/x"}`, ""},
		{`{"type": "table", "value": {"columns": ["a", "b"], "rows": [[1, 2], [3, 4]]}}`, ""},
		{`{"type": "int", "value": 3}`, ""},
		{`{"type": "url", "value": "not a url"}`, "is not an absolute http, https or s3 URL"},
		{`{"type": "int", "value": 3.5}`, "must be an integer"},
		{`{"type": "markdown", "value": 1}`, "must be a string"},
		{`{"type": "table", "value": {"columns": ["a"], "rows": [[1, 2]]}}`, "table row 0 must be an array of 1 cells"},
		{`{"type": "chart", "value": {}}`, `unknown metadata type "chart"`},
	} {
		var v any
		json.Unmarshal([]byte(c.json), &v)
		err := checkTypedValue(v)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: err = %v, want %q", c.json, err, c.want)
		}
	}
}
