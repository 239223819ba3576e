package wasmorch

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

// valueKind is how a parameter or result travels between host and guest, decided by its static
// Go type.
type valueKind int

const (
	kindJSON            valueKind = iota // any other type, through encoding/json
	kindBytes                            // []byte
	kindRecord                           // arrow.Record: the whole table
	kindRecordReader                     // array.RecordReader: the table batch by batch
	kindPartitionReader                  // *PartitionReader: batch by batch, with each batch's partition key
)

func (k valueKind) format() format {
	switch k {
	case kindRecord, kindRecordReader, kindPartitionReader:
		return formatArrow
	case kindBytes:
		return formatBytes
	}
	return formatJSON
}

var (
	contextType      = reflect.TypeFor[*Context]()
	errorType        = reflect.TypeFor[error]()
	bytesType        = reflect.TypeFor[[]byte]()
	recordType       = reflect.TypeFor[arrow.Record]()
	recordReaderType = reflect.TypeFor[array.RecordReader]()
	partitionRdrType = reflect.TypeFor[*PartitionReader]()

	jsonMarshalerType   = reflect.TypeFor[json.Marshaler]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// direction says whether a value is decoded (an input) or encoded (a result); what encoding/json
// supports differs between the two.
type direction int

const (
	asInput direction = iota
	asResult
)

// classify returns the kind a parameter or result of type t travels as, or an error saying why
// the SDK cannot move a value of that type.
func classify(t reflect.Type, dir direction) (valueKind, error) {
	switch t {
	case recordType:
		return kindRecord, nil
	case recordReaderType:
		return kindRecordReader, nil
	case partitionRdrType:
		if dir == asResult {
			return 0, fmt.Errorf("*wasmorch.PartitionReader reads inputs only; return an arrow.Record or an array.RecordReader")
		}
		return kindPartitionReader, nil
	case bytesType:
		return kindBytes, nil
	case contextType:
		return 0, fmt.Errorf("*wasmorch.Context may only be the first parameter")
	case errorType:
		return 0, fmt.Errorf("type error cannot travel as a value")
	}
	if err := checkJSONType(t, dir, map[reflect.Type]bool{}); err != nil {
		supported := "arrow.Record, array.RecordReader, []byte, or a JSON-encodable type"
		if dir == asInput {
			supported = "arrow.Record, array.RecordReader, *wasmorch.PartitionReader, []byte, or a JSON-encodable type"
		}
		return 0, fmt.Errorf("type %s cannot travel as JSON: %w (supported: %s)", t, err, supported)
	}
	return kindJSON, nil
}

// checkJSONType rejects types that encoding/json cannot handle, so the mistake shows at
// registration instead of in the middle of a run. Types with their own JSON or text codecs are
// trusted as they are.
func checkJSONType(t reflect.Type, dir direction, seen map[reflect.Type]bool) error {
	if seen[t] {
		return nil // recursive types are checked once
	}
	seen[t] = true
	if hasCodec(t, dir) {
		return nil
	}
	switch t.Kind() {
	case reflect.Chan, reflect.Func, reflect.Complex64, reflect.Complex128, reflect.UnsafePointer:
		return fmt.Errorf("%s has kind %s", t, t.Kind())
	case reflect.Interface:
		// encoding/json fills an empty interface with generic values but cannot choose a
		// concrete type for any other interface.
		if t.NumMethod() != 0 && dir == asInput {
			return fmt.Errorf("%s is a non-empty interface", t)
		}
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return checkJSONType(t.Elem(), dir, seen)
	case reflect.Map:
		k := t.Key()
		switch k.Kind() {
		case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		default:
			if !k.Implements(textMarshalerType) && !reflect.PointerTo(k).Implements(textUnmarshalerType) {
				return fmt.Errorf("map key type %s is not a string, an integer or a text marshaler", k)
			}
		}
		return checkJSONType(t.Elem(), dir, seen)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() && !f.Anonymous {
				continue
			}
			if f.Tag.Get("json") == "-" {
				continue
			}
			if err := checkJSONType(f.Type, dir, seen); err != nil {
				return fmt.Errorf("field %s: %w", f.Name, err)
			}
		}
	}
	return nil
}

func hasCodec(t reflect.Type, dir direction) bool {
	if dir == asInput {
		p := reflect.PointerTo(t)
		return p.Implements(jsonUnmarshalerType) || p.Implements(textUnmarshalerType)
	}
	return t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType) ||
		reflect.PointerTo(t).Implements(jsonMarshalerType)
}
