package wasmorch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// ConfigFrom declares the asset's config schema from a Go struct, the way Dagster derives it from
// a Config class. Pass a value of the struct type, usually its zero value:
//
//	type RawOrdersConfig struct {
//		CSV   string `json:"csv" doc:"CSV text to read instead of the embedded file" default:""`
//		Limit *int   `json:"limit" doc:"stop after this many rows"`
//		Mode  string `json:"mode" enum:"strict,lenient" default:"strict"`
//	}
//	wasmorch.Asset("raw_orders", rawOrders, wasmorch.ConfigFrom(RawOrdersConfig{}))
//
// The rules: the JSON name comes from the json tag (or the field name); a field is required
// unless it is a pointer, has `json:",omitempty"` or a `default:"…"` tag; `default` is parsed as
// the field's type; `doc` becomes the description and `enum` (comma-separated) the allowed values.
// Unknown fields are refused (additionalProperties false), as Dagster does. Strings, booleans,
// integers, floats, slices, string-keyed maps and nested structs are supported. The host applies
// defaults and validates run config against the schema before any step runs; Context.Config then
// decodes into the struct.
func ConfigFrom(example any) AssetOption {
	return func(a *assetDef) {
		schema, err := configSchemaFrom("ConfigFrom", example)
		if err != nil {
			a.problem("%v", err)
			return
		}
		a.configSchema = schema
	}
}

// configSchemaFrom derives a config schema from a struct value for ConfigFrom and OpConfigFrom;
// option names the option in error messages.
func configSchemaFrom(option string, example any) (json.RawMessage, error) {
	t := reflect.TypeOf(example)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s needs a struct value, got %T", option, example)
	}
	schema, err := schemaFor(t, map[reflect.Type]bool{})
	if err != nil {
		return nil, fmt.Errorf("%s(%s): %v", option, t, err)
	}
	b, err := json.Marshal(schema)
	if err != nil {
		return nil, fmt.Errorf("%s(%s): %v", option, t, err)
	}
	return b, nil
}

// compactConfigSchema checks that a config schema given as text is a JSON object and compacts
// it, for ConfigSchema and OpConfigSchema; option names the option in error messages.
func compactConfigSchema(option, jsonSchema string) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(jsonSchema)); err != nil {
		return nil, fmt.Errorf("%s: not valid JSON: %v", option, err)
	}
	if buf.Len() == 0 || buf.Bytes()[0] != '{' {
		return nil, fmt.Errorf("%s: a config schema must be a JSON object, got %s", option, truncate(buf.String(), 40))
	}
	return json.RawMessage(buf.Bytes()), nil
}

func schemaFor(t reflect.Type, seen map[reflect.Type]bool) (map[string]any, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}, nil
	case reflect.Bool:
		return map[string]any{"type": "boolean"}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}, nil
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}, nil
	case reflect.Slice, reflect.Array:
		items, err := schemaFor(t.Elem(), seen)
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": "array", "items": items}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map key type %s: config maps must have string keys", t.Key())
		}
		values, err := schemaFor(t.Elem(), seen)
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": "object", "additionalProperties": values}, nil
	case reflect.Struct:
		if seen[t] {
			return nil, fmt.Errorf("type %s refers to itself", t)
		}
		seen[t] = true
		defer delete(seen, t)
		props := map[string]any{}
		var required []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fs, err := schemaFor(f.Type, seen)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
			if doc := f.Tag.Get("doc"); doc != "" {
				fs["description"] = doc
			}
			if enum := f.Tag.Get("enum"); enum != "" {
				var values []any
				for _, e := range strings.Split(enum, ",") {
					v, err := parseTagValue(f.Type, e)
					if err != nil {
						return nil, fmt.Errorf("field %s: enum value %q: %w", f.Name, e, err)
					}
					values = append(values, v)
				}
				fs["enum"] = values
			}
			def, hasDefault := f.Tag.Lookup("default")
			if hasDefault {
				v, err := parseTagValue(f.Type, def)
				if err != nil {
					return nil, fmt.Errorf("field %s: default %q: %w", f.Name, def, err)
				}
				fs["default"] = v
			}
			optional := hasDefault || f.Type.Kind() == reflect.Pointer || strings.Contains(opts, "omitempty")
			if !optional {
				required = append(required, name)
			}
			props[name] = fs
		}
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			s["required"] = required
		}
		return s, nil
	}
	return nil, fmt.Errorf("type %s cannot be config (use strings, numbers, booleans, slices, maps or structs)", t)
}

// parseTagValue parses a default or enum tag as a value of type t.
func parseTagValue(t reflect.Type, s string) (any, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return s, nil
	case reflect.Bool:
		return strconv.ParseBool(s)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.ParseInt(s, 10, t.Bits())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.ParseUint(s, 10, t.Bits())
	case reflect.Float32, reflect.Float64:
		return strconv.ParseFloat(s, t.Bits())
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("not JSON for %s: %w", t, err)
	}
	return v, nil
}
