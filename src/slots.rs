//! Statistics slots: where each virtual service and real server counts in the workers'
//! [`SlotTable`](dataplane::stats::SlotTable)s.
//!
//! Every worker has a preallocated array of counter slots and counts a connection's packets
//! into the slots its snapshot names (the service's and the real server's). The workers are
//! the only writers, so the control plane can neither clear a slot nor know by itself when
//! a worker stopped using one. This allocator keeps three rules:
//!
//! - **Stable**: an id keeps its slot for as long as it is in the configuration.
//! - **No reuse while counted**: when an id leaves, its slot is *retired*, not freed. It is
//!   freed once every worker has taken the snapshot that retired it *and* the slot's gauges
//!   (active + inactive + persistent connections, summed over the workers) read 0: then no
//!   connection refers to it and nothing will count into it again. One exception: a real
//!   server removed and added back under the same service is the same server to a worker
//!   (it revives its scheduler slot and counts into the *new* id's slot from then on), so
//!   the old slot is *superseded* and freed as soon as every worker took that snapshot, even
//!   though its gauges keep their last values.
//! - **Zero by baseline**: `-Z`, and a slot handed to a new id, record the slot's current
//!   cumulative sums as a baseline that reads subtract (the workers' counters are never
//!   written by anyone else).
//!
//! "Every worker has taken snapshot n" is read from the workers' `snapshot_swaps` counters:
//! the daemon sends every snapshot to every worker, so a worker that counted n swaps has
//! seen the first n. The allocator is pure bookkeeping over a [`SlotReader`], so it is
//! unit-tested without workers.
use std::collections::BTreeMap;
use std::net::SocketAddr;

use control::director::{DestId, Ids, ServiceId};
use dataplane::stats::SlotValues;

/// What the allocator needs to see of the workers.
pub trait SlotReader {
    /// Slot `slot` summed over every worker (all zero for a slot out of range).
    fn sum(&self, slot: u32) -> SlotValues;
    /// How many snapshots every worker has taken (the minimum over the workers).
    fn acknowledged(&self) -> u64;
}

/// The slots of one configuration's ids, as [`crate::snapshot::compile`] reads them.
pub trait SlotLookup {
    fn service_slot(&self, id: ServiceId) -> Option<u32>;
    fn dest_slot(&self, id: DestId) -> Option<u32>;
}

/// Every slot is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "all {capacity} statistics slots are in use ({needed} more needed); raise \
     daemon.stats_slots or wait for the connections of removed services to end"
)]
pub struct SlotsExhausted {
    pub capacity: u32,
    pub needed: usize,
}

/// A real server's identity within its service, as the workers see it.
type DestKey = (ServiceId, SocketAddr);

/// A slot whose id left the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Retired {
    slot: u32,
    /// The snapshot (count) every worker must have taken before the slot may be freed.
    seq: u64,
    /// For a real server: its identity, to notice it coming back.
    dest: Option<DestKey>,
    /// The same server came back under a new id: the workers count into the new slot.
    superseded: bool,
}

/// The slots of a configuration about to be applied; [`SlotAllocator::commit`] makes it
/// current. Planning changes nothing, so a change that fails later leaves no trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotPlan {
    services: BTreeMap<ServiceId, u32>,
    dests: BTreeMap<DestId, (u32, DestKey)>,
    /// Slots taken from the free list, in order.
    taken: Vec<u32>,
}

impl SlotLookup for SlotPlan {
    fn service_slot(&self, id: ServiceId) -> Option<u32> {
        self.services.get(&id).copied()
    }
    fn dest_slot(&self, id: DestId) -> Option<u32> {
        self.dests.get(&id).map(|(slot, _)| *slot)
    }
}

/// The cumulative part of a slot's counters.
fn cumulative(v: &SlotValues) -> SlotValues {
    SlotValues {
        active: 0,
        inactive: 0,
        persist: 0,
        ..*v
    }
}

