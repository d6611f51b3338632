//! Packet I/O behind one pair of traits, so the same worker loop runs over DPDK ports and
//! over pcap files.
//!
//! * [`PacketBuf`] is one packet: its bytes as a slice plus the headroom operations later
//!   forwarding needs (encapsulation = [`PacketBuf::prepend`], decapsulation =
//!   [`PacketBuf::adj`], TOA insertion = [`PacketBuf::append`] then a shift, padding removal
//!   = [`PacketBuf::trim`]) and the RX timestamp when the port has one.
//! * [`PortQueue`] is queue q of one port, owned by exactly one worker: receive a burst into
//!   a fixed-capacity [`Burst`], transmit a burst, allocate a fresh buffer. Owning the queue
//!   is what lets the worker run without locks.
//!
//! Backends: [`dpdk`] (the real thing, feature `dpdk`) and [`pcap`] (pure Rust, one input
//! file per queue, with preallocated buffers and mbuf-like headroom) for deterministic tests
//! without EAL.

#[cfg(feature = "dpdk")]
pub mod dpdk;
pub mod pcap;

use arrayvec::ArrayVec;

/// The most packets one burst carries (and the capacity of every [`Burst`]).
pub const BURST_MAX: usize = 64;

/// Free space in front of a fresh packet, as DPDK's `RTE_PKTMBUF_HEADROOM`.
pub const HEADROOM: usize = 128;

/// A burst of packets: a fixed-capacity array on the worker's stack, never allocated.
pub type Burst<B> = ArrayVec<B, BURST_MAX>;

/// A headroom or tailroom operation that would not fit; the buffer is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no room: {op} of {len} bytes")]
pub struct NoRoom {
    pub op: &'static str,
    pub len: usize,
}

/// One packet buffer, contiguous.
pub trait PacketBuf: Send {
    /// The packet bytes (from the Ethernet header on).
    fn data(&self) -> &[u8];
    /// The packet bytes, writable.
    fn data_mut(&mut self) -> &mut [u8];
    /// Bytes free in front of the packet.
    fn headroom(&self) -> usize;
    /// Bytes free after the packet.
    fn tailroom(&self) -> usize;
    /// Grows the packet by `len` bytes at the front and returns the whole packet; the new
    /// bytes (`[..len]`) are unspecified.
    fn prepend(&mut self, len: usize) -> Result<&mut [u8], NoRoom>;
    /// Removes `len` bytes from the front.
    fn adj(&mut self, len: usize) -> Result<(), NoRoom>;
    /// Grows the packet by `len` bytes at the end and returns the whole packet; the new bytes
    /// are unspecified.
    fn append(&mut self, len: usize) -> Result<&mut [u8], NoRoom>;
    /// Removes `len` bytes from the end.
    fn trim(&mut self, len: usize) -> Result<(), NoRoom>;
    /// When the port stamped the packet on receipt: ns (a pcap record's capture time, or
    /// the NIC's clock). `None` for ports without timestamps.
    fn rx_timestamp(&self) -> Option<u64>;
    /// Packet length in bytes.
    fn len(&self) -> usize {
        self.data().len()
    }
    /// Whether the packet has no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Queue q of one port (RX queue q and TX queue q), owned by one worker.
pub trait PortQueue: Send {
    type Buf: PacketBuf;
    /// Receives up to `max` packets (and at most the free capacity of `out`), appending;
    /// returns how many arrived.
    fn rx_burst(&mut self, out: &mut Burst<Self::Buf>, max: usize) -> usize;
    /// Transmits from the front of `bufs`; sent packets leave `bufs`, unsent ones stay at the
    /// front (a full TX ring). Returns how many were sent.
    fn tx_burst(&mut self, bufs: &mut Burst<Self::Buf>) -> usize;
    /// A fresh empty buffer with [`HEADROOM`] bytes of headroom, `None` when the pool is dry.
    fn alloc(&mut self) -> Option<Self::Buf>;
}
