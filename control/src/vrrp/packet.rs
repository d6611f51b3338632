//! VRRP advertisements on the wire: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798), IPv4.
//!
//! The control plane receives adverts from a raw IP socket (the kernel hands us the IPv4
//! header too, which we need for the TTL and source checks) and sends them through one,
//! so this module parses an IPv4 packet carrying VRRP and builds the VRRP message the
//! kernel wraps in its IP header.
//!
//! Checksums follow each version's rule: v2 covers the VRRP message only (including the 8
//! bytes of authentication data); v3 covers the VRRP message plus the IPv4 pseudo-header
//! (source, destination, protocol 112, VRRP length) — keepalived computes the v3 pseudo-
//! header with the packet's real destination, the unicast peer's address in unicast mode.

use std::net::Ipv4Addr;

use dataplane::wire::checksum;

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// The VRRP IPv4 multicast group.
pub const VRRP_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The TTL every advertisement is sent with and (in multicast mode) must arrive with.
pub const VRRP_TTL: u8 = 255;
/// Length of the v2 authentication data.
pub const AUTH_LEN: usize = 8;
/// The only VRRP message type.
const TYPE_ADVERT: u8 = 1;
/// Fixed VRRP header length (both versions).
const HEADER_LEN: usize = 8;

/// v2 authentication types.
pub const AUTH_NONE: u8 = 0;
pub const AUTH_PASS: u8 = 1;
pub const AUTH_AH: u8 = 2;

/// Why a received packet could not be parsed as a VRRP advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("packet shorter than its headers")]
    Truncated,
    #[error("not an IPv4 packet")]
    NotIpv4,
    #[error("IP protocol is not VRRP")]
    NotVrrp,
    #[error("IP total length does not match the received length")]
    IpLength,
    #[error("VRRP version {0} is neither 2 nor 3")]
    Version(u8),
    #[error("VRRP type {0} is not an advertisement")]
    Type(u8),
    #[error("VRRP length does not match the address count")]
    Length,
    #[error("bad VRRP checksum")]
    Checksum,
}

/// A parsed advertisement with the IPv4 facts validation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub version: u8,
    pub vrid: u8,
    pub priority: u8,
    /// v2: seconds; v3: centiseconds (12 bits).
    pub adver_int: u16,
    /// v2 only.
    pub auth_type: u8,
    /// v2 only: the 8 bytes of authentication data.
    pub auth_data: [u8; AUTH_LEN],
    /// The virtual addresses, in packet order (at most 255).
    pub addrs: Vec<Ipv4Addr>,
}

impl Advert {
    /// The advertisement interval in microseconds.
    pub fn interval_us(&self) -> u64 {
        if self.version == 2 {
            u64::from(self.adver_int) * 1_000_000
        } else {
            u64::from(self.adver_int) * 10_000
        }
    }
}

