package wasmorch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

var numsSchema = arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)

// int64Record builds a one-column record "n"; a nil pointer is a null.
func int64Record(mem memory.Allocator, vals ...*int64) arrow.Record {
	b := array.NewRecordBuilder(mem, numsSchema)
	defer b.Release()
	col := b.Field(0).(*array.Int64Builder)
	for _, v := range vals {
		if v == nil {
			col.AppendNull()
		} else {
			col.Append(*v)
		}
	}
	return b.NewRecord()
}

func ints(vs ...int64) []*int64 {
	out := make([]*int64, len(vs))
	for i := range vs {
		out[i] = &vs[i]
	}
	return out
}

func column(rec arrow.Record) []any {
	col := rec.Column(0).(*array.Int64)
	out := make([]any, col.Len())
	for i := range out {
		if col.IsNull(i) {
			out[i] = nil
		} else {
			out[i] = col.Value(i)
		}
	}
	return out
}

// mustRegister registers one asset in a fresh registry and fails on registration problems.
func mustRegister(t *testing.T, key string, fn any, opts ...AssetOption) *registry {
	t.Helper()
	r := newRegistry()
	r.addAsset(key, fn, opts)
	if errs := r.problems(); len(errs) > 0 {
		t.Fatalf("registration: %v", errors.Join(errs...))
	}
	return r
}

func runOK(t *testing.T, r *registry, h *fakeHost, mem memory.Allocator) {
	t.Helper()
	if st := r.run(h, mem); st != runSuccess {
		t.Fatalf("run status = %d, want 0; error_set: %s", st, h.errorText())
	}
	if h.open != 0 {
		t.Errorf("%d handles left open", h.open)
	}
}

func TestRunRecordInputConcatenatesBatches(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	double := func(ctx *Context, nums arrow.Record) (arrow.Record, error) {
		in := nums.Column(0).(*array.Int64)
		b := array.NewInt64Builder(ctx.Allocator())
		defer b.Release()
		for i := range in.Len() {
			if in.IsNull(i) {
				b.AppendNull()
			} else {
				b.Append(2 * in.Value(i))
			}
		}
		col := b.NewArray()
		defer col.Release()
		return array.NewRecord(numsSchema, []arrow.Array{col}, int64(col.Len())), nil
	}
	r := mustRegister(t, "doubled", double, Ins("nums"))

	b1, b2, b3 := int64Record(mem, ints(1, 2)...), int64Record(mem, nil), int64Record(mem, ints(3, 4, 5)...)
	defer b1.Release()
	defer b2.Release()
	defer b3.Release()

	h := newFakeHost(t, invocation("doubled", nil))
	h.maxRead = 7 // many partial reads per chunk
	h.addArrowInput("nums", numsSchema, 50, b1, b2, b3)
	runOK(t, r, h, mem)

	recs := h.resultRecords(mem)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	if len(recs) != 1 {
		t.Fatalf("got %d batches, want 1", len(recs))
	}
	want := []any{int64(2), int64(4), nil, int64(6), int64(8), int64(10)}
	if got := column(recs[0]); !reflect.DeepEqual(got, want) {
		t.Errorf("doubled = %v, want %v", got, want)
	}
	if out := h.result(); out.writes > 3 {
		t.Errorf("a small record took %d output_write calls; the writes should be buffered", out.writes)
	}
}

func TestRunRecordInputEmptyStream(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var rows int64 = -1
	r := mustRegister(t, "count", func(_ *Context, nums arrow.Record) (int64, error) {
		rows = nums.NumRows()
		if !nums.Schema().Equal(numsSchema) {
			t.Errorf("schema = %s", nums.Schema())
		}
		return rows, nil
	}, Ins("nums"))
	h := newFakeHost(t, invocation("count", nil))
	h.addArrowInput("nums", numsSchema, 1<<20) // schema only, no batches
	runOK(t, r, h, mem)
	if rows != 0 {
		t.Errorf("rows = %d, want 0", rows)
	}
	if got := h.result().data.String(); got != "0" {
		t.Errorf("result = %q, want 0", got)
	}
}

