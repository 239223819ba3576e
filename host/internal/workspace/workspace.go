// Package workspace reads wasmorch.yaml, the file that lists a project's modules and its settings.
// It resolves paths against the file's directory and checks the file's own shape; it does not
// load modules or build the asset graph.
package workspace

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// FileName is the workspace file the CLI looks for.
const FileName = "wasmorch.yaml"

// ErrInvalid is wrapped by every error about a workspace file's content.
var ErrInvalid = errors.New("invalid workspace")

// File is a parsed workspace file.
type File struct {
	// Path is the absolute path of the file; Dir its directory.
	Path string
	Dir  string

	Modules []Module
	// IOManager is the default IO manager key for assets that name none ("fs" if empty).
	IOManager string
	// Concurrency caps the steps of one run executing at once; 0 means the number of CPUs.
	Concurrency int
	Limits      Limits
	Logging     Logging
	Jobs        []Job
	// Graphs are op graphs declared in the file, which may wire ops of several modules.
	Graphs []Graph
	// Resources are the granted resources by key, in the order of the file.
	Resources []Resource
	// Partitions are the named partitions definitions of the partitions: section, which
	// assets: entries name; Assets are the assets: section's settings by asset key. Both are
	// checked here except for what needs the modules (that the asset exists, that a mapping fits
	// its two definitions).
	Partitions map[string]JSONAt
	Assets     map[string]AssetSettings
}

// JSONAt is a value of the file converted to JSON, with the line it starts on.
type JSONAt struct {
	JSON []byte
	Line int
}

// AssetSettings are the assets: settings of one asset, which take precedence over what its
// module's manifest declares.
type AssetSettings struct {
	Line int
	// Partitions is the asset's partitions definition (ABI.md 7.6), inline or named; nil when
	// the entry does not set one.
	Partitions *JSONAt
	// Mappings are partition mappings (ABI.md 7.7) by input name.
	Mappings map[string]JSONAt
}

// Resource is one entry of the resources: section, decoded but not yet built.
type Resource struct {
	Key  string
	Kind string
	Line int
	// Fields of every kind; a field that does not belong to Kind is an error.
	Vars             []string
	Root, Mode       string
	Allow, Methods   []string
	Timeout          time.Duration
	MaxResponseBytes int64
	MaxRequestBytes  int64
	// Headers are static HTTP headers; a value given as {env: NAME} is resolved from the host
	// environment here, so the secret never appears in the file or the store.
	Headers       map[string]string
	Namespace     string
	MaxValueBytes int64
}

// Graph is one entry of the graphs: section, in the manifest's graph shape (ABI.md 7.8), as JSON.
// Its shape is checked where it is loaded, with the modules' ops at hand.
type Graph struct {
	Name string
	JSON []byte
	Line int
}

// Job is a named asset selection or graph with default run config, declared in the workspace
// file. Exactly one of Selection and Graph is set.
type Job struct {
	Name        string
	Description string
	Selection   string
	Graph       string
	Tags        map[string]string
	// Config is the job's default run config as JSON, in Dagster's shape; nil when none.
	Config []byte
	Line   int
}

// Logging selects how run events are shown and which log events are kept.
type Logging struct {
	// Format is "console" (human lines, the default) or "json" (one JSON object per event).
	Format string
	// Level is the lowest log level kept: "DEBUG" (the default), "INFO", "WARNING" or "ERROR".
	// Log events below it are neither stored nor shown.
	Level string
}

// Module is one module entry.
type Module struct {
	Name string
	// Path is absolute.
	Path string
	// Line is where the entry starts in the file, for error messages.
	Line int
}

// Limits are the per-step limits set in the workspace; zero values mean the host default.
type Limits struct {
	StepTimeout    time.Duration
	MemoryBytes    uint64
	MaxOutputBytes int64
	// MaxModuleBytes caps the size of each module file, checked before it is read or compiled.
	MaxModuleBytes int64
}

