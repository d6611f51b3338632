//! Forwarding: the worker stage that makes rvs a director.
//!
//! One call of [`ForwardStage::process`] classifies a frame once and takes one of these
//! paths:
//!
//! 1. **From the kernel-side port** (the TAP): out through its network port unchanged
//!    (VRRP adverts get the virtual router MAC as source).
//! 2. **ARP**: learn the sender; answer for VIPs and FULLNAT local addresses; requests and
//!    replies concerning the director's own addresses go to the kernel when it has a port
//!    (it answers with the same MAC), else the dataplane answers them itself.
//! 3. **IPv4 to the director's own address**: to the kernel, or answered (echo) here.
//! 4. **A flow this worker does not own** ([`steer`]): handed to the owner.
//! 5. **A connection hit** in the table: the connection's forwarding method rewrites the
//!    packet in its direction (see [`modes`] and [`tun`]); counters, TCP state and timers
//!    are updated.
//! 6. **A miss to a virtual service**: TCP only with a SYN, UDP always; persistence
//!    template or scheduler picks a real server, a connection is created, then as 5.
//! 7. **ICMP**: echo to a VIP is answered; errors quoting a connection's packet are
//!    translated for the other side ([`icmp`]).
//! 8. Everything else: a counted drop with its reason.
//!
//! The last step of every forwarded packet is [`xmit`]: route lookup, neighbour resolution
//! (holding the packet while ARP runs), Ethernet header.
//!
//! Per-worker state lives here: the connection table, the services with their schedulers
//! and counts, the neighbour table, the FULLNAT local ports. Shared state is only read,
//! from the snapshot. Nothing on the per-packet path allocates, locks or logs.

pub mod api;
pub mod caddr;
pub mod icmp;
pub mod lb;
pub mod lport;
pub mod modes;
pub mod neighsync;
pub mod parse;
pub mod services;
pub mod steer;
pub mod tun;
pub mod xmit;

use std::net::Ipv4Addr;
use std::sync::Arc;

use crossbeam_channel::Receiver;

use crate::conn::{ConnError, ConnHandle, ConnTable, Direction, Expiry, FlowKey, FwdMethod, Proto};
use crate::neigh::NeighTable;
use crate::port::PacketBuf;
use crate::sched::{ConnKind, DestId};
use crate::stats::{DropReason, SlotTable};
use crate::wire::EtherType;
use crate::worker::{Output, PacketCtx, PortRole, Snapshot, Stage, Verdict};

pub use api::{ConnRow, FwdConfig, NeighRow, StageCommand};
pub use lport::LocalPorts;
pub use neighsync::{NeighSync, NeighUpdate, neigh_mesh};
use parse::{Ip4, L4, PROTO_ICMP, PROTO_TCP, PROTO_UDP};
use services::Services;

/// Connection timers examined per tick at most (bounds the time between bursts).
const EXPIRE_BUDGET: u32 = 256;
/// Neighbour-table slots looked at per tick.
const NEIGH_BUDGET: usize = 64;

/// Why the stage could not be built.
#[derive(Debug, thiserror::Error)]
pub enum FwdError {
    #[error("connection table: {0}")]
    ConnTable(#[from] crate::conn::ConfigError),
}

/// The forwarding stage of one worker.
pub struct ForwardStage<B> {
    cfg: FwdConfig,
    conns: ConnTable<Ipv4Addr>,
    services: Services,
    neigh: NeighTable<B>,
    neigh_sync: NeighSync,
    lports: LocalPorts,
    slots: Arc<SlotTable>,
    commands: Receiver<StageCommand>,
    /// The last snapshot generation seen (services, timeouts and neighbours follow it).
    generation: u64,
    /// Coarse clock of the lblc/lblcr schedulers (seconds), last value given.
    sched_clock: u32,
    /// IPv4 identification of the packets this worker originates without DF.
    ip_ident: u16,
}

impl<B: PacketBuf> ForwardStage<B> {
    /// A stage with everything preallocated. `slots` are this worker's statistics slots;
    /// `commands` carries the control plane's requests; `neigh_sync` this worker's ends of
    /// the neighbour mesh.
    pub fn new(
        cfg: FwdConfig,
        slots: Arc<SlotTable>,
        commands: Receiver<StageCommand>,
        neigh_sync: NeighSync,
    ) -> Result<ForwardStage<B>, FwdError> {
        let conns = ConnTable::new(&cfg.conn)?;
        let lports = LocalPorts::new(cfg.lport_min, cfg.lport_max, cfg.worker, cfg.workers);
        Ok(ForwardStage {
            neigh: NeighTable::new(cfg.neigh),
            conns,
            services: Services::default(),
            neigh_sync,
            lports,
            slots,
            commands,
            generation: u64::MAX,
            sched_clock: 0,
            ip_ident: tun::first_ident(cfg.worker, cfg.workers),
            cfg,
        })
    }

