//! TUN: the client's packet, encapsulated towards the real server (IPIP by default; GUE and
//! GRE per real server, as IPVS's `tun_type`), from the director's own address.
//!
//! The packet is built the way Linux IPVS builds it (`ip_vs_tunnel_xmit`,
//! `ip_vs_prepare_tunneled_skb`, `ipvs_gue_encap`, `ipvs_gre_encap` in `ip_vs_xmit.c`), so a
//! real server set up for LVS/TUN (`tunl0`, `ip fou add ... gue`, a GRE device) receives
//! exactly what it received from the kernel:
//!
//! | `tun_type` | outer protocol | after the outer IPv4 header          | overhead |
//! |------------|----------------|--------------------------------------|----------|
//! | ipip       | 4              | —                                    | 20       |
//! | gre        | 47             | GRE (RFC 2784), protocol 0x0800, C bit and checksum with `csum` | 24 / 28 |
//! | gue        | 17             | UDP to the server's port, GUE variant 0 (hlen 0, flags 0, proto 4); UDP checksum with `csum`, else 0 | 32 |
//!
//! Outer header: source is the director's address on the egress port in the next hop's
//! subnet (what the kernel's route lookup picks, which IPVS binds with
//! `IP_VS_RT_MODE_CONNECT`), destination the real server; TTL and DF copied
//! from the inner packet, TOS copied with the ECN rule of `INET_ECN_encapsulate` (CE inside
//! becomes ECT(0) outside); identification 0 with DF (`ip_select_ident` on a DF packet)
//! and a per-worker counter without. The inner packet is the one the forwarding stage
//! hands over: its TTL already decremented (`decrement_ttl` in `__ip_vs_get_out_rt`), and
//! the outer TTL is copied from that decremented value, as `ip_vs_prepare_tunneled_skb`
//! reads it after the decrement. Nothing else of it changes.
//!
//! MTU (`__ip_vs_get_out_rt` + `ensure_mtu_is_adequate`): the usable MTU is the egress
//! port's IP MTU minus the overhead; below 68 every packet is refused, as IPVS refuses the
//! route. An inner packet longer than the usable MTU with DF set is answered with ICMP
//! fragmentation-needed carrying the usable MTU, from the VIP (the local address it was
//! sent to, as `icmp_send` picks), quoting the packet with its TTL already decremented
//! (IPVS checks the MTU after `decrement_ttl`), routed back to the client. Without
//! DF the encapsulated packet is fragmented as `ip_do_fragment` would (RFC 791).
//!
//! Where rvs differs from IPVS, and why:
//! - **GUE source port**: the kernel maps the skb's flow hash (seeded per boot, or the NIC's
//!   RSS hash) onto the ephemeral range 32768–60999 (`udp_flow_src_port`); rvs maps a fixed
//!   hash of the connection's 5-tuple onto the same range, so every packet of a flow — on
//!   any worker, after any restart — carries the same port (receivers spread by it).
//! - **Identification without DF**: the kernel draws from hashed per-destination counters
//!   with a random increment; rvs counts per worker thread, each worker starting at its own
//!   share of the 16-bit space ([`first_ident`]); the counter is a field of the stage.
//! - **Remote checksum offload** (`remcsum`) applies to locally generated
//!   `CHECKSUM_PARTIAL` packets only; for forwarded traffic IPVS sends a plain UDP
//!   checksum, which is what `csum` gives here.
//! - **Fragments**: the last fragment reuses the received buffer and the others are copied
//!   into fresh ones, so each can go out as soon as it is built, in offset order, with no
//!   array of pending buffers; the wire sees what the kernel sends. A packet needing more
//!   fragments than one stage call may output (`OUTPUT_MAX`, 64) is dropped as too big —
//!   only a jumbo frame over a tiny MTU gets there.
//! - **Tunnel type** is the connection's, fixed when it was scheduled; IPVS reads the real
//!   server's current `tun_type` per packet. Port and checksum flag are read per packet
//!   here too.
//! - No ICMP rate limit (the kernel's `icmp_ratelimit`): the error is smaller than the
//!   packet it answers, so it amplifies nothing.
use std::net::Ipv4Addr;

