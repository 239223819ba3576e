//! Typed Arrow arrays, their builders, and the [`Array`] enum over them.

use std::fmt;

use super::buffer::{Bitmap, BitmapBuilder, Buffer, NativeType, Of};
use super::datatype::{DataType, TimeUnit};
use crate::error::{Error, Result};

mod sealed {
    pub trait Sealed {}
}

fn null_count_of(validity: &Option<Bitmap>) -> usize {
    validity.as_ref().map_or(0, Bitmap::count_zeros)
}

/// Drops a validity bitmap that has no zero bits: an absent bitmap means "all valid".
fn normalize(validity: Option<Bitmap>) -> Option<Bitmap> {
    validity.filter(|b| b.count_zeros() > 0)
}

fn take_validity(validity: Option<&Bitmap>, indices: &[usize]) -> Option<Bitmap> {
    let v = validity?;
    let mut b = BitmapBuilder::with_capacity(indices.len());
    for &i in indices {
        b.push(v.get(i));
    }
    normalize(Some(b.finish()))
}

fn concat_validity<'a>(
    parts: impl Iterator<Item = (Option<&'a Bitmap>, usize)> + Clone,
) -> Option<Bitmap> {
    if parts.clone().all(|(v, _)| v.is_none()) {
        return None;
    }
    let total = parts.clone().map(|(_, len)| len).sum();
    let mut b = BitmapBuilder::with_capacity(total);
    for (v, len) in parts {
        for i in 0..len {
            b.push(v.map_or(true, |v| v.get(i)));
        }
    }
    normalize(Some(b.finish()))
}

struct DebugOption<T>(Option<T>);

impl<T: fmt::Debug> fmt::Debug for DebugOption<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(v) => v.fmt(f),
            None => f.write_str("null"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Primitive arrays

/// A column of fixed-width numbers with optional nulls. Read from an IPC stream, its values are
/// a view of the message body, not a copy.
///
/// ```
/// use wasmorch::arrow::Int64Array;
/// let a: Int64Array = vec![Some(1), None, Some(3)].into_iter().collect();
/// assert_eq!(a.len(), 3);
/// assert_eq!(a.null_count(), 1);
/// assert_eq!(a.get(1), None);
/// assert_eq!(a.values()[2], 3);
/// assert_eq!(a.iter().flatten().sum::<i64>(), 4);
/// ```
#[derive(Clone)]
pub struct PrimitiveArray<T: NativeType> {
    values: Buffer,
    validity: Option<Bitmap>,
    len: usize,
    null_count: usize,
    _type: Of<T>,
}

/// A column of `i8`.
pub type Int8Array = PrimitiveArray<i8>;
/// A column of `i16`.
pub type Int16Array = PrimitiveArray<i16>;
/// A column of `i32`.
pub type Int32Array = PrimitiveArray<i32>;
/// A column of `i64`.
pub type Int64Array = PrimitiveArray<i64>;
/// A column of `u8`.
pub type UInt8Array = PrimitiveArray<u8>;
/// A column of `u16`.
pub type UInt16Array = PrimitiveArray<u16>;
/// A column of `u32`.
pub type UInt32Array = PrimitiveArray<u32>;
/// A column of `u64`.
pub type UInt64Array = PrimitiveArray<u64>;
/// A column of `f32`.
pub type Float32Array = PrimitiveArray<f32>;
/// A column of `f64`.
pub type Float64Array = PrimitiveArray<f64>;
/// The values of a `date32` column: days since 1970-01-01.
pub type Date32Array = PrimitiveArray<i32>;
/// The values of a `timestamp` column: units since the epoch (the unit and time zone are in
/// [`Array::Timestamp`] and the field's [`DataType`]).
pub type TimestampArray = PrimitiveArray<i64>;

impl<T: NativeType> PrimitiveArray<T> {
    /// An array over `len` values of `values` (which must hold at least that many, aligned for
    /// `T`) with an optional validity bitmap of `len` bits.
    pub(crate) fn from_parts(values: Buffer, validity: Option<Bitmap>, len: usize) -> Self {
        let values = values.aligned_for::<T>();
        assert!(values.len() >= len * std::mem::size_of::<T>());
        let validity = normalize(validity);
        PrimitiveArray {
            null_count: null_count_of(&validity),
            values,
            validity,
            len,
            _type: Default::default(),
        }
    }

    /// An array of the given values, none null.
    pub fn from_values(values: Vec<T>) -> Self {
        let len = values.len();
        Self::from_parts(Buffer::from_values(&values), None, len)
    }

    /// A builder with room for `capacity` values.
    pub fn builder(capacity: usize) -> PrimitiveBuilder<T> {
        PrimitiveBuilder::with_capacity(capacity)
    }

    /// The number of values, nulls included.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the array has no values.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of nulls.
    pub fn null_count(&self) -> usize {
        self.null_count
    }

    /// Whether value `i` is null.
    ///
    /// # Panics
    ///
    /// If `i >= len()`.
    pub fn is_null(&self, i: usize) -> bool {
        assert!(
            i < self.len,
            "index {} out of range for {} values",
            i,
            self.len
        );
        self.validity.as_ref().map_or(false, |v| !v.get(i))
    }

    /// Whether value `i` is not null.
    pub fn is_valid(&self, i: usize) -> bool {
        !self.is_null(i)
    }

    /// All values in place, without copying. A null slot holds an unspecified value; check
    /// [`is_null`](Self::is_null) or use [`get`](Self::get) where nulls matter.
    pub fn values(&self) -> &[T] {
        self.values.typed::<T>(self.len)
    }

    /// Value `i`, ignoring validity (see [`values`](Self::values)).
    pub fn value(&self, i: usize) -> T {
        self.values()[i]
    }

    /// Value `i`, or `None` if it is null.
    pub fn get(&self, i: usize) -> Option<T> {
        if self.is_null(i) {
            None
        } else {
            Some(self.values()[i])
        }
    }

    /// The values, with `None` for nulls.
    pub fn iter(&self) -> impl Iterator<Item = Option<T>> + '_ {
        let values = self.values();
        (0..self.len).map(move |i| {
            if self.validity.as_ref().map_or(true, |v| v.get(i)) {
                Some(values[i])
            } else {
                None
            }
        })
    }

    pub(crate) fn values_buffer(&self) -> &Buffer {
        &self.values
    }

    fn take_impl(&self, indices: &[usize]) -> Self {
        let values = self.values();
        let taken: Vec<T> = indices.iter().map(|&i| values[i]).collect();
        Self::from_parts(
            Buffer::from_values(&taken),
            take_validity(self.validity.as_ref(), indices),
            indices.len(),
        )
    }

    fn concat_impl(parts: &[&Self]) -> Self {
        let len = parts.iter().map(|p| p.len).sum();
        let mut values = Vec::with_capacity(len);
        for p in parts {
            values.extend_from_slice(p.values());
        }
        let validity = concat_validity(parts.iter().map(|p| (p.validity.as_ref(), p.len)));
        Self::from_parts(Buffer::from_values(&values), validity, len)
    }
}

