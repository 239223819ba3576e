//! The Arrow IPC streaming format, read and written by hand.
//!
//! A stream is a schema message, record batch messages, and an optional end-of-stream marker.
//! Each message is encapsulated as the continuation marker `0xFFFFFFFF`, an `i32` metadata
//! length, a FlatBuffer `Message` padded so that the body starts 8-aligned, then the body: the
//! batch's buffers, each padded to 8 bytes. The end-of-stream marker is `0xFFFFFFFF 0x00000000`.
//!
//! [`StreamReader`] reads each message body into its own 8-aligned buffer, so the columns of a
//! batch are views of that buffer: reading a column as `&[i64]` copies nothing. It accepts what
//! arrow-go, arrow C++ and pyarrow write: zero-length validity buffers, absent end-of-stream
//! markers, the pre-0.15 format without continuation markers, and custom metadata, which it
//! ignores. Dictionary batches, compressed bodies and column types outside [`DataType`] are
//! errors that name the field.
//!
//! ```
//! use wasmorch::arrow::ipc::{StreamReader, StreamWriter};
//! use wasmorch::arrow::{Array, DataType, Field, Int32Array, RecordBatch, Schema};
//! let schema = Schema::new(vec![Field::new("n", DataType::Int32, true)]);
//! let batch = RecordBatch::try_new(schema.clone(), vec![Array::from(Int32Array::from(vec![Some(1), None]))]).unwrap();
//!
//! let mut w = StreamWriter::try_new(Vec::new(), &schema).unwrap();
//! w.write(&batch).unwrap();
//! let bytes = w.finish().unwrap();
//!
//! let mut r = StreamReader::try_new(&bytes[..]).unwrap();
//! assert_eq!(**r.schema(), schema);
//! assert_eq!(r.next_batch().unwrap(), Some(batch));
//! assert_eq!(r.next_batch().unwrap(), None);
//! ```

use std::io::{self, Read, Write};
use std::sync::Arc;

use super::array::{Array, BooleanArray, PrimitiveArray, VarArray};
use super::buffer::{AlignedBytes, Bitmap, Buffer, NativeType};
use super::datatype::{DataType, Field, Schema, TimeUnit};
use super::flatbuf::{self, TableRef, Value};
use super::{RecordBatch, Table};
use crate::error::{Error, Result};

/// `MetadataVersion.V5`, which this writer emits.
const METADATA_V5: i16 = 4;
/// `MetadataVersion.V4`, the oldest this reader accepts (same layout for every supported type).
const METADATA_V4: i16 = 3;

// MessageHeader union tags (Message.fbs).
const HEADER_SCHEMA: u8 = 1;
const HEADER_DICTIONARY_BATCH: u8 = 2;
const HEADER_RECORD_BATCH: u8 = 3;

// Type union tags (Schema.fbs).
const TYPE_INT: u8 = 2;
const TYPE_FLOATING_POINT: u8 = 3;
const TYPE_BINARY: u8 = 4;
const TYPE_UTF8: u8 = 5;
const TYPE_BOOL: u8 = 6;
const TYPE_DATE: u8 = 8;
const TYPE_TIMESTAMP: u8 = 10;

/// The end-of-stream marker.
pub const END_OF_STREAM: [u8; 8] = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];

const CONTINUATION: u32 = 0xffff_ffff;

/// Metadata larger than this is refused as corrupt rather than allocated.
const MAX_METADATA: usize = 64 << 20;

fn ipc_error(what: impl std::fmt::Display) -> Error {
    Error::msg(format!("Arrow IPC stream: {}", what))
}

/// The name of an Arrow type union tag, for error messages.
fn type_tag_name(tag: u8) -> String {
    // ABI-style names where ABI.md 7.5 has one.
    const NAMES: [&str; 27] = [
        "none",
        "null",
        "int",
        "floating_point",
        "binary",
        "utf8",
        "bool",
        "decimal",
        "date",
        "time",
        "timestamp",
        "interval",
        "list",
        "struct",
        "union",
        "fixed_size_binary",
        "fixed_size_list",
        "map",
        "duration",
        "large_binary",
        "large_utf8",
        "large_list",
        "run_end_encoded",
        "binary_view",
        "utf8_view",
        "list_view",
        "large_list_view",
    ];
    NAMES
        .get(tag as usize)
        .map_or_else(|| format!("type #{}", tag), |n| n.to_string())
}

