package wasmorch

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// invocationJSON holds the fields of the invocation (ABI.md section 8) this SDK reads; the ABI
// lets hosts add fields, which encoding/json ignores.
type invocationJSON struct {
	ABIVersion      int                  `json:"abi_version"`
	Kind            string               `json:"kind"`
	Name            string               `json:"name"`
	RunID           string               `json:"run_id"`
	StepKey         string               `json:"step_key"`
	Attempt         int                  `json:"attempt"`
	PartitionKey    string               `json:"partition_key"`
	PartitionWindow *partitionWindowJSON `json:"partition_window"`
	Config          json.RawMessage      `json:"config"`
	Inputs          []struct {
		Name  string `json:"name"`
		Asset string `json:"asset"`
	} `json:"inputs"`
	MappingKey string `json:"mapping_key"`
}

// partitionWindowJSON is the invocation's partition_window: RFC 3339 bounds of a time partition.
type partitionWindowJSON struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// hasInput reports whether the invocation lists an input named name: the inputs the host wired
// for this step.
func (inv *invocationJSON) hasInput(name string) bool {
	for _, in := range inv.Inputs {
		if in.Name == name {
			return true
		}
	}
	return false
}

// window parses the invocation's partition_window; nil when there is none.
func (inv *invocationJSON) window() (*partitionWindow, error) {
	w := inv.PartitionWindow
	if w == nil {
		return nil, nil
	}
	start, err := time.Parse(time.RFC3339, w.Start)
	if err != nil {
		return nil, fmt.Errorf("partition_window.start %q is not an RFC 3339 time", w.Start)
	}
	end, err := time.Parse(time.RFC3339, w.End)
	if err != nil {
		return nil, fmt.Errorf("partition_window.end %q is not an RFC 3339 time", w.End)
	}
	if !end.After(start) {
		return nil, fmt.Errorf("partition_window ends at %s, not after its start %s", w.End, w.Start)
	}
	return &partitionWindow{start: start, end: end}, nil
}

// outputBufferSize batches the many small writes of an Arrow IPC writer (message headers,
// padding) into fewer output_write calls. Writes larger than the buffer go straight through, so
// column data is not copied an extra time.
const outputBufferSize = 64 << 10

// dispatcher runs one step against a host: it is wasmorch_run without the wasm calling
// convention, so tests drive it with an in-memory host.
type dispatcher struct {
	h       hostABI
	mem     memory.Allocator
	scratch []byte // reused for the invocation and for JSON inputs, which are decoded at once
}

// run executes the step the host's invocation names and returns a wasmorch_run status. A
// returned error's text goes to error_set unchanged; a panic becomes "panic: <value>\n<stack>".
func (r *registry) run(h hostABI, mem memory.Allocator) (status int32) {
	d := &dispatcher{h: h, mem: mem}
	defer func() {
		if p := recover(); p != nil {
			// The deferred call runs on top of the panicking frames, so the stack still shows
			// where the panic happened.
			d.fail(fmt.Sprintf("panic: %v\n%s", p, debug.Stack()))
			status = runFailure
		}
	}()
	if err := d.step(r); err != nil {
		d.fail(err.Error())
		var retry retryRequested
		if errors.As(err, &retry) {
			return runRetryLater
		}
		return runFailure
	}
	return runSuccess
}

func (d *dispatcher) fail(msg string) {
	if d.h.errorSet(msg) < 0 {
		// Nothing else can carry the message; stderr at least reaches the event log.
		fmt.Fprintln(os.Stderr, msg)
	}
}

