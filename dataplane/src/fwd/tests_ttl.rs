//! The TTL at the director, as Linux IPVS handles it (`decrement_ttl` in
//! `__ip_vs_get_out_rt` for DR, NAT, TUN and relayed ICMP errors; the kernel's forwarding
//! for NAT replies): every forwarded packet leaves with its TTL one less and its IPv4
//! header checksum adjusted; one that arrives with TTL 1 or 0 is not forwarded but
//! answered with ICMP time exceeded — from the VIP when it was sent to one, from the
//! director's own address otherwise — and counted `ttl_exceeded`; an ICMP error is never
//! answered with another one. Expected frames are built independently of the stage: by the
//! test builders (checksums from scratch) or with scapy (the constants below).
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;

use super::tests::{
    CLIENT, D_IP, D_MAC, LADDR, R_MAC, RS1, RS1_MAC, Rig, VIP, dest, forwarded, service, snapshot,
};
use super::tests_icmp::{error_seen, icmp_error};
use crate::conn::{FwdMethod, Proto};
use crate::sched::SchedulerKind;
use crate::stats::DropReason;
use crate::testutil::{L2L3, seen, tcp_frame, udp_frame};
use crate::wire::ip::IpProtocol;
use crate::wire::ipv4;
use crate::wire::testutil::hex;

const SYN: u16 = 0x02;
const ACK: u16 = 0x10;
const PSH: u16 = 0x08;
const SYNACK: u16 = 0x12;

const TIME_EXCEEDED: u8 = 11;
const UNREACH: u8 = 3;
const PORT_UNREACH: u8 = 3;
const FRAG_NEEDED: u8 = 4;

// Built with scapy 2.5 (`/usr/bin/python3`), `syn(ttl)` below being
//   IP(src="10.9.0.2", dst="10.0.0.100", ttl=ttl, flags="DF", id=1)
//   /TCP(sport=40000, dport=80, flags="S", seq=100, window=64240)
// and `reply` being
//   IP(src="10.0.0.11", dst="10.9.0.2", ttl=1, flags="DF", id=1)
//   /TCP(sport=8080, dport=40000, flags="SA", seq=5000, ack=101, window=64240)

// Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")/syn(1): what the router hands in.
const SYN_TTL1_IN: &str = "020000000002 020000000001 0800
    45000028 00014000 01066561 0a090002 0a000064
    9c400050 00000064 00000000 5002faf0 038f0000";
// Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:02")
//   /IP(src="10.0.0.100", dst="10.9.0.2", ttl=64, tos=0xc0, id=0)
//   /ICMP(type=11, code=0)/bytes(syn(1))
// Time exceeded from the VIP to the client, through the router, quoting the whole SYN.
const TIME_EXCEEDED_TO_CLIENT: &str = "020000000001 020000000002 0800
    45c00044 00000000 4001658b 0a000064 0a090002
    0b000989 00000000
    45000028 00014000 01066561 0a090002 0a000064
    9c400050 00000064 00000000 5002faf0 038f0000";
// Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:0b")/reply: rs1's SYN-ACK, TTL 1.
const REPLY_TTL1_IN: &str = "020000000002 02000000000b 0800
    45000028 00014000 010665ba 0a00000b 0a090002
    1f909c40 00001388 00000065 5012faf0 d10e0000";
// Ether(dst="02:00:00:00:00:0b", src="02:00:00:00:00:02")
//   /IP(src="10.0.0.2", dst="10.0.0.11", ttl=64, tos=0xc0, id=0)
//   /ICMP(type=11, code=0)/bytes(reply)
// Time exceeded from the director's port address back to rs1, quoting its reply untranslated.
const TIME_EXCEEDED_TO_RS: &str = "02000000000b 020000000002 0800
    45c00044 00000000 400165ed 0a000002 0a00000b
    0b000930 00000000
    45000028 00014000 010665ba 0a00000b 0a090002
    1f909c40 00001388 00000065 5012faf0 d10e0000";
