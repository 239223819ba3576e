package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	wasmorch "github.com/wasmorch/wasmorch/sdk-go"
)

// table returns the rows of rec as [key, window_start, upstream_key] triples.
func table(t *testing.T, rec arrow.Record) [][3]string {
	t.Helper()
	if !rec.Schema().Equal(schema) {
		t.Fatalf("schema = %s", rec.Schema())
	}
	out := make([][3]string, rec.NumRows())
	for i := range out {
		for c := range 3 {
			out[i][c] = rec.Column(c).(*array.String).Value(i)
		}
	}
	return out
}

func TestRegions(t *testing.T) {
	rec, err := regions(wasmorch.NewTestContext(wasmorch.WithPartitionKey("eu")))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	if got, want := table(t, rec), [][3]string{{"eu", "", ""}}; !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %q, want %q", got, want)
	}
}

func TestDaily(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var batches []wasmorch.PartitionBatch
	for _, k := range []string{"us", "eu", "apac"} {
		rec, err := regions(wasmorch.NewTestContext(wasmorch.WithPartitionKey(k), wasmorch.WithAllocator(mem)))
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, wasmorch.PartitionBatch{Key: k, Record: rec})
		defer rec.Release()
	}
	in, err := wasmorch.NewPartitionReader(schema, batches...)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Release()
	start := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	ctx := wasmorch.NewTestContext(wasmorch.WithPartitionKey("2026-01-15"),
		wasmorch.WithPartitionWindow(start, start.AddDate(0, 0, 1)), wasmorch.WithAllocator(mem))
	rec, err := daily(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	want := [][3]string{
		{"2026-01-15", "2026-01-15T00:00:00Z", "us"},
		{"2026-01-15", "2026-01-15T00:00:00Z", "eu"},
		{"2026-01-15", "2026-01-15T00:00:00Z", "apac"},
	}
	if got := table(t, rec); !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %q, want %q", got, want)
	}
}

func TestManifest(t *testing.T) {
	if _, err := wasmorch.Manifest(); err != nil {
		t.Fatal(err)
	}
}
