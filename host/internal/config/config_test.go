package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func mustCompile(t testing.TB, schema string) *Schema {
	t.Helper()
	s, err := Compile([]byte(schema))
	if err != nil {
		t.Fatalf("Compile(%s): %v", schema, err)
	}
	return s
}

func decode(t testing.TB, s string) any {
	t.Helper()
	v, err := decodeJSON([]byte(s))
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func encode(t testing.TB, v any) string {
	t.Helper()
	b, err := marshal(v)
	if err != nil {
		t.Fatalf("encode %#v: %v", v, err)
	}
	return string(b)
}

func errStrings(errs []Error) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out
}

func checkErrs(t *testing.T, got []Error, want []string) {
	t.Helper()
	if g := errStrings(got); !slices.Equal(g, want) {
		t.Errorf("errors:\n got  %q\n want %q", g, want)
	}
}

// applyCase checks one schema and value: want is the resolved JSON when errs is empty.
type applyCase struct {
	name   string
	schema string
	value  string
	want   string
	errs   []string
}

func runApplyCases(t *testing.T, cases []applyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustCompile(t, tc.schema)
			got, errs := s.Apply(decode(t, tc.value))
			checkErrs(t, errs, tc.errs)
			if len(tc.errs) == 0 {
				want := tc.want
				if want == "" {
					want = encode(t, decode(t, tc.value))
				}
				if g := encode(t, got); g != want {
					t.Errorf("resolved = %s, want %s", g, want)
				}
			}
		})
	}
}

