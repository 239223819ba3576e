//! Arrow IPC compatibility: streams written by arrow-go v15 (the host's Arrow library) are read
//! correctly, what this crate writes reads back identically, and the writer's bytes match a
//! hand-checked golden stream.
//!
//! `tests/data/*.arrow` were written by arrow-go v15.0.2's `ipc.Writer` from the same values as
//! `types_batch` below (a port of `typesBatch` in host/internal/runtime/conformance_test.go,
//! with two more timestamp units). Set `WASMORCH_IPC_OUT=dir` to also write this crate's
//! encoding of those values to `dir/rust_*.arrow`, for checking with arrow-go.

use std::sync::Arc;

use wasmorch::arrow::ipc::{StreamReader, StreamWriter, END_OF_STREAM};
use wasmorch::arrow::*;

fn types_schema() -> Schema {
    let f = |name: &str, t: DataType| Field::new(name, t, true);
    Schema::new(vec![
        f("i8", DataType::Int8),
        f("i16", DataType::Int16),
        f("i32", DataType::Int32),
        f("i64", DataType::Int64),
        f("u8", DataType::UInt8),
        f("u16", DataType::UInt16),
        f("u32", DataType::UInt32),
        f("u64", DataType::UInt64),
        f("f32", DataType::Float32),
        f("f64", DataType::Float64),
        f("b", DataType::Bool),
        f("s", DataType::Utf8),
        f("bin", DataType::Binary),
        f("d", DataType::Date32),
        f(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ),
        f("ts_ns", DataType::Timestamp(TimeUnit::Nanosecond, None)),
        f(
            "ts_s",
            DataType::Timestamp(TimeUnit::Second, Some("Europe/Paris".into())),
        ),
        f("ts_ms", DataType::Timestamp(TimeUnit::Millisecond, None)),
    ])
}

/// Rows of the types table: kind 0 minimums, 1 maximums, 2 ordinary, 3 all null, 4 every
/// even-numbered column null.
fn types_batch(rows: usize, seed: usize) -> RecordBatch {
    let schema = types_schema();
    let kinds: Vec<usize> = (0..rows).map(|r| (r + seed) % 5).collect();
    let vs: Vec<i64> = (0..rows).map(|r| (r + seed + 2) as i64).collect();
    let null = |kind: usize, c: usize| kind == 3 || (kind == 4 && c % 2 == 0);
    fn pick<T>(kind: usize, min: T, max: T, ordinary: T) -> T {
        match kind {
            0 => min,
            1 => max,
            _ => ordinary,
        }
    }
    let col = |c: usize, value: &dyn Fn(usize, i64) -> Option<i64>| -> Vec<Option<i64>> {
        (0..rows)
            .map(|r| {
                if null(kinds[r], c) {
                    None
                } else {
                    value(kinds[r], vs[r])
                }
            })
            .collect()
    };
    macro_rules! prim {
        ($c:expr, $t:ty, $min:expr, $max:expr, $ord:expr) => {{
            let vals: PrimitiveArray<$t> = (0..rows)
                .map(|r| {
                    let (k, v) = (kinds[r], vs[r]);
                    if null(k, $c) {
                        None
                    } else {
                        Some(pick(k, $min, $max, $ord(v)))
                    }
                })
                .collect();
            vals
        }};
    }
    let ts = |c: usize| -> TimestampArray {
        col(c, &|k, v| {
            Some(pick(k, 0, i64::MAX, 1_700_000_000_000_000 + v))
        })
        .into_iter()
        .collect()
    };
    let strings: StringArray = (0..rows)
        .map(|r| {
            if null(kinds[r], 11) {
                None
            } else {
                Some(pick(
                    kinds[r],
                    String::new(),
                    "naïve café ✓ 日本".to_string(),
                    format!("row {}", vs[r]),
                ))
            }
        })
        .collect();
    let binary: BinaryArray = (0..rows)
        .map(|r| {
            if null(kinds[r], 12) {
                None
            } else {
                Some(pick(
                    kinds[r],
                    vec![],
                    vec![0xff, 0x00, 0x01],
                    format!("b{}", vs[r]).into_bytes(),
                ))
            }
        })
        .collect();
    let bools: BooleanArray = (0..rows)
        .map(|r| {
            if null(kinds[r], 10) {
                None
            } else {
                Some(pick(kinds[r], false, true, vs[r] % 2 == 0))
            }
        })
        .collect();
    let tz = |s: &str| Some(s.to_string());
    RecordBatch::try_new(
        schema,
        vec![
            Array::Int8(prim!(0, i8, i8::MIN, i8::MAX, |v: i64| v as i8)),
            Array::Int16(prim!(1, i16, i16::MIN, i16::MAX, |v: i64| (-v * 300) as i16)),
            Array::Int32(prim!(2, i32, i32::MIN, i32::MAX, |v: i64| (v * 70000) as i32)),
            Array::Int64(prim!(3, i64, i64::MIN, i64::MAX, |v: i64| -v * 5_000_000_000)),
            Array::UInt8(prim!(4, u8, 0, u8::MAX, |v: i64| v as u8)),
            Array::UInt16(prim!(5, u16, 0, u16::MAX, |v: i64| (v * 300) as u16)),
            Array::UInt32(prim!(6, u32, 0, u32::MAX, |v: i64| (v * 70000) as u32)),
            Array::UInt64(prim!(7, u64, 0, u64::MAX, |v: i64| (v as u64) * 5_000_000_000)),
            Array::Float32(prim!(8, f32, -f32::MAX, f32::MAX, |v: i64| v as f32 + 0.25)),
            Array::Float64(prim!(9, f64, -f64::MAX, f64::MAX, |v: i64| v as f64 / 3.0)),
            Array::Bool(bools),
            Array::Utf8(strings),
            Array::Binary(binary),
            Array::Date32(prim!(13, i32, 0, 2932896, |v: i64| (20000 + v) as i32)),
            Array::Timestamp(ts(14), TimeUnit::Microsecond, tz("UTC")),
            Array::Timestamp(ts(15), TimeUnit::Nanosecond, None),
            Array::Timestamp(ts(16), TimeUnit::Second, tz("Europe/Paris")),
            Array::Timestamp(ts(17), TimeUnit::Millisecond, None),
        ],
    )
    .unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{}", env!("CARGO_MANIFEST_DIR"), name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {}", path, e))
}

