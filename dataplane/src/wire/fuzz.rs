//! Fuzz bodies: one function per parser that feeds arbitrary bytes through every checked
//! constructor, accessor and in-place rewrite, and asserts the invariants that must hold
//! whatever the input (rewrites of a verified packet leave it verified, builders never
//! write past what they report).
//!
//! They are plain functions so the same body runs three ways: under the proptests of each
//! protocol module (always, in `cargo test`), under the cargo-fuzz targets in `/fuzz`
//! (with a nightly toolchain), and by hand on a crashing input. A panic here is a bug in
//! `wire`. Rewrites work on a copy in a fixed stack buffer: fuzzing must not allocate
//! either, so the hot paths it exercises are the real ones.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ethernet::{EtherType, Frame};
use super::ip::IpProtocol;
use super::{arp, checksum, gre, gue, icmp, icmpv6, ipip, ipv4, ipv6, ndp, proxy, tcp, toa, udp};

/// Largest input the rewriting bodies copy; longer inputs are cut (the parsers themselves
/// still see the whole input).
const SCRATCH_LEN: usize = 2048;

/// Copies up to [`SCRATCH_LEN`] bytes of `data` into a stack buffer.
fn scratch(data: &[u8]) -> ([u8; SCRATCH_LEN], usize) {
    let mut buf = [0u8; SCRATCH_LEN];
    let len = data.len().min(SCRATCH_LEN);
    buf[..len].copy_from_slice(&data[..len]);
    (buf, len)
}

