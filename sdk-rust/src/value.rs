//! The values that travel between steps: what a function's parameters can be
//! ([`FromInput`]) and what it can return ([`IntoOutput`]).
//!
//! | Rust type | format | as an input | as an output |
//! |---|---|---|---|
//! | [`Table`] | arrow | every batch, read before the call | every batch, as they are |
//! | [`RecordBatch`] | arrow | every row in one batch | one batch |
//! | [`BatchReader`] | arrow | batch by batch, while the function runs | batch by batch, after it returns |
//! | [`Json`] | json | the document's text | the text, checked first |
//! | [`JsonValue`] | json | the parsed document | the document |
//! | [`json::Object`] | json | — | the object |
//! | [`Bytes`] | bytes | the bytes | the bytes |

use std::fmt;
use std::io::{self, BufWriter, Read, Write};
use std::sync::Arc;

use crate::arrow::ipc::{StreamReader, StreamWriter};
use crate::arrow::{RecordBatch, Schema, Table};
use crate::error::{Error, Result};
use crate::host::Format;
use crate::json::{self, JsonValue};

/// The bytes of one input, as the host streams them.
pub struct InputStream {
    reader: Box<dyn Read>,
}

impl InputStream {
    pub(crate) fn new(reader: Box<dyn Read>) -> Self {
        InputStream { reader }
    }

    /// An input stream over bytes in memory, for tests and for building values by hand.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        InputStream::new(Box::new(io::Cursor::new(bytes)))
    }

    /// Reads the whole input.
    pub fn read_to_end(mut self) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.reader.read_to_end(&mut buf)?;
        Ok(buf)
    }

    /// The input as a reader.
    pub fn into_reader(self) -> Box<dyn Read> {
        self.reader
    }
}

impl fmt::Debug for InputStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InputStream")
    }
}

/// Where an output's bytes go: the host's `output_write`, through a 64 KiB buffer.
pub struct OutputStream<'a> {
    writer: BufWriter<&'a mut dyn Write>,
}

/// Batches the many small writes of message headers and padding into fewer host calls; writes
/// larger than the buffer (column data) go straight through.
const OUTPUT_BUFFER: usize = 64 << 10;

impl<'a> OutputStream<'a> {
    pub(crate) fn new(sink: &'a mut dyn Write) -> Self {
        OutputStream {
            writer: BufWriter::with_capacity(OUTPUT_BUFFER, sink),
        }
    }

    /// Hands everything buffered so far to the host.
    pub fn flush_to_host(&mut self) -> Result<()> {
        self.writer.flush()?;
        Ok(())
    }
}

impl Write for OutputStream<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// A type a function can take as an input. The SDK implements it for [`Table`],
/// [`RecordBatch`], [`BatchReader`], [`Json`], [`JsonValue`] and [`Bytes`].
pub trait FromInput: Sized {
    /// The format the value travels as; the manifest declares it for the input.
    const FORMAT: Format;

    /// Decodes the value from the input's bytes.
    fn from_input(input: InputStream) -> Result<Self>;
}

/// A type a function can return as an output. The SDK implements it for [`Table`],
/// [`RecordBatch`], [`BatchReader`], [`Json`], [`JsonValue`], [`json::Object`] and [`Bytes`].
pub trait IntoOutput: 'static {
    /// The format the value travels as; the manifest declares it for the output.
    const FORMAT: Format;

    /// Writes the value. The SDK opens the output before and closes it after.
    fn write_output(self, out: &mut OutputStream<'_>) -> Result<()>;
}

/// JSON text: a [`Json`] input receives the document as the host sent it, and a [`Json`]
/// output is checked to be one valid JSON document before it is written.
///
/// ```
/// use wasmorch::{json::Object, Json};
/// let out = Json::from(Object::new().string("greeting", "hello"));
/// assert_eq!(out.0, r#"{"greeting":"hello"}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Json(pub String);

impl Json {
    /// Parses the text.
    pub fn parse(&self) -> Result<JsonValue> {
        JsonValue::parse(&self.0)
    }
}

impl From<json::Object> for Json {
    fn from(o: json::Object) -> Self {
        Json(o.finish())
    }
}

impl From<String> for Json {
    fn from(s: String) -> Self {
        Json(s)
    }
}

impl From<&JsonValue> for Json {
    fn from(v: &JsonValue) -> Self {
        Json(v.to_string())
    }
}

/// Opaque bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl From<Vec<u8>> for Bytes {
    fn from(b: Vec<u8>) -> Self {
        Bytes(b)
    }
}

impl From<&[u8]> for Bytes {
    fn from(b: &[u8]) -> Self {
        Bytes(b.to_vec())
    }
}

impl From<&str> for Bytes {
    fn from(s: &str) -> Self {
        Bytes(s.as_bytes().to_vec())
    }
}

impl From<String> for Bytes {
    fn from(s: String) -> Self {
        Bytes(s.into_bytes())
    }
}