impl<T: NativeType> From<Vec<T>> for PrimitiveArray<T> {
    fn from(values: Vec<T>) -> Self {
        Self::from_values(values)
    }
}

impl<T: NativeType> From<Vec<Option<T>>> for PrimitiveArray<T> {
    fn from(values: Vec<Option<T>>) -> Self {
        values.into_iter().collect()
    }
}

impl<T: NativeType> FromIterator<Option<T>> for PrimitiveArray<T> {
    fn from_iter<I: IntoIterator<Item = Option<T>>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let mut b = PrimitiveBuilder::with_capacity(iter.size_hint().0);
        for v in iter {
            b.append_option(v);
        }
        b.finish()
    }
}

impl<T: NativeType> fmt::Debug for PrimitiveArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(DebugOption))
            .finish()
    }
}

impl<T: NativeType> PartialEq for PrimitiveArray<T> {
    /// Arrays are equal when they have the same length, the same nulls and the same values
    /// where not null.
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

/// Builds a [`PrimitiveArray`] value by value.
///
/// ```
/// use wasmorch::arrow::Float64Array;
/// let mut b = Float64Array::builder(2);
/// b.append_value(1.5);
/// b.append_null();
/// let a = b.finish();
/// assert_eq!(a.get(0), Some(1.5));
/// assert!(a.is_null(1));
/// ```
pub struct PrimitiveBuilder<T: NativeType> {
    values: Vec<T>,
    validity: Option<BitmapBuilder>,
}

impl<T: NativeType> PrimitiveBuilder<T> {
    /// A builder with room for `capacity` values.
    pub fn with_capacity(capacity: usize) -> Self {
        PrimitiveBuilder {
            values: Vec::with_capacity(capacity),
            validity: None,
        }
    }

    /// Appends a value.
    pub fn append_value(&mut self, v: T) {
        self.values.push(v);
        if let Some(b) = &mut self.validity {
            b.push(true);
        }
    }

    /// Appends a null.
    pub fn append_null(&mut self) {
        let len = self.values.len();
        self.validity
            .get_or_insert_with(|| BitmapBuilder::all_set(len))
            .push(false);
        self.values.push(T::default());
    }

    /// Appends a value or a null.
    pub fn append_option(&mut self, v: Option<T>) {
        match v {
            Some(v) => self.append_value(v),
            None => self.append_null(),
        }
    }

