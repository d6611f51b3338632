//! FULLNAT: telling the real server who the client is, since its connections come from
//! the director's local address. Two ways, chosen per service ([`ClientAddrMode`]):
//! **TOA** (TCP option 254, read by the `toa.ko` kernel modules) and **PROXY protocol v2**
//! (a binary header in front of the client's bytes, read natively by nginx and HAProxy).
//! Both run after the address rewrite of [`super::modes::fullnat_in`] /
//! [`super::modes::fullnat_out`].
//!
//! # TOA: which segments carry it
//!
//! The toa modules hook `tcp_v4_syn_recv_sock` and read the options of the segment the
//! kernel hands it: the one that turns the listener's request socket into a full socket.
//! That is the handshake's final ACK; if that ACK is lost, the client's first data segment
//! (it acknowledges the SYN-ACK too); with TCP Fast Open, the SYN itself. The director
//! cannot see which one the server used, so it inserts TOA into the client's SYN and into
//! every later client segment (RST excepted) until the real server proves its socket
//! exists by sending anything other than a SYN-ACK. DPVS does the equivalent (SYN, then
//! segments that acknowledge the server's ISN + 1). A server that already has its socket
//! ignores further TOA options, so the only cost is 8 bytes on a handful of segments.
//!
//! The option goes after the existing options (End-of-List padding is first turned into
//! NOPs, which mean the same, or the modules' option walk would stop before it). When it
//! cannot fit — the TCP header would pass 60 bytes, the buffer has no tailroom, or the
//! packet would exceed the outgoing port's MTU — the packet goes on **without** TOA and
//! `toa_skipped` counts it: a connection that shows the local address beats one that
//! cannot open.
//!
//! # MSS clamping
//!
//! The real server's SYN-ACK tells the client how large its segments may be. The director
//! lowers that MSS by what it may add to the client's segments — 8 bytes (TOA) or 28
//! (PROXY header) — so a full-size client segment with the addition still fits the MTU.
//! The client's SYN is left alone: nothing is ever added to server → client segments.
//!
//! # PROXY protocol v2 over TCP
//!
//! Let `H` be the client's ISN + 1, the sequence number of its first byte. The header
//! (28 bytes for TCP over IPv4) takes `[H, H + 28)` of the byte stream the real server
//! sees, and every client byte `x` appears at `x + 28`. So:
//!
//! - a client segment that starts at `H` while the server has not acknowledged the whole
//!   header gets the header in front of its payload and keeps its sequence number: the
//!   handshake's final ACK (the server then reads the header first even when the protocol
//!   has the server speak first), the first data segment if that ACK was lost, and any
//!   retransmission of either — the same bytes at the same place, which TCP accepts as
//!   duplicates if they did arrive;
//! - every other client segment (SYN excepted) has its sequence number raised by 28;
//! - every server segment has its acknowledgement number and SACK edges lowered by 28;
//!   an edge inside the header (`[H, H + 28)`) becomes `H`: the server holds none of the
//!   client's bytes yet. All updates are incremental checksum updates.
//!
//! If a segment at `H` cannot take the header (no tailroom, or the MTU with a client that
//! ignored the clamped MSS), the header is sent **alone** in the segment's place (FIN
//! cleared) and `proxy_alone` counts it; the client's data is not acknowledged, so its own
//! TCP retransmits it and it follows the header. A pure ACK without room passes as it is;
//! the next segment at `H` carries the header.
//!
//! # PROXY protocol v2 over UDP
//!
//! A `DGRAM` header in front of **every** datagram: UDP has no stream, a lost first
//! datagram would otherwise leave a flow without its address, and the readers that accept
//! PROXY over UDP (dnsdist/PowerDNS, go-mmproxy, caddy-l4) expect it per datagram. nginx
//! refuses `listen ... udp proxy_protocol` and accepts only `STREAM` in v2 headers, and
//! HAProxy does not proxy UDP: for those readers the mode is TCP-only. A datagram that
//! cannot take the header is dropped (`proxy_no_room`): without it the server would read
//! the client's bytes as a header. TOA is TCP-only; on UDP it does nothing.
//!
//! # Per-connection state
//!
//! The mode is latched from the client's SYN into the connection's flags ([`WANT_TOA`],
//! [`WANT_PROXY`]), so that a configuration change never starts (or stops) shifting a
//! connection mid-stream. [`DELIVERED`] records that the server has what it needs (TOA: it
//! sent a non-SYN segment; PROXY: it acknowledged the whole header). `ConnFlags::TOA_SENT`
//! and `ConnFlags::PROXY_SENT` record that an option/header was inserted at least once.
//! The connection's `seq_delta` holds `H`, not the shift: the shift is the header's fixed
//! length, while `H` is what the retransmission rule and the acknowledgement mapping need.
//! It also tells a retransmitted SYN (same ISN: the latch stands) from a new connection on
//! a reused entry (another ISN: everything here starts afresh, or the new connection would
//! inherit the old one's delivery state and shift).
//!
//! Nothing here allocates: the header is built on the stack and bytes move inside the
//! packet's own buffer. Packets of a connection in neither mode (or whose TOA is delivered)
//! return after one flag test and, for TCP, one look at the SYN bit. ICMP errors quoting a
//! shifted segment are not translated back (the quoted sequence number stays the server's).
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

