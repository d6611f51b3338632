//! ICMP at the director: echo requests to a VIP are answered here; errors that quote a
//! packet of a connection are translated for the side they concern, as Linux IPVS does
//! (`ip_vs_out_icmp` / `ip_vs_in_icmp` / `ip_vs_nat_icmp` in `ip_vs_core.c`).
//!
//! # Which errors, which connection
//!
//! Destination unreachable (fragmentation needed included), source quench, time exceeded
//! and — beyond IPVS, which lets the local stack have them — parameter problem are
//! translated. An error quotes the offending packet's IPv4 header and first 8 bytes; that
//! packet was sent *towards* the error's sender, so its flow key read backwards is the key
//! of the connection side the error travels on. A hit on the client side (`In`: the quote
//! is a packet the director sent to the client) means the error came from the client's
//! path; a hit on the real-server side (`Out`: the quote is a packet the director sent to
//! the real server) means it came from the real server or a router towards it. The worker
//! that owns the quoted flow handles the error ([`super::steer::icmp_owner`]).
//!
//! # What changes, per forwarding method
//!
//! | method  | error from the client side (`In`)               | error from the real-server side (`Out`) |
//! |---------|-------------------------------------------------|-----------------------------------------|
//! | NAT     | outer dst → RS; quote src → RS:rport            | outer src → VIP; quote dst → VIP:vport  |
//! | FULLNAT | outer src → laddr, dst → RS; quote RS:rport → laddr:lport | outer VIP → client; quote client:cport → VIP:vport |
//! | DR      | forwarded unchanged to the real server          | a reply passing the director: dropped   |
//! | TUN     | encapsulated to the real server ([`super::tun`])| a reply passing the director: dropped   |
//!
//! NAT is exactly IPVS's `ip_vs_nat_icmp`: only the fields the NAT rewrite changed, the
//! outer source of an error leaving towards the client becomes the VIP (the client must
//! not see the real server's or its routers' addresses), the outer source of one entering
//! towards the real server stays. FULLNAT (not in mainline IPVS) undoes both rewrites, and
//! an error entering towards the real server comes from the local address: the real server
//! knows no other peer and may have no route back to the client's side (reverse-path
//! filters would drop it). With the PROXY protocol in force the quoted TCP sequence number
//! of a client packet is shifted back by the connection's `seq_delta`, or the client's TCP
//! would find it outside its window and ignore the error. (The segment that carried the
//! PROXY header itself is quoted with its own sequence number; shifting it is wrong by the
//! header's length — that one case is not told apart.)
//!
//! DR and TUN errors from the client side concern the real server's replies, which reached
//! the client directly with the VIP as source: the client's routers send the error to the
//! VIP, i.e. to the director, which passes it to the real server as the connection's method
//! sends client packets (IPVS `ip_vs_icmp_xmit`: `cp->packet_xmit`). The real server holds
//! the VIP, so it takes the error as about its own packet.
//!
//! The relayed error is forwarded like any packet of the connection: its TTL is
//! decremented, and one arriving with TTL 1 or 0 is dropped (`ttl_exceeded`) — no error is
//! sent about an error. The quote is left as the sender wrote it (TTL included).
//!
//! Checksums, as IPVS: the quoted IPv4 header's checksum is recomputed, the ICMP checksum
//! is recomputed over the whole message, the outer header is updated incrementally. The
//! quoted transport checksum is left as it is (IPVS does not touch it either; receivers do
//! not verify a quoted, usually truncated, segment). A frag-needed MTU is kept: the path
//! the error speaks of carries the packet unchanged in length by NAT.
//!
//! # Errors about the director's own tunnel packets
//!
//! A router between the director and a TUN real server complains about the *encapsulated*
//! packet, to the director's own address (the outer source). [`to_director`] recognises
//! these as IPVS does (`ip_vs_in_icmp`'s tunnel case): the quote is IPIP, GRE (version 0,
//! at most the checksum flag, IPv4 inside) or UDP to a GUE real server's port (variant 0
//! data, IPv4 inside), towards a real server of that tunnel kind, and the packet inside is
//! a client packet of a TUN connection to that real server. The client is then sent the
//! same error about its own packet, from the VIP, quoting what the router quoted of it;
//! for fragmentation needed the MTU is lowered by the encapsulation's overhead (outer IPv4
//! header plus GRE/UDP+GUE header, as current kernels do; the first GRE/GUE version
//! subtracted only the outer header) — or dropped and counted when the client's
//! packet did not set DF (it does not do path MTU discovery: IPVS consumes the error then
//! too). The reported MTU is capped by the egress port's (IPVS prefers the route's PMTU,
//! rvs keeps no PMTU cache); a router that reports 0 (pre-RFC 1191) gets the port's MTU.
//! Anything else to the director's address goes the usual way (`ForwardStage::for_director`).
//!
//! An error that matches no connection is a counted drop (`icmp_untranslated`), as is a
//! redirect or an error quoting something other than the first fragment of TCP or UDP; a
//! quote too short for an IPv4 header and 8 bytes is `icmp_embedded_malformed`. Errors are
//! never generated about ICMP errors ([`icmp::error_allowed_for`]); no rate limit applies
//! (the director only relays what it is sent).
//!
//! Nothing here allocates: every rewrite is in place in the received buffer.
use std::net::Ipv4Addr;

