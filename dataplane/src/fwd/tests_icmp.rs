//! ICMP through the forwarding stage: errors about NAT/FULLNAT/DR/TUN connections translated
//! for the side they concern (every field of the outer packet and of the quote, every
//! checksum), errors about the director's own tunnel packets relayed to the client with the
//! MTU lowered by the encapsulation, what is not translated counted, echo to a VIP answered,
//! and the worker that owns the quoted flow chosen for each error.
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;
use std::sync::Arc;

use proptest::prelude::*;

use super::tests::{
    CLIENT, CLIENT2, D_IP, D_MAC, LADDR, R_MAC, RS1, RS1_MAC, RS2, Rig, VIP, dest, forwarded,
    service, snapshot,
};
use super::*;
use crate::conn::{FwdMethod, Proto, TunnelKind};
use crate::sched::SchedulerKind;
use crate::testutil::*;
use crate::wire::ip::IpProtocol;
use crate::wire::{MacAddr, ethernet, gre, gue, icmp, ipv4};
use crate::worker::{ServiceConf, TunnelConf};

const SYN: u16 = 0x02;
const ACK: u16 = 0x10;
const PSH: u16 = 0x08;
const SYNACK: u16 = 0x12;

/// A router on the client's side of the internet.
const ROUTER_C: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// A router between the director and the real servers.
const ROUTER_RS: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 77);

const UNREACH: u8 = 3;
const QUENCH: u8 = 4;
const REDIRECT: u8 = 5;
const TIME_EXCEEDED: u8 = 11;
const PARAM_PROBLEM: u8 = 12;
const PORT_UNREACH: u8 = 3;
const FRAG_NEEDED: u8 = 4;

/// Headers of a frame arriving from the router (the client side).
fn via_router(src: Ipv4Addr, dst: Ipv4Addr, df: bool) -> L2L3 {
    L2L3 {
        src_mac: R_MAC,
        dst_mac: D_MAC,
        src,
        dst,
        ttl: 60,
        df,
    }
}

/// Headers of a frame arriving from the real-server LAN.
fn via_lan(mac: [u8; 6], src: Ipv4Addr, dst: Ipv4Addr) -> L2L3 {
    L2L3 {
        src_mac: mac,
        dst_mac: D_MAC,
        src,
        dst,
        ttl: 64,
        df: true,
    }
}

/// An ICMP error message framed as `h` says, quoting `quote`; every checksum right.
pub(super) fn icmp_error(h: &L2L3, msg_type: u8, code: u8, rest: [u8; 4], quote: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 8 + quote.len()];
    ethernet::emit_header(
        &mut f[..14],
        MacAddr(h.dst_mac),
        MacAddr(h.src_mac),
        ethernet::EtherType::Ipv4,
    )
    .unwrap();
    ipv4::Repr {
        src: h.src,
        dst: h.dst,
        protocol: IpProtocol::Icmp,
        payload_len: 8 + quote.len(),
        ttl: h.ttl,
        tos: 0xc0,
        ident: 0x4242,
        dont_frag: false,
    }
    .emit(&mut f[14..34])
    .unwrap();
    f[34] = msg_type;
    f[35] = code;
    f[38..42].copy_from_slice(&rest);
    f[42..].copy_from_slice(quote);
    icmp::Packet::new_unchecked(&mut f[34..]).fill_checksum();
    f
}

/// The first `n` bytes of the IPv4 packet in `frame` (what a router quotes).
fn quote(frame: &[u8], n: usize) -> Vec<u8> {
    frame[14..14 + n].to_vec()
}

fn mtu_word(mtu: u16) -> [u8; 4] {
    let [hi, lo] = mtu.to_be_bytes();
    [0, 0, hi, lo]
}

/// An ICMP error as it left the director, with its checksums verified.
#[derive(Debug)]
pub(super) struct ErrorSeen {
    pub(super) dst_mac: [u8; 6],
    pub(super) src_mac: [u8; 6],
    pub(super) src: Ipv4Addr,
    pub(super) dst: Ipv4Addr,
    pub(super) ttl: u8,
    pub(super) tos: u8,
    pub(super) df: bool,
    pub(super) msg_type: u8,
    pub(super) code: u8,
    pub(super) rest: [u8; 4],
    pub(super) quote: Vec<u8>,
}

impl ErrorSeen {
    /// The quoted IPv4 header.
    fn quoted_header(&self) -> &[u8] {
        let hl = usize::from(self.quote[0] & 0x0f) * 4;
        &self.quote[..hl]
    }

    /// The quoted transport bytes.
    fn quoted_l4(&self) -> &[u8] {
        &self.quote[self.quoted_header().len()..]
    }
}