    /// The number of values appended so far.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether nothing was appended yet.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The finished array.
    pub fn finish(self) -> PrimitiveArray<T> {
        let len = self.values.len();
        PrimitiveArray::from_parts(
            Buffer::from_values(&self.values),
            self.validity.map(BitmapBuilder::finish),
            len,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Boolean arrays

/// A column of booleans, bit-packed, with optional nulls.
///
/// ```
/// use wasmorch::arrow::BooleanArray;
/// let a: BooleanArray = vec![Some(true), None, Some(false)].into_iter().collect();
/// assert_eq!(a.iter().collect::<Vec<_>>(), vec![Some(true), None, Some(false)]);
/// ```
#[derive(Clone)]
pub struct BooleanArray {
    values: Bitmap,
    validity: Option<Bitmap>,
    null_count: usize,
}

impl BooleanArray {
    pub(crate) fn from_parts(values: Bitmap, validity: Option<Bitmap>) -> Self {
        let validity = normalize(validity);
        if let Some(v) = &validity {
            assert_eq!(v.len(), values.len());
        }
        BooleanArray {
            null_count: null_count_of(&validity),
            values,
            validity,
        }
    }

    /// A builder with room for `capacity` values.
    pub fn builder(capacity: usize) -> BooleanBuilder {
        BooleanBuilder::with_capacity(capacity)
    }

    /// The number of values, nulls included.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the array has no values.
    pub fn is_empty(&self) -> bool {
        self.values.len() == 0
    }

    /// The number of nulls.
    pub fn null_count(&self) -> usize {
        self.null_count
    }

    /// Whether value `i` is null.
    pub fn is_null(&self, i: usize) -> bool {
        assert!(
            i < self.len(),
            "index {} out of range for {} values",
            i,
            self.len()
        );
        self.validity.as_ref().map_or(false, |v| !v.get(i))
    }

    /// Whether value `i` is not null.
    pub fn is_valid(&self, i: usize) -> bool {
        !self.is_null(i)
    }

    /// Value `i`, ignoring validity.
    pub fn value(&self, i: usize) -> bool {
        self.values.get(i)
    }

    /// Value `i`, or `None` if it is null.
    pub fn get(&self, i: usize) -> Option<bool> {
        if self.is_null(i) {
            None
        } else {
            Some(self.values.get(i))
        }
    }

    /// The values, with `None` for nulls.
    pub fn iter(&self) -> impl Iterator<Item = Option<bool>> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    pub(crate) fn values_bitmap(&self) -> &Bitmap {
        &self.values
    }

    fn take_impl(&self, indices: &[usize]) -> Self {
        let mut values = BitmapBuilder::with_capacity(indices.len());
        for &i in indices {
            values.push(self.values.get(i));
        }
        Self::from_parts(
            values.finish(),
            take_validity(self.validity.as_ref(), indices),
        )
    }

    fn concat_impl(parts: &[&Self]) -> Self {
        let len = parts.iter().map(|p| p.len()).sum();
        let mut values = BitmapBuilder::with_capacity(len);
        for p in parts {
            for i in 0..p.len() {
                values.push(p.values.get(i));
            }
        }
        let validity = concat_validity(parts.iter().map(|p| (p.validity.as_ref(), p.len())));
        Self::from_parts(values.finish(), validity)
    }
}

impl From<Vec<bool>> for BooleanArray {
    fn from(values: Vec<bool>) -> Self {
        values.into_iter().map(Some).collect()
    }
}

impl From<Vec<Option<bool>>> for BooleanArray {
    fn from(values: Vec<Option<bool>>) -> Self {
        values.into_iter().collect()
    }
}

impl FromIterator<Option<bool>> for BooleanArray {
    fn from_iter<I: IntoIterator<Item = Option<bool>>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let mut b = BooleanBuilder::with_capacity(iter.size_hint().0);
        for v in iter {
            b.append_option(v);
        }
        b.finish()
    }
}

impl fmt::Debug for BooleanArray {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(DebugOption))
            .finish()
    }
}

impl PartialEq for BooleanArray {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// Builds a [`BooleanArray`] value by value.
pub struct BooleanBuilder {
    values: BitmapBuilder,
    validity: Option<BitmapBuilder>,
}

impl BooleanBuilder {
    /// A builder with room for `capacity` values.
    pub fn with_capacity(capacity: usize) -> Self {
        BooleanBuilder {
            values: BitmapBuilder::with_capacity(capacity),
            validity: None,
        }
    }

    /// Appends a value.
    pub fn append_value(&mut self, v: bool) {
        self.values.push(v);
        if let Some(b) = &mut self.validity {
            b.push(true);
        }
    }

    /// Appends a null.
    pub fn append_null(&mut self) {
        let len = self.values.len();
        self.validity
            .get_or_insert_with(|| BitmapBuilder::all_set(len))
            .push(false);
        self.values.push(false);
    }

    /// Appends a value or a null.
    pub fn append_option(&mut self, v: Option<bool>) {
        match v {
            Some(v) => self.append_value(v),
            None => self.append_null(),
        }
    }

    /// The number of values appended so far.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether nothing was appended yet.
    pub fn is_empty(&self) -> bool {
        self.values.len() == 0
    }

