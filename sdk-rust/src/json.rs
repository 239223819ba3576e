//! A small JSON reader and writer: enough for run config, invocations, metadata and JSON
//! outputs, without a dependency.
//!
//! Read with [`JsonValue::parse`] and the typed getters; write with [`Object`] (a builder of one
//! JSON object), [`quote`], or the `Display` of a [`JsonValue`], which is compact JSON.
//!
//! ```
//! use wasmorch::json::{JsonValue, Object};
//! let config = JsonValue::parse(r#"{"name": "world", "n": 21}"#).unwrap();
//! let name = config.require_str("name").unwrap();
//! let n = config.get_i64("n").unwrap_or(1);
//! let out = Object::new()
//!     .string("greeting", &format!("hello {}", name))
//!     .int("n_times_2", 2 * n)
//!     .finish();
//! assert_eq!(out, r#"{"greeting":"hello world","n_times_2":42}"#);
//! ```

use std::fmt::{self, Write as _};

use crate::error::{Error, Result};

/// Deepest nesting of arrays and objects [`JsonValue::parse`] accepts.
const MAX_DEPTH: usize = 256;

/// A parsed JSON document.
///
/// Objects keep their members in document order. Numbers keep their text, so integers of any
/// size survive until read with [`Number::as_i64`], [`Number::as_u64`] or [`Number::as_f64`].
#[derive(Clone, Debug, PartialEq)]
pub enum JsonValue {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A number, as written.
    Number(Number),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<JsonValue>),
    /// An object's members in document order. A repeated name is kept twice; the getters
    /// return the last one, as most JSON decoders do.
    Object(Vec<(String, JsonValue)>),
}

/// A JSON number, kept as its (validated) text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Number(String);

