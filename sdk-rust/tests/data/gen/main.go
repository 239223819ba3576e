// Command gen writes the Arrow IPC fixtures in ../ with arrow-go v15.0.2, the host's Arrow
// library, so the Rust SDK's tests read exactly what the host writes. Regenerate (the output is
// byte-identical) with:
//
//	cd sdk-rust/tests/data/gen && go run . gen ..
//
// `go run . compare A B` and `go run . dump FILE` help when checking streams the Rust writer made.
package main

import (
	"bytes"
	"fmt"
	"math"
	"os"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

func typesSchema(md *arrow.Metadata) *arrow.Schema {
	f := func(name string, t arrow.DataType) arrow.Field {
		return arrow.Field{Name: name, Type: t, Nullable: true}
	}
	return arrow.NewSchema([]arrow.Field{
		f("i8", arrow.PrimitiveTypes.Int8), f("i16", arrow.PrimitiveTypes.Int16), f("i32", arrow.PrimitiveTypes.Int32), f("i64", arrow.PrimitiveTypes.Int64),
		f("u8", arrow.PrimitiveTypes.Uint8), f("u16", arrow.PrimitiveTypes.Uint16), f("u32", arrow.PrimitiveTypes.Uint32), f("u64", arrow.PrimitiveTypes.Uint64),
		f("f32", arrow.PrimitiveTypes.Float32), f("f64", arrow.PrimitiveTypes.Float64),
		f("b", arrow.FixedWidthTypes.Boolean), f("s", arrow.BinaryTypes.String), f("bin", arrow.BinaryTypes.Binary),
		f("d", arrow.FixedWidthTypes.Date32),
		f("ts", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}),
		f("ts_ns", &arrow.TimestampType{Unit: arrow.Nanosecond}),
		f("ts_s", &arrow.TimestampType{Unit: arrow.Second, TimeZone: "Europe/Paris"}),
		f("ts_ms", &arrow.TimestampType{Unit: arrow.Millisecond}),
	}, md)
}

func pick3[T any](kind int, min, max, ordinary T) T {
	switch kind {
	case 0:
		return min
	case 1:
		return max
	}
	return ordinary
}

func typesBatch(rows int, seed int) arrow.Record {
	b := array.NewRecordBuilder(memory.DefaultAllocator, typesSchema(nil))
	defer b.Release()
	for r := 0; r < rows; r++ {
		kind := (r + seed) % 5
		for c := range typesSchema(nil).Fields() {
			fb := b.Field(c)
			if kind == 3 || (kind == 4 && c%2 == 0) {
				fb.AppendNull()
				continue
			}
			v := int64(r + seed + 2)
			switch x := fb.(type) {
			case *array.Int8Builder:
				x.Append(pick3(kind, math.MinInt8, math.MaxInt8, int8(v)))
			case *array.Int16Builder:
				x.Append(pick3(kind, math.MinInt16, math.MaxInt16, int16(-v*300)))
			case *array.Int32Builder:
				x.Append(pick3(kind, math.MinInt32, math.MaxInt32, int32(v*70000)))
			case *array.Int64Builder:
				x.Append(pick3(kind, math.MinInt64, math.MaxInt64, -v*5_000_000_000))
			case *array.Uint8Builder:
				x.Append(pick3(kind, 0, math.MaxUint8, uint8(v)))
			case *array.Uint16Builder:
				x.Append(pick3(kind, 0, math.MaxUint16, uint16(v*300)))
			case *array.Uint32Builder:
				x.Append(pick3(kind, 0, math.MaxUint32, uint32(v*70000)))
			case *array.Uint64Builder:
				x.Append(pick3(kind, 0, math.MaxUint64, uint64(v)*5_000_000_000))
			case *array.Float32Builder:
				x.Append(pick3(kind, -math.MaxFloat32, math.MaxFloat32, float32(v)+0.25))
			case *array.Float64Builder:
				x.Append(pick3(kind, -math.MaxFloat64, math.MaxFloat64, float64(v)/3))
			case *array.BooleanBuilder:
				x.Append(pick3(kind, false, true, v%2 == 0))
			case *array.StringBuilder:
				x.Append(pick3(kind, "", "naïve café ✓ 日本", fmt.Sprintf("row %d", v)))
			case *array.BinaryBuilder:
				x.Append(pick3(kind, []byte{}, []byte{0xff, 0x00, 0x01}, []byte(fmt.Sprintf("b%d", v))))
			case *array.Date32Builder:
				x.Append(pick3(kind, arrow.Date32(0), arrow.Date32(2932896), arrow.Date32(20000+v)))
			case *array.TimestampBuilder:
				x.Append(pick3(kind, arrow.Timestamp(0), arrow.Timestamp(math.MaxInt64), arrow.Timestamp(1_700_000_000_000_000+v)))
			default:
				panic(fmt.Sprintf("no value for %T", fb))
			}
		}
	}
	return b.NewRecord()
}

