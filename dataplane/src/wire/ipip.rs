//! IP-in-IP encapsulation: LVS TUN mode's default (`tun_type ipip`). The outer header is
//! the whole encapsulation — protocol 4 (IPv4 inside) or 41 (IPv6 inside) — so this
//! module is an emit for the outer header in front of an inner packet and a parse that
//! checks both layers.
//!
//! What goes into the outer header is the forwarding mode's choice; IPVS copies TTL, the
//! DSCP/ECN byte and DF from the inner packet, and rvs's `fwd::tun` does the same through
//! [`Outer::from_inner_ipv4`].

use core::net::{Ipv4Addr, Ipv6Addr};

use super::ip::IpProtocol;
use super::ipv4::{self, Ipv4Error};
use super::ipv6::{self, Ipv6Error};

/// Why an IPIP packet was refused, or could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum IpipError {
    /// The outer IPv4 header is malformed.
    #[error("outer IPv4 header invalid: {0}")]
    BadOuterIpv4(Ipv4Error),
    /// The outer IPv6 header is malformed.
    #[error("outer IPv6 header invalid: {0}")]
    BadOuterIpv6(Ipv6Error),
    /// The outer header does not carry IPv4 or IPv6 directly.
    #[error("outer header does not carry an IP packet")]
    NotIpip,
    /// The outer packet is a fragment (reassembly is not the director's job).
    #[error("outer packet is a fragment")]
    Fragmented,
    /// The inner IPv4 packet is malformed.
    #[error("inner IPv4 packet invalid: {0}")]
    BadInnerIpv4(Ipv4Error),
    /// The inner IPv6 packet is malformed.
    #[error("inner IPv6 packet invalid: {0}")]
    BadInnerIpv6(Ipv6Error),
    /// A buffer given to a builder is too small.
    #[error("buffer too small for the outer header")]
    BufferTooSmall,
    /// Outer header plus inner packet longer than 65535 bytes.
    #[error("encapsulated packet too long")]
    PayloadTooLong,
}

/// The packet inside, with its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inner<'a> {
    /// An IPv4 packet (outer protocol 4).
    Ipv4(ipv4::Packet<&'a [u8]>),
    /// An IPv6 packet (outer protocol 41).
    Ipv6(ipv6::Packet<&'a [u8]>),
}

/// The family of the inner packet, which decides the outer protocol number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InnerKind {
    /// IPv4 inside (protocol 4).
    Ipv4,
    /// IPv6 inside (protocol 41).
    Ipv6,
}

impl InnerKind {
    /// The protocol number the outer header carries.
    pub fn protocol(self) -> IpProtocol {
        match self {
            InnerKind::Ipv4 => IpProtocol::IpIp,
            InnerKind::Ipv6 => IpProtocol::Ipv6,
        }
    }
}

fn parse_inner(protocol: IpProtocol, payload: &[u8]) -> Result<Inner<'_>, IpipError> {
    match protocol {
        IpProtocol::IpIp => ipv4::Packet::new_checked(payload)
            .map(Inner::Ipv4)
            .map_err(IpipError::BadInnerIpv4),
        IpProtocol::Ipv6 => ipv6::Packet::new_checked(payload)
            .map(Inner::Ipv6)
            .map_err(IpipError::BadInnerIpv6),
        _ => Err(IpipError::NotIpip),
    }
}

/// Checks an IPv4 packet carrying IP and returns the inner packet.
pub fn decapsulate_ipv4(outer: &[u8]) -> Result<Inner<'_>, IpipError> {
    let ip = ipv4::Packet::new_checked(outer).map_err(IpipError::BadOuterIpv4)?;
    if ip.is_fragment() {
        return Err(IpipError::Fragmented);
    }
    let protocol = ip.protocol();
    let start = ip.header_len();
    let end = usize::from(ip.total_len());
    parse_inner(protocol, outer.get(start..end).ok_or(IpipError::NotIpip)?)
}

/// Checks an IPv6 packet carrying IP (directly after the fixed header) and returns the
/// inner packet.
pub fn decapsulate_ipv6(outer: &[u8]) -> Result<Inner<'_>, IpipError> {
    let ip = ipv6::Packet::new_checked(outer).map_err(IpipError::BadOuterIpv6)?;
    let protocol = ip.next_header();
    let end = ipv6::HEADER_LEN + usize::from(ip.payload_len());
    parse_inner(
        protocol,
        outer.get(ipv6::HEADER_LEN..end).ok_or(IpipError::NotIpip)?,
    )
}

/// The fields of an outer IPv4 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Outer {
    /// Tunnel source (the director).
    pub src: Ipv4Addr,
    /// Tunnel destination (the real server).
    pub dst: Ipv4Addr,
    /// Time to live.
    pub ttl: u8,
    /// DSCP/ECN byte.
    pub tos: u8,
    /// Don't-fragment flag.
    pub dont_frag: bool,
    /// Identification.
    pub ident: u16,
}

impl Outer {
    /// The outer header IPVS builds for an inner IPv4 packet: TTL, TOS and DF copied.
    pub fn from_inner_ipv4<T: AsRef<[u8]>>(
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ident: u16,
        inner: &ipv4::Packet<T>,
    ) -> Self {
        Outer {
            src,
            dst,
            ttl: inner.ttl(),
            tos: inner.tos(),
            dont_frag: inner.dont_frag(),
            ident,
        }
    }
}

