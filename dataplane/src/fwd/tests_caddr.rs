//! FULLNAT client-address delivery through a real worker: TOA options and PROXY v2
//! headers as the real server receives them, the MSS clamp and the sequence/acknowledgement
//! mapping as the client sees it, byte for byte, with every checksum verified.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use super::caddr::{DELIVERED, PROXY_LEN, WANT_PROXY};
use super::tests::{CLIENT, D_MAC, LADDR, R_MAC, RS1, RS1_MAC, Rig, VIP, dest, service, snapshot};
use crate::conn::{ConnFlags, FwdMethod, Proto};
use crate::sched::SchedulerKind;
use crate::stats::{CounterValues, DropReason};
use crate::testutil::{L2L3, Seen, seen, tcp_frame, udp_frame};
use crate::wire::proxy::{self, Header, Transport};
use crate::wire::tcp::{self, TcpOption};
use crate::wire::toa::Toa;
use crate::wire::{ipv4, udp};
use crate::worker::{ClientAddrMode, Snapshot};

const SYN: u16 = 0x02;
const ACK: u16 = 0x10;
const PSH: u16 = 0x08;
const FIN: u16 = 0x01;
const SYNACK: u16 = 0x12;

const CPORT: u16 = 40000;
const RPORT: u16 = 8080;
/// The first local port of the worker (see `fwd::lport`).
const LPORT: u16 = 1024;

/// Linux's SYN options: MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
const LINUX_SYN_OPTS: [u8; 20] = [
    2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 1, 3, 3, 7,
];
/// NOP, NOP, timestamps: what Linux puts on every later segment.
const TS_OPTS: [u8; 12] = [1, 1, 8, 10, 0, 0, 0x30, 0x3a, 0, 0, 0x1b, 0x58];

fn snap_with(mode: ClientAddrMode, proto: Proto, port: u16) -> Snapshot {
    snap_gen(1, mode, proto, port)
}

fn snap_gen(generation: u64, mode: ClientAddrMode, proto: Proto, port: u16) -> Snapshot {
    let mut svc = service(
        1,
        proto,
        port,
        SchedulerKind::Rr,
        vec![dest(10, RS1, RPORT, 1, FwdMethod::FullNat)],
    );
    svc.client_addr = mode;
    snapshot(generation, vec![svc], true)
}

fn rig(mode: ClientAddrMode) -> Rig {
    Rig::new(snap_with(mode, Proto::Tcp, 80))
}

fn client() -> L2L3 {
    L2L3 {
        src_mac: R_MAC,
        dst_mac: D_MAC,
        src: CLIENT,
        dst: VIP,
        ttl: 63,
        df: true,
    }
}

fn server() -> L2L3 {
    L2L3 {
        src_mac: RS1_MAC,
        dst_mac: D_MAC,
        src: RS1,
        dst: LADDR,
        ttl: 64,
        df: true,
    }
}

/// A TCP frame with `options` (a multiple of 4 bytes) and valid checksums.
#[allow(clippy::too_many_arguments)]
fn frame(
    h: &L2L3,
    sport: u16,
    dport: u16,
    flags: u16,
    seq: u32,
    ack: u32,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut f = tcp_frame(h, sport, dport, flags, seq, ack, payload);
    if options.is_empty() {
        return f;
    }
    let len = f.len() - 14;
    f.resize(f.len() + options.len(), 0);
    let new_len = tcp::insert_option_ipv4(&mut f[14..], len, options).unwrap();
    assert_eq!(new_len, len + options.len());
    f
}

fn from_client(rig: &mut Rig, flags: u16, seq: u32, ack: u32, opts: &[u8], data: &[u8]) -> Vec<u8> {
    let out = rig.send(frame(&client(), CPORT, 80, flags, seq, ack, opts, data));
    assert_eq!(out.len(), 1, "one frame to the real server");
    out.into_iter().next().unwrap()
}

fn from_server(rig: &mut Rig, flags: u16, seq: u32, ack: u32, opts: &[u8], data: &[u8]) -> Vec<u8> {
    let out = rig.send(frame(&server(), RPORT, LPORT, flags, seq, ack, opts, data));
    assert_eq!(out.len(), 1, "one frame to the client");
    out.into_iter().next().unwrap()
}

/// The TCP segment of an Ethernet/IPv4 frame (after `seen` checked its checksums).
fn segment(f: &[u8]) -> &[u8] {
    let ip = ipv4::Packet::new_checked(&f[14..]).unwrap();
    &f[14 + ip.header_len()..14 + usize::from(ip.total_len())]
}

