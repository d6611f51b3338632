//! Zero-copy packet views and builders.
//!
//! Every protocol module follows one shape, so a reader who knows one knows them all:
//!
//! - A view `Packet<T: AsRef<[u8]>>` (`Frame` for Ethernet) wraps a byte buffer and reads
//!   fields at fixed offsets. Read accessors need only `AsRef<[u8]>`; setters need
//!   `AsMut<[u8]>`, so the same view serves a received mbuf and a packet being rewritten.
//! - The byte layout is data: each module has a `field` module of `Field` ranges
//!   (`pub const SRC: Field = 12..16;`) that the accessors index with. Offsets are read one by
//!   one rather than by casting the buffer to a `#[repr(C)]` struct: no `unsafe`, no
//!   alignment assumptions about where DPDK put the packet, and the compiler turns the reads
//!   into plain loads anyway.
//! - **The no-panic contract.** `new_checked` validates lengths and the fields that
//!   determine other fields' positions (header length, option lengths ...); once it returns
//!   `Ok`, *every* accessor and setter of that view is panic-free for that buffer.
//!   `new_unchecked` skips the checks: it exists for buffers the caller has just built or
//!   already checked, and its accessors may panic on a short buffer (each says so in a
//!   `# Panics` section where that applies).
//! - One error enum per protocol. Each variant is a distinct reason to drop a packet, so the
//!   worker can count drops per reason (`Ipv4Error::BadChecksum`, `TcpError::BadOptionLength`,
//!   ...) instead of lumping them into one "malformed" counter.
//! - Builders (`emit*`) write into a caller's `&mut [u8]` and return the number of bytes
//!   written, or a typed error when the buffer is too small. Nothing in `wire` allocates and
//!   nothing uses `unsafe`.
//! - Checksums are kept right incrementally (RFC 1624, see [`checksum`]) by every setter
//!   that changes a covered field, so a NAT rewrite never re-sums the whole packet.
//!
//! Each file ends with tests over captured bytes (frames made with scapy, pasted as hex) and
//! round trips; `fuzz` holds the parse-everything bodies shared by the proptests and the
//! cargo-fuzz targets.

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod fuzz;
pub mod gre;
pub mod gue;
pub mod icmp;
pub mod icmpv6;
pub mod ip;
pub mod ipip;
pub mod ipv4;
pub mod ipv6;
pub mod ndp;
pub mod proxy;
pub mod tcp;
pub mod toa;
pub mod udp;

pub use arp::{ArpError, Operation as ArpOperation};
pub use ethernet::{EtherType, EthernetError, MacAddr};
pub use gre::GreError;
pub use gue::GueError;
pub use icmp::IcmpError;
pub use icmpv6::Icmpv6Error;
pub use ip::IpProtocol;
pub use ipip::IpipError;
pub use ipv4::Ipv4Error;
pub use ipv6::Ipv6Error;
pub use ndp::NdpError;
pub use proxy::ProxyError;
pub use tcp::TcpError;
pub use udp::UdpError;

/// A byte range of a header field, in bytes from the start of the header.
pub type Field = core::ops::Range<usize>;

/// The open range from a header's end to the end of the buffer.
pub type Rest = core::ops::RangeFrom<usize>;

/// Reads a big-endian `u16` at `at`.
///
/// # Panics
/// If `at + 2 > buf.len()`; callers index only with offsets their `new_checked` validated.
#[inline(always)]
pub(crate) fn read_u16(buf: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([buf[at], buf[at + 1]])
}

/// Reads a big-endian `u32` at `at`.
///
/// # Panics
/// If `at + 4 > buf.len()`; callers index only with offsets their `new_checked` validated.
#[inline(always)]
pub(crate) fn read_u32(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

/// Writes a big-endian `u16` at `at`.
///
/// # Panics
/// If `at + 2 > buf.len()`; callers index only with offsets their `new_checked` validated.
#[inline(always)]
pub(crate) fn write_u16(buf: &mut [u8], at: usize, value: u16) {
    buf[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

/// Writes a big-endian `u32` at `at`.
///
/// # Panics
/// If `at + 4 > buf.len()`; callers index only with offsets their `new_checked` validated.
#[inline(always)]
pub(crate) fn write_u32(buf: &mut [u8], at: usize, value: u32) {
    buf[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

/// Reads a fixed-size byte array at `at`.
///
/// # Panics
/// If `at + N > buf.len()`; callers index only with offsets their `new_checked` validated.
#[inline(always)]
pub(crate) fn read_array<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&buf[at..at + N]);
    out
}

/// Helpers shared by the unit tests of every protocol module.
#[cfg(test)]
pub(crate) mod testutil {
    /// Decodes hex text, ignoring whitespace, so captured frames can be pasted in readable
    /// groups.
    ///
    /// # Panics
    /// On a non-hex character or an odd digit count: test constants only.
    pub fn hex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
        digits
            .chunks(2)
            .map(|pair| {
                let text = std::str::from_utf8(pair).expect("ascii");
                u8::from_str_radix(text, 16).expect("hex digit")
            })
            .collect()
    }
}
