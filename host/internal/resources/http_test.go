package resources

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// All HTTP tests talk only to httptest servers on 127.0.0.1. Requests to other hosts are refused
// before anything is sent, which is what the tests check; the deny tests count that the server
// saw no request where none should be made.

type testServer struct {
	*httptest.Server
	hostPort string // 127.0.0.1:port
	hits     atomic.Int64
}

func newTestServer(t *testing.T, tls bool) *testServer {
	t.Helper()
	ts := &testServer{}
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Auth", r.Header.Get("Authorization"))
		w.Header().Set("X-Guest", r.Header.Get("X-Guest"))
		w.Header().Set("X-UA", r.Header.Get("User-Agent"))
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "%s %s?%s %s", r.Method, r.URL.Path, r.URL.RawQuery, body)
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such thing", http.StatusNotFound)
	})
	mux.HandleFunc("/bytes/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(r.PathValue("n"), &n)
		w.Write([]byte(strings.Repeat("x", n)))
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		case <-time.After(10 * time.Second):
		}
	})
	mux.HandleFunc("/slowbody", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("start"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		case <-time.After(10 * time.Second):
		}
	})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.hits.Add(1)
		mux.ServeHTTP(w, r)
	})
	if tls {
		ts.Server = httptest.NewTLSServer(h)
	} else {
		ts.Server = httptest.NewServer(h)
	}
	u, _ := url.Parse(ts.URL)
	ts.hostPort = u.Host
	if !strings.HasPrefix(ts.hostPort, "127.0.0.1:") {
		t.Fatalf("test server listens on %s, not loopback", ts.hostPort)
	}
	t.Cleanup(func() {
		close(release)
		ts.Close()
	})
	return ts
}

func newHTTP(t *testing.T, ts *testServer, cfg HTTPConfig) *HTTP {
	t.Helper()
	h, err := NewHTTP(cfg, ts.Client().Transport)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHTTPConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   HTTPConfig
		field string
		msg   string
	}{
		{"ok", HTTPConfig{Allow: []string{"api.example.com", "*.internal.example", "127.0.0.1:8080", "[::1]:9000", "::1", "[::1]", "API.Example.COM."}, Methods: []string{"get", "POST"}, Timeout: time.Second, MaxResponseBytes: 1, MaxRequestBytes: 1, Headers: map[string]string{"Authorization": "Bearer x"}}, "", ""},
		{"no allow", HTTPConfig{}, "allow", "list at least one host"},
		{"empty entry", HTTPConfig{Allow: []string{""}}, "allow[0]", "is empty"},
		{"star", HTTPConfig{Allow: []string{"a.com", "*"}}, "allow[1]", "would allow every host"},
		{"url", HTTPConfig{Allow: []string{"https://api.example.com"}}, "allow[0]", "not a URL"},
		{"path", HTTPConfig{Allow: []string{"api.example.com/v1"}}, "allow[0]", "not a URL"},
		{"userinfo", HTTPConfig{Allow: []string{"u@api.example.com"}}, "allow[0]", "not a URL"},
		{"inner wildcard", HTTPConfig{Allow: []string{"api.*.com"}}, "allow[0]", "not a valid host name"},
		{"suffix wildcard", HTTPConfig{Allow: []string{"*example.com"}}, "allow[0]", "not a valid host name"},
		{"wildcard ip", HTTPConfig{Allow: []string{"*.10.0.0.1"}}, "allow[0]", "wildcard in front of an IP address"},
		{"bad port", HTTPConfig{Allow: []string{"a.com:0"}}, "allow[0]", "invalid port"},
		{"big port", HTTPConfig{Allow: []string{"a.com:70000"}}, "allow[0]", "invalid port"},
		{"named port", HTTPConfig{Allow: []string{"a.com:http"}}, "allow[0]", "invalid port"},
		{"bad v6", HTTPConfig{Allow: []string{"[nope]:80"}}, "allow[0]", "not an IPv6 address"},
		{"bad method", HTTPConfig{Allow: []string{"a.com"}, Methods: []string{"FETCH"}}, "methods[0]", `"FETCH" is not a method`},
		{"dup method", HTTPConfig{Allow: []string{"a.com"}, Methods: []string{"GET", "get"}}, "methods[1]", "listed twice"},
		{"negative timeout", HTTPConfig{Allow: []string{"a.com"}, Timeout: -time.Second}, "timeout", "must not be negative"},
		{"negative response cap", HTTPConfig{Allow: []string{"a.com"}, MaxResponseBytes: -1}, "max_response_bytes", "must not be negative"},
		{"negative request cap", HTTPConfig{Allow: []string{"a.com"}, MaxRequestBytes: -1}, "max_request_bytes", "must not be negative"},
		{"bad header name", HTTPConfig{Allow: []string{"a.com"}, Headers: map[string]string{"Bad Name": "x"}}, "headers", `"Bad Name" is not a valid header name`},
		{"header crlf", HTTPConfig{Allow: []string{"a.com"}, Headers: map[string]string{"X-Token": "a\r\nHost: evil"}}, "headers.X-Token", "control character"},
		{"host header", HTTPConfig{Allow: []string{"a.com"}, Headers: map[string]string{"host": "evil.com"}}, "headers", "cannot be configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewHTTP(tc.cfg, nil)
			checkConfigErr(t, err, tc.field, tc.msg)
		})
	}
}

