package wasmorch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
)

// Context is what an asset function knows about its step: identity, config, logging, metadata
// and the Arrow allocator. The SDK makes one per step inside WebAssembly; NewTestContext makes
// one for native tests, which keeps logs and metadata in memory.
//
// A Context is not safe for concurrent use by several goroutines, except its Logger.
type Context struct {
	runID        string
	kind         string // the invocation's kind: asset, op or check; "" in a test Context
	assetKey     string
	stepKey      string
	partitionKey string
	window       *partitionWindow // nil unless the step's partition is a time window
	attempt      int
	mappingKey   string
	config       []byte
	configErr    error
	alloc        memory.Allocator
	sink         sink
	logger       *slog.Logger
	rec          *recorder // non-nil for test contexts only
}

// sink is where a Context's logs and metadata go: the host, or a recorder in tests.
type sink interface {
	log(level int32, msg string) error
	addMetadata(js []byte) error
	resourceCall(key string, req []byte) ([]byte, error)
}

func newContext(s sink) *Context {
	c := &Context{sink: s, alloc: memory.DefaultAllocator, config: []byte("{}"), attempt: 1}
	c.logger = slog.New(&logHandler{sink: s})
	return c
}

// RunID returns the ID of the run the step belongs to.
func (c *Context) RunID() string { return c.runID }

// AssetKey returns the key of the asset being materialized; in an op's or a check's step, the op's
// or check's name.
func (c *Context) AssetKey() string { return c.assetKey }

// StepKey returns the step's key within the run.
func (c *Context) StepKey() string { return c.stepKey }

// PartitionKey returns the partition being materialized, or "" for an unpartitioned asset.
func (c *Context) PartitionKey() string { return c.partitionKey }

// PartitionKeys returns the dimension keys of a multi-dimensional partition key, in dimension
// order: ["2026-01-15", "us"] for "2026-01-15|us". A one-dimensional key gives one element, and an
// unpartitioned step none.
func (c *Context) PartitionKeys() []string {
	if c.partitionKey == "" {
		return nil
	}
	return strings.Split(c.partitionKey, partitionKeySeparator)
}

// PartitionWindow returns the time window [start, end) of the step's partition, and ok true, when
// the asset has time partitions (or a multi-dimensional definition with a time dimension). The
// times carry the UTC offset the host gives, which is the definition's time zone's offset at each
// bound, so start.Format("2006-01-02") is the local day. ok is false for a step without a window.
func (c *Context) PartitionWindow() (start, end time.Time, ok bool) {
	if c.window == nil {
		return time.Time{}, time.Time{}, false
	}
	return c.window.start, c.window.end, true
}

type partitionWindow struct{ start, end time.Time }

// Attempt returns the attempt number of the step, starting at 1.
func (c *Context) Attempt() int { return c.attempt }

// MappingKey returns the dynamic mapping key of a mapped op's step: the KEY of the NAME[KEY]
// value, written by an upstream op's dynamic output (OpDynamicOutputs), that this step runs for.
// It is "" for every other step.
func (c *Context) MappingKey() string { return c.mappingKey }

// what names the step's definition for error messages, such as `op "split"`.
func (c *Context) what() string {
	kind := c.kind
	if kind == "" {
		kind = invocationKindAsset
	}
	return fmt.Sprintf("%s %q", kind, c.assetKey)
}

// Config decodes the step's run config into v with encoding/json. The host has validated the
// config against the asset's ConfigSchema and applied its defaults; a step without config decodes
// "{}". Fields of v that the config does not mention keep their values, so v may carry defaults.
func (c *Context) Config(v any) error {
	if c.configErr != nil {
		return c.configErr
	}
	if err := json.Unmarshal(c.config, v); err != nil {
		return fmt.Errorf("%s: decoding config %s: %w", c.what(), truncate(string(c.config), 200), err)
	}
	return nil
}

// ConfigJSON returns a copy of the step's run config as JSON; it is "{}" when there is none.
func (c *Context) ConfigJSON() []byte { return bytes.Clone(c.config) }

// Allocator returns the allocator Arrow data of this step should come from.
func (c *Context) Allocator() memory.Allocator { return c.alloc }

// Logger returns a logger whose records become log events of the step. The message is followed
// by the record's attributes as key=value pairs, quoted where needed; the host adds the time and
// the step. Levels map to the host's DEBUG, INFO, WARNING and ERROR: a level below slog.LevelInfo
// is DEBUG, below slog.LevelWarn INFO, below slog.LevelError WARNING, and the rest ERROR.
func (c *Context) Logger() *slog.Logger { return c.logger }

