//! Arrow tables as the SDK sees them: [`Schema`], typed arrays, [`RecordBatch`] and [`Table`],
//! plus a hand-written Arrow IPC stream reader and writer ([`ipc`]).
//!
//! The supported column types are those of [`DataType`]: bool, signed and unsigned integers of 8
//! to 64 bits, float32/64, utf8, binary, date32 and timestamp (any unit, optional time zone),
//! every one nullable.
//!
//! ```
//! use wasmorch::arrow::{Array, DataType, Field, Int64Array, RecordBatch, Schema, StringArray};
//! let schema = Schema::new(vec![
//!     Field::new("id", DataType::Int64, false),
//!     Field::new("name", DataType::Utf8, true),
//! ]);
//! let batch = RecordBatch::try_new(
//!     schema,
//!     vec![
//!         Array::from(Int64Array::from(vec![1, 2])),
//!         Array::from(StringArray::from_iter(vec![Some("a"), None])),
//!     ],
//! )
//! .unwrap();
//! let names: &StringArray = batch.column_as("name").unwrap();
//! assert_eq!(names.get(0), Some("a"));
//! ```

mod array;
mod buffer;
mod datatype;
mod flatbuf;
pub mod ipc;

use std::fmt;
use std::sync::Arc;

pub use array::{
    Array, BinaryArray, BinaryBuilder, BooleanArray, BooleanBuilder, Date32Array, Float32Array,
    Float64Array, FromArray, Int16Array, Int32Array, Int64Array, Int8Array, PrimitiveArray,
    PrimitiveBuilder, StringArray, StringBuilder, TimestampArray, UInt16Array, UInt32Array,
    UInt64Array, UInt8Array, VarArray, VarBuilder, VarType,
};
pub use buffer::NativeType;
pub use datatype::{DataType, Field, Schema, TimeUnit};

use crate::error::{Error, Result};

/// Equal-length columns under a schema: one batch of a table.
#[derive(Clone, PartialEq)]
pub struct RecordBatch {
    schema: Arc<Schema>,
    columns: Vec<Array>,
    num_rows: usize,
}

impl RecordBatch {
    /// A batch of `columns` under `schema`. There must be one column per field, each of the
    /// field's type, all of the same length, and no nulls in a non-nullable field.
    pub fn try_new(schema: impl Into<Arc<Schema>>, columns: Vec<Array>) -> Result<Self> {
        let schema = schema.into();
        if columns.len() != schema.len() {
            return Err(Error::msg(format!(
                "record batch: the schema has {} fields ({}) but {} columns were given",
                schema.len(),
                schema.names(),
                columns.len()
            )));
        }
        let num_rows = columns.first().map_or(0, Array::len);
        for (field, col) in schema.fields().iter().zip(&columns) {
            if col.data_type() != *field.data_type() {
                return Err(Error::msg(format!(
                    "record batch: column \"{}\" is declared {} but the array is {}",
                    field.name(),
                    field.data_type(),
                    col.data_type()
                )));
            }
            if col.len() != num_rows {
                return Err(Error::msg(format!(
                    "record batch: column \"{}\" has {} rows, column \"{}\" has {}",
                    field.name(),
                    col.len(),
                    schema.field(0).name(),
                    num_rows
                )));
            }
            if !field.is_nullable() && col.null_count() > 0 {
                return Err(Error::msg(format!(
                    "record batch: column \"{}\" is not nullable but has {} nulls",
                    field.name(),
                    col.null_count()
                )));
            }
        }
        Ok(RecordBatch {
            schema,
            columns,
            num_rows,
        })
    }

    /// A batch decoded from an IPC stream: the reader checked the columns against the schema.
    pub(crate) fn from_decoded(schema: Arc<Schema>, columns: Vec<Array>, num_rows: usize) -> Self {
        debug_assert!(columns.iter().all(|c| c.len() == num_rows));
        RecordBatch {
            schema,
            columns,
            num_rows,
        }
    }

    /// A batch with no rows.
    pub fn new_empty(schema: impl Into<Arc<Schema>>) -> Self {
        let schema = schema.into();
        let columns = schema
            .fields()
            .iter()
            .map(|f| Array::new_empty(f.data_type()))
            .collect();
        RecordBatch {
            schema,
            columns,
            num_rows: 0,
        }
    }

    /// The batch's schema.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// The number of rows.
    pub fn num_rows(&self) -> usize {
        self.num_rows
    }

    /// The number of columns.
    pub fn num_columns(&self) -> usize {
        self.columns.len()
    }

    /// The columns, in schema order.
    pub fn columns(&self) -> &[Array] {
        &self.columns
    }

    /// Column `i`.
    ///
    /// # Panics
    ///
    /// If `i` is out of range.
    pub fn column(&self, i: usize) -> &Array {
        &self.columns[i]
    }

    /// The first column named `name`.
    pub fn column_by_name(&self, name: &str) -> Option<&Array> {
        self.schema.index_of(name).map(|i| &self.columns[i])
    }

