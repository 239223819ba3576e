package resources

import (
	"context"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
)

// EnvConfig is an env grant: the host environment variables the guest may read.
//
//	resources:
//	  secrets: {kind: env, vars: [API_TOKEN, REGION]}
type EnvConfig struct {
	// Vars lists the readable variables (wasmorch.yaml: vars). At least one.
	Vars []string
}

// Env is an env resource. Requests:
//
//	{"op":"get","name":"API_TOKEN"} -> {"value":"...","found":true}
//	{"op":"list"}                   -> {"names":["API_TOKEN","REGION"]}
//
// found is false (and value "") for a listed variable that is not set. A name that is not listed
// is ErrDenied. Values are read when the call is made, not when the resource is built.
type Env struct {
	vars   []string // sorted
	lookup func(string) (string, bool)
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// NewEnv builds an env resource. lookup reads a variable; nil means os.LookupEnv.
func NewEnv(cfg EnvConfig, lookup func(string) (string, bool)) (*Env, error) {
	var errs []error
	if len(cfg.Vars) == 0 {
		errs = append(errs, configErr(KindEnv, "vars", "list at least one environment variable"))
	}
	seen := map[string]bool{}
	for i, v := range cfg.Vars {
		switch {
		case !envNameRE.MatchString(v):
			errs = append(errs, configErr(KindEnv, fieldIndex("vars", i), "%q is not an environment variable name (letters, digits and _, not starting with a digit)", v))
		case seen[v]:
			errs = append(errs, configErr(KindEnv, fieldIndex("vars", i), "%q is listed twice", v))
		}
		seen[v] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if lookup == nil {
		lookup = os.LookupEnv
	}
	vars := slices.Clone(cfg.Vars)
	slices.Sort(vars)
	return &Env{vars: vars, lookup: lookup}, nil
}

// Kind returns KindEnv.
func (*Env) Kind() Kind { return KindEnv }

var envOps = opFields{"get": {"name"}, "list": nil}

type envRequest struct {
	Name string `json:"name"`
}

// Call serves one request.
func (e *Env) Call(ctx context.Context, req []byte) ([]byte, error) {
	var r envRequest
	op, err := decodeRequest(KindEnv, req, envOps, &r)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, wrapErr(KindEnv, ErrIO, err, "%s: %v", op, err)
	}
	switch op {
	case "list":
		return encodeResponse(KindEnv, struct {
			Names []string `json:"names"`
		}{e.vars})
	default: // get
		if r.Name == "" {
			return nil, newErr(KindEnv, ErrInvalidRequest, `get: field "name" is required`)
		}
		if _, ok := slices.BinarySearch(e.vars, r.Name); !ok {
			return nil, newErr(KindEnv, ErrDenied, "get: environment variable %q is not granted (allowed: %s)", r.Name, strings.Join(e.vars, ", "))
		}
		v, found := e.lookup(r.Name)
		return encodeResponse(KindEnv, struct {
			Value string `json:"value"`
			Found bool   `json:"found"`
		}{v, found})
	}
}
