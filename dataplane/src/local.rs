//! The director's own answers: ARP replies and ICMP echo replies for its addresses.
//!
//! Both are rewrites in place of the received frame (no allocation): an ARP request for one
//! of the port's addresses becomes the reply, an echo request to one of them becomes the
//! echo reply (addresses swapped, type changed, checksums updated incrementally by
//! [`crate::wire`]). Everything else is a counted drop with the most specific reason.
//!
//! [`LocalStage`] is the worker's stage at this stage of the project: it classifies each
//! frame once by EtherType and hands it to the ARP or the IPv4 path. Forwarding will add
//! "IPv4 to a virtual service" in front of the local IPv4 path.
use std::net::Ipv4Addr;

use crate::port::PacketBuf;
use crate::stats::{DropReason, WorkerCounters};
use crate::wire::ethernet::Frame;
use crate::wire::icmp::{self, Message};
use crate::wire::{ArpError, ArpOperation, EtherType, IpProtocol, Ipv4Error, MacAddr, arp, ipv4};
use crate::worker::{Output, PacketCtx, PortView, Stage, Verdict};

/// The stage that answers for the director's own addresses and drops the rest.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalStage;

impl<B: PacketBuf> Stage<B> for LocalStage {
    #[inline]
    fn process(&mut self, mut buf: B, ctx: &PacketCtx<'_>, out: &mut Output<'_, B>) {
        let verdict = respond(buf.data_mut(), ctx);
        out.push(verdict, buf);
    }
}

/// Decides one frame received on `ctx.port`, rewriting it into the answer when there is one.
pub fn respond(frame: &mut [u8], ctx: &PacketCtx<'_>) -> Verdict {
    let Some(port) = ctx.snapshot.port(usize::from(ctx.port)) else {
        return Verdict::Drop(DropReason::NoSuchPort);
    };
    let verdict = match Frame::new_checked(&mut *frame) {
        Err(_) => Err(DropReason::Truncated),
        Ok(eth) => match eth.ethertype() {
            EtherType::Arp => answer_arp(eth, port, ctx.counters),
            EtherType::Ipv4 => answer_ipv4(eth, port, ctx.counters),
            _ => Err(DropReason::NotIpv4),
        },
    };
    match verdict {
        Ok(()) => Verdict::Transmit { port: ctx.port },
        Err(reason) => Verdict::Drop(reason),
    }
}

fn arp_drop(e: ArpError) -> DropReason {
    match e {
        ArpError::Truncated => DropReason::Truncated,
        _ => DropReason::ArpMalformed,
    }
}

/// An ARP request for one of `port`'s addresses becomes the reply, sent back to the
/// requester from the port's MAC.
fn answer_arp(
    mut eth: Frame<&mut [u8]>,
    port: &PortView,
    counters: &WorkerCounters,
) -> Result<(), DropReason> {
    let our_mac = MacAddr(port.mac);
    let requester = {
        let mut packet = arp::Packet::new_checked(eth.payload_mut()).map_err(arp_drop)?;
        match packet.operation() {
            ArpOperation::Request => {}
            ArpOperation::Reply => return Err(DropReason::ArpNotRequest),
            ArpOperation::Unknown(_) => return Err(DropReason::ArpMalformed),
        }
        if packet.is_gratuitous() {
            return Err(DropReason::ArpNotRequest);
        }
        if !port.owns_ipv4(packet.target_ip()) {
            return Err(DropReason::ArpNotOurs);
        }
        let requester = packet.sender_mac();
        packet.turn_into_reply(our_mac).map_err(arp_drop)?;
        requester
    };
    eth.set_dst(requester);
    eth.set_src(our_mac);
    counters.arp_replies.inc();
    Ok(())
}

fn ipv4_drop(e: Ipv4Error) -> DropReason {
    match e {
        Ipv4Error::Truncated => DropReason::Truncated,
        _ => DropReason::Ipv4Malformed,
    }
}

/// An ICMP echo request to one of `port`'s addresses, sent to the port's MAC, becomes the
/// echo reply.
fn answer_ipv4(
    mut eth: Frame<&mut [u8]>,
    port: &PortView,
    counters: &WorkerCounters,
) -> Result<(), DropReason> {
    let our_mac = MacAddr(port.mac);
    {
        let ip = ipv4::Packet::new_checked(eth.payload()).map_err(ipv4_drop)?;
        if !is_ours(port, eth.dst(), ip.dst()) {
            return Err(DropReason::NotForUs);
        }
        if ip.is_fragment() {
            return Err(DropReason::Ipv4Fragment);
        }
        if ip.protocol() != IpProtocol::Icmp {
            return Err(DropReason::LocalProtoUnhandled);
        }
        let message = icmp::Packet::new_checked(ip.payload()).map_err(|e| match e {
            icmp::IcmpError::Truncated => DropReason::Truncated,
            _ => DropReason::IcmpMalformed,
        })?;
        if message.msg_type() != Message::EchoRequest {
            return Err(DropReason::IcmpNotEcho);
        }
    }
    icmp::reply_to_echo_in_place(eth.payload_mut()).map_err(|_| DropReason::IcmpMalformed)?;
    eth.swap_addresses();
    eth.set_src(our_mac);
    counters.icmp_echo_replies.inc();
    Ok(())
}

/// Whether a packet is addressed to the director: to its MAC and one of its addresses.
fn is_ours(port: &PortView, dst_mac: MacAddr, dst_ip: Ipv4Addr) -> bool {
    dst_mac.0 == port.mac && port.owns_ipv4(dst_ip)
}

#[cfg(test)]
mod tests;