// Ether(dst="02:00:00:00:00:0b", src="02:00:00:00:00:02")/syn(1): DR, a SYN that arrived
// with TTL 2 leaves with TTL 1.
const DR_SYN_TTL2_OUT: &str = "02000000000b 020000000002 0800
    45000028 00014000 01066561 0a090002 0a000064
    9c400050 00000064 00000000 5002faf0 038f0000";
// Ether(dst="02:00:00:00:00:0b", src="02:00:00:00:00:02")
//   /IP(src="10.0.0.2", dst="10.0.0.11", ttl=1, flags="DF", id=0, tos=0, proto=4)/syn(1)
// TUN (IPIP), a SYN that arrived with TTL 2: inner TTL 1, outer TTL copied from it.
const IPIP_SYN_TTL2_OUT: &str = "02000000000b 020000000002 0800
    4500003c 00004000 010465b2 0a000002 0a00000b
    45000028 00014000 01066561 0a090002 0a000064
    9c400050 00000064 00000000 5002faf0 038f0000";

/// Ethernet and IPv4 header fields of a test frame.
fn l2l3(macs: ([u8; 6], [u8; 6]), addrs: (Ipv4Addr, Ipv4Addr), ttl: u8) -> L2L3 {
    L2L3 {
        src_mac: macs.0,
        dst_mac: macs.1,
        src: addrs.0,
        dst: addrs.1,
        ttl,
        df: true,
    }
}

/// From the client, through the router, to the VIP.
fn from_client(ttl: u8) -> L2L3 {
    l2l3((R_MAC, D_MAC), (CLIENT, VIP), ttl)
}

/// The client's SYN to VIP:80 (the `syn(ttl)` of the scapy constants).
fn syn(ttl: u8) -> Vec<u8> {
    tcp_frame(&from_client(ttl), 40000, 80, SYN, 100, 0, b"")
}

/// A rig with one TCP service on VIP:80 and rs1:`rport` forwarded by `method`.
fn rig(method: FwdMethod, rport: u16) -> Rig {
    let svc = service(
        1,
        Proto::Tcp,
        80,
        SchedulerKind::Rr,
        vec![dest(10, RS1, rport, 1, method)],
    );
    Rig::new(snapshot(1, vec![svc], true))
}

/// The TTL and header checksum validity of the IPv4 packet in `frame`.
fn ttl_of(frame: &[u8]) -> (u8, bool) {
    let p = ipv4::Packet::new_embedded(&frame[14..]).unwrap();
    (p.ttl(), p.verify_checksum())
}

#[test]
fn the_counter_is_named_ttl_exceeded() {
    assert_eq!(DropReason::TtlExceeded.name(), "ttl_exceeded");
}

#[test]
fn dr_forwards_with_ttl_minus_one() {
    let mut rig = rig(FwdMethod::Dr, 80);
    let out = rig.send(syn(63));
    assert_eq!(out.len(), 1);
    // Built from scratch with TTL 62: only the MACs, the TTL and the checksum differ.
    let want = tcp_frame(
        &l2l3((D_MAC, RS1_MAC), (CLIENT, VIP), 62),
        40000,
        80,
        SYN,
        100,
        0,
        b"",
    );
    assert_eq!(out[0], want);
    assert_eq!(ttl_of(&out[0]), (62, true));
    // Data of the connection too.
    let data = tcp_frame(&from_client(200), 40000, 80, ACK | PSH, 101, 1, b"GET /");
    let out = rig.send(data.clone());
    assert_eq!(seen(&out[0]).payload, b"GET /");
    assert_eq!(ttl_of(&out[0]), (199, true));
    assert_eq!(out[0][12..], forwarded(&data)[12..]);
    assert_eq!(rig.drops(DropReason::TtlExceeded), 0);
}