const SUPPORTED: &str = "bool, int8..int64, uint8..uint64, float32, float64, utf8, binary, \
                         date32, timestamp";

fn unsupported(field: &str, what: impl std::fmt::Display) -> Error {
    ipc_error(format!(
        "field \"{}\" has Arrow type {}, which the wasmorch Rust SDK does not support \
         (supported: {})",
        field, what, SUPPORTED
    ))
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Reads exactly `buf.len()` bytes; `Ok(false)` if the stream ended before the first byte.
fn read_exact_or_eof<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<bool> {
    let mut done = 0;
    while done < buf.len() {
        match r.read(&mut buf[done..]) {
            Ok(0) if done == 0 => return Ok(false),
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the stream ended inside a message",
                ))
            }
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// The metadata of one message.
struct Message<'a> {
    header_type: u8,
    header: TableRef<'a>,
    body_len: usize,
}

/// Reads the next message's metadata into `meta`; `None` at the end of the stream.
fn read_message<'m, R: Read>(r: &mut R, meta: &'m mut Vec<u8>) -> Result<Option<Message<'m>>> {
    let mut word = [0u8; 4];
    if !read_exact_or_eof(r, &mut word).map_err(ipc_error)? {
        return Ok(None); // no end-of-stream marker: tolerated
    }
    let mut len = u32::from_le_bytes(word);
    if len == CONTINUATION {
        if !read_exact_or_eof(r, &mut word).map_err(ipc_error)? {
            return Err(ipc_error("the stream ended after a continuation marker"));
        }
        len = u32::from_le_bytes(word);
    }
    if len == 0 {
        return Ok(None);
    }
    let len = len as usize;
    if len > MAX_METADATA || len > i32::MAX as usize {
        return Err(ipc_error(format!(
            "a message claims {} bytes of metadata; the stream is corrupt",
            len
        )));
    }
    meta.clear();
    meta.resize(len, 0);
    r.read_exact(meta)
        .map_err(|e| ipc_error(format!("reading {} bytes of message metadata: {}", len, e)))?;
    let msg = TableRef::root(meta)?;
    let version = msg.i16(0, 0)?;
    if version < METADATA_V4 {
        return Err(ipc_error(format!(
            "metadata version V{} is older than V4, which this reader needs",
            version + 1
        )));
    }
    let header_type = msg.u8(1, 0)?;
    let header = msg
        .table(2)?
        .ok_or_else(|| ipc_error("a message has no header"))?;
    let body_len = msg.i64(3, 0)?;
    let body_len = usize::try_from(body_len)
        .map_err(|_| ipc_error(format!("invalid body length {}", body_len)))?;
    Ok(Some(Message {
        header_type,
        header,
        body_len,
    }))
}

fn parse_schema(schema: TableRef<'_>) -> Result<Schema> {
    let mut fields = Vec::new();
    for f in schema.tables(1)? {
        let name = f.str(0)?.unwrap_or("");
        let nullable = f.bool(1, false)?;
        if f.has(4)? {
            return Err(unsupported(name, "dictionary"));
        }
        let tag = f.u8(2, 0)?;
        let data_type = parse_type(name, tag, f.table(3)?)?;
        if !f.tables(5)?.is_empty() {
            return Err(unsupported(name, type_tag_name(tag)));
        }
        fields.push(Field::new(name, data_type, nullable));
    }
    Ok(Schema::new(fields))
}

