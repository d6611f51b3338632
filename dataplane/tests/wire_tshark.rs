//! Cross-check of `dataplane::wire` against an independent implementation: every builder
//! and in-place rewrite produces frames that are written to a pcap and dissected by
//! tshark with checksum validation on. tshark must find every checksum good, no malformed
//! packet, and the field values the builders meant.
//!
//! tshark is installed on the project's machines; where it is missing the test says so and
//! passes only if `RVS_SKIP_TSHARK=1` is set, so a CI without it fails loudly instead of
//! skipping silently.

use std::io::BufWriter;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use dataplane::wire::ethernet::{self, EtherType, MacAddr};
use dataplane::wire::ip::IpProtocol;
use dataplane::wire::toa::Toa;
use dataplane::wire::{arp, gre, gue, icmp, icmpv6, ipip, ipv4, ipv6, ndp, proxy, tcp, udp};

const OUR_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xaa]);
const PEER_MAC: MacAddr = MacAddr([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const VIP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 20);
const LOCAL: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const REAL: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn v6(text: &str) -> Ipv6Addr {
    text.parse().expect("valid IPv6 literal")
}

/// Ethernet header + `packet`.
fn ether(ethertype: EtherType, packet: &[u8]) -> Vec<u8> {
    let mut frame = vec![0u8; ethernet::HEADER_LEN];
    ethernet::emit_header(&mut frame, PEER_MAC, OUR_MAC, ethertype).expect("14 bytes");
    frame.extend_from_slice(packet);
    frame
}

/// A TCP/IPv4 packet with valid checksums, `room` spare bytes after it.
fn tcp_v4(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    options: &[u8],
    payload: &[u8],
    room: usize,
) -> (Vec<u8>, usize) {
    let tcp_len = 20 + options.len() + payload.len();
    let len = 20 + tcp_len;
    let mut buf = vec![0u8; len + room];
    ipv4::Repr {
        src,
        dst,
        protocol: IpProtocol::Tcp,
        payload_len: tcp_len,
        ttl: 64,
        tos: 0,
        ident: 0x1234,
        dont_frag: true,
    }
    .emit(&mut buf)
    .expect("room");
    let flags = if payload.is_empty() {
        tcp::Flags::SYN
    } else {
        tcp::Flags::ACK | tcp::Flags::PSH
    };
    tcp::Repr {
        src_port: 40000,
        dst_port: 80,
        seq: 1000,
        ack: if payload.is_empty() { 0 } else { 1 },
        flags,
        window: 64240,
    }
    .emit(&mut buf[20..])
    .expect("room");
    buf[32] = u8::try_from((20 + options.len()) / 4).expect("small") << 4;
    buf[40..40 + options.len()].copy_from_slice(options);
    buf[40 + options.len()..len].copy_from_slice(payload);
    tcp::Packet::new_unchecked(&mut buf[20..len]).fill_checksum_v4(src, dst);
    (buf, len)
}

const SYN_OPTIONS: [u8; 20] = [
    2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 1, 3, 3, 7,
];

/// What tshark must report for one frame.
struct Expect {
    what: &'static str,
    fields: Vec<(&'static str, &'static str)>,
}

fn frames() -> Vec<(Vec<u8>, Expect)> {
    let mut out = Vec::new();

    // 1. ARP builders.
    let mut buf = [0u8; arp::FRAME_LEN];
    arp::Repr::gratuitous(OUR_MAC, VIP)
        .emit_frame(&mut buf)
        .expect("room");
    out.push((
        buf.to_vec(),
        Expect {
            what: "gratuitous ARP",
            fields: vec![("arp.isgratuitous", "1"), ("arp.opcode", "1")],
        },
    ));
    arp::Repr::reply(OUR_MAC, VIP, PEER_MAC, CLIENT)
        .emit_frame(&mut buf)
        .expect("room");
    out.push((
        buf.to_vec(),
        Expect {
            what: "ARP reply",
            fields: vec![("arp.opcode", "2"), ("arp.src.proto_ipv4", "198.51.100.20")],
        },
    ));

    // 2. ICMP echo turned around in place.
    let mut echo = vec![0u8; 20 + 8 + 56];
    let n = icmp::emit_echo(
        &mut echo[20..],
        icmp::Message::EchoRequest,
        0x77,
        3,
        &[0x5a; 56],
    )
    .expect("room");
    ipv4::Repr {
        src: CLIENT,
        dst: VIP,
        protocol: IpProtocol::Icmp,
        payload_len: n,
        ttl: 55,
        tos: 0,
        ident: 9,
        dont_frag: true,
    }
    .emit(&mut echo)
    .expect("room");
    icmp::reply_to_echo_in_place(&mut echo).expect("valid request");
    out.push((
        ether(EtherType::Ipv4, &echo),
        Expect {
            what: "ICMP echo reply (turnaround)",
            fields: vec![
                ("ip.checksum.status", "1"),
                ("icmp.checksum.status", "1"),
                ("icmp.type", "0"),
                ("ip.ttl", "64"),
                ("ip.dst", "192.0.2.10"),
            ],
        },
    ));

    // 3. ICMP fragmentation needed about a big TCP packet.
    let (big, big_len) = tcp_v4(CLIENT, VIP, &[], &[0x42; 1460], 0);
    let mut err = vec![0u8; 600];
    let n = icmp::emit_error_packet(
        &mut err,
        LOCAL,
        1,
        icmp::ErrorMessage::FragNeeded { next_hop_mtu: 1480 },
        &big[..big_len],
    )
    .expect("room");
    out.push((
        ether(EtherType::Ipv4, &err[..n]),
        Expect {
            what: "ICMP frag needed",
            fields: vec![
                ("ip.checksum.status", "1,1"),
                ("icmp.checksum.status", "1"),
                ("icmp.mtu", "1480"),
                ("ip.len", "576,1500"),
            ],
        },
    ));

    // 4. FULLNAT-style rewrite of a SYN: addresses, ports, MSS clamp, TOA insertion.
    let (mut syn, len) = tcp_v4(CLIENT, VIP, &SYN_OPTIONS, &[], 64);
    {
        let mut ip = ipv4::Packet::new_checked(&mut syn[..len]).expect("valid");
        ip.set_src(LOCAL);
        ip.set_dst(REAL);
        ip.dec_ttl().expect("ttl 64");
        let mut seg = tcp::Packet::new_checked(ip.payload_mut()).expect("valid");
        seg.adjust_checksum_for_ipv4_change(CLIENT, LOCAL);
        seg.adjust_checksum_for_ipv4_change(VIP, REAL);
        seg.set_ports(5001, 8080);
        seg.set_seq(0xdead_beef);
        assert_eq!(seg.clamp_mss(1400), Ok(Some(1460)));
    }
    let toa = Toa {
        port: 40000,
        addr: IpAddr::V4(CLIENT),
    };
    let len = tcp::insert_toa(&mut syn, len, toa, false).expect("room for TOA");
    out.push((
        ether(EtherType::Ipv4, &syn[..len]),
        Expect {
            what: "FULLNAT SYN with TOA",
            fields: vec![
                ("ip.checksum.status", "1"),
                ("tcp.checksum.status", "1"),
                ("tcp.options.mss_val", "1400"),
                ("tcp.hdr_len", "48"),
                ("tcp.option_kind", "2,4,8,1,3,254"),
                ("ip.src", "10.0.0.1"),
                ("tcp.dstport", "8080"),
            ],
        },
    ));

    // 5. TOA into an IPv6 data segment (the payload moves).
    let (src6, dst6) = (v6("2001:db8::10"), v6("2001:db8::20"));
    let payload = b"GET / HTTP/1.0\r\n\r\n";
    let mut pkt6 = vec![0u8; 40 + 20 + payload.len() + 20];
    let seg_len = 20 + payload.len();
    ipv6::Repr {
        src: src6,
        dst: dst6,
        next_header: IpProtocol::Tcp,
        payload_len: seg_len,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    }
    .emit(&mut pkt6)
    .expect("room");
    tcp::Repr {
        src_port: 40001,
        dst_port: 80,
        seq: 5,
        ack: 6,
        flags: tcp::Flags::ACK | tcp::Flags::PSH,
        window: 500,
    }
    .emit(&mut pkt6[40..])
    .expect("room");
    pkt6[60..60 + payload.len()].copy_from_slice(payload);
    tcp::Packet::new_unchecked(&mut pkt6[40..40 + seg_len]).fill_checksum_v6(&src6, &dst6);
    let toa6 = Toa {
        port: 40001,
        addr: IpAddr::V6(v6("2001:db8::99")),
    };
    let len6 = tcp::insert_toa(&mut pkt6, 40 + seg_len, toa6, true).expect("room");
    out.push((
        ether(EtherType::Ipv6, &pkt6[..len6]),
        Expect {
            what: "IPv6 data segment with TOA",
            fields: vec![
                ("tcp.checksum.status", "1"),
                ("tcp.hdr_len", "40"),
                ("tcp.len", "18"),
                ("ipv6.plen", "58"),
            ],
        },
    ));

    // 6. UDP port rewrite.
    let mut dgram = vec![0u8; 20 + 8 + 5];
    ipv4::Repr {
        src: CLIENT,
        dst: VIP,
        protocol: IpProtocol::Udp,
        payload_len: 13,
        ttl: 64,
        tos: 0,
        ident: 1,
        dont_frag: false,
    }
    .emit(&mut dgram)
    .expect("room");
    udp::emit_header(&mut dgram[20..], 41000, 41001, 5).expect("room");
    dgram[28..].copy_from_slice(b"query");
    {
        let mut ip = ipv4::Packet::new_checked(&mut dgram[..]).expect("valid");
        let mut d = udp::Packet::new_checked(ip.payload_mut()).expect("valid");
        d.fill_checksum_v4(CLIENT, VIP);
        d.set_dst_port(41002);
        d.adjust_checksum_for_ipv4_change(VIP, REAL);
        ip.set_dst(REAL);
    }
    out.push((
        ether(EtherType::Ipv4, &dgram),
        Expect {
            what: "UDP NAT rewrite",
            fields: vec![
                ("ip.checksum.status", "1"),
                ("udp.checksum.status", "1"),
                ("udp.dstport", "41002"),
            ],
        },
    ));

    // 7. IPIP (LVS TUN) around the original SYN.
    let (inner, inner_len) = tcp_v4(CLIENT, VIP, &SYN_OPTIONS, &[], 0);
    let inner_view = ipv4::Packet::new_checked(&inner[..inner_len]).expect("valid");
    let outer = ipip::Outer::from_inner_ipv4(LOCAL, REAL, 77, &inner_view);
    let mut tun = vec![0u8; 20 + inner_len];
    ipip::emit_outer_ipv4(&mut tun, &outer, ipip::InnerKind::Ipv4, inner_len).expect("room");
    tun[20..].copy_from_slice(&inner[..inner_len]);
    out.push((
        ether(EtherType::Ipv4, &tun),
        Expect {
            what: "IPIP tunnel",
            fields: vec![
                ("ip.checksum.status", "1,1"),
                ("tcp.checksum.status", "1"),
                ("ip.proto", "4,6"),
                ("ip.dst", "10.0.0.2,198.51.100.20"),
            ],
        },
    ));

    // 8. GRE with checksum and key.
    let repr = gre::Repr {
        protocol: EtherType::Ipv4,
        checksum: true,
        key: Some(0x1234),
        seq: None,
    };
    let gre_len = repr.header_len() + inner_len;
    let mut gre_pkt = vec![0u8; 20 + gre_len];
    ipv4::Repr {
        src: LOCAL,
        dst: REAL,
        protocol: IpProtocol::Gre,
        payload_len: gre_len,
        ttl: 64,
        tos: 0,
        ident: 2,
        dont_frag: false,
    }
    .emit(&mut gre_pkt)
    .expect("room");
    let h = repr.emit(&mut gre_pkt[20..]).expect("room");
    gre_pkt[20 + h..].copy_from_slice(&inner[..inner_len]);
    gre::fill_checksum(&mut gre_pkt[20..]);
    out.push((
        ether(EtherType::Ipv4, &gre_pkt),
        Expect {
            what: "GRE with checksum and key",
            fields: vec![
                ("ip.checksum.status", "1,1"),
                ("gre.checksum.status", "1"),
                ("gre.key", "0x00001234"),
                ("tcp.checksum.status", "1"),
            ],
        },
    ));

    // 9. GUE over UDP (checksum 0 as IPVS sends it); tshark decodes the UDP layer.
    let mut gue_pkt = vec![0u8; 20 + 12 + inner_len];
    ipv4::Repr {
        src: LOCAL,
        dst: REAL,
        protocol: IpProtocol::Udp,
        payload_len: 12 + inner_len,
        ttl: 64,
        tos: 0,
        ident: 3,
        dont_frag: false,
    }
    .emit(&mut gue_pkt)
    .expect("room");
    gue::emit_udp(&mut gue_pkt[20..], 45678, 6080, IpProtocol::IpIp, inner_len).expect("room");
    gue_pkt[32..].copy_from_slice(&inner[..inner_len]);
    out.push((
        ether(EtherType::Ipv4, &gue_pkt),
        Expect {
            what: "GUE over UDP",
            fields: vec![
                ("ip.checksum.status", "1"),
                // UDP 8 + GUE 4 + the 60-byte inner SYN.
                ("udp.length", "72"),
                ("udp.checksum", "0x0000"),
            ],
        },
    ));

    // 10. ICMPv6 echo reply (turnaround) and packet too big.
    let mut echo6 = vec![0u8; 40 + 8 + 16];
    let n = icmpv6::emit_echo(
        &mut echo6[40..],
        icmpv6::Message::EchoRequest,
        9,
        1,
        &[7; 16],
        &src6,
        &dst6,
    )
    .expect("room");
    ipv6::Repr {
        src: src6,
        dst: dst6,
        next_header: IpProtocol::Icmpv6,
        payload_len: n,
        hop_limit: 3,
        traffic_class: 0,
        flow_label: 0,
    }
    .emit(&mut echo6)
    .expect("room");
    icmpv6::reply_to_echo_in_place(&mut echo6).expect("valid");
    out.push((
        ether(EtherType::Ipv6, &echo6),
        Expect {
            what: "ICMPv6 echo reply (turnaround)",
            fields: vec![("icmpv6.checksum.status", "1"), ("icmpv6.type", "129")],
        },
    ));
    let mut ptb = vec![0u8; 1400];
    let n = icmpv6::emit_error_packet(
        &mut ptb,
        &v6("2001:db8::1"),
        icmpv6::ErrorMessage::PacketTooBig { mtu: 1280 },
        &pkt6[..len6],
    )
    .expect("room");
    out.push((
        ether(EtherType::Ipv6, &ptb[..n]),
        Expect {
            what: "ICMPv6 packet too big",
            fields: vec![("icmpv6.checksum.status", "1"), ("icmpv6.mtu", "1280")],
        },
    ));

    // 11. Neighbour solicitation and the advertisement answering it.
    let target = v6("2001:db8::20");
    let mut ns = vec![0u8; 40 + 32];
    let n = ndp::emit_solicit(&mut ns[40..], &target, PEER_MAC, &src6).expect("room");
    ipv6::Repr {
        src: src6,
        dst: ndp::solicited_node(&target),
        next_header: IpProtocol::Icmpv6,
        payload_len: n,
        hop_limit: ndp::HOP_LIMIT,
        traffic_class: 0,
        flow_label: 0,
    }
    .emit(&mut ns)
    .expect("room");
    out.push((
        ether(EtherType::Ipv6, &ns),
        Expect {
            what: "neighbour solicitation",
            fields: vec![
                ("icmpv6.checksum.status", "1"),
                ("icmpv6.nd.ns.target_address", "2001:db8::20"),
                ("icmpv6.opt.linkaddr", "52:54:00:12:34:56"),
            ],
        },
    ));
    let mut na = vec![0u8; 40 + 32];
    let n = ndp::emit_advert(&mut na[40..], &target, OUR_MAC, true, &target, &src6).expect("room");
    ipv6::Repr {
        src: target,
        dst: src6,
        next_header: IpProtocol::Icmpv6,
        payload_len: n,
        hop_limit: ndp::HOP_LIMIT,
        traffic_class: 0,
        flow_label: 0,
    }
    .emit(&mut na)
    .expect("room");
    out.push((
        ether(EtherType::Ipv6, &na),
        Expect {
            what: "neighbour advertisement",
            fields: vec![
                ("icmpv6.checksum.status", "1"),
                ("icmpv6.nd.na.target_address", "2001:db8::20"),
                ("icmpv6.nd.na.flag.s", "1"),
                ("icmpv6.nd.na.flag.o", "1"),
                ("icmpv6.opt.linkaddr", "02:00:00:00:00:aa"),
            ],
        },
    ));

    // 12. PROXY v2 header as the first bytes of a TCP payload.
    let header = proxy::Header::Proxy {
        transport: proxy::Transport::Stream,
        src: SocketAddr::new(IpAddr::V4(CLIENT), 40000),
        dst: SocketAddr::new(IpAddr::V4(VIP), 80),
    };
    let mut pp = [0u8; proxy::MAX_LEN];
    let n = header.emit(&mut pp).expect("room");
    let (seg, seg_len) = tcp_v4(LOCAL, REAL, &[], &pp[..n], 0);
    out.push((
        ether(EtherType::Ipv4, &seg[..seg_len]),
        Expect {
            what: "PROXY v2 header",
            fields: vec![
                ("tcp.checksum.status", "1"),
                ("proxy.src.ipv4", "192.0.2.10"),
                ("proxy.srcport", "40000"),
                ("proxy.v2.cmd", "1"),
            ],
        },
    ));
    out
}

fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn tshark_agrees_with_every_builder_and_rewrite() {
    if !tshark_available() {
        assert!(
            std::env::var("RVS_SKIP_TSHARK").as_deref() == Ok("1"),
            "tshark not found: install it (apt-get install tshark) or set RVS_SKIP_TSHARK=1"
        );
        eprintln!("tshark not found; skipped by RVS_SKIP_TSHARK=1");
        return;
    }
    let frames = frames();
    let path: PathBuf = std::env::temp_dir().join(format!("rvs-wire-{}.pcap", std::process::id()));
    {
        let file = std::fs::File::create(&path).expect("temp file");
        let mut writer =
            pcap_file::pcap::PcapWriter::new(BufWriter::new(file)).expect("pcap header");
        for (i, (frame, _)) in frames.iter().enumerate() {
            let len = u32::try_from(frame.len()).expect("small frame");
            let packet = pcap_file::pcap::PcapPacket::new(
                Duration::from_millis(u64::try_from(i).expect("few frames")),
                len,
                frame,
            );
            writer.write_packet(&packet).expect("write");
        }
    }
    let mut names: Vec<&str> = vec!["_ws.malformed", "_ws.expert.severity"];
    for (_, expect) in &frames {
        for (name, _) in &expect.fields {
            if !names.contains(name) {
                names.push(name);
            }
        }
    }
    let mut command = Command::new("tshark");
    command
        .arg("-r")
        .arg(&path)
        .args(["-o", "ip.check_checksum:TRUE"])
        .args(["-o", "tcp.check_checksum:TRUE"])
        .args(["-o", "udp.check_checksum:TRUE"])
        .args(["-o", "tcp.try_heuristic_first:TRUE"])
        .args(["-T", "fields", "-E", "separator=|"]);
    for name in &names {
        command.args(["-e", name]);
    }
    let output = command.output().expect("run tshark");
    let _ = std::fs::remove_file(&path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), frames.len(), "one line per frame:\n{stdout}");
    for (line, (_, expect)) in lines.iter().zip(&frames) {
        let values: Vec<&str> = line.split('|').collect();
        let get = |name: &str| {
            names
                .iter()
                .position(|n| *n == name)
                .and_then(|i| values.get(i).copied())
                .unwrap_or("")
        };
        assert_eq!(
            get("_ws.malformed"),
            "",
            "{}: malformed per tshark: {line}",
            expect.what
        );
        for (name, want) in &expect.fields {
            assert_eq!(get(name), *want, "{}: field {name}: {line}", expect.what);
        }
    }
}
