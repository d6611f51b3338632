//! The error type of every fallible DPDK call: which call failed and DPDK's own words.
use std::ffi::CStr;

use crate::ffi;

/// A failed DPDK call, or a request the wrapper refused before calling DPDK.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DpdkError {
    /// A DPDK function returned an error code.
    #[error("{op} failed: {message} (error {code})")]
    Call {
        /// The DPDK function (and its object) that failed, e.g. `rte_eth_dev_start(port 0)`.
        op: String,
        /// The positive errno-style code.
        code: i32,
        /// `rte_strerror(code)`.
        message: String,
    },
    /// `rte_eal_init` runs once per process; a second initialisation is refused.
    #[error("the DPDK EAL is already initialised in this process")]
    AlreadyInitialised,
    /// The request cannot be valid (a name with a NUL byte, a queue out of range ...).
    #[error("{0}")]
    Invalid(String),
}

impl DpdkError {
    /// An error from a DPDK return value: negative errno, or `rte_errno` when `ret` is -1
    /// and the function documents that it sets `rte_errno`.
    pub(crate) fn from_ret(op: impl Into<String>, ret: i32) -> DpdkError {
        let code = if ret == -1 { errno() } else { ret.abs() };
        DpdkError::Call {
            op: op.into(),
            code,
            message: strerror(code),
        }
    }

    /// An error from `rte_errno` (for calls that return NULL on failure).
    pub(crate) fn from_errno(op: impl Into<String>) -> DpdkError {
        let code = errno();
        DpdkError::Call {
            op: op.into(),
            code,
            message: strerror(code),
        }
    }
}

/// The calling thread's `rte_errno`.
pub(crate) fn errno() -> i32 {
    // SAFETY: reads a thread-local integer; valid on any thread, with or without EAL.
    unsafe { ffi::rvs_errno() }
}

/// DPDK's text for an error code (covers both libc errno values and DPDK's own).
pub(crate) fn strerror(code: i32) -> String {
    // SAFETY: rte_strerror accepts any integer and returns a NUL-terminated string that
    // stays valid at least until the next call on this thread; we copy it at once.
    let ptr = unsafe { ffi::rte_strerror(code) };
    if ptr.is_null() {
        return format!("error {code}");
    }
    // SAFETY: non-null and NUL-terminated (see above).
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}
