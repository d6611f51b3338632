//! Shared pieces of the live lab tests: building a lab or skipping, and a few packet
//! builders/checkers (the lab crate depends on nothing of rvs, so not on its `wire` code).

#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddrV4};

use lab::{Lab, LabSpec};

/// The lab for `spec`, or `None` (after printing the skip line) when not root.
pub fn lab_or_skip(spec: LabSpec) -> Option<Lab> {
    Lab::up_or_skip(spec).expect("building the lab")
}

/// RFC 1071 Internet checksum of `data` with `initial` already summed in.
pub fn checksum_with(initial: u32, data: &[u8]) -> u16 {
    let mut sum = initial;
    for pair in data.chunks(2) {
        let word = match pair {
            [hi, lo] => u16::from_be_bytes([*hi, *lo]),
            [hi] => u16::from_be_bytes([*hi, 0]),
            _ => 0,
        };
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Pseudo-header sum for TCP/UDP over IPv4.
pub fn pseudo_sum(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: usize) -> u32 {
    let words = |a: Ipv4Addr| {
        let o = a.octets();
        u32::from(u16::from_be_bytes([o[0], o[1]])) + u32::from(u16::from_be_bytes([o[2], o[3]]))
    };
    words(src) + words(dst) + u32::from(proto) + len as u32
}

/// An IPv4 packet (TTL 64, no options) around `payload`.
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut header = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0];
    header[2..4].copy_from_slice(&total.to_be_bytes());
    header.extend_from_slice(&src.octets());
    header.extend_from_slice(&dst.octets());
    let sum = checksum_with(0, &header);
    header[10..12].copy_from_slice(&sum.to_be_bytes());
    header.extend_from_slice(payload);
    header
}

/// A UDP datagram; `checksum` false leaves the checksum 0 (allowed over IPv4).
pub fn udp(src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8], checksum: bool) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut datagram = Vec::with_capacity(len);
    datagram.extend_from_slice(&src.port().to_be_bytes());
    datagram.extend_from_slice(&dst.port().to_be_bytes());
    datagram.extend_from_slice(&(len as u16).to_be_bytes());
    datagram.extend_from_slice(&[0, 0]);
    datagram.extend_from_slice(payload);
    if checksum {
        let sum = checksum_with(pseudo_sum(*src.ip(), *dst.ip(), 17, len), &datagram);
        let sum = if sum == 0 { 0xffff } else { sum };
        datagram[6..8].copy_from_slice(&sum.to_be_bytes());
    }
    datagram
}

/// An IPv4 UDP packet.
pub fn udp_packet(src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8]) -> Vec<u8> {
    ipv4(*src.ip(), *dst.ip(), 17, &udp(src, dst, payload, true))
}

/// `aa:bb:..` to bytes.
pub fn mac(text: &str) -> [u8; 6] {
    let mut out = [0u8; 6];
    for (byte, part) in out.iter_mut().zip(text.split(':')) {
        *byte = u8::from_str_radix(part, 16).expect("hex MAC");
    }
    out
}

/// An Ethernet II frame carrying IPv4.
pub fn ethernet_ipv4(dst: &str, src: &str, packet: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(14 + packet.len());
    frame.extend_from_slice(&mac(dst));
    frame.extend_from_slice(&mac(src));
    frame.extend_from_slice(&0x0800u16.to_be_bytes());
    frame.extend_from_slice(packet);
    frame
}

/// The IPv4 packet inside an Ethernet II frame, if it is one.
pub fn ipv4_of(frame: &[u8]) -> Option<&[u8]> {
    if frame.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let packet = frame.get(14..)?;
    let ihl = usize::from(packet.first()? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*packet.get(2)?, *packet.get(3)?]));
    if ihl < 20 || total < ihl {
        return None;
    }
    packet.get(..total)
}

/// Source and destination of an IPv4 packet.
pub fn ip_addrs(packet: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr)> {
    let src: [u8; 4] = packet.get(12..16)?.try_into().ok()?;
    let dst: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
    Some((src.into(), dst.into()))
}

/// Whether the TCP or UDP checksum of an IPv4 packet is right (`None`: neither protocol).
pub fn l4_checksum_ok(packet: &[u8]) -> Option<bool> {
    let proto = *packet.get(9)?;
    if proto != 6 && proto != 17 {
        return None;
    }
    let ihl = usize::from(packet.first()? & 0x0f) * 4;
    let segment = packet.get(ihl..)?;
    if proto == 17 && segment.get(6..8)? == [0, 0] {
        return Some(true);
    }
    let (src, dst) = ip_addrs(packet)?;
    Some(checksum_with(pseudo_sum(src, dst, proto, segment.len()), segment) == 0)
}
