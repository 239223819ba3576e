package resources

import (
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// Limits of the kv kind.
const (
	// MaxKVKeyBytes is the longest key, in bytes of UTF-8.
	MaxKVKeyBytes = 1 << 10
	// DefaultMaxKVValueBytes is the default cap on a value.
	DefaultMaxKVValueBytes = 1 << 20
	// DefaultKVListLimit is how many keys list returns when the request gives no limit;
	// MaxKVListLimit is the most it returns.
	DefaultKVListLimit = 1000
	MaxKVListLimit     = 10000
)

// KVBackend stores key-value namespaces. The store implements it; NewMemoryKV is an in-memory
// implementation. Implementations must be safe for concurrent use.
type KVBackend interface {
	// Get returns the value of key and whether it exists.
	Get(ctx context.Context, namespace, key string) ([]byte, bool, error)
	// Put sets key to value.
	Put(ctx context.Context, namespace, key string, value []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, namespace, key string) error
	// List returns the keys that start with prefix in byte order, at most limit of them
	// (all when limit <= 0).
	List(ctx context.Context, namespace, prefix string, limit int) ([]string, error)
}

// KVConfig is a kv grant: one namespace of the workspace's key-value store.
//
//	resources:
//	  cache: {kind: kv, namespace: orders_cache}
type KVConfig struct {
	// Namespace names the namespace (wasmorch.yaml: namespace): letters, digits, _, - and .,
	// starting with a letter, digit or _, at most 128 bytes. Two grants with the same namespace
	// share data.
	Namespace string
	// MaxValueBytes caps a value (wasmorch.yaml: max_value_bytes); 0 means
	// DefaultMaxKVValueBytes.
	MaxValueBytes int64
}

// KV is a kv resource. Requests:
//
//	{"op":"get","key":"k"}                        -> {"value_base64":"...","found":true}
//	{"op":"put","key":"k","value_base64":"..."}   -> {}
//	{"op":"delete","key":"k"}                     -> {}
//	{"op":"list","prefix":"2025-","limit":100}    -> {"keys":["2025-01","2025-02"],"truncated":false}
//
// A missing key is {"value_base64":"","found":false}, not an error; delete of a missing key
// succeeds. Keys are non-empty UTF-8, at most MaxKVKeyBytes bytes; list returns keys in byte
// order, DefaultKVListLimit by default and at most MaxKVListLimit, with truncated true when
// more keys match.
type KV struct {
	ns       string
	maxValue int64
	backend  KVBackend
}

var namespaceRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// NewKV builds a kv resource over backend.
func NewKV(cfg KVConfig, backend KVBackend) (*KV, error) {
	var errs []error
	if cfg.Namespace == "" {
		errs = append(errs, configErr(KindKV, "namespace", "is required (for example orders_cache)"))
	} else if !namespaceRE.MatchString(cfg.Namespace) {
		errs = append(errs, configErr(KindKV, "namespace", "%q is not a valid namespace (letters, digits, _, - and ., starting with a letter, digit or _, at most 128 bytes)", cfg.Namespace))
	}
	if cfg.MaxValueBytes < 0 {
		errs = append(errs, configErr(KindKV, "max_value_bytes", "must not be negative, got %d", cfg.MaxValueBytes))
	}
	if backend == nil {
		errs = append(errs, errors.New("kv resource: no key-value backend (the host has no store to hold the namespace)"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	max := cfg.MaxValueBytes
	if max == 0 {
		max = DefaultMaxKVValueBytes
	}
	return &KV{ns: cfg.Namespace, maxValue: max, backend: backend}, nil
}

// Kind returns KindKV.
func (*KV) Kind() Kind { return KindKV }

var kvOps = opFields{
	"get":    {"key"},
	"put":    {"key", "value_base64"},
	"delete": {"key"},
	"list":   {"prefix", "limit"},
}

type kvRequest struct {
	Key         string  `json:"key"`
	ValueBase64 *string `json:"value_base64"`
	Prefix      string  `json:"prefix"`
	Limit       int     `json:"limit"`
}

// Call serves one request.
func (k *KV) Call(ctx context.Context, req []byte) ([]byte, error) {
	var r kvRequest
	op, err := decodeRequest(KindKV, req, kvOps, &r)
	if err != nil {
		return nil, err
	}
	if op != "list" {
		if err := checkKVKey(op, "key", r.Key, false); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, wrapErr(KindKV, ErrIO, err, "%s: %v", op, err)
	}
	switch op {
	case "get":
		v, found, err := k.backend.Get(ctx, k.ns, r.Key)
		if err != nil {
			return nil, k.backendErr(op, r.Key, err)
		}
		return encodeResponse(KindKV, struct {
			Value string `json:"value_base64"`
			Found bool   `json:"found"`
		}{base64.StdEncoding.EncodeToString(v), found})
	case "put":
		if r.ValueBase64 == nil {
			return nil, newErr(KindKV, ErrInvalidRequest, `put %q: field "value_base64" is required`, r.Key)
		}
		v, err := decodeBase64(KindKV, "value_base64", *r.ValueBase64)
		if err != nil {
			return nil, err
		}
		if int64(len(v)) > k.maxValue {
			return nil, newErr(KindKV, ErrInvalidRequest, "put %q: the value is %d bytes; max_value_bytes is %d", r.Key, len(v), k.maxValue)
		}
		if err := k.backend.Put(ctx, k.ns, r.Key, v); err != nil {
			return nil, k.backendErr(op, r.Key, err)
		}
		return []byte("{}"), nil
	case "delete":
		if err := k.backend.Delete(ctx, k.ns, r.Key); err != nil {
			return nil, k.backendErr(op, r.Key, err)
		}
		return []byte("{}"), nil
	default: // list
		if err := checkKVKey(op, "prefix", r.Prefix, true); err != nil {
			return nil, err
		}
		limit := r.Limit
		switch {
		case limit < 0:
			return nil, newErr(KindKV, ErrInvalidRequest, `list: field "limit" must not be negative`)
		case limit == 0:
			limit = DefaultKVListLimit
		case limit > MaxKVListLimit:
			limit = MaxKVListLimit
		}
		keys, err := k.backend.List(ctx, k.ns, r.Prefix, limit+1)
		if err != nil {
			return nil, k.backendErr(op, r.Prefix, err)
		}
		truncated := len(keys) > limit
		if truncated {
			keys = keys[:limit]
		}
		if keys == nil {
			keys = []string{}
		}
		return encodeResponse(KindKV, struct {
			Keys      []string `json:"keys"`
			Truncated bool     `json:"truncated"`
		}{keys, truncated})
	}
}

func checkKVKey(op, field, s string, emptyOK bool) error {
	switch {
	case s == "" && !emptyOK:
		return newErr(KindKV, ErrInvalidRequest, "%s: field %q is required and must not be empty", op, field)
	case !utf8.ValidString(s):
		return newErr(KindKV, ErrInvalidRequest, "%s: field %q is not valid UTF-8", op, field)
	case len(s) > MaxKVKeyBytes:
		return newErr(KindKV, ErrInvalidRequest, "%s: field %q is %d bytes; the limit is %d", op, field, len(s), MaxKVKeyBytes)
	}
	return nil
}

func (k *KV) backendErr(op, key string, err error) error {
	code := ErrIO
	if errors.Is(err, ErrNotFound) {
		code = ErrNotFound
	}
	return wrapErr(KindKV, code, err, "%s %q in namespace %q: %v", op, key, k.ns, err)
}

// MemoryKV is an in-memory KVBackend, for tests and single-process use. Its data lives as long
// as the value.
type MemoryKV struct {
	mu   sync.RWMutex
	data map[string]map[string][]byte
}

// NewMemoryKV returns an empty MemoryKV.
func NewMemoryKV() *MemoryKV {
	return &MemoryKV{data: map[string]map[string][]byte{}}
}

// Get implements KVBackend.
func (m *MemoryKV) Get(ctx context.Context, namespace, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	v, ok := m.data[namespace][key]
	return slices.Clone(v), ok, nil
}

// Put implements KVBackend.
func (m *MemoryKV) Put(ctx context.Context, namespace, key string, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ns := m.data[namespace]
	if ns == nil {
		ns = map[string][]byte{}
		m.data[namespace] = ns
	}
	v := slices.Clone(value)
	if v == nil {
		v = []byte{}
	}
	ns[key] = v
	return nil
}

// Delete implements KVBackend.
func (m *MemoryKV) Delete(ctx context.Context, namespace, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.data[namespace], key)
	return nil
}

// List implements KVBackend.
func (m *MemoryKV) List(ctx context.Context, namespace, prefix string, limit int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	var keys []string
	for k := range m.data[namespace] {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	m.mu.RUnlock()
	sort.Strings(keys)
	if limit > 0 && len(keys) > limit {
		keys = keys[:limit]
	}
	return keys, nil
}
