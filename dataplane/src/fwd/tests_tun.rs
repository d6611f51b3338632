//! TUN forwarding in a real worker: IPIP, GRE and GUE byte for byte (expected frames built
//! with scapy), the MTU with and without DF, neighbour resolution, refusals, and a
//! cross-check of the frames by tshark and scapy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::BufWriter;
use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use super::tests::{
    CLIENT, D_IP, D_MAC, R_MAC, RS1, RS1_MAC, Rig, VIP, dest, forwarded, service, snapshot,
};
use super::tun::{self, Encap, GUE_SPORT_MAX, GUE_SPORT_MIN};
use super::{ForwardStage, FwdConfig, NeighSync};
use crate::conn::{FwdMethod, Proto, TunnelKind};
use crate::neigh::RouteTableV4;
use crate::neigh::route::v4_route;
use crate::port::pcap::PcapBuf;
use crate::sched::SchedulerKind;
use crate::stats::DropReason;
use crate::testutil::{L2L3, arp_frame, tcp_frame, udp_frame};
use crate::wire::icmp::{self, Message};
use crate::wire::ip::IpProtocol;
use crate::wire::testutil::hex;
use crate::wire::{gre, gue, ipv4, udp};
use crate::worker::{PortView, ServiceConf, Snapshot, TunnelConf};

const SYN: u16 = 0x02;
const ACK: u16 = 0x10;
const PSH: u16 = 0x08;
/// DSCP 46 (EF) with ECN CE: the outer header must carry EF with ECT(0).
const INNER_TOS: u8 = 0xbb;
const GUE_PORT: u16 = 6080;

// The frames Linux IPVS sends for the SYN below (scapy 2.5, see each constant), to rs1's
// MAC from the director's: the SYN arrives with TTL 63 and is forwarded with TTL 62
// (`decrement_ttl`), the outer header copies that TTL 62; DF, id 0, TOS 0xba, source
// 10.0.0.2.
//   inner = IP(src="10.9.0.2", dst="10.0.0.100", ttl=62, flags="DF", id=1, tos=0xbb)
//           /TCP(sport=40000, dport=80, flags="S", seq=100, window=64240)
//   eth   = Ether(dst="02:00:00:00:00:0b", src="02:00:00:00:00:02")
//   outer = IP(src="10.0.0.2", dst="10.0.0.11", ttl=62, flags="DF", id=0, tos=0xba, proto=P)
// eth/outer(4)/inner
const IPIP_SYN: &str = "02000000000b 020000000002 0800
    45ba003c 00004000 3e0427f8 0a000002 0a00000b
    45bb0028000140003e0627a60a0900020a0000649c40005000000064000000005002faf0038f0000";
// eth/outer(47)/GRE(chksum_present=1, proto=0x0800)/inner
const GRE_CSUM_SYN: &str = "02000000000b 020000000002 0800
    45ba0044 00004000 3e2f27c5 0a000002 0a00000b
    80000800 8c880000
    45bb0028000140003e0627a60a0900020a0000649c40005000000064000000005002faf0038f0000";
// eth/outer(17)/UDP(sport=51415, dport=6080)/Raw(b"\x00\x04\x00\x00")/inner
const GUE_CSUM_SYN: &str = "02000000000b 020000000002 0800
    45ba0048 00004000 3e1127df 0a000002 0a00000b
    c8d717c0 00341f67 00040000
    45bb0028000140003e0627a60a0900020a0000649c40005000000064000000005002faf0038f0000";

fn tun_service(kind: Option<TunnelKind>, port: u16, csum: bool) -> ServiceConf {
    let mut d = dest(10, RS1, 80, 1, FwdMethod::Tun);
    d.tunnel = TunnelConf { kind, port, csum };
    service(1, Proto::Tcp, 80, SchedulerKind::Rr, vec![d])
}

fn tun_snapshot(kind: Option<TunnelKind>, port: u16, csum: bool, mtu: u16) -> Snapshot {
    let mut s = snapshot(1, vec![tun_service(kind, port, csum)], true);
    s.ports[0].mtu = mtu;
    s
}

fn rig(kind: Option<TunnelKind>, csum: bool) -> Rig {
    Rig::new(tun_snapshot(kind, GUE_PORT, csum, 1500))
}