/// A table as a stream of record batches, all with one schema.
///
/// As an input, it reads the upstream value one batch at a time while the function runs, so a
/// table larger than the module's memory can pass through. As an output, the SDK pulls it after
/// the function returns and hands each batch to the host before pulling the next; a lazy
/// iterator therefore streams end to end:
///
/// ```
/// use wasmorch::prelude::*;
/// /// Keeps the rows whose `n` is positive, one batch at a time.
/// fn positives(_ctx: &mut Context, input: BatchReader) -> Result<BatchReader> {
///     let schema = input.schema().clone();
///     Ok(BatchReader::new(schema, input.map(|batch| {
///         let batch = batch?;
///         let n: &Int64Array = batch.column_as("n")?;
///         let keep: Vec<bool> = n.iter().map(|v| v.map_or(false, |v| v > 0)).collect();
///         batch.filter(&keep)
///     })))
/// }
/// # let schema = Schema::new(vec![Field::new("n", DataType::Int64, true)]);
/// # let b = RecordBatch::try_new(schema.clone(), vec![Array::from(Int64Array::from(vec![Some(1), None, Some(-1)]))]).unwrap();
/// # let out = positives(&mut Context::for_test(), BatchReader::from_batches(schema, vec![b])).unwrap();
/// # assert_eq!(out.read_all().unwrap().num_rows(), 1);
/// ```
pub struct BatchReader {
    schema: Arc<Schema>,
    batches: Box<dyn Iterator<Item = Result<RecordBatch>>>,
}

impl BatchReader {
    /// A reader of the batches `batches` yields, which must have `schema`.
    pub fn new<I>(schema: impl Into<Arc<Schema>>, batches: I) -> Self
    where
        I: IntoIterator<Item = Result<RecordBatch>>,
        I::IntoIter: 'static,
    {
        BatchReader {
            schema: schema.into(),
            batches: Box::new(batches.into_iter()),
        }
    }

    /// A reader of batches in memory.
    pub fn from_batches(schema: impl Into<Arc<Schema>>, batches: Vec<RecordBatch>) -> Self {
        BatchReader::new(schema, batches.into_iter().map(Ok))
    }

    /// A reader that calls `next` for each batch until it returns `Ok(None)` or an error.
    pub fn from_fn<F>(schema: impl Into<Arc<Schema>>, mut next: F) -> Self
    where
        F: FnMut() -> Result<Option<RecordBatch>> + 'static,
    {
        let mut done = false;
        BatchReader::new(
            schema,
            std::iter::from_fn(move || {
                if done {
                    return None;
                }
                let item = next().transpose();
                done = !matches!(item, Some(Ok(_)));
                item
            }),
        )
    }

    /// A reader of an Arrow IPC stream, decoding one batch at a time.
    pub fn from_ipc<R: Read + 'static>(reader: R) -> Result<Self> {
        let r = StreamReader::try_new(reader)?;
        Ok(BatchReader {
            schema: Arc::clone(r.schema()),
            batches: Box::new(r),
        })
    }

    /// The schema of every batch.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// Reads the remaining batches into a table.
    pub fn read_all(self) -> Result<Table> {
        let schema = self.schema;
        let batches = self.batches.collect::<Result<Vec<_>>>()?;
        Table::new(schema, batches)
    }
}

impl From<Table> for BatchReader {
    fn from(t: Table) -> Self {
        let schema = Arc::clone(t.schema());
        BatchReader::from_batches(schema, t.into_batches())
    }
}

impl Iterator for BatchReader {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.batches.next()
    }
}

impl fmt::Debug for BatchReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BatchReader({})", self.schema)
    }
}

// ---- inputs ----

impl FromInput for BatchReader {
    const FORMAT: Format = Format::Arrow;
    fn from_input(input: InputStream) -> Result<Self> {
        BatchReader::from_ipc(input.into_reader())
    }
}

impl FromInput for Table {
    const FORMAT: Format = Format::Arrow;
    fn from_input(input: InputStream) -> Result<Self> {
        StreamReader::try_new(input.into_reader())?.read_all()
    }
}

impl FromInput for RecordBatch {
    const FORMAT: Format = Format::Arrow;
    fn from_input(input: InputStream) -> Result<Self> {
        Table::from_input(input)?.to_batch()
    }
}

impl FromInput for Json {
    const FORMAT: Format = Format::Json;
    fn from_input(input: InputStream) -> Result<Self> {
        String::from_utf8(input.read_to_end()?)
            .map(Json)
            .map_err(|e| Error::msg(format!("the JSON value is not UTF-8: {}", e)))
    }
}

impl FromInput for JsonValue {
    const FORMAT: Format = Format::Json;
    fn from_input(input: InputStream) -> Result<Self> {
        JsonValue::parse_bytes(&input.read_to_end()?)
    }
}

impl FromInput for Bytes {
    const FORMAT: Format = Format::Bytes;
    fn from_input(input: InputStream) -> Result<Self> {
        input.read_to_end().map(Bytes)
    }
}

// ---- outputs ----

/// Writes batches as one IPC stream, handing each batch to the host before the next.
fn write_batches(
    out: &mut OutputStream<'_>,
    schema: &Schema,
    batches: impl Iterator<Item = Result<RecordBatch>>,
) -> Result<()> {
    let mut w = StreamWriter::try_new(&mut *out, schema)?;
    for batch in batches {
        w.write(&batch?)?;
        w.flush()?;
    }
    w.finish()?;
    Ok(())
}

