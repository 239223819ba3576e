//! What an asset check returns: [`CheckResult`] and its [`Severity`].

use std::fmt;

use crate::error::{Error, Result};
use crate::host::{SEVERITY_ERROR, SEVERITY_WARN};
use crate::json::{self, JsonValue};

/// How much a failed check matters (ABI.md section 4.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Severity {
    /// `WARN`: recorded and shown, never stops anything.
    Warn,
    /// `ERROR`, the default: when the check is [blocking](crate::CheckDef::blocking), a failure
    /// fails the asset's step and skips everything downstream.
    #[default]
    Error,
}

impl Severity {
    /// The severity's ABI name: `WARN` or `ERROR`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Warn => "WARN",
            Severity::Error => "ERROR",
        }
    }

    pub(crate) fn code(self) -> i32 {
        match self {
            Severity::Warn => SEVERITY_WARN,
            Severity::Error => SEVERITY_ERROR,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An asset check's verdict: passed or failed, a [`Severity`], and metadata stored with the
/// evaluation (for example the number of bad rows).
///
/// ```
/// use wasmorch::prelude::*;
/// /// No order has a negative amount.
/// fn no_negative_amounts(_ctx: &mut Context, orders: RecordBatch) -> Result<CheckResult> {
///     let amount: &Float64Array = orders.column_as("amount")?;
///     let bad = amount.iter().flatten().filter(|a| *a < 0.0).count();
///     Ok(CheckResult::new(bad == 0)
///         .with_severity(Severity::Warn)
///         .with_metadata(Object::new().int("negative_rows", bad as i64)))
/// }
/// # let schema = Schema::new(vec![Field::new("amount", DataType::Float64, true)]);
/// # let b = RecordBatch::try_new(schema, vec![Array::from(Float64Array::from(vec![Some(1.0), Some(-2.0)]))]).unwrap();
/// let r = no_negative_amounts(&mut Context::for_test(), b).unwrap();
/// assert!(!r.passed());
/// assert_eq!(r.severity(), Severity::Warn);
/// assert_eq!(r.metadata().get_i64("negative_rows"), Some(1));
/// ```
///
/// A check function that returns `Err` is an evaluation that failed to run; the host records
/// it as a failed `ERROR` evaluation with the error's message.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckResult {
    passed: bool,
    severity: Severity,
    metadata: Vec<(String, JsonValue)>,
    /// Metadata given as text that is not a JSON object; reported when the step ends.
    invalid: Option<Error>,
}

impl CheckResult {
    /// A verdict: passed when `passed` is true, with severity `ERROR` and no metadata.
    pub fn new(passed: bool) -> Self {
        CheckResult {
            passed,
            severity: Severity::Error,
            metadata: Vec::new(),
            invalid: None,
        }
    }

    /// The check passed.
    pub fn pass() -> Self {
        CheckResult::new(true)
    }

    /// The check failed, with severity `ERROR` unless [`with_severity`](Self::with_severity)
    /// says otherwise.
    pub fn fail() -> Self {
        CheckResult::new(false)
    }

    /// Sets the severity of a failure (the host records it for a passed check too).
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Merges metadata entries into the evaluation's metadata; a later value for a name wins.
    /// The rules of [`Context::add_metadata_json`](crate::Context::add_metadata_json) apply,
    /// including typed values and the names reserved for the host.
    pub fn with_metadata(self, metadata: json::Object) -> Self {
        self.with_metadata_json(&metadata.finish())
    }

    /// Merges a JSON object of metadata entries; see [`with_metadata`](Self::with_metadata).
    /// Text that is not a JSON object fails the check step with a message saying so.
    pub fn with_metadata_json(mut self, json: &str) -> Self {
        match JsonValue::parse(json) {
            Ok(JsonValue::Object(members)) => {
                for (k, v) in members {
                    self.metadata.retain(|(old, _)| *old != k);
                    self.metadata.push((k, v));
                }
            }
            Ok(other) => {
                self.invalid.get_or_insert_with(|| {
                    Error::msg(format!(
                        "check metadata must be a JSON object, got {}",
                        other.type_name()
                    ))
                });
            }
            Err(e) => {
                self.invalid
                    .get_or_insert_with(|| e.context("check metadata"));
            }
        }
        self
    }

    /// Whether the check passed.
    pub fn passed(&self) -> bool {
        self.passed
    }

    /// The severity.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// The metadata, merged, as a JSON object.
    pub fn metadata(&self) -> JsonValue {
        JsonValue::Object(self.metadata.clone())
    }

    /// The metadata as JSON text, or the error of metadata that was not a JSON object.
    pub(crate) fn metadata_json(&self) -> Result<Option<String>> {
        if let Some(e) = &self.invalid {
            return Err(e.clone());
        }
        if self.metadata.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.metadata().to_string()))
    }
}

impl From<bool> for CheckResult {
    /// `CheckResult::new(passed)`.
    fn from(passed: bool) -> Self {
        CheckResult::new(passed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Object;

    #[test]
    fn builder_and_getters() {
        let r = CheckResult::fail()
            .with_severity(Severity::Warn)
            .with_metadata(Object::new().int("a", 1).int("b", 2))
            .with_metadata_json(r#"{"a": 3}"#);
        assert!(!r.passed());
        assert_eq!(r.severity(), Severity::Warn);
        assert_eq!(r.severity().to_string(), "WARN");
        assert_eq!(r.metadata().to_string(), r#"{"b":2,"a":3}"#);
        assert_eq!(
            r.metadata_json().unwrap().as_deref(),
            Some(r#"{"b":2,"a":3}"#)
        );
        let p = CheckResult::pass();
        assert!(p.passed() && p.severity() == Severity::Error);
        assert_eq!(p.metadata_json().unwrap(), None);
        assert_eq!(CheckResult::from(true), CheckResult::pass());
    }

    #[test]
    fn invalid_metadata_is_reported() {
        let r = CheckResult::pass().with_metadata_json("[1]");
        assert_eq!(
            r.metadata_json().unwrap_err().message(),
            "check metadata must be a JSON object, got array"
        );
        let r = CheckResult::pass().with_metadata(Object::new().raw("x", "{"));
        assert!(r
            .metadata_json()
            .unwrap_err()
            .message()
            .starts_with("check metadata: invalid JSON"));
    }
}
