package host_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmorch/wasmorch/host"
	"github.com/wasmorch/wasmorch/host/store"
	"github.com/wasmorch/wasmorch/internal/guesttest"
)

// writeWorkspace writes a wasmorch.yaml listing modules (name -> absolute path) plus extra YAML.
func writeWorkspace(t *testing.T, modules map[string]string, extra string) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("modules:\n")
	for _, name := range sortedNames(modules) {
		fmt.Fprintf(&b, "  - name: %s\n    path: %s\n", name, modules[name])
	}
	b.WriteString(extra)
	p := filepath.Join(dir, "wasmorch.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sortedNames(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func openInstance(t *testing.T, opts ...host.Option) *host.Instance {
	t.Helper()
	return openInstanceIn(t, t.TempDir(), opts...)
}

func ordersWorkspace(t *testing.T) string {
	return writeWorkspace(t, map[string]string{"orders": guesttest.Path(t, "orders/go/orders.wasm")}, "")
}

func faultsWorkspace(t *testing.T) string {
	return writeWorkspace(t, map[string]string{"faults": guesttest.Path(t, "guests/go/faults/faults.wasm")}, "")
}

func loadWorkspace(t *testing.T, inst *host.Instance, path string) *host.Workspace {
	t.Helper()
	ws, err := inst.LoadWorkspace(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func materialize(t *testing.T, inst *host.Instance, ws *host.Workspace, sel string, opts ...host.MaterializeOption) *host.Result {
	t.Helper()
	res, err := inst.Materialize(context.Background(), ws, sel, opts...)
	if err != nil {
		t.Fatalf("Materialize(%q): %v", sel, err)
	}
	return res
}

func eventsOf(res *host.Result, typ store.EventType, step string) []store.Event {
	var out []store.Event
	for _, ev := range res.Events {
		if ev.Type == typ && (step == "" || ev.StepKey == step) {
			out = append(out, ev)
		}
	}
	return out
}

func stepError(t *testing.T, res *host.Result, step string) string {
	t.Helper()
	o, ok := res.Steps[step]
	if !ok {
		t.Fatalf("no step %q in %v", step, res.Steps)
	}
	if o.Status != "FAILURE" {
		t.Fatalf("step %q is %s, want FAILURE", step, o.Status)
	}
	fails := eventsOf(res, store.EventStepFailure, step)
	if len(fails) != 1 || fails[0].Error != o.Error {
		t.Fatalf("step %q: want one STEP_FAILURE event carrying the error, got %+v", step, fails)
	}
	return o.Error
}

func TestLoadWorkspaceBadInputs(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.wasm")
	os.WriteFile(garbage, []byte("this is not webassembly at all"), 0o644)
	truncated := filepath.Join(dir, "truncated.wasm")
	orders, _ := os.ReadFile(guesttest.Path(t, "orders/go/orders.wasm"))
	os.WriteFile(truncated, orders[:len(orders)/2], 0o644)
	wat := func(name string) string { return guesttest.Path(t, "guests/wat/"+name+".wasm") }
	cases := []struct {
		name    string
		modules map[string]string
		want    []string
		is      error
	}{
		{"not wasm", map[string]string{"junk": garbage}, []string{`module "junk"`, "not a valid WebAssembly module", "magic bytes"}, nil},
		{"truncated wasm", map[string]string{"half": truncated}, []string{`module "half"`, "not a valid WebAssembly module"}, nil},
		{"missing file", map[string]string{"ghost": filepath.Join(dir, "nope.wasm")}, []string{`module "ghost"`, "cannot read", "no such file"}, nil},
		{"no ABI exports", map[string]string{"plain": wat("no_exports")}, []string{`module "plain"`, "does not export"}, nil},
		{"ABI version mismatch", map[string]string{"future": wat("abi_v2")}, []string{`module "future"`, "built for ABI version 2", "supports 1..1"}, nil},
		{"malformed manifest", map[string]string{"broken": wat("bad_manifest")}, []string{`module "broken"`, "invalid manifest", "malformed JSON at line 1"}, nil},
		{"unknown import", map[string]string{"importer": wat("bad_import")}, []string{`module "importer"`, "wasmorch.not_a_function", "not a function of ABI version 1"}, nil},
		{"unknown dep", map[string]string{"lonely": wat("unknown_dep")}, []string{`module "lonely"`, `"lonely"`, `"ghost"`}, nil},
		{"duplicate key", map[string]string{"first": wat("dup_a"), "second": wat("dup_b")}, []string{`"shared_key"`, `"first"`, `"second"`}, nil},
		{"cycle", map[string]string{"loop": wat("cycle")}, []string{"dependency cycle: cyc_a -> cyc_b -> cyc_a", `(module "loop")`}, nil},
		{"several problems at once", map[string]string{"junk": garbage, "plain": wat("no_exports")}, []string{"2 problems", `module "junk"`, `module "plain"`}, nil},
	}
	inst := openInstance(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ws := writeWorkspace(t, c.modules, "")
			_, err := inst.LoadWorkspace(context.Background(), ws)
			if err == nil {
				t.Fatal("LoadWorkspace accepted a bad workspace")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestSelectionErrors(t *testing.T) {
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, ordersWorkspace(t))
	_, err := inst.Materialize(context.Background(), ws, "revenue_by_regoin")
	if err == nil || !strings.Contains(err.Error(), `did you mean "revenue_by_region"`) {
		t.Fatalf("err = %v, want a close match", err)
	}
	runs, _ := inst.Store().Runs(context.Background(), store.RunFilter{})
	if len(runs) != 0 {
		t.Fatalf("a bad selection created %d run(s)", len(runs))
	}
}

func TestRunConfigErrors(t *testing.T) {
	inst := openInstance(t)
	ws := loadWorkspace(t, inst, ordersWorkspace(t))
	for cfg, want := range map[string]string{
		`[1]`:                                             `run config must be an object of the shape {"ops": {"STEP": {"config": {...}}}}, got array`,
		`{"opz": {}}`:                                     `unknown top-level field "opz" (did you mean "ops"?)`,
		`{"ops": {"raw_order": {"config": {}}}}`:          `ops: unknown step "raw_order" (did you mean "raw_orders"?)`,
		`{"ops": {"raw_orders": {"conf": {}}}}`:           `ops.raw_orders: unknown field "conf" (did you mean "config"?)`,
		`{"ops": {"raw_orders": {"config": 3}}}`:          "ops.raw_orders.config: expected object, got integer 3",
		`{"ops": {"raw_orders": {"config": {"csv": 1}}}}`: "ops.raw_orders.config.csv: expected string, got integer 1",
		`{"ops": {"cleaned_orders": {"config": {}}}}`:     `asset "cleaned_orders" is not in the selection`,
	} {
		_, err := inst.Materialize(context.Background(), ws, "raw_orders", host.WithRunConfig([]byte(cfg)))
		if !errors.Is(err, host.ErrInvalidRunConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("config %s: err = %v, want %q", cfg, err, want)
		}
	}
}
