//! One packet buffer (`struct rte_mbuf`), owned.
//!
//! rvs uses single-segment buffers only (ports are configured without scatter), so the
//! packet is one contiguous byte slice between headroom and tailroom.
use std::ptr::NonNull;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::ffi;

/// Where drivers put the RX timestamp: (dynfield offset, ol_flags bit). DPDK registers the
/// field once per process, so one global suffices; set when a port enables the offload.
static RX_TIMESTAMP: OnceLock<(i32, u64)> = OnceLock::new();

/// Per port id: what to multiply a driver's RX timestamp by to get nanoseconds. DPDK leaves
/// the unit to the driver; net_pcap 22.11 stores microseconds (`tv_sec * 10^6 + tv_usec`).
static RX_TIMESTAMP_SCALE: [AtomicU32; ffi::RTE_MAX_ETHPORTS as usize] =
    [const { AtomicU32::new(1) }; ffi::RTE_MAX_ETHPORTS as usize];

/// Sets the nanoseconds-per-unit of port `port`'s RX timestamps.
pub(crate) fn set_rx_timestamp_scale(port: u16, ns_per_unit: u32) {
    if let Some(s) = RX_TIMESTAMP_SCALE.get(usize::from(port)) {
        s.store(ns_per_unit, Ordering::Relaxed);
    }
}

/// Records the RX timestamp dynfield (offset must be a registered 8-byte dynfield).
pub(crate) fn set_rx_timestamp_field(offset: i32, flag: u64) {
    let _ = RX_TIMESTAMP.set((offset, flag));
}

/// An owned packet buffer; returned to its pool on drop.
///
/// `repr(transparent)` over the mbuf pointer, so a slice of `Mbuf` is an array of
/// `struct rte_mbuf *` that can be handed to a burst function as is.
#[repr(transparent)]
pub struct Mbuf(NonNull<ffi::rte_mbuf>);

// SAFETY: an mbuf is plain memory owned by whoever holds the pointer; freeing it from
// another thread is supported by the mempool.
unsafe impl Send for Mbuf {}

impl Mbuf {
    /// Takes ownership of a raw mbuf.
    ///
    /// # Safety
    /// `m` must be a valid, single-segment mbuf that no one else owns or will free.
    pub unsafe fn from_raw(m: NonNull<ffi::rte_mbuf>) -> Mbuf {
        Mbuf(m)
    }

    /// Gives up ownership without freeing.
    pub fn into_raw(self) -> NonNull<ffi::rte_mbuf> {
        let m = self.0;
        std::mem::forget(self);
        m
    }

    /// Where the packet starts and how long its first (only) segment is:
    /// `rte_pktmbuf_mtod` (`buf_addr + data_off`) and `data_len`, read from the struct in
    /// Rust rather than through the C shim, because the packet path calls this for every
    /// header it looks at and a cross-language call cannot be inlined (it showed as ~10 % of
    /// a forwarding profile).
    #[inline]
    fn span(&self) -> (*mut u8, usize) {
        // SAFETY: the mbuf is valid and owned by us (the type's invariant), so reading its
        // header fields is sound; `buf_addr + data_off` stays inside the mbuf's buffer
        // (DPDK keeps data_off <= buf_len), which is what `rte_pktmbuf_mtod` computes.
        unsafe {
            let m = self.0.as_ref();
            let ptr = m.buf_addr.cast::<u8>().add(usize::from(m.data_off));
            (ptr, usize::from(m.data_len))
        }
    }

    /// The packet bytes.
    #[inline]
    pub fn data(&self) -> &[u8] {
        let (ptr, len) = self.span();
        // SAFETY: `span` points at data_len initialised bytes of the mbuf's buffer, which
        // live as long as the mbuf.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }

    /// The packet bytes, writable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        let (ptr, len) = self.span();
        // SAFETY: as in `data`, and `&mut self` guarantees exclusive access.
        unsafe { std::slice::from_raw_parts_mut(ptr, len) }
    }

