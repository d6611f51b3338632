//! IPv6 neighbour discovery (RFC 4861): the neighbour solicitation and advertisement
//! messages that replace ARP for IPv6 — what the director answers for its IPv6 VIPs and
//! sends to resolve real servers and gateways.
//!
//! Both are ICMPv6 messages (types 135 and 136) carrying a target address and options in
//! 8-byte units; rvs reads and writes the link-layer address options (1: source, 2:
//! target) and steps over the rest. The validity checks are RFC 4861 section 7.1: hop
//! limit 255 (the message cannot have crossed a router), code 0, target not multicast,
//! no zero-length option, and a solicitation from the unspecified address (duplicate
//! address detection) carries no source link-layer address.

use core::net::Ipv6Addr;

use super::ethernet::MacAddr;
use super::icmpv6::{self, Message};
use super::read_array;

/// Length of a solicitation or advertisement before its options.
pub const BODY_LEN: usize = 24;
/// Length of a link-layer address option for Ethernet.
pub const LLA_OPTION_LEN: usize = 8;
/// The hop limit every neighbour-discovery message is sent and must be received with.
pub const HOP_LIMIT: u8 = 255;

const OPTION_SOURCE_LLA: u8 = 1;
const OPTION_TARGET_LLA: u8 = 2;
const FLAG_ROUTER: u8 = 0x80;
const FLAG_SOLICITED: u8 = 0x40;
const FLAG_OVERRIDE: u8 = 0x20;

/// Why a neighbour-discovery message was refused, or could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum NdpError {
    /// Not a solicitation/advertisement (for the parser asked), or code not 0.
    #[error("not a neighbour solicitation/advertisement")]
    WrongType,
    /// Shorter than 24 bytes.
    #[error("neighbour discovery message truncated")]
    Truncated,
    /// Hop limit not 255: it came through a router.
    #[error("neighbour discovery hop limit is not 255")]
    BadHopLimit,
    /// Target is a multicast address.
    #[error("neighbour discovery target is multicast")]
    MulticastTarget,
    /// An option of length zero or running past the message.
    #[error("neighbour discovery option length invalid")]
    BadOption,
    /// Duplicate-address-detection solicitation with a source link-layer address.
    #[error("solicitation from :: carries a source link-layer address")]
    UnspecifiedWithLla,
    /// A buffer given to a builder is too small.
    #[error("buffer too small for the neighbour discovery message")]
    BufferTooSmall,
}

/// A validated neighbour solicitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Solicit {
    /// The address being resolved.
    pub target: Ipv6Addr,
    /// The solicitor's MAC, from its source link-layer address option.
    pub source_mac: Option<MacAddr>,
}

/// A validated neighbour advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Advert {
    /// The address advertised.
    pub target: Ipv6Addr,
    /// Its MAC, from the target link-layer address option.
    pub target_mac: Option<MacAddr>,
    /// R: the sender is a router.
    pub router: bool,
    /// S: the advertisement answers a solicitation.
    pub solicited: bool,
    /// O: the advertisement overrides a cached entry.
    pub override_flag: bool,
}

/// The solicited-node multicast address a solicitation for `target` is sent to
/// (ff02::1:ffXX:XXXX with the low 24 bits of `target`).
pub fn solicited_node(target: &Ipv6Addr) -> Ipv6Addr {
    let t = target.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(t[13]),
        u16::from_be_bytes([t[14], t[15]]),
    )
}

/// The Ethernet multicast address of an IPv6 multicast group (33:33 and the low 32 bits).
pub fn multicast_mac(group: &Ipv6Addr) -> MacAddr {
    let g = group.octets();
    MacAddr([0x33, 0x33, g[12], g[13], g[14], g[15]])
}

/// Checks the parts common to both messages and returns the target and the options.
fn check_common<'a>(
    message: &icmpv6::Packet<&'a [u8]>,
    kind: Message,
    hop_limit: u8,
) -> Result<(Ipv6Addr, &'a [u8]), NdpError> {
    if message.msg_type() != kind || message.code() != 0 {
        return Err(NdpError::WrongType);
    }
    if hop_limit != HOP_LIMIT {
        return Err(NdpError::BadHopLimit);
    }
    let buf: &'a [u8] = message.into_inner();
    if buf.len() < BODY_LEN {
        return Err(NdpError::Truncated);
    }
    let target = Ipv6Addr::from(read_array::<16>(buf, 8));
    if target.is_multicast() {
        return Err(NdpError::MulticastTarget);
    }
    Ok((target, &buf[BODY_LEN..]))
}

