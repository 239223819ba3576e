//! The `wasmorch` import module (ABI.md section 4) and its status codes.
//!
//! Everything above this module talks to the host through the [`HostApi`] trait, with slices in
//! place of `(ptr, len)` pairs and the raw status codes as results. On wasm32 `WasmHost`
//! implements it with the imported functions; native tests implement it in memory. Nothing else
//! in the SDK touches pointers or the wasm calling convention.

use std::fmt;

/// The ABI version this SDK is built for; `wasmorch_abi_version` returns it.
pub const ABI_VERSION: i32 = 1;

/// The SDK's name in the manifest's `sdk` object.
pub(crate) const SDK_NAME: &str = "wasmorch-rust";
/// The SDK's version in the manifest's `sdk` object.
pub(crate) const SDK_VERSION: &str = "0.1.0";

// Status codes (ABI.md section 3).
pub(crate) const OK: i32 = 0;
pub(crate) const ERR_BOUNDS: i32 = -1;
pub(crate) const ERR_NOT_FOUND: i32 = -2;
pub(crate) const ERR_INVALID: i32 = -3;
pub(crate) const ERR_STATE: i32 = -4;
pub(crate) const ERR_LIMIT: i32 = -5;
pub(crate) const ERR_DENIED: i32 = -6;
pub(crate) const ERR_IO: i32 = -7;
pub(crate) const ERR_UNSUPPORTED: i32 = -8;

/// The ABI name of a status code, such as `ERR_NOT_FOUND`.
pub(crate) fn status_name(code: i32) -> &'static str {
    match code {
        OK => "OK",
        ERR_BOUNDS => "ERR_BOUNDS",
        ERR_NOT_FOUND => "ERR_NOT_FOUND",
        ERR_INVALID => "ERR_INVALID",
        ERR_STATE => "ERR_STATE",
        ERR_LIMIT => "ERR_LIMIT",
        ERR_DENIED => "ERR_DENIED",
        ERR_IO => "ERR_IO",
        ERR_UNSUPPORTED => "ERR_UNSUPPORTED",
        _ => "UNKNOWN_STATUS",
    }
}

// Results of wasmorch_run (ABI.md section 6).
pub(crate) const RUN_SUCCESS: i32 = 0;
pub(crate) const RUN_FAILURE: i32 = 1;
pub(crate) const RUN_RETRY: i32 = 2;

/// The output of an asset.
pub(crate) const OUTPUT_RESULT: &str = "result";

/// The input through which a check receives its asset's value (ABI.md section 7.3).
pub(crate) const INPUT_ASSET: &str = "asset";

/// The longest dynamic mapping key (ABI.md section 4.4).
pub(crate) const MAX_MAPPING_KEY: usize = 255;

/// Whether `key` may be a dynamic mapping key: 1 to 255 characters matching `^[A-Za-z0-9_]+$`.
pub(crate) fn valid_mapping_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_MAPPING_KEY
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

// `check_result` severities (ABI.md section 4.5).
pub(crate) const SEVERITY_WARN: i32 = 0;
pub(crate) const SEVERITY_ERROR: i32 = 1;

/// Metadata entries the host sets itself; `metadata_add` refuses them (ABI.md section 4.4).
pub(crate) const RESERVED_METADATA: [&str; 6] = [
    "rows",
    "bytes",
    "schema",
    "format",
    "duration_ms",
    "module_digest",
];

/// A value's format (ABI.md section 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// An Arrow IPC stream.
    Arrow = 1,
    /// One UTF-8 JSON document.
    Json = 2,
    /// Opaque bytes.
    Bytes = 3,
}

impl Format {
    /// The format's name in manifests and invocations: `arrow`, `json` or `bytes`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Arrow => "arrow",
            Format::Json => "json",
            Format::Bytes => "bytes",
        }
    }

    pub(crate) fn from_code(code: i32) -> Option<Format> {
        match code {
            1 => Some(Format::Arrow),
            2 => Some(Format::Json),
            3 => Some(Format::Bytes),
            _ => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A log level of the `log` host function (ABI.md section 4.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `DEBUG`
    Debug = 0,
    /// `INFO`
    Info = 1,
    /// `WARNING`
    Warning = 2,
    /// `ERROR`
    Error = 3,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        })
    }
}

