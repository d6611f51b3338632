//! GUE, generic UDP encapsulation (draft-ietf-intarea-gue), as Linux `ip fou ... gue` and
//! IPVS `tun_type gue` use it: a UDP datagram whose payload is a GUE header and the inner
//! IP packet.
//!
//! Variant 0 header (4 bytes, then `hlen` 32-bit words of optional fields):
//!
//! ```text
//! | ver (2) = 0 | C (1) | hlen (5) | proto/ctype (8) | flags (16) |
//! ```
//!
//! `proto` is the IP protocol number of the payload (4 for IPv4, 41 for IPv6); C marks a
//! control message, whose payload rvs does not interpret. Variant 1 has no GUE header at
//! all: the first two bits `01` are the start of an IPv4 (`0100`) or IPv6 (`0110`)
//! header. IPVS sends variant 0 with `hlen` 0 and flags 0 — the header rvs emits — plus,
//! with remote checksum offload, one private-flags word and a 4-byte option, which the
//! parser steps over via `hlen`.

use super::ip::IpProtocol;
use super::udp::{self, UdpError};
use super::{read_u16, write_u16};

/// Length of the variant-0 base header.
pub const BASE_LEN: usize = 4;

/// Why a GUE payload was refused, or could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum GueError {
    /// Shorter than the header `hlen` announces.
    #[error("GUE header truncated")]
    Truncated,
    /// Version 2 or 3.
    #[error("GUE version not supported")]
    UnsupportedVersion,
    /// Variant 1 whose first nibble is neither 4 nor 6.
    #[error("GUE variant 1 payload is not IP")]
    NotIp,
    /// The UDP layer around it is malformed.
    #[error("UDP around GUE invalid: {0}")]
    BadUdp(UdpError),
    /// A buffer given to a builder is too small.
    #[error("buffer too small for the GUE header")]
    BufferTooSmall,
}

/// A checked GUE payload: header fields and where the inner packet starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    buffer: &'a [u8],
    variant: u8,
    header_len: usize,
    control: bool,
    proto_ctype: u8,
    flags: u16,
}

impl<'a> Packet<'a> {
    /// Parses a GUE payload (the UDP payload). Every accessor is then panic-free.
    pub fn new_checked(buffer: &'a [u8]) -> Result<Self, GueError> {
        let first = *buffer.first().ok_or(GueError::Truncated)?;
        match first >> 6 {
            0 => {
                if buffer.len() < BASE_LEN {
                    return Err(GueError::Truncated);
                }
                let header_len = BASE_LEN + usize::from(first & 0x1f) * 4;
                if header_len > buffer.len() {
                    return Err(GueError::Truncated);
                }
                Ok(Packet {
                    buffer,
                    variant: 0,
                    header_len,
                    control: first & 0x20 != 0,
                    proto_ctype: buffer[1],
                    flags: read_u16(buffer, 2),
                })
            }
            1 => {
                let proto = match first >> 4 {
                    4 => IpProtocol::IpIp,
                    6 => IpProtocol::Ipv6,
                    _ => return Err(GueError::NotIp),
                };
                Ok(Packet {
                    buffer,
                    variant: 1,
                    header_len: 0,
                    control: false,
                    proto_ctype: proto.into(),
                    flags: 0,
                })
            }
            _ => Err(GueError::UnsupportedVersion),
        }
    }

    /// Variant: 0 (GUE header) or 1 (direct IP).
    pub fn variant(&self) -> u8 {
        self.variant
    }

    /// True for a control message (C bit).
    pub fn is_control(&self) -> bool {
        self.control
    }

    /// Protocol of the inner packet (for data messages).
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(self.proto_ctype)
    }

    /// Control type (for control messages).
    pub fn ctype(&self) -> u8 {
        self.proto_ctype
    }

    /// The 16 flag bits.
    pub fn flags(&self) -> u16 {
        self.flags
    }

    /// Header length including optional fields (0 for variant 1).
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// Optional fields after the base header.
    pub fn extensions(&self) -> &'a [u8] {
        self.buffer.get(BASE_LEN..self.header_len).unwrap_or(&[])
    }

    /// The inner packet.
    pub fn payload(&self) -> &'a [u8] {
        self.buffer.get(self.header_len..).unwrap_or(&[])
    }
}

/// Parses a UDP datagram (the IP payload) carrying GUE.
pub fn parse_udp(datagram: &[u8]) -> Result<Packet<'_>, GueError> {
    let udp = udp::Packet::new_checked(datagram).map_err(GueError::BadUdp)?;
    let end = usize::from(udp.len());
    Packet::new_checked(
        datagram
            .get(udp::HEADER_LEN..end)
            .ok_or(GueError::Truncated)?,
    )
}