// Debug logs at DEBUG level; args are slog key-value pairs or attributes.
func (c *Context) Debug(msg string, args ...any) {
	c.logger.Log(context.Background(), slog.LevelDebug, msg, args...)
}

// Info logs at INFO level; args are slog key-value pairs or attributes.
func (c *Context) Info(msg string, args ...any) {
	c.logger.Log(context.Background(), slog.LevelInfo, msg, args...)
}

// Warn logs at WARNING level; args are slog key-value pairs or attributes.
func (c *Context) Warn(msg string, args ...any) {
	c.logger.Log(context.Background(), slog.LevelWarn, msg, args...)
}

// Error logs at ERROR level; args are slog key-value pairs or attributes. Logging an error does
// not fail the step: the asset function's returned error does.
func (c *Context) Error(msg string, args ...any) {
	c.logger.Log(context.Background(), slog.LevelError, msg, args...)
}

// AddMetadata merges entries into the metadata of the asset's materialization. Values must be
// JSON-encodable; an empty map adds nothing. The names rows, bytes, schema, format, duration_ms and module_digest belong to
// the host and are refused.
func (c *Context) AddMetadata(entries map[string]any) error {
	if len(entries) == 0 {
		return nil
	}
	js, err := json.Marshal(entries)
	if err != nil {
		return fmt.Errorf("%s: encoding metadata: %w", c.what(), err)
	}
	if err := c.sink.addMetadata(js); err != nil {
		return fmt.Errorf("%s: adding metadata: %w", c.what(), err)
	}
	if c.rec != nil {
		c.rec.mergeMetadata(entries)
	}
	return nil
}

// Logs returns the log entries a test Context recorded, oldest first. It returns nil for the
// Context of a step running in the host, whose logs went to the host.
func (c *Context) Logs() []LogEntry {
	if c.rec == nil {
		return nil
	}
	return append([]LogEntry(nil), c.rec.logs...)
}

// Metadata returns the metadata a test Context recorded, merged as the host merges it: a later
// value for a name replaces an earlier one. The values are the ones passed to AddMetadata, not
// their JSON round trip. It returns nil for the Context of a step running in the host.
func (c *Context) Metadata() map[string]any {
	if c.rec == nil {
		return nil
	}
	return maps.Clone(c.rec.metadata)
}

// LogEntry is one log event recorded by a test Context.
type LogEntry struct {
	// Level is the host level the event has: slog.LevelDebug, LevelInfo, LevelWarn or LevelError.
	Level slog.Level
	// Message is the text the host receives: the message followed by " key=value" pairs.
	Message string
}

// hostLevel maps a slog level onto the ABI's four levels.
func hostLevel(l slog.Level) int32 {
	switch {
	case l < slog.LevelInfo:
		return levelDebug
	case l < slog.LevelWarn:
		return levelInfo
	case l < slog.LevelError:
		return levelWarn
	}
	return levelError
}

// slogLevel is the slog level standing for an ABI level in LogEntry.
func slogLevel(l int32) slog.Level {
	switch l {
	case levelDebug:
		return slog.LevelDebug
	case levelInfo:
		return slog.LevelInfo
	case levelWarn:
		return slog.LevelWarn
	}
	return slog.LevelError
}

// hostSink sends logs and metadata to the host.
type hostSink struct{ h hostABI }

func (s hostSink) log(level int32, msg string) error {
	if st := s.h.log(level, msg); st < 0 {
		return hostError(s.h, "log", int64(st))
	}
	return nil
}

func (s hostSink) addMetadata(js []byte) error {
	if st := s.h.metadataAdd(js); st < 0 {
		return hostError(s.h, "metadata_add", int64(st))
	}
	return nil
}

func (s hostSink) resourceCall(key string, req []byte) ([]byte, error) {
	n := s.h.resourceCall(key, req)
	if n < 0 {
		return nil, hostError(s.h, "resource_call", n)
	}
	buf := make([]byte, n)
	if m := s.h.responseRead(buf); m < 0 {
		return nil, hostError(s.h, "response_read", int64(m))
	}
	return buf, nil
}

// Resource calls the workspace-granted resource key (ABI.md 4.7) with request, which is
// encoded as JSON, and returns the JSON response. The asset must declare the key with
// Resources, and wasmorch.yaml must grant it; otherwise the call is denied. For example, with a
// files resource:
//
//	resp, err := ctx.Resource("landing", map[string]any{"op": "read", "path": "orders.csv"})
//
// In a test Context, Resource calls the function given with WithResource.
func (c *Context) Resource(key string, request any) (json.RawMessage, error) {
	req, err := json.Marshal(request)
	if err != nil {
		return nil, fmt.Errorf("resource %q: encoding the request: %w", key, err)
	}
	return c.sink.resourceCall(key, req)
}