use super::parse::{ETH_LEN, Ip4};
use super::{ForwardStage, xmit};
use crate::conn::{ConnHandle, Proto, TunnelKind};
use crate::port::PacketBuf;
use crate::sched::DestId;
use crate::stats::DropReason;
use crate::wire::ethernet::EtherType;
use crate::wire::icmp::{self, ErrorMessage};
use crate::wire::ip::IpProtocol;
use crate::wire::ipip::Outer;
use crate::wire::{gre, gue, ipv4, udp};
use crate::worker::{Output, PacketCtx, TunnelConf};

/// The smallest MTU an IPv4 link may have (RFC 791); IPVS refuses a tunnel whose usable MTU
/// is below it.
pub const MIN_MTU: usize = 68;

/// The kernel's default `ip_local_port_range`, where `udp_flow_src_port` puts GUE source
/// ports.
pub const GUE_SPORT_MIN: u16 = 32768;
pub const GUE_SPORT_MAX: u16 = 60999;

const FLAG_MF: u16 = 0x2000;
/// ECN codepoints (RFC 3168).
const ECN_MASK: u8 = 0b11;
const ECN_CE: u8 = 0b11;
const ECN_ECT0: u8 = 0b10;

/// One real server's encapsulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encap {
    pub kind: TunnelKind,
    /// GUE destination port.
    pub port: u16,
    /// GRE checksum / GUE UDP checksum.
    pub csum: bool,
}

impl Encap {
    /// The encapsulation of kind `kind` with a real server's tunnel parameters.
    pub fn new(kind: TunnelKind, conf: &TunnelConf) -> Encap {
        Encap {
            kind,
            port: conf.port,
            csum: conf.csum,
        }
    }

    fn gre(&self) -> gre::Repr {
        gre::Repr {
            protocol: EtherType::Ipv4,
            checksum: self.csum,
            key: None,
            seq: None,
        }
    }

    /// Bytes after the outer IPv4 header and before the inner packet.
    pub fn shim_len(&self) -> usize {
        match self.kind {
            TunnelKind::Ipip => 0,
            TunnelKind::Gre => self.gre().header_len(),
            TunnelKind::Gue => udp::HEADER_LEN + gue::BASE_LEN,
        }
    }

    /// Bytes the encapsulation adds in front of the inner IPv4 packet, outer header
    /// included (what IPVS subtracts from the route's MTU).
    pub fn overhead(&self) -> usize {
        ipv4::HEADER_LEN + self.shim_len()
    }

    fn protocol(&self) -> IpProtocol {
        match self.kind {
            TunnelKind::Ipip => IpProtocol::IpIp,
            TunnelKind::Gre => IpProtocol::Gre,
            TunnelKind::Gue => IpProtocol::Udp,
        }
    }
}

/// The outer TOS byte for an inner one: DSCP and ECN copied, except that a congestion
/// mark (CE) becomes ECT(0), as the kernel's `INET_ECN_encapsulate(inner, inner)` does.
pub fn outer_tos(inner: u8) -> u8 {
    let ecn = if inner & ECN_MASK == ECN_CE {
        ECN_ECT0
    } else {
        inner & ECN_MASK
    };
    (inner & !ECN_MASK) | ecn
}

/// A 32-bit mix (the MurmurHash3 finaliser): every input bit affects every output bit.
fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// The GUE source port of a connection: a hash of its 5-tuple spread over
/// [`GUE_SPORT_MIN`]..[`GUE_SPORT_MAX`] the way `udp_flow_src_port` spreads the flow hash
/// (`hash ^= hash << 16`, then multiply-shift onto the range). A five-line mix needs no
/// crate; the kernel's own hash is seeded per boot and could not be matched anyway.
pub fn gue_source_port(proto: Proto, client: (Ipv4Addr, u16), vip: (Ipv4Addr, u16)) -> u16 {
    let p = match proto {
        Proto::Tcp => 6u32,
        Proto::Udp => 17,
        Proto::Icmp => 1,
    };
    let ports = (u32::from(client.1) << 16) | u32::from(vip.1);
    let mut h = fmix32(u32::from(client.0) ^ fmix32(u32::from(vip.0) ^ fmix32(ports ^ p)));
    h ^= h << 16;
    let span = u64::from(GUE_SPORT_MAX - GUE_SPORT_MIN);
    let off = (u64::from(h) * span) >> 32;
    GUE_SPORT_MIN.saturating_add(u16::try_from(off).unwrap_or(0))
}