/// The VRRP checksum rule of each version: v2 over the message alone, v3 with the IPv4
/// pseudo-header too. Returns the value that goes in the checksum field (or 0 over a
/// message whose checksum is right).
fn vrrp_checksum(version: u8, msg: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> u16 {
    let mut acc = checksum::raw_sum(msg);
    if version == 3 {
        // A VRRP message is at most 8 + 255 * 4 + 8 bytes.
        let len = u16::try_from(msg.len()).unwrap_or(u16::MAX);
        acc += u64::from(checksum::pseudo_header_v4(src, dst, IPPROTO_VRRP, len));
    }
    !checksum::fold(acc)
}

/// Parses an IPv4 packet (header included, as a raw socket delivers it) carrying a VRRP
/// advertisement. Structural checks only; whether it matches an instance is
/// [`crate::vrrp::instance`]'s business.
pub fn parse(packet: &[u8]) -> Result<Advert, ParseError> {
    let first = *packet.first().ok_or(ParseError::Truncated)?;
    if first >> 4 != 4 {
        return Err(ParseError::NotIpv4);
    }
    let ihl = usize::from(first & 0x0f) * 4;
    if ihl < 20 || packet.len() < ihl + HEADER_LEN {
        return Err(ParseError::Truncated);
    }
    if packet[9] != IPPROTO_VRRP {
        return Err(ParseError::NotVrrp);
    }
    let total = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
    if total != packet.len() {
        return Err(ParseError::IpLength);
    }
    let ttl = packet[8];
    let src = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
    let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
    let vrrp = &packet[ihl..];
    let version = vrrp[0] >> 4;
    let kind = vrrp[0] & 0x0f;
    if version != 2 && version != 3 {
        return Err(ParseError::Version(version));
    }
    if kind != TYPE_ADVERT {
        return Err(ParseError::Type(kind));
    }
    let count = usize::from(vrrp[3]);
    let expected = HEADER_LEN + count * 4 + if version == 2 { AUTH_LEN } else { 0 };
    if vrrp.len() != expected {
        return Err(ParseError::Length);
    }
    if vrrp_checksum(version, vrrp, src, dst) != 0 {
        return Err(ParseError::Checksum);
    }
    let addrs = vrrp[HEADER_LEN..HEADER_LEN + count * 4]
        .chunks_exact(4)
        .map(|a| Ipv4Addr::new(a[0], a[1], a[2], a[3]))
        .collect();
    let (adver_int, auth_type, mut auth_data) = if version == 2 {
        (u16::from(vrrp[5]), vrrp[4], [0u8; AUTH_LEN])
    } else {
        (
            u16::from_be_bytes([vrrp[4], vrrp[5]]) & 0x0fff,
            AUTH_NONE,
            [0u8; AUTH_LEN],
        )
    };
    if version == 2 {
        auth_data.copy_from_slice(&vrrp[expected - AUTH_LEN..]);
    }
    Ok(Advert {
        src,
        dst,
        ttl,
        version,
        vrid: vrrp[1],
        priority: vrrp[2],
        adver_int,
        auth_type,
        auth_data,
        addrs,
    })
}

/// What to put in an advertisement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvertSpec<'a> {
    pub version: u8,
    pub vrid: u8,
    pub priority: u8,
    /// v2: seconds (1..=255); v3: centiseconds (1..=4095).
    pub adver_int: u16,
    /// v2 PASS authentication: the password, cut or NUL-padded to 8 bytes.
    pub password: Option<&'a [u8]>,
    pub addrs: &'a [Ipv4Addr],
}

/// The 8 bytes of PASS authentication data for `password`: cut to 8, NUL padded, as
/// keepalived sends it.
pub fn auth_data(password: &[u8]) -> [u8; AUTH_LEN] {
    let mut out = [0u8; AUTH_LEN];
    let n = password.len().min(AUTH_LEN);
    out[..n].copy_from_slice(&password[..n]);
    out
}

/// Builds the VRRP message (without IP header). `src`/`dst` are the IPv4 addresses the
/// packet will carry; only v3 uses them (pseudo-header checksum).
pub fn build(spec: &AdvertSpec<'_>, src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let count = spec.addrs.len().min(255);
    let mut out = Vec::with_capacity(HEADER_LEN + count * 4 + AUTH_LEN);
    out.push((spec.version << 4) | TYPE_ADVERT);
    out.push(spec.vrid);
    out.push(spec.priority);
    // `count` is capped at 255 above.
    #[allow(clippy::cast_possible_truncation)]
    out.push(count as u8);
    if spec.version == 2 {
        out.push(if spec.password.is_some() {
            AUTH_PASS
        } else {
            AUTH_NONE
        });
        // v2 carries whole seconds in one byte.
        #[allow(clippy::cast_possible_truncation)]
        out.push(spec.adver_int.min(255) as u8);
    } else {
        out.extend_from_slice(&(spec.adver_int & 0x0fff).to_be_bytes());
    }
    out.extend_from_slice(&[0, 0]);
    for a in &spec.addrs[..count] {
        out.extend_from_slice(&a.octets());
    }
    if spec.version == 2 {
        out.extend_from_slice(&auth_data(spec.password.unwrap_or(&[])));
    }
    let csum = vrrp_checksum(spec.version, &out, src, dst);
    out[6..8].copy_from_slice(&csum.to_be_bytes());
    out
}

