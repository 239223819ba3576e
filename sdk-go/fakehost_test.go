package wasmorch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// fakeHost is an in-memory wasmorch host: the byte streams and status codes a real host would
// produce, so the dispatcher runs natively. It follows ABI.md section 4 closely enough to catch
// SDK mistakes (reads past a chunk, writes after close, double opens).
type fakeHost struct {
	t          *testing.T
	invocation []byte
	inputs     map[string]fakeInput
	maxRead    int              // caps each input_read, to exercise partial reads; 0 = no cap
	fail       map[string]int32 // host function name -> status it returns
	failMsg    string           // last error recorded with a failure from fail
	nextCalls  int              // input_next calls so far
	failNextAt int              // when > 0, the input_next call with this number and later ones fail with ERR_IO
	keyCalls   int              // input_partition_key calls so far
	// keyCopied makes input_partition_key return the bytes it copied rather than the key's full
	// length, to check that the SDK still reads long keys whole.
	keyCopied bool

	lastErr string
	handles map[int32]*fakeHandle
	next    int32
	open    int // open input handles, to check that the SDK closes what it opens
	outputs map[string]*fakeOutput
	opened  []string  // output names in the order they were opened
	check   *[2]int32 // passed, severity from check_result
	// anyOutput lets op steps open outputs of any name; assets have only "result".
	anyOutput bool
	errMsg    *string
	logs      []fakeLog
	metadata  []string
	manifest  [][]byte
}

type fakeInput struct {
	format format
	chunks [][]byte
	keys   []string // the partition key of each chunk; nil for an unpartitioned input
}

type fakeHandle struct {
	input  *fakeInput
	output *fakeOutput
	chunk  int    // index of the current chunk; -1 before the first input_next
	rest   []byte // unread part of the current chunk
}

type fakeOutput struct {
	format format
	data   bytes.Buffer
	closed bool
	writes int
}

type fakeLog struct {
	level int32
	msg   string
}

func newFakeHost(t *testing.T, inv map[string]any) *fakeHost {
	t.Helper()
	js, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeHost{
		t:          t,
		invocation: js,
		inputs:     map[string]fakeInput{},
		fail:       map[string]int32{},
		handles:    map[int32]*fakeHandle{},
		outputs:    map[string]*fakeOutput{},
	}
}

// invocation returns a minimal asset invocation for name, with extra fields merged in.
func invocation(name string, extra map[string]any) map[string]any {
	inv := map[string]any{
		"abi_version": 1, "kind": "asset", "name": name, "run_id": "run-1", "step_key": name,
		"attempt": 1, "partition_key": "", "partition_window": nil, "config": map[string]any{},
		"outputs": []any{map[string]any{"name": "result"}}, "cursor": "", "some_future_field": 7,
	}
	for k, v := range extra {
		inv[k] = v
	}
	return inv
}

func (h *fakeHost) failed(call string) (int32, bool) {
	st, ok := h.fail[call]
	if ok {
		h.lastErr = h.failMsg
	}
	return st, ok
}

func (h *fakeHost) errf(code int32, msgFormat string, args ...any) int32 {
	h.lastErr = fmt.Sprintf(msgFormat, args...)
	return code
}

func (h *fakeHost) lastErrorLen() int32 { return int32(len(h.lastErr)) }

func (h *fakeHost) lastErrorRead(buf []byte) int32 { return int32(copy(buf, h.lastErr)) }

func (h *fakeHost) invocationLen() int32 { return int32(len(h.invocation)) }

func (h *fakeHost) invocationRead(buf []byte) int32 { return int32(copy(buf, h.invocation)) }

func (h *fakeHost) newHandle(fh *fakeHandle) int32 {
	h.next++
	h.handles[h.next] = fh
	if fh.input != nil {
		h.open++
	}
	return h.next
}

func (h *fakeHost) inputOpen(name string) int32 {
	if st, ok := h.failed("input_open"); ok {
		return st
	}
	in, ok := h.inputs[name]
	if !ok {
		return h.errf(statusErrNotFound, "no input named %q", name)
	}
	return h.newHandle(&fakeHandle{input: &in, chunk: -1})
}

func (h *fakeHost) inputHandle(handle int32) (*fakeHandle, int32) {
	fh, ok := h.handles[handle]
	if !ok || fh.input == nil {
		return nil, h.errf(statusErrInvalid, "unknown input handle %d", handle)
	}
	return fh, statusOK
}