func TestApplyKeywords(t *testing.T) {
	runApplyCases(t, []applyCase{
		// type
		{name: "object ok", schema: `{"type":"object"}`, value: `{"a":1}`},
		{name: "object bad", schema: `{"type":"object"}`, value: `[1]`, errs: []string{`config: expected object, got array`}},
		{name: "string ok", schema: `{"type":"string"}`, value: `"x"`},
		{name: "string bad", schema: `{"type":"string"}`, value: `3`, errs: []string{`config: expected string, got integer 3`}},
		{name: "integer ok", schema: `{"type":"integer"}`, value: `3`},
		{name: "integer 3.0", schema: `{"type":"integer"}`, value: `3.0`, want: `3`},
		{name: "integer 1e2", schema: `{"type":"integer"}`, value: `1e2`, want: `100`},
		{name: "integer 3.5", schema: `{"type":"integer"}`, value: `3.5`, errs: []string{`config: expected integer, got number 3.5`}},
		{name: "integer string", schema: `{"type":"integer"}`, value: `"ten"`, errs: []string{`config: expected integer, got string "ten"`}},
		{name: "integer tiny", schema: `{"type":"integer"}`, value: `1e-400`, errs: []string{`config: expected integer, got number 1e-400`}},
		{name: "integer huge", schema: `{"type":"integer"}`, value: `1e400`, want: `1e400`},
		{name: "integer big exact", schema: `{"type":"integer"}`, value: `12345678901234567890123`},
		{name: "number ok int", schema: `{"type":"number"}`, value: `3`},
		{name: "number ok frac", schema: `{"type":"number"}`, value: `3.5`},
		{name: "number keeps 3.0", schema: `{"type":"number"}`, value: `3.0`, want: `3.0`},
		{name: "number bad", schema: `{"type":"number"}`, value: `"3"`, errs: []string{`config: expected number, got string "3"`}},
		{name: "boolean ok", schema: `{"type":"boolean"}`, value: `false`},
		{name: "boolean bad", schema: `{"type":"boolean"}`, value: `"true"`, errs: []string{`config: expected boolean, got string "true"`}},
		{name: "array ok", schema: `{"type":"array"}`, value: `[1,"a"]`},
		{name: "array bad", schema: `{"type":"array"}`, value: `{}`, errs: []string{`config: expected array, got object`}},
		{name: "null ok", schema: `{"type":"null"}`, value: `null`},
		{name: "null bad", schema: `{"type":"null"}`, value: `0`, errs: []string{`config: expected null, got integer 0`}},
		{name: "types ok null", schema: `{"type":["string","null"]}`, value: `null`},
		{name: "types ok string", schema: `{"type":["string","null"]}`, value: `"a"`},
		{name: "types bad", schema: `{"type":["string","null"]}`, value: `1`, errs: []string{`config: expected string or null, got integer 1`}},
		{name: "three types bad", schema: `{"type":["array","object","null"]}`, value: `true`, errs: []string{`config: expected array, object or null, got boolean true`}},
		{name: "no type accepts all", schema: `{}`, value: `[null,{"a":[1]}]`},
		{name: "true schema", schema: `true`, value: `"x"`},
		{name: "false schema", schema: `false`, value: `"x"`, errs: []string{`config: no value is allowed here, got string "x"`}},

		// properties, required
		{name: "properties ok", schema: `{"type":"object","properties":{"a":{"type":"string"}}}`, value: `{"a":"x"}`},
		{name: "properties bad", schema: `{"type":"object","properties":{"a":{"type":"string"}}}`, value: `{"a":1}`,
			errs: []string{`config.a: expected string, got integer 1`}},
		{name: "required ok", schema: `{"type":"object","required":["name"],"properties":{"name":{"type":"string"}}}`, value: `{"name":"x"}`},
		{name: "required missing", schema: `{"type":"object","required":["name"],"properties":{"name":{"type":"string"}}}`, value: `{}`,
			errs: []string{`config: missing required field "name"`}},
		{name: "required without property ok", schema: `{"type":"object","required":["x"]}`, value: `{"x":null}`},
		{name: "required without property missing", schema: `{"type":"object","required":["x"]}`, value: `{}`,
			errs: []string{`config: missing required field "x"`}},
		{name: "false property", schema: `{"properties":{"x":false}}`, value: `{"x":1}`, errs: []string{`config.x: no value is allowed here, got integer 1`}},

		// additionalProperties
		{name: "additional default true", schema: `{"type":"object","properties":{"a":{}}}`, value: `{"b":1}`},
		{name: "additional true", schema: `{"type":"object","additionalProperties":true}`, value: `{"b":1}`},
		{name: "additional false ok", schema: `{"type":"object","properties":{"name":{}},"additionalProperties":false}`, value: `{"name":1}`},
		{name: "additional false typo", schema: `{"type":"object","properties":{"name":{}},"additionalProperties":false}`, value: `{"nmae":1}`,
			errs: []string{`config: unknown field "nmae" (did you mean "name"?)`}},
		{name: "additional false unrelated", schema: `{"type":"object","properties":{"name":{},"limit":{}},"additionalProperties":false}`, value: `{"zzz":1}`,
			errs: []string{`config: unknown field "zzz" (allowed fields: limit, name)`}},
		{name: "additional false no fields", schema: `{"type":"object","additionalProperties":false}`, value: `{"a":1}`,
			errs: []string{`config: unknown field "a" (no fields are allowed here)`}},
		{name: "additional schema ok", schema: `{"type":"object","additionalProperties":{"type":"integer"}}`, value: `{"a":1,"b":2}`},
		{name: "additional schema bad", schema: `{"type":"object","additionalProperties":{"type":"integer"}}`, value: `{"a":"x"}`,
			errs: []string{`config.a: expected integer, got string "x"`}},

		// enum, const
		{name: "enum ok", schema: `{"enum":["a","b"]}`, value: `"b"`},
		{name: "enum bad", schema: `{"enum":["a","b"]}`, value: `"c"`, errs: []string{`config: must be one of ["a","b"], got "c"`}},
		{name: "enum numeric equality", schema: `{"enum":[1,2]}`, value: `1.0`},
		{name: "enum object", schema: `{"enum":[{"a":[1,null]}]}`, value: `{"a":[1,null]}`},
		{name: "enum object bad", schema: `{"enum":[{"a":[1,null]}]}`, value: `{"a":[1]}`, errs: []string{`config: must be one of [{"a":[1,null]}], got {"a":[1]}`}},
		{name: "const ok", schema: `{"const":"x"}`, value: `"x"`},
		{name: "const bad", schema: `{"const":"x"}`, value: `"y"`, errs: []string{`config: must be "x", got "y"`}},
		{name: "const type differs", schema: `{"const":1}`, value: `"1"`, errs: []string{`config: must be 1, got "1"`}},

		// numeric bounds
		{name: "maximum ok", schema: `{"type":"integer","maximum":10}`, value: `10`},
		{name: "maximum bad", schema: `{"type":"integer","maximum":10}`, value: `12`, errs: []string{`config: must be at most 10, got 12`}},
		{name: "minimum ok", schema: `{"type":"integer","minimum":1}`, value: `1`},
		{name: "minimum bad", schema: `{"type":"integer","minimum":1}`, value: `0`, errs: []string{`config: must be at least 1, got 0`}},
		{name: "exclusiveMinimum ok", schema: `{"exclusiveMinimum":0}`, value: `0.001`},
		{name: "exclusiveMinimum bad", schema: `{"exclusiveMinimum":0}`, value: `0`, errs: []string{`config: must be greater than 0, got 0`}},
		{name: "exclusiveMaximum ok", schema: `{"exclusiveMaximum":10}`, value: `9.99`},
		{name: "exclusiveMaximum bad", schema: `{"exclusiveMaximum":10}`, value: `10`, errs: []string{`config: must be less than 10, got 10`}},
		{name: "fractional bound", schema: `{"type":"number","maximum":0.5}`, value: `0.75`, errs: []string{`config: must be at most 0.5, got 0.75`}},
		{name: "big integer bound exact", schema: `{"maximum":9007199254740992}`, value: `9007199254740993`,
			errs: []string{`config: must be at most 9007199254740992, got 9007199254740993`}},
		{name: "bounds ignore strings", schema: `{"maximum":1}`, value: `"999"`},

		// strings
		{name: "minLength ok", schema: `{"minLength":3}`, value: `"héé"`},
		{name: "minLength bad", schema: `{"minLength":3}`, value: `"ab"`, errs: []string{`config: must be at least 3 characters long, got 2`}},
		{name: "maxLength ok", schema: `{"maxLength":1}`, value: `"é"`},
		{name: "maxLength bad", schema: `{"maxLength":1}`, value: `"ab"`, errs: []string{`config: must be at most 1 character long, got 2`}},
		{name: "pattern ok", schema: `{"pattern":"^[a-z]+$"}`, value: `"abc"`},
		{name: "pattern unanchored", schema: `{"pattern":"b"}`, value: `"abc"`},
		{name: "pattern bad", schema: `{"pattern":"^[a-z]+$"}`, value: `"ABC"`, errs: []string{`config: must match pattern "^[a-z]+$", got "ABC"`}},

		// arrays
		{name: "items ok", schema: `{"type":"array","items":{"type":"integer"}}`, value: `[1,2]`},
		{name: "items bad", schema: `{"type":"object","properties":{"items":{"type":"array","items":{"type":"integer"}}}}`, value: `{"items":[1,2,"x"]}`,
			errs: []string{`config.items[2]: expected integer, got string "x"`}},
		{name: "minItems ok", schema: `{"minItems":1}`, value: `[0]`},
		{name: "minItems bad", schema: `{"minItems":1}`, value: `[]`, errs: []string{`config: must have at least 1 item, got 0`}},
		{name: "maxItems ok", schema: `{"maxItems":2}`, value: `[1,2]`},
		{name: "maxItems bad", schema: `{"maxItems":2}`, value: `[1,2,3]`, errs: []string{`config: must have at most 2 items, got 3`}},

		// annotations
		{name: "annotations ignored", schema: `{"title":"T","description":"D","$comment":"c","examples":[1],"type":"integer"}`, value: `1`},

		// a type error stops further checks on that value
		{name: "type error only", schema: `{"type":"integer","enum":[1],"maximum":0}`, value: `"x"`, errs: []string{`config: expected integer, got string "x"`}},
		// a long value is shortened in messages
		{name: "long value shortened", schema: `{"type":"integer"}`, value: `"` + strings.Repeat("a", 100) + `"`,
			errs: []string{`config: expected integer, got string "` + strings.Repeat("a", 79) + `…`}},
	})
}