#[test]
fn nat_forwards_both_directions_with_ttl_minus_one() {
    let mut rig = rig(FwdMethod::Nat, 8080);
    let out = rig.send(syn(63));
    assert_eq!(out.len(), 1);
    let want = tcp_frame(
        &l2l3((D_MAC, RS1_MAC), (CLIENT, RS1), 62),
        40000,
        8080,
        SYN,
        100,
        0,
        b"",
    );
    assert_eq!(out[0], want);
    // The real server's reply, through the director (its gateway): TTL 64 leaves as 63.
    let reply = tcp_frame(
        &l2l3((RS1_MAC, D_MAC), (RS1, CLIENT), 64),
        8080,
        40000,
        SYNACK,
        5000,
        101,
        b"",
    );
    let out = rig.send(reply);
    assert_eq!(out.len(), 1);
    let want = tcp_frame(
        &l2l3((D_MAC, R_MAC), (VIP, CLIENT), 63),
        80,
        40000,
        SYNACK,
        5000,
        101,
        b"",
    );
    assert_eq!(out[0], want);
    let c = rig.slots.get(10).unwrap().read();
    assert_eq!((c.inpkts, c.outpkts), (1, 1));
}

#[test]
fn fullnat_forwards_both_directions_with_ttl_minus_one() {
    let mut rig = rig(FwdMethod::FullNat, 8080);
    let out = rig.send(syn(63));
    let s = seen(&out[0]);
    assert_eq!((s.src, s.sport, s.dst, s.dport), (LADDR, 1024, RS1, 8080));
    assert_eq!(ttl_of(&out[0]), (62, true));
    let reply = tcp_frame(
        &l2l3((RS1_MAC, D_MAC), (RS1, LADDR), 64),
        8080,
        1024,
        SYNACK,
        5000,
        101,
        b"",
    );
    let out = rig.send(reply);
    let s = seen(&out[0]);
    assert_eq!((s.src, s.sport, s.dst, s.dport), (VIP, 80, CLIENT, 40000));
    assert_eq!(ttl_of(&out[0]), (63, true));
}

#[test]
fn tun_forwards_the_inner_packet_with_ttl_minus_one_and_copies_it_outside() {
    let mut rig = rig(FwdMethod::Tun, 80);
    let out = rig.send(syn(63));
    assert_eq!(out.len(), 1);
    let outer = ipv4::Packet::new_checked(&out[0][14..]).expect("outer header checksum");
    assert_eq!(outer.protocol(), IpProtocol::IpIp);
    assert_eq!((outer.src(), outer.dst(), outer.ttl()), (D_IP, RS1, 62));
    let want = tcp_frame(
        &l2l3((R_MAC, D_MAC), (CLIENT, VIP), 62),
        40000,
        80,
        SYN,
        100,
        0,
        b"",
    );
    assert_eq!(outer.payload(), &want[14..]);
}

#[test]
fn ttl_2_is_the_last_ttl_forwarded_and_leaves_as_1() {
    let mut rig = rig(FwdMethod::Dr, 80);
    assert_eq!(rig.send(syn(2)), vec![hex(DR_SYN_TTL2_OUT)]);
    let mut rig = self::rig(FwdMethod::Tun, 80);
    assert_eq!(rig.send(syn(2)), vec![hex(IPIP_SYN_TTL2_OUT)]);
    assert_eq!(rig.drops(DropReason::TtlExceeded), 0);
}

#[test]
fn ttl_1_to_a_vip_is_answered_with_time_exceeded_from_the_vip() {
    let mut rig = rig(FwdMethod::Dr, 80);
    // The test builder and scapy agree on the packet sent.
    assert_eq!(syn(1), hex(SYN_TTL1_IN));
    let out = rig.send(hex(SYN_TTL1_IN));
    // Not forwarded: the only frame out is the error, byte for byte what Linux sends.
    assert_eq!(out, vec![hex(TIME_EXCEEDED_TO_CLIENT)]);
    let e = error_seen(&out[0]);
    assert_eq!((e.msg_type, e.code, e.rest), (TIME_EXCEEDED, 0, [0; 4]));
    assert_eq!(
        (e.src, e.dst, e.dst_mac, e.src_mac),
        (VIP, CLIENT, R_MAC, D_MAC)
    );
    assert_eq!(e.quote, &hex(SYN_TTL1_IN)[14..]);
    assert_eq!(rig.drops(DropReason::TtlExceeded), 1);
}

