package resources

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Defaults of the http kind.
const (
	DefaultHTTPTimeout      = 30 * time.Second
	DefaultMaxResponseBytes = 10 << 20
	DefaultMaxRequestBytes  = 1 << 20
	// maxRedirects is how many redirects one request follows, as net/http's default.
	maxRedirects = 10
)

// HTTPConfig is an http grant.
//
//	resources:
//	  orders_api:
//	    kind: http
//	    allow: [api.example.com, "*.internal.example", "127.0.0.1:8080"]
//	    methods: [GET, POST]
//	    timeout: 10s
//	    max_response_bytes: 10MiB
//	    headers: {Authorization: {env: ORDERS_API_TOKEN}}
type HTTPConfig struct {
	// Allow lists the hosts requests may go to (wasmorch.yaml: allow), at least one. An entry is
	// a host name or IP address ("api.example.com", "10.0.0.7", "[::1]"), optionally with a port
	// ("127.0.0.1:8080"). Without a port it allows every port of that host; with one, only that
	// port (the URL's port, or 80/443 from its scheme). "*.internal.example" allows every
	// subdomain of internal.example at any depth, not internal.example itself. Names are
	// compared case-insensitively; no entry may be a URL, contain a path, or be "*".
	Allow []string
	// Methods lists the allowed methods (wasmorch.yaml: methods); empty means GET only.
	Methods []string
	// Timeout bounds each request, redirects and reading the body included (wasmorch.yaml:
	// timeout); 0 means DefaultHTTPTimeout. The step's context bounds it too.
	Timeout time.Duration
	// MaxResponseBytes caps a response body (wasmorch.yaml: max_response_bytes); 0 means
	// DefaultMaxResponseBytes. A bigger body fails the call with ErrTooLarge.
	MaxResponseBytes int64
	// MaxRequestBytes caps a request body (wasmorch.yaml: max_request_bytes); 0 means
	// DefaultMaxRequestBytes. A bigger body fails the call with ErrInvalidRequest.
	MaxRequestBytes int64
	// Headers are sent with every request (wasmorch.yaml: headers), for example an auth token.
	// The caller resolves environment references before building the config. A guest request
	// may not set these headers itself.
	Headers map[string]string
}

// HTTP is an http resource. Request and response:
//
//	{"method":"POST","url":"https://api.example.com/v1/orders?since=2025-01-01",
//	 "headers":{"Content-Type":"application/json"},"body_base64":"eyJhIjoxfQ=="}
//	-> {"status":200,"headers":{"Content-Type":"application/json"},"body_base64":"..."}
//
// method defaults to GET; headers and body_base64 are optional. Any status is a response, not
// an error: the guest checks status. Response headers with several values are joined with ", ".
// Only http and https URLs to allowed hosts are served, redirects included (up to 10, each
// checked against the allow-list). A URL with user:password@ is refused; use a header.
type HTTP struct {
	allow    []hostRule
	allowMsg string
	methods  []string
	headers  http.Header
	timeout  time.Duration
	maxResp  int64
	maxReq   int64
	client   *http.Client
}

type hostRule struct {
	host     string // lower case; for a wildcard, the suffix without "*."
	wildcard bool
	port     string // "" for any port
}

func (r hostRule) match(host, port string) bool {
	if r.port != "" && r.port != port {
		return false
	}
	if r.wildcard {
		return strings.HasSuffix(host, "."+r.host)
	}
	return host == r.host
}

var knownMethods = []string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}

