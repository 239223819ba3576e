package config

import (
	"strings"
	"testing"
)

// FuzzApply checks that no schema and value make the package panic, that results encode as JSON,
// and that a secret never reaches redacted output or error messages unless the input itself
// contained it.
func FuzzApply(f *testing.F) {
	seeds := [][2]string{
		{`{"type":"object","properties":{"limit":{"type":"integer","default":10}}}`, `{}`},
		{`{"type":"object","required":["a"],"additionalProperties":false,"properties":{"a":{"type":"object","properties":{"b":{"default":1}}}}}`, `{"x":1}`},
		{`{"type":["integer","null"],"minimum":0,"exclusiveMaximum":1e3}`, `1e400`},
		{`{"type":"integer","maximum":9007199254740992}`, `{"env":"S"}`},
		{`{"type":"array","items":{"enum":[1,"a",null,{"k":[1]}]},"minItems":1,"maxItems":2}`, `[1.0,{"env":"S"}]`},
		{`{"type":"string","pattern":"^a+$","minLength":2,"maxLength":3}`, `{"env":"N"}`},
		{`{"properties":{"p":{"type":"boolean","default":{"env":"B"}}},"additionalProperties":{"const":{"a":1}}}`, `{"q":{"a":1.0}}`},
		{`{"enum":[{"a":1}],"const":[1]}`, `{"a":{"env":"S"}}`},
		{`false`, `null`},
		{`{"oneOf":[]}`, `1`},
		{`{"type":"integer"}`, `1.5e-9999999999999999999`},
		{`{"type":"integer"}`, `-0.0e+99999999999999999999`},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	const token = "ZQXJ-fuzz-secret"
	lookup := func(name string) (string, bool) {
		switch name {
		case "S":
			return token, true
		case "N":
			return "42", true
		case "B":
			return "true", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, schemaJSON, valueJSON string) {
		s, err := Compile([]byte(schemaJSON))
		if err != nil {
			return
		}
		inputHasToken := strings.Contains(schemaJSON, token) || strings.Contains(valueJSON, token)
		if v, err := decodeJSON([]byte(valueJSON)); err == nil {
			if res, errs := s.Apply(v); len(errs) == 0 {
				if _, err := marshal(res); err != nil {
					t.Fatalf("Apply result does not encode: %v", err)
				}
			}
			res, red, errs := Prepare(s, v, lookup)
			if len(errs) == 0 {
				if _, err := marshal(res); err != nil {
					t.Fatalf("Prepare result does not encode: %v", err)
				}
			}
			if b, err := marshal(red); err == nil && !inputHasToken && strings.Contains(string(b), token) {
				t.Fatalf("redacted value holds the secret: %s", b)
			}
			if !inputHasToken && len(errs) > 0 && strings.Contains(Join(errs).Error(), token) {
				t.Fatalf("errors show the secret: %v", Join(errs))
			}
			ResolveEnv(v, lookup)
		}
		run := `{"ops":{"a":{"config":` + valueJSON + `}}}`
		per, red, errs := ValidateRunConfig([]byte(run), map[string]*Schema{"a": s, "b": nil}, lookup)
		if !inputHasToken {
			if strings.Contains(string(red), token) {
				t.Fatalf("redacted run holds the secret: %s", red)
			}
			if len(errs) > 0 && strings.Contains(Join(errs).Error(), token) {
				t.Fatalf("errors show the secret: %v", Join(errs))
			}
		}
		if len(errs) == 0 && (per == nil || red == nil) {
			t.Fatal("no errors but no results")
		}
	})
}