    /// The next IPv4 identification for a packet this worker originates (see
    /// [`tun::first_ident`]).
    pub fn next_ident(&mut self) -> u16 {
        let id = self.ip_ident;
        self.ip_ident = id.wrapping_add(1);
        id
    }

    /// The connection table (tests, listings).
    pub fn conns(&self) -> &ConnTable<Ipv4Addr> {
        &self.conns
    }

    pub fn neighbours(&self) -> &NeighTable<B> {
        &self.neigh
    }

    fn now_ms(ctx_now: u64) -> u64 {
        ctx_now / 1_000_000
    }

    /// Counts one packet of a connection in its service's and real server's slots.
    #[inline]
    fn count(&self, svc_slot: usize, dest: DestId, dir: Direction, bytes: usize) {
        let Some(ws) = self.services.get(svc_slot) else {
            return;
        };
        let b = bytes as u64;
        let bump = |slot: u32| {
            if let Some(c) = self.slots.get(slot) {
                match dir {
                    Direction::In => {
                        c.inpkts.inc();
                        c.inbytes.add(b);
                    }
                    Direction::Out => {
                        c.outpkts.inc();
                        c.outbytes.add(b);
                    }
                }
            }
        };
        bump(ws.conf.stats_slot);
        if let Some(d) = ws.dest(dest) {
            bump(d.stats_slot);
        }
    }

    /// A packet that arrived on the kernel-side port: out of its network port.
    fn kernel_out(&mut self, mut buf: B, network: u16, out: &mut Output<'_, B>) {
        out.counters().from_kernel.inc();
        modes::vrrp_source_mac(buf.data_mut());
        out.push(Verdict::Transmit { port: network }, buf);
    }

    fn ipv4(&mut self, mut buf: B, ctx: &PacketCtx<'_>, out: &mut Output<'_, B>) {
        let snap = ctx.snapshot;
        let ip = match parse::ipv4(buf.data()) {
            Ok(ip) => ip,
            Err(r) => return out.drop(r, buf),
        };
        // Drop Ethernet padding so lengths derive from the buffer.
        let pad = buf.len().saturating_sub(ip.frame_len());
        if pad > 0 && buf.trim(pad).is_err() {
            return out.drop(DropReason::Truncated, buf);
        }
        if snap.is_own_address(ip.dst) || ip.dst.is_multicast() || ip.dst.is_broadcast() {
            if ip.proto == PROTO_ICMP && !ip.fragment {
                // Errors about the director's own tunnel packets are the dataplane's.
                return icmp::to_director(self, buf, &ip, ctx, out);
            }
            return self.for_director(buf, &ip, ctx, out);
        }
        if ip.fragment {
            return out.drop(DropReason::Ipv4Fragment, buf);
        }
        if ip.proto == PROTO_ICMP {
            return icmp::handle(self, buf, &ip, ctx, out);
        }
        if ip.proto != PROTO_TCP && ip.proto != PROTO_UDP {
            let reason = if snap.services.is_vip(ip.dst) {
                DropReason::ProtoUnhandled
            } else {
                DropReason::NotForUs
            };
            return out.drop(reason, buf);
        }
        let l4 = match parse::l4(buf.data(), &ip) {
            Ok(l4) => l4,
            Err(r) => return out.drop(r, buf),
        };
        if !ctx.handed_off
            && let Some(owner) = steer::owner(snap, &ip, l4.sport, l4.dport, self.cfg.worker)
        {
            return out.push(Verdict::HandOff { worker: owner }, buf);
        }
        let proto = if ip.proto == PROTO_TCP {
            Proto::Tcp
        } else {
            Proto::Udp
        };
        let key = FlowKey::new(proto, ip.src, l4.sport, ip.dst, l4.dport);
        match self.live_lookup(&key, Self::now_ms(ctx.now)) {
            Some((h, dir)) => self.forward(buf, h, dir, &ip, &l4, ctx, out),
            None => lb::new_flow(self, buf, proto, &ip, &l4, ctx, out),
        }
    }