fn encode(schema: &Schema, batches: &[RecordBatch]) -> Vec<u8> {
    let mut w = StreamWriter::try_new(Vec::new(), schema).unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.finish().unwrap()
}

fn decode(bytes: &[u8]) -> Table {
    StreamReader::try_new(bytes).unwrap().read_all().unwrap()
}

fn save(name: &str, bytes: &[u8]) {
    if let Ok(dir) = std::env::var("WASMORCH_IPC_OUT") {
        std::fs::write(format!("{}/{}", dir, name), bytes).unwrap();
    }
}

#[test]
fn reads_what_arrow_go_writes() {
    let cases: Vec<(&str, Vec<RecordBatch>)> = vec![
        ("types.arrow", vec![types_batch(5, 0)]),
        ("empty.arrow", vec![]),
        (
            "multi.arrow",
            vec![
                types_batch(3, 1),
                types_batch(0, 0),
                types_batch(4, 2),
                types_batch(17, 3),
            ],
        ),
        // Schema custom metadata is ignored.
        ("metadata.arrow", vec![types_batch(9, 4)]),
        // Rows 3..11 of a 13-row batch: arrow-go writes slices with shifted offsets.
        (
            "sliced.arrow",
            vec![types_batch(13, 0)
                .take(&(3..11).collect::<Vec<_>>())
                .unwrap()],
        ),
    ];
    for (name, want) in cases {
        let table = decode(&fixture(name));
        assert_eq!(**table.schema(), types_schema(), "{}", name);
        assert_eq!(table.batches(), &want[..], "{}", name);
        let again = encode(&types_schema(), table.batches());
        assert_eq!(decode(&again), table, "{} after a round trip", name);
        save(&format!("rust_{}", name), &encode(&types_schema(), &want));
    }
}

#[test]
fn reads_non_nullable_fields() {
    let table = decode(&fixture("nonnull.arrow"));
    assert_eq!(
        table.schema().to_string(),
        "id: int64 not null, name: utf8 not null"
    );
    let b = &table.batches()[0];
    assert_eq!(
        b.column_as::<Int64Array>("id").unwrap().values(),
        &[1, 2, 3]
    );
    assert_eq!(
        b.column_as::<StringArray>("name")
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        vec![Some("a"), Some("bb"), Some("ccc")]
    );
}