/// Parses an ICMP error frame, asserting the outer IPv4 checksum, the ICMP checksum and the
/// quoted IPv4 header's checksum.
pub(super) fn error_seen(f: &[u8]) -> ErrorSeen {
    let eth = ethernet::Frame::new_checked(f).unwrap();
    assert_eq!(eth.ethertype(), ethernet::EtherType::Ipv4);
    let ip = ipv4::Packet::new_checked(eth.payload()).expect("outer IPv4 checksum");
    assert_eq!(ip.protocol(), IpProtocol::Icmp);
    assert_eq!(
        usize::from(ip.total_len()),
        f.len() - 14,
        "no padding, exact length"
    );
    let m = icmp::Packet::new_checked(ip.payload()).expect("ICMP checksum");
    let quoted = ipv4::Packet::new_embedded(m.data()).unwrap();
    assert!(quoted.verify_checksum(), "quoted IPv4 header checksum");
    ErrorSeen {
        dst_mac: eth.dst().0,
        src_mac: eth.src().0,
        src: ip.src(),
        dst: ip.dst(),
        ttl: ip.ttl(),
        tos: ip.tos(),
        df: ip.dont_frag(),
        msg_type: m.msg_type().into(),
        code: m.code(),
        rest: ip.payload()[4..8].try_into().unwrap(),
        quote: m.data().to_vec(),
    }
}

fn one(svc: ServiceConf) -> Rig {
    Rig::new(snapshot(1, vec![svc], true))
}

fn slot_counts(rig: &Rig, slot: u32) -> (u64, u64) {
    let c = rig.slots.get(slot).unwrap().read();
    (c.inpkts, c.outpkts)
}

#[test]
fn nat_port_unreachable_from_the_real_server_reaches_the_client_translated() {
    let mut rig = one(service(
        1,
        Proto::Udp,
        53,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 5353, 1, FwdMethod::Nat)],
    ));
    let query = udp_frame(&via_router(CLIENT, VIP, false), 33000, 53, b"query");
    let fwd = rig.send(query.clone());
    assert_eq!(seen(&fwd[0]).dst, RS1);
    // Nothing listens on rs1:5353: it tells the client, through the director (its gateway).
    let err = icmp_error(
        &via_lan(RS1_MAC, RS1, CLIENT),
        UNREACH,
        PORT_UNREACH,
        [0; 4],
        &quote(&fwd[0], fwd[0].len() - 14),
    );
    let out = rig.send(err);
    assert_eq!(out.len(), 1);
    let e = error_seen(&out[0]);
    assert_eq!((e.dst_mac, e.src_mac), (R_MAC, D_MAC));
    // Outer: from the VIP (IPVS), to the client; forwarded, so TTL 64 - 1.
    assert_eq!((e.src, e.dst, e.ttl), (VIP, CLIENT, 63));
    assert_eq!(
        (e.msg_type, e.code, e.rest),
        (UNREACH, PORT_UNREACH, [0; 4])
    );
    // The quote is the client's own datagram again as the director forwarded it (TTL 60 - 1):
    // header byte for byte, ports, payload.
    assert_eq!(e.quoted_header(), &forwarded(&query)[14..34]);
    assert_eq!(&e.quoted_l4()[..6], &query[34..40]);
    assert_eq!(&e.quoted_l4()[8..], b"query");
    // The quoted UDP checksum is left as the real server received it (as IPVS leaves it).
    assert_eq!(&e.quoted_l4()[6..8], &fwd[0][40..42]);
    assert_ne!(&e.quoted_l4()[6..8], &query[40..42]);
    // Counted as a packet of the connection, real server to client.
    assert_eq!(slot_counts(&rig, 10), (1, 1));
    assert_eq!(slot_counts(&rig, 1), (1, 1));
}

#[test]
fn fullnat_port_unreachable_from_the_real_server_reaches_the_client_translated() {
    let mut rig = one(service(
        1,
        Proto::Tcp,
        80,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 8080, 1, FwdMethod::FullNat)],
    ));
    let syn = tcp_frame(&via_router(CLIENT, VIP, true), 40000, 80, SYN, 1000, 0, b"");
    let fwd = rig.send(syn.clone());
    let s = seen(&fwd[0]);
    assert_eq!((s.src, s.sport, s.dst, s.dport), (LADDR, 1024, RS1, 8080));
    // A firewall on the real server answers "port unreachable" to the local address,
    // quoting the IPv4 header and 8 bytes (RFC 792's minimum).
    let err = icmp_error(
        &via_lan(RS1_MAC, RS1, LADDR),
        UNREACH,
        PORT_UNREACH,
        [0; 4],
        &quote(&fwd[0], 28),
    );
    let out = rig.send(err);
    assert_eq!(out.len(), 1);
    let e = error_seen(&out[0]);
    assert_eq!((e.dst_mac, e.src, e.dst), (R_MAC, VIP, CLIENT));
    assert_eq!((e.msg_type, e.code), (UNREACH, PORT_UNREACH));
    // Both rewrites undone: CLIENT:40000 -> VIP:80, sequence number 1000, as sent (the TTL
    // as forwarded).
    assert_eq!(e.quote.len(), 28);
    assert_eq!(e.quoted_header(), &forwarded(&syn)[14..34]);
    assert_eq!(e.quoted_l4(), &syn[34..42]);
    assert_eq!(slot_counts(&rig, 10), (1, 1));
}