func TestApplyDefaults(t *testing.T) {
	db := `"db":{"type":"object","properties":{"host":{"type":"string","default":"localhost"},"port":{"type":"integer","default":5432},"password":{"type":"string"}}}`
	runApplyCases(t, []applyCase{
		{name: "flat", schema: `{"type":"object","properties":{"limit":{"type":"integer","default":10}}}`, value: `{}`, want: `{"limit":10}`},
		{name: "given wins", schema: `{"type":"object","properties":{"limit":{"type":"integer","default":10}}}`, value: `{"limit":3}`, want: `{"limit":3}`},
		{name: "null given is not missing", schema: `{"type":"object","properties":{"limit":{"type":["integer","null"],"default":10}}}`, value: `{"limit":null}`, want: `{"limit":null}`},
		{name: "default null", schema: `{"type":"object","properties":{"x":{"default":null}}}`, value: `{}`, want: `{"x":null}`},
		{name: "default then nested defaults", schema: `{"type":"object","properties":{"db":{"type":"object","default":{},"properties":{"host":{"default":"localhost"}}}}}`,
			value: `{}`, want: `{"db":{"host":"localhost"}}`},
		{name: "default inside default", schema: `{"type":"object","properties":{"a":{"type":"object","default":{"b":{}},"properties":{"b":{"type":"object","properties":{"c":{"default":3}}}}}}}`,
			value: `{}`, want: `{"a":{"b":{"c":3}}}`},
		{name: "given object gets nested defaults", schema: `{"type":"object","properties":{` + db + `}}`,
			value: `{"db":{"port":1}}`, want: `{"db":{"host":"localhost","port":1}}`},
		{name: "required object built from defaults", schema: `{"type":"object","required":["db"],"properties":{` + db + `}}`,
			value: `{}`, want: `{"db":{"host":"localhost","port":5432}}`},
		{name: "required object two levels", schema: `{"type":"object","required":["a"],"properties":{"a":{"type":"object","required":["b"],"properties":{"b":{"type":"object","properties":{"c":{"default":1}}}}}}}`,
			value: `{}`, want: `{"a":{"b":{"c":1}}}`},
		{name: "optional object not created", schema: `{"type":"object","properties":{` + db + `}}`, value: `{}`, want: `{}`},
		{name: "required object of optional fields", schema: `{"type":"object","required":["opts"],"properties":{"opts":{"type":"object","properties":{"v":{"type":"boolean"}}}}}`,
			value: `{}`, want: `{"opts":{}}`},
		{name: "required free-form object", schema: `{"type":"object","required":["opts"],"properties":{"opts":{"type":"object","additionalProperties":{"type":"integer"}}}}`,
			value: `{}`, errs: []string{`config: missing required field "opts"`}},
		{name: "Go SDK ConfigFrom shape", schema: `{"type":"object","additionalProperties":false,"required":["csv","db","tags"],"properties":{
				"csv":{"type":"string","description":"CSV text"},
				"limit":{"type":"integer","description":"stop after this many rows"},
				"mode":{"type":"string","enum":["strict","lenient"],"default":"strict"},
				"tags":{"type":"array","items":{"type":"string"}},
				"db":{"type":"object","additionalProperties":false,"properties":{"host":{"type":"string","default":"localhost"},"port":{"type":"integer","default":5432}}}}}`,
			value: `{"csv":"a","tags":[]}`, want: `{"csv":"a","db":{"host":"localhost","port":5432},"mode":"strict","tags":[]}`},
		{name: "required object with required field lacking default", schema: `{"type":"object","required":["db"],"properties":{"db":{"type":"object","required":["password"],"properties":{"host":{"default":"h"},"password":{"type":"string"}}}}}`,
			value: `{}`, errs: []string{`config: missing required field "db"`}},
		{name: "required object without declared type", schema: `{"type":"object","required":["db"],"properties":{"db":{"properties":{"host":{"default":"h"}}}}}`,
			value: `{}`, errs: []string{`config: missing required field "db"`}},
		{name: "defaults in array items", schema: `{"type":"array","items":{"type":"object","properties":{"x":{"default":1}}}}`,
			value: `[{},{"x":2}]`, want: `[{"x":1},{"x":2}]`},
		{name: "defaults under additionalProperties schema", schema: `{"type":"object","additionalProperties":{"type":"object","properties":{"x":{"default":1}}}}`,
			value: `{"a":{},"b":{"x":5}}`, want: `{"a":{"x":1},"b":{"x":5}}`},
		{name: "defaulted value still validated elsewhere", schema: `{"type":"object","properties":{"limit":{"type":"integer","default":10},"name":{"type":"string"}}}`,
			value: `{"name":1}`, errs: []string{`config.name: expected string, got integer 1`}},
	})
}