type rawFile struct {
	Modules     []rawModule `yaml:"modules"`
	IOManager   string      `yaml:"io_manager"`
	Concurrency int         `yaml:"concurrency"`
	Limits      struct {
		StepTimeout string `yaml:"step_timeout"`
		Memory      string `yaml:"memory"`
		Output      string `yaml:"output"`
		ModuleSize  string `yaml:"module_size"`
	} `yaml:"limits"`
	Logging struct {
		Format string `yaml:"format"`
		Level  string `yaml:"level"`
	} `yaml:"logging"`
	Jobs      []rawJob             `yaml:"jobs"`
	Graphs    []yaml.Node          `yaml:"graphs"`
	Resources map[string]yaml.Node `yaml:"resources"`
	// Partitions and Assets are decoded by hand (parsePartitions), for line numbers.
	Partitions yaml.Node `yaml:"partitions"`
	Assets     yaml.Node `yaml:"assets"`
}

// resourceFields lists the fields each resource kind takes.
var resourceFields = map[string][]string{
	"env":   {"vars"},
	"files": {"root", "mode"},
	"http":  {"allow", "methods", "timeout", "max_response_bytes", "max_request_bytes", "headers"},
	"kv":    {"namespace", "max_value_bytes"},
}

func parseResource(key string, n *yaml.Node, dir string) (Resource, error) {
	r := Resource{Key: key, Line: n.Line}
	if !jobNameRE.MatchString(key) {
		return r, fmt.Errorf("line %d: resource key %q is invalid (letters, digits and '_', not starting with a digit)", n.Line, key)
	}
	if n.Kind != yaml.MappingNode {
		return r, fmt.Errorf("line %d: resources.%s must be a mapping with a kind", n.Line, key)
	}
	fields := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		fields[n.Content[i].Value] = n.Content[i+1]
	}
	kindNode, ok := fields["kind"]
	if !ok {
		return r, fmt.Errorf("line %d: resources.%s has no kind (env, files, http or kv)", n.Line, key)
	}
	r.Kind = kindNode.Value
	allowed, ok := resourceFields[r.Kind]
	if !ok {
		return r, fmt.Errorf("line %d: resources.%s.kind %q is not env, files, http or kv", kindNode.Line, key, r.Kind)
	}
	for name, v := range fields {
		if name != "kind" && !slices.Contains(allowed, name) {
			return r, fmt.Errorf("line %d: resources.%s: field %q does not belong to kind %s (it takes: %s)", v.Line, key, name, r.Kind, strings.Join(allowed, ", "))
		}
	}
	decode := func(name string, into any) error {
		if v, ok := fields[name]; ok {
			if err := v.Decode(into); err != nil {
				return fmt.Errorf("line %d: resources.%s.%s: %v", v.Line, key, name, err)
			}
		}
		return nil
	}
	size := func(name string) (int64, error) {
		var s string
		if err := decode(name, &s); err != nil || s == "" {
			return 0, err
		}
		b, err := ParseBytes(s)
		if err != nil || b <= 0 {
			return 0, fmt.Errorf("line %d: resources.%s.%s %q is not a positive size (e.g. 10MiB)", fields[name].Line, key, name, s)
		}
		return b, nil
	}
	var err error
	if err = decode("vars", &r.Vars); err != nil {
		return r, err
	}
	if err = decode("root", &r.Root); err != nil {
		return r, err
	}
	if r.Root != "" && !filepath.IsAbs(r.Root) {
		r.Root = filepath.Join(dir, r.Root)
	}
	if err = decode("mode", &r.Mode); err != nil {
		return r, err
	}
	for _, name := range []string{"allow", "methods"} {
		target := &r.Allow
		if name == "methods" {
			target = &r.Methods
		}
		if err = decode(name, target); err != nil {
			return r, err
		}
	}
	var timeout string
	if err = decode("timeout", &timeout); err != nil {
		return r, err
	}
	if timeout != "" {
		if r.Timeout, err = time.ParseDuration(timeout); err != nil || r.Timeout <= 0 {
			return r, fmt.Errorf("line %d: resources.%s.timeout %q is not a positive duration", fields["timeout"].Line, key, timeout)
		}
	}
	if r.MaxResponseBytes, err = size("max_response_bytes"); err != nil {
		return r, err
	}
	if r.MaxRequestBytes, err = size("max_request_bytes"); err != nil {
		return r, err
	}
	if r.MaxValueBytes, err = size("max_value_bytes"); err != nil {
		return r, err
	}
	if err = decode("namespace", &r.Namespace); err != nil {
		return r, err
	}
	if h, ok := fields["headers"]; ok {
		r.Headers = map[string]string{}
		for i := 0; i+1 < len(h.Content); i += 2 {
			name, v := h.Content[i].Value, h.Content[i+1]
			if v.Kind == yaml.MappingNode && len(v.Content) == 2 && v.Content[0].Value == "env" {
				val, ok := os.LookupEnv(v.Content[1].Value)
				if !ok {
					return r, fmt.Errorf("line %d: resources.%s.headers.%s: environment variable %q is not set", v.Line, key, name, v.Content[1].Value)
				}
				r.Headers[name] = val
				continue
			}
			r.Headers[name] = v.Value
		}
	}
	return r, nil
}