#[test]
fn refuses_unsupported_types_naming_the_field() {
    let err = |name: &str| match StreamReader::try_new(&fixture(name)[..]) {
        Ok(_) => panic!("{} was accepted", name),
        Err(e) => e.message().to_string(),
    };
    assert_eq!(
        err("large_utf8.arrow"),
        "Arrow IPC stream: field \"big_text\" has Arrow type large_utf8, which the wasmorch Rust \
         SDK does not support (supported: bool, int8..int64, uint8..uint64, float32, float64, \
         utf8, binary, date32, timestamp)"
    );
    assert!(err("dict.arrow")
        .starts_with("Arrow IPC stream: field \"category\" has Arrow type dictionary"));
}

#[test]
fn round_trips_every_type_with_nulls() {
    let schema = types_schema();
    let batches = vec![
        types_batch(5, 0),
        types_batch(0, 0),
        types_batch(100, 7),
        types_batch(1, 3),
    ];
    let bytes = encode(&schema, &batches);
    save("rust_roundtrip.arrow", &bytes);
    let table = decode(&bytes);
    assert_eq!(table.batches(), &batches[..]);
    assert_eq!(table.num_rows(), 106);
    // Every value survives, not only equality of the whole: spot-check the extremes.
    let b = &table.batches()[0];
    assert_eq!(
        b.column_as::<Int64Array>("i64").unwrap().get(0),
        Some(i64::MIN)
    );
    assert_eq!(
        b.column_as::<UInt64Array>("u64").unwrap().get(1),
        Some(u64::MAX)
    );
    assert_eq!(
        b.column_as::<Float32Array>("f32").unwrap().get(1),
        Some(f32::MAX)
    );
    assert_eq!(
        b.column_as::<StringArray>("s").unwrap().get(1),
        Some("naïve café ✓ 日本")
    );
    assert_eq!(
        b.column_as::<BinaryArray>("bin").unwrap().get(1),
        Some(&[0xff, 0, 1][..])
    );
    assert_eq!(b.column_as::<BooleanArray>("b").unwrap().get(2), Some(true));
    assert_eq!(
        b.column_as::<Date32Array>("d").unwrap().get(1),
        Some(2932896)
    );
    for c in b.columns() {
        assert!(c.is_null(3), "row 3 is all nulls");
    }
    assert_eq!(b.column(0).null_count(), 2, "rows 3 and 4 (even column)");
    assert_eq!(b.column(1).null_count(), 1, "row 3 only (odd column)");
}

#[test]
fn empty_table_is_a_schema_and_the_end_marker() {
    let schema = types_schema();
    let bytes = encode(&schema, &[]);
    assert_eq!(&bytes[bytes.len() - 8..], &END_OF_STREAM);
    let table = decode(&bytes);
    assert_eq!(table.num_batches(), 0);
    assert_eq!(**table.schema(), schema);
    assert_eq!(table.to_batch().unwrap().num_rows(), 0);
}

#[test]
fn primitive_columns_are_views_of_the_body() {
    let bytes = encode(&types_schema(), &[types_batch(64, 1)]);
    let table = decode(&bytes);
    let b = &table.batches()[0];
    let i64s = b.column_as::<Int64Array>("i64").unwrap().values();
    let f64s = b.column_as::<Float64Array>("f64").unwrap().values();
    assert_eq!(i64s.as_ptr() as usize % 8, 0);
    assert_eq!(f64s.as_ptr() as usize % 8, 0);
    // Both live in the one body allocation, in stream order: no per-column copies.
    let (a, z) = (i64s.as_ptr() as usize, f64s.as_ptr() as usize);
    assert!(
        z > a && z - a < bytes.len(),
        "columns are not in one buffer"
    );
}