fn client(df: bool) -> L2L3 {
    L2L3 {
        src_mac: R_MAC,
        dst_mac: D_MAC,
        src: CLIENT,
        dst: VIP,
        ttl: 63,
        df,
    }
}

/// Sets the inner TOS, keeping the header checksum right.
fn with_tos(mut frame: Vec<u8>, tos: u8) -> Vec<u8> {
    ipv4::Packet::new_checked(&mut frame[14..])
        .unwrap()
        .set_tos(tos);
    frame
}

fn syn(sport: u16) -> Vec<u8> {
    with_tos(
        tcp_frame(&client(true), sport, 80, SYN, 100, 0, b""),
        INNER_TOS,
    )
}

/// A TCP data segment whose IPv4 packet is `total` bytes long.
fn data_of_len(total: usize, df: bool) -> Vec<u8> {
    let payload: Vec<u8> = (0..total - 40).map(|i| (i % 251) as u8).collect();
    tcp_frame(&client(df), 40000, 80, ACK | PSH, 101, 1, &payload)
}

/// The outer header, the shim bytes and the inner packet of an encapsulated frame, every
/// outer checksum verified.
struct Decap {
    outer: ipv4::Repr,
    shim: Vec<u8>,
    inner: Vec<u8>,
}

fn decap(frame: &[u8]) -> Decap {
    let ip = ipv4::Packet::new_checked(&frame[14..]).expect("outer header checksum");
    assert_eq!(usize::from(ip.total_len()), frame.len() - 14, "no padding");
    let outer = ipv4::Repr::parse(&ip);
    let payload = ip.payload();
    let shim_len = match ip.protocol() {
        IpProtocol::IpIp => 0,
        IpProtocol::Gre => gre::Packet::new_checked(payload)
            .expect("GRE header and checksum")
            .header_len(),
        IpProtocol::Udp => {
            let u = udp::Packet::new_checked(payload).unwrap();
            assert!(u.verify_checksum_v4(ip.src(), ip.dst()), "UDP checksum");
            assert_eq!(usize::from(u.len()), payload.len());
            let g = gue::parse_udp(payload).unwrap();
            assert_eq!(g.protocol(), IpProtocol::IpIp);
            udp::HEADER_LEN + g.header_len()
        }
        p => panic!("not a tunnel: {p:?}"),
    };
    Decap {
        outer,
        shim: payload[..shim_len].to_vec(),
        inner: payload[shim_len..].to_vec(),
    }
}

#[test]
fn overheads_are_those_ipvs_subtracts() {
    let e = |kind, csum| {
        Encap::new(
            kind,
            &TunnelConf {
                kind: None,
                port: 1,
                csum,
            },
        )
        .overhead()
    };
    assert_eq!(e(TunnelKind::Ipip, true), 20);
    assert_eq!(e(TunnelKind::Gre, false), 24);
    assert_eq!(e(TunnelKind::Gre, true), 28);
    assert_eq!(e(TunnelKind::Gue, false), 32);
    assert_eq!(e(TunnelKind::Gue, true), 32);
}

#[test]
fn outer_tos_copies_dscp_and_ecn_but_not_congestion() {
    assert_eq!(tun::outer_tos(0xb8), 0xb8);
    assert_eq!(tun::outer_tos(0xb9), 0xb9); // ECT(1)
    assert_eq!(tun::outer_tos(0xba), 0xba); // ECT(0)
    assert_eq!(tun::outer_tos(0xbb), 0xba); // CE -> ECT(0)
    assert_eq!(tun::outer_tos(0x03), 0x02);
}

#[test]
fn gue_source_ports_are_stable_in_range_and_spread() {
    let vip = (VIP, 80);
    let mut distinct = std::collections::HashSet::new();
    for p in 1000..3000u16 {
        let s = tun::gue_source_port(Proto::Tcp, (CLIENT, p), vip);
        assert!((GUE_SPORT_MIN..GUE_SPORT_MAX).contains(&s), "{s}");
        assert_eq!(s, tun::gue_source_port(Proto::Tcp, (CLIENT, p), vip));
        distinct.insert(s);
    }
    // 2000 flows over ~28000 ports: a uniform hash leaves few collisions.
    assert!(distinct.len() > 1900, "{}", distinct.len());
    assert_ne!(
        tun::gue_source_port(Proto::Tcp, (CLIENT, 1000), vip),
        tun::gue_source_port(Proto::Udp, (CLIENT, 1000), vip)
    );
}