type rawJob struct {
	Name        string            `yaml:"name"`
	Description string            `yaml:"description"`
	Selection   string            `yaml:"selection"`
	Graph       string            `yaml:"graph"`
	Tags        map[string]string `yaml:"tags"`
	Config      yaml.Node         `yaml:"config"`
	line        int
}

func (j *rawJob) UnmarshalYAML(n *yaml.Node) error {
	type plain rawJob
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			switch k := n.Content[i].Value; k {
			case "name", "description", "selection", "graph", "tags", "config":
			default:
				return fmt.Errorf("line %d: field %s not found in type workspace.job", n.Content[i].Line, k)
			}
		}
	}
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*j = rawJob(p)
	j.line = n.Line
	return nil
}

type rawModule struct {
	Name string `yaml:"name"`
	Path string `yaml:"path"`
	line int
}

func (m *rawModule) UnmarshalYAML(n *yaml.Node) error {
	type plain rawModule
	if n.Kind == yaml.ScalarNode {
		// "- build/orders.wasm" is short for "- path: build/orders.wasm".
		m.Path, m.line = n.Value, n.Line
		return nil
	}
	if n.Kind == yaml.MappingNode {
		// Node.Decode does not inherit the decoder's KnownFields, so check keys here.
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i].Value; k != "name" && k != "path" {
				return fmt.Errorf("line %d: field %s not found in type workspace.module", n.Content[i].Line, k)
			}
		}
	}
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*m = rawModule(p)
	m.line = n.Line
	return nil
}

var (
	jobNameRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	nameRE       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	yamlFieldErr = regexp.MustCompile(`line (\d+): field (\S+) not found in type \S+`)
)

// Load reads and checks a workspace file.
func Load(path string) (*File, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("workspace file %s does not exist (create one listing your modules, or pass -w FILE)", abs)
		}
		return nil, fmt.Errorf("read workspace file: %w", err)
	}
	return Parse(abs, data)
}

