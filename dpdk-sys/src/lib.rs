//! Bindings to the system DPDK (22.11) and the safe wrappers rvs builds on.
//!
//! This crate is the only place (with `dataplane::port::dpdk`) where `unsafe` is allowed.
//! [`ffi`] holds the raw bindgen output plus the exported copies of DPDK's static-inline
//! fast-path functions (`rvs_*`, from `shim/rvs_shim.c`). Everything else is a safe
//! wrapper whose ownership rules make the C contracts hold:
//!
//! * [`Eal`] is initialised once per process and cleaned up when its last clone is dropped;
//!   every other object keeps a clone, so `rte_eal_cleanup` cannot run under a live object.
//! * [`Mempool`] frees its pool only when no buffer of it is in use (otherwise it is
//!   leaked, which is harmless at exit and never unsound).
//! * [`Port`] hands out each queue once ([`EthQueue`], `Send` but not `Sync`), because a DPDK
//!   queue may be polled by one thread only; it refuses to stop or close while a queue
//!   handle is alive.
//! * [`Mbuf`] owns one packet buffer and frees it on drop.
//! * [`ring`] splits a single-producer/single-consumer `rte_ring` into its two ends.
//! * [`rss`] decides a port's receive-side scaling from what its driver offers; [`flow`]
//!   installs queue-steering rules and keeps them behind ids, so none outlives its port.

pub mod eal;
pub mod error;
pub mod ethdev;
pub mod ffi;
pub mod flow;
pub mod lcore;
pub mod mbuf;
pub mod mempool;
pub mod ring;
pub mod rss;

pub use eal::Eal;
pub use error::DpdkError;
pub use ethdev::{EthQueue, LinkStatus, Port, PortConfig, PortInfo, PortStats, RssHashConf, Xstat};
pub use flow::{FlowId, L4Proto, QueueRule};
pub use lcore::{ThreadRegistration, lcore_id};
pub use mbuf::Mbuf;
pub use mempool::Mempool;
pub use ring::{RingConsumer, RingProducer, spsc_ring};

/// The DPDK version string of the library rvs is running with (`DPDK 22.11.x`).
pub fn version() -> String {
    // SAFETY: rte_version returns a pointer to a static NUL-terminated string; it needs no
    // EAL and is never freed.
    let ptr = unsafe { ffi::rte_version() };
    if ptr.is_null() {
        return String::from("unknown");
    }
    // SAFETY: non-null, NUL-terminated and static (see above).
    unsafe { std::ffi::CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}
