//! [`Scheduler`]: one of the algorithms, chosen by [`SchedulerKind`], behind one interface.
//!
//! A worker builds a scheduler when a service snapshot is installed (this may allocate),
//! rebuilds it after every [`DestSet::apply`], and calls [`Scheduler::pick`] for each new
//! connection (no allocation, no lock, no system call). Each worker owns its instances.

use super::dest::DestKey;
use super::dests::{DestId, DestSet};
use super::dh::DestinationHash;
use super::flow::Flow;
use super::lblc::Lblc;
use super::lblcr::Lblcr;
use super::locality::{LOCALITY_DEFAULT_CAPACITY, LOCALITY_DEFAULT_EXPIRATION};
use super::mh::{MH_DEFAULT_TABLE_SIZE, Maglev};
use super::rr::RoundRobin;
use super::sh::SourceHash;
use super::wrr::WeightedRoundRobin;
use super::{SchedFlag, SchedulerKind, fo, lc, nq, ovf, sed, wlc};

/// Why a scheduler or a destination list could not be built. Nothing changes on error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("real server {0} is listed twice")]
    DuplicateDest(DestKey),
    #[error("{0} real server slots exceed the limit of 65535 per service")]
    TooManyDests(usize),
    #[error(
        "mh table size {0} is not one of IPVS's primes (251 509 1021 2039 4093 8191 16381 32749 65521 131071)"
    )]
    MhTableSize(u32),
    #[error("mh cannot place {dests} real servers in a table of {table_size}")]
    MhTooManyDests { dests: usize, table_size: u32 },
    #[error("lblc/lblcr table capacity {0} is outside 1..={max}", max = LOCALITY_MAX_CAPACITY)]
    LocalityCapacity(usize),
}

/// The largest lblc/lblcr table a service may ask for (16 Mi entries, ~0.5 GiB per worker).
pub const LOCALITY_MAX_CAPACITY: usize = 1 << 24;

/// Build-time settings of the schedulers that have any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedParams {
    /// mh lookup table size: one of [`MH_PRIMES`](super::MH_PRIMES).
    pub mh_table_size: u32,
    /// lblc/lblcr: destination addresses remembered per service per worker.
    pub locality_capacity: usize,
    /// lblc/lblcr: seconds after which an unused address is forgotten (sysctl
    /// `lblc_expiration`/`lblcr_expiration`); for lblcr also the age after which a
    /// server set sheds its most loaded member.
    pub locality_expiration: u32,
}

impl Default for SchedParams {
    fn default() -> Self {
        SchedParams {
            mh_table_size: MH_DEFAULT_TABLE_SIZE,
            locality_capacity: LOCALITY_DEFAULT_CAPACITY,
            locality_expiration: LOCALITY_DEFAULT_EXPIRATION,
        }
    }
}

/// The two scheduler flag bits of IPVS (`IP_VS_SVC_F_SCHED1`/`2`). IPVS stores flags as
/// bits, so `sh-fallback` and `mh-fallback` are the same bit, as are `sh-port` and
/// `mh-port`; schedulers other than sh and mh ignore them. rvs does the same.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct FlagBits {
    fallback: bool,
    port: bool,
}

impl FlagBits {
    fn from_flags(flags: &[SchedFlag]) -> Self {
        let mut bits = FlagBits::default();
        for f in flags {
            match f {
                SchedFlag::ShFallback | SchedFlag::MhFallback => bits.fallback = true,
                SchedFlag::ShPort | SchedFlag::MhPort => bits.port = true,
            }
        }
        bits
    }
}

#[derive(Debug, Clone)]
enum Algo {
    Rr(RoundRobin),
    Wrr(WeightedRoundRobin),
    Lc,
    Wlc,
    Sed,
    Nq,
    Sh(SourceHash),
    Dh(DestinationHash),
    Lblc(Lblc),
    Lblcr(Lblcr),
    Mh(Maglev),
    Fo,
    Ovf,
}

/// A scheduler of one service on one worker.
#[derive(Debug, Clone)]
pub struct Scheduler {
    kind: SchedulerKind,
    algo: Algo,
    /// The [`DestSet::epoch`] this scheduler was built for.
    epoch: u64,
}

