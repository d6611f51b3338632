//! The rewrites of the DR, NAT and FULLNAT forwarding methods (TUN is in [`super::tun`]).
//!
//! | method  | client → real server                     | real server → client            |
//! |---------|------------------------------------------|---------------------------------|
//! | DR      | Ethernet only (to the real server's MAC) | does not pass the director      |
//! | NAT     | dst → real server:port                   | src → VIP:vport                 |
//! | FULLNAT | src → local addr:port, dst → real server | src → VIP:vport, dst → client   |
//!
//! Addresses and ports are rewritten in place with RFC 1624 incremental checksum updates
//! of the IPv4 header and the TCP/UDP pseudo-header; a UDP datagram sent without checksum
//! stays without. FULLNAT additionally tells the real server who the client is (TOA or
//! PROXY protocol v2, see [`super::caddr`]).
use std::net::Ipv4Addr;

use super::parse::{ETH_LEN, Ip4, PROTO_TCP, PROTO_UDP, PROTO_VRRP};
use super::{ForwardStage, caddr, xmit};
use crate::conn::{ConnHandle, Forward};
use crate::port::PacketBuf;
use crate::stats::DropReason;
use crate::wire::{ipv4, tcp, udp};
use crate::worker::{Output, PacketCtx};

/// A new source and/or destination address:port for a TCP or UDP packet.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rewrite {
    pub src: Option<(Ipv4Addr, u16)>,
    pub dst: Option<(Ipv4Addr, u16)>,
}

/// Applies `rw` to the IPv4 packet starting at `frame[ETH_LEN..]` (header already
/// validated), keeping every checksum right incrementally.
pub fn rewrite(frame: &mut [u8], ip: &Ip4, rw: Rewrite) -> Result<(), DropReason> {
    let pkt = frame
        .get_mut(ETH_LEN..ETH_LEN + ip.total)
        .ok_or(DropReason::Truncated)?;
    {
        let mut p = ipv4::Packet::new_checked_without_checksum(&mut *pkt)
            .map_err(|_| DropReason::Ipv4Malformed)?;
        if let Some((a, _)) = rw.src {
            p.set_src(a);
        }
        if let Some((a, _)) = rw.dst {
            p.set_dst(a);
        }
    }
    let seg = pkt.get_mut(ip.hlen..).ok_or(DropReason::Truncated)?;
    match ip.proto {
        PROTO_TCP => {
            let mut t = tcp::Packet::new_checked(seg).map_err(|_| DropReason::L4Malformed)?;
            if let Some((a, port)) = rw.src {
                t.adjust_checksum_for_ipv4_change(ip.src, a);
                t.set_src_port(port);
            }
            if let Some((a, port)) = rw.dst {
                t.adjust_checksum_for_ipv4_change(ip.dst, a);
                t.set_dst_port(port);
            }
        }
        PROTO_UDP => {
            let mut u = udp::Packet::new_checked(seg).map_err(|_| DropReason::L4Malformed)?;
            if let Some((a, port)) = rw.src {
                u.adjust_checksum_for_ipv4_change(ip.src, a);
                u.set_src_port(port);
            }
            if let Some((a, port)) = rw.dst {
                u.adjust_checksum_for_ipv4_change(ip.dst, a);
                u.set_dst_port(port);
            }
        }
        _ => return Err(DropReason::ProtoUnhandled),
    }
    Ok(())
}

/// DR: the packet goes unchanged to the real server's MAC.
pub fn dr<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    buf: B,
    h: ConnHandle,
    ctx: &PacketCtx<'_>,
    out: &mut Output<'_, B>,
) {
    let Some(rs) = st.conns.get(h).map(|c| c.real_server().0) else {
        return out.drop(DropReason::NoConn, buf);
    };
    xmit::route(st, buf, rs, ctx, out);
}