#[test]
fn identifications_count_per_worker_from_its_own_share() {
    let ids = |worker: u16, workers: u16| {
        let (_tx, rx) = crossbeam_channel::unbounded();
        let mut stage: ForwardStage<PcapBuf> = ForwardStage::new(
            FwdConfig::new(worker, workers),
            std::sync::Arc::new(crate::stats::SlotTable::new(1)),
            rx,
            NeighSync::solo(),
        )
        .unwrap();
        (0..3).map(|_| stage.next_ident()).collect::<Vec<_>>()
    };
    assert_eq!(ids(0, 1), vec![0, 1, 2]);
    assert_eq!(ids(1, 4), vec![16384, 16385, 16386]);
    assert_eq!(ids(2, 3), vec![43690, 43691, 43692]);
}

#[test]
fn ipip_is_the_default_byte_for_byte() {
    let mut rig = rig(None, false);
    let out = rig.send(syn(40000));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0], hex(IPIP_SYN));
    // A second packet of the connection: same tunnel, inner packet as forwarded (TTL - 1).
    let data = tcp_frame(
        &client(true),
        40000,
        80,
        ACK | PSH,
        101,
        1,
        b"GET / HTTP/1.0\r\n\r\n",
    );
    let out = rig.send(data.clone());
    assert_eq!(out.len(), 1);
    assert_eq!(&out[0][..14], &hex(IPIP_SYN)[..14]);
    let d = decap(&out[0]);
    assert_eq!(d.inner, &forwarded(&data)[14..]);
    // The outer TTL is the inner one after the decrement.
    assert_eq!(
        (d.outer.src, d.outer.dst, d.outer.protocol, d.outer.ttl),
        (D_IP, RS1, IpProtocol::IpIp, 62)
    );
    assert_eq!(
        (d.outer.tos, d.outer.dont_frag, d.outer.ident),
        (0, true, 0)
    );
    let c = rig.slots.get(10).unwrap().read();
    assert_eq!((c.conns, c.inpkts), (1, 2));
    assert_eq!(rig.worker.stage().conns().len(), 1);
}

#[test]
fn gre_with_checksum_byte_for_byte_and_without() {
    let mut rig = rig(Some(TunnelKind::Gre), true);
    let out = rig.send(syn(40000));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0], hex(GRE_CSUM_SYN));
    let data = tcp_frame(&client(true), 40000, 80, ACK, 101, 1, b"x");
    let d = decap(&rig.send(data.clone())[0]);
    assert_eq!(d.shim[..4], [0x80, 0, 0x08, 0x00]);
    assert_eq!(d.inner, &forwarded(&data)[14..]);

    let mut rig = self::rig(Some(TunnelKind::Gre), false);
    let out = rig.send(syn(40000));
    let d = decap(&out[0]);
    assert_eq!(d.shim, [0, 0, 0x08, 0x00]);
    assert_eq!(d.outer.protocol, IpProtocol::Gre);
    assert_eq!(d.outer.payload_len, 4 + 40);
    assert_eq!(d.inner, &forwarded(&syn(40000))[14..]);
}

#[test]
fn gue_with_udp_checksum_byte_for_byte_and_without() {
    let mut rig = rig(Some(TunnelKind::Gue), true);
    let out = rig.send(syn(40000));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0], hex(GUE_CSUM_SYN));
    // The flow keeps its source port.
    let data = tcp_frame(&client(true), 40000, 80, ACK, 101, 1, b"more");
    let d = decap(&rig.send(data.clone())[0]);
    assert_eq!(d.shim[..4], hex(GUE_CSUM_SYN)[34..38]);
    assert_eq!(d.inner, &forwarded(&data)[14..]);

    let mut rig = self::rig(Some(TunnelKind::Gue), false);
    let out = rig.send(syn(40001));
    let d = decap(&out[0]);
    let u = udp::Packet::new_checked(&out[0][34..]).unwrap();
    assert_eq!(u.checksum(), 0);
    assert_eq!(u.dst_port(), GUE_PORT);
    assert_eq!(
        u.src_port(),
        tun::gue_source_port(Proto::Tcp, (CLIENT, 40001), (VIP, 80))
    );
    assert_eq!(d.shim[8..], [0, 4, 0, 0]);
    assert_eq!(d.inner, &forwarded(&syn(40001))[14..]);
}