// Parse checks the content of a workspace file at path.
func Parse(path string, data []byte) (*File, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalid, path, fmt.Sprintf(format, args...))
	}
	var raw rawFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, fail("the file is empty; it needs a modules: list")
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
		msg = yamlFieldErr.ReplaceAllString(msg, `line $1: unknown field "$2" (known: modules, io_manager, concurrency, limits, logging, jobs, graphs, resources, partitions, assets; a module has name and path; a job has name, description, selection or graph, tags and config)`)
		return nil, fail("%s", msg)
	}
	f := &File{Path: path, Dir: filepath.Dir(path), IOManager: raw.IOManager, Concurrency: raw.Concurrency}
	if f.IOManager == "" {
		f.IOManager = "fs"
	}
	if raw.Concurrency < 0 {
		return nil, fail("concurrency must be 0 (number of CPUs) or more, not %d", raw.Concurrency)
	}
	if len(raw.Modules) == 0 {
		return nil, fail("no modules: list at least one .wasm module under modules:")
	}
	seen := map[string]int{}
	for i, m := range raw.Modules {
		if strings.TrimSpace(m.Path) == "" {
			return nil, fail("line %d: modules[%d] has no path", m.line, i)
		}
		p := m.Path
		if !filepath.IsAbs(p) {
			p = filepath.Join(f.Dir, p)
		}
		name := m.Name
		if name == "" {
			name = strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		}
		if !nameRE.MatchString(name) {
			return nil, fail("line %d: module name %q is invalid (letters, digits, '_' and '-'; set name: explicitly)", m.line, name)
		}
		if line, dup := seen[name]; dup {
			return nil, fail("line %d: module name %q is already used on line %d (set a different name:)", m.line, name, line)
		}
		seen[name] = m.line
		f.Modules = append(f.Modules, Module{Name: name, Path: p, Line: m.line})
	}
	switch f.Logging.Format = strings.ToLower(raw.Logging.Format); f.Logging.Format {
	case "":
		f.Logging.Format = "console"
	case "console", "json":
	default:
		return nil, fail("logging.format %q is not console or json", raw.Logging.Format)
	}
	switch f.Logging.Level = strings.ToUpper(raw.Logging.Level); f.Logging.Level {
	case "":
		f.Logging.Level = "DEBUG"
	case "WARN":
		f.Logging.Level = "WARNING"
	case "DEBUG", "INFO", "WARNING", "ERROR":
	default:
		return nil, fail("logging.level %q is not debug, info, warning or error", raw.Logging.Level)
	}
	jobNames := map[string]int{}
	for i, j := range raw.Jobs {
		switch {
		case !jobNameRE.MatchString(j.Name):
			return nil, fail("line %d: jobs[%d]: job name %q is invalid (letters, digits and '_', not starting with a digit)", j.line, i, j.Name)
		case jobNames[j.Name] != 0:
			return nil, fail("line %d: job %q is already defined on line %d", j.line, j.Name, jobNames[j.Name])
		case strings.TrimSpace(j.Selection) == "" && strings.TrimSpace(j.Graph) == "":
			return nil, fail("line %d: job %q has neither a selection (for example selection: \"group:orders\") nor a graph", j.line, j.Name)
		case strings.TrimSpace(j.Selection) != "" && strings.TrimSpace(j.Graph) != "":
			return nil, fail("line %d: job %q has both a selection and a graph; a job runs one or the other", j.line, j.Name)
		}
		jobNames[j.Name] = j.line
		job := Job{Name: j.Name, Description: j.Description, Selection: j.Selection, Graph: strings.TrimSpace(j.Graph), Tags: j.Tags, Line: j.line}
		if j.Config.Kind != 0 {
			cfg, err := YAMLToJSON(&j.Config)
			if err != nil {
				return nil, fail("line %d: job %q: config: %v", j.Config.Line, j.Name, err)
			}
			job.Config = cfg
		}
		f.Jobs = append(f.Jobs, job)
	}
	graphNames := map[string]int{}
	for i := range raw.Graphs {
		n := &raw.Graphs[i]
		if n.Kind != yaml.MappingNode {
			return nil, fail("line %d: graphs[%d] must be a mapping with a name and nodes", n.Line, i)
		}
		var head struct {
			Name string `yaml:"name"`
		}
		n.Decode(&head)
		switch {
		case !jobNameRE.MatchString(head.Name):
			return nil, fail("line %d: graphs[%d]: graph name %q is invalid (letters, digits and '_', not starting with a digit)", n.Line, i, head.Name)
		case graphNames[head.Name] != 0:
			return nil, fail("line %d: graph %q is already defined on line %d", n.Line, head.Name, graphNames[head.Name])
		}
		graphNames[head.Name] = n.Line
		doc, err := YAMLToJSON(n)
		if err != nil {
			return nil, fail("line %d: graph %q: %v", n.Line, head.Name, err)
		}
		f.Graphs = append(f.Graphs, Graph{Name: head.Name, JSON: doc, Line: n.Line})
	}
	resKeys := make([]string, 0, len(raw.Resources))
	for k := range raw.Resources {
		resKeys = append(resKeys, k)
	}
	sort.Strings(resKeys)
	for _, k := range resKeys {
		n := raw.Resources[k]
		r, err := parseResource(k, &n, f.Dir)
		if err != nil {
			return nil, fail("%v", err)
		}
		f.Resources = append(f.Resources, r)
	}
	if err := parsePartitions(f, &raw); err != nil {
		return nil, fail("%v", err)
	}
	var err error
	if raw.Limits.StepTimeout != "" {
		if f.Limits.StepTimeout, err = time.ParseDuration(raw.Limits.StepTimeout); err != nil || f.Limits.StepTimeout <= 0 {
			return nil, fail("limits.step_timeout %q is not a positive duration (e.g. 30s, 10m)", raw.Limits.StepTimeout)
		}
	}
	if raw.Limits.Memory != "" {
		n, err := ParseBytes(raw.Limits.Memory)
		if err != nil || n < 64<<10 || n > 4<<30 {
			return nil, fail("limits.memory %q must be a size from 64KiB to 4GiB (e.g. 512MiB)", raw.Limits.Memory)
		}
		f.Limits.MemoryBytes = uint64(n)
	}
	if raw.Limits.Output != "" {
		n, err := ParseBytes(raw.Limits.Output)
		if err != nil || n <= 0 {
			return nil, fail("limits.output %q is not a positive size (e.g. 2GiB)", raw.Limits.Output)
		}
		f.Limits.MaxOutputBytes = n
	}
	if raw.Limits.ModuleSize != "" {
		n, err := ParseBytes(raw.Limits.ModuleSize)
		if err != nil || n <= 0 {
			return nil, fail("limits.module_size %q is not a positive size (e.g. 64MiB)", raw.Limits.ModuleSize)
		}
		f.Limits.MaxModuleBytes = n
	}
	return f, nil
}

