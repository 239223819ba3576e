package runtime

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/host/iomanager"
)

var updateArrowCorpus = flag.Bool("update-arrow-corpus", false, "write the bad Arrow streams to FuzzArrowOutput's seed corpus")

// arrowOutputRun is what happened when bytes were written to an Arrow output.
type arrowOutputRun struct {
	st          *callState
	writeFailed bool  // an output_write failed
	closed      int32 // output_close's status
}

func (r arrowOutputRun) ok() bool { return !r.writeFailed && r.closed == abi.OK }

// writeArrowOutput writes data to the Arrow output "result" of an asset step the way a guest
// does: output_open, output_write in chunks of chunk bytes (all at once if 0) from the memory of
// a real wazero module, and output_close. The host decodes the stream on its storing goroutine
// and hands the records to store. A failed call must fail the step with a message.
func writeArrowOutput(tb testing.TB, mod api.Module, data []byte, chunk int, declared *arrow.Schema, maxOutput int64, store func(context.Context, iomanager.Value) (string, error)) arrowOutputRun {
	tb.Helper()
	const nameAt, dataAt = 0, 64
	mem := mod.Memory()
	if !mem.Write(nameAt, []byte("result")) || !mem.Write(dataAt, data) {
		tb.Fatalf("%d bytes do not fit in the module's memory", len(data))
	}
	ctx := context.Background()
	st := &callState{
		mode:      modeRun,
		ctx:       ctx,
		logs:      newLogSink(nil),
		maxOutput: maxOutput,
		step: &Step{
			Invocation: Invocation{Kind: "asset", Name: "a", StepKey: "a"},
			Outputs:    map[string]Output{"result": {Format: abi.FormatArrow, Store: store, Schema: declared}},
		},
	}
	call := func(fn string, args ...uint64) int32 {
		tb.Helper()
		stack := make([]uint64, 4)
		copy(stack, args)
		hostFuncs[fn](ctx, st, mod, stack)
		return api.DecodeI32(stack[0])
	}
	h := call(abi.FnOutputOpen, nameAt, uint64(len("result")), uint64(abi.FormatArrow))
	if h < 0 {
		tb.Fatalf("output_open = %s: %s", abi.StatusName(h), st.lastErr)
	}
	if chunk <= 0 {
		chunk = len(data)
	}
	run := arrowOutputRun{st: st}
	for off := 0; off < len(data) && !run.writeFailed; off += chunk {
		n := min(chunk, len(data)-off)
		if code := call(abi.FnOutputWrite, uint64(h), uint64(dataAt+off), uint64(n)); code != abi.OK {
			if st.fatal == nil || st.fatal.Message == "" {
				tb.Fatalf("output_write = %s without failing the step", abi.StatusName(code))
			}
			run.writeFailed = true
		}
	}
	run.closed = call(abi.FnOutputClose, uint64(h))
	st.abortOutputs()
	if !run.ok() && (st.fatal == nil || strings.TrimSpace(st.fatal.Message) == "") {
		tb.Fatalf("the output failed (close = %s) without failing the step with a message", abi.StatusName(run.closed))
	}
	return run
}

// ---- building bad streams ----

// ipcMessage is where one encapsulated message of a stream lies.
type ipcMessage struct {
	prefix, meta, body int // offsets in the stream: length prefix, metadata, body
	metaLen, bodyLen   int
}

// ipcMessages splits a well-formed stream into its messages (not the end-of-stream marker).
func ipcMessages(tb testing.TB, data []byte) []ipcMessage {
	tb.Helper()
	var msgs []ipcMessage
	for off := 0; off+8 <= len(data); {
		n := int(int32(binary.LittleEndian.Uint32(data[off+4:])))
		if n == 0 {
			break
		}
		m := ipcMessage{prefix: off, meta: off + 8, metaLen: n, body: off + 8 + n}
		msg, err := fb(data[m.meta : m.meta+n]).table(fb(data[m.meta:]).u32root())
		if err != nil {
			tb.Fatal(err)
		}
		bodyLen, _ := msg.i64(10)
		m.bodyLen = int(bodyLen)
		msgs = append(msgs, m)
		off = m.body + m.bodyLen
	}
	return msgs
}