fn options(f: &[u8]) -> Vec<u8> {
    tcp::Packet::new_checked(segment(f))
        .unwrap()
        .options()
        .to_vec()
}

fn header_len(f: &[u8]) -> usize {
    tcp::Packet::new_checked(segment(f)).unwrap().header_len()
}

fn tcp_flags(f: &[u8]) -> u16 {
    tcp::Packet::new_checked(segment(f)).unwrap().flags().0
}

fn mss(f: &[u8]) -> Option<u16> {
    tcp::Packet::new_checked(segment(f)).unwrap().mss().unwrap()
}

fn toa(f: &[u8]) -> Option<Toa> {
    let seg = segment(f);
    let t = tcp::Packet::new_checked(seg).unwrap();
    t.options_iter().find_map(|o| match o.unwrap() {
        TcpOption::Toa(toa) => Some(toa),
        _ => None,
    })
}

fn sack(f: &[u8]) -> Vec<(u32, u32)> {
    let seg = segment(f);
    let t = tcp::Packet::new_checked(seg).unwrap();
    t.options_iter()
        .find_map(|o| match o.unwrap() {
            TcpOption::Sack(blocks) => Some(blocks.collect()),
            _ => None,
        })
        .unwrap_or_default()
}

fn counters(rig: &Rig) -> CounterValues {
    rig.worker.counters().read()
}

fn conn_flags(rig: &Rig) -> ConnFlags {
    let conns = rig.worker.stage().conns();
    let key = crate::conn::FlowKey::new(Proto::Tcp, CLIENT, CPORT, VIP, 80);
    let (h, _) = conns.lookup(&key).unwrap();
    conns.get(h).unwrap().flags()
}

/// The TOA bytes for the test client 10.9.0.2:40000.
const CLIENT_TOA: [u8; 8] = [254, 8, 0x9c, 0x40, 10, 9, 0, 2];

fn assert_to_server(s: &Seen) {
    assert_eq!(
        (s.src, s.sport, s.dst, s.dport),
        (LADDR, LPORT, RS1, RPORT),
        "FULLNAT addresses"
    );
}

fn assert_to_client(s: &Seen) {
    assert_eq!((s.src, s.sport, s.dst, s.dport), (VIP, 80, CLIENT, CPORT));
}

#[test]
fn toa_rides_the_handshake_and_the_first_data_until_the_server_answers() {
    let mut rig = rig(ClientAddrMode::Toa);
    // SYN: the option goes behind Linux's 20 bytes of options.
    let out = from_client(&mut rig, SYN, 1000, 0, &LINUX_SYN_OPTS, b"");
    let s = seen(&out);
    assert_to_server(&s);
    assert_eq!(header_len(&out), 48);
    let mut want = LINUX_SYN_OPTS.to_vec();
    want.extend_from_slice(&CLIENT_TOA);
    assert_eq!(options(&out), want);
    assert_eq!(
        toa(&out),
        Some(Toa {
            port: CPORT,
            addr: IpAddr::V4(CLIENT)
        })
    );
    assert_eq!(
        usize::from(ipv4::Packet::new_checked(&out[14..]).unwrap().total_len()),
        68
    );

    // SYN-ACK: the MSS the client sees leaves room for the 8 bytes.
    let out = from_server(&mut rig, SYNACK, 5000, 1001, &[2, 4, 0x05, 0xb4], b"");
    let s = seen(&out);
    assert_to_client(&s);
    assert_eq!(mss(&out), Some(1452));
    assert_eq!((s.seq, s.ack), (5000, 1001));
    assert!(toa(&out).is_none());

    // The handshake's ACK: what toa.ko reads.
    let out = from_client(&mut rig, ACK, 1001, 5001, &TS_OPTS, b"");
    seen(&out);
    let mut want = TS_OPTS.to_vec();
    want.extend_from_slice(&CLIENT_TOA);
    assert_eq!(options(&out), want);
    assert_eq!(header_len(&out), 40);

    // First data: the server has not answered yet, so it carries TOA too; data intact.
    let req = b"GET / HTTP/1.0\r\n\r\n";
    let out = from_client(&mut rig, ACK | PSH, 1001, 5001, &TS_OPTS, req);
    let s = seen(&out);
    assert_eq!(s.payload, req);
    assert_eq!((s.seq, s.ack), (1001, 5001));
    assert_eq!(&options(&out)[12..], &CLIENT_TOA);

    // The server acknowledges: its socket exists, the address is delivered.
    let end = 1001 + req.len() as u32;
    let s = seen(&from_server(&mut rig, ACK, 5001, end, &TS_OPTS, b""));
    assert_eq!(s.ack, end, "TOA shifts no sequence numbers");
    let out = from_server(
        &mut rig,
        ACK | PSH,
        5001,
        end,
        &TS_OPTS,
        b"HTTP/1.0 200 OK\r\n",
    );
    assert_eq!(seen(&out).payload, b"HTTP/1.0 200 OK\r\n");

    // From now on the client's segments go unchanged.
    let out = from_client(&mut rig, ACK | FIN, end, 5018, &TS_OPTS, b"");
    let s = seen(&out);
    assert_eq!((s.seq, s.ack), (end, 5018));
    assert_eq!(options(&out), TS_OPTS);
    assert_eq!(tcp_flags(&out), ACK | FIN);

    let c = counters(&rig);
    assert_eq!((c.toa_added, c.toa_skipped), (3, 0));
    let f = conn_flags(&rig);
    assert!(f.contains(ConnFlags::TOA_SENT) && f.contains(DELIVERED));
    assert!(!f.contains(ConnFlags::PROXY_SENT));
}

