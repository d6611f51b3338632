//! IPv4 headers (RFC 791): the checked view, options, setters that keep the header checksum
//! right incrementally, and an emit for headers rvs writes itself (IPIP outer headers,
//! ICMP errors, generated replies).
//!
//! Three constructors for three kinds of buffer:
//! - [`Packet::new_checked`]: a received packet; everything is verified, the header
//!   checksum included.
//! - [`Packet::new_checked_without_checksum`]: the same, for a packet whose header checksum
//!   the NIC already verified (DPDK's `RTE_MBUF_F_RX_IP_CKSUM_GOOD`).
//! - [`Packet::new_embedded`]: the quoted header inside an ICMP error, whose payload is cut
//!   after 8 bytes (or a few hundred), so the total length exceeds the buffer by design.
//!
//! The payload of a packet is the bytes between the header and the *total length*: an
//! Ethernet frame padded to 60 bytes has trailing bytes that are not the payload.

use core::net::Ipv4Addr;

use super::checksum;
use super::ip::IpProtocol;
use super::{Field, Rest, read_array, read_u16, write_u16};

/// Byte layout of the IPv4 header.
pub mod field {
    use super::{Field, Rest};
    /// Version (high nibble) and header length in 32-bit words (low nibble).
    pub const VER_IHL: usize = 0;
    /// DSCP (6 bits) and ECN (2 bits), the old TOS byte.
    pub const DSCP_ECN: usize = 1;
    /// Total length of header and payload.
    pub const LENGTH: Field = 2..4;
    /// Identification.
    pub const IDENT: Field = 4..6;
    /// Flags (reserved, DF, MF) and fragment offset in 8-byte units.
    pub const FLG_OFF: Field = 6..8;
    /// Time to live.
    pub const TTL: usize = 8;
    /// Upper-layer protocol.
    pub const PROTOCOL: usize = 9;
    /// Header checksum.
    pub const CHECKSUM: Field = 10..12;
    /// Source address.
    pub const SRC: Field = 12..16;
    /// Destination address.
    pub const DST: Field = 16..20;
    /// Options, up to the header length.
    pub const OPTIONS: Rest = 20..;
}

/// Length of a header without options.
pub const HEADER_LEN: usize = field::DST.end;
/// Length of the longest header (IHL 15).
pub const MAX_HEADER_LEN: usize = 60;

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// Why an IPv4 packet was refused, or a rewrite could not be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Ipv4Error {
    /// Shorter than the header (20 bytes, or the IHL's length).
    #[error("IPv4 header truncated")]
    Truncated,
    /// Version field is not 4.
    #[error("IP version is not 4")]
    BadVersion,
    /// IHL below 5.
    #[error("IPv4 header length below 20 bytes")]
    BadHeaderLength,
    /// Total length smaller than the header length.
    #[error("IPv4 total length smaller than the header")]
    BadTotalLength,
    /// Total length larger than the bytes received.
    #[error("IPv4 total length exceeds the received bytes")]
    TotalLengthExceedsBuffer,
    /// Header checksum does not verify.
    #[error("IPv4 header checksum mismatch")]
    BadChecksum,
    /// TTL would reach zero on forwarding.
    #[error("IPv4 TTL expired")]
    TtlExpired,
    /// An option's length byte is below 2 or runs past the header.
    #[error("IPv4 option length invalid")]
    BadOption,
    /// A buffer given to a builder is too small.
    #[error("buffer too small for the IPv4 header")]
    BufferTooSmall,
    /// Header plus payload would exceed 65535 bytes.
    #[error("IPv4 payload too long")]
    PayloadTooLong,
}