#[test]
fn nat_frag_needed_from_the_client_side_reaches_the_real_server_with_its_mtu() {
    let mut rig = one(service(
        1,
        Proto::Tcp,
        80,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 8080, 1, FwdMethod::Nat)],
    ));
    rig.send(tcp_frame(
        &via_router(CLIENT, VIP, true),
        40000,
        80,
        SYN,
        1000,
        0,
        b"",
    ));
    let reply = tcp_frame(
        &via_lan(RS1_MAC, RS1, CLIENT),
        8080,
        40000,
        ACK | PSH,
        5001,
        1001,
        &[b'z'; 1400],
    );
    let back = rig.send(reply.clone());
    assert_eq!(seen(&back[0]).src, VIP);
    // A router on the client's path cannot carry 1454 bytes: it tells the sender (the VIP).
    let err = icmp_error(
        &via_router(ROUTER_C, VIP, false),
        UNREACH,
        FRAG_NEEDED,
        mtu_word(1400),
        &quote(&back[0], 548),
    );
    let out = rig.send(err);
    assert_eq!(out.len(), 1);
    let e = error_seen(&out[0]);
    // To the real server; the outer source stays the router's (IPVS); forwarded, TTL - 1.
    assert_eq!((e.dst_mac, e.src, e.dst), (RS1_MAC, ROUTER_C, RS1));
    assert_eq!(
        (e.msg_type, e.code, e.rest),
        (UNREACH, FRAG_NEEDED, mtu_word(1400))
    );
    assert_eq!((e.ttl, e.tos, e.df), (59, 0xc0, false));
    // The real server's own segment: RS1:8080 -> CLIENT:40000, seq 5001, and its data; its
    // TTL as the director forwarded it.
    assert_eq!(e.quote.len(), 548);
    assert_eq!(e.quoted_header(), &forwarded(&reply)[14..34]);
    assert_eq!(&e.quoted_l4()[..8], &reply[34..42]);
    assert_eq!(&e.quoted_l4()[20..], &reply[54..14 + 548]);
    // In: client-side packets of the connection.
    assert_eq!(slot_counts(&rig, 10), (2, 1));
}

#[test]
fn fullnat_frag_needed_from_the_client_side_reaches_the_real_server_from_the_local_address() {
    let mut rig = one(service(
        1,
        Proto::Tcp,
        80,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 8080, 1, FwdMethod::FullNat)],
    ));
    rig.send(tcp_frame(
        &via_router(CLIENT, VIP, true),
        40000,
        80,
        SYN,
        1000,
        0,
        b"",
    ));
    let reply = tcp_frame(
        &via_lan(RS1_MAC, RS1, LADDR),
        8080,
        1024,
        SYNACK,
        5000,
        1001,
        b"",
    );
    let back = rig.send(reply.clone());
    let s = seen(&back[0]);
    assert_eq!((s.src, s.dst), (VIP, CLIENT));
    let err = icmp_error(
        &via_router(ROUTER_C, VIP, false),
        UNREACH,
        FRAG_NEEDED,
        mtu_word(1280),
        &quote(&back[0], 28),
    );
    let out = rig.send(err);
    assert_eq!(out.len(), 1);
    let e = error_seen(&out[0]);
    assert_eq!((e.dst_mac, e.src, e.dst), (RS1_MAC, LADDR, RS1));
    assert_eq!(
        (e.msg_type, e.code, e.rest),
        (UNREACH, FRAG_NEEDED, mtu_word(1280))
    );
    // RS1:8080 -> LADDR:1024 as the real server sent it, with the TTL it was forwarded with.
    assert_eq!(e.quoted_header(), &forwarded(&reply)[14..34]);
    assert_eq!(e.quoted_l4(), &reply[34..42]);
}

