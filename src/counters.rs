//! Per-service and per-real-server counters for the control plane: the slot allocator's
//! sums with their baselines, and IPVS's rate estimates over them.
//!
//! [`StatsBook`] is shared (behind a mutex, control plane only — workers never see it) by
//! three users: the applier assigns and retires slots when a change is applied, the
//! director's [`StatsSource`] reads and zeroes counters for listings, and the estimator
//! thread samples every slot every two seconds and frees retired slots whose connections
//! have ended.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use control::director::{DestCounters, DestId, ServiceCounters, ServiceId, StatsSource};
use control::stats::{ESTIMATION_INTERVAL, Estimator};
use dataplane::stats::SlotValues;
use proto::{Rates, Stats};

use crate::fleet::WorkerTables;
use crate::slots::{SlotAllocator, SlotLookup, SlotPlan, SlotReader};

/// The slots and the rate estimate of each assigned slot.
pub struct StatsBook {
    pub slots: SlotAllocator,
    estimators: HashMap<u32, Estimator>,
}

/// A book shared between the applier, the stats source and the estimator thread.
pub type SharedBook = Arc<Mutex<StatsBook>>;

/// Locks the book; a panic elsewhere while holding it leaves consistent data (every
/// method completes its bookkeeping before returning), so poisoning is ignored.
pub fn lock(book: &SharedBook) -> MutexGuard<'_, StatsBook> {
    book.lock().unwrap_or_else(PoisonError::into_inner)
}

fn stats_of(v: &SlotValues) -> Stats {
    Stats {
        conns: v.conns,
        inpkts: v.inpkts,
        outpkts: v.outpkts,
        inbytes: v.inbytes,
        outbytes: v.outbytes,
    }
}

impl StatsBook {
    pub fn new(capacity: u32) -> StatsBook {
        StatsBook {
            slots: SlotAllocator::new(capacity),
            estimators: HashMap::new(),
        }
    }

    pub fn shared(capacity: u32) -> SharedBook {
        Arc::new(Mutex::new(StatsBook::new(capacity)))
    }

    /// Makes `plan` current (see [`SlotAllocator::commit`]); new slots start estimating.
    pub fn commit(&mut self, plan: SlotPlan, seq: u64, reader: &dyn SlotReader) {
        for slot in self.slots.commit(plan, seq, reader) {
            let now = stats_of(&self.slots.read(slot, reader));
            self.estimators.insert(slot, Estimator::new(now));
        }
    }

    /// Frees retired slots nothing counts into any more.
    pub fn reclaim(&mut self, reader: &dyn SlotReader) {
        for slot in self.slots.reclaim(reader) {
            self.estimators.remove(&slot);
        }
    }

    /// One estimation step of every assigned slot.
    pub fn sample(&mut self, reader: &dyn SlotReader) {
        let slots: Vec<u32> = self.slots.assigned().collect();
        for slot in slots {
            let now = stats_of(&self.slots.read(slot, reader));
            self.estimators
                .entry(slot)
                .or_insert_with(|| Estimator::new(now))
                .sample(now);
        }
    }

    /// `-Z` of one slot: counters and rates restart from zero.
    pub fn zero(&mut self, slot: u32, reader: &dyn SlotReader) {
        self.slots.zero(slot, reader);
        if let Some(e) = self.estimators.get_mut(&slot) {
            e.zero(stats_of(&self.slots.read(slot, reader)));
        }
    }

    /// A slot's counters (since assignment or `-Z`) and rates.
    pub fn counters(&self, slot: u32, reader: &dyn SlotReader) -> (SlotValues, Rates) {
        let v = self.slots.read(slot, reader);
        let rates = self
            .estimators
            .get(&slot)
            .map(Estimator::rates)
            .unwrap_or_default();
        (v, rates)
    }
}

/// The director's [`StatsSource`] over the workers' slot tables.
pub struct DaemonStats {
    book: SharedBook,
    tables: WorkerTables,
}

impl DaemonStats {
    pub fn new(book: SharedBook, tables: WorkerTables) -> DaemonStats {
        DaemonStats { book, tables }
    }
}