use super::parse::{ETH_LEN, Ip4};
use super::{ForwardStage, modes, steer, tun, xmit};
use crate::conn::{ConnHandle, Direction, FlowKey, FwdMethod, Proto, TunnelKind};
use crate::port::PacketBuf;
use crate::sched::DestId;
use crate::stats::DropReason;
use crate::wire::icmp::{self, Message};
use crate::wire::ip::IpProtocol;
use crate::wire::{EtherType, gre, gue, ipv4, udp};
use crate::worker::{Output, PacketCtx, Snapshot, Verdict};

/// Handles an ICMP packet not addressed to the director's own address.
pub fn handle<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    mut buf: B,
    ip: &Ip4,
    ctx: &PacketCtx<'_>,
    out: &mut Output<'_, B>,
) {
    let parsed = {
        let Some(seg) = buf.data().get(ip.l4()..ip.frame_len()) else {
            return out.drop(DropReason::Truncated, buf);
        };
        match icmp::Packet::new_checked(seg) {
            Ok(m) => match m.msg_type() {
                Message::EchoRequest => Parsed::EchoRequest,
                t if translated(t) => match quote_of(&m) {
                    Ok(q) => Parsed::Error(q),
                    Err(r) => Parsed::Drop(r),
                },
                t if t.is_error() => Parsed::Drop(DropReason::IcmpUntranslated),
                _ => Parsed::Drop(DropReason::NotForUs),
            },
            Err(_) => Parsed::Drop(DropReason::IcmpMalformed),
        }
    };
    match parsed {
        Parsed::EchoRequest if ctx.snapshot.services.is_vip(ip.dst) => {
            let Some(pkt) = buf.data_mut().get_mut(ETH_LEN..) else {
                return out.drop(DropReason::Truncated, buf);
            };
            if icmp::reply_to_echo_in_place(pkt).is_err() {
                return out.drop(DropReason::IcmpMalformed, buf);
            }
            out.counters().icmp_echo_replies.inc();
            xmit::route(st, buf, ip.src, ctx, out);
        }
        Parsed::EchoRequest => out.drop(DropReason::NotForUs, buf),
        Parsed::Error(q) => translate(st, buf, ip, q, ctx, out),
        Parsed::Drop(r) => out.drop(r, buf),
    }
}

/// What [`handle`] found in the message.
enum Parsed {
    EchoRequest,
    Error(Quote),
    Drop(DropReason),
}

/// The error types translated for a connection (IPVS's three, and parameter problem: its
/// pointer indexes the quote, which translation does not move). Redirects are not: they
/// are about the sender's own routing, not a connection.
fn translated(t: Message) -> bool {
    matches!(
        t,
        Message::DestUnreachable
            | Message::SourceQuench
            | Message::TimeExceeded
            | Message::ParamProblem
    )
}

