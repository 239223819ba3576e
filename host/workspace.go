package host

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"gopkg.in/yaml.v3"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/host/internal/config"
	"github.com/wasmorch/wasmorch/host/internal/graph"
	"github.com/wasmorch/wasmorch/host/internal/manifest"
	"github.com/wasmorch/wasmorch/host/internal/partitions"
	"github.com/wasmorch/wasmorch/host/internal/resources"
	wruntime "github.com/wasmorch/wasmorch/host/internal/runtime"
	"github.com/wasmorch/wasmorch/host/internal/workspace"
)

// Workspace is a loaded wasmorch.yaml: its modules, compiled and validated, and the one asset
// graph across all of them.
type Workspace struct {
	file    *workspace.File
	rt      *wruntime.Runtime
	modules []*wruntime.Module
	graph   *graph.Graph
	assets  map[string]*assetDef
	jobs    map[string]JobInfo
	// checks are the asset checks of each asset key, in declaration order.
	checks map[string][]checkDef
	// resources are the capabilities the workspace file grants.
	resources *resources.Registry
	// ops are every module's ops by MODULE:NAME; graphs are modules' graphs by MODULE:NAME and
	// the workspace file's by NAME.
	ops    map[string]*opDef
	graphs map[string]*graphDef
	// plans are the flattened graphs by the same keys, for those without problems.
	plans map[string]*opPlan
}

type checkDef struct {
	spec   manifest.Check
	module *wruntime.Module
}

type assetDef struct {
	spec      *manifest.Asset
	module    *wruntime.Module
	ioManager string
	// schema is the declared output schema, nil when the asset declares none.
	schema *arrow.Schema
	// config validates the asset's run config and supplies defaults; nil accepts any object.
	config *config.Schema
	// jsonSchema validates a JSON output (output.json_schema); nil accepts any value.
	jsonSchema *config.Schema
	// parts is the asset's partitions definition, nil when it is not partitioned; mappings are
	// its inputs' partition mappings by input name (nil: the default).
	parts    *partitions.Definition
	mappings map[string]*partitions.Mapping
}

// AssetInfo describes one asset of a workspace.
type AssetInfo struct {
	Key         string
	Group       string
	Description string
	Module      string
	// CodeVersion is the asset's declared code version, or its module's digest.
	CodeVersion string
	// ModuleDigest is the sha256 digest of the module that defines the asset.
	ModuleDigest string
	Format       string
	IOManager    string
	// Deps are the upstream asset keys; Inputs maps input names to upstream keys.
	Deps   []string
	Inputs map[string]string
	Tags   map[string]string
	// Schema is the declared Arrow schema, if any.
	Schema *manifest.Schema
	// Partitions describes the partitions definition, "" for an unpartitioned asset.
	Partitions string
}