/// The allocator (see the module documentation).
#[derive(Debug, Clone)]
pub struct SlotAllocator {
    capacity: u32,
    /// Free slots, the next one last (slot 0 is handed out first).
    free: Vec<u32>,
    services: BTreeMap<ServiceId, u32>,
    dests: BTreeMap<DestId, (u32, DestKey)>,
    retired: Vec<Retired>,
    /// Per allocated or retired slot: the cumulative counters that read as zero.
    baselines: BTreeMap<u32, SlotValues>,
}

impl SlotAllocator {
    /// `capacity` slots per worker (the size of each worker's `SlotTable`).
    pub fn new(capacity: u32) -> SlotAllocator {
        SlotAllocator {
            capacity,
            free: (0..capacity).rev().collect(),
            services: BTreeMap::new(),
            dests: BTreeMap::new(),
            retired: Vec::new(),
            baselines: BTreeMap::new(),
        }
    }

    /// Slots neither assigned nor retired.
    pub fn free_count(&self) -> usize {
        self.free.len()
    }

    /// Slots waiting for their connections to end (or for the workers to catch up).
    pub fn retired_count(&self) -> usize {
        self.retired.len()
    }

    /// The slots `ids` would have: kept for known ids, taken from the free list for new
    /// ones. Fails, changing nothing, when the free list is too short.
    pub fn plan(&self, ids: &Ids) -> Result<SlotPlan, SlotsExhausted> {
        let mut free = self.free.iter().rev();
        let mut taken = Vec::new();
        let mut needed = 0usize;
        let mut take = |taken: &mut Vec<u32>| match free.next() {
            Some(&s) => {
                taken.push(s);
                Some(s)
            }
            None => {
                needed += 1;
                None
            }
        };
        let mut services = BTreeMap::new();
        for (_, id) in ids.services() {
            let slot = match self.services.get(&id) {
                Some(&s) => Some(s),
                None => take(&mut taken),
            };
            if let Some(s) = slot {
                services.insert(id, s);
            }
        }
        let mut dests = BTreeMap::new();
        for ((key, addr), id) in ids.dests() {
            let Some(service) = ids.service(key) else {
                continue;
            };
            let slot = match self.dests.get(&id) {
                Some(&(s, _)) => Some(s),
                None => take(&mut taken),
            };
            if let Some(s) = slot {
                dests.insert(id, (s, (service, *addr)));
            }
        }
        if needed > 0 {
            return Err(SlotsExhausted {
                capacity: self.capacity,
                needed,
            });
        }
        Ok(SlotPlan {
            services,
            dests,
            taken,
        })
    }

    /// Makes `plan` current once snapshot number `seq` (carrying it) was sent to every
    /// worker: new slots get their baseline, slots of ids that left are retired. Returns the
    /// newly assigned slots.
    pub fn commit(&mut self, plan: SlotPlan, seq: u64, reader: &dyn SlotReader) -> Vec<u32> {
        let keys_now: BTreeMap<DestKey, DestId> =
            plan.dests.iter().map(|(id, (_, k))| (*k, *id)).collect();
        for (id, slot) in &self.services {
            if !plan.services.contains_key(id) {
                self.retired.push(Retired {
                    slot: *slot,
                    seq,
                    dest: None,
                    superseded: false,
                });
            }
        }
        for (id, (slot, key)) in &self.dests {
            if !plan.dests.contains_key(id) {
                self.retired.push(Retired {
                    slot: *slot,
                    seq,
                    dest: Some(*key),
                    superseded: false,
                });
            }
        }
        // A retired real server whose identity is back (now or in this very change).
        for r in &mut self.retired {
            if !r.superseded && r.dest.is_some_and(|k| keys_now.contains_key(&k)) {
                r.superseded = true;
                r.seq = seq;
            }
        }
        self.take_free(&plan.taken);
        for slot in &plan.taken {
            self.baselines.insert(*slot, cumulative(&reader.sum(*slot)));
        }
        self.services = plan.services;
        self.dests = plan.dests;
        plan.taken
    }

