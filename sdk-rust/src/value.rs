//! The values that travel between steps: what a function's parameters can be
//! ([`FromInput`]) and what it can return ([`IntoOutput`]).
//!
//! | Rust type | format | as an input | as an output |
//! |---|---|---|---|
//! | [`Table`] | arrow | every batch, read before the call | every batch, as they are |
//! | [`RecordBatch`] | arrow | every row in one batch | one batch |
//! | [`BatchReader`] | arrow | batch by batch, while the function runs | batch by batch, after it returns |
//! | [`PartitionedBatches`] | arrow | batch by batch, each with its upstream partition key | — |
//! | [`Json`] | json | the document's text | the text, checked first |
//! | [`JsonValue`] | json | the parsed document | the document |
//! | [`json::Object`] | json | — | the object |
//! | [`Bytes`] | bytes | the bytes | the bytes |
//!
//! An op (not an asset) may also take `Option<T>` for an optional input, and return
//! `Option<T>` for an optional output or [`Dynamic<T>`] for a fan-out output.

use std::fmt;
use std::io::{self, BufWriter, Read, Write};
use std::sync::Arc;

use crate::arrow::ipc::{StreamReader, StreamWriter};
use crate::arrow::{RecordBatch, Schema, Table};
use crate::error::{Error, Result};
use crate::host::{valid_mapping_key, Format, MAX_MAPPING_KEY};
use crate::json::{self, JsonValue};

/// The bytes of an input, arriving in chunks that each come from one upstream partition
/// (ABI.md section 4.3).
pub(crate) trait ChunkSource: Read {
    /// The partition key of the chunk that the last bytes read came from: "" for an
    /// unpartitioned input, or before anything was read.
    fn partition_key(&mut self) -> Result<String>;
}

impl ChunkSource for io::Cursor<Vec<u8>> {
    fn partition_key(&mut self) -> Result<String> {
        Ok(String::new())
    }
}

/// Chunks in memory with their partition keys, read as the host hands them out: the next
/// chunk is entered only when more bytes are asked for.
pub(crate) struct MemChunks {
    chunks: Vec<(String, Vec<u8>)>,
    /// How many chunks were entered; the current one is `entered - 1`.
    entered: usize,
    /// Bytes of the current chunk read.
    pos: usize,
}

impl MemChunks {
    pub(crate) fn new(chunks: Vec<(String, Vec<u8>)>) -> Self {
        MemChunks {
            chunks,
            entered: 0,
            pos: 0,
        }
    }
}

impl Read for MemChunks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.entered > 0 {
                let chunk = &self.chunks[self.entered - 1].1;
                if self.pos < chunk.len() {
                    let n = buf.len().min(chunk.len() - self.pos);
                    buf[..n].copy_from_slice(&chunk[self.pos..self.pos + n]);
                    self.pos += n;
                    return Ok(n);
                }
            }
            if self.entered == self.chunks.len() {
                return Ok(0);
            }
            self.entered += 1;
            self.pos = 0;
        }
    }
}

impl ChunkSource for MemChunks {
    fn partition_key(&mut self) -> Result<String> {
        Ok(match self.entered {
            0 => String::new(),
            n => self.chunks[n - 1].0.clone(),
        })
    }
}

/// Lets a `ChunkSource` go where a plain `Read` is wanted (rustc 1.63 cannot upcast trait
/// objects).
struct PlainRead(Box<dyn ChunkSource>);

impl Read for PlainRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

/// The bytes of one input, as the host streams them.
pub struct InputStream {
    source: Box<dyn ChunkSource>,
}

impl InputStream {
    pub(crate) fn new(source: Box<dyn ChunkSource>) -> Self {
        InputStream { source }
    }

