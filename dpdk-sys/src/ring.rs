//! Single-producer/single-consumer `rte_ring`s of mbufs, split into their two ends.
//!
//! rvs's worker hand-off uses a Rust queue that works with both buffer types (see
//! `dataplane::worker::handoff`); this wrapper exists for DPDK-side uses that need an `rte_ring`
//! (for example a ring-backed port, `net_ring`, or a future secondary process).
use std::cell::Cell;
use std::ffi::{CString, c_void};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Arc;

use arrayvec::ArrayVec;

use crate::eal::Eal;
use crate::error::DpdkError;
use crate::ffi;
use crate::mbuf::Mbuf;

struct RingInner {
    ptr: NonNull<ffi::rte_ring>,
    _eal: Eal,
}

// SAFETY: the ring is shared by exactly one producer and one consumer handle (each !Sync),
// which is the concurrency an SP/SC rte_ring supports.
unsafe impl Send for RingInner {}
// SAFETY: see Send; the two handles only touch their own end.
unsafe impl Sync for RingInner {}

impl Drop for RingInner {
    fn drop(&mut self) {
        // Buffers still queued go back to their pools.
        let mut raw: *mut c_void = std::ptr::null_mut();
        // SAFETY: last reference: no producer or consumer is left, so we may dequeue.
        while unsafe { ffi::rvs_ring_dequeue_burst(self.ptr.as_ptr(), &mut raw, 1) } == 1 {
            if let Some(m) = NonNull::new(raw.cast::<ffi::rte_mbuf>()) {
                // SAFETY: only owned mbufs are ever enqueued.
                drop(unsafe { Mbuf::from_raw(m) });
            }
        }
        // SAFETY: valid ring created by rte_ring_create; nothing refers to it any more.
        unsafe { ffi::rte_ring_free(self.ptr.as_ptr()) };
    }
}

/// The producing end of an SP/SC mbuf ring.
pub struct RingProducer {
    ring: Arc<RingInner>,
    _not_sync: PhantomData<Cell<()>>,
}

/// The consuming end of an SP/SC mbuf ring.
pub struct RingConsumer {
    ring: Arc<RingInner>,
    _not_sync: PhantomData<Cell<()>>,
}

/// Creates a ring of `count` slots (a power of two; one slot stays empty) on `socket`.
pub fn spsc_ring(
    eal: &Eal,
    name: &str,
    count: u32,
    socket: i32,
) -> Result<(RingProducer, RingConsumer), DpdkError> {
    let cname = CString::new(name)
        .map_err(|_| DpdkError::Invalid(format!("ring name {name:?} has a NUL byte")))?;
    // SAFETY: EAL initialised; valid name; flags are the documented SP/SC bits.
    let ptr = unsafe {
        ffi::rte_ring_create(
            cname.as_ptr(),
            count,
            socket,
            ffi::RING_F_SP_ENQ | ffi::RING_F_SC_DEQ,
        )
    };
    let ptr = NonNull::new(ptr)
        .ok_or_else(|| DpdkError::from_errno(format!("rte_ring_create({name})")))?;
    let ring = Arc::new(RingInner {
        ptr,
        _eal: eal.clone(),
    });
    Ok((
        RingProducer {
            ring: ring.clone(),
            _not_sync: PhantomData,
        },
        RingConsumer {
            ring,
            _not_sync: PhantomData,
        },
    ))
}

impl RingProducer {
    /// Enqueues from the front of `bufs`; enqueued buffers are removed. Returns the count.
    pub fn enqueue_burst<const N: usize>(&mut self, bufs: &mut ArrayVec<Mbuf, N>) -> usize {
        let n = u32::try_from(bufs.len()).unwrap_or(u32::MAX);
        let ptr = bufs.as_ptr().cast::<*mut c_void>();
        // SAFETY: single producer (this handle, !Sync); ptr points at n owned mbuf pointers.
        let done = unsafe { ffi::rvs_ring_enqueue_burst(self.ring.ptr.as_ptr(), ptr, n) };
        let done = (done as usize).min(bufs.len());
        for m in bufs.drain(..done) {
            // The ring holds them now.
            let _ = m.into_raw();
        }
        done
    }
}

impl RingConsumer {
    /// Dequeues up to the free capacity of `out`, appending. Returns the count.
    pub fn dequeue_burst<const N: usize>(&mut self, out: &mut ArrayVec<Mbuf, N>) -> usize {
        let mut raw = [std::ptr::null_mut::<c_void>(); 64];
        let room = out.remaining_capacity().min(raw.len());
        // SAFETY: single consumer (this handle); raw has room for `room` pointers.
        let got = unsafe {
            ffi::rvs_ring_dequeue_burst(self.ring.ptr.as_ptr(), raw.as_mut_ptr(), room as u32)
        };
        let got = (got as usize).min(room);
        for &m in raw.iter().take(got) {
            if let Some(m) = NonNull::new(m.cast::<ffi::rte_mbuf>()) {
                // SAFETY: only owned mbufs are enqueued; ownership moves to `out`.
                out.push(unsafe { Mbuf::from_raw(m) });
            }
        }
        got
    }

    /// Buffers waiting in the ring.
    pub fn len(&self) -> usize {
        // SAFETY: valid ring; the count is a racy but safe read of two indices.
        unsafe { ffi::rvs_ring_count(self.ring.ptr.as_ptr()) as usize }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
