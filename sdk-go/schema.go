package wasmorch

import (
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
)

// schemaJSON is an Arrow schema in the manifest's JSON form (ABI.md section 7.5).
type schemaJSON struct {
	Fields   []fieldJSON       `json:"fields"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

type fieldJSON struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Nullable is always written: the ABI's default is true, and false is the value that matters.
	Nullable bool `json:"nullable"`
}

// schemaToJSON converts s to the manifest form. Field metadata has no place in that form and is
// left out. The error names every field whose type the form cannot describe.
func schemaToJSON(s *arrow.Schema) (*schemaJSON, error) {
	out := &schemaJSON{Fields: make([]fieldJSON, 0, s.NumFields())}
	var bad []string
	for _, f := range s.Fields() {
		name, err := arrowTypeName(f.Type)
		if err != nil {
			bad = append(bad, fmt.Sprintf("field %q: %v", f.Name, err))
			continue
		}
		out.Fields = append(out.Fields, fieldJSON{Name: f.Name, Type: name, Nullable: f.Nullable})
	}
	if len(bad) > 0 {
		return nil, errors.New(strings.Join(bad, "; "))
	}
	if md := s.Metadata(); md.Len() > 0 {
		out.Metadata = make(map[string]string, md.Len())
		for i, k := range md.Keys() {
			out.Metadata[k] = md.Values()[i]
		}
	}
	return out, nil
}

// supportedTypeNames lists the ABI's type names, for error messages.
const supportedTypeNames = "null, bool, int8..int64, uint8..uint64, float16, float32, float64, utf8, " +
	"large_utf8, binary, large_binary, date32, date64, timestamp[unit(, tz=ZONE)], decimal128(P, S)"

// arrowTypeName returns the ABI.md 7.5 name of dt, such as "timestamp[us, tz=UTC]".
func arrowTypeName(dt arrow.DataType) (string, error) {
	switch dt.ID() {
	case arrow.NULL:
		return "null", nil
	case arrow.BOOL:
		return "bool", nil
	case arrow.INT8:
		return "int8", nil
	case arrow.INT16:
		return "int16", nil
	case arrow.INT32:
		return "int32", nil
	case arrow.INT64:
		return "int64", nil
	case arrow.UINT8:
		return "uint8", nil
	case arrow.UINT16:
		return "uint16", nil
	case arrow.UINT32:
		return "uint32", nil
	case arrow.UINT64:
		return "uint64", nil
	case arrow.FLOAT16:
		return "float16", nil
	case arrow.FLOAT32:
		return "float32", nil
	case arrow.FLOAT64:
		return "float64", nil
	case arrow.STRING:
		return "utf8", nil
	case arrow.LARGE_STRING:
		return "large_utf8", nil
	case arrow.BINARY:
		return "binary", nil
	case arrow.LARGE_BINARY:
		return "large_binary", nil
	case arrow.DATE32:
		return "date32", nil
	case arrow.DATE64:
		return "date64", nil
	case arrow.TIMESTAMP:
		ts := dt.(*arrow.TimestampType)
		if ts.TimeZone == "" {
			return fmt.Sprintf("timestamp[%s]", ts.Unit), nil
		}
		return fmt.Sprintf("timestamp[%s, tz=%s]", ts.Unit, ts.TimeZone), nil
	case arrow.DECIMAL128:
		d := dt.(*arrow.Decimal128Type)
		return fmt.Sprintf("decimal128(%d, %d)", d.Precision, d.Scale), nil
	}
	return "", fmt.Errorf("Arrow type %s is not one the manifest can describe (ABI.md 7.5 allows %s)", dt, supportedTypeNames)
}