impl Number {
    /// The number as written in the document.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as an `i64`, if it is written as an integer (no fraction or exponent) that
    /// fits.
    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }

    /// The number as a `u64`, if it is written as a non-negative integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        self.0.parse().ok()
    }

    /// The number as the nearest `f64`.
    pub fn as_f64(&self) -> f64 {
        // A validated JSON number is always valid f64 syntax.
        self.0.parse().unwrap_or(f64::NAN)
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl JsonValue {
    /// Parses one JSON document. Whitespace may surround it; anything else after it is an error.
    /// Errors give the byte offset of the problem.
    pub fn parse(text: &str) -> Result<JsonValue> {
        let mut p = Parser {
            s: text.as_bytes(),
            pos: 0,
            depth: 0,
        };
        p.skip_ws();
        let v = p.value()?;
        p.skip_ws();
        if p.pos != p.s.len() {
            return Err(p.error("unexpected data after the JSON value"));
        }
        Ok(v)
    }

    /// Parses UTF-8 bytes as one JSON document.
    pub fn parse_bytes(bytes: &[u8]) -> Result<JsonValue> {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| Error::msg(format!("invalid JSON: not UTF-8: {}", e)))?;
        JsonValue::parse(text)
    }

    /// The JSON type name: `null`, `boolean`, `number`, `string`, `array` or `object`.
    pub fn type_name(&self) -> &'static str {
        match self {
            JsonValue::Null => "null",
            JsonValue::Bool(_) => "boolean",
            JsonValue::Number(_) => "number",
            JsonValue::String(_) => "string",
            JsonValue::Array(_) => "array",
            JsonValue::Object(_) => "object",
        }
    }

    /// Whether the value is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, JsonValue::Null)
    }

    /// The boolean, if the value is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            JsonValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The string, if the value is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            JsonValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if the value is one.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            JsonValue::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The value as an `i64`, if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }

    /// The value as a `u64`, if it is a non-negative integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_number().and_then(Number::as_u64)
    }

    /// The value as an `f64`, if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().map(Number::as_f64)
    }

    /// The elements, if the value is an array.
    pub fn as_array(&self) -> Option<&[JsonValue]> {
        match self {
            JsonValue::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The members, if the value is an object.
    pub fn as_object(&self) -> Option<&[(String, JsonValue)]> {
        match self {
            JsonValue::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The member `key` of an object (the last one if repeated); `None` for a missing key or a
    /// value that is not an object.
    pub fn get(&self, key: &str) -> Option<&JsonValue> {
        self.as_object()?
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The string member `key`, if present and a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(JsonValue::as_str)
    }

    /// The integer member `key`, if present and an integer that fits an `i64`.
    pub fn get_i64(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(JsonValue::as_i64)
    }

    /// The number member `key` as an `f64`, if present and a number.
    pub fn get_f64(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(JsonValue::as_f64)
    }

    /// The boolean member `key`, if present and a boolean.
    pub fn get_bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(JsonValue::as_bool)
    }

    /// The member `key`, or an error naming it. A `null` member counts as missing.
    pub fn require(&self, key: &str) -> Result<&JsonValue> {
        match self.get(key) {
            Some(v) if !v.is_null() => Ok(v),
            _ => Err(Error::msg(format!("the field \"{}\" is required", key))),
        }
    }

    /// The string member `key`, or an error naming it and saying what is wrong.
    pub fn require_str(&self, key: &str) -> Result<&str> {
        let v = self.require(key)?;
        v.as_str().ok_or_else(|| wrong_type(key, "a string", v))
    }

    /// The integer member `key`, or an error naming it and saying what is wrong.
    pub fn require_i64(&self, key: &str) -> Result<i64> {
        let v = self.require(key)?;
        v.as_i64()
            .ok_or_else(|| wrong_type(key, "an integer that fits in 64 bits", v))
    }

    /// The number member `key` as an `f64`, or an error naming it and saying what is wrong.
    pub fn require_f64(&self, key: &str) -> Result<f64> {
        let v = self.require(key)?;
        v.as_f64().ok_or_else(|| wrong_type(key, "a number", v))
    }

    /// The boolean member `key`, or an error naming it and saying what is wrong.
    pub fn require_bool(&self, key: &str) -> Result<bool> {
        let v = self.require(key)?;
        v.as_bool().ok_or_else(|| wrong_type(key, "a boolean", v))
    }
}

fn wrong_type(key: &str, want: &str, got: &JsonValue) -> Error {
    let shown = match got {
        JsonValue::Array(_) | JsonValue::Object(_) => got.type_name().to_string(),
        _ => format!("{} {}", got.type_name(), truncate(&got.to_string(), 40)),
    };
    Error::msg(format!(
        "the field \"{}\" must be {}, got {}",
        key, want, shown
    ))
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    &s[..cut]
}

/// Writes compact JSON.
impl fmt::Display for JsonValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonValue::Null => f.write_str("null"),
            JsonValue::Bool(b) => write!(f, "{}", b),
            JsonValue::Number(n) => f.write_str(&n.0),
            JsonValue::String(s) => write_quoted(f, s),
            JsonValue::Array(items) => {
                f.write_char('[')?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{}", v)?;
                }
                f.write_char(']')
            }
            JsonValue::Object(members) => {
                f.write_char('{')?;
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write_quoted(f, k)?;
                    write!(f, ":{}", v)?;
                }
                f.write_char('}')
            }
        }
    }
}

impl From<&str> for JsonValue {
    fn from(s: &str) -> Self {
        JsonValue::String(s.to_string())
    }
}

impl From<String> for JsonValue {
    fn from(s: String) -> Self {
        JsonValue::String(s)
    }
}

impl From<bool> for JsonValue {
    fn from(b: bool) -> Self {
        JsonValue::Bool(b)
    }
}

impl From<i64> for JsonValue {
    fn from(n: i64) -> Self {
        JsonValue::Number(Number(n.to_string()))
    }
}

impl From<u64> for JsonValue {
    fn from(n: u64) -> Self {
        JsonValue::Number(Number(n.to_string()))
    }
}

impl From<f64> for JsonValue {
    /// A finite float becomes a number; NaN and infinities, which JSON cannot write, become
    /// `null`.
    fn from(x: f64) -> Self {
        if x.is_finite() {
            JsonValue::Number(Number(format_f64(x)))
        } else {
            JsonValue::Null
        }
    }
}

fn format_f64(x: f64) -> String {
    // Display never uses an exponent and prints integral floats without a fraction: both valid
    // JSON. It is the shortest text that reads back as the same f64.
    format!("{}", x)
}

