package config

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
)

// ValidateRunConfig checks a run's config, given in Dagster's shape
// {"ops": {"STEP": {"config": {...}}}}, against the schemas of the run's steps, and prepares
// every step's config with [Prepare].
//
// steps maps each step of the run to its compiled schema; a nil schema accepts any object. A step
// may be written under "ops" by its name or, for a name with slashes (an asset key such as
// "orders/raw"), with the slashes written as "__" (Dagster's op name, "orders__raw").
//
// It reports, all at once and sorted by path: a run config that is not a JSON object; top-level
// keys other than "ops"; names under "ops" that are no step of the run (with the closest step
// name as a suggestion); a step given twice; entries that are not objects, that have fields other
// than "config" or no "config" field; and every error [Prepare] reports, under
// ops.STEP.config. A step the run config does not mention gets its schema's top-level default, or
// else {} with defaults applied, so a schema with required fields reports them missing under
// ops.STEP.config. Empty run (no bytes, or only white space) is the same as {}.
//
// When there are no errors it returns, for every step in steps, the resolved config the guest
// receives (JSON, secrets in clear), and the redacted run config to store:
// {"ops": {"STEP": {"config": ...}}} listing every step by its name in steps, with defaults
// applied and each secret replaced by the reference {"env": "NAME"}. When there are errors both are
// nil. lookup finds environment variables (pass os.LookupEnv); nil finds none.
func ValidateRunConfig(run []byte, steps map[string]*Schema, lookup func(string) (string, bool)) (perStep map[string]json.RawMessage, redactedRun json.RawMessage, errs []Error) {
	w := &walker{mode: envResolve, lookup: lookup}
	var doc any = map[string]any{}
	if len(bytes.TrimSpace(run)) > 0 {
		var err error
		if doc, err = decodeJSON(run); err != nil {
			return nil, nil, []Error{{Message: "run config is not valid JSON: " + err.Error()}}
		}
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, nil, []Error{{Message: `run config must be an object of the shape {"ops": {"STEP": {"config": {...}}}}, got ` + describe(doc, "")}}
	}
	for _, k := range sortedKeys(top) {
		if k != "ops" {
			w.fail("", "unknown top-level field %q%s", k, unknownHint(k, []string{"ops"}))
		}
	}
	ops := map[string]any{}
	if raw, ok := top["ops"]; ok {
		if m, ok := raw.(map[string]any); ok {
			ops = m
		} else {
			w.fail("ops", "expected an object keyed by step name, got %s", describe(raw, ""))
		}
	}

	stepNames := sortedKeys(steps)
	entries := map[string]any{}    // step name → its entry under ops
	written := map[string]string{} // step name → the name the run config uses
	for _, name := range sortedKeys(ops) {
		step := name
		if _, ok := steps[name]; !ok {
			alt := strings.ReplaceAll(name, "__", "/")
			if _, ok := steps[alt]; !ok {
				w.fail("ops", "unknown step %q%s", name, suggest(name, stepNames))
				continue
			}
			step = alt
		}
		if prev, dup := written[step]; dup {
			w.fail("ops", "step %q is configured twice, as %q and as %q", step, prev, name)
			continue
		}
		written[step], entries[step] = name, ops[name]
	}

	resolved := make(map[string]any, len(steps))
	redacted := make(map[string]any, len(steps))
	for _, step := range stepNames {
		s := steps[step]
		if s == nil {
			s = objectSchema
		}
		name := step
		if n, ok := written[step]; ok {
			name = n
		}
		entryPath := childPath("ops", name)
		var cfg any
		if e, ok := entries[step]; ok {
			em, ok := e.(map[string]any)
			if !ok {
				w.fail(entryPath, `expected an object with a "config" field, got %s`, describe(e, ""))
				continue
			}
			cfg, ok = em["config"]
			if !ok {
				w.fail(entryPath, `missing required field "config"`)
			}
			for _, k := range sortedKeys(em) {
				if k != "config" {
					w.fail(entryPath, "unknown field %q%s", k, unknownHint(k, []string{"config"}))
				}
			}
			if !ok {
				continue
			}
		} else {
			switch {
			case s.hasDefault:
				cfg = deepCopy(s.def)
			case s.allows("object"):
				cfg = map[string]any{}
			default:
				w.fail(entryPath, `missing required field "config"`)
				continue
			}
		}
		res, red := w.walk(s, cfg, childPath(entryPath, "config"))
		resolved[step] = res
		redacted[step] = map[string]any{"config": red}
	}
	if len(w.errs) > 0 {
		sortErrors(w.errs)
		return nil, nil, w.errs
	}

	perStep = make(map[string]json.RawMessage, len(resolved))
	for step, v := range resolved {
		b, err := marshal(v)
		if err != nil {
			w.fail(childPath(childPath("ops", step), "config"), "cannot encode the resolved config: %v", err)
			continue
		}
		perStep[step] = b
	}
	redactedRun, err := marshal(map[string]any{"ops": redacted})
	if err != nil {
		w.fail("", "cannot encode the redacted run config: %v", err)
	}
	if len(w.errs) > 0 {
		sortErrors(w.errs)
		return nil, nil, w.errs
	}
	return perStep, redactedRun, nil
}

// marshal encodes v as compact JSON without escaping <, > and &, so that redacted text stays
// readable.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