#[test]
fn no_method_forwards_ttl_1_or_0_new_connection_or_not() {
    for method in [
        FwdMethod::Dr,
        FwdMethod::Nat,
        FwdMethod::FullNat,
        FwdMethod::Tun,
    ] {
        let mut rig = rig(method, 8080);
        // A new connection's SYN with TTL 1, then a segment of it with TTL 0.
        let first = syn(1);
        let second = tcp_frame(&from_client(0), 40000, 80, ACK | PSH, 101, 1, b"data");
        for (n, frame) in [first, second].into_iter().enumerate() {
            let out = rig.send(frame.clone());
            assert_eq!(out.len(), 1, "{method:?}");
            let e = error_seen(&out[0]);
            assert_eq!((e.msg_type, e.code), (TIME_EXCEEDED, 0), "{method:?}");
            assert_eq!(
                (e.src, e.dst, e.dst_mac),
                (VIP, CLIENT, R_MAC),
                "{method:?}"
            );
            assert_eq!((e.ttl, e.tos, e.df), (64, 0xc0, false));
            // The packet as the client sent it (nothing rewritten yet), all of it.
            assert_eq!(e.quote, &frame[14..], "{method:?}");
            assert_eq!(rig.drops(DropReason::TtlExceeded), n as u64 + 1);
        }
        // The connection exists (IPVS schedules before it transmits), nothing reached rs1.
        assert_eq!(rig.worker.stage().conns().len(), 1, "{method:?}");
    }
}

#[test]
fn a_long_expiring_packet_is_quoted_up_to_576_bytes() {
    let svc = service(
        1,
        Proto::Udp,
        53,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 53, 1, FwdMethod::Nat)],
    );
    let mut rig = Rig::new(snapshot(1, vec![svc], true));
    let big = udp_frame(&from_client(1), 5353, 53, &[b'q'; 1200]);
    let out = rig.send(big.clone());
    assert_eq!(out.len(), 1);
    let e = error_seen(&out[0]);
    assert_eq!(out[0].len() - 14, 576);
    assert_eq!(e.quote, &big[14..14 + 548]);
    assert_eq!(rig.drops(DropReason::TtlExceeded), 1);
}

#[test]
fn a_nat_reply_with_ttl_1_is_answered_from_the_directors_address() {
    let mut rig = rig(FwdMethod::Nat, 8080);
    assert_eq!(rig.send(syn(63)).len(), 1);
    let out = rig.send(hex(REPLY_TTL1_IN));
    // To rs1, from the port's own address, quoting the reply as rs1 sent it.
    assert_eq!(out, vec![hex(TIME_EXCEEDED_TO_RS)]);
    let e = error_seen(&out[0]);
    assert_eq!((e.src, e.dst, e.dst_mac), (D_IP, RS1, RS1_MAC));
    assert_eq!((e.msg_type, e.code), (TIME_EXCEEDED, 0));
    assert_eq!(rig.drops(DropReason::TtlExceeded), 1);
    // TTL 0 alike.
    let zero = tcp_frame(
        &l2l3((RS1_MAC, D_MAC), (RS1, CLIENT), 0),
        8080,
        40000,
        ACK,
        5001,
        101,
        b"",
    );
    let out = rig.send(zero.clone());
    assert_eq!(out.len(), 1);
    let e = error_seen(&out[0]);
    assert_eq!((e.src, e.dst, e.msg_type), (D_IP, RS1, TIME_EXCEEDED));
    assert_eq!(e.quote, &zero[14..]);
    assert_eq!(rig.drops(DropReason::TtlExceeded), 2);
}

