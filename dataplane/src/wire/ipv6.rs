//! IPv6 headers (RFC 8200) and the walk over extension headers to the upper layer.
//!
//! Unlike IPv4, the upper-layer protocol is not in a fixed place: hop-by-hop, routing,
//! fragment, destination-options and AH headers may come first, each naming the next.
//! [`Packet::upper_layer`] walks that chain — at most [`MAX_EXTENSION_HEADERS`] headers, so
//! a packet made of nothing but extension headers costs a bounded amount of work — and
//! reports the upper-layer protocol, its offset, and the fragment header if one was
//! crossed. ESP and "no next header" end the walk: what follows is opaque.
//!
//! IPv6 has no header checksum; address rewrites change the upper layer's pseudo-header,
//! which `tcp`/`udp`/`icmpv6` adjust with their `adjust_checksum_for_ipv6_change`.

use core::net::Ipv6Addr;

use super::ip::IpProtocol;
use super::{Field, Rest, read_array, read_u16, write_u16};

/// Byte layout of the fixed IPv6 header.
pub mod field {
    use super::{Field, Rest};
    /// Version (4 bits), traffic class (8 bits), flow label (20 bits).
    pub const VER_TC_FLOW: Field = 0..4;
    /// Length of everything after the fixed header.
    pub const PAYLOAD_LEN: Field = 4..6;
    /// Protocol of the first extension header or of the upper layer.
    pub const NEXT_HEADER: usize = 6;
    /// Hop limit.
    pub const HOP_LIMIT: usize = 7;
    /// Source address.
    pub const SRC: Field = 8..24;
    /// Destination address.
    pub const DST: Field = 24..40;
    /// Extension headers and upper layer.
    pub const PAYLOAD: Rest = 40..;
}

/// Length of the fixed header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;
/// The most extension headers [`Packet::upper_layer`] steps over. Real traffic carries one
/// or two; eight leaves room for odd but legitimate stacks.
pub const MAX_EXTENSION_HEADERS: usize = 8;
/// Length of a fragment header.
pub const FRAGMENT_HEADER_LEN: usize = 8;
/// The IPv6 minimum link MTU (RFC 8200 section 5).
pub const MIN_MTU: usize = 1280;

/// Why an IPv6 packet was refused, or a rewrite could not be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Ipv6Error {
    /// Shorter than the 40-byte header.
    #[error("IPv6 header truncated")]
    Truncated,
    /// Version field is not 6.
    #[error("IP version is not 6")]
    BadVersion,
    /// Payload length runs past the received bytes.
    #[error("IPv6 payload length exceeds the received bytes")]
    PayloadLengthExceedsBuffer,
    /// An extension header runs past the payload.
    #[error("IPv6 extension header truncated")]
    ExtensionTruncated,
    /// More than [`MAX_EXTENSION_HEADERS`] extension headers.
    #[error("more than {MAX_EXTENSION_HEADERS} IPv6 extension headers")]
    TooManyExtensions,
    /// Hop-by-hop options anywhere but right after the fixed header.
    #[error("IPv6 hop-by-hop header not first")]
    MisplacedHopByHop,
    /// Hop limit would reach zero on forwarding.
    #[error("IPv6 hop limit expired")]
    HopLimitExpired,
    /// A buffer given to a builder is too small.
    #[error("buffer too small for the IPv6 header")]
    BufferTooSmall,
    /// Payload longer than 65535 bytes (jumbograms are not supported).
    #[error("IPv6 payload too long")]
    PayloadTooLong,
}

/// The fragment header a walk crossed (RFC 8200 section 4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragmentInfo {
    /// Offset of this fragment's data in bytes.
    pub offset: u16,
    /// More fragments follow.
    pub more: bool,
    /// Identification shared by the fragments of one datagram.
    pub ident: u32,
}

impl FragmentInfo {
    /// True unless this is an atomic fragment (offset 0, no more fragments, RFC 6946),
    /// i.e. when the datagram really is split.
    pub fn is_fragmented(&self) -> bool {
        self.offset != 0 || self.more
    }
}

/// Where the walk over extension headers ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UpperLayer {
    /// Protocol of the upper layer (or `Esp`/`Ipv6NoNext` when the walk stopped there).
    pub protocol: IpProtocol,
    /// Offset of the upper-layer header from the start of the IPv6 header.
    pub offset: usize,
    /// The fragment header crossed on the way, if any. With a non-zero offset the
    /// upper-layer header is in another fragment, not at `offset`.
    pub fragment: Option<FragmentInfo>,
    /// How many extension headers were stepped over.
    pub extension_count: usize,
}