func TestApplyDoesNotModifyInputOrShareDefaults(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{"tags":{"type":"array","default":["a"]},"n":{"type":"integer"}}}`)
	in := decode(t, `{"n":3.0}`)
	r1, errs := s.Apply(in)
	checkErrs(t, errs, nil)
	if g := encode(t, in); g != `{"n":3.0}` {
		t.Errorf("input modified: %s", g)
	}
	r1.(map[string]any)["tags"].([]any)[0] = "changed"
	r2, _ := s.Apply(map[string]any{})
	if g := encode(t, r2); g != `{"tags":["a"]}` {
		t.Errorf("default shared between results: %s", g)
	}
}

func TestApplyGoValues(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{"a":{"type":"integer","maximum":5},"b":{"type":"number"}}}`)
	_, errs := s.Apply(map[string]any{"a": 7, "b": float64(2.5)})
	checkErrs(t, errs, []string{`config.a: must be at most 5, got 7`})
	_, errs = s.Apply(map[string]any{"a": float64(3), "b": struct{}{}})
	checkErrs(t, errs, []string{`config.b: a Go value of type struct {} is not decoded JSON`})
	_, errs = s.Apply(map[string]any{"a": json.Number("1x")})
	checkErrs(t, errs, []string{`config.a: "1x" is not a valid JSON number`})

	got, errs := (&Schema{}).Apply(decode(t, `["abc",{"x":1}]`))
	checkErrs(t, errs, nil)
	if g := encode(t, got); g != `["abc",{"x":1}]` {
		t.Errorf("zero schema: %s", g)
	}

	var nilSchema *Schema
	got, errs = nilSchema.Apply(decode(t, `{"x":[1]}`))
	checkErrs(t, errs, nil)
	if g := encode(t, got); g != `{"x":[1]}` {
		t.Errorf("nil schema: %s", g)
	}
}

