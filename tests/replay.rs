//! `rvsd replay` over the generated capture (pcaps/local-in.pcap, see
//! scripts/gen-pcaps.py): the real DPDK path through net_pcap must answer ARP and ping for
//! the director's address, and nothing else; the pure pcap port must write the very same
//! bytes; bad inputs must fail fast with a clear message.
mod common;

use std::net::Ipv4Addr;

use common::*;
use dataplane::wire::checksum;
use dataplane::wire::ethernet::Frame;
use dataplane::wire::icmp::{self, Message};
use dataplane::wire::{ArpOperation, EtherType, IpProtocol, MacAddr, arp, ipv4};

const DIRECTOR_MAC: MacAddr = MacAddr([0x02, 0x70, 0x63, 0x61, 0x70, 0x00]);
const DIRECTOR_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const CLIENT_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x01]);
const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const OTHER_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x05]);
const OTHER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);

fn replay(engine: &str, dir: &TempDir, out: &str) -> (Vec<Vec<u8>>, String) {
    let config = write_config(dir, "net_null0");
    let output = dir.path(out);
    let input = fixture("local-in.pcap");
    let result = rvsd(&[
        "replay",
        "--engine",
        engine,
        "--config",
        config.to_str().unwrap(),
        "--in",
        input.to_str().unwrap(),
        "--out",
        output.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&result.stdout).into_owned();
    assert!(
        result.status.success(),
        "rvsd replay ({engine}) failed: {}\n{stdout}\n{}",
        result.status,
        String::from_utf8_lossy(&result.stderr)
    );
    (frames(&output), stdout)
}

fn check_arp_reply(frame: &[u8], requester_mac: MacAddr, requester_ip: Ipv4Addr) {
    let eth = Frame::new_checked(frame).unwrap();
    assert_eq!(eth.dst(), requester_mac, "ARP reply goes to the requester");
    assert_eq!(eth.src(), DIRECTOR_MAC);
    assert_eq!(eth.ethertype(), EtherType::Arp);
    let a = arp::Packet::new_checked(eth.payload()).unwrap();
    assert_eq!(a.operation(), ArpOperation::Reply);
    assert_eq!(a.sender_mac(), DIRECTOR_MAC);
    assert_eq!(a.sender_ip(), DIRECTOR_IP);
    assert_eq!(a.target_mac(), requester_mac);
    assert_eq!(a.target_ip(), requester_ip);
}

fn check_echo_reply(frame: &[u8], peer_mac: MacAddr, peer_ip: Ipv4Addr, ident: u16, seq: u16) {
    let eth = Frame::new_checked(frame).unwrap();
    assert_eq!(eth.dst(), peer_mac);
    assert_eq!(eth.src(), DIRECTOR_MAC);
    assert_eq!(eth.ethertype(), EtherType::Ipv4);
    // new_checked verifies the header checksum; verify it again from scratch anyway.
    let ip = ipv4::Packet::new_checked(eth.payload()).expect("IPv4 header valid");
    assert!(checksum::verify(&eth.payload()[..ip.header_len()]));
    assert_eq!(ip.src(), DIRECTOR_IP);
    assert_eq!(ip.dst(), peer_ip);
    assert_eq!(ip.protocol(), IpProtocol::Icmp);
    assert_eq!(ip.ttl(), 64);
    assert!(checksum::verify(ip.payload()), "ICMP checksum");
    let m = icmp::Packet::new_checked(ip.payload()).expect("ICMP valid");
    assert_eq!(m.msg_type(), Message::EchoReply);
    assert_eq!(m.code(), 0);
    assert_eq!(m.echo_ident(), ident);
    assert_eq!(m.echo_seq(), seq);
}

#[test]
fn dpdk_replay_answers_only_for_the_director_and_matches_the_pcap_port() {
    if !is_root() {
        println!("skipped: the DPDK replay needs root (EAL memory setup)");
        return;
    }
    let dir = TempDir::new("replay");
    let (dpdk, stdout) = replay("dpdk", &dir, "out-dpdk.pcap");

    // Exactly the four answers, in input order: ARP, ping, ARP, big ping.
    assert_eq!(dpdk.len(), 4, "{stdout}");
    check_arp_reply(&dpdk[0], CLIENT_MAC, CLIENT_IP);
    check_echo_reply(&dpdk[1], CLIENT_MAC, CLIENT_IP, 0x1234, 1);
    check_arp_reply(&dpdk[2], OTHER_MAC, OTHER_IP);
    check_echo_reply(&dpdk[3], OTHER_MAC, OTHER_IP, 0xbeef, 9);
    assert_eq!(dpdk[3].len(), 14 + 20 + 8 + 1024);

    // The echo data comes back unchanged.
    let input = frames(&fixture("local-in.pcap"));
    assert_eq!(&dpdk[1][42..], &input[2][42..]);
    assert_eq!(&dpdk[3][42..], &input[7][42..]);

    // Byte for byte what scapy built independently (checksums from scratch).
    assert_eq!(dpdk, frames(&fixture("local-expected.pcap")));

    // Every other packet is counted under its reason.
    for (name, value) in [
        ("rx_packets", 12),
        ("tx_packets", 4),
        ("arp_replies", 2),
        ("icmp_echo_replies", 2),
        ("drop.arp_not_ours", 1),
        ("drop.arp_not_request", 1),
        ("drop.not_for_us", 2),
        ("drop.truncated", 1),
        ("drop.not_ipv4", 1),
        ("drop.icmp_not_echo", 1),
        ("drop.local_proto_unhandled", 1),
        ("port.0.ipackets", 12),
        ("port.0.opackets", 4),
    ] {
        assert_eq!(counter(&stdout, name), Some(value), "{name} in\n{stdout}");
    }

    // The pure-Rust pcap port gives byte-identical packets.
    let (pcap, _) = replay("pcap", &dir, "out-pcap.pcap");
    assert_eq!(pcap, dpdk);
}

#[test]
fn pcap_engine_replay_matches_the_expected_capture() {
    // Runs without root or EAL: the same worker and stage over the pcap port.
    let dir = TempDir::new("replay-pcap");
    let (pcap, stdout) = replay("pcap", &dir, "out.pcap");
    assert_eq!(pcap, frames(&fixture("local-expected.pcap")), "{stdout}");
    assert_eq!(counter(&stdout, "drop.not_for_us"), Some(2));
}

fn expect_failure(args_in: &std::path::Path, engine: &str, needle: &str) {
    let dir = TempDir::new(&format!("bad-{engine}-{needle}").replace([' ', '/'], "_"));
    let config = write_config(&dir, "net_null0");
    let out = dir.path("out.pcap");
    let result = rvsd(&[
        "replay",
        "--engine",
        engine,
        "--config",
        config.to_str().unwrap(),
        "--in",
        args_in.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success(), "{engine}: {needle}: should fail");
    assert!(
        stderr.contains(needle),
        "{engine}: expected {needle:?} in:\n{stderr}"
    );
}

#[test]
fn bad_inputs_fail_fast_with_a_clear_error() {
    let dir = TempDir::new("bad-inputs");
    let good = std::fs::read(fixture("local-in.pcap")).unwrap();
    let truncated = dir.path("truncated.pcap");
    std::fs::write(&truncated, &good[..good.len() - 7]).unwrap();
    let empty = dir.path("empty.pcap");
    std::fs::write(&empty, &good[..24]).unwrap();
    let text = dir.path("notes.txt");
    std::fs::write(&text, "this is not a capture, just some text").unwrap();
    let missing = dir.path("missing.pcap");
    let mut engines = vec!["pcap"];
    if is_root() {
        engines.push("dpdk");
    } else {
        println!("skipped: the dpdk engine half needs root");
    }
    for engine in engines {
        expect_failure(&missing, engine, "cannot open");
        expect_failure(&empty, engine, "holds no packets");
        expect_failure(&truncated, engine, "truncated after 11 complete records");
        expect_failure(&text, engine, "not a pcap file");
    }
}

#[test]
fn version_names_dpdk_and_the_revision() {
    let out = rvsd(&["--version"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.starts_with("rvsd 0.1.0 (DPDK 22.11"), "{text}");
    assert!(text.contains(", git "), "{text}");
}
