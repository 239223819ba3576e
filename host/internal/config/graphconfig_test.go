package config

import (
	"strings"
	"testing"
)

func graphNodes(t *testing.T) map[string]*GraphNode {
	t.Helper()
	limit, err := Compile([]byte(`{"type":"object","properties":{"limit":{"type":"integer","default":10},"token":{"type":"string"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*GraphNode{
		"fetch": {Step: "fetch", Schema: limit, Default: map[string]any{"limit": 5.0}},
		"inner": {Nodes: map[string]*GraphNode{
			"square": {Step: "inner.square", Schema: limit},
		}},
	}
}

func TestGraphRunConfigNestsAndMerges(t *testing.T) {
	lookup := func(name string) (string, bool) { return "s3cret", name == "TOKEN" }
	perStep, inputs, redacted, errs := ValidateGraphRunConfig([]byte(
		`{"ops": {"fetch": {"config": {"token": {"env": "TOKEN"}}}, "inner": {"ops": {"square": {"config": {"limit": 3}}}}}, "inputs": {"day": {"value": "2026-01-02"}}}`),
		graphNodes(t), []string{"day"}, lookup)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	// The node default (limit 5) is kept under run config that sets only the token.
	if got := string(perStep["fetch"]); got != `{"limit":5,"token":"s3cret"}` {
		t.Errorf("fetch config = %s", got)
	}
	if got := string(perStep["inner.square"]); got != `{"limit":3}` {
		t.Errorf("inner.square config = %s", got)
	}
	if got := string(inputs["day"]); got != `"2026-01-02"` {
		t.Errorf("input day = %s", got)
	}
	if strings.Contains(string(redacted), "s3cret") || !strings.Contains(string(redacted), `{"env":"TOKEN"}`) {
		t.Errorf("redacted run config shows the secret or lost its reference: %s", redacted)
	}
}

func TestGraphRunConfigErrors(t *testing.T) {
	_, _, _, errs := ValidateGraphRunConfig([]byte(
		`{"ops": {"fetc": {"config": {}}, "fetch": {"config": {"limit": "ten"}}, "inner": {"config": {}, "ops": {"square": {"conf": {}}}}}, "inputs": {"dya": {"value": 1}}, "resources": {}}`),
		graphNodes(t), []string{"day"}, nil)
	got := Join(errs).Error()
	for _, want := range []string{
		`unknown top-level field "resources"`,
		`ops: unknown node "fetc" (did you mean "fetch"?)`,
		`ops.fetch.config.limit: expected integer, got string "ten"`,
		`ops.inner: unknown field "config"`,
		`ops.inner.ops.square: unknown field "conf"`,
		`inputs: the graph has no input "dya" (did you mean "day"?)`,
		`inputs.day: missing: the graph's input "day" must be given as {"value": ...}`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
}