/// Returns `s` as a quoted JSON string: `quote("a\"b")` is `"a\"b"` with the quotes.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    // Writing to a String cannot fail.
    let _ = write_quoted(&mut out, s);
    out
}

/// Appends `s` to `out` as a quoted JSON string.
pub fn push_quoted(out: &mut String, s: &str) {
    let _ = write_quoted(out, s);
}

fn write_quoted<W: fmt::Write>(out: &mut W, s: &str) -> fmt::Result {
    out.write_char('"')?;
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0x08 => Some("\\b"),
            0x0c => Some("\\f"),
            0..=0x1f => None,
            _ => continue,
        };
        out.write_str(&s[start..i])?;
        match escape {
            Some(e) => out.write_str(e)?,
            None => write!(out, "\\u{:04x}", b)?,
        }
        start = i + 1;
    }
    out.write_str(&s[start..])?;
    out.write_char('"')
}

/// A builder for one JSON object, written compactly as members are added.
///
/// ```
/// use wasmorch::json::Object;
/// let js = Object::new()
///     .string("label", "a \"quoted\" word")
///     .int("answer", 42)
///     .float("ratio", 0.5)
///     .bool("ok", true)
///     .null("missing")
///     .raw("list", "[1,2]")
///     .finish();
/// assert_eq!(
///     js,
///     r#"{"label":"a \"quoted\" word","answer":42,"ratio":0.5,"ok":true,"missing":null,"list":[1,2]}"#
/// );
/// ```
#[derive(Clone, Debug)]
pub struct Object {
    buf: String,
}

