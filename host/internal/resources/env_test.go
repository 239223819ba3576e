package resources

import (
	"reflect"
	"testing"
)

func TestEnvConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		vars  []string
		field string
		msg   string
	}{
		{"ok", []string{"A", "B_2"}, "", ""},
		{"empty", nil, "vars", "at least one"},
		{"bad name", []string{"A", "B=C"}, "vars[1]", `"B=C" is not an environment variable name`},
		{"digit first", []string{"1A"}, "vars[0]", "not an environment variable name"},
		{"duplicate", []string{"A", "A"}, "vars[1]", "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewEnv(EnvConfig{Vars: tc.vars}, nil)
			checkConfigErr(t, err, tc.field, tc.msg)
		})
	}
}

func TestEnv(t *testing.T) {
	host := map[string]string{"API_TOKEN": "s3cret", "REGION": "", "OTHER": "hidden"}
	lookup := func(n string) (string, bool) { v, ok := host[n]; return v, ok }
	env, err := NewEnv(EnvConfig{Vars: []string{"REGION", "API_TOKEN", "UNSET"}}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  string
		resp map[string]any
		want want
	}{
		{"get", `{"op":"get","name":"API_TOKEN"}`, map[string]any{"value": "s3cret", "found": true}, ok()},
		{"get empty value", `{"op":"get","name":"REGION"}`, map[string]any{"value": "", "found": true}, ok()},
		{"get unset", `{"op":"get","name":"UNSET"}`, map[string]any{"value": "", "found": false}, ok()},
		{"list", `{"op":"list"}`, map[string]any{"names": []any{"API_TOKEN", "REGION", "UNSET"}}, ok()},
		{"not listed", `{"op":"get","name":"OTHER"}`, nil, fails(ErrDenied, `environment variable "OTHER" is not granted (allowed: API_TOKEN, REGION, UNSET)`)},
		{"not listed, case", `{"op":"get","name":"api_token"}`, nil, fails(ErrDenied, `"api_token" is not granted`)},
		{"missing name", `{"op":"get"}`, nil, fails(ErrInvalidRequest, `field "name" is required`)},
		{"name wrong type", `{"op":"get","name":1}`, nil, fails(ErrInvalidRequest, `field "name" must be a string`)},
		{"unknown op", `{"op":"set","name":"A"}`, nil, fails(ErrInvalidRequest, `unknown op "set" (want one of: get, list)`)},
		{"unknown field", `{"op":"get","name":"A","value":"x"}`, nil, fails(ErrInvalidRequest, `unknown field "value"`)},
		{"field of another op", `{"op":"list","name":"A"}`, nil, fails(ErrInvalidRequest, `field "name" is not used by op "list"`)},
		{"missing op", `{"name":"A"}`, nil, fails(ErrInvalidRequest, `missing field "op"`)},
		{"not json", `get A`, nil, fails(ErrInvalidRequest, "not valid JSON")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := call(t, env, tc.req)
			check(t, err, tc.want)
			if tc.resp != nil && !reflect.DeepEqual(resp, tc.resp) {
				t.Fatalf("response %v; want %v", resp, tc.resp)
			}
		})
	}
}

func TestEnvReadsAtCallTime(t *testing.T) {
	t.Setenv("WASMORCH_RES_TEST", "one")
	env, err := NewEnv(EnvConfig{Vars: []string{"WASMORCH_RES_TEST"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("WASMORCH_RES_TEST", "two")
	resp, err := call(t, env, `{"op":"get","name":"WASMORCH_RES_TEST"}`)
	if err != nil || resp["value"] != "two" {
		t.Fatalf("got %v, %v; want two", resp, err)
	}
}
