package config

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// The fixed schemas of the run-config fuzz targets: one step per feature that resolves, defaults
// or refuses a value, and a step without a schema.
var fuzzSchemaText = map[string]string{
	"raw_orders": `{"type":"object","additionalProperties":false,"required":["db"],"properties":{
		"limit":{"type":"integer","minimum":0,"default":10},
		"region":{"type":"string","enum":["eu","us"],"default":"eu"},
		"token":{"type":"string","minLength":4,"pattern":"^[A-Za-z0-9-]+$"},
		"ratio":{"type":"number","exclusiveMaximum":1},
		"enabled":{"type":"boolean"},
		"tags":{"type":"array","items":{"type":"string","maxLength":8},"maxItems":3},
		"db":{"type":"object","required":["host"],"properties":{"host":{"type":"string","default":"localhost"},"port":{"type":["integer","null"],"default":5432},"password":{"type":"string"}}}}}`,
	"orders/cleaned": `{"type":"object","properties":{"threshold":{"type":["number","null"]},"secret":{"const":"x"}},"additionalProperties":{"type":"string","maxLength":4}}`,
	"defaulted":      `{"default":{"mode":"fast"},"properties":{"mode":{"enum":["fast","slow",1.5]}}}`,
	"strict":         `{"type":"object","required":["key"],"properties":{"key":{"type":"string","const":"x"},"any":true,"no":false}}`,
}

// Secret values of the fuzz lookup. Each holds a marker that must never reach an error message or
// a redacted config unless the input itself holds it.
var fuzzSecrets = map[string]string{
	"S": "ZQXJ-secret-one",
	"Q": `ZQXJ "<quoted>" & \ secret`,
	"N": "7351982046",
	"F": "0.7351982046",
	"B": "true",
}

var fuzzMarkers = []string{"ZQXJ", "7351982046"}

func fuzzLookup(name string) (string, bool) {
	v, ok := fuzzSecrets[name]
	return v, ok
}

func compileFuzzSchemas(f *testing.F, names ...string) map[string]*Schema {
	steps := map[string]*Schema{}
	for _, n := range names {
		s, err := Compile([]byte(fuzzSchemaText[n]))
		if err != nil {
			f.Fatalf("schema %s: %v", n, err)
		}
		steps[n] = s
	}
	return steps
}

var fuzzRunSeeds = []string{
	``, `{}`, `{"ops":{}}`, `null`, `[]`, `{"ops":[]}`, `{"ops":{"x":{}}}`,
	`{"ops":{"raw_orders":{"config":{"limit":5,"region":"us","token":{"env":"S"},"db":{"password":{"env":"Q"}}}}}}`,
	`{"ops":{"raw_orders":{"config":{"limit":{"env":"N"},"ratio":{"env":"F"},"enabled":{"env":"B"},"tags":["a",{"env":"S"}]}}}}`,
	`{"ops":{"raw_orders":{"config":{"limit":{"env":"S"},"ratio":{"env":"N"},"enabled":{"env":"Q"},"region":{"env":"S"},"token":{"env":"Q"}}}}}`,
	`{"ops":{"raw_orders":{"config":{"limit":-1,"ratio":1,"tags":["abcdefghi",1,2,3],"db":null,"extra":1}}}}`,
	`{"ops":{"orders__cleaned":{"config":{"threshold":null,"other":{"env":"S"},"secret":{"env":"S"}}}}}`,
	`{"ops":{"orders/cleaned":{"config":{"a":"b"}},"orders__cleaned":{"config":{}}}}`,
	`{"ops":{"defaulted":{"config":{"mode":{"env":"F"}}},"free":{"config":{"env":"S"}}}}`,
	`{"ops":{"free":{"config":{"nested":[{"env":"S"},{"env":"Q"},{"env":"MISSING"},{"env":""}]}}}}`,
	`{"ops":{"strict":{"config":{"key":"x","no":1,"any":{"env":"N"}}}}}`,
	`{"ops":{"strict":{"config":{"key":{"env":"S"}}},"raw_orders":{"config":1e400}}}`,
	`{"ops":{"raw_orders":{"config":{"limit":3.0,"db":{"port":1e2}}},"free":{"conf":{}}},"resources":{}}`,
	`{"ops":{"raw_orders":{"config":{"limit":1.5e-9999999999}}}}`,
	`{"ops":{"fetch":{"config":{"token":{"env":"S"}}},"sub":{"ops":{"inner":{"config":{"limit":{"env":"N"}}}}}},"inputs":{"day":{"value":{"env":"Q"}}}}`,
	`{"ops":{"fetch":{"config":{"limit":"ten"}},"sub":{"config":{},"ops":{"inner":{"conf":{}}}}},"inputs":{"dya":{"value":1}}}`,
	`{"ops":{"sub":{"ops":[]},"fetch":[]},"inputs":{"day":{"value":[{"env":"S"},{"env":"X"}],"x":1}}}`,
	`{"inputs":{"day":{"value":null}}}`, `{"inputs":[]}`, `{"ops":{}} {}`,
}

