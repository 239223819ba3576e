package resources

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestKVConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   KVConfig
		field string
		msg   string
	}{
		{"ok", KVConfig{Namespace: "orders_cache"}, "", ""},
		{"ok dotted", KVConfig{Namespace: "team-a.orders_cache", MaxValueBytes: 10}, "", ""},
		{"no namespace", KVConfig{}, "namespace", "is required"},
		{"bad namespace", KVConfig{Namespace: "a/b"}, "namespace", `"a/b" is not a valid namespace`},
		{"long namespace", KVConfig{Namespace: strings.Repeat("a", 129)}, "namespace", "not a valid namespace"},
		{"negative max", KVConfig{Namespace: "a", MaxValueBytes: -1}, "max_value_bytes", "must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewKV(tc.cfg, NewMemoryKV())
			checkConfigErr(t, err, tc.field, tc.msg)
		})
	}
	if _, err := NewKV(KVConfig{Namespace: "a"}, nil); err == nil || !strings.Contains(err.Error(), "no key-value backend") {
		t.Fatalf("nil backend: %v", err)
	}
}

func TestKV(t *testing.T) {
	backend := NewMemoryKV()
	kv, err := NewKV(KVConfig{Namespace: "orders_cache", MaxValueBytes: 16}, backend)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewKV(KVConfig{Namespace: "other"}, backend)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call(t, other, mustJSON(map[string]any{"op": "put", "key": "2025-01", "value_base64": b64("other ns")})); err != nil {
		t.Fatal(err)
	}
	longKey := strings.Repeat("k", MaxKVKeyBytes)
	for _, tc := range []struct {
		name string
		req  map[string]any
		resp map[string]any
		want want
	}{
		{"get missing", map[string]any{"op": "get", "key": "2025-01"}, map[string]any{"value_base64": "", "found": false}, ok()},
		{"put", map[string]any{"op": "put", "key": "2025-01", "value_base64": b64("january")}, map[string]any{}, ok()},
		{"get", map[string]any{"op": "get", "key": "2025-01"}, map[string]any{"value_base64": b64("january"), "found": true}, ok()},
		{"overwrite", map[string]any{"op": "put", "key": "2025-01", "value_base64": b64("jan")}, map[string]any{}, ok()},
		{"get new", map[string]any{"op": "get", "key": "2025-01"}, map[string]any{"value_base64": b64("jan"), "found": true}, ok()},
		{"put empty value", map[string]any{"op": "put", "key": "empty", "value_base64": ""}, map[string]any{}, ok()},
		{"get empty value", map[string]any{"op": "get", "key": "empty"}, map[string]any{"value_base64": "", "found": true}, ok()},
		{"put unicode key", map[string]any{"op": "put", "key": "2025-02/été", "value_base64": b64("feb")}, map[string]any{}, ok()},
		{"put longest key", map[string]any{"op": "put", "key": longKey, "value_base64": b64("x")}, map[string]any{}, ok()},
		{"put value at cap", map[string]any{"op": "put", "key": "2025-03", "value_base64": b64(strings.Repeat("v", 16))}, map[string]any{}, ok()},
		{"list all", map[string]any{"op": "list"}, map[string]any{"keys": []any{"2025-01", "2025-02/été", "2025-03", "empty", longKey}, "truncated": false}, ok()},
		{"list prefix", map[string]any{"op": "list", "prefix": "2025-"}, map[string]any{"keys": []any{"2025-01", "2025-02/été", "2025-03"}, "truncated": false}, ok()},
		{"list limit", map[string]any{"op": "list", "prefix": "2025-", "limit": 2}, map[string]any{"keys": []any{"2025-01", "2025-02/été"}, "truncated": true}, ok()},
		{"list none", map[string]any{"op": "list", "prefix": "1999"}, map[string]any{"keys": []any{}, "truncated": false}, ok()},
		{"delete", map[string]any{"op": "delete", "key": "2025-01"}, map[string]any{}, ok()},
		{"get deleted", map[string]any{"op": "get", "key": "2025-01"}, map[string]any{"value_base64": "", "found": false}, ok()},
		{"delete missing", map[string]any{"op": "delete", "key": "2025-01"}, map[string]any{}, ok()},

		{"value too large", map[string]any{"op": "put", "key": "big", "value_base64": b64(strings.Repeat("v", 17))}, nil, fails(ErrInvalidRequest, `put "big": the value is 17 bytes; max_value_bytes is 16`)},
		{"key too long", map[string]any{"op": "put", "key": longKey + "k", "value_base64": ""}, nil, fails(ErrInvalidRequest, `field "key" is 1025 bytes; the limit is 1024`)},
		{"empty key", map[string]any{"op": "get", "key": ""}, nil, fails(ErrInvalidRequest, `get: field "key" is required and must not be empty`)},
		{"no key", map[string]any{"op": "delete"}, nil, fails(ErrInvalidRequest, `delete: field "key" is required`)},
		{"no value", map[string]any{"op": "put", "key": "a"}, nil, fails(ErrInvalidRequest, `field "value_base64" is required`)},
		{"bad base64", map[string]any{"op": "put", "key": "a", "value_base64": "a"}, nil, fails(ErrInvalidRequest, `"value_base64" is not valid base64`)},
		{"negative limit", map[string]any{"op": "list", "limit": -1}, nil, fails(ErrInvalidRequest, `"limit" must not be negative`)},
		{"long prefix", map[string]any{"op": "list", "prefix": longKey + "k"}, nil, fails(ErrInvalidRequest, `field "prefix" is 1025 bytes`)},
		{"unknown op", map[string]any{"op": "incr", "key": "a"}, nil, fails(ErrInvalidRequest, `unknown op "incr" (want one of: delete, get, list, put)`)},
		{"field of another op", map[string]any{"op": "get", "key": "a", "value_base64": ""}, nil, fails(ErrInvalidRequest, `field "value_base64" is not used by op "get" (it takes: key)`)},
		{"key not string", map[string]any{"op": "get", "key": 7}, nil, fails(ErrInvalidRequest, `field "key" must be a string, not a JSON number`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := call(t, kv, mustJSON(tc.req))
			check(t, err, tc.want)
			if err == nil && !reflect.DeepEqual(resp, tc.resp) {
				t.Fatalf("response %v; want %v", resp, tc.resp)
			}
		})
	}
	// The other namespace was not touched.
	resp, err := call(t, other, `{"op":"get","key":"2025-01"}`)
	if err != nil || unb64(t, resp["value_base64"]) != "other ns" {
		t.Fatalf("other namespace: %v, %v", resp, err)
	}
}