/// A view of an IPv4 packet.
///
/// After any checked constructor every accessor and setter is panic-free: the buffer holds
/// the whole header (IHL included) and the total length is at least the header length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    ///
    /// # Panics
    /// Accessors panic if the buffer is shorter than the header length the IHL claims, and
    /// [`Packet::payload`] if the total length is below the header length.
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps a received packet: version 4, IHL >= 5, header and total length within the
    /// buffer, total length >= header length, header checksum verifies.
    pub fn new_checked(buffer: T) -> Result<Self, Ipv4Error> {
        let packet = Self::new_checked_without_checksum(buffer)?;
        if !packet.verify_checksum() {
            return Err(Ipv4Error::BadChecksum);
        }
        Ok(packet)
    }

    /// As [`Packet::new_checked`], trusting that the header checksum was verified already
    /// (by the NIC).
    pub fn new_checked_without_checksum(buffer: T) -> Result<Self, Ipv4Error> {
        let packet = Self::new_embedded(buffer)?;
        if usize::from(packet.total_len()) > packet.buffer.as_ref().len() {
            return Err(Ipv4Error::TotalLengthExceedsBuffer);
        }
        Ok(packet)
    }

    /// Wraps a header quoted in an ICMP error: the structure is checked as in
    /// [`Packet::new_checked`] but the payload may be cut short of the total length, and
    /// the checksum is not verified (a quoted header is information, not a packet to
    /// forward). [`Packet::payload`] is then the bytes that were quoted.
    pub fn new_embedded(buffer: T) -> Result<Self, Ipv4Error> {
        let buf = buffer.as_ref();
        let first = *buf.first().ok_or(Ipv4Error::Truncated)?;
        if first >> 4 != 4 {
            return Err(Ipv4Error::BadVersion);
        }
        if buf.len() < HEADER_LEN {
            return Err(Ipv4Error::Truncated);
        }
        let header_len = usize::from(first & 0x0f) * 4;
        if header_len < HEADER_LEN {
            return Err(Ipv4Error::BadHeaderLength);
        }
        if buf.len() < header_len {
            return Err(Ipv4Error::Truncated);
        }
        if usize::from(read_u16(buf, field::LENGTH.start)) < header_len {
            return Err(Ipv4Error::BadTotalLength);
        }
        Ok(Packet { buffer })
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The IP version (4 once checked).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (20..=60).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// The TOS byte: DSCP and ECN.
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN]
    }

    /// Differentiated services code point.
    pub fn dscp(&self) -> u8 {
        self.tos() >> 2
    }

    /// Explicit congestion notification bits.
    pub fn ecn(&self) -> u8 {
        self.tos() & 0x03
    }

    /// Total length (header and payload).
    pub fn total_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// Identification.
    pub fn ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::IDENT.start)
    }

    fn flags_offset(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::FLG_OFF.start)
    }

    /// Don't-fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.flags_offset() & FLAG_DF != 0
    }

    /// More-fragments flag.
    pub fn more_frags(&self) -> bool {
        self.flags_offset() & FLAG_MF != 0
    }

    /// Fragment offset in bytes (the field counts 8-byte units).
    pub fn fragment_offset(&self) -> u16 {
        (self.flags_offset() & OFFSET_MASK) << 3
    }

    /// True for any fragment (first, middle or last) of a fragmented datagram.
    pub fn is_fragment(&self) -> bool {
        self.flags_offset() & (FLAG_MF | OFFSET_MASK) != 0
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// Upper-layer protocol.
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// Header checksum as stored.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Source address.
    pub fn src(&self) -> Ipv4Addr {
        Ipv4Addr::from(read_array::<4>(self.buffer.as_ref(), field::SRC.start))
    }

    /// Destination address.
    pub fn dst(&self) -> Ipv4Addr {
        Ipv4Addr::from(read_array::<4>(self.buffer.as_ref(), field::DST.start))
    }

    /// True when the header checksum verifies.
    pub fn verify_checksum(&self) -> bool {
        checksum::verify(&self.buffer.as_ref()[..self.header_len()])
    }

    /// The raw option bytes (empty for a 20-byte header).
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// Iterates over the options, stopping at End-of-Option-List.
    pub fn options_iter(&self) -> OptionIter<'_> {
        OptionIter {
            rest: self.options(),
        }
    }

    /// The payload: from the end of the header to the total length (or to the end of the
    /// buffer for an embedded header cut short).
    pub fn payload(&self) -> &[u8] {
        let buf = self.buffer.as_ref();
        let end = usize::from(self.total_len()).min(buf.len());
        &buf[self.header_len()..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the stored checksum as is.
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, value);
    }

    /// Computes the header checksum from scratch, for a freshly built header.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let value = checksum::checksum(&self.buffer.as_ref()[..self.header_len()]);
        self.set_checksum(value);
    }

    /// Replaces the 16-bit word at `at` and updates the checksum (RFC 1624).
    fn rewrite_word(&mut self, at: usize, new: u16) {
        let old = read_u16(self.buffer.as_ref(), at);
        let sum = checksum::update16(self.checksum(), old, new);
        write_u16(self.buffer.as_mut(), at, new);
        self.set_checksum(sum);
    }

    /// Replaces an address field and updates the checksum (RFC 1624).
    fn rewrite_addr(&mut self, range: Field, new: Ipv4Addr) {
        let old: [u8; 4] = read_array(self.buffer.as_ref(), range.start);
        let sum = checksum::update32(self.checksum(), old, new.octets());
        self.buffer.as_mut()[range].copy_from_slice(&new.octets());
        self.set_checksum(sum);
    }

    /// Sets the source address, keeping the header checksum right.
    pub fn set_src(&mut self, addr: Ipv4Addr) {
        self.rewrite_addr(field::SRC, addr);
    }

    /// Sets the destination address, keeping the header checksum right.
    pub fn set_dst(&mut self, addr: Ipv4Addr) {
        self.rewrite_addr(field::DST, addr);
    }

    /// Exchanges source and destination. The checksum needs no update: the sum does not
    /// depend on the order of its words.
    pub fn swap_addresses(&mut self) {
        let buf = self.buffer.as_mut();
        let (src, dst) = buf[field::SRC.start..field::DST.end].split_at_mut(4);
        src.swap_with_slice(dst);
    }

    /// Sets the TTL, keeping the header checksum right.
    pub fn set_ttl(&mut self, ttl: u8) {
        let protocol = self.buffer.as_ref()[field::PROTOCOL];
        self.rewrite_word(field::TTL, u16::from_be_bytes([ttl, protocol]));
    }

    /// Decrements the TTL for forwarding, keeping the header checksum right, and returns the
    /// new TTL. A packet with TTL 0 or 1 must not be forwarded: it is left untouched and
    /// [`Ipv4Error::TtlExpired`] says to answer with ICMP time exceeded.
    pub fn dec_ttl(&mut self) -> Result<u8, Ipv4Error> {
        let ttl = self.ttl();
        if ttl <= 1 {
            return Err(Ipv4Error::TtlExpired);
        }
        self.set_ttl(ttl - 1);
        Ok(ttl - 1)
    }

    /// Sets the protocol, keeping the header checksum right.
    pub fn set_protocol(&mut self, protocol: IpProtocol) {
        let ttl = self.ttl();
        self.rewrite_word(field::TTL, u16::from_be_bytes([ttl, protocol.into()]));
    }

    /// Sets the TOS byte, keeping the header checksum right.
    pub fn set_tos(&mut self, tos: u8) {
        let ver_ihl = self.buffer.as_ref()[field::VER_IHL];
        self.rewrite_word(field::VER_IHL, u16::from_be_bytes([ver_ihl, tos]));
    }

    /// Sets the total length, keeping the header checksum right. The caller keeps it
    /// consistent with the buffer (the view does not re-check).
    pub fn set_total_len(&mut self, len: u16) {
        self.rewrite_word(field::LENGTH.start, len);
    }

    /// Sets the identification, keeping the header checksum right.
    pub fn set_ident(&mut self, ident: u16) {
        self.rewrite_word(field::IDENT.start, ident);
    }

    /// Sets or clears don't-fragment, keeping the header checksum right.
    pub fn set_dont_frag(&mut self, df: bool) {
        let old = self.flags_offset();
        let new = if df { old | FLAG_DF } else { old & !FLAG_DF };
        self.rewrite_word(field::FLG_OFF.start, new);
    }

    /// The payload, writable (see [`Packet::payload`] for its extent).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let header_len = self.header_len();
        let end = usize::from(self.total_len());
        let buf = self.buffer.as_mut();
        let end = end.min(buf.len());
        &mut buf[header_len..end]
    }
}