/// The first identification worker `worker` of `workers` hands out for packets it
/// originates without DF (a fragmentable outer header, an ICMP error): `w * 65536 / n`, so
/// workers sending to the same real server do not reuse each other's recent values. The
/// counter itself is per worker, in [`ForwardStage`].
pub fn first_ident(worker: u16, workers: u16) -> u16 {
    let share = 65_536 / u32::from(workers.max(1));
    u16::try_from((u32::from(worker) * share) & 0xffff).unwrap_or(0)
}

/// The tunnel parameters of the connection's real server (defaults if it is unknown).
fn tunnel_conf<B: PacketBuf>(st: &ForwardStage<B>, svc: u32, dest: u32) -> TunnelConf {
    let Some(id) = DestId::from_index(dest as usize) else {
        return TunnelConf::default();
    };
    st.services
        .get(svc as usize)
        .and_then(|ws| ws.dest(id))
        .map_or(TunnelConf::default(), |d| d.tunnel)
}

/// Encapsulates and sends a packet of a TUN connection (client → real server).
pub fn xmit<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    buf: B,
    h: ConnHandle,
    ip: &Ip4,
    ctx: &PacketCtx<'_>,
    out: &mut Output<'_, B>,
) {
    let Some(c) = st.conns.get(h) else {
        return out.drop(DropReason::NoConn, buf);
    };
    let rs = c.real_server().0;
    let kind = c.tunnel().unwrap_or(TunnelKind::Ipip);
    let sport = match kind {
        TunnelKind::Gue => gue_source_port(c.proto(), c.client(), c.virtual_addr()),
        _ => 0,
    };
    let (svc, dest) = (c.svc_id(), c.dest_id());
    let encap = Encap::new(kind, &tunnel_conf(st, svc, dest));

    // The route to the real server decides the egress port, its MTU and our source.
    let snap = ctx.snapshot;
    let Some(nh) = snap.routes.lookup(u32::from(rs)) else {
        return out.drop(DropReason::NoRoute, buf);
    };
    let via = Ipv4Addr::from(nh.neighbour(u32::from(rs)));
    let Some(pv) = snap.port(usize::from(nh.port)) else {
        return out.drop(DropReason::NoSuchPort, buf);
    };
    let Some(src) = pv.source_for(via) else {
        return out.drop(DropReason::TunNoSource, buf);
    };
    let mtu = usize::from(pv.mtu);
    let Some(usable) = mtu.checked_sub(encap.overhead()).filter(|m| *m >= MIN_MTU) else {
        return out.drop(DropReason::TunMtuTooSmall, buf);
    };
    if ip.total > usable && ip.df {
        return frag_needed(st, buf, ip, usable, ctx, out);
    }

    // TOS and TTL from the inner header as it is now: `ip` was parsed before the stage
    // decremented the TTL, and the outer header carries the decremented one.
    let inner_byte = |at: usize| buf.data().get(ETH_LEN + at).copied();
    let (Some(tos), Some(ttl)) = (
        inner_byte(ipv4::field::DSCP_ECN),
        inner_byte(ipv4::field::TTL),
    ) else {
        return out.drop(DropReason::Truncated, buf);
    };
    let outer = Outer {
        src,
        dst: rs,
        ttl,
        tos: outer_tos(tos),
        dont_frag: ip.df,
        ident: if ip.df { 0 } else { st.next_ident() },
    };
    let mut buf = buf;
    if let Err(r) = encapsulate(&mut buf, ip, &encap, &outer, sport) {
        return out.drop(r, buf);
    }
    if buf.len().saturating_sub(ETH_LEN) <= mtu {
        xmit::to_neighbour(st, buf, nh.port, via, ctx.now, snap, out);
    } else {
        fragment(st, buf, mtu, nh.port, via, ctx, out);
    }
}