#[test]
fn time_exceeded_source_quench_and_parameter_problem_are_translated_too() {
    let mut rig = one(service(
        1,
        Proto::Tcp,
        80,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 8080, 1, FwdMethod::FullNat)],
    ));
    let syn = tcp_frame(&via_router(CLIENT, VIP, true), 40000, 80, SYN, 1000, 0, b"");
    let fwd = rig.send(syn.clone());
    // A router towards the real server: TTL exceeded in transit, about the local address's
    // packet, sent to the local address.
    let err = icmp_error(
        &via_lan(RS1_MAC, ROUTER_RS, LADDR),
        TIME_EXCEEDED,
        0,
        [0; 4],
        &quote(&fwd[0], 40),
    );
    let e = error_seen(&rig.send(err)[0]);
    assert_eq!((e.src, e.dst, e.dst_mac), (VIP, CLIENT, R_MAC));
    assert_eq!((e.msg_type, e.code), (TIME_EXCEEDED, 0));
    assert_eq!(e.quoted_header(), &forwarded(&syn)[14..34]);
    assert_eq!(&e.quoted_l4()[..8], &syn[34..42]);
    // The rest of the quoted TCP header is as forwarded (checksum included, as IPVS).
    assert_eq!(&e.quoted_l4()[8..], &fwd[0][42..54]);

    // The other direction: time exceeded about the SYN-ACK on the client's path.
    let synack = tcp_frame(
        &via_lan(RS1_MAC, RS1, LADDR),
        8080,
        1024,
        SYNACK,
        7,
        1001,
        b"",
    );
    let back = rig.send(synack.clone());
    let err = icmp_error(
        &via_router(ROUTER_C, VIP, false),
        TIME_EXCEEDED,
        0,
        [0; 4],
        &quote(&back[0], 28),
    );
    let e = error_seen(&rig.send(err)[0]);
    assert_eq!((e.src, e.dst, e.dst_mac), (LADDR, RS1, RS1_MAC));
    assert_eq!(e.quoted_header(), &forwarded(&synack)[14..34]);
    assert_eq!(e.quoted_l4(), &synack[34..42]);

    // Source quench (RFC 6633 deprecates it, IPVS still relays it).
    let err = icmp_error(
        &via_router(ROUTER_C, VIP, false),
        QUENCH,
        0,
        [0; 4],
        &quote(&back[0], 28),
    );
    let e = error_seen(&rig.send(err)[0]);
    assert_eq!(
        (e.msg_type, e.dst, e.quoted_l4()),
        (QUENCH, RS1, &synack[34..42])
    );

    // Parameter problem: the pointer (byte 12 of the quote) still points at the same field.
    let err = icmp_error(
        &via_lan(RS1_MAC, RS1, LADDR),
        PARAM_PROBLEM,
        0,
        [12, 0, 0, 0],
        &quote(&fwd[0], 28),
    );
    let e = error_seen(&rig.send(err)[0]);
    assert_eq!(
        (e.msg_type, e.rest, e.dst),
        (PARAM_PROBLEM, [12, 0, 0, 0], CLIENT)
    );
    assert_eq!(e.quoted_header(), &forwarded(&syn)[14..34]);
    assert_eq!(slot_counts(&rig, 10), (3, 3));
}

#[test]
fn dr_errors_from_the_client_side_go_to_the_real_server_untranslated() {
    let mut rig = one(service(
        1,
        Proto::Tcp,
        80,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 80, 1, FwdMethod::Dr)],
    ));
    rig.send(tcp_frame(
        &via_router(CLIENT, VIP, true),
        40000,
        80,
        SYN,
        1000,
        0,
        b"",
    ));
    // rs1 answered the client directly, from the VIP; a router on the way could not pass it.
    let reply = tcp_frame(
        &via_lan(RS1_MAC, VIP, CLIENT),
        80,
        40000,
        ACK | PSH,
        5001,
        1001,
        &[b'z'; 1460],
    );
    let err = icmp_error(
        &via_router(ROUTER_C, VIP, false),
        UNREACH,
        FRAG_NEEDED,
        mtu_word(1400),
        &quote(&reply, 548),
    );
    let out = rig.send(err.clone());
    assert_eq!(out.len(), 1);
    // Only the Ethernet header changed, and the TTL as in any forwarded packet (60 - 1, with
    // the header checksum): rs1 holds the VIP and knows its own segment.
    assert_eq!((&out[0][0..6], &out[0][6..12]), (&RS1_MAC[..], &D_MAC[..]));
    assert_eq!(out[0][12..], forwarded(&err)[12..]);
    assert_eq!(out[0][14 + 8], 59);
    assert_eq!(slot_counts(&rig, 10), (2, 0));

    // An error quoting a packet towards the real server's own address: that would be a
    // reply of the DR connection passing the director.
    let err = icmp_error(
        &via_lan(RS1_MAC, RS1, CLIENT),
        UNREACH,
        PORT_UNREACH,
        [0; 4],
        &quote(
            &tcp_frame(&via_router(CLIENT, RS1, true), 40000, 80, ACK, 1, 1, b""),
            28,
        ),
    );
    assert!(rig.send(err).is_empty());
    assert_eq!(rig.drops(DropReason::UnexpectedReply), 1);
}

/// A TUN service whose one real server uses `tunnel`.
fn tun_service(tunnel: TunnelConf) -> ServiceConf {
    let mut d = dest(10, RS1, 80, 1, FwdMethod::Tun);
    d.tunnel = tunnel;
    service(1, Proto::Tcp, 80, SchedulerKind::Rr, vec![d])
}

fn tunnel(kind: TunnelKind, port: u16) -> TunnelConf {
    TunnelConf {
        kind: Some(kind),
        port,
        csum: false,
    }
}

#[test]

