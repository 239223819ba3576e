//! Just enough FlatBuffers to read and write Arrow's IPC metadata (Message.fbs, Schema.fbs).
//!
//! FlatBuffers in brief: the buffer starts with a `u32` offset to the root table. A table starts
//! with an `i32` that, subtracted from the table's position, gives its vtable. The vtable is
//! `u16`s: its own size in bytes, the table's inline size, then one offset per field slot from
//! the table's start (0 means absent, so the schema default applies). Scalars sit inline;
//! tables, strings and vectors are reached by a `u32` offset relative to where that offset is
//! stored, always pointing forward. Strings and vectors start with a `u32` length; strings end
//! with a NUL byte. All numbers are little-endian.
//!
//! The reader checks every offset against the buffer, so malformed metadata is an error, never
//! a panic. The builder writes parents before children (top-down), which keeps every offset
//! pointing forward, and aligns each scalar to its size and struct vectors to 8.

use crate::error::{Error, Result};

fn malformed(what: &str) -> Error {
    Error::msg(format!("malformed Arrow IPC metadata: {}", what))
}

fn read_u16(buf: &[u8], pos: usize) -> Result<u16> {
    buf.get(pos..pos + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .ok_or_else(|| malformed("offset out of range"))
}

fn read_u32(buf: &[u8], pos: usize) -> Result<u32> {
    buf.get(pos..pos + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| malformed("offset out of range"))
}

fn read_i64(buf: &[u8], pos: usize) -> Result<i64> {
    let b = buf
        .get(pos..pos + 8)
        .ok_or_else(|| malformed("offset out of range"))?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok(i64::from_le_bytes(a))
}

/// The position an offset stored at `pos` points to.
fn follow(buf: &[u8], pos: usize) -> Result<usize> {
    let target = pos
        .checked_add(read_u32(buf, pos)? as usize)
        .filter(|&t| t < buf.len())
        .ok_or_else(|| malformed("offset out of range"))?;
    Ok(target)
}

/// A table inside a FlatBuffer.
#[derive(Clone, Copy)]
pub(crate) struct TableRef<'a> {
    buf: &'a [u8],
    pos: usize,
    vtable: usize,
    vtable_len: usize,
}

impl<'a> TableRef<'a> {
    /// The root table of `buf`.
    pub(crate) fn root(buf: &'a [u8]) -> Result<Self> {
        let pos = read_u32(buf, 0)? as usize;
        TableRef::at(buf, pos)
    }

    fn at(buf: &'a [u8], pos: usize) -> Result<Self> {
        let soffset = read_u32(buf, pos)? as i32 as i64;
        let vtable = pos as i64 - soffset;
        if vtable < 0 || vtable as usize + 4 > buf.len() {
            return Err(malformed("vtable out of range"));
        }
        let vtable = vtable as usize;
        let vtable_len = read_u16(buf, vtable)? as usize;
        if vtable_len < 4 || vtable + vtable_len > buf.len() {
            return Err(malformed("vtable out of range"));
        }
        Ok(TableRef {
            buf,
            pos,
            vtable,
            vtable_len,
        })
    }

    /// The absolute position of field `slot`, if present.
    fn field(&self, slot: usize) -> Result<Option<usize>> {
        let entry = 4 + 2 * slot;
        if entry + 2 > self.vtable_len {
            return Ok(None);
        }
        match read_u16(self.buf, self.vtable + entry)? {
            0 => Ok(None),
            off => Ok(Some(self.pos + off as usize)),
        }
    }

    pub(crate) fn u8(&self, slot: usize, default: u8) -> Result<u8> {
        match self.field(slot)? {
            Some(p) => self
                .buf
                .get(p)
                .copied()
                .ok_or_else(|| malformed("field out of range")),
            None => Ok(default),
        }
    }

    pub(crate) fn bool(&self, slot: usize, default: bool) -> Result<bool> {
        Ok(self.u8(slot, default as u8)? != 0)
    }

    pub(crate) fn i16(&self, slot: usize, default: i16) -> Result<i16> {
        match self.field(slot)? {
            Some(p) => Ok(read_u16(self.buf, p)? as i16),
            None => Ok(default),
        }
    }

    pub(crate) fn i32(&self, slot: usize, default: i32) -> Result<i32> {
        match self.field(slot)? {
            Some(p) => Ok(read_u32(self.buf, p)? as i32),
            None => Ok(default),
        }
    }

    pub(crate) fn i64(&self, slot: usize, default: i64) -> Result<i64> {
        match self.field(slot)? {
            Some(p) => read_i64(self.buf, p),
            None => Ok(default),
        }
    }

    /// Follows the offset stored in field `slot`.
    fn indirect(&self, slot: usize) -> Result<Option<usize>> {
        match self.field(slot)? {
            Some(p) => follow(self.buf, p).map(Some),
            None => Ok(None),
        }
    }