// FuzzValidateRunConfig runs ValidateRunConfig on arbitrary bytes against fixed schemas, with a
// lookup that holds secrets. It never panics; every error has a message; no secret reaches an
// error message or the redacted run config; and when there are no errors, every step has a
// config, each one valid JSON that validates again, unchanged, when given back as run config, and
// the redacted run config is valid JSON that validates too. The seed corpus is in
// testdata/fuzz/FuzzValidateRunConfig; plain `go test` runs it.
func FuzzValidateRunConfig(f *testing.F) {
	for _, s := range fuzzRunSeeds {
		f.Add([]byte(s))
	}
	lenient := compileFuzzSchemas(f, "raw_orders", "orders/cleaned", "defaulted")
	lenient["free"] = nil
	strict := compileFuzzSchemas(f, "raw_orders", "strict")
	f.Fuzz(func(t *testing.T, run []byte) {
		for _, steps := range []map[string]*Schema{lenient, strict} {
			perStep, redacted, errs := ValidateRunConfig(run, steps, fuzzLookup)
			checkErrorsAndSecrets(t, run, errs, redacted)
			if len(errs) > 0 {
				if perStep != nil || redacted != nil {
					t.Fatalf("errors and results together: %v", Join(errs))
				}
				continue
			}
			if len(perStep) != len(steps) || !json.Valid(redacted) {
				t.Fatalf("%d step configs for %d steps; redacted %s", len(perStep), len(steps), redacted)
			}
			ops := map[string]any{}
			for step := range steps {
				cfg, ok := perStep[step]
				if !ok || !json.Valid(cfg) {
					t.Fatalf("step %q: config %q is missing or not JSON", step, cfg)
				}
				ops[step] = map[string]any{"config": cfg}
			}
			again, err := json.Marshal(map[string]any{"ops": ops})
			if err != nil {
				t.Fatal(err)
			}
			perStep2, _, errs := ValidateRunConfig(again, steps, fuzzLookup)
			if len(errs) > 0 {
				t.Fatalf("the resolved configs do not validate again: %v\nrun:      %q\nresolved: %s", Join(errs), run, again)
			}
			for step, cfg := range perStep {
				if !bytes.Equal(cfg, perStep2[step]) {
					t.Fatalf("step %q: validating the resolved config changed it: %s -> %s", step, cfg, perStep2[step])
				}
			}
			// What is stored can be validated again (its references resolve from the same lookup).
			if _, _, errs := ValidateRunConfig(redacted, steps, fuzzLookup); len(errs) > 0 {
				t.Fatalf("the redacted run config does not validate: %v\nrun:      %q\nredacted: %s", Join(errs), run, redacted)
			}
		}
	})
}