/// Writes the 20-byte outer IPv4 header for an inner packet of `inner_len` bytes into
/// the start of `prefix`; returns 20.
pub fn emit_outer_ipv4(
    prefix: &mut [u8],
    outer: &Outer,
    inner: InnerKind,
    inner_len: usize,
) -> Result<usize, IpipError> {
    ipv4::Repr {
        src: outer.src,
        dst: outer.dst,
        protocol: inner.protocol(),
        payload_len: inner_len,
        ttl: outer.ttl,
        tos: outer.tos,
        ident: outer.ident,
        dont_frag: outer.dont_frag,
    }
    .emit(prefix)
    .map_err(|e| match e {
        Ipv4Error::PayloadTooLong => IpipError::PayloadTooLong,
        _ => IpipError::BufferTooSmall,
    })
}

/// Writes the 40-byte outer IPv6 header for an inner packet of `inner_len` bytes into
/// the start of `prefix`; returns 40.
pub fn emit_outer_ipv6(
    prefix: &mut [u8],
    src: &Ipv6Addr,
    dst: &Ipv6Addr,
    hop_limit: u8,
    traffic_class: u8,
    inner: InnerKind,
    inner_len: usize,
) -> Result<usize, IpipError> {
    ipv6::Repr {
        src: *src,
        dst: *dst,
        next_header: inner.protocol(),
        payload_len: inner_len,
        hop_limit,
        traffic_class,
        flow_label: 0,
    }
    .emit(prefix)
    .map_err(|e| match e {
        Ipv6Error::PayloadTooLong => IpipError::PayloadTooLong,
        _ => IpipError::BufferTooSmall,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::hex;
    use proptest::prelude::*;

    // scapy: IP(src="10.0.0.1", dst="10.0.0.2", ttl=63, tos=0x10, flags="DF", id=5)
    //        /IP(src="192.0.2.10", dst="198.51.100.20", ttl=63, tos=0x10, flags="DF")
    //        /TCP(sport=40000, dport=80, flags="S")
    const IPIP: &str = include_str!("testdata/ipip.hex");

    #[test]
    fn parse_and_rebuild_capture() {
        let bytes = hex(IPIP);
        let Ok(Inner::Ipv4(inner)) = decapsulate_ipv4(&bytes) else {
            panic!("not ipip");
        };
        assert_eq!(inner.dst(), Ipv4Addr::new(198, 51, 100, 20));
        assert_eq!(inner.protocol(), IpProtocol::Tcp);
        let outer = Outer::from_inner_ipv4(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            5,
            &inner,
        );
        let mut prefix = [0u8; 20];
        assert_eq!(
            emit_outer_ipv4(&mut prefix, &outer, InnerKind::Ipv4, bytes.len() - 20),
            Ok(20)
        );
        assert_eq!(&prefix[..], &bytes[..20]);
    }

    #[test]
    fn refusals() {
        let bytes = hex(IPIP);
        let mut not_ipip = bytes.clone();
        ipv4::Packet::new_checked(&mut not_ipip[..])
            .unwrap()
            .set_protocol(IpProtocol::Gre);
        assert_eq!(decapsulate_ipv4(&not_ipip), Err(IpipError::NotIpip));
        let mut bad_inner = bytes.clone();
        bad_inner[30] ^= 0xff; // inner checksum
        assert_eq!(
            decapsulate_ipv4(&bad_inner),
            Err(IpipError::BadInnerIpv4(Ipv4Error::BadChecksum))
        );
        assert_eq!(
            decapsulate_ipv4(&bytes[..10]),
            Err(IpipError::BadOuterIpv4(Ipv4Error::Truncated))
        );
        let outer = Outer {
            src: Ipv4Addr::LOCALHOST,
            dst: Ipv4Addr::LOCALHOST,
            ttl: 1,
            tos: 0,
            dont_frag: false,
            ident: 0,
        };
        assert_eq!(
            emit_outer_ipv4(&mut [0u8; 19], &outer, InnerKind::Ipv4, 20),
            Err(IpipError::BufferTooSmall)
        );
        assert_eq!(
            emit_outer_ipv4(&mut [0u8; 20], &outer, InnerKind::Ipv4, 65_516),
            Err(IpipError::PayloadTooLong)
        );
    }

    #[test]
    fn ipv6_in_ipv6_round_trip() {
        let inner = hex(include_str!("testdata/ipv6_tcp.hex"));
        let mut buf = vec![0u8; 40 + inner.len()];
        let (src, dst): (Ipv6Addr, Ipv6Addr) = (
            "2001:db8::a".parse().unwrap(),
            "2001:db8::b".parse().unwrap(),
        );
        assert_eq!(
            emit_outer_ipv6(&mut buf, &src, &dst, 64, 0, InnerKind::Ipv6, inner.len()),
            Ok(40)
        );
        buf[40..].copy_from_slice(&inner);
        let Ok(Inner::Ipv6(packet)) = decapsulate_ipv6(&buf) else {
            panic!("not ip6ip6");
        };
        assert_eq!(packet.next_header(), IpProtocol::Tcp);
        assert_eq!(buf[6], 41);
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            crate::wire::fuzz::ipip(&bytes);
        }
    }
}