impl Default for Object {
    fn default() -> Self {
        Object::new()
    }
}

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Object {
            buf: String::from("{"),
        }
    }

    fn key(&mut self, key: &str) {
        if self.buf.len() > 1 {
            self.buf.push(',');
        }
        push_quoted(&mut self.buf, key);
        self.buf.push(':');
    }

    /// Adds a string member.
    pub fn string(mut self, key: &str, value: &str) -> Self {
        self.key(key);
        push_quoted(&mut self.buf, value);
        self
    }

    /// Adds an integer member.
    pub fn int(mut self, key: &str, value: i64) -> Self {
        self.key(key);
        let _ = write!(self.buf, "{}", value);
        self
    }

    /// Adds an unsigned integer member.
    pub fn uint(mut self, key: &str, value: u64) -> Self {
        self.key(key);
        let _ = write!(self.buf, "{}", value);
        self
    }

    /// Adds a number member; NaN and infinities, which JSON cannot write, become `null`.
    pub fn float(mut self, key: &str, value: f64) -> Self {
        self.key(key);
        if value.is_finite() {
            self.buf.push_str(&format_f64(value));
        } else {
            self.buf.push_str("null");
        }
        self
    }

    /// Adds a boolean member.
    pub fn bool(mut self, key: &str, value: bool) -> Self {
        self.key(key);
        self.buf.push_str(if value { "true" } else { "false" });
        self
    }

    /// Adds a `null` member.
    pub fn null(mut self, key: &str) -> Self {
        self.key(key);
        self.buf.push_str("null");
        self
    }

    /// Adds a member whose value is a parsed [`JsonValue`].
    pub fn value(mut self, key: &str, value: &JsonValue) -> Self {
        self.key(key);
        let _ = write!(self.buf, "{}", value);
        self
    }

    /// Adds a member whose value is the JSON text `json`, written as it is. The text must be
    /// valid JSON; the host rejects an output or metadata that is not.
    pub fn raw(mut self, key: &str, json: &str) -> Self {
        self.key(key);
        self.buf.push_str(json);
        self
    }

    /// The finished object as JSON text.
    pub fn finish(mut self) -> String {
        self.buf.push('}');
        self.buf
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, what: &str) -> Error {
        let what = if self.pos >= self.s.len() {
            "unexpected end of input"
        } else {
            what
        };
        Error::msg(format!("invalid JSON at byte {}: {}", self.pos, what))
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn expect_literal(&mut self, lit: &str, v: JsonValue) -> Result<JsonValue> {
        if self.s[self.pos..].starts_with(lit.as_bytes()) {
            self.pos += lit.len();
            Ok(v)
        } else {
            Err(self.error("expected a JSON value"))
        }
    }

    fn value(&mut self) -> Result<JsonValue> {
        match self.peek() {
            None => Err(self.error("expected a value")),
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => Ok(JsonValue::String(self.string()?)),
            Some(b't') => self.expect_literal("true", JsonValue::Bool(true)),
            Some(b'f') => self.expect_literal("false", JsonValue::Bool(false)),
            Some(b'n') => self.expect_literal("null", JsonValue::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a JSON value")),
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(&format!(
                "nested deeper than {} arrays and objects",
                MAX_DEPTH
            )));
        }
        self.pos += 1;
        self.skip_ws();
        Ok(())
    }

    fn object(&mut self) -> Result<JsonValue> {
        self.enter()?;
        let mut members = Vec::new();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(JsonValue::Object(members));
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string as the object key"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error("expected ':' after the object key"));
            }
            self.pos += 1;
            self.skip_ws();
            let v = self.value()?;
            members.push((key, v));
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(JsonValue::Object(members));
                }
                _ => return Err(self.error("expected ',' or '}' in the object")),
            }
        }
    }

    fn array(&mut self) -> Result<JsonValue> {
        self.enter()?;
        let mut items = Vec::new();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(JsonValue::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(JsonValue::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']' in the array")),
            }
        }
    }

    fn number(&mut self) -> Result<JsonValue> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("expected a digit in the number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("expected a digit after the decimal point"));
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("expected a digit in the exponent"));
            }
            self.digits();
        }
        // The bytes matched the number grammar, so they are ASCII.
        let text = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
        Ok(JsonValue::Number(Number(text)))
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn hex4(&mut self) -> Result<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.error("expected four hex digits after \\u")),
            };
            v = v * 16 + u32::from(d);
            self.pos += 1;
        }
        Ok(v)
    }

    /// Reads a string starting at the opening quote. The input is a `&str`, so runs of plain
    /// bytes are valid UTF-8 and copied as they are.
    fn string(&mut self) -> Result<String> {
        self.pos += 1;
        let mut out = String::new();
        let mut run = self.pos;
        loop {
            match self.peek() {
                None => return Err(self.error("the string is not terminated")),
                Some(b'"') => {
                    out.push_str(self.text(run, self.pos));
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(self.text(run, self.pos));
                    self.pos += 1;
                    let c = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let c = self.unicode_escape()?;
                            out.push(c);
                            run = self.pos;
                            continue;
                        }
                        _ => return Err(self.error("invalid escape in string")),
                    };
                    out.push(c);
                    self.pos += 1;
                    run = self.pos;
                }
                Some(0..=0x1f) => return Err(self.error("control character in string (escape it)")),
                Some(_) => self.pos += 1,
            }
        }
    }

    /// Decodes the XXXX of `\uXXXX` (and a following low surrogate). Unpaired surrogates become
    /// U+FFFD, as in Go's encoding/json.
    fn unicode_escape(&mut self) -> Result<char> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.s[self.pos..].starts_with(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return Ok(char::from_u32(c).unwrap_or('\u{FFFD}'));
            }
            self.pos = save;
        }
        Ok(char::from_u32(hi).unwrap_or('\u{FFFD}'))
    }

    fn text(&self, from: usize, to: usize) -> &'a str {
        // Both ends sit next to ASCII bytes ('"', '\\' or an escape's last byte) inside text
        // that came from a &str, so they are char boundaries and the slice is valid UTF-8.
        std::str::from_utf8(&self.s[from..to]).unwrap_or("\u{FFFD}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> JsonValue {
        JsonValue::parse(s).unwrap_or_else(|e| panic!("{}: {}", s, e))
    }

    #[test]
    fn parses_every_kind_of_value() {
        let v = p(r#" {"a": [1, -2.5e3, true, false, null], "b": {"c": "d"}, "e": ""} "#);
        assert_eq!(v.get("a").unwrap().as_array().unwrap().len(), 5);
        assert_eq!(v.get("a").unwrap().as_array().unwrap()[0].as_i64(), Some(1));
        assert_eq!(
            v.get("a").unwrap().as_array().unwrap()[1].as_f64(),
            Some(-2500.0)
        );
        assert_eq!(v.get("b").unwrap().get_str("c"), Some("d"));
        assert_eq!(v.get_str("e"), Some(""));
        assert_eq!(v.get("zzz"), None);
        assert_eq!(
            v.to_string(),
            r#"{"a":[1,-2.5e3,true,false,null],"b":{"c":"d"},"e":""}"#
        );
    }

    #[test]
    fn strings_and_escapes() {
        let v = p(r#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00 ✓ \ud800x""#);
        assert_eq!(
            v.as_str().unwrap(),
            "a\"b\\c/d\u{8}\u{c}\n\r\té😀 ✓ \u{FFFD}x"
        );
        // Round trip through the writer.
        assert_eq!(p(&v.to_string()), v);
        assert_eq!(quote("tab\there\u{1}"), r#""tab\there\u0001""#);
    }

    #[test]
    fn numbers() {
        assert_eq!(p("0").as_i64(), Some(0));
        assert_eq!(p("-9223372036854775808").as_i64(), Some(i64::MIN));
        assert_eq!(p("18446744073709551615").as_u64(), Some(u64::MAX));
        assert_eq!(p("18446744073709551615").as_i64(), None);
        assert_eq!(p("1.5").as_i64(), None);
        assert_eq!(p("1e2").as_f64(), Some(100.0));
        for bad in ["01", "1.", "-", ".5", "1e", "+1", "0x10", "NaN"] {
            assert!(JsonValue::parse(bad).is_err(), "{} parsed", bad);
        }
    }

    #[test]
    fn errors_name_the_offset() {
        let e = JsonValue::parse(r#"{"a" 1}"#).unwrap_err();
        assert_eq!(
            e.message(),
            "invalid JSON at byte 5: expected ':' after the object key"
        );
        assert!(JsonValue::parse("[1,]").is_err());
        assert!(JsonValue::parse("{} x").is_err());
        assert!(JsonValue::parse("").is_err());
        assert!(JsonValue::parse("\"a\nb\"").is_err());
        assert!(JsonValue::parse("\"abc").is_err());
        assert!(JsonValue::parse(&"[".repeat(1000)).is_err());
        assert!(JsonValue::parse_bytes(b"\"\xff\"").is_err());
    }

    #[test]
    fn getters_and_requirements() {
        let v = p(r#"{"name": "world", "n": 21, "x": null, "n": 22, "f": 1.5, "b": true}"#);
        assert_eq!(v.require_str("name").unwrap(), "world");
        assert_eq!(v.get_i64("n"), Some(22), "the last repeated member wins");
        assert_eq!(v.require_f64("f").unwrap(), 1.5);
        assert!(v.require_bool("b").unwrap());
        assert_eq!(
            v.require_str("x").unwrap_err().message(),
            "the field \"x\" is required"
        );
        assert_eq!(
            v.require_str("missing").unwrap_err().message(),
            "the field \"missing\" is required"
        );
        assert_eq!(
            v.require_str("n").unwrap_err().message(),
            "the field \"n\" must be a string, got number 22"
        );
        assert_eq!(
            v.require_i64("f").unwrap_err().message(),
            "the field \"f\" must be an integer that fits in 64 bits, got number 1.5"
        );
        assert_eq!(p("[1]").get("a"), None);
    }

    #[test]
    fn object_builder() {
        assert_eq!(Object::new().finish(), "{}");
        let js = Object::new()
            .uint("u", u64::MAX)
            .float("nan", f64::NAN)
            .float("big", 1e21)
            .value("v", &p("[true]"))
            .finish();
        let v = p(&js);
        assert_eq!(v.get_f64("big"), Some(1e21));
        assert!(v.get("nan").unwrap().is_null());
        assert_eq!(v.get("u").unwrap().as_u64(), Some(u64::MAX));
        assert_eq!(JsonValue::from(0.1).to_string(), "0.1");
        assert_eq!(JsonValue::from(f64::INFINITY), JsonValue::Null);
    }
}
