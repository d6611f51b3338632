//! Reading captured frames: Ethernet, IPv4 (plain or inside IPIP), TCP with its options,
//! UDP. Written here, small and separate from `dataplane::wire`, on purpose: a test that
//! judged rvs's packets with rvs's own parser would share its mistakes. Every accessor is
//! checked (`get`, never indexing): a short or odd frame is `None`, not a panic.

use std::net::Ipv4Addr;

pub const PROTO_IPIP: u8 = 4;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_ACK: u8 = 0x10;

/// One Ethernet frame carrying IPv4.
#[derive(Clone, Debug)]
pub struct Frame<'a> {
    pub dst_mac: [u8; 6],
    pub src_mac: [u8; 6],
    pub ip: Ip4<'a>,
}

/// An IPv4 packet: header fields and what follows the header (cut to the total length, so
/// Ethernet padding is not payload).
#[derive(Clone, Debug)]
pub struct Ip4<'a> {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: u8,
    /// The header's total length: what IPVS (and rvs) count as a packet's bytes.
    pub total_len: u16,
    pub payload: &'a [u8],
}

/// A TCP segment.
#[derive(Clone, Debug)]
pub struct Tcp<'a> {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    /// The option bytes (between the fixed header and the data).
    pub options: &'a [u8],
    pub payload: &'a [u8],
}

/// A UDP datagram.
#[derive(Clone, Debug)]
pub struct Udp<'a> {
    pub sport: u16,
    pub dport: u16,
    pub payload: &'a [u8],
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let pair = bytes.get(at..at + 2)?;
    Some(u16::from_be_bytes([*pair.first()?, *pair.get(1)?]))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let quad: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(quad))
}

fn addr(bytes: &[u8], at: usize) -> Option<Ipv4Addr> {
    let quad: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(Ipv4Addr::from(quad))
}

/// The frame's Ethernet addresses and IPv4 packet (`None` for ARP, VLANs, IPv6, runts).
pub fn frame(bytes: &[u8]) -> Option<Frame<'_>> {
    if be16(bytes, 12)? != 0x0800 {
        return None;
    }
    Some(Frame {
        dst_mac: bytes.get(0..6)?.try_into().ok()?,
        src_mac: bytes.get(6..12)?.try_into().ok()?,
        ip: ipv4(bytes.get(14..)?)?,
    })
}

/// An IPv4 packet at the start of `bytes`.
pub fn ipv4(bytes: &[u8]) -> Option<Ip4<'_>> {
    let first = *bytes.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let header_len = usize::from(first & 0x0f) * 4;
    let total_len = be16(bytes, 2)?;
    if header_len < 20 || usize::from(total_len) < header_len {
        return None;
    }
    Some(Ip4 {
        src: addr(bytes, 12)?,
        dst: addr(bytes, 16)?,
        proto: *bytes.get(9)?,
        total_len,
        payload: bytes.get(header_len..usize::from(total_len))?,
    })
}

impl<'a> Ip4<'a> {
    /// The TCP segment inside, if it is one.
    pub fn tcp(&self) -> Option<Tcp<'a>> {
        if self.proto != PROTO_TCP {
            return None;
        }
        let bytes = self.payload;
        let data_offset = usize::from(*bytes.get(12)? >> 4) * 4;
        Some(Tcp {
            sport: be16(bytes, 0)?,
            dport: be16(bytes, 2)?,
            seq: be32(bytes, 4)?,
            ack: be32(bytes, 8)?,
            flags: *bytes.get(13)?,
            options: bytes.get(20..data_offset)?,
            payload: bytes.get(data_offset..)?,
        })
    }

    /// The UDP datagram inside, if it is one.
    pub fn udp(&self) -> Option<Udp<'a>> {
        if self.proto != PROTO_UDP {
            return None;
        }
        Some(Udp {
            sport: be16(self.payload, 0)?,
            dport: be16(self.payload, 2)?,
            payload: self.payload.get(8..)?,
        })
    }

    /// The inner packet of an IPIP packet.
    pub fn ipip_inner(&self) -> Option<Ip4<'a>> {
        (self.proto == PROTO_IPIP)
            .then(|| ipv4(self.payload))
            .flatten()
    }

    /// Source and destination ports of its TCP or UDP header.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match self.proto {
            PROTO_TCP => self.tcp().map(|t| (t.sport, t.dport)),
            PROTO_UDP => self.udp().map(|u| (u.sport, u.dport)),
            _ => None,
        }
    }
}

/// The TCP options as (kind, whole option bytes); stops at End-of-List or a malformed length.
pub fn tcp_options(options: &[u8]) -> Vec<(u8, &[u8])> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(&kind) = options.get(at) {
        match kind {
            0 => break,
            1 => at += 1,
            _ => {
                let Some(&len) = options.get(at + 1) else {
                    break;
                };
                let len = usize::from(len);
                let Some(option) = options.get(at..at + len).filter(|_| len >= 2) else {
                    break;
                };
                found.push((kind, option));
                at += len;
            }
        }
    }
    found
}

/// Parses a MAC written `02:00:0a:00:00:02`.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let bytes: Vec<u8> = text
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).ok())
        .collect::<Option<_>>()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SYN with MSS and a TOA option, as rvs sends it to a FULLNAT server.
    const SYN_WITH_TOA: &str = "02000a00000b02000a000002080045000034000140003f06a4e70a0000c80a00000b\
                                9c40005000000001000000008002faf0f1c10000020405b4fe089c400a090002";

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len() / 2)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex"))
            .collect()
    }

    #[test]
    fn a_syn_with_toa_reads_back() {
        let bytes = hex(SYN_WITH_TOA);
        let f = frame(&bytes).expect("IPv4 frame");
        assert_eq!(f.src_mac, [2, 0, 10, 0, 0, 2]);
        assert_eq!(f.ip.src, Ipv4Addr::new(10, 0, 0, 200));
        assert_eq!(f.ip.total_len, 52);
        let tcp = f.ip.tcp().expect("tcp");
        assert_eq!((tcp.sport, tcp.dport, tcp.flags), (40000, 80, TCP_SYN));
        let opts = tcp_options(tcp.options);
        assert_eq!(opts.len(), 2);
        assert_eq!(opts[1], (254, &[254, 8, 0x9c, 0x40, 10, 9, 0, 2][..]));
        assert!(tcp.payload.is_empty());
    }

    #[test]
    fn short_and_odd_frames_are_none() {
        let bytes = hex(SYN_WITH_TOA);
        for cut in 0..bytes.len() {
            if let Some(f) = frame(&bytes[..cut]) {
                let _ = f.ip.tcp().map(|t| tcp_options(t.options));
            }
        }
        assert!(frame(&bytes[..40]).is_none());
        assert_eq!(tcp_options(&[254, 1, 0]), vec![]);
        assert_eq!(tcp_options(&[1, 1, 2, 4, 5, 0xb4, 0, 9]).len(), 1);
        assert_eq!(parse_mac("02:00:0a:00:00:0b"), Some([2, 0, 10, 0, 0, 11]));
        assert_eq!(parse_mac("02:00"), None);
    }
}
