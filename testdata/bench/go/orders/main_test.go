package main

import (
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"
	wasmorch "github.com/wasmorch/wasmorch/sdk-go"
)

// The generator must give the rows bench/README.md lists, which the Dagster side checks too.

func TestSplitmix64(t *testing.T) {
	for _, c := range []struct{ seed, i, want uint64 }{
		{0, 0, 0xe220a8397b1dcdaf},
		{42, 0, 0xbdd732262feb6e95},
		{42, 4, 0x09bc585a244823f2},
	} {
		if got := Splitmix64(c.seed, c.i); got != c.want {
			t.Errorf("Splitmix64(%d, %d) = %#x, want %#x", c.seed, c.i, got, c.want)
		}
	}
}

func TestGenerateFirstRows(t *testing.T) {
	rec, err := generate(wasmorch.NewTestContext(wasmorch.WithConfigJSON(`{"rows": 5, "seed": 42}`)))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	if rec.NumRows() != 5 {
		t.Fatalf("%d rows, want 5", rec.NumRows())
	}
	ids := rec.Column(0).(*array.Int64)
	customers := rec.Column(1).(*array.String)
	regions := rec.Column(2).(*array.String)
	amounts := rec.Column(3).(*array.Float64)
	dates := rec.Column(4).(*array.String)
	// row 0: (1, "customer_5294", "west", 413.94, "2026-01-22")
	if ids.Value(0) != 1 || customers.Value(0) != "customer_5294" || regions.Value(0) != "west" || amounts.Value(0) != 413.94 || dates.Value(0) != "2026-01-22" {
		t.Errorf("row 0 = (%d, %s, %s, %v, %s)", ids.Value(0), customers.Value(0), regions.Value(0), amounts.Value(0), dates.Value(0))
	}
	// row 4: (null, "customer_7043", "north", 380.40, "2026-01-10")
	if !ids.IsNull(4) || customers.Value(4) != "customer_7043" || regions.Value(4) != "north" || amounts.Value(4) != 380.40 || dates.Value(4) != "2026-01-10" {
		t.Errorf("row 4 = (null? %v, %s, %s, %v, %s)", ids.IsNull(4), customers.Value(4), regions.Value(4), amounts.Value(4), dates.Value(4))
	}
}