fn tun_errors_from_the_client_side_are_encapsulated_to_the_real_server() {
    let mut rig = one(tun_service(tunnel(TunnelKind::Ipip, 0)));
    rig.send(tcp_frame(
        &via_router(CLIENT, VIP, true),
        40000,
        80,
        SYN,
        1000,
        0,
        b"",
    ));
    let reply = tcp_frame(
        &via_lan(RS1_MAC, VIP, CLIENT),
        80,
        40000,
        SYNACK,
        5000,
        1001,
        b"",
    );
    let err = icmp_error(
        &via_router(ROUTER_C, VIP, false),
        TIME_EXCEEDED,
        0,
        [0; 4],
        &quote(&reply, 28),
    );
    let out = rig.send(err.clone());
    assert_eq!(out.len(), 1);
    let f = &out[0];
    assert_eq!(&f[0..6], &RS1_MAC[..]);
    let outer = ipv4::Packet::new_checked(&f[14..]).unwrap();
    assert_eq!((outer.src(), outer.dst()), (D_IP, RS1));
    assert_eq!(outer.protocol(), IpProtocol::IpIp);
    // The error itself travels inside as forwarded (TTL 60 - 1), the outer TTL copied from it.
    assert_eq!(outer.payload(), &forwarded(&err)[14..]);
    assert_eq!(outer.ttl(), 59);
}

/// The client's SYN for a TUN connection, and the connection (the tunnel transmit may or
/// may not send the SYN in this branch: only the entry matters here).
fn tun_rig(t: TunnelConf, df: bool) -> (Rig, Vec<u8>) {
    let mut rig = one(tun_service(t));
    let syn = tcp_frame(&via_router(CLIENT, VIP, df), 40000, 80, SYN, 1000, 0, b"");
    rig.send(syn.clone());
    assert_eq!(rig.worker.stage().conns().len(), 1);
    (rig, syn)
}

/// The SYN as the director encapsulated it towards rs1 (outer header, tunnel header, SYN
/// with its TTL decremented, the outer TTL copied from it).
fn encapsulated(syn: &[u8], kind: TunnelKind, gue_port: u16) -> Vec<u8> {
    let forwarded = forwarded(syn);
    let inner = &forwarded[14..];
    let (proto, mut tun_hdr) = match kind {
        TunnelKind::Ipip => (IpProtocol::IpIp, vec![]),
        TunnelKind::Gre => {
            let mut h = vec![0u8; 4];
            gre::Repr {
                protocol: ethernet::EtherType::Ipv4,
                checksum: false,
                key: None,
                seq: None,
            }
            .emit(&mut h)
            .unwrap();
            (IpProtocol::Gre, h)
        }
        TunnelKind::Gue => {
            let mut h = vec![0u8; 12];
            gue::emit_udp(&mut h, 51000, gue_port, IpProtocol::IpIp, inner.len()).unwrap();
            (IpProtocol::Udp, h)
        }
    };
    let mut p = vec![0u8; 20];
    ipv4::Repr {
        src: D_IP,
        dst: RS1,
        protocol: proto,
        payload_len: tun_hdr.len() + inner.len(),
        ttl: inner[8],
        tos: 0,
        ident: 7,
        dont_frag: true,
    }
    .emit(&mut p)
    .unwrap();
    p.append(&mut tun_hdr);
    p.extend_from_slice(inner);
    p
}

/// What a router towards rs1 sends the director about its encapsulated packet.
fn tunnel_error_frame(encap: &[u8], msg_type: u8, code: u8, rest: [u8; 4]) -> Vec<u8> {
    icmp_error(
        &via_lan(RS1_MAC, ROUTER_RS, D_IP),
        msg_type,
        code,
        rest,
        &encap[..encap.len().min(548)],
    )
}

#[test]
fn frag_needed_about_our_tunnel_packets_reaches_the_client_less_the_overhead() {
    for (kind, port, overhead) in [
        (TunnelKind::Ipip, 0, 20),
        (TunnelKind::Gre, 0, 24),
        (TunnelKind::Gue, 6080, 32),
    ] {
        let (mut rig, syn) = tun_rig(tunnel(kind, port), true);
        let encap = encapsulated(&syn, kind, port);
        let out = rig.send(tunnel_error_frame(
            &encap,
            UNREACH,
            FRAG_NEEDED,
            mtu_word(1400),
        ));
        assert_eq!(out.len(), 1, "{kind:?}");
        let e = error_seen(&out[0]);
        // From the VIP (IPVS's icmp_send answers from the address the packet was for), to
        // the client through its router, as Linux sends errors.
        assert_eq!((e.dst_mac, e.src, e.dst), (R_MAC, VIP, CLIENT), "{kind:?}");
        assert_eq!((e.ttl, e.tos, e.df), (64, 0xc0, false));
        assert_eq!((e.msg_type, e.code), (UNREACH, FRAG_NEEDED));
        assert_eq!(e.rest, mtu_word(1400 - overhead), "{kind:?}");
        // The quote is the client's own SYN as the director forwarded it, whole (the
        // router quoted all of it).
        assert_eq!(e.quote, &forwarded(&syn)[14..]);
        assert_eq!(slot_counts(&rig, 10), (1, 1));
    }
}