#[test]
fn toa_follows_an_end_of_list_as_nops() {
    let mut rig = rig(ClientAddrMode::Toa);
    // macOS ends its SYN options with EOL: an option behind it would not be read.
    let mac_syn = [
        2, 4, 0x05, 0xb4, 1, 3, 3, 6, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 4, 2, 0, 0,
    ];
    let out = from_client(&mut rig, SYN, 77, 0, &mac_syn, b"");
    seen(&out);
    let opts = options(&out);
    assert_eq!(&opts[..22], &mac_syn[..22]);
    assert_eq!(
        &opts[22..24],
        &[1, 1],
        "EOL and its padding turned into NOPs"
    );
    assert_eq!(&opts[24..], &CLIENT_TOA);
    assert!(toa(&out).is_some(), "the option walk reaches the TOA");
}

#[test]
fn toa_that_does_not_fit_is_counted_and_the_packet_goes_without() {
    // A 9000-byte MTU so that only the buffer's tailroom limits the first case.
    let mut snap = snap_with(ClientAddrMode::Toa, Proto::Tcp, 80);
    snap.ports[0].mtu = 9000;
    let mut rig = Rig::new(snap);
    // A SYN whose header is already 60 bytes: no room for 8 more.
    let mut full = LINUX_SYN_OPTS.to_vec();
    full.extend_from_slice(&[1; 20]);
    let input = frame(&client(), CPORT, 80, SYN, 1000, 0, &full, b"");
    let out = rig.send(input.clone());
    assert_eq!(out.len(), 1, "sent, not dropped");
    let s = seen(&out[0]);
    assert_to_server(&s);
    assert_eq!(header_len(&out[0]), 60);
    assert_eq!(options(&out[0]), full);
    assert_eq!(out[0].len(), input.len());
    assert_eq!(counters(&rig).toa_skipped, 1);

    from_server(&mut rig, SYNACK, 5000, 1001, &[2, 4, 0x05, 0xb4], b"");
    // A segment filling its buffer to 4 bytes short of the end: no tailroom.
    let room = crate::port::pcap::BUF_SIZE - crate::port::HEADROOM;
    let data = vec![0x61; room - 4 - 14 - 20 - 20];
    let out = from_client(&mut rig, ACK, 1001, 5001, &[], &data);
    let s = seen(&out);
    assert_eq!(s.payload, data);
    assert_eq!(header_len(&out), 20);
    assert_eq!(counters(&rig).toa_skipped, 2);
    assert_eq!(rig.drops(DropReason::ProxyNoRoom), 0);

    // The next segment has room again and gets it: the server has not answered.
    let out = from_client(&mut rig, ACK, 1001, 5001, &[], b"x");
    assert_eq!(options(&seen_ok(&out)), CLIENT_TOA);
    let c = counters(&rig);
    assert_eq!((c.toa_added, c.toa_skipped), (1, 2));
}

/// `seen` (checksums asserted) and the frame back.
fn seen_ok(f: &[u8]) -> Vec<u8> {
    seen(f);
    f.to_vec()
}