/// The transport flow of a quoted packet, as written in the quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Quote {
    proto: Proto,
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
}

impl Quote {
    /// The key of the connection side the error travels on: the quote reversed.
    fn reply_key(&self) -> FlowKey<Ipv4Addr> {
        FlowKey::new(self.proto, self.dst, self.dport, self.src, self.sport)
    }

    /// The key of the quoted packet itself.
    fn key(&self) -> FlowKey<Ipv4Addr> {
        FlowKey::new(self.proto, self.src, self.sport, self.dst, self.dport)
    }
}

/// Reads a big-endian `u16` at `at`, if there.
fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

/// The flow of a quoted IPv4 header and transport prefix (at least 8 bytes of it).
fn flow_of(inner: &ipv4::Packet<&[u8]>, l4: &[u8]) -> Result<Quote, DropReason> {
    // A non-first fragment quotes no ports: nothing identifies a connection.
    if inner.fragment_offset() != 0 {
        return Err(DropReason::IcmpUntranslated);
    }
    let proto = match inner.protocol() {
        IpProtocol::Tcp => Proto::Tcp,
        IpProtocol::Udp => Proto::Udp,
        _ => return Err(DropReason::IcmpUntranslated),
    };
    let (Some(sport), Some(dport)) = (be16(l4, 0), be16(l4, 2)) else {
        return Err(DropReason::IcmpEmbeddedMalformed);
    };
    Ok(Quote {
        proto,
        src: inner.src(),
        sport,
        dst: inner.dst(),
        dport,
    })
}

/// The quoted flow of an error message.
fn quote_of(m: &icmp::Packet<&[u8]>) -> Result<Quote, DropReason> {
    let inner = m
        .embedded_ipv4()
        .map_err(|_| DropReason::IcmpEmbeddedMalformed)?;
    let l4 = m
        .embedded_l4()
        .map_err(|_| DropReason::IcmpEmbeddedMalformed)?;
    flow_of(&inner, l4)
}

/// What the translation of one error changes.
#[derive(Debug, Clone, Copy, Default)]
struct Translation {
    outer_src: Option<Ipv4Addr>,
    outer_dst: Option<Ipv4Addr>,
    quoted_src: Option<(Ipv4Addr, u16)>,
    quoted_dst: Option<(Ipv4Addr, u16)>,
    /// PROXY protocol: the sequence number at which the header sits in the server's view
    /// of the client's stream; a quoted TCP sequence number is mapped back to the client's
    /// view around it ([`super::caddr::to_client_space`]).
    quoted_seq_header: Option<u32>,
}

