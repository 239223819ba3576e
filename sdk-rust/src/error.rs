//! The error type of asset functions and of the SDK itself.

use std::fmt;

/// `Result` with [`Error`] as the default error type. Asset and op functions return it.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failed step, or a failed SDK call, described by a message.
///
/// When an asset or op function returns `Err(e)`, the step fails and the host shows
/// `e.message()` unchanged. Any type implementing [`std::error::Error`] converts into an `Error`
/// with `?`, keeping its message and the messages of its sources:
///
/// ```
/// use wasmorch::Result;
/// fn parse(s: &str) -> Result<i64> {
///     Ok(s.parse::<i64>()?)
/// }
/// assert_eq!(parse("x").unwrap_err().message(), "invalid digit found in string");
/// ```
///
/// Build one from text with [`Error::msg`], [`bail!`](crate::bail) or
/// [`format_err!`](crate::format_err), and add what was being done with
/// [`ResultExt::context`].
///
/// `Error` deliberately does not implement `std::error::Error` itself, so that the blanket
/// conversion above can exist (the same trade-off as `anyhow::Error`).
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
    retry: bool,
}

impl Error {
    /// An error with the given message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Error {
            message: message.to_string(),
            retry: false,
        }
    }

    /// An error that asks the host to retry the step (`wasmorch_run` status 2). The step's retry
    /// policy decides whether it runs again.
    pub fn retry(message: impl fmt::Display) -> Self {
        Error {
            message: message.to_string(),
            retry: true,
        }
    }

    /// The message the host shows for the failed step.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the error asks for a retry (see [`Error::retry`]).
    pub fn is_retry(&self) -> bool {
        self.retry
    }

    /// Prefixes the message with what was being done: `"{context}: {message}"`.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{}: {}", context, self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.retry {
            write!(f, "Error(retry: {:?})", self.message)
        } else {
            write!(f, "Error({:?})", self.message)
        }
    }
}

impl<E: std::error::Error + 'static> From<E> for Error {
    /// Keeps the error's message, followed by each source's message that it does not already
    /// contain: `"outer: inner"`.
    fn from(err: E) -> Self {
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(s) = source {
            let text = s.to_string();
            if !text.is_empty() && !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = s.source();
        }
        Error {
            message,
            retry: false,
        }
    }
}

/// Adds context to the error of a `Result` or to a missing `Option` value.
///
/// ```
/// use wasmorch::{Result, ResultExt};
/// fn read(n: &str) -> Result<u8> {
///     n.parse::<u8>().context("reading the batch size")
/// }
/// assert_eq!(
///     read("300").unwrap_err().message(),
///     "reading the batch size: number too large to fit in target type"
/// );
/// let none: Option<u8> = None;
/// assert_eq!(none.context("no value").unwrap_err().message(), "no value");
/// ```
pub trait ResultExt<T> {
    /// Turns the error (or `None`) into an [`Error`] prefixed with `context`.
    fn context(self, context: impl fmt::Display) -> Result<T>;

    /// Like [`context`](ResultExt::context), building the context only on failure.
    fn with_context<C: fmt::Display, F: FnOnce() -> C>(self, f: F) -> Result<T>;
}

impl<T, E: Into<Error>> ResultExt<T> for std::result::Result<T, E> {
    fn context(self, context: impl fmt::Display) -> Result<T> {
        self.map_err(|e| e.into().context(context))
    }

    fn with_context<C: fmt::Display, F: FnOnce() -> C>(self, f: F) -> Result<T> {
        self.map_err(|e| e.into().context(f()))
    }
}

impl<T> ResultExt<T> for Option<T> {
    fn context(self, context: impl fmt::Display) -> Result<T> {
        self.ok_or_else(|| Error::msg(context))
    }

    fn with_context<C: fmt::Display, F: FnOnce() -> C>(self, f: F) -> Result<T> {
        self.ok_or_else(|| Error::msg(f()))
    }
}

/// Returns early with an [`Error`] built like `format!`.
///
/// ```
/// fn check(n: i64) -> wasmorch::Result<()> {
///     if n < 0 {
///         wasmorch::bail!("n must not be negative, got {}", n);
///     }
///     Ok(())
/// }
/// assert_eq!(check(-1).unwrap_err().message(), "n must not be negative, got -1");
/// ```
#[macro_export]
macro_rules! bail {
    ($($arg:tt)+) => {
        return ::core::result::Result::Err($crate::Error::msg(::std::format!($($arg)+)))
    };
}

/// Builds an [`Error`] like `format!`.
#[macro_export]
macro_rules! format_err {
    ($($arg:tt)+) => {
        $crate::Error::msg(::std::format!($($arg)+))
    };
}

/// Returns early with an [`Error`] built like `format!` when the condition is false.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            $crate::bail!($($arg)+);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("reading orders")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn conversion_keeps_the_source_chain() {
        let e: Error = Outer(std::io::Error::new(std::io::ErrorKind::Other, "disk full")).into();
        assert_eq!(e.message(), "reading orders: disk full");
        assert!(!e.is_retry());
    }

    #[test]
    fn context_and_retry() {
        let e = Error::retry("busy").context("calling the API");
        assert_eq!(e.to_string(), "calling the API: busy");
        assert!(e.is_retry());
        assert_eq!(format!("{:?}", Error::msg("x")), "Error(\"x\")");
    }

    #[test]
    fn ensure_macro() {
        fn f(n: i32) -> Result<i32> {
            ensure!(n > 0, "n is {}", n);
            Ok(n)
        }
        assert_eq!(f(1).unwrap(), 1);
        assert_eq!(f(0).unwrap_err().message(), "n is 0");
    }
}