/// One IPv4 option (RFC 791 section 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Option<'a> {
    /// The option type byte (copied flag, class, number).
    pub kind: u8,
    /// The option data after the type and length bytes (empty for NOP).
    pub data: &'a [u8],
}

/// Option type of Router Alert (RFC 2113).
pub const OPTION_ROUTER_ALERT: u8 = 0x94;
const OPTION_EOL: u8 = 0;
const OPTION_NOP: u8 = 1;

/// Iterator over the options of a header; yields one `Err(BadOption)` and stops on a
/// malformed length.
#[derive(Debug, Clone)]
pub struct OptionIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = Result<Ipv4Option<'a>, Ipv4Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&kind, after_kind) = self.rest.split_first()?;
        match kind {
            OPTION_EOL => {
                self.rest = &[];
                None
            }
            OPTION_NOP => {
                self.rest = after_kind;
                Some(Ok(Ipv4Option { kind, data: &[] }))
            }
            _ => {
                let len = after_kind.first().map(|&l| usize::from(l));
                match len {
                    Some(len) if len >= 2 && len <= self.rest.len() => {
                        let data = &self.rest[2..len];
                        self.rest = &self.rest[len..];
                        Some(Ok(Ipv4Option { kind, data }))
                    }
                    _ => {
                        self.rest = &[];
                        Some(Err(Ipv4Error::BadOption))
                    }
                }
            }
        }
    }
}