/// A host call that returned a negative status code, with the host's last error message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostError {
    /// The host function, such as `input_open`.
    pub call: &'static str,
    /// The negative status code, such as -2.
    pub code: i32,
    /// The host's `last_error` message; may be empty.
    pub message: String,
}

impl HostError {
    /// The ABI name of the code, such as `ERR_NOT_FOUND`.
    pub fn status(&self) -> &'static str {
        status_name(self.code)
    }
}

impl fmt::Display for HostError {
    /// For example `input_open returned ERR_NOT_FOUND: no input "x"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} returned {}", self.call, self.status())?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for HostError {}

/// The host functions the SDK calls, as slices and raw status codes.
pub(crate) trait HostApi {
    fn last_error_len(&self) -> i32;
    fn last_error_read(&self, buf: &mut [u8]) -> i32;
    fn invocation_len(&self) -> i32;
    fn invocation_read(&self, buf: &mut [u8]) -> i32;
    fn input_open(&self, name: &str) -> i32;
    fn input_format(&self, handle: i32) -> i32;
    fn input_next(&self, handle: i32) -> i64;
    fn input_read(&self, handle: i32, buf: &mut [u8]) -> i32;
    fn input_close(&self, handle: i32) -> i32;
    fn input_partition_key(&self, handle: i32, buf: &mut [u8]) -> i32;
    fn output_open(&self, name: &str, format: Format) -> i32;
    fn output_write(&self, handle: i32, data: &[u8]) -> i32;
    fn output_close(&self, handle: i32) -> i32;
    fn error_set(&self, message: &str) -> i32;
    fn metadata_add(&self, json: &str) -> i32;
    fn check_result(&self, passed: bool, severity: i32) -> i32;
    fn resource_call(&self, key: &str, request: &[u8]) -> i64;
    fn response_read(&self, buf: &mut [u8]) -> i32;
    fn log(&self, level: Level, message: &str) -> i32;
    fn manifest_write(&self, json: &str) -> i32;
}

impl dyn HostApi + '_ {
    /// The host's last error message (ABI.md section 4.1), or "" if it cannot be read.
    pub(crate) fn last_error(&self) -> String {
        let n = self.last_error_len();
        if n <= 0 {
            return String::new();
        }
        let mut buf = vec![0; n as usize];
        let m = self.last_error_read(&mut buf);
        if m < 0 {
            return String::new();
        }
        buf.truncate(m as usize);
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// A [`HostError`] for a call that just returned `code`. Call it right away, before another
    /// call can replace the host's message.
    pub(crate) fn error(&self, call: &'static str, code: i64) -> HostError {
        HostError {
            call,
            code: code as i32,
            message: self.last_error(),
        }
    }

    /// The partition key of the input's current chunk (ABI.md section 4.3): "" for an
    /// unpartitioned input. Keys are short, so one call usually does; a longer key is read
    /// again into a buffer of its full length.
    pub(crate) fn chunk_partition_key(&self, handle: i32) -> Result<String, HostError> {
        let mut buf = [0u8; 128];
        let n = self.check(
            "input_partition_key",
            self.input_partition_key(handle, &mut buf),
        )? as usize;
        let key = if n <= buf.len() {
            buf[..n].to_vec()
        } else {
            let mut long = vec![0u8; n];
            let m = self.check(
                "input_partition_key",
                self.input_partition_key(handle, &mut long),
            )? as usize;
            long.truncate(m.min(n));
            long
        };
        String::from_utf8(key).map_err(|_| HostError {
            call: "input_partition_key",
            code: ERR_INVALID,
            message: "the partition key is not valid UTF-8".to_string(),
        })
    }

    /// Turns a status into `Ok(status)` or the call's [`HostError`].
    pub(crate) fn check(&self, call: &'static str, status: i32) -> Result<i32, HostError> {
        if status < 0 {
            Err(self.error(call, status.into()))
        } else {
            Ok(status)
        }
    }
}

#[cfg(target_arch = "wasm32")]
pub(crate) use wasm::WasmHost;

#[cfg(target_arch = "wasm32")]
mod wasm {
    //! The imports of the `wasmorch` module. Every function of ABI version 1 is declared, with
    //! the ABI's name through `link_name`; the linker drops the ones the SDK does not call.
    //! Pointers and lengths are `i32` in wasm32, as the ABI says, and are read as unsigned.