    pub(crate) fn table(&self, slot: usize) -> Result<Option<TableRef<'a>>> {
        match self.indirect(slot)? {
            Some(p) => TableRef::at(self.buf, p).map(Some),
            None => Ok(None),
        }
    }

    pub(crate) fn str(&self, slot: usize) -> Result<Option<&'a str>> {
        let p = match self.indirect(slot)? {
            Some(p) => p,
            None => return Ok(None),
        };
        let len = read_u32(self.buf, p)? as usize;
        let bytes = (p + 4)
            .checked_add(len)
            .and_then(|end| self.buf.get(p + 4..end))
            .ok_or_else(|| malformed("string out of range"))?;
        std::str::from_utf8(bytes)
            .map(Some)
            .map_err(|_| malformed("string is not UTF-8"))
    }

    /// A vector field: the position of its first element and its length.
    fn vector(&self, slot: usize, elem_size: usize) -> Result<Option<(usize, usize)>> {
        let p = match self.indirect(slot)? {
            Some(p) => p,
            None => return Ok(None),
        };
        let len = read_u32(self.buf, p)? as usize;
        let start = p + 4;
        match len
            .checked_mul(elem_size)
            .and_then(|n| n.checked_add(start))
        {
            Some(end) if end <= self.buf.len() => Ok(Some((start, len))),
            _ => Err(malformed("vector out of range")),
        }
    }

    /// A vector of tables (empty if absent).
    pub(crate) fn tables(&self, slot: usize) -> Result<Vec<TableRef<'a>>> {
        let (start, len) = match self.vector(slot, 4)? {
            Some(v) => v,
            None => return Ok(Vec::new()),
        };
        (0..len)
            .map(|i| TableRef::at(self.buf, follow(self.buf, start + 4 * i)?))
            .collect()
    }

    /// A vector of structs made of two `i64`s, such as Arrow's FieldNode and Buffer (empty if
    /// absent).
    pub(crate) fn i64_pairs(&self, slot: usize) -> Result<Vec<(i64, i64)>> {
        let (start, len) = match self.vector(slot, 16)? {
            Some(v) => v,
            None => return Ok(Vec::new()),
        };
        (0..len)
            .map(|i| {
                let p = start + 16 * i;
                Ok((read_i64(self.buf, p)?, read_i64(self.buf, p + 8)?))
            })
            .collect()
    }

    /// Whether field `slot` is present.
    pub(crate) fn has(&self, slot: usize) -> Result<bool> {
        Ok(self.field(slot)?.is_some())
    }
}

/// A value to write into a table field slot.
pub(crate) enum Value {
    Bool(bool),
    U8(u8),
    I16(i16),
    I32(i32),
    I64(i64),
    Str(String),
    Table(Table),
    Tables(Vec<Table>),
    /// A vector of structs of two `i64`s.
    I64Pairs(Vec<(i64, i64)>),
}

impl Value {
    /// The size of the value inline in its table: scalars themselves, 4 for an offset.
    fn inline_size(&self) -> usize {
        match self {
            Value::Bool(_) | Value::U8(_) => 1,
            Value::I16(_) => 2,
            Value::I32(_) => 4,
            Value::I64(_) => 8,
            _ => 4,
        }
    }
}

/// A table to write: its fields by slot number.
#[derive(Default)]
pub(crate) struct Table {
    fields: Vec<(u16, Value)>,
}

impl Table {
    pub(crate) fn new() -> Self {
        Table::default()
    }

    /// Sets field `slot`. Every field given is written, even if it equals the schema default.
    pub(crate) fn with(mut self, slot: u16, value: Value) -> Self {
        self.fields.push((slot, value));
        self
    }

    /// The whole FlatBuffer with this table as its root, padded to a multiple of 8 bytes.
    pub(crate) fn finish(self) -> Vec<u8> {
        let mut buf = vec![0u8; 4];
        let root = write_table(&mut buf, self);
        patch_u32(&mut buf, 0, root as u32);
        pad_to(&mut buf, 8);
        buf
    }
}

fn pad_to(buf: &mut Vec<u8>, align: usize) {
    while buf.len() % align != 0 {
        buf.push(0);
    }
}