#[test]
fn toa_never_pushes_a_packet_over_the_mtu() {
    let mut rig = rig(ClientAddrMode::Toa);
    from_client(&mut rig, SYN, 1000, 0, &[], b"");
    from_server(&mut rig, SYNACK, 5000, 1001, &[2, 4, 0x05, 0xb4], b"");
    // A client ignoring the clamped MSS: 1500 bytes already.
    let data = vec![0x62; 1460];
    let out = from_client(&mut rig, ACK, 1001, 5001, &[], &data);
    let s = seen(&out);
    assert_eq!(s.payload, data);
    assert_eq!(out.len(), 14 + 1500);
    assert_eq!(counters(&rig).toa_skipped, 1);
    // 1452 bytes of data, as the clamped MSS allows: 1500 with TOA.
    let data = vec![0x63; 1452];
    let out = from_client(&mut rig, ACK, 1001, 5001, &[], &data);
    assert_eq!(out.len(), 14 + 1500);
    assert_eq!(seen(&out).payload, data);
    assert!(toa(&out).is_some());
}

#[test]
fn no_client_address_mode_changes_nothing() {
    let mut rig = rig(ClientAddrMode::None);
    let out = from_client(&mut rig, SYN, 1000, 0, &LINUX_SYN_OPTS, b"");
    assert_eq!(options(&seen_ok(&out)), LINUX_SYN_OPTS);
    let out = from_server(&mut rig, SYNACK, 5000, 1001, &[2, 4, 0x05, 0xb4], b"");
    assert_eq!(mss(&seen_ok(&out)), Some(1460));
    let out = from_client(&mut rig, ACK, 1001, 5001, &[], b"hi");
    let s = seen(&out);
    assert_eq!((s.seq, s.payload.as_slice()), (1001, &b"hi"[..]));
    let c = counters(&rig);
    assert_eq!((c.toa_added, c.toa_skipped, c.proxy_added), (0, 0, 0));
}

/// What the real server has received: bytes placed by sequence number from `isn + 1`,
/// every copy of a byte checked against the first.
#[derive(Default)]
struct Stream {
    start: u32,
    bytes: Vec<u8>,
}

impl Stream {
    fn new(first: u32) -> Stream {
        Stream {
            start: first,
            bytes: Vec::new(),
        }
    }

    fn take(&mut self, s: &Seen) {
        let off = s.seq.wrapping_sub(self.start) as usize;
        for (i, b) in s.payload.iter().enumerate() {
            let at = off + i;
            if at < self.bytes.len() {
                assert_eq!(self.bytes[at], *b, "a retransmitted byte differs at {at}");
            } else {
                assert_eq!(at, self.bytes.len(), "hole in the stream before {at}");
                self.bytes.push(*b);
            }
        }
    }
}

fn decode_header(bytes: &[u8]) -> (Ipv4Addr, Ipv4Addr, u16, u16, u8) {
    // By hand, from the spec's layout: signature, ver/cmd, fam/proto, length, addresses.
    assert_eq!(&bytes[..12], b"\r\n\r\n\0\r\nQUIT\n");
    assert_eq!(bytes[12], 0x21, "version 2, PROXY");
    assert_eq!(u16::from_be_bytes([bytes[14], bytes[15]]), 12);
    let src = Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19]);
    let dst = Ipv4Addr::new(bytes[20], bytes[21], bytes[22], bytes[23]);
    let sport = u16::from_be_bytes([bytes[24], bytes[25]]);
    let dport = u16::from_be_bytes([bytes[26], bytes[27]]);
    (src, dst, sport, dport, bytes[13])
}

fn expected_header(transport: Transport) -> Header {
    Header::Proxy {
        transport,
        src: SocketAddr::new(IpAddr::V4(CLIENT), CPORT),
        dst: SocketAddr::new(IpAddr::V4(VIP), 80),
    }
}

