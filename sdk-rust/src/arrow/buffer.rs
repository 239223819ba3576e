//! Memory behind Arrow arrays: 8-byte-aligned, shared, immutable byte buffers and bitmaps.
//!
//! A record batch read from an IPC stream keeps its whole message body in one [`AlignedBytes`]
//! and its columns are [`Buffer`] views into it, so reading a column as `&[i64]` copies nothing.

use std::fmt;
use std::marker::PhantomData;
use std::mem;
use std::sync::Arc;

use super::array::{Array, PrimitiveArray};
use super::datatype::DataType;

#[cfg(target_endian = "big")]
compile_error!("wasmorch's Arrow code assumes a little-endian target, as WebAssembly is");

mod sealed {
    pub trait Sealed {}
}

/// A fixed-width Rust number that is the value type of a primitive Arrow column: `i8`..`i64`,
/// `u8`..`u64`, `f32` and `f64`.
///
/// Every bit pattern of these types is a valid value and they have no padding, which is what
/// lets the SDK view Arrow memory as `&[T]` without copying. The trait is sealed.
pub trait NativeType:
    Copy + Default + PartialEq + PartialOrd + fmt::Debug + Send + Sync + 'static + sealed::Sealed
{
    /// The Arrow type a `PrimitiveArray<Self>` converts to with `Array::from`.
    #[doc(hidden)]
    const DATA_TYPE: DataType;
    /// Wraps an array of this type in its [`Array`] variant (`i32` is `Int32`, `i64` `Int64`).
    #[doc(hidden)]
    fn into_array(a: PrimitiveArray<Self>) -> Array;
    /// The array of `a` if its values have this physical type: `i32` matches `Int32` and
    /// `Date32`, `i64` matches `Int64` and `Timestamp`.
    #[doc(hidden)]
    fn from_array(a: &Array) -> Option<&PrimitiveArray<Self>>;
    /// The Arrow types `from_array` accepts, for error messages.
    #[doc(hidden)]
    const EXPECTED: &'static str;
}

macro_rules! native {
    ($($t:ty => $variant:ident, $name:literal;)*) => {$(
        impl sealed::Sealed for $t {}
        impl NativeType for $t {
            const DATA_TYPE: DataType = DataType::$variant;
            const EXPECTED: &'static str = $name;
            fn into_array(a: PrimitiveArray<Self>) -> Array {
                Array::$variant(a)
            }
            fn from_array(a: &Array) -> Option<&PrimitiveArray<Self>> {
                match a {
                    Array::$variant(x) => Some(x),
                    _ => None,
                }
            }
        }
    )*};
}
native! {
    i8 => Int8, "int8";
    i16 => Int16, "int16";
    u8 => UInt8, "uint8";
    u16 => UInt16, "uint16";
    u32 => UInt32, "uint32";
    u64 => UInt64, "uint64";
    f32 => Float32, "float32";
    f64 => Float64, "float64";
}

impl sealed::Sealed for i32 {}
impl NativeType for i32 {
    const DATA_TYPE: DataType = DataType::Int32;
    const EXPECTED: &'static str = "int32 or date32";
    fn into_array(a: PrimitiveArray<Self>) -> Array {
        Array::Int32(a)
    }
    fn from_array(a: &Array) -> Option<&PrimitiveArray<Self>> {
        match a {
            Array::Int32(x) | Array::Date32(x) => Some(x),
            _ => None,
        }
    }
}

impl sealed::Sealed for i64 {}
impl NativeType for i64 {
    const DATA_TYPE: DataType = DataType::Int64;
    const EXPECTED: &'static str = "int64 or timestamp";
    fn into_array(a: PrimitiveArray<Self>) -> Array {
        Array::Int64(a)
    }
    fn from_array(a: &Array) -> Option<&PrimitiveArray<Self>> {
        match a {
            Array::Int64(x) | Array::Timestamp(x, _, _) => Some(x),
            _ => None,
        }
    }
}

