//! The last hop of every forwarded packet, and ARP.
//!
//! [`route`] finds the next hop of an IPv4 destination (longest prefix match in the
//! snapshot's routes), [`to_neighbour`] resolves its MAC in this worker's neighbour table —
//! holding the packet and sending an ARP request when it is not known yet — and writes the
//! Ethernet header. [`arp`] handles received ARP: learning (and telling the other workers),
//! answering for VIPs and FULLNAT local addresses, and passing what concerns the director's
//! own addresses to the kernel.
use std::net::Ipv4Addr;

use arrayvec::ArrayVec;

use super::ForwardStage;
use super::neighsync::NeighUpdate;
use crate::neigh::{NeighDrop, Resolution, TickAction};
use crate::port::PacketBuf;
use crate::stats::DropReason;
use crate::wire::arp::{self, Operation, Repr};
use crate::wire::ethernet::Frame;
use crate::wire::{ArpError, MacAddr};
use crate::worker::{Output, PacketCtx, Snapshot, Verdict};

/// Ethernet frames are padded to this length when rvs builds them.
const MIN_FRAME: usize = 60;

/// Writes the Ethernet header of an IPv4 frame.
#[inline]
pub fn write_eth(frame: &mut [u8], dst: [u8; 6], src: [u8; 6]) {
    if let Some(h) = frame.get_mut(..14) {
        h[0..6].copy_from_slice(&dst);
        h[6..12].copy_from_slice(&src);
        h[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    }
}

fn neigh_drop(r: NeighDrop) -> DropReason {
    match r {
        NeighDrop::HoldFull => DropReason::NeighHoldFull,
        NeighDrop::Failed => DropReason::NeighFailed,
        NeighDrop::TableFull => DropReason::NeighTableFull,
    }
}

/// Routes an IPv4 frame to `dst`.
pub fn route<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    buf: B,
    dst: Ipv4Addr,
    ctx: &PacketCtx<'_>,
    out: &mut Output<'_, B>,
) {
    let Some(nh) = ctx.snapshot.routes.lookup(u32::from(dst)) else {
        return out.drop(DropReason::NoRoute, buf);
    };
    let via = Ipv4Addr::from(nh.neighbour(u32::from(dst)));
    to_neighbour(st, buf, nh.port, via, ctx.now, ctx.snapshot, out);
}

/// Sends an IPv4 frame to neighbour `via` on `port`.
pub fn to_neighbour<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    buf: B,
    port: u16,
    via: Ipv4Addr,
    now: u64,
    snap: &Snapshot,
    out: &mut Output<'_, B>,
) {
    let Some(pv) = snap.port(usize::from(port)) else {
        return out.drop(DropReason::NoSuchPort, buf);
    };
    let our_mac = pv.mac;
    match st.neigh.resolve(port, u32::from(via), now, buf) {
        Resolution::Ready {
            mut buf,
            mac,
            refresh,
        } => {
            write_eth(buf.data_mut(), mac, our_mac);
            out.push(Verdict::Transmit { port }, buf);
            if refresh {
                arp_request(snap, port, via, out);
            }
        }
        Resolution::Held { request } => {
            out.counters().neigh_held.inc();
            if request {
                arp_request(snap, port, via, out);
            }
        }
        Resolution::Refused { buf, reason } => out.drop(neigh_drop(reason), buf),
    }
}

fn emit_arp<B: PacketBuf>(repr: &Repr, port: u16, out: &mut Output<'_, B>) {
    let Some(mut b) = out.alloc() else {
        out.counters().drop_packet(DropReason::NoBuffer);
        return;
    };
    let ok = match b.append(MIN_FRAME) {
        Ok(frame) => {
            frame.fill(0);
            repr.emit_frame(frame).is_ok()
        }
        Err(_) => false,
    };
    if ok {
        out.push(Verdict::Transmit { port }, b);
    } else {
        out.drop(DropReason::NoBuffer, b);
    }
}

/// Sends "who has `target`?" on `port`, from the port's address in the target's subnet.
pub fn arp_request<B: PacketBuf>(
    snap: &Snapshot,
    port: u16,
    target: Ipv4Addr,
    out: &mut Output<'_, B>,
) {
    let Some(pv) = snap.port(usize::from(port)) else {
        return;
    };
    let src = pv.source_for(target).unwrap_or(Ipv4Addr::UNSPECIFIED);
    out.counters().arp_requests.inc();
    emit_arp(&Repr::request(MacAddr(pv.mac), src, target), port, out);
}

/// Sends one gratuitous ARP for `addr` on `port` (VRRP takeover).
pub fn garp<B: PacketBuf>(snap: &Snapshot, port: u16, addr: Ipv4Addr, out: &mut Output<'_, B>) {
    let Some(pv) = snap.port(usize::from(port)) else {
        return;
    };
    out.counters().garps.inc();
    emit_arp(&Repr::gratuitous(MacAddr(pv.mac), addr), port, out);
}

/// Records a neighbour and sends the packets that waited for it; `publish` tells the other
/// workers (false for what they told us).
#[allow(clippy::too_many_arguments)]
pub fn learned<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    port: u16,
    addr: Ipv4Addr,
    mac: [u8; 6],
    now: u64,
    snap: &Snapshot,
    out: &mut Output<'_, B>,
    publish: bool,
) {
    let Some(pv) = snap.port(usize::from(port)) else {
        return;
    };
    let our_mac = pv.mac;
    for mut b in st.neigh.learn(port, u32::from(addr), mac, now) {
        write_eth(b.data_mut(), mac, our_mac);
        out.push(Verdict::Transmit { port }, b);
    }
    if publish {
        st.neigh_sync.publish(NeighUpdate { port, addr, mac });
    }
}