/// Translates an error about a connection and sends it on (see the module doc).
fn translate<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    mut buf: B,
    ip: &Ip4,
    q: Quote,
    ctx: &PacketCtx<'_>,
    out: &mut Output<'_, B>,
) {
    if !ctx.handed_off
        && let Some(owner) =
            steer::icmp_owner(ctx.snapshot, q.src, q.sport, q.dst, q.dport, st.cfg.worker)
    {
        return out.push(Verdict::HandOff { worker: owner }, buf);
    }
    let Some((h, dir)) = st.conns.lookup(&q.reply_key()) else {
        return out.drop(DropReason::IcmpUntranslated, buf);
    };
    let Some(c) = st.conns.get(h) else {
        return out.drop(DropReason::IcmpUntranslated, buf);
    };
    let (svc_slot, dest) = (
        c.svc_id() as usize,
        DestId::from_index(c.dest_id() as usize),
    );
    let method = c.method();
    let (client, vip, rs, local) = (c.client(), c.virtual_addr(), c.real_server(), c.local());
    let seq_header = (q.proto == Proto::Tcp && c.flags().contains(super::caddr::WANT_PROXY))
        .then(|| c.seq_delta());
    let (t, next_hop) = match (method, dir) {
        (FwdMethod::Dr | FwdMethod::Tun, Direction::Out) => {
            return out.drop(DropReason::UnexpectedReply, buf);
        }
        (FwdMethod::Dr | FwdMethod::Tun, Direction::In) => {
            count(st, svc_slot, dest, dir, ip.total);
            let Some(buf) = decrement_ttl(buf, ip, out) else {
                return;
            };
            return relay_to_real_server(st, buf, h, method, ip, ctx, out);
        }
        (FwdMethod::Nat, Direction::In) => (
            Translation {
                outer_dst: Some(rs.0),
                quoted_src: Some(rs),
                ..Translation::default()
            },
            rs.0,
        ),
        (FwdMethod::Nat, Direction::Out) => (
            Translation {
                outer_src: Some(vip.0),
                quoted_dst: Some(vip),
                ..Translation::default()
            },
            ip.dst,
        ),
        (FwdMethod::FullNat, Direction::In) => {
            let Some(local) = local else {
                return out.drop(DropReason::NoConn, buf);
            };
            (
                Translation {
                    outer_src: Some(local.0),
                    outer_dst: Some(rs.0),
                    quoted_src: Some(rs),
                    quoted_dst: Some(local),
                    quoted_seq_header: None,
                },
                rs.0,
            )
        }
        (FwdMethod::FullNat, Direction::Out) => (
            Translation {
                outer_src: Some(vip.0),
                outer_dst: Some(client.0),
                quoted_src: Some(client),
                quoted_dst: Some(vip),
                quoted_seq_header: seq_header,
            },
            client.0,
        ),
    };
    if let Err(r) = apply(buf.data_mut(), ip, &t) {
        return out.drop(r, buf);
    }
    count(st, svc_slot, dest, dir, ip.total);
    let Some(buf) = decrement_ttl(buf, ip, out) else {
        return;
    };
    xmit::route(st, buf, next_hop, ctx, out);
}

/// A relayed error is a forwarded packet: IPVS decrements its TTL too (`ip_vs_icmp_xmit`
/// through `__ip_vs_get_out_rt` or the connection's `packet_xmit`; the kernel's forwarding
/// for errors leaving towards the client). One whose TTL expires is dropped and counted
/// (`ttl_exceeded`), never answered: no ICMP error about an ICMP error (RFC 1122).
fn decrement_ttl<B: PacketBuf>(mut buf: B, ip: &Ip4, out: &mut Output<'_, B>) -> Option<B> {
    if ip.ttl <= 1 {
        out.drop(DropReason::TtlExceeded, buf);
        return None;
    }
    if let Some(pkt) = buf.data_mut().get_mut(ETH_LEN..)
        && let Ok(mut p) = ipv4::Packet::new_checked_without_checksum(pkt)
    {
        let _ = p.dec_ttl();
    }
    Some(buf)
}

/// Counts an error in its connection's service and real-server slots, in the direction it
/// travels (IPVS `ip_vs_in_stats` / `ip_vs_out_stats`).
fn count<B: PacketBuf>(
    st: &ForwardStage<B>,
    svc_slot: usize,
    dest: Option<DestId>,
    dir: Direction,
    bytes: usize,
) {
    if let Some(d) = dest {
        st.count(svc_slot, d, dir, bytes);
    }
}

/// DR/TUN: the error goes to the real server unchanged, the way the connection's client
/// packets go.
fn relay_to_real_server<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    buf: B,
    h: ConnHandle,
    method: FwdMethod,
    ip: &Ip4,
    ctx: &PacketCtx<'_>,
    out: &mut Output<'_, B>,
) {
    if method == FwdMethod::Tun {
        tun::xmit(st, buf, h, ip, ctx, out)
    } else {
        modes::dr(st, buf, h, ctx, out)
    }
}

