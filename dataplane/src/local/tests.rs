//! The responder over hand-built frames: every answer is checked field by field, with
//! checksums verified from scratch; every other frame must be dropped for its reason and
//! left unanswered.
use std::net::Ipv4Addr;
use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::wire::checksum;
use crate::worker::Snapshot;

const OUR_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const OUR_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PEER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

fn snapshot() -> Arc<Snapshot> {
    Arc::new(Snapshot {
        generation: 1,
        ports: vec![PortView::network("dp0", OUR_MAC, vec![OUR_IP])],
        ..Snapshot::default()
    })
}

fn run(frame: &mut [u8]) -> (Verdict, crate::stats::CounterValues) {
    let snap = snapshot();
    let counters = WorkerCounters::default();
    let ctx = PacketCtx {
        port: 0,
        worker: 0,
        now: 0,
        handed_off: false,
        snapshot: &snap,
        counters: &counters,
    };
    let v = respond(frame, &ctx);
    (v, counters.read())
}

fn arp_request(target: Ipv4Addr, op: u16) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&PEER_MAC);
    f[12..14].copy_from_slice(&[0x08, 0x06]);
    f[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 0]);
    f[20..22].copy_from_slice(&op.to_be_bytes());
    f[22..28].copy_from_slice(&PEER_MAC);
    f[28..32].copy_from_slice(&PEER_IP.octets());
    f[38..42].copy_from_slice(&target.octets());
    f
}

fn echo_request(dst_mac: [u8; 6], dst: Ipv4Addr, icmp_type: u8) -> Vec<u8> {
    let payload = b"rvs-ping-payload";
    let icmp_len = 8 + payload.len();
    let mut f = vec![0u8; 14 + 20 + icmp_len];
    f[0..6].copy_from_slice(&dst_mac);
    f[6..12].copy_from_slice(&PEER_MAC);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    ipv4::Repr {
        src: PEER_IP,
        dst,
        protocol: IpProtocol::Icmp,
        payload_len: icmp_len,
        ttl: 61,
        tos: 0,
        ident: 0x4242,
        dont_frag: false,
    }
    .emit(&mut f[14..])
    .unwrap();
    icmp::emit_echo(&mut f[34..], Message::EchoRequest, 0x1234, 7, payload).unwrap();
    f[34] = icmp_type;
    // Re-sum in case the type was changed.
    f[36..38].copy_from_slice(&[0, 0]);
    let sum = checksum::checksum(&f[34..]);
    f[36..38].copy_from_slice(&sum.to_be_bytes());
    f
}

#[test]
fn arp_request_for_our_address_becomes_the_reply() {
    let mut f = arp_request(OUR_IP, 1);
    let (v, c) = run(&mut f);
    assert_eq!(v, Verdict::Transmit { port: 0 });
    assert_eq!(c.arp_replies, 1);
    assert_eq!(&f[0..6], &PEER_MAC, "to the requester");
    assert_eq!(&f[6..12], &OUR_MAC, "from our MAC");
    assert_eq!(&f[12..14], &[0x08, 0x06]);
    assert_eq!(&f[14..20], &[0, 1, 8, 0, 6, 4]);
    assert_eq!(&f[20..22], &[0, 2], "operation reply");
    assert_eq!(&f[22..28], &OUR_MAC, "sender hardware = us");
    assert_eq!(
        &f[28..32],
        &OUR_IP.octets(),
        "sender IP = the asked address"
    );
    assert_eq!(&f[32..38], &PEER_MAC, "target hardware = requester");
    assert_eq!(&f[38..42], &PEER_IP.octets(), "target IP = requester");
    assert_eq!(f.len(), 60, "padding kept");
}

#[test]
fn other_arp_is_dropped_with_its_reason() {
    let cases = [
        (
            arp_request(Ipv4Addr::new(10, 0, 0, 9), 1),
            DropReason::ArpNotOurs,
        ),
        (arp_request(OUR_IP, 2), DropReason::ArpNotRequest),
        (arp_request(OUR_IP, 9), DropReason::ArpMalformed),
        (arp_request(PEER_IP, 1), DropReason::ArpNotRequest), // gratuitous
        (arp_request(OUR_IP, 1)[..30].to_vec(), DropReason::Truncated),
    ];
    for (mut f, reason) in cases {
        let before = f.clone();
        let (v, c) = run(&mut f);
        assert_eq!(v, Verdict::Drop(reason));
        assert_eq!(c.arp_replies, 0);
        assert_eq!(f, before, "a dropped frame is not rewritten");
    }
}

