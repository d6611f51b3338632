//! The rvs dataplane: everything a worker core does, and nothing else.
//!
//! Rules of this crate: no locks, no allocation, no syscalls and no logging on the
//! per-packet path. State is per worker; shared read-mostly state arrives as an immutable
//! snapshot swapped between bursts.

pub mod conn;
pub mod fwd;
pub mod local;
pub mod neigh;
pub mod port;
pub mod sched;
pub mod stats;
pub mod wire;
pub mod worker;

/// Test and benchmark helpers (an in-memory queue, frame builders). Not for production
/// code paths: they panic on misuse.
#[doc(hidden)]
pub mod testutil;