func TestAllErrorsListed(t *testing.T) {
	s := mustCompile(t, `{
		"type": "object",
		"required": ["name", "mode"],
		"additionalProperties": false,
		"properties": {
			"name":  {"type": "string"},
			"limit": {"type": "integer", "maximum": 10},
			"mode":  {"enum": ["a", "b"]},
			"items": {"type": "array", "items": {"type": "integer"}}
		}
	}`)
	_, errs := s.Apply(decode(t, `{"limit": 12, "mode": "c", "items": [1, 2, "x"], "nmae": "n"}`))
	checkErrs(t, errs, []string{
		`config: missing required field "name"`,
		`config: unknown field "nmae" (did you mean "name"?)`,
		`config.items[2]: expected integer, got string "x"`,
		`config.limit: must be at most 10, got 12`,
		`config.mode: must be one of ["a","b"], got "c"`,
	})
}

func TestPaths(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{
		"a.b": {"type":"string"},
		"m": {"type":"array","items":{"type":"array","items":{"type":"integer"}}},
		"o": {"type":"object","properties":{"p q": {"type":"object","properties":{"r":{"type":"integer"}}}}}
	}}`)
	_, errs := s.Apply(decode(t, `{"a.b": 1, "m": [[1],[2,"x"]], "o": {"p q": {"r": "s"}}}`))
	checkErrs(t, errs, []string{
		`config["a.b"]: expected string, got integer 1`,
		`config.m[1][1]: expected integer, got string "x"`,
		`config.o["p q"].r: expected integer, got string "s"`,
	})
}

func TestErrorsSortedNumerically(t *testing.T) {
	s := mustCompile(t, `{"type":"array","items":{"type":"integer"}}`)
	vals := make([]any, 12)
	for i := range vals {
		vals[i] = "x"
	}
	_, errs := s.Apply(vals)
	if len(errs) != 12 {
		t.Fatalf("got %d errors", len(errs))
	}
	for i, e := range errs {
		if want := fmt.Sprintf("config[%d]", i); e.Path != want {
			t.Errorf("errs[%d].Path = %s, want %s", i, e.Path, want)
		}
	}
	errs = []Error{{Path: "a.b"}, {Path: "a"}, {Path: "a[1]"}, {Path: ""}, {Path: "ab"}}
	sortErrors(errs)
	var paths []string
	for _, e := range errs {
		paths = append(paths, e.Path)
	}
	if want := []string{"", "a", "a.b", "a[1]", "ab"}; !slices.Equal(paths, want) {
		t.Errorf("sorted %q, want %q", paths, want)
	}
}

func TestSuggest(t *testing.T) {
	for _, tc := range []struct {
		s    string
		cand []string
		want string
	}{
		{"nmae", []string{"name", "limit"}, "name"},
		{"Name", []string{"name"}, "name"},
		{"limt", []string{"name", "limit"}, "limit"},
		{"x", []string{"y"}, ""},
		{"completely_different", []string{"name"}, ""},
		{"op", []string{"ops"}, "ops"},
	} {
		got := suggest(tc.s, tc.cand)
		want := ""
		if tc.want != "" {
			want = fmt.Sprintf(" (did you mean %q?)", tc.want)
		}
		if got != want {
			t.Errorf("suggest(%q, %q) = %q, want %q", tc.s, tc.cand, got, want)
		}
	}
}

func TestCompile(t *testing.T) {
	for _, in := range []string{"", "  ", "null"} {
		s, err := Compile([]byte(in))
		if s != nil || err != nil {
			t.Errorf("Compile(%q) = %v, %v; want nil, nil", in, s, err)
		}
	}
	for _, tc := range []struct {
		name, schema string
		want         []string // lines of the error, after the first
	}{
		{"ref", `{"$ref":"#/x"}`, []string{`#/$ref: unsupported keyword "$ref" (supported: type, properties, required, additionalProperties, default, enum, const, minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength, pattern, items, minItems, maxItems, description, title)`}},
		{"oneOf nested", `{"properties":{"x":{"oneOf":[{}]}}}`, []string{`#/properties/x/oneOf: unsupported keyword "oneOf"`}},
		{"anyOf", `{"items":{"anyOf":[]}}`, []string{`#/items/anyOf: unsupported keyword "anyOf"`}},
		{"allOf", `{"allOf":[]}`, []string{`#/allOf: unsupported keyword "allOf"`}},
		{"if", `{"if":{}}`, []string{`#/if: unsupported keyword "if"`}},
		{"not", `{"additionalProperties":{"not":{}}}`, []string{`#/additionalProperties/not: unsupported keyword "not"`}},
		{"format", `{"format":"date"}`, []string{`#/format: unsupported keyword "format"`}},
		{"typo", `{"propertes":{}}`, []string{`#/propertes: unsupported keyword "propertes" (did you mean "properties"?)`}},
		{"pointer escaping", `{"properties":{"a/b~c":{"oneOf":[]}}}`, []string{`#/properties/a~1b~0c/oneOf: unsupported keyword "oneOf"`}},
		{"not a schema", `[1]`, []string{`#: a schema must be an object or a boolean, got array`}},
		{"property not a schema", `{"properties":{"a":3}}`, []string{`#/properties/a: a schema must be an object or a boolean, got integer 3`}},
		{"bad type", `{"type":5}`, []string{`#/type: must be a type name or an array of type names, got integer 5`}},
		{"unknown type", `{"type":"integr"}`, []string{`#/type: unknown type "integr" (want one of array, boolean, integer, null, number, object, string) (did you mean "integer"?)`}},
		{"unknown type in list", `{"type":["string","float"]}`, []string{`#/type/1: unknown type "float" (want one of array, boolean, integer, null, number, object, string)`}},
		{"empty type list", `{"type":[]}`, []string{`#/type: must name at least one type`}},
		{"duplicate type", `{"type":["string","string"]}`, []string{`#/type/1: type "string" is listed twice`}},
		{"properties not object", `{"properties":[]}`, []string{`#/properties: must be an object mapping field names to schemas, got array`}},
		{"required not array", `{"required":"a"}`, []string{`#/required: must be an array of field names, got string "a"`}},
		{"required item", `{"required":["a",1,"a"]}`, []string{`#/required/1: must be a field name (a string), got integer 1`, `#/required/2: field "a" is listed twice`}},
		{"additional bad", `{"additionalProperties":1}`, []string{`#/additionalProperties: must be a boolean or a schema, got integer 1`}},
		{"enum empty", `{"enum":[]}`, []string{`#/enum: must be a non-empty array of values, got array`}},
		{"minimum string", `{"minimum":"1"}`, []string{`#/minimum: must be a number, got string "1"`}},
		{"draft4 exclusive", `{"exclusiveMinimum":true}`, []string{`#/exclusiveMinimum: must be a number, got boolean true (the draft-04 boolean form is not supported: give the limit itself)`}},
		{"minLength negative", `{"minLength":-1}`, []string{`#/minLength: must be a non-negative integer, got integer -1`}},
		{"maxItems fraction", `{"maxItems":1.5}`, []string{`#/maxItems: must be a non-negative integer, got number 1.5`}},
		{"pattern bad", `{"pattern":"(?=x)"}`, []string{"#/pattern: invalid regular expression (Go RE2 syntax): error parsing regexp: invalid or unsupported Perl syntax: `(?=`"}},
		{"pattern not string", `{"pattern":1}`, []string{`#/pattern: must be a regular expression (a string), got integer 1`}},
		{"items tuple", `{"items":[{}]}`, []string{`#/items: items as an array of schemas (tuple validation) is not supported: give one schema for every item`}},
		{"items bad", `{"items":"x"}`, []string{`#/items: must be a schema, got string "x"`}},
		{"default mismatch", `{"properties":{"limit":{"type":"integer","default":"x"}}}`,
			[]string{`#/properties/limit/default: default does not match the schema: default: expected integer, got string "x"`}},
		{"nested default mismatch", `{"type":"object","default":{"a":"x"},"properties":{"a":{"type":"integer"}}}`,
			[]string{`#/default: default does not match the schema: default.a: expected integer, got string "x"`}},
		{"invalid JSON", `{"type":`, []string{`#: not valid JSON: unexpected EOF`}},
		{"trailing data", `{} {}`, []string{`#: not valid JSON: unexpected data after the JSON value`}},
		{"several", `{"type":"strin","oneOf":[],"properties":{"a":{"minimum":"x"}}}`, []string{
			`#/oneOf: unsupported keyword "oneOf"`,
			`#/properties/a/minimum: must be a number, got string "x"`,
			`#/type: unknown type "strin" (want one of array, boolean, integer, null, number, object, string) (did you mean "string"?)`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Compile([]byte(tc.schema))
			if err == nil {
				t.Fatalf("Compile(%s) = %v, want an error", tc.schema, s)
			}
			if !errors.Is(err, ErrInvalidSchema) {
				t.Errorf("error does not wrap ErrInvalidSchema: %v", err)
			}
			var lines []string
			if len(tc.want) == 1 {
				lines = []string{strings.TrimPrefix(err.Error(), "invalid config schema: ")}
			} else {
				lines = strings.Split(err.Error(), "\n")
				if want := fmt.Sprintf("invalid config schema (%d errors):", len(tc.want)); lines[0] != want {
					t.Errorf("first line %q, want %q", lines[0], want)
				}
				lines = lines[1:]
				for i := range lines {
					lines[i] = strings.TrimPrefix(lines[i], "  ")
				}
			}
			if len(lines) != len(tc.want) {
				t.Fatalf("error:\n%v\nwant lines %q", err, tc.want)
			}
			for i := range lines {
				if !strings.HasPrefix(lines[i], tc.want[i]) {
					t.Errorf("line %d:\n got  %s\n want %s", i, lines[i], tc.want[i])
				}
			}
		})
	}
}

