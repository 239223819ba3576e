package resources

import (
	"context"
	"fmt"
)

// Resource is one granted capability. Call serves one JSON request and returns the JSON
// response. It must be safe for concurrent use, and must honour ctx (the step's context).
// Errors should be *Error values; Registry.Call wraps any other error as ErrIO.
type Resource interface {
	Call(ctx context.Context, req []byte) ([]byte, error)
}

// Kind names a kind of resource, as the `kind` field of a wasmorch.yaml grant spells it.
type Kind string

// The resource kinds.
const (
	KindEnv   Kind = "env"
	KindFiles Kind = "files"
	KindHTTP  Kind = "http"
	KindKV    Kind = "kv"
)

// Kinds lists every kind, in the order documentation and error messages give them.
var Kinds = []Kind{KindEnv, KindFiles, KindHTTP, KindKV}

// ParseKind returns the Kind spelled s, or an error listing the kinds.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown resource kind %q (want env, files, http or kv)", s)
}

// kinded is implemented by every resource of this package; Registry uses it to name the kind
// in errors.
type kinded interface{ Kind() Kind }
