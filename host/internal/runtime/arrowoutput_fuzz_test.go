package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/wasmorch/wasmorch/host/iomanager"
)

// fuzzArrowSchema is the declared schema of the Arrow output in FuzzArrowOutput.
var fuzzArrowSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// arrowStream encodes batches of (id, name) rows as an Arrow IPC stream; a nil id is a null.
func arrowStream(tb testing.TB, schema *arrow.Schema, batches ...[]*int64) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	for _, ids := range batches {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i, id := range ids {
			if id == nil {
				b.Field(0).AppendNull()
			} else if ib, ok := b.Field(0).(*array.Int64Builder); ok {
				ib.Append(*id)
			} else {
				b.Field(0).(*array.Int32Builder).Append(int32(*id))
			}
			if len(schema.Fields()) > 1 {
				b.Field(1).(*array.StringBuilder).Append(strings.Repeat("x", i))
			}
		}
		rec := b.NewRecord()
		if err := w.Write(rec); err != nil {
			tb.Fatal(err)
		}
		rec.Release()
		b.Release()
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// storeLikeFS consumes records the way the file-system IO manager does, writing them as an Arrow
// file (to memory), and reads the file back.
func storeLikeFS(ctx context.Context, v iomanager.Value) (string, error) {
	if v.Records == nil {
		return "", errors.New("no records")
	}
	var file seekBuffer
	fw, err := ipc.NewFileWriter(&file, ipc.WithSchema(v.Records.Schema()))
	if err != nil {
		return "", err
	}
	rows := int64(0)
	for v.Records.Next() {
		rec := v.Records.Record()
		rows += rec.NumRows()
		if err := fw.Write(rec); err != nil {
			return "", err
		}
	}
	if err := v.Records.Err(); err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	if err := fw.Close(); err != nil {
		return "", err
	}
	fr, err := ipc.NewFileReader(bytes.NewReader(file.buf))
	if err != nil {
		return "", fmt.Errorf("read back: %w", err)
	}
	defer fr.Close()
	back := int64(0)
	for i := 0; i < fr.NumRecords(); i++ {
		rec, err := fr.Record(i)
		if err != nil {
			return "", fmt.Errorf("read back: %w", err)
		}
		back += rec.NumRows()
	}
	if back != rows {
		return "", fmt.Errorf("read back %d rows, wrote %d", back, rows)
	}
	return fmt.Sprintf("memory://rows/%d", rows), nil
}

// seekBuffer is an in-memory io.WriteSeeker.
type seekBuffer struct {
	buf []byte
	off int
}

func (s *seekBuffer) Write(p []byte) (int, error) {
	if need := s.off + len(p); need > len(s.buf) {
		s.buf = append(s.buf, make([]byte, need-len(s.buf))...)
	}
	s.off += copy(s.buf[s.off:], p)
	return len(p), nil
}

func (s *seekBuffer) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += int64(s.off)
	case io.SeekEnd:
		offset += int64(len(s.buf))
	}
	if offset < 0 {
		return 0, errors.New("negative position")
	}
	s.off = int(offset)
	return offset, nil
}

// decodeStream reads a whole Arrow IPC stream, apart from the host's pipe, storing goroutine and
// schema checks, and checks that every batch is usable: each column's null count can be computed
// and the batch encodes again. err is set when the stream does not decode or a batch is not
// usable. It reads through arrowChecker and checkedRecords too, because arrow-go alone can
// allocate without bound on fuzzed bytes; TestArrowOutputAcceptsValidTypes and the valid seeds
// keep the checks from refusing what arrow-go reads correctly.
func decodeStream(data []byte) (schema *arrow.Schema, rows int64, nulls bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("arrow-go panicked: %v", r)
		}
	}()
	chk := newArrowChecker(bytes.NewReader(data), 1<<30)
	ipcReader, err := ipc.NewReader(chk)
	if err != nil {
		return nil, 0, false, err
	}
	defer ipcReader.Release()
	rdr := newCheckedRecords(ipcReader, chk)
	var file seekBuffer
	fw, err := ipc.NewFileWriter(&file, ipc.WithSchema(rdr.Schema()))
	if err != nil {
		return nil, 0, false, err
	}
	for rdr.Next() {
		rec := rdr.Record()
		rows += rec.NumRows()
		for i, col := range rec.Columns() {
			if col.NullN() > 0 && rdr.Schema().Field(i).Name == "id" {
				nulls = true
			}
		}
		if err := fw.Write(rec); err != nil {
			return nil, 0, false, err
		}
	}
	if err := rdr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, false, err
	}
	return rdr.Schema(), rows, nulls, fw.Close()
}