fn parse_type(name: &str, tag: u8, t: Option<TableRef<'_>>) -> Result<DataType> {
    let table = || t.ok_or_else(|| ipc_error(format!("field \"{}\" has no type table", name)));
    Ok(match tag {
        TYPE_INT => {
            let t = table()?;
            match (t.i32(0, 0)?, t.bool(1, false)?) {
                (8, true) => DataType::Int8,
                (16, true) => DataType::Int16,
                (32, true) => DataType::Int32,
                (64, true) => DataType::Int64,
                (8, false) => DataType::UInt8,
                (16, false) => DataType::UInt16,
                (32, false) => DataType::UInt32,
                (64, false) => DataType::UInt64,
                (bits, signed) => {
                    return Err(unsupported(
                        name,
                        format!("int(bit_width={}, signed={})", bits, signed),
                    ))
                }
            }
        }
        TYPE_FLOATING_POINT => match table()?.i16(0, 0)? {
            1 => DataType::Float32,
            2 => DataType::Float64,
            0 => return Err(unsupported(name, "float16")),
            p => {
                return Err(unsupported(
                    name,
                    format!("floating_point(precision={})", p),
                ))
            }
        },
        TYPE_BINARY => DataType::Binary,
        TYPE_UTF8 => DataType::Utf8,
        TYPE_BOOL => DataType::Bool,
        // DateUnit defaults to MILLISECOND (date64); DAY is 0.
        TYPE_DATE => match t.map_or(Ok(1), |t| t.i16(0, 1))? {
            0 => DataType::Date32,
            _ => return Err(unsupported(name, "date64")),
        },
        TYPE_TIMESTAMP => {
            let t = table()?;
            let unit = match t.i16(0, 0)? {
                0 => TimeUnit::Second,
                1 => TimeUnit::Millisecond,
                2 => TimeUnit::Microsecond,
                3 => TimeUnit::Nanosecond,
                u => return Err(unsupported(name, format!("timestamp(unit={})", u))),
            };
            let tz = t.str(1)?.filter(|tz| !tz.is_empty()).map(str::to_string);
            DataType::Timestamp(unit, tz)
        }
        other => return Err(unsupported(name, type_tag_name(other))),
    })
}

/// Hands out a batch's buffers in order, checked against the body.
struct BodyBuffers<'a> {
    body: &'a Arc<AlignedBytes>,
    specs: Vec<(i64, i64)>,
    next: usize,
}

impl BodyBuffers<'_> {
    fn next(&mut self, field: &Field) -> Result<Buffer> {
        let (offset, len) = *self.specs.get(self.next).ok_or_else(|| {
            ipc_error(format!(
                "the record batch lists {} buffers, too few for column \"{}\"",
                self.specs.len(),
                field.name()
            ))
        })?;
        self.next += 1;
        let body_len = self.body.as_slice().len();
        match (usize::try_from(offset), usize::try_from(len)) {
            (Ok(o), Ok(l)) if o.checked_add(l).map_or(false, |end| end <= body_len) => {
                Ok(Buffer::view(self.body, o, l))
            }
            _ => Err(ipc_error(format!(
                "column \"{}\": buffer at offset {} of {} bytes lies outside the {}-byte body",
                field.name(),
                offset,
                len,
                body_len
            ))),
        }
    }
}

fn column_error(field: &Field, what: impl std::fmt::Display) -> Error {
    ipc_error(format!(
        "column \"{}\" ({}): {}",
        field.name(),
        field.data_type(),
        what
    ))
}

fn validity(field: &Field, buf: Buffer, len: usize, null_count: i64) -> Result<Option<Bitmap>> {
    if null_count == 0 {
        return Ok(None);
    }
    if buf.len() * 8 < len {
        return Err(column_error(
            field,
            format!(
                "{} nulls but a validity buffer of {} bytes for {} rows",
                null_count,
                buf.len(),
                len
            ),
        ));
    }
    Ok(Some(Bitmap::new(buf, len)))
}

fn primitive<T: NativeType>(
    field: &Field,
    values: Buffer,
    validity: Option<Bitmap>,
    len: usize,
) -> Result<PrimitiveArray<T>> {
    let need = len * std::mem::size_of::<T>();
    if values.len() < need {
        return Err(column_error(
            field,
            format!(
                "the values buffer has {} bytes, {} rows need {}",
                values.len(),
                len,
                need
            ),
        ));
    }
    Ok(PrimitiveArray::from_parts(values, validity, len))
}