    /// The finished array.
    pub fn finish(self) -> BooleanArray {
        BooleanArray::from_parts(
            self.values.finish(),
            self.validity.map(BitmapBuilder::finish),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Variable-length arrays

/// The value type of a variable-length column: `str` for `utf8`, `[u8]` for `binary`. Sealed.
pub trait VarType: sealed::Sealed + fmt::Debug + PartialEq + 'static {
    /// The type's value bytes.
    #[doc(hidden)]
    fn as_bytes(&self) -> &[u8];
    /// A value from bytes that [`VarType::validate`] accepted.
    #[doc(hidden)]
    fn from_validated(bytes: &[u8]) -> &Self;
    /// Checks that the bytes of every value are a valid `Self`.
    #[doc(hidden)]
    fn validate(data: &[u8], offsets: &[i32]) -> std::result::Result<(), String>;
}

impl sealed::Sealed for str {}
impl VarType for str {
    fn as_bytes(&self) -> &[u8] {
        str::as_bytes(self)
    }

    fn from_validated(bytes: &[u8]) -> &Self {
        // SAFETY: VarArray<str> is only built from data that `validate` below accepted (or
        // from `&str` values), so every value range is UTF-8 and starts and ends at char
        // boundaries; `bytes` is exactly one value's range.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    fn validate(data: &[u8], offsets: &[i32]) -> std::result::Result<(), String> {
        let (first, last) = (offsets[0] as usize, offsets[offsets.len() - 1] as usize);
        std::str::from_utf8(&data[first..last])
            .map_err(|e| format!("invalid UTF-8 at byte {}", first + e.valid_up_to()))?;
        // Valid UTF-8 as a whole; each value must also start on a char boundary.
        for (row, &o) in offsets.iter().enumerate() {
            let o = o as usize;
            if o < last && (data[o] as i8) < -0x40 {
                return Err(format!(
                    "value {} starts inside a multi-byte UTF-8 character",
                    row
                ));
            }
        }
        Ok(())
    }
}

impl sealed::Sealed for [u8] {}
impl VarType for [u8] {
    fn as_bytes(&self) -> &[u8] {
        self
    }

    fn from_validated(bytes: &[u8]) -> &Self {
        bytes
    }

    fn validate(_: &[u8], _: &[i32]) -> std::result::Result<(), String> {
        Ok(())
    }
}

/// A column of strings (`VarArray<str>`, [`StringArray`]) or byte strings (`VarArray<[u8]>`,
/// [`BinaryArray`]) with 32-bit offsets and optional nulls. Values are borrowed from the
/// column's data without copying.
///
/// ```
/// use wasmorch::arrow::StringArray;
/// let a: StringArray = vec![Some("a"), None, Some("ccc")].into_iter().collect();
/// assert_eq!(a.get(2), Some("ccc"));
/// assert_eq!(a.iter().collect::<Vec<_>>(), vec![Some("a"), None, Some("ccc")]);
/// ```
pub struct VarArray<V: VarType + ?Sized> {
    offsets: Buffer,
    data: Buffer,
    validity: Option<Bitmap>,
    len: usize,
    null_count: usize,
    _type: Of<V>,
}

/// A `utf8` column.
pub type StringArray = VarArray<str>;
/// A `binary` column.
pub type BinaryArray = VarArray<[u8]>;

// Derived Clone would require V: Clone, which unsized types are not.
impl<V: VarType + ?Sized> Clone for VarArray<V> {
    fn clone(&self) -> Self {
        VarArray {
            offsets: self.offsets.clone(),
            data: self.data.clone(),
            validity: self.validity.clone(),
            len: self.len,
            null_count: self.null_count,
            _type: Default::default(),
        }
    }
}

impl<V: VarType + ?Sized> VarArray<V> {
    /// An array from IPC buffers, checking the offsets and, for strings, UTF-8. An empty offsets
    /// buffer is accepted for an empty array.
    pub(crate) fn try_from_parts(
        offsets: Buffer,
        data: Buffer,
        validity: Option<Bitmap>,
        len: usize,
    ) -> std::result::Result<Self, String> {
        let offsets = if len == 0 && offsets.len() < 4 {
            Buffer::from_values(&[0i32])
        } else {
            offsets.aligned_for::<i32>()
        };
        if offsets.len() < (len + 1) * 4 {
            return Err(format!(
                "the offsets buffer has {} bytes, {} values need {}",
                offsets.len(),
                len,
                (len + 1) * 4
            ));
        }
        let o = offsets.typed::<i32>(len + 1);
        if o[0] < 0 || o.windows(2).any(|w| w[1] < w[0]) {
            return Err("the offsets are negative or decreasing".to_string());
        }
        if o[len] as usize > data.len() {
            return Err(format!(
                "the offsets reach byte {} of a {}-byte data buffer",
                o[len],
                data.len()
            ));
        }
        V::validate(data.as_slice(), o)?;
        let validity = normalize(validity);
        Ok(VarArray {
            null_count: null_count_of(&validity),
            offsets,
            data,
            validity,
            len,
            _type: Default::default(),
        })
    }

    /// A builder with room for `capacity` values and `data_capacity` bytes of data.
    pub fn builder(capacity: usize, data_capacity: usize) -> VarBuilder<V> {
        VarBuilder::with_capacity(capacity, data_capacity)
    }

    /// An array of the given values, none null.
    pub fn from_values<S: AsRef<V>>(values: impl IntoIterator<Item = S>) -> Self {
        values.into_iter().map(Some).collect()
    }

    /// The number of values, nulls included.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the array has no values.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of nulls.
    pub fn null_count(&self) -> usize {
        self.null_count
    }

    /// Whether value `i` is null.
    pub fn is_null(&self, i: usize) -> bool {
        assert!(
            i < self.len,
            "index {} out of range for {} values",
            i,
            self.len
        );
        self.validity.as_ref().map_or(false, |v| !v.get(i))
    }

    /// Whether value `i` is not null.
    pub fn is_valid(&self, i: usize) -> bool {
        !self.is_null(i)
    }

    /// The `len + 1` offsets of the values in the data buffer, in place.
    pub fn offsets(&self) -> &[i32] {
        self.offsets.typed::<i32>(self.len + 1)
    }

    /// Value `i`, ignoring validity (a null slot usually holds an empty value).
    pub fn value(&self, i: usize) -> &V {
        let o = self.offsets();
        V::from_validated(&self.data.as_slice()[o[i] as usize..o[i + 1] as usize])
    }

    /// Value `i`, or `None` if it is null.
    pub fn get(&self, i: usize) -> Option<&V> {
        if self.is_null(i) {
            None
        } else {
            Some(self.value(i))
        }
    }

    /// The values, with `None` for nulls.
    pub fn iter(&self) -> impl Iterator<Item = Option<&V>> + '_ {
        (0..self.len).map(move |i| self.get(i))
    }

    pub(crate) fn offsets_buffer(&self) -> &Buffer {
        &self.offsets
    }

    /// The used part of the data buffer, from the first offset to the last.
    pub(crate) fn data_bytes(&self) -> &[u8] {
        &self.data.as_slice()[..self.offsets()[self.len] as usize]
    }

    fn take_impl(&self, indices: &[usize]) -> Self {
        let o = self.offsets();
        let bytes: usize = indices.iter().map(|&i| (o[i + 1] - o[i]) as usize).sum();
        let mut b = VarBuilder::<V>::with_capacity(indices.len(), bytes);
        for &i in indices {
            b.append_value(self.value(i));
        }
        let mut a = b.finish();
        a.validity = take_validity(self.validity.as_ref(), indices);
        a.null_count = null_count_of(&a.validity);
        a
    }

    fn concat_impl(parts: &[&Self]) -> Self {
        let len = parts.iter().map(|p| p.len).sum();
        let bytes = parts.iter().map(|p| p.data_bytes().len()).sum();
        let mut b = VarBuilder::<V>::with_capacity(len, bytes);
        for p in parts {
            for i in 0..p.len {
                b.append_value(p.value(i));
            }
        }
        let mut a = b.finish();
        a.validity = concat_validity(parts.iter().map(|p| (p.validity.as_ref(), p.len)));
        a.null_count = null_count_of(&a.validity);
        a
    }
}

impl<V: VarType + ?Sized, S: AsRef<V>> FromIterator<Option<S>> for VarArray<V> {
    fn from_iter<I: IntoIterator<Item = Option<S>>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let mut b = VarBuilder::with_capacity(iter.size_hint().0, 0);
        for v in iter {
            match v {
                Some(v) => b.append_value(v.as_ref()),
                None => b.append_null(),
            }
        }
        b.finish()
    }
}

impl<V: VarType + ?Sized> fmt::Debug for VarArray<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(DebugOption))
            .finish()
    }
}

