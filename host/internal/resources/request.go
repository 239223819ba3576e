package resources

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// opFields maps each op of a kind to the fields (besides "op") its requests may carry. The
// single key "" means the kind's requests have no op field (http).
type opFields map[string][]string

func (o opFields) names() []string {
	names := make([]string, 0, len(o))
	for k := range o {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// decodeRequest checks req against ops and decodes it into dst (a pointer to a struct whose
// json tags are the field names). It returns the op. Every error wraps ErrInvalidRequest and
// names the offending field.
func decodeRequest(kind Kind, req []byte, ops opFields, dst any) (string, error) {
	invalid := func(format string, args ...any) (string, error) {
		return "", newErr(kind, ErrInvalidRequest, format, args...)
	}
	example := exampleRequest(ops)
	if len(bytes.TrimSpace(req)) == 0 {
		return invalid("the request is empty; want a JSON object such as %s", example)
	}
	if !utf8.Valid(req) {
		return invalid("the request is not valid UTF-8")
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(req))
	if err := dec.Decode(&fields); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			return invalid("the request must be a JSON object such as %s, not a JSON %s", example, te.Value)
		}
		return invalid("the request is not valid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("the request has data after its JSON object")
	}
	if fields == nil {
		return invalid("the request must be a JSON object such as %s, not null", example)
	}

	op := ""
	allowed, noOp := ops[""]
	if !noOp {
		raw, ok := fields["op"]
		if !ok {
			return invalid(`missing field "op" (want one of: %s)`, strings.Join(ops.names(), ", "))
		}
		if err := json.Unmarshal(raw, &op); err != nil {
			return invalid(`field "op" must be a string (one of: %s)`, strings.Join(ops.names(), ", "))
		}
		if allowed, ok = ops[op]; !ok {
			return invalid(`unknown op %q (want one of: %s)`, op, strings.Join(ops.names(), ", "))
		}
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if (k == "op" && !noOp) || slices.Contains(allowed, k) {
			continue
		}
		takes := "no other fields"
		if len(allowed) > 0 {
			takes = strings.Join(allowed, ", ")
		}
		if noOp {
			return invalid("unknown field %q (a request has: %s)", k, takes)
		}
		for _, other := range ops {
			if slices.Contains(other, k) {
				return invalid("field %q is not used by op %q (it takes: %s)", k, op, takes)
			}
		}
		return invalid("unknown field %q (op %q takes: %s)", k, op, takes)
	}
	if err := json.Unmarshal(req, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return invalid("field %q must be %s, not a JSON %s", te.Field, typeName(te.Type.Kind().String()), te.Value)
		}
		return invalid("the request is not valid: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return op, nil
}

func typeName(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "an integer"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "a boolean"
	case kind == "map":
		return "an object of strings"
	default:
		return "a " + kind
	}
}

func exampleRequest(ops opFields) string {
	if _, ok := ops[""]; ok {
		return `{"method":"GET","url":"https://..."}`
	}
	return fmt.Sprintf(`{"op":%q}`, ops.names()[0])
}

// decodeBase64 decodes a base64 field (standard alphabet, padded).
func decodeBase64(kind Kind, field, s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, wrapErr(kind, ErrInvalidRequest, err, "field %q is not valid base64 (standard alphabet, padded): %v", field, err)
	}
	return b, nil
}

// encodeResponse marshals a response. Responses are plain structs, so this cannot fail in
// practice; a failure is reported as ErrIO rather than a panic.
func encodeResponse(kind Kind, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, wrapErr(kind, ErrIO, err, "encode response: %v", err)
	}
	return b, nil
}