/// Applies `t` in place to the error in `frame` (IPv4 header `ip`, message checked).
fn apply(frame: &mut [u8], ip: &Ip4, t: &Translation) -> Result<(), DropReason> {
    let pkt = frame
        .get_mut(ETH_LEN..ip.frame_len())
        .ok_or(DropReason::Truncated)?;
    {
        let mut outer = ipv4::Packet::new_checked_without_checksum(&mut *pkt)
            .map_err(|_| DropReason::Ipv4Malformed)?;
        if let Some(a) = t.outer_src {
            outer.set_src(a);
        }
        if let Some(a) = t.outer_dst {
            outer.set_dst(a);
        }
    }
    let msg = pkt.get_mut(ip.hlen..).ok_or(DropReason::Truncated)?;
    let mut m = icmp::Packet::new_checked(msg).map_err(|_| DropReason::IcmpMalformed)?;
    {
        let mut quoted = m
            .embedded_ipv4_mut()
            .map_err(|_| DropReason::IcmpEmbeddedMalformed)?;
        if let Some((a, _)) = t.quoted_src {
            quoted.set_src(a);
        }
        if let Some((a, _)) = t.quoted_dst {
            quoted.set_dst(a);
        }
        // As IPVS's ip_send_check: a sound header whatever the router quoted.
        quoted.fill_checksum();
    }
    {
        let l4 = m
            .embedded_l4_mut()
            .map_err(|_| DropReason::IcmpEmbeddedMalformed)?;
        let mut put = |range: core::ops::Range<usize>, bytes: &[u8]| {
            if let Some(field) = l4.get_mut(range) {
                field.copy_from_slice(bytes);
            }
        };
        if let Some((_, port)) = t.quoted_src {
            put(0..2, &port.to_be_bytes());
        }
        if let Some((_, port)) = t.quoted_dst {
            put(2..4, &port.to_be_bytes());
        }
        if let Some(header) = t.quoted_seq_header {
            let mut seq = [0u8; 4];
            if let Some(s) = l4.get(4..8) {
                seq.copy_from_slice(s);
            }
            let shifted = super::caddr::to_client_space(u32::from_be_bytes(seq), header);
            if let Some(s) = l4.get_mut(4..8) {
                s.copy_from_slice(&shifted.to_be_bytes());
            }
        }
    }
    m.fill_checksum();
    Ok(())
}

/// The encapsulation of a quoted tunnel packet: its kind, the GUE port, and the bytes of
/// tunnel header after the outer IPv4 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Encap {
    kind: TunnelKind,
    gue_port: Option<u16>,
    header_len: usize,
}

/// An error about one of the director's own encapsulated packets.
#[derive(Debug, Clone, Copy)]
struct TunnelError {
    /// Type and code of the error, and its second word (MTU, pointer, unused).
    msg_type: u8,
    code: u8,
    rest: [u8; 4],
    /// Identification of the error's IPv4 header (reused for the relayed error).
    ident: u16,
    /// The real server the encapsulated packet went to, and how.
    rs: Ipv4Addr,
    encap: Encap,
    /// Outer IPv4 header plus tunnel header: what encapsulation adds.
    overhead: usize,
    /// Offset in the frame of the quoted client packet, and its flow.
    inner_at: usize,
    inner: Quote,
    inner_df: bool,
    /// Whether an error about the client packet is allowed (RFC 1122/1812).
    allowed: bool,
}

impl TunnelError {
    fn is_frag_needed(&self) -> bool {
        self.msg_type == u8::from(Message::DestUnreachable)
            && self.code == icmp::unreachable::FRAG_NEEDED
    }
}

/// The GRE header length of a quoted GRE packet IPVS's `ipvs_gre_decap` accepts: version
/// 0, no flag but the checksum's, IPv4 inside.
fn gre_encap(tunnel: &[u8]) -> Option<Encap> {
    const GRE_CSUM: u16 = 0x8000;
    let flags = be16(tunnel, 0)?;
    if flags & !GRE_CSUM != 0 {
        return None;
    }
    let base = tunnel.get(..gre::BASE_LEN)?;
    // Panic-free: the accessors used read only the 4-byte base header present above.
    let g = gre::Packet::new_unchecked(base);
    if g.protocol() != EtherType::Ipv4 {
        return None;
    }
    Some(Encap {
        kind: TunnelKind::Gre,
        gue_port: None,
        header_len: g.header_len(),
    })
}