#[test]
fn tunnel_mtu_reports_are_capped_by_the_port_and_other_errors_relayed_as_they_are() {
    let (mut rig, syn) = tun_rig(tunnel(TunnelKind::Ipip, 0), true);
    let encap = encapsulated(&syn, TunnelKind::Ipip, 0);
    // A report above the egress port's MTU (1500), and a pre-RFC 1191 report of 0.
    for reported in [9000, 0] {
        let out = rig.send(tunnel_error_frame(
            &encap,
            UNREACH,
            FRAG_NEEDED,
            mtu_word(reported),
        ));
        assert_eq!(error_seen(&out[0]).rest, mtu_word(1480), "{reported}");
    }
    // Too small to subtract from: kept (IPVS's rule).
    let out = rig.send(tunnel_error_frame(
        &encap,
        UNREACH,
        FRAG_NEEDED,
        mtu_word(80),
    ));
    assert_eq!(error_seen(&out[0]).rest, mtu_word(80));
    // Host unreachable and TTL exceeded: the same type, code and word, about the SYN.
    for (t, c) in [(UNREACH, 1), (TIME_EXCEEDED, 0)] {
        let out = rig.send(tunnel_error_frame(&encap, t, c, [0; 4]));
        let e = error_seen(&out[0]);
        assert_eq!((e.msg_type, e.code, e.rest, e.dst), (t, c, [0; 4], CLIENT));
        assert_eq!(e.quote, &forwarded(&syn)[14..]);
    }
    // A router that quoted only the outer header and 8 bytes: nothing to tell the client.
    let out = rig.send(icmp_error(
        &via_lan(RS1_MAC, ROUTER_RS, D_IP),
        UNREACH,
        FRAG_NEEDED,
        mtu_word(1400),
        &encap[..28],
    ));
    assert!(out.is_empty());
    assert_eq!(rig.drops(DropReason::IcmpNotEcho), 1);
}

#[test]
fn tunnel_errors_without_df_or_without_connection_are_not_relayed() {
    // The client's packet allowed fragmentation: it does no PMTU discovery.
    let (mut rig, syn) = tun_rig(tunnel(TunnelKind::Ipip, 0), false);
    let encap = encapsulated(&syn, TunnelKind::Ipip, 0);
    assert!(
        rig.send(tunnel_error_frame(
            &encap,
            UNREACH,
            FRAG_NEEDED,
            mtu_word(1400)
        ))
        .is_empty()
    );
    assert_eq!(rig.drops(DropReason::IcmpPmtuNoDf), 1);

    let (mut rig, gue_syn) = tun_rig(tunnel(TunnelKind::Gue, 6080), true);
    // A SYN of no connection, in the tunnel: the director's stack's business, not ours
    // (no kernel port here: the local responder counts a non-echo ICMP).
    let stranger = tcp_frame(&via_router(CLIENT2, VIP, true), 1, 80, SYN, 1, 0, b"");
    let e = encapsulated(&stranger, TunnelKind::Gue, 6080);
    assert!(
        rig.send(tunnel_error_frame(&e, UNREACH, 1, [0; 4]))
            .is_empty()
    );
    // UDP to another port of rs1 (a health check, say): not a tunnel packet.
    let check = udp_frame(&via_lan(D_MAC, D_IP, RS1), 40000, 53, b"health");
    assert!(
        rig.send(icmp_error(
            &via_lan(RS1_MAC, RS1, D_IP),
            UNREACH,
            PORT_UNREACH,
            [0; 4],
            &quote(&check, check.len() - 14),
        ))
        .is_empty()
    );
    // IPIP to a GUE real server: not what the director sends it.
    let ipip = encapsulated(&gue_syn, TunnelKind::Ipip, 0);
    assert!(
        rig.send(tunnel_error_frame(&ipip, UNREACH, 1, [0; 4]))
            .is_empty()
    );
    assert_eq!(rig.drops(DropReason::IcmpNotEcho), 3);
    assert_eq!(rig.drops(DropReason::IcmpUntranslated), 0);
}

#[test]
fn errors_quoting_no_connection_are_dropped_and_counted() {
    let mut rig = one(service(
        1,
        Proto::Tcp,
        80,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 8080, 1, FwdMethod::Nat)],
    ));
    let reply = tcp_frame(&via_lan(RS1_MAC, VIP, CLIENT2), 80, 1, ACK, 1, 1, b"");
    let cases = [
        // About a VIP packet to a client that has no connection.
        icmp_error(
            &via_router(ROUTER_C, VIP, false),
            UNREACH,
            FRAG_NEEDED,
            mtu_word(1400),
            &quote(&reply, 28),
        ),
        // From a real server about a packet to a client it has no connection with.
        icmp_error(
            &via_lan(RS1_MAC, RS1, CLIENT),
            UNREACH,
            PORT_UNREACH,
            [0; 4],
            &quote(&udp_frame(&via_router(CLIENT, RS1, true), 5, 53, b"q"), 28),
        ),
        // About an echo reply (not a connection of the table).
        icmp_error(
            &via_router(ROUTER_C, VIP, false),
            UNREACH,
            1,
            [0; 4],
            &quote(&echo_frame(&via_lan(D_MAC, VIP, CLIENT), 7, 1), 28),
        ),
        // A redirect is never translated.
        icmp_error(
            &via_router(ROUTER_C, VIP, false),
            REDIRECT,
            1,
            [10, 0, 0, 1],
            &quote(&reply, 28),
        ),
    ];
    for (i, err) in cases.into_iter().enumerate() {
        assert!(rig.send(err).is_empty(), "case {i}");
        assert_eq!(rig.drops(DropReason::IcmpUntranslated), i as u64 + 1);
    }
}

