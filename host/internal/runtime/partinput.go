package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/host/iomanager"
)

// InputPartition is one upstream partition an input reads.
type InputPartition struct {
	Key  string
	Load func(ctx context.Context) (iomanager.Value, error)
}

// loadPartitions opens an input that reads upstream partitions (ABI.md 4.3): Arrow partitions
// become one stream whose batches keep their partition's key, loaded one partition at a time;
// JSON partitions become one object {"KEY": value, ...} in partition order; bytes are a single
// partition's value (the host refuses a bytes input of several partitions when it loads the
// workspace).
func loadPartitions(ctx context.Context, name string, in Input) (iomanager.Value, *partsReader, error) {
	parts := in.Partitions
	switch in.Format {
	case abi.FormatArrow:
		pr := &partsReader{ctx: ctx, input: name, asset: in.Asset, parts: parts, refs: 1}
		if err := pr.open(); err != nil {
			return iomanager.Value{}, nil, err
		}
		return iomanager.Value{Format: abi.FormatArrow, Records: pr}, pr, nil
	case abi.FormatJSON:
		var obj bytes.Buffer
		obj.WriteByte('{')
		for i, p := range parts {
			v, err := p.Load(ctx)
			if err != nil {
				return iomanager.Value{}, nil, fmt.Errorf("partition %q of asset %q: %w", p.Key, in.Asset, err)
			}
			b, err := iomanager.ReadAllBytes(v)
			v.Release()
			if err != nil {
				return iomanager.Value{}, nil, fmt.Errorf("partition %q of asset %q: %w", p.Key, in.Asset, err)
			}
			if i > 0 {
				obj.WriteByte(',')
			}
			k, _ := json.Marshal(p.Key)
			obj.Write(k)
			obj.WriteByte(':')
			obj.Write(bytes.TrimSpace(b))
		}
		obj.WriteByte('}')
		return iomanager.Value{Format: abi.FormatJSON, Data: bytes.NewReader(obj.Bytes())}, nil, nil
	}
	if len(parts) != 1 {
		return iomanager.Value{}, nil, fmt.Errorf("a %s input cannot read %d partitions of asset %q; only Arrow and JSON values combine", in.Format, len(parts), in.Asset)
	}
	v, err := parts[0].Load(ctx)
	if err != nil {
		return v, nil, fmt.Errorf("partition %q of asset %q: %w", parts[0].Key, in.Asset, err)
	}
	return v, nil, nil
}

// partsReader reads the stored tables of several partitions as one record stream, opening each
// partition when the previous one is used up. Every partition must have the first one's schema.
type partsReader struct {
	ctx   context.Context
	input string
	asset string
	parts []InputPartition
	next  int // index of the next partition to open

	cur    iomanager.Value // the open partition
	curKey string
	schema *arrow.Schema
	first  string // key of the partition the schema came from
	rec    arrow.Record
	err    error
	refs   int
}

// open opens the next partition; the first one gives the stream's schema.
func (r *partsReader) open() error {
	p := r.parts[r.next]
	r.next++
	v, err := p.Load(r.ctx)
	if err != nil {
		return fmt.Errorf("partition %q of asset %q: %w", p.Key, r.asset, err)
	}
	if v.Records == nil {
		v.Release()
		return fmt.Errorf("partition %q of asset %q is stored as %s, not Arrow", p.Key, r.asset, v.Format)
	}
	if r.schema == nil {
		r.schema, r.first = v.Records.Schema(), p.Key
	} else if s := v.Records.Schema(); !s.Equal(r.schema) {
		v.Release()
		return fmt.Errorf("input %q reads partitions of asset %q with different schemas: partition %q has %s, but partition %q has %s",
			r.input, r.asset, r.first, r.schema, p.Key, s)
	}
	r.cur, r.curKey = v, p.Key
	return nil
}

func (r *partsReader) Schema() *arrow.Schema { return r.schema }

// Key is the partition key of the record Next last returned, or "" at the end.
func (r *partsReader) Key() string { return r.curKey }

func (r *partsReader) Next() bool {
	r.rec = nil
	for r.err == nil {
		if rr := r.cur.Records; rr != nil {
			if rr.Next() {
				r.rec = rr.Record()
				return true
			}
			if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
				r.err = fmt.Errorf("partition %q of asset %q: %w", r.curKey, r.asset, err)
				return false
			}
			r.cur.Release()
			r.cur = iomanager.Value{}
		}
		if r.next >= len(r.parts) {
			r.curKey = ""
			return false
		}
		r.err = r.open()
	}
	return false
}

func (r *partsReader) Record() arrow.Record { return r.rec }
func (r *partsReader) Err() error           { return r.err }
func (r *partsReader) Retain()              { r.refs++ }

func (r *partsReader) Release() {
	if r.refs--; r.refs == 0 {
		r.cur.Release()
		r.cur, r.rec = iomanager.Value{}, nil
	}
}
