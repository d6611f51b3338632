//! Test helpers shared by the dataplane's unit tests: an in-memory port queue and frame
//! builders with correct checksums (built with the wire module's own emitters, and
//! cross-checked against scapy-built captures in the pcap replay tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::Ipv4Addr;
use std::sync::Arc;

use crate::port::pcap::{BufPool, PcapBuf};
use crate::port::{Burst, PacketBuf, PortQueue};
use crate::wire::ip::IpProtocol;
use crate::wire::tcp::{self, Flags};
use crate::wire::{EtherType, MacAddr, arp, ethernet, icmp, ipv4, udp};

/// An in-memory queue: packets put into `input` are received in order (with their
/// timestamps), transmitted ones are collected in `out`, at most `tx_room` per burst (a TX
/// ring that fills up).
pub struct MemQueue {
    pub input: Vec<(Option<u64>, Vec<u8>)>,
    pub next: usize,
    pub out: Vec<Vec<u8>>,
    pub tx_room: usize,
    pool: Arc<BufPool>,
}

impl MemQueue {
    pub fn new(pool: &Arc<BufPool>) -> MemQueue {
        MemQueue::with_input(pool, Vec::new())
    }

    pub fn with_input(pool: &Arc<BufPool>, input: Vec<(Option<u64>, Vec<u8>)>) -> MemQueue {
        MemQueue {
            input,
            next: 0,
            out: Vec::new(),
            tx_room: usize::MAX,
            pool: pool.clone(),
        }
    }
}

impl PortQueue for MemQueue {
    type Buf = PcapBuf;
    fn rx_burst(&mut self, out: &mut Burst<PcapBuf>, max: usize) -> usize {
        let mut n = 0;
        while !out.is_full() && n < max {
            let Some((ts, data)) = self.input.get(self.next) else {
                break;
            };
            let mut b = self.pool.alloc().unwrap();
            b.fill(data, *ts).unwrap();
            out.push(b);
            self.next += 1;
            n += 1;
        }
        n
    }
    fn tx_burst(&mut self, bufs: &mut Burst<PcapBuf>) -> usize {
        let n = bufs.len().min(self.tx_room);
        for b in bufs.drain(..n) {
            self.out.push(b.data().to_vec());
        }
        n
    }
    fn alloc(&mut self) -> Option<PcapBuf> {
        self.pool.alloc()
    }
}

/// Ethernet + IPv4 header fields of a test packet.
#[derive(Debug, Clone, Copy)]
pub struct L2L3 {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub df: bool,
}

fn frame(h: &L2L3, proto: IpProtocol, l4: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + l4.len()];
    ethernet::emit_header(
        &mut f[..14],
        MacAddr(h.dst_mac),
        MacAddr(h.src_mac),
        EtherType::Ipv4,
    )
    .unwrap();
    ipv4::Repr {
        src: h.src,
        dst: h.dst,
        protocol: proto,
        payload_len: l4.len(),
        ttl: h.ttl,
        tos: 0,
        ident: 1,
        dont_frag: h.df,
    }
    .emit(&mut f[14..34])
    .unwrap();
    f[34..].copy_from_slice(l4);
    f
}

/// A TCP segment with a valid checksum.
pub fn tcp_frame(
    h: &L2L3,
    sport: u16,
    dport: u16,
    flags: u16,
    seq: u32,
    ack: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut seg = vec![0u8; 20 + payload.len()];
    tcp::Repr {
        src_port: sport,
        dst_port: dport,
        seq,
        ack,
        flags: Flags(flags),
        window: 64240,
    }
    .emit(&mut seg)
    .unwrap();
    seg[20..].copy_from_slice(payload);
    tcp::Packet::new_checked(&mut seg[..])
        .unwrap()
        .fill_checksum_v4(h.src, h.dst);
    frame(h, IpProtocol::Tcp, &seg)
}

/// A UDP datagram with a valid checksum.
pub fn udp_frame(h: &L2L3, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut seg = vec![0u8; 8 + payload.len()];
    udp::emit_header(&mut seg, sport, dport, payload.len()).unwrap();
    seg[8..].copy_from_slice(payload);
    udp::Packet::new_checked(&mut seg[..])
        .unwrap()
        .fill_checksum_v4(h.src, h.dst);
    frame(h, IpProtocol::Udp, &seg)
}

/// An ICMP echo request.
pub fn echo_frame(h: &L2L3, ident: u16, seq: u16) -> Vec<u8> {
    let mut m = vec![0u8; 8 + 4];
    m[0] = 8;
    m[4..6].copy_from_slice(&ident.to_be_bytes());
    m[6..8].copy_from_slice(&seq.to_be_bytes());
    m[8..].copy_from_slice(b"ping");
    icmp::Packet::new_unchecked(&mut m[..]).fill_checksum();
    frame(h, IpProtocol::Icmp, &m)
}

/// An ARP request (broadcast) or reply (to `target_mac`), padded to 60 bytes.
pub fn arp_frame(
    reply: bool,
    sender_mac: [u8; 6],
    sender_ip: Ipv4Addr,
    target_mac: [u8; 6],
    target_ip: Ipv4Addr,
) -> Vec<u8> {
    let repr = if reply {
        arp::Repr::reply(
            MacAddr(sender_mac),
            sender_ip,
            MacAddr(target_mac),
            target_ip,
        )
    } else {
        arp::Repr::request(MacAddr(sender_mac), sender_ip, target_ip)
    };
    let mut f = vec![0u8; 60];
    repr.emit_frame(&mut f).unwrap();
    f
}

/// Fields of a received TCP/UDP frame, with checksums verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    pub seq: u32,
    pub ack: u32,
    pub payload: Vec<u8>,
}

/// Parses an Ethernet/IPv4/TCP-or-UDP frame, asserting the IPv4 and L4 checksums.
pub fn seen(f: &[u8]) -> Seen {
    let eth = ethernet::Frame::new_checked(f).unwrap();
    assert_eq!(eth.ethertype(), EtherType::Ipv4, "not IPv4: {f:02x?}");
    let ip = ipv4::Packet::new_checked(eth.payload()).expect("valid IPv4 header checksum");
    let total = usize::from(ip.total_len());
    let l4 = &eth.payload()[ip.header_len()..total];
    let (sport, dport, seq, ack, payload) = match ip.protocol() {
        IpProtocol::Tcp => {
            let t = tcp::Packet::new_checked(l4).unwrap();
            assert!(t.verify_checksum_v4(ip.src(), ip.dst()), "bad TCP checksum");
            (
                t.src_port(),
                t.dst_port(),
                t.seq(),
                t.ack(),
                t.payload().to_vec(),
            )
        }
        IpProtocol::Udp => {
            let u = udp::Packet::new_checked(l4).unwrap();
            assert!(
                u.checksum() == 0 || u.verify_checksum_v4(ip.src(), ip.dst()),
                "bad UDP checksum"
            );
            (u.src_port(), u.dst_port(), 0, 0, u.payload().to_vec())
        }
        p => (0, 0, 0, 0, {
            let _ = p;
            l4.to_vec()
        }),
    };
    Seen {
        src_mac: eth.src().0,
        dst_mac: eth.dst().0,
        src: ip.src(),
        dst: ip.dst(),
        sport,
        dport,
        proto: u8::from(ip.protocol()),
        seq,
        ack,
        payload,
    }
}