#[test]
fn udp_services_tunnel_too() {
    let mut d = dest(10, RS1, 53, 1, FwdMethod::Tun);
    d.tunnel = TunnelConf {
        kind: Some(TunnelKind::Gue),
        port: GUE_PORT,
        csum: true,
    };
    let svc = service(1, Proto::Udp, 53, SchedulerKind::Rr, vec![d]);
    let mut rig = Rig::new(snapshot(1, vec![svc], true));
    let q = udp_frame(&client(false), 5353, 53, b"query");
    let out = rig.send(q.clone());
    let d = decap(&out[0]);
    assert_eq!(d.inner, &forwarded(&q)[14..]);
    assert_eq!(d.outer.ttl, 62);
    assert!(!d.outer.dont_frag);
    assert_eq!(
        udp::Packet::new_checked(&out[0][34..]).unwrap().src_port(),
        tun::gue_source_port(Proto::Udp, (CLIENT, 5353), (VIP, 53))
    );
}

/// The checks every ICMP fragmentation-needed answer to `original` (as the client sent it)
/// must pass.
fn assert_frag_needed(frame: &[u8], original: &[u8], mtu: u16) {
    assert_eq!((&frame[0..6], &frame[6..12]), (&R_MAC[..], &D_MAC[..]));
    let ip = ipv4::Packet::new_checked(&frame[14..]).expect("IPv4 checksum");
    assert_eq!((ip.src(), ip.dst()), (VIP, CLIENT));
    assert_eq!(ip.protocol(), IpProtocol::Icmp);
    assert_eq!(usize::from(ip.total_len()), frame.len() - 14);
    let m = icmp::Packet::new_checked(ip.payload()).expect("ICMP checksum");
    assert_eq!((m.msg_type(), m.code()), (Message::DestUnreachable, 4));
    assert_eq!(m.next_hop_mtu(), mtu);
    // The packet as the director was forwarding it (TTL - 1: IPVS checks the MTU after
    // `decrement_ttl`) from its IPv4 header on, as much as fits in 576 bytes.
    let forwarded = forwarded(original);
    let quoted = &forwarded[14..];
    let want = &quoted[..quoted.len().min(icmp::MAX_QUOTE_LEN)];
    assert_eq!(m.data(), want);
    assert!(ip.total_len() <= 576);
}

#[test]
fn df_set_and_too_big_is_answered_with_fragmentation_needed() {
    for (kind, usable) in [
        (None, 980u16),
        (Some(TunnelKind::Gre), 972),
        (Some(TunnelKind::Gue), 968),
    ] {
        let mut rig = Rig::new(tun_snapshot(kind, GUE_PORT, true, 1000));
        assert_eq!(rig.send(syn(40000)).len(), 1);
        // Exactly the usable MTU: one unfragmented packet of exactly the port MTU.
        let fits = data_of_len(usize::from(usable), true);
        let out = rig.send(fits.clone());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].len(), 14 + 1000);
        assert_eq!(decap(&out[0]).inner, &forwarded(&fits)[14..]);
        // One byte more: ICMP back to the client through the router, from the VIP.
        let big = data_of_len(usize::from(usable) + 1, true);
        let out = rig.send(big.clone());
        assert_eq!(out.len(), 1, "{kind:?}");
        assert_frag_needed(&out[0], &big, usable);
        assert_eq!(rig.drops(DropReason::TunFragNeeded), 1);
        // A short quote: the whole packet when it is under 548 bytes.
        let mut small_mtu = tun_snapshot(kind, GUE_PORT, true, 400);
        small_mtu.generation = 2;
        rig.updates.send(Arc::new(small_mtu)).unwrap();
        let mid = data_of_len(500, true);
        let out = rig.send(mid.clone());
        assert_frag_needed(&out[0], &mid, 400 - (1000 - usable));
        assert_eq!(rig.drops(DropReason::TunFragNeeded), 2);
    }
}

