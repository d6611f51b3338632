//! UDP datagrams (RFC 768): the view, checksums with both pseudo-headers, and port
//! rewrites that keep the checksum right.
//!
//! Over IPv4 a zero checksum means "not computed" (RFC 768): it verifies, and rewrites
//! leave it zero. A computed checksum of zero is sent as `0xffff`, so rewrites map a
//! zero result to `0xffff` too. Over IPv6 the checksum is mandatory (RFC 8200 section
//! 8.1); the RFC 6935 exception for tunnels is the tunnel's business
//! ([`Packet::verify_checksum_v6`] reports zero as not verifying).

use core::net::{Ipv4Addr, Ipv6Addr};

use super::checksum;
use super::ip::IpProtocol;
use super::{Field, Rest, read_u16, write_u16};

/// Byte layout of the UDP header.
pub mod field {
    use super::{Field, Rest};
    /// Source port.
    pub const SRC_PORT: Field = 0..2;
    /// Destination port.
    pub const DST_PORT: Field = 2..4;
    /// Length of header and payload.
    pub const LENGTH: Field = 4..6;
    /// Checksum (0 = none, IPv4 only).
    pub const CHECKSUM: Field = 6..8;
    /// Payload.
    pub const PAYLOAD: Rest = 8..;
}

/// Length of the UDP header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// Why a UDP datagram was refused, or could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum UdpError {
    /// Shorter than the 8-byte header.
    #[error("UDP header truncated")]
    Truncated,
    /// Length field below 8.
    #[error("UDP length below the header")]
    BadLength,
    /// Length field beyond the received bytes.
    #[error("UDP length exceeds the received bytes")]
    LengthExceedsBuffer,
    /// Checksum does not verify.
    #[error("UDP checksum mismatch")]
    BadChecksum,
    /// A buffer given to a builder is too small.
    #[error("buffer too small for the UDP datagram")]
    BufferTooSmall,
    /// Header plus payload longer than 65535 bytes.
    #[error("UDP payload too long")]
    PayloadTooLong,
}

/// A view of a UDP datagram (the IP payload; trailing bytes past the length field are
/// ignored).
///
/// After [`Packet::new_checked`] every accessor and setter is panic-free: the header is
/// there and the length field lies within the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    ///
    /// # Panics
    /// Accessors panic if the buffer is shorter than [`HEADER_LEN`] or than the length
    /// field says.
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps a datagram: at least 8 bytes, 8 <= length field <= buffer length.
    pub fn new_checked(buffer: T) -> Result<Self, UdpError> {
        let buf = buffer.as_ref();
        if buf.len() < HEADER_LEN {
            return Err(UdpError::Truncated);
        }
        let len = usize::from(read_u16(buf, field::LENGTH.start));
        if len < HEADER_LEN {
            return Err(UdpError::BadLength);
        }
        if len > buf.len() {
            return Err(UdpError::LengthExceedsBuffer);
        }
        Ok(Packet { buffer })
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::SRC_PORT.start)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::DST_PORT.start)
    }

    /// Length field (header and payload).
    pub fn len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// True for a datagram without payload.
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }

    /// Checksum as stored.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The payload, up to the length field.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.len())]
    }

    fn datagram(&self) -> &[u8] {
        &self.buffer.as_ref()[..usize::from(self.len())]
    }

    fn sum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> u16 {
        let pseudo = checksum::pseudo_header_v4(src, dst, IpProtocol::Udp.into(), self.len());
        checksum::fold(u64::from(pseudo) + checksum::raw_sum(self.datagram()))
    }

    fn sum_v6(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> u16 {
        let len = u32::from(self.len());
        let pseudo = checksum::pseudo_header_v6(src, dst, IpProtocol::Udp.into(), len);
        checksum::fold(u64::from(pseudo) + checksum::raw_sum(self.datagram()))
    }

    /// True when the checksum verifies with the IPv4 pseudo-header, or is absent (0).
    pub fn verify_checksum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        self.checksum() == 0 || self.sum_v4(src, dst) == 0xffff
    }

    /// True when the checksum verifies with the IPv6 pseudo-header (absent does not).
    pub fn verify_checksum_v6(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        self.checksum() != 0 && self.sum_v6(src, dst) == 0xffff
    }
}