    use super::{Format, HostApi, Level};

    #[link(wasm_import_module = "wasmorch")]
    extern "C" {
        #[link_name = "last_error_len"]
        fn wm_last_error_len() -> i32;
        #[link_name = "last_error_read"]
        fn wm_last_error_read(buf: *mut u8, len: usize) -> i32;
        #[link_name = "invocation_len"]
        fn wm_invocation_len() -> i32;
        #[link_name = "invocation_read"]
        fn wm_invocation_read(buf: *mut u8, len: usize) -> i32;
        #[link_name = "input_open"]
        fn wm_input_open(name: *const u8, len: usize) -> i32;
        #[link_name = "input_format"]
        fn wm_input_format(handle: i32) -> i32;
        #[link_name = "input_next"]
        fn wm_input_next(handle: i32) -> i64;
        #[link_name = "input_read"]
        fn wm_input_read(handle: i32, buf: *mut u8, len: usize) -> i32;
        #[link_name = "input_close"]
        fn wm_input_close(handle: i32) -> i32;
        #[link_name = "input_partition_key"]
        fn wm_input_partition_key(handle: i32, buf: *mut u8, len: usize) -> i32;
        #[link_name = "output_open"]
        fn wm_output_open(name: *const u8, len: usize, format: i32) -> i32;
        #[link_name = "output_write"]
        fn wm_output_write(handle: i32, ptr: *const u8, len: usize) -> i32;
        #[link_name = "output_metadata"]
        #[allow(dead_code)]
        fn wm_output_metadata(handle: i32, json: *const u8, len: usize) -> i32;
        #[link_name = "output_close"]
        fn wm_output_close(handle: i32) -> i32;
        #[link_name = "error_set"]
        fn wm_error_set(ptr: *const u8, len: usize) -> i32;
        #[link_name = "metadata_add"]
        fn wm_metadata_add(json: *const u8, len: usize) -> i32;
        #[link_name = "check_result"]
        fn wm_check_result(passed: i32, severity: i32) -> i32;
        #[link_name = "log"]
        fn wm_log(level: i32, ptr: *const u8, len: usize) -> i32;
        #[link_name = "resource_call"]
        fn wm_resource_call(key: *const u8, key_len: usize, req: *const u8, req_len: usize) -> i64;
        #[link_name = "response_read"]
        fn wm_response_read(buf: *mut u8, len: usize) -> i32;
        #[link_name = "manifest_write"]
        fn wm_manifest_write(ptr: *const u8, len: usize) -> i32;
    }

    /// [`HostApi`] over the imported functions.
    pub(crate) struct WasmHost;

