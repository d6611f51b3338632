//! The daemon's [`Applier`]: how a configuration the director accepted reaches the workers.
//!
//! One apply is: free the statistics slots nothing counts into any more → plan slots for
//! the new ids → compile the snapshot → check that every worker's channel has room → send
//! the same `Arc<Snapshot>` to every worker → commit the slot plan. Everything that can
//! fail happens before the first send, and only this thread sends, so a refusal leaves the
//! workers, the slots and the generation exactly as they were: either every worker gets
//! the new snapshot or none does. The workers swap it in at the start of their next poll,
//! between two bursts, so no packet sees half a change and established connections keep
//! their entries (the snapshot carries stable ids).
//!
//! A removed service's connections keep running on the workers (as IPVS keeps them) until
//! they end. Its VIP and FULLNAT local addresses therefore stay *draining* in the snapshots
//! — answered for ARP and steered to the worker that owns each flow, but scheduling
//! nothing — for as long as its statistics slot is retired (some connection still counts
//! into it). A snapshot is only built on a change, so a drained address leaves the
//! dataplane with the first change after its last connection ended.
//!
//! With VRRP, the snapshot carries only what this director may serve now
//! ([`crate::ownership`]): services on the VIPs of instances that are not MASTER here are
//! left out (their draining addresses too), and a MASTER instance's addresses without a
//! service are answered for ARP. The VRRP wiring re-applies on every transition.
//!
//! After each snapshot went out, the FULLNAT local addresses it serves (draining ones
//! included) are told to an observer, if one is set: the NIC flow rules that put return
//! traffic on its worker's queue follow them ([`crate::steering`]).
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use control::config::Config;
use control::director::{Applier, Ids};
use crossbeam_channel::{Sender, TrySendError};
use dataplane::worker::Snapshot;

use crate::counters::{SharedBook, lock};
use crate::fleet::WorkerTables;
use crate::ownership::VrrpOwnership;
use crate::snapshot::{Devices, compile};

/// Compiles and hands snapshots to the workers (see the module documentation).
pub struct SnapshotApplier {
    devices: Devices,
    senders: Vec<Sender<Arc<Snapshot>>>,
    tables: WorkerTables,
    book: SharedBook,
    /// Snapshots sent to every worker so far (also the generation of the last one).
    sent: u64,
    /// The last snapshot sent.
    last: Option<Arc<Snapshot>>,
    /// Removed services whose connections may still run, by service id.
    draining: BTreeMap<u32, Draining>,
    /// Which VRRP addresses are served now (none without VRRP).
    ownership: VrrpOwnership,
    /// Told the local addresses of every snapshot sent.
    local_addresses: Option<LocalAddressObserver>,
}

/// Receives the FULLNAT local addresses of each snapshot sent to the workers.
pub type LocalAddressObserver = Box<dyn FnMut(&BTreeSet<Ipv4Addr>) + Send>;

/// The addresses of a removed service, and the statistics slot that says whether any of
/// its connections still runs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Draining {
    slot: u32,
    vip: Ipv4Addr,
    laddrs: Vec<Ipv4Addr>,
}

impl SnapshotApplier {
    pub fn new(
        devices: Devices,
        senders: Vec<Sender<Arc<Snapshot>>>,
        tables: WorkerTables,
        book: SharedBook,
    ) -> SnapshotApplier {
        SnapshotApplier {
            devices,
            senders,
            tables,
            book,
            sent: 0,
            last: None,
            draining: BTreeMap::new(),
            ownership: VrrpOwnership::default(),
            local_addresses: None,
        }
    }

    /// Tells `observer` the local addresses of every snapshot sent.
    pub fn with_local_addresses(mut self, observer: LocalAddressObserver) -> SnapshotApplier {
        self.local_addresses = Some(observer);
        self
    }

    /// Serves only the VRRP addresses `ownership` says this director owns.
    pub fn with_vrrp(mut self, ownership: VrrpOwnership) -> SnapshotApplier {
        self.ownership = ownership;
        self
    }

