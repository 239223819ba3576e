package resources

import (
	"errors"
	"fmt"
	"strings"
)

// The sentinels every error from this package wraps exactly one of. The runtime maps them to
// ABI status codes (abi/ABI.md section 3).
var (
	// ErrDenied: the resource is not granted to the step, or the request is outside the grant
	// (a path outside the root, a host outside the allow-list, a write on a read-only
	// directory, an environment variable not listed). ABI: ERR_DENIED.
	ErrDenied = errors.New("denied")
	// ErrInvalidRequest: the request is malformed: not JSON, an unknown op or field, a field of
	// the wrong type, a missing field, or a value over a request limit. ABI: ERR_INVALID.
	ErrInvalidRequest = errors.New("invalid request")
	// ErrNotFound: the file or directory the request names does not exist. ABI: ERR_NOT_FOUND.
	ErrNotFound = errors.New("not found")
	// ErrTooLarge: a response would exceed a configured limit (an HTTP body over
	// max_response_bytes). ABI: ERR_LIMIT.
	ErrTooLarge = errors.New("too large")
	// ErrIO: the host failed to serve a valid, allowed request (a network error, a timeout, a
	// disk error, a failing key-value backend). ABI: ERR_IO.
	ErrIO = errors.New("i/o error")
)

// Error is the error type of every failed call. Its message names the resource and what was
// wrong, for example
//
//	resource "data" (files): read "../secret": the path leaves the root directory
type Error struct {
	// Key is the resource key. Registry.Call sets it; it is empty when a Resource is called
	// directly.
	Key string
	// Kind is the resource kind.
	Kind Kind
	// Code is the sentinel: ErrDenied, ErrInvalidRequest, ErrNotFound, ErrTooLarge or ErrIO.
	Code error
	// Msg says what was wrong, without the resource prefix.
	Msg string
	// Err is the underlying error, if any.
	Err error

	// bare: Msg already names the key (the Registry's own denials); Error adds no prefix.
	bare bool
}

// Error returns the message with the resource prefix.
func (e *Error) Error() string {
	if e.bare {
		return e.Msg
	}
	var b strings.Builder
	switch {
	case e.Key != "" && e.Kind != "":
		fmt.Fprintf(&b, "resource %q (%s)", e.Key, e.Kind)
	case e.Key != "":
		fmt.Fprintf(&b, "resource %q", e.Key)
	case e.Kind != "":
		fmt.Fprintf(&b, "%s resource", e.Kind)
	default:
		b.WriteString("resource")
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the sentinel and the underlying error.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Code}
	}
	return []error{e.Code, e.Err}
}

func newErr(kind Kind, code error, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Msg: fmt.Sprintf(format, args...)}
}

func wrapErr(kind Kind, code, cause error, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Msg: fmt.Sprintf(format, args...), Err: cause}
}

// sentinels in the order Code checks them.
var sentinels = []error{ErrDenied, ErrInvalidRequest, ErrNotFound, ErrTooLarge, ErrIO}

// Code returns the sentinel err wraps (ErrDenied, ErrInvalidRequest, ErrNotFound, ErrTooLarge
// or ErrIO), ErrIO for any other non-nil error, and nil for nil.
func Code(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) && e.Code != nil {
		return e.Code
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return s
		}
	}
	return ErrIO
}

// ConfigError is returned by the constructors for an invalid config. Field is the field's name
// as wasmorch.yaml spells it, with an index for list items (for example allow[2]), so that the
// workspace can prefix it with resources.KEY.
type ConfigError struct {
	Kind  Kind
	Field string
	Msg   string
	Err   error
}

// Error returns "field: message".
func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s: %s", e.Field, e.Msg)
}

// Unwrap returns the underlying error, if any.
func (e *ConfigError) Unwrap() error { return e.Err }

func configErr(kind Kind, field, format string, args ...any) *ConfigError {
	return &ConfigError{Kind: kind, Field: field, Msg: fmt.Sprintf(format, args...)}
}
