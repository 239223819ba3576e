package wasmorch

import (
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// PartitionReader reads an Arrow input batch by batch and tells which upstream partition each
// batch belongs to. Take an input as a *PartitionReader when its partition mapping reads several
// upstream partitions (InMapped with TimeWindowMapping, AllMapping or StaticMapping, or an
// unpartitioned asset reading a partitioned one):
//
//	wasmorch.Asset("daily_summary", summary, wasmorch.Partitioned(wasmorch.Daily("2026-01-01")),
//		wasmorch.InMapped("events", "hourly_events", wasmorch.TimeWindowMapping(0, 0)))
//
//	func summary(ctx *wasmorch.Context, events *wasmorch.PartitionReader) (arrow.Record, error) {
//		for events.Next() {
//			hour, batch := events.PartitionKey(), events.Record()
//			...
//		}
//		if err := events.Err(); err != nil { ... }
//	}
//
// The host sends the partitions in partition order, each as one or more whole batches, so a
// partition's batches are consecutive. The reader holds one batch at a time, like an
// array.RecordReader, which it implements; it belongs to the SDK, which releases it after the
// function returns. For an input that reads one partition, every batch has that partition's key;
// for an unpartitioned input, the key is "".
type PartitionReader struct {
	refs   atomic.Int64
	schema *arrow.Schema
	src    partitionSource
	rec    arrow.Record
	key    string
	err    error
	done   bool
}

// partitionSource yields the batches of a PartitionReader: from the host's stream, or from memory
// for NewPartitionReader.
type partitionSource interface {
	// next returns the next batch, valid until the following call, and its partition key; a nil
	// record at the end.
	next() (arrow.Record, string, error)
	release()
}

var _ array.RecordReader = (*PartitionReader)(nil)

func newPartitionReader(schema *arrow.Schema, src partitionSource) *PartitionReader {
	r := &PartitionReader{schema: schema, src: src}
	r.refs.Store(1)
	return r
}

// Schema returns the schema of the input's batches.
func (r *PartitionReader) Schema() *arrow.Schema { return r.schema }

// Next moves to the next batch and reports whether there is one. It returns false at the end of
// the input and after an error, which Err then returns.
func (r *PartitionReader) Next() bool {
	if r.done {
		return false
	}
	rec, key, err := r.src.next()
	if err != nil || rec == nil {
		r.rec, r.key, r.err, r.done = nil, "", err, true
		return false
	}
	r.rec, r.key = rec, key
	return true
}

// Record returns the current batch. It is valid until the next call to Next; Retain it to keep it
// longer.
func (r *PartitionReader) Record() arrow.Record { return r.rec }

// PartitionKey returns the key of the upstream partition the current batch belongs to, such as
// "2026-01-15" or "2026-01-15|us"; "" for an unpartitioned input or before the first batch.
func (r *PartitionReader) PartitionKey() string { return r.key }

// Err returns the error that ended the input early, or nil.
func (r *PartitionReader) Err() error { return r.err }

// Retain adds a reference to the reader.
func (r *PartitionReader) Retain() { r.refs.Add(1) }

// Release drops a reference; the last one frees the reader's memory.
func (r *PartitionReader) Release() {
	if r.refs.Add(-1) == 0 {
		r.rec = nil
		r.src.release()
	}
}

// PartitionBatch is one batch of an upstream partition, for NewPartitionReader.
type PartitionBatch struct {
	Key    string
	Record arrow.Record
}

// NewPartitionReader returns a reader over batches, in order, each belonging to the partition
// Key. It is for native tests of asset functions that take a *PartitionReader, where no host
// sends the input. It retains the records and releases them when the reader is released; every
// record must have schema.
func NewPartitionReader(schema *arrow.Schema, batches ...PartitionBatch) (*PartitionReader, error) {
	for i, b := range batches {
		if b.Record == nil {
			return nil, fmt.Errorf("NewPartitionReader: batch %d (partition %q) has a nil Record", i, b.Key)
		}
		if !b.Record.Schema().Equal(schema) {
			return nil, fmt.Errorf("NewPartitionReader: batch %d (partition %q) has the schema %s, want %s", i, b.Key, b.Record.Schema(), schema)
		}
	}
	for _, b := range batches {
		b.Record.Retain()
	}
	return newPartitionReader(schema, &memoryPartitions{batches: batches}), nil
}

type memoryPartitions struct {
	batches []PartitionBatch
	i       int
}

func (m *memoryPartitions) next() (arrow.Record, string, error) {
	if m.i >= len(m.batches) {
		return nil, "", nil
	}
	b := m.batches[m.i]
	m.i++
	return b.Record, b.Key, nil
}

func (m *memoryPartitions) release() {
	for _, b := range m.batches {
		b.Record.Release()
	}
	m.batches = nil
}

// hostPartitions reads the host's Arrow stream of an input. The stream's chunks each hold batches
// of one partition (ABI.md 4.3), and the IPC reader reads no further than the message it decodes,
// so when it returns a batch, the chunk the input reader last moved to is the batch's chunk, whose
// key the input reader fetched with input_partition_key.
type hostPartitions struct {
	in  *inputReader
	rdr *ipc.Reader
}

// openPartitionReader reads the schema of the input open as handle and returns a reader over its
// batches.
func openPartitionReader(h hostABI, handle int32, mem memory.Allocator) (*PartitionReader, error) {
	in := &inputReader{h: h, handle: handle, keyed: true}
	rdr, err := ipc.NewReader(in, ipc.WithAllocator(mem))
	if err != nil {
		return nil, err
	}
	return newPartitionReader(rdr.Schema(), &hostPartitions{in: in, rdr: rdr}), nil
}

func (p *hostPartitions) next() (arrow.Record, string, error) {
	if !p.rdr.Next() {
		return nil, "", p.rdr.Err()
	}
	return p.rdr.Record(), p.in.key, nil
}

func (p *hostPartitions) release() { p.rdr.Release() }

// partitionKey fetches the partition key of the current chunk into r.key.
//
// input_partition_key returns the key's full length (ABI.md 4.3), so a longer key than the buffer
// is read again into one that fits. A key that exactly fills the buffer is read again too, into a
// larger one: a host that returned the bytes it copied instead, as invocation_read does, would
// otherwise cut a long key short without a sign.
func (r *inputReader) partitionKey() error {
	if r.keyBuf == nil {
		r.keyBuf = make([]byte, 64)
	}
	for {
		n := r.h.inputPartitionKey(r.handle, r.keyBuf)
		if n < 0 {
			return hostError(r.h, "input_partition_key", int64(n))
		}
		if int(n) < len(r.keyBuf) {
			if r.key != string(r.keyBuf[:n]) { // no new string while the partition lasts
				r.key = string(r.keyBuf[:n])
			}
			return nil
		}
		if len(r.keyBuf) >= maxPartitionKeyRead {
			return fmt.Errorf("input_partition_key: the partition key is %d bytes or longer, more than any definition gives", n)
		}
		r.keyBuf = make([]byte, min(max(int(n)+1, 2*len(r.keyBuf)), maxPartitionKeyRead))
	}
}

// maxPartitionKeyRead bounds the buffer for a chunk's partition key: far more than a key of many
// dimensions of 255 bytes each needs, and little enough to refuse a host's nonsense quickly.
const maxPartitionKeyRead = 1 << 20