// LoadWorkspace reads a workspace file, loads every module it lists and builds the asset graph.
// All problems found are reported together; each names its module, and asset where there is one.
func (i *Instance) LoadWorkspace(ctx context.Context, path string) (*Workspace, error) {
	f, err := workspace.Load(path)
	if err != nil {
		return nil, err
	}
	rt, err := i.runtimeFor(ctx, f.Limits)
	if err != nil {
		return nil, err
	}
	ws := &Workspace{file: f, rt: rt, assets: map[string]*assetDef{}}
	var errs []error
	for _, entry := range f.Modules {
		m, err := rt.LoadFile(ctx, entry.Name, entry.Path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ws.modules = append(ws.modules, m)
	}
	if len(errs) > 0 {
		return nil, joinErrors(f.Path, errs)
	}
	var nodes []graph.Node
	for _, m := range ws.modules {
		for idx := range m.Manifest.Assets {
			a := &m.Manifest.Assets[idx]
			nodes = append(nodes, graph.Node{Key: a.Key, Module: m.Name, Group: a.Group, Deps: a.Upstreams()})
			iom := a.IOManager
			if iom == "" {
				iom = f.IOManager
			}
			if _, dup := ws.assets[a.Key]; !dup {
				def := &assetDef{spec: a, module: m, ioManager: iom}
				if a.Output.Schema != nil {
					s, err := a.Output.Schema.ToArrow()
					if err != nil {
						errs = append(errs, fmt.Errorf("module %q: asset %q: output.schema: %w", m.Name, a.Key, err))
						continue
					}
					def.schema = s
				}
				cs, err := config.Compile(a.ConfigSchema)
				if err != nil {
					errs = append(errs, fmt.Errorf("module %q: asset %q: config_schema: %w", m.Name, a.Key, err))
					continue
				}
				def.config = cs
				if def.jsonSchema, err = config.Compile(a.Output.JSONSchema); err != nil {
					errs = append(errs, fmt.Errorf("module %q: asset %q: output.json_schema: %w", m.Name, a.Key, err))
					continue
				}
				ws.assets[a.Key] = def
			}
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(f.Path, errs)
	}
	g, err := graph.New(nodes)
	if err != nil {
		return nil, joinErrors(f.Path, []error{err})
	}
	ws.graph = g
	for _, key := range g.Keys() {
		if err := i.checkAsset(ws, ws.assets[key]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		errs = append(errs, ws.loadPartitions(i.dynamicKeys)...)
	}
	errs = append(errs, ws.loadOpsAndGraphs()...)
	errs = append(errs, ws.planGraphs()...)
	errs = append(errs, ws.loadJobs()...)
	var resErrs []error
	ws.resources, resErrs = buildResources(f.Resources, i.kv)
	errs = append(errs, resErrs...)
	ws.checks = map[string][]checkDef{}
	for _, m := range ws.modules {
		for _, c := range m.Manifest.Checks {
			if _, ok := ws.assets[c.Asset]; !ok {
				errs = append(errs, fmt.Errorf("module %q: check %q targets asset %q, which no module defines", m.Name, c.Name, c.Asset))
				continue
			}
			ws.checks[c.Asset] = append(ws.checks[c.Asset], checkDef{spec: c, module: m})
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(f.Path, errs)
	}
	return ws, nil
}

// checkAsset checks what only the whole workspace can: IO managers exist and input formats
// match their upstream's output.
func (i *Instance) checkAsset(ws *Workspace, a *assetDef) error {
	where := fmt.Sprintf("module %q: asset %q", a.module.Name, a.spec.Key)
	if _, ok := i.ioms[a.ioManager]; !ok {
		return fmt.Errorf("%s: unknown IO manager %q (available: %s)", where, a.ioManager, strings.Join(i.ioManagerKeys(), ", "))
	}
	for _, in := range a.spec.Ins {
		up := ws.assets[in.Asset]
		if in.Format != "" && in.Format != up.spec.Output.Format {
			return fmt.Errorf("%s: input %q reads %s, but asset %q (module %q) outputs %s", where, in.Name, in.Format, in.Asset, up.module.Name, up.spec.Output.Format)
		}
	}
	return nil
}

func (i *Instance) ioManagerKeys() []string {
	var keys []string
	for k := range i.ioms {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func joinErrors(path string, errs []error) error {
	if len(errs) == 1 {
		return fmt.Errorf("workspace %s: %w", path, errs[0])
	}
	var lines []string
	for _, e := range errs {
		lines = append(lines, e.Error())
	}
	return fmt.Errorf("workspace %s: %d problems:\n  %s%w", path, len(errs), strings.Join(lines, "\n  "), silent{errors.Join(errs...)})
}

// silent carries wrapped errors for errors.Is without adding to the message.
type silent struct{ err error }

func (s silent) Error() string { return "" }
func (s silent) Unwrap() error { return s.err }

// Path returns the workspace file's absolute path.
func (w *Workspace) Path() string { return w.file.Path }

// Select resolves a Dagster-style asset selection (key, a/b, *key, key*, +key, key++,
// group:name, *, comma-separated unions) to asset keys in dependency order.
func (w *Workspace) Select(expr string) ([]string, error) { return w.graph.Select(expr) }

// Modules lists the loaded modules by name with their digests.
func (w *Workspace) Modules() map[string]string {
	out := map[string]string{}
	for _, m := range w.modules {
		out[m.Name] = m.Digest
	}
	return out
}

// Assets describes every asset, in dependency order.
func (w *Workspace) Assets() []AssetInfo {
	keys := w.graph.TopoSort(w.graph.Keys())
	out := make([]AssetInfo, 0, len(keys))
	for _, k := range keys {
		info, _ := w.Asset(k)
		out = append(out, info)
	}
	return out
}

// Asset describes one asset.
func (w *Workspace) Asset(key string) (AssetInfo, bool) {
	a, ok := w.assets[key]
	if !ok {
		return AssetInfo{}, false
	}
	info := AssetInfo{
		Key:          key,
		Group:        a.spec.Group,
		Description:  a.spec.Description,
		Module:       a.module.Name,
		ModuleDigest: a.module.Digest,
		CodeVersion:  a.codeVersion(),
		Format:       a.spec.Output.Format,
		IOManager:    a.ioManager,
		Deps:         a.spec.Upstreams(),
		Tags:         a.spec.Tags,
		Schema:       a.spec.Output.Schema,
		Inputs:       map[string]string{},
	}
	for _, in := range a.spec.Ins {
		info.Inputs[in.Name] = in.Asset
	}
	if a.parts != nil {
		info.Partitions = a.parts.String()
	}
	return info, true
}

func (a *assetDef) codeVersion() string {
	if a.spec.CodeVersion != "" {
		return a.spec.CodeVersion
	}
	return a.module.Digest
}

func (a *assetDef) format() abi.Format { return a.spec.Format() }

// FindWorkspace looks for wasmorch.yaml in dir and its parents and returns its path.
func FindWorkspace(dir string) (string, error) { return workspace.Find(dir) }

// LogFormat is the workspace's logging.format: "console" or "json".
func (w *Workspace) LogFormat() string { return w.file.Logging.Format }

// YAMLToJSON converts a YAML run config to JSON, for the CLI's -c files.
func YAMLToJSON(n *yaml.Node) ([]byte, error) { return workspace.YAMLToJSON(n) }