    /// Traffic for the director itself.
    fn for_director(&mut self, buf: B, ip: &Ip4, ctx: &PacketCtx<'_>, out: &mut Output<'_, B>) {
        let port = ctx.snapshot.port(usize::from(ctx.port));
        if port.is_some_and(|p| p.kernel.is_some()) {
            return out.push(Verdict::ToKernel { port: ctx.port }, buf);
        }
        if ip.dst.is_multicast() || ip.dst.is_broadcast() {
            return out.drop(DropReason::NotForUs, buf);
        }
        // No kernel port: the dataplane answers echo itself.
        let mut buf = buf;
        let v = crate::local::respond(buf.data_mut(), ctx);
        out.push(v, buf);
    }

    /// Forwards a packet of an existing connection.
    #[allow(clippy::too_many_arguments)]
    fn forward(
        &mut self,
        buf: B,
        h: ConnHandle,
        dir: Direction,
        ip: &Ip4,
        l4: &L4,
        ctx: &PacketCtx<'_>,
        out: &mut Output<'_, B>,
    ) {
        let now_ms = Self::now_ms(ctx.now);
        let Some(c) = self.conns.get(h) else {
            return out.drop(DropReason::NoConn, buf);
        };
        let (svc_slot, dest_raw) = (c.svc_id() as usize, c.dest_id());
        let dest = crate::sched::DestId::from_index(dest_raw as usize);
        let method = c.method();
        match self.conns.update(h, dir, l4.flags, now_ms) {
            Ok(t) => {
                if let Some(d) = dest {
                    match t.activity {
                        crate::conn::Activity::NowActive => {
                            self.services.set_active(svc_slot, d, true, &self.slots)
                        }
                        crate::conn::Activity::NowInactive => {
                            self.services.set_active(svc_slot, d, false, &self.slots)
                        }
                        crate::conn::Activity::Unchanged => {}
                    }
                }
            }
            Err(_) => return out.drop(DropReason::NoConn, buf),
        }
        if let Some(d) = dest {
            self.count(svc_slot, d, dir, ip.total);
        }
        // A director forwards: like IPVS (`decrement_ttl` in ip_vs_xmit.c) it decrements the
        // TTL and answers an expiring packet with time exceeded — from the VIP for a packet
        // sent to it, else from the director's address on the arrival port.
        if ip.ttl <= 1 {
            let from = match dir {
                Direction::In => ip.dst,
                Direction::Out => ctx
                    .snapshot
                    .port(usize::from(ctx.port))
                    .and_then(|p| p.source_for(ip.src))
                    .unwrap_or(ip.dst),
            };
            let msg = crate::wire::icmp::ErrorMessage::TimeExceeded(0);
            return xmit::icmp_error(self, buf, ip, msg, from, DropReason::TtlExceeded, ctx, out);
        }
        let mut buf = buf;
        if let Some(pkt) = buf.data_mut().get_mut(parse::ETH_LEN..)
            && let Ok(mut p) = crate::wire::ipv4::Packet::new_checked_without_checksum(pkt)
        {
            let _ = p.dec_ttl();
        }
        match (method, dir) {
            (FwdMethod::Dr, Direction::In) => modes::dr(self, buf, h, ctx, out),
            (FwdMethod::Tun, Direction::In) => tun::xmit(self, buf, h, ip, ctx, out),
            (FwdMethod::Nat, Direction::In) => modes::nat_in(self, buf, h, ip, ctx, out),
            (FwdMethod::Nat, Direction::Out) => modes::nat_out(self, buf, h, ip, ctx, out),
            (FwdMethod::FullNat, Direction::In) => modes::fullnat_in(self, buf, h, ip, ctx, out),
            (FwdMethod::FullNat, Direction::Out) => modes::fullnat_out(self, buf, h, ip, ctx, out),
            // A reply of a DR/TUN connection should never pass the director.
            (FwdMethod::Dr | FwdMethod::Tun, Direction::Out) => {
                out.drop(DropReason::UnexpectedReply, buf)
            }
        }
    }