/// NAT, client side: destination to the real server.
pub fn nat_in<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    mut buf: B,
    h: ConnHandle,
    ip: &Ip4,
    ctx: &PacketCtx<'_>,
    out: &mut Output<'_, B>,
) {
    let Some(rs) = st.conns.get(h).map(|c| c.real_server()) else {
        return out.drop(DropReason::NoConn, buf);
    };
    let rw = Rewrite {
        src: None,
        dst: Some(rs),
    };
    if let Err(r) = rewrite(buf.data_mut(), ip, rw) {
        return out.drop(r, buf);
    }
    xmit::route(st, buf, rs.0, ctx, out);
}

/// NAT, real-server side: source back to the VIP.
pub fn nat_out<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    mut buf: B,
    h: ConnHandle,
    ip: &Ip4,
    ctx: &PacketCtx<'_>,
    out: &mut Output<'_, B>,
) {
    let Some(vip) = st.conns.get(h).map(|c| c.virtual_addr()) else {
        return out.drop(DropReason::NoConn, buf);
    };
    let rw = Rewrite {
        src: Some(vip),
        dst: None,
    };
    if let Err(r) = rewrite(buf.data_mut(), ip, rw) {
        return out.drop(r, buf);
    }
    xmit::route(st, buf, ip.dst, ctx, out);
}

/// FULLNAT, client side: source to the local address, destination to the real server,
/// and the client's address delivered as the service asks.
pub fn fullnat_in<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    mut buf: B,
    h: ConnHandle,
    ip: &Ip4,
    ctx: &PacketCtx<'_>,
    out: &mut Output<'_, B>,
) {
    let Some((rs, local)) = st.conns.get(h).map(|c| (c.real_server(), c.local())) else {
        return out.drop(DropReason::NoConn, buf);
    };
    let Some(local) = local else {
        return out.drop(DropReason::NoConn, buf);
    };
    let rw = Rewrite {
        src: Some(local),
        dst: Some(rs),
    };
    if let Err(r) = rewrite(buf.data_mut(), ip, rw) {
        return out.drop(r, buf);
    }
    let buf = match caddr::client_side(st, buf, h, ip, ctx) {
        Ok(b) => b,
        Err((r, b)) => return out.drop(r, b),
    };
    xmit::route(st, buf, rs.0, ctx, out);
}

/// FULLNAT, real-server side: back to VIP → client, sequence numbers corrected.
pub fn fullnat_out<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    mut buf: B,
    h: ConnHandle,
    ip: &Ip4,
    ctx: &PacketCtx<'_>,
    out: &mut Output<'_, B>,
) {
    let Some((vip, client)) = st.conns.get(h).map(|c| (c.virtual_addr(), c.client())) else {
        return out.drop(DropReason::NoConn, buf);
    };
    let rw = Rewrite {
        src: Some(vip),
        dst: Some(client),
    };
    if let Err(r) = rewrite(buf.data_mut(), ip, rw) {
        return out.drop(r, buf);
    }
    let buf = match caddr::server_side(st, buf, h, ip) {
        Ok(b) => b,
        Err((r, b)) => return out.drop(r, b),
    };
    xmit::route(st, buf, client.0, ctx, out);
}

/// The local address and port of a FULLNAT connection, if it is one.
pub fn local_of(f: Forward<Ipv4Addr>) -> Option<(Ipv4Addr, u16)> {
    match f {
        Forward::FullNat { laddr, lport } => Some((laddr, lport)),
        _ => None,
    }
}

/// VRRP adverts the kernel sends through the kernel-side port leave with the virtual router
/// MAC 00:00:5e:00:01:VRID as source (RFC 3768/5798); the kernel cannot set it itself.
pub fn vrrp_source_mac(frame: &mut [u8]) {
    let is_vrrp =
        frame.get(12..14) == Some(&[0x08, 0x00][..]) && frame.get(ETH_LEN + 9) == Some(&PROTO_VRRP);
    if !is_vrrp {
        return;
    }
    let ihl = frame.get(ETH_LEN).map_or(0, |b| usize::from(b & 0x0f) * 4);
    if let Some(&vrid) = frame.get(ETH_LEN + ihl + 1)
        && let Some(src) = frame.get_mut(6..12)
    {
        src.copy_from_slice(&[0x00, 0x00, 0x5e, 0x00, 0x01, vrid]);
    }
}