/// UDP + GUE header length of a quoted GUE packet IPVS's `ipvs_udp_decap` accepts: to the
/// port of a GUE real server, variant 0 data message, IPv4 inside.
fn gue_encap(tunnel: &[u8], rs: Ipv4Addr, snap: &Snapshot) -> Option<Encap> {
    let port = be16(tunnel, 2)?;
    if !is_tunnel_dest(snap, rs, TunnelKind::Gue, Some(port)) {
        return None;
    }
    let g = gue::Packet::new_checked(tunnel.get(udp::HEADER_LEN..)?).ok()?;
    if g.variant() != 0 || g.is_control() || g.protocol() != IpProtocol::IpIp {
        return None;
    }
    Some(Encap {
        kind: TunnelKind::Gue,
        gue_port: Some(port),
        header_len: udp::HEADER_LEN + g.header_len(),
    })
}

/// Whether `rs` is a TUN real server of `kind` (and GUE `port`) in some service (IPVS
/// `ip_vs_find_tunnel`). Scans the snapshot: only errors to the director's own address
/// that quote a tunnel packet get here.
fn is_tunnel_dest(snap: &Snapshot, rs: Ipv4Addr, kind: TunnelKind, port: Option<u16>) -> bool {
    snap.services.iter().flat_map(|s| s.dests.iter()).any(|d| {
        d.addr == rs
            && d.forward == FwdMethod::Tun
            && d.tunnel.kind.unwrap_or(TunnelKind::Ipip) == kind
            && port.is_none_or(|p| d.tunnel.port == p)
    })
}

/// Recognises an error about an encapsulated packet the director sent (see the module
/// doc); `None` for anything else.
fn tunnel_error(frame: &[u8], ip: &Ip4, snap: &Snapshot) -> Option<TunnelError> {
    let ident = ipv4::Packet::new_checked_without_checksum(frame.get(ETH_LEN..)?)
        .ok()?
        .ident();
    let m = icmp::Packet::new_checked(frame.get(ip.l4()..ip.frame_len())?).ok()?;
    let msg_type = m.msg_type();
    if !matches!(
        msg_type,
        Message::DestUnreachable | Message::SourceQuench | Message::TimeExceeded
    ) {
        return None;
    }
    let outer = m.embedded_ipv4().ok()?;
    if outer.fragment_offset() != 0 {
        return None;
    }
    let rs = outer.dst();
    let tunnel = outer.payload();
    let encap = match outer.protocol() {
        IpProtocol::IpIp => Encap {
            kind: TunnelKind::Ipip,
            gue_port: None,
            header_len: 0,
        },
        IpProtocol::Gre => gre_encap(tunnel)?,
        IpProtocol::Udp => gue_encap(tunnel, rs, snap)?,
        _ => return None,
    };
    if !is_tunnel_dest(snap, rs, encap.kind, encap.gue_port) {
        return None;
    }
    let quoted = tunnel.get(encap.header_len..)?;
    let inner = ipv4::Packet::new_embedded(quoted).ok()?;
    let l4 = inner.payload().get(..icmp::QUOTED_L4_LEN)?;
    let flow = flow_of(&inner, l4).ok()?;
    // The second word of the header, as sent (MTU, pointer or unused).
    let rest: [u8; 4] = frame.get(ip.l4() + 4..ip.l4() + 8)?.try_into().ok()?;
    Some(TunnelError {
        msg_type: msg_type.into(),
        code: m.code(),
        rest,
        ident,
        rs,
        encap,
        overhead: outer.header_len() + encap.header_len,
        inner_at: ip.l4() + icmp::HEADER_LEN + outer.header_len() + encap.header_len,
        inner: flow,
        inner_df: inner.dont_frag(),
        allowed: icmp::error_allowed_for(quoted),
    })
}