use super::ForwardStage;
use super::parse::{ETH_LEN, Ip4, PROTO_TCP, PROTO_UDP};
use crate::conn::{ConnFlags, ConnHandle};
use crate::port::PacketBuf;
use crate::stats::DropReason;
use crate::wire::tcp::{self, Flags, TcpOption};
use crate::wire::toa::{self, Toa};
use crate::wire::{checksum, ipv4, proxy, udp};
use crate::worker::{ClientAddrMode, PacketCtx};

/// Short names for the connection flags this module owns (defined with the others in
/// [`ConnFlags`]).
pub const WANT_TOA: ConnFlags = ConnFlags::WANT_TOA;
pub const WANT_PROXY: ConnFlags = ConnFlags::WANT_PROXY;
pub const DELIVERED: ConnFlags = ConnFlags::DELIVERED;

/// Every flag this module sets.
const OWNED: ConnFlags = ConnFlags(
    WANT_TOA.0 | WANT_PROXY.0 | DELIVERED.0 | ConnFlags::TOA_SENT.0 | ConnFlags::PROXY_SENT.0,
);

/// Bytes TOA adds to a segment (IPv4 variant).
pub const TOA_LEN: usize = toa::LEN_V4;
/// Bytes of a PROXY v2 header for TCP or UDP over IPv4: the sequence shift.
pub const PROXY_LEN: usize = proxy::FIXED_LEN + proxy::ADDR_LEN_V4;
/// The shift as a sequence-number distance.
const SHIFT: u32 = PROXY_LEN as u32;

/// Offset of the TCP checksum in the TCP header.
const TCP_CSUM: usize = tcp::field::CHECKSUM.start;
/// Offsets of the UDP length and checksum in the UDP header.
const UDP_LEN: usize = udp::field::LENGTH.start;
const UDP_CSUM: usize = udp::field::CHECKSUM.start;

/// What this module needs to know about the connection, read once.
#[derive(Debug, Clone, Copy)]
struct Conn {
    flags: ConnFlags,
    /// `H`, the client's ISN + 1, stored when its SYN latched the mode.
    header_seq: u32,
    client: (Ipv4Addr, u16),
    vip: (Ipv4Addr, u16),
    real_server: Ipv4Addr,
    svc_slot: usize,
}

/// The TCP facts of a segment.
#[derive(Debug, Clone, Copy)]
struct Seg {
    flags: Flags,
    seq: u32,
    header_len: usize,
    payload: usize,
}

