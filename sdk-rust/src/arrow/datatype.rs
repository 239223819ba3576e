//! Arrow data types, fields and schemas.

use std::fmt;

/// The unit of a [`DataType::Timestamp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    /// Seconds.
    Second,
    /// Milliseconds.
    Millisecond,
    /// Microseconds.
    Microsecond,
    /// Nanoseconds.
    Nanosecond,
}

impl TimeUnit {
    /// The unit's short name in ABI type names: `s`, `ms`, `us` or `ns`.
    pub fn abbreviation(self) -> &'static str {
        match self {
            TimeUnit::Second => "s",
            TimeUnit::Millisecond => "ms",
            TimeUnit::Microsecond => "us",
            TimeUnit::Nanosecond => "ns",
        }
    }
}

/// The Arrow column types this SDK reads and writes.
///
/// `Display` gives the type's name in the manifest (ABI.md section 7.5), such as `int64`, `utf8`
/// or `timestamp[us, tz=UTC]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DataType {
    /// `bool`: bit-packed booleans.
    Bool,
    /// `int8`
    Int8,
    /// `int16`
    Int16,
    /// `int32`
    Int32,
    /// `int64`
    Int64,
    /// `uint8`
    UInt8,
    /// `uint16`
    UInt16,
    /// `uint32`
    UInt32,
    /// `uint64`
    UInt64,
    /// `float32`
    Float32,
    /// `float64`
    Float64,
    /// `utf8`: UTF-8 strings with 32-bit offsets.
    Utf8,
    /// `binary`: byte strings with 32-bit offsets.
    Binary,
    /// `date32`: days since 1970-01-01, as `i32`.
    Date32,
    /// `timestamp[unit]` or `timestamp[unit, tz=ZONE]`: an `i64` count of units since the
    /// epoch, with an optional time zone name.
    Timestamp(TimeUnit, Option<String>),
}

impl DataType {
    /// The type's name in the manifest (ABI.md section 7.5).
    pub fn abi_name(&self) -> String {
        self.to_string()
    }

    /// Whether the type is a fixed-width number (not bool, utf8 or binary).
    pub fn is_primitive(&self) -> bool {
        !matches!(self, DataType::Bool | DataType::Utf8 | DataType::Binary)
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            DataType::Bool => "bool",
            DataType::Int8 => "int8",
            DataType::Int16 => "int16",
            DataType::Int32 => "int32",
            DataType::Int64 => "int64",
            DataType::UInt8 => "uint8",
            DataType::UInt16 => "uint16",
            DataType::UInt32 => "uint32",
            DataType::UInt64 => "uint64",
            DataType::Float32 => "float32",
            DataType::Float64 => "float64",
            DataType::Utf8 => "utf8",
            DataType::Binary => "binary",
            DataType::Date32 => "date32",
            DataType::Timestamp(unit, None) => {
                return write!(f, "timestamp[{}]", unit.abbreviation())
            }
            DataType::Timestamp(unit, Some(tz)) => {
                return write!(f, "timestamp[{}, tz={}]", unit.abbreviation(), tz)
            }
        };
        f.write_str(name)
    }
}

/// A named column of a [`Schema`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    name: String,
    data_type: DataType,
    nullable: bool,
}

impl Field {
    /// A field; `nullable` says whether the column may hold nulls.
    pub fn new(name: impl Into<String>, data_type: DataType, nullable: bool) -> Self {
        Field {
            name: name.into(),
            data_type,
            nullable,
        }
    }

    /// The column name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The column type.
    pub fn data_type(&self) -> &DataType {
        &self.data_type
    }

    /// Whether the column may hold nulls.
    pub fn is_nullable(&self) -> bool {
        self.nullable
    }

    /// The same field under another name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The same field with another nullability.
    pub fn with_nullable(mut self, nullable: bool) -> Self {
        self.nullable = nullable;
        self
    }
}

/// The columns of a table: names, types and nullability, in order.
///
/// Schema-level and field-level custom metadata of IPC streams are not kept: the reader drops
/// them and the writer writes none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Schema {
    fields: Vec<Field>,
}

impl Schema {
    /// A schema of the given fields.
    pub fn new(fields: Vec<Field>) -> Self {
        Schema { fields }
    }

    /// The fields, in column order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The field of column `i`.
    ///
    /// # Panics
    ///
    /// If `i` is out of range.
    pub fn field(&self, i: usize) -> &Field {
        &self.fields[i]
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the schema has no columns.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The index of the first column named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// The first field named `name`.
    pub fn field_with_name(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The column names, comma-separated, for error messages.
    pub(crate) fn names(&self) -> String {
        if self.fields.is_empty() {
            return "none".to_string();
        }
        let names: Vec<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
        names.join(", ")
    }
}

impl FromIterator<Field> for Schema {
    fn from_iter<I: IntoIterator<Item = Field>>(iter: I) -> Self {
        Schema::new(iter.into_iter().collect())
    }
}

impl fmt::Display for Schema {
    /// `name: type, name: type not null, ...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, field) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}: {}", field.name, field.data_type)?;
            if !field.nullable {
                f.write_str(" not null")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_names() {
        let cases = [
            (DataType::Bool, "bool"),
            (DataType::UInt16, "uint16"),
            (DataType::Utf8, "utf8"),
            (DataType::Date32, "date32"),
            (
                DataType::Timestamp(TimeUnit::Nanosecond, None),
                "timestamp[ns]",
            ),
            (
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                "timestamp[us, tz=UTC]",
            ),
        ];
        for (t, name) in cases {
            assert_eq!(t.abi_name(), name);
        }
    }

    #[test]
    fn schema_lookup_and_display() {
        let s: Schema = vec![
            Field::new("a", DataType::Int64, false),
            Field::new("b", DataType::Utf8, true),
        ]
        .into_iter()
        .collect();
        assert_eq!(s.index_of("b"), Some(1));
        assert_eq!(s.field_with_name("c"), None);
        assert_eq!(s.to_string(), "a: int64 not null, b: utf8");
        assert_eq!(s.names(), "a, b");
    }
}