impl<V: VarType + ?Sized> PartialEq for VarArray<V> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

/// Builds a [`StringArray`] or [`BinaryArray`] value by value.
///
/// ```
/// use wasmorch::arrow::StringArray;
/// let mut b = StringArray::builder(2, 16);
/// b.append_value("hello");
/// b.append_null();
/// assert_eq!(b.finish().get(0), Some("hello"));
/// ```
pub struct VarBuilder<V: VarType + ?Sized> {
    offsets: Vec<i32>,
    data: Vec<u8>,
    validity: Option<BitmapBuilder>,
    _type: Of<V>,
}

/// Builds a [`StringArray`].
pub type StringBuilder = VarBuilder<str>;
/// Builds a [`BinaryArray`].
pub type BinaryBuilder = VarBuilder<[u8]>;

impl<V: VarType + ?Sized> VarBuilder<V> {
    /// A builder with room for `capacity` values and `data_capacity` bytes of data.
    pub fn with_capacity(capacity: usize, data_capacity: usize) -> Self {
        let mut offsets = Vec::with_capacity(capacity + 1);
        offsets.push(0);
        VarBuilder {
            offsets,
            data: Vec::with_capacity(data_capacity),
            validity: None,
            _type: Default::default(),
        }
    }

    fn push_offset(&mut self) {
        let end = i32::try_from(self.data.len())
            .expect("a utf8 or binary column holds at most 2 GiB of data (32-bit offsets)");
        self.offsets.push(end);
    }

    /// Appends a value.
    ///
    /// # Panics
    ///
    /// If the column's data would exceed 2 GiB, the limit of 32-bit offsets.
    pub fn append_value(&mut self, v: &V) {
        self.data.extend_from_slice(v.as_bytes());
        self.push_offset();
        if let Some(b) = &mut self.validity {
            b.push(true);
        }
    }

    /// Appends a null (an empty value marked invalid).
    pub fn append_null(&mut self) {
        let len = self.len();
        self.validity
            .get_or_insert_with(|| BitmapBuilder::all_set(len))
            .push(false);
        self.push_offset();
    }

    /// Appends a value or a null.
    pub fn append_option(&mut self, v: Option<&V>) {
        match v {
            Some(v) => self.append_value(v),
            None => self.append_null(),
        }
    }