/// Client → real server: adds the client address as the connection's mode asks, and
/// shifts the sequence number behind an inserted PROXY header.
pub fn client_side<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    buf: B,
    h: ConnHandle,
    ip: &Ip4,
    ctx: &PacketCtx<'_>,
) -> Result<B, (DropReason, B)> {
    let Some(c) = st.conns.get(h) else {
        return Ok(buf);
    };
    let conn = Conn {
        flags: c.flags(),
        header_seq: c.seq_delta(),
        client: c.client(),
        vip: c.virtual_addr(),
        real_server: c.real_server().0,
        svc_slot: c.svc_id() as usize,
    };
    match ip.proto {
        PROTO_TCP => tcp_client(st, buf, h, ip, ctx, conn),
        PROTO_UDP if mode(st, conn.svc_slot) == ClientAddrMode::ProxyV2 => {
            udp_client(buf, ip, ctx, conn)
        }
        _ => Ok(buf),
    }
}

/// Real server → client: clamps the SYN-ACK's MSS, notes delivery, and lowers the
/// acknowledgement and SACK edges behind an inserted PROXY header.
pub fn server_side<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    mut buf: B,
    h: ConnHandle,
    ip: &Ip4,
) -> Result<B, (DropReason, B)> {
    if ip.proto != PROTO_TCP {
        return Ok(buf);
    }
    let Some(c) = st.conns.get(h) else {
        return Ok(buf);
    };
    let (flags, header_seq) = (c.flags(), c.seq_delta());
    let proxy = flags.contains(WANT_PROXY);
    let toa_pending = flags.contains(WANT_TOA) && !flags.contains(DELIVERED);
    if !proxy && !toa_pending {
        return Ok(buf);
    }
    let Some(seg) = buf.data_mut().get_mut(ip.l4()..ip.frame_len()) else {
        return Ok(buf);
    };
    let Ok(mut t) = tcp::Packet::new_checked(&mut *seg) else {
        return Ok(buf);
    };
    let f = t.flags();
    let mut new_flags = flags;
    if f.syn() && f.ack() {
        let added = if proxy { PROXY_LEN } else { TOA_LEN };
        if let Ok(Some(mss)) = t.mss() {
            // `added` is 8 or 28.
            let _ = t.set_mss(mss.saturating_sub(added as u16));
        }
    } else if toa_pending {
        // Only an established socket sends anything but a SYN-ACK.
        new_flags = new_flags.with(DELIVERED);
    }
    if proxy && f.ack() {
        let ack = t.ack();
        if distance(ack, header_seq).is_some_and(|d| d >= SHIFT) {
            new_flags = new_flags.with(DELIVERED);
        }
        let mapped = to_client_space(ack, header_seq);
        if mapped != ack {
            t.set_ack(mapped);
        }
        if t.header_len() > tcp::HEADER_LEN {
            map_sack(seg, header_seq);
        }
    }
    if new_flags != flags {
        let _ = st.conns.set_flags(h, new_flags);
    }
    Ok(buf)
}

/// The service's current mode (`None` once the service is gone).
fn mode<B: PacketBuf>(st: &ForwardStage<B>, slot: usize) -> ClientAddrMode {
    st.services
        .get(slot)
        .map_or(ClientAddrMode::None, |ws| ws.conf.client_addr)
}

/// The IP MTU of the port the packet to `dst` leaves through; unlimited when unknown
/// (the route lookup in `xmit` then decides the packet's fate).
fn egress_mtu(ctx: &PacketCtx<'_>, dst: Ipv4Addr) -> usize {
    ctx.snapshot
        .routes
        .lookup(u32::from(dst))
        .and_then(|nh| ctx.snapshot.port(usize::from(nh.port)))
        .map(|p| usize::from(p.mtu))
        .filter(|&mtu| mtu > 0)
        .unwrap_or(usize::MAX)
        .min(usize::from(u16::MAX))
}

/// `seq - base` when `seq` is not before `base` (modulo 2^32), else `None`.
fn distance(seq: u32, base: u32) -> Option<u32> {
    let d = seq.wrapping_sub(base);
    (d < 0x8000_0000).then_some(d)
}