func (d *dispatcher) step(r *registry) error {
	inv, err := d.readInvocation()
	if err != nil {
		return fmt.Errorf("wasmorch: reading the invocation: %w", err)
	}
	ctx := newContext(hostSink{d.h})
	ctx.runID, ctx.assetKey, ctx.stepKey = inv.RunID, inv.Name, inv.StepKey
	ctx.partitionKey, ctx.attempt, ctx.alloc = inv.PartitionKey, inv.Attempt, d.mem
	ctx.kind, ctx.mappingKey = inv.Kind, inv.MappingKey
	if ctx.window, err = inv.window(); err != nil {
		return fmt.Errorf("wasmorch: reading the invocation: %w", err)
	}
	if len(inv.Config) > 0 && string(inv.Config) != "null" {
		ctx.config = inv.Config // json.RawMessage copies, so this does not alias the scratch buffer
	}
	switch inv.Kind {
	case invocationKindAsset:
	case invocationKindOp:
		return d.stepOp(r, inv, ctx)
	case invocationKindCheck:
		return d.stepCheck(r, inv, ctx)
	default:
		return fmt.Errorf("wasmorch: the invocation is for %s %q, but this SDK runs assets, ops and checks only", inv.Kind, inv.Name)
	}
	a, err := r.lookup(inv.Name)
	if err != nil {
		return fmt.Errorf("wasmorch: %w", err)
	}

	args := make([]reflect.Value, 1+len(a.ins))
	args[0] = reflect.ValueOf(ctx)
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()
	for i, in := range a.ins {
		v, cleanup, err := d.loadInput(in, a.inKinds[i], a.inTypes[i])
		if cleanup != nil {
			cleanups = append(cleanups, cleanup)
		}
		if err != nil {
			return fmt.Errorf("asset %q: input %q: %w", a.key, in.name, err)
		}
		args[i+1] = v
	}

	out := a.fn.Call(args)
	if err, _ := out[1].Interface().(error); err != nil {
		return err
	}
	if err := d.writeResult(a, out[0]); err != nil {
		return fmt.Errorf("asset %q: output %q: %w", a.key, outputResult, err)
	}
	return nil
}

func (d *dispatcher) readInvocation() (*invocationJSON, error) {
	n := d.h.invocationLen()
	if n < 0 {
		return nil, hostError(d.h, "invocation_len", int64(n))
	}
	d.scratch = slices.Grow(d.scratch[:0], int(n))[:n]
	m := d.h.invocationRead(d.scratch)
	if m < 0 {
		return nil, hostError(d.h, "invocation_read", int64(m))
	}
	var inv invocationJSON
	if err := json.Unmarshal(d.scratch[:m], &inv); err != nil {
		return nil, fmt.Errorf("decoding %d bytes of JSON: %w", m, err)
	}
	return &inv, nil
}

// loadInput opens the input in and decodes it into a value of type t. The cleanup it returns,
// possibly with an error, runs after the asset function: it releases Arrow data and closes the
// handle.
func (d *dispatcher) loadInput(in inputDef, k valueKind, t reflect.Type) (v reflect.Value, cleanup func(), err error) {
	handle := d.h.inputOpen(in.name)
	if handle < 0 {
		return v, nil, hostError(d.h, "input_open", int64(handle))
	}
	closeHandle := func() { d.h.inputClose(handle) }
	f := d.h.inputFormat(handle)
	if f < 0 {
		return v, closeHandle, hostError(d.h, "input_format", int64(f))
	}
	if format(f) != k.format() {
		return v, closeHandle, fmt.Errorf("the host sends it as %s, but the parameter type %s takes %s", format(f), t, k.format())
	}

	switch k {
	case kindRecord:
		rec, err := readRecord(&inputReader{h: d.h, handle: handle}, d.mem)
		closeHandle() // the stream is consumed; free the handle before the function runs
		if err != nil {
			return v, nil, err
		}
		return reflect.ValueOf(&rec).Elem(), rec.Release, nil

	case kindRecordReader:
		rdr, err := ipc.NewReader(&inputReader{h: d.h, handle: handle}, ipc.WithAllocator(d.mem))
		if err != nil {
			return v, closeHandle, err
		}
		var rr array.RecordReader = rdr
		return reflect.ValueOf(&rr).Elem(), func() { rdr.Release(); closeHandle() }, nil

	case kindPartitionReader:
		pr, err := openPartitionReader(d.h, handle, d.mem)
		if err != nil {
			return v, closeHandle, err
		}
		return reflect.ValueOf(pr), func() { pr.Release(); closeHandle() }, nil

	case kindBytes:
		data, err := d.readAll(handle, nil) // handed to the function, so not the scratch buffer
		closeHandle()
		if err != nil {
			return v, nil, err
		}
		return reflect.ValueOf(data), nil, nil
	}

	data, err := d.readAll(handle, d.scratch[:0])
	closeHandle()
	if err != nil {
		return v, nil, err
	}
	d.scratch = data[:0] // keep the grown buffer; decoding copies what it keeps
	ptr := reflect.New(t)
	if err := json.Unmarshal(data, ptr.Interface()); err != nil {
		return v, nil, fmt.Errorf("decoding JSON into %s: %w", t, err)
	}
	return ptr.Elem(), nil, nil
}