#[test]
fn malformed_quotes_are_counted() {
    let mut rig = one(service(
        1,
        Proto::Tcp,
        80,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 8080, 1, FwdMethod::Nat)],
    ));
    rig.send(tcp_frame(
        &via_router(CLIENT, VIP, true),
        40000,
        80,
        SYN,
        1,
        0,
        b"",
    ));
    let reply = tcp_frame(&via_lan(RS1_MAC, VIP, CLIENT), 80, 40000, SYNACK, 1, 2, b"");
    let good = quote(&reply, 28);
    let to_vip = via_router(ROUTER_C, VIP, false);
    let mut not_ipv4 = good.clone();
    not_ipv4[0] = 0x65;
    let mut short_ihl = good.clone();
    short_ihl[0] = 0x44;
    let mut long_ihl = good.clone();
    long_ihl[0] = 0x47; // 28-byte header: no room for 8 bytes after it
    for (i, q) in [
        not_ipv4,
        short_ihl,
        long_ihl,
        good[..24].to_vec(),
        good[..12].to_vec(),
        vec![],
    ]
    .iter()
    .enumerate()
    {
        assert!(
            rig.send(icmp_error(&to_vip, UNREACH, 1, [0; 4], q))
                .is_empty()
        );
        assert_eq!(
            rig.drops(DropReason::IcmpEmbeddedMalformed),
            i as u64 + 1,
            "case {i}"
        );
    }
    // A quoted non-first fragment carries no ports.
    let mut frag = good.clone();
    frag[6..8].copy_from_slice(&0x0010u16.to_be_bytes());
    assert!(
        rig.send(icmp_error(&to_vip, UNREACH, 1, [0; 4], &frag))
            .is_empty()
    );
    assert_eq!(rig.drops(DropReason::IcmpUntranslated), 1);
    // A bad ICMP checksum.
    let mut bad = icmp_error(&to_vip, UNREACH, 1, [0; 4], &good);
    *bad.last_mut().unwrap() ^= 0xff;
    assert!(rig.send(bad).is_empty());
    assert_eq!(rig.drops(DropReason::IcmpMalformed), 1);
    // The good one still goes through.
    assert_eq!(
        rig.send(icmp_error(&to_vip, UNREACH, 1, [0; 4], &good))
            .len(),
        1
    );
}

#[test]
fn echo_to_a_vip_is_still_answered() {
    let mut rig = one(service(
        1,
        Proto::Tcp,
        80,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 80, 1, FwdMethod::Nat)],
    ));
    let out = rig.send(echo_frame(&via_router(CLIENT, VIP, false), 9, 3));
    assert_eq!(out.len(), 1);
    let ip = ipv4::Packet::new_checked(&out[0][14..]).unwrap();
    assert_eq!((ip.src(), ip.dst()), (VIP, CLIENT));
    let m = icmp::Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(m.msg_type(), icmp::Message::EchoReply);
    assert_eq!(
        (m.echo_ident(), m.echo_seq(), m.data()),
        (9, 3, &b"ping"[..])
    );
    assert_eq!(rig.worker.counters().read().icmp_echo_replies, 1);
    // Echo to an address that is not a VIP is not ours.
    assert!(
        rig.send(echo_frame(&via_router(CLIENT, RS2, false), 9, 4))
            .is_empty()
    );
    assert_eq!(rig.drops(DropReason::NotForUs), 1);
}

/// Two clients: one owned by worker 0, one by worker 1 (of two).
fn clients_of_each_worker() -> (Ipv4Addr, Ipv4Addr) {
    let mut mine = None;
    let mut theirs = None;
    for i in 2..200u8 {
        let c = Ipv4Addr::new(10, 9, 1, i);
        match steer::client_owner(c, 32, 2) {
            0 => mine = mine.or(Some(c)),
            _ => theirs = theirs.or(Some(c)),
        }
    }
    (mine.unwrap(), theirs.unwrap())
}

#[test]
fn icmp_owner_is_the_owner_of_the_quoted_flow_reversed() {
    let svc = service(
        1,
        Proto::Tcp,
        80,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 8080, 1, FwdMethod::FullNat)],
    );
    let mut snap = snapshot(1, vec![svc], true);
    snap.workers = 4;
    let ip4 = |src, dst| parse::Ip4 {
        hlen: 20,
        total: 40,
        proto: 6,
        src,
        dst,
        ttl: 64,
        df: true,
        fragment: false,
    };
    for i in 0..64u8 {
        let client = Ipv4Addr::new(10, 9, 2, i);
        let lport = 1024 + u16::from(i);
        for me in 0..4 {
            // Quote VIP:80 -> client (client side): as the client's next packet to the VIP.
            assert_eq!(
                steer::icmp_owner(&snap, VIP, 80, client, 5000, me),
                steer::owner(&snap, &ip4(client, VIP), 5000, 80, me)
            );
            // Quote laddr:lport -> RS (real-server side): as the server's next reply.
            assert_eq!(
                steer::icmp_owner(&snap, LADDR, lport, RS1, 8080, me),
                steer::owner(&snap, &ip4(RS1, LADDR), 8080, lport, me)
            );
            // NAT: client -> RS quoted; the reply RS -> client.
            assert_eq!(
                steer::icmp_owner(&snap, client, 5000, RS1, 8080, me),
                steer::owner(&snap, &ip4(RS1, client), 8080, 5000, me)
            );
        }
        // The local port's partition decides, whoever the client.
        let o = u16::from(i) % 4;
        assert_eq!(steer::icmp_owner(&snap, LADDR, lport, RS1, 8080, o), None);
    }
}

