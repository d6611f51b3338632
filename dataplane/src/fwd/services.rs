//! What one worker keeps per virtual service across snapshots: the scheduler with its
//! per-server connection counts, and the configuration of every real server a connection
//! may still refer to.
//!
//! A service keeps its worker slot for as long as it is configured *or* connections still
//! use it: removing a service (or a real server) from the configuration stops new
//! connections at once, while existing ones run to their end with the rewrite they were
//! created with — IPVS keeps removed destinations in its "trash" for the same reason. A
//! connection entry stores the worker's service slot and the real server's scheduler slot
//! ([`DestId`]), both stable for as long as the entry lives.
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::net::IpAddr;

use crate::neigh::route::IntHasher;
use crate::sched::{ConnKind, DestId, DestKey, DestSpec, SchedParams, ServiceScheduler};
use crate::stats::SlotTable;
use crate::worker::{DestConf, ServiceConf, Snapshot};

/// A service as this worker runs it.
#[derive(Debug)]
pub struct WorkerService {
    pub conf: ServiceConf,
    /// Still in the current snapshot (new connections allowed).
    pub live: bool,
    pub sched: ServiceScheduler,
    /// The configuration of each scheduler slot's real server, kept after removal while
    /// connections may still use it.
    pub dests: Vec<Option<DestConf>>,
    /// Round-robin position over the FULLNAT local addresses.
    pub laddr_next: usize,
}

impl WorkerService {
    fn specs(conf: &ServiceConf, workers: u16) -> Vec<DestSpec> {
        conf.dests
            .iter()
            .map(|d| DestSpec {
                key: DestKey {
                    addr: IpAddr::V4(d.addr),
                    port: d.port,
                },
                weight: d.weight,
                upper_threshold: crate::sched::per_worker_threshold(d.upper, usize::from(workers)),
                lower_threshold: crate::sched::per_worker_threshold(d.lower, usize::from(workers)),
            })
            .collect()
    }

    fn record_dests(&mut self) {
        self.dests.resize(self.sched.dests().slot_count(), None);
        for d in &self.conf.dests {
            let key = DestKey {
                addr: IpAddr::V4(d.addr),
                port: d.port,
            };
            if let Some(id) = self.sched.dests().find(&key)
                && let Some(slot) = self.dests.get_mut(id.index())
            {
                *slot = Some(d.clone());
            }
        }
    }

    /// The configuration of the real server in scheduler slot `id`.
    #[inline]
    pub fn dest(&self, id: DestId) -> Option<&DestConf> {
        self.dests.get(id.index()).and_then(Option::as_ref)
    }

    /// Whether any connection or template still counts on this service.
    pub fn in_use(&self) -> bool {
        self.sched.dests().iter().any(|(_, d)| d.refs() > 0)
    }
}

/// Every service this worker knows, by worker slot.
#[derive(Debug, Default)]
pub struct Services {
    slots: Vec<Option<WorkerService>>,
    by_id: HashMap<u32, usize, BuildHasherDefault<IntHasher>>,
    params: SchedParams,
}