    /// Bytes free in front of the packet.
    pub fn headroom(&self) -> usize {
        // SAFETY: valid owned mbuf; reads two header fields.
        usize::from(unsafe { ffi::rvs_pktmbuf_headroom(self.0.as_ptr()) })
    }

    /// Bytes free after the packet.
    pub fn tailroom(&self) -> usize {
        // SAFETY: valid owned mbuf; reads header fields.
        usize::from(unsafe { ffi::rvs_pktmbuf_tailroom(self.0.as_ptr()) })
    }

    /// Grows the packet at the front by `len` bytes; `false` (and no change) when the
    /// headroom is too small.
    pub fn prepend(&mut self, len: usize) -> bool {
        let Ok(len) = u16::try_from(len) else {
            return false;
        };
        // SAFETY: valid owned mbuf; DPDK checks the headroom and returns NULL without change.
        !unsafe { ffi::rvs_pktmbuf_prepend(self.0.as_ptr(), len) }.is_null()
    }

    /// Removes `len` bytes from the front; `false` (and no change) when the packet is shorter.
    pub fn adj(&mut self, len: usize) -> bool {
        let Ok(len) = u16::try_from(len) else {
            return false;
        };
        // SAFETY: valid owned mbuf; DPDK checks the length and returns NULL without change.
        !unsafe { ffi::rvs_pktmbuf_adj(self.0.as_ptr(), len) }.is_null()
    }

    /// Grows the packet at the end by `len` bytes (contents unspecified); `false` when the
    /// tailroom is too small.
    pub fn append(&mut self, len: usize) -> bool {
        let Ok(len) = u16::try_from(len) else {
            return false;
        };
        // SAFETY: valid owned mbuf; DPDK checks the tailroom and returns NULL without change.
        !unsafe { ffi::rvs_pktmbuf_append(self.0.as_ptr(), len) }.is_null()
    }

    /// Removes `len` bytes from the end; `false` when the packet is shorter.
    pub fn trim(&mut self, len: usize) -> bool {
        let Ok(len) = u16::try_from(len) else {
            return false;
        };
        // SAFETY: valid owned mbuf; DPDK checks the length and returns -1 without change.
        unsafe { ffi::rvs_pktmbuf_trim(self.0.as_ptr(), len) == 0 }
    }

    /// The offload flags (`ol_flags`).
    pub fn ol_flags(&self) -> u64 {
        // SAFETY: valid owned mbuf; reads one field.
        unsafe { ffi::rvs_mbuf_ol_flags(self.0.as_ptr()) }
    }

    /// Number of segments (1 for every buffer rvs creates or receives).
    pub fn nb_segs(&self) -> u16 {
        // SAFETY: valid owned mbuf; reads one field.
        unsafe { ffi::rvs_pktmbuf_nb_segs(self.0.as_ptr()) }
    }

    /// The RX timestamp the driver stored, in ns, when it did (net_pcap: the record's
    /// capture time since the epoch).
    pub fn rx_timestamp(&self) -> Option<u64> {
        let &(offset, flag) = RX_TIMESTAMP.get()?;
        if self.ol_flags() & flag == 0 {
            return None;
        }
        // SAFETY: valid owned mbuf; `offset` is the registered 8-byte timestamp dynfield
        // (looked up by name from DPDK's registry before being stored).
        let raw = unsafe { ffi::rvs_mbuf_dynfield_u64(self.0.as_ptr(), offset) };
        // SAFETY: valid owned mbuf; reads one field.
        let port = unsafe { ffi::rvs_mbuf_port(self.0.as_ptr()) };
        let scale = RX_TIMESTAMP_SCALE
            .get(usize::from(port))
            .map_or(1, |s| s.load(Ordering::Relaxed));
        Some(raw.saturating_mul(u64::from(scale)))
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: we own the mbuf; freeing returns it (and any chained segment) to its pool.
        unsafe { ffi::rvs_pktmbuf_free(self.0.as_ptr()) };
    }
}

impl std::fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mbuf")
            .field("len", &self.data().len())
            .field("headroom", &self.headroom())
            .finish()
    }
}