/// Handles an ICMP packet addressed to the director's own address: an error about one of
/// its tunnel packets is relayed to the client; anything else is the director's
/// (`ForwardStage::for_director`).
pub fn to_director<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    buf: B,
    ip: &Ip4,
    ctx: &PacketCtx<'_>,
    out: &mut Output<'_, B>,
) {
    let Some(te) = tunnel_error(buf.data(), ip, ctx.snapshot) else {
        return st.for_director(buf, ip, ctx, out);
    };
    let q = te.inner;
    if !ctx.handed_off
        && let Some(owner) =
            steer::icmp_owner(ctx.snapshot, q.src, q.sport, q.dst, q.dport, st.cfg.worker)
    {
        return out.push(Verdict::HandOff { worker: owner }, buf);
    }
    // The quote is a client packet as the client sent it: the connection's client side.
    let conn = st.conns.lookup(&q.key()).and_then(|(h, dir)| {
        let c = st.conns.get(h)?;
        let ours = dir == Direction::In
            && c.method() == FwdMethod::Tun
            && c.tunnel() == Some(te.encap.kind)
            && c.real_server().0 == te.rs;
        ours.then(|| {
            (
                c.svc_id() as usize,
                DestId::from_index(c.dest_id() as usize),
            )
        })
    });
    let Some((svc_slot, dest)) = conn else {
        return st.for_director(buf, ip, ctx, out);
    };
    if !te.allowed {
        return out.drop(DropReason::IcmpUntranslated, buf);
    }
    let mut rest = te.rest;
    if te.is_frag_needed() {
        if !te.inner_df {
            return out.drop(DropReason::IcmpPmtuNoDf, buf);
        }
        let [_, _, hi, lo] = rest;
        let reported = u16::from_be_bytes([hi, lo]);
        let [hi, lo] =
            usable_mtu(reported, port_mtu(ctx.snapshot, te.rs), te.overhead).to_be_bytes();
        // RFC 1191: the first half of the word is unused (zero).
        rest = [0, 0, hi, lo];
    }
    let mut buf = buf;
    match relay_to_client(&mut buf, ip, &te, rest) {
        Ok(()) => {}
        Err(r) => return out.drop(r, buf),
    }
    count(
        st,
        svc_slot,
        dest,
        Direction::Out,
        buf.len().saturating_sub(ETH_LEN),
    );
    xmit::route(st, buf, q.src, ctx, out);
}

/// The IP MTU of the port the route to `rs` leaves through.
fn port_mtu(snap: &Snapshot, rs: Ipv4Addr) -> Option<u16> {
    let nh = snap.routes.lookup(u32::from(rs))?;
    snap.port(usize::from(nh.port)).map(|p| p.mtu)
}

/// The MTU to tell a client whose encapsulated packet did not fit a path of `reported`
/// bytes: IPVS's rule (`mtu - overhead` when that stays above 68), from the smaller of the
/// report and the egress port's MTU (a report of 0 means "unknown": the port's).
fn usable_mtu(reported: u16, port: Option<u16>, overhead: usize) -> u16 {
    let path = match (reported, port) {
        (0, Some(p)) => p,
        (r, Some(p)) => r.min(p),
        (r, None) => r,
    };
    let overhead = u16::try_from(overhead).unwrap_or(u16::MAX);
    if path > 68u16.saturating_add(overhead) {
        path - overhead
    } else {
        path
    }
}

