package resources

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

type fakeResource struct {
	resp []byte
	err  error
	pan  any
}

func (f fakeResource) Call(context.Context, []byte) ([]byte, error) {
	if f.pan != nil {
		panic(f.pan)
	}
	return f.resp, f.err
}

func testRegistry(t *testing.T) *Registry {
	t.Helper()
	env, err := NewEnv(EnvConfig{Vars: []string{"TOKEN"}}, func(string) (string, bool) { return "t0k", true })
	if err != nil {
		t.Fatal(err)
	}
	kv, err := NewKV(KVConfig{Namespace: "cache"}, NewMemoryKV())
	if err != nil {
		t.Fatal(err)
	}
	return NewRegistry(map[string]Resource{
		"secrets":  env,
		"cache":    kv,
		"plain":    fakeResource{err: errors.New("boom")},
		"notfound": fakeResource{err: fmt.Errorf("lookup: %w", ErrNotFound)},
		"panics":   fakeResource{pan: "oops"},
		"nilres":   nil,
	})
}

func TestRegistryCall(t *testing.T) {
	r := testRegistry(t)
	declared := []string{"secrets", "cache", "plain", "notfound", "panics", "ghost", "nilres"}
	for _, tc := range []struct {
		name    string
		key     string
		req     string
		allowed []string
		resp    string
		want    want
	}{
		{"ok", "secrets", `{"op":"get","name":"TOKEN"}`, declared, `{"value":"t0k","found":true}`, ok()},
		{"undeclared", "secrets", `{"op":"list"}`, []string{"cache"}, "",
			fails(ErrDenied, `asset did not declare resource "secrets" in its manifest`)},
		{"undeclared, nil list", "secrets", `{"op":"list"}`, nil, "", fails(ErrDenied, `asset did not declare resource "secrets" in its manifest`)},
		{"ungranted", "ghost", `{}`, declared, "", fails(ErrDenied, `no resource "ghost" is granted in wasmorch.yaml (granted: cache, notfound, panics, plain, secrets)`)},
		{"nil grant", "nilres", `{}`, declared, "", fails(ErrDenied, `no resource "nilres" is granted in wasmorch.yaml`)},
		{"neither", "nope", `{}`, declared, "", fails(ErrDenied, `asset did not declare resource "nope" in its manifest, and no resource "nope" is granted in wasmorch.yaml`)},
		{"error names key and kind", "secrets", `{"op":"get","name":"HOME"}`, declared, "",
			fails(ErrDenied, `resource "secrets" (env): get: environment variable "HOME" is not granted (allowed: TOKEN)`)},
		{"invalid names key", "cache", `{"op":"get"}`, declared, "", fails(ErrInvalidRequest, `resource "cache" (kv): get: field "key" is required`)},
		{"plain error is io", "plain", `{}`, declared, "", fails(ErrIO, `resource "plain": boom`)},
		{"wrapped sentinel kept", "notfound", `{}`, declared, "", fails(ErrNotFound, `resource "notfound": lookup: not found`)},
		{"panic is io", "panics", `{}`, declared, "", fails(ErrIO, `resource "panics": internal error: oops`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := r.Call(context.Background(), tc.key, []byte(tc.req), tc.allowed)
			check(t, err, tc.want)
			if err == nil && string(resp) != tc.resp {
				t.Fatalf("response %s; want %s", resp, tc.resp)
			}
			var e *Error
			if err != nil && errors.As(err, &e) && e.Key != tc.key {
				t.Fatalf("error key %q; want %q", e.Key, tc.key)
			}
		})
	}
}

func TestNilRegistry(t *testing.T) {
	var r *Registry
	_, err := r.Call(context.Background(), "x", []byte(`{}`), []string{"x"})
	check(t, err, fails(ErrDenied, `no resource "x" is granted in wasmorch.yaml (it grants none)`))
	if err := r.CheckGrants("a", []string{"x"}); err == nil || err.Error() != `asset "a" needs resource that wasmorch.yaml does not grant: "x" (it grants none)` {
		t.Fatalf("CheckGrants: %v", err)
	}
	if r.Close() != nil || r.Keys() != nil {
		t.Fatal("nil registry")
	}
	if NewRegistry(nil).CheckGrants("a", nil) != nil {
		t.Fatal("no declared resources must pass")
	}
}

