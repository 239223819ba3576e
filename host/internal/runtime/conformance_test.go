package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/host/internal/config"
	"github.com/wasmorch/wasmorch/host/internal/manifest"
	"github.com/wasmorch/wasmorch/host/internal/resources"
	"github.com/wasmorch/wasmorch/host/iomanager"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// sdks lists every guest SDK's conformance module (testdata/conformance/CASES.md). Adding an SDK
// is one row here.
var sdks = []struct{ name, module string }{
	{"go", "conformance/go/conformance.wasm"},
	{"rust", "conformance/rust/conformance.wasm"},
	{"c", "conformance/c/conformance.wasm"},
}

// conformanceMemoryLimit is below the size of the large table that must stream through echo.
const conformanceMemoryLimit = 32 << 20

// caseRun is what a conformance case observed: the step's result or error, its logs, and each
// output's batches (or, for the large table, nothing: it is checked while streaming).
type caseRun struct {
	res     *StepResult
	err     error
	logs    [][2]string
	outputs map[string][]arrow.Record
	schemas map[string]*arrow.Schema
	data    map[string][]byte // json and bytes outputs; a dynamic output's values as NAME[KEY]
	loaded  map[string]int    // how often the guest opened each input
}

type conformanceCase struct {
	name, kind, target string
	config             string
	// configDefaults prepares config with the module's own declared config_schema first, as the
	// host does before a run: defaults applied, then validated.
	configDefaults bool
	partition      string
	attempt        int // 1 when 0
	mappingKey     string
	inputs         map[string]func() []arrow.Record // arrow inputs as batches
	inputSchemas   map[string]*arrow.Schema
	rawInputs      map[string]rawInput // json and bytes inputs
	// outputs are the step's declared outputs; nil means one bytes output "result", and an
	// empty map none (a check step).
	outputs map[string]abi.Format
	dynamic map[string]bool // outputs declared dynamic: true
	// resources, when set, gives the step its registry and declared keys; it may set
	// environment variables with t.Setenv.
	resources func(t *testing.T) (*resources.Registry, []string)
	check     func(t *testing.T, r *caseRun)
}

// rawInput is a json or bytes input value; asset is the upstream asset the invocation names.
type rawInput struct {
	format abi.Format
	data   string
	asset  string
}

func TestConformance(t *testing.T) {
	ctx := context.Background()
	rt, err := New(ctx, Config{CacheDir: guesttest.CacheDir(t), MemoryLimitBytes: conformanceMemoryLimit})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	for _, sdk := range sdks {
		t.Run(sdk.name, func(t *testing.T) {
			m, err := rt.LoadFile(ctx, "conformance-"+sdk.name, guesttest.Path(t, sdk.module))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range conformanceCases() {
				t.Run(c.name, func(t *testing.T) { c.check(t, runCase(t, m, c)) })
			}
			for _, c := range manifestCases() {
				t.Run("manifest_"+c.name, func(t *testing.T) { c.check(t, m.Manifest) })
			}
			t.Run("echo_large_table_through_small_memory", func(t *testing.T) { checkLargeEcho(t, m) })
		})
	}
}

func runCase(t *testing.T, m *Module, c conformanceCase) *caseRun {
	t.Helper()
	r := &caseRun{outputs: map[string][]arrow.Record{}, schemas: map[string]*arrow.Schema{}, data: map[string][]byte{}, loaded: map[string]int{}}
	t.Cleanup(func() {
		for _, recs := range r.outputs {
			for _, rec := range recs {
				rec.Release()
			}
		}
	})
	kind := c.kind
	if kind == "" {
		kind = "asset"
	}
	target := c.target
	if target == "" {
		target = c.name
	}
	attempt := c.attempt
	if attempt == 0 {
		attempt = 1
	}
	step := Step{
		Invocation: Invocation{Kind: kind, Name: target, RunID: "conformance-run", StepKey: target, Attempt: attempt,
			PartitionKey: c.partition, MappingKey: c.mappingKey},
		Inputs:  map[string]Input{},
		Outputs: map[string]Output{},
		Log: func(level int32, msg string) {
			r.logs = append(r.logs, [2]string{map[int32]string{0: "DEBUG", 1: "INFO", 2: "WARNING", 3: "ERROR"}[level], msg})
		},
	}
	if c.mappingKey != "" {
		step.Invocation.StepKey = target + "[" + c.mappingKey + "]"
	}
	if c.config != "" {
		step.Invocation.Config = json.RawMessage(c.config)
	}
	if c.configDefaults {
		step.Invocation.Config = prepareConfig(t, m, target, c.config)
	}
	if c.resources != nil {
		step.Resources, step.DeclaredResources = c.resources(t)
	}
	for name, batches := range c.inputs {
		name, schema, batches := name, c.inputSchemas[name], batches
		step.Invocation.Inputs = append(step.Invocation.Inputs, InvocationValue{Name: name, Format: "arrow"})
		step.Inputs[name] = Input{Format: abi.FormatArrow, Load: func(context.Context) (iomanager.Value, error) {
			r.loaded[name]++
			rr, err := array.NewRecordReader(schema, batches())
			return iomanager.Value{Format: abi.FormatArrow, Records: rr}, err
		}}
	}
	for name, in := range c.rawInputs {
		name, in := name, in
		step.Invocation.Inputs = append(step.Invocation.Inputs, InvocationValue{Name: name, Format: in.format.String(), Asset: in.asset})
		step.Inputs[name] = Input{Format: in.format, Asset: in.asset, Load: func(context.Context) (iomanager.Value, error) {
			r.loaded[name]++
			return iomanager.Value{Format: in.format, Data: io.NopCloser(strings.NewReader(in.data))}, nil
		}}
	}
	outputs := c.outputs
	if outputs == nil {
		outputs = map[string]abi.Format{abi.OutputResult: abi.FormatBytes}
	}
	for name, f := range outputs {
		name, f := name, f
		store := func(name string, v iomanager.Value) (string, error) {
			if f != abi.FormatArrow {
				b, err := io.ReadAll(v.Data)
				r.data[name] = b
				return "mem://" + name, err
			}
			r.schemas[name] = v.Records.Schema()
			for v.Records.Next() {
				rec := v.Records.Record()
				rec.Retain()
				r.outputs[name] = append(r.outputs[name], rec)
			}
			if err := v.Records.Err(); err != nil && !errors.Is(err, io.EOF) {
				return "", err
			}
			return "mem://" + name, nil
		}
		step.Invocation.Outputs = append(step.Invocation.Outputs, InvocationValue{Name: name, Format: f.String()})
		out := Output{Format: f}
		if c.dynamic[name] {
			out.Dynamic = true
			out.StoreMapped = func(_ context.Context, key string, v iomanager.Value) (string, error) {
				return store(abi.MappedName(name, key), v)
			}
		} else {
			out.Store = func(_ context.Context, v iomanager.Value) (string, error) { return store(name, v) }
		}
		step.Outputs[name] = out
	}
	r.res, r.err = m.Run(context.Background(), step)
	return r
}