/// Rewrites the received error in place into the error for the client: the tunnel part
/// of the quote is cut out by moving the new headers up to the client packet and dropping
/// the bytes before them; the quote is limited to what a 576-byte datagram holds.
fn relay_to_client<B: PacketBuf>(
    buf: &mut B,
    ip: &Ip4,
    te: &TunnelError,
    rest: [u8; 4],
) -> Result<(), DropReason> {
    const HEADERS: usize = ETH_LEN + ipv4::HEADER_LEN + icmp::HEADER_LEN;
    let end = ip.frame_len().min(buf.len());
    let quote_len = end
        .checked_sub(te.inner_at)
        .ok_or(DropReason::Truncated)?
        .min(icmp::MAX_QUOTE_LEN);
    let start = te
        .inner_at
        .checked_sub(HEADERS)
        .ok_or(DropReason::IcmpEmbeddedMalformed)?;
    {
        let frame = buf
            .data_mut()
            .get_mut(start..te.inner_at + quote_len)
            .ok_or(DropReason::Truncated)?;
        let (ip_hdr, msg) = frame
            .get_mut(ETH_LEN..)
            .and_then(|f| f.split_at_mut_checked(ipv4::HEADER_LEN))
            .ok_or(DropReason::Truncated)?;
        ipv4::Repr {
            src: te.inner.dst,
            dst: te.inner.src,
            protocol: IpProtocol::Icmp,
            payload_len: msg.len(),
            ttl: icmp::REPLY_TTL,
            tos: icmp::ERROR_TOS,
            ident: te.ident,
            dont_frag: false,
        }
        .emit(ip_hdr)
        .map_err(|_| DropReason::Ipv4Malformed)?;
        let header = msg
            .get_mut(..icmp::HEADER_LEN)
            .ok_or(DropReason::Truncated)?;
        let [r0, r1, r2, r3] = rest;
        header.copy_from_slice(&[te.msg_type, te.code, 0, 0, r0, r1, r2, r3]);
        icmp::Packet::new_unchecked(msg).fill_checksum();
    }
    let tail = buf.len().saturating_sub(te.inner_at + quote_len);
    buf.trim(tail).map_err(|_| DropReason::Truncated)?;
    buf.adj(start).map_err(|_| DropReason::Truncated)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::fwd::parse;
    use crate::fwd::tests::{CLIENT, LADDR, RS1, RS1_MAC, VIP};
    use crate::fwd::tests_icmp::icmp_error;
    use crate::testutil::{L2L3, tcp_frame};

    /// With the PROXY protocol, the real server saw the client's sequence numbers shifted
    /// by the header's length; the client must see its own again (FULLNAT, error from the
    /// real-server side). The connection table's side of it is the caddr module's; here
    /// the rewrite itself.
    #[test]
    fn quoted_sequence_numbers_are_shifted_back() {
        let h = |src, dst| L2L3 {
            src_mac: RS1_MAC,
            dst_mac: [2, 0, 0, 0, 0, 2],
            src,
            dst,
            ttl: 64,
            df: true,
        };
        let client_seg = tcp_frame(&h(CLIENT, VIP), 40000, 80, 0x18, 1001, 7, b"GET /");
        // The PROXY header sat at 1000 in the server's view; the client's 1001 became 1001 + 28.
        let shift = super::super::caddr::PROXY_LEN as u32;
        let server_seg = tcp_frame(&h(LADDR, RS1), 1024, 8080, 0x18, 1001 + shift, 7, b"GET /");
        let mut err = icmp_error(&h(RS1, LADDR), 3, 3, [0; 4], &server_seg[14..42]);
        let ip = parse::ipv4(&err).unwrap();
        let t = Translation {
            outer_src: Some(VIP),
            outer_dst: Some(CLIENT),
            quoted_src: Some((CLIENT, 40000)),
            quoted_dst: Some((VIP, 80)),
            quoted_seq_header: Some(1000),
        };
        apply(&mut err, &ip, &t).unwrap();
        let outer = ipv4::Packet::new_checked(&err[ETH_LEN..]).unwrap();
        assert_eq!((outer.src(), outer.dst()), (VIP, CLIENT));
        let m = icmp::Packet::new_checked(outer.payload()).unwrap();
        let quoted = m.embedded_ipv4().unwrap();
        assert!(quoted.verify_checksum());
        // The 8 quoted bytes are the client's: its ports and sequence number as it sent them.
        assert_eq!((quoted.src(), quoted.dst()), (CLIENT, VIP));
        assert_eq!(m.embedded_l4().unwrap(), &client_seg[34..42]);
    }
}
