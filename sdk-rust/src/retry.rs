//! Retry policies of assets and ops (ABI.md section 7.1).

use std::fmt;

use crate::json::Object;

/// How the wait between retries grows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Backoff {
    /// The same delay before every retry (the default).
    #[default]
    None,
    /// `delay × attempt`.
    Linear,
    /// `delay × 2^(attempt-1)`.
    Exponential,
}

/// How the wait is randomized.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Jitter {
    /// Not at all (the default).
    #[default]
    None,
    /// Uniformly from `[0, delay]`.
    Full,
    /// Uniformly from `[delay/2, 3·delay/2]`.
    PlusMinus,
}

impl Backoff {
    /// The manifest's name: `none`, `linear` or `exponential`.
    pub fn name(self) -> &'static str {
        match self {
            Backoff::None => "none",
            Backoff::Linear => "linear",
            Backoff::Exponential => "exponential",
        }
    }
}

impl Jitter {
    /// The manifest's name: `none`, `full` or `plus_minus`.
    pub fn name(self) -> &'static str {
        match self {
            Jitter::None => "none",
            Jitter::Full => "full",
            Jitter::PlusMinus => "plus_minus",
        }
    }
}

impl fmt::Display for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Jitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How often the host runs a failed step again, and how long it waits first. Every attempt is
/// in the run's event log, and [`Context::attempt`](crate::Context::attempt) tells the step
/// which one it is.
///
/// The host retries a step that fails in any way (an error, a panic, a trap) while attempts
/// remain. [`Error::retry`](crate::Error::retry) makes the step return status 2, which says the
/// failure is worth another attempt; without a retry policy the host only notes that in the
/// error.
///
/// ```
/// use wasmorch::prelude::*;
/// fn flaky(ctx: &mut Context) -> Result<Bytes> {
///     if ctx.attempt() < 3 {
///         return Err(Error::retry("the upstream service is busy"));
///     }
///     Ok(Bytes::from("done"))
/// }
/// let mut m = Module::new();
/// m.add(asset("flaky", flaky).retry_policy(RetryPolicy {
///     max_retries: 2,
///     delay_seconds: 0.5,
///     backoff: Backoff::Exponential,
///     ..RetryPolicy::default()
/// }));
/// assert!(m.manifest_json().unwrap().contains(
///     r#""retry_policy":{"max_retries":2,"delay_seconds":0.5,"backoff":"exponential"}"#
/// ));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RetryPolicy {
    /// How many times a failed step runs again: 0 to 100.
    pub max_retries: u32,
    /// The wait before the first retry, in seconds; [`backoff`](Self::backoff) grows it for
    /// later ones.
    pub delay_seconds: f64,
    /// How the wait grows.
    pub backoff: Backoff,
    /// How the wait is randomized.
    pub jitter: Jitter,
}

/// The host's limit on `max_retries`.
const MAX_RETRIES: u32 = 100;

impl RetryPolicy {
    /// `max_retries` retries, with no delay, backoff or jitter.
    pub fn new(max_retries: u32) -> Self {
        RetryPolicy {
            max_retries,
            ..RetryPolicy::default()
        }
    }

    /// The problems with the policy, for the registration checks.
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.max_retries > MAX_RETRIES {
            p.push(format!(
                "retry policy: max_retries {} is out of range (0..{})",
                self.max_retries, MAX_RETRIES
            ));
        }
        if !(self.delay_seconds.is_finite() && self.delay_seconds >= 0.0) {
            p.push(format!(
                "retry policy: delay_seconds must be a finite number of seconds, not negative; got {}",
                self.delay_seconds
            ));
        }
        p
    }

    /// The manifest's `retry_policy` object. Defaults are left out, as the Go SDK leaves them
    /// out, so that equal policies give equal manifests.
    pub(crate) fn to_json(self) -> String {
        let mut o = Object::new();
        if self.max_retries != 0 {
            o = o.uint("max_retries", self.max_retries.into());
        }
        if self.delay_seconds != 0.0 {
            o = o.float("delay_seconds", self.delay_seconds);
        }
        if self.backoff != Backoff::None {
            o = o.string("backoff", self.backoff.name());
        }
        if self.jitter != Jitter::None {
            o = o.string("jitter", self.jitter.name());
        }
        o.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_leaves_out_defaults() {
        assert_eq!(RetryPolicy::default().to_json(), "{}");
        assert_eq!(RetryPolicy::new(3).to_json(), r#"{"max_retries":3}"#);
        let p = RetryPolicy {
            max_retries: 1,
            delay_seconds: 1.5,
            backoff: Backoff::Linear,
            jitter: Jitter::PlusMinus,
        };
        assert_eq!(
            p.to_json(),
            r#"{"max_retries":1,"delay_seconds":1.5,"backoff":"linear","jitter":"plus_minus"}"#
        );
        assert!(p.problems().is_empty());
    }

    #[test]
    fn out_of_range() {
        let p = RetryPolicy {
            max_retries: 101,
            delay_seconds: -1.0,
            ..RetryPolicy::default()
        };
        assert_eq!(
            p.problems(),
            vec![
                "retry policy: max_retries 101 is out of range (0..100)",
                "retry policy: delay_seconds must be a finite number of seconds, not negative; got -1",
            ]
        );
        let nan = RetryPolicy {
            delay_seconds: f64::NAN,
            ..RetryPolicy::default()
        };
        assert_eq!(nan.problems().len(), 1);
    }
}