var sizeRE = regexp.MustCompile(`^(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?$`)

// ParseBytes parses sizes like 512MiB, 2GB or 1048576.
func ParseBytes(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, err
	}
	mult := map[string]int64{"": 1, "B": 1, "KB": 1000, "KiB": 1 << 10, "MB": 1000 * 1000, "MiB": 1 << 20, "GB": 1000 * 1000 * 1000, "GiB": 1 << 30}[m[2]]
	if n > math.MaxInt64/mult {
		// n*mult would wrap around, and could land inside a limit's range (2^34+1 GiB is 1 GiB).
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

// Find looks for FileName in dir and its parents, as git finds .git.
func Find(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		p := filepath.Join(d, FileName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no %s in %s or any parent directory (pass -w FILE)", FileName, abs)
		}
	}
}

// YAMLToJSON converts a YAML node (a run config written in YAML) to JSON. Mapping keys must be
// strings, as JSON requires.
func YAMLToJSON(n *yaml.Node) ([]byte, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	v, err := jsonable(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func jsonable(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			x[k] = j
		}
		return x, nil
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("mapping key %v is not a string", k)
			}
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			out[ks] = j
		}
		return out, nil
	case []any:
		for i, e := range x {
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			x[i] = j
		}
		return x, nil
	}
	return v, nil
}
