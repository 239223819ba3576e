package runtime

import (
	"fmt"
	"math"
	"net/url"
)

// checkTypedValue validates a metadata entry of the typed form {"type": T, "value": V}
// (ABI.md 4.4); any other value is plain JSON and always accepted.
func checkTypedValue(v any) error {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 2 {
		return nil
	}
	typ, ok := m["type"].(string)
	if !ok {
		return nil
	}
	val, ok := m["value"]
	if !ok {
		return nil
	}
	str := func() error {
		if _, ok := val.(string); !ok {
			return fmt.Errorf("a %s value must be a string, got %T", typ, val)
		}
		return nil
	}
	switch typ {
	case "text", "markdown", "path":
		return str()
	case "url":
		if err := str(); err != nil {
			return err
		}
		u, err := url.Parse(val.(string))
		if err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "s3") {
			return fmt.Errorf("url value %q is not an absolute http, https or s3 URL", val)
		}
	case "json":
	case "int":
		f, ok := val.(float64)
		if !ok || f != math.Trunc(f) {
			return fmt.Errorf("an int value must be an integer, got %v", val)
		}
	case "float":
		if _, ok := val.(float64); !ok {
			return fmt.Errorf("a float value must be a number, got %T", val)
		}
	case "bool":
		if _, ok := val.(bool); !ok {
			return fmt.Errorf("a bool value must be true or false, got %T", val)
		}
	case "table":
		t, ok := val.(map[string]any)
		cols, ok2 := t["columns"].([]any)
		rows, ok3 := t["rows"].([]any)
		if !ok || !ok2 || !ok3 {
			return fmt.Errorf(`a table value must be {"columns": [...], "rows": [[...], ...]}`)
		}
		for i, r := range rows {
			row, ok := r.([]any)
			if !ok || len(row) != len(cols) {
				return fmt.Errorf("table row %d must be an array of %d cells", i, len(cols))
			}
		}
	default:
		return fmt.Errorf("unknown metadata type %q (want text, markdown, url, path, json, int, float, bool or table)", typ)
	}
	return nil
}