fn decode_column(
    field: &Field,
    len: usize,
    null_count: i64,
    bufs: &mut BodyBuffers<'_>,
) -> Result<Array> {
    let valid = validity(field, bufs.next(field)?, len, null_count)?;
    let values = bufs.next(field)?;
    macro_rules! prim {
        ($variant:ident) => {
            Array::$variant(primitive(field, values, valid, len)?)
        };
    }
    Ok(match field.data_type() {
        DataType::Int8 => prim!(Int8),
        DataType::Int16 => prim!(Int16),
        DataType::Int32 => prim!(Int32),
        DataType::Int64 => prim!(Int64),
        DataType::UInt8 => prim!(UInt8),
        DataType::UInt16 => prim!(UInt16),
        DataType::UInt32 => prim!(UInt32),
        DataType::UInt64 => prim!(UInt64),
        DataType::Float32 => prim!(Float32),
        DataType::Float64 => prim!(Float64),
        DataType::Date32 => prim!(Date32),
        DataType::Timestamp(unit, tz) => {
            Array::Timestamp(primitive(field, values, valid, len)?, *unit, tz.clone())
        }
        DataType::Bool => {
            if values.len() * 8 < len {
                return Err(column_error(
                    field,
                    format!("a values bitmap of {} bytes for {} rows", values.len(), len),
                ));
            }
            Array::Bool(BooleanArray::from_parts(Bitmap::new(values, len), valid))
        }
        DataType::Utf8 => {
            let data = bufs.next(field)?;
            Array::Utf8(
                VarArray::try_from_parts(values, data, valid, len)
                    .map_err(|e| column_error(field, e))?,
            )
        }
        DataType::Binary => {
            let data = bufs.next(field)?;
            Array::Binary(
                VarArray::try_from_parts(values, data, valid, len)
                    .map_err(|e| column_error(field, e))?,
            )
        }
    })
}

fn decode_batch(
    schema: &Arc<Schema>,
    header: TableRef<'_>,
    body: AlignedBytes,
) -> Result<RecordBatch> {
    if header.has(3)? {
        return Err(ipc_error(
            "the record batch body is compressed, which the wasmorch Rust SDK does not support",
        ));
    }
    let length = header.i64(0, 0)?;
    let len = usize::try_from(length)
        .map_err(|_| ipc_error(format!("invalid record batch length {}", length)))?;
    let nodes = header.i64_pairs(1)?;
    if nodes.len() != schema.len() {
        return Err(ipc_error(format!(
            "the record batch has {} field nodes for {} columns ({})",
            nodes.len(),
            schema.len(),
            schema.names()
        )));
    }
    let body = Arc::new(body);
    let mut bufs = BodyBuffers {
        body: &body,
        specs: header.i64_pairs(2)?,
        next: 0,
    };
    let mut columns = Vec::with_capacity(schema.len());
    for (field, &(node_len, null_count)) in schema.fields().iter().zip(&nodes) {
        if node_len != length {
            return Err(column_error(
                field,
                format!("{} rows in a batch of {}", node_len, length),
            ));
        }
        if null_count < 0 || null_count > length {
            return Err(column_error(
                field,
                format!("invalid null count {}", null_count),
            ));
        }
        columns.push(decode_column(field, len, null_count, &mut bufs)?);
    }
    // The schema came from the stream, so the nullability flags are the writer's; a column that
    // breaks its own field's nullability is still kept as it is.
    Ok(RecordBatch::from_decoded(Arc::clone(schema), columns, len))
}

/// Reads an Arrow IPC stream batch by batch.
///
/// Each record batch's body is read into a fresh 8-aligned buffer that its columns share, so
/// one batch at a time is held in memory unless the caller keeps them.
pub struct StreamReader<R: Read> {
    reader: R,
    schema: Arc<Schema>,
    meta: Vec<u8>,
    done: bool,
}

impl<R: Read> StreamReader<R> {
    /// Reads the schema message at the start of the stream.
    pub fn try_new(mut reader: R) -> Result<Self> {
        let mut meta = Vec::new();
        let schema = match read_message(&mut reader, &mut meta)? {
            None => return Err(ipc_error("the stream ended before its schema message")),
            Some(m) if m.header_type == HEADER_SCHEMA => parse_schema(m.header)?,
            Some(m) => {
                return Err(ipc_error(format!(
                    "the stream starts with message type {}, not a schema",
                    m.header_type
                )))
            }
        };
        Ok(StreamReader {
            reader,
            schema: Arc::new(schema),
            meta,
            done: false,
        })
    }

