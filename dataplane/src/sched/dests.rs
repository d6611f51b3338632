//! The real servers of one service, as one worker keeps them across snapshots.
//!
//! A connection refers to its real server by [`DestId`], a slot number that stays the same
//! for as long as the server is listed, and for as long afterwards as connections still
//! refer to it (IPVS keeps a removed server in its "trash" for the same reason). Slots
//! are reused only by a later snapshot, once empty.
//!
//! The order of [`DestSet::order`] is the order of the snapshot's list, which is the order
//! the schedulers walk (rr/wrr sequences and the tie-breaks of the least-connection family
//! depend on it). IPVS inserts a new server at the head of its list, so a snapshot that
//! wants IPVS's exact sequences lists servers as `ipvsadm -L` shows them.

use std::collections::{HashMap, HashSet};

use super::BuildError;
use super::dest::{ConnKind, DestKey, DestSpec, DestState};

/// A real server's slot in its service's [`DestSet`]; what a connection stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DestId(u16);

impl DestId {
    /// The largest number of slots a service may have (the schedulers' tables store
    /// `u16` slot numbers, with `u16::MAX` meaning "empty").
    pub const LIMIT: usize = u16::MAX as usize;

    /// The slot number, for indexing the caller's own per-server arrays.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    pub(crate) fn from_index(i: usize) -> Option<DestId> {
        u16::try_from(i).ok().filter(|v| *v != u16::MAX).map(DestId)
    }

    pub(crate) fn raw(self) -> u16 {
        self.0
    }

    pub(crate) fn from_raw(raw: u16) -> Option<DestId> {
        (raw != u16::MAX).then_some(DestId(raw))
    }
}

/// The real servers of one service on one worker: stable slots plus the listed order.
#[derive(Debug, Clone, Default)]
pub struct DestSet {
    slots: Vec<DestState>,
    order: Vec<DestId>,
    /// Bumped by every [`apply`](Self::apply); a scheduler built for another epoch refuses
    /// to pick, so a slot reused by a new server can never be reached through a stale table.
    epoch: u64,
}

impl DestSet {
    /// The servers of a new service.
    pub fn new(specs: &[DestSpec]) -> Result<Self, BuildError> {
        let mut set = DestSet::default();
        set.apply(specs)?;
        Ok(set)
    }

    /// Installs a new list: listed servers keep their slot and counts and take the new
    /// weight and thresholds (see [`DestState::update`]); new servers take a slot that was
    /// already empty before this call, or a new one; unlisted servers leave the order but
    /// keep their slot while connections refer to them. On error nothing changes.
    ///
    /// Every scheduler over this set must be rebuilt afterwards.
    pub fn apply(&mut self, specs: &[DestSpec]) -> Result<(), BuildError> {
        let mut seen: HashSet<DestKey> = HashSet::with_capacity(specs.len());
        for spec in specs {
            if !seen.insert(spec.key) {
                return Err(BuildError::DuplicateDest(spec.key));
            }
        }
        let by_key: HashMap<DestKey, usize> = self
            .slots
            .iter()
            .enumerate()
            .map(|(i, d)| (d.key(), i))
            .collect();
        // Slots empty before this call; a slot emptied by this very call is not reused
        // until the next one, after the schedulers have dropped every reference to it.
        let mut free: Vec<usize> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, d)| !d.in_service() && d.refs() == 0 && !seen.contains(&d.key()))
            .map(|(i, _)| i)
            .rev()
            .collect();
        let new_count = specs
            .iter()
            .filter(|s| !by_key.contains_key(&s.key))
            .count();
        let grown = self.slots.len() + new_count.saturating_sub(free.len());
        if grown > DestId::LIMIT {
            return Err(BuildError::TooManyDests(grown));
        }

        for slot in &mut self.slots {
            if !seen.contains(&slot.key()) {
                slot.retire();
            }
        }
        let mut order = Vec::with_capacity(specs.len());
        for spec in specs {
            let index = match by_key.get(&spec.key) {
                Some(&i) => {
                    if let Some(slot) = self.slots.get_mut(i) {
                        slot.update(spec);
                    }
                    i
                }
                None => match free.pop() {
                    Some(i) => {
                        if let Some(slot) = self.slots.get_mut(i) {
                            slot.reuse(spec);
                        }
                        i
                    }
                    None => {
                        self.slots.push(DestState::new(spec));
                        self.slots.len() - 1
                    }
                },
            };
            // `grown` was checked against the limit above, so every index fits.
            if let Some(id) = DestId::from_index(index) {
                order.push(id);
            }
        }
        self.order = order;
        self.epoch = self.epoch.wrapping_add(1);
        Ok(())
    }

    /// The listed servers, in snapshot order.
    pub fn order(&self) -> &[DestId] {
        &self.order
    }

    /// One slot (listed or retired).
    pub fn get(&self, id: DestId) -> Option<&DestState> {
        self.slots.get(id.index())
    }

    /// One slot, for counting; prefer the `bind`/`unbind`/... methods.
    pub fn get_mut(&mut self, id: DestId) -> Option<&mut DestState> {
        self.slots.get_mut(id.index())
    }

    /// The slot of a server, listed or retired.
    pub fn find(&self, key: &DestKey) -> Option<DestId> {
        self.slots
            .iter()
            .position(|d| d.key() == *key)
            .and_then(DestId::from_index)
    }

    /// Whether `id` names a server that may take a new connection.
    pub fn available(&self, id: DestId) -> bool {
        self.get(id).is_some_and(DestState::available)
    }

    /// Listed servers with their state, in order.
    pub fn iter(&self) -> impl Iterator<Item = (DestId, &DestState)> + '_ {
        self.order
            .iter()
            .filter_map(|&id| self.slots.get(id.index()).map(|d| (id, d)))
    }

    /// Number of slots, retired ones included.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Number of listed servers.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// A new connection to `id` (see [`DestState::bind`]). False if `id` is no slot.
    pub fn bind(&mut self, id: DestId, kind: ConnKind) -> bool {
        self.get_mut(id).map(|d| d.bind(kind)).is_some()
    }

    /// A connection to `id` ended (see [`DestState::unbind`]). False if `id` is no slot.
    pub fn unbind(&mut self, id: DestId, kind: ConnKind) -> bool {
        self.get_mut(id).map(|d| d.unbind(kind)).is_some()
    }

    /// A connection to `id` became established. False if `id` is no slot.
    pub fn activate(&mut self, id: DestId) -> bool {
        self.get_mut(id).map(DestState::activate).is_some()
    }

    /// A connection to `id` left the established state. False if `id` is no slot.
    pub fn deactivate(&mut self, id: DestId) -> bool {
        self.get_mut(id).map(DestState::deactivate).is_some()
    }
}
