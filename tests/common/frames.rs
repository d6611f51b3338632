//! Building and reading the TCP/IPv4 frames the integration tests replay, independently of
//! the dataplane's own wire code (checksums computed from scratch here).
use std::borrow::Cow;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, TsResolution};

pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;
pub const PSH: u8 = 0x08;
pub const FIN: u8 = 0x01;

/// One TCP segment in an Ethernet frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tcp {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub ttl: u8,
    pub payload: Vec<u8>,
}

/// RFC 1071 one's-complement sum of `data`, folded, not inverted.
fn sum16(data: &[u8], mut acc: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc
}

fn tcp_checksum(src: Ipv4Addr, dst: Ipv4Addr, segment: &[u8]) -> u16 {
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&(segment.len() as u16).to_be_bytes());
    !(sum16(segment, sum16(&pseudo, 0)) as u16)
}

impl Tcp {
    /// The frame, with valid IPv4 and TCP checksums.
    pub fn frame(&self) -> Vec<u8> {
        let mut f = Vec::with_capacity(54 + self.payload.len());
        f.extend_from_slice(&self.dst_mac);
        f.extend_from_slice(&self.src_mac);
        f.extend_from_slice(&[0x08, 0x00]);
        let total = (20 + 20 + self.payload.len()) as u16;
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip[4..6].copy_from_slice(&(self.seq as u16).to_be_bytes());
        ip[6] = 0x40; // DF
        ip[8] = self.ttl;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&self.src.octets());
        ip[16..20].copy_from_slice(&self.dst.octets());
        let c = !(sum16(&ip, 0) as u16);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&ip);
        let mut tcp = vec![0u8; 20];
        tcp[0..2].copy_from_slice(&self.sport.to_be_bytes());
        tcp[2..4].copy_from_slice(&self.dport.to_be_bytes());
        tcp[4..8].copy_from_slice(&self.seq.to_be_bytes());
        tcp[8..12].copy_from_slice(&self.ack.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = self.flags;
        tcp[14..16].copy_from_slice(&64240u16.to_be_bytes());
        tcp.extend_from_slice(&self.payload);
        let c = tcp_checksum(self.src, self.dst, &tcp);
        tcp[16..18].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&tcp);
        f
    }
}

/// What a test needs to know of a transmitted TCP/IPv4 frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub dst_mac: [u8; 6],
    pub src_mac: [u8; 6],
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub flags: u8,
    pub ttl: u8,
    /// The IPv4 header onwards.
    pub ip_bytes: Vec<u8>,
}

/// Parses a TCP/IPv4 frame and verifies both checksums; `None` for anything else.
pub fn parse_tcp(frame: &[u8]) -> Option<Seen> {
    if frame.len() < 54 || frame[12..14] != [0x08, 0x00] {
        return None;
    }
    let ip = &frame[14..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if ip[0] >> 4 != 4 || ip[9] != 6 || ihl < 20 || total > ip.len() || total < ihl + 20 {
        return None;
    }
    let ip = &ip[..total];
    assert_eq!(sum16(&ip[..ihl], 0), 0xffff, "IPv4 header checksum");
    let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    let tcp = &ip[ihl..];
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
    assert_eq!(sum16(tcp, sum16(&pseudo, 0)), 0xffff, "TCP checksum");
    let mut dst_mac = [0u8; 6];
    dst_mac.copy_from_slice(&frame[0..6]);
    let mut src_mac = [0u8; 6];
    src_mac.copy_from_slice(&frame[6..12]);
    Some(Seen {
        dst_mac,
        src_mac,
        src,
        dst,
        sport: u16::from_be_bytes([tcp[0], tcp[1]]),
        dport: u16::from_be_bytes([tcp[2], tcp[3]]),
        seq: u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]),
        flags: tcp[13],
        ttl: ip[8],
        ip_bytes: ip.to_vec(),
    })
}

/// Writes `(capture time in ns, frame)` records as a classic pcap with microsecond
/// timestamps (what net_pcap reads); times must be whole microseconds.
pub fn write_pcap(path: &Path, records: &[(u64, Vec<u8>)]) {
    let file = std::fs::File::create(path).expect("create pcap");
    let header = PcapHeader {
        ts_resolution: TsResolution::MicroSecond,
        datalink: DataLink::ETHERNET,
        snaplen: 65535,
        ..PcapHeader::default()
    };
    let mut w = PcapWriter::with_header(std::io::BufWriter::new(file), header).expect("header");
    for (ts, data) in records {
        assert_eq!(ts % 1000, 0, "whole microseconds");
        w.write_packet(&PcapPacket {
            timestamp: Duration::from_nanos(*ts),
            orig_len: data.len() as u32,
            data: Cow::Borrowed(data),
        })
        .expect("write packet");
    }
}

/// `frame` as the director forwards it: TTL − 1 (IPVS decrements it like a router) with the
/// IPv4 header checksum recomputed from scratch — independent of the dataplane's incremental
/// update.
pub fn forwarded(frame: &[u8]) -> Vec<u8> {
    let mut f = frame.to_vec();
    f[22] -= 1;
    f[24] = 0;
    f[25] = 0;
    let ihl = usize::from(f[14] & 0x0f) * 4;
    let mut sum: u32 = 0;
    for c in f[14..14 + ihl].chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    f[24..26].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    f
}
