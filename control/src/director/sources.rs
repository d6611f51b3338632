//! What the director reads from the running daemon: counters, connections and the state of
//! the other subsystems (health checkers, VRRP, neighbour table).
//!
//! The director owns the configuration but not the packets: counters live in the workers,
//! learned neighbours in the dataplane, checker results in the health module. The daemon
//! implements these traits over whatever it has; [`NoStats`] and [`NoStatus`] stand in where
//! a subsystem is absent (tests, a daemon started without workers) and say so by being empty.

use proto::{CheckerStatus, ConnInfo, Counter, NeighInfo, Rates, Stats, VrrpStatus};

use super::ids::{DestId, ServiceId};

/// Counters of one virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServiceCounters {
    pub stats: Stats,
    pub rates: Rates,
}

/// Counters and connection counts of one real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DestCounters {
    pub active_conns: u32,
    pub inactive_conns: u32,
    pub persist_conns: u32,
    pub stats: Stats,
    pub rates: Rates,
}

/// Per-service and per-destination counters, aggregated over the workers.
pub trait StatsSource: Send {
    fn service(&self, id: ServiceId) -> ServiceCounters;
    fn dest(&self, id: DestId) -> DestCounters;
    /// `-Z`: zero the cumulative counters of these services and real servers.
    fn zero(&mut self, services: &[ServiceId], dests: &[DestId]);
}

/// Observability the director passes through without interpreting it.
pub trait StatusSource: Send {
    /// `-Lc`: connection entries.
    fn conns(&self) -> Vec<ConnInfo>;
    /// Neighbours the dataplane learned (the static ones come from the configuration).
    fn learned_neighbours(&self) -> Vec<NeighInfo>;
    fn checkers(&self) -> Vec<CheckerStatus>;
    fn vrrp(&self) -> Vec<VrrpStatus>;
    /// Named counters: drops by reason, port and kernel-side port counters.
    fn counters(&self) -> Vec<Counter>;
}

/// No dataplane counters: every counter reads zero and zeroing does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStats;

impl StatsSource for NoStats {
    fn service(&self, _: ServiceId) -> ServiceCounters {
        ServiceCounters::default()
    }
    fn dest(&self, _: DestId) -> DestCounters {
        DestCounters::default()
    }
    fn zero(&mut self, _: &[ServiceId], _: &[DestId]) {}
}

/// No other subsystem: every listing is empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStatus;

impl StatusSource for NoStatus {
    fn conns(&self) -> Vec<ConnInfo> {
        Vec::new()
    }
    fn learned_neighbours(&self) -> Vec<NeighInfo> {
        Vec::new()
    }
    fn checkers(&self) -> Vec<CheckerStatus> {
        Vec::new()
    }
    fn vrrp(&self) -> Vec<VrrpStatus> {
        Vec::new()
    }
    fn counters(&self) -> Vec<Counter> {
        Vec::new()
    }
}