// FuzzArrowOutput writes fuzzed bytes to an Arrow output through the host functions a guest
// calls (output_open, output_write in chunks of a fuzzed size, output_close), from the memory of
// a real wazero module, with and without a declared schema (writeArrowOutput). The host checks
// each message (arrowChecker), decodes it with arrow-go's ipc.NewReader on its storing goroutine,
// checks the values, the schema and the non-null column, and hands the records to a store that
// writes them as the file-system IO manager does. It must never panic, nor allocate by a length
// the bytes do not back: Go's out of memory would end the fuzzer. When the bytes are not a whole,
// valid stream, the step must fail with a message; when the host accepts them, they must decode
// directly (decodeStream) to the rows the host counted, and match the declared schema. The seed
// corpus is in testdata/fuzz/FuzzArrowOutput, with the streams of badArrowStreams; plain
// `go test` runs it.
func FuzzArrowOutput(f *testing.F) {
	one, two, three := int64(1), int64(2), int64(3)
	valid := arrowStream(f, fuzzArrowSchema, []*int64{&one, &two}, []*int64{&three})
	other := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int32}}, nil)
	for _, s := range []struct {
		data     []byte
		chunk    uint16
		declared bool
	}{
		{valid, 0, true},
		{valid, 7, true},
		{valid, 1, false},
		{arrowStream(f, fuzzArrowSchema), 0, true},
		{arrowStream(f, fuzzArrowSchema, []*int64{&one, nil}), 0, true},
		{arrowStream(f, fuzzArrowSchema, []*int64{&one, nil}), 0, false},
		{arrowStream(f, other, []*int64{&one}), 3, true},
		{arrowStream(f, other, []*int64{&one}), 3, false},
		{valid[:len(valid)-8], 0, true},                                   // no end-of-stream marker
		{valid[:len(valid)/2], 0, true},                                   // cut in the middle of a batch
		{append(bytes.Clone(valid), 1, 2, 3), 0, true},                    // data after the end of the stream
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xf0, 0xff, 0xff, 0xff}, 0, true}, // negative metadata length
		{[]byte{0xff, 0xff, 0xff, 0xff, 0x08, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8}, 0, true},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00}, 0, true}, // only the end marker
		{[]byte("\x10\x00\x00\x00not arrow at all"), 5, false},
		{nil, 0, true},
	} {
		f.Add(s.data, s.chunk, s.declared)
	}
	const pages = 4 // 256 KiB
	mod := memoryModule(f, pages)
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16, declared bool) {
		if len(data) > pages<<16-64 {
			return
		}
		var schema *arrow.Schema
		if declared {
			schema = fuzzArrowSchema
		}
		run := writeArrowOutput(t, mod, data, int(chunk), schema, 1<<30, storeLikeFS)
		hostOK, st := run.ok(), run.st

		schema, rows, nulls, err := decodeStream(data)
		handle := st.outputs["result"]
		switch {
		case hostOK && err != nil:
			t.Fatalf("the host stored bytes arrow-go cannot decode (%v): %q", err, data)
		case hostOK && handle.rows != rows:
			t.Fatalf("the host counted %d rows, the stream has %d", handle.rows, rows)
		case hostOK && declared && (len(compareSchemas(fuzzArrowSchema, schema)) > 0 || nulls):
			t.Fatalf("the host accepted schema %s (nulls in id: %v) for declared %s", schema, nulls, fuzzArrowSchema)
		case !hostOK && err == nil && st.fatal.Kind != FailureSchema && !strings.Contains(st.fatal.Message, errAfterEnd.Error()):
			t.Fatalf("the host refused a valid stream: %s", st.fatal.Message)
		}
	})
}