    /// Looks a flow up as IPVS would see it at `now_ms`: an entry whose timeout ran out
    /// before its timer was run is reaped here and not found.
    pub(crate) fn live_lookup(
        &mut self,
        key: &FlowKey<Ipv4Addr>,
        now_ms: u64,
    ) -> Option<(ConnHandle, Direction)> {
        let (h, dir) = self.conns.lookup(key)?;
        if self.conns.is_expired(h, now_ms) {
            self.reap(h, now_ms);
            return None;
        }
        Some((h, dir))
    }

    /// Removes an entry now, releasing what it held.
    pub(crate) fn reap(&mut self, h: ConnHandle, now_ms: u64) {
        if let Ok(info) = self.conns.remove(h, now_ms) {
            self.on_expired(&info);
        }
    }

    /// Releases what an expired entry held: scheduler counts, gauges, the local port.
    fn on_expired(&mut self, info: &crate::conn::ConnInfo<Ipv4Addr>) {
        let Some(d) = crate::sched::DestId::from_index(info.dest_id as usize) else {
            return;
        };
        let slot = info.svc_id as usize;
        let kind = if info.template {
            ConnKind::Template
        } else if info.active {
            ConnKind::Active
        } else {
            ConnKind::Inactive
        };
        self.services.unbind(slot, d, kind, &self.slots);
        if let Some(crate::conn::Forward::FullNat { laddr, lport }) = info.forward {
            self.lports.free(laddr, lport);
        }
    }

    fn run_commands(&mut self, now_ms: u64, snap: &Snapshot, out: &mut Output<'_, B>) {
        while let Ok(cmd) = self.commands.try_recv() {
            match cmd {
                StageCommand::DumpConns { reply } => {
                    let rows = self.conn_rows(now_ms);
                    let _ = reply.send(rows);
                }
                StageCommand::DumpNeighbours { reply } => {
                    let rows = self
                        .neigh
                        .iter(now_ms * 1_000_000)
                        .map(|(port, ip, mac, state)| NeighRow {
                            port,
                            addr: Ipv4Addr::from(ip),
                            mac,
                            state: state.name(),
                        })
                        .collect();
                    let _ = reply.send(rows);
                }
                StageCommand::Garp { port, addr, count } => {
                    for _ in 0..count {
                        xmit::garp(snap, port, addr, out);
                    }
                }
            }
        }
    }

