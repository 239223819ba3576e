// Package manifest parses and validates the JSON manifest a guest module returns from
// wasmorch_manifest (abi/ABI.md section 7).
//
// The parser is strict: unknown fields, wrong types, invalid names and dangling references inside
// one module are errors whose text gives the field path (assets[1].ins[0].asset) so a guest author
// can find the mistake. Cross-module checks (unknown deps, duplicate keys, cycles) belong to the
// asset graph, not here. This package must not run guests.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/wasmorch/wasmorch/abi"
	"github.com/wasmorch/wasmorch/host/internal/partitions"
)

// ErrInvalid is wrapped by every error Parse returns.
var ErrInvalid = errors.New("invalid manifest")

// Manifest is a module's description of itself.
type Manifest struct {
	ABIVersion int      `json:"abi_version"`
	SDK        *SDK     `json:"sdk,omitempty"`
	Assets     []Asset  `json:"assets,omitempty"`
	Ops        []Op     `json:"ops,omitempty"`
	Checks     []Check  `json:"checks,omitempty"`
	Sensors    []Sensor `json:"sensors,omitempty"`
	Graphs     []Graph  `json:"graphs,omitempty"`
	Jobs       []Job    `json:"jobs,omitempty"`
}

// SDK names the guest SDK that produced the manifest.
type SDK struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Asset is a software-defined asset.
type Asset struct {
	Key          string            `json:"key"`
	Ins          []AssetIn         `json:"ins,omitempty"`
	Deps         []string          `json:"deps,omitempty"`
	Group        string            `json:"group,omitempty"`
	Description  string            `json:"description,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
	Output       Output            `json:"output"`
	ConfigSchema json.RawMessage   `json:"config_schema,omitempty"`
	Partitions   json.RawMessage   `json:"partitions,omitempty"`
	Resources    []string          `json:"resources,omitempty"`
	IOManager    string            `json:"io_manager,omitempty"`
	CodeVersion  string            `json:"code_version,omitempty"`
	RetryPolicy  *RetryPolicy      `json:"retry_policy,omitempty"`
}

// AssetIn is a named input of an asset, loaded from an upstream asset.
type AssetIn struct {
	Name             string          `json:"name"`
	Asset            string          `json:"asset,omitempty"`
	Format           string          `json:"format,omitempty"`
	PartitionMapping json.RawMessage `json:"partition_mapping,omitempty"`
}

// Output describes an asset's single output.
type Output struct {
	Format     string          `json:"format,omitempty"`
	Schema     *Schema         `json:"schema,omitempty"`
	JSONSchema json.RawMessage `json:"json_schema,omitempty"`
}

// Schema is a declared Arrow schema in the JSON form of ABI.md section 7.5.
type Schema struct {
	Fields   []Field           `json:"fields"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Field is one column of a declared schema.
type Field struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable *bool  `json:"nullable,omitempty"`
}

// Op is an op with named inputs and outputs.
type Op struct {
	Name         string            `json:"name"`
	Description  string            `json:"description,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
	Ins          []OpIn            `json:"ins,omitempty"`
	Outs         []OpOut           `json:"outs,omitempty"`
	ConfigSchema json.RawMessage   `json:"config_schema,omitempty"`
	Resources    []string          `json:"resources,omitempty"`
	RetryPolicy  *RetryPolicy      `json:"retry_policy,omitempty"`
}

// OpIn is an op input.
type OpIn struct {
	Name     string `json:"name"`
	Format   string `json:"format,omitempty"`
	Optional bool   `json:"optional,omitempty"`
}

// OpOut is an op output.
type OpOut struct {
	Name     string `json:"name"`
	Format   string `json:"format,omitempty"`
	Optional bool   `json:"optional,omitempty"`
	Dynamic  bool   `json:"dynamic,omitempty"`
}

// Check is an asset check.
type Check struct {
	Name         string          `json:"name"`
	Asset        string          `json:"asset"`
	Description  string          `json:"description,omitempty"`
	Blocking     bool            `json:"blocking,omitempty"`
	ConfigSchema json.RawMessage `json:"config_schema,omitempty"`
	Resources    []string        `json:"resources,omitempty"`
}

// Sensor is a sensor.
type Sensor struct {
	Name                   string   `json:"name"`
	Description            string   `json:"description,omitempty"`
	MinimumIntervalSeconds int      `json:"minimum_interval_seconds,omitempty"`
	Targets                []string `json:"targets,omitempty"`
	Resources              []string `json:"resources,omitempty"`
}

var (
	nameRE         = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	keyComponentRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]*$`)
)

