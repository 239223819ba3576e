package resources

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// Registry holds the resources the workspace grants, by key. It is immutable after NewRegistry
// and safe for concurrent use. A nil *Registry grants nothing.
type Registry struct {
	grants map[string]Resource
	keys   []string // sorted
}

// NewRegistry returns a registry of the workspace's grants. The map is copied; nil values are
// left out.
func NewRegistry(grants map[string]Resource) *Registry {
	r := &Registry{grants: make(map[string]Resource, len(grants))}
	for k, res := range grants {
		if res != nil {
			r.grants[k] = res
			r.keys = append(r.keys, k)
		}
	}
	sort.Strings(r.keys)
	return r
}

// Keys returns the granted keys, sorted.
func (r *Registry) Keys() []string {
	if r == nil {
		return nil
	}
	return slices.Clone(r.keys)
}

// Get returns the resource granted under key.
func (r *Registry) Get(key string) (Resource, bool) {
	if r == nil {
		return nil, false
	}
	res, ok := r.grants[key]
	return res, ok
}

// Call serves one resource_call of a step. allowed is the step's declared resources (the
// `resources` list of its manifest entry). The key must be both declared and granted, else the
// error wraps ErrDenied and says which is missing. Every error is an *Error naming the key.
func (r *Registry) Call(ctx context.Context, key string, req []byte, allowed []string) (resp []byte, err error) {
	declared := slices.Contains(allowed, key)
	res, granted := r.Get(key)
	switch {
	case !declared && !granted:
		return nil, &Error{Key: key, Code: ErrDenied, bare: true, Msg: fmt.Sprintf("asset did not declare resource %q in its manifest, and no resource %q is granted in wasmorch.yaml", key, key)}
	case !declared:
		return nil, &Error{Key: key, Code: ErrDenied, bare: true, Msg: fmt.Sprintf("asset did not declare resource %q in its manifest (add it to the asset's resources)", key)}
	case !granted:
		return nil, &Error{Key: key, Code: ErrDenied, bare: true, Msg: fmt.Sprintf("no resource %q is granted in wasmorch.yaml%s", key, r.grantedMsg())}
	}
	var kind Kind
	if k, ok := res.(kinded); ok {
		kind = k.Kind()
	}
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, &Error{Key: key, Kind: kind, Code: ErrIO, Msg: fmt.Sprintf("internal error: %v", p)}
		}
	}()
	resp, err = res.Call(ctx, req)
	if err == nil {
		return resp, nil
	}
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Key = key
		if c.Kind == "" {
			c.Kind = kind
		}
		if c.Code == nil {
			c.Code = ErrIO
		}
		return nil, &c
	}
	return nil, &Error{Key: key, Kind: kind, Code: Code(err), Msg: err.Error(), Err: err}
}

func (r *Registry) grantedMsg() string {
	if len(r.Keys()) == 0 {
		return " (it grants none)"
	}
	return " (granted: " + strings.Join(r.keys, ", ") + ")"
}

// CheckGrants checks, before a run starts, that every resource an asset declares is granted.
// It returns nil or a *GrantError, which wraps ErrDenied.
func (r *Registry) CheckGrants(asset string, declared []string) error {
	var missing []string
	for _, k := range declared {
		if _, ok := r.Get(k); !ok && !slices.Contains(missing, k) {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &GrantError{Asset: asset, Missing: missing, Granted: r.Keys()}
}

// GrantError says which declared resources of an asset the workspace does not grant. Its
// message names the asset and each missing key, for example
//
//	asset "orders/raw" needs resources that wasmorch.yaml does not grant: "api", "cache" (granted: data)
type GrantError struct {
	Asset   string
	Missing []string // in declaration order
	Granted []string // sorted
}

// Error returns the message.
func (e *GrantError) Error() string {
	q := make([]string, len(e.Missing))
	for i, k := range e.Missing {
		q[i] = fmt.Sprintf("%q", k)
	}
	noun := "resources"
	if len(e.Missing) == 1 {
		noun = "resource"
	}
	granted := " (it grants none)"
	if len(e.Granted) > 0 {
		granted = " (granted: " + strings.Join(e.Granted, ", ") + ")"
	}
	return fmt.Sprintf("asset %q needs %s that wasmorch.yaml does not grant: %s%s", e.Asset, noun, strings.Join(q, ", "), granted)
}

// Unwrap returns ErrDenied.
func (e *GrantError) Unwrap() error { return ErrDenied }

// Close closes every resource that holds something open (a files root). It returns the errors
// joined.
func (r *Registry) Close() error {
	if r == nil {
		return nil
	}
	var errs []error
	for _, k := range r.keys {
		if c, ok := r.grants[k].(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("resource %q: %w", k, err))
			}
		}
	}
	return errors.Join(errs...)
}