/// Reassembles the fragments of one IPv4 datagram (Ethernet frames, any order) as a
/// receiver would (RFC 791): same identification, source, destination and protocol,
/// offsets contiguous from 0, MF on all but the last. Returns the datagram with a
/// reassembled header (flags and offset clear, total length, checksum recomputed).
fn reassemble(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut parts: Vec<(usize, bool, Vec<u8>)> = Vec::new();
    let first = ipv4::Packet::new_checked(&frames[0][14..]).unwrap();
    let key = (first.ident(), first.src(), first.dst(), first.protocol());
    let header = frames[0][14..34].to_vec();
    for f in frames {
        let p = ipv4::Packet::new_checked(&f[14..]).expect("fragment header checksum");
        assert_eq!((p.ident(), p.src(), p.dst(), p.protocol()), key);
        assert!(!p.dont_frag());
        assert_eq!(p.header_len(), 20);
        assert_eq!(usize::from(p.total_len()), f.len() - 14);
        parts.push((
            usize::from(p.fragment_offset()),
            p.more_frags(),
            p.payload().to_vec(),
        ));
    }
    parts.sort_by_key(|p| p.0);
    let mut payload = Vec::new();
    for (i, (offset, more, data)) in parts.iter().enumerate() {
        assert_eq!(*offset, payload.len(), "hole or overlap");
        assert_eq!(*more, i + 1 < parts.len(), "MF");
        if *more {
            assert_eq!(data.len() % 8, 0);
        }
        payload.extend_from_slice(data);
    }
    let mut whole = header;
    whole[6..8].copy_from_slice(&[0, 0]);
    whole.extend_from_slice(&payload);
    let total = u16::try_from(whole.len()).unwrap();
    whole[2..4].copy_from_slice(&total.to_be_bytes());
    ipv4::Packet::new_unchecked(&mut whole[..]).fill_checksum();
    whole
}

#[test]
fn without_df_the_outer_packet_is_fragmented() {
    for kind in [None, Some(TunnelKind::Gre), Some(TunnelKind::Gue)] {
        let mut rig = Rig::new(tun_snapshot(kind, GUE_PORT, true, 1000));
        rig.send(syn(40000));
        let inner = data_of_len(1400, false);
        let out = rig.send(inner.clone());
        let overhead = Encap::new(
            kind.unwrap_or(TunnelKind::Ipip),
            &TunnelConf {
                kind,
                port: GUE_PORT,
                csum: true,
            },
        )
        .overhead();
        // 980 payload bytes per fragment at most, a multiple of 8: 976.
        let outer_payload = overhead - 20 + 1400;
        assert_eq!(out.len(), outer_payload.div_ceil(976), "{kind:?}");
        for f in &out {
            assert!(f.len() - 14 <= 1000);
            assert_eq!((&f[0..6], &f[6..12]), (&RS1_MAC[..], &D_MAC[..]));
        }
        assert_eq!(out[0].len() - 34, 976);
        let whole = reassemble(&out);
        // Exactly the encapsulated packet: outer fields, shim with a checksum over the
        // whole datagram, the inner packet as forwarded (TTL - 1).
        let mut frame = vec![0u8; 14];
        frame.extend_from_slice(&whole);
        let d = decap(&frame);
        assert_eq!(d.inner, &forwarded(&inner)[14..]);
        assert_eq!((d.outer.src, d.outer.dst, d.outer.ttl), (D_IP, RS1, 62));
        assert!(!d.outer.dont_frag);
        assert_eq!(rig.drops(DropReason::TunFragNeeded), 0);
    }
}

#[test]
fn fragments_of_one_worker_get_distinct_identifications() {
    let mut rig = Rig::new(tun_snapshot(None, 0, false, 1000));
    rig.send(syn(40000));
    let a = rig.send(data_of_len(1400, false));
    let b = rig.send(data_of_len(1400, false));
    let id = |f: &Vec<u8>| ipv4::Packet::new_checked(&f[14..]).unwrap().ident();
    assert_eq!(id(&a[0]), id(&a[1]));
    assert_eq!(id(&b[0]), id(&b[1]));
    assert_ne!(id(&a[0]), id(&b[0]));
}

