//! The first packet of a flow to a virtual service: choosing the real server and creating
//! the connection, with IPVS's rules.
//!
//! - TCP: only a SYN (without RST) creates a connection; any other segment to a VIP without
//!   one is dropped and counted (`tcp_no_syn`), as IPVS does without `sloppy_tcp`.
//! - UDP: the first datagram creates one.
//! - Persistence (`-p`): a template keyed by the client's masked address (and the service
//!   port, unless the service is port 0 or FTP) sends the client back to the same real
//!   server; a template whose server left the table is invalidated and a new server is
//!   chosen (IPVS `ip_vs_check_template`); a quiescent (weight 0) server keeps its
//!   persistent clients, as with IPVS's default `expire_quiescent_template = 0`.
//! - FULLNAT: a local address round-robin from the service's pool and a local port from this
//!   worker's partition.
//! - One-packet scheduling (`-o`, UDP): the datagram is scheduled and forwarded, and its
//!   entry removed at once.
use std::net::{IpAddr, Ipv4Addr};

use super::parse::{Ip4, L4};
use super::{ForwardStage, conn_drop};
use crate::conn::{
    Direction, Forward, FwdMethod, NewConn, NewTemplate, Proto, TcpFlags, TemplateKey,
    conn_dest_port, template_dest_port,
};
use crate::port::PacketBuf;
use crate::sched::{ConnKind, DestId, Flow};
use crate::stats::DropReason;
use crate::worker::{DestConf, Output, PacketCtx};

