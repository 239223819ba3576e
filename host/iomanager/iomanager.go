// Package iomanager defines how wasmorch stores step outputs and loads step inputs, and ships the
// two IO managers every instance has: "fs", which writes each output to a file under the
// instance directory (Arrow IPC files for tables), and "memory", which keeps values in process for
// tests.
//
// An IO manager sees values, never guests: the host decodes what a guest writes and hands the
// manager a stream of Arrow record batches (or JSON or raw bytes). Managers must store atomically:
// a failed or cancelled HandleOutput leaves nothing that LoadInput would read as a value.
//
// Every implementation must pass the suite in package iomanagertest.
package iomanager

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/wasmorch/wasmorch/abi"
)

// Keys of the IO managers every instance registers.
const (
	FS     = "fs"
	Memory = "memory"
)

// ErrNotFound is returned by LoadInput when nothing is stored at the location.
var ErrNotFound = errors.New("no stored value")

// Value is a value in flight between a step and an IO manager. For FormatArrow, Records streams
// the table batch by batch; for FormatJSON and FormatBytes, Data holds the bytes.
type Value struct {
	Format  abi.Format
	Records array.RecordReader
	Data    io.Reader
}

// Release releases a loaded value's resources. It is safe on a zero Value.
func (v Value) Release() {
	if v.Records != nil {
		v.Records.Release()
	}
	if c, ok := v.Data.(io.Closer); ok {
		c.Close()
	}
}

// OutputContext says which output HandleOutput is storing.
type OutputContext struct {
	// AssetKey is the asset being materialized; it is empty for an op's output, which is named
	// by RunID, StepKey and OutputName instead.
	AssetKey     string
	PartitionKey string
	RunID        string
	StepKey      string
	// OutputName is the op output's name, with its mapping key for a dynamic output
	// ("chunks[eu]"); "result" for an asset.
	OutputName string
	Format     abi.Format
}

// Describe names the output in messages: the asset key, or the op step and output.
func (o OutputContext) Describe() string {
	if o.AssetKey != "" {
		return fmt.Sprintf("asset %q", o.AssetKey)
	}
	return fmt.Sprintf("step %q output %q", o.StepKey, o.OutputName)
}

// InputContext says which stored value LoadInput must load: Location is what HandleOutput
// returned when it was stored (recorded in the upstream's materialization).
type InputContext struct {
	AssetKey     string
	PartitionKey string
	Location     string
	Format       abi.Format
}

// IOManager stores and loads values.
type IOManager interface {
	// HandleOutput consumes v completely and stores it, returning where it is. Each
	// (asset, partition, run) gets its own location, so storing a new value never overwrites
	// the one an earlier materialization points to, and a step that fails after storing leaves
	// only an unreferenced value behind. Stores are atomic: on error nothing is left at the
	// returned location.
	HandleOutput(ctx context.Context, out OutputContext, v Value) (location string, err error)
	// LoadInput opens a stored value. The caller releases it with Value.Release. For tables,
	// batches are read lazily, so a table larger than memory can be loaded.
	LoadInput(ctx context.Context, in InputContext) (Value, error)
}

// CheckFormat returns an error naming the asset when a value's format is not the one expected.
func CheckFormat(assetKey string, want, got abi.Format) error {
	if want != got {
		return fmt.Errorf("asset %q: stored value is %s, expected %s", assetKey, got, want)
	}
	return nil
}