#[test]
fn proxy_v2_heads_the_stream_and_sequence_numbers_follow() {
    let mut rig = rig(ClientAddrMode::ProxyV2);
    // A client ISN just before the wrap: every shift crosses 2^32.
    let isn: u32 = 0xffff_fff0;
    let h = isn.wrapping_add(1);
    let hl = PROXY_LEN as u32;
    let out = from_client(&mut rig, SYN, isn, 0, &LINUX_SYN_OPTS, b"");
    let s = seen(&out);
    assert_to_server(&s);
    assert_eq!((s.seq, s.payload.len()), (isn, 0));
    assert_eq!(options(&out), LINUX_SYN_OPTS, "no TOA in PROXY mode");

    let out = from_server(&mut rig, SYNACK, 7000, h, &[2, 4, 0x05, 0xb4], b"");
    let s = seen(&out);
    assert_eq!((s.seq, s.ack), (7000, h));
    assert_eq!(
        mss(&out),
        Some(1460 - 28),
        "room for the header in a full segment"
    );

    // The handshake's ACK carries the header: the server reads it first even though it
    // speaks first.
    let mut stream = Stream::new(h);
    let out = from_client(&mut rig, ACK, h, 7001, &TS_OPTS, b"");
    let s = seen(&out);
    assert_eq!((s.seq, s.ack), (h, 7001));
    assert_eq!(s.payload.len(), PROXY_LEN);
    assert_eq!(
        proxy::Header::parse(&s.payload),
        Ok((expected_header(Transport::Stream), PROXY_LEN))
    );
    assert_eq!(decode_header(&s.payload), (CLIENT, VIP, CPORT, 80, 0x11));
    assert_eq!(options(&out), TS_OPTS);
    stream.take(&s);
    assert!(conn_flags(&rig).contains(WANT_PROXY));
    assert!(!conn_flags(&rig).contains(DELIVERED));

    // Server greeting, acknowledging the header: the client sees its ISN + 1 acknowledged.
    let greet = b"220 rvs ESMTP\r\n";
    let out = from_server(
        &mut rig,
        ACK | PSH,
        7001,
        h.wrapping_add(hl),
        &TS_OPTS,
        greet,
    );
    let s = seen(&out);
    assert_to_client(&s);
    assert_eq!((s.seq, s.ack, s.payload.as_slice()), (7001, h, &greet[..]));
    assert!(conn_flags(&rig).contains(DELIVERED));
    let sack_after = 7001 + greet.len() as u32;

    // Client data: 28 bytes later in the server's stream, unchanged otherwise.
    let helo = b"HELO client\r\n";
    let out = from_client(&mut rig, ACK | PSH, h, sack_after, &TS_OPTS, helo);
    let s = seen(&out);
    assert_eq!((s.seq, s.ack), (h.wrapping_add(hl), sack_after));
    assert_eq!(s.payload, helo);
    stream.take(&s);
    let n = helo.len() as u32;

    // A later client segment arrives first (reordering) and the server SACKs it: edges
    // lowered by 28 (the SACK option sits at an odd offset, after one NOP).
    let mail = b"MAIL FROM:<a@b>\r\n";
    let out = from_client(
        &mut rig,
        ACK | PSH,
        h.wrapping_add(n + 100),
        sack_after,
        &[],
        mail,
    );
    assert_eq!(seen(&out).seq, h.wrapping_add(n + 100 + hl));
    let left = h.wrapping_add(hl + n + 100);
    let right = left.wrapping_add(mail.len() as u32);
    let mut sack_opt = vec![1, 5, 10];
    sack_opt.extend_from_slice(&left.to_be_bytes());
    sack_opt.extend_from_slice(&right.to_be_bytes());
    sack_opt.push(1);
    let out = from_server(
        &mut rig,
        ACK,
        sack_after,
        h.wrapping_add(hl + n),
        &sack_opt,
        b"",
    );
    let s = seen(&out);
    assert_eq!(s.ack, h.wrapping_add(n));
    assert_eq!(
        sack(&out),
        vec![(
            h.wrapping_add(n + 100),
            h.wrapping_add(n + 100 + mail.len() as u32)
        )]
    );

    // Client FIN, server FIN: both directions stay consistent.
    let out = from_client(&mut rig, ACK | FIN, h.wrapping_add(n), sack_after, &[], b"");
    let s = seen(&out);
    assert_eq!(s.seq, h.wrapping_add(n + hl));
    assert_eq!(tcp_flags(&out), ACK | FIN);
    let out = from_server(
        &mut rig,
        ACK | FIN,
        sack_after,
        h.wrapping_add(n + hl + 1),
        &[],
        b"",
    );
    let s = seen(&out);
    assert_eq!((s.seq, s.ack), (sack_after, h.wrapping_add(n + 1)));
    let out = from_client(
        &mut rig,
        ACK,
        h.wrapping_add(n + 1),
        sack_after + 1,
        &[],
        b"",
    );
    assert_eq!(seen(&out).seq, h.wrapping_add(n + hl + 1));

    // The real server's byte stream: the header, then the client's bytes.
    let mut want = vec![0u8; PROXY_LEN];
    expected_header(Transport::Stream).emit(&mut want).unwrap();
    want.extend_from_slice(helo);
    assert_eq!(stream.bytes, want);
    let c = counters(&rig);
    assert_eq!((c.proxy_added, c.proxy_alone, c.toa_added), (1, 0, 0));
}

