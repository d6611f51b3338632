//! lblc — locality-based least connection (IPVS `ip_vs_lblc.c`).
//!
//! Remembers one server per destination address. The remembered server is used while it
//! is available and not "locality-overloaded" (more active connections than its weight
//! while another server is below half of its own); otherwise a new server is chosen as wlc
//! does and remembered. The memory is a bounded [`LocalityTable`].
//!
//! Where rvs differs: IPVS keeps using a remembered server that is over its upper
//! threshold (`-x`; lblc checks only weight and its own overload rule). rvs honours the
//! threshold as every other scheduler does, so a server flagged overloaded never takes a
//! new connection. A server dropped by a snapshot is forgotten at once (IPVS forgets it
//! when its entry is next used or expires).

use super::dests::{DestId, DestSet};
use super::flow::Flow;
use super::least::{least_weighted, locality_overloaded};
use super::locality::LocalityTable;

#[derive(Debug, Clone)]
pub struct Lblc {
    table: LocalityTable<DestId>,
}

impl Lblc {
    pub fn new(capacity: usize, expiration: u32) -> Self {
        Lblc {
            table: LocalityTable::new(capacity, expiration),
        }
    }

    /// Forgets addresses whose server is no longer listed.
    pub fn rebuild(&mut self, dests: &DestSet) {
        self.table
            .retain(|id| dests.get(*id).is_some_and(|d| d.in_service()));
    }

    pub fn maintain(&mut self, now: u32) {
        self.table.maintain(now);
    }

    pub fn pick(&mut self, dests: &DestSet, flow: &Flow) -> Option<DestId> {
        if let Some(&mut id) = self.table.get_mut(&flow.dst)
            && let Some(d) = dests.get(id)
            && d.available()
            && !locality_overloaded(dests, d)
        {
            return Some(id);
        }
        let id = least_weighted(dests, dests.order().iter().copied(), |d| d.overhead())?;
        self.table.insert(flow.dst, id);
        Some(id)
    }

    pub fn table(&self) -> &LocalityTable<DestId> {
        &self.table
    }
}