    /// The number of values appended so far.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether nothing was appended yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The finished array.
    pub fn finish(self) -> VarArray<V> {
        let len = self.len();
        let validity = normalize(self.validity.map(BitmapBuilder::finish));
        VarArray {
            null_count: null_count_of(&validity),
            offsets: Buffer::from_values(&self.offsets),
            data: Buffer::from_values(&self.data),
            validity,
            len,
            _type: Default::default(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The Array enum

/// A column of any supported type.
///
/// Match on the variant, or use [`downcast`](Array::downcast) to get the typed array:
///
/// ```
/// use wasmorch::arrow::{Array, Int64Array, StringArray};
/// let col = Array::from(Int64Array::from(vec![1, 2, 3]));
/// let ints: &Int64Array = col.downcast().unwrap();
/// assert_eq!(ints.values(), &[1, 2, 3]);
/// assert!(col.downcast::<StringArray>().is_none());
/// ```
#[derive(Clone, PartialEq)]
pub enum Array {
    /// `bool`
    Bool(BooleanArray),
    /// `int8`
    Int8(Int8Array),
    /// `int16`
    Int16(Int16Array),
    /// `int32`
    Int32(Int32Array),
    /// `int64`
    Int64(Int64Array),
    /// `uint8`
    UInt8(UInt8Array),
    /// `uint16`
    UInt16(UInt16Array),
    /// `uint32`
    UInt32(UInt32Array),
    /// `uint64`
    UInt64(UInt64Array),
    /// `float32`
    Float32(Float32Array),
    /// `float64`
    Float64(Float64Array),
    /// `utf8`
    Utf8(StringArray),
    /// `binary`
    Binary(BinaryArray),
    /// `date32`: days since 1970-01-01.
    Date32(Date32Array),
    /// `timestamp`: units since the epoch, the unit, and an optional time zone.
    Timestamp(TimestampArray, TimeUnit, Option<String>),
}

/// Evaluates `$body` with `$a` bound to the typed array inside any variant.
macro_rules! with_array {
    ($array:expr, $a:ident => $body:expr) => {
        match $array {
            Array::Bool($a) => $body,
            Array::Int8($a) => $body,
            Array::Int16($a) => $body,
            Array::Int32($a) => $body,
            Array::Int64($a) => $body,
            Array::UInt8($a) => $body,
            Array::UInt16($a) => $body,
            Array::UInt32($a) => $body,
            Array::UInt64($a) => $body,
            Array::Float32($a) => $body,
            Array::Float64($a) => $body,
            Array::Utf8($a) => $body,
            Array::Binary($a) => $body,
            Array::Date32($a) => $body,
            Array::Timestamp($a, _, _) => $body,
        }
    };
}

/// Builds the same variant from `$body`, with `$a` bound to the typed array.
macro_rules! map_array {
    ($array:expr, $a:ident => $body:expr) => {
        match $array {
            Array::Bool($a) => Array::Bool($body),
            Array::Int8($a) => Array::Int8($body),
            Array::Int16($a) => Array::Int16($body),
            Array::Int32($a) => Array::Int32($body),
            Array::Int64($a) => Array::Int64($body),
            Array::UInt8($a) => Array::UInt8($body),
            Array::UInt16($a) => Array::UInt16($body),
            Array::UInt32($a) => Array::UInt32($body),
            Array::UInt64($a) => Array::UInt64($body),
            Array::Float32($a) => Array::Float32($body),
            Array::Float64($a) => Array::Float64($body),
            Array::Utf8($a) => Array::Utf8($body),
            Array::Binary($a) => Array::Binary($body),
            Array::Date32($a) => Array::Date32($body),
            Array::Timestamp($a, unit, tz) => Array::Timestamp($body, *unit, tz.clone()),
        }
    };
}

impl Array {
    /// An empty column of type `data_type`.
    pub fn new_empty(data_type: &DataType) -> Array {
        match data_type {
            DataType::Bool => Array::Bool(BooleanBuilder::with_capacity(0).finish()),
            DataType::Int8 => Array::Int8(PrimitiveArray::from_values(Vec::new())),
            DataType::Int16 => Array::Int16(PrimitiveArray::from_values(Vec::new())),
            DataType::Int32 => Array::Int32(PrimitiveArray::from_values(Vec::new())),
            DataType::Int64 => Array::Int64(PrimitiveArray::from_values(Vec::new())),
            DataType::UInt8 => Array::UInt8(PrimitiveArray::from_values(Vec::new())),
            DataType::UInt16 => Array::UInt16(PrimitiveArray::from_values(Vec::new())),
            DataType::UInt32 => Array::UInt32(PrimitiveArray::from_values(Vec::new())),
            DataType::UInt64 => Array::UInt64(PrimitiveArray::from_values(Vec::new())),
            DataType::Float32 => Array::Float32(PrimitiveArray::from_values(Vec::new())),
            DataType::Float64 => Array::Float64(PrimitiveArray::from_values(Vec::new())),
            DataType::Utf8 => Array::Utf8(StringBuilder::with_capacity(0, 0).finish()),
            DataType::Binary => Array::Binary(BinaryBuilder::with_capacity(0, 0).finish()),
            DataType::Date32 => Array::Date32(PrimitiveArray::from_values(Vec::new())),
            DataType::Timestamp(unit, tz) => {
                Array::Timestamp(PrimitiveArray::from_values(Vec::new()), *unit, tz.clone())
            }
        }
    }

    /// The column's type.
    pub fn data_type(&self) -> DataType {
        match self {
            Array::Bool(_) => DataType::Bool,
            Array::Int8(_) => DataType::Int8,
            Array::Int16(_) => DataType::Int16,
            Array::Int32(_) => DataType::Int32,
            Array::Int64(_) => DataType::Int64,
            Array::UInt8(_) => DataType::UInt8,
            Array::UInt16(_) => DataType::UInt16,
            Array::UInt32(_) => DataType::UInt32,
            Array::UInt64(_) => DataType::UInt64,
            Array::Float32(_) => DataType::Float32,
            Array::Float64(_) => DataType::Float64,
            Array::Utf8(_) => DataType::Utf8,
            Array::Binary(_) => DataType::Binary,
            Array::Date32(_) => DataType::Date32,
            Array::Timestamp(_, unit, tz) => DataType::Timestamp(*unit, tz.clone()),
        }
    }

    /// The number of values, nulls included.
    pub fn len(&self) -> usize {
        with_array!(self, a => a.len())
    }

    /// Whether the column has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of nulls.
    pub fn null_count(&self) -> usize {
        with_array!(self, a => a.null_count())
    }

    /// Whether value `i` is null.
    ///
    /// # Panics
    ///
    /// If `i >= len()`.
    pub fn is_null(&self, i: usize) -> bool {
        with_array!(self, a => a.is_null(i))
    }

    /// Whether value `i` is not null.
    pub fn is_valid(&self, i: usize) -> bool {
        !self.is_null(i)
    }

    /// The typed array inside, if it has type `T`; see [`FromArray`] for which types match.
    pub fn downcast<T: FromArray + ?Sized>(&self) -> Option<&T> {
        T::from_array(self)
    }

    pub(crate) fn validity(&self) -> Option<&Bitmap> {
        with_array!(self, a => a.validity.as_ref())
    }

    /// The rows at `indices`, in that order (an index may repeat).
    pub fn take(&self, indices: &[usize]) -> Result<Array> {
        let len = self.len();
        if let Some(&bad) = indices.iter().find(|&&i| i >= len) {
            return Err(Error::msg(format!(
                "take: index {} is out of range for a column of {} rows",
                bad, len
            )));
        }
        Ok(map_array!(self, a => a.take_impl(indices)))
    }

    /// The rows where `mask` is true, in order.
    pub fn filter(&self, mask: &[bool]) -> Result<Array> {
        if mask.len() != self.len() {
            return Err(Error::msg(format!(
                "filter: the mask has {} entries for a column of {} rows",
                mask.len(),
                self.len()
            )));
        }
        let indices: Vec<usize> = (0..mask.len()).filter(|&i| mask[i]).collect();
        Ok(map_array!(self, a => a.take_impl(&indices)))
    }

    /// The columns one after another. They must all have the same type.
    pub fn concat(arrays: &[&Array]) -> Result<Array> {
        let first = match arrays.first() {
            Some(a) => *a,
            None => return Err(Error::msg("concat: no arrays to concatenate")),
        };
        let dt = first.data_type();
        if let Some(other) = arrays.iter().find(|a| a.data_type() != dt) {
            return Err(Error::msg(format!(
                "concat: cannot concatenate a {} column with a {} column",
                dt,
                other.data_type()
            )));
        }
        macro_rules! parts {
            ($variant:ident) => {
                arrays
                    .iter()
                    .map(|a| match a {
                        Array::$variant(x, ..) => x,
                        _ => unreachable!("types were checked"),
                    })
                    .collect::<Vec<_>>()
            };
        }
        Ok(match first {
            Array::Bool(_) => Array::Bool(BooleanArray::concat_impl(&parts!(Bool))),
            Array::Int8(_) => Array::Int8(PrimitiveArray::concat_impl(&parts!(Int8))),
            Array::Int16(_) => Array::Int16(PrimitiveArray::concat_impl(&parts!(Int16))),
            Array::Int32(_) => Array::Int32(PrimitiveArray::concat_impl(&parts!(Int32))),
            Array::Int64(_) => Array::Int64(PrimitiveArray::concat_impl(&parts!(Int64))),
            Array::UInt8(_) => Array::UInt8(PrimitiveArray::concat_impl(&parts!(UInt8))),
            Array::UInt16(_) => Array::UInt16(PrimitiveArray::concat_impl(&parts!(UInt16))),
            Array::UInt32(_) => Array::UInt32(PrimitiveArray::concat_impl(&parts!(UInt32))),
            Array::UInt64(_) => Array::UInt64(PrimitiveArray::concat_impl(&parts!(UInt64))),
            Array::Float32(_) => Array::Float32(PrimitiveArray::concat_impl(&parts!(Float32))),
            Array::Float64(_) => Array::Float64(PrimitiveArray::concat_impl(&parts!(Float64))),
            Array::Utf8(_) => Array::Utf8(VarArray::concat_impl(&parts!(Utf8))),
            Array::Binary(_) => Array::Binary(VarArray::concat_impl(&parts!(Binary))),
            Array::Date32(_) => Array::Date32(PrimitiveArray::concat_impl(&parts!(Date32))),
            Array::Timestamp(_, unit, tz) => Array::Timestamp(
                PrimitiveArray::concat_impl(&parts!(Timestamp)),
                *unit,
                tz.clone(),
            ),
        })
    }
}

impl fmt::Debug for Array {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.data_type())?;
        with_array!(self, a => a.fmt(f))
    }
}

impl<T: NativeType> From<PrimitiveArray<T>> for Array {
    /// Wraps the array in its variant: `i32` becomes `Int32` (use `Array::Date32` for dates) and
    /// `i64` becomes `Int64` (use `Array::Timestamp` for timestamps).
    fn from(a: PrimitiveArray<T>) -> Self {
        T::into_array(a)
    }
}

impl From<BooleanArray> for Array {
    fn from(a: BooleanArray) -> Self {
        Array::Bool(a)
    }
}

impl From<StringArray> for Array {
    fn from(a: StringArray) -> Self {
        Array::Utf8(a)
    }
}

impl From<BinaryArray> for Array {
    fn from(a: BinaryArray) -> Self {
        Array::Binary(a)
    }
}

/// A typed array that [`Array::downcast`] and `RecordBatch::column_as` can return.
///
/// Primitive arrays match by physical type: [`Int32Array`] (`PrimitiveArray<i32>`) matches
/// `int32` and `date32` columns, and [`Int64Array`] matches `int64` and `timestamp` columns.
pub trait FromArray {
    /// The typed array inside `array`, if the types match.
    fn from_array(array: &Array) -> Option<&Self>;
    /// The Arrow types that match, for error messages.
    fn expected() -> &'static str;
}

impl<T: NativeType> FromArray for PrimitiveArray<T> {
    fn from_array(array: &Array) -> Option<&Self> {
        T::from_array(array)
    }

    fn expected() -> &'static str {
        T::EXPECTED
    }
}

impl FromArray for BooleanArray {
    fn from_array(array: &Array) -> Option<&Self> {
        match array {
            Array::Bool(a) => Some(a),
            _ => None,
        }
    }

