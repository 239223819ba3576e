package wasmorch

import (
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
)

func TestArrowTypeNames(t *testing.T) {
	tests := []struct {
		dt   arrow.DataType
		want string
	}{
		{arrow.Null, "null"},
		{arrow.FixedWidthTypes.Boolean, "bool"},
		{arrow.PrimitiveTypes.Int8, "int8"},
		{arrow.PrimitiveTypes.Int16, "int16"},
		{arrow.PrimitiveTypes.Int32, "int32"},
		{arrow.PrimitiveTypes.Int64, "int64"},
		{arrow.PrimitiveTypes.Uint8, "uint8"},
		{arrow.PrimitiveTypes.Uint16, "uint16"},
		{arrow.PrimitiveTypes.Uint32, "uint32"},
		{arrow.PrimitiveTypes.Uint64, "uint64"},
		{arrow.FixedWidthTypes.Float16, "float16"},
		{arrow.PrimitiveTypes.Float32, "float32"},
		{arrow.PrimitiveTypes.Float64, "float64"},
		{arrow.BinaryTypes.String, "utf8"},
		{arrow.BinaryTypes.LargeString, "large_utf8"},
		{arrow.BinaryTypes.Binary, "binary"},
		{arrow.BinaryTypes.LargeBinary, "large_binary"},
		{arrow.FixedWidthTypes.Date32, "date32"},
		{arrow.FixedWidthTypes.Date64, "date64"},
		{&arrow.TimestampType{Unit: arrow.Second}, "timestamp[s]"},
		{&arrow.TimestampType{Unit: arrow.Millisecond}, "timestamp[ms]"},
		{&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, "timestamp[us, tz=UTC]"},
		{&arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "Europe/Paris"}, "timestamp[ns, tz=Europe/Paris]"},
		{&arrow.Decimal128Type{Precision: 10, Scale: 2}, "decimal128(10, 2)"},
		{&arrow.Decimal128Type{Precision: 38, Scale: 0}, "decimal128(38, 0)"},
	}
	for _, tt := range tests {
		got, err := arrowTypeName(tt.dt)
		if err != nil || got != tt.want {
			t.Errorf("arrowTypeName(%s) = %q, %v; want %q", tt.dt, got, err, tt.want)
		}
	}
}

func TestArrowTypeNamesUnsupported(t *testing.T) {
	for _, dt := range []arrow.DataType{
		arrow.ListOf(arrow.PrimitiveTypes.Int64),
		arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64}),
		arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64),
		&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String},
		&arrow.FixedSizeBinaryType{ByteWidth: 16},
		&arrow.Decimal256Type{Precision: 50, Scale: 2},
		arrow.FixedWidthTypes.Time32ms,
		arrow.FixedWidthTypes.Duration_s,
		arrow.BinaryTypes.StringView,
	} {
		_, err := arrowTypeName(dt)
		if err == nil {
			t.Errorf("arrowTypeName(%s) succeeded; the ABI has no name for it", dt)
			continue
		}
		if want := "Arrow type " + dt.String() + " is not one the manifest can describe"; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error = %q, want prefix %q", err, want)
		}
	}
}

func TestSchemaToJSONNamesEveryBadField(t *testing.T) {
	s := arrow.NewSchema([]arrow.Field{
		{Name: "ok", Type: arrow.PrimitiveTypes.Int64},
		{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64)},
		{Name: "t", Type: arrow.FixedWidthTypes.Time64us},
	}, nil)
	_, err := schemaToJSON(s)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`field "l": Arrow type list<`, `; field "t": Arrow type time64[us]`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}