#[test]
fn proxy_v2_header_is_repeated_until_the_server_acknowledges_it() {
    let mut rig = rig(ClientAddrMode::ProxyV2);
    let h = 1001u32;
    let hl = PROXY_LEN as u32;
    from_client(&mut rig, SYN, 1000, 0, &[], b"");
    from_server(&mut rig, SYNACK, 7000, h, &[2, 4, 0x05, 0xb4], b"");
    let mut stream = Stream::new(h);
    let out = from_client(&mut rig, ACK, h, 7001, &[], b"");
    stream.take(&seen(&out));
    // The same ACK again (retransmitted, or the client's duplicate): the header again,
    // at the same place.
    let out = from_client(&mut rig, ACK, h, 7001, &[], b"");
    let s = seen(&out);
    assert_eq!((s.seq, s.payload.len()), (h, PROXY_LEN));
    stream.take(&s);
    // The first data, before the server said anything: header in front of it, so that a
    // lost ACK costs nothing.
    let req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let out = from_client(&mut rig, ACK | PSH, h, 7001, &[], req);
    let s = seen(&out);
    assert_eq!((s.seq, s.payload.len()), (h, PROXY_LEN + req.len()));
    assert_eq!(&s.payload[PROXY_LEN..], req);
    stream.take(&s);
    assert_eq!(counters(&rig).proxy_added, 3);
    // The server acknowledges everything.
    let end = h.wrapping_add(hl + req.len() as u32);
    let out = from_server(&mut rig, ACK, 7001, end, &[], b"");
    assert_eq!(seen(&out).ack, h + req.len() as u32);
    assert!(conn_flags(&rig).contains(DELIVERED));
    // A late retransmission of the data now goes where it belongs, without the header.
    let out = from_client(&mut rig, ACK | PSH, h, 7001, &[], req);
    let s = seen(&out);
    assert_eq!((s.seq, s.payload.as_slice()), (h + hl, &req[..]));
    stream.take(&s);
    assert_eq!(counters(&rig).proxy_added, 3);
    assert_eq!(stream.bytes.len(), PROXY_LEN + req.len());
    assert_eq!(Header::parse(&stream.bytes).unwrap().1, PROXY_LEN);
    assert_eq!(&stream.bytes[PROXY_LEN..], req);
}

#[test]
fn proxy_v2_header_alone_when_the_first_segment_is_full() {
    let mut rig = rig(ClientAddrMode::ProxyV2);
    let h = 1001u32;
    let hl = PROXY_LEN as u32;
    from_client(&mut rig, SYN, 1000, 0, &[], b"");
    from_server(&mut rig, SYNACK, 7000, h, &[2, 4, 0x05, 0xb4], b"");
    // The handshake's ACK never reached the director, and the client ignores the clamped
    // MSS: its first segment is a full 1500 bytes, with FIN.
    let data: Vec<u8> = (0..1460u32).map(|i| (i % 251) as u8).collect();
    let out = from_client(&mut rig, ACK | PSH | FIN, h, 7001, &[], &data);
    let s = seen(&out);
    assert_eq!(s.seq, h);
    assert_eq!(
        Header::parse(&s.payload),
        Ok((expected_header(Transport::Stream), PROXY_LEN))
    );
    assert_eq!(s.payload.len(), PROXY_LEN, "the header alone");
    assert_eq!(tcp_flags(&out), ACK | PSH, "FIN belonged behind the data");
    let c = counters(&rig);
    assert_eq!((c.proxy_added, c.proxy_alone), (0, 1));
    // The server has the header only; the client sees none of its data acknowledged.
    let out = from_server(&mut rig, ACK, 7001, h + hl, &[], b"");
    assert_eq!(seen(&out).ack, h);
    // The client retransmits: the data follows the header.
    let out = from_client(&mut rig, ACK | PSH | FIN, h, 7001, &[], &data);
    let s = seen(&out);
    assert_eq!((s.seq, s.payload.as_slice()), (h + hl, &data[..]));
    assert_eq!(tcp_flags(&out), ACK | PSH | FIN);
    assert_eq!(out.len(), 14 + 1500);
}