#[test]
fn errors_are_handed_to_the_worker_owning_the_quoted_flow() {
    let (mine, theirs) = clients_of_each_worker();
    let svc = service(
        1,
        Proto::Udp,
        53,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 53, 1, FwdMethod::Nat)],
    );
    let mut snap = snapshot(1, vec![svc], true);
    snap.workers = 2;
    let mut rig = Rig::new(snap);
    let fwd = rig.send(udp_frame(&via_router(mine, VIP, false), 7, 53, b"q"));
    assert_eq!(fwd.len(), 1);
    // About the client worker 1 owns: handed over (this rig has no rings: counted full).
    let other = udp_frame(&via_router(theirs, RS1, false), 7, 53, b"q");
    assert!(
        rig.send(icmp_error(
            &via_lan(RS1_MAC, RS1, theirs),
            UNREACH,
            PORT_UNREACH,
            [0; 4],
            &quote(&other, 28),
        ))
        .is_empty()
    );
    assert_eq!(rig.drops(DropReason::HandOffFull), 1);
    // About this worker's client: translated here, though the outer packet (from rs1, to
    // the client) says nothing of ports.
    let out = rig.send(icmp_error(
        &via_lan(RS1_MAC, RS1, mine),
        UNREACH,
        PORT_UNREACH,
        [0; 4],
        &quote(&fwd[0], 28),
    ));
    let e = error_seen(&out[0]);
    assert_eq!((e.src, e.dst), (VIP, mine));
    assert_eq!(rig.drops(DropReason::IcmpUntranslated), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever a quote holds, an error is one counted outcome: sent or dropped, never a
    /// panic.
    #[test]
    fn arbitrary_quotes_never_panic(
        msg_type in prop::sample::select(vec![3u8, 4, 5, 11, 12]),
        code in 0u8..16,
        to in prop::sample::select(vec![VIP, LADDR, D_IP, CLIENT]),
        keep in 0usize..60,
        noise in proptest::collection::vec(any::<u8>(), 0..60),
        flips in proptest::collection::vec((0usize..60, any::<u8>()), 0..4),
    ) {
        let mut rig = one(service(
            1,
            Proto::Tcp,
            80,
            SchedulerKind::Rr,
            vec![dest(10, RS1, 8080, 1, FwdMethod::FullNat)],
        ));
        let fwd = rig.send(tcp_frame(&via_router(CLIENT, VIP, true), 1, 80, SYN, 1, 0, b""));
        // Start from a real quote, keep a prefix, append noise, flip a few bytes.
        let mut q = quote(&fwd[0], fwd[0].len() - 14);
        q.truncate(keep);
        q.extend_from_slice(&noise);
        for (at, v) in flips {
            if let Some(b) = q.get_mut(at) {
                *b = v;
            }
        }
        let before = rig.worker.counters().read();
        let out = rig.send(icmp_error(&via_lan(RS1_MAC, RS1, to), msg_type, code, [0, 0, 5, 0], &q));
        let after = rig.worker.counters().read();
        let dropped: u64 = DropReason::ALL.iter().map(|r| after.drops(*r) - before.drops(*r)).sum();
        prop_assert_eq!(out.len() as u64 + dropped, 1);
        for f in &out {
            if ipv4::Packet::new_checked(&f[14..]).is_ok_and(|ip| ip.protocol() == IpProtocol::Icmp) {
                error_seen(f);
            }
        }
    }
}

#[test]
fn snapshot_swaps_keep_translating() {
    // The translation reads the connection, not the service: a service removed after the
    // connection was made still gets its errors translated (like its packets).
    let svc = service(
        1,
        Proto::Udp,
        53,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 53, 1, FwdMethod::Nat)],
    );
    let mut rig = one(svc);
    let fwd = rig.send(udp_frame(&via_router(CLIENT, VIP, false), 7, 53, b"q"));
    rig.updates
        .send(Arc::new(snapshot(2, vec![], true)))
        .unwrap();
    let out = rig.send(icmp_error(
        &via_lan(RS1_MAC, RS1, CLIENT),
        UNREACH,
        PORT_UNREACH,
        [0; 4],
        &quote(&fwd[0], 28),
    ));
    assert_eq!(error_seen(&out[0]).src, VIP);
}