    /// The stream's schema.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// The next record batch, or `None` at the end of the stream.
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        if self.done {
            return Ok(None);
        }
        let result = self.read_batch();
        if !matches!(result, Ok(Some(_))) {
            self.done = true;
        }
        result
    }

    fn read_batch(&mut self) -> Result<Option<RecordBatch>> {
        let m = match read_message(&mut self.reader, &mut self.meta)? {
            None => return Ok(None),
            Some(m) => m,
        };
        match m.header_type {
            HEADER_RECORD_BATCH => {}
            HEADER_DICTIONARY_BATCH => {
                return Err(ipc_error(
                    "dictionary batches are not supported by the wasmorch Rust SDK",
                ))
            }
            HEADER_SCHEMA => return Err(ipc_error("a second schema message inside the stream")),
            t => return Err(ipc_error(format!("unexpected message type {}", t))),
        }
        let mut body = AlignedBytes::zeroed(m.body_len);
        self.reader.read_exact(body.as_mut_slice()).map_err(|e| {
            ipc_error(format!(
                "reading a {}-byte record batch body: {}",
                m.body_len, e
            ))
        })?;
        decode_batch(&self.schema, m.header, body).map(Some)
    }

    /// Reads every remaining batch into a table.
    pub fn read_all(mut self) -> Result<Table> {
        let mut batches = Vec::new();
        while let Some(b) = self.next_batch()? {
            batches.push(b);
        }
        Table::new(Arc::clone(&self.schema), batches)
    }

    /// The underlying reader.
    pub fn into_inner(self) -> R {
        self.reader
    }

    /// The underlying reader, borrowed. The reader reads no further than the end of the last
    /// message it returned, so the reader's position is right after that batch.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }
}

impl<R: Read> std::fmt::Debug for StreamReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StreamReader({})", self.schema)
    }
}

impl<R: Read> Iterator for StreamReader<R> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch().transpose()
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

fn type_table(dt: &DataType) -> (u8, flatbuf::Table) {
    use flatbuf::Table as T;
    let int = |bits: i32, signed: bool| {
        (
            TYPE_INT,
            T::new()
                .with(0, Value::I32(bits))
                .with(1, Value::Bool(signed)),
        )
    };
    match dt {
        DataType::Bool => (TYPE_BOOL, T::new()),
        DataType::Int8 => int(8, true),
        DataType::Int16 => int(16, true),
        DataType::Int32 => int(32, true),
        DataType::Int64 => int(64, true),
        DataType::UInt8 => int(8, false),
        DataType::UInt16 => int(16, false),
        DataType::UInt32 => int(32, false),
        DataType::UInt64 => int(64, false),
        DataType::Float32 => (TYPE_FLOATING_POINT, T::new().with(0, Value::I16(1))),
        DataType::Float64 => (TYPE_FLOATING_POINT, T::new().with(0, Value::I16(2))),
        DataType::Utf8 => (TYPE_UTF8, T::new()),
        DataType::Binary => (TYPE_BINARY, T::new()),
        DataType::Date32 => (TYPE_DATE, T::new().with(0, Value::I16(0))),
        DataType::Timestamp(unit, tz) => {
            let unit = match unit {
                TimeUnit::Second => 0,
                TimeUnit::Millisecond => 1,
                TimeUnit::Microsecond => 2,
                TimeUnit::Nanosecond => 3,
            };
            let mut t = T::new().with(0, Value::I16(unit));
            if let Some(tz) = tz {
                t = t.with(1, Value::Str(tz.clone()));
            }
            (TYPE_TIMESTAMP, t)
        }
    }
}

/// The FlatBuffer of a schema message.
fn schema_message(schema: &Schema) -> Vec<u8> {
    let fields = schema
        .fields()
        .iter()
        .map(|f| {
            let (tag, t) = type_table(f.data_type());
            flatbuf::Table::new()
                .with(0, Value::Str(f.name().to_string()))
                .with(1, Value::Bool(f.is_nullable()))
                .with(2, Value::U8(tag))
                .with(3, Value::Table(t))
                // Readers such as arrow C++ insist on a children vector, even an empty one.
                .with(5, Value::Tables(Vec::new()))
        })
        .collect();
    let schema = flatbuf::Table::new()
        .with(0, Value::I16(0)) // little-endian
        .with(1, Value::Tables(fields));
    flatbuf::Table::new()
        .with(0, Value::I16(METADATA_V5))
        .with(1, Value::U8(HEADER_SCHEMA))
        .with(2, Value::Table(schema))
        .with(3, Value::I64(0))
        .finish()
}