func (h *fakeHost) inputFormat(handle int32) int32 {
	fh, st := h.inputHandle(handle)
	if fh == nil {
		return st
	}
	return int32(fh.input.format)
}

func (h *fakeHost) inputNext(handle int32) int64 {
	if st, ok := h.failed("input_next"); ok {
		return int64(st)
	}
	h.nextCalls++
	if h.failNextAt > 0 && h.nextCalls >= h.failNextAt {
		return int64(h.errf(statusErrIO, "the IO manager lost the file"))
	}
	fh, st := h.inputHandle(handle)
	if fh == nil {
		return int64(st)
	}
	if fh.chunk+1 >= len(fh.input.chunks) {
		fh.chunk, fh.rest = len(fh.input.chunks), nil
		return 0
	}
	fh.chunk++
	fh.rest = fh.input.chunks[fh.chunk]
	return int64(len(fh.rest))
}

func (h *fakeHost) inputRead(handle int32, buf []byte) int32 {
	fh, st := h.inputHandle(handle)
	if fh == nil {
		return st
	}
	if h.maxRead > 0 && len(buf) > h.maxRead {
		buf = buf[:h.maxRead]
	}
	n := copy(buf, fh.rest)
	fh.rest = fh.rest[n:]
	return int32(n)
}

func (h *fakeHost) inputClose(handle int32) int32 {
	if _, st := h.inputHandle(handle); st != statusOK {
		return st
	}
	delete(h.handles, handle)
	h.open--
	return statusOK
}

// inputPartitionKey gives the current chunk's key: "" before the first chunk, after the last and
// for an unpartitioned input.
func (h *fakeHost) inputPartitionKey(handle int32, buf []byte) int32 {
	if st, ok := h.failed("input_partition_key"); ok {
		return st
	}
	h.keyCalls++
	fh, st := h.inputHandle(handle)
	if fh == nil {
		return st
	}
	key := ""
	if fh.chunk >= 0 && fh.chunk < len(fh.input.keys) {
		key = fh.input.keys[fh.chunk]
	}
	n := copy(buf, key)
	if h.keyCopied {
		return int32(n)
	}
	return int32(len(key))
}

func (h *fakeHost) outputOpen(name string, f format) int32 {
	if st, ok := h.failed("output_open"); ok {
		return st
	}
	if name != outputResult && !h.anyOutput {
		return h.errf(statusErrNotFound, "no output named %q", name)
	}
	if _, ok := h.outputs[name]; ok {
		return h.errf(statusErrState, "output %q is already open or closed", name)
	}
	out := &fakeOutput{format: f}
	h.outputs[name] = out
	h.opened = append(h.opened, name)
	return h.newHandle(&fakeHandle{output: out})
}

func (h *fakeHost) outputHandle(handle int32) (*fakeOutput, int32) {
	fh, ok := h.handles[handle]
	if !ok || fh.output == nil {
		return nil, h.errf(statusErrInvalid, "unknown output handle %d", handle)
	}
	if fh.output.closed {
		return nil, h.errf(statusErrState, "output is closed")
	}
	return fh.output, statusOK
}

func (h *fakeHost) outputWrite(handle int32, p []byte) int32 {
	if st, ok := h.failed("output_write"); ok {
		return st
	}
	out, st := h.outputHandle(handle)
	if out == nil {
		return st
	}
	out.data.Write(p)
	out.writes++
	return statusOK
}

func (h *fakeHost) outputClose(handle int32) int32 {
	out, st := h.outputHandle(handle)
	if out == nil {
		return st
	}
	if out.format == formatJSON && !json.Valid(out.data.Bytes()) {
		return h.errf(statusErrInvalid, "output is not valid JSON")
	}
	out.closed = true
	delete(h.handles, handle)
	return statusOK
}

func (h *fakeHost) errorSet(msg string) int32 {
	h.errMsg = &msg
	return statusOK
}

func (h *fakeHost) resourceCall(key string, req []byte) int64 {
	return int64(h.errf(statusErrDenied, "no resource %q is granted", key))
}

func (h *fakeHost) responseRead(buf []byte) int32 { return 0 }

func (h *fakeHost) checkResult(passed, severity int32) int32 {
	if st, ok := h.failed("check_result"); ok {
		return st
	}
	h.check = &[2]int32{passed, severity}
	return statusOK
}

func (h *fakeHost) metadataAdd(js []byte) int32 {
	if st, ok := h.failed("metadata_add"); ok {
		return st
	}
	h.metadata = append(h.metadata, string(js))
	return statusOK
}