// prepareConfig applies the defaults of the config_schema the module declares for the asset
// target to config and validates it, as the host does before a run.
func prepareConfig(t *testing.T, m *Module, target, cfg string) json.RawMessage {
	t.Helper()
	a, ok := m.Manifest.AssetByKey(target)
	if !ok {
		t.Fatalf("the manifest has no asset %q", target)
	}
	schema, err := config.Compile(a.ConfigSchema)
	if err != nil {
		t.Fatalf("asset %q: config_schema %s does not compile: %v", target, a.ConfigSchema, err)
	}
	var v any
	if err := json.Unmarshal([]byte(cfg), &v); err != nil {
		t.Fatal(err)
	}
	resolved, _, errs := config.Prepare(schema, v, func(string) (string, bool) { return "", false })
	if len(errs) > 0 {
		t.Fatalf("config %s against the declared schema: %v", cfg, config.Join(errs))
	}
	js, err := json.Marshal(resolved)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// stepError returns the step's *StepError, failing the test if the step did not fail with one.
func (r *caseRun) stepError(t *testing.T) *StepError {
	t.Helper()
	var se *StepError
	if !errors.As(r.err, &se) {
		t.Fatalf("err = %v (%T), want a *StepError", r.err, r.err)
	}
	return se
}

// jsonOutput decodes the json output name.
func (r *caseRun) jsonOutput(t *testing.T, name string) any {
	t.Helper()
	b, ok := r.data[name]
	if !ok {
		t.Fatalf("no output %q was stored (stored: %v)", name, slices.Sorted(maps.Keys(r.data)))
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("output %q: %v: %s", name, err, b)
	}
	return v
}

func (r *caseRun) mustSucceed(t *testing.T) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("step failed: %v", r.err)
	}
}

// ---- data ----

func typesSchema() *arrow.Schema {
	f := func(name string, t arrow.DataType) arrow.Field {
		return arrow.Field{Name: name, Type: t, Nullable: true}
	}
	return arrow.NewSchema([]arrow.Field{
		f("i8", arrow.PrimitiveTypes.Int8), f("i16", arrow.PrimitiveTypes.Int16), f("i32", arrow.PrimitiveTypes.Int32), f("i64", arrow.PrimitiveTypes.Int64),
		f("u8", arrow.PrimitiveTypes.Uint8), f("u16", arrow.PrimitiveTypes.Uint16), f("u32", arrow.PrimitiveTypes.Uint32), f("u64", arrow.PrimitiveTypes.Uint64),
		f("f32", arrow.PrimitiveTypes.Float32), f("f64", arrow.PrimitiveTypes.Float64),
		f("b", arrow.FixedWidthTypes.Boolean), f("s", arrow.BinaryTypes.String), f("bin", arrow.BinaryTypes.Binary),
		f("d", arrow.FixedWidthTypes.Date32),
		f("ts", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}),
		f("ts_ns", &arrow.TimestampType{Unit: arrow.Nanosecond}),
	}, nil)
}