/// Writes a variant-0 GUE header (hlen 0, flags 0) for an inner packet of `protocol`;
/// returns 4.
pub fn emit(prefix: &mut [u8], protocol: IpProtocol) -> Result<usize, GueError> {
    let out = prefix.get_mut(..BASE_LEN).ok_or(GueError::BufferTooSmall)?;
    out[0] = 0;
    out[1] = protocol.into();
    write_u16(out, 2, 0);
    Ok(BASE_LEN)
}

/// Writes the UDP header and the GUE header in front of an inner packet of `inner_len`
/// bytes (UDP checksum 0, which IPVS sends over IPv4 unless told otherwise); returns 12.
pub fn emit_udp(
    prefix: &mut [u8],
    src_port: u16,
    dst_port: u16,
    protocol: IpProtocol,
    inner_len: usize,
) -> Result<usize, GueError> {
    let len = udp::HEADER_LEN + BASE_LEN;
    let out = prefix.get_mut(..len).ok_or(GueError::BufferTooSmall)?;
    udp::emit_header(out, src_port, dst_port, BASE_LEN + inner_len).map_err(|e| match e {
        UdpError::BufferTooSmall => GueError::BufferTooSmall,
        other => GueError::BadUdp(other),
    })?;
    emit(&mut out[udp::HEADER_LEN..], protocol)?;
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::hex;
    use crate::wire::{ipv4, ipv6};
    use core::net::Ipv4Addr;
    use proptest::prelude::*;

    // The payload Linux IPVS sends with tun_type gue (see ipvs_gue_encap): UDP with
    // checksum 0, GUE version 0, hlen 0, flags 0, proto 4, then the inner IPv4 packet.
    // scapy: UDP(sport=45678, dport=6080, chksum=0)/Raw(b"\x00\x04\x00\x00")
    //        /IP(src="192.0.2.10", dst="198.51.100.20")/TCP(sport=40000, dport=80, flags="S")
    const GUE_IPIP: &str = include_str!("testdata/gue_ipip.hex");

    #[test]
    fn parse_capture() {
        let bytes = hex(GUE_IPIP);
        let gue = parse_udp(&bytes).unwrap();
        assert_eq!(
            (gue.variant(), gue.is_control(), gue.header_len()),
            (0, false, 4)
        );
        assert_eq!(gue.protocol(), IpProtocol::IpIp);
        let inner = ipv4::Packet::new_checked(gue.payload()).unwrap();
        assert_eq!(inner.dst(), Ipv4Addr::new(198, 51, 100, 20));
    }

    #[test]
    fn build_matches_capture() {
        let bytes = hex(GUE_IPIP);
        let mut prefix = [0u8; 12];
        assert_eq!(
            emit_udp(&mut prefix, 45678, 6080, IpProtocol::IpIp, bytes.len() - 12),
            Ok(12)
        );
        assert_eq!(&prefix[..], &bytes[..12]);
        assert_eq!(
            emit_udp(&mut prefix[..11], 1, 2, IpProtocol::IpIp, 0),
            Err(GueError::BufferTooSmall)
        );
    }

    #[test]
    fn options_variant1_and_refusals() {
        // hlen 2: private flags word + remote checksum offload option.
        let mut with_options = hex("0229 0001 80000000 00140016");
        with_options.extend_from_slice(&hex(include_str!("testdata/ipv6_tcp.hex")));
        let gue = Packet::new_checked(&with_options).unwrap();
        assert_eq!(gue.header_len(), 12);
        assert_eq!(gue.flags(), 1);
        assert_eq!(gue.extensions().len(), 8);
        assert_eq!(gue.protocol(), IpProtocol::Ipv6);
        assert!(ipv6::Packet::new_checked(gue.payload()).is_ok());
        // Variant 1: the payload is the IP packet itself.
        let direct = hex(include_str!("testdata/ipv6_tcp.hex"));
        let gue = Packet::new_checked(&direct).unwrap();
        assert_eq!(
            (gue.variant(), gue.protocol(), gue.header_len()),
            (1, IpProtocol::Ipv6, 0)
        );
        assert_eq!(gue.payload().len(), direct.len());
        // Refusals.
        assert_eq!(Packet::new_checked(&[]), Err(GueError::Truncated));
        assert_eq!(
            Packet::new_checked(&[0x01, 4, 0, 0, 0]),
            Err(GueError::Truncated)
        );
        assert_eq!(
            Packet::new_checked(&[0x80, 4, 0, 0]),
            Err(GueError::UnsupportedVersion)
        );
        assert_eq!(Packet::new_checked(&[0x50, 0]), Err(GueError::NotIp));
        let control = Packet::new_checked(&[0x20, 7, 0, 0]).unwrap();
        assert!(control.is_control());
        assert_eq!(control.ctype(), 7);
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            crate::wire::fuzz::gue(&bytes);
        }
    }
}