/// A sequence number of the server's view of the client's stream, in the client's view.
pub(crate) fn to_client_space(seq: u32, header_seq: u32) -> u32 {
    match distance(seq, header_seq) {
        Some(d) if d >= SHIFT => seq.wrapping_sub(SHIFT),
        Some(_) => header_seq,
        None => seq,
    }
}

/// Whether the segment is a SYN without ACK, from its flags byte alone.
fn is_client_syn(frame: &[u8], ip: &Ip4) -> bool {
    let at = ip.l4() + tcp::field::OFF_FLAGS.start + 1;
    frame.get(at).is_some_and(|&f| f & 0x12 == 0x02)
}

fn read_seg(frame: &[u8], ip: &Ip4) -> Option<Seg> {
    let t = tcp::Packet::new_checked(frame.get(ip.l4()..ip.frame_len())?).ok()?;
    Some(Seg {
        flags: t.flags(),
        seq: t.seq(),
        header_len: t.header_len(),
        payload: t.payload().len(),
    })
}

fn tcp_client<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    mut buf: B,
    h: ConnHandle,
    ip: &Ip4,
    ctx: &PacketCtx<'_>,
    conn: Conn,
) -> Result<B, (DropReason, B)> {
    let mut flags = conn.flags;
    let want = ConnFlags(flags.0 & (WANT_TOA.0 | WANT_PROXY.0));
    let idle = want.0 == 0 || (want == WANT_TOA && flags.contains(DELIVERED));
    if idle && !is_client_syn(buf.data(), ip) {
        // The common case once a connection is under way: one flag test and out.
        return Ok(buf);
    }
    let Some(seg) = read_seg(buf.data(), ip) else {
        return Ok(buf);
    };
    if seg.flags.syn() && !seg.flags.ack() {
        // The client's SYN: latch the mode, unless it is a retransmission of the SYN that
        // latched it (same ISN). A new SYN on a reused entry starts afresh.
        let h_seq = seg.seq.wrapping_add(1);
        if want.0 == 0 || h_seq != conn.header_seq {
            let fresh = ConnFlags(flags.0 & !OWNED.0);
            let _ = st.conns.set_seq_delta(h, h_seq);
            flags = match mode(st, conn.svc_slot) {
                ClientAddrMode::Toa => fresh.with(WANT_TOA),
                ClientAddrMode::ProxyV2 => fresh.with(WANT_PROXY),
                ClientAddrMode::None => fresh,
            };
        }
        if flags.contains(WANT_TOA) {
            buf = add_toa(buf, ip, ctx, &conn, &seg, &mut flags);
        }
    } else if flags.contains(WANT_PROXY) {
        let sent = proxy_client(buf, ip, ctx, &conn, &seg, &mut flags);
        if flags != conn.flags {
            let _ = st.conns.set_flags(h, flags);
        }
        return sent;
    } else if flags.contains(WANT_TOA) && !flags.contains(DELIVERED) && !seg.flags.rst() {
        buf = add_toa(buf, ip, ctx, &conn, &seg, &mut flags);
    }
    if flags != conn.flags {
        let _ = st.conns.set_flags(h, flags);
    }
    Ok(buf)
}

/// Inserts TOA when it fits; counts either way.
fn add_toa<B: PacketBuf>(
    mut buf: B,
    ip: &Ip4,
    ctx: &PacketCtx<'_>,
    conn: &Conn,
    seg: &Seg,
    flags: &mut ConnFlags,
) -> B {
    let counters = ctx.counters;
    let fits = seg.header_len + TOA_LEN <= tcp::MAX_HEADER_LEN
        && ip.total + TOA_LEN <= egress_mtu(ctx, conn.real_server)
        && buf.tailroom() >= TOA_LEN;
    if !fits {
        counters.toa_skipped.inc();
        return buf;
    }
    if let Some(segment) = buf.data_mut().get_mut(ip.l4()..ip.frame_len()) {
        eol_to_nop(segment);
    }
    if buf.append(TOA_LEN).is_err() {
        counters.toa_skipped.inc();
        return buf;
    }
    let toa = Toa {
        port: conn.client.1,
        addr: IpAddr::V4(conn.client.0),
    };
    let inserted = buf
        .data_mut()
        .get_mut(ETH_LEN..)
        .map(|pkt| tcp::insert_toa(pkt, ip.total, toa, false));
    if let Some(Ok(_)) = inserted {
        counters.toa_added.inc();
        *flags = flags.with(ConnFlags::TOA_SENT);
    } else {
        let _ = buf.trim(TOA_LEN);
        counters.toa_skipped.inc();
    }
    buf
}