    /// The column named `name` as a typed array, or an error naming the column and saying what
    /// is wrong:
    ///
    /// ```
    /// # use wasmorch::arrow::*;
    /// let schema = Schema::new(vec![Field::new("id", DataType::Utf8, true)]);
    /// let batch = RecordBatch::new_empty(schema);
    /// assert_eq!(
    ///     batch.column_as::<Int64Array>("id").unwrap_err().message(),
    ///     "column \"id\" is utf8, not int64 or timestamp"
    /// );
    /// assert_eq!(
    ///     batch.column_as::<Int64Array>("x").unwrap_err().message(),
    ///     "no column \"x\" (columns: id)"
    /// );
    /// ```
    pub fn column_as<T: FromArray + ?Sized>(&self, name: &str) -> Result<&T> {
        let col = self.column_by_name(name).ok_or_else(|| {
            Error::msg(format!(
                "no column \"{}\" (columns: {})",
                name,
                self.schema.names()
            ))
        })?;
        col.downcast::<T>().ok_or_else(|| {
            Error::msg(format!(
                "column \"{}\" is {}, not {}",
                name,
                col.data_type(),
                T::expected()
            ))
        })
    }

    /// The rows where `mask` is true, in order.
    pub fn filter(&self, mask: &[bool]) -> Result<RecordBatch> {
        if mask.len() != self.num_rows {
            return Err(Error::msg(format!(
                "filter: the mask has {} entries for a batch of {} rows",
                mask.len(),
                self.num_rows
            )));
        }
        let columns = self
            .columns
            .iter()
            .map(|c| c.filter(mask))
            .collect::<Result<Vec<_>>>()?;
        Ok(RecordBatch {
            schema: Arc::clone(&self.schema),
            columns,
            num_rows: mask.iter().filter(|&&m| m).count(),
        })
    }

    /// The rows at `indices`, in that order.
    pub fn take(&self, indices: &[usize]) -> Result<RecordBatch> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.num_rows) {
            return Err(Error::msg(format!(
                "take: index {} is out of range for a batch of {} rows",
                bad, self.num_rows
            )));
        }
        let columns = self
            .columns
            .iter()
            .map(|c| c.take(indices))
            .collect::<Result<Vec<_>>>()?;
        Ok(RecordBatch {
            schema: Arc::clone(&self.schema),
            columns,
            num_rows: indices.len(),
        })
    }

    /// The same columns under another schema with the same types, for example to rename
    /// columns. Nullability may differ as long as the data allows it.
    pub fn with_schema(&self, schema: impl Into<Arc<Schema>>) -> Result<RecordBatch> {
        RecordBatch::try_new(schema, self.columns.clone())
    }

    /// Only the named columns, in the given order.
    pub fn project(&self, names: &[&str]) -> Result<RecordBatch> {
        let mut fields = Vec::with_capacity(names.len());
        let mut columns = Vec::with_capacity(names.len());
        for name in names {
            let i = self.schema.index_of(name).ok_or_else(|| {
                Error::msg(format!(
                    "no column \"{}\" (columns: {})",
                    name,
                    self.schema.names()
                ))
            })?;
            fields.push(self.schema.field(i).clone());
            columns.push(self.columns[i].clone());
        }
        let mut batch = RecordBatch::try_new(Schema::new(fields), columns)?;
        batch.num_rows = self.num_rows;
        Ok(batch)
    }

    /// All rows of `batches`, which must share `schema`, in one batch.
    pub fn concat(schema: impl Into<Arc<Schema>>, batches: &[RecordBatch]) -> Result<RecordBatch> {
        let schema = schema.into();
        if let Some(b) = batches.iter().find(|b| *b.schema != *schema) {
            return Err(Error::msg(format!(
                "concat: a batch has schema ({}), want ({})",
                b.schema, schema
            )));
        }
        match batches {
            [] => return Ok(RecordBatch::new_empty(schema)),
            [one] => return Ok(one.clone()),
            _ => {}
        }
        let mut columns = Vec::with_capacity(schema.len());
        for (i, field) in schema.fields().iter().enumerate() {
            let parts: Vec<&Array> = batches.iter().map(|b| &b.columns[i]).collect();
            columns.push(
                Array::concat(&parts)
                    .map_err(|e| e.context(format!("column \"{}\"", field.name())))?,
            );
        }
        let mut batch = RecordBatch::try_new(schema, columns)?;
        batch.num_rows = batches.iter().map(|b| b.num_rows).sum();
        Ok(batch)
    }
}

impl fmt::Debug for RecordBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "RecordBatch({} rows: {})", self.num_rows, self.schema)?;
        for (field, col) in self.schema.fields().iter().zip(&self.columns) {
            writeln!(f, "  {}: {:?}", field.name(), col)?;
        }
        Ok(())
    }
}

/// A whole table: a schema and its record batches, in order.
///
/// An asset that takes a `Table` input receives every batch of the upstream value at once;
/// batch boundaries are kept as they arrived, and [`to_batch`](Table::to_batch) joins them.
/// Returning a `Table` writes its batches as they are.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    schema: Arc<Schema>,
    batches: Vec<RecordBatch>,
}