// guestForbidden are headers a guest may not set: they would change where or how the request
// is sent rather than what it says.
var guestForbidden = []string{"Connection", "Content-Length", "Host", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// NewHTTP builds an http resource. transport sends the requests; nil means a clone of
// http.DefaultTransport (which honours HTTP_PROXY and friends). Tests pass an httptest server's
// transport.
func NewHTTP(cfg HTTPConfig, transport http.RoundTripper) (*HTTP, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, configErr(KindHTTP, field, format, args...))
	}
	h := &HTTP{headers: http.Header{}, timeout: cfg.Timeout, maxResp: cfg.MaxResponseBytes, maxReq: cfg.MaxRequestBytes}
	if len(cfg.Allow) == 0 {
		bad("allow", "list at least one host (for example api.example.com or *.internal.example)")
	}
	for i, a := range cfg.Allow {
		rule, err := parseHostRule(a)
		if err != nil {
			bad(fieldIndex("allow", i), "%q %v", a, err)
			continue
		}
		h.allow = append(h.allow, rule)
	}
	h.allowMsg = strings.Join(cfg.Allow, ", ")
	for i, m := range cfg.Methods {
		u := strings.ToUpper(strings.TrimSpace(m))
		switch {
		case !slices.Contains(knownMethods, u):
			bad(fieldIndex("methods", i), "%q is not a method (want %s)", m, strings.Join(knownMethods, ", "))
		case slices.Contains(h.methods, u):
			bad(fieldIndex("methods", i), "%q is listed twice", m)
		default:
			h.methods = append(h.methods, u)
		}
	}
	if len(cfg.Methods) == 0 {
		h.methods = []string{"GET"}
	}
	switch {
	case cfg.Timeout < 0:
		bad("timeout", "must not be negative, got %s", cfg.Timeout)
	case cfg.Timeout == 0:
		h.timeout = DefaultHTTPTimeout
	}
	switch {
	case cfg.MaxResponseBytes < 0:
		bad("max_response_bytes", "must not be negative, got %d", cfg.MaxResponseBytes)
	case cfg.MaxResponseBytes == 0:
		h.maxResp = DefaultMaxResponseBytes
	}
	switch {
	case cfg.MaxRequestBytes < 0:
		bad("max_request_bytes", "must not be negative, got %d", cfg.MaxRequestBytes)
	case cfg.MaxRequestBytes == 0:
		h.maxReq = DefaultMaxRequestBytes
	}
	names := make([]string, 0, len(cfg.Headers))
	for n := range cfg.Headers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := cfg.Headers[n]
		switch {
		case !validHeaderName(n):
			bad("headers", "%q is not a valid header name", n)
		case !validHeaderValue(v):
			bad("headers."+n, "the value contains a control character (CR, LF or NUL)")
		case slices.Contains(guestForbidden, http.CanonicalHeaderKey(n)):
			bad("headers", "%q is set by the HTTP client and cannot be configured", n)
		default:
			h.headers.Set(n, v)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if transport == nil {
		transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	h.client = &http.Client{
		Transport: transport,
		Timeout:   h.timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return newErr(KindHTTP, ErrIO, "%s %s: stopped after %d redirects", via[0].Method, redact(via[0].URL), maxRedirects)
			}
			if err := h.checkURL(req.URL); err != nil {
				err.Msg = fmt.Sprintf("%s %s: redirect to %s refused: %s", via[0].Method, redact(via[0].URL), redact(req.URL), err.Msg)
				return err
			}
			return nil
		},
	}
	return h, nil
}

// parseHostRule parses one allow entry.
func parseHostRule(a string) (hostRule, error) {
	s := strings.ToLower(strings.TrimSpace(a))
	if s == "" {
		return hostRule{}, errors.New("is empty")
	}
	if strings.Contains(s, "://") || strings.ContainsAny(s, "/?#@ ") {
		return hostRule{}, errors.New("must be a host or host:port, not a URL")
	}
	var r hostRule
	host := s
	switch {
	case strings.HasPrefix(s, "["):
		if h, p, err := net.SplitHostPort(s); err == nil {
			host, r.port = h, p
		} else if strings.HasSuffix(s, "]") {
			host = s[1 : len(s)-1]
		} else {
			return hostRule{}, errors.New("is not a valid [IPv6]:port")
		}
		if net.ParseIP(host) == nil {
			return hostRule{}, errors.New("has brackets around something that is not an IPv6 address")
		}
	case strings.Count(s, ":") > 1:
		if net.ParseIP(s) == nil {
			return hostRule{}, errors.New("is not a valid host (write an IPv6 address with a port as [addr]:port)")
		}
	case strings.Contains(s, ":"):
		h, p, err := net.SplitHostPort(s)
		if err != nil {
			return hostRule{}, errors.New("is not a valid host:port")
		}
		host, r.port = h, p
	}
	if r.port != "" {
		n, err := strconv.Atoi(r.port)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != r.port {
			return hostRule{}, fmt.Errorf("has an invalid port %q (want 1 to 65535)", r.port)
		}
	}
	host = strings.TrimSuffix(host, ".")
	if host == "*" {
		return hostRule{}, errors.New("would allow every host; list the hosts")
	}
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		r.wildcard, host = true, rest
	}
	if net.ParseIP(host) != nil {
		if r.wildcard {
			return hostRule{}, errors.New("puts a wildcard in front of an IP address")
		}
		r.host = net.ParseIP(host).String()
		return r, nil
	}
	for _, label := range strings.Split(host, ".") {
		if !validLabel(label) {
			return hostRule{}, errors.New(`is not a valid host name (letters, digits and -, dot-separated; a wildcard only as a leading "*.")`)
		}
	}
	r.host = host
	return r, nil
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, c := range l {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func validHeaderName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

func validHeaderValue(v string) bool {
	return !strings.ContainsAny(v, "\r\n\x00")
}

// Kind returns KindHTTP.
func (*HTTP) Kind() Kind { return KindHTTP }

// Close closes idle connections. The resource stays usable.
func (h *HTTP) Close() error {
	h.client.CloseIdleConnections()
	return nil
}

// checkURL checks a URL's scheme and host against the grant.
func (h *HTTP) checkURL(u *url.URL) *Error {
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return newErr(KindHTTP, ErrDenied, "scheme %q is not allowed (want http or https)", u.Scheme)
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return newErr(KindHTTP, ErrInvalidRequest, "the URL has no host")
	}
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	for _, r := range h.allow {
		if r.match(host, port) {
			return nil
		}
	}
	return newErr(KindHTTP, ErrDenied, "host %q is not in the allow-list (allow: %s)", u.Host, h.allowMsg)
}