fn patch_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Writes the vtable, then the table (8-aligned), then its children; returns the table's
/// position.
fn write_table(buf: &mut Vec<u8>, table: Table) -> usize {
    let mut fields = table.fields;
    // Largest first, so each scalar is aligned to its size without padding between fields.
    fields.sort_by_key(|(slot, v)| (std::cmp::Reverse(v.inline_size()), *slot));
    let mut layout = Vec::with_capacity(fields.len());
    let mut size = 4; // the vtable offset
    for (_, v) in &fields {
        let n = v.inline_size();
        size = (size + n - 1) / n * n;
        layout.push(size);
        size += n;
    }
    let slots = fields
        .iter()
        .map(|(s, _)| *s as usize + 1)
        .max()
        .unwrap_or(0);
    let mut vtable = vec![0u16; 2 + slots];
    vtable[0] = (4 + 2 * slots) as u16;
    vtable[1] = size as u16;
    for ((slot, _), &at) in fields.iter().zip(&layout) {
        vtable[2 + *slot as usize] = at as u16;
    }

    pad_to(buf, 2);
    let vtable_pos = buf.len();
    for v in &vtable {
        buf.extend_from_slice(&v.to_le_bytes());
    }
    pad_to(buf, 8);
    let table_pos = buf.len();
    buf.resize(table_pos + size, 0);
    buf[table_pos..table_pos + 4].copy_from_slice(&((table_pos - vtable_pos) as i32).to_le_bytes());

    let mut children = Vec::new();
    for ((_, v), at) in fields.into_iter().zip(layout) {
        let p = table_pos + at;
        match v {
            Value::Bool(b) => buf[p] = b as u8,
            Value::U8(x) => buf[p] = x,
            Value::I16(x) => buf[p..p + 2].copy_from_slice(&x.to_le_bytes()),
            Value::I32(x) => buf[p..p + 4].copy_from_slice(&x.to_le_bytes()),
            Value::I64(x) => buf[p..p + 8].copy_from_slice(&x.to_le_bytes()),
            child => children.push((p, child)),
        }
    }
    for (at, child) in children {
        let child_pos = write_child(buf, child);
        patch_u32(buf, at, (child_pos - at) as u32);
    }
    table_pos
}

fn write_child(buf: &mut Vec<u8>, v: Value) -> usize {
    match v {
        Value::Str(s) => {
            pad_to(buf, 4);
            let pos = buf.len();
            buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
            buf.extend_from_slice(s.as_bytes());
            buf.push(0);
            pos
        }
        Value::Table(t) => write_table(buf, t),
        Value::Tables(tables) => {
            pad_to(buf, 4);
            let pos = buf.len();
            buf.extend_from_slice(&(tables.len() as u32).to_le_bytes());
            let first = buf.len();
            buf.resize(first + 4 * tables.len(), 0);
            for (i, t) in tables.into_iter().enumerate() {
                let at = first + 4 * i;
                let t_pos = write_table(buf, t);
                patch_u32(buf, at, (t_pos - at) as u32);
            }
            pos
        }
        Value::I64Pairs(pairs) => {
            // The elements must be 8-aligned, so the length goes 4 bytes before an 8-byte
            // boundary.
            pad_to(buf, 4);
            if buf.len() % 8 == 0 {
                buf.extend_from_slice(&[0; 4]);
            }
            let pos = buf.len();
            buf.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
            for (a, b) in pairs {
                buf.extend_from_slice(&a.to_le_bytes());
                buf.extend_from_slice(&b.to_le_bytes());
            }
            pos
        }
        _ => unreachable!("scalars are written inline"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let buf = Table::new()
            .with(0, Value::I16(4))
            .with(1, Value::U8(3))
            .with(3, Value::I64(-2))
            .with(
                2,
                Value::Table(
                    Table::new()
                        .with(0, Value::Str("héllo".into()))
                        .with(1, Value::Bool(true))
                        .with(
                            2,
                            Value::Tables(vec![Table::new(), Table::new().with(0, Value::I32(7))]),
                        ),
                ),
            )
            .with(5, Value::I64Pairs(vec![(1, 2), (3, -4)]))
            .finish();
        assert_eq!(buf.len() % 8, 0);
        let root = TableRef::root(&buf).unwrap();
        assert_eq!(root.i16(0, 0).unwrap(), 4);
        assert_eq!(root.u8(1, 0).unwrap(), 3);
        assert_eq!(root.i64(3, 0).unwrap(), -2);
        assert_eq!(
            root.i32(4, 99).unwrap(),
            99,
            "absent field gives the default"
        );
        assert_eq!(
            root.i64(40, 5).unwrap(),
            5,
            "slot past the vtable gives the default"
        );
        assert_eq!(root.i64_pairs(5).unwrap(), vec![(1, 2), (3, -4)]);
        let child = root.table(2).unwrap().unwrap();
        assert_eq!(child.str(0).unwrap(), Some("héllo"));
        assert!(child.bool(1, false).unwrap());
        let list = child.tables(2).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].i32(0, 0).unwrap(), 7);
        assert!(!list[0].has(0).unwrap());
        assert!(root.table(7).unwrap().is_none());
    }

    #[test]
    fn malformed_buffers_are_errors() {
        assert!(TableRef::root(&[]).is_err());
        assert!(TableRef::root(&[200, 0, 0, 0]).is_err());
        let mut buf = Table::new().with(0, Value::Str("x".into())).finish();
        // Point the string offset far outside the buffer.
        let root = TableRef::root(&buf).unwrap();
        let at = root.field(0).unwrap().unwrap();
        patch_u32(&mut buf, at, 1 << 20);
        assert!(TableRef::root(&buf).unwrap().str(0).is_err());
    }
}
