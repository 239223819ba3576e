package manifest

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// shape describes what JSON a manifest field may hold, so that unknown fields and wrong types are
// reported with their full path before the typed decode (whose errors carry no array indexes).
type shape struct {
	kind   string            // "object", "array", "string", "number", "bool", "map", "any"
	fields map[string]*shape // for "object"
	elem   *shape            // for "array" and "map"
	null   bool              // JSON null allowed
}

var (
	anyShape    = &shape{kind: "any"}
	strShape    = &shape{kind: "string"}
	numShape    = &shape{kind: "number"}
	floatShape  = &shape{kind: "float"}
	boolShape   = &shape{kind: "bool"}
	strList     = &shape{kind: "array", elem: strShape, null: true}
	strMap      = &shape{kind: "map", elem: strShape, null: true}
	schemaShape = &shape{kind: "any", null: true}
)

func obj(fields map[string]*shape) *shape { return &shape{kind: "object", fields: fields} }
func list(elem *shape) *shape             { return &shape{kind: "array", elem: elem, null: true} }

var retryShape = &shape{kind: "object", null: true, fields: map[string]*shape{
	"max_retries": numShape, "delay_seconds": floatShape, "backoff": strShape, "jitter": strShape,
}}

var manifestShape = obj(map[string]*shape{
	"abi_version": numShape,
	"sdk":         {kind: "object", null: true, fields: map[string]*shape{"name": strShape, "version": strShape}},
	"assets": list(obj(map[string]*shape{
		"key":         strShape,
		"ins":         list(obj(map[string]*shape{"name": strShape, "asset": strShape, "format": strShape, "partition_mapping": schemaShape})),
		"deps":        strList,
		"group":       strShape,
		"description": strShape,
		"tags":        strMap,
		"output": {kind: "object", null: true, fields: map[string]*shape{
			"format": strShape,
			"schema": {kind: "object", null: true, fields: map[string]*shape{
				"fields":   list(obj(map[string]*shape{"name": strShape, "type": strShape, "nullable": boolShape})),
				"metadata": strMap,
			}},
			"json_schema": schemaShape,
		}},
		"config_schema": schemaShape,
		"partitions":    schemaShape,
		"resources":     strList,
		"io_manager":    strShape,
		"code_version":  strShape,
		"retry_policy":  retryShape,
	})),
	"ops": list(obj(map[string]*shape{
		"name":          strShape,
		"description":   strShape,
		"tags":          strMap,
		"ins":           list(obj(map[string]*shape{"name": strShape, "format": strShape, "optional": boolShape})),
		"outs":          list(obj(map[string]*shape{"name": strShape, "format": strShape, "optional": boolShape, "dynamic": boolShape})),
		"config_schema": schemaShape,
		"resources":     strList,
		"retry_policy":  retryShape,
	})),
	"checks": list(obj(map[string]*shape{
		"name": strShape, "asset": strShape, "description": strShape, "blocking": boolShape,
		"config_schema": schemaShape, "resources": strList,
	})),
	"sensors": list(obj(map[string]*shape{
		"name": strShape, "description": strShape, "minimum_interval_seconds": numShape,
		"targets": strList, "resources": strList,
	})),
	"graphs": list(obj(map[string]*shape{
		"name": strShape, "description": strShape,
		"ins": list(obj(map[string]*shape{"name": strShape})),
		"nodes": list(obj(map[string]*shape{
			"name": strShape, "op": strShape, "config": schemaShape,
			"ins": {kind: "map", null: true, elem: obj(map[string]*shape{"node": strShape, "output": strShape, "graph_input": strShape, "collect": boolShape})},
		})),
		"outs": list(obj(map[string]*shape{"name": strShape, "node": strShape, "output": strShape})),
	})),
	"jobs": list(obj(map[string]*shape{
		"name": strShape, "description": strShape, "selection": strShape, "graph": strShape,
		"tags": strMap, "config": schemaShape,
	})),
})

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "bool"
	}
	return fmt.Sprintf("%T", v)
}

func checkShape(p *problems, path string, v any, s *shape) {
	if s.kind == "any" {
		return
	}
	if v == nil {
		if !s.null {
			p.add(pathOr(path), "must not be null (want %s)", s.kind)
		}
		return
	}
	got := jsonKind(v)
	want := s.kind
	switch want {
	case "map":
		want = "object"
	case "float":
		want = "number"
	}
	if got != want {
		p.add(pathOr(path), "expected %s, got %s", want, got)
		return
	}
	switch s.kind {
	case "object":
		m := v.(map[string]any)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fs, ok := s.fields[k]
			if !ok {
				p.add(join(path, k), "unknown field (known fields: %s)", knownFields(s))
				continue
			}
			checkShape(p, join(path, k), m[k], fs)
		}
	case "map":
		m := v.(map[string]any)
		for k, e := range m {
			checkShape(p, join(path, k), e, s.elem)
		}
	case "array":
		for i, e := range v.([]any) {
			checkShape(p, fmt.Sprintf("%s[%d]", path, i), e, s.elem)
		}
	case "number":
		if n, err := v.(json.Number).Int64(); err != nil || n < 0 {
			p.add(pathOr(path), "expected a non-negative integer, got %s", v)
		}
	}
}

func knownFields(s *shape) string {
	names := make([]string, 0, len(s.fields))
	for k := range s.fields {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func pathOr(path string) string {
	if path == "" {
		return "manifest"
	}
	return path
}