func TestRunRecordReaderStreamsBothWays(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	// The function reads batch by batch and returns a reader with one batch per input batch.
	passThrough := func(ctx *Context, in array.RecordReader) (array.RecordReader, error) {
		var out []arrow.Record
		for in.Next() {
			rec := in.Record()
			rec.Retain() // kept past the next call to Next
			out = append(out, rec)
		}
		if err := in.Err(); err != nil {
			return nil, err
		}
		rr, err := array.NewRecordReader(in.Schema(), out)
		for _, rec := range out {
			rec.Release() // the reader holds its own references
		}
		return rr, err
	}
	r := mustRegister(t, "copy", passThrough, In("source", "upstream/nums"))

	b1, b2 := int64Record(mem, ints(1, 2, 3)...), int64Record(mem, ints(4)...)
	defer b1.Release()
	defer b2.Release()
	h := newFakeHost(t, invocation("copy", nil))
	h.addArrowInput("source", numsSchema, abiChunks, b1, b2)
	runOK(t, r, h, mem)

	recs := h.resultRecords(mem)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	if len(recs) != 2 {
		t.Fatalf("got %d batches, want 2 (one per input batch)", len(recs))
	}
	if got := append(column(recs[0]), column(recs[1])...); !reflect.DeepEqual(got, []any{int64(1), int64(2), int64(3), int64(4)}) {
		t.Errorf("values = %v", got)
	}
}

type point struct {
	X, Y int
}

func TestRunJSONAndBytes(t *testing.T) {
	var seen *Context
	fn := func(ctx *Context, p point, raw []byte, anything any) (map[string]any, error) {
		seen = ctx
		var cfg struct{ Scale int }
		if err := ctx.Config(&cfg); err != nil {
			return nil, err
		}
		return map[string]any{"sum": (p.X + p.Y) * cfg.Scale, "raw": string(raw), "any": anything}, nil
	}
	r := mustRegister(t, "combo", fn, Ins("point", "blob", "misc"))
	h := newFakeHost(t, invocation("combo", map[string]any{
		"run_id": "r-42", "step_key": "combo[eu]", "attempt": 3, "partition_key": "eu",
		"config": map[string]any{"Scale": 10},
	}))
	h.addInput("point", formatJSON, []byte(`{"X": 1, "Y": 2}`))
	h.addInput("blob", formatBytes, []byte("\x00binary\xff"))
	h.addInput("misc", formatJSON, []byte(`[1, "two"]`))
	runOK(t, r, h, memory.DefaultAllocator)

	out := h.result()
	if out.format != formatJSON {
		t.Errorf("format = %s, want json", out.format)
	}
	if got, want := out.data.String(), `{"any":[1,"two"],"raw":"\u0000binary\ufffd","sum":30}`; got != want {
		t.Errorf("result = %s, want %s", got, want)
	}
	got := []any{seen.RunID(), seen.AssetKey(), seen.StepKey(), seen.PartitionKey(), seen.Attempt(), string(seen.ConfigJSON())}
	want := []any{"r-42", "combo", "combo[eu]", "eu", 3, `{"Scale":10}`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("context = %v, want %v", got, want)
	}
}

func TestRunBytesResultAndNullConfig(t *testing.T) {
	r := mustRegister(t, "blob", func(ctx *Context) ([]byte, error) {
		return ctx.ConfigJSON(), nil
	})
	h := newFakeHost(t, invocation("blob", map[string]any{"config": nil}))
	runOK(t, r, h, memory.DefaultAllocator)
	out := h.result()
	if out.format != formatBytes || out.data.String() != "{}" {
		t.Errorf("result = %s %q, want bytes {}", out.format, out.data.String())
	}
}