// header returns the metadata of message i and its header table (Schema, RecordBatch or
// DictionaryBatch); positions in them are relative to the metadata's start, msgs[i].meta.
func header(tb testing.TB, data []byte, m ipcMessage) (fb, fbTable, fbTable) {
	tb.Helper()
	meta := fb(data[m.meta : m.meta+m.metaLen])
	msg, err := meta.table(meta.u32root())
	if err != nil {
		tb.Fatal(err)
	}
	h, err := msg.table(8)
	if err != nil {
		tb.Fatal(err)
	}
	return meta, msg, h
}

func slotAt(tb testing.TB, t fbTable, vt uint16) int {
	tb.Helper()
	at, err := t.slot(vt)
	if err != nil || at == 0 {
		tb.Fatalf("field %d is absent (%v)", vt, err)
	}
	return int(at)
}

// vectorAt returns where the vector field vt of t starts (its first element) and its length.
func vectorAt(tb testing.TB, t fbTable, vt uint16, size int) (int, int) {
	tb.Helper()
	start, n, err := t.vector(vt, size)
	if err != nil || start == 0 {
		tb.Fatalf("vector %d: %v", vt, err)
	}
	return int(start), n
}

// pointAt makes the uoffset stored at at (in meta) refer to target, backwards or forwards.
func pointAt(meta fb, at, target int) {
	binary.LittleEndian.PutUint32(meta[at:], uint32(target-at))
}

// batchBuffer returns the offset and length of buffer i of a record batch.
func batchBuffer(tb testing.TB, data []byte, m ipcMessage, i int) (int, int) {
	tb.Helper()
	meta, _, rb := header(tb, data, m)
	start, n := vectorAt(tb, rb, 8, 16)
	if i >= n {
		tb.Fatalf("the batch has %d buffers", n)
	}
	at := start + 16*i
	return int(binary.LittleEndian.Uint64(meta[at:])), int(binary.LittleEndian.Uint64(meta[at+8:]))
}

// nestedSchema is a struct column nested levels deep: each level's first child is the next
// level, and the others (fan-1 of them) are int8 leaves. The top field has custom metadata.
func nestedSchema(levels, fan int) *arrow.Schema {
	var dt arrow.DataType = arrow.PrimitiveTypes.Int8
	for range levels {
		fields := []arrow.Field{{Name: "next", Type: dt, Nullable: true}}
		for j := 1; j < fan; j++ {
			fields = append(fields, arrow.Field{Name: fmt.Sprintf("leaf%d", j), Type: arrow.PrimitiveTypes.Int8, Nullable: true})
		}
		dt = arrow.StructOf(fields...)
	}
	md := arrow.NewMetadata([]string{"owner"}, []string{"wasmorch"})
	return arrow.NewSchema([]arrow.Field{{Name: "s", Type: dt, Nullable: true, Metadata: md}}, nil)
}

func schemaOnly(tb testing.TB, schema *arrow.Schema) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// firstField returns the table of the schema's field 0.
func firstField(tb testing.TB, data []byte, m ipcMessage) (fb, fbTable) {
	tb.Helper()
	meta, _, schema := header(tb, data, m)
	f, err := schema.vectorTable(6, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return meta, f
}

// typedStream is a stream of one batch of a single nullable column "c" of type dt with the
// values of a JSON array, passed to bad, with its last message (the record batch), to change.
func typedStream(tb testing.TB, dt arrow.DataType, values string, bad func(data []byte, batch ipcMessage)) []byte {
	tb.Helper()
	arr, _, err := array.FromJSON(memory.DefaultAllocator, dt, strings.NewReader(values))
	if err != nil {
		tb.Fatal(err)
	}
	defer arr.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "c", Type: dt, Nullable: true}}, nil)
	rec := array.NewRecord(schema, []arrow.Array{arr}, int64(arr.Len()))
	defer rec.Release()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := w.Write(rec); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	data := buf.Bytes()
	msgs := ipcMessages(tb, data)
	bad(data, msgs[len(msgs)-1])
	return data
}