/// Handles a packet no connection matched.
pub fn new_flow<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    buf: B,
    proto: Proto,
    ip: &Ip4,
    l4: &L4,
    ctx: &PacketCtx<'_>,
    out: &mut Output<'_, B>,
) {
    let snap = ctx.snapshot;
    let Some(svc) = snap.services.lookup(proto, ip.dst, l4.dport) else {
        let reason = if snap.services.is_vip(ip.dst) {
            DropReason::NoService
        } else if snap.services.is_laddr(ip.dst) {
            DropReason::NoConn
        } else {
            DropReason::NotForUs
        };
        return out.drop(reason, buf);
    };
    let syn = l4.flags.contains(TcpFlags::SYN) && !l4.flags.contains(TcpFlags::RST);
    if proto == Proto::Tcp && !syn {
        return out.drop(DropReason::TcpNoSyn, buf);
    }
    let Some(slot) = st.services.slot_of(svc.id) else {
        return out.drop(DropReason::NoService, buf);
    };
    let now_ms = ForwardStage::<B>::now_ms(ctx.now);
    let flow = Flow::new(IpAddr::V4(ip.src), l4.sport, IpAddr::V4(ip.dst), l4.dport);

    // The real server: from a persistence template, or the scheduler.
    let mut control = None;
    let mut chosen: Option<DestId> = None;
    if let Some(p) = svc.persistence {
        let tkey = TemplateKey::for_packet(proto, ip.src, p.netmask, ip.dst, l4.dport, svc.port);
        let found = st.conns.lookup_template(&tkey);
        let found = match found {
            Some(th) if st.conns.is_expired(th, now_ms) => {
                st.reap(th, now_ms);
                None
            }
            other => other,
        };
        if let Some(th) = found {
            let usable = st
                .conns
                .get(th)
                .and_then(|t| DestId::from_index(t.dest_id() as usize))
                .filter(|d| {
                    st.services
                        .get(slot)
                        .and_then(|ws| ws.sched.dests().get(*d))
                        .is_some_and(|s| s.in_service())
                });
            match usable {
                Some(d) => {
                    chosen = Some(d);
                    control = Some(th);
                }
                None => {
                    let _ = st.conns.invalidate_template(th);
                }
            }
        }
        if chosen.is_none() {
            let Some(ws) = st.services.get_mut(slot) else {
                return out.drop(DropReason::NoService, buf);
            };
            let Some(d) = ws.sched.pick(&flow) else {
                return out.drop(DropReason::NoDest, buf);
            };
            let Some(dc) = ws.dest(d) else {
                return out.drop(DropReason::NoDest, buf);
            };
            let t = NewTemplate {
                key: tkey,
                raddr: dc.addr,
                rport: template_dest_port(l4.dport, svc.port, dc.port),
                dest_id: d.index() as u32,
                svc_id: slot as u32,
                timeout_secs: p.timeout_s,
            };
            match st.conns.insert_template(&t, now_ms) {
                Ok(th) => {
                    st.services.bind(slot, d, ConnKind::Template, &st.slots);
                    control = Some(th);
                }
                Err(e) => return out.drop(conn_drop(e), buf),
            }
            chosen = Some(d);
        }
    }
    let d = match chosen {
        Some(d) => d,
        None => {
            let Some(ws) = st.services.get_mut(slot) else {
                return out.drop(DropReason::NoService, buf);
            };
            match ws.sched.pick(&flow) {
                Some(d) => d,
                None => return out.drop(DropReason::NoDest, buf),
            }
        }
    };
    let Some(dc) = st.services.get(slot).and_then(|ws| ws.dest(d)).cloned() else {
        return out.drop(DropReason::NoDest, buf);
    };
    let rport = conn_dest_port(l4.dport, svc.port, dc.port);
    let forward = match forwarding(st, slot, &dc) {
        Ok(f) => f,
        Err(r) => return out.drop(r, buf),
    };
    let nc = NewConn {
        proto,
        caddr: ip.src,
        cport: l4.sport,
        vaddr: ip.dst,
        vport: l4.dport,
        raddr: dc.addr,
        rport,
        forward,
        dest_id: d.index() as u32,
        svc_id: slot as u32,
        flags: Default::default(),
        control,
    };
    let h = match st.conns.insert(&nc, now_ms) {
        Ok(h) => h,
        Err(e) => {
            if let Forward::FullNat { laddr, lport } = forward {
                st.lports.free(laddr, lport);
            }
            return out.drop(conn_drop(e), buf);
        }
    };
    st.services.bind(slot, d, ConnKind::Inactive, &st.slots);
    if let Some(ws) = st.services.get(slot) {
        for s in [ws.conf.stats_slot, dc.stats_slot] {
            if let Some(c) = st.slots.get(s) {
                c.conns.inc();
            }
        }
    }
    st.forward(buf, h, Direction::In, ip, l4, ctx, out);
    if svc.one_packet && proto == Proto::Udp {
        remove_now(st, h, now_ms);
    }
}

/// The forwarding of a new connection to `dc`, taking a FULLNAT local address and port.
fn forwarding<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    slot: usize,
    dc: &DestConf,
) -> Result<Forward<Ipv4Addr>, DropReason> {
    Ok(match dc.forward {
        FwdMethod::Dr => Forward::Dr,
        FwdMethod::Nat => Forward::Nat,
        FwdMethod::Tun => Forward::Tun(dc.tunnel.kind.unwrap_or(crate::conn::TunnelKind::Ipip)),
        FwdMethod::FullNat => {
            let Some(ws) = st.services.get_mut(slot) else {
                return Err(DropReason::NoService);
            };
            let n = ws.conf.laddrs.len();
            if n == 0 {
                return Err(DropReason::NoLocalAddr);
            }
            for i in 0..n {
                let idx = (ws.laddr_next + i) % n;
                let Some(&laddr) = ws.conf.laddrs.get(idx) else {
                    continue;
                };
                if let Some(lport) = st.lports.alloc(laddr) {
                    ws.laddr_next = (idx + 1) % n;
                    return Ok(Forward::FullNat { laddr, lport });
                }
            }
            return Err(DropReason::NoLocalPort);
        }
    })
}

/// Removes an entry at once (one-packet scheduling), releasing what it held.
fn remove_now<B: PacketBuf>(st: &mut ForwardStage<B>, h: crate::conn::ConnHandle, now_ms: u64) {
    st.reap(h, now_ms);
}