func TestKVInvalidUTF8Key(t *testing.T) {
	kv, _ := NewKV(KVConfig{Namespace: "a"}, NewMemoryKV())
	// JSON strings cannot carry invalid UTF-8 (the decoder replaces it), and a raw invalid byte
	// makes the request itself invalid.
	_, err := call(t, kv, "{\"op\":\"get\",\"key\":\"\xff\"}")
	check(t, err, fails(ErrInvalidRequest, "not valid UTF-8"))
}

func TestKVListCap(t *testing.T) {
	backend := NewMemoryKV()
	kv, _ := NewKV(KVConfig{Namespace: "a"}, backend)
	ctx := context.Background()
	for i := range MaxKVListLimit + 5 {
		backend.Put(ctx, "a", string(rune('a'+i%26))+strings.Repeat("x", i/26)+"-"+string(rune('0'+i%10)), nil)
	}
	for _, tc := range []struct {
		limit, n int
	}{{0, DefaultKVListLimit}, {MaxKVListLimit * 10, MaxKVListLimit}} {
		resp, err := call(t, kv, mustJSON(map[string]any{"op": "list", "limit": tc.limit}))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(resp["keys"].([]any)); n != tc.n || resp["truncated"] != true {
			t.Fatalf("limit %d: %d keys, truncated %v; want %d, true", tc.limit, n, resp["truncated"], tc.n)
		}
	}
}

type failingKV struct{ err error }

func (f failingKV) Get(context.Context, string, string) ([]byte, bool, error) {
	return nil, false, f.err
}
func (f failingKV) Put(context.Context, string, string, []byte) error { return f.err }
func (f failingKV) Delete(context.Context, string, string) error      { return f.err }
func (f failingKV) List(context.Context, string, string, int) ([]string, error) {
	return nil, f.err
}

func TestKVBackendErrors(t *testing.T) {
	disk := errors.New("disk full")
	kv, _ := NewKV(KVConfig{Namespace: "orders_cache"}, failingKV{disk})
	for _, req := range []string{
		`{"op":"get","key":"a"}`, `{"op":"put","key":"a","value_base64":""}`,
		`{"op":"delete","key":"a"}`, `{"op":"list"}`,
	} {
		_, err := call(t, kv, req)
		check(t, err, fails(ErrIO, `in namespace "orders_cache": disk full`))
		if !errors.Is(err, disk) {
			t.Fatalf("%v does not wrap the backend's error", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	kv2, _ := NewKV(KVConfig{Namespace: "a"}, NewMemoryKV())
	_, err := kv2.Call(ctx, []byte(`{"op":"get","key":"a"}`))
	check(t, err, fails(ErrIO, "context canceled"))
}

func TestMemoryKVCopies(t *testing.T) {
	m := NewMemoryKV()
	ctx := context.Background()
	v := []byte("abc")
	m.Put(ctx, "ns", "k", v)
	v[0] = 'X'
	got, _, _ := m.Get(ctx, "ns", "k")
	if string(got) != "abc" {
		t.Fatalf("Put kept the caller's slice: %q", got)
	}
	got[0] = 'Y'
	again, _, _ := m.Get(ctx, "ns", "k")
	if string(again) != "abc" {
		t.Fatalf("Get returned the stored slice: %q", again)
	}
	keys, _ := m.List(ctx, "nope", "", 0)
	if len(keys) != 0 {
		t.Fatalf("List of an empty namespace: %v", keys)
	}
}