impl Table {
    /// A table of `batches`, which must all have `schema`.
    pub fn new(schema: impl Into<Arc<Schema>>, batches: Vec<RecordBatch>) -> Result<Self> {
        let schema = schema.into();
        for (i, b) in batches.iter().enumerate() {
            if *b.schema != *schema {
                return Err(Error::msg(format!(
                    "table: batch {} has schema ({}), want ({})",
                    i, b.schema, schema
                )));
            }
        }
        Ok(Table { schema, batches })
    }

    /// A table of one batch (kept even if it has no rows).
    pub fn from_batch(batch: RecordBatch) -> Self {
        Table {
            schema: Arc::clone(&batch.schema),
            batches: vec![batch],
        }
    }

    /// A table with no batches.
    pub fn empty(schema: impl Into<Arc<Schema>>) -> Self {
        Table {
            schema: schema.into(),
            batches: Vec::new(),
        }
    }

    /// The table's schema.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// The batches, in order.
    pub fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }

    /// The batches, by value.
    pub fn into_batches(self) -> Vec<RecordBatch> {
        self.batches
    }

    /// The number of batches.
    pub fn num_batches(&self) -> usize {
        self.batches.len()
    }

    /// The number of rows in all batches.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// The number of columns.
    pub fn num_columns(&self) -> usize {
        self.schema.len()
    }

    /// All rows in one batch: the only batch itself (no copy) or the batches concatenated.
    pub fn to_batch(&self) -> Result<RecordBatch> {
        RecordBatch::concat(Arc::clone(&self.schema), &self.batches)
    }

    /// The table as an Arrow IPC stream.
    pub fn to_ipc(&self) -> Result<Vec<u8>> {
        let mut w = ipc::StreamWriter::try_new(Vec::new(), &self.schema)?;
        for b in &self.batches {
            w.write(b)?;
        }
        w.finish()
    }

    /// Reads a whole Arrow IPC stream.
    pub fn from_ipc(bytes: &[u8]) -> Result<Table> {
        ipc::StreamReader::try_new(bytes)?.read_all()
    }
}

impl From<RecordBatch> for Table {
    fn from(batch: RecordBatch) -> Self {
        Table::from_batch(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(ids: Vec<Option<i64>>, names: Vec<Option<&str>>) -> RecordBatch {
        RecordBatch::try_new(
            Schema::new(vec![
                Field::new("id", DataType::Int64, true),
                Field::new("name", DataType::Utf8, true),
            ]),
            vec![
                Array::from(Int64Array::from(ids)),
                Array::from(names.into_iter().collect::<StringArray>()),
            ],
        )
        .unwrap()
    }

    #[test]
    fn batch_checks_its_columns() {
        let schema = Schema::new(vec![Field::new("id", DataType::Int64, false)]);
        let e = RecordBatch::try_new(schema.clone(), vec![]).unwrap_err();
        assert_eq!(
            e.message(),
            "record batch: the schema has 1 fields (id) but 0 columns were given"
        );
        let e = RecordBatch::try_new(schema.clone(), vec![Array::from(Int32Array::from(vec![1]))])
            .unwrap_err();
        assert_eq!(
            e.message(),
            "record batch: column \"id\" is declared int64 but the array is int32"
        );
        let e = RecordBatch::try_new(schema, vec![Array::from(Int64Array::from(vec![None]))])
            .unwrap_err();
        assert_eq!(
            e.message(),
            "record batch: column \"id\" is not nullable but has 1 nulls"
        );
    }

    #[test]
    fn filter_take_project_concat() {
        let b = batch(
            vec![Some(1), None, Some(3)],
            vec![Some("a"), Some("b"), None],
        );
        let f = b.filter(&[true, false, true]).unwrap();
        assert_eq!(f.num_rows(), 2);
        assert_eq!(f.column_as::<Int64Array>("id").unwrap().values(), &[1, 3]);
        let t = b.take(&[2, 2]).unwrap();
        assert_eq!(
            t.column_as::<StringArray>("name")
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            vec![None, None]
        );
        let p = b.project(&["name"]).unwrap();
        assert_eq!(p.schema().names(), "name");
        assert!(b.project(&["nope"]).is_err());

        let table = Table::new(
            Arc::clone(b.schema()),
            vec![
                b.clone(),
                f.clone(),
                RecordBatch::new_empty(Arc::clone(b.schema())),
            ],
        )
        .unwrap();
        assert_eq!(table.num_rows(), 5);
        let all = table.to_batch().unwrap();
        assert_eq!(all.num_rows(), 5);
        assert_eq!(
            all.column_as::<Int64Array>("id")
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            vec![Some(1), None, Some(3), Some(1), Some(3)]
        );
        let renamed = Schema::new(vec![
            Field::new("ID", DataType::Int64, true),
            Field::new("NAME", DataType::Utf8, true),
        ]);
        assert!(Table::new(renamed.clone(), vec![b.clone()]).is_err());
        let rb = b.with_schema(renamed).unwrap();
        assert_eq!(rb.schema().field(0).name(), "ID");
    }
}