// ValidName reports whether s is a valid op, check, sensor, input or output name.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// ValidAssetKey reports whether s is a valid asset key: components joined by '/'.
func ValidAssetKey(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range strings.Split(s, "/") {
		if !keyComponentRE.MatchString(c) {
			return false
		}
	}
	return true
}

// Parse decodes and validates a manifest. All problems found are reported together, each line
// starting with its field path.
func Parse(data []byte) (*Manifest, error) {
	if len(data) > abi.MaxManifest {
		return nil, fmt.Errorf("%w: %d bytes is over the %d byte limit", ErrInvalid, len(data), abi.MaxManifest)
	}
	// JSON is UTF-8; encoding/json would quietly turn bad bytes into U+FFFD in names and text.
	if !utf8.Valid(data) {
		off := invalidUTF8(data)
		line, col := lineCol(data, int64(off))
		return nil, fmt.Errorf("%w: the manifest is not valid UTF-8: byte 0x%02x at offset %d (line %d, column %d)", ErrInvalid, data[off], off, line, col)
	}
	if depth, off := nesting(data); depth > MaxDepth {
		line, col := lineCol(data, int64(off))
		return nil, fmt.Errorf("%w: the manifest nests objects and arrays more than %d levels deep (at line %d, column %d)", ErrInvalid, MaxDepth, line, col)
	}
	var generic any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, describeSyntax(data, err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: unexpected data after the manifest object", ErrInvalid)
	}
	var p problems
	checkShape(&p, "", generic, manifestShape)
	if len(p) > 0 {
		return nil, p.err()
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, describeSyntax(data, err))
	}
	m.validate(&p)
	if len(p) > 0 {
		return nil, p.err()
	}
	m.applyDefaults()
	return &m, nil
}

// MaxDepth caps how deeply a manifest nests objects and arrays. The deepest real manifests
// (nested Arrow types, JSON Schemas of nested config) stay far below it; the cap keeps every
// recursive walk over a manifest and its schemas shallow, and says what is wrong in words where
// encoding/json would only say "exceeded max depth" at 10,000 levels.
const MaxDepth = abi.MaxManifestDepth

// maxListedProblems caps the problems an error lists, so a manifest with a million bad entries
// gives a message of a few lines and a count.
const maxListedProblems = 20

// invalidUTF8 returns the offset of the first byte that is not part of valid UTF-8.
func invalidUTF8(data []byte) int {
	for off := 0; off < len(data); {
		r, size := utf8.DecodeRune(data[off:])
		if r == utf8.RuneError && size == 1 {
			return off
		}
		off += size
	}
	return len(data)
}

// nesting returns the deepest nesting of objects and arrays in JSON text, stopping as soon as
// it passes MaxDepth, and the offset where it was reached. Brackets inside strings do not count.
func nesting(data []byte) (depth, at int) {
	cur, inString, escaped := 0, false, false
	for i, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			cur++
			if cur > depth {
				depth, at = cur, i
				if depth > MaxDepth {
					return depth, at
				}
			}
		case c == '}' || c == ']':
			cur--
		}
	}
	return depth, at
}

type problems []string

func (p *problems) add(path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	*p = append(*p, msg)
}

func (p problems) err() error {
	if len(p) == 1 {
		return fmt.Errorf("%w: %s", ErrInvalid, p[0])
	}
	if len(p) > maxListedProblems {
		return fmt.Errorf("%w (%d problems, the first %d listed):\n  %s", ErrInvalid, len(p), maxListedProblems, strings.Join(p[:maxListedProblems], "\n  "))
	}
	return fmt.Errorf("%w (%d problems):\n  %s", ErrInvalid, len(p), strings.Join(p, "\n  "))
}

