package manifest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
)

var (
	timestampRE = regexp.MustCompile(`^timestamp\[(s|ms|us|ns)(?:, *tz=([^\]]+))?\]$`)
	decimalRE   = regexp.MustCompile(`^decimal128\((\d+), *(\d+)\)$`)
)

// ArrowType parses a type name of ABI.md section 7.5.
func ArrowType(name string) (arrow.DataType, error) {
	switch name {
	case "null":
		return arrow.Null, nil
	case "bool":
		return arrow.FixedWidthTypes.Boolean, nil
	case "int8":
		return arrow.PrimitiveTypes.Int8, nil
	case "int16":
		return arrow.PrimitiveTypes.Int16, nil
	case "int32":
		return arrow.PrimitiveTypes.Int32, nil
	case "int64":
		return arrow.PrimitiveTypes.Int64, nil
	case "uint8":
		return arrow.PrimitiveTypes.Uint8, nil
	case "uint16":
		return arrow.PrimitiveTypes.Uint16, nil
	case "uint32":
		return arrow.PrimitiveTypes.Uint32, nil
	case "uint64":
		return arrow.PrimitiveTypes.Uint64, nil
	case "float16":
		return arrow.FixedWidthTypes.Float16, nil
	case "float32":
		return arrow.PrimitiveTypes.Float32, nil
	case "float64":
		return arrow.PrimitiveTypes.Float64, nil
	case "utf8":
		return arrow.BinaryTypes.String, nil
	case "large_utf8":
		return arrow.BinaryTypes.LargeString, nil
	case "binary":
		return arrow.BinaryTypes.Binary, nil
	case "large_binary":
		return arrow.BinaryTypes.LargeBinary, nil
	case "date32":
		return arrow.FixedWidthTypes.Date32, nil
	case "date64":
		return arrow.FixedWidthTypes.Date64, nil
	}
	if m := timestampRE.FindStringSubmatch(name); m != nil {
		unit := map[string]arrow.TimeUnit{"s": arrow.Second, "ms": arrow.Millisecond, "us": arrow.Microsecond, "ns": arrow.Nanosecond}[m[1]]
		return &arrow.TimestampType{Unit: unit, TimeZone: strings.TrimSpace(m[2])}, nil
	}
	if m := decimalRE.FindStringSubmatch(name); m != nil {
		p, _ := strconv.Atoi(m[1])
		s, _ := strconv.Atoi(m[2])
		if p < 1 || p > 38 || s > p {
			return nil, fmt.Errorf("decimal128(%d, %d): precision must be 1..38 and scale at most the precision", p, s)
		}
		return &arrow.Decimal128Type{Precision: int32(p), Scale: int32(s)}, nil
	}
	return nil, fmt.Errorf("unknown Arrow type %q (see abi/ABI.md section 7.5 for the type names)", name)
}

// TypeName is the inverse of ArrowType, for display; types outside the list print as Arrow does.
func TypeName(t arrow.DataType) string {
	switch tt := t.(type) {
	case *arrow.TimestampType:
		unit := map[arrow.TimeUnit]string{arrow.Second: "s", arrow.Millisecond: "ms", arrow.Microsecond: "us", arrow.Nanosecond: "ns"}[tt.Unit]
		if tt.TimeZone != "" {
			return fmt.Sprintf("timestamp[%s, tz=%s]", unit, tt.TimeZone)
		}
		return fmt.Sprintf("timestamp[%s]", unit)
	case *arrow.Decimal128Type:
		return fmt.Sprintf("decimal128(%d, %d)", tt.Precision, tt.Scale)
	case *arrow.BooleanType:
		return "bool"
	case *arrow.StringType:
		return "utf8"
	}
	return t.String()
}

// ToArrow converts a declared schema to an Arrow schema.
func (s *Schema) ToArrow() (*arrow.Schema, error) {
	fields := make([]arrow.Field, len(s.Fields))
	for i, f := range s.Fields {
		t, err := ArrowType(f.Type)
		if err != nil {
			return nil, fmt.Errorf("fields[%d] (%q): %w", i, f.Name, err)
		}
		fields[i] = arrow.Field{Name: f.Name, Type: t, Nullable: f.Nullable == nil || *f.Nullable}
	}
	var md *arrow.Metadata
	if len(s.Metadata) > 0 {
		m := arrow.MetadataFrom(s.Metadata)
		md = &m
	}
	return arrow.NewSchema(fields, md), nil
}

// SchemaOf converts an Arrow schema to its JSON form, for metadata and display.
func SchemaOf(s *arrow.Schema) *Schema {
	out := &Schema{Fields: make([]Field, len(s.Fields()))}
	for i, f := range s.Fields() {
		nullable := f.Nullable
		out.Fields[i] = Field{Name: f.Name, Type: TypeName(f.Type), Nullable: &nullable}
	}
	return out
}

func validateSchema(p *problems, path string, s *Schema) {
	seen := map[string]bool{}
	for i, f := range s.Fields {
		fp := fmt.Sprintf("%s.fields[%d]", path, i)
		if f.Name == "" {
			p.add(fp+".name", "is required")
		} else if seen[f.Name] {
			p.add(fp+".name", "column %q is declared twice", f.Name)
		}
		seen[f.Name] = true
		if _, err := ArrowType(f.Type); err != nil {
			p.add(fp+".type", "%v", err)
		}
	}
}
