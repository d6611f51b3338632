//! What a packet socket on a director's veth (DPDK `net_af_packet`) receives, with and
//! without the lab's offload policy, and that receivers check checksums of frames sent
//! through a packet socket (so a checksum bug in rvs cannot hide in the lab).
//! Needs root; skips otherwise.

mod support;

use std::net::SocketAddrV4;
use std::time::Duration;

use lab::plan::{self, CLIENT_ADDR};
use lab::{Lab, LabSpec, Mode, NodeId, Offloads};
use support::{ethernet_ipv4, ipv4_of, l4_checksum_ok, lab_or_skip, udp_packet};

const BODY: usize = 300_000;
/// 1500-byte IP MTU + 14-byte Ethernet header.
const WIRE_FRAME_MAX: usize = 1514;

/// NAT lab with the kernel director; fetches a large body from rs1 while capturing what
/// rs1 sends into the director's port (each segment twice: in from rs1 and out again
/// towards the router, the kernel director forwarding on the same port). Returns (frames, frames over 1514 bytes, frames
/// with a wrong TCP checksum).
fn frames_into_director(lab: &Lab) -> (usize, usize, usize) {
    lab.kernel_director(None).expect("kernel director");
    let _web = lab.http_server(NodeId::Server(1), 80).expect("http");
    let director = lab.node(NodeId::Director(1)).expect("director").clone();
    let capture = lab
        .capture(
            NodeId::Director(1),
            director.ifname(),
            "tcp and src host 10.0.0.11",
        )
        .expect("capture");
    let url = format!("http://{}/bytes/{BODY}", plan::server_addr(1));
    let reply = lab.curl(NodeId::Client, &url).expect("curl");
    assert_eq!((reply.status, reply.body.len()), (200, BODY));
    let file = capture.stop().expect("stop");
    assert_eq!(file.dropped, 0, "the capture lost packets");
    let frames = file.frames().expect("pcap");
    let oversized = frames.iter().filter(|f| f.len() > WIRE_FRAME_MAX).count();
    let bad_sums = frames
        .iter()
        .filter_map(|f| ipv4_of(f).and_then(l4_checksum_ok))
        .filter(|ok| !ok)
        .count();
    (frames.len(), oversized, bad_sums)
}

#[test]
fn with_offloads_off_the_director_gets_wire_frames_with_final_checksums() {
    let Some(lab) = lab_or_skip(LabSpec::new(Mode::Nat)) else {
        return;
    };
    let (frames, oversized, bad_sums) = frames_into_director(&lab);
    assert!(
        frames >= BODY / 1448,
        "only {frames} frames for {BODY} bytes"
    );
    assert_eq!(oversized, 0, "TSO frames reached the director");
    assert_eq!(bad_sums, 0, "partial checksums reached the director");
}

#[test]
fn with_kernel_defaults_the_director_gets_tso_frames_or_partial_checksums() {
    let Some(lab) = lab_or_skip(LabSpec::new(Mode::Nat).offloads(Offloads::Keep)) else {
        return;
    };
    let (frames, oversized, bad_sums) = frames_into_director(&lab);
    eprintln!(
        "kernel defaults: {frames} frames, {oversized} over {WIRE_FRAME_MAX} bytes, {bad_sums} bad checksums"
    );
    assert!(
        oversized > 0 || bad_sums > 0,
        "the offload policy would be pointless: {frames} clean frames"
    );
}

#[test]
fn receivers_drop_injected_frames_with_bad_checksums() {
    let Some(lab) = lab_or_skip(LabSpec::new(Mode::Nat)) else {
        return;
    };
    let _echo = lab.udp_echo(NodeId::Server(1), 7001).expect("udp echo");
    lab.kernel_director(None).expect("director routes replies");
    let director = lab.node(NodeId::Director(1)).expect("director").clone();
    let rs1_mac = lab.node(NodeId::Server(1)).expect("rs1").mac().to_owned();
    let server = SocketAddrV4::new(plan::server_addr(1), 7001);
    for (port, corrupt) in [(42001u16, true), (42002u16, false)] {
        let client = SocketAddrV4::new(CLIENT_ADDR, port);
        let mut packet = udp_packet(client, server, b"checksum?");
        if corrupt {
            // Flip a payload byte after the checksum was computed.
            if let Some(byte) = packet.last_mut() {
                *byte ^= 0xff;
            }
        }
        let timeout = Duration::from_millis(if corrupt { 1500 } else { 3000 });
        let listener = lab
            .udp_listen(NodeId::Client, port, timeout)
            .expect("listen");
        let frame = ethernet_ipv4(&rs1_mac, director.mac(), &packet);
        lab.send_frames(NodeId::Director(1), director.ifname(), &[frame])
            .expect("inject");
        let answer = listener.wait();
        if corrupt {
            assert!(
                answer.is_err(),
                "a datagram with a bad checksum was accepted: {answer:?}"
            );
        } else {
            let datagram = answer.expect("the intact datagram is answered");
            assert_eq!(datagram.from, server);
        }
    }
}
