package host

import (
	"errors"
	"fmt"

	"github.com/wasmorch/wasmorch/host/internal/resources"
	"github.com/wasmorch/wasmorch/host/internal/workspace"
)

// ErrMissingGrant is wrapped by the error Materialize returns, before any run exists, when a
// selected asset needs a resource the workspace does not grant.
var ErrMissingGrant = errors.New("missing resource grant")

// buildResources turns the workspace file's resources: section into a registry.
func buildResources(specs []workspace.Resource, kv resources.KVBackend) (*resources.Registry, []error) {
	grants := map[string]resources.Resource{}
	var errs []error
	for _, s := range specs {
		var r resources.Resource
		var err error
		switch s.Kind {
		case "env":
			r, err = resources.NewEnv(resources.EnvConfig{Vars: s.Vars}, nil)
		case "files":
			r, err = resources.NewFiles(resources.FilesConfig{Root: s.Root, Mode: s.Mode})
		case "http":
			r, err = resources.NewHTTP(resources.HTTPConfig{Allow: s.Allow, Methods: s.Methods, Timeout: s.Timeout,
				MaxResponseBytes: s.MaxResponseBytes, MaxRequestBytes: s.MaxRequestBytes, Headers: s.Headers}, nil)
		case "kv":
			r, err = resources.NewKV(resources.KVConfig{Namespace: s.Namespace, MaxValueBytes: s.MaxValueBytes}, kv)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("resources.%s (line %d): %w", s.Key, s.Line, err))
			continue
		}
		grants[s.Key] = r
	}
	return resources.NewRegistry(grants), errs
}