/// Finds the Ethernet link-layer address option of `kind`, validating every option's
/// length on the way.
fn find_lla(mut options: &[u8], kind: u8) -> Result<Option<MacAddr>, NdpError> {
    let mut found = None;
    while let [option_kind, units, ..] = *options {
        let len = usize::from(units) * 8;
        if len == 0 || len > options.len() {
            return Err(NdpError::BadOption);
        }
        if option_kind == kind && len == LLA_OPTION_LEN && found.is_none() {
            found = Some(MacAddr(read_array(options, 2)));
        }
        options = &options[len..];
    }
    if !options.is_empty() {
        return Err(NdpError::BadOption);
    }
    Ok(found)
}

/// Validates a neighbour solicitation received from `src` with `hop_limit` (the checksum
/// is the caller's to verify with [`icmpv6::Packet::verify_checksum`]).
pub fn parse_solicit(
    message: &icmpv6::Packet<&[u8]>,
    src: &Ipv6Addr,
    hop_limit: u8,
) -> Result<Solicit, NdpError> {
    let (target, options) = check_common(message, Message::NeighborSolicit, hop_limit)?;
    let source_mac = find_lla(options, OPTION_SOURCE_LLA)?;
    if src.is_unspecified() && source_mac.is_some() {
        return Err(NdpError::UnspecifiedWithLla);
    }
    Ok(Solicit { target, source_mac })
}

/// Validates a neighbour advertisement received with `hop_limit`.
pub fn parse_advert(message: &icmpv6::Packet<&[u8]>, hop_limit: u8) -> Result<Advert, NdpError> {
    let (target, options) = check_common(message, Message::NeighborAdvert, hop_limit)?;
    let flags = message.into_inner().get(4).copied().unwrap_or(0);
    Ok(Advert {
        target,
        target_mac: find_lla(options, OPTION_TARGET_LLA)?,
        router: flags & FLAG_ROUTER != 0,
        solicited: flags & FLAG_SOLICITED != 0,
        override_flag: flags & FLAG_OVERRIDE != 0,
    })
}

/// Writes an ICMPv6 message of `kind` with `flags`, `target` and one link-layer option.
fn emit(
    buf: &mut [u8],
    (kind, flags, option): (Message, u8, u8),
    target: &Ipv6Addr,
    mac: MacAddr,
    src: &Ipv6Addr,
    dst: &Ipv6Addr,
) -> Result<usize, NdpError> {
    let len = BODY_LEN + LLA_OPTION_LEN;
    let out = buf.get_mut(..len).ok_or(NdpError::BufferTooSmall)?;
    out.fill(0);
    out[0] = kind.into();
    out[4] = flags;
    out[8..24].copy_from_slice(&target.octets());
    out[24] = option;
    out[25] = 1;
    out[26..32].copy_from_slice(&mac.octets());
    icmpv6::Packet::new_unchecked(out).fill_checksum(src, dst);
    Ok(len)
}

/// Writes the advertisement answering a solicitation for one of our addresses: solicited
/// and override set, our MAC as target link-layer address. `src` is the target itself;
/// `dst` the solicitor (or ff02::1 when it asked from ::). Returns the ICMPv6 length.
pub fn emit_advert(
    buf: &mut [u8],
    target: &Ipv6Addr,
    our_mac: MacAddr,
    solicited: bool,
    src: &Ipv6Addr,
    dst: &Ipv6Addr,
) -> Result<usize, NdpError> {
    let flags = FLAG_OVERRIDE | if solicited { FLAG_SOLICITED } else { 0 };
    emit(
        buf,
        (Message::NeighborAdvert, flags, OPTION_TARGET_LLA),
        target,
        our_mac,
        src,
        dst,
    )
}