/// The buffers of one column, in IPC order.
fn column_buffers(col: &Array) -> Vec<&[u8]> {
    let validity: &[u8] = match col.validity() {
        Some(v) if col.null_count() > 0 => v.bytes(),
        _ => &[],
    };
    let len = col.len();
    fn prim<T: NativeType>(a: &PrimitiveArray<T>) -> &[u8] {
        &a.values_buffer().as_slice()[..a.len() * std::mem::size_of::<T>()]
    }
    fn var<V: super::array::VarType + ?Sized>(a: &VarArray<V>) -> [&[u8]; 2] {
        [
            &a.offsets_buffer().as_slice()[..(a.len() + 1) * 4],
            a.data_bytes(),
        ]
    }
    match col {
        Array::Bool(a) => vec![validity, a.values_bitmap().bytes()],
        Array::Int8(a) => vec![validity, prim(a)],
        Array::Int16(a) => vec![validity, prim(a)],
        Array::Int32(a) | Array::Date32(a) => vec![validity, prim(a)],
        Array::Int64(a) | Array::Timestamp(a, _, _) => vec![validity, prim(a)],
        Array::UInt8(a) => vec![validity, prim(a)],
        Array::UInt16(a) => vec![validity, prim(a)],
        Array::UInt32(a) => vec![validity, prim(a)],
        Array::UInt64(a) => vec![validity, prim(a)],
        Array::Float32(a) => vec![validity, prim(a)],
        Array::Float64(a) => vec![validity, prim(a)],
        Array::Utf8(a) => {
            let [o, d] = var(a);
            debug_assert_eq!(o.len(), (len + 1) * 4);
            vec![validity, o, d]
        }
        Array::Binary(a) => {
            let [o, d] = var(a);
            vec![validity, o, d]
        }
    }
}

fn padded(n: usize) -> usize {
    (n + 7) / 8 * 8
}

/// Writes an Arrow IPC stream: the schema on creation, then one message per batch, then the
/// end-of-stream marker on [`finish`](StreamWriter::finish).
///
/// Columns are written straight from their buffers, one `write_all` per buffer, so wrap an
/// unbuffered destination in a `BufWriter`.
pub struct StreamWriter<W: Write> {
    writer: W,
    schema: Arc<Schema>,
}

impl<W: Write> StreamWriter<W> {
    /// Writes the schema message of `schema` to `writer`.
    pub fn try_new(mut writer: W, schema: &Schema) -> Result<Self> {
        write_message(&mut writer, &schema_message(schema), &[], 0)?;
        Ok(StreamWriter {
            writer,
            schema: Arc::new(schema.clone()),
        })
    }

    /// The schema every batch must have.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// Writes one record batch, which must have the stream's schema.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if !Arc::ptr_eq(batch.schema(), &self.schema) && **batch.schema() != *self.schema {
            return Err(ipc_error(format!(
                "a batch with schema ({}) written to a stream of schema ({})",
                batch.schema(),
                self.schema
            )));
        }
        let mut nodes = Vec::with_capacity(batch.num_columns());
        let mut specs = Vec::new();
        let mut parts = Vec::new();
        let mut offset = 0;
        for col in batch.columns() {
            nodes.push((col.len() as i64, col.null_count() as i64));
            for b in column_buffers(col) {
                specs.push((offset as i64, b.len() as i64));
                offset += padded(b.len());
                parts.push(b);
            }
        }
        let header = flatbuf::Table::new()
            .with(0, Value::I64(batch.num_rows() as i64))
            .with(1, Value::I64Pairs(nodes))
            .with(2, Value::I64Pairs(specs));
        let meta = flatbuf::Table::new()
            .with(0, Value::I16(METADATA_V5))
            .with(1, Value::U8(HEADER_RECORD_BATCH))
            .with(2, Value::Table(header))
            .with(3, Value::I64(offset as i64))
            .finish();
        write_message(&mut self.writer, &meta, &parts, offset)
    }

    /// Flushes the destination.
    pub fn flush(&mut self) -> Result<()> {
        self.writer.flush().map_err(ipc_error)
    }

    /// The destination, for example to inspect what was written so far.
    pub fn get_ref(&self) -> &W {
        &self.writer
    }

    /// Writes the end-of-stream marker, flushes, and returns the destination.
    pub fn finish(mut self) -> Result<W> {
        self.writer.write_all(&END_OF_STREAM).map_err(ipc_error)?;
        self.writer.flush().map_err(ipc_error)?;
        Ok(self.writer)
    }
}

impl<W: Write> std::fmt::Debug for StreamWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StreamWriter({})", self.schema)
    }
}

