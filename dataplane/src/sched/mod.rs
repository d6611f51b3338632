//! Schedulers: the Linux IPVS selection algorithms, per worker.
//!
//! This file starts with the names every layer shares (the control plane validates
//! scheduler names and flags with these types); the algorithms live in one submodule each,
//! each with the selection semantics of the IPVS module of the same name
//! (`net/netfilter/ipvs/ip_vs_<name>.c`) and a note where rvs differs.
//!
//! How a worker uses them, per virtual service:
//! - [`ServiceScheduler::new`] when the service appears in a snapshot (allocates tables);
//!   [`ServiceScheduler::update`] when its real-server list changes.
//! - [`ServiceScheduler::pick`] for the first packet of a connection: a [`DestId`] or
//!   `None` (count a "no destination" drop). No allocation, lock or system call.
//! - [`ServiceScheduler::bind`] / [`unbind`](ServiceScheduler::unbind) /
//!   [`activate`](ServiceScheduler::activate) / [`deactivate`](ServiceScheduler::deactivate)
//!   from the connection table's transitions, which keep the counts and overload flags.
//! - [`ServiceScheduler::maintain`] from the worker's timer with its coarse clock.
//!
//! Counts and thresholds are per worker (see [`dest`]); split global thresholds with
//! [`per_worker_threshold`].

use std::fmt;
use std::str::FromStr;

pub mod dest;
pub mod dests;
pub mod flow;
pub mod locality;
pub mod scheduler;
pub mod service;

mod least;

pub mod dh;
pub mod fo;
pub mod lblc;
pub mod lblcr;
pub mod lc;
pub mod mh;
pub mod nq;
pub mod ovf;
pub mod rr;
pub mod sed;
pub mod sh;
pub mod wlc;
pub mod wrr;

pub use dest::{ConnKind, DestKey, DestSpec, DestState, per_worker_threshold};
pub use dests::{DestId, DestSet};
pub use flow::Flow;
pub use lblcr::LBLCR_SET_CAPACITY;
pub use locality::{LOCALITY_DEFAULT_CAPACITY, LOCALITY_DEFAULT_EXPIRATION};
pub use mh::{MH_DEFAULT_TABLE_SIZE, MH_PRIMES};
pub use scheduler::{BuildError, LOCALITY_MAX_CAPACITY, SchedParams, Scheduler};
pub use service::ServiceScheduler;

/// The IPVS scheduler algorithms rvs implements, by their ipvsadm names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SchedulerKind {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Least connection.
    Lc,
    /// Weighted least connection (IPVS's default).
    Wlc,
    /// Shortest expected delay.
    Sed,
    /// Never queue.
    Nq,
    /// Source hashing.
    Sh,
    /// Destination hashing.
    Dh,
    /// Locality-based least connection.
    Lblc,
    /// Locality-based least connection with replication.
    Lblcr,
    /// Maglev hashing.
    Mh,
    /// Weighted failover.
    Fo,
    /// Weighted overflow.
    Ovf,
}

impl SchedulerKind {
    /// Every scheduler, in ipvsadm's documentation order.
    pub const ALL: [SchedulerKind; 13] = [
        SchedulerKind::Rr,
        SchedulerKind::Wrr,
        SchedulerKind::Lc,
        SchedulerKind::Wlc,
        SchedulerKind::Lblc,
        SchedulerKind::Lblcr,
        SchedulerKind::Dh,
        SchedulerKind::Sh,
        SchedulerKind::Sed,
        SchedulerKind::Nq,
        SchedulerKind::Fo,
        SchedulerKind::Ovf,
        SchedulerKind::Mh,
    ];

    /// The ipvsadm name (`wrr`, `mh` ...).
    pub fn name(self) -> &'static str {
        match self {
            SchedulerKind::Rr => "rr",
            SchedulerKind::Wrr => "wrr",
            SchedulerKind::Lc => "lc",
            SchedulerKind::Wlc => "wlc",
            SchedulerKind::Sed => "sed",
            SchedulerKind::Nq => "nq",
            SchedulerKind::Sh => "sh",
            SchedulerKind::Dh => "dh",
            SchedulerKind::Lblc => "lblc",
            SchedulerKind::Lblcr => "lblcr",
            SchedulerKind::Mh => "mh",
            SchedulerKind::Fo => "fo",
            SchedulerKind::Ovf => "ovf",
        }
    }
}

impl fmt::Display for SchedulerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown scheduler name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scheduler {0:?}")]
pub struct UnknownScheduler(pub String);

impl FromStr for SchedulerKind {
    type Err = UnknownScheduler;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SchedulerKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownScheduler(s.to_string()))
    }
}

/// Scheduler flags (ipvsadm `-b`), as IPVS defines them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SchedFlag {
    /// sh: pick another server when the hashed one is unavailable (`flag-1`).
    ShFallback,
    /// sh: hash the source port too (`flag-2`).
    ShPort,
    /// mh: pick another server when the looked-up one is unavailable (`flag-1`).
    MhFallback,
    /// mh: hash the source port too (`flag-2`).
    MhPort,
}

impl SchedFlag {
    pub const ALL: [SchedFlag; 4] = [
        SchedFlag::ShFallback,
        SchedFlag::ShPort,
        SchedFlag::MhFallback,
        SchedFlag::MhPort,
    ];

    /// The ipvsadm name of the flag.
    pub fn name(self) -> &'static str {
        match self {
            SchedFlag::ShFallback => "sh-fallback",
            SchedFlag::ShPort => "sh-port",
            SchedFlag::MhFallback => "mh-fallback",
            SchedFlag::MhPort => "mh-port",
        }
    }

    /// The scheduler this flag belongs to.
    pub fn scheduler(self) -> SchedulerKind {
        match self {
            SchedFlag::ShFallback | SchedFlag::ShPort => SchedulerKind::Sh,
            SchedFlag::MhFallback | SchedFlag::MhPort => SchedulerKind::Mh,
        }
    }
}

impl fmt::Display for SchedFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown scheduler flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scheduler flag {0:?}")]
pub struct UnknownSchedFlag(pub String);

impl FromStr for SchedFlag {
    type Err = UnknownSchedFlag;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SchedFlag::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownSchedFlag(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in SchedulerKind::ALL {
            assert_eq!(k.name().parse::<SchedulerKind>().unwrap(), k);
        }
        for f in SchedFlag::ALL {
            assert_eq!(f.name().parse::<SchedFlag>().unwrap(), f);
        }
        assert!("wrrr".parse::<SchedulerKind>().is_err());
        assert!("flag-1".parse::<SchedFlag>().is_err());
    }
}