func TestCompileAcceptsBooleanSubschemasAndAnnotations(t *testing.T) {
	mustCompile(t, `{"$schema":"https://json-schema.org/draft/2020-12/schema","title":"t","description":"d",
		"type":"object","properties":{"a":true,"b":false,"c":{"deprecated":true,"readOnly":false,"writeOnly":false}},
		"additionalProperties":{},"items":true}`)
}

func TestErrorAndJoin(t *testing.T) {
	if got := (Error{Path: "config.a", Message: "bad"}).Error(); got != "config.a: bad" {
		t.Errorf("Error() = %q", got)
	}
	if got := (Error{Message: "bad"}).Error(); got != "bad" {
		t.Errorf("Error() without path = %q", got)
	}
	if Join(nil) != nil {
		t.Error("Join(nil) != nil")
	}
	one := Join([]Error{{Path: "a", Message: "x"}})
	if !errors.Is(one, ErrInvalid) || one.Error() != "invalid config: a: x" {
		t.Errorf("Join(one) = %v", one)
	}
	two := Join([]Error{{Path: "a", Message: "x"}, {Path: "b", Message: "y"}})
	if !errors.Is(two, ErrInvalid) {
		t.Error("Join does not wrap ErrInvalid")
	}
	if want := "invalid config (2 errors):\n  a: x\n  b: y"; two.Error() != want {
		t.Errorf("Join(two) = %q, want %q", two.Error(), want)
	}
}

