package config

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func testSteps(t *testing.T) map[string]*Schema {
	return map[string]*Schema{
		"raw_orders": mustCompile(t, `{"type":"object","required":["csv"],"additionalProperties":false,"properties":{
			"csv":   {"type":"string"},
			"limit": {"type":"integer","default":10,"minimum":1},
			"token": {"type":"string"}
		}}`),
		"orders/cleaned": mustCompile(t, `{"type":"object","properties":{"drop_nulls":{"type":"boolean","default":true}}}`),
		"summary":        nil,
	}
}

func TestValidateRunConfigOK(t *testing.T) {
	run := `{"ops": {
		"raw_orders": {"config": {"csv": "a.csv", "token": {"env": "TOKEN"}}},
		"orders__cleaned": {"config": {}}
	}}`
	per, red, errs := ValidateRunConfig([]byte(run), testSteps(t), env(map[string]string{"TOKEN": secret}))
	checkErrs(t, errs, nil)
	want := map[string]string{
		"raw_orders":     `{"csv":"a.csv","limit":10,"token":"` + secret + `"}`,
		"orders/cleaned": `{"drop_nulls":true}`,
		"summary":        `{}`,
	}
	if len(per) != len(want) {
		t.Errorf("perStep has %d steps, want %d: %v", len(per), len(want), per)
	}
	for k, w := range want {
		if g := string(per[k]); g != w {
			t.Errorf("perStep[%s] = %s, want %s", k, g, w)
		}
	}
	wantRed := `{"ops":{"orders/cleaned":{"config":{"drop_nulls":true}},"raw_orders":{"config":{"csv":"a.csv","limit":10,"token":{"env":"TOKEN"}}},"summary":{"config":{}}}}`
	if string(red) != wantRed {
		t.Errorf("redacted run =\n %s\nwant\n %s", red, wantRed)
	}
	if strings.Contains(string(red), secret) {
		t.Errorf("redacted run contains the secret: %s", red)
	}
	if !json.Valid(red) {
		t.Errorf("redacted run is not valid JSON")
	}
	// The stored run config replays: validated again with the environment, it gives the same
	// per-step config (this is what re-execution does).
	again, _, errs := ValidateRunConfig(red, testSteps(t), env(map[string]string{"TOKEN": secret}))
	if len(errs) != 0 {
		t.Errorf("stored run config rejected on replay: %v", errs)
	}
	if !reflect.DeepEqual(again, per) {
		t.Errorf("replay gave %v, want %v", again, per)
	}
}

func TestValidateRunConfigEmpty(t *testing.T) {
	steps := map[string]*Schema{
		"a": mustCompile(t, `{"type":"object","properties":{"n":{"default":1}}}`),
		"b": nil,
		"c": mustCompile(t, `{"type":"integer","default":5}`),
	}
	for _, run := range []string{"", " \n", "{}", `{"ops":{}}`} {
		per, red, errs := ValidateRunConfig([]byte(run), steps, nil)
		checkErrs(t, errs, nil)
		if g := string(per["a"]) + string(per["b"]) + string(per["c"]); g != `{"n":1}{}5` {
			t.Errorf("run %q: perStep = %s", run, g)
		}
		if want := `{"ops":{"a":{"config":{"n":1}},"b":{"config":{}},"c":{"config":5}}}`; string(red) != want {
			t.Errorf("run %q: redacted = %s", run, red)
		}
	}
	per, red, errs := ValidateRunConfig(nil, nil, nil)
	checkErrs(t, errs, nil)
	if len(per) != 0 || string(red) != `{"ops":{}}` {
		t.Errorf("no steps: %v %s", per, red)
	}
}

func TestValidateRunConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		run   string
		steps map[string]*Schema
		errs  []string
	}{
		{name: "not JSON", run: `{"ops":`, errs: []string{`run config is not valid JSON: unexpected EOF`}},
		{name: "not an object", run: `[1]`, errs: []string{`run config must be an object of the shape {"ops": {"STEP": {"config": {...}}}}, got array`}},
		{name: "unknown top-level keys", run: `{"op": {}, "resources": {}, "ops": {"raw_orders": {"config": {"csv": "x"}}}}`, errs: []string{
			`unknown top-level field "op" (did you mean "ops"?)`,
			`unknown top-level field "resources" (allowed fields: ops)`,
		}},
		{name: "ops not an object", run: `{"ops": [1]}`, errs: []string{
			`ops: expected an object keyed by step name, got array`,
			`ops.raw_orders.config: missing required field "csv"`,
		}},
		{name: "unknown steps", run: `{"ops": {"raw_ordrs": {"config": {}}, "zzz": {"config": {}}, "raw_orders": {"config": {"csv": "x"}}}}`, errs: []string{
			`ops: unknown step "raw_ordrs" (did you mean "raw_orders"?)`,
			`ops: unknown step "zzz"`,
		}},
		{name: "step twice", run: `{"ops": {"orders/cleaned": {"config": {}}, "orders__cleaned": {"config": {}}, "raw_orders": {"config": {"csv": "x"}}}}`, errs: []string{
			`ops: step "orders/cleaned" is configured twice, as "orders/cleaned" and as "orders__cleaned"`,
		}},
		{name: "entry shapes", run: `{"ops": {"raw_orders": {"confg": {"csv": "x"}}, "summary": "x", "orders__cleaned": {"config": {}, "inputs": {}}}}`, errs: []string{
			`ops.orders__cleaned: unknown field "inputs" (allowed fields: config)`,
			`ops.raw_orders: missing required field "config"`,
			`ops.raw_orders: unknown field "confg" (did you mean "config"?)`,
			`ops.summary: expected an object with a "config" field, got string "x"`,
		}},
		{name: "step not mentioned but required fields", run: `{}`, errs: []string{
			`ops.raw_orders.config: missing required field "csv"`,
		}},
		{name: "config errors under the step path", run: `{"ops": {"raw_orders": {"config": {"csv": 1, "limit": "ten", "lmit": 3, "token": {"env": "NOPE"}}}, "orders__cleaned": {"config": {"drop_nulls": "yes"}}, "summary": {"config": []}}}`, errs: []string{
			`ops.orders__cleaned.config.drop_nulls: expected boolean, got string "yes"`,
			`ops.raw_orders.config: unknown field "lmit" (did you mean "limit"?)`,
			`ops.raw_orders.config.csv: expected string, got integer 1`,
			`ops.raw_orders.config.limit: expected integer, got string "ten"`,
			`ops.raw_orders.config.token: environment variable "NOPE" is not set`,
			`ops.summary.config: expected object, got array`,
		}},
		{name: "null config", run: `{"ops": {"raw_orders": {"config": null}}}`, errs: []string{
			`ops.raw_orders.config: expected object, got null`,
		}},
		{name: "non-object schema without config", run: `{}`, steps: map[string]*Schema{"n": mustCompile(t, `{"type":"integer"}`)}, errs: []string{
			`ops.n: missing required field "config"`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps := tc.steps
			if steps == nil {
				steps = testSteps(t)
			}
			per, red, errs := ValidateRunConfig([]byte(tc.run), steps, nil)
			checkErrs(t, errs, tc.errs)
			if per != nil || red != nil {
				t.Errorf("results returned alongside errors: %v %s", per, red)
			}
		})
	}
}

func TestValidateRunConfigSecretsNeverStored(t *testing.T) {
	steps := map[string]*Schema{
		"a": mustCompile(t, `{"type":"object","properties":{"port":{"type":"integer"},"pw":{"type":"string","default":{"env":"PW"}}}}`),
		"b": nil,
	}
	lookup := env(map[string]string{"PW": secret, "PORT": "8080", "ANY": secret})
	run := `{"ops":{"a":{"config":{"port":{"env":"PORT"}}},"b":{"config":{"deep":[{"x":{"env":"ANY"}}]}}}}`
	per, red, errs := ValidateRunConfig([]byte(run), steps, lookup)
	checkErrs(t, errs, nil)
	if g := string(per["a"]); g != `{"port":8080,"pw":"`+secret+`"}` {
		t.Errorf("perStep[a] = %s", g)
	}
	if g := string(per["b"]); g != `{"deep":[{"x":"`+secret+`"}]}` {
		t.Errorf("perStep[b] = %s", g)
	}
	if strings.Contains(string(red), secret) || strings.Contains(string(red), "8080") {
		t.Errorf("redacted run contains a secret: %s", red)
	}
	want := `{"ops":{"a":{"config":{"port":{"env":"PORT"},"pw":{"env":"PW"}}},"b":{"config":{"deep":[{"x":{"env":"ANY"}}]}}}}`
	if string(red) != want {
		t.Errorf("redacted run = %s\nwant %s", red, want)
	}

	// Errors about values from the environment do not show them either.
	steps["a"] = mustCompile(t, `{"type":"object","properties":{"pw":{"type":"integer","enum":[1]}}}`)
	_, _, errs = ValidateRunConfig([]byte(`{"ops":{"a":{"config":{"pw":{"env":"PW"}}}}}`), steps, lookup)
	checkErrs(t, errs, []string{`ops.a.config.pw: expected integer, got string from environment variable "PW"`})
	if strings.Contains(Join(errs).Error(), secret) {
		t.Error("error shows the secret")
	}
}
