package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Schema is a compiled config schema, made by [Compile]. A nil *Schema, like the zero Schema,
// accepts any value. A Schema is immutable and safe for concurrent use.
type Schema struct {
	never bool     // the false schema: no value is valid
	types []string // allowed JSON types; nil allows all

	props     map[string]*Schema
	propNames []string // sorted
	required  []string // in declaration order
	// additional is the schema of properties not in props; nil means any value (true).
	additional *Schema

	hasDefault bool
	def        any

	enum     []any
	hasConst bool
	constVal any

	minimum, maximum                   *bound
	exclusiveMinimum, exclusiveMaximum *bound

	minLength, maxLength *int
	pattern              *regexp.Regexp

	items              *Schema // nil means any value
	minItems, maxItems *int

	// autoCreate: when missing and required, the value is built as {} plus defaults.
	autoCreate bool
}

// bound is a numeric limit, kept as written for messages and exact comparison.
type bound struct {
	text string
	f    float64
}

// anySchema accepts any value.
var anySchema = &Schema{}

// objectSchema accepts any object: what a step without a schema accepts.
var objectSchema = &Schema{types: []string{"object"}}

var typeNames = []string{"array", "boolean", "integer", "null", "number", "object", "string"}

// supported lists the keywords Compile understands, in the order error messages name them.
var supported = []string{"type", "properties", "required", "additionalProperties", "default",
	"enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
	"maxLength", "pattern", "items", "minItems", "maxItems", "description", "title"}

// annotations are accepted and ignored.
var annotations = map[string]bool{"description": true, "title": true, "examples": true,
	"deprecated": true, "readOnly": true, "writeOnly": true, "$comment": true, "$schema": true}

// Compile parses a JSON Schema (see the package documentation for the keywords it supports).
// Empty input and JSON null mean "no schema" and give a nil *Schema and no error. Every problem is
// reported, each with the JSON pointer of the part of the schema at fault (#/properties/limit), in
// one error that wraps [ErrInvalidSchema].
func Compile(schema []byte) (*Schema, error) {
	trimmed := bytes.TrimSpace(schema)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return nil, nil
	}
	doc, err := decodeJSON(trimmed)
	if err != nil {
		return nil, &listError{sentinel: ErrInvalidSchema, errs: []Error{{Path: "#", Message: "not valid JSON: " + err.Error()}}}
	}
	c := &compiler{}
	s := c.node(doc, "#")
	if len(c.errs) == 0 {
		// Check defaults only once the whole schema compiled, so that a default is checked
		// against a complete schema.
		for _, d := range c.defaults {
			w := &walker{mode: envKeep}
			w.walk(d.s, deepCopy(d.s.def), "default")
			for _, e := range w.errs {
				c.add(d.ptr+"/default", "default does not match the schema: %s", e.Error())
			}
		}
	}
	if len(c.errs) > 0 {
		return nil, &listError{sentinel: ErrInvalidSchema, errs: c.errs}
	}
	return s, nil
}

// decodeJSON decodes one JSON value, keeping numbers as json.Number.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

type compiler struct {
	errs     []Error
	defaults []struct {
		s   *Schema
		ptr string
	}
}

func (c *compiler) add(ptr, format string, args ...any) {
	c.errs = append(c.errs, Error{Path: ptr, Message: fmt.Sprintf(format, args...)})
}

// pointerToken escapes a key for a JSON pointer (RFC 6901).
func pointerToken(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

func (c *compiler) node(v any, ptr string) *Schema {
	s := &Schema{}
	switch v := v.(type) {
	case bool:
		s.never = !v
		return s
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c.keyword(s, k, v[k], ptr+"/"+pointerToken(k))
		}
	default:
		c.add(ptr, "a schema must be an object or a boolean, got %s", describe(v, ""))
		return s
	}
	// A missing required object can be built from defaults when it declares its fields and
	// everything it requires has a default or can itself be built.
	if slices.Contains(s.types, "object") && len(s.props) > 0 {
		ok := true
		for _, r := range s.required {
			p := s.props[r]
			if p == nil || !(p.hasDefault || p.autoCreate) {
				ok = false
				break
			}
		}
		s.autoCreate = ok
	}
	return s
}