/// A view of an IPv6 packet.
///
/// After a checked constructor every accessor and setter is panic-free: the 40-byte
/// header is there. [`Packet::upper_layer`] checks each extension header itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    ///
    /// # Panics
    /// Accessors panic if the buffer is shorter than [`HEADER_LEN`].
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps a received packet: version 6, header present, payload length within the
    /// buffer (trailing Ethernet padding allowed).
    pub fn new_checked(buffer: T) -> Result<Self, Ipv6Error> {
        let packet = Self::new_embedded(buffer)?;
        if HEADER_LEN + usize::from(packet.payload_len()) > packet.buffer.as_ref().len() {
            return Err(Ipv6Error::PayloadLengthExceedsBuffer);
        }
        Ok(packet)
    }

    /// Wraps a header quoted in an ICMPv6 error: as [`Packet::new_checked`], but the
    /// payload may be cut short of the payload length.
    pub fn new_embedded(buffer: T) -> Result<Self, Ipv6Error> {
        let buf = buffer.as_ref();
        let first = *buf.first().ok_or(Ipv6Error::Truncated)?;
        if first >> 4 != 6 {
            return Err(Ipv6Error::BadVersion);
        }
        if buf.len() < HEADER_LEN {
            return Err(Ipv6Error::Truncated);
        }
        Ok(Packet { buffer })
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn ver_tc_flow(&self) -> u32 {
        u32::from_be_bytes(read_array(self.buffer.as_ref(), field::VER_TC_FLOW.start))
    }

    /// The IP version (6 once checked).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }

    /// Traffic class (DSCP and ECN).
    pub fn traffic_class(&self) -> u8 {
        // Eight bits after the shift and mask.
        ((self.ver_tc_flow() >> 20) & 0xff) as u8
    }

    /// Flow label (20 bits).
    pub fn flow_label(&self) -> u32 {
        self.ver_tc_flow() & 0x000f_ffff
    }

    /// Length of everything after the fixed header.
    pub fn payload_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::PAYLOAD_LEN.start)
    }

    /// The next-header field of the fixed header.
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NEXT_HEADER])
    }

    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// Source address.
    pub fn src(&self) -> Ipv6Addr {
        Ipv6Addr::from(read_array::<16>(self.buffer.as_ref(), field::SRC.start))
    }

    /// Destination address.
    pub fn dst(&self) -> Ipv6Addr {
        Ipv6Addr::from(read_array::<16>(self.buffer.as_ref(), field::DST.start))
    }

    /// The payload (extension headers and upper layer): up to the payload length, or to
    /// the end of the buffer for an embedded header cut short.
    pub fn payload(&self) -> &[u8] {
        let buf = self.buffer.as_ref();
        let end = (HEADER_LEN + usize::from(self.payload_len())).min(buf.len());
        &buf[HEADER_LEN..end]
    }

    /// Walks the extension headers (see the module doc).
    pub fn upper_layer(&self) -> Result<UpperLayer, Ipv6Error> {
        walk_extensions(self.next_header(), self.payload())
    }
}