// badArrowStreams are streams that made arrow-go v15 allocate without bound, recurse without
// end, or accept values that panic their readers, each with the step failure the host must give.
// maxOutput is the step's output limit (1 GiB if 0).
func badArrowStreams(tb testing.TB) []struct {
	name      string
	data      []byte
	maxOutput int64
	want      string
} {
	one, two, three := int64(1), int64(2), int64(3)
	valid := func() []byte { return arrowStream(tb, fuzzArrowSchema, []*int64{&one, &two, &three}) }
	batch := func(data []byte) ipcMessage { return ipcMessages(tb, data)[1] }
	patch := func(f func(data []byte)) []byte {
		data := valid()
		f(data)
		return data
	}
	compressed := func() []byte {
		var buf bytes.Buffer
		w := ipc.NewWriter(&buf, ipc.WithSchema(fuzzArrowSchema), ipc.WithLZ4(), ipc.WithMinSpaceSavings(-1))
		b := array.NewRecordBuilder(memory.DefaultAllocator, fuzzArrowSchema)
		defer b.Release()
		b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
		b.Field(1).(*array.StringBuilder).AppendValues([]string{"a", "bb", "ccc"}, nil)
		rec := b.NewRecord()
		defer rec.Release()
		if err := w.Write(rec); err != nil {
			tb.Fatal(err)
		}
		w.Close()
		return buf.Bytes()
	}
	const prefix = `output "result" is not a valid Arrow IPC stream: `
	cases := []struct {
		name      string
		data      []byte
		maxOutput int64
		want      string
	}{
		{name: "huge body length", data: patch(func(data []byte) {
			m := batch(data)
			_, msg, _ := header(tb, data, m)
			binary.LittleEndian.PutUint64(data[m.meta+slotAt(tb, msg, 10):], 987654321)
		}), want: "message 2: body length 987654321 exceeds the 56 bytes that follow it"},
		{name: "body length over the output limit", maxOutput: 4096, data: patch(func(data []byte) {
			m := batch(data)
			_, msg, _ := header(tb, data, m)
			binary.LittleEndian.PutUint64(data[m.meta+slotAt(tb, msg, 10):], 987654321)
		}), want: "message 2: body length 987654321 exceeds the step's output limit of 4096 bytes"},
		{name: "huge metadata length", data: patch(func(data []byte) {
			binary.LittleEndian.PutUint32(data[batch(data).prefix+4:], 0x7ffffff0)
		}), want: "message 2: metadata length 2147483632 exceeds the limit of 67108864 bytes"},
		{name: "metadata length past the end", data: patch(func(data []byte) {
			binary.LittleEndian.PutUint32(data[batch(data).prefix+4:], 1<<20)
		}), want: "message 2: metadata length 1048576 exceeds the 256 bytes that follow it"},
		{name: "negative metadata length", data: patch(func(data []byte) {
			binary.LittleEndian.PutUint32(data[batch(data).prefix+4:], 0xfffffff0)
		}), want: "message 2: metadata length -16 is negative"},
		{name: "huge field count", data: patch(func(data []byte) {
			m := ipcMessages(tb, data)[0]
			_, _, schema := header(tb, data, m)
			start, _ := vectorAt(tb, schema, 6, 4)
			binary.LittleEndian.PutUint32(data[m.meta+start-4:], 1_000_000)
		}), want: "message 1: schema fields: count 1000000 does not fit in the 184-byte metadata (1000000 entries of 4 bytes at 48)"},
		{name: "huge child count", data: func() []byte {
			data := schemaOnly(tb, nestedSchema(2, 2))
			m := ipcMessages(tb, data)[0]
			meta, f := firstField(tb, data, m)
			start, _ := vectorAt(tb, f, 14, 4)
			binary.LittleEndian.PutUint32(meta[start-4:], 0x40000000)
			return data
		}(), want: `message 1: schema field 0 ("s") children: count 1073741824 does not fit in the 416-byte metadata (1073741824 entries of 4 bytes at 156)`},
		{name: "huge custom metadata count", data: func() []byte {
			data := schemaOnly(tb, nestedSchema(1, 1))
			m := ipcMessages(tb, data)[0]
			meta, f := firstField(tb, data, m)
			start, _ := vectorAt(tb, f, 16, 4)
			binary.LittleEndian.PutUint32(meta[start-4:], 0x7fffffff)
			return data
		}(), want: `message 1: schema field 0 ("s") custom metadata: count 2147483647 does not fit in the 256-byte metadata (2147483647 entries of 4 bytes at 100)`},
		{name: "field nested in itself", data: func() []byte {
			data := schemaOnly(tb, nestedSchema(1, 1))
			m := ipcMessages(tb, data)[0]
			meta, f := firstField(tb, data, m)
			start, _ := vectorAt(tb, f, 14, 4)
			pointAt(meta, start, int(f.pos))
			return data
		}(), want: `message 1: schema field 0.0: the field contains itself`},
		{name: "one field referred to many times", data: func() []byte {
			// 8 levels of 8 children, where every child refers to the level's first: 64 fields
			// in the metadata, 8^8 as arrow-go would decode them.
			data := schemaOnly(tb, nestedSchema(8, 8))
			m := ipcMessages(tb, data)[0]
			meta, f := firstField(tb, data, m)
			for range 8 {
				start, n := vectorAt(tb, f, 14, 4)
				next, err := f.vectorTable(14, 0)
				if err != nil {
					tb.Fatal(err)
				}
				for j := 1; j < n; j++ {
					pointAt(meta, start+4*j, int(next.pos))
				}
				f = next
			}
			return data
		}(), want: "message 1: schema field 0.0.0.0.0.0.2.3.4: the schema refers to more fields, names and metadata than its 3728 bytes of metadata hold (is one referred to many times?)"},
		{name: "huge buffer length", data: patch(func(data []byte) {
			m := batch(data)
			meta, _, rb := header(tb, data, m)
			start, _ := vectorAt(tb, rb, 8, 16)
			binary.LittleEndian.PutUint64(meta[start+16+8:], 1<<40)
		}), want: "message 2: record batch buffer 1: length 1099511627776 at offset 0 runs past the end of the 48-byte body"},
		{name: "buffer past the end of its vector", data: patch(func(data []byte) {
			m := batch(data)
			meta, _, rb := header(tb, data, m)
			start, _ := vectorAt(tb, rb, 8, 16)
			binary.LittleEndian.PutUint32(meta[start-4:], 2)
		}), want: `message 2: record batch: column "name": the batch has 2 buffers, and its schema needs more`},
		{name: "huge uncompressed length", data: func() []byte {
			data := compressed()
			m := batch(data)
			off, _ := batchBuffer(tb, data, m, 1)
			binary.LittleEndian.PutUint64(data[m.body+off:], 1<<40)
			return data
		}(), want: "message 2: record batch buffer 1: uncompressed length 1099511627776 exceeds what is left of 30720 bytes (256 times the 120-byte body, at most the step's output limit)"},
		{name: "negative null count", data: patch(func(data []byte) {
			m := batch(data)
			meta, _, rb := header(tb, data, m)
			start, _ := vectorAt(tb, rb, 6, 16)
			binary.LittleEndian.PutUint64(meta[start+8:], ^uint64(0))
		}), want: `message 2: record batch: column "id": null count -1 is outside 0..3 (its length)`},
		{name: "decreasing string offsets", data: patch(func(data []byte) {
			m := batch(data)
			off, _ := batchBuffer(tb, data, m, 3) // name's offsets: 0 0 1 3
			binary.LittleEndian.PutUint32(data[m.body+off+8:], 9)
		}), want: `message 2: record batch: column "name": offset 3 is 3, less than offset 2 (9)`},
		{name: "list offset past the child", data: typedStream(tb, arrow.ListOf(arrow.PrimitiveTypes.Int32), `[[1, 2], [3]]`, func(data []byte, m ipcMessage) {
			off, _ := batchBuffer(tb, data, m, 1) // the list's offsets: 0 2 3
			binary.LittleEndian.PutUint32(data[m.body+off+8:], 9)
		}), want: `message 2: record batch: column "c": offset 2 is 9, beyond the 3 rows of the child array`},
		{name: "dictionary index past the dictionary", data: typedStream(tb, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}, `["x", "y", "x"]`, func(data []byte, m ipcMessage) {
			off, _ := batchBuffer(tb, data, m, 1) // the indices: 0 1 0
			data[m.body+off+1] = 5
		}), want: `message 3: record batch: column "c": row 1: dictionary index 5 is outside the 2 values of the dictionary`},
		{name: "union type code not in the union", data: typedStream(tb, arrow.SparseUnionOf([]arrow.Field{{Name: "i", Type: arrow.PrimitiveTypes.Int32, Nullable: true}, {Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, []arrow.UnionTypeCode{3, 7}), `[[3, 5], [7, "s"]]`, func(data []byte, m ipcMessage) {
			off, _ := batchBuffer(tb, data, m, 0) // the type codes: 3 7
			data[m.body+off] = 4
		}), want: `message 2: record batch: column "c": row 0: type code 4 is not one of the union's`},
		{name: "string view past its buffer", data: typedStream(tb, arrow.BinaryTypes.StringView, `["a string longer than twelve bytes"]`, func(data []byte, m ipcMessage) {
			off, _ := batchBuffer(tb, data, m, 1) // the views: size, prefix, buffer 0, offset 0
			binary.LittleEndian.PutUint32(data[m.body+off+12:], 100)
		}), want: `message 2: record batch: column "c": row 0: bytes 100..133 are outside the 33 bytes of buffer 0`},
	}
	for i := range cases {
		cases[i].want = prefix + cases[i].want
	}
	return cases
}

// TestArrowOutputRefusesBadStreams writes each bad stream through the host functions and checks
// the exact step failure: before the check, most of them ended the host process.
func TestArrowOutputRefusesBadStreams(t *testing.T) {
	mod := memoryModule(t, 4)
	for _, tc := range badArrowStreams(t) {
		t.Run(tc.name, func(t *testing.T) {
			limit := tc.maxOutput
			if limit == 0 {
				limit = 1 << 30
			}
			for _, chunk := range []int{0, 7} {
				run := writeArrowOutput(t, mod, tc.data, chunk, nil, limit, storeLikeFS)
				if run.ok() {
					t.Fatalf("chunk %d: the host accepted the stream", chunk)
				}
				if got := run.st.fatal.Message; got != tc.want {
					t.Fatalf("chunk %d: step failure\n got: %s\nwant: %s", chunk, got, tc.want)
				}
				if run.st.fatal.Kind != FailureHost {
					t.Errorf("chunk %d: failure kind %s, want %s", chunk, run.st.fatal.Kind, FailureHost)
				}
			}
		})
	}
}

// TestArrowOutputCorpusHasBadStreams keeps the bad streams in FuzzArrowOutput's seed corpus, so
// the fuzz target starts from them. Run with -args -update-arrow-corpus to write missing files.
func TestArrowOutputCorpusHasBadStreams(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzArrowOutput")
	for _, tc := range badArrowStreams(t) {
		name := "bad-" + strings.ReplaceAll(tc.name, " ", "-")
		if tc.maxOutput != 0 { // the fuzz target's limit is 1 GiB
			continue
		}
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint16(0)\nbool(false)\n", tc.data)
		got, err := os.ReadFile(filepath.Join(dir, name))
		if *updateArrowCorpus && (err != nil || string(got) != want) {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err != nil || string(got) != want {
			t.Errorf("%s: the seed corpus lacks this stream (%v); run go test -run ArrowOutputCorpus ./host/internal/runtime/ -args -update-arrow-corpus", name, err)
		}
	}
}

// TestArrowOutputAcceptsValidTypes writes one batch of every type the checks know, with nulls,
// through the host, plain and compressed: none may be refused, and the rows must match.
func TestArrowOutputAcceptsValidTypes(t *testing.T) {
	mod := memoryModule(t, 4)
	mem := memory.DefaultAllocator
	union := arrow.SparseUnionOf([]arrow.Field{{Name: "i", Type: arrow.PrimitiveTypes.Int32, Nullable: true}, {Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, []arrow.UnionTypeCode{3, 7})
	dense := arrow.DenseUnionOf([]arrow.Field{{Name: "i", Type: arrow.PrimitiveTypes.Int32, Nullable: true}, {Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, []arrow.UnionTypeCode{3, 7})
	columns := []struct {
		dt   arrow.DataType
		json string
	}{
		{arrow.PrimitiveTypes.Int64, `[1, null, 3]`},
		{arrow.FixedWidthTypes.Boolean, `[true, null, false]`},
		{arrow.PrimitiveTypes.Float32, `[1.5, null, 3]`},
		{&arrow.Decimal128Type{Precision: 10, Scale: 2}, `["1.25", null, "3.00"]`},
		{arrow.FixedWidthTypes.Timestamp_ms, `["2024-01-01T00:00:00", null, "2024-01-02T00:00:00"]`},
		{arrow.BinaryTypes.String, `["a", null, "ccc"]`},
		{arrow.BinaryTypes.LargeString, `["a", null, "ccc"]`},
		{arrow.BinaryTypes.Binary, `["YQ==", null, "Y2Nj"]`},
		{arrow.BinaryTypes.StringView, `["a", null, "a string longer than twelve bytes"]`},
		{&arrow.FixedSizeBinaryType{ByteWidth: 3}, `["YWFh", null, "Y2Nj"]`},
		{arrow.ListOf(arrow.PrimitiveTypes.Int32), `[[1, 2], null, []]`},
		{arrow.LargeListOf(arrow.BinaryTypes.String), `[["x"], null, ["y", null]]`},
		{arrow.ListViewOf(arrow.PrimitiveTypes.Int32), `[[1, 2], null, [3]]`},
		{arrow.FixedSizeListOf(2, arrow.PrimitiveTypes.Int16), `[[1, 2], null, [3, null]]`},
		{arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int8, Nullable: true}, arrow.Field{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true}), `[{"a": 1, "b": "x"}, null, {"a": null, "b": null}]`},
		{arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64), `[[{"key": "k", "value": 1}], null, []]`},
		{union, `[[3, 5], [7, "s"], [3, null]]`},
		{dense, `[[3, 5], [7, "s"], [7, null]]`},
		{&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}, `["x", null, "x"]`},
		{arrow.Null, `[null, null, null]`},
	}
	var fields []arrow.Field
	var cols []arrow.Array
	for i, c := range columns {
		arr, _, err := array.FromJSON(mem, c.dt, strings.NewReader(c.json))
		if err != nil {
			t.Fatalf("%s: %v", c.dt, err)
		}
		defer arr.Release()
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("c%d", i), Type: c.dt, Nullable: true})
		cols = append(cols, arr)
	}
	// Run-end encoded: runs [0, 2) = 7 and [2, 3) = null.
	runEnds, _, _ := array.FromJSON(mem, arrow.PrimitiveTypes.Int32, strings.NewReader(`[2, 3]`))
	values, _, _ := array.FromJSON(mem, arrow.PrimitiveTypes.Int64, strings.NewReader(`[7, null]`))
	ree := array.NewRunEndEncodedArray(runEnds, values, 3, 0)
	defer ree.Release()
	fields = append(fields, arrow.Field{Name: "ree", Type: ree.DataType(), Nullable: true})
	cols = append(cols, ree)
	schema := arrow.NewSchema(fields, nil)
	rec := array.NewRecord(schema, cols, 3)
	defer rec.Release()
	for _, opts := range []struct {
		name string
		opt  []ipc.Option
	}{{"plain", nil}, {"lz4", []ipc.Option{ipc.WithLZ4()}}, {"zstd", []ipc.Option{ipc.WithZstd()}}} {
		t.Run(opts.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := ipc.NewWriter(&buf, append(opts.opt, ipc.WithSchema(schema))...)
			for range 2 {
				if err := w.Write(rec); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			run := writeArrowOutput(t, mod, buf.Bytes(), 100, nil, 1<<30, storeLikeFS)
			if !run.ok() {
				t.Fatalf("refused: %s", run.st.fatal.Message)
			}
			if rows := run.st.outputs["result"].rows; rows != 6 {
				t.Fatalf("rows = %d, want 6", rows)
			}
		})
	}
}