func (c *compiler) keyword(s *Schema, k string, v any, ptr string) {
	switch k {
	case "type":
		c.types(s, v, ptr)
	case "properties":
		m, ok := v.(map[string]any)
		if !ok {
			c.add(ptr, "must be an object mapping field names to schemas, got %s", describe(v, ""))
			return
		}
		s.props = make(map[string]*Schema, len(m))
		for name, sub := range m {
			s.props[name] = c.node(sub, ptr+"/"+pointerToken(name))
			s.propNames = append(s.propNames, name)
		}
		sort.Strings(s.propNames)
	case "required":
		arr, ok := v.([]any)
		if !ok {
			c.add(ptr, "must be an array of field names, got %s", describe(v, ""))
			return
		}
		seen := map[string]bool{}
		for i, e := range arr {
			name, ok := e.(string)
			switch {
			case !ok:
				c.add(ptr+"/"+strconv.Itoa(i), "must be a field name (a string), got %s", describe(e, ""))
			case seen[name]:
				c.add(ptr+"/"+strconv.Itoa(i), "field %q is listed twice", name)
			default:
				seen[name] = true
				s.required = append(s.required, name)
			}
		}
	case "additionalProperties":
		switch v.(type) {
		case bool, map[string]any:
			if sub := c.node(v, ptr); !isTrivial(v) {
				s.additional = sub
			}
		default:
			c.add(ptr, "must be a boolean or a schema, got %s", describe(v, ""))
		}
	case "default":
		s.hasDefault = true
		s.def = v
		c.defaults = append(c.defaults, struct {
			s   *Schema
			ptr string
		}{s, strings.TrimSuffix(ptr, "/default")})
	case "enum":
		arr, ok := v.([]any)
		if !ok || len(arr) == 0 {
			c.add(ptr, "must be a non-empty array of values, got %s", describe(v, ""))
			return
		}
		s.enum = arr
	case "const":
		s.hasConst = true
		s.constVal = v
	case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
		n, ok := v.(json.Number)
		if !ok {
			hint := ""
			if _, isBool := v.(bool); isBool && strings.HasPrefix(k, "exclusive") {
				hint = " (the draft-04 boolean form is not supported: give the limit itself)"
			}
			c.add(ptr, "must be a number, got %s%s", describe(v, ""), hint)
			return
		}
		f, _ := strconv.ParseFloat(string(n), 64)
		b := &bound{text: string(n), f: f}
		switch k {
		case "minimum":
			s.minimum = b
		case "maximum":
			s.maximum = b
		case "exclusiveMinimum":
			s.exclusiveMinimum = b
		default:
			s.exclusiveMaximum = b
		}
	case "minLength", "maxLength", "minItems", "maxItems":
		n, ok := v.(json.Number)
		i, err := strconv.Atoi(string(n))
		if !ok || err != nil || i < 0 {
			c.add(ptr, "must be a non-negative integer, got %s", describe(v, ""))
			return
		}
		switch k {
		case "minLength":
			s.minLength = &i
		case "maxLength":
			s.maxLength = &i
		case "minItems":
			s.minItems = &i
		default:
			s.maxItems = &i
		}
	case "pattern":
		p, ok := v.(string)
		if !ok {
			c.add(ptr, "must be a regular expression (a string), got %s", describe(v, ""))
			return
		}
		re, err := regexp.Compile(p)
		if err != nil {
			c.add(ptr, "invalid regular expression (Go RE2 syntax): %v", err)
			return
		}
		s.pattern = re
	case "items":
		switch v.(type) {
		case bool, map[string]any:
			s.items = c.node(v, ptr)
		case []any:
			c.add(ptr, "items as an array of schemas (tuple validation) is not supported: give one schema for every item")
		default:
			c.add(ptr, "must be a schema, got %s", describe(v, ""))
		}
	default:
		if annotations[k] {
			return
		}
		if hint := suggest(k, supported); hint != "" {
			c.add(ptr, "unsupported keyword %q%s", k, hint)
			return
		}
		c.add(ptr, "unsupported keyword %q (supported: %s)", k, strings.Join(supported, ", "))
	}
}

// isTrivial reports whether v is the schema true or {} (accepts anything, declares nothing).
func isTrivial(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case map[string]any:
		for k := range v {
			if !annotations[k] {
				return false
			}
		}
		return true
	}
	return false
}

func (c *compiler) types(s *Schema, v any, ptr string) {
	var names []any
	switch v := v.(type) {
	case string:
		names = []any{v}
	case []any:
		if len(v) == 0 {
			c.add(ptr, "must name at least one type")
			return
		}
		names = v
	default:
		c.add(ptr, "must be a type name or an array of type names, got %s", describe(v, ""))
		return
	}
	for i, n := range names {
		p := ptr
		if _, isArr := v.([]any); isArr {
			p = ptr + "/" + strconv.Itoa(i)
		}
		name, ok := n.(string)
		switch {
		case !ok:
			c.add(p, "must be a type name (a string), got %s", describe(n, ""))
		case !slices.Contains(typeNames, name):
			c.add(p, "unknown type %q (want one of %s)%s", name, strings.Join(typeNames, ", "), suggest(name, typeNames))
		case slices.Contains(s.types, name):
			c.add(p, "type %q is listed twice", name)
		default:
			s.types = append(s.types, name)
		}
	}
}

// allows reports whether a value of JSON type t (integer for integral numbers) is allowed.
func (s *Schema) allows(t string) bool {
	if s.types == nil {
		return true
	}
	for _, n := range s.types {
		if n == t || (n == "number" && t == "integer") {
			return true
		}
	}
	return false
}

// explicitObject reports whether the schema's declared types include object, which makes
// {"env": "NAME"} an ordinary object rather than a reference.
func (s *Schema) explicitObject() bool { return slices.Contains(s.types, "object") }

func (s *Schema) isRequired(name string) bool { return slices.Contains(s.required, name) }

// orAny returns s, or the schema accepting anything when s is nil.
func (s *Schema) orAny() *Schema {
	if s == nil {
		return anySchema
	}
	return s
}

// expected describes the allowed types: "integer", "string or null", "array, object or null".
func (s *Schema) expected() string {
	switch len(s.types) {
	case 0:
		return "any value"
	case 1:
		return s.types[0]
	}
	return strings.Join(s.types[:len(s.types)-1], ", ") + " or " + s.types[len(s.types)-1]
}