/// Views a slice of numbers as its bytes (little-endian on every supported target).
pub(crate) fn as_bytes<T: NativeType>(values: &[T]) -> &[u8] {
    // SAFETY: T is one of the primitive number types (NativeType is sealed): it has no padding
    // and every byte of it is initialized, so its memory is a valid [u8] of size_of_val bytes,
    // which live as long as `values`.
    unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), mem::size_of_val(values)) }
}

/// Owned bytes whose start is aligned to 8, so any primitive column inside at an 8-aligned
/// offset can be viewed in place.
pub(crate) struct AlignedBytes {
    words: Vec<u64>,
    len: usize,
}

impl AlignedBytes {
    /// `len` zero bytes.
    pub(crate) fn zeroed(len: usize) -> Self {
        AlignedBytes {
            words: vec![0; (len + 7) / 8],
            len,
        }
    }

    /// A copy of `bytes`.
    pub(crate) fn copy_from(bytes: &[u8]) -> Self {
        let mut a = AlignedBytes::zeroed(bytes.len());
        a.as_mut_slice().copy_from_slice(bytes);
        a
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: the words are initialized u64s, so their memory is valid bytes, and
        // `len <= words.len() * 8` by construction; the slice borrows `self`.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.len) }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in as_slice, and every byte pattern written through the slice is a valid
        // u64 byte; the mutable borrow of `self` makes the slice unique.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast::<u8>(), self.len) }
    }
}

/// An immutable, cheaply cloned view of bytes in shared [`AlignedBytes`].
#[derive(Clone)]
pub(crate) struct Buffer {
    data: Arc<AlignedBytes>,
    offset: usize,
    len: usize,
}

impl Buffer {
    #[cfg(test)]
    pub(crate) fn empty() -> Self {
        Buffer::from_aligned(AlignedBytes::zeroed(0))
    }

    pub(crate) fn from_aligned(data: AlignedBytes) -> Self {
        let len = data.len;
        Buffer {
            data: Arc::new(data),
            offset: 0,
            len,
        }
    }

    /// A view of `len` bytes at `offset` of `data`; the caller checked the range.
    pub(crate) fn view(data: &Arc<AlignedBytes>, offset: usize, len: usize) -> Self {
        assert!(offset + len <= data.len, "buffer view out of range");
        Buffer {
            data: Arc::clone(data),
            offset,
            len,
        }
    }

    /// A buffer holding a copy of `values`.
    pub(crate) fn from_values<T: NativeType>(values: &[T]) -> Self {
        Buffer::from_aligned(AlignedBytes::copy_from(as_bytes(values)))
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.data.as_slice()[self.offset..self.offset + self.len]
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the view can be read as `&[T]` in place.
    pub(crate) fn is_aligned_for<T: NativeType>(&self) -> bool {
        self.as_slice().as_ptr() as usize % mem::align_of::<T>() == 0
    }

    /// This buffer if it is aligned for `T`, else an aligned copy of it.
    pub(crate) fn aligned_for<T: NativeType>(self) -> Self {
        if self.is_aligned_for::<T>() {
            self
        } else {
            Buffer::from_aligned(AlignedBytes::copy_from(self.as_slice()))
        }
    }

    /// The first `count` values of type `T`, in place.
    ///
    /// # Panics
    ///
    /// If the buffer is not aligned for `T` or shorter than `count` values; the array
    /// constructors guarantee neither happens.
    pub(crate) fn typed<T: NativeType>(&self, count: usize) -> &[T] {
        let bytes = self.as_slice();
        assert!(
            count * mem::size_of::<T>() <= bytes.len(),
            "buffer of {} bytes is too short for {} values",
            bytes.len(),
            count
        );
        assert!(self.is_aligned_for::<T>(), "buffer is not aligned");
        // SAFETY: the pointer is aligned for T and `count` values fit in the borrowed bytes
        // (both asserted above); T is a sealed primitive number type for which every bit
        // pattern is valid; the returned slice borrows `self`, which keeps the bytes alive and
        // immutable.
        unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<T>(), count) }
    }
}