    /// The draining services after a change to `ids`: those whose slot was freed leave,
    /// those of the last snapshot that `ids` lacks join.
    fn draining_after(
        &self,
        ids: &Ids,
        is_retired: impl Fn(u32) -> bool,
    ) -> BTreeMap<u32, Draining> {
        let mut next: BTreeMap<u32, Draining> = self
            .draining
            .iter()
            .filter(|(_, d)| is_retired(d.slot))
            .map(|(id, d)| (*id, d.clone()))
            .collect();
        if let Some(last) = &self.last {
            let live: std::collections::BTreeSet<u32> =
                ids.services().map(|(_, id)| id.0).collect();
            for s in last.services.iter().filter(|s| !live.contains(&s.id)) {
                next.insert(
                    s.id,
                    Draining {
                        slot: s.stats_slot,
                        vip: s.vip,
                        laddrs: s.laddrs.clone(),
                    },
                );
            }
        }
        next
    }
}

impl Applier for SnapshotApplier {
    fn apply(&mut self, cfg: &Config, ids: &Ids) -> Result<(), String> {
        let mut book = lock(&self.book);
        book.reclaim(&self.tables);
        let plan = book.slots.plan(ids).map_err(|e| e.to_string())?;
        let generation = self.sent + 1;
        let owned = self.ownership.view();
        let mut snapshot = compile(&owned.served(cfg), ids, &plan, &self.devices, generation)
            .map_err(|e| e.to_string())?;
        let draining = self.draining_after(ids, |slot| book.slots.is_retired(slot));
        let mut vips: Vec<Ipv4Addr> = draining
            .values()
            .map(|d| d.vip)
            .filter(|v| !owned.withheld.contains(v))
            .collect();
        let laddrs: Vec<Ipv4Addr> = draining.values().flat_map(|d| d.laddrs.clone()).collect();
        vips.extend(owned.bare_addresses(cfg));
        snapshot.services.keep_draining(&vips, &laddrs);
        let local: BTreeSet<Ipv4Addr> = snapshot
            .services
            .iter()
            .flat_map(|s| s.laddrs.iter().copied())
            .chain(laddrs.iter().copied())
            .collect();
        for (w, tx) in self.senders.iter().enumerate() {
            if tx.is_full() {
                return Err(format!(
                    "worker {w} has not taken the last {} snapshots (is it stuck?)",
                    tx.len()
                ));
            }
        }
        let snapshot = Arc::new(snapshot);
        for (w, tx) in self.senders.iter().enumerate() {
            match tx.try_send(Arc::clone(&snapshot)) {
                Ok(()) => {}
                // Room was checked and only this thread sends: the worker is gone, which
                // happens only while the daemon stops.
                Err(TrySendError::Disconnected(_)) => {
                    log::warn!("worker {w} has stopped; it does not get generation {generation}")
                }
                Err(TrySendError::Full(_)) => {
                    log::error!("worker {w}: its snapshot channel filled up unexpectedly")
                }
            }
        }
        self.sent = generation;
        self.last = Some(snapshot);
        self.draining = draining;
        book.commit(plan, generation, &self.tables);
        log::debug!(
            "generation {generation}: {} service(s) ({} draining) sent to {} worker(s); {} statistics slot(s) free, {} retired",
            self.last.as_ref().map_or(0, |s| s.services.len()),
            self.draining.len(),
            self.senders.len(),
            book.slots.free_count(),
            book.slots.retired_count()
        );
        // Not under the statistics lock: installing NIC rules may take a while.
        drop(book);
        if let Some(observer) = self.local_addresses.as_mut() {
            observer(&local);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counters::StatsBook;
    use crate::fleet::{FleetOptions, Seeds, build};
    use crate::ownership::VrrpOwnership;
    use crate::slots::SlotLookup;
    use control::director::{Caller, Director};
    use dataplane::port::pcap::PcapBuf;
    use proto::{Request, Response};

    fn config(slots: u32) -> Config {
        let mut c: Config = toml::from_str(
            "[dpdk]\nworkers = [0, 1]\n[[ports]]\nname = \"dp0\"\ndevice = \"net_null0\"\n\
             addresses = [\"10.0.0.2/24\"]\n",
        )
        .unwrap();
        c.daemon.state_file = None;
        c.daemon.stats_slots = slots;
        c
    }

    fn add_service(vip: &str) -> Request {
        serde_json::from_str(&format!(
            r#"{{"op":"add_service","service":{{"key":{{"addr":{{"protocol":"tcp","addr":"{vip}:80"}}}},"scheduler":"rr","sched_flags":[],"persistent":null,"netmask":32,"one_packet":false,"client_addr":"toa"}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn every_worker_gets_each_change_and_a_refusal_sends_nothing() {
        let fleet = build::<PcapBuf>(&FleetOptions {
            workers: 2,
            conn_capacity: 16,
            stats_slots: 2,
            seeds: Seeds::Fixed,
        })
        .unwrap();
        let book = StatsBook::shared(2);
        let applier = SnapshotApplier::new(
            Devices::network(vec![[2, 0, 0, 0, 0, 2]]),
            fleet.snapshots.clone(),
            fleet.tables.clone(),
            Arc::clone(&book),
        );
        let mut director = Director::new(config(2), Box::new(applier));
        director.start().unwrap();
        let receivers: Vec<_> = fleet.members.iter().map(|m| m.id).collect();
        assert_eq!(receivers, [0, 1]);
        let caller = Caller::internal();
        assert_eq!(
            director.handle(add_service("10.0.0.100"), &caller),
            Response::Ok
        );
        assert_eq!(
            director.handle(add_service("10.0.0.101"), &caller),
            Response::Ok
        );
        // Two slots, two services: a third is refused with the reason, nothing sent.
        match director.handle(add_service("10.0.0.102"), &caller) {
            Response::Error { message, .. } => {
                assert!(message.contains("statistics slots"), "{message}");
                assert!(message.contains("nothing was changed"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(director.configured().services.len(), 2);
        // Each worker's channel holds generations 1, 2, 3 and nothing else.
        for tx in &fleet.snapshots {
            assert_eq!(tx.len(), 3);
        }
        let member = fleet.members.into_iter().next().unwrap();
        let gens: Vec<u64> = std::iter::from_fn(|| member.updates().try_recv().ok())
            .map(|s| s.generation)
            .collect();
        assert_eq!(gens, [1, 2, 3]);
    }

    #[test]
    fn a_removed_service_stays_draining_while_its_connections_run() {
        let fleet = build::<PcapBuf>(&FleetOptions {
            workers: 1,
            conn_capacity: 16,
            stats_slots: 16,
            seeds: Seeds::Fixed,
        })
        .unwrap();
        let book = StatsBook::shared(16);
        let applier = SnapshotApplier::new(
            Devices::network(vec![[2, 0, 0, 0, 0, 2]]),
            fleet.snapshots.clone(),
            fleet.tables.clone(),
            Arc::clone(&book),
        );
        let mut director = Director::new(config(16), Box::new(applier));
        director.start().unwrap();
        let caller = Caller::internal();
        assert_eq!(
            director.handle(add_service("10.0.0.100"), &caller),
            Response::Ok
        );
        let id = director.ids().services().next().unwrap().1;
        let slot = crate::counters::lock(&book).slots.service_slot(id).unwrap();
        // One connection runs on the worker.
        fleet.tables.slots[0].get(slot).unwrap().active.set(1);
        let del: Request = serde_json::from_str(
            r#"{"op":"del_service","key":{"addr":{"protocol":"tcp","addr":"10.0.0.100:80"}}}"#,
        )
        .unwrap();
        assert_eq!(director.handle(del, &caller), Response::Ok);
        assert_eq!(
            director.handle(add_service("10.0.0.101"), &caller),
            Response::Ok
        );
        let updates = fleet.members[0].updates();
        let latest = || {
            std::iter::from_fn(|| updates.try_recv().ok())
                .last()
                .unwrap()
        };
        let vip: Ipv4Addr = "10.0.0.100".parse().unwrap();
        let s = latest();
        assert!(s.services.is_vip(vip), "still draining");
        assert!(
            s.services
                .lookup(dataplane::conn::Proto::Tcp, vip, 80)
                .is_none()
        );
        // The worker took every snapshot and the connection ended: the next change drops it.
        fleet.tables.counters[0].snapshot_swaps.add(100);
        fleet.tables.slots[0].get(slot).unwrap().active.set(0);
        assert_eq!(
            director.handle(add_service("10.0.0.102"), &caller),
            Response::Ok
        );
        let s = latest();
        assert!(!s.services.is_vip(vip));
        assert!(s.services.is_vip("10.0.0.101".parse().unwrap()));
    }

    #[test]
    fn the_observer_hears_the_local_addresses_of_every_snapshot_draining_ones_included() {
        let fleet = build::<PcapBuf>(&FleetOptions {
            workers: 2,
            conn_capacity: 16,
            stats_slots: 16,
            seeds: Seeds::Fixed,
        })
        .unwrap();
        let mut cfg = config(16);
        let fullnat: Config = toml::from_str(
            r#"
            [local_address_groups.lg]
            addresses = [{ address = "10.0.0.50", port = "dp0" }]
            [[services]]
            protocol = "tcp"
            address = "10.0.0.100"
            port = 80
            forward = "full_nat"
            local_address_group = "lg"
            [[services.real_servers]]
            address = "10.0.0.11"
            "#,
        )
        .unwrap();
        cfg.services = fullnat.services;
        cfg.local_address_groups = fullnat.local_address_groups;
        let book = StatsBook::shared(16);
        let heard = Arc::new(std::sync::Mutex::new(Vec::<Vec<Ipv4Addr>>::new()));
        let sink = Arc::clone(&heard);
        let applier = SnapshotApplier::new(
            Devices::network(vec![[2, 0, 0, 0, 0, 2]]),
            fleet.snapshots.clone(),
            fleet.tables.clone(),
            Arc::clone(&book),
        )
        .with_local_addresses(Box::new(move |l| {
            sink.lock().unwrap().push(l.iter().copied().collect())
        }));
        let mut director = Director::new(cfg, Box::new(applier));
        director.start().unwrap();
        let caller = Caller::internal();
        let key = r#"{"addr":{"protocol":"tcp","addr":"10.0.0.100:80"}}"#;
        let req = |text: String| -> Request { serde_json::from_str(&text).unwrap() };
        assert_eq!(
            director.handle(
                req(format!(
                    r#"{{"op":"add_local_addr","key":{key},"addr":"10.0.0.51"}}"#
                )),
                &caller
            ),
            Response::Ok
        );
        // A connection runs when the service goes: its addresses stay until it ends.
        let id = director.ids().services().next().unwrap().1;
        let slot = crate::counters::lock(&book).slots.service_slot(id).unwrap();
        fleet.tables.slots[0].get(slot).unwrap().active.set(1);
        assert_eq!(
            director.handle(
                req(format!(r#"{{"op":"del_service","key":{key}}}"#)),
                &caller
            ),
            Response::Ok
        );
        fleet
            .tables
            .counters
            .iter()
            .for_each(|c| c.snapshot_swaps.add(100));
        fleet.tables.slots[0].get(slot).unwrap().active.set(0);
        assert_eq!(
            director.handle(add_service("10.0.0.101"), &caller),
            Response::Ok
        );
        let ip = |s: &str| -> Ipv4Addr { s.parse().unwrap() };
        assert_eq!(
            *heard.lock().unwrap(),
            [
                vec![ip("10.0.0.50")],
                vec![ip("10.0.0.50"), ip("10.0.0.51")],
                vec![ip("10.0.0.50"), ip("10.0.0.51")],
                vec![],
            ]
        );
    }

    #[test]
    fn a_worker_that_stopped_taking_snapshots_makes_changes_fail_cleanly() {
        let fleet = build::<PcapBuf>(&FleetOptions {
            workers: 2,
            conn_capacity: 16,
            stats_slots: 64,
            seeds: Seeds::Fixed,
        })
        .unwrap();
        let applier = SnapshotApplier::new(
            Devices::network(vec![[2, 0, 0, 0, 0, 2]]),
            fleet.snapshots.clone(),
            fleet.tables.clone(),
            StatsBook::shared(64),
        );
        let mut director = Director::new(config(64), Box::new(applier));
        director.start().unwrap();
        let caller = Caller::internal();
        let mut ok = 1;
        let refusal = loop {
            let vip = format!("10.0.1.{ok}");
            match director.handle(add_service(&vip), &caller) {
                Response::Ok => ok += 1,
                Response::Error { message, .. } => break message,
                other => panic!("{other:?}"),
            }
            assert!(ok < 100);
        };
        assert_eq!(ok, crate::fleet::SNAPSHOT_QUEUE);
        assert!(refusal.contains("has not taken the last"), "{refusal}");
        assert_eq!(director.configured().services.len(), ok - 1);
    }

    #[test]
    fn vrrp_addresses_are_served_only_while_their_instance_is_master() {
        let fleet = build::<PcapBuf>(&FleetOptions {
            workers: 1,
            conn_capacity: 16,
            stats_slots: 16,
            seeds: Seeds::Fixed,
        })
        .unwrap();
        let mut cfg = config(16);
        let vrrp: Config = toml::from_str(
            r#"
            [[services]]
            protocol = "tcp"
            address = "10.0.0.100"
            port = 80
            [[services.real_servers]]
            address = "10.0.0.11"
            [[services]]
            protocol = "udp"
            address = "10.0.0.150"
            port = 53
            [[vrrp_instances]]
            name = "VI_1"
            interface = "dp0"
            virtual_router_id = 51
            virtual_ipaddress = [{ address = "10.0.0.100/32" }, { address = "10.0.0.254/24" }]
            "#,
        )
        .unwrap();
        cfg.services = vrrp.services;
        cfg.vrrp_instances = vrrp.vrrp_instances;
        let ownership = VrrpOwnership::from_config(&cfg);
        let applier = SnapshotApplier::new(
            Devices::network(vec![[2, 0, 0, 0, 0, 2]]),
            fleet.snapshots.clone(),
            fleet.tables.clone(),
            StatsBook::shared(16),
        )
        .with_vrrp(ownership.clone());
        let mut director = Director::new(cfg, Box::new(applier));
        director.start().unwrap();
        let updates = fleet.members[0].updates();
        let latest = || {
            std::iter::from_fn(|| updates.try_recv().ok())
                .last()
                .unwrap()
        };
        let ip = |s: &str| -> Ipv4Addr { s.parse().unwrap() };
        let tcp = dataplane::conn::Proto::Tcp;
        // BACKUP (the start): the VRRP service and address are out, the other is in.
        let s = latest();
        assert!(s.services.lookup(tcp, ip("10.0.0.100"), 80).is_none());
        assert!(!s.services.is_vip(ip("10.0.0.100")));
        assert!(!s.services.is_vip(ip("10.0.0.254")));
        assert!(s.services.is_vip(ip("10.0.0.150")));
        // MASTER: one re-apply brings both in; the bare address answers ARP only.
        assert!(ownership.set_master("VI_1", true));
        director.reapply().unwrap();
        let s = latest();
        assert!(s.services.lookup(tcp, ip("10.0.0.100"), 80).is_some());
        assert!(s.services.is_vip(ip("10.0.0.254")));
        assert!(s.services.lookup(tcp, ip("10.0.0.254"), 80).is_none());
        // The listing shows the service either way, as ipvsadm does on a BACKUP.
        assert_eq!(director.effective().services.len(), 2);
        assert!(ownership.set_master("VI_1", false));
        director.reapply().unwrap();
        let s = latest();
        assert!(!s.services.is_vip(ip("10.0.0.100")));
        assert_eq!(s.services.len(), 1);
    }
}