// FuzzValidateGraphRunConfig is FuzzValidateRunConfig for a graph job: a node with a default
// merged under run config, a nested graph, and a graph input. When there are no errors, every op
// step has a config, each config and input value is valid JSON, and giving them back as run
// config validates to the same values. The seed corpus is in
// testdata/fuzz/FuzzValidateGraphRunConfig; plain `go test` runs it.
func FuzzValidateGraphRunConfig(f *testing.F) {
	for _, s := range fuzzRunSeeds {
		f.Add([]byte(s))
	}
	schemas := compileFuzzSchemas(f, "raw_orders", "orders/cleaned", "strict")
	def, err := decodeJSON([]byte(`{"db":{"host":"h","port":null},"tags":["a"]}`))
	if err != nil {
		f.Fatal(err)
	}
	nodes := map[string]*GraphNode{
		"fetch": {Step: "fetch", Schema: schemas["raw_orders"], Default: def},
		"sub": {Nodes: map[string]*GraphNode{
			"inner": {Step: "sub.inner", Schema: schemas["orders/cleaned"]},
			"free":  {Step: "sub.free"},
		}},
	}
	strictNodes := map[string]*GraphNode{"strict": {Step: "strict", Schema: schemas["strict"]}, "sub": nodes["sub"]}
	f.Fuzz(func(t *testing.T, run []byte) {
		for _, c := range []struct {
			nodes  map[string]*GraphNode
			inputs []string
		}{{nodes, nil}, {nodes, []string{"day"}}, {strictNodes, []string{"day", "x"}}} {
			perStep, inputs, redacted, errs := ValidateGraphRunConfig(run, c.nodes, c.inputs, fuzzLookup)
			checkErrorsAndSecrets(t, run, errs, redacted)
			if len(errs) > 0 {
				if perStep != nil || inputs != nil || redacted != nil {
					t.Fatalf("errors and results together: %v", Join(errs))
				}
				continue
			}
			if !json.Valid(redacted) || len(inputs) != len(c.inputs) {
				t.Fatalf("redacted %s, inputs %q", redacted, inputs)
			}
			ops := rebuildOps(t, c.nodes, perStep)
			values := map[string]any{}
			for _, name := range c.inputs {
				v, ok := inputs[name]
				if !ok || !json.Valid(v) {
					t.Fatalf("input %q: value %q is missing or not JSON", name, v)
				}
				values[name] = map[string]any{"value": v}
			}
			again, err := json.Marshal(map[string]any{"ops": ops, "inputs": values})
			if err != nil {
				t.Fatal(err)
			}
			perStep2, inputs2, _, errs := ValidateGraphRunConfig(again, c.nodes, c.inputs, fuzzLookup)
			if len(errs) > 0 {
				t.Fatalf("the resolved configs do not validate again: %v\nrun:      %q\nresolved: %s", Join(errs), run, again)
			}
			for step, cfg := range perStep {
				if !bytes.Equal(cfg, perStep2[step]) {
					t.Fatalf("step %q: validating the resolved config changed it: %s -> %s", step, cfg, perStep2[step])
				}
			}
			for name, v := range inputs {
				if !bytes.Equal(v, inputs2[name]) {
					t.Fatalf("input %q: validating the resolved value changed it: %s -> %s", name, v, inputs2[name])
				}
			}
			if _, _, _, errs := ValidateGraphRunConfig(redacted, c.nodes, c.inputs, fuzzLookup); len(errs) > 0 {
				t.Fatalf("the redacted run config does not validate: %v\nrun:      %q\nredacted: %s", Join(errs), run, redacted)
			}
		}
	})
}

// rebuildOps nests each op step's resolved config the way nodes nest, as run config.
func rebuildOps(t *testing.T, nodes map[string]*GraphNode, perStep map[string]json.RawMessage) map[string]any {
	t.Helper()
	ops := map[string]any{}
	for name, n := range nodes {
		if n.Nodes != nil {
			ops[name] = map[string]any{"ops": rebuildOps(t, n.Nodes, perStep)}
			continue
		}
		cfg, ok := perStep[n.Step]
		if !ok || !json.Valid(cfg) {
			t.Fatalf("step %q: config %q is missing or not JSON", n.Step, cfg)
		}
		ops[name] = map[string]any{"config": cfg}
	}
	return ops
}

// checkErrorsAndSecrets: every error has a message, and no secret marker appears in an error or
// the redacted run config unless the run config itself holds it.
func checkErrorsAndSecrets(t *testing.T, run []byte, errs []Error, redacted []byte) {
	t.Helper()
	for _, e := range errs {
		if strings.TrimSpace(e.Message) == "" {
			t.Fatalf("error at %q has no message", e.Path)
		}
	}
	msg := ""
	if err := Join(errs); err != nil {
		msg = err.Error()
	}
	for _, m := range fuzzMarkers {
		if bytes.Contains(run, []byte(m)) {
			continue
		}
		if strings.Contains(msg, m) {
			t.Fatalf("an error shows a secret (%s):\n%s", m, msg)
		}
		if bytes.Contains(redacted, []byte(m)) {
			t.Fatalf("the redacted run config shows a secret (%s): %s", m, redacted)
		}
	}
}