// typesBatch builds rows of the types table: 0 minimums, 1 maximums, 2 ordinary, 3 all null,
// 4 every other column null; rows beyond 4 repeat the pattern with the row number mixed in.
func typesBatch(rows int, seed int) arrow.Record {
	b := array.NewRecordBuilder(memory.DefaultAllocator, typesSchema())
	defer b.Release()
	for r := 0; r < rows; r++ {
		kind := (r + seed) % 5
		for c := range typesSchema().Fields() {
			fb := b.Field(c)
			if kind == 3 || (kind == 4 && c%2 == 0) {
				fb.AppendNull()
				continue
			}
			v := int64(r + seed + 2)
			switch x := fb.(type) {
			case *array.Int8Builder:
				x.Append(pick3(kind, math.MinInt8, math.MaxInt8, int8(v)))
			case *array.Int16Builder:
				x.Append(pick3(kind, math.MinInt16, math.MaxInt16, int16(-v*300)))
			case *array.Int32Builder:
				x.Append(pick3(kind, math.MinInt32, math.MaxInt32, int32(v*70000)))
			case *array.Int64Builder:
				x.Append(pick3(kind, math.MinInt64, math.MaxInt64, -v*5_000_000_000))
			case *array.Uint8Builder:
				x.Append(pick3(kind, 0, math.MaxUint8, uint8(v)))
			case *array.Uint16Builder:
				x.Append(pick3(kind, 0, math.MaxUint16, uint16(v*300)))
			case *array.Uint32Builder:
				x.Append(pick3(kind, 0, math.MaxUint32, uint32(v*70000)))
			case *array.Uint64Builder:
				x.Append(pick3(kind, 0, math.MaxUint64, uint64(v)*5_000_000_000))
			case *array.Float32Builder:
				x.Append(pick3(kind, -math.MaxFloat32, math.MaxFloat32, float32(v)+0.25))
			case *array.Float64Builder:
				x.Append(pick3(kind, -math.MaxFloat64, math.MaxFloat64, float64(v)/3))
			case *array.BooleanBuilder:
				x.Append(pick3(kind, false, true, v%2 == 0))
			case *array.StringBuilder:
				x.Append(pick3(kind, "", "naïve café ✓ 日本", fmt.Sprintf("row %d", v)))
			case *array.BinaryBuilder:
				x.Append(pick3(kind, []byte{}, []byte{0xff, 0x00, 0x01}, []byte(fmt.Sprintf("b%d", v))))
			case *array.Date32Builder:
				x.Append(pick3(kind, arrow.Date32(0), arrow.Date32(2932896), arrow.Date32(20000+v)))
			case *array.TimestampBuilder:
				x.Append(pick3(kind, arrow.Timestamp(0), arrow.Timestamp(math.MaxInt64), arrow.Timestamp(1_700_000_000_000_000+v)))
			default:
				panic(fmt.Sprintf("no value for %T", fb))
			}
		}
	}
	return b.NewRecord()
}

func pick3[T any](kind int, min, max, ordinary T) T {
	switch kind {
	case 0:
		return min
	case 1:
		return max
	}
	return ordinary
}

func int64Batch(schema *arrow.Schema, cols ...[]*int64) arrow.Record {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for c, vals := range cols {
		for _, v := range vals {
			if v == nil {
				b.Field(c).AppendNull()
			} else {
				b.Field(c).(*array.Int64Builder).Append(*v)
			}
		}
	}
	return b.NewRecord()
}

func ip(v int64) *int64 { return &v }