#[test]
fn no_icmp_error_about_an_icmp_error() {
    // NAT: rs1's port unreachable about the forwarded query, on its way to the client.
    let svc = service(
        1,
        Proto::Udp,
        53,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 5353, 1, FwdMethod::Nat)],
    );
    let mut rig = Rig::new(snapshot(1, vec![svc], true));
    let fwd = rig.send(udp_frame(&from_client(60), 33000, 53, b"query"));
    assert_eq!(ttl_of(&fwd[0]), (59, true));
    let unreachable = |ttl| {
        icmp_error(
            &l2l3((RS1_MAC, D_MAC), (RS1, CLIENT), ttl),
            UNREACH,
            PORT_UNREACH,
            [0; 4],
            &fwd[0][14..],
        )
    };
    // With TTL 2 it is relayed (translated) with TTL 1.
    let out = rig.send(unreachable(2));
    assert_eq!(out.len(), 1);
    let e = error_seen(&out[0]);
    assert_eq!((e.src, e.dst, e.ttl, e.msg_type), (VIP, CLIENT, 1, UNREACH));
    // With TTL 1 or 0 it dies here, and nobody is told.
    for ttl in [1, 0] {
        assert!(rig.send(unreachable(ttl)).is_empty(), "ttl {ttl}");
    }
    assert_eq!(rig.drops(DropReason::TtlExceeded), 2);

    // DR and TUN: a router on the client's path about rs1's reply, to the VIP.
    for method in [FwdMethod::Dr, FwdMethod::Tun] {
        let mut rig = self::rig(method, 80);
        assert_eq!(rig.send(syn(63)).len(), 1);
        let reply = tcp_frame(
            &l2l3((RS1_MAC, D_MAC), (VIP, CLIENT), 64),
            80,
            40000,
            ACK | PSH,
            5001,
            101,
            &[b'z'; 1460],
        );
        let err = |ttl| {
            icmp_error(
                &l2l3((R_MAC, D_MAC), (Ipv4Addr::new(192, 0, 2, 1), VIP), ttl),
                UNREACH,
                FRAG_NEEDED,
                [0, 0, 0x05, 0x78],
                &reply[14..14 + 548],
            )
        };
        let out = rig.send(err(2));
        assert_eq!(out.len(), 1, "{method:?}");
        assert_eq!(&out[0][..6], &RS1_MAC);
        for ttl in [1, 0] {
            assert!(rig.send(err(ttl)).is_empty(), "{method:?} ttl {ttl}");
        }
        assert_eq!(rig.drops(DropReason::TtlExceeded), 2, "{method:?}");
    }
}

#[test]
fn no_time_exceeded_to_a_multicast_source() {
    // RFC 1122: no ICMP error to a multicast (or broadcast) source; the packet is only
    // dropped and counted.
    let mut rig = rig(FwdMethod::Dr, 80);
    let mut h = from_client(1);
    h.src = Ipv4Addr::new(224, 0, 0, 9);
    assert!(
        rig.send(tcp_frame(&h, 40000, 80, SYN, 100, 0, b""))
            .is_empty()
    );
    assert_eq!(rig.drops(DropReason::TtlExceeded), 1);
}

#[test]
fn time_exceeded_to_a_real_server_comes_from_the_address_in_its_subnet() {
    // A second address on the port, first in the list: rs1 hears from the one it shares a
    // prefix with (what the kernel's route lookup back to it picks).
    let svc = service(
        1,
        Proto::Tcp,
        80,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 8080, 1, FwdMethod::Nat)],
    );
    let mut s = snapshot(1, vec![svc], true);
    s.ports[0].ipv4 = vec![Ipv4Addr::new(192, 168, 7, 1), D_IP];
    s.ports[0].prefix_len = vec![24, 24];
    let mut rig = Rig::new(s);
    assert_eq!(rig.send(syn(63)).len(), 1);
    let out = rig.send(hex(REPLY_TTL1_IN));
    assert_eq!(out, vec![hex(TIME_EXCEEDED_TO_RS)]);
}