/// A small stream checked byte by byte against the Arrow format (Message.fbs, Schema.fbs) and
/// read back by arrow-go: schema {a: int32 nullable, s: utf8 not null} and one batch
/// a = [1, null, 3], s = ["x", "", "yz"].
#[test]
fn golden_bytes() {
    let schema = Schema::new(vec![
        Field::new("a", DataType::Int32, true),
        Field::new("s", DataType::Utf8, false),
    ]);
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Array::from(Int32Array::from(vec![Some(1), None, Some(3)])),
            Array::from(StringArray::from_values(vec!["x", "", "yz"])),
        ],
    )
    .unwrap();
    #[rustfmt::skip]
    let want: &[u8] = &[
        // ---- schema message: continuation marker, metadata length 200 (FlatBuffer at 8)
        /*   0 */ 0xff, 0xff, 0xff, 0xff, 0xc8, 0x00, 0x00, 0x00,
        // fb 0: root offset 16 | fb 4: Message vtable: 12 bytes, table 23 bytes,
        // version@20 header_type@22 header@16 bodyLength@8
        /*   8 */ 0x10, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x17, 0x00,
        /*  16 */ 0x14, 0x00, 0x16, 0x00, 0x10, 0x00, 0x08, 0x00,
        // fb 16: Message table, vtable at 16-12; fb 24: bodyLength 0
        /*  24 */ 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        /*  32 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        // header -> fb 48; version 4 (V5); header_type 1 (Schema)
        /*  40 */ 0x10, 0x00, 0x00, 0x00, 0x04, 0x00, 0x01, 0x00,
        // fb 40: Schema vtable: 8 bytes, table 10, endianness@8 fields@4
        /*  48 */ 0x08, 0x00, 0x0a, 0x00, 0x08, 0x00, 0x04, 0x00,
        // fb 48: Schema table (vtable at 48-8), fields -> fb 60; endianness 0 (little)
        /*  56 */ 0x08, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,
        /*  64 */ 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, // fb 60: 2 fields
        /*  72 */ 0x18, 0x00, 0x00, 0x00, 0x5c, 0x00, 0x00, 0x00, // -> fb 88, -> fb 160
        // fb 72: Field vtable: 16 bytes, table 18, name@4 nullable@16 type_type@17 type@8
        // dictionary absent, children@12
        /*  80 */ 0x10, 0x00, 0x12, 0x00, 0x04, 0x00, 0x10, 0x00,
        /*  88 */ 0x11, 0x00, 0x08, 0x00, 0x00, 0x00, 0x0c, 0x00,
        // fb 88: field "a": vtable at 88-16, name -> fb 108, type -> fb 128,
        // children -> fb 140, nullable 1, type_type 2 (Int)
        /*  96 */ 0x10, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
        /* 104 */ 0x20, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00,
        /* 112 */ 0x01, 0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, // fb 108: string of 1 byte
        // "a" NUL | fb 114: Int vtable: 8 bytes, table 9, bitWidth@4 is_signed@8
        /* 120 */ 0x61, 0x00, 0x08, 0x00, 0x09, 0x00, 0x04, 0x00,
        /* 128 */ 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        // fb 128: Int table (vtable at 128-14), bitWidth 32, is_signed 1
        /* 136 */ 0x0e, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00,
        /* 144 */ 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // fb 140: no children
        // fb 144: Field vtable for "s", same layout
        /* 152 */ 0x10, 0x00, 0x12, 0x00, 0x04, 0x00, 0x10, 0x00,
        /* 160 */ 0x11, 0x00, 0x08, 0x00, 0x00, 0x00, 0x0c, 0x00,
        // fb 160: field "s": name -> fb 180, type -> fb 192, children -> fb 196,
        // nullable 0, type_type 5 (Utf8)
        /* 168 */ 0x10, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
        /* 176 */ 0x18, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00,
        /* 184 */ 0x00, 0x05, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, // fb 180: string of 1 byte
        // "s" NUL | fb 186: empty Utf8 vtable (4 bytes, table 4)
        /* 192 */ 0x73, 0x00, 0x04, 0x00, 0x04, 0x00, 0x00, 0x00,
        // fb 192: Utf8 table (vtable at 192-6) | fb 196: no children
        /* 200 */ 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        // ---- record batch message: metadata length 208
        /* 208 */ 0xff, 0xff, 0xff, 0xff, 0xd0, 0x00, 0x00, 0x00,
        /* 216 */ 0x10, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x17, 0x00, // Message vtable as above
        /* 224 */ 0x14, 0x00, 0x16, 0x00, 0x10, 0x00, 0x08, 0x00,
        /* 232 */ 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        /* 240 */ 0x30, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // bodyLength 48
        // header -> fb 56; version 4; header_type 3 (RecordBatch) | fb 40: RecordBatch
        // vtable: 10 bytes, table 24, length@8 nodes@16 buffers@20
        /* 248 */ 0x18, 0x00, 0x00, 0x00, 0x04, 0x00, 0x03, 0x00,
        /* 256 */ 0x0a, 0x00, 0x18, 0x00, 0x08, 0x00, 0x10, 0x00,
        /* 264 */ 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        /* 272 */ 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // fb 56: table, vtable at 40
        /* 280 */ 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // length 3
        /* 288 */ 0x0c, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00, // nodes -> fb 84, buffers -> fb 124
        /* 296 */ 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, // pad; 2 FieldNodes (8-aligned)
        /* 304 */ 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // a: length 3,
        /* 312 */ 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //    null_count 1
        /* 320 */ 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // s: length 3,
        /* 328 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //    null_count 0
        /* 336 */ 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, // pad; 5 Buffers
        /* 344 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // a validity: offset 0,
        /* 352 */ 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //   length 1
        /* 360 */ 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // a values: offset 8,
        /* 368 */ 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //   length 12
        /* 376 */ 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // s validity: offset 24,
        /* 384 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //   length 0 (no nulls)
        /* 392 */ 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // s offsets: offset 24,
        /* 400 */ 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //   length 16
        /* 408 */ 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // s data: offset 40,
        /* 416 */ 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //   length 3
        // ---- body (48 bytes)
        /* 424 */ 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // a validity 0b101, padded
        /* 432 */ 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // a values 1, (null slot) 0,
        /* 440 */ 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //   3, padded
        /* 448 */ 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, // s offsets 0, 1,
        /* 456 */ 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, //   1, 3
        /* 464 */ 0x78, 0x79, 0x7a, 0x00, 0x00, 0x00, 0x00, 0x00, // s data "xyz", padded
        // ---- end of stream
        /* 472 */ 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
    ];
    let got = encode(&schema, std::slice::from_ref(&batch));
    save("rust_golden.arrow", &got);
    assert_eq!(got, want);
    assert_eq!(decode(want).batches(), &[batch]);
}