/// Rewrites End-of-Option-List and the padding after it as NOPs, so that an option
/// appended behind them is read. Same meaning for the receiver; checksum kept right.
fn eol_to_nop(segment: &mut [u8]) {
    let Ok(t) = tcp::Packet::new_checked(&*segment) else {
        return;
    };
    let header_len = t.header_len();
    let Some(end) = options_end(&t) else {
        return;
    };
    if end >= header_len {
        return;
    }
    let mut sum = t.checksum();
    for at in end..header_len {
        let Some(b) = segment.get_mut(at) else {
            break;
        };
        // One byte is the high or low half of a 16-bit word, depending on its offset.
        let (old, new) = if at % 2 == 0 {
            (u16::from(*b) << 8, u16::from(tcp::kind::NOP) << 8)
        } else {
            (u16::from(*b), u16::from(tcp::kind::NOP))
        };
        sum = checksum::update16(sum, old, new);
        *b = tcp::kind::NOP;
    }
    set_u16(segment, TCP_CSUM, sum);
}

/// Where the option list ends (the offset of an End-of-List, or the header's end); `None`
/// for malformed options.
fn options_end<T: AsRef<[u8]>>(t: &tcp::Packet<T>) -> Option<usize> {
    let mut at = tcp::HEADER_LEN;
    for option in t.options_iter() {
        at += option_len(&option.ok()?);
    }
    Some(at)
}

/// Bytes an option takes in the header, as the wire parser accepted it.
fn option_len(option: &TcpOption<'_>) -> usize {
    match option {
        TcpOption::Nop => 1,
        TcpOption::Mss(_) => 4,
        TcpOption::WindowScale(_) => 3,
        TcpOption::SackPermitted => 2,
        TcpOption::Sack(blocks) => 2 + 8 * (*blocks).count(),
        TcpOption::Timestamps { .. } => 10,
        TcpOption::Toa(toa) => toa.len(),
        TcpOption::Unknown { data, .. } => 2 + data.len(),
    }
}

/// The offset of the first SACK edge and the number of edges, if the header has SACK.
fn sack_edges(segment: &[u8]) -> Option<(usize, usize)> {
    let t = tcp::Packet::new_checked(segment).ok()?;
    let mut at = tcp::HEADER_LEN;
    for option in t.options_iter() {
        let option = option.ok()?;
        if let TcpOption::Sack(blocks) = option {
            return Some((at + 2, 2 * blocks.count()));
        }
        at += option_len(&option);
    }
    None
}

/// Maps the SACK edges of a server segment into the client's view.
fn map_sack(segment: &mut [u8], header_seq: u32) {
    let Some((first, edges)) = sack_edges(segment) else {
        return;
    };
    let Some(mut sum) = get_u16(segment, TCP_CSUM) else {
        return;
    };
    for i in 0..edges {
        let at = first + 4 * i;
        let Some(old) = segment
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
        else {
            break;
        };
        let old_seq = u32::from_be_bytes(old);
        let new = to_client_space(old_seq, header_seq).to_be_bytes();
        if new == old {
            continue;
        }
        // The edge may start at an odd offset: update it as two 16-bit halves.
        sum = checksum::update16_at(
            sum,
            at,
            u16::from_be_bytes([old[0], old[1]]),
            u16::from_be_bytes([new[0], new[1]]),
        );
        sum = checksum::update16_at(
            sum,
            at + 2,
            u16::from_be_bytes([old[2], old[3]]),
            u16::from_be_bytes([new[2], new[3]]),
        );
        if let Some(b) = segment.get_mut(at..at + 4) {
            b.copy_from_slice(&new);
        }
    }
    set_u16(segment, TCP_CSUM, sum);
}