// benchArrowStream is about 6 MiB of Arrow output: 12 batches of 32,768 rows of (id int64,
// name string of 0 to 15 bytes, a tenth of ids null).
func benchArrowStream(b *testing.B) []byte {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(fuzzArrowSchema))
	bld := array.NewRecordBuilder(memory.DefaultAllocator, fuzzArrowSchema)
	defer bld.Release()
	for batch := range 12 {
		for i := range 32768 {
			if i%10 == 0 {
				bld.Field(0).AppendNull()
			} else {
				bld.Field(0).(*array.Int64Builder).Append(int64(batch*32768 + i))
			}
			bld.Field(1).(*array.StringBuilder).Append(strings.Repeat("n", i%16))
		}
		rec := bld.NewRecord()
		if err := w.Write(rec); err != nil {
			b.Fatal(err)
		}
		rec.Release()
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// writeArrowFile consumes records as the file-system IO manager does, into memory.
func writeArrowFile(file *seekBuffer, rr array.RecordReader) error {
	file.buf, file.off = file.buf[:0], 0
	fw, err := ipc.NewFileWriter(file, ipc.WithSchema(rr.Schema()))
	if err != nil {
		return err
	}
	for rr.Next() {
		if err := fw.Write(rr.Record()); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil {
		return err
	}
	return fw.Close()
}

// BenchmarkArrowOutputCheck measures what checking an Arrow output costs: a 6 MiB stream
// decoded by arrow-go and written as an Arrow file, as the file-system IO manager writes it,
// without the checks (arrow-go alone, as the host did before) and with them (arrowChecker and
// checkedRecords), and the whole host path with the checks (output_write in 64 KiB chunks from a
// wazero module's memory, the pipe, the storing goroutine).
//
//	go test -run '^$' -bench ArrowOutputCheck -benchtime 2s -count 5 ./host/internal/runtime/
func BenchmarkArrowOutputCheck(b *testing.B) {
	data := benchArrowStream(b)
	var file seekBuffer
	b.Run("unchecked", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			rdr, err := ipc.NewReader(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			if err := writeArrowFile(&file, rdr); err != nil {
				b.Fatal(err)
			}
			rdr.Release()
		}
	})
	b.Run("checked", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			chk := newArrowChecker(bytes.NewReader(data), 1<<30)
			rdr, err := ipc.NewReader(chk)
			if err != nil {
				b.Fatal(err)
			}
			if err := writeArrowFile(&file, newCheckedRecords(rdr, chk)); err != nil {
				b.Fatal(err)
			}
			rdr.Release()
		}
	})
	b.Run("host-call-checked", func(b *testing.B) {
		pages := len(data)>>16 + 2
		if pages > 127 { // memoryModule writes the page count as one LEB128 byte
			b.Fatalf("%d bytes do not fit in 127 pages", len(data))
		}
		mod := memoryModule(b, byte(pages))
		store := func(_ context.Context, v iomanager.Value) (string, error) {
			return "memory://", writeArrowFile(&file, v.Records)
		}
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if run := writeArrowOutput(b, mod, data, 64<<10, nil, 1<<30, store); !run.ok() {
				b.Fatal(run.st.fatal.Message)
			}
		}
	})
}