#[test]
fn echo_request_to_us_becomes_a_valid_reply() {
    let mut f = echo_request(OUR_MAC, OUR_IP, 8);
    let request = f.clone();
    let (v, c) = run(&mut f);
    assert_eq!(v, Verdict::Transmit { port: 0 });
    assert_eq!(c.icmp_echo_replies, 1);
    assert_eq!(&f[0..6], &PEER_MAC);
    assert_eq!(&f[6..12], &OUR_MAC);
    let ip = ipv4::Packet::new_checked(&f[14..]).expect("valid IPv4 with a good checksum");
    assert_eq!(ip.src(), OUR_IP);
    assert_eq!(ip.dst(), PEER_IP);
    assert_eq!(ip.ttl(), icmp::REPLY_TTL);
    assert_eq!(ip.protocol(), IpProtocol::Icmp);
    assert!(checksum::verify(&f[14..34]), "IPv4 header checksum");
    assert!(checksum::verify(&f[34..]), "ICMP checksum");
    assert_eq!(f[34], 0, "echo reply");
    assert_eq!(f[35], 0);
    assert_eq!(
        &f[38..],
        &request[38..],
        "identifier, sequence and data echoed"
    );
}

#[test]
fn other_ipv4_is_dropped_with_its_reason() {
    let mut bad_ip_sum = echo_request(OUR_MAC, OUR_IP, 8);
    bad_ip_sum[24] ^= 0xff;
    let mut bad_icmp_sum = echo_request(OUR_MAC, OUR_IP, 8);
    bad_icmp_sum[36] ^= 0xff;
    let mut udp = echo_request(OUR_MAC, OUR_IP, 8);
    udp[23] = 17;
    udp[24..26].copy_from_slice(&[0, 0]);
    let s = checksum::checksum(&udp[14..34]);
    udp[24..26].copy_from_slice(&s.to_be_bytes());
    let mut fragment = echo_request(OUR_MAC, OUR_IP, 8);
    fragment[20] = 0x20; // MF
    fragment[24..26].copy_from_slice(&[0, 0]);
    let s = checksum::checksum(&fragment[14..34]);
    fragment[24..26].copy_from_slice(&s.to_be_bytes());
    let mut ipv6 = echo_request(OUR_MAC, OUR_IP, 8);
    ipv6[12..14].copy_from_slice(&[0x86, 0xdd]);
    let cases = [
        (
            echo_request(OUR_MAC, Ipv4Addr::new(10, 0, 0, 7), 8),
            DropReason::NotForUs,
        ),
        (echo_request(PEER_MAC, OUR_IP, 8), DropReason::NotForUs),
        (echo_request(OUR_MAC, OUR_IP, 13), DropReason::IcmpNotEcho),
        (echo_request(OUR_MAC, OUR_IP, 0), DropReason::IcmpNotEcho),
        (bad_ip_sum, DropReason::Ipv4Malformed),
        (bad_icmp_sum, DropReason::IcmpMalformed),
        (udp, DropReason::LocalProtoUnhandled),
        (fragment, DropReason::Ipv4Fragment),
        (ipv6, DropReason::NotIpv4),
        (
            echo_request(OUR_MAC, OUR_IP, 8)[..30].to_vec(),
            DropReason::Truncated,
        ),
        (vec![0u8; 10], DropReason::Truncated),
    ];
    for (i, (mut f, reason)) in cases.into_iter().enumerate() {
        let before = f.clone();
        let (v, c) = run(&mut f);
        assert_eq!(v, Verdict::Drop(reason), "case {i}");
        assert_eq!(c.icmp_echo_replies, 0);
        assert_eq!(f, before, "case {i}: a dropped frame is not rewritten");
    }
}

#[test]
fn an_unknown_port_is_a_counted_drop() {
    let snap = snapshot();
    let counters = WorkerCounters::default();
    let ctx = PacketCtx {
        port: 3,
        worker: 0,
        now: 0,
        handed_off: false,
        snapshot: &snap,
        counters: &counters,
    };
    let mut f = arp_request(OUR_IP, 1);
    assert_eq!(respond(&mut f, &ctx), Verdict::Drop(DropReason::NoSuchPort));
}

proptest! {
    /// Any bytes: no panic, and either a drop or an answer of the same length.
    #[test]
    fn arbitrary_frames_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut f = bytes.clone();
        let (v, _) = run(&mut f);
        prop_assert_eq!(f.len(), bytes.len());
        if let Verdict::Drop(_) = v {
            prop_assert_eq!(f, bytes);
        }
    }

    /// Valid requests with mutated bytes: still no panic, and any answer is well-formed.
    #[test]
    fn mutated_requests_never_panic(at in 0usize..50, value in any::<u8>(), arp in any::<bool>()) {
        let mut f = if arp { arp_request(OUR_IP, 1) } else { echo_request(OUR_MAC, OUR_IP, 8) };
        if let Some(b) = f.get_mut(at) {
            *b = value;
        }
        let (v, _) = run(&mut f);
        if v == (Verdict::Transmit { port: 0 }) && !arp && f[12..14] == [8, 0] {
            prop_assert!(checksum::verify(&f[14..34]));
            prop_assert!(checksum::verify(&f[34..]));
        }
    }
}