var (
	leftSchema  = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, {Name: "name", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	rightSchema = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, {Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil)
	nSchema     = arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
)

func buildRecord(schema *arrow.Schema, fill func(b *array.RecordBuilder)) arrow.Record {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	fill(b)
	return b.NewRecord()
}

// ---- cases ----

func echoCase(name string, batches func() []arrow.Record) conformanceCase {
	return conformanceCase{
		name: name, target: "echo",
		inputs:       map[string]func() []arrow.Record{"in": batches},
		inputSchemas: map[string]*arrow.Schema{"in": typesSchema()},
		outputs:      map[string]abi.Format{abi.OutputResult: abi.FormatArrow},
		check: func(t *testing.T, r *caseRun) {
			r.mustSucceed(t)
			want := batches()
			if !r.schemas[abi.OutputResult].Equal(typesSchema()) {
				t.Fatalf("schema:\n got %s\nwant %s", r.schemas[abi.OutputResult], typesSchema())
			}
			got := r.outputs[abi.OutputResult]
			if len(got) != len(want) {
				t.Fatalf("%d batches, want %d", len(got), len(want))
			}
			for i := range want {
				if !array.RecordEqual(got[i], want[i]) {
					t.Errorf("batch %d differs:\n got %v\nwant %v", i, got[i], want[i])
				}
			}
		},
	}
}

func conformanceCases() []conformanceCase {
	return append([]conformanceCase{
		echoCase("echo_every_type_with_nulls", func() []arrow.Record { return []arrow.Record{typesBatch(5, 0)} }),
		echoCase("echo_empty_table", func() []arrow.Record { return nil }),
		echoCase("echo_multi_batch", func() []arrow.Record {
			return []arrow.Record{typesBatch(3, 1), typesBatch(0, 0), typesBatch(4, 2)}
		}),
		{
			name: "join_two_inputs", target: "join",
			inputs: map[string]func() []arrow.Record{
				"left": func() []arrow.Record {
					return []arrow.Record{buildRecord(leftSchema, func(b *array.RecordBuilder) {
						b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3, 0, 5}, []bool{true, true, true, false, true})
						b.Field(1).(*array.StringBuilder).AppendValues([]string{"a", "", "c", "d", "e"}, []bool{true, false, true, true, true})
					})}
				},
				"right": func() []arrow.Record {
					return []arrow.Record{buildRecord(rightSchema, func(b *array.RecordBuilder) {
						b.Field(0).(*array.Int64Builder).AppendValues([]int64{3, 1, 1, 9, 0, 2}, []bool{true, true, true, true, false, true})
						b.Field(1).(*array.Float64Builder).AppendValues([]float64{30.5, 10, 11, 90, 1, 0}, []bool{true, true, true, true, true, false})
					})}
				},
			},
			inputSchemas: map[string]*arrow.Schema{"left": leftSchema, "right": rightSchema},
			outputs:      map[string]abi.Format{abi.OutputResult: abi.FormatArrow},
			check: func(t *testing.T, r *caseRun) {
				r.mustSucceed(t)
				got := rowsOf(t, r.outputs[abi.OutputResult])
				want := [][]any{{int64(1), "a", 10.0}, {int64(1), "a", 11.0}, {int64(2), nil, nil}, {int64(3), "c", 30.5}}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("join rows = %v, want %v", got, want)
				}
				names := []string{}
				for _, f := range r.schemas[abi.OutputResult].Fields() {
					names = append(names, f.Name+":"+f.Type.String())
				}
				if strings.Join(names, ",") != "id:int64,name:utf8,amount:float64" {
					t.Errorf("join schema %v", names)
				}
			},
		},
		{
			name: "split_multiple_outputs", kind: "op", target: "split",
			inputs: map[string]func() []arrow.Record{"in": func() []arrow.Record {
				return []arrow.Record{int64Batch(nSchema, []*int64{ip(1), ip(2), nil, ip(4), ip(7), ip(8)})}
			}},
			inputSchemas: map[string]*arrow.Schema{"in": nSchema},
			outputs:      map[string]abi.Format{"evens": abi.FormatArrow, "odds": abi.FormatArrow},
			check: func(t *testing.T, r *caseRun) {
				r.mustSucceed(t)
				for name, want := range map[string][][]any{"evens": {{int64(2)}, {int64(4)}, {int64(8)}}, "odds": {{int64(1)}, {int64(7)}}} {
					if got := rowsOf(t, r.outputs[name]); !reflect.DeepEqual(got, want) {
						t.Errorf("%s = %v, want %v", name, got, want)
					}
				}
			},
		},
		{
			name: "config_read", target: "config", config: `{"name": "world", "n": 21}`,
			outputs: map[string]abi.Format{abi.OutputResult: abi.FormatJSON},
			check: func(t *testing.T, r *caseRun) {
				r.mustSucceed(t)
				var got map[string]any
				if err := json.Unmarshal(r.data[abi.OutputResult], &got); err != nil {
					t.Fatalf("%v: %s", err, r.data[abi.OutputResult])
				}
				if want := map[string]any{"greeting": "hello world", "n_times_2": 42.0}; !reflect.DeepEqual(got, want) {
					t.Errorf("config output %v, want %v", got, want)
				}
			},
		},
		{
			name: "config_missing_field_fails", target: "config", config: `{"n": 1}`,
			outputs: map[string]abi.Format{abi.OutputResult: abi.FormatJSON},
			check: func(t *testing.T, r *caseRun) {
				var se *StepError
				if !errors.As(r.err, &se) || se.Kind != FailureGuest || !strings.Contains(se.Message, "name") {
					t.Errorf("err = %v, want a guest error naming the missing field", r.err)
				}
			},
		},
		{
			name: "partition_key_read", target: "partition", partition: "2026-01-15|us",
			check: func(t *testing.T, r *caseRun) {
				r.mustSucceed(t)
				if got := string(r.data[abi.OutputResult]); got != "2026-01-15|us" {
					t.Errorf("partition output %q", got)
				}
			},
		},
		{
			name: "log_at_each_level", target: "logs",
			check: func(t *testing.T, r *caseRun) {
				r.mustSucceed(t)
				var got [][2]string
				for _, l := range r.logs {
					if strings.HasPrefix(l[1], "conformance ") {
						got = append(got, l)
					}
				}
				want := [][2]string{{"DEBUG", "conformance debug"}, {"INFO", "conformance info"}, {"WARNING", "conformance warning"}, {"ERROR", "conformance error"}}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("logs = %v, want %v", got, want)
				}
			},
		},
		{
			name: "metadata_attached", target: "metadata",
			check: func(t *testing.T, r *caseRun) {
				r.mustSucceed(t)
				md := map[string]any{}
				for k, v := range r.res.Metadata {
					md[k] = v
				}
				for k, v := range r.res.Outputs[abi.OutputResult].Metadata {
					md[k] = v
				}
				if md["answer"] != 42.0 || md["label"] != "conformance" {
					t.Errorf("metadata = %v", md)
				}
			},
		},
		{
			name: "error_returned", target: "error",
			check: func(t *testing.T, r *caseRun) {
				var se *StepError
				if !errors.As(r.err, &se) || se.Kind != FailureGuest || se.Message != "conformance: deliberate error" {
					t.Errorf("err = %#v, want the guest's message exactly", r.err)
				}
			},
		},
		{
			name: "panic_fails_the_step", target: "panic",
			check: func(t *testing.T, r *caseRun) {
				if r.err == nil || !strings.Contains(r.err.Error(), "conformance: deliberate panic") {
					t.Errorf("err = %v, want a failure carrying the panic message", r.err)
				}
				// Every SDK reports a panic as "panic: <message>", from error_set or stderr.
				if r.err != nil && !strings.Contains(r.err.Error(), "panic: conformance: deliberate panic") {
					t.Errorf("err = %v, want it to say \"panic: conformance: deliberate panic\"", r.err)
				}
			},
		},
	}, newerCases()...)
}