// describeSyntax turns a JSON decode error into text with a line and column.
func describeSyntax(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := lineCol(data, se.Offset)
		return fmt.Sprintf("malformed JSON at line %d, column %d: %s", line, col, se.Error())
	case errors.As(err, &te):
		line, col := lineCol(data, te.Offset)
		return fmt.Sprintf("%s: expected %s, got JSON %s (line %d, column %d)", te.Field, te.Type, te.Value, line, col)
	case errors.Is(err, io.EOF):
		return "manifest is empty"
	}
	return err.Error()
}

func lineCol(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	line = 1 + bytes.Count(data[:offset], []byte("\n"))
	col = int(offset) - bytes.LastIndexByte(data[:offset], '\n')
	return line, col
}

func (m *Manifest) validate(p *problems) {
	if m.ABIVersion == 0 {
		p.add("abi_version", "is required")
	} else if m.ABIVersion < abi.MinVersion || m.ABIVersion > abi.MaxVersion {
		p.add("abi_version", "%d is not supported by this host (supports %d..%d)", m.ABIVersion, abi.MinVersion, abi.MaxVersion)
	}
	if len(m.Assets)+len(m.Ops)+len(m.Checks)+len(m.Sensors)+len(m.Graphs)+len(m.Jobs) == 0 {
		p.add("", "the module defines no assets, ops, checks, sensors, graphs or jobs")
	}
	keys := map[string]int{}
	for i, a := range m.Assets {
		path := fmt.Sprintf("assets[%d]", i)
		switch {
		case a.Key == "":
			p.add(path+".key", "is required")
		case !ValidAssetKey(a.Key):
			p.add(path+".key", "%q is not a valid asset key (components of letters, digits, '_' or '-', joined by '/')", a.Key)
		default:
			if j, dup := keys[a.Key]; dup {
				p.add(path+".key", "asset %q is already defined by assets[%d]", a.Key, j)
			}
			keys[a.Key] = i
		}
		where := path
		if a.Key != "" {
			where = fmt.Sprintf("%s (asset %q)", path, a.Key)
		}
		inNames := map[string]bool{}
		for j, in := range a.Ins {
			ip := fmt.Sprintf("%s.ins[%d]", where, j)
			if !ValidName(in.Name) {
				p.add(ip+".name", "%q is not a valid input name (want %s)", in.Name, nameRE)
			}
			if inNames[in.Name] {
				p.add(ip+".name", "input %q is declared twice", in.Name)
			}
			inNames[in.Name] = true
			if in.Asset != "" && !ValidAssetKey(in.Asset) {
				p.add(ip+".asset", "%q is not a valid asset key", in.Asset)
			}
			if in.Format != "" {
				checkFormat(p, ip+".format", in.Format)
			}
			if in.Asset == a.Key || (in.Asset == "" && in.Name == a.Key) {
				p.add(ip, "asset %q cannot depend on itself", a.Key)
			}
			checkMapping(p, ip+".partition_mapping", in.PartitionMapping)
		}
		for j, d := range a.Deps {
			if !ValidAssetKey(d) {
				p.add(fmt.Sprintf("%s.deps[%d]", where, j), "%q is not a valid asset key", d)
			} else if d == a.Key {
				p.add(fmt.Sprintf("%s.deps[%d]", where, j), "asset %q cannot depend on itself", a.Key)
			}
		}
		if a.Group != "" && !ValidName(a.Group) {
			p.add(where+".group", "%q is not a valid group name (want %s)", a.Group, nameRE)
		}
		if a.Output.Format != "" {
			checkFormat(p, where+".output.format", a.Output.Format)
		}
		if a.Output.Schema != nil {
			if a.Output.Format != "" && a.Output.Format != "arrow" {
				p.add(where+".output.schema", "an Arrow schema needs output format arrow, not %s", a.Output.Format)
			}
			validateSchema(p, where+".output.schema", a.Output.Schema)
		}
		checkJSONSchema(p, where+".output.json_schema", a.Output.JSONSchema)
		checkJSONSchema(p, where+".config_schema", a.ConfigSchema)
		checkPartitions(p, where+".partitions", a.Partitions)
		checkNames(p, where+".resources", a.Resources)
		if a.IOManager != "" && !ValidName(a.IOManager) {
			p.add(where+".io_manager", "%q is not a valid IO manager key", a.IOManager)
		}
		checkRetry(p, where+".retry_policy", a.RetryPolicy)
	}
	opNames := map[string]bool{}
	for i, o := range m.Ops {
		path := fmt.Sprintf("ops[%d]", i)
		if !ValidName(o.Name) {
			p.add(path+".name", "%q is not a valid op name (want %s)", o.Name, nameRE)
		} else if opNames[o.Name] {
			p.add(path+".name", "op %q is defined twice", o.Name)
		}
		opNames[o.Name] = true
		seen := map[string]bool{}
		for j, in := range o.Ins {
			ip := fmt.Sprintf("%s.ins[%d]", path, j)
			if !ValidName(in.Name) || seen[in.Name] {
				p.add(ip+".name", "%q is not a valid, unique input name", in.Name)
			}
			seen[in.Name] = true
			if in.Format != "" {
				checkFormat(p, ip+".format", in.Format)
			}
		}
		seen = map[string]bool{}
		for j, out := range o.Outs {
			op := fmt.Sprintf("%s.outs[%d]", path, j)
			if !ValidName(out.Name) || seen[out.Name] {
				p.add(op+".name", "%q is not a valid, unique output name", out.Name)
			}
			seen[out.Name] = true
			if out.Format != "" {
				checkFormat(p, op+".format", out.Format)
			}
		}
		checkJSONSchema(p, path+".config_schema", o.ConfigSchema)
		checkNames(p, path+".resources", o.Resources)
		checkRetry(p, path+".retry_policy", o.RetryPolicy)
	}
	checkNamesSeen := map[string]bool{}
	for i, c := range m.Checks {
		path := fmt.Sprintf("checks[%d]", i)
		if !ValidName(c.Name) {
			p.add(path+".name", "%q is not a valid check name (want %s)", c.Name, nameRE)
		}
		if !ValidAssetKey(c.Asset) {
			p.add(path+".asset", "%q is not a valid asset key", c.Asset)
		}
		id := c.Asset + ":" + c.Name
		if checkNamesSeen[id] {
			p.add(path+".name", "check %q on asset %q is defined twice", c.Name, c.Asset)
		}
		checkNamesSeen[id] = true
		checkJSONSchema(p, path+".config_schema", c.ConfigSchema)
		checkNames(p, path+".resources", c.Resources)
	}
	m.validateGraphsAndJobs(p)
	sensorNames := map[string]bool{}
	for i, s := range m.Sensors {
		path := fmt.Sprintf("sensors[%d]", i)
		if !ValidName(s.Name) || sensorNames[s.Name] {
			p.add(path+".name", "%q is not a valid, unique sensor name", s.Name)
		}
		sensorNames[s.Name] = true
		if s.MinimumIntervalSeconds < 0 {
			p.add(path+".minimum_interval_seconds", "must not be negative")
		}
		for j, t := range s.Targets {
			if !ValidAssetKey(t) {
				p.add(fmt.Sprintf("%s.targets[%d]", path, j), "%q is not a valid asset key", t)
			}
		}
		checkNames(p, path+".resources", s.Resources)
	}
}