func TestCheckGrants(t *testing.T) {
	r := testRegistry(t)
	for _, tc := range []struct {
		name     string
		declared []string
		msg      string
	}{
		{"all granted", []string{"secrets", "cache"}, ""},
		{"none declared", nil, ""},
		{"one missing", []string{"secrets", "api"}, `asset "orders/raw" needs resource that wasmorch.yaml does not grant: "api" (granted: cache, notfound, panics, plain, secrets)`},
		{"several missing, deduplicated, in order", []string{"warehouse", "secrets", "api", "warehouse", "nilres"},
			`asset "orders/raw" needs resources that wasmorch.yaml does not grant: "warehouse", "api", "nilres" (granted: cache, notfound, panics, plain, secrets)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := r.CheckGrants("orders/raw", tc.declared)
			if tc.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != tc.msg {
				t.Fatalf("error %v; want %s", err, tc.msg)
			}
			var ge *GrantError
			if !errors.Is(err, ErrDenied) || !errors.As(err, &ge) || ge.Asset != "orders/raw" {
				t.Fatalf("error %v is not a GrantError wrapping ErrDenied", err)
			}
		})
	}
}

func TestRegistryClose(t *testing.T) {
	_, root := filesFixture(t)
	f, err := NewFiles(FilesConfig{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	r := NewRegistry(map[string]Resource{"data": f})
	if _, err := r.Call(context.Background(), "data", []byte(`{"op":"stat","path":"a.csv"}`), []string{"data"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = r.Call(context.Background(), "data", []byte(`{"op":"stat","path":"a.csv"}`), []string{"data"})
	check(t, err, fails(ErrIO, `resource "data" (files): stat "a.csv"`))
}

func TestCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{nil, nil},
		{errors.New("x"), ErrIO},
		{fmt.Errorf("a: %w", ErrDenied), ErrDenied},
		{newErr(KindKV, ErrNotFound, "x"), ErrNotFound},
		{fmt.Errorf("wrapped: %w", newErr(KindHTTP, ErrTooLarge, "x")), ErrTooLarge},
		{&GrantError{Asset: "a", Missing: []string{"b"}}, ErrDenied},
	} {
		if got := Code(tc.err); got != tc.want {
			t.Errorf("Code(%v) = %v; want %v", tc.err, got, tc.want)
		}
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range Kinds {
		if got, err := ParseKind(string(k)); err != nil || got != k {
			t.Fatalf("ParseKind(%q) = %q, %v", k, got, err)
		}
	}
	if _, err := ParseKind("sql"); err == nil || err.Error() != `unknown resource kind "sql" (want env, files, http or kv)` {
		t.Fatalf("ParseKind(sql): %v", err)
	}
}

func TestRegistryDenialMessages(t *testing.T) {
	r := testRegistry(t)
	for _, tc := range []struct {
		key     string
		allowed []string
		msg     string
	}{
		{"cache", []string{"secrets"}, `asset did not declare resource "cache" in its manifest (add it to the asset's resources)`},
		{"api", []string{"api"}, `no resource "api" is granted in wasmorch.yaml (granted: cache, notfound, panics, plain, secrets)`},
		{"api", nil, `asset did not declare resource "api" in its manifest, and no resource "api" is granted in wasmorch.yaml`},
	} {
		_, err := r.Call(context.Background(), tc.key, []byte(`{}`), tc.allowed)
		if err == nil || err.Error() != tc.msg || !errors.Is(err, ErrDenied) {
			t.Errorf("Call(%q, %v) = %v; want %s", tc.key, tc.allowed, err, tc.msg)
		}
	}
}

// TestRegistryConcurrent runs calls of every kind from many goroutines (meaningful under -race).
func TestRegistryConcurrent(t *testing.T) {
	_, root := filesFixture(t)
	files, err := NewFiles(FilesConfig{Root: root, Mode: ModeReadWrite})
	if err != nil {
		t.Fatal(err)
	}
	env, _ := NewEnv(EnvConfig{Vars: []string{"A"}}, func(string) (string, bool) { return "v", true })
	kv, _ := NewKV(KVConfig{Namespace: "n"}, NewMemoryKV())
	r := NewRegistry(map[string]Resource{"files": files, "env": env, "kv": kv})
	defer r.Close()
	declared := r.Keys()
	done := make(chan error)
	for g := range 8 {
		go func() {
			var err error
			for i := 0; i < 50 && err == nil; i++ {
				key := fmt.Sprintf("k%d", i%5)
				reqs := []struct{ key, req string }{
					{"files", fmt.Sprintf(`{"op":"write","path":"conc/%s","data_base64":"eA=="}`, key)},
					{"files", fmt.Sprintf(`{"op":"write","path":"conc/log%d","data_base64":"eA==","append":true}`, g)},
					{"files", `{"op":"list","path":"conc"}`},
					{"env", `{"op":"get","name":"A"}`},
					{"kv", fmt.Sprintf(`{"op":"put","key":%q,"value_base64":"eA=="}`, key)},
					{"kv", `{"op":"list"}`},
				}
				for _, q := range reqs {
					if _, err = r.Call(context.Background(), q.key, []byte(q.req), declared); err != nil {
						break
					}
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