/// Writes one encapsulated message: marker, metadata length, metadata (a multiple of 8 bytes
/// long, so the body starts aligned), then each body part padded to 8 bytes.
fn write_message<W: Write>(w: &mut W, meta: &[u8], body: &[&[u8]], body_len: usize) -> Result<()> {
    debug_assert_eq!(meta.len() % 8, 0);
    let mut head = Vec::with_capacity(8 + meta.len());
    head.extend_from_slice(&CONTINUATION.to_le_bytes());
    head.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    head.extend_from_slice(meta);
    w.write_all(&head).map_err(ipc_error)?;
    let mut written = 0;
    for part in body {
        w.write_all(part).map_err(ipc_error)?;
        let pad = padded(part.len()) - part.len();
        w.write_all(&[0u8; 8][..pad]).map_err(ipc_error)?;
        written += part.len() + pad;
    }
    debug_assert_eq!(written, body_len);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrow::Int64Array;

    /// A stream of `schema` and one batch message with the given header fields and body.
    fn stream(schema: &Schema, header: flatbuf::Table, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_message(&mut out, &schema_message(schema), &[], 0).unwrap();
        let meta = flatbuf::Table::new()
            .with(0, Value::I16(METADATA_V5))
            .with(1, Value::U8(HEADER_RECORD_BATCH))
            .with(2, Value::Table(header))
            .with(3, Value::I64(padded(body.len()) as i64))
            .finish();
        write_message(&mut out, &meta, &[body], padded(body.len())).unwrap();
        out
    }

    fn n_schema() -> Schema {
        Schema::new(vec![Field::new("n", DataType::Int64, false)])
    }

    #[test]
    fn misaligned_buffers_are_copied_into_alignment() {
        let mut body = vec![0u8; 4];
        body.extend_from_slice(&1i64.to_le_bytes());
        body.extend_from_slice(&(-2i64).to_le_bytes());
        let header = flatbuf::Table::new()
            .with(0, Value::I64(2))
            .with(1, Value::I64Pairs(vec![(2, 0)]))
            .with(2, Value::I64Pairs(vec![(0, 0), (4, 16)]));
        let bytes = stream(&n_schema(), header, &body);
        let mut r = StreamReader::try_new(&bytes[..]).unwrap();
        let b = r.next_batch().unwrap().unwrap();
        assert_eq!(b.column_as::<Int64Array>("n").unwrap().values(), &[1, -2]);
    }

    #[test]
    fn bad_batches_name_the_column() {
        let cases = [
            (
                vec![(0, 0), (0, 8)],
                vec![(2, 0)],
                "Arrow IPC stream: column \"n\" (int64): the values buffer has 8 bytes, 2 rows need 16",
            ),
            (
                vec![(0, 0), (8, 16)],
                vec![(2, 0)],
                "Arrow IPC stream: column \"n\": buffer at offset 8 of 16 bytes lies outside the 16-byte body",
            ),
            (
                vec![(0, 0)],
                vec![(2, 0)],
                "Arrow IPC stream: the record batch lists 1 buffers, too few for column \"n\"",
            ),
            (
                vec![(0, 0), (0, 16)],
                vec![(3, 0)],
                "Arrow IPC stream: column \"n\" (int64): 3 rows in a batch of 2",
            ),
            (
                vec![(0, 0), (0, 16)],
                vec![(2, 1)],
                "Arrow IPC stream: column \"n\" (int64): 1 nulls but a validity buffer of 0 bytes for 2 rows",
            ),
        ];
        for (buffers, nodes, want) in cases {
            let header = flatbuf::Table::new()
                .with(0, Value::I64(2))
                .with(1, Value::I64Pairs(nodes))
                .with(2, Value::I64Pairs(buffers));
            let bytes = stream(&n_schema(), header, &[0; 16]);
            let mut r = StreamReader::try_new(&bytes[..]).unwrap();
            assert_eq!(r.next_batch().unwrap_err().message(), want);
        }
    }

    #[test]
    fn compressed_bodies_are_refused() {
        let header = flatbuf::Table::new()
            .with(0, Value::I64(0))
            .with(1, Value::I64Pairs(vec![(0, 0)]))
            .with(2, Value::I64Pairs(vec![(0, 0), (0, 0)]))
            .with(3, Value::Table(flatbuf::Table::new().with(0, Value::U8(0))));
        let bytes = stream(&n_schema(), header, &[]);
        let mut r = StreamReader::try_new(&bytes[..]).unwrap();
        assert!(r.next_batch().unwrap_err().message().contains("compressed"));
    }
}
