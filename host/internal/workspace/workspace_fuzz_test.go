package workspace

import (
	"encoding/json"
	"errors"
	"math/big"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzWorkspace feeds arbitrary bytes to Parse, the parser of wasmorch.yaml. It never panics;
// every error wraps ErrInvalid and names the file; an accepted file is internally consistent
// (valid, unique module names with absolute paths, normalized logging, limits in range, job
// configs and graphs as valid JSON); and every size, in the file's limits or given to ParseBytes
// directly, is either refused or exactly the number of bytes written, never an overflowed one.
// The seed corpus is in testdata/fuzz/FuzzWorkspace; plain `go test` runs it.
func FuzzWorkspace(f *testing.F) {
	for _, seed := range []string{
		"modules:\n  - path: go/orders.wasm\n  - name: other\n    path: /abs/x.wasm\n  - short.wasm\nconcurrency: 3\nlimits:\n  step_timeout: 30s\n  memory: 256MiB\n  output: 1GB\n",
		"modules: [a.wasm]\nlogging:\n  format: JSON\n  level: warn\nio_manager: mem\n",
		"modules: [a.wasm]\njobs:\n  - name: daily_orders\n    description: the orders\n    selection: group:orders\n    tags: {team: finance}\n    config:\n      ops:\n        raw_orders:\n          config: {limit: 10, names: [a, b], on: yes, none: ~}\n  - {name: g_job, graph: g}\n",
		"modules: [a.wasm]\ngraphs:\n  - name: g\n    ins: [{name: day}]\n    nodes:\n      - {name: f, op: 'a:fetch', ins: {day: {graph_input: day}}, config: {k: 1}}\n",
		"modules: [a.wasm]\nresources:\n  db:\n    kind: kv\n    namespace: orders\n    max_value_bytes: 1MiB\n  web:\n    kind: http\n    allow: ['https://example.test/']\n    methods: [GET]\n    timeout: 5s\n    max_response_bytes: 10MB\n    headers: {X-Team: data}\n  env:\n    kind: env\n    vars: [HOME]\n  data:\n    kind: files\n    root: data\n    mode: ro\n",
		"modules: [a.wasm]\nresources:\n  web:\n    kind: http\n    headers: {Authorization: {env: WASMORCH_FUZZ_UNSET_VARIABLE}}\n",
		"modules: [a.wasm]\nresources:\n  x: [1]\n  '1bad': {kind: env}\n  y: {kind: tape}\n  z: {kind: kv, root: /}\n",
		"modules: [a.wasm]\nlimits: {memory: 17179869185GiB}\n",
		"modules: [a.wasm]\nlimits: {output: 9223372036854775807KB}\n",
		"modules: [a.wasm]\nlimits: {memory: 8GiB, step_timeout: -1s}\n",
		"modules: [a.wasm]\nlimits: {module_size: 64MiB}\n",
		"modules: [a.wasm]\njobs:\n  - {name: j, selection: a, config: {1: x}}\n",
		"modules: [a.wasm]\njobs:\n  - {name: j, selection: a, schedule: daily}\n",
		"modules: [a.wasm]\ngraphs: [1, {name: '2'}]\n",
		"modules:\n  - a.wasm\n  - dir/a.wasm\n",
		"modules:\n  - {name: 'a b', path: x.wasm}\n",
		"modules: [\"\"]\nconcurrency: -1\n",
		"a: &a [*a, *a]\nmodules: *a\n",
		"modules: [a.wasm]\n---\nmodules: [b.wasm]\n",
		"modules: !!binary aGVsbG8=\n",
		"modules: [a.wasm\n",
		"\t", "", "~", "[]", "modlues: []\n",
	} {
		f.Add([]byte(seed))
	}
	const path = "/p/wasmorch.yaml"
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParseBytes(t, string(data))
		ws, err := Parse(path, data)
		if err != nil {
			if ws != nil {
				t.Fatalf("Parse returned a file and an error: %v", err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		checkFile(t, ws)
		// The limits hold exactly the sizes written.
		var raw struct {
			Limits struct {
				Memory     string `yaml:"memory"`
				Output     string `yaml:"output"`
				ModuleSize string `yaml:"module_size"`
			} `yaml:"limits"`
		}
		if yaml.Unmarshal(data, &raw) == nil {
			if want, ok := exactBytes(raw.Limits.Memory); ok && big.NewInt(0).SetUint64(ws.Limits.MemoryBytes).Cmp(want) != 0 {
				t.Fatalf("limits.memory %q became %d bytes", raw.Limits.Memory, ws.Limits.MemoryBytes)
			}
			if want, ok := exactBytes(raw.Limits.Output); ok && big.NewInt(ws.Limits.MaxOutputBytes).Cmp(want) != 0 {
				t.Fatalf("limits.output %q became %d bytes", raw.Limits.Output, ws.Limits.MaxOutputBytes)
			}
			if want, ok := exactBytes(raw.Limits.ModuleSize); ok && big.NewInt(ws.Limits.MaxModuleBytes).Cmp(want) != 0 {
				t.Fatalf("limits.module_size %q became %d bytes", raw.Limits.ModuleSize, ws.Limits.MaxModuleBytes)
			}
		}
	})
}

func checkFile(t *testing.T, ws *File) {
	t.Helper()
	if len(ws.Modules) == 0 {
		t.Fatal("accepted a file without modules")
	}
	names := map[string]bool{}
	for _, m := range ws.Modules {
		if !nameRE.MatchString(m.Name) || names[m.Name] {
			t.Fatalf("accepted module name %q (invalid or repeated)", m.Name)
		}
		names[m.Name] = true
		if !filepath.IsAbs(m.Path) {
			t.Fatalf("module %q has relative path %q", m.Name, m.Path)
		}
	}
	if ws.Concurrency < 0 || ws.IOManager == "" {
		t.Fatalf("concurrency %d, io manager %q", ws.Concurrency, ws.IOManager)
	}
	if ws.Logging.Format != "console" && ws.Logging.Format != "json" {
		t.Fatalf("logging format %q", ws.Logging.Format)
	}
	switch ws.Logging.Level {
	case "DEBUG", "INFO", "WARNING", "ERROR":
	default:
		t.Fatalf("logging level %q", ws.Logging.Level)
	}
	if ws.Limits.StepTimeout < 0 || ws.Limits.MaxOutputBytes < 0 ||
		(ws.Limits.MemoryBytes != 0 && (ws.Limits.MemoryBytes < 64<<10 || ws.Limits.MemoryBytes > 4<<30)) {
		t.Fatalf("limits out of range: %+v", ws.Limits)
	}
	jobs := map[string]bool{}
	for _, j := range ws.Jobs {
		if !jobNameRE.MatchString(j.Name) || jobs[j.Name] {
			t.Fatalf("accepted job name %q (invalid or repeated)", j.Name)
		}
		jobs[j.Name] = true
		if (strings.TrimSpace(j.Selection) == "") == (j.Graph == "") {
			t.Fatalf("job %q: selection %q, graph %q", j.Name, j.Selection, j.Graph)
		}
		if j.Config != nil && !json.Valid(j.Config) {
			t.Fatalf("job %q: config is not JSON: %q", j.Name, j.Config)
		}
	}
	graphs := map[string]bool{}
	for _, g := range ws.Graphs {
		if !jobNameRE.MatchString(g.Name) || graphs[g.Name] || !json.Valid(g.JSON) {
			t.Fatalf("accepted graph %q (invalid, repeated or not JSON: %q)", g.Name, g.JSON)
		}
		graphs[g.Name] = true
	}
	for i, r := range ws.Resources {
		if !jobNameRE.MatchString(r.Key) || (i > 0 && ws.Resources[i-1].Key >= r.Key) {
			t.Fatalf("resource keys %q", r.Key)
		}
		if _, ok := resourceFields[r.Kind]; !ok {
			t.Fatalf("resource %q: kind %q", r.Key, r.Kind)
		}
		if r.Timeout < 0 || r.MaxRequestBytes < 0 || r.MaxResponseBytes < 0 || r.MaxValueBytes < 0 {
			t.Fatalf("resource %q: negative limit %+v", r.Key, r)
		}
		if r.Root != "" && !filepath.IsAbs(r.Root) {
			t.Fatalf("resource %q: relative root %q", r.Key, r.Root)
		}
	}
}

var exactSizeRE = regexp.MustCompile(`^(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?$`)

// exactBytes computes a size the way ParseBytes documents it, with no limit on the number.
func exactBytes(s string) (*big.Int, bool) {
	m := exactSizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return nil, false
	}
	n, _ := new(big.Int).SetString(m[1], 10)
	mult := map[string]int64{"": 1, "B": 1, "KB": 1e3, "KiB": 1 << 10, "MB": 1e6, "MiB": 1 << 20, "GB": 1e9, "GiB": 1 << 30}[m[2]]
	return n.Mul(n, big.NewInt(mult)), true
}

// checkParseBytes: ParseBytes either refuses s or returns exactly its number of bytes.
func checkParseBytes(t *testing.T, s string) {
	t.Helper()
	n, err := ParseBytes(s)
	if err != nil {
		return
	}
	want, ok := exactBytes(s)
	if !ok {
		t.Fatalf("ParseBytes(%q) = %d, but it is not a size", s, n)
	}
	if big.NewInt(n).Cmp(want) != 0 {
		t.Fatalf("ParseBytes(%q) = %d, want %s", s, n, want)
	}
}