impl IntoOutput for Table {
    const FORMAT: Format = Format::Arrow;
    fn write_output(self, out: &mut OutputStream<'_>) -> Result<()> {
        let schema = Arc::clone(self.schema());
        write_batches(out, &schema, self.into_batches().into_iter().map(Ok))
    }
}

impl IntoOutput for RecordBatch {
    const FORMAT: Format = Format::Arrow;
    fn write_output(self, out: &mut OutputStream<'_>) -> Result<()> {
        let schema = Arc::clone(self.schema());
        write_batches(out, &schema, std::iter::once(Ok(self)))
    }
}

impl IntoOutput for BatchReader {
    const FORMAT: Format = Format::Arrow;
    fn write_output(self, out: &mut OutputStream<'_>) -> Result<()> {
        let schema = Arc::clone(&self.schema);
        write_batches(out, &schema, self.batches)
    }
}

impl IntoOutput for Json {
    const FORMAT: Format = Format::Json;
    fn write_output(self, out: &mut OutputStream<'_>) -> Result<()> {
        JsonValue::parse(&self.0).map_err(|e| e.context("the result is not valid JSON"))?;
        out.write_all(self.0.as_bytes())?;
        Ok(())
    }
}

impl IntoOutput for JsonValue {
    const FORMAT: Format = Format::Json;
    fn write_output(self, out: &mut OutputStream<'_>) -> Result<()> {
        write!(out, "{}", self)?;
        Ok(())
    }
}

impl IntoOutput for json::Object {
    const FORMAT: Format = Format::Json;
    fn write_output(self, out: &mut OutputStream<'_>) -> Result<()> {
        out.write_all(self.finish().as_bytes())?;
        Ok(())
    }
}

impl IntoOutput for Bytes {
    const FORMAT: Format = Format::Bytes;
    fn write_output(self, out: &mut OutputStream<'_>) -> Result<()> {
        out.write_all(&self.0)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrow::{Array, DataType, Field, Int64Array};

    fn write<T: IntoOutput>(v: T) -> Result<Vec<u8>> {
        let mut sink = Vec::new();
        {
            let mut out = OutputStream::new(&mut sink);
            v.write_output(&mut out)?;
            out.flush_to_host()?;
        }
        Ok(sink)
    }

    fn schema() -> Schema {
        Schema::new(vec![Field::new("n", DataType::Int64, true)])
    }

    fn batch(v: Vec<i64>) -> RecordBatch {
        RecordBatch::try_new(schema(), vec![Array::from(Int64Array::from(v))]).unwrap()
    }

    #[test]
    fn arrow_values_round_trip() {
        let table = Table::new(
            schema(),
            vec![batch(vec![1, 2]), batch(vec![]), batch(vec![3])],
        )
        .unwrap();
        let bytes = write(table.clone()).unwrap();
        let back = Table::from_input(InputStream::from_bytes(bytes.clone())).unwrap();
        assert_eq!(back, table);
        let one = RecordBatch::from_input(InputStream::from_bytes(bytes.clone())).unwrap();
        assert_eq!(one.num_rows(), 3);
        let mut reader = BatchReader::from_input(InputStream::from_bytes(bytes)).unwrap();
        assert_eq!(reader.next().unwrap().unwrap().num_rows(), 2);
        let streamed = write(reader).unwrap();
        assert_eq!(Table::from_ipc(&streamed).unwrap().num_batches(), 2);
    }

    #[test]
    fn batch_reader_stops_at_the_first_error() {
        let mut calls = 0;
        let r = BatchReader::from_fn(schema(), move || {
            calls += 1;
            match calls {
                1 => Ok(Some(batch(vec![1]))),
                2 => Err(Error::msg("boom")),
                _ => panic!("called after an error"),
            }
        });
        assert_eq!(write(r).unwrap_err().message(), "boom");
        let wrong = RecordBatch::try_new(
            Schema::new(vec![Field::new("m", DataType::Int64, true)]),
            vec![Array::from(Int64Array::from(vec![1]))],
        )
        .unwrap();
        let e = write(BatchReader::from_batches(schema(), vec![wrong])).unwrap_err();
        assert_eq!(
            e.message(),
            "Arrow IPC stream: a batch with schema (m: int64) written to a stream of schema (n: int64)"
        );
    }

    #[test]
    fn json_and_bytes() {
        assert_eq!(write(Json("{\"a\": 1}".into())).unwrap(), b"{\"a\": 1}");
        assert!(write(Json("{".into()))
            .unwrap_err()
            .message()
            .starts_with("the result is not valid JSON: invalid JSON at byte 1"));
        assert_eq!(write(JsonValue::from("x")).unwrap(), b"\"x\"");
        assert_eq!(write(Bytes::from("ok")).unwrap(), b"ok");
        let v = JsonValue::from_input(InputStream::from_bytes(b"[1]".to_vec())).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 1);
        assert!(Json::from_input(InputStream::from_bytes(vec![0xff])).is_err());
    }
}