/// The PROXY v2 header for this connection: client → VIP.
fn header(conn: &Conn, transport: proxy::Transport) -> Option<[u8; PROXY_LEN]> {
    let h = proxy::Header::Proxy {
        transport,
        src: SocketAddr::V4(SocketAddrV4::new(conn.client.0, conn.client.1)),
        dst: SocketAddr::V4(SocketAddrV4::new(conn.vip.0, conn.vip.1)),
    };
    let mut bytes = [0u8; PROXY_LEN];
    (h.emit(&mut bytes).ok()? == PROXY_LEN).then_some(bytes)
}

/// A client segment of a PROXY connection (not its SYN).
fn proxy_client<B: PacketBuf>(
    mut buf: B,
    ip: &Ip4,
    ctx: &PacketCtx<'_>,
    conn: &Conn,
    seg: &Seg,
    flags: &mut ConnFlags,
) -> Result<B, (DropReason, B)> {
    let at_header = seg.seq == conn.header_seq;
    if seg.flags.rst() {
        // A reset at H before any header went out is where the server expects it.
        if !at_header || flags.contains(ConnFlags::PROXY_SENT) {
            shift_seq(&mut buf, ip, seg.seq.wrapping_add(SHIFT));
        }
        return Ok(buf);
    }
    if !at_header || flags.contains(DELIVERED) {
        shift_seq(&mut buf, ip, seg.seq.wrapping_add(SHIFT));
        return Ok(buf);
    }
    let Some(bytes) = header(conn, proxy::Transport::Stream) else {
        return Ok(buf);
    };
    let mtu = egress_mtu(ctx, conn.real_server);
    let room = ip.total + PROXY_LEN <= mtu && buf.tailroom() >= PROXY_LEN;
    if room && insert_tcp_payload(&mut buf, ip, seg, &bytes).is_some() {
        ctx.counters.proxy_added.inc();
        *flags = flags.with(ConnFlags::PROXY_SENT);
        return Ok(buf);
    }
    if seg.payload == 0 {
        // Nothing to stand in for: the next segment at H carries the header.
        return Ok(buf);
    }
    if header_alone(&mut buf, ip, seg, &bytes, mtu).is_some() {
        ctx.counters.proxy_alone.inc();
        *flags = flags.with(ConnFlags::PROXY_SENT);
        return Ok(buf);
    }
    // Not even the header alone fits (a payload smaller than the header in a buffer
    // without tailroom). Sent on, its bytes would take the header's place in the stream.
    Err((DropReason::ProxyNoRoom, buf))
}

/// Sets the sequence number of the TCP segment, keeping the checksum right.
fn shift_seq<B: PacketBuf>(buf: &mut B, ip: &Ip4, seq: u32) {
    if let Some(seg) = buf.data_mut().get_mut(ip.l4()..ip.frame_len())
        && let Ok(mut t) = tcp::Packet::new_checked(seg)
    {
        t.set_seq(seq);
    }
}

/// Opens `bytes.len()` bytes at frame offset `at` (the packet grows at the tail, the bytes
/// behind `at` move up) and writes `bytes` there; raises the IPv4 total length. Returns
/// the old and new IPv4 payload lengths, for the transport checksum.
fn open_gap<B: PacketBuf>(buf: &mut B, ip: &Ip4, at: usize, bytes: &[u8]) -> Option<(u16, u16)> {
    let n = bytes.len();
    let old_end = ip.frame_len();
    let new_total = u16::try_from(ip.total + n).ok()?;
    let old_l4 = u16::try_from(ip.total - ip.hlen).ok()?;
    let new_l4 = u16::try_from(ip.total + n - ip.hlen).ok()?;
    if at > old_end || buf.len() != old_end {
        return None;
    }
    let frame = buf.append(n).ok()?;
    frame.copy_within(at..old_end, at + n);
    frame.get_mut(at..at + n)?.copy_from_slice(bytes);
    let mut p = ipv4::Packet::new_checked_without_checksum(frame.get_mut(ETH_LEN..)?).ok()?;
    p.set_total_len(new_total);
    Some((old_l4, new_l4))
}