    fn conn_rows(&self, now_ms: u64) -> Vec<ConnRow> {
        use std::net::SocketAddrV4;
        self.conns
            .iter(now_ms)
            .map(|i| {
                let (service_id, dest_id) = self
                    .services
                    .get(i.svc_id as usize)
                    .map(|ws| {
                        let d = crate::sched::DestId::from_index(i.dest_id as usize)
                            .and_then(|d| ws.dest(d))
                            .map_or(0, |d| d.id);
                        (ws.conf.id, d)
                    })
                    .unwrap_or((0, 0));
                ConnRow {
                    proto: i.proto,
                    client: SocketAddrV4::new(i.caddr, i.cport),
                    virtual_addr: SocketAddrV4::new(i.vaddr, i.vport),
                    dest: SocketAddrV4::new(i.raddr, i.rport),
                    local: match i.forward {
                        Some(crate::conn::Forward::FullNat { laddr, lport }) => {
                            Some(SocketAddrV4::new(laddr, lport))
                        }
                        _ => None,
                    },
                    state: i.state_name(),
                    expires_s: u32::try_from(i.expires_secs()).unwrap_or(u32::MAX),
                    template: i.template,
                    service_id,
                    dest_id,
                }
            })
            .collect()
    }
}

impl<B: PacketBuf> Stage<B> for ForwardStage<B> {
    fn process(&mut self, buf: B, ctx: &PacketCtx<'_>, out: &mut Output<'_, B>) {
        let Some(port) = ctx.snapshot.port(usize::from(ctx.port)) else {
            return out.drop(DropReason::NoSuchPort, buf);
        };
        if let PortRole::Kernel { network } = port.role {
            return self.kernel_out(buf, network, out);
        }
        match parse::ethertype(buf.data()) {
            Ok(EtherType::Ipv4) => self.ipv4(buf, ctx, out),
            Ok(EtherType::Arp) => xmit::arp(self, buf, ctx, out),
            Ok(_) if port.kernel.is_some() => out.push(Verdict::ToKernel { port: ctx.port }, buf),
            Ok(_) => out.drop(DropReason::NotIpv4, buf),
            Err(r) => out.drop(r, buf),
        }
    }

    fn tick(&mut self, now: u64, snapshot: &Arc<Snapshot>, out: &mut Output<'_, B>) {
        let now_ms = Self::now_ms(now);
        // Neighbours other workers learned.
        let mut learned: arrayvec::ArrayVec<NeighUpdate, 64> = arrayvec::ArrayVec::new();
        self.neigh_sync.drain(64, |u| {
            let _ = learned.try_push(u);
        });
        for u in learned {
            xmit::learned(self, u.port, u.addr, u.mac, now, snapshot, out, false);
        }
        // Connection expiry.
        let mut expired: arrayvec::ArrayVec<crate::conn::ConnInfo<Ipv4Addr>, 64> =
            arrayvec::ArrayVec::new();
        loop {
            let summary = self.conns.expire(now_ms, 64, |e| {
                if let Expiry::Expired(info) = e {
                    let _ = expired.try_push(info);
                }
            });
            for info in expired.drain(..) {
                self.on_expired(&info);
            }
            if !summary.backlog || summary.examined >= EXPIRE_BUDGET {
                break;
            }
        }
        // Neighbour retransmissions and failures.
        xmit::tick(self, now, snapshot, NEIGH_BUDGET, out);
        // lblc/lblcr clocks, once a second.
        let secs = u32::try_from(now / 1_000_000_000).unwrap_or(u32::MAX);
        if secs != self.sched_clock {
            self.sched_clock = secs;
            self.services.maintain(secs);
        }
        self.run_commands(now_ms, snapshot, out);
    }

    fn snapshot_changed(&mut self, snapshot: &Arc<Snapshot>) {
        if snapshot.generation == self.generation {
            return;
        }
        self.generation = snapshot.generation;
        self.services.sync(snapshot, &self.slots);
        self.conns.set_timeouts(snapshot.timeouts);
        for s in snapshot.services.iter() {
            for l in &s.laddrs {
                self.lports.prepare(*l);
            }
        }
        for &(port, ip, mac) in &snapshot.static_neighbours {
            // Packets that waited for a neighbour now configured statically are released
            // at the next tick through the normal path; here they are simply dropped.
            let _ = self.neigh.set_static(port, u32::from(ip), mac);
        }
    }
}

/// Conn-table errors on the new-connection path, as drop reasons.
pub(crate) fn conn_drop(e: ConnError) -> DropReason {
    match e {
        ConnError::Full => DropReason::ConnTableFull,
        _ => DropReason::NoConn,
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_caddr;
#[cfg(test)]
mod tests_icmp;
#[cfg(test)]
mod tests_ttl;
#[cfg(test)]
mod tests_tun;