    /// Removes `taken` from the free list: normally its tail, as [`SlotAllocator::plan`]
    /// took them.
    fn take_free(&mut self, taken: &[u32]) {
        let start = self.free.len().saturating_sub(taken.len());
        let is_tail = self
            .free
            .get(start..)
            .is_some_and(|tail| tail.iter().rev().eq(taken.iter()));
        if is_tail {
            self.free.truncate(start);
        } else {
            let taken: std::collections::HashSet<u32> = taken.iter().copied().collect();
            self.free.retain(|s| !taken.contains(s));
        }
    }

    /// Whether `slot` was retired and is not free yet (its connections may still run).
    pub fn is_retired(&self, slot: u32) -> bool {
        self.retired.iter().any(|r| r.slot == slot)
    }

    /// Frees the retired slots nothing counts into any more; returns them.
    pub fn reclaim(&mut self, reader: &dyn SlotReader) -> Vec<u32> {
        let acked = reader.acknowledged();
        let mut freed = Vec::new();
        self.retired.retain(|r| {
            let done = acked >= r.seq && {
                let v = reader.sum(r.slot);
                r.superseded || v.active + v.inactive + v.persist == 0
            };
            if done {
                freed.push(r.slot);
            }
            !done
        });
        for slot in &freed {
            self.baselines.remove(slot);
            self.free.push(*slot);
        }
        freed
    }

    /// `-Z` of one slot: what it has counted so far reads as zero from now on.
    pub fn zero(&mut self, slot: u32, reader: &dyn SlotReader) {
        if self.baselines.contains_key(&slot) {
            self.baselines.insert(slot, cumulative(&reader.sum(slot)));
        }
    }

    /// The slot's counters since its assignment or last zeroing (gauges as they are).
    pub fn read(&self, slot: u32, reader: &dyn SlotReader) -> SlotValues {
        let v = reader.sum(slot);
        let b = self.baselines.get(&slot).copied().unwrap_or_default();
        SlotValues {
            conns: v.conns.saturating_sub(b.conns),
            inpkts: v.inpkts.saturating_sub(b.inpkts),
            outpkts: v.outpkts.saturating_sub(b.outpkts),
            inbytes: v.inbytes.saturating_sub(b.inbytes),
            outbytes: v.outbytes.saturating_sub(b.outbytes),
            ..v
        }
    }

    /// Every assigned slot (services and real servers).
    pub fn assigned(&self) -> impl Iterator<Item = u32> + '_ {
        self.services
            .values()
            .copied()
            .chain(self.dests.values().map(|(s, _)| *s))
    }
}