func checkFormat(p *problems, path, f string) {
	if _, ok := abi.ParseFormat(f); !ok {
		p.add(path, "unknown format %q (want arrow, json or bytes)", f)
	}
}

func checkNames(p *problems, path string, names []string) {
	for i, n := range names {
		if !ValidName(n) {
			p.add(fmt.Sprintf("%s[%d]", path, i), "%q is not a valid resource key", n)
		}
	}
}

// checkJSONSchema accepts null or an object; full JSON Schema validation of run config is the
// config package's job.
func checkJSONSchema(p *problems, path string, raw json.RawMessage) {
	checkObject(p, path, raw, "a JSON Schema object")
}

// checkObject accepts null or a JSON object; what names the expected value in the message.
func checkObject(p *problems, path string, raw json.RawMessage, what string) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return
	}
	if t[0] != '{' {
		p.add(path, "must be %s", what)
	}
}

// checkPartitions validates a partitions definition (ABI.md 7.6) with the partitions package, so
// a bad schedule, key, time zone or cron expression fails the load, naming its path.
func checkPartitions(p *problems, path string, raw json.RawMessage) {
	if _, err := partitions.ParseAt(path, raw); err != nil {
		p.add("", "%v", err)
	}
}

func (m *Manifest) applyDefaults() {
	for i := range m.Assets {
		a := &m.Assets[i]
		if a.Group == "" {
			a.Group = "default"
		}
		if a.Output.Format == "" {
			a.Output.Format = "arrow"
		}
		for j := range a.Ins {
			if a.Ins[j].Asset == "" {
				a.Ins[j].Asset = a.Ins[j].Name
			}
		}
	}
	sort.SliceStable(m.Assets, func(i, j int) bool { return m.Assets[i].Key < m.Assets[j].Key })
}