impl Scheduler {
    /// Builds the scheduler `kind` with its `flags` over `dests`.
    pub fn new(
        kind: SchedulerKind,
        flags: &[SchedFlag],
        params: &SchedParams,
        dests: &DestSet,
    ) -> Result<Self, BuildError> {
        let bits = FlagBits::from_flags(flags);
        let locality = matches!(kind, SchedulerKind::Lblc | SchedulerKind::Lblcr);
        if locality && !(1..=LOCALITY_MAX_CAPACITY).contains(&params.locality_capacity) {
            return Err(BuildError::LocalityCapacity(params.locality_capacity));
        }
        let algo = match kind {
            SchedulerKind::Rr => Algo::Rr(RoundRobin::new(dests)),
            SchedulerKind::Wrr => Algo::Wrr(WeightedRoundRobin::new(dests)),
            SchedulerKind::Lc => Algo::Lc,
            SchedulerKind::Wlc => Algo::Wlc,
            SchedulerKind::Sed => Algo::Sed,
            SchedulerKind::Nq => Algo::Nq,
            SchedulerKind::Sh => Algo::Sh(SourceHash::new(dests, bits.fallback, bits.port)),
            SchedulerKind::Dh => Algo::Dh(DestinationHash::new(dests)),
            SchedulerKind::Lblc => Algo::Lblc(Lblc::new(
                params.locality_capacity,
                params.locality_expiration,
            )),
            SchedulerKind::Lblcr => Algo::Lblcr(Lblcr::new(
                params.locality_capacity,
                params.locality_expiration,
            )),
            SchedulerKind::Mh => Algo::Mh(Maglev::new(
                dests,
                params.mh_table_size,
                bits.fallback,
                bits.port,
            )?),
            SchedulerKind::Fo => Algo::Fo,
            SchedulerKind::Ovf => Algo::Ovf,
        };
        Ok(Scheduler {
            kind,
            algo,
            epoch: dests.epoch(),
        })
    }

    pub fn kind(&self) -> SchedulerKind {
        self.kind
    }

    /// Adapts to `dests` after [`DestSet::apply`], keeping what IPVS keeps across
    /// destination changes (see each algorithm). On error the scheduler is unchanged.
    pub fn rebuild(&mut self, dests: &DestSet) -> Result<(), BuildError> {
        match &mut self.algo {
            Algo::Rr(s) => s.rebuild(dests),
            Algo::Wrr(s) => s.rebuild(dests),
            Algo::Sh(s) => s.rebuild(dests),
            Algo::Dh(s) => s.rebuild(dests),
            Algo::Lblc(s) => s.rebuild(dests),
            Algo::Lblcr(s) => s.rebuild(dests),
            Algo::Mh(s) => s.rebuild(dests)?,
            Algo::Lc | Algo::Wlc | Algo::Sed | Algo::Nq | Algo::Fo | Algo::Ovf => {}
        }
        self.epoch = dests.epoch();
        Ok(())
    }

    /// Chooses the real server of a new connection, or `None` when no server may take it
    /// (the caller counts a "no destination available" drop, as IPVS logs one).
    ///
    /// Also `None` when `dests` changed since the last build or rebuild: a stale table
    /// could name a reused slot, and refusing is safer than misrouting.
    pub fn pick(&mut self, dests: &DestSet, flow: &Flow) -> Option<DestId> {
        if dests.epoch() != self.epoch {
            return None;
        }
        match &mut self.algo {
            Algo::Rr(s) => s.pick(dests),
            Algo::Wrr(s) => s.pick(dests),
            Algo::Lc => lc::pick(dests),
            Algo::Wlc => wlc::pick(dests),
            Algo::Sed => sed::pick(dests),
            Algo::Nq => nq::pick(dests),
            Algo::Sh(s) => s.pick(dests, flow),
            Algo::Dh(s) => s.pick(dests, flow),
            Algo::Lblc(s) => s.pick(dests, flow),
            Algo::Lblcr(s) => s.pick(dests, flow),
            Algo::Mh(s) => s.pick(dests, flow),
            Algo::Fo => fo::pick(dests),
            Algo::Ovf => ovf::pick(dests),
        }
    }

    /// Gives the scheduler the worker's coarse clock (seconds). lblc and lblcr stamp and
    /// expire their address tables with it; the other schedulers have no timers.
    pub fn maintain(&mut self, now: u32) {
        match &mut self.algo {
            Algo::Lblc(s) => s.maintain(now),
            Algo::Lblcr(s) => s.maintain(now),
            _ => {}
        }
    }

    /// The mh table, for inspection and tests.
    pub fn maglev(&self) -> Option<&Maglev> {
        match &self.algo {
            Algo::Mh(s) => Some(s),
            _ => None,
        }
    }

    /// The sh table, for inspection and tests.
    pub fn source_hash(&self) -> Option<&SourceHash> {
        match &self.algo {
            Algo::Sh(s) => Some(s),
            _ => None,
        }
    }

    /// The lblc state, for inspection and tests.
    pub fn lblc(&self) -> Option<&Lblc> {
        match &self.algo {
            Algo::Lblc(s) => Some(s),
            _ => None,
        }
    }

    /// The lblcr state, for inspection and tests.
    pub fn lblcr(&self) -> Option<&Lblcr> {
        match &self.algo {
            Algo::Lblcr(s) => Some(s),
            _ => None,
        }
    }
}