#[test]
fn proxy_v2_is_latched_per_connection() {
    let mut rig = rig(ClientAddrMode::ProxyV2);
    let h = 1001u32;
    let hl = PROXY_LEN as u32;
    from_client(&mut rig, SYN, 1000, 0, &[], b"");
    from_server(&mut rig, SYNACK, 7000, h, &[], b"");
    from_client(&mut rig, ACK, h, 7001, &[], b"");
    // The service switches to no address delivery: this connection keeps its shift.
    rig.updates
        .send(Arc::new(snap_gen(2, ClientAddrMode::None, Proto::Tcp, 80)))
        .unwrap();
    let out = from_client(&mut rig, ACK | PSH, h, 7001, &[], b"late");
    assert_eq!(
        seen(&out).seq,
        h,
        "header still in front: not acknowledged yet"
    );
    let out = from_server(&mut rig, ACK, 7001, h + hl + 4, &[], b"");
    assert_eq!(seen(&out).ack, h + 4);
    let out = from_client(&mut rig, ACK | PSH, h + 4, 7001, &[], b"more");
    assert_eq!(seen(&out).seq, h + 4 + hl);
    // A new connection follows the new mode.
    let out = rig.send(frame(&client(), CPORT + 1, 80, SYN, 50, 0, &[], b""));
    seen(&out[0]);
    let out = rig.send(frame(&client(), CPORT + 1, 80, ACK, 51, 1, &[], b"plain"));
    let s = seen(&out[0]);
    assert_eq!((s.seq, s.payload.as_slice()), (51, &b"plain"[..]));
}

#[test]
fn proxy_v2_dgram_heads_every_udp_datagram() {
    let mut rig = Rig::new(snap_with(ClientAddrMode::ProxyV2, Proto::Udp, 53));
    for q in [&b"query one"[..], &b"query two, longer"[..]] {
        let out = rig.send(udp_frame(&client(), CPORT, 53, q));
        assert_eq!(out.len(), 1);
        let s = seen(&out[0]);
        assert_eq!((s.src, s.sport, s.dst, s.dport), (LADDR, LPORT, RS1, RPORT));
        let (header, used) = Header::parse(&s.payload).unwrap();
        assert_eq!(used, PROXY_LEN);
        assert_eq!(
            header,
            Header::Proxy {
                transport: Transport::Datagram,
                src: SocketAddr::new(IpAddr::V4(CLIENT), CPORT),
                dst: SocketAddr::new(IpAddr::V4(VIP), 53),
            }
        );
        assert_eq!(decode_header(&s.payload).4, 0x12, "UDP over IPv4");
        assert_eq!(&s.payload[used..], q);
        let ip = ipv4::Packet::new_checked(&out[0][14..]).unwrap();
        let u = udp::Packet::new_checked(ip.payload()).unwrap();
        assert_eq!(usize::from(u.len()), 8 + PROXY_LEN + q.len());
        assert_ne!(u.checksum(), 0);
    }
    // Replies come back unchanged.
    let reply = L2L3 {
        src_mac: RS1_MAC,
        dst_mac: D_MAC,
        src: RS1,
        dst: LADDR,
        ttl: 64,
        df: true,
    };
    let out = rig.send(udp_frame(&reply, RPORT, LPORT, b"answer"));
    let s = seen(&out[0]);
    assert_eq!(
        (s.dst, s.dport, s.payload.as_slice()),
        (CLIENT, CPORT, &b"answer"[..])
    );
    // A datagram that would pass the MTU with the header is dropped, counted.
    let big = vec![7u8; 1500 - 20 - 8 - 10];
    assert!(rig.send(udp_frame(&client(), CPORT, 53, &big)).is_empty());
    assert_eq!(rig.drops(DropReason::ProxyNoRoom), 1);
    assert_eq!(counters(&rig).proxy_added, 2);
    // A datagram without checksum keeps none.
    let mut f = udp_frame(&client(), CPORT, 53, b"nocsum");
    f[14 + 20 + 6..14 + 20 + 8].copy_from_slice(&[0, 0]);
    let out = rig.send(f);
    let ip = ipv4::Packet::new_checked(&out[0][14..]).unwrap();
    let u = udp::Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(u.checksum(), 0);
    assert_eq!(&u.payload()[PROXY_LEN..], b"nocsum");
}

mod arbitrary {
    //! Whatever the options, flags and numbers, every frame that leaves is well formed.
    use super::*;
    use proptest::prelude::*;