impl Services {
    /// Brings the services in line with a new snapshot (between bursts; allocates).
    /// Counts carry over for servers that stay; removed services and servers stay as long
    /// as they are in use.
    pub fn sync(&mut self, snap: &Snapshot, slots: &SlotTable) {
        for s in self.slots.iter_mut().flatten() {
            s.live = false;
        }
        let workers = snap.workers.max(1);
        for conf in snap.services.iter() {
            let specs = WorkerService::specs(conf, workers);
            match self.by_id.get(&conf.id).copied() {
                Some(i) => {
                    let Some(Some(ws)) = self.slots.get_mut(i) else {
                        continue;
                    };
                    let same_sched =
                        ws.conf.scheduler == conf.scheduler && ws.conf.flags == conf.flags;
                    let ok = ws.sched.update(&specs).is_ok()
                        && (same_sched
                            || ws
                                .sched
                                .set_scheduler(conf.scheduler, &conf.flags, &self.params)
                                .is_ok());
                    if ok {
                        ws.conf = conf.clone();
                        ws.live = true;
                        ws.record_dests();
                    }
                }
                None => {
                    let Ok(sched) =
                        ServiceScheduler::new(conf.scheduler, &conf.flags, &self.params, &specs)
                    else {
                        continue;
                    };
                    let mut ws = WorkerService {
                        conf: conf.clone(),
                        live: true,
                        sched,
                        dests: Vec::new(),
                        laddr_next: 0,
                    };
                    ws.record_dests();
                    let idx = match self.slots.iter().position(Option::is_none) {
                        Some(i) => {
                            self.slots[i] = Some(ws);
                            i
                        }
                        None => {
                            self.slots.push(Some(ws));
                            self.slots.len() - 1
                        }
                    };
                    self.by_id.insert(conf.id, idx);
                }
            }
        }
        // Forget services that are gone and unused; keep the others as trash.
        for i in 0..self.slots.len() {
            let drop_it = matches!(&self.slots[i], Some(ws) if !ws.live && !ws.in_use());
            if drop_it && let Some(ws) = self.slots[i].take() {
                self.by_id.remove(&ws.conf.id);
            }
        }
        self.publish_all(slots);
    }

    /// The worker slot of the service with control-plane id `id`.
    #[inline]
    pub fn slot_of(&self, id: u32) -> Option<usize> {
        self.by_id.get(&id).copied()
    }

    #[inline]
    pub fn get(&self, slot: usize) -> Option<&WorkerService> {
        self.slots.get(slot).and_then(Option::as_ref)
    }

    #[inline]
    pub fn get_mut(&mut self, slot: usize) -> Option<&mut WorkerService> {
        self.slots.get_mut(slot).and_then(Option::as_mut)
    }

    /// Counts a connection bound to `(slot, dest)` and publishes the gauges.
    pub fn bind(&mut self, slot: usize, dest: DestId, kind: ConnKind, stats: &SlotTable) {
        if let Some(ws) = self.get_mut(slot) {
            ws.sched.bind(dest, kind);
            publish(ws, dest, stats);
        }
    }

    /// Uncounts an ended connection.
    pub fn unbind(&mut self, slot: usize, dest: DestId, kind: ConnKind, stats: &SlotTable) {
        if let Some(ws) = self.get_mut(slot) {
            ws.sched.unbind(dest, kind);
            publish(ws, dest, stats);
        }
    }

    /// A connection became active (established) or inactive.
    pub fn set_active(&mut self, slot: usize, dest: DestId, active: bool, stats: &SlotTable) {
        if let Some(ws) = self.get_mut(slot) {
            if active {
                ws.sched.activate(dest);
            } else {
                ws.sched.deactivate(dest);
            }
            publish(ws, dest, stats);
        }
    }

    /// Runs the lblc/lblcr clocks.
    pub fn maintain(&mut self, now_s: u32) {
        for ws in self.slots.iter_mut().flatten() {
            ws.sched.maintain(now_s);
        }
    }

    fn publish_all(&self, stats: &SlotTable) {
        for ws in self.slots.iter().flatten() {
            for (id, _) in ws.sched.dests().iter() {
                publish(ws, id, stats);
            }
        }
    }
}

/// Writes a real server's connection counts into its statistics slot, and the service's
/// totals into the service's.
fn publish(ws: &WorkerService, dest: DestId, stats: &SlotTable) {
    if let (Some(d), Some(conf)) = (ws.sched.dests().get(dest), ws.dest(dest))
        && let Some(c) = stats.get(conf.stats_slot)
    {
        c.active.set(u64::from(d.active_conns()));
        c.inactive.set(u64::from(d.inactive_conns()));
        c.persist.set(u64::from(d.persistent_conns()));
    }
    if let Some(c) = stats.get(ws.conf.stats_slot) {
        let (mut a, mut i, mut p) = (0u64, 0u64, 0u64);
        for (_, d) in ws.sched.dests().iter() {
            a += u64::from(d.active_conns());
            i += u64::from(d.inactive_conns());
            p += u64::from(d.persistent_conns());
        }
        c.active.set(a);
        c.inactive.set(i);
        c.persist.set(p);
    }
}
