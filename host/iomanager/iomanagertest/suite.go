// Package iomanagertest is the one test suite every IO manager must pass, so that a new manager
// (S3, Parquet, a database) is a new file plus one line in a test.
package iomanagertest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/host/iomanager"
)

// Run runs the suite against managers made by open (a fresh, empty one per call).
func Run(t *testing.T, open func(t *testing.T) iomanager.IOManager) {
	ctx := context.Background()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)

	t.Run("table round trip keeps batches and nulls", func(t *testing.T) {
		m := open(t)
		recs := []arrow.Record{batch(schema, 0, 3), batch(schema, 3, 2), batch(schema, 5, 0)}
		loc := store(t, m, "orders/raw", "run1", abi.FormatArrow, tableValue(t, schema, recs))
		v, err := m.LoadInput(ctx, iomanager.InputContext{AssetKey: "orders/raw", Location: loc, Format: abi.FormatArrow})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Release()
		if !v.Records.Schema().Equal(schema) {
			t.Fatalf("schema = %s, want %s", v.Records.Schema(), schema)
		}
		var rows []int64
		nulls := 0
		for v.Records.Next() {
			rec := v.Records.Record()
			ids := rec.Column(0).(*array.Int64)
			for i := 0; i < ids.Len(); i++ {
				if ids.IsNull(i) {
					nulls++
					continue
				}
				rows = append(rows, ids.Value(i))
			}
		}
		if err := v.Records.Err(); err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		if len(rows)+nulls != 5 || nulls != 1 {
			t.Fatalf("got rows %v and %d nulls, want 4 values and 1 null", rows, nulls)
		}
	})

	t.Run("empty table keeps its schema", func(t *testing.T) {
		m := open(t)
		loc := store(t, m, "empty", "run1", abi.FormatArrow, tableValue(t, schema, nil))
		v, err := m.LoadInput(ctx, iomanager.InputContext{AssetKey: "empty", Location: loc, Format: abi.FormatArrow})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Release()
		if !v.Records.Schema().Equal(schema) {
			t.Fatalf("schema = %s", v.Records.Schema())
		}
		if v.Records.Next() && v.Records.Record().NumRows() > 0 {
			t.Fatal("empty table loaded rows")
		}
	})

	for _, f := range []abi.Format{abi.FormatJSON, abi.FormatBytes} {
		t.Run(f.String()+" round trip", func(t *testing.T) {
			m := open(t)
			payload := []byte(`{"n": 1}`)
			loc := store(t, m, "j", "run1", f, iomanager.Value{Format: f, Data: bytes.NewReader(payload)})
			v, err := m.LoadInput(ctx, iomanager.InputContext{AssetKey: "j", Location: loc, Format: f})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Release()
			got, err := iomanager.ReadAllBytes(v)
			if err != nil || !bytes.Equal(got, payload) {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}

	t.Run("each run gets its own location", func(t *testing.T) {
		m := open(t)
		a := store(t, m, "x", "run1", abi.FormatBytes, iomanager.Value{Format: abi.FormatBytes, Data: bytes.NewReader([]byte("one"))})
		b := store(t, m, "x", "run2", abi.FormatBytes, iomanager.Value{Format: abi.FormatBytes, Data: bytes.NewReader([]byte("two"))})
		if a == b {
			t.Fatalf("both runs stored at %s", a)
		}
		v, err := m.LoadInput(ctx, iomanager.InputContext{AssetKey: "x", Location: a, Format: abi.FormatBytes})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Release()
		if got, _ := iomanager.ReadAllBytes(v); string(got) != "one" {
			t.Fatalf("first run's value was overwritten: %q", got)
		}
	})

	t.Run("a failing stream stores nothing", func(t *testing.T) {
		m := open(t)
		failing := &failingReader{schema: schema, rec: batch(schema, 0, 2)}
		_, err := m.HandleOutput(ctx, iomanager.OutputContext{AssetKey: "bad", RunID: "run1", Format: abi.FormatArrow},
			iomanager.Value{Format: abi.FormatArrow, Records: failing})
		if err == nil {
			t.Fatal("HandleOutput succeeded on a stream that failed")
		}
		_, err = m.LoadInput(ctx, iomanager.InputContext{AssetKey: "bad", Location: guessLocation(m), Format: abi.FormatArrow})
		if err == nil {
			t.Fatal("a value was loadable after a failed store")
		}
	})

	t.Run("missing value is ErrNotFound", func(t *testing.T) {
		m := open(t)
		_, err := m.LoadInput(ctx, iomanager.InputContext{AssetKey: "nope", Location: guessLocation(m), Format: abi.FormatJSON})
		if !errors.Is(err, iomanager.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})

	t.Run("cancelled context stops a store", func(t *testing.T) {
		m := open(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := m.HandleOutput(cctx, iomanager.OutputContext{AssetKey: "c", RunID: "run1", Format: abi.FormatArrow},
			tableValue(t, schema, []arrow.Record{batch(schema, 0, 2)}))
		if err == nil {
			t.Fatal("HandleOutput ignored a cancelled context")
		}
	})
}

// guessLocation returns a location that nothing was stored at, in the manager's own scheme.
func guessLocation(m iomanager.IOManager) string {
	if r, ok := m.(interface{ Root() string }); ok {
		return r.Root() + "/bad/run1.arrow"
	}
	return "memory://bad/run1"
}

func store(t *testing.T, m iomanager.IOManager, key, run string, f abi.Format, v iomanager.Value) string {
	t.Helper()
	loc, err := m.HandleOutput(context.Background(), iomanager.OutputContext{AssetKey: key, RunID: run, StepKey: key, Format: f}, v)
	if err != nil {
		t.Fatalf("HandleOutput(%s): %v", key, err)
	}
	return loc
}

func tableValue(t *testing.T, schema *arrow.Schema, recs []arrow.Record) iomanager.Value {
	rr, err := array.NewRecordReader(schema, recs)
	if err != nil {
		t.Fatal(err)
	}
	return iomanager.Value{Format: abi.FormatArrow, Records: rr}
}

// batch makes n rows with ids from..from+n; the row with id 1 is null.
func batch(schema *arrow.Schema, from, n int) arrow.Record {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := from; i < from+n; i++ {
		if i == 1 {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.Int64Builder).Append(int64(i))
		}
		b.Field(1).(*array.StringBuilder).Append("name")
	}
	return b.NewRecord()
}

type failingReader struct {
	schema *arrow.Schema
	rec    arrow.Record
	n      int
}

func (f *failingReader) Retain()               {}
func (f *failingReader) Release()              {}
func (f *failingReader) Schema() *arrow.Schema { return f.schema }
func (f *failingReader) Record() arrow.Record  { return f.rec }
func (f *failingReader) Next() bool            { f.n++; return f.n == 1 }
func (f *failingReader) Err() error {
	if f.n > 1 {
		return errors.New("guest stream broke")
	}
	return nil
}