// readAll appends every chunk of the input to buf. Each chunk is read straight into its final
// place, so the data is copied once, by the host.
func (d *dispatcher) readAll(handle int32, buf []byte) ([]byte, error) {
	for {
		n := d.h.inputNext(handle)
		if n < 0 {
			return nil, hostError(d.h, "input_next", n)
		}
		if n == 0 {
			return buf, nil
		}
		end := len(buf) + int(n)
		buf = slices.Grow(buf, int(n))
		for len(buf) < end {
			m := d.h.inputRead(handle, buf[len(buf):end])
			if m < 0 {
				return nil, hostError(d.h, "input_read", int64(m))
			}
			if m == 0 {
				return nil, fmt.Errorf("input_read returned 0 with %d bytes of a %d-byte chunk unread", end-len(buf), n)
			}
			buf = buf[:len(buf)+int(m)]
		}
	}
}

// inputReader is an io.Reader over an input's chunks, for the Arrow IPC reader. It reads straight
// into the caller's buffer, so message bodies land in Arrow memory without an intermediate copy.
type inputReader struct {
	h      hostABI
	handle int32
	left   int64 // unread bytes of the current chunk
	done   bool  // input_next said there are no more chunks
	err    error

	// keyed readers fetch each chunk's partition key into key as they move to the chunk, for a
	// PartitionReader; other inputs do not pay for the call.
	keyed  bool
	key    string
	keyBuf []byte
}