/// The fields of an option-less IPv4 header, for building one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Upper-layer protocol.
    pub protocol: IpProtocol,
    /// Length of what follows the header.
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// TOS byte (DSCP and ECN).
    pub tos: u8,
    /// Identification.
    pub ident: u16,
    /// Don't-fragment flag.
    pub dont_frag: bool,
}

impl Repr {
    /// Reads the header fields of a checked packet (options are not represented; the
    /// payload length is total length minus header length).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Self {
        Repr {
            src: packet.src(),
            dst: packet.dst(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len()).saturating_sub(packet.header_len()),
            ttl: packet.ttl(),
            tos: packet.tos(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
        }
    }

    /// Writes a 20-byte header with its checksum into the start of `buf`; returns 20. The
    /// payload is the caller's to write after it.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Ipv4Error> {
        let total = HEADER_LEN
            .checked_add(self.payload_len)
            .and_then(|t| u16::try_from(t).ok())
            .ok_or(Ipv4Error::PayloadTooLong)?;
        let header = buf.get_mut(..HEADER_LEN).ok_or(Ipv4Error::BufferTooSmall)?;
        header[field::VER_IHL] = 0x45;
        header[field::DSCP_ECN] = self.tos;
        write_u16(header, field::LENGTH.start, total);
        write_u16(header, field::IDENT.start, self.ident);
        write_u16(
            header,
            field::FLG_OFF.start,
            if self.dont_frag { FLAG_DF } else { 0 },
        );
        header[field::TTL] = self.ttl;
        header[field::PROTOCOL] = self.protocol.into();
        header[field::SRC].copy_from_slice(&self.src.octets());
        header[field::DST].copy_from_slice(&self.dst.octets());
        Packet::new_unchecked(header).fill_checksum();
        Ok(HEADER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::hex;
    use proptest::prelude::*;

    // scapy: IP(src="192.0.2.10", dst="198.51.100.20", id=0x1234, flags="DF", ttl=64)
    //        /TCP(sport=40000, dport=80, flags="S", seq=1000)
    const TCP_SYN: &str = "4500 0028 1234 4000 4006 3c4a c000020a c6336414
        9c40 0050 000003e8 00000000 5002 2000 0318 0000";

    // scapy: IP(src="192.0.2.10", dst="198.51.100.20", id=7, ttl=1, options=[
    //        IPOption_Router_Alert(), IPOption_NOP() x4])/UDP(sport=1, dport=2)
    const WITH_OPTIONS: &str = "4700 0024 0007 0000 0111 356a c000020a c6336414
        94040000 01010101 0001 0002 0008 1389";

    // scapy: IP(src="192.0.2.10", dst="198.51.100.20", id=99, flags="MF", frag=185,
    //        proto=17)/Raw(b"x"*16)
    const FRAGMENT: &str = "4500 0024 0063 20b9 4011 6d5b c000020a c6336414
        78787878787878787878787878787878";

    fn checked(bytes: &[u8]) -> Packet<&[u8]> {
        Packet::new_checked(bytes).unwrap()
    }

    #[test]
    fn parse_captured_tcp_syn() {
        let bytes = hex(TCP_SYN);
        let ip = checked(&bytes);
        assert_eq!(ip.version(), 4);
        assert_eq!(ip.header_len(), 20);
        assert_eq!(ip.total_len(), 40);
        assert_eq!(ip.ident(), 0x1234);
        assert!(ip.dont_frag());
        assert!(!ip.more_frags());
        assert!(!ip.is_fragment());
        assert_eq!(ip.ttl(), 64);
        assert_eq!(ip.protocol(), IpProtocol::Tcp);
        assert_eq!(ip.src(), Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!(ip.dst(), Ipv4Addr::new(198, 51, 100, 20));
        assert_eq!(ip.payload().len(), 20);
        assert_eq!(&ip.payload()[..2], &[0x9c, 0x40]);
        assert_eq!(ip.options(), &[] as &[u8]);
    }

    #[test]
    fn options_and_fragments() {
        let bytes = hex(WITH_OPTIONS);
        let ip = checked(&bytes);
        assert_eq!(ip.header_len(), 28);
        assert_eq!(ip.protocol(), IpProtocol::Udp);
        let options: Vec<_> = ip.options_iter().collect();
        assert_eq!(options.len(), 5);
        assert_eq!(
            options[0],
            Ok(Ipv4Option {
                kind: OPTION_ROUTER_ALERT,
                data: &[0, 0]
            })
        );
        assert!(
            options[1..]
                .iter()
                .all(|o| *o == Ok(Ipv4Option { kind: 1, data: &[] }))
        );
        assert_eq!(ip.payload(), &hex("0001 0002 0008 1389")[..]);

        let bytes = hex(FRAGMENT);
        let ip = checked(&bytes);
        assert!(ip.more_frags());
        assert!(ip.is_fragment());
        assert_eq!(ip.fragment_offset(), 185 * 8);
    }

    #[test]
    fn malformed_options_are_typed_errors() {
        let cases: [(&[u8], usize); 4] = [
            (&[0x94, 0x01, 0, 0], 1),       // length below 2
            (&[0x94, 0x08, 0, 0], 1),       // length past the header
            (&[0x01, 0x01, 0x01, 0x94], 4), // length byte missing
            (&[0x00, 0x94, 0xff, 0], 0),    // EOL stops before garbage
        ];
        for (options, count) in cases {
            let mut bytes = hex(TCP_SYN);
            bytes[0] = 0x46;
            bytes.splice(20..20, options.iter().copied());
            bytes[2..4].copy_from_slice(&44u16.to_be_bytes());
            let mut ip = Packet::new_unchecked(&mut bytes[..]);
            ip.fill_checksum();
            let ip = Packet::new_checked(&bytes[..]).unwrap();
            let items: Vec<_> = ip.options_iter().collect();
            assert_eq!(items.len(), count, "{options:?}");
            if options[0] != 0 {
                assert_eq!(
                    items.last(),
                    Some(&Err(Ipv4Error::BadOption)),
                    "{options:?}"
                );
            }
        }
    }

    #[test]
    fn checked_constructor_refusals() {
        let good = hex(TCP_SYN);
        assert_eq!(Packet::new_checked(&good[..0]), Err(Ipv4Error::Truncated));
        assert_eq!(Packet::new_checked(&good[..19]), Err(Ipv4Error::Truncated));
        assert_eq!(
            Packet::new_checked(&good[..39]),
            Err(Ipv4Error::TotalLengthExceedsBuffer)
        );
        let mut bad = good.clone();
        bad[0] = 0x65;
        assert_eq!(Packet::new_checked(&bad[..]), Err(Ipv4Error::BadVersion));
        let mut bad = good.clone();
        bad[0] = 0x44;
        assert_eq!(
            Packet::new_checked(&bad[..]),
            Err(Ipv4Error::BadHeaderLength)
        );
        let mut bad = good.clone();
        bad[0] = 0x4f; // 60-byte header in a 40-byte buffer
        assert_eq!(Packet::new_checked(&bad[..]), Err(Ipv4Error::Truncated));
        let mut bad = good.clone();
        bad[2..4].copy_from_slice(&19u16.to_be_bytes());
        assert_eq!(
            Packet::new_checked(&bad[..]),
            Err(Ipv4Error::BadTotalLength)
        );
        let mut bad = good.clone();
        bad[8] = 63;
        assert_eq!(Packet::new_checked(&bad[..]), Err(Ipv4Error::BadChecksum));
        assert!(Packet::new_checked_without_checksum(&bad[..]).is_ok());
        // Ethernet padding: buffer longer than the total length; payload stops at it.
        let mut padded = good.clone();
        padded.extend_from_slice(&[0xee; 6]);
        assert_eq!(checked(&padded).payload().len(), 20);
        // Embedded: cut short of the total length, still readable.
        let ip = Packet::new_embedded(&good[..28]).unwrap();
        assert_eq!(ip.payload().len(), 8);
        assert_eq!(
            Packet::new_checked(&good[..28]),
            Err(Ipv4Error::TotalLengthExceedsBuffer)
        );
    }

    #[test]
    fn setters_keep_checksum_without_recompute() {
        let mut bytes = hex(TCP_SYN);
        let mut ip = Packet::new_checked(&mut bytes[..]).unwrap();
        ip.set_src(Ipv4Addr::new(10, 20, 30, 40));
        ip.set_dst(Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(ip.dec_ttl(), Ok(63));
        ip.set_tos(0xc0);
        ip.set_ident(0xffff);
        ip.set_dont_frag(false);
        ip.set_total_len(40);
        assert!(ip.verify_checksum());
        let incremental = ip.checksum();
        ip.fill_checksum();
        assert_eq!(ip.checksum(), incremental);
        assert_eq!(ip.src(), Ipv4Addr::new(10, 20, 30, 40));
        assert_eq!(ip.ttl(), 63);
        assert_eq!(ip.tos(), 0xc0);
        assert!(!ip.dont_frag());
    }

    #[test]
    fn ttl_expiry_leaves_packet_alone() {
        let bytes = hex(WITH_OPTIONS);
        let mut copy = bytes.clone();
        let mut ip = Packet::new_checked(&mut copy[..]).unwrap();
        assert_eq!(ip.dec_ttl(), Err(Ipv4Error::TtlExpired));
        assert_eq!(copy, bytes);
    }

    #[test]
    fn swap_keeps_checksum() {
        let mut bytes = hex(TCP_SYN);
        let before = checked(&bytes).checksum();
        Packet::new_checked(&mut bytes[..])
            .unwrap()
            .swap_addresses();
        let ip = checked(&bytes);
        assert_eq!(ip.checksum(), before);
        assert_eq!(ip.src(), Ipv4Addr::new(198, 51, 100, 20));
        assert_eq!(ip.dst(), Ipv4Addr::new(192, 0, 2, 10));
    }

    #[test]
    fn emit_matches_scapy() {
        let repr = Repr {
            src: Ipv4Addr::new(192, 0, 2, 10),
            dst: Ipv4Addr::new(198, 51, 100, 20),
            protocol: IpProtocol::Tcp,
            payload_len: 20,
            ttl: 64,
            tos: 0,
            ident: 0x1234,
            dont_frag: true,
        };
        let mut buf = [0u8; 20];
        assert_eq!(repr.emit(&mut buf), Ok(20));
        assert_eq!(&buf[..], &hex(TCP_SYN)[..20]);
        let mut whole = hex(TCP_SYN);
        assert_eq!(Repr::parse(&Packet::new_checked(&whole[..]).unwrap()), repr);
        assert_eq!(repr.emit(&mut buf[..19]), Err(Ipv4Error::BufferTooSmall));
        let huge = Repr {
            payload_len: 65_516,
            ..repr
        };
        assert_eq!(huge.emit(&mut whole), Err(Ipv4Error::PayloadTooLong));
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            crate::wire::fuzz::ipv4(&bytes);
        }

        #[test]
        fn repr_round_trips(
            src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(), protocol in any::<u8>(),
            payload_len in 0usize..1500, ttl in any::<u8>(), tos in any::<u8>(),
            ident in any::<u16>(), dont_frag in any::<bool>(),
        ) {
            let repr = Repr {
                src: src.into(), dst: dst.into(), protocol: protocol.into(), payload_len,
                ttl, tos, ident, dont_frag,
            };
            let mut buf = vec![0u8; 20 + payload_len];
            prop_assert_eq!(repr.emit(&mut buf), Ok(20));
            let ip = Packet::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(Repr::parse(&ip), repr);
        }

        #[test]
        fn rewrites_equal_full_recompute(
            src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(), ttl in 2u8..=255,
            tos in any::<u8>(), ident in any::<u16>(),
        ) {
            let mut bytes = hex(WITH_OPTIONS);
            let mut ip = Packet::new_checked(&mut bytes[..]).unwrap();
            ip.set_ttl(ttl);
            ip.set_src(src.into());
            ip.set_dst(dst.into());
            ip.set_tos(tos);
            ip.set_ident(ident);
            prop_assert_eq!(ip.dec_ttl(), Ok(ttl - 1));
            let incremental = ip.checksum();
            ip.fill_checksum();
            prop_assert_eq!(ip.checksum(), incremental);
        }
    }
}
