//! Stable ids of services and real servers: what the dataplane keys its state by.
//!
//! The dataplane's connection entries and per-destination counters refer to a service or a
//! real server by a `u32` id rather than by address, so that an edit (new weight, new
//! scheduler) keeps every connection and counter where it is. Two rules make that safe:
//!
//! - an id is kept for as long as its item stays in the effective configuration, across any
//!   number of edits;
//! - an id is never given out twice (each kind has its own counter that only grows), so a
//!   real server that is removed and added back gets a *new* id while the dataplane may still
//!   hold connections on the old one as a "trash" destination until they end, as IPVS does.
//!
//! Each transition reports the ids that left (`retired_*`): the dataplane keeps their
//! existing connections and stops scheduling new ones to them.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use proto::ServiceKey;
use serde::Serialize;

use super::convert::{dest_addr, service_key};
use crate::config::Config;

/// The id of a virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ServiceId(pub u32);

/// The id of a real server within a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DestId(pub u32);

/// The ids of every service and real server of one configuration, and what a transition to
/// it retired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ids {
    services: BTreeMap<ServiceKey, ServiceId>,
    dests: BTreeMap<(ServiceKey, SocketAddr), DestId>,
    next_service: u32,
    next_dest: u32,
    retired_services: Vec<ServiceId>,
    retired_dests: Vec<DestId>,
}

/// The id counter of one kind wrapped around: four billion additions without a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the id space is exhausted; restart rvsd to renumber")]
pub struct IdsExhausted;

impl Default for Ids {
    fn default() -> Self {
        Ids::new()
    }
}

fn take(next: &mut u32) -> Result<u32, IdsExhausted> {
    let id = *next;
    *next = next.checked_add(1).ok_or(IdsExhausted)?;
    Ok(id)
}

impl Ids {
    /// No ids yet; the first id of each kind is 1 (0 never names anything).
    pub fn new() -> Self {
        Ids {
            services: BTreeMap::new(),
            dests: BTreeMap::new(),
            next_service: 1,
            next_dest: 1,
            retired_services: Vec::new(),
            retired_dests: Vec::new(),
        }
    }

    /// The ids of `cfg`: kept where the item was already known, new otherwise; what `self`
    /// knew and `cfg` lacks is reported as retired.
    pub fn transition(&self, cfg: &Config) -> Result<Ids, IdsExhausted> {
        let mut next = Ids {
            next_service: self.next_service,
            next_dest: self.next_dest,
            ..Ids::new()
        };
        for svc in &cfg.services {
            let key = service_key(svc);
            let id = match self.services.get(&key) {
                Some(id) => *id,
                None => ServiceId(take(&mut next.next_service)?),
            };
            next.services.insert(key, id);
            for rs in &svc.real_servers {
                let dkey = (key, dest_addr(svc, rs));
                let id = match self.dests.get(&dkey) {
                    Some(id) => *id,
                    None => DestId(take(&mut next.next_dest)?),
                };
                next.dests.insert(dkey, id);
            }
        }
        next.retire_missing(self);
        Ok(next)
    }

    /// `previous` again, for undoing a transition to `self` that could not be completed:
    /// the ids `self` gave out are retired (never reused), the counters keep growing.
    pub fn rollback_to(&self, previous: &Ids) -> Ids {
        let mut back = Ids {
            services: previous.services.clone(),
            dests: previous.dests.clone(),
            next_service: self.next_service.max(previous.next_service),
            next_dest: self.next_dest.max(previous.next_dest),
            ..Ids::new()
        };
        back.retire_missing(self);
        back
    }

    fn retire_missing(&mut self, before: &Ids) {
        self.retired_services = before
            .services
            .iter()
            .filter(|(k, _)| !self.services.contains_key(k))
            .map(|(_, id)| *id)
            .collect();
        self.retired_dests = before
            .dests
            .iter()
            .filter(|(k, _)| !self.dests.contains_key(k))
            .map(|(_, id)| *id)
            .collect();
    }

    /// The same ids with the retired lists emptied (what is kept once a transition is done).
    pub fn settled(mut self) -> Ids {
        self.retired_services.clear();
        self.retired_dests.clear();
        self
    }

    /// The id of a service.
    pub fn service(&self, key: &ServiceKey) -> Option<ServiceId> {
        self.services.get(key).copied()
    }

    /// The id of a real server, by its service and its effective address:port.
    pub fn dest(&self, key: &ServiceKey, addr: SocketAddr) -> Option<DestId> {
        self.dests.get(&(*key, addr)).copied()
    }

    /// Every service id.
    pub fn services(&self) -> impl Iterator<Item = (&ServiceKey, ServiceId)> {
        self.services.iter().map(|(k, id)| (k, *id))
    }

    /// Every real server id.
    pub fn dests(&self) -> impl Iterator<Item = (&(ServiceKey, SocketAddr), DestId)> {
        self.dests.iter().map(|(k, id)| (k, *id))
    }

    /// The real server ids of one service.
    pub fn dests_of(&self, key: &ServiceKey) -> Vec<DestId> {
        self.dests
            .iter()
            .filter(|((k, _), _)| k == key)
            .map(|(_, id)| *id)
            .collect()
    }

    /// Services that left the configuration in this transition.
    pub fn retired_services(&self) -> &[ServiceId] {
        &self.retired_services
    }

    /// Real servers that left the configuration in this transition: the dataplane keeps their
    /// existing connections until they end and schedules nothing new to them.
    pub fn retired_dests(&self) -> &[DestId] {
        &self.retired_dests
    }
}
