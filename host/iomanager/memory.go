package iomanager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

// InMemory keeps values in process memory, keyed by location. It is for tests and short-lived
// embedding; values are lost when the process exits, so materializations it stored cannot be
// loaded by a later process.
type InMemory struct {
	mu     sync.Mutex
	values map[string]memValue
}

type memValue struct {
	schema  *arrow.Schema
	records []arrow.Record
	data    []byte
}

// NewInMemory returns an empty in-memory IO manager.
func NewInMemory() *InMemory { return &InMemory{values: map[string]memValue{}} }

// HandleOutput implements IOManager.
func (m *InMemory) HandleOutput(ctx context.Context, out OutputContext, v Value) (string, error) {
	loc := "memory://" + out.AssetKey
	if out.AssetKey == "" {
		loc = "memory://runs/" + out.RunID + "/" + out.StepKey + "/" + out.OutputName
	} else {
		if out.PartitionKey != "" {
			loc += "/" + out.PartitionKey
		}
		loc += "/" + out.RunID
	}
	var mv memValue
	if v.Format == out.Format && v.Records != nil {
		mv.schema = v.Records.Schema()
		for v.Records.Next() {
			if err := ctx.Err(); err != nil {
				mv.release()
				return "", err
			}
			rec := v.Records.Record()
			rec.Retain()
			mv.records = append(mv.records, rec)
		}
		if err := v.Records.Err(); err != nil && !errors.Is(err, io.EOF) {
			mv.release()
			return "", fmt.Errorf("memory io manager: %s: %w", out.Describe(), err)
		}
	} else if v.Format == out.Format && v.Data != nil {
		b, err := io.ReadAll(contextReader{ctx, v.Data})
		if err != nil {
			return "", fmt.Errorf("memory io manager: %s: %w", out.Describe(), err)
		}
		mv.data = b
	} else {
		return "", fmt.Errorf("memory io manager: asset %q: value is %s with no data, output is declared %s", out.AssetKey, v.Format, out.Format)
	}
	m.mu.Lock()
	if old, ok := m.values[loc]; ok {
		old.release()
	}
	m.values[loc] = mv
	m.mu.Unlock()
	return loc, nil
}

func (mv memValue) release() {
	for _, r := range mv.records {
		r.Release()
	}
}

// LoadInput implements IOManager.
func (m *InMemory) LoadInput(ctx context.Context, in InputContext) (Value, error) {
	m.mu.Lock()
	mv, ok := m.values[in.Location]
	m.mu.Unlock()
	if !ok {
		return Value{}, fmt.Errorf("memory io manager: asset %q: %w at %s (values in memory do not outlive the process)", in.AssetKey, ErrNotFound, in.Location)
	}
	if mv.schema == nil {
		return Value{Format: in.Format, Data: bytes.NewReader(mv.data)}, nil
	}
	rr, err := array.NewRecordReader(mv.schema, mv.records)
	if err != nil {
		return Value{}, fmt.Errorf("memory io manager: asset %q: %w", in.AssetKey, err)
	}
	return Value{Format: in.Format, Records: rr}, nil
}
