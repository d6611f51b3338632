//! Registering non-EAL threads as DPDK lcores.
//!
//! rvs starts its worker threads itself (pinned with core_affinity) instead of using EAL's
//! lcore launch, so each worker registers once: without an lcore id the mempool skips its
//! per-lcore cache and throughput falls several-fold.
use std::marker::PhantomData;

use crate::eal::Eal;
use crate::error::DpdkError;
use crate::ffi;

/// The calling thread's lcore id, `None` for a thread DPDK does not know.
pub fn lcore_id() -> Option<u32> {
    // SAFETY: reads a thread-local value; valid on any thread.
    let id = unsafe { ffi::rvs_lcore_id() };
    (id != ffi::LCORE_ID_ANY).then_some(id)
}

/// The calling thread's lcore registration; unregisters on drop. Not `Send`: it belongs to
/// the thread that registered.
pub struct ThreadRegistration {
    _eal: Eal,
    _not_send: PhantomData<*const ()>,
}

impl ThreadRegistration {
    /// Registers the calling thread (a no-op registration for a thread that already has an
    /// lcore id, such as the EAL main thread).
    pub fn register(eal: &Eal) -> Result<Option<ThreadRegistration>, DpdkError> {
        if lcore_id().is_some() {
            return Ok(None);
        }
        // SAFETY: EAL is initialised (we hold an Eal); registering the calling thread has no
        // other precondition.
        let ret = unsafe { ffi::rte_thread_register() };
        if ret < 0 {
            return Err(DpdkError::from_ret("rte_thread_register", ret));
        }
        Ok(Some(ThreadRegistration {
            _eal: eal.clone(),
            _not_send: PhantomData,
        }))
    }
}

impl Drop for ThreadRegistration {
    fn drop(&mut self) {
        // SAFETY: this thread registered (the guard is !Send, so we are on that thread) and
        // the EAL is alive (we hold a clone).
        unsafe { ffi::rte_thread_unregister() };
    }
}