/// Puts `bytes` in front of the TCP payload, keeping every checksum right.
fn insert_tcp_payload<B: PacketBuf>(buf: &mut B, ip: &Ip4, seg: &Seg, bytes: &[u8]) -> Option<()> {
    let at = ip.l4() + seg.header_len;
    let (old_len, new_len) = open_gap(buf, ip, at, bytes)?;
    let segment = buf.data_mut().get_mut(ip.l4()..)?;
    let mut sum = get_u16(segment, TCP_CSUM)?;
    // The pseudo-header's length, and the new bytes (at an even offset: the header length
    // is a multiple of 4, so the payload behind them keeps its alignment and its sum).
    sum = checksum::update16(sum, old_len, new_len);
    sum = checksum::update16(sum, 0, checksum::sum(bytes));
    set_u16(segment, TCP_CSUM, sum);
    Some(())
}

/// Replaces the TCP payload by `bytes` (the client's data will be retransmitted by the
/// client and follow them); clears FIN, which belonged behind the replaced data.
fn header_alone<B: PacketBuf>(
    buf: &mut B,
    ip: &Ip4,
    seg: &Seg,
    bytes: &[u8],
    mtu: usize,
) -> Option<()> {
    let n = bytes.len();
    let start = ip.l4() + seg.header_len;
    let new_total = ip.total.checked_sub(seg.payload)? + n;
    if new_total > mtu || buf.len() != ip.frame_len() {
        return None;
    }
    let new_total_16 = u16::try_from(new_total).ok()?;
    if n > seg.payload {
        buf.append(n - seg.payload).ok()?;
    }
    // The length field changes while the buffer still holds the longer of both packets.
    let (src, dst) = {
        let ip_pkt = buf.data_mut().get_mut(ETH_LEN..)?;
        let mut p = ipv4::Packet::new_checked_without_checksum(ip_pkt).ok()?;
        p.set_total_len(new_total_16);
        (p.src(), p.dst())
    };
    if n < seg.payload {
        buf.trim(seg.payload - n).ok()?;
    }
    let frame = buf.data_mut();
    frame.get_mut(start..start + n)?.copy_from_slice(bytes);
    let mut t = tcp::Packet::new_checked(frame.get_mut(ip.l4()..ETH_LEN + new_total)?).ok()?;
    t.set_flags(Flags(t.flags().0 & !Flags::FIN.0));
    // A rare path: recompute rather than account for the bytes that left.
    t.fill_checksum_v4(src, dst);
    Some(())
}

/// A UDP datagram of a PROXY service: the header in front of its payload.
fn udp_client<B: PacketBuf>(
    mut buf: B,
    ip: &Ip4,
    ctx: &PacketCtx<'_>,
    conn: Conn,
) -> Result<B, (DropReason, B)> {
    let Some(bytes) = header(&conn, proxy::Transport::Datagram) else {
        return Ok(buf);
    };
    let room =
        ip.total + PROXY_LEN <= egress_mtu(ctx, conn.real_server) && buf.tailroom() >= PROXY_LEN;
    if !room {
        return Err((DropReason::ProxyNoRoom, buf));
    }
    // The UDP length (which the pseudo-header repeats) may be shorter than the IP payload.
    let old_len = buf.data().get(ip.l4()..).and_then(|d| get_u16(d, UDP_LEN));
    let Some((old_len, new_len)) = old_len.and_then(|l| Some((l, l.checked_add(SHIFT as u16)?)))
    else {
        return Err((DropReason::ProxyNoRoom, buf));
    };
    let at = ip.l4() + udp::HEADER_LEN;
    if open_gap(&mut buf, ip, at, &bytes).is_none() {
        return Err((DropReason::ProxyNoRoom, buf));
    }
    let Some(dgram) = buf.data_mut().get_mut(ip.l4()..) else {
        return Err((DropReason::ProxyNoRoom, buf));
    };
    set_u16(dgram, UDP_LEN, new_len);
    if let Some(stored) = get_u16(dgram, UDP_CSUM)
        && stored != 0
    {
        // The length counts twice (header field and pseudo-header); the new bytes sit at
        // offset 8. A computed zero goes on the wire as 0xffff (RFC 768).
        let mut sum = checksum::update16(stored, old_len, new_len);
        sum = checksum::update16(sum, old_len, new_len);
        sum = checksum::update16(sum, 0, checksum::sum(&bytes));
        set_u16(dgram, UDP_CSUM, if sum == 0 { 0xffff } else { sum });
    }
    ctx.counters.proxy_added.inc();
    Ok(buf)
}