fn arp_drop(e: ArpError) -> DropReason {
    match e {
        ArpError::Truncated => DropReason::Truncated,
        _ => DropReason::ArpMalformed,
    }
}

/// Handles a received ARP packet.
pub fn arp<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    mut buf: B,
    ctx: &PacketCtx<'_>,
    out: &mut Output<'_, B>,
) {
    let snap = ctx.snapshot;
    let Some(pv) = snap.port(usize::from(ctx.port)) else {
        return out.drop(DropReason::NoSuchPort, buf);
    };
    let (op, smac, sip, tip, gratuitous) = {
        let Ok(eth) = Frame::new_checked(buf.data()) else {
            return out.drop(DropReason::Truncated, buf);
        };
        match arp::Packet::new_checked(eth.payload()) {
            Ok(p) => (
                p.operation(),
                p.sender_mac(),
                p.sender_ip(),
                p.target_ip(),
                p.is_gratuitous(),
            ),
            Err(e) => return out.drop(arp_drop(e), buf),
        }
    };
    let own = pv.owns_ipv4(tip);
    let served = !own && (snap.services.is_vip(tip) || snap.services.is_laddr(tip));
    // Learn from anything aimed at us, refresh known entries from the rest (the kernel's
    // rule), never from ourselves or an unset sender.
    if !sip.is_unspecified() && !pv.owns_ipv4(sip) && smac.is_unicast() {
        if (own || served || op == Operation::Reply) && !gratuitous {
            learned(st, ctx.port, sip, smac.0, ctx.now, snap, out, true);
        } else {
            for mut b in st
                .neigh
                .update_existing(ctx.port, u32::from(sip), smac.0, ctx.now)
            {
                write_eth(b.data_mut(), smac.0, pv.mac);
                out.push(Verdict::Transmit { port: ctx.port }, b);
            }
        }
    }
    match op {
        Operation::Request if served && !gratuitous => {
            let done = {
                let mut eth = match Frame::new_checked(buf.data_mut()) {
                    Ok(e) => e,
                    Err(_) => return out.drop(DropReason::Truncated, buf),
                };
                let replied = arp::Packet::new_checked(eth.payload_mut())
                    .and_then(|mut p| p.turn_into_reply(MacAddr(pv.mac)));
                if replied.is_ok() {
                    eth.set_dst(smac);
                    eth.set_src(MacAddr(pv.mac));
                }
                replied
            };
            match done {
                Ok(()) => {
                    out.counters().arp_replies.inc();
                    out.push(Verdict::Transmit { port: ctx.port }, buf);
                }
                Err(e) => out.drop(arp_drop(e), buf),
            }
        }
        _ if own && pv.kernel.is_some() => out.push(Verdict::ToKernel { port: ctx.port }, buf),
        Operation::Request if own && !gratuitous => {
            let v = crate::local::respond(buf.data_mut(), ctx);
            out.push(v, buf);
        }
        Operation::Request if !gratuitous => out.drop(DropReason::ArpNotOurs, buf),
        _ => out.drop(DropReason::ArpNotRequest, buf),
    }
}

/// Neighbour timers: repeated requests for unresolved neighbours, dropping the packets of
/// those that never answered, and forgetting long-unused entries.
pub fn tick<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    now: u64,
    snap: &Snapshot,
    budget: usize,
    out: &mut Output<'_, B>,
) {
    let mut requests: ArrayVec<TickAction, 8> = ArrayVec::new();
    let mut dropped: ArrayVec<B, 16> = ArrayVec::new();
    st.neigh.tick(now, budget, &mut requests, &mut dropped);
    for TickAction::Request { port, ip } in requests {
        arp_request(snap, port, Ipv4Addr::from(ip), out);
    }
    for b in dropped {
        out.drop(DropReason::NeighFailed, b);
    }
    st.neigh.gc(now, budget);
}

/// Answers `buf` with an ICMP error: `message` from `from` back to the packet's source,
/// quoting it (up to 576 bytes of ICMP, as Linux), routed like any packet; `buf` itself is
/// dropped and counted as `reason`. No error is sent about an ICMP error, a fragment other
/// than the first, or a broadcast/multicast source (RFC 1122).
#[allow(clippy::too_many_arguments)]
pub fn icmp_error<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    buf: B,
    ip: &super::parse::Ip4,
    message: crate::wire::icmp::ErrorMessage,
    from: Ipv4Addr,
    reason: DropReason,
    ctx: &PacketCtx<'_>,
    out: &mut Output<'_, B>,
) {
    use crate::wire::{icmp, ipv4};
    let Some(original) = buf.data().get(super::parse::ETH_LEN..ip.frame_len()) else {
        return out.drop(DropReason::Truncated, buf);
    };
    if !icmp::error_allowed_for(original) {
        return out.drop(reason, buf);
    }
    let Some(mut reply) = out.alloc() else {
        out.counters().drop_packet(DropReason::NoBuffer);
        return out.drop(reason, buf);
    };
    let eth = super::parse::ETH_LEN;
    let room = ipv4::HEADER_LEN + icmp::HEADER_LEN + original.len().min(icmp::MAX_QUOTE_LEN);
    let ident = st.next_ident();
    let built = match reply.append(eth + room) {
        Ok(frame) => frame
            .get_mut(eth..)
            .ok_or(icmp::IcmpError::BufferTooSmall)
            .and_then(|p| icmp::emit_error_packet(p, from, ident, message, original)),
        Err(_) => Err(icmp::IcmpError::BufferTooSmall),
    };
    out.drop(reason, buf);
    match built {
        Ok(len) if reply.trim(room - len.min(room)).is_ok() => {
            route(st, reply, ip.src, ctx, out);
        }
        _ => out.drop(DropReason::NoBuffer, reply),
    }
}