/// A computed checksum of zero goes on the wire as `0xffff` (zero means "none").
fn on_wire(sum: u16) -> u16 {
    if sum == 0 { 0xffff } else { sum }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the stored checksum as is (0 disables it over IPv4).
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, value);
    }

    /// Computes the checksum with the IPv4 pseudo-header.
    pub fn fill_checksum_v4(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let sum = self.sum_v4(src, dst);
        self.set_checksum(on_wire(!sum));
    }

    /// Computes the checksum with the IPv6 pseudo-header.
    pub fn fill_checksum_v6(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.set_checksum(0);
        let sum = self.sum_v6(src, dst);
        self.set_checksum(on_wire(!sum));
    }

    /// Applies an RFC 1624 update unless the checksum is absent.
    fn update(&mut self, apply: impl FnOnce(u16) -> u16) {
        let stored = self.checksum();
        if stored != 0 {
            self.set_checksum(on_wire(apply(stored)));
        }
    }

    /// Sets the source port, keeping the checksum right.
    pub fn set_src_port(&mut self, port: u16) {
        let old = self.src_port();
        self.update(|c| checksum::update16(c, old, port));
        write_u16(self.buffer.as_mut(), field::SRC_PORT.start, port);
    }

    /// Sets the destination port, keeping the checksum right.
    pub fn set_dst_port(&mut self, port: u16) {
        let old = self.dst_port();
        self.update(|c| checksum::update16(c, old, port));
        write_u16(self.buffer.as_mut(), field::DST_PORT.start, port);
    }

    /// Accounts in the checksum for a changed IPv4 pseudo-header address.
    pub fn adjust_checksum_for_ipv4_change(&mut self, old: Ipv4Addr, new: Ipv4Addr) {
        self.update(|c| checksum::update32(c, old.octets(), new.octets()));
    }

    /// Accounts in the checksum for a changed IPv6 pseudo-header address.
    pub fn adjust_checksum_for_ipv6_change(&mut self, old: &Ipv6Addr, new: &Ipv6Addr) {
        self.update(|c| checksum::update128(c, old.octets(), new.octets()));
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = usize::from(self.len());
        &mut self.buffer.as_mut()[HEADER_LEN..len]
    }
}

