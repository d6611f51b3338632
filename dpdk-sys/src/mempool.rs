//! Packet buffer pools (`rte_pktmbuf_pool_create`).
use std::ffi::CString;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::eal::Eal;
use crate::error::DpdkError;
use crate::ffi;
use crate::mbuf::Mbuf;

/// A pool of packet buffers. Clones share the pool.
#[derive(Clone)]
pub struct Mempool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    ptr: NonNull<ffi::rte_mempool>,
    _eal: Eal,
}

// SAFETY: a DPDK mempool is built for concurrent get/put from many threads (per-lcore
// caches plus a lock-free ring); the pointer itself is never mutated by us.
unsafe impl Send for PoolInner {}
// SAFETY: see Send; every operation we expose is thread-safe in DPDK.
unsafe impl Sync for PoolInner {}

impl Drop for PoolInner {
    fn drop(&mut self) {
        // Freeing a pool with buffers still out would leave them dangling: leak it instead
        // (only ever at exit, when the OS reclaims it anyway).
        // SAFETY: the pool pointer is valid until freed here.
        let in_use = unsafe { ffi::rte_mempool_in_use_count(self.ptr.as_ptr()) };
        if in_use == 0 {
            // SAFETY: valid pool with no buffer in use; nothing else refers to it (this is
            // the last clone).
            unsafe { ffi::rte_mempool_free(self.ptr.as_ptr()) };
        }
    }
}

impl Mempool {
    /// Creates a pool of `n` buffers of `data_room` bytes (headroom included; DPDK's default
    /// is 2176 = 128 headroom + 2048) with a per-lcore cache of `cache` buffers.
    pub fn new(
        eal: &Eal,
        name: &str,
        n: u32,
        cache: u32,
        data_room: u16,
        socket: i32,
    ) -> Result<Mempool, DpdkError> {
        let cname = CString::new(name)
            .map_err(|_| DpdkError::Invalid(format!("pool name {name:?} has a NUL byte")))?;
        // SAFETY: EAL is initialised (we hold an Eal); the name is a valid C string that DPDK
        // copies.
        let ptr =
            unsafe { ffi::rte_pktmbuf_pool_create(cname.as_ptr(), n, cache, 0, data_room, socket) };
        let ptr = NonNull::new(ptr)
            .ok_or_else(|| DpdkError::from_errno(format!("rte_pktmbuf_pool_create({name})")))?;
        Ok(Mempool {
            inner: Arc::new(PoolInner {
                ptr,
                _eal: eal.clone(),
            }),
        })
    }

    /// Takes a fresh buffer (empty, default headroom), `None` when the pool is exhausted.
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: the pool is valid while we hold it; alloc is thread-safe.
        let m = unsafe { ffi::rvs_pktmbuf_alloc(self.inner.ptr.as_ptr()) };
        // SAFETY: a non-null result is a freshly allocated mbuf that nobody else owns.
        NonNull::new(m).map(|m| unsafe { Mbuf::from_raw(m) })
    }

    /// Buffers currently available in the pool (caches included).
    pub fn avail_count(&self) -> u32 {
        // SAFETY: valid pool; the count is a read-only walk of thread-safe counters.
        unsafe { ffi::rte_mempool_avail_count(self.inner.ptr.as_ptr()) }
    }

    /// Buffers currently taken from the pool.
    pub fn in_use_count(&self) -> u32 {
        // SAFETY: as for avail_count.
        unsafe { ffi::rte_mempool_in_use_count(self.inner.ptr.as_ptr()) }
    }

    pub(crate) fn as_ptr(&self) -> *mut ffi::rte_mempool {
        self.inner.ptr.as_ptr()
    }
}