    fn expected() -> &'static str {
        "bool"
    }
}

impl FromArray for StringArray {
    fn from_array(array: &Array) -> Option<&Self> {
        match array {
            Array::Utf8(a) => Some(a),
            _ => None,
        }
    }

    fn expected() -> &'static str {
        "utf8"
    }
}

impl FromArray for BinaryArray {
    fn from_array(array: &Array) -> Option<&Self> {
        match array {
            Array::Binary(a) => Some(a),
            _ => None,
        }
    }

    fn expected() -> &'static str {
        "binary"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_and_accessors() {
        let mut b = Int32Array::builder(4);
        b.append_value(1);
        b.append_null();
        b.append_option(Some(3));
        assert_eq!(b.len(), 3);
        let a = b.finish();
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![Some(1), None, Some(3)]);
        assert_eq!(a.null_count(), 1);
        assert_eq!(format!("{:?}", Array::from(a)), "int32 [1, null, 3]");

        let s: StringArray = vec![Some("é"), None, Some("")].into_iter().collect();
        assert_eq!(s.offsets(), &[0, 2, 2, 2]);
        assert_eq!(s.null_count(), 1);
        let bin = BinaryArray::from_values(vec![&b"\x00\xff"[..], b""]);
        assert_eq!(bin.value(0), b"\x00\xff");
        assert_eq!(bin.null_count(), 0);

