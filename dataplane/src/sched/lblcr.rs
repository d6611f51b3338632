//! lblcr — locality-based least connection with replication (IPVS `ip_vs_lblcr.c`).
//!
//! Remembers a set of servers per destination address and sends to the set's least loaded
//! available member (overhead / weight). When that member is missing or
//! locality-overloaded (see lblc), the wlc choice over all servers joins the set. A set of
//! several members not modified for the expiration time (24 h) loses its most loaded
//! member, one per use. Newest members come first, as IPVS adds at the list head, which
//! decides ties.
//!
//! Where rvs differs: a set holds at most [`LBLCR_SET_CAPACITY`] members, preallocated;
//! adding to a full set first drops its most loaded member (the one IPVS's expiry would
//! drop first). IPVS lets a set grow to every server of the service. Addresses are kept in
//! a bounded [`LocalityTable`]. Members dropped by a snapshot leave their sets at once.

use arrayvec::ArrayVec;

use super::dests::{DestId, DestSet};
use super::flow::Flow;
use super::least::{heavier, least_weighted, locality_overloaded};
use super::locality::LocalityTable;

/// The most servers one destination address replicates to.
pub const LBLCR_SET_CAPACITY: usize = 8;

/// The servers of one destination address, newest first.
#[derive(Debug, Clone, Default)]
pub struct ServerSet {
    members: ArrayVec<DestId, LBLCR_SET_CAPACITY>,
    last_mod: u32,
}

impl ServerSet {
    pub fn members(&self) -> &[DestId] {
        &self.members
    }

    /// `ip_vs_dest_set_insert` with its duplicate check; newest first.
    fn insert(&mut self, dests: &DestSet, id: DestId, now: u32) {
        if self.members.contains(&id) {
            return;
        }
        if self.members.is_full() {
            let victim = self.most_loaded(dests).or(self.members.last().copied());
            if let Some(v) = victim {
                self.members.retain(|m| *m != v);
            }
        }
        // A victim was removed above when full, so this cannot fail.
        if self.members.try_insert(0, id).is_ok() {
            self.last_mod = now;
        }
    }

    /// `ip_vs_dest_set_max`: the member with the highest overhead / weight among those
    /// with a weight; the first one on ties.
    fn most_loaded(&self, dests: &DestSet) -> Option<DestId> {
        let mut most: Option<(DestId, u64, u32)> = None;
        for &id in &self.members {
            let Some(d) = dests.get(id) else { continue };
            if d.weight() == 0 {
                continue;
            }
            let oh = d.overhead();
            if most.is_none_or(|(_, mo, mw)| heavier(oh, d.weight(), mo, mw)) {
                most = Some((id, oh, d.weight()));
            }
        }
        most.map(|(id, _, _)| id)
    }
}

#[derive(Debug, Clone)]
pub struct Lblcr {
    table: LocalityTable<ServerSet>,
}

impl Lblcr {
    pub fn new(capacity: usize, expiration: u32) -> Self {
        Lblcr {
            table: LocalityTable::new(capacity, expiration),
        }
    }

    /// Drops members no longer listed from every set.
    pub fn rebuild(&mut self, dests: &DestSet) {
        self.table.retain(|set| {
            set.members
                .retain(|id| dests.get(*id).is_some_and(|d| d.in_service()));
            true
        });
    }

    pub fn maintain(&mut self, now: u32) {
        self.table.maintain(now);
    }

    pub fn pick(&mut self, dests: &DestSet, flow: &Flow) -> Option<DestId> {
        let now = self.table.now();
        let expiration = self.table.expiration();
        if let Some(set) = self.table.get_mut(&flow.dst) {
            let least = least_weighted(dests, set.members.iter().copied(), |d| d.overhead());
            if set.members.len() > 1
                && now.wrapping_sub(set.last_mod) > expiration
                && let Some(m) = set.most_loaded(dests)
            {
                set.members.retain(|id| *id != m);
                set.last_mod = now;
            }
            if let Some(id) = least
                && dests
                    .get(id)
                    .is_some_and(|d| !locality_overloaded(dests, d))
            {
                return Some(id);
            }
            let id = least_weighted(dests, dests.order().iter().copied(), |d| d.overhead())?;
            set.insert(dests, id, now);
            return Some(id);
        }
        let id = least_weighted(dests, dests.order().iter().copied(), |d| d.overhead())?;
        let mut set = ServerSet {
            members: ArrayVec::new(),
            last_mod: now,
        };
        set.insert(dests, id, now);
        self.table.insert(flow.dst, set);
        Some(id)
    }

    pub fn table(&self) -> &LocalityTable<ServerSet> {
        &self.table
    }

    /// The set remembered for a destination address (does not mark it used).
    pub fn set_for(&self, dst: &std::net::IpAddr) -> Option<&ServerSet> {
        self.table.get(dst)
    }
}