/// Writes a UDP header for `payload_len` bytes of payload with checksum 0; fill the
/// checksum once the payload is in place (or leave it 0 over IPv4). Returns 8.
pub fn emit_header(
    buf: &mut [u8],
    src_port: u16,
    dst_port: u16,
    payload_len: usize,
) -> Result<usize, UdpError> {
    let len = HEADER_LEN
        .checked_add(payload_len)
        .and_then(|l| u16::try_from(l).ok())
        .ok_or(UdpError::PayloadTooLong)?;
    let header = buf.get_mut(..HEADER_LEN).ok_or(UdpError::BufferTooSmall)?;
    write_u16(header, field::SRC_PORT.start, src_port);
    write_u16(header, field::DST_PORT.start, dst_port);
    write_u16(header, field::LENGTH.start, len);
    write_u16(header, field::CHECKSUM.start, 0);
    Ok(HEADER_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ipv4;
    use crate::wire::testutil::hex;
    use proptest::prelude::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
    const DST: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 20);

    /// scapy: IP(src="192.0.2.10", dst="198.51.100.20")/UDP(sport=5353, dport=53)
    ///        /Raw(b"query")
    fn sample() -> Vec<u8> {
        hex(include_str!("testdata/ipv4_udp.hex"))
    }

    #[test]
    fn parse_captured_datagram() {
        let bytes = sample();
        let ip = ipv4::Packet::new_checked(&bytes[..]).unwrap();
        let udp = Packet::new_checked(ip.payload()).unwrap();
        assert_eq!((udp.src_port(), udp.dst_port(), udp.len()), (5353, 53, 13));
        assert_eq!(udp.payload(), b"query");
        assert!(udp.verify_checksum_v4(SRC, DST));
        assert!(!udp.verify_checksum_v4(DST, DST));
    }

    #[test]
    fn zero_checksum_means_none_over_ipv4() {
        let bytes = sample();
        let mut seg = bytes[20..].to_vec();
        let mut udp = Packet::new_checked(&mut seg[..]).unwrap();
        udp.set_checksum(0);
        assert!(udp.verify_checksum_v4(DST, DST));
        assert!(!udp.verify_checksum_v6(&Ipv6Addr::LOCALHOST, &Ipv6Addr::LOCALHOST));
        udp.set_dst_port(5300);
        udp.adjust_checksum_for_ipv4_change(SRC, DST);
        assert_eq!(udp.checksum(), 0);
    }

    #[test]
    fn rewrites_keep_checksum_and_never_write_zero() {
        let bytes = sample();
        let mut seg = bytes[20..].to_vec();
        let mut udp = Packet::new_checked(&mut seg[..]).unwrap();
        udp.set_src_port(1);
        udp.set_dst_port(2);
        let new_src = Ipv4Addr::new(10, 1, 1, 1);
        udp.adjust_checksum_for_ipv4_change(SRC, new_src);
        assert!(udp.verify_checksum_v4(new_src, DST));
        let incremental = udp.checksum();
        udp.fill_checksum_v4(new_src, DST);
        assert_eq!(udp.checksum(), incremental);
        // Find a source port that makes the computed checksum zero: it must be 0xffff.
        let target = (0..=u16::MAX)
            .find(|&port| {
                let mut probe = seg.clone();
                write_u16(&mut probe, field::SRC_PORT.start, port);
                let mut p = Packet::new_unchecked(&mut probe[..]);
                p.fill_checksum_v4(new_src, DST);
                p.checksum() == 0xffff
            })
            .unwrap();
        let mut udp = Packet::new_checked(&mut seg[..]).unwrap();
        udp.set_src_port(target);
        assert_eq!(udp.checksum(), 0xffff);
        assert!(udp.verify_checksum_v4(new_src, DST));
    }

    #[test]
    fn refusals_and_padding() {
        let bytes = sample();
        let seg = &bytes[20..];
        assert_eq!(Packet::new_checked(&seg[..7]), Err(UdpError::Truncated));
        assert_eq!(
            Packet::new_checked(&seg[..12]),
            Err(UdpError::LengthExceedsBuffer)
        );
        let mut bad = seg.to_vec();
        bad[4..6].copy_from_slice(&7u16.to_be_bytes());
        assert_eq!(Packet::new_checked(&bad[..]), Err(UdpError::BadLength));
        let mut padded = seg.to_vec();
        padded.extend_from_slice(&[0; 20]);
        let udp = Packet::new_checked(&padded[..]).unwrap();
        assert_eq!(udp.payload(), b"query");
        assert!(udp.verify_checksum_v4(SRC, DST));
    }

    #[test]
    fn build_matches_capture() {
        let bytes = sample();
        let mut out = vec![0u8; 13];
        assert_eq!(emit_header(&mut out, 5353, 53, 5), Ok(8));
        out[8..].copy_from_slice(b"query");
        Packet::new_unchecked(&mut out[..]).fill_checksum_v4(SRC, DST);
        assert_eq!(&out[..], &bytes[20..]);
        assert_eq!(
            emit_header(&mut out, 1, 2, 65_528),
            Err(UdpError::PayloadTooLong)
        );
        assert_eq!(
            emit_header(&mut out[..7], 1, 2, 0),
            Err(UdpError::BufferTooSmall)
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            crate::wire::fuzz::udp(&bytes);
        }

        #[test]
        fn v6_rewrites_equal_recompute(payload in proptest::collection::vec(any::<u8>(), 0..40),
                                       sp in any::<u16>(), dp in any::<u16>(),
                                       a in any::<[u8; 16]>(), b in any::<[u8; 16]>(), c in any::<[u8; 16]>()) {
            let (src, dst, new_src) = (Ipv6Addr::from(a), Ipv6Addr::from(b), Ipv6Addr::from(c));
            let mut buf = vec![0u8; 8 + payload.len()];
            emit_header(&mut buf, 1, 2, payload.len()).unwrap();
            buf[8..].copy_from_slice(&payload);
            let mut udp = Packet::new_checked(&mut buf[..]).unwrap();
            udp.fill_checksum_v6(&src, &dst);
            prop_assert!(udp.verify_checksum_v6(&src, &dst));
            udp.set_src_port(sp);
            udp.set_dst_port(dp);
            udp.adjust_checksum_for_ipv6_change(&src, &new_src);
            prop_assert!(udp.verify_checksum_v6(&new_src, &dst));
            let incremental = udp.checksum();
            udp.fill_checksum_v6(&new_src, &dst);
            prop_assert_eq!(udp.checksum(), incremental);
        }
    }
}
