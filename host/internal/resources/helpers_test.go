package resources

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// want describes the expected outcome of one call: a sentinel (nil for success) and substrings
// of the error message.
type want struct {
	code error
	msg  []string
}

func ok() want { return want{} }

func fails(code error, msg ...string) want { return want{code: code, msg: msg} }

// check asserts that err matches w, and that every error is an *Error with that code.
func check(t *testing.T, err error, w want) {
	t.Helper()
	if w.code == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error; want %v containing %q", w.code, w.msg)
	}
	if !errors.Is(err, w.code) {
		t.Fatalf("error %q is %v; want %v", err, Code(err), w.code)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %q (%T) is not an *Error", err, err)
	}
	if Code(err) != w.code {
		t.Fatalf("Code(%q) = %v; want %v", err, Code(err), w.code)
	}
	for _, m := range w.msg {
		if !strings.Contains(err.Error(), m) {
			t.Fatalf("error %q does not contain %q", err, m)
		}
	}
}

// call runs one request and decodes the response into a map.
func call(t *testing.T, r Resource, req string) (map[string]any, error) {
	t.Helper()
	resp, err := r.Call(context.Background(), []byte(req))
	if err != nil {
		if resp != nil {
			t.Fatalf("error %v came with a response %q", err, resp)
		}
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(resp, &m); err != nil {
		t.Fatalf("response %q is not a JSON object: %v", resp, err)
	}
	return m, nil
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func unb64(t *testing.T, v any) string {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%v is not a base64 string", v)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// checkConfigErr asserts that err is a config error naming field.
func checkConfigErr(t *testing.T, err error, field, msg string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error; want one for field %s", field)
	}
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error %q is not a *ConfigError", err)
	}
	if !strings.Contains(err.Error(), field+": ") || !strings.Contains(err.Error(), msg) {
		t.Fatalf("error %q does not name field %q with %q", err, field, msg)
	}
}