/// Wraps a VRRP message in the IPv4 header keepalived sends (TOS 0xc0, TTL 255, DF clear,
/// protocol 112) — used by tests and by anything that must emit the whole packet.
pub fn wrap_ipv4(vrrp: &[u8], src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, id: u16) -> Vec<u8> {
    let total = 20 + vrrp.len();
    let mut ip = vec![0u8; 20];
    ip[0] = 0x45;
    ip[1] = 0xc0;
    // Adverts are far below 64 KiB.
    #[allow(clippy::cast_possible_truncation)]
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&id.to_be_bytes());
    ip[8] = ttl;
    ip[9] = IPPROTO_VRRP;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let c = checksum::checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(vrrp);
    ip
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
    const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    #[test]
    fn v2_matches_keepalived_layout() {
        // keepalived: "21 33 96 01 01 01 <csum> <VIP> <8 bytes auth, NUL padded>" for
        // VRID 51, priority 150, one address, PASS, interval 1 s.
        let msg = build(
            &AdvertSpec {
                version: 2,
                vrid: 51,
                priority: 150,
                adver_int: 1,
                password: Some(b"secret"),
                addrs: &[VIP],
            },
            ME,
            VRRP_GROUP,
        );
        assert_eq!(&msg[..6], &hex("21 33 96 01 01 01")[..]);
        assert_eq!(&msg[8..12], &VIP.octets());
        assert_eq!(&msg[12..], b"secret\0\0");
        // The v2 checksum covers the VRRP message alone.
        assert!(checksum::verify(&msg));
        let pkt = wrap_ipv4(&msg, ME, VRRP_GROUP, 255, 1);
        let a = parse(&pkt).unwrap();
        assert_eq!(
            (a.version, a.vrid, a.priority, a.adver_int, a.auth_type),
            (2, 51, 150, 1, AUTH_PASS)
        );
        assert_eq!(&a.auth_data, b"secret\0\0");
        assert_eq!(a.addrs, vec![VIP]);
        assert_eq!(a.interval_us(), 1_000_000);
        assert_eq!((a.src, a.dst, a.ttl), (ME, VRRP_GROUP, 255));
    }

    #[test]
    fn passwords_are_cut_to_eight_bytes() {
        assert_eq!(&auth_data(b"0123456789"), b"01234567");
        assert_eq!(&auth_data(b""), &[0u8; 8]);
    }

    #[test]
    fn v3_checksum_includes_the_pseudo_header() {
        let msg = build(
            &AdvertSpec {
                version: 3,
                vrid: 7,
                priority: 200,
                adver_int: 100,
                password: None,
                addrs: &[VIP, Ipv4Addr::new(10, 0, 0, 101)],
            },
            ME,
            VRRP_GROUP,
        );
        assert_eq!(msg[0], 0x31);
        assert_eq!(u16::from_be_bytes([msg[4], msg[5]]), 100);
        assert_eq!(msg.len(), 8 + 8);
        // Not valid without the pseudo-header...
        assert!(!checksum::verify(&msg));
        // ...valid with it.
        assert_eq!(vrrp_checksum(3, &msg, ME, VRRP_GROUP), 0);
        let a = parse(&wrap_ipv4(&msg, ME, VRRP_GROUP, 255, 9)).unwrap();
        assert_eq!((a.version, a.adver_int, a.priority), (3, 100, 200));
        assert_eq!(a.interval_us(), 1_000_000);
        // The same bytes sent to another destination fail the v3 checksum.
        let wrong = wrap_ipv4(&msg, ME, Ipv4Addr::new(10, 0, 0, 3), 255, 9);
        assert_eq!(parse(&wrong), Err(ParseError::Checksum));
    }

    #[test]
    fn scapy_frames_parse_and_rebuild_identically() {
        // Built with scapy (IP(src="10.0.0.2", dst="224.0.0.18", ttl=255, tos=0xc0)/VRRP(...)
        // and /VRRPv3(...)); checksums computed by scapy.
        let v2 = hex("45c0002800010000ff70d0900a000002e0000012\
             213396010101011a0a0000647365637265740000");
        let a = parse(&v2).unwrap();
        assert_eq!(
            (a.version, a.vrid, a.priority, a.adver_int),
            (2, 51, 150, 1)
        );
        let rebuilt = build(
            &AdvertSpec {
                version: 2,
                vrid: 51,
                priority: 150,
                adver_int: 1,
                password: Some(b"secret"),
                addrs: &[VIP],
            },
            ME,
            VRRP_GROUP,
        );
        assert_eq!(&rebuilt[..], &v2[20..]);
        let v3 = hex("45c0002400020000ff70d0930a000002e0000012\
             3107c802006407340a0000640a000065");
        let a = parse(&v3).unwrap();
        assert_eq!(
            (a.version, a.vrid, a.priority, a.adver_int),
            (3, 7, 200, 100)
        );
        let rebuilt = build(
            &AdvertSpec {
                version: 3,
                vrid: 7,
                priority: 200,
                adver_int: 100,
                password: None,
                addrs: &[VIP, Ipv4Addr::new(10, 0, 0, 101)],
            },
            ME,
            VRRP_GROUP,
        );
        assert_eq!(&rebuilt[..], &v3[20..]);
    }

    #[test]
    fn malformed_packets_are_typed_errors() {
        let good = wrap_ipv4(
            &build(
                &AdvertSpec {
                    version: 2,
                    vrid: 1,
                    priority: 100,
                    adver_int: 1,
                    password: None,
                    addrs: &[VIP],
                },
                ME,
                VRRP_GROUP,
            ),
            ME,
            VRRP_GROUP,
            255,
            1,
        );
        assert!(parse(&good).is_ok());
        assert_eq!(parse(&[]), Err(ParseError::Truncated));
        assert_eq!(parse(&good[..25]), Err(ParseError::Truncated));
        assert_eq!(parse(&good[..30]), Err(ParseError::IpLength));
        let mut v6 = good.clone();
        v6[0] = 0x65;
        assert_eq!(parse(&v6), Err(ParseError::NotIpv4));
        let mut bad_sum = good.clone();
        bad_sum[20 + 2] ^= 1; // priority changed, checksum not
        assert_eq!(parse(&bad_sum), Err(ParseError::Checksum));
        let mut bad_count = good.clone();
        bad_count[20 + 3] = 2;
        assert_eq!(parse(&bad_count), Err(ParseError::Length));
        let mut bad_ver = good.clone();
        bad_ver[20] = 0x41;
        assert_eq!(parse(&bad_ver), Err(ParseError::Version(4)));
        let mut bad_type = good.clone();
        bad_type[20] = 0x22;
        assert_eq!(parse(&bad_type), Err(ParseError::Type(2)));
        let mut not_vrrp = good;
        not_vrrp[9] = 6;
        assert_eq!(parse(&not_vrrp), Err(ParseError::NotVrrp));
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn build_parse_round_trip(
            v3 in any::<bool>(), vrid in 1u8..=255, prio in 0u8..=255, int in 1u16..=255,
            addrs in proptest::collection::vec(any::<u32>(), 0..20),
            pw in proptest::collection::vec(any::<u8>(), 0..12),
        ) {
            let addrs: Vec<Ipv4Addr> = addrs.into_iter().map(Ipv4Addr::from).collect();
            let version = if v3 { 3 } else { 2 };
            let spec = AdvertSpec {
                version, vrid, priority: prio, adver_int: int,
                password: if v3 { None } else { Some(&pw) }, addrs: &addrs,
            };
            let pkt = wrap_ipv4(&build(&spec, ME, VRRP_GROUP), ME, VRRP_GROUP, 255, 3);
            let a = parse(&pkt).unwrap();
            prop_assert_eq!(a.version, version);
            prop_assert_eq!(a.vrid, vrid);
            prop_assert_eq!(a.priority, prio);
            prop_assert_eq!(a.adver_int, int);
            prop_assert_eq!(a.addrs, addrs);
            if !v3 {
                prop_assert_eq!(a.auth_data, auth_data(&pw));
            }
        }
    }
}