#[test]
fn an_unresolved_real_server_holds_the_packet_until_arp_answers() {
    let mut s = snapshot(1, vec![tun_service(None, 0, false)], false);
    s.ports[0].mtu = 1000;
    let mut rig = Rig::new(s);
    let out = rig.send(syn(40000));
    // Held; the only frame out is the ARP request for rs1.
    assert_eq!(out.len(), 1);
    let arp = crate::wire::arp::Packet::new_checked(&out[0][14..42]).unwrap();
    assert_eq!((arp.target_ip(), arp.sender_ip()), (RS1, D_IP));
    assert_eq!(rig.worker.counters().read().neigh_held, 1);
    // Two fragments of a DF-less packet wait as well.
    let big = data_of_len(1400, false);
    assert!(rig.send(big.clone()).is_empty());
    assert_eq!(rig.worker.counters().read().neigh_held, 3);
    // The reply releases all three in order, encapsulated, to rs1's MAC.
    let out = rig.send(arp_frame(true, RS1_MAC, RS1, D_MAC, D_IP));
    assert_eq!(out.len(), 3);
    assert_eq!(out[0], hex(IPIP_SYN));
    assert_eq!(&out[1][..6], &RS1_MAC);
    let mut whole = vec![0u8; 14];
    whole.extend_from_slice(&reassemble(&out[1..]));
    assert_eq!(decap(&whole).inner, &forwarded(&big)[14..]);
}

#[test]
fn a_real_server_behind_a_router_is_reached_through_it() {
    let far = Ipv4Addr::new(172, 16, 5, 9);
    let mut d = dest(10, far, 80, 1, FwdMethod::Tun);
    d.tunnel = TunnelConf::default();
    let mut s = snapshot(
        1,
        vec![service(1, Proto::Tcp, 80, SchedulerKind::Rr, vec![d])],
        true,
    );
    // A second address on the port, in the router's subnet, first in the list: the
    // tunnel source is the one sharing the next hop's prefix.
    s.ports[0].ipv4 = vec![Ipv4Addr::new(192, 168, 7, 1), D_IP];
    s.ports[0].prefix_len = vec![24, 24];
    let mut rig = Rig::new(s);
    let out = rig.send(syn(40000));
    assert_eq!(&out[0][..6], &R_MAC);
    let d = decap(&out[0]);
    assert_eq!((d.outer.src, d.outer.dst), (D_IP, far));
}

#[test]
fn refusals_are_counted_with_their_reason() {
    // MTU minus GUE overhead below 68.
    let mut rig = Rig::new(tun_snapshot(Some(TunnelKind::Gue), GUE_PORT, false, 99));
    assert!(rig.send(syn(40000)).is_empty());
    assert_eq!(rig.drops(DropReason::TunMtuTooSmall), 1);
    // 100 leaves exactly 68: allowed.
    let mut rig = Rig::new(tun_snapshot(Some(TunnelKind::Gue), GUE_PORT, false, 100));
    assert_eq!(rig.send(syn(40000)).len(), 1);

    // No route to the real server.
    let mut s = snapshot(1, vec![tun_service(None, 0, false)], true);
    s.routes = RouteTableV4::build(&[v4_route(
        Ipv4Addr::new(10, 9, 0, 0),
        16,
        0,
        Some(Ipv4Addr::new(10, 0, 0, 1)),
    )])
    .unwrap();
    let mut rig = Rig::new(s);
    assert!(rig.send(syn(40000)).is_empty());
    assert_eq!(rig.drops(DropReason::NoRoute), 1);

    // An egress port without an address to send from.
    let mut s = snapshot(1, vec![tun_service(None, 0, false)], true);
    s.ports[0] = PortView::network("dp0", D_MAC, vec![]);
    let mut rig = Rig::new(s);
    assert!(rig.send(syn(40000)).is_empty());
    assert_eq!(rig.drops(DropReason::TunNoSource), 1);
}

#[test]
fn no_icmp_error_about_a_packet_from_a_multicast_source() {
    // A SYN carrying data, DF, too big for the tunnel, from a multicast source: RFC 1122
    // forbids an error about it, so it is only dropped.
    let mut rig = Rig::new(tun_snapshot(None, 0, false, 1000));
    let mut h = client(true);
    h.src = Ipv4Addr::new(224, 0, 0, 9);
    let payload = vec![7u8; 1000];
    let out = rig.send(tcp_frame(&h, 40000, 80, SYN, 100, 0, &payload));
    assert!(out.is_empty());
    assert_eq!(rig.drops(DropReason::TooBig), 1);
    assert_eq!(rig.drops(DropReason::TunFragNeeded), 0);
}