func (r *inputReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for r.left == 0 {
		if r.done {
			return 0, io.EOF
		}
		n := r.h.inputNext(r.handle)
		if n < 0 {
			r.err = hostError(r.h, "input_next", n)
			return 0, r.err
		}
		if n == 0 {
			r.done = true
			return 0, io.EOF
		}
		r.left = n
		if r.keyed {
			if r.err = r.partitionKey(); r.err != nil {
				return 0, r.err
			}
		}
		// A new chunk is about one record batch: let the GC's workers run (see writeValue).
		runtime.Gosched()
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	m := r.h.inputRead(r.handle, p)
	if m < 0 {
		r.err = hostError(r.h, "input_read", int64(m))
		return 0, r.err
	}
	if m == 0 {
		r.err = fmt.Errorf("input_read returned 0 with %d bytes of the chunk unread", r.left)
		return 0, r.err
	}
	r.left -= int64(m)
	return int(m), nil
}

// readRecord reads a whole Arrow IPC stream into one record.
func readRecord(r io.Reader, mem memory.Allocator) (arrow.Record, error) {
	rdr, err := ipc.NewReader(r, ipc.WithAllocator(mem))
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	var batches []arrow.Record
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	for rdr.Next() {
		rec := rdr.Record()
		rec.Retain() // the reader releases it on the next call to Next
		batches = append(batches, rec)
	}
	if err := rdr.Err(); err != nil {
		return nil, err
	}
	return concatRecords(rdr.Schema(), batches, mem)
}

// concatRecords returns one new reference to a record holding all rows of batches, which must
// share schema. One batch is returned as it is; several are copied into one.
func concatRecords(schema *arrow.Schema, batches []arrow.Record, mem memory.Allocator) (arrow.Record, error) {
	switch len(batches) {
	case 0:
		b := array.NewRecordBuilder(mem, schema)
		defer b.Release()
		return b.NewRecord(), nil
	case 1:
		batches[0].Retain()
		return batches[0], nil
	}
	var rows int64
	for _, b := range batches {
		rows += b.NumRows()
	}
	cols := make([]arrow.Array, 0, schema.NumFields())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	parts := make([]arrow.Array, len(batches))
	for i, f := range schema.Fields() {
		for j, b := range batches {
			parts[j] = b.Column(i)
		}
		c, err := array.Concatenate(parts, mem)
		if err != nil {
			return nil, fmt.Errorf("concatenating column %q of %d batches: %w", f.Name, len(batches), err)
		}
		cols = append(cols, c)
	}
	return array.NewRecord(schema, cols, rows), nil
}

// writeResult writes the function's result as the asset's output and closes it. It releases an
// Arrow result, which the function handed over.
func (d *dispatcher) writeResult(a *assetDef, v reflect.Value) error {
	return d.writeValue(outputResult, a.out, v)
}

// writeValue writes v, of kind k, as the output name and closes it. It releases an Arrow value,
// which the function handed over.
func (d *dispatcher) writeValue(name string, k valueKind, v reflect.Value) error {
	switch k {
	case kindRecord:
		if v.IsNil() {
			return errors.New("the function returned a nil arrow.Record and a nil error")
		}
		rec := v.Interface().(arrow.Record)
		defer rec.Release()
		return d.writeArrow(name, rec.Schema(), func(w *ipc.Writer, _ func() error) error {
			return w.Write(rec)
		})

	case kindRecordReader:
		if v.IsNil() {
			return errors.New("the function returned a nil array.RecordReader and a nil error")
		}
		rr := v.Interface().(array.RecordReader)
		defer rr.Release()
		return d.writeArrow(name, rr.Schema(), func(w *ipc.Writer, flush func() error) error {
			for rr.Next() {
				if err := w.Write(rr.Record()); err != nil {
					return err
				}
				// Hand each batch over whole, so that neither side holds more than a batch.
				if err := flush(); err != nil {
					return err
				}
				// Go on wasm runs one thread and a step never blocks, so the GC's background
				// workers only run when the goroutine yields; without this, a long stream
				// outgrows the memory limit with garbage the GC never finished collecting.
				runtime.Gosched()
			}
			return rr.Err()
		})

	case kindBytes:
		return d.writeWhole(name, formatBytes, v.Bytes())
	}
	js, err := json.Marshal(v.Interface())
	if err != nil {
		return fmt.Errorf("encoding the result as JSON: %w", err)
	}
	return d.writeWhole(name, formatJSON, js)
}

func (d *dispatcher) openOutput(name string, f format) (int32, error) {
	handle := d.h.outputOpen(name, f)
	if handle < 0 {
		return 0, hostError(d.h, "output_open", int64(handle))
	}
	return handle, nil
}

func (d *dispatcher) closeOutput(handle int32) error {
	if st := d.h.outputClose(handle); st < 0 {
		return hostError(d.h, "output_close", int64(st))
	}
	return nil
}

func (d *dispatcher) writeWhole(name string, f format, data []byte) error {
	handle, err := d.openOutput(name, f)
	if err != nil {
		return err
	}
	if len(data) > 0 {
		if _, err := (&outputWriter{h: d.h, handle: handle}).Write(data); err != nil {
			return err
		}
	}
	return d.closeOutput(handle)
}

// writeArrow opens the output name as Arrow and lets body write record batches to an IPC stream
// writer; flush hands what is buffered to the host.
func (d *dispatcher) writeArrow(name string, schema *arrow.Schema, body func(w *ipc.Writer, flush func() error) error) error {
	handle, err := d.openOutput(name, formatArrow)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(&outputWriter{h: d.h, handle: handle}, outputBufferSize)
	w := ipc.NewWriter(bw, ipc.WithSchema(schema), ipc.WithAllocator(d.mem))
	if err := body(w, bw.Flush); err != nil {
		return err
	}
	if err := w.Close(); err != nil { // writes the schema if no batch did, then end-of-stream
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return d.closeOutput(handle)
}

// outputWriter is an io.Writer that hands bytes to output_write.
type outputWriter struct {
	h      hostABI
	handle int32
}

func (w *outputWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if st := w.h.outputWrite(w.handle, p); st < 0 {
		return 0, hostError(w.h, "output_write", int64(st))
	}
	return len(p), nil
}