        // A builder without nulls makes no validity bitmap.
        let all: Float64Array = vec![Some(1.0), Some(2.0)].into_iter().collect();
        assert!(Array::from(all).validity().is_none());
    }

    #[test]
    fn take_filter_concat() {
        let a = Array::from(StringArray::from_iter(vec![Some("a"), None, Some("c")]));
        let t = a.take(&[2, 1, 0, 2]).unwrap();
        assert_eq!(
            t.downcast::<StringArray>()
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            vec![Some("c"), None, Some("a"), Some("c")]
        );
        assert!(a.take(&[3]).is_err());
        let f = a.filter(&[true, false, true]).unwrap();
        assert_eq!(f.null_count(), 0);
        assert!(f.validity().is_none());
        assert!(a.filter(&[true]).is_err());

        let ts1 = Array::Timestamp(
            vec![Some(1), None].into(),
            TimeUnit::Microsecond,
            Some("UTC".into()),
        );
        let ts2 = Array::Timestamp(vec![3].into(), TimeUnit::Microsecond, Some("UTC".into()));
        let c = Array::concat(&[&ts1, &ts2]).unwrap();
        assert_eq!(
            c.data_type(),
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(
            c.downcast::<TimestampArray>()
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            vec![Some(1), None, Some(3)]
        );
        let b = Array::from(BooleanArray::from(vec![true, false]));
        assert_eq!(
            Array::concat(&[&b, &ts1]).unwrap_err().message(),
            "concat: cannot concatenate a bool column with a timestamp[us, tz=UTC] column"
        );
        let bb =
            Array::concat(&[&b, &Array::from(BooleanArray::from(vec![None, Some(true)]))]).unwrap();
        assert_eq!(
            bb.downcast::<BooleanArray>()
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            vec![Some(true), Some(false), None, Some(true)]
        );
    }

    #[test]
    fn downcast_by_physical_type() {
        let d = Array::Date32(vec![1].into());
        assert!(d.downcast::<Int32Array>().is_some());
        assert!(d.downcast::<Int64Array>().is_none());
        assert_eq!(Int64Array::expected(), "int64 or timestamp");
    }

    #[test]
    fn utf8_validation() {
        let offsets = Buffer::from_values(&[0i32, 1, 3]);
        let data = Buffer::from_values("aé".as_bytes());
        assert!(StringArray::try_from_parts(offsets.clone(), data, None, 2).is_ok());
        let bad = Buffer::from_values(&[0u8, 0xff, 0x41]);
        assert!(StringArray::try_from_parts(offsets, bad, None, 2).is_err());
        // A value boundary inside a multi-byte character.
        let split = Buffer::from_values(&[0i32, 2, 3]);
        let data = Buffer::from_values("aé".as_bytes());
        assert!(StringArray::try_from_parts(split, data, None, 2)
            .unwrap_err()
            .contains("inside a multi-byte"));
        let decreasing = Buffer::from_values(&[0i32, 2, 1]);
        let data = Buffer::from_values(&[0u8; 4]);
        assert!(BinaryArray::try_from_parts(decreasing, data, None, 2).is_err());
        let empty = BinaryArray::try_from_parts(Buffer::empty(), Buffer::empty(), None, 0).unwrap();
        assert_eq!(empty.offsets(), &[0]);
    }
}
