package wasmorch

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Manifest returns the manifest JSON (ABI.md section 7) that wasmorch_manifest hands to the host
// for the assets registered so far, or the registration problems joined into one error. Native
// tests call it to check a guest's registrations without building it for WebAssembly.
func Manifest() ([]byte, error) {
	return defaultRegistry.manifest()
}

type manifestJSON struct {
	ABIVersion int             `json:"abi_version"`
	SDK        sdkJSON         `json:"sdk"`
	Assets     []manifestAsset `json:"assets,omitempty"`
	Ops        []manifestOp    `json:"ops,omitempty"`
	Checks     []manifestCheck `json:"checks,omitempty"`
	Graphs     []*graphDef     `json:"graphs,omitempty"`
	Jobs       []*jobJSON      `json:"jobs,omitempty"`
}

type sdkJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type manifestAsset struct {
	Key          string            `json:"key"`
	Ins          []manifestIn      `json:"ins,omitempty"`
	Deps         []string          `json:"deps,omitempty"`
	Group        string            `json:"group,omitempty"`
	Description  string            `json:"description,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
	Output       manifestOutput    `json:"output"`
	ConfigSchema json.RawMessage   `json:"config_schema,omitempty"`
	Partitions   *partitionsJSON   `json:"partitions,omitempty"`
	Resources    []string          `json:"resources,omitempty"`
	IOManager    string            `json:"io_manager,omitempty"`
	CodeVersion  string            `json:"code_version,omitempty"`
	RetryPolicy  *retryJSON        `json:"retry_policy,omitempty"`
}

type manifestIn struct {
	Name             string       `json:"name"`
	Asset            string       `json:"asset"`
	Format           string       `json:"format"`
	PartitionMapping *mappingJSON `json:"partition_mapping,omitempty"`
}

type manifestOutput struct {
	Format     string          `json:"format"`
	Schema     *schemaJSON     `json:"schema,omitempty"`
	JSONSchema json.RawMessage `json:"json_schema,omitempty"`
}

func (r *registry) manifest() ([]byte, error) {
	if errs := r.problems(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.assets) == 0 && len(r.ops) == 0 && len(r.checks) == 0 && len(r.graphs) == 0 && len(r.jobs) == 0 {
		return nil, errNoAssets
	}
	m := manifestJSON{
		ABIVersion: abiVersion,
		SDK:        sdkJSON{Name: sdkName, Version: sdkVersion},
		Assets:     make([]manifestAsset, 0, len(r.assets)),
	}
	for _, a := range r.assets {
		ma := manifestAsset{
			Key:          a.key,
			Deps:         a.deps,
			Group:        a.group,
			Description:  a.description,
			Tags:         a.tags,
			Output:       manifestOutput{Format: a.out.format().String(), JSONSchema: a.outputSchema},
			ConfigSchema: a.configSchema,
			Partitions:   a.partitions,
			Resources:    a.resources,
			IOManager:    a.ioManager,
			CodeVersion:  a.codeVersion,
			RetryPolicy:  a.retry.manifest(),
		}
		for i, in := range a.ins {
			ma.Ins = append(ma.Ins, manifestIn{Name: in.name, Asset: in.asset, Format: a.inKinds[i].format().String(), PartitionMapping: in.mapping})
		}
		if a.schema != nil {
			s, err := schemaToJSON(a.schema) // cannot fail: check ran it at registration
			if err != nil {
				return nil, &registrationError{asset: a.key, problem: "Schema: " + err.Error()}
			}
			ma.Output.Schema = s
		}
		m.Assets = append(m.Assets, ma)
	}
	for _, o := range r.ops {
		m.Ops = append(m.Ops, o.manifest())
	}
	for _, c := range r.checks {
		m.Checks = append(m.Checks, manifestCheck{Name: c.name, Asset: c.asset, Description: c.description, Blocking: c.blocking, Resources: c.resources})
	}
	m.Graphs, m.Jobs = r.graphs, r.jobs
	data, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding the manifest: %w", err)
	}
	if len(data) > maxManifest {
		return nil, fmt.Errorf("the manifest is %d bytes, more than the ABI's limit of %d", len(data), maxManifest)
	}
	return data, nil
}

// writeManifest is wasmorch_manifest without the wasm calling convention. The export has no error
// channel but its result, so each problem is logged at ERROR level before returning 1; should the
// host refuse log calls outside a step, the problems go to stderr instead.
func (r *registry) writeManifest(h hostABI) (status int32) {
	defer func() {
		if p := recover(); p != nil {
			reportManifestProblem(h, fmt.Sprintf("panic while building the manifest: %v", p))
			status = 1
		}
	}()
	data, err := r.manifest()
	if err != nil {
		var msgs []string
		for _, e := range unjoin(err) {
			msg := "wasmorch: registration failed: " + e.Error()
			msgs = append(msgs, msg)
			reportManifestProblem(h, msg)
		}
		// error_set is the manifest's error channel (ABI.md section 2): the host shows this text
		// as the reason the module did not load.
		h.errorSet(strings.Join(msgs, "; "))
		return 1
	}
	if st := h.manifestWrite(data); st < 0 {
		reportManifestProblem(h, "wasmorch: "+hostError(h, "manifest_write", int64(st)).Error())
		return 1
	}
	return 0
}

func reportManifestProblem(h hostABI, msg string) {
	if h.log(levelError, msg) < 0 {
		fmt.Fprintln(os.Stderr, msg)
	}
}

// unjoin splits an errors.Join result back into its parts.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