func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

const secret = "hunter2-s3cr3t"

func TestResolveEnv(t *testing.T) {
	lookup := env(map[string]string{"PW": secret, "USER": "bob"})
	in := decode(t, `{"db":{"password":{"env":"PW"},"user":{"env":"USER"}},"list":[{"env":"PW"},1],"notref":{"env":"PW","x":1},"missing":{"env":"NOPE"}}`)
	res, red, errs := ResolveEnv(in, lookup)
	checkErrs(t, errs, []string{`config.missing: environment variable "NOPE" is not set`})
	rm := res.(map[string]any)
	delete(rm, "missing")
	if g, want := encode(t, rm), `{"db":{"password":"`+secret+`","user":"bob"},"list":["`+secret+`",1],"notref":{"env":"PW","x":1}}`; g != want {
		t.Errorf("resolved = %s\nwant       %s", g, want)
	}
	rj := encode(t, red)
	if want := `{"db":{"password":{"env":"PW"},"user":{"env":"USER"}},"list":[{"env":"PW"},1],"missing":{"env":"NOPE"},"notref":{"env":"PW","x":1}}`; rj != want {
		t.Errorf("redacted = %s\nwant       %s", rj, want)
	}
	if strings.Contains(rj, secret) {
		t.Errorf("redacted contains the secret: %s", rj)
	}
	if g := encode(t, in); strings.Contains(g, secret) {
		t.Errorf("input modified: %s", g)
	}

	_, _, errs = ResolveEnv(decode(t, `{"env":"X"}`), nil)
	checkErrs(t, errs, []string{`config: environment variable "X" is not set`})
	_, _, errs = ResolveEnv(decode(t, `[{"env":""}]`), lookup)
	checkErrs(t, errs, []string{`config[0]: environment reference with an empty variable name`})
}

