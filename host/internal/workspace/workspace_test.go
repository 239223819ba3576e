package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	f, err := Parse("/p/wasmorch.yaml", []byte(`
modules:
  - path: go/orders.wasm
  - name: other
    path: /abs/x.wasm
  - short.wasm
concurrency: 3
limits:
  step_timeout: 30s
  memory: 256MiB
  output: 1GB
  module_size: 32MiB
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Module{{"orders", "/p/go/orders.wasm", 3}, {"other", "/abs/x.wasm", 4}, {"short", "/p/short.wasm", 6}}
	for i, m := range want {
		if f.Modules[i] != m {
			t.Errorf("module %d = %+v, want %+v", i, f.Modules[i], m)
		}
	}
	if f.Logging != (Logging{Format: "console", Level: "DEBUG"}) {
		t.Errorf("default logging = %+v", f.Logging)
	}
	if f.Concurrency != 3 || f.Limits.StepTimeout != 30*time.Second || f.Limits.MemoryBytes != 256<<20 || f.Limits.MaxOutputBytes != 1e9 || f.Limits.MaxModuleBytes != 32<<20 || f.IOManager != "fs" {
		t.Errorf("settings = %+v", f)
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]struct{ yaml, want string }{
		"empty":                 {"", "the file is empty"},
		"no modules":            {"concurrency: 2\n", "no modules"},
		"unknown field":         {"modules:\n  - path: a.wasm\nmodlues: []\n", `line 3: unknown field "modlues"`},
		"unknown in mod":        {"modules:\n  - path: a.wasm\n    nmae: x\n", `line 3: unknown field "nmae"`},
		"missing path":          {"modules:\n  - name: a\n", "line 2: modules[0] has no path"},
		"duplicate name":        {"modules:\n  - a.wasm\n  - dir/a.wasm\n", `line 3: module name "a" is already used on line 2`},
		"bad name":              {"modules:\n  - name: 'a b'\n    path: x.wasm\n", `module name "a b" is invalid`},
		"bad timeout":           {"modules: [a.wasm]\nlimits: {step_timeout: soon}\n", `limits.step_timeout "soon"`},
		"bad memory":            {"modules: [a.wasm]\nlimits: {memory: 8GiB}\n", `limits.memory "8GiB" must be a size from 64KiB to 4GiB`},
		"bad module size":       {"modules: [a.wasm]\nlimits: {module_size: 0}\n", `limits.module_size "0" is not a positive size (e.g. 64MiB)`},
		"bad yaml":              {"modules: [a.wasm\n", "line"},
		"bad concurrency":       {"modules: [a.wasm]\nconcurrency: -1\n", "concurrency must be 0"},
		"job without selection": {"modules: [a.wasm]\njobs:\n  - name: daily\n", `line 3: job "daily" has neither a selection`},
		"job bad name":          {"modules: [a.wasm]\njobs:\n  - name: 1job\n    selection: '*'\n", `job name "1job" is invalid`},
		"job duplicate":         {"modules: [a.wasm]\njobs:\n  - {name: j, selection: a}\n  - {name: j, selection: b}\n", `line 4: job "j" is already defined on line 3`},
		"job unknown field":     {"modules: [a.wasm]\njobs:\n  - {name: j, selection: a, schedule: daily}\n", `unknown field "schedule"`},
		"bad log format":        {"modules: [a.wasm]\nlogging: {format: xml}\n", `logging.format "xml" is not console or json`},
		"bad log level":         {"modules: [a.wasm]\nlogging: {level: loud}\n", `logging.level "loud" is not debug, info, warning or error`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("/p/wasmorch.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "/p/wasmorch.yaml") {
				t.Fatalf("err = %v, want it to name the file and contain %q", err, c.want)
			}
		})
	}
}

func TestLoadAndFind(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, FileName)); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing file: %v", err)
	}
	os.WriteFile(filepath.Join(dir, FileName), []byte("modules: [m.wasm]\n"), 0o644)
	sub := filepath.Join(dir, "a", "b")
	os.MkdirAll(sub, 0o755)
	p, err := Find(sub)
	if err != nil || p != filepath.Join(dir, FileName) {
		t.Fatalf("Find = %q, %v", p, err)
	}
}

func TestParseLogging(t *testing.T) {
	f, err := Parse("/p/wasmorch.yaml", []byte("modules: [a.wasm]\nlogging:\n  format: JSON\n  level: warn\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Logging != (Logging{Format: "json", Level: "WARNING"}) {
		t.Errorf("logging = %+v", f.Logging)
	}
}

func TestParseJobs(t *testing.T) {
	f, err := Parse("/p/wasmorch.yaml", []byte(`modules: [a.wasm]
jobs:
  - name: daily_orders
    description: the orders, every day
    selection: group:orders
    tags: {team: finance}
    config:
      ops:
        raw_orders:
          config: {limit: 10, names: [a, b]}
`))
	if err != nil {
		t.Fatal(err)
	}
	j := f.Jobs[0]
	if j.Name != "daily_orders" || j.Selection != "group:orders" || j.Tags["team"] != "finance" || j.Line != 3 {
		t.Errorf("job = %+v", j)
	}
	if string(j.Config) != `{"ops":{"raw_orders":{"config":{"limit":10,"names":["a","b"]}}}}` {
		t.Errorf("config = %s", j.Config)
	}
}
