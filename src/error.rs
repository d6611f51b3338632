//! The daemon's error type: what failed, in words an operator can act on.
use dataplane::port::pcap::CaptureError;
use dpdk_sys::DpdkError;

#[derive(Debug, thiserror::Error)]
pub enum RvsdError {
    /// A DPDK call failed while doing `context`.
    #[error("{context}: {source}")]
    Dpdk { context: String, source: DpdkError },
    /// An input or output capture is unusable.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// Anything else, already phrased.
    #[error("{0}")]
    Other(String),
}

/// Adds what rvsd was doing to a DPDK error.
pub trait DpdkContext<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, RvsdError>;
}

impl<T> DpdkContext<T> for Result<T, DpdkError> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, RvsdError> {
        self.map_err(|source| RvsdError::Dpdk {
            context: what(),
            source,
        })
    }
}