func TestRunLogsAndMetadataReachHost(t *testing.T) {
	r := mustRegister(t, "chatty", func(ctx *Context) (bool, error) {
		ctx.Debug("d")
		ctx.Info("rows loaded", "rows", 3, "source", "two words")
		ctx.Warn("w")
		ctx.Error("e", "err", errors.New("oops"))
		ctx.Logger().Log(context.Background(), slog.Level(-8), "very verbose")
		return true, ctx.AddMetadata(map[string]any{"regions": 4})
	})
	h := newFakeHost(t, invocation("chatty", nil))
	runOK(t, r, h, memory.DefaultAllocator)
	want := []fakeLog{
		{levelDebug, "d"},
		{levelInfo, `rows loaded rows=3 source="two words"`},
		{levelWarn, "w"},
		{levelError, "e err=oops"},
		{levelDebug, "very verbose"},
	}
	if !reflect.DeepEqual(h.logs, want) {
		t.Errorf("logs = %q, want %q", h.logs, want)
	}
	if !reflect.DeepEqual(h.metadata, []string{`{"regions":4}`}) {
		t.Errorf("metadata = %q", h.metadata)
	}
}

func TestRunFailures(t *testing.T) {
	recordFn := func(_ *Context, in arrow.Record) (arrow.Record, error) { return nil, nil }
	tests := []struct {
		name     string
		asset    string
		fn       any
		opts     []AssetOption
		setup    func(h *fakeHost)
		inv      map[string]any
		want     string // error_set message, or its prefix when prefix is set
		prefix   bool
		contains string
	}{
		{
			name: "returned error is passed through unchanged",
			fn: func(*Context) (int, error) {
				return 0, errors.New("boom: the upstream API said no")
			},
			want: "boom: the upstream API said no",
		},
		{
			name:     "panic",
			fn:       func(*Context) (int, error) { panic("deliberate panic") },
			want:     "panic: deliberate panic\ngoroutine ",
			prefix:   true,
			contains: "run_test.go",
		},
		{
			name:   "panic with an error value",
			fn:     func(*Context) (int, error) { var m map[string]int; m["x"] = 1; return 0, nil },
			want:   "panic: assignment to entry in nil map\n",
			prefix: true,
		},
		{
			name: "unknown asset",
			fn:   func(*Context) (int, error) { return 1, nil },
			inv:  invocation("nope", nil),
			want: `wasmorch: this module defines no asset "nope" (it defines: a)`,
		},
		{
			name: "not an asset invocation",
			fn:   func(*Context) (int, error) { return 1, nil },
			inv:  invocation("a", map[string]any{"kind": "sensor"}),
			want: `wasmorch: the invocation is for sensor "a", but this SDK runs assets, ops and checks only`,
		},
		{
			name: "missing input",
			fn:   func(*Context, int) (int, error) { return 1, nil },
			opts: []AssetOption{Ins("up")},
			want: `asset "a": input "up": input_open returned ERR_NOT_FOUND: no input named "up"`,
		},
		{
			name:  "format mismatch",
			fn:    recordFn,
			opts:  []AssetOption{Ins("up")},
			setup: func(h *fakeHost) { h.addInput("up", formatJSON, []byte("1")) },
			want:  `asset "a": input "up": the host sends it as json, but the parameter type arrow.Record takes arrow`,
		},
		{
			name:  "bad JSON input",
			fn:    func(*Context, point) (int, error) { return 1, nil },
			opts:  []AssetOption{Ins("up")},
			setup: func(h *fakeHost) { h.addInput("up", formatJSON, []byte(`"text"`)) },
			want:  `asset "a": input "up": decoding JSON into wasmorch.point: json: cannot unmarshal string into Go value of type wasmorch.point`,
		},
		{
			name:   "not an Arrow stream",
			fn:     recordFn,
			opts:   []AssetOption{Ins("up")},
			setup:  func(h *fakeHost) { h.addInput("up", formatArrow, []byte("definitely not arrow")) },
			want:   `asset "a": input "up": arrow/ipc: `,
			prefix: true,
		},
		{
			name: "input_next fails",
			fn:   func(*Context, []byte) (int, error) { return 1, nil },
			opts: []AssetOption{Ins("up")},
			setup: func(h *fakeHost) {
				h.addInput("up", formatBytes, []byte("x"))
				h.fail["input_next"], h.failMsg = statusErrIO, "the IO manager is closed"
			},
			want: `asset "a": input "up": input_next returned ERR_IO: the IO manager is closed`,
		},
		{
			name: "input_next fails in the middle of an Arrow stream",
			fn:   recordFn,
			opts: []AssetOption{Ins("up")},
			setup: func(h *fakeHost) {
				h.addArrowInput("up", numsSchema, 16, int64Record(memory.DefaultAllocator, ints(1, 2, 3)...))
				h.failNextAt = 3
			},
			want:     `asset "a": input "up": arrow/ipc: `,
			prefix:   true,
			contains: "input_next returned ERR_IO: the IO manager lost the file",
		},
		{
			name: "a RecordReader input reports a failure mid-stream through Err",
			fn: func(_ *Context, rr array.RecordReader) (int, error) {
				n := 0
				for rr.Next() {
					n++
				}
				return n, rr.Err()
			},
			opts: []AssetOption{Ins("up")},
			setup: func(h *fakeHost) {
				b := int64Record(memory.DefaultAllocator, ints(1, 2, 3)...)
				h.addArrowInput("up", numsSchema, abiChunks, b, b, b)
				h.failNextAt = 3 // schema and two batches arrive, then the host fails
			},
			want:     "arrow/ipc: ",
			prefix:   true,
			contains: "input_next returned ERR_IO: the IO manager lost the file",
		},
		{
			name: "nil record result",
			fn:   func(*Context) (arrow.Record, error) { return nil, nil },
			want: `asset "a": output "result": the function returned a nil arrow.Record and a nil error`,
		},
		{
			name: "output_write over the limit",
			fn:   func(*Context) (string, error) { return "big", nil },
			setup: func(h *fakeHost) {
				h.fail["output_write"], h.failMsg = statusErrLimit, "output limit of 2 GiB reached"
			},
			want: `asset "a": output "result": output_write returned ERR_LIMIT: output limit of 2 GiB reached`,
		},
		{
			name: "unencodable JSON result",
			fn:   func(*Context) (any, error) { return func() {}, nil },
			want: `asset "a": output "result": encoding the result as JSON: json: unsupported type: func()`,
		},
		{
			name: "invocation unreadable",
			fn:   func(*Context) (int, error) { return 1, nil },
			setup: func(h *fakeHost) {
				h.invocation = []byte("{not json")
			},
			want:   "wasmorch: reading the invocation: decoding 9 bytes of JSON: ",
			prefix: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRegister(t, "a", tt.fn, tt.opts...)
			inv := tt.inv
			if inv == nil {
				inv = invocation("a", nil)
			}
			h := newFakeHost(t, inv)
			if tt.setup != nil {
				tt.setup(h)
			}
			if st := r.run(h, memory.DefaultAllocator); st != runFailure {
				t.Fatalf("status = %d, want %d", st, runFailure)
			}
			got := h.errorText()
			switch {
			case tt.prefix && !strings.HasPrefix(got, tt.want):
				t.Errorf("error_set = %q, want prefix %q", got, tt.want)
			case !tt.prefix && got != tt.want:
				t.Errorf("error_set = %q, want %q", got, tt.want)
			}
			if tt.contains != "" && !strings.Contains(got, tt.contains) {
				t.Errorf("error_set = %q, want it to contain %q", got, tt.contains)
			}
			if h.open != 0 {
				t.Errorf("%d input handles left open", h.open)
			}
			if out, ok := h.outputs[outputResult]; ok && out.closed {
				t.Errorf("a failed step closed its output")
			}
		})
	}
}

func TestHostErrorWithoutMessage(t *testing.T) {
	h := newFakeHost(t, nil)
	err := hostError(h, "log", int64(statusErrLimit))
	if got := err.Error(); got != "log returned ERR_LIMIT" {
		t.Errorf("Error() = %q", got)
	}
	var he *HostError
	if !errors.As(fmt.Errorf("wrapped: %w", err), &he) || he.Status() != "ERR_LIMIT" {
		t.Errorf("errors.As did not find the *HostError, or Status() is wrong")
	}
}
