package wasmorch

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// stringsSchema is a one-column utf8 schema "s".
var stringsSchema = arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)

func stringRecord(mem memory.Allocator, vals ...string) arrow.Record {
	b := array.NewRecordBuilder(mem, stringsSchema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues(vals, nil)
	return b.NewRecord()
}

// readPartitions is an asset function that reads its input by partition and returns, as JSON,
// one "KEY:v1,v2" entry per batch.
func readPartitions(ctx *Context, in *PartitionReader) ([]string, error) {
	var out []string
	for in.Next() {
		col := in.Record().Column(0).(*array.String)
		vals := make([]string, col.Len())
		for i := range vals {
			vals[i] = col.Value(i)
		}
		out = append(out, in.PartitionKey()+":"+strings.Join(vals, ","))
	}
	if in.PartitionKey() != "" {
		return nil, fmt.Errorf("PartitionKey() = %q after the end, want \"\"", in.PartitionKey())
	}
	return out, in.Err()
}

func TestPartitionReader(t *testing.T) {
	long := strings.Repeat("k", 200)
	exact := strings.Repeat("e", 64) // fills the SDK's first key buffer exactly
	for _, copied := range []bool{false, true} {
		t.Run(fmt.Sprintf("keyCopied=%v", copied), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := mustRegister(t, "daily", readPartitions, InMapped("events", "hourly", TimeWindowMapping(0, 0)))
			if got := r.assets[0].inKinds[0].format(); got != formatArrow {
				t.Fatalf("a *PartitionReader input has format %s", got)
			}

			recs := []arrow.Record{
				stringRecord(mem, "a", "b"), stringRecord(mem, "c"), stringRecord(mem, "d"),
				stringRecord(mem), stringRecord(mem, "e"), stringRecord(mem, "f"),
			}
			defer func() {
				for _, r := range recs {
					r.Release()
				}
			}()
			h := newFakeHost(t, invocation("daily", map[string]any{"partition_key": "2026-01-15"}))
			h.keyCopied = copied
			h.maxRead = 5
			h.addPartitionedInput("events", stringsSchema,
				fakePartition{"2026-01-15-00:00", recs[0:2]},
				fakePartition{"2026-01-15-01:00|us", recs[2:4]},
				fakePartition{exact, recs[4:5]},
				fakePartition{long, recs[5:6]})
			runOK(t, r, h, mem)
			want := `["2026-01-15-00:00:a,b","2026-01-15-00:00:c","2026-01-15-01:00|us:d","2026-01-15-01:00|us:","` +
				exact + `:e","` + long + `:f"]`
			if got := h.result().data.String(); got != want {
				t.Errorf("batches:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestPartitionReaderUnpartitionedInput(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b1, b2 := stringRecord(mem, "x"), stringRecord(mem, "y", "z")
	defer b1.Release()
	defer b2.Release()
	r := mustRegister(t, "a", readPartitions, Ins("up"))
	h := newFakeHost(t, invocation("a", nil))
	h.addArrowInput("up", stringsSchema, abiChunks, b1, b2) // no keys: input_partition_key gives ""
	runOK(t, r, h, mem)
	if got, want := h.result().data.String(), `[":x",":y,z"]`; got != want {
		t.Errorf("batches = %s, want %s", got, want)
	}
	if h.keyCalls != 3 {
		t.Errorf("input_partition_key called %d times for 3 chunks", h.keyCalls)
	}
}

// TestOtherArrowInputsAskNoKeys: only a *PartitionReader pays for input_partition_key.
func TestOtherArrowInputsAskNoKeys(t *testing.T) {
	mem := memory.NewGoAllocator()
	b := stringRecord(mem, "x")
	defer b.Release()
	for name, fn := range map[string]any{
		"record": func(_ *Context, in arrow.Record) ([]byte, error) { return nil, nil },
		"reader": func(_ *Context, in array.RecordReader) ([]byte, error) {
			for in.Next() {
			}
			return nil, in.Err()
		},
	} {
		r := mustRegister(t, "a", fn, InMapped("up", "up", AllMapping()))
		h := newFakeHost(t, invocation("a", nil))
		h.addPartitionedInput("up", stringsSchema, fakePartition{"p", []arrow.Record{b}})
		runOK(t, r, h, mem)
		if h.keyCalls != 0 {
			t.Errorf("%s input: input_partition_key called %d times", name, h.keyCalls)
		}
	}
}

func TestPartitionReaderHostError(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := stringRecord(mem, "x")
	defer b.Release()
	r := mustRegister(t, "a", readPartitions, Ins("up"))
	h := newFakeHost(t, invocation("a", nil))
	h.addPartitionedInput("up", stringsSchema, fakePartition{"p", []arrow.Record{b}})
	h.fail["input_partition_key"], h.failMsg = statusErrInvalid, "unknown input handle 9"
	if st := r.run(h, mem); st != runFailure {
		t.Fatalf("status = %d, want failure", st)
	}
	want := `asset "a": input "up": arrow/ipc: could not read message schema: arrow/ipc: could not read continuation indicator: input_partition_key returned ERR_INVALID: unknown input handle 9`
	if got := h.errorText(); got != want {
		t.Errorf("error:\n got %s\nwant %s", got, want)
	}
	if h.open != 0 {
		t.Errorf("%d handles left open", h.open)
	}
}

func TestPartitionReaderIsNotAResult(t *testing.T) {
	r := newRegistry()
	r.addAsset("a", func(*Context) (*PartitionReader, error) { return nil, nil }, nil)
	errs := r.problems()
	want := `asset "a": result: *wasmorch.PartitionReader reads inputs only; return an arrow.Record or an array.RecordReader`
	if len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("problems = %v, want %s", errs, want)
	}
}

func TestNewPartitionReader(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b1, b2, b3 := stringRecord(mem, "a"), stringRecord(mem, "b", "c"), stringRecord(mem, "d")
	rdr, err := NewPartitionReader(stringsSchema,
		PartitionBatch{"2026-01-01", b1}, PartitionBatch{"2026-01-01", b2}, PartitionBatch{"2026-01-02", b3})
	if err != nil {
		t.Fatal(err)
	}
	b1.Release() // the reader holds its own references
	b2.Release()
	b3.Release()
	got, err := readPartitions(NewTestContext(), rdr)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"2026-01-01:a", "2026-01-01:b,c", "2026-01-02:d"}; !reflect.DeepEqual(got, want) {
		t.Errorf("batches = %q, want %q", got, want)
	}
	if rdr.Next() || rdr.Record() != nil {
		t.Errorf("Next after the end gave a batch")
	}
	if rdr.Schema() != stringsSchema {
		t.Errorf("Schema() is not the given schema")
	}
	rdr.Retain()
	rdr.Release()
	rdr.Release()

	other := int64Record(mem, ints(1)...)
	defer other.Release()
	if _, err := NewPartitionReader(stringsSchema, PartitionBatch{"k", other}); err == nil || !strings.Contains(err.Error(), `batch 0 (partition "k") has the schema`) {
		t.Errorf("mismatched schema: err = %v", err)
	}
	if _, err := NewPartitionReader(stringsSchema, PartitionBatch{Key: "k"}); err == nil || err.Error() != `NewPartitionReader: batch 0 (partition "k") has a nil Record` {
		t.Errorf("nil record: err = %v", err)
	}
}