/// A whole Ethernet frame, dispatched by EtherType the way the worker classifies it.
pub fn frame(data: &[u8]) {
    let Ok(frame) = Frame::new_checked(data) else {
        return;
    };
    let _ = (
        frame.dst(),
        frame.src(),
        frame.ethertype(),
        frame.payload().len(),
    );
    let Ok(walk) = frame.walk_tags() else {
        return;
    };
    assert!(walk.payload_offset <= data.len());
    let _ = walk.vlan_id();
    let payload = &data[walk.payload_offset..];
    match walk.ethertype {
        EtherType::Arp => arp(payload),
        EtherType::Ipv4 => {
            ipv4(payload);
            if let Ok(ip) = ipv4::Packet::new_checked(payload) {
                match ip.protocol() {
                    IpProtocol::Icmp => icmp(ip.payload()),
                    IpProtocol::Tcp => tcp(ip.payload()),
                    IpProtocol::Udp => {
                        udp(ip.payload());
                        gue(ip.payload());
                    }
                    IpProtocol::Gre => gre(ip.payload()),
                    IpProtocol::IpIp | IpProtocol::Ipv6 => ipip(payload),
                    _ => {}
                }
            }
        }
        EtherType::Ipv6 => {
            ipv6(payload);
            if let Ok(ip) = ipv6::Packet::new_checked(payload)
                && let Ok(upper) = ip.upper_layer()
            {
                let l4 = payload.get(upper.offset..ipv6::HEADER_LEN + ip.payload().len());
                match (upper.protocol, l4) {
                    (IpProtocol::Icmpv6, Some(l4)) => {
                        icmpv6(l4);
                        ndp(l4);
                    }
                    (IpProtocol::Tcp, Some(l4)) => tcp(l4),
                    (IpProtocol::Udp, Some(l4)) => udp(l4),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    let (mut buf, len) = scratch(data);
    if let Ok(mut frame) = Frame::new_checked(&mut buf[..len]) {
        frame.swap_addresses();
        let _ = frame.set_vlan_id(0, 7);
    }
}

/// An ARP packet (Ethernet payload).
pub fn arp(data: &[u8]) {
    let Ok(packet) = arp::Packet::new_checked(data) else {
        return;
    };
    let repr = arp::Repr::parse(&packet);
    let _ = packet.is_gratuitous();
    let mut out = [0u8; arp::PACKET_LEN];
    assert_eq!(repr.emit(&mut out), Ok(arp::PACKET_LEN));
    assert_eq!(&out[..], &data[..arp::PACKET_LEN]);
    let (mut buf, len) = scratch(data);
    if let Ok(mut packet) = arp::Packet::new_checked(&mut buf[..len])
        && packet
            .turn_into_reply(super::MacAddr([2, 0, 0, 0, 0, 1]))
            .is_ok()
    {
        assert_eq!(packet.operation(), arp::Operation::Reply);
        assert_eq!(packet.target_ip(), repr.sender_ip);
    }
}

/// An IPv4 packet through every constructor, accessor and checksum-keeping setter.
pub fn ipv4(data: &[u8]) {
    for packet in [
        ipv4::Packet::new_checked(data),
        ipv4::Packet::new_checked_without_checksum(data),
        ipv4::Packet::new_embedded(data),
    ]
    .into_iter()
    .flatten()
    {
        let _ = (
            packet.version(),
            packet.dscp(),
            packet.ecn(),
            packet.ident(),
            packet.dont_frag(),
            packet.more_frags(),
            packet.fragment_offset(),
            packet.is_fragment(),
            packet.ttl(),
            packet.protocol(),
            packet.src(),
            packet.dst(),
            packet.verify_checksum(),
        );
        assert!(packet.header_len() >= ipv4::HEADER_LEN);
        assert!(packet.payload().len() <= data.len() - packet.header_len());
        for option in packet.options_iter() {
            let _ = option;
        }
        let _ = ipv4::Repr::parse(&packet);
    }

    let (mut buf, len) = scratch(data);
    let Ok(mut packet) = ipv4::Packet::new_checked(&mut buf[..len]) else {
        return;
    };
    packet.set_src(Ipv4Addr::new(10, 0, 0, 1));
    packet.set_dst(Ipv4Addr::new(255, 255, 255, 255));
    let _ = packet.dec_ttl();
    packet.set_tos(0xb8);
    packet.set_ident(0);
    packet.set_dont_frag(true);
    packet.swap_addresses();
    assert!(
        packet.verify_checksum(),
        "incremental update broke the header checksum"
    );
    let incremental = packet.checksum();
    packet.fill_checksum();
    assert_eq!(packet.checksum(), incremental);
    let _ = packet.payload_mut().len();
}

/// An ICMP message (IPv4 payload), its quoted packet, the echo turnaround and the error
/// builders fed with the input as the offending packet.
pub fn icmp(data: &[u8]) {
    if let Ok(packet) = icmp::Packet::new_checked(data) {
        let _ = (
            packet.msg_type(),
            packet.code(),
            packet.echo_ident(),
            packet.echo_seq(),
            packet.next_hop_mtu(),
            packet.data().len(),
        );
        if let Ok(inner) = packet.embedded_ipv4() {
            let _ = (
                inner.src(),
                inner.dst(),
                inner.protocol(),
                inner.payload().len(),
            );
            assert_eq!(
                packet.embedded_l4().map(<[u8]>::len),
                Ok(icmp::QUOTED_L4_LEN)
            );
        }
    }
    // Rewrites on a copy (re-checked: the copy may be cut short of a long input).
    let (mut buf, len) = scratch(data);
    if let Ok(mut packet) = icmp::Packet::new_checked(&mut buf[..len]) {
        if packet.echo_request_to_reply().is_ok() {
            assert!(
                packet.verify_checksum(),
                "echo turnaround broke the ICMP checksum"
            );
        }
        if let Ok(mut inner) = packet.embedded_ipv4_mut() {
            inner.set_src(Ipv4Addr::new(1, 2, 3, 4));
        }
        if packet.embedded_l4_mut().is_ok() {
            packet.fill_checksum();
            assert!(packet.verify_checksum());
        }
    }

    // The input as a whole IPv4 packet that may be an echo request.
    let (mut buf, len) = scratch(data);
    if let Ok(total) = icmp::reply_to_echo_in_place(&mut buf[..len]) {
        let ip = ipv4::Packet::new_checked(&buf[..total]);
        assert!(ip.is_ok(), "echo turnaround broke the IPv4 header");
        if let Ok(ip) = ip {
            assert!(checksum::verify(ip.payload()), "echo turnaround broke ICMP");
        }
    }

    // The input as the offending packet of an error we send.
    let _ = icmp::error_allowed_for(data);
    let mut out = [0u8; 600];
    for message in [
        icmp::ErrorMessage::FragNeeded { next_hop_mtu: 1400 },
        icmp::ErrorMessage::TimeExceeded(0),
    ] {
        if let Ok(n) = icmp::emit_error_packet(&mut out, Ipv4Addr::LOCALHOST, 1, message, data) {
            assert!(n <= 576);
            let ip = ipv4::Packet::new_checked(&out[..n]);
            assert!(ip.is_ok());
            if let Ok(ip) = ip {
                assert!(icmp::Packet::new_checked(ip.payload()).is_ok());
            }
        }
    }
}

/// An IPv6 packet: accessors, the extension-header walk, and setters on a copy.
pub fn ipv6(data: &[u8]) {
    for packet in [
        ipv6::Packet::new_checked(data),
        ipv6::Packet::new_embedded(data),
    ]
    .into_iter()
    .flatten()
    {
        let _ = (
            packet.version(),
            packet.traffic_class(),
            packet.flow_label(),
            packet.next_header(),
            packet.hop_limit(),
            packet.src(),
            packet.dst(),
        );
        assert!(packet.payload().len() <= data.len() - ipv6::HEADER_LEN);
        if let Ok(upper) = packet.upper_layer() {
            assert!(upper.offset <= ipv6::HEADER_LEN + packet.payload().len());
            assert!(upper.extension_count <= ipv6::MAX_EXTENSION_HEADERS);
        }
        let _ = ipv6::Repr::parse(&packet);
    }
    let (mut buf, len) = scratch(data);
    if let Ok(mut packet) = ipv6::Packet::new_checked(&mut buf[..len]) {
        packet.swap_addresses();
        let _ = packet.dec_hop_limit();
        packet.set_traffic_class(0xff);
        packet.set_flow_label(u32::MAX);
        assert_eq!(packet.version(), 6);
        let _ = packet.payload_mut().len();
    }
}

/// A TCP segment: accessors, options, checksum-keeping rewrites, MSS clamping and option
/// insertion with room after it.
pub fn tcp(data: &[u8]) {
    const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
    let Ok(packet) = tcp::Packet::new_checked(data) else {
        return;
    };
    let _ = (
        packet.src_port(),
        packet.dst_port(),
        packet.seq(),
        packet.ack(),
        packet.flags(),
        packet.window(),
        packet.urgent(),
        packet.payload().len(),
        packet.mss(),
    );
    for option in packet.options_iter() {
        if let Ok(tcp::TcpOption::Sack(blocks)) = option {
            assert!(blocks.count() <= 4);
        }
    }
    if data.len() > SCRATCH_LEN / 2 {
        return;
    }
    // Rewrites on a copy whose checksum was made valid first, so validity must survive.
    let (mut buf, len) = scratch(data);
    {
        let mut packet = tcp::Packet::new_unchecked(&mut buf[..len]);
        packet.fill_checksum_v4(SRC, DST);
        packet.set_ports(1, 2);
        packet.set_seq(3);
        packet.set_ack(4);
        packet.set_window(5);
        packet.set_flags(tcp::Flags::SYN);
        packet.adjust_checksum_for_ipv4_change(SRC, Ipv4Addr::LOCALHOST);
        let _ = packet.clamp_mss(536);
        assert!(packet.verify_checksum_v4(Ipv4Addr::LOCALHOST, DST));
    }
    let toa = toa::Toa {
        port: 9,
        addr: IpAddr::V6(Ipv6Addr::LOCALHOST),
    };
    let (option, option_len) = toa.to_bytes();
    let before_header = tcp::Packet::new_unchecked(&buf[..len]).header_len();
    if let Ok(new_len) = tcp::insert_option(&mut buf[..len + 24], len, &option[..option_len]) {
        assert_eq!(new_len, len + 20);
        let packet = tcp::Packet::new_checked(&buf[..new_len]);
        assert!(packet.is_ok(), "insertion broke the header");
        if let Ok(packet) = packet {
            assert_eq!(packet.header_len(), before_header + 20);
            assert!(
                packet.verify_checksum_v4(Ipv4Addr::LOCALHOST, DST),
                "insertion broke the checksum"
            );
        }
    }
}

/// A UDP datagram, its checksums and port rewrites.
pub fn udp(data: &[u8]) {
    let Ok(packet) = udp::Packet::new_checked(data) else {
        return;
    };
    let _ = (packet.src_port(), packet.dst_port(), packet.payload().len());
    let _ = packet.verify_checksum_v4(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST);
    let _ = packet.verify_checksum_v6(&Ipv6Addr::LOCALHOST, &Ipv6Addr::LOCALHOST);
    let (mut buf, len) = scratch(data);
    if let Ok(mut packet) = udp::Packet::new_checked(&mut buf[..len]) {
        packet.fill_checksum_v6(&Ipv6Addr::LOCALHOST, &Ipv6Addr::UNSPECIFIED);
        packet.set_src_port(7);
        packet.set_dst_port(8);
        packet.adjust_checksum_for_ipv6_change(&Ipv6Addr::LOCALHOST, &Ipv6Addr::UNSPECIFIED);
        assert_ne!(packet.checksum(), 0);
        assert!(packet.verify_checksum_v6(&Ipv6Addr::UNSPECIFIED, &Ipv6Addr::UNSPECIFIED));
    }
}

/// An ICMPv6 message, its quoted packet, the echo turnaround and the error builder.
pub fn icmpv6(data: &[u8]) {
    if let Ok(packet) = icmpv6::Packet::new_checked(data) {
        let _ = (
            packet.msg_type(),
            packet.code(),
            packet.echo_ident(),
            packet.echo_seq(),
            packet.mtu(),
            packet.data().len(),
            packet.verify_checksum(&Ipv6Addr::LOCALHOST, &Ipv6Addr::LOCALHOST),
        );
        if let Ok((_, l4)) = packet.embedded_upper_layer() {
            assert_eq!(l4.len(), icmpv6::QUOTED_L4_LEN);
        }
    }
    let (mut buf, len) = scratch(data);
    if let Ok(total) = icmpv6::reply_to_echo_in_place(&mut buf[..len]) {
        let ip = ipv6::Packet::new_checked(&buf[..total]);
        assert!(ip.is_ok());
        if let Ok(ip) = ip {
            let reply = icmpv6::Packet::new_checked(ip.payload());
            assert!(reply.is_ok_and(|r| r.verify_checksum(&ip.src(), &ip.dst())));
        }
    }
    let mut out = [0u8; 1400];
    if let Ok(n) = icmpv6::emit_error_packet(
        &mut out,
        &Ipv6Addr::LOCALHOST,
        icmpv6::ErrorMessage::PacketTooBig { mtu: 1280 },
        data,
    ) {
        assert!(n <= ipv6::MIN_MTU);
        let ip = ipv6::Packet::new_checked(&out[..n]);
        assert!(ip.is_ok_and(|ip| {
            icmpv6::Packet::new_checked(ip.payload())
                .is_ok_and(|m| m.verify_checksum(&ip.src(), &ip.dst()))
        }));
    }
}

/// A neighbour solicitation or advertisement (ICMPv6 message).
pub fn ndp(data: &[u8]) {
    let Ok(message) = icmpv6::Packet::new_checked(data) else {
        return;
    };
    for src in [Ipv6Addr::UNSPECIFIED, Ipv6Addr::LOCALHOST] {
        if let Ok(solicit) = ndp::parse_solicit(&message, &src, ndp::HOP_LIMIT) {
            let mut out = [0u8; 32];
            let mac = solicit.source_mac.unwrap_or(super::MacAddr::ZERO);
            let n = ndp::emit_advert(&mut out, &solicit.target, mac, true, &solicit.target, &src);
            assert_eq!(n, Ok(32));
            let advert = icmpv6::Packet::new_checked(&out[..]);
            assert!(advert.is_ok_and(|a| {
                ndp::parse_advert(&a, ndp::HOP_LIMIT)
                    .is_ok_and(|na| na.target == solicit.target && na.target_mac == Some(mac))
            }));
        }
    }
    let _ = ndp::parse_advert(&message, ndp::HOP_LIMIT);
}

/// A GRE packet, and a rebuild of its header that must parse to the same fields.
pub fn gre(data: &[u8]) {
    let Ok(packet) = gre::Packet::new_checked(data) else {
        return;
    };
    let repr = gre::Repr::parse(&packet);
    let _ = (packet.checksum(), packet.payload().len());
    let (mut buf, len) = scratch(data);
    if len == data.len() {
        assert_eq!(repr.emit(&mut buf[..len]), Ok(repr.header_len()));
        gre::fill_checksum(&mut buf[..len]);
        let again = gre::Packet::new_checked(&buf[..len]);
        assert!(again.is_ok_and(|p| gre::Repr::parse(&p) == repr));
    }
}

/// A UDP datagram or bare payload as GUE.
pub fn gue(data: &[u8]) {
    for packet in [gue::parse_udp(data), gue::Packet::new_checked(data)]
        .into_iter()
        .flatten()
    {
        let _ = (
            packet.variant(),
            packet.is_control(),
            packet.protocol(),
            packet.flags(),
            packet.extensions().len(),
        );
        assert!(packet.header_len() + packet.payload().len() <= data.len());
    }
}

/// An IPv4 or IPv6 packet as an IPIP tunnel.
pub fn ipip(data: &[u8]) {
    for inner in [ipip::decapsulate_ipv4(data), ipip::decapsulate_ipv6(data)]
        .into_iter()
        .flatten()
    {
        match inner {
            ipip::Inner::Ipv4(p) => {
                let _ = (p.src(), p.dst(), p.payload().len());
            }
            ipip::Inner::Ipv6(p) => {
                let _ = (p.src(), p.dst(), p.upper_layer());
            }
        }
    }
}

/// A PROXY v2 header, and a rebuild that must parse to the same header.
pub fn proxy(data: &[u8]) {
    if let Ok((header, used)) = proxy::Header::parse(data) {
        assert!(used <= data.len());
        let mut out = [0u8; proxy::MAX_LEN];
        if let Ok(n) = header.emit(&mut out) {
            assert_eq!(proxy::Header::parse(&out[..n]), Ok((header, n)));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::wire::testutil::hex;
    use proptest::prelude::*;

    /// Real frames (scapy), the seeds a mutation starts from: random bytes alone rarely get
    /// past a checksum, mutated real frames reach the deep paths.
    const SEEDS: [&str; 5] = [
        // Ether/Dot1Q(vlan=100)/IP/ICMP echo request
        "020000000002020000000001 8100 a064 0800
         4500001c00010000400166de0a0000010a0000020800f7ff00000000",
        // Ether/ARP who-has
        "ffffffffffff525400123456 0806
         00010800060400015254001234560a0000010000000000000a000002",
        // Ether/IP/ICMP frag-needed quoting IP/TCP
        "020000000002020000000001 0800
         450000380000000040017cb9cb007101c000020a0304570b00000578
         450005dc123440003f063796c000020ac63364149c400050000003e8",
        // Ether/IP/ICMP echo request with data
        "020000000002020000000001 0800
         4500002400010000400166d60a0000010a00000208002421424200076162636465666768",
        // Ether/IP(options)/UDP
        "020000000002020000000001 0800
         47000024000700000111356ac000020ac633641494040000010101010001000200081389",
    ];

    /// Re-seals IPv4 and ICMP checksums of an untagged or single-tagged frame so mutations
    /// beyond the checksums get exercised too.
    fn reseal(frame: &mut [u8]) {
        let at = if frame.get(12..14) == Some(&[0x81, 0x00]) {
            18
        } else {
            14
        };
        let Some(ip) = frame.get_mut(at..) else {
            return;
        };
        let Ok(mut packet) = crate::wire::ipv4::Packet::new_checked_without_checksum(&mut *ip)
        else {
            return;
        };
        packet.fill_checksum();
        if packet.protocol() == crate::wire::IpProtocol::Icmp && packet.payload().len() >= 8 {
            crate::wire::icmp::Packet::new_unchecked(packet.payload_mut()).fill_checksum();
        }
    }

    proptest! {
        #[test]
        fn mutated_captures_never_panic(
            seed in 0..SEEDS.len(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
            cut in any::<prop::sample::Index>(),
            truncate in any::<bool>(),
            fix in any::<bool>(),
        ) {
            let mut bytes = hex(SEEDS[seed]);
            for (at, value) in edits {
                let i = at.index(bytes.len());
                bytes[i] = value;
            }
            if truncate {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            if fix {
                reseal(&mut bytes);
            }
            super::frame(&bytes);
            for start in [14usize, 18] {
                if let Some(rest) = bytes.get(start..) {
                    super::ipv4(rest);
                    super::icmp(rest);
                    if let Some(l4) = rest.get(20..) {
                        super::icmp(l4);
                    }
                }
            }
        }
    }
}