/// Turns the frame in `buf` (Ethernet header, then the inner packet described by `ip`)
/// into Ethernet header, outer headers, inner packet. The Ethernet header is left for the
/// neighbour step to write.
pub fn encapsulate<B: PacketBuf>(
    buf: &mut B,
    ip: &Ip4,
    encap: &Encap,
    outer: &Outer,
    sport: u16,
) -> Result<(), DropReason> {
    let excess = buf
        .len()
        .checked_sub(ip.frame_len())
        .ok_or(DropReason::Truncated)?;
    let overhead = encap.overhead();
    // Checked before the first change: a refused packet leaves as it came.
    if buf.headroom() < overhead {
        return Err(DropReason::TunNoHeadroom);
    }
    if overhead + ip.total > usize::from(u16::MAX) {
        return Err(DropReason::TooBig);
    }
    if excess > 0 {
        buf.trim(excess).map_err(|_| DropReason::Truncated)?;
    }
    buf.adj(ETH_LEN).map_err(|_| DropReason::Truncated)?;
    let frame = buf
        .prepend(ETH_LEN + overhead)
        .map_err(|_| DropReason::TunNoHeadroom)?;
    write_outer(frame, encap, outer, sport, ip.total)
}

/// Writes the outer IPv4 header and the GRE or UDP+GUE shim into `frame` (Ethernet +
/// room for them + the inner packet of `inner_len` bytes), with every checksum.
fn write_outer(
    frame: &mut [u8],
    encap: &Encap,
    outer: &Outer,
    sport: u16,
    inner_len: usize,
) -> Result<(), DropReason> {
    let packet = frame.get_mut(ETH_LEN..).ok_or(DropReason::Truncated)?;
    ipv4::Repr {
        src: outer.src,
        dst: outer.dst,
        protocol: encap.protocol(),
        payload_len: encap.shim_len() + inner_len,
        ttl: outer.ttl,
        tos: outer.tos,
        ident: outer.ident,
        dont_frag: outer.dont_frag,
    }
    .emit(packet)
    .map_err(|_| DropReason::TooBig)?;
    let payload = packet
        .get_mut(ipv4::HEADER_LEN..)
        .ok_or(DropReason::Truncated)?;
    match encap.kind {
        TunnelKind::Ipip => {}
        TunnelKind::Gre => {
            encap
                .gre()
                .emit(payload)
                .map_err(|_| DropReason::Truncated)?;
            if encap.csum {
                gre::fill_checksum(payload);
            }
        }
        TunnelKind::Gue => {
            gue::emit_udp(payload, sport, encap.port, IpProtocol::IpIp, inner_len)
                .map_err(|_| DropReason::Truncated)?;
            if encap.csum {
                udp::Packet::new_checked(payload)
                    .map_err(|_| DropReason::Truncated)?
                    .fill_checksum_v4(outer.src, outer.dst);
            }
        }
    }
    Ok(())
}

/// Answers a DF packet too big for the tunnel with ICMP fragmentation-needed carrying the
/// usable MTU, from the address it was sent to (the VIP), back to its source; the packet
/// itself is dropped and counted as [`DropReason::TunFragNeeded`] — or as
/// [`DropReason::TooBig`] when no error may be sent about it (RFC 1122: an ICMP error, a
/// multicast or broadcast source), since `tun_frag_needed` says the client was told.
fn frag_needed<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    buf: B,
    ip: &Ip4,
    usable: usize,
    ctx: &PacketCtx<'_>,
    out: &mut Output<'_, B>,
) {
    let refused = buf
        .data()
        .get(ETH_LEN..ip.frame_len())
        .is_some_and(|original| !icmp::error_allowed_for(original));
    if refused {
        return out.drop(DropReason::TooBig, buf);
    }
    let message = ErrorMessage::FragNeeded {
        next_hop_mtu: u16::try_from(usable).unwrap_or(u16::MAX),
    };
    xmit::icmp_error(
        st,
        buf,
        ip,
        message,
        ip.dst,
        DropReason::TunFragNeeded,
        ctx,
        out,
    );
}

