package host

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/host/iomanager"
	"github.com/wasmorch/wasmorch/host/store"
)

// ErrNotMaterialized is returned for an asset with no stored materialization.
var ErrNotMaterialized = errors.New("asset has never been materialized")

// Value is a stored asset value read back whole, for tests, the CLI and embedding programs.
type Value struct {
	Materialization store.Materialization
	// Table holds a table value (format "arrow"); release it with Release.
	Table arrow.Table
	// Data holds a JSON or bytes value.
	Data []byte
}

// Release frees the table's memory.
func (v *Value) Release() {
	if v.Table != nil {
		v.Table.Release()
		v.Table = nil
	}
}

// AssetValue loads the latest materialized value of an asset.
func (i *Instance) AssetValue(ctx context.Context, key string) (*Value, error) {
	latest, err := i.store.LatestMaterializations(ctx, key)
	if err != nil {
		return nil, err
	}
	ev, ok := latest[key]
	if !ok || ev.Materialization == nil {
		return nil, fmt.Errorf("asset %q: %w", key, ErrNotMaterialized)
	}
	return i.LoadMaterialization(ctx, *ev.Materialization)
}

// OpOutput loads, whole, the value an op step of a run stored for one output (for a dynamic
// output, name it with its key: "chunks[eu]"), as recorded by the run's STEP_OUTPUT event.
// The returned Value's Materialization describes the stored value; its AssetKey is empty.
func (i *Instance) OpOutput(ctx context.Context, runID, stepKey, output string) (*Value, error) {
	events, err := i.store.Events(ctx, runID, 0, 0)
	if err != nil {
		return nil, err
	}
	var stored []string
	for _, ev := range events {
		if ev.Type != store.EventStepOutput {
			continue
		}
		name, _, v := stepOutputOf(ev)
		if ev.StepKey == stepKey && name == output {
			return i.LoadMaterialization(ctx, store.Materialization{Location: v.location, IOManager: v.ioManager, Format: v.format.String()})
		}
		stored = append(stored, ev.StepKey+"."+name)
	}
	return nil, fmt.Errorf("run %s stored no output %q of step %q (outputs stored: %v)", runID, output, stepKey, stored)
}

// LoadMaterialization loads the value a materialization points to, whole.
func (i *Instance) LoadMaterialization(ctx context.Context, m store.Materialization) (*Value, error) {
	iom, ok := i.ioms[m.IOManager]
	if !ok {
		return nil, fmt.Errorf("asset %q was stored by IO manager %q, which this instance does not have", m.AssetKey, m.IOManager)
	}
	format, ok := abi.ParseFormat(m.Format)
	if !ok {
		return nil, fmt.Errorf("asset %q: unknown stored format %q", m.AssetKey, m.Format)
	}
	v, err := iom.LoadInput(ctx, iomanager.InputContext{AssetKey: m.AssetKey, PartitionKey: m.PartitionKey, Location: m.Location, Format: format})
	if err != nil {
		return nil, err
	}
	defer v.Release()
	out := &Value{Materialization: m}
	if format != abi.FormatArrow {
		out.Data, err = iomanager.ReadAllBytes(v)
		return out, err
	}
	var recs []arrow.Record
	for v.Records.Next() {
		rec := v.Records.Record()
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := v.Records.Err(); err != nil && !errors.Is(err, io.EOF) {
		for _, r := range recs {
			r.Release()
		}
		return nil, fmt.Errorf("asset %q: read %s: %w", m.AssetKey, m.Location, err)
	}
	out.Table = array.NewTableFromRecords(v.Records.Schema(), recs)
	for _, r := range recs {
		r.Release()
	}
	return out, nil
}