/// Every frame the TUN path produces, for the external cross-checks: (what, frame).
fn sample_frames() -> Vec<(&'static str, Vec<u8>)> {
    let mut frames = Vec::new();
    let mut rig = self::rig(None, false);
    frames.push(("ipip", rig.send(syn(40000)).remove(0)));
    let mut rig = self::rig(Some(TunnelKind::Gre), true);
    frames.push(("gre", rig.send(syn(40000)).remove(0)));
    let mut rig = self::rig(Some(TunnelKind::Gue), true);
    frames.push(("gue", rig.send(syn(40000)).remove(0)));
    let mut rig = Rig::new(tun_snapshot(None, 0, false, 1000));
    rig.send(syn(40000));
    frames.push(("frag-needed", rig.send(data_of_len(1200, true)).remove(0)));
    for f in rig.send(data_of_len(1400, false)) {
        frames.push(("fragment", f));
    }
    frames
}

fn write_pcap(frames: &[(&str, Vec<u8>)], name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("rvs-tun-{name}-{}.pcap", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    let mut w = pcap_file::pcap::PcapWriter::new(BufWriter::new(file)).unwrap();
    for (i, (_, f)) in frames.iter().enumerate() {
        let len = u32::try_from(f.len()).unwrap();
        let ts = Duration::from_millis(u64::try_from(i).unwrap());
        w.write_packet(&pcap_file::pcap::PcapPacket::new(ts, len, f))
            .unwrap();
    }
    path
}

fn tool_available(cmd: &str, args: &[&str], skip_var: &str) -> bool {
    let ok = Command::new(cmd)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var(skip_var).as_deref() == Ok("1"),
            "{cmd} {args:?} failed: install it or set {skip_var}=1"
        );
        eprintln!("{cmd} {args:?} failed; skipped by {skip_var}=1");
    }
    ok
}

#[test]
fn tshark_dissects_every_tunnel_frame_with_good_checksums() {
    if !tool_available("tshark", &["--version"], "RVS_SKIP_TSHARK") {
        return;
    }
    let frames = sample_frames();
    let path = write_pcap(&frames, "tshark");
    let fields = [
        "_ws.malformed",
        "ip.proto",
        "ip.checksum.status",
        "tcp.checksum.status",
        "gre.checksum.status",
        "udp.checksum.status",
        "udp.dstport",
        "icmp.type",
        "icmp.code",
        "icmp.mtu",
        "icmp.checksum.status",
        "ip.fragment.count",
        "tcp.len",
    ];
    let mut cmd = Command::new("tshark");
    cmd.arg("-r")
        .arg(&path)
        .args(["-o", "ip.check_checksum:TRUE"])
        .args(["-o", "tcp.check_checksum:TRUE"])
        .args(["-o", "udp.check_checksum:TRUE"])
        .args(["-T", "fields", "-E", "separator=|"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let output = cmd.output().unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), frames.len(), "{stdout}");
    let get = |line: &str, name: &str| -> String {
        let i = fields.iter().position(|f| *f == name).unwrap();
        line.split('|').nth(i).unwrap_or("").to_string()
    };
    for (line, (what, _)) in lines.iter().zip(&frames) {
        assert_eq!(get(line, "_ws.malformed"), "", "{what}: {line}");
    }
    // Outer and inner IPv4 headers, TCP, GRE, UDP: all checksums good (1).
    let l = lines[0];
    assert_eq!(
        (get(l, "ip.proto"), get(l, "ip.checksum.status")),
        ("4,6".into(), "1,1".into()),
        "ipip: {l}"
    );
    assert_eq!(get(l, "tcp.checksum.status"), "1", "ipip: {l}");
    let l = lines[1];
    assert_eq!(get(l, "ip.proto"), "47,6", "gre: {l}");
    assert_eq!(get(l, "gre.checksum.status"), "1", "gre: {l}");
    assert_eq!(get(l, "tcp.checksum.status"), "1", "gre: {l}");
    // GUE: tshark has no GUE dissector; it checks the UDP layer (scapy checks the rest).
    let l = lines[2];
    assert_eq!(get(l, "ip.proto"), "17", "gue: {l}");
    assert_eq!(get(l, "udp.checksum.status"), "1", "gue: {l}");
    assert_eq!(get(l, "udp.dstport"), "6080", "gue: {l}");
    let l = lines[3];
    assert_eq!(
        (get(l, "icmp.type"), get(l, "icmp.code"), get(l, "icmp.mtu")),
        ("3".into(), "4".into(), "980".into()),
        "frag-needed: {l}"
    );
    assert_eq!(get(l, "icmp.checksum.status"), "1", "frag-needed: {l}");
    assert!(
        get(l, "ip.checksum.status").starts_with('1'),
        "frag-needed: {l}"
    );
    // The fragments: tshark reassembles them and finds the inner segment whole and good.
    let last = lines[lines.len() - 1];
    assert_eq!(get(last, "ip.fragment.count"), "2", "fragments: {last}");
    assert_eq!(get(last, "ip.proto"), "4,6", "fragments: {last}");
    assert_eq!(get(last, "tcp.checksum.status"), "1", "fragments: {last}");
    assert_eq!(get(last, "tcp.len"), "1360", "fragments: {last}");
}

