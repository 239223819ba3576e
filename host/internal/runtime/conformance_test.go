package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/wasmorch/wasmorch/abi"
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
	data    map[string][]byte
}

type conformanceCase struct {
	name, kind, target string
	config             string
	partition          string
	inputs             map[string]func() []arrow.Record // arrow inputs as batches
	inputSchemas       map[string]*arrow.Schema
	outputs            map[string]abi.Format
	check              func(t *testing.T, r *caseRun)
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
			t.Run("echo_large_table_through_small_memory", func(t *testing.T) { checkLargeEcho(t, m) })
		})
	}
}

func runCase(t *testing.T, m *Module, c conformanceCase) *caseRun {
	t.Helper()
	r := &caseRun{outputs: map[string][]arrow.Record{}, schemas: map[string]*arrow.Schema{}, data: map[string][]byte{}}
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
	step := Step{
		Invocation: Invocation{Kind: kind, Name: target, RunID: "conformance-run", StepKey: target, Attempt: 1, PartitionKey: c.partition},
		Inputs:     map[string]Input{},
		Outputs:    map[string]Output{},
		Log: func(level int32, msg string) {
			r.logs = append(r.logs, [2]string{map[int32]string{0: "DEBUG", 1: "INFO", 2: "WARNING", 3: "ERROR"}[level], msg})
		},
	}
	if c.config != "" {
		step.Invocation.Config = json.RawMessage(c.config)
	}
	for name, batches := range c.inputs {
		schema, batches := c.inputSchemas[name], batches
		step.Invocation.Inputs = append(step.Invocation.Inputs, InvocationValue{Name: name, Format: "arrow"})
		step.Inputs[name] = Input{Format: abi.FormatArrow, Load: func(context.Context) (iomanager.Value, error) {
			rr, err := array.NewRecordReader(schema, batches())
			return iomanager.Value{Format: abi.FormatArrow, Records: rr}, err
		}}
	}
	outputs := c.outputs
	if outputs == nil {
		outputs = map[string]abi.Format{abi.OutputResult: abi.FormatBytes}
	}
	for name, f := range outputs {
		name, f := name, f
		step.Invocation.Outputs = append(step.Invocation.Outputs, InvocationValue{Name: name, Format: f.String()})
		step.Outputs[name] = Output{Format: f, Store: func(ctx context.Context, v iomanager.Value) (string, error) {
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
		}}
	}
	r.res, r.err = m.Run(context.Background(), step)
	return r
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
	return []conformanceCase{
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