#[test]
fn tolerates_what_other_writers_do() {
    let schema = types_schema();
    let batch = types_batch(7, 2);
    let bytes = encode(&schema, std::slice::from_ref(&batch));
    // No end-of-stream marker.
    let table = decode(&bytes[..bytes.len() - 8]);
    assert_eq!(table.batches(), std::slice::from_ref(&batch));
    // The pre-0.15 encapsulation: no continuation marker, only the length.
    let schema_msg = encode(&schema, &[]);
    let schema_msg = &schema_msg[..schema_msg.len() - 8];
    let batch_msg = &bytes[schema_msg.len()..bytes.len() - 8];
    let mut legacy = Vec::new();
    legacy.extend_from_slice(&schema_msg[4..]);
    legacy.extend_from_slice(&batch_msg[4..]);
    legacy.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(decode(&legacy).batches(), &[batch]);
}

#[test]
fn truncated_and_corrupt_streams_are_errors() {
    let bytes = encode(&types_schema(), &[types_batch(5, 0)]);
    assert!(StreamReader::try_new(&[][..])
        .unwrap_err()
        .message()
        .contains("before its schema"));
    // Cut inside the batch body.
    let mut r = StreamReader::try_new(&bytes[..bytes.len() - 20]).unwrap();
    let e = r.next_batch().unwrap_err();
    assert!(
        e.message().starts_with("Arrow IPC stream: reading a "),
        "{}",
        e
    );
    assert_eq!(
        r.next_batch().unwrap(),
        None,
        "the reader stops after an error"
    );
    // Garbage metadata.
    let mut bad = bytes.clone();
    for b in &mut bad[8..40] {
        *b = 0x7f;
    }
    assert!(StreamReader::try_new(&bad[..]).is_err());
    // A claimed metadata length far beyond the data.
    let mut huge = bytes;
    huge[4..8].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    assert!(StreamReader::try_new(&huge[..]).is_err());
}

#[test]
fn writer_refuses_a_batch_of_another_schema() {
    let mut w = StreamWriter::try_new(Vec::new(), &types_schema()).unwrap();
    let other = Schema::new(vec![Field::new("x", DataType::Int8, true)]);
    let b = RecordBatch::new_empty(Arc::new(other));
    assert!(w
        .write(&b)
        .unwrap_err()
        .message()
        .contains("written to a stream of schema"));
}