#[test]
fn scapy_dissects_the_gue_frame_inner_packet_included() {
    if !tool_available(
        "/usr/bin/python3",
        &["-c", "import scapy"],
        "RVS_SKIP_SCAPY",
    ) {
        return;
    }
    let frames = sample_frames();
    let path = write_pcap(&frames[2..3], "scapy");
    // Scapy recomputes every checksum of a packet with the checksum fields deleted; equal
    // bytes mean ours were right. The GUE header is checked by hand (no scapy layer).
    let script = r#"
import sys
from scapy.all import rdpcap, Ether, IP, UDP, TCP
p = rdpcap(sys.argv[1])[0]
o = p[IP]
assert o.proto == 17 and o.flags.DF and o.id == 0 and o.ttl == 62 and o.tos == 0xba, o.summary()
u = p[UDP]
assert u.dport == 6080 and 32768 <= u.sport < 60999, u.summary()
gue = bytes(u.payload)[:4]
assert gue == b"\x00\x04\x00\x00", gue
inner = IP(bytes(u.payload)[4:])
assert inner.src == "10.9.0.2" and inner.dst == "10.0.0.100" and inner.tos == 0xbb
assert inner.ttl == 62, inner.ttl
assert inner[TCP].flags == "S" and inner[TCP].sport == 40000
o2 = IP(bytes(o)); del o2.chksum; del o2[UDP].chksum
assert bytes(IP(bytes(o2))) == bytes(o), "outer IP or UDP checksum differs"
i2 = IP(bytes(inner)); del i2.chksum; del i2[TCP].chksum
assert bytes(IP(bytes(i2))) == bytes(inner), "inner checksums differ"
print("ok")
"#;
    let output = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.trim_end().ends_with("ok"),
        "scapy: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Any size, any MTU from the smallest allowed up, any tunnel: without DF the fragments
    /// each fit the MTU and reassemble to the encapsulated packet; with DF the packet goes
    /// whole or is answered with the usable MTU.
    #[test]
    fn every_size_fits_the_mtu_or_is_answered(
        len in 40usize..1900,
        extra in 0u16..1500,
        kind_index in 0usize..3,
        csum in proptest::bool::ANY,
        df in proptest::bool::ANY,
    ) {
        let kind = [TunnelKind::Ipip, TunnelKind::Gre, TunnelKind::Gue][kind_index];
        let conf = TunnelConf { kind: Some(kind), port: GUE_PORT, csum };
        let overhead = Encap::new(kind, &conf).overhead();
        let mtu = u16::try_from(overhead + tun::MIN_MTU).unwrap() + extra;
        let mut rig = Rig::new(tun_snapshot(Some(kind), GUE_PORT, csum, mtu));
        proptest::prop_assert_eq!(rig.send(syn(40000)).len(), 1);
        let inner = data_of_len(len, df);
        let out = rig.send(inner.clone());
        let usable = usize::from(mtu) - overhead;
        if df && len > usable {
            proptest::prop_assert_eq!(out.len(), 1);
            assert_frag_needed(&out[0], &inner, u16::try_from(usable).unwrap());
        } else {
            proptest::prop_assert!(!out.is_empty());
            for f in &out {
                proptest::prop_assert!(f.len() - 14 <= usize::from(mtu));
            }
            let mut whole = vec![0u8; 14];
            whole.extend_from_slice(&if out.len() == 1 {
                out[0][14..].to_vec()
            } else {
                reassemble(&out)
            });
            let d = decap(&whole);
            proptest::prop_assert_eq!(d.inner, &forwarded(&inner)[14..]);
            proptest::prop_assert_eq!(d.outer.ttl, 62);
            proptest::prop_assert_eq!(d.outer.dont_frag, df);
        }
    }
}