// conformanceVar is the value of CONFORMANCE_VAR that uses_resource reads through resource vars.
const conformanceVar = "conformance value ✓ 42"

// envVars grants the env resource "vars" with CONFORMANCE_VAR, which it sets, and declares it.
func envVars(t *testing.T) (*resources.Registry, []string) {
	t.Setenv("CONFORMANCE_VAR", conformanceVar)
	env, err := resources.NewEnv(resources.EnvConfig{Vars: []string{"CONFORMANCE_VAR"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return resources.NewRegistry(map[string]resources.Resource{"vars": env}), []string{"vars"}
}

// checkCase runs check name on asset checked, whose stored value is value.
func checkCase(caseName, name, value string, check func(t *testing.T, r *caseRun)) conformanceCase {
	return conformanceCase{
		name: caseName, kind: "check", target: name,
		rawInputs: map[string]rawInput{"asset": {format: abi.FormatBytes, data: value, asset: "checked"}},
		outputs:   map[string]abi.Format{}, // a check writes no outputs
		check:     check,
	}
}

func wantCheck(t *testing.T, r *caseRun, passed bool, severity string) {
	t.Helper()
	r.mustSucceed(t)
	if r.res.Check == nil {
		t.Fatal("the check did not report a result with check_result")
	}
	if r.res.Check.Passed != passed || (severity != "" && r.res.Check.Severity != severity) {
		t.Errorf("check result %+v, want passed %v, severity %q", *r.res.Check, passed, severity)
	}
}

func retryCase(attempt int) conformanceCase {
	return conformanceCase{
		name: fmt.Sprintf("retries_attempt_%d_asks_for_retry", attempt), target: "retries", attempt: attempt,
		check: func(t *testing.T, r *caseRun) {
			se := r.stepError(t)
			if se.Kind != FailureGuest || !se.Retry || !strings.Contains(se.Message, "conformance: try again") {
				t.Errorf("err = %#v, want a guest failure asking for a retry (status 2) with \"conformance: try again\"", se)
			}
		},
	}
}

// newerCases are the section "Checks, typed config, resources, retries and fan-out" of CASES.md.
func newerCases() []conformanceCase {
	return []conformanceCase{
		{
			name: "checked_writes_ok", target: "checked",
			check: func(t *testing.T, r *caseRun) {
				r.mustSucceed(t)
				if got := string(r.data[abi.OutputResult]); got != "ok" {
					t.Errorf("checked wrote %q, want ok", got)
				}
			},
		},
		checkCase("check_is_ok_passes", "is_ok", "ok", func(t *testing.T, r *caseRun) {
			wantCheck(t, r, true, "")
			if got := r.res.Metadata["length"]; got != 2.0 {
				t.Errorf("metadata %v, want length 2", r.res.Metadata)
			}
		}),
		checkCase("check_is_ok_fails_with_severity_error", "is_ok", "not ok", func(t *testing.T, r *caseRun) {
			wantCheck(t, r, false, "ERROR")
			if got := r.res.Metadata["length"]; got != 6.0 {
				t.Errorf("metadata %v, want length 6", r.res.Metadata)
			}
		}),
		checkCase("check_warns_fails_with_severity_warn_reading_nothing", "warns", "ok", func(t *testing.T, r *caseRun) {
			wantCheck(t, r, false, "WARN")
			if r.loaded["asset"] != 0 {
				t.Errorf("warns opened its input %d times; it must read nothing", r.loaded["asset"])
			}
		}),
		{
			name: "typed_config_reads_config", target: "typed_config", config: `{"limit": 3, "label": "three"}`,
			outputs: map[string]abi.Format{abi.OutputResult: abi.FormatJSON},
			check: func(t *testing.T, r *caseRun) {
				r.mustSucceed(t)
				if got, want := r.jsonOutput(t, abi.OutputResult), map[string]any{"limit": 3.0, "label": "three"}; !reflect.DeepEqual(got, want) {
					t.Errorf("typed_config wrote %v, want %v", got, want)
				}
			},
		},
		{
			name: "typed_config_default_from_declared_schema", target: "typed_config", config: `{"label": "defaulted"}`, configDefaults: true,
			outputs: map[string]abi.Format{abi.OutputResult: abi.FormatJSON},
			check: func(t *testing.T, r *caseRun) {
				r.mustSucceed(t)
				if got, want := r.jsonOutput(t, abi.OutputResult), map[string]any{"limit": 10.0, "label": "defaulted"}; !reflect.DeepEqual(got, want) {
					t.Errorf("typed_config wrote %v, want %v", got, want)
				}
			},
		},
		{
			name: "uses_resource_reads_env_var", target: "uses_resource", resources: envVars,
			check: func(t *testing.T, r *caseRun) {
				r.mustSucceed(t)
				if got := string(r.data[abi.OutputResult]); got != conformanceVar {
					t.Errorf("uses_resource wrote %q, want %q", got, conformanceVar)
				}
			},
		},
		{
			name: "uses_resource_denied_call_fails_with_host_message", target: "uses_resource",
			resources: func(*testing.T) (*resources.Registry, []string) {
				return resources.NewRegistry(nil), []string{"vars"} // declared, but nothing granted
			},
			check: func(t *testing.T, r *caseRun) {
				se := r.stepError(t)
				if want := `no resource "vars" is granted in wasmorch.yaml`; se.Kind != FailureGuest || !strings.Contains(se.Message, want) {
					t.Errorf("err = %q, want a guest failure carrying the host's message %q", se.Message, want)
				}
			},
		},
		retryCase(1),
		retryCase(2),
		{
			name: "retries_attempt_3_succeeds", target: "retries", attempt: 3,
			check: func(t *testing.T, r *caseRun) {
				r.mustSucceed(t)
				if got := string(r.data[abi.OutputResult]); got != "attempt 3" {
					t.Errorf("retries wrote %q, want \"attempt 3\"", got)
				}
			},
		},
		{
			name: "fan_out_dynamic_outputs", kind: "op", target: "fan_out",
			outputs: map[string]abi.Format{"chunks": abi.FormatJSON, "count": abi.FormatJSON},
			dynamic: map[string]bool{"chunks": true},
			check: func(t *testing.T, r *caseRun) {
				r.mustSucceed(t)
				want := map[string]struct {
					key   string
					value float64
				}{"chunks[a]": {"a", 1}, "chunks[b]": {"b", 2}, "chunks[c]": {"c", 3}, "count": {"", 3}}
				if got := slices.Sorted(maps.Keys(r.res.Outputs)); !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
					t.Fatalf("step outputs %q, want %q", got, slices.Sorted(maps.Keys(want)))
				}
				for name, w := range want {
					out := r.res.Outputs[name]
					if out.MappingKey != w.key || out.Format != abi.FormatJSON {
						t.Errorf("%s: mapping key %q, format %s; want %q, json", name, out.MappingKey, out.Format, w.key)
					}
					if got := r.jsonOutput(t, name); got != w.value {
						t.Errorf("%s = %v, want %v", name, got, w.value)
					}
				}
			},
		},
		{
			name: "mapped_reads_mapping_key", kind: "op", target: "mapped", mappingKey: "b",
			rawInputs: map[string]rawInput{"n": {format: abi.FormatJSON, data: "21"}},
			outputs:   map[string]abi.Format{abi.OutputResult: abi.FormatJSON},
			check: func(t *testing.T, r *caseRun) {
				r.mustSucceed(t)
				if got, want := r.jsonOutput(t, abi.OutputResult), map[string]any{"key": "b", "n2": 42.0}; !reflect.DeepEqual(got, want) {
					t.Errorf("mapped wrote %v, want %v", got, want)
				}
			},
		},
	}
}

// ---- manifests ----

// manifestCase checks what a module's manifest declares, as the host parsed it.
type manifestCase struct {
	name  string
	check func(t *testing.T, m *manifest.Manifest)
}

// jsonOf parses JSON text for comparison; it fails the test on invalid JSON.
func jsonOf(t *testing.T, text []byte) any {
	t.Helper()
	if len(text) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(text, &v); err != nil {
		t.Fatalf("%v: %s", err, text)
	}
	return v
}

func manifestAsset(t *testing.T, m *manifest.Manifest, key, format string) *manifest.Asset {
	t.Helper()
	a, ok := m.AssetByKey(key)
	if !ok {
		t.Fatalf("the manifest has no asset %q", key)
	}
	if a.Group != "conformance" || a.Output.Format != format {
		t.Errorf("asset %q: group %q, output format %q; want conformance, %s", key, a.Group, a.Output.Format, format)
	}
	return a
}

func manifestOp(t *testing.T, m *manifest.Manifest, name string) *manifest.Op {
	t.Helper()
	for i := range m.Ops {
		if m.Ops[i].Name == name {
			return &m.Ops[i]
		}
	}
	t.Fatalf("the manifest has no op %q", name)
	return nil
}

// opIO lists an op's inputs or outputs as name:format[:optional][:dynamic], sorted by name, with
// the ABI's default format (arrow) filled in.
func opIO[T manifest.OpIn | manifest.OpOut](list []T) []string {
	var out []string
	for _, x := range list {
		var name, format string
		var flags []string
		switch v := any(x).(type) {
		case manifest.OpIn:
			name, format = v.Name, v.Format
			if v.Optional {
				flags = append(flags, "optional")
			}
		case manifest.OpOut:
			name, format = v.Name, v.Format
			if v.Optional {
				flags = append(flags, "optional")
			}
			if v.Dynamic {
				flags = append(flags, "dynamic")
			}
		}
		if format == "" {
			format = "arrow"
		}
		out = append(out, strings.Join(append([]string{name, format}, flags...), ":"))
	}
	slices.Sort(out)
	return out
}

func manifestCases() []manifestCase {
	return []manifestCase{
		{"graph_and_job", func(t *testing.T, m *manifest.Manifest) {
			var g *manifest.Graph
			for i := range m.Graphs {
				if m.Graphs[i].Name == "conformance_graph" {
					g = &m.Graphs[i]
				}
			}
			if g == nil {
				t.Fatal("the manifest has no graph conformance_graph")
			}
			want := manifest.Graph{Name: "conformance_graph", Nodes: []manifest.GraphNode{
				{Name: "fan", Op: "fan_out"},
				{Name: "double", Op: "mapped", Ins: map[string]manifest.GraphNodeFrom{"n": {Node: "fan", Output: "chunks"}}},
				{Name: "total", Op: "MODULE:sum", Ins: map[string]manifest.GraphNodeFrom{"values": {Node: "double", Output: "result", Collect: true}}},
			}, Outs: []manifest.GraphOut{{Name: "total", Node: "total", Output: "result"}}}
			got := *g
			var cfg any
			for i := range got.Nodes {
				if got.Nodes[i].Name == "total" && len(got.Nodes[i].Config) > 0 {
					cfg = jsonOf(t, got.Nodes[i].Config)
				}
				got.Nodes[i].Config = nil
				if len(got.Nodes[i].Ins) == 0 {
					got.Nodes[i].Ins = nil
				}
			}
			slices.SortFunc(got.Nodes, func(a, b manifest.GraphNode) int { return strings.Compare(order[a.Name], order[b.Name]) })
			if !reflect.DeepEqual(got, want) {
				t.Errorf("graph = %+v\nwant %+v", got, want)
			}
			if !reflect.DeepEqual(cfg, map[string]any{"precision": 2.0}) {
				t.Errorf("node total config = %v, want {\"precision\": 2}", cfg)
			}
			var j *manifest.Job
			for i := range m.Jobs {
				if m.Jobs[i].Name == "conformance_job" {
					j = &m.Jobs[i]
				}
			}
			if j == nil {
				t.Fatal("the manifest has no job conformance_job")
			}
			if j.Graph != "conformance_graph" || j.Selection != "" || !reflect.DeepEqual(j.Tags, map[string]string{"suite": "conformance"}) ||
				!reflect.DeepEqual(jsonOf(t, j.Config), map[string]any{"ops": map[string]any{"fan": map[string]any{"config": map[string]any{}}}}) {
				t.Errorf("job = %+v (config %s)", *j, j.Config)
			}
		}},
		{"checks", func(t *testing.T, m *manifest.Manifest) {
			manifestAsset(t, m, "checked", "bytes")
			got := map[string]bool{}
			for _, c := range m.Checks {
				if c.Asset == "checked" {
					got[c.Name] = c.Blocking
				}
			}
			if want := map[string]bool{"is_ok": true, "warns": false}; !reflect.DeepEqual(got, want) {
				t.Errorf("checks on checked (name: blocking) = %v, want %v", got, want)
			}
		}},
		{"typed_config", func(t *testing.T, m *manifest.Manifest) {
			a := manifestAsset(t, m, "typed_config", "json")
			want := `{"type":"object","properties":{"limit":{"type":"integer","default":10},"label":{"type":"string"}},"required":["label"]}`
			if got := jsonOf(t, a.ConfigSchema); !reflect.DeepEqual(got, jsonOf(t, []byte(want))) {
				t.Errorf("config_schema = %s\nwant %s", a.ConfigSchema, want)
			}
		}},
		{"uses_resource", func(t *testing.T, m *manifest.Manifest) {
			a := manifestAsset(t, m, "uses_resource", "bytes")
			if !slices.Equal(a.Resources, []string{"vars"}) {
				t.Errorf("resources = %q, want [vars]", a.Resources)
			}
		}},
		{"retries", func(t *testing.T, m *manifest.Manifest) {
			a := manifestAsset(t, m, "retries", "bytes")
			if a.RetryPolicy == nil {
				t.Fatal("retries has no retry_policy")
			}
			got := *a.RetryPolicy
			// "none" is the default of backoff and jitter (ABI.md 7.1): spelling it out is the same.
			if got.Jitter == "none" {
				got.Jitter = ""
			}
			if want := (manifest.RetryPolicy{MaxRetries: 2, DelaySeconds: 0.5, Backoff: "exponential"}); got != want {
				t.Errorf("retry_policy = %+v, want %+v", *a.RetryPolicy, want)
			}
		}},
		{"fan_out", func(t *testing.T, m *manifest.Manifest) {
			o := manifestOp(t, m, "fan_out")
			if got := opIO(o.Ins); len(got) != 0 {
				t.Errorf("fan_out ins = %q, want none", got)
			}
			if got, want := opIO(o.Outs), []string{"chunks:json:dynamic", "count:json"}; !slices.Equal(got, want) {
				t.Errorf("fan_out outs = %q, want %q", got, want)
			}
		}},
		{"mapped", func(t *testing.T, m *manifest.Manifest) {
			o := manifestOp(t, m, "mapped")
			if got, want := opIO(o.Ins), []string{"n:json"}; !slices.Equal(got, want) {
				t.Errorf("mapped ins = %q, want %q", got, want)
			}
			if got, want := opIO(o.Outs), []string{"result:json"}; !slices.Equal(got, want) {
				t.Errorf("mapped outs = %q, want %q", got, want)
			}
		}},
	}
}

// rowsOf flattens batches of int64/utf8/float64 columns into rows of Go values (nil for null).
func rowsOf(t *testing.T, recs []arrow.Record) [][]any {
	t.Helper()
	var rows [][]any
	for _, rec := range recs {
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]any, rec.NumCols())
			for c := range row {
				col := rec.Column(c)
				if col.IsNull(i) {
					continue
				}
				switch a := col.(type) {
				case *array.Int64:
					row[c] = a.Value(i)
				case *array.String:
					row[c] = a.Value(i)
				case *array.Float64:
					row[c] = a.Value(i)
				default:
					t.Fatalf("unexpected column type %s", col.DataType())
				}
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// ---- the large table ----

const (
	largeBatches   = 200
	largeBatchRows = 24 << 10 // about 1 MiB per batch: 8-byte ints, 32-byte strings, offsets
)

var largeSchema = arrow.NewSchema([]arrow.Field{
	{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// largeReader generates the large table batch by batch, so the test never holds it whole.
type largeReader struct {
	i   int
	cur arrow.Record
}

func (r *largeReader) Retain()               {}
func (r *largeReader) Schema() *arrow.Schema { return largeSchema }
func (r *largeReader) Record() arrow.Record  { return r.cur }
func (r *largeReader) Err() error            { return nil }
func (r *largeReader) Release() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

func (r *largeReader) Next() bool {
	r.Release()
	if r.i == largeBatches {
		return false
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, largeSchema)
	defer b.Release()
	ints := b.Field(0).(*array.Int64Builder)
	strs := b.Field(1).(*array.StringBuilder)
	for j := 0; j < largeBatchRows; j++ {
		v := int64(r.i*largeBatchRows + j)
		ints.Append(v)
		strs.Append(fmt.Sprintf("%032d", v))
	}
	r.cur = b.NewRecord()
	r.i++
	return true
}

func checkLargeEcho(t *testing.T, m *Module) {
	var rows, batches int64
	var sum int64
	var bytes int64
	step := Step{
		Invocation: Invocation{Kind: "asset", Name: "echo", RunID: "conformance-run", StepKey: "echo", Attempt: 1},
		Inputs: map[string]Input{"in": {Format: abi.FormatArrow, Load: func(context.Context) (iomanager.Value, error) {
			return iomanager.Value{Format: abi.FormatArrow, Records: &largeReader{}}, nil
		}}},
		Outputs: map[string]Output{abi.OutputResult: {Format: abi.FormatArrow, Store: func(ctx context.Context, v iomanager.Value) (string, error) {
			for v.Records.Next() {
				rec := v.Records.Record()
				batches++
				ints := rec.Column(0).(*array.Int64)
				strs := rec.Column(1).(*array.String)
				for i := 0; i < ints.Len(); i++ {
					if want := rows + int64(i); ints.Value(i) != want || strs.Value(i) != fmt.Sprintf("%032d", want) {
						return "", fmt.Errorf("row %d: got %d %q", want, ints.Value(i), strs.Value(i))
					}
					sum += ints.Value(i)
					bytes += 8 + 4 + int64(len(strs.Value(i)))
				}
				rows += rec.NumRows()
			}
			return "mem://large", v.Records.Err()
		}}},
	}
	step.Invocation.Inputs = []InvocationValue{{Name: "in", Format: "arrow"}}
	step.Invocation.Outputs = []InvocationValue{{Name: abi.OutputResult, Format: "arrow"}}
	if _, err := m.Run(context.Background(), step); err != nil {
		t.Fatalf("echo of %d MiB through a %d MiB memory limit: %v", largeBatches*largeBatchRows*44>>20, conformanceMemoryLimit>>20, err)
	}
	if batches != largeBatches || rows != largeBatches*largeBatchRows {
		t.Fatalf("got %d batches, %d rows; want %d, %d", batches, rows, largeBatches, largeBatches*largeBatchRows)
	}
	if bytes <= 64<<20 || bytes <= conformanceMemoryLimit {
		t.Fatalf("the table is only %d bytes; it must exceed 64 MiB and the memory limit", bytes)
	}
	t.Logf("streamed %d rows, %d MiB of column data, through a %d MiB memory limit", rows, bytes>>20, conformanceMemoryLimit>>20)
}

// order sorts conformance_graph's nodes as CASES.md lists them.
var order = map[string]string{"fan": "1", "double": "2", "total": "3"}