func TestPrepareEnv(t *testing.T) {
	vars := map[string]string{"PW": secret, "PORT": "5432", "PORT_NL": " 42\n", "BAD_PORT": "54x2" + secret,
		"FLAG": "true", "RATIO": "2.5", "MODE": secret, "BIG": "99"}
	lookup := env(vars)
	schema := `{"type":"object","properties":{
		"password": {"type":"string","minLength":30},
		"port":     {"type":"integer","maximum":100},
		"flag":     {"type":"boolean"},
		"ratio":    {"type":"number"},
		"mode":     {"enum":["a","b"]},
		"pat":      {"type":"string","pattern":"^x"},
		"label":    {"type":"string"},
		"opts":     {"type":"object"},
		"dflt":     {"type":"integer","default":{"env":"PORT"}},
		"either":   {"type":["integer","string"]}
	}}`
	s := mustCompile(t, schema)
	for _, tc := range []struct {
		name  string
		value string
		want  string // resolved JSON when no errors
		red   string // redacted JSON when no errors
		errs  []string
	}{
		{name: "integer coerced", value: `{"port":{"env":"PORT_NL"}}`,
			want: `{"dflt":5432,"port":42}`, red: `{"dflt":{"env":"PORT"},"port":{"env":"PORT_NL"}}`},
		{name: "boolean and number coerced", value: `{"flag":{"env":"FLAG"},"ratio":{"env":"RATIO"}}`,
			want: `{"dflt":5432,"flag":true,"ratio":2.5}`, red: `{"dflt":{"env":"PORT"},"flag":{"env":"FLAG"},"ratio":{"env":"RATIO"}}`},
		{name: "string kept as text", value: `{"label":{"env":"PORT"},"either":{"env":"PORT"},"dflt":1}`,
			want: `{"dflt":1,"either":"5432","label":"5432"}`, red: `{"dflt":1,"either":{"env":"PORT"},"label":{"env":"PORT"}}`},
		{name: "object type takes env literally", value: `{"opts":{"env":"PW"},"dflt":1}`,
			want: `{"dflt":1,"opts":{"env":"PW"}}`, red: `{"dflt":1,"opts":{"env":"PW"}}`},
		{name: "errors never show the secret", value: `{"password":{"env":"PW"},"port":{"env":"BAD_PORT"},"mode":{"env":"MODE"},"pat":{"env":"PW"},"flag":{"env":"PW"}}`,
			errs: []string{
				`config.flag: expected boolean, got string from environment variable "PW"`,
				`config.mode: must be one of ["a","b"], got the value of environment variable "MODE"`,
				`config.password: must be at least 30 characters long, got the value of environment variable "PW"`,
				`config.pat: must match pattern "^x", got the value of environment variable "PW"`,
				`config.port: expected integer, got string from environment variable "BAD_PORT"`,
			}},
		{name: "coerced value checked", value: `{"port":{"env":"PORT"}}`,
			errs: []string{`config.port: must be at most 100, got the value of environment variable "PORT"`}},
		{name: "missing variable", value: `{"label":{"env":"NOPE"},"dflt":1}`,
			errs: []string{`config.label: environment variable "NOPE" is not set`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, red, errs := Prepare(s, decode(t, tc.value), lookup)
			checkErrs(t, errs, tc.errs)
			for _, e := range errs {
				if strings.Contains(e.Error(), secret) {
					t.Errorf("error shows the secret: %v", e)
				}
			}
			rj := encode(t, red)
			if strings.Contains(rj, secret) {
				t.Errorf("redacted contains the secret: %s", rj)
			}
			if len(tc.errs) > 0 {
				return
			}
			if g := encode(t, res); g != tc.want {
				t.Errorf("resolved = %s, want %s", g, tc.want)
			}
			if rj != tc.red {
				t.Errorf("redacted = %s, want %s", rj, tc.red)
			}
		})
	}

	// A secret inside an object or array is not shown by enum and const messages either.
	s2 := mustCompile(t, `{"properties":{"e":{"enum":[{"a":1}]},"c":{"const":["x"]}}}`)
	_, _, errs := Prepare(s2, decode(t, `{"e":{"a":{"env":"PW"}},"c":[{"env":"PW"}]}`), lookup)
	checkErrs(t, errs, []string{
		`config.c: must be ["x"], got [{"env":"PW"}]`,
		`config.e: must be one of [{"a":1}], got {"a":{"env":"PW"}}`,
	})

	// The integer from the environment is a JSON number in the resolved value.
	res, _, errs := Prepare(s, map[string]any{}, lookup)
	checkErrs(t, errs, nil)
	if n, ok := res.(map[string]any)["dflt"].(json.Number); !ok || n != "5432" {
		t.Errorf("dflt = %#v, want json.Number(5432)", res.(map[string]any)["dflt"])
	}

	// A nil schema resolves references everywhere and converts nothing.
	res, red, errs := Prepare(nil, decode(t, `{"a":{"env":"PORT"}}`), lookup)
	checkErrs(t, errs, nil)
	if g := encode(t, res) + encode(t, red); g != `{"a":"5432"}{"a":{"env":"PORT"}}` {
		t.Errorf("nil schema: %s", g)
	}
}

func TestApplyIgnoresEnv(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{"pw":{"type":"string"}}}`)
	_, errs := s.Apply(decode(t, `{"pw":{"env":"PW"}}`))
	checkErrs(t, errs, []string{`config.pw: expected string, got object`})
}

func TestConcurrentUse(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{"a":{"type":"array","default":[1,{"b":2}]},"p":{"type":"integer","default":{"env":"P"}}}}`)
	lookup := env(map[string]string{"P": "7"})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				res, _, errs := Prepare(s, map[string]any{}, lookup)
				if len(errs) > 0 {
					t.Error(errs)
					return
				}
				res.(map[string]any)["a"].([]any)[1].(map[string]any)["b"] = 3
			}
		})
	}
	wg.Wait()
}
