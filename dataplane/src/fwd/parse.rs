//! Classifying a frame once: where its IPv4 header and transport ports are.
//!
//! The forwarding path reads each field once, here, into a small [`Ip4`] / [`L4`] record,
//! and rewrites the frame afterwards through the wire views. Validation is the wire
//! views' (`new_checked`), so every later access to the recorded offsets is in bounds.
use std::net::Ipv4Addr;

use crate::conn::TcpFlags;
use crate::stats::DropReason;
use crate::wire::ethernet::Frame;
use crate::wire::{EtherType, Ipv4Error, icmp, ipv4, tcp, udp};

/// Length of an untagged Ethernet header.
pub const ETH_LEN: usize = 14;

/// IP protocol numbers the forwarder handles.
pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_VRRP: u8 = 112;

/// The IPv4 facts of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ip4 {
    /// Header length in bytes.
    pub hlen: usize,
    /// IPv4 total length (the frame may carry Ethernet padding beyond it).
    pub total: usize,
    pub proto: u8,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub df: bool,
    pub fragment: bool,
}

impl Ip4 {
    /// Offset of the transport header in the frame.
    pub fn l4(&self) -> usize {
        ETH_LEN + self.hlen
    }

    /// Length of the frame up to the end of the IPv4 packet (without padding).
    pub fn frame_len(&self) -> usize {
        ETH_LEN + self.total
    }
}

/// The transport facts of a TCP/UDP packet, or an ICMP echo (its identifier in both ports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L4 {
    pub sport: u16,
    pub dport: u16,
    pub flags: TcpFlags,
    /// Transport payload length.
    pub payload: usize,
}

fn ipv4_drop(e: Ipv4Error) -> DropReason {
    match e {
        Ipv4Error::Truncated => DropReason::Truncated,
        _ => DropReason::Ipv4Malformed,
    }
}

/// The EtherType of a frame (untagged).
pub fn ethertype(frame: &[u8]) -> Result<EtherType, DropReason> {
    Frame::new_checked(frame)
        .map(|f| f.ethertype())
        .map_err(|_| DropReason::Truncated)
}

/// Parses the IPv4 header of an untagged Ethernet frame.
pub fn ipv4(frame: &[u8]) -> Result<Ip4, DropReason> {
    let payload = frame.get(ETH_LEN..).ok_or(DropReason::Truncated)?;
    let p = ipv4::Packet::new_checked(payload).map_err(ipv4_drop)?;
    Ok(Ip4 {
        hlen: p.header_len(),
        total: usize::from(p.total_len()),
        proto: u8::from(p.protocol()),
        src: p.src(),
        dst: p.dst(),
        ttl: p.ttl(),
        df: p.dont_frag(),
        fragment: p.is_fragment(),
    })
}

/// The transport facts of a TCP, UDP or ICMP-echo packet whose IPv4 header is `ip`.
pub fn l4(frame: &[u8], ip: &Ip4) -> Result<L4, DropReason> {
    let seg = frame
        .get(ip.l4()..ip.frame_len())
        .ok_or(DropReason::Truncated)?;
    match ip.proto {
        PROTO_TCP => {
            let t = tcp::Packet::new_checked(seg).map_err(|_| DropReason::L4Malformed)?;
            Ok(L4 {
                sport: t.src_port(),
                dport: t.dst_port(),
                flags: TcpFlags::from_bits(u8::try_from(t.flags().0 & 0xff).unwrap_or(0)),
                payload: t.payload().len(),
            })
        }
        PROTO_UDP => {
            let u = udp::Packet::new_checked(seg).map_err(|_| DropReason::L4Malformed)?;
            Ok(L4 {
                sport: u.src_port(),
                dport: u.dst_port(),
                flags: TcpFlags::default(),
                payload: u.payload().len(),
            })
        }
        PROTO_ICMP => {
            let m = icmp::Packet::new_checked(seg).map_err(|_| DropReason::IcmpMalformed)?;
            let id = m.echo_ident();
            Ok(L4 {
                sport: id,
                dport: id,
                flags: TcpFlags::default(),
                payload: m.data().len(),
            })
        }
        _ => Err(DropReason::ProtoUnhandled),
    }
}

/// True for a multicast destination (224.0.0.0/4).
pub fn is_multicast(a: Ipv4Addr) -> bool {
    a.is_multicast()
}