    // Why the calls below are sound, referred to as "(ABI)" in each SAFETY comment: every
    // pointer/length pair comes from a live Rust slice or str borrowed for the duration of the
    // call, so the range lies inside linear memory. The host reads such ranges, or writes at
    // most `len` bytes into a `&mut [u8]`, only during the call (ABI.md section 1), and never
    // grows memory or calls back into the guest, so Rust's aliasing rules hold. Handles and
    // levels are plain integers that the host validates.
    impl HostApi for WasmHost {
        fn last_error_len(&self) -> i32 {
            // SAFETY: (ABI); integers only.
            unsafe { wm_last_error_len() }
        }
        fn last_error_read(&self, buf: &mut [u8]) -> i32 {
            // SAFETY: (ABI); `buf` is exclusively borrowed for the call.
            unsafe { wm_last_error_read(buf.as_mut_ptr(), buf.len()) }
        }
        fn invocation_len(&self) -> i32 {
            // SAFETY: (ABI); integers only.
            unsafe { wm_invocation_len() }
        }
        fn invocation_read(&self, buf: &mut [u8]) -> i32 {
            // SAFETY: (ABI); `buf` is exclusively borrowed for the call.
            unsafe { wm_invocation_read(buf.as_mut_ptr(), buf.len()) }
        }
        fn input_open(&self, name: &str) -> i32 {
            // SAFETY: (ABI); `name` is borrowed for the call.
            unsafe { wm_input_open(name.as_ptr(), name.len()) }
        }
        fn input_format(&self, handle: i32) -> i32 {
            // SAFETY: (ABI); integers only.
            unsafe { wm_input_format(handle) }
        }
        fn input_next(&self, handle: i32) -> i64 {
            // SAFETY: (ABI); integers only.
            unsafe { wm_input_next(handle) }
        }
        fn input_read(&self, handle: i32, buf: &mut [u8]) -> i32 {
            // SAFETY: (ABI); `buf` is exclusively borrowed for the call.
            unsafe { wm_input_read(handle, buf.as_mut_ptr(), buf.len()) }
        }
        fn input_close(&self, handle: i32) -> i32 {
            // SAFETY: (ABI); integers only.
            unsafe { wm_input_close(handle) }
        }
        fn input_partition_key(&self, handle: i32, buf: &mut [u8]) -> i32 {
            // SAFETY: (ABI); `buf` is exclusively borrowed for the call.
            unsafe { wm_input_partition_key(handle, buf.as_mut_ptr(), buf.len()) }
        }
        fn output_open(&self, name: &str, format: Format) -> i32 {
            // SAFETY: (ABI); `name` is borrowed for the call.
            unsafe { wm_output_open(name.as_ptr(), name.len(), format as i32) }
        }
        fn output_write(&self, handle: i32, data: &[u8]) -> i32 {
            // SAFETY: (ABI); `data` is borrowed for the call.
            unsafe { wm_output_write(handle, data.as_ptr(), data.len()) }
        }
        fn output_close(&self, handle: i32) -> i32 {
            // SAFETY: (ABI); integers only.
            unsafe { wm_output_close(handle) }
        }
        fn error_set(&self, message: &str) -> i32 {
            // SAFETY: (ABI); `message` is borrowed for the call.
            unsafe { wm_error_set(message.as_ptr(), message.len()) }
        }
        fn metadata_add(&self, json: &str) -> i32 {
            // SAFETY: (ABI); `json` is borrowed for the call.
            unsafe { wm_metadata_add(json.as_ptr(), json.len()) }
        }
        fn check_result(&self, passed: bool, severity: i32) -> i32 {
            // SAFETY: (ABI); integers only.
            unsafe { wm_check_result(i32::from(passed), severity) }
        }
        fn resource_call(&self, key: &str, request: &[u8]) -> i64 {
            // SAFETY: (ABI); `key` and `request` are borrowed for the call.
            unsafe { wm_resource_call(key.as_ptr(), key.len(), request.as_ptr(), request.len()) }
        }
        fn response_read(&self, buf: &mut [u8]) -> i32 {
            // SAFETY: (ABI); `buf` is exclusively borrowed for the call.
            unsafe { wm_response_read(buf.as_mut_ptr(), buf.len()) }
        }
        fn log(&self, level: Level, message: &str) -> i32 {
            // SAFETY: (ABI); `message` is borrowed for the call.
            unsafe { wm_log(level as i32, message.as_ptr(), message.len()) }
        }
        fn manifest_write(&self, json: &str) -> i32 {
            // SAFETY: (ABI); `json` is borrowed for the call.
            unsafe { wm_manifest_write(json.as_ptr(), json.len()) }
        }
    }
}