impl SlotLookup for SlotAllocator {
    fn service_slot(&self, id: ServiceId) -> Option<u32> {
        self.services.get(&id).copied()
    }
    fn dest_slot(&self, id: DestId) -> Option<u32> {
        self.dests.get(&id).map(|(slot, _)| *slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    use control::config::{Config, RealServer, VirtualService};

    /// Workers as a table of sums plus an acknowledgement count.
    #[derive(Default)]
    struct FakeWorkers {
        sums: RefCell<BTreeMap<u32, SlotValues>>,
        acked: RefCell<u64>,
    }

    impl FakeWorkers {
        fn count(&self, slot: u32, f: impl FnOnce(&mut SlotValues)) {
            f(self.sums.borrow_mut().entry(slot).or_default());
        }
    }

    impl SlotReader for FakeWorkers {
        fn sum(&self, slot: u32) -> SlotValues {
            self.sums.borrow().get(&slot).copied().unwrap_or_default()
        }
        fn acknowledged(&self) -> u64 {
            *self.acked.borrow()
        }
    }

    fn cfg(services: &[(&str, &[&str])]) -> Config {
        let mut c = Config::default();
        for (vip, rss) in services {
            let mut s: VirtualService = toml::from_str(&format!(
                "protocol = \"tcp\"\naddress = \"{vip}\"\nport = 80\n"
            ))
            .unwrap();
            for rs in *rss {
                let r: RealServer = toml::from_str(&format!("address = \"{rs}\"\n")).unwrap();
                s.real_servers.push(r);
            }
            c.services.push(s);
        }
        c
    }

    fn step(alloc: &mut SlotAllocator, ids: &Ids, c: &Config, seq: u64, w: &FakeWorkers) -> Ids {
        let next = ids.transition(c).unwrap();
        let plan = alloc.plan(&next).unwrap();
        alloc.commit(plan, seq, w);
        next.settled()
    }

    fn key(vip: &str) -> proto::ServiceKey {
        proto::ServiceKey::Addr {
            protocol: proto::Protocol::Tcp,
            addr: format!("{vip}:80").parse().unwrap(),
        }
    }

    #[test]
    fn ids_get_stable_distinct_slots_and_the_plan_is_side_effect_free() {
        let w = FakeWorkers::default();
        let mut alloc = SlotAllocator::new(8);
        let c = cfg(&[("10.0.0.1", &["10.1.0.1", "10.1.0.2"]), ("10.0.0.2", &[])]);
        let ids = step(&mut alloc, &Ids::new(), &c, 1, &w);
        let s1 = alloc
            .service_slot(ids.service(&key("10.0.0.1")).unwrap())
            .unwrap();
        let s2 = alloc
            .service_slot(ids.service(&key("10.0.0.2")).unwrap())
            .unwrap();
        let d1 = alloc
            .dest_slot(
                ids.dest(&key("10.0.0.1"), "10.1.0.1:80".parse().unwrap())
                    .unwrap(),
            )
            .unwrap();
        let mut all = vec![s1, s2, d1];
        all.extend(alloc.assigned());
        all.sort_unstable();
        all.dedup();
        assert_eq!(all, [0, 1, 2, 3]);
        assert_eq!(alloc.free_count(), 4);
        // The same configuration again: the same slots, nothing taken.
        let before = alloc.clone();
        let plan = alloc.plan(&ids.transition(&c).unwrap()).unwrap();
        assert!(plan.taken.is_empty());
        assert_eq!(
            plan.service_slot(ids.service(&key("10.0.0.1")).unwrap()),
            Some(s1)
        );
        // Planning alone changed nothing.
        assert_eq!(alloc.free, before.free);
        // Too many new ids: refused, and nothing changes.
        let big = cfg(&[(
            "10.0.0.1",
            &[
                "10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6", "10.1.0.7",
            ],
        )]);
        let err = alloc.plan(&ids.transition(&big).unwrap()).unwrap_err();
        assert_eq!(
            err,
            SlotsExhausted {
                capacity: 8,
                needed: 1
            }
        );
        assert_eq!(alloc.free, before.free);
    }

    #[test]
    fn a_retired_slot_is_freed_only_when_acknowledged_and_idle_then_reused_from_zero() {
        let w = FakeWorkers::default();
        let mut alloc = SlotAllocator::new(4);
        let c1 = cfg(&[("10.0.0.1", &["10.1.0.1"])]);
        let ids = step(&mut alloc, &Ids::new(), &c1, 1, &w);
        let dest = ids
            .dest(&key("10.0.0.1"), "10.1.0.1:80".parse().unwrap())
            .unwrap();
        let dslot = alloc.dest_slot(dest).unwrap();
        // The server carries one connection and has counted traffic.
        w.count(dslot, |v| {
            v.conns = 5;
            v.inpkts = 50;
            v.active = 1;
        });
        // Removed (snapshot 2).
        let c2 = cfg(&[("10.0.0.1", &[])]);
        let ids = step(&mut alloc, &ids, &c2, 2, &w);
        assert_eq!(alloc.retired_count(), 1);
        assert!(alloc.is_retired(dslot));
        *w.acked.borrow_mut() = 1;
        assert!(
            alloc.reclaim(&w).is_empty(),
            "workers have not taken snapshot 2"
        );
        *w.acked.borrow_mut() = 2;
        assert!(
            alloc.reclaim(&w).is_empty(),
            "a connection still counts into it"
        );
        w.count(dslot, |v| v.active = 0);
        assert_eq!(alloc.reclaim(&w), [dslot]);
        assert_eq!(alloc.retired_count(), 0);
        assert!(!alloc.is_retired(dslot));
        // A new server takes a slot; the freed one comes back last, then reads from zero.
        let c3 = cfg(&[("10.0.0.1", &["10.1.0.2", "10.1.0.3", "10.1.0.4"])]);
        let ids = step(&mut alloc, &ids, &c3, 3, &w);
        let reused = ids
            .dests()
            .map(|(_, id)| alloc.dest_slot(id).unwrap())
            .find(|s| *s == dslot)
            .expect("the freed slot is in use again");
        assert_eq!(alloc.read(reused, &w), SlotValues::default());
        w.count(reused, |v| v.inpkts += 3);
        assert_eq!(alloc.read(reused, &w).inpkts, 3);
    }

    #[test]
    fn a_server_removed_and_added_back_supersedes_its_old_slot() {
        let w = FakeWorkers::default();
        let mut alloc = SlotAllocator::new(8);
        let c1 = cfg(&[("10.0.0.1", &["10.1.0.1"])]);
        let ids = step(&mut alloc, &Ids::new(), &c1, 1, &w);
        let old = alloc
            .dest_slot(
                ids.dest(&key("10.0.0.1"), "10.1.0.1:80".parse().unwrap())
                    .unwrap(),
            )
            .unwrap();
        // Gauges the workers will never publish again once the server is back.
        w.count(old, |v| v.active = 3);
        let ids = step(&mut alloc, &ids, &cfg(&[("10.0.0.1", &[])]), 2, &w);
        *w.acked.borrow_mut() = 2;
        assert!(alloc.reclaim(&w).is_empty());
        let ids = step(&mut alloc, &ids, &c1, 3, &w);
        let new = alloc
            .dest_slot(
                ids.dest(&key("10.0.0.1"), "10.1.0.1:80".parse().unwrap())
                    .unwrap(),
            )
            .unwrap();
        assert_ne!(new, old);
        assert!(alloc.reclaim(&w).is_empty(), "snapshot 3 not taken yet");
        *w.acked.borrow_mut() = 3;
        assert_eq!(alloc.reclaim(&w), [old]);
        // A service removed and added back is a new service to the workers: no shortcut.
        let svc = alloc
            .service_slot(ids.service(&key("10.0.0.1")).unwrap())
            .unwrap();
        w.count(svc, |v| v.active = 1);
        let ids = step(&mut alloc, &ids, &cfg(&[]), 4, &w);
        let _ids = step(&mut alloc, &ids, &c1, 5, &w);
        *w.acked.borrow_mut() = 5;
        let freed = alloc.reclaim(&w);
        assert!(!freed.contains(&svc), "{freed:?}");
        w.count(svc, |v| v.active = 0);
        assert!(alloc.reclaim(&w).contains(&svc));
    }

    #[test]
    fn zero_subtracts_a_baseline_and_gauges_stay() {
        let w = FakeWorkers::default();
        let mut alloc = SlotAllocator::new(4);
        let c = cfg(&[("10.0.0.1", &[])]);
        let ids = step(&mut alloc, &Ids::new(), &c, 1, &w);
        let s = alloc
            .service_slot(ids.service(&key("10.0.0.1")).unwrap())
            .unwrap();
        w.count(s, |v| {
            v.conns = 7;
            v.inbytes = 700;
            v.active = 2;
        });
        assert_eq!(alloc.read(s, &w).conns, 7);
        alloc.zero(s, &w);
        let v = alloc.read(s, &w);
        assert_eq!((v.conns, v.inbytes, v.active), (0, 0, 2));
        w.count(s, |v| v.conns += 1);
        assert_eq!(alloc.read(s, &w).conns, 1);
        // Zeroing a slot nobody owns does nothing.
        alloc.zero(3, &w);
        assert_eq!(alloc.read(3, &w), SlotValues::default());
    }
}