/// Walks an extension-header chain that starts with protocol `first` at the start of
/// `payload`; offsets in the result count from the start of the IPv6 header.
fn walk_extensions(first: IpProtocol, payload: &[u8]) -> Result<UpperLayer, Ipv6Error> {
    let mut result = UpperLayer {
        protocol: first,
        offset: HEADER_LEN,
        fragment: None,
        extension_count: 0,
    };
    let mut at = 0usize;
    loop {
        let header_len = match result.protocol {
            IpProtocol::HopByHop if result.extension_count > 0 => {
                return Err(Ipv6Error::MisplacedHopByHop);
            }
            IpProtocol::HopByHop | IpProtocol::Ipv6Route | IpProtocol::Ipv6Opts => {
                let len = payload.get(at + 1).ok_or(Ipv6Error::ExtensionTruncated)?;
                (usize::from(*len) + 1) * 8
            }
            IpProtocol::Ah => {
                let len = payload.get(at + 1).ok_or(Ipv6Error::ExtensionTruncated)?;
                (usize::from(*len) + 2) * 4
            }
            IpProtocol::Ipv6Frag => {
                let frag = payload
                    .get(at..at + FRAGMENT_HEADER_LEN)
                    .ok_or(Ipv6Error::ExtensionTruncated)?;
                let off_flags = u16::from_be_bytes([frag[2], frag[3]]);
                result.fragment = Some(FragmentInfo {
                    offset: off_flags & 0xfff8,
                    more: off_flags & 1 != 0,
                    ident: u32::from_be_bytes([frag[4], frag[5], frag[6], frag[7]]),
                });
                FRAGMENT_HEADER_LEN
            }
            // Upper layer, ESP (encrypted from here on) or no next header: done.
            _ => return Ok(result),
        };
        if result.extension_count == MAX_EXTENSION_HEADERS {
            return Err(Ipv6Error::TooManyExtensions);
        }
        let next = *payload.get(at).ok_or(Ipv6Error::ExtensionTruncated)?;
        if at + header_len > payload.len() {
            return Err(Ipv6Error::ExtensionTruncated);
        }
        at += header_len;
        result.protocol = IpProtocol::from(next);
        result.offset = HEADER_LEN + at;
        result.extension_count += 1;
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the source address. The upper layer's checksum covers it through the
    /// pseudo-header: adjust that too.
    pub fn set_src(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address (see [`Packet::set_src`] about checksums).
    pub fn set_dst(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&addr.octets());
    }

    /// Exchanges source and destination (no checksum changes: the pseudo-header sum does
    /// not depend on their order).
    pub fn swap_addresses(&mut self) {
        let buf = self.buffer.as_mut();
        let (src, dst) = buf[field::SRC.start..field::DST.end].split_at_mut(16);
        src.swap_with_slice(dst);
    }

    /// Sets the hop limit.
    pub fn set_hop_limit(&mut self, hop_limit: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = hop_limit;
    }

    /// Decrements the hop limit for forwarding and returns the new value; at 0 or 1 the
    /// packet is left untouched and [`Ipv6Error::HopLimitExpired`] says to answer with
    /// ICMPv6 time exceeded.
    pub fn dec_hop_limit(&mut self) -> Result<u8, Ipv6Error> {
        let hop_limit = self.hop_limit();
        if hop_limit <= 1 {
            return Err(Ipv6Error::HopLimitExpired);
        }
        self.set_hop_limit(hop_limit - 1);
        Ok(hop_limit - 1)
    }

    /// Sets the payload length; the caller keeps it consistent with the buffer.
    pub fn set_payload_len(&mut self, len: u16) {
        write_u16(self.buffer.as_mut(), field::PAYLOAD_LEN.start, len);
    }

    /// Sets the next-header field of the fixed header.
    pub fn set_next_header(&mut self, protocol: IpProtocol) {
        self.buffer.as_mut()[field::NEXT_HEADER] = protocol.into();
    }

    /// Sets the traffic class, keeping version and flow label.
    pub fn set_traffic_class(&mut self, traffic_class: u8) {
        let word = (self.ver_tc_flow() & 0xf00f_ffff) | (u32::from(traffic_class) << 20);
        self.buffer.as_mut()[field::VER_TC_FLOW].copy_from_slice(&word.to_be_bytes());
    }

    /// Sets the flow label (low 20 bits of `label`), keeping version and traffic class.
    pub fn set_flow_label(&mut self, label: u32) {
        let word = (self.ver_tc_flow() & 0xfff0_0000) | (label & 0x000f_ffff);
        self.buffer.as_mut()[field::VER_TC_FLOW].copy_from_slice(&word.to_be_bytes());
    }

    /// The payload, writable (see [`Packet::payload`] for its extent).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        let buf = self.buffer.as_mut();
        let end = end.min(buf.len());
        &mut buf[HEADER_LEN..end]
    }
}

/// The fields of a fixed IPv6 header, for building one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Next header.
    pub next_header: IpProtocol,
    /// Length of what follows the fixed header.
    pub payload_len: usize,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
}

