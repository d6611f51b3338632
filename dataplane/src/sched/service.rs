//! [`ServiceScheduler`]: what a worker keeps per virtual service to choose real servers.
//!
//! It pairs the service's [`DestSet`] (per-worker counts) with its [`Scheduler`] so they
//! cannot drift apart: an update applies a snapshot's list to both or, on error, to
//! neither.

use super::dest::{ConnKind, DestSpec};
use super::dests::{DestId, DestSet};
use super::flow::Flow;
use super::scheduler::{BuildError, SchedParams, Scheduler};
use super::{SchedFlag, SchedulerKind};

#[derive(Debug, Clone)]
pub struct ServiceScheduler {
    dests: DestSet,
    sched: Scheduler,
}

impl ServiceScheduler {
    pub fn new(
        kind: SchedulerKind,
        flags: &[SchedFlag],
        params: &SchedParams,
        specs: &[DestSpec],
    ) -> Result<Self, BuildError> {
        let dests = DestSet::new(specs)?;
        let sched = Scheduler::new(kind, flags, params, &dests)?;
        Ok(ServiceScheduler { dests, sched })
    }

    /// Installs a new real-server list (weights, thresholds, servers added or removed).
    /// Counts and scheduler state carry over as in IPVS; on error nothing changes.
    pub fn update(&mut self, specs: &[DestSpec]) -> Result<(), BuildError> {
        let mut dests = self.dests.clone();
        dests.apply(specs)?;
        let mut sched = self.sched.clone();
        sched.rebuild(&dests)?;
        self.dests = dests;
        self.sched = sched;
        Ok(())
    }

    /// Replaces the scheduler (`ipvsadm -E -s ...`): a fresh instance over the same
    /// servers, as IPVS re-initialises a service's scheduler. Counts are kept.
    pub fn set_scheduler(
        &mut self,
        kind: SchedulerKind,
        flags: &[SchedFlag],
        params: &SchedParams,
    ) -> Result<(), BuildError> {
        self.sched = Scheduler::new(kind, flags, params, &self.dests)?;
        Ok(())
    }

    /// The real server for a new connection (see [`Scheduler::pick`]).
    pub fn pick(&mut self, flow: &Flow) -> Option<DestId> {
        self.sched.pick(&self.dests, flow)
    }

    /// Counts a new connection to `id` (IPVS `ip_vs_bind_dest`).
    pub fn bind(&mut self, id: DestId, kind: ConnKind) -> bool {
        self.dests.bind(id, kind)
    }

    /// Uncounts an ended connection (IPVS `ip_vs_unbind_dest`).
    pub fn unbind(&mut self, id: DestId, kind: ConnKind) -> bool {
        self.dests.unbind(id, kind)
    }

    /// A connection to `id` became established.
    pub fn activate(&mut self, id: DestId) -> bool {
        self.dests.activate(id)
    }

    /// A connection to `id` left the established state.
    pub fn deactivate(&mut self, id: DestId) -> bool {
        self.dests.deactivate(id)
    }

    /// The worker's coarse clock (seconds), for the schedulers with timers (lblc, lblcr):
    /// call it before the first pick and then about once a second; entries are stamped
    /// with the last value given, and expiry runs once a minute of this clock.
    pub fn maintain(&mut self, now: u32) {
        self.sched.maintain(now);
    }

    pub fn dests(&self) -> &DestSet {
        &self.dests
    }

    pub fn scheduler(&self) -> &Scheduler {
        &self.sched
    }
}