func (h *fakeHost) log(level int32, msg string) int32 {
	if st, ok := h.failed("log"); ok {
		return st
	}
	h.logs = append(h.logs, fakeLog{level, msg})
	return statusOK
}

func (h *fakeHost) manifestWrite(p []byte) int32 {
	if st, ok := h.failed("manifest_write"); ok {
		return st
	}
	h.manifest = append(h.manifest, bytes.Clone(p))
	return statusOK
}

// abiChunks tells addArrowInput to cut the stream as ABI.md 4.3 describes: the schema with the
// first batch, then one batch per chunk, then the end-of-stream marker.
const abiChunks = 0

// addArrowInput makes the batches one IPC stream. With a chunkSize above 0 it cuts the stream
// into chunks of that many bytes, deliberately not at message boundaries, so the reader must
// not rely on them; with abiChunks it cuts at the boundaries the ABI promises.
func (h *fakeHost) addArrowInput(name string, schema *arrow.Schema, chunkSize int, batches ...arrow.Record) {
	var buf bytes.Buffer
	var ends []int // where each Write (and Close) left the stream
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	for _, b := range batches {
		if err := w.Write(b); err != nil {
			h.t.Fatal(err)
		}
		ends = append(ends, buf.Len())
	}
	if err := w.Close(); err != nil {
		h.t.Fatal(err)
	}
	ends = append(ends, buf.Len())
	var chunks [][]byte
	data := buf.Bytes()
	if chunkSize == abiChunks {
		start := 0
		for _, end := range ends {
			if end > start {
				chunks = append(chunks, data[start:end])
			}
			start = end
		}
	} else {
		for len(data) > 0 {
			n := min(chunkSize, len(data))
			chunks = append(chunks, data[:n])
			data = data[n:]
		}
	}
	h.inputs[name] = fakeInput{format: formatArrow, chunks: chunks}
}

// fakePartition is the batches of one upstream partition, for addPartitionedInput.
type fakePartition struct {
	key     string
	batches []arrow.Record
}

// addPartitionedInput makes the partitions' batches one IPC stream cut as ABI.md 4.3 says for an
// input that reads several partitions: the schema with the first batch, each batch in a chunk of
// its own with its partition's key, then the end-of-stream marker alone with the key "".
func (h *fakeHost) addPartitionedInput(name string, schema *arrow.Schema, parts ...fakePartition) {
	var recs []arrow.Record
	var keys []string
	for _, p := range parts {
		for _, b := range p.batches {
			recs = append(recs, b)
			keys = append(keys, p.key)
		}
	}
	h.addArrowInput(name, schema, abiChunks, recs...)
	in := h.inputs[name]
	if len(in.chunks) != len(keys)+1 {
		h.t.Fatalf("addPartitionedInput: %d chunks for %d batches", len(in.chunks), len(keys))
	}
	in.keys = append(keys, "")
	h.inputs[name] = in
}

func (h *fakeHost) addInput(name string, f format, data []byte) {
	h.inputs[name] = fakeInput{format: f, chunks: [][]byte{data}}
}

// result returns the closed result output, failing the test if there is none.
func (h *fakeHost) result() *fakeOutput {
	h.t.Helper()
	out, ok := h.outputs[outputResult]
	if !ok {
		h.t.Fatalf("no result output was opened (error_set: %v)", h.errorText())
	}
	if !out.closed {
		h.t.Fatal("the result output was not closed")
	}
	return out
}

// resultRecords decodes the result as an Arrow IPC stream.
func (h *fakeHost) resultRecords(mem memory.Allocator) []arrow.Record {
	h.t.Helper()
	out := h.result()
	if out.format != formatArrow {
		h.t.Fatalf("result format = %s, want arrow", out.format)
	}
	rdr, err := ipc.NewReader(bytes.NewReader(out.data.Bytes()), ipc.WithAllocator(mem))
	if err != nil {
		h.t.Fatal(err)
	}
	defer rdr.Release()
	var recs []arrow.Record
	for rdr.Next() {
		r := rdr.Record()
		r.Retain()
		recs = append(recs, r)
	}
	if err := rdr.Err(); err != nil {
		h.t.Fatal(err)
	}
	return recs
}

func (h *fakeHost) errorText() string {
	if h.errMsg == nil {
		return "<not set>"
	}
	return *h.errMsg
}