func TestHTTPAllowList(t *testing.T) {
	h, err := NewHTTP(HTTPConfig{Allow: []string{"api.example.com", "*.internal.example", "127.0.0.1:8080", "[::1]:9000", "10.0.0.7"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url  string
		code error
	}{
		{"https://api.example.com/v1", nil},
		{"http://api.example.com/v1", nil},
		{"https://API.EXAMPLE.COM./v1", nil},
		{"https://api.example.com:8443/v1", nil}, // no port in the entry: any port
		{"https://example.com/", ErrDenied},
		{"https://evil.api.example.com/", ErrDenied},
		{"https://api.example.com.evil.com/", ErrDenied},
		{"https://a.internal.example/", nil},
		{"https://a.b.internal.example/", nil},
		{"https://internal.example/", ErrDenied},
		{"https://xinternal.example/", ErrDenied},
		{"http://127.0.0.1:8080/", nil},
		{"http://127.0.0.1/", ErrDenied},      // port 80
		{"http://127.0.0.1:8081/", ErrDenied}, // other port
		{"http://localhost:8080/", ErrDenied}, // names are not resolved
		{"http://[::1]:9000/", nil},
		{"http://[::1]:9001/", ErrDenied},
		{"http://10.0.0.7:1234/", nil},
		{"ftp://api.example.com/", ErrDenied},
		{"file:///etc/passwd", ErrDenied},
		{"https:///nohost", ErrInvalidRequest},
	} {
		t.Run(tc.url, func(t *testing.T) {
			u, err := url.Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			e := h.checkURL(u)
			if tc.code == nil && e != nil || tc.code != nil && (e == nil || e.Code != tc.code) {
				t.Fatalf("checkURL(%s) = %v; want %v", tc.url, e, tc.code)
			}
		})
	}
}

func TestHTTP(t *testing.T) {
	ts := newTestServer(t, false)
	h := newHTTP(t, ts, HTTPConfig{
		Allow:            []string{ts.hostPort, "*.allowed.example"},
		Methods:          []string{"GET", "POST"},
		MaxResponseBytes: 1000,
		MaxRequestBytes:  10,
		Headers:          map[string]string{"Authorization": "Bearer tok"},
	})
	base := ts.URL
	for _, tc := range []struct {
		name    string
		req     map[string]any
		status  int
		body    string
		headers map[string]string
		hits    int64 // requests the server must see
		want    want
	}{
		{"get", map[string]any{"url": base + "/echo?a=1"}, 201, "GET /echo?a=1 ",
			map[string]string{"X-Method": "GET", "X-Auth": "Bearer tok", "X-Ua": "wasmorch", "X-Multi": "a, b"}, 1, ok()},
		{"post with body and header", map[string]any{"method": "post", "url": base + "/echo", "headers": map[string]string{"x-guest": "hi", "User-Agent": "mine"}, "body_base64": b64("payload")},
			201, "POST /echo? payload", map[string]string{"X-Method": "POST", "X-Guest": "hi", "X-Ua": "mine"}, 1, ok()},
		{"not found is a response", map[string]any{"url": base + "/missing"}, 404, "no such thing\n", nil, 1, ok()},
		{"redirect inside", map[string]any{"url": base + "/redirect?to=/echo"}, 201, "GET /echo? ", nil, 2, ok()},
		{"response at the cap", map[string]any{"url": base + "/bytes/1000"}, 200, strings.Repeat("x", 1000), nil, 1, ok()},

		{"host not allowed", map[string]any{"url": "http://evil.example/x"}, 0, "", nil, 0,
			fails(ErrDenied, `GET http://evil.example/x: host "evil.example" is not in the allow-list (allow: `+ts.hostPort+`, *.allowed.example)`)},
		{"other port", map[string]any{"url": "http://127.0.0.1:1/"}, 0, "", nil, 0, fails(ErrDenied, `host "127.0.0.1:1" is not in the allow-list`)},
		{"localhost", map[string]any{"url": strings.Replace(base, "127.0.0.1", "localhost", 1)}, 0, "", nil, 0, fails(ErrDenied, "localhost")},
		{"scheme", map[string]any{"url": "ftp://" + ts.hostPort + "/"}, 0, "", nil, 0, fails(ErrDenied, `scheme "ftp" is not allowed`)},
		{"method", map[string]any{"method": "DELETE", "url": base + "/echo"}, 0, "", nil, 0, fails(ErrDenied, `method "DELETE" is not allowed (methods: GET, POST)`)},
		{"redirect out", map[string]any{"url": base + "/redirect?to=http://evil.example/steal"}, 0, "", nil, 1,
			fails(ErrDenied, "redirect to http://evil.example/steal refused", `host "evil.example" is not in the allow-list`)},
		{"redirect to other port", map[string]any{"url": base + "/redirect?to=http://127.0.0.1:1/"}, 0, "", nil, 1, fails(ErrDenied, "redirect to")},
		{"redirect scheme", map[string]any{"url": base + "/redirect?to=file:///etc/passwd"}, 0, "", nil, 1, fails(ErrDenied, `scheme "file"`)},
		{"redirect loop", map[string]any{"url": base + "/loop"}, 0, "", nil, 10, fails(ErrIO, "stopped after 10 redirects")},
		{"response too large", map[string]any{"url": base + "/bytes/1001"}, 0, "", nil, 1, fails(ErrTooLarge, "larger than max_response_bytes (1000 bytes)")},
		{"request too large", map[string]any{"method": "POST", "url": base + "/echo", "body_base64": b64("12345678901")}, 0, "", nil, 0,
			fails(ErrInvalidRequest, "request body is 11 bytes; max_request_bytes is 10")},
		{"override static header", map[string]any{"url": base + "/echo", "headers": map[string]string{"authorization": "Bearer mine"}}, 0, "", nil, 0,
			fails(ErrDenied, `header "Authorization" is set by the workspace`)},
		{"host header", map[string]any{"url": base + "/echo", "headers": map[string]string{"Host": "evil.example"}}, 0, "", nil, 0, fails(ErrDenied, `header "Host" is set by the host`)},
		{"bad header name", map[string]any{"url": base + "/echo", "headers": map[string]string{"a b": "x"}}, 0, "", nil, 0, fails(ErrInvalidRequest, `"a b" is not a valid header name`)},
		{"header crlf", map[string]any{"url": base + "/echo", "headers": map[string]string{"X-A": "1\r\nX-B: 2"}}, 0, "", nil, 0, fails(ErrInvalidRequest, "control character")},
		{"userinfo", map[string]any{"url": "http://u:p@" + ts.hostPort + "/echo"}, 0, "", nil, 0, fails(ErrInvalidRequest, "user info")},
		{"no url", map[string]any{"method": "GET"}, 0, "", nil, 0, fails(ErrInvalidRequest, `field "url" is required`)},
		{"relative url", map[string]any{"url": "/echo"}, 0, "", nil, 0, fails(ErrInvalidRequest, "not an absolute URL")},
		{"bad base64", map[string]any{"url": base + "/echo", "body_base64": "%%"}, 0, "", nil, 0, fails(ErrInvalidRequest, `field "body_base64" is not valid base64`)},
		{"unknown field", map[string]any{"url": base + "/echo", "op": "get"}, 0, "", nil, 0, fails(ErrInvalidRequest, `unknown field "op" (a request has: method, url, headers, body_base64)`)},
		{"headers wrong type", map[string]any{"url": base + "/echo", "headers": []string{"a"}}, 0, "", nil, 0, fails(ErrInvalidRequest, `field "headers" must be an object of strings`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.hits.Load()
			resp, err := call(t, h, mustJSON(tc.req))
			check(t, err, tc.want)
			if got := ts.hits.Load() - before; got != tc.hits {
				t.Fatalf("the server saw %d requests; want %d", got, tc.hits)
			}
			if err != nil {
				return
			}
			if resp["status"] != float64(tc.status) {
				t.Fatalf("status %v; want %d", resp["status"], tc.status)
			}
			if got := unb64(t, resp["body_base64"]); got != tc.body {
				t.Fatalf("body %q; want %q", got, tc.body)
			}
			got := resp["headers"].(map[string]any)
			for k, v := range tc.headers {
				if got[k] != v {
					t.Fatalf("header %s = %v; want %q (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}

func TestHTTPDefaultMethodIsGETOnly(t *testing.T) {
	ts := newTestServer(t, false)
	h := newHTTP(t, ts, HTTPConfig{Allow: []string{"127.0.0.1"}})
	if _, err := call(t, h, mustJSON(map[string]any{"url": ts.URL + "/echo"})); err != nil {
		t.Fatal(err)
	}
	_, err := call(t, h, mustJSON(map[string]any{"method": "POST", "url": ts.URL + "/echo"}))
	check(t, err, fails(ErrDenied, `method "POST" is not allowed (methods: GET)`))
}

func TestHTTPS(t *testing.T) {
	ts := newTestServer(t, true)
	h := newHTTP(t, ts, HTTPConfig{Allow: []string{ts.hostPort}})
	resp, err := call(t, h, mustJSON(map[string]any{"url": ts.URL + "/echo"}))
	if err != nil {
		t.Fatal(err)
	}
	if resp["status"] != float64(201) {
		t.Fatalf("status %v", resp["status"])
	}
}

func TestHTTPTimeout(t *testing.T) {
	ts := newTestServer(t, false)
	h := newHTTP(t, ts, HTTPConfig{Allow: []string{ts.hostPort}, Timeout: 100 * time.Millisecond})
	for _, path := range []string{"/slow", "/slowbody"} {
		t.Run(path, func(t *testing.T) {
			start := time.Now()
			_, err := call(t, h, mustJSON(map[string]any{"url": ts.URL + path}))
			check(t, err, fails(ErrIO, "timed out after 100ms"))
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %s", d)
			}
		})
	}

	t.Run("context", func(t *testing.T) {
		h := newHTTP(t, ts, HTTPConfig{Allow: []string{ts.hostPort}})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := h.Call(ctx, []byte(mustJSON(map[string]any{"url": ts.URL + "/slow"})))
		check(t, err, fails(ErrIO, "the step was stopped or ran out of time"))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v does not wrap context.DeadlineExceeded", err)
		}
	})
}

func TestHTTPResponseHeaders(t *testing.T) {
	ts := newTestServer(t, false)
	h := newHTTP(t, ts, HTTPConfig{Allow: []string{ts.hostPort}})
	resp, err := call(t, h, mustJSON(map[string]any{"url": ts.URL + "/echo"}))
	if err != nil {
		t.Fatal(err)
	}
	headers := resp["headers"].(map[string]any)
	want := map[string]any{"X-Method": "GET", "X-Multi": "a, b"}
	for k, v := range want {
		if !reflect.DeepEqual(headers[k], v) {
			t.Fatalf("header %s = %v; want %v", k, headers[k], v)
		}
	}
}