func write(path string, schema *arrow.Schema, recs ...arrow.Record) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			panic(err)
		}
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		panic(err)
	}
}

func gen(dir string) {
	write(dir+"/types.arrow", typesSchema(nil), typesBatch(5, 0))
	write(dir+"/empty.arrow", typesSchema(nil))
	write(dir+"/multi.arrow", typesSchema(nil), typesBatch(3, 1), typesBatch(0, 0), typesBatch(4, 2), typesBatch(17, 3))
	md := arrow.NewMetadata([]string{"k"}, []string{"v"})
	recs := typesBatch(9, 4)
	write(dir+"/metadata.arrow", typesSchema(&md), array.NewRecord(typesSchema(&md), recs.Columns(), recs.NumRows()))
	// Sliced record: arrow-go writes a slice with non-zero offsets in its buffers.
	big := typesBatch(13, 0)
	write(dir+"/sliced.arrow", typesSchema(nil), big.NewSlice(3, 11))
	// Non-nullable fields without nulls.
	nn := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "name", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, nn)
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"a", "bb", "ccc"}, nil)
	write(dir+"/nonnull.arrow", nn, b.NewRecord())
	// Unsupported: large_utf8, dictionary.
	lu := arrow.NewSchema([]arrow.Field{{Name: "big_text", Type: arrow.BinaryTypes.LargeString, Nullable: true}}, nil)
	lb := array.NewRecordBuilder(memory.DefaultAllocator, lu)
	lb.Field(0).(*array.LargeStringBuilder).Append("x")
	write(dir+"/large_utf8.arrow", lu, lb.NewRecord())
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	ds := arrow.NewSchema([]arrow.Field{{Name: "category", Type: dt, Nullable: true}}, nil)
	db := array.NewRecordBuilder(memory.DefaultAllocator, ds)
	db.Field(0).(*array.BinaryDictionaryBuilder).AppendString("x")
	write(dir+"/dict.arrow", ds, db.NewRecord())
}

func read(path string) (*arrow.Schema, []arrow.Record) {
	data, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	r, err := ipc.NewReader(bytes.NewReader(data))
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
		os.Exit(1)
	}
	var recs []arrow.Record
	for r.Next() {
		rec := r.Record()
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := r.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
		os.Exit(1)
	}
	return r.Schema(), recs
}

// compare: the schema (without metadata) and every batch of b equal those of a.
func compare(a, b string) {
	sa, ra := read(a)
	sb, rb := read(b)
	sa = arrow.NewSchema(sa.Fields(), nil)
	if !sa.Equal(sb) {
		fmt.Printf("FAIL %s: schema\n got %s\nwant %s\n", b, sb, sa)
		os.Exit(1)
	}
	if len(ra) != len(rb) {
		fmt.Printf("FAIL %s: %d batches, want %d\n", b, len(rb), len(ra))
		os.Exit(1)
	}
	for i := range ra {
		x := array.NewRecord(sa, ra[i].Columns(), ra[i].NumRows())
		if !array.RecordEqual(x, rb[i]) {
			fmt.Printf("FAIL %s: batch %d\n got %v\nwant %v\n", b, i, rb[i], x)
			os.Exit(1)
		}
	}
	fmt.Printf("ok %s: %d batches\n", b, len(rb))
}

func dump(path string) {
	s, recs := read(path)
	fmt.Println(s)
	for _, r := range recs {
		fmt.Println(r)
	}
}

func main() {
	switch os.Args[1] {
	case "gen":
		gen(os.Args[2])
	case "compare":
		compare(os.Args[2], os.Args[3])
	case "dump":
		dump(os.Args[2])
	}
}