impl Repr {
    /// Reads the fixed header of a checked packet.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Self {
        Repr {
            src: packet.src(),
            dst: packet.dst(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.payload_len()),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        }
    }

    /// Writes the 40-byte fixed header into the start of `buf`; returns 40.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Ipv6Error> {
        let payload_len = u16::try_from(self.payload_len).map_err(|_| Ipv6Error::PayloadTooLong)?;
        let header = buf.get_mut(..HEADER_LEN).ok_or(Ipv6Error::BufferTooSmall)?;
        let word =
            (6u32 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & 0x000f_ffff);
        header[field::VER_TC_FLOW].copy_from_slice(&word.to_be_bytes());
        write_u16(header, field::PAYLOAD_LEN.start, payload_len);
        header[field::NEXT_HEADER] = self.next_header.into();
        header[field::HOP_LIMIT] = self.hop_limit;
        header[field::SRC].copy_from_slice(&self.src.octets());
        header[field::DST].copy_from_slice(&self.dst.octets());
        Ok(HEADER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::hex;
    use proptest::prelude::*;

    // scapy: IPv6(src="2001:db8::1", dst="2001:db8::2", tc=0xb8, fl=0x12345, hlim=64)
    //        /TCP(sport=40000, dport=80, flags="S", seq=1000)
    const TCP6: &str = include_str!("testdata/ipv6_tcp.hex");

    // scapy: IPv6(src="2001:db8::1", dst="2001:db8::2")/IPv6ExtHdrHopByHop()
    //        /IPv6ExtHdrRouting(addresses=["2001:db8::3"])/IPv6ExtHdrDestOpt()
    //        /IPv6ExtHdrFragment(offset=0, m=1, id=0xabcdef)/UDP(sport=53, dport=5353)
    const EXT_CHAIN: &str = include_str!("testdata/ipv6_ext_chain.hex");

    // scapy: IPv6(src="2001:db8::1", dst="2001:db8::2")/AH(nh=17, payloadlen=4, spi=1,
    //        icv=b"\0"*12)/UDP(sport=1, dport=2)  -- and ESP(spi=7, seq=1)/Raw(16 bytes)
    const AH_UDP: &str = include_str!("testdata/ipv6_ah_udp.hex");
    const ESP: &str = include_str!("testdata/ipv6_esp.hex");

    #[test]
    fn parse_captured_tcp() {
        let bytes = hex(TCP6);
        let ip = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(ip.version(), 6);
        assert_eq!(ip.traffic_class(), 0xb8);
        assert_eq!(ip.flow_label(), 0x12345);
        assert_eq!(ip.payload_len(), 20);
        assert_eq!(ip.next_header(), IpProtocol::Tcp);
        assert_eq!(ip.hop_limit(), 64);
        assert_eq!(ip.src(), "2001:db8::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(ip.dst(), "2001:db8::2".parse::<Ipv6Addr>().unwrap());
        let upper = ip.upper_layer().unwrap();
        assert_eq!(
            (upper.protocol, upper.offset, upper.extension_count),
            (IpProtocol::Tcp, 40, 0)
        );
        assert_eq!(Repr::parse(&ip).payload_len, 20);
    }

    #[test]
    fn walk_full_chain() {
        let bytes = hex(EXT_CHAIN);
        let ip = Packet::new_checked(&bytes[..]).unwrap();
        let upper = ip.upper_layer().unwrap();
        assert_eq!(upper.protocol, IpProtocol::Udp);
        assert_eq!(upper.extension_count, 4);
        // 40 fixed + 8 hop-by-hop + 24 routing + 8 dest-opts + 8 fragment.
        assert_eq!(upper.offset, 88);
        assert_eq!(&bytes[88..90], &[0x00, 0x35]);
        let frag = upper.fragment.unwrap();
        assert_eq!((frag.offset, frag.more, frag.ident), (0, true, 0xabcdef));
        assert!(frag.is_fragmented());
    }

    #[test]
    fn walk_ah_and_stop_at_esp() {
        let bytes = hex(AH_UDP);
        let upper = Packet::new_checked(&bytes[..])
            .unwrap()
            .upper_layer()
            .unwrap();
        assert_eq!((upper.protocol, upper.offset), (IpProtocol::Udp, 40 + 24));
        let bytes = hex(ESP);
        let upper = Packet::new_checked(&bytes[..])
            .unwrap()
            .upper_layer()
            .unwrap();
        assert_eq!(
            (upper.protocol, upper.offset, upper.extension_count),
            (IpProtocol::Esp, 40, 0)
        );
    }

    #[test]
    fn walk_refusals() {
        // Truncated extension: chop the chain inside the routing header.
        let bytes = hex(EXT_CHAIN);
        let mut cut = bytes[..60].to_vec();
        cut[4..6].copy_from_slice(&20u16.to_be_bytes());
        assert_eq!(
            Packet::new_checked(&cut[..]).unwrap().upper_layer(),
            Err(Ipv6Error::ExtensionTruncated)
        );
        // Hop-by-hop after another header.
        let mut bad = bytes.clone();
        bad[48] = 0; // routing header's next header -> hop-by-hop
        assert_eq!(
            Packet::new_checked(&bad[..]).unwrap().upper_layer(),
            Err(Ipv6Error::MisplacedHopByHop)
        );
        // Nine destination-options headers in a row.
        let mut chain = [0u8; 40 + 9 * 8 + 8];
        chain[0] = 0x60;
        chain[4..6].copy_from_slice(&(9u16 * 8 + 8).to_be_bytes());
        chain[6] = 60;
        for i in 0..9 {
            chain[40 + i * 8] = if i == 8 { 17 } else { 60 };
        }
        assert_eq!(
            Packet::new_checked(&chain[..]).unwrap().upper_layer(),
            Err(Ipv6Error::TooManyExtensions)
        );
        // Eight are fine.
        chain[40 + 7 * 8] = 17;
        let upper = Packet::new_checked(&chain[..])
            .unwrap()
            .upper_layer()
            .unwrap();
        assert_eq!(
            (upper.protocol, upper.extension_count),
            (IpProtocol::Udp, 8)
        );
    }

    #[test]
    fn checked_constructor_refusals() {
        let bytes = hex(TCP6);
        assert_eq!(Packet::new_checked(&bytes[..0]), Err(Ipv6Error::Truncated));
        assert_eq!(Packet::new_checked(&bytes[..39]), Err(Ipv6Error::Truncated));
        assert_eq!(
            Packet::new_checked(&bytes[..59]),
            Err(Ipv6Error::PayloadLengthExceedsBuffer)
        );
        assert!(Packet::new_embedded(&bytes[..48]).is_ok());
        let mut bad = bytes.clone();
        bad[0] = 0x45;
        assert_eq!(Packet::new_checked(&bad[..]), Err(Ipv6Error::BadVersion));
    }

    #[test]
    fn setters() {
        let mut bytes = hex(TCP6);
        let mut ip = Packet::new_checked(&mut bytes[..]).unwrap();
        ip.swap_addresses();
        assert_eq!(ip.src(), "2001:db8::2".parse::<Ipv6Addr>().unwrap());
        assert_eq!(ip.dec_hop_limit(), Ok(63));
        ip.set_traffic_class(0x01);
        ip.set_flow_label(0xfffff);
        assert_eq!(
            (ip.version(), ip.traffic_class(), ip.flow_label()),
            (6, 0x01, 0xfffff)
        );
        ip.set_hop_limit(1);
        assert_eq!(ip.dec_hop_limit(), Err(Ipv6Error::HopLimitExpired));
        ip.set_dst(Ipv6Addr::LOCALHOST);
        assert_eq!(ip.dst(), Ipv6Addr::LOCALHOST);
    }

    #[test]
    fn emit_matches_capture() {
        let bytes = hex(TCP6);
        let repr = Repr::parse(&Packet::new_checked(&bytes[..]).unwrap());
        let mut buf = [0u8; 40];
        assert_eq!(repr.emit(&mut buf), Ok(40));
        assert_eq!(&buf[..], &bytes[..40]);
        assert_eq!(repr.emit(&mut buf[..39]), Err(Ipv6Error::BufferTooSmall));
        let long = Repr {
            payload_len: 70_000,
            ..repr
        };
        assert_eq!(long.emit(&mut buf), Err(Ipv6Error::PayloadTooLong));
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
            crate::wire::fuzz::ipv6(&bytes);
        }

        #[test]
        fn walk_never_panics_on_chain_shaped_bytes(
            kinds in proptest::collection::vec(prop_oneof![Just(0u8), Just(43), Just(44), Just(51), Just(60), Just(6), Just(50), any::<u8>()], 1..12),
            lens in proptest::collection::vec(0u8..4, 12),
            tail in 0usize..64,
        ) {
            let mut bytes = vec![0u8; 40];
            bytes[0] = 0x60;
            bytes[6] = kinds[0];
            for (i, &kind) in kinds.iter().enumerate().skip(1) {
                let len = lens[i];
                let mut header = vec![0u8; (usize::from(len) + 1) * 8];
                header[0] = kind;
                header[1] = len;
                bytes.extend_from_slice(&header);
            }
            bytes.extend(std::iter::repeat_n(0u8, tail));
            let payload_len = u16::try_from(bytes.len() - 40).unwrap();
            bytes[4..6].copy_from_slice(&payload_len.to_be_bytes());
            let ip = Packet::new_checked(&bytes[..]).unwrap();
            if let Ok(upper) = ip.upper_layer() {
                prop_assert!(upper.offset <= bytes.len());
                prop_assert!(upper.extension_count <= MAX_EXTENSION_HEADERS);
            }
        }

        #[test]
        fn repr_round_trips(src in any::<[u8; 16]>(), dst in any::<[u8; 16]>(), nh in any::<u8>(),
                            payload_len in 0usize..2000, hop_limit in any::<u8>(),
                            traffic_class in any::<u8>(), flow_label in 0u32..0x100000) {
            let repr = Repr { src: src.into(), dst: dst.into(), next_header: nh.into(),
                              payload_len, hop_limit, traffic_class, flow_label };
            let mut buf = vec![0u8; 40 + payload_len];
            prop_assert_eq!(repr.emit(&mut buf), Ok(40));
            prop_assert_eq!(Repr::parse(&Packet::new_checked(&buf[..]).unwrap()), repr);
        }
    }
}