fn get_u16(buf: &[u8], at: usize) -> Option<u16> {
    let b = buf.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn set_u16(buf: &mut [u8], at: usize, value: u16) {
    if let Some(b) = buf.get_mut(at..at + 2) {
        b.copy_from_slice(&value.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_mapping_wraps_and_clamps_inside_the_header() {
        let h: u32 = 0xffff_fff0;
        // Beyond the header: lowered by 28, across the wrap.
        assert_eq!(to_client_space(h.wrapping_add(28), h), h);
        assert_eq!(to_client_space(h.wrapping_add(100), h), h.wrapping_add(72));
        // Inside the header: nothing of the client's yet.
        assert_eq!(to_client_space(h.wrapping_add(27), h), h);
        assert_eq!(to_client_space(h, h), h);
        // Before H (the SYN-ACK's own numbers, old segments): unchanged.
        assert_eq!(to_client_space(h.wrapping_sub(1), h), h.wrapping_sub(1));
        assert_eq!(distance(5, 0xffff_fffb), Some(10));
        assert_eq!(distance(0xffff_fffb, 5), None);
    }

    #[test]
    fn eol_padding_becomes_nops_with_a_right_checksum() {
        let src = Ipv4Addr::new(192, 0, 2, 1);
        let dst = Ipv4Addr::new(192, 0, 2, 2);
        // MSS, SACK-permitted, EOL, one padding byte: 28-byte header, then "hi".
        let mut seg = vec![0u8; 30];
        tcp::Repr {
            src_port: 1,
            dst_port: 2,
            seq: 3,
            ack: 0,
            flags: Flags::SYN,
            window: 9,
        }
        .emit(&mut seg)
        .unwrap();
        seg[12] = 0x70;
        seg[20..28].copy_from_slice(&[2, 4, 5, 0xb4, 4, 2, 0, 0]);
        seg[28..].copy_from_slice(b"hi");
        tcp::Packet::new_checked(&mut seg[..])
            .unwrap()
            .fill_checksum_v4(src, dst);
        eol_to_nop(&mut seg);
        assert_eq!(&seg[20..28], &[2, 4, 5, 0xb4, 4, 2, 1, 1]);
        let t = tcp::Packet::new_checked(&seg[..]).unwrap();
        assert!(t.verify_checksum_v4(src, dst));
        assert_eq!(options_end(&t), Some(28));
        assert_eq!(t.payload(), b"hi");
        // An End-of-List at an odd offset: one byte, the low half of its word.
        seg[20..28].copy_from_slice(&[2, 4, 5, 0xb4, 1, 4, 2, 0]);
        tcp::Packet::new_checked(&mut seg[..])
            .unwrap()
            .fill_checksum_v4(src, dst);
        eol_to_nop(&mut seg);
        assert_eq!(&seg[24..28], &[1, 4, 2, 1]);
        assert!(
            tcp::Packet::new_checked(&seg[..])
                .unwrap()
                .verify_checksum_v4(src, dst)
        );
    }
}
