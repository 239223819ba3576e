package resources

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stubTransport answers every request without the network.
type stubTransport struct{}

func (stubTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"text/plain"}}, Body: io.NopCloser(strings.NewReader("ok")),
		Request: r,
	}, nil
}

// FuzzRequest sends arbitrary requests to every kind: no call may panic, a success is a JSON
// object, a failure is an *Error with one of the sentinels, and nothing outside the files root
// changes.
func FuzzRequest(f *testing.F) {
	for _, seed := range []string{
		`{"op":"get","name":"A"}`, `{"op":"list"}`,
		`{"op":"read","path":"a.txt","offset":1,"length":2}`, `{"op":"write","path":"d/x","data_base64":"eA==","append":true}`,
		`{"op":"list","path":"..","after":"a","limit":1}`, `{"op":"stat","path":"link/x"}`, `{"op":"delete","path":"/etc/passwd"}`,
		`{"method":"POST","url":"http://api.example.com/x","headers":{"A":"b"},"body_base64":""}`,
		`{"url":"http://evil.example/"}`,
		`{"op":"put","key":"k","value_base64":"dg=="}`, `{"op":"list","prefix":"k","limit":-1}`,
		``, `null`, `[]`, `{"op":1}`, "{\"op\":\"get\",\"name\":\"\xff\"}",
	} {
		for kind := range 4 {
			f.Add(uint8(kind), []byte(seed))
		}
	}
	base := f.TempDir()
	root := filepath.Join(base, "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		f.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "a.txt"), []byte("hello"), 0o644)
	os.WriteFile(filepath.Join(base, "secret.txt"), []byte("secret"), 0o644)
	os.Symlink("..", filepath.Join(root, "link"))

	env, err := NewEnv(EnvConfig{Vars: []string{"A"}}, func(string) (string, bool) { return "v", true })
	if err != nil {
		f.Fatal(err)
	}
	files, err := NewFiles(FilesConfig{Root: root, Mode: ModeReadWrite})
	if err != nil {
		f.Fatal(err)
	}
	defer files.Close()
	h, err := NewHTTP(HTTPConfig{Allow: []string{"api.example.com"}, Methods: []string{"GET", "POST"}}, stubTransport{})
	if err != nil {
		f.Fatal(err)
	}
	kv, err := NewKV(KVConfig{Namespace: "ns"}, NewMemoryKV())
	if err != nil {
		f.Fatal(err)
	}
	kinds := []Resource{env, files, h, kv}

	f.Fuzz(func(t *testing.T, kind uint8, req []byte) {
		res := kinds[int(kind)%len(kinds)]
		resp, err := res.Call(context.Background(), req)
		if err != nil {
			var e *Error
			if resp != nil || !errors.As(err, &e) || e.Code == nil || e.Msg == "" {
				t.Fatalf("%T: bad error %#v with response %q", res, err, resp)
			}
			return
		}
		var m map[string]any
		if err := json.Unmarshal(resp, &m); err != nil || m == nil {
			t.Fatalf("%T: response %q is not a JSON object", res, resp)
		}
		ents, _ := os.ReadDir(base)
		if len(ents) != 2 {
			t.Fatalf("request %q changed the directory above the root: %d entries", req, len(ents))
		}
		if b, _ := os.ReadFile(filepath.Join(base, "secret.txt")); string(b) != "secret" {
			t.Fatalf("request %q changed a file outside the root", req)
		}
	})
}