    /// An input stream over bytes in memory, for tests and for building values by hand.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        InputStream::new(Box::new(io::Cursor::new(bytes)))
    }

    /// An input stream over chunks in memory, each with the partition key of the upstream
    /// partition it comes from, as the host sends an input that reads several partitions.
    pub(crate) fn from_chunks(chunks: Vec<(String, Vec<u8>)>) -> Self {
        InputStream::new(Box::new(MemChunks::new(chunks)))
    }

    /// Reads the whole input.
    pub fn read_to_end(mut self) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.source.read_to_end(&mut buf)?;
        Ok(buf)
    }

    /// The input as a reader.
    pub fn into_reader(self) -> Box<dyn Read> {
        Box::new(PlainRead(self.source))
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
/// [`RecordBatch`], [`BatchReader`], [`Json`], [`JsonValue`] and [`Bytes`], and for `Option`
/// of each of them: an optional op input, `None` when the step has no value for it.
pub trait FromInput: Sized {
    /// The format the value travels as; the manifest declares it for the input.
    const FORMAT: Format;

    /// Whether the input may be missing (`optional` in the manifest); true for `Option<T>`.
    const OPTIONAL: bool = false;

    /// Decodes the value from the input's bytes.
    fn from_input(input: InputStream) -> Result<Self>;

    /// The value of an input the step has no value for: `None` for `Option<T>`, an error
    /// otherwise.
    fn from_absent() -> Result<Self> {
        Err(Error::msg("the step has no value for it"))
    }
}

impl<T: FromInput> FromInput for Option<T> {
    const FORMAT: Format = T::FORMAT;
    const OPTIONAL: bool = true;

    fn from_input(input: InputStream) -> Result<Self> {
        T::from_input(input).map(Some)
    }

    fn from_absent() -> Result<Self> {
        Ok(None)
    }
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

impl From<&str> for Json {
    fn from(s: &str) -> Self {
        Json(s.to_string())
    }
}

impl From<&JsonValue> for Json {
    fn from(v: &JsonValue) -> Self {
        Json(v.to_string())
    }
}

impl From<JsonValue> for Json {
    fn from(v: JsonValue) -> Self {
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

/// An Arrow input read one record batch at a time, each batch with the key of the upstream
/// partition it comes from (ABI.md section 4.3).
///
/// An input with a [`PartitionMapping`](crate::PartitionMapping) that reads several upstream
/// partitions arrives as one stream, the partitions in order, and every batch belongs to one
/// of them: iterate to get `(partition_key, batch)` pairs. The key is "" for an unpartitioned
/// upstream asset. Take it as a parameter, or open an input by name with
/// [`Context::input_batches`](crate::Context::input_batches). (A [`Table`] or
/// [`BatchReader`] parameter reads the same stream: every partition's batches, concatenated.)
///
/// ```
/// use wasmorch::prelude::*;
/// /// Rows per hourly partition of the day.
/// fn rows_per_hour(ctx: &mut Context, hourly: PartitionedBatches) -> Result<JsonValue> {
///     let mut counts = Object::new();
///     for (hour, table) in hourly.read_partitions()? {
///         counts = counts.int(&hour, table.num_rows() as i64);
///     }
///     JsonValue::parse(&counts.finish())
/// }
/// # let schema = Schema::new(vec![Field::new("n", DataType::Int64, true)]);
/// # let batch = |v: Vec<i64>| RecordBatch::try_new(schema.clone(), vec![Array::from(Int64Array::from(v))]).unwrap();
/// let input = PartitionedBatches::from_batches(schema.clone(), vec![
///     ("2026-01-01-00:00".to_string(), batch(vec![1, 2])),
///     ("2026-01-01-00:00".to_string(), batch(vec![3])),
///     ("2026-01-01-01:00".to_string(), batch(vec![4])),
/// ]);
/// let counts = rows_per_hour(&mut Context::for_test(), input).unwrap();
/// assert_eq!(counts.to_string(), r#"{"2026-01-01-00:00":3,"2026-01-01-01:00":1}"#);
/// ```
pub struct PartitionedBatches {
    schema: Arc<Schema>,
    batches: Box<dyn Iterator<Item = Result<(String, RecordBatch)>>>,
}

impl PartitionedBatches {
    /// The batches `batches` yields, each with its partition key; they must have `schema`.
    pub fn new<I>(schema: impl Into<Arc<Schema>>, batches: I) -> Self
    where
        I: IntoIterator<Item = Result<(String, RecordBatch)>>,
        I::IntoIter: 'static,
    {
        PartitionedBatches {
            schema: schema.into(),
            batches: Box::new(batches.into_iter()),
        }
    }

    /// Batches in memory with their partition keys, for tests.
    pub fn from_batches(
        schema: impl Into<Arc<Schema>>,
        batches: Vec<(String, RecordBatch)>,
    ) -> Self {
        PartitionedBatches::new(schema, batches.into_iter().map(Ok))
    }

    /// Decodes the input's Arrow stream one batch at a time, asking after each batch for the
    /// partition key of the chunk it came from.
    fn from_stream(input: InputStream) -> Result<Self> {
        let mut reader = StreamReader::try_new(input.source)?;
        let schema = Arc::clone(reader.schema());
        let mut done = false;
        let batches = std::iter::from_fn(move || {
            if done {
                return None;
            }
            let item = match reader.next_batch() {
                Ok(Some(batch)) => reader
                    .get_mut()
                    .partition_key()
                    .map(|key| Some((key, batch))),
                other => other.map(|_| None),
            };
            done = !matches!(item, Ok(Some(_)));
            item.transpose()
        });
        Ok(PartitionedBatches::new(schema, batches))
    }

    /// The schema of every batch.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// Reads the remaining batches into one table per partition, in stream order: consecutive
    /// batches with the same key make one table.
    pub fn read_partitions(self) -> Result<Vec<(String, Table)>> {
        let schema = self.schema;
        let mut out: Vec<(String, Vec<RecordBatch>)> = Vec::new();
        for item in self.batches {
            let (key, batch) = item?;
            match out.last_mut() {
                Some((last, batches)) if *last == key => batches.push(batch),
                _ => out.push((key, vec![batch])),
            }
        }
        out.into_iter()
            .map(|(key, batches)| Ok((key, Table::new(Arc::clone(&schema), batches)?)))
            .collect()
    }

    /// The remaining batches without their keys.
    pub fn into_batch_reader(self) -> BatchReader {
        BatchReader::new(self.schema, self.batches.map(|item| item.map(|(_, b)| b)))
    }
}

impl Iterator for PartitionedBatches {
    type Item = Result<(String, RecordBatch)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.batches.next()
    }
}

impl fmt::Debug for PartitionedBatches {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PartitionedBatches({})", self.schema)
    }
}

// ---- inputs ----

impl FromInput for PartitionedBatches {
    const FORMAT: Format = Format::Arrow;
    fn from_input(input: InputStream) -> Result<Self> {
        PartitionedBatches::from_stream(input)
    }
}

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

// ---- fan-out ----

/// The values of a dynamic (fan-out) op output, one per *mapping key* (ABI.md sections 4.4 and
/// 7.2). Each value is written as `NAME[KEY]`, and the steps downstream of the output run once
/// per key, each learning its key from [`Context::mapping_key`](crate::Context::mapping_key).
///
/// A key is 1 to 255 characters of `A-Z`, `a-z`, `0-9` and `_`, and is used once per step.
/// Writing no values at all is allowed: nothing downstream runs then.
///
/// ```
/// use wasmorch::prelude::*;
/// /// One chunk per region, and how many there are.
/// fn fan_out(_ctx: &mut Context) -> Result<(Dynamic<JsonValue>, JsonValue)> {
///     let mut chunks = Dynamic::new();
///     for (i, region) in ["eu", "us"].iter().enumerate() {
///         chunks.push(*region, JsonValue::from(i as i64))?;
///     }
///     let n = chunks.len() as i64;
///     Ok((chunks, JsonValue::from(n)))
/// }
/// let (chunks, n) = fan_out(&mut Context::for_test()).unwrap();
/// assert_eq!(chunks.keys(), vec!["eu", "us"]);
/// assert_eq!(n, JsonValue::from(2i64));
/// ```
///
/// [`Dynamic::from_iter_lazy`] takes an iterator that the SDK pulls while writing, one value at a
/// time, so a fan-out over many large values need not hold them all.
pub struct Dynamic<T> {
    values: Vec<(String, T)>,
    lazy: Option<KeyedValues<T>>,
}

/// Values with their mapping keys, pulled one at a time.
type KeyedValues<T> = Box<dyn Iterator<Item = Result<(String, T)>>>;

impl<T> Default for Dynamic<T> {
    fn default() -> Self {
        Dynamic {
            values: Vec::new(),
            lazy: None,
        }
    }
}

/// The error for a mapping key that is not valid, or is used twice.
pub(crate) fn mapping_key_problem(key: &str, used_before: bool) -> Option<Error> {
    if !valid_mapping_key(key) {
        let why = if key.is_empty() {
            "it is empty".to_string()
        } else if key.len() > MAX_MAPPING_KEY {
            format!("it is {} bytes long", key.len())
        } else {
            "it has other characters".to_string()
        };
        let shown: String = key.chars().take(40).collect();
        let ellipsis = if shown.len() < key.len() { "..." } else { "" };
        return Some(Error::msg(format!(
            "invalid mapping key \"{}{}\": a mapping key is 1 to {} characters of A-Z, a-z, 0-9 \
             and _ (^[A-Za-z0-9_]+$), but {}",
            shown, ellipsis, MAX_MAPPING_KEY, why
        )));
    }
    if used_before {
        return Some(Error::msg(format!(
            "the mapping key \"{}\" is used twice; each key names one value",
            key
        )));
    }
    None
}

impl<T> Dynamic<T> {
    /// No values yet.
    pub fn new() -> Self {
        Dynamic::default()
    }

    /// Adds the value for `key`. The error says why a key is not valid or that it is already
    /// used.
    pub fn push(&mut self, key: impl Into<String>, value: T) -> Result<()> {
        let key = key.into();
        let used = self.values.iter().any(|(k, _)| *k == key);
        if let Some(e) = mapping_key_problem(&key, used) {
            return Err(e);
        }
        self.values.push((key, value));
        Ok(())
    }

    /// Adds the value for `key`, builder style; a bad key fails the step when the output is
    /// written, with the message of [`push`](Self::push).
    pub fn with(mut self, key: impl Into<String>, value: T) -> Self {
        self.values.push((key.into(), value));
        self
    }

    /// Values pulled from `items` while the output is written, after any pushed ones. An
    /// `Err` item fails the step.
    pub fn from_iter_lazy<I>(items: I) -> Self
    where
        I: IntoIterator<Item = Result<(String, T)>>,
        I::IntoIter: 'static,
    {
        Dynamic {
            values: Vec::new(),
            lazy: Some(Box::new(items.into_iter())),
        }
    }

    /// How many values were pushed (a lazy iterator's are not counted).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no value was pushed and there is no lazy iterator.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.lazy.is_none()
    }

    /// The keys pushed so far, in order.
    pub fn keys(&self) -> Vec<&str> {
        self.values.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// The value pushed for `key`.
    pub fn get(&self, key: &str) -> Option<&T> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Every value with its key, in order: the pushed ones, then the lazy iterator's. For
    /// tests; the first `Err` of a lazy iterator is returned.
    pub fn into_vec(self) -> Result<Vec<(String, T)>> {
        let mut out = self.values;
        if let Some(lazy) = self.lazy {
            for item in lazy {
                out.push(item?);
            }
        }
        Ok(out)
    }

    /// Every value with its key, in the order they are written.
    pub(crate) fn into_items(self) -> KeyedValues<T>
    where
        T: 'static,
    {
        let pushed = self.values.into_iter().map(Ok);
        match self.lazy {
            Some(lazy) => Box::new(pushed.chain(lazy)),
            None => Box::new(pushed),
        }
    }
}

impl<K: Into<String>, T> FromIterator<(K, T)> for Dynamic<T> {
    /// Collects `(key, value)` pairs; a bad key fails the step when the output is written.
    fn from_iter<I: IntoIterator<Item = (K, T)>>(items: I) -> Self {
        Dynamic {
            values: items.into_iter().map(|(k, v)| (k.into(), v)).collect(),
            lazy: None,
        }
    }
}

impl<T> fmt::Debug for Dynamic<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dynamic({:?}", self.keys())?;
        if self.lazy.is_some() {
            f.write_str(" and a lazy iterator")?;
        }
        f.write_str(")")
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

    #[test]
    fn optional_inputs() {
        assert_eq!(
            (
                <Option<Bytes> as FromInput>::OPTIONAL,
                <Bytes as FromInput>::OPTIONAL
            ),
            (true, false)
        );
        assert_eq!(<Option<Bytes> as FromInput>::FORMAT, Format::Bytes);
        assert_eq!(<Option<Bytes>>::from_absent().unwrap(), None);
        assert_eq!(
            Bytes::from_absent().unwrap_err().message(),
            "the step has no value for it"
        );
        let v = <Option<Bytes>>::from_input(InputStream::from_bytes(b"x".to_vec())).unwrap();
        assert_eq!(v, Some(Bytes::from("x")));
    }

    #[test]
    fn dynamic_keys_are_checked() {
        let mut d = Dynamic::new();
        d.push("eu_1", 1).unwrap();
        d.push(String::from("US"), 2).unwrap();
        assert_eq!(
            d.push("eu_1", 3).unwrap_err().message(),
            "the mapping key \"eu_1\" is used twice; each key names one value"
        );
        assert_eq!(
            d.push("eu-1", 3).unwrap_err().message(),
            "invalid mapping key \"eu-1\": a mapping key is 1 to 255 characters of A-Z, a-z, 0-9 and _ (^[A-Za-z0-9_]+$), but it has other characters"
        );
        assert!(d
            .push("", 3)
            .unwrap_err()
            .message()
            .ends_with("but it is empty"));
        let long = "k".repeat(256);
        let e = d.push(long.as_str(), 3).unwrap_err();
        assert!(
            e.message()
                .starts_with(&format!("invalid mapping key \"{}...\"", "k".repeat(40))),
            "{}",
            e
        );
        assert!(e.message().ends_with("but it is 256 bytes long"));
        d.push("k".repeat(255), 4).unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(d.get("US"), Some(&2));
        assert_eq!(
            format!("{:?}", Dynamic::<i32>::new().with("a", 1)),
            "Dynamic([\"a\"])"
        );
    }

    #[test]
    fn dynamic_items_in_order() {
        let d: Dynamic<i32> = vec![("a", 1), ("b", 2)].into_iter().collect();
        assert_eq!(d.keys(), vec!["a", "b"]);
        let lazy = Dynamic::from_iter_lazy((0..3).map(|i| Ok((format!("k{}", i), i))));
        assert_eq!((lazy.is_empty(), lazy.len()), (false, 0));
        let all: Vec<(String, i32)> = lazy.into_items().collect::<Result<_>>().unwrap();
        assert_eq!(all[2], ("k2".to_string(), 2));
        let failing = Dynamic::<i32>::from_iter_lazy(vec![Err(Error::msg("boom"))]);
        assert_eq!(failing.into_vec().unwrap_err().message(), "boom");
        assert!(Dynamic::<i32>::new().is_empty());
    }

    #[test]
    fn mem_chunks_enter_a_chunk_only_when_asked_for_bytes() {
        let mut c = MemChunks::new(vec![
            ("a".to_string(), b"12".to_vec()),
            ("b".to_string(), Vec::new()),
            ("c".to_string(), b"3".to_vec()),
        ]);
        assert_eq!(c.partition_key().unwrap(), "");
        let mut buf = [0u8; 2];
        assert_eq!(c.read(&mut buf).unwrap(), 2);
        // The chunk is used up, but it stays the current one until more is read.
        assert_eq!(c.partition_key().unwrap(), "a");
        assert_eq!(c.read(&mut buf).unwrap(), 1);
        assert_eq!((buf[0], c.partition_key().unwrap().as_str()), (b'3', "c"));
        assert_eq!(c.read(&mut buf).unwrap(), 0);
        assert_eq!(c.partition_key().unwrap(), "c");
    }

    #[test]
    fn partitioned_batches_group_and_drop_keys() {
        let items = || {
            vec![
                ("a".to_string(), batch(vec![1])),
                ("a".to_string(), batch(vec![2, 3])),
                ("b".to_string(), batch(vec![])),
                ("a".to_string(), batch(vec![4])),
            ]
        };
        let parts = PartitionedBatches::from_batches(schema(), items())
            .read_partitions()
            .unwrap();
        let got: Vec<(&str, usize, usize)> = parts
            .iter()
            .map(|(k, t)| (k.as_str(), t.num_batches(), t.num_rows()))
            .collect();
        assert_eq!(got, vec![("a", 2, 3), ("b", 1, 0), ("a", 1, 1)]);
        let all = PartitionedBatches::from_batches(schema(), items())
            .into_batch_reader()
            .read_all()
            .unwrap();
        assert_eq!(all.num_rows(), 4);
        let failing = PartitionedBatches::new(schema(), vec![Err(Error::msg("boom"))]);
        assert_eq!(failing.read_partitions().unwrap_err().message(), "boom");
        assert_eq!(
            format!("{:?}", PartitionedBatches::from_batches(schema(), vec![])),
            "PartitionedBatches(n: int64)"
        );
    }

    #[test]
    fn partitioned_batches_of_an_unpartitioned_stream_have_empty_keys() {
        let table = Table::new(schema(), vec![batch(vec![1]), batch(vec![2])]).unwrap();
        let bytes = write(table).unwrap();
        let keys: Vec<String> = PartitionedBatches::from_input(InputStream::from_bytes(bytes))
            .unwrap()
            .map(|item| item.map(|(k, _)| k))
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(keys, vec!["", ""]);
        let e =
            PartitionedBatches::from_input(InputStream::from_bytes(b"nope".to_vec())).unwrap_err();
        assert!(e.message().starts_with("Arrow IPC stream:"), "{}", e);
    }
}