    fn mode(n: u8) -> ClientAddrMode {
        match n % 3 {
            0 => ClientAddrMode::Toa,
            1 => ClientAddrMode::ProxyV2,
            _ => ClientAddrMode::None,
        }
    }

    /// Sends `f` and asserts every TCP/IPv4 frame that comes out (checksums included).
    fn pass(rig: &mut Rig, f: Vec<u8>) -> Vec<Vec<u8>> {
        let out = rig.send(f);
        for o in &out {
            if o[12..14] == [8, 0] {
                seen(o);
            }
        }
        out
    }

    fn opts(raw: Vec<u8>) -> Vec<u8> {
        let mut o = raw;
        o.truncate(40);
        while !o.len().is_multiple_of(4) {
            o.push(1);
        }
        o
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn every_frame_sent_has_valid_checksums(
            m in any::<u8>(),
            isn in any::<u32>(),
            near in 0u32..64,
            syn_opts in proptest::collection::vec(any::<u8>(), 0..44),
            srv_opts in proptest::collection::vec(any::<u8>(), 0..44),
            cli_opts in proptest::collection::vec(any::<u8>(), 0..44),
            ack_opts in proptest::collection::vec(any::<u8>(), 0..44),
            cli_flags in any::<u16>(),
            srv_flags in any::<u16>(),
            payload in proptest::collection::vec(any::<u8>(), 0..1500),
            srv_ack_off in 0u32..200,
        ) {
            let mut rig = rig(mode(m));
            let h = isn.wrapping_add(1);
            pass(&mut rig, frame(&client(), CPORT, 80, SYN, isn, 0, &opts(syn_opts), b""));
            pass(&mut rig, frame(&server(), RPORT, LPORT, SYNACK, 9, h, &opts(srv_opts), b""));
            let seq = if near % 2 == 0 { h } else { h.wrapping_add(near) };
            let flags = (cli_flags & 0x1ff) | ACK;
            let out = pass(
                &mut rig,
                frame(&client(), CPORT, 80, flags & !SYN, seq, 10, &opts(cli_opts), &payload),
            );
            prop_assert!(out.len() <= 1);
            let flags = (srv_flags & 0x1ff & !SYN) | ACK;
            pass(
                &mut rig,
                frame(&server(), RPORT, LPORT, flags, 10, h.wrapping_add(srv_ack_off), &opts(ack_opts), b"ok"),
            );
        }
    }
}

#[test]
fn a_new_syn_on_a_reused_entry_starts_afresh() {
    let mut rig = rig(ClientAddrMode::ProxyV2);
    let hl = PROXY_LEN as u32;
    from_client(&mut rig, SYN, 1000, 0, &[], b"");
    from_server(&mut rig, SYNACK, 7000, 1001, &[], b"");
    from_client(&mut rig, ACK, 1001, 7001, &[], b"");
    from_server(&mut rig, ACK | PSH, 7001, 1001 + hl, &[], b"hello\r\n");
    // The SYN retransmitted late: the latch stands.
    from_client(&mut rig, SYN, 1000, 0, &[], b"");
    assert!(conn_flags(&rig).contains(DELIVERED));
    let out = from_client(&mut rig, ACK | FIN, 1001, 7008, &[], b"");
    assert_eq!(seen(&out).seq, 1001 + hl);
    from_server(&mut rig, ACK | FIN, 7008, 1002 + hl, &[], b"");
    from_client(&mut rig, ACK, 1002, 7009, &[], b"");
    // Same ports, new ISN (TIME_WAIT reuse): a new header at the new H.
    let isn = 900_000;
    let out = from_client(&mut rig, SYN, isn, 0, &[], b"");
    assert_eq!(seen(&out).seq, isn);
    let f = conn_flags(&rig);
    assert!(f.contains(WANT_PROXY) && !f.contains(DELIVERED) && !f.contains(ConnFlags::PROXY_SENT));
    let out = from_server(&mut rig, SYNACK, 8000, isn + 1, &[], b"");
    assert_eq!(seen(&out).ack, isn + 1);
    let out = from_client(&mut rig, ACK, isn + 1, 8001, &[], b"");
    let s = seen(&out);
    assert_eq!((s.seq, s.payload.len()), (isn + 1, PROXY_LEN));
    let out = from_server(&mut rig, ACK, 8001, isn + 1 + hl, &[], b"");
    assert_eq!(seen(&out).ack, isn + 1);
}
