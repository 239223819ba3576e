package wasmorch

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
)

// NewTestContext returns a Context for calling asset functions in an ordinary native go test. It
// keeps logs and metadata in memory for Logs and Metadata. Without options its config is "{}",
// its run ID "test-run", its attempt 1, its asset and step keys and its mapping key empty and its
// allocator memory.DefaultAllocator.
func NewTestContext(opts ...TestOption) *Context {
	rec := &recorder{metadata: map[string]any{}}
	c := newContext(rec)
	c.rec = rec
	c.runID = "test-run"
	for _, opt := range opts {
		opt(c)
	}
	if c.stepKey == "" {
		c.stepKey = c.assetKey
	}
	return c
}

// TestOption configures a Context made by NewTestContext.
type TestOption func(*Context)

// WithConfigJSON sets the run config; Context.Config reports it if it is not valid JSON.
func WithConfigJSON(config string) TestOption {
	return func(c *Context) {
		c.config, c.configErr = []byte(config), nil
		if config == "" {
			c.config = []byte("{}")
		}
	}
}

// WithConfig sets the run config to v encoded as JSON; Context.Config reports an encoding error.
func WithConfig(v any) TestOption {
	return func(c *Context) {
		js, err := json.Marshal(v)
		if err != nil {
			c.configErr = fmt.Errorf("WithConfig: encoding %T: %w", v, err)
			return
		}
		c.config, c.configErr = js, nil
	}
}

// WithPartitionKey sets the partition key.
func WithPartitionKey(key string) TestOption {
	return func(c *Context) { c.partitionKey = key }
}

// WithPartitionWindow sets the time window that Context.PartitionWindow returns. Set the matching
// key with WithPartitionKey.
func WithPartitionWindow(start, end time.Time) TestOption {
	return func(c *Context) { c.window = &partitionWindow{start: start, end: end} }
}

// WithRunID sets the run ID.
func WithRunID(id string) TestOption {
	return func(c *Context) { c.runID = id }
}

// WithAssetKey sets the asset key, and the step key unless WithStepKey sets it.
func WithAssetKey(key string) TestOption {
	return func(c *Context) { c.assetKey = key }
}

// WithStepKey sets the step key.
func WithStepKey(key string) TestOption {
	return func(c *Context) { c.stepKey = key }
}

// WithAttempt sets the attempt number.
func WithAttempt(n int) TestOption {
	return func(c *Context) { c.attempt = n }
}

// WithMappingKey sets the dynamic mapping key that Context.MappingKey returns, to test a mapped
// op's function as one of its mapped steps.
func WithMappingKey(key string) TestOption {
	return func(c *Context) { c.mappingKey = key }
}

// WithAllocator sets the Arrow allocator, for example a memory.CheckedAllocator to find leaks.
func WithAllocator(mem memory.Allocator) TestOption {
	return func(c *Context) { c.alloc = mem }
}

// recorder is the sink of a test Context: it keeps what the host would have received.
type recorder struct {
	logs      []LogEntry
	metadata  map[string]any
	resources map[string]func(req []byte) ([]byte, error)
}

func (r *recorder) resourceCall(key string, req []byte) ([]byte, error) {
	fn, ok := r.resources[key]
	if !ok {
		return nil, fmt.Errorf("resource %q: the test context has none (use WithResource)", key)
	}
	return fn(req)
}

// WithResource gives a test Context a stand-in for the resource key, so asset code that calls
// Context.Resource runs natively: fn receives the JSON request and returns the JSON response.
func WithResource(key string, fn func(req []byte) ([]byte, error)) TestOption {
	return func(c *Context) {
		r := c.sink.(*recorder)
		if r.resources == nil {
			r.resources = map[string]func([]byte) ([]byte, error){}
		}
		r.resources[key] = fn
	}
}

func (r *recorder) log(level int32, msg string) error {
	r.logs = append(r.logs, LogEntry{Level: slogLevel(level), Message: msg})
	return nil
}

// addMetadata applies the host's rules (ABI.md section 4.4) so that native tests fail where the
// host would.
func (r *recorder) addMetadata(js []byte) error {
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(js, &entries); err != nil || entries == nil {
		return fmt.Errorf("metadata must be a JSON object, got %s", truncate(string(js), 80))
	}
	for _, k := range slices.Sorted(maps.Keys(entries)) {
		if slices.Contains(reservedMetadataKeys, k) {
			return fmt.Errorf("metadata entry %q is reserved for the host (reserved: %v)", k, reservedMetadataKeys)
		}
	}
	return nil
}

func (r *recorder) mergeMetadata(entries map[string]any) {
	maps.Copy(r.metadata, entries)
}