/// Writes a solicitation for `target` from `src` with our MAC as source link-layer
/// address; send it to [`solicited_node`]`(target)`. Returns the ICMPv6 length.
pub fn emit_solicit(
    buf: &mut [u8],
    target: &Ipv6Addr,
    our_mac: MacAddr,
    src: &Ipv6Addr,
) -> Result<usize, NdpError> {
    emit(
        buf,
        (Message::NeighborSolicit, 0, OPTION_SOURCE_LLA),
        target,
        our_mac,
        src,
        &solicited_node(target),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ipv6;
    use crate::wire::testutil::hex;
    use proptest::prelude::*;

    const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xaa]);

    // scapy: IPv6(src="2001:db8::10", dst="ff02::1:ff00:1", hlim=255)
    //        /ICMPv6ND_NS(tgt="2001:db8::1")/ICMPv6NDOptSrcLLAddr(lladdr="52:54:00:12:34:56")
    const NS: &str = include_str!("testdata/ipv6_ns.hex");
    // scapy: IPv6(src="2001:db8::1", dst="2001:db8::10", hlim=255)
    //        /ICMPv6ND_NA(tgt="2001:db8::1", R=0, S=1, O=1)
    //        /ICMPv6NDOptDstLLAddr(lladdr="02:00:00:00:00:aa")
    const NA: &str = include_str!("testdata/ipv6_na.hex");

    fn v6(text: &str) -> Ipv6Addr {
        text.parse().unwrap()
    }

    #[test]
    fn parse_captured_solicit_and_answer_it() {
        let bytes = hex(NS);
        let ip = ipv6::Packet::new_checked(&bytes[..]).unwrap();
        let message = icmpv6::Packet::new_checked(ip.payload()).unwrap();
        assert!(message.verify_checksum(&ip.src(), &ip.dst()));
        let ns = parse_solicit(&message, &ip.src(), ip.hop_limit()).unwrap();
        assert_eq!(ns.target, v6("2001:db8::1"));
        assert_eq!(
            ns.source_mac,
            Some(MacAddr([0x52, 0x54, 0, 0x12, 0x34, 0x56]))
        );
        assert_eq!(ip.dst(), solicited_node(&ns.target));
        assert_eq!(
            multicast_mac(&ip.dst()),
            MacAddr([0x33, 0x33, 0xff, 0, 0, 1])
        );

        let expected = hex(NA);
        let mut out = [0u8; 40];
        let n = emit_advert(&mut out, &ns.target, MAC, true, &ns.target, &ip.src()).unwrap();
        assert_eq!(&out[..n], &expected[40..]);
        let reply = icmpv6::Packet::new_checked(&out[..n]).unwrap();
        let na = parse_advert(&reply, 255).unwrap();
        assert_eq!(
            (na.target_mac, na.solicited, na.override_flag, na.router),
            (Some(MAC), true, true, false)
        );
    }

    #[test]
    fn solicit_builder_round_trip() {
        let mut out = [0u8; 32];
        let src = v6("2001:db8::1");
        let target = v6("2001:db8::abcd:1234");
        let n = emit_solicit(&mut out, &target, MAC, &src).unwrap();
        let message = icmpv6::Packet::new_checked(&out[..n]).unwrap();
        assert!(message.verify_checksum(&src, &v6("ff02::1:ffcd:1234")));
        let ns = parse_solicit(&message, &src, 255).unwrap();
        assert_eq!((ns.target, ns.source_mac), (target, Some(MAC)));
        assert_eq!(
            emit_solicit(&mut out[..31], &target, MAC, &src),
            Err(NdpError::BufferTooSmall)
        );
    }

    #[test]
    fn refusals() {
        let bytes = hex(NS);
        let icmp = &bytes[40..];
        let message = icmpv6::Packet::new_checked(icmp).unwrap();
        let src = v6("2001:db8::10");
        assert_eq!(
            parse_solicit(&message, &src, 254),
            Err(NdpError::BadHopLimit)
        );
        assert_eq!(parse_advert(&message, 255), Err(NdpError::WrongType));
        assert_eq!(
            parse_solicit(&message, &Ipv6Addr::UNSPECIFIED, 255),
            Err(NdpError::UnspecifiedWithLla)
        );
        let short = icmpv6::Packet::new_checked(&icmp[..20]).unwrap();
        assert_eq!(parse_solicit(&short, &src, 255), Err(NdpError::Truncated));
        let mut bad = icmp.to_vec();
        bad[25] = 0; // zero-length option
        let m = icmpv6::Packet::new_checked(&bad[..]).unwrap();
        assert_eq!(parse_solicit(&m, &src, 255), Err(NdpError::BadOption));
        let mut bad = icmp.to_vec();
        bad[25] = 2; // runs past the message
        let m = icmpv6::Packet::new_checked(&bad[..]).unwrap();
        assert_eq!(parse_solicit(&m, &src, 255), Err(NdpError::BadOption));
        let mut bad = icmp.to_vec();
        bad[8] = 0xff; // multicast target
        let m = icmpv6::Packet::new_checked(&bad[..]).unwrap();
        assert_eq!(parse_solicit(&m, &src, 255), Err(NdpError::MulticastTarget));
        // DAD: from :: without option is fine.
        let m = icmpv6::Packet::new_checked(&icmp[..24]).unwrap();
        assert_eq!(
            parse_solicit(&m, &Ipv6Addr::UNSPECIFIED, 255),
            Ok(Solicit {
                target: v6("2001:db8::1"),
                source_mac: None
            })
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 8..64),
                                           kind in prop_oneof![Just(135u8), Just(136u8)]) {
            let mut bytes = bytes;
            bytes[0] = kind;
            bytes[1] = 0;
            crate::wire::fuzz::ndp(&bytes);
        }
    }
}