fn gauge(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl StatsSource for DaemonStats {
    fn service(&self, id: ServiceId) -> ServiceCounters {
        let book = lock(&self.book);
        match book.slots.service_slot(id) {
            Some(slot) => {
                let (v, rates) = book.counters(slot, &self.tables);
                ServiceCounters {
                    stats: stats_of(&v),
                    rates,
                }
            }
            None => ServiceCounters::default(),
        }
    }

    fn dest(&self, id: DestId) -> DestCounters {
        let book = lock(&self.book);
        match book.slots.dest_slot(id) {
            Some(slot) => {
                let (v, rates) = book.counters(slot, &self.tables);
                DestCounters {
                    active_conns: gauge(v.active),
                    inactive_conns: gauge(v.inactive),
                    persist_conns: gauge(v.persist),
                    stats: stats_of(&v),
                    rates,
                }
            }
            None => DestCounters::default(),
        }
    }

    fn zero(&mut self, services: &[ServiceId], dests: &[DestId]) {
        let mut book = lock(&self.book);
        let slots: Vec<u32> = services
            .iter()
            .filter_map(|id| book.slots.service_slot(*id))
            .chain(dests.iter().filter_map(|id| book.slots.dest_slot(*id)))
            .collect();
        for slot in slots {
            book.zero(slot, &self.tables);
        }
    }
}

/// The estimator thread: every [`ESTIMATION_INTERVAL`], one rate sample of every slot and
/// a reclaim of retired slots. Stops within 100 ms of `stop` being set.
pub fn spawn_estimator(
    book: SharedBook,
    tables: WorkerTables,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("rvs-stats".into())
        .spawn(move || {
            let mut next = Instant::now() + ESTIMATION_INTERVAL;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                if Instant::now() < next {
                    continue;
                }
                next += ESTIMATION_INTERVAL;
                let mut b = lock(&book);
                b.reclaim(&tables);
                b.sample(&tables);
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{FleetOptions, Seeds, build};
    use control::config::Config;
    use control::director::Ids;
    use dataplane::port::pcap::PcapBuf;

    #[test]
    fn listings_read_slot_sums_minus_baselines_and_rates_follow_samples() {
        let fleet = build::<PcapBuf>(&FleetOptions {
            workers: 2,
            conn_capacity: 16,
            stats_slots: 8,
            seeds: Seeds::Fixed,
        })
        .unwrap();
        let tables = fleet.tables.clone();
        let cfg: Config = toml::from_str(
            "[[services]]\nprotocol = \"tcp\"\naddress = \"10.0.0.1\"\nport = 80\n\
             [[services.real_servers]]\naddress = \"10.1.0.1\"\n",
        )
        .unwrap();
        let ids = Ids::new().transition(&cfg).unwrap().settled();
        let book = StatsBook::shared(8);
        {
            let mut b = lock(&book);
            let plan = b.slots.plan(&ids).unwrap();
            b.commit(plan, 1, &tables);
        }
        let (key, sid) = ids.services().next().map(|(k, id)| (*k, id)).unwrap();
        let did = ids.dests_of(&key)[0];
        let (sslot, dslot) = {
            let b = lock(&book);
            (
                b.slots.service_slot(sid).unwrap(),
                b.slots.dest_slot(did).unwrap(),
            )
        };
        let mut source = DaemonStats::new(Arc::clone(&book), tables.clone());
        // Two workers count into the same slots.
        for (w, n) in [(0, 30u64), (1, 10)] {
            let s = tables.slots[w].get(sslot).unwrap();
            s.conns.add(n);
            s.inpkts.add(n * 10);
            let d = tables.slots[w].get(dslot).unwrap();
            d.conns.add(n);
            d.active.set(n);
        }
        assert_eq!(source.service(sid).stats.conns, 40);
        assert_eq!(source.service(sid).stats.inpkts, 400);
        let d = source.dest(did);
        assert_eq!((d.stats.conns, d.active_conns), (40, 40));
        // 40 connections in one 2 s sample: 20 cps, a quarter of it after one step, then
        // 20 + (20 - 5) / 4 after another 40.
        assert_eq!(source.service(sid).rates.cps, 0);
        lock(&book).sample(&tables);
        assert_eq!(source.service(sid).rates.cps, 5);
        tables.slots[0].get(sslot).unwrap().conns.add(40);
        lock(&book).sample(&tables);
        assert_eq!(source.service(sid).rates.cps, 9);
        // -Z: counters and rates restart, gauges stay.
        source.zero(&[sid], &[did]);
        assert_eq!(source.service(sid).stats, Stats::default());
        assert_eq!(source.service(sid).rates, Rates::default());
        assert_eq!(source.dest(did).active_conns, 40);
        tables.slots[1].get(sslot).unwrap().conns.add(2);
        assert_eq!(source.service(sid).stats.conns, 2);
        // Unknown ids read zero.
        assert_eq!(source.service(ServiceId(999)), ServiceCounters::default());
    }
}