/// A bitmap of `len` bits, least significant bit first (Arrow's validity and boolean layout).
#[derive(Clone)]
pub(crate) struct Bitmap {
    buf: Buffer,
    len: usize,
}

impl Bitmap {
    /// A bitmap over `buf`, which must hold at least `(len + 7) / 8` bytes.
    pub(crate) fn new(buf: Buffer, len: usize) -> Self {
        assert!(buf.len() * 8 >= len, "bitmap buffer too short");
        Bitmap { buf, len }
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> bool {
        assert!(i < self.len, "bit {} out of range for {} bits", i, self.len);
        self.buf.as_slice()[i / 8] & (1 << (i % 8)) != 0
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The bytes holding the bits; bits past `len` in the last byte are unspecified.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf.as_slice()[..(self.len + 7) / 8]
    }

    /// The number of bits that are 0.
    pub(crate) fn count_zeros(&self) -> usize {
        let bytes = self.bytes();
        let full = self.len / 8;
        let mut ones: usize = bytes[..full].iter().map(|b| b.count_ones() as usize).sum();
        if self.len % 8 != 0 {
            let mask = (1u8 << (self.len % 8)) - 1;
            ones += (bytes[full] & mask).count_ones() as usize;
        }
        self.len - ones
    }
}

/// Builds a [`Bitmap`] bit by bit.
#[derive(Default)]
pub(crate) struct BitmapBuilder {
    bytes: Vec<u8>,
    len: usize,
}

impl BitmapBuilder {
    pub(crate) fn with_capacity(bits: usize) -> Self {
        BitmapBuilder {
            bytes: Vec::with_capacity((bits + 7) / 8),
            len: 0,
        }
    }

    /// `len` bits, all set.
    pub(crate) fn all_set(len: usize) -> Self {
        let mut bytes = vec![0xff; (len + 7) / 8];
        if len % 8 != 0 {
            if let Some(last) = bytes.last_mut() {
                *last = (1u8 << (len % 8)) - 1;
            }
        }
        BitmapBuilder { bytes, len }
    }

    #[inline]
    pub(crate) fn push(&mut self, bit: bool) {
        if self.len % 8 == 0 {
            self.bytes.push(0);
        }
        if bit {
            let last = self.bytes.len() - 1;
            self.bytes[last] |= 1 << (self.len % 8);
        }
        self.len += 1;
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn finish(self) -> Bitmap {
        Bitmap::new(
            Buffer::from_aligned(AlignedBytes::copy_from(&self.bytes)),
            self.len,
        )
    }
}

/// Marker to keep `PhantomData<T>` uses short in array types.
pub(crate) type Of<T> = PhantomData<fn() -> T>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_views() {
        let b = Buffer::from_values(&[1i64, -2, 3]);
        assert_eq!(b.typed::<i64>(3), &[1, -2, 3]);
        assert_eq!(b.len(), 24);
        let data = Arc::new(AlignedBytes::copy_from(&[0, 1, 0, 0, 0, 2, 0, 0, 0]));
        let v = Buffer::view(&data, 1, 8);
        assert!(!v.is_aligned_for::<i32>());
        let v = v.aligned_for::<i32>();
        assert_eq!(v.typed::<i32>(2), &[1, 2]);
    }

    #[test]
    fn bitmaps() {
        let mut b = BitmapBuilder::with_capacity(10);
        for i in 0..10 {
            b.push(i % 3 == 0);
        }
        assert_eq!(b.len(), 10);
        let bm = b.finish();
        assert_eq!(bm.bytes(), &[0b0100_1001, 0b10]);
        assert!(bm.get(9) && !bm.get(8));
        assert_eq!(bm.count_zeros(), 6);
        let all = BitmapBuilder::all_set(10).finish();
        assert_eq!(all.bytes(), &[0xff, 0b11]);
        assert_eq!(all.count_zeros(), 0);
    }
}