// AssetByKey returns the asset with the given key.
func (m *Manifest) AssetByKey(key string) (*Asset, bool) {
	for i := range m.Assets {
		if m.Assets[i].Key == key {
			return &m.Assets[i], true
		}
	}
	return nil, false
}

// Format returns the asset's output format.
func (a *Asset) Format() abi.Format {
	f, _ := abi.ParseFormat(a.Output.Format)
	return f
}

// Upstreams returns every upstream key of an asset: its inputs' assets, then its deps.
func (a *Asset) Upstreams() []string {
	var out []string
	seen := map[string]bool{}
	for _, in := range a.Ins {
		if !seen[in.Asset] {
			seen[in.Asset] = true
			out = append(out, in.Asset)
		}
	}
	for _, d := range a.Deps {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// RetryPolicy says how often and when a failed step is tried again.
type RetryPolicy struct {
	MaxRetries   int     `json:"max_retries,omitempty"`
	DelaySeconds float64 `json:"delay_seconds,omitempty"`
	Backoff      string  `json:"backoff,omitempty"`
	Jitter       string  `json:"jitter,omitempty"`
}

// Graph wires ops and other graphs into named nodes.
type Graph struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	Ins         []GraphIn   `json:"ins,omitempty"`
	Nodes       []GraphNode `json:"nodes"`
	Outs        []GraphOut  `json:"outs,omitempty"`
}

// GraphIn is an input of a graph.
type GraphIn struct {
	Name string `json:"name"`
}

// GraphNode is one use of an op or graph inside a graph.
type GraphNode struct {
	Name   string                   `json:"name"`
	Op     string                   `json:"op"`
	Ins    map[string]GraphNodeFrom `json:"ins,omitempty"`
	Config json.RawMessage          `json:"config,omitempty"`
}

// GraphNodeFrom says where a node input comes from: another node's output or a graph input.
type GraphNodeFrom struct {
	Node       string `json:"node,omitempty"`
	Output     string `json:"output,omitempty"`
	GraphInput string `json:"graph_input,omitempty"`
	// Collect gathers every value of a dynamic output, or of a node mapped over one, into this
	// one input: Arrow values are concatenated in mapping-key order, JSON values become an array.
	Collect bool `json:"collect,omitempty"`
}

// GraphOut exposes a node's output as an output of the graph.
type GraphOut struct {
	Name   string `json:"name"`
	Node   string `json:"node"`
	Output string `json:"output"`
}

// Job is a named asset selection or graph to run, with default run config.
type Job struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Selection   string            `json:"selection,omitempty"`
	Graph       string            `json:"graph,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Config      json.RawMessage   `json:"config,omitempty"`
}