/// Sets the length, MF flag and offset of a fragment's (option-less) IPv4 header and
/// recomputes its checksum.
fn set_fragment(header: &mut [u8], total: usize, offset: usize, more: bool) -> Option<()> {
    let header = header.get_mut(..ipv4::HEADER_LEN)?;
    let total = u16::try_from(total).ok()?;
    let units = u16::try_from(offset / 8).ok().filter(|u| *u <= 0x1fff)?;
    let flags = if more { FLAG_MF | units } else { units };
    header
        .get_mut(ipv4::field::LENGTH)?
        .copy_from_slice(&total.to_be_bytes());
    header
        .get_mut(ipv4::field::FLG_OFF)?
        .copy_from_slice(&flags.to_be_bytes());
    ipv4::Packet::new_unchecked(header).fill_checksum();
    Some(())
}

/// Fragments the encapsulated packet in `buf` (Ethernet + 20-byte outer header + payload)
/// for `mtu` and sends the fragments in offset order: every fragment but the last in a
/// fresh buffer, the last in `buf` itself (its header written just in front of its data,
/// over bytes already copied out).
fn fragment<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    mut buf: B,
    mtu: usize,
    port: u16,
    via: Ipv4Addr,
    ctx: &PacketCtx<'_>,
    out: &mut Output<'_, B>,
) {
    const HDR: usize = ETH_LEN + ipv4::HEADER_LEN;
    let payload = buf.len().saturating_sub(HDR);
    // A multiple of 8 (RFC 791); at least 64 since the usable MTU is at least 68.
    let step = (mtu.saturating_sub(ipv4::HEADER_LEN)) & !7;
    let count = payload
        .checked_div(step)
        .map_or(0, |_| payload.div_ceil(step));
    let Some(last) = count.checked_sub(1) else {
        return out.drop(DropReason::TunMtuTooSmall, buf);
    };
    // Each fragment takes an output slot, and one may be an ARP request.
    if count + 1 > out.remaining() {
        return out.drop(DropReason::TooBig, buf);
    }
    for k in 0..last {
        let offset = k * step;
        let Some(mut f) = out.alloc() else {
            return out.drop(DropReason::NoBuffer, buf);
        };
        let data = buf.data();
        let parts = (data.get(..HDR), data.get(HDR + offset..HDR + offset + step));
        let built = match (f.append(HDR + step), parts) {
            (Ok(dst), (Some(head), Some(chunk))) => {
                // Lengths match by construction: HDR and step bytes.
                let (dst_head, dst_chunk) = dst.split_at_mut(HDR);
                dst_head.copy_from_slice(head);
                dst_chunk.copy_from_slice(chunk);
                dst_head
                    .get_mut(ETH_LEN..)
                    .and_then(|h| set_fragment(h, ipv4::HEADER_LEN + step, offset, true))
            }
            _ => None,
        };
        if built.is_none() {
            drop(f);
            return out.drop(DropReason::NoBuffer, buf);
        }
        xmit::to_neighbour(st, f, port, via, ctx.now, ctx.snapshot, out);
    }
    // The last fragment: its header goes right in front of its data, over bytes the
    // fragments before it already carry.
    let last_offset = last * step;
    let last_len = payload - last_offset;
    let data = buf.data_mut();
    let placed = (last_offset + HDR <= data.len())
        .then(|| data.copy_within(..HDR, last_offset))
        .and_then(|()| data.get_mut(last_offset + ETH_LEN..))
        .and_then(|h| set_fragment(h, ipv4::HEADER_LEN + last_len, last_offset, false));
    if placed.is_none() || buf.adj(last_offset).is_err() {
        return out.drop(DropReason::TooBig, buf);
    }
    xmit::to_neighbour(st, buf, port, via, ctx.now, ctx.snapshot, out);
}