type httpRequest struct {
	Method     string            `json:"method"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers"`
	BodyBase64 string            `json:"body_base64"`
}

var httpOps = opFields{"": {"method", "url", "headers", "body_base64"}}

// redact returns a URL for messages, without user info and query (which may hold tokens).
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		c.RawQuery = "..."
	}
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

// Call serves one request.
func (h *HTTP) Call(ctx context.Context, req []byte) ([]byte, error) {
	var r httpRequest
	if _, err := decodeRequest(KindHTTP, req, httpOps, &r); err != nil {
		return nil, err
	}
	method := strings.ToUpper(r.Method)
	if method == "" {
		method = "GET"
	}
	if r.URL == "" {
		return nil, newErr(KindHTTP, ErrInvalidRequest, `field "url" is required`)
	}
	u, err := url.Parse(r.URL)
	if err != nil || !u.IsAbs() {
		return nil, newErr(KindHTTP, ErrInvalidRequest, `field "url" is not an absolute URL: %q`, r.URL)
	}
	where := method + " " + redact(u)
	if u.User != nil {
		return nil, newErr(KindHTTP, ErrInvalidRequest, "%s: the URL may not contain user info (user:password@); send credentials in a header", where)
	}
	if e := h.checkURL(u); e != nil {
		e.Msg = where + ": " + e.Msg
		return nil, e
	}
	if !slices.Contains(h.methods, method) {
		return nil, newErr(KindHTTP, ErrDenied, "%s: method %q is not allowed (methods: %s)", where, method, strings.Join(h.methods, ", "))
	}
	body, err := decodeBase64(KindHTTP, "body_base64", r.BodyBase64)
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > h.maxReq {
		return nil, newErr(KindHTTP, ErrInvalidRequest, "%s: the request body is %d bytes; max_request_bytes is %d", where, len(body), h.maxReq)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, wrapErr(KindHTTP, ErrInvalidRequest, err, "%s: %v", where, err)
	}
	if len(body) == 0 {
		hreq.Body, hreq.ContentLength, hreq.GetBody = http.NoBody, 0, nil
	}
	names := make([]string, 0, len(r.Headers))
	for n := range r.Headers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := r.Headers[n]
		switch c := http.CanonicalHeaderKey(n); {
		case !validHeaderName(n):
			return nil, newErr(KindHTTP, ErrInvalidRequest, "%s: %q is not a valid header name", where, n)
		case !validHeaderValue(v):
			return nil, newErr(KindHTTP, ErrInvalidRequest, "%s: the value of header %q contains a control character (CR, LF or NUL)", where, n)
		case slices.Contains(guestForbidden, c):
			return nil, newErr(KindHTTP, ErrDenied, "%s: header %q is set by the host and may not be set by a guest", where, c)
		case h.headers.Get(c) != "":
			return nil, newErr(KindHTTP, ErrDenied, "%s: header %q is set by the workspace (headers in wasmorch.yaml) and may not be overridden", where, c)
		default:
			hreq.Header.Set(c, v)
		}
	}
	for n, vs := range h.headers {
		hreq.Header[n] = slices.Clone(vs)
	}
	if hreq.Header.Get("User-Agent") == "" {
		hreq.Header.Set("User-Agent", "wasmorch")
	}

	resp, err := h.client.Do(hreq)
	if err != nil {
		return nil, h.sendErr(ctx, where, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, h.maxResp+1))
	if err != nil {
		return nil, h.sendErr(ctx, where, err)
	}
	if int64(len(data)) > h.maxResp {
		return nil, newErr(KindHTTP, ErrTooLarge, "%s: the response body is larger than max_response_bytes (%d bytes); raise max_response_bytes in wasmorch.yaml or request less (for example with a Range header or paging)", where, h.maxResp)
	}
	headers := make(map[string]string, len(resp.Header))
	for n, vs := range resp.Header {
		headers[n] = strings.Join(vs, ", ")
	}
	return encodeResponse(KindHTTP, struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body_base64"`
	}{resp.StatusCode, headers, base64.StdEncoding.EncodeToString(data)})
}

// sendErr classifies an error from sending a request or reading its response.
func (h *HTTP) sendErr(ctx context.Context, where string, err error) error {
	var e *Error
	if errors.As(err, &e) { // from CheckRedirect
		return e
	}
	if ctx.Err() != nil {
		return wrapErr(KindHTTP, ErrIO, err, "%s: the step was stopped or ran out of time: %v", where, context.Cause(ctx))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return wrapErr(KindHTTP, ErrIO, err, "%s: timed out after %s (timeout in wasmorch.yaml)", where, h.timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return wrapErr(KindHTTP, ErrIO, err, "%s: %v", where, err)
}
