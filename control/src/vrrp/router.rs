//! All VRRP instances of the director, with their sync groups.
//!
//! A sync group's members move together, as keepalived's vrrp_sync_group does:
//! - a member may become MASTER only when every member is ready to (its Master_Down_Timer
//!   has run out, or it already is MASTER); the ready ones wait for the rest, so a group
//!   never ends up split across two directors because one interface's master is alive;
//! - when a member loses mastership to a higher-priority router, every member goes BACKUP;
//! - while a member is in FAULT, every member is in FAULT.
//!
//! The router is pure like [`Instance`]: the driver feeds it time, adverts and tracking
//! results and carries out the [`Event`]s it returns.

use super::instance::{Action, Instance, Reject, State};
use super::packet::Advert;

/// An action of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Index of the instance in the router.
    pub instance: usize,
    pub action: Action,
}

/// The instances and sync groups.
#[derive(Debug, Clone)]
pub struct Router {
    instances: Vec<Instance>,
    /// Each group's member indices.
    groups: Vec<Vec<usize>>,
    /// The group of each instance, if any.
    group_of: Vec<Option<usize>>,
}

impl Router {
    /// `groups` lists member indices; an instance belongs to at most one group (the
    /// configuration validator guarantees it; a second membership is ignored here).
    pub fn new(instances: Vec<Instance>, groups: Vec<Vec<usize>>) -> Self {
        let mut group_of = vec![None; instances.len()];
        let mut clean = Vec::new();
        for g in groups {
            let idx = clean.len();
            let members: Vec<usize> = g
                .into_iter()
                .filter(|&m| m < group_of.len() && group_of[m].is_none())
                .collect();
            for &m in &members {
                group_of[m] = Some(idx);
            }
            clean.push(members);
        }
        Router {
            instances,
            groups: clean,
            group_of,
        }
    }

    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    pub fn instance(&self, i: usize) -> Option<&Instance> {
        self.instances.get(i)
    }

    /// Earliest time the router needs [`Router::poll`].
    pub fn next_deadline(&self) -> Option<u64> {
        self.instances
            .iter()
            .filter_map(|i| i.next_deadline())
            .min()
    }

    /// Starts every instance (INIT -> BACKUP).
    pub fn start(&mut self, now: u64) -> Vec<Event> {
        let mut ev = Vec::new();
        for idx in 0..self.instances.len() {
            let mut out = Vec::new();
            self.instances[idx].start(now, &mut out);
            push(&mut ev, idx, out);
        }
        self.coordinate(now, &mut ev);
        ev
    }

    /// Runs due timers.
    pub fn poll(&mut self, now: u64) -> Vec<Event> {
        let mut ev = Vec::new();
        for idx in 0..self.instances.len() {
            let mut out = Vec::new();
            self.instances[idx].poll(now, &mut out);
            push(&mut ev, idx, out);
        }
        self.coordinate(now, &mut ev);
        ev
    }

    /// Hands a received advert to the instances that `accepts(index)` selects (those on
    /// the interface it arrived on). Returns the events and, per instance the advert was
    /// for, the rejection if any.
    pub fn receive(
        &mut self,
        now: u64,
        adv: &Advert,
        accepts: impl Fn(usize) -> bool,
    ) -> (Vec<Event>, Vec<(usize, Reject)>) {
        let mut ev = Vec::new();
        let mut rejected = Vec::new();
        for idx in 0..self.instances.len() {
            if !accepts(idx) || self.instances[idx].config().vrid != adv.vrid {
                continue;
            }
            let mut out = Vec::new();
            if let Err(r) = self.instances[idx].receive(now, adv, &mut out) {
                rejected.push((idx, r));
            }
            push(&mut ev, idx, out);
        }
        self.coordinate(now, &mut ev);
        (ev, rejected)
    }

    /// Applies tracking to one instance: `Some(priority)` or `None` for FAULT.
    pub fn set_tracking(&mut self, idx: usize, priority: Option<u8>, now: u64) -> Vec<Event> {
        let mut ev = Vec::new();
        if let Some(inst) = self.instances.get_mut(idx) {
            let mut out = Vec::new();
            match priority {
                Some(p) => {
                    inst.set_effective_priority(p);
                    inst.set_fault(false, now, &mut out);
                }
                None => inst.set_fault(true, now, &mut out),
            }
            push(&mut ev, idx, out);
        }
        self.coordinate(now, &mut ev);
        ev
    }

    /// Stops every instance; masters send priority 0.
    pub fn shutdown(&mut self) -> Vec<Event> {
        let mut ev = Vec::new();
        for idx in 0..self.instances.len() {
            let mut out = Vec::new();
            self.instances[idx].shutdown(&mut out);
            push(&mut ev, idx, out);
        }
        ev
    }

    /// Applies sync-group rules, and settles ungrouped instances that are ready to become
    /// master. Runs until nothing changes (each rule only moves instances one way, so this
    /// ends within a few rounds).
    fn coordinate(&mut self, now: u64, ev: &mut Vec<Event>) {
        for idx in 0..self.instances.len() {
            if self.group_of[idx].is_none() {
                let mut out = Vec::new();
                self.instances[idx].settle(now, &mut out);
                push(ev, idx, out);
            }
        }
        for g in 0..self.groups.len() {
            let members = self.groups[g].clone();
            // FAULT spreads to the whole group and lifts when no member faults itself.
            let any_fault = members.iter().any(|&m| self.instances[m].own_fault());
            for &m in &members {
                let mut out = Vec::new();
                self.instances[m].set_group_fault(any_fault, now, &mut out);
                push(ev, m, out);
            }
            if any_fault {
                continue;
            }
            // A member that lost mastership in this round takes the others with it.
            let lost = ev.iter().any(|e| {
                members.contains(&e.instance)
                    && e.action
                        == Action::Transition {
                            from: State::Master,
                            to: State::Backup,
                        }
            });
            if lost {
                for &m in &members {
                    let mut out = Vec::new();
                    self.instances[m].go_backup(now, &mut out);
                    push(ev, m, out);
                }
                continue;
            }
            let ready = members.iter().all(|&m| {
                let i = &self.instances[m];
                i.state() == State::Master || i.wants_master()
            });
            if ready {
                for &m in &members {
                    let mut out = Vec::new();
                    self.instances[m].go_master(now, &mut out);
                    push(ev, m, out);
                }
            }
        }
    }
}

fn push(ev: &mut Vec<Event>, instance: usize, out: Vec<Action>) {
    ev.extend(out.into_iter().map(|action| Event { instance, action }));
}

#[cfg(test)]
mod tests {
    use super::super::instance::InstanceConfig;
    use super::super::packet::{AUTH_NONE, VRRP_GROUP};
    use super::*;
    use std::net::Ipv4Addr;

    const S: u64 = 1_000_000;

    fn inst(vrid: u8, priority: u8) -> Instance {
        Instance::new(InstanceConfig {
            name: format!("VI_{vrid}"),
            vrid,
            version: 2,
            priority,
            adver_int_us: S,
            initial_master: false,
            nopreempt: false,
            preempt_delay_us: 0,
            password: None,
            vips: vec![Ipv4Addr::new(10, 0, vrid, 100)],
            primary: Ipv4Addr::new(10, 0, 0, 2),
            unicast_peers: vec![],
            garp_repeat: 5,
            garp_delay_us: 0,
            garp_refresh_us: 0,
            garp_refresh_repeat: 1,
        })
    }

    fn advert(vrid: u8, priority: u8) -> Advert {
        Advert {
            src: Ipv4Addr::new(10, 0, 0, 3),
            dst: VRRP_GROUP,
            ttl: 255,
            version: 2,
            vrid,
            priority,
            adver_int: 1,
            auth_type: AUTH_NONE,
            auth_data: [0; 8],
            addrs: vec![Ipv4Addr::new(10, 0, vrid, 100)],
        }
    }

    fn step(r: &mut Router, from: u64, until: u64, feed: &dyn Fn(u64) -> Vec<Advert>) -> u64 {
        let mut now = from;
        while now <= until {
            for a in feed(now) {
                r.receive(now, &a, |_| true);
            }
            r.poll(now);
            now += S / 10;
        }
        now
    }

    fn states(r: &Router) -> Vec<State> {
        r.instances().iter().map(|i| i.state()).collect()
    }

    #[test]
    fn a_group_waits_until_every_member_may_become_master() {
        // Instance 0's peer is silent; instance 1's peer (priority 200) is alive.
        let mut r = Router::new(vec![inst(1, 100), inst(2, 100)], vec![vec![0, 1]]);
        r.start(0);
        step(&mut r, 0, 10 * S, &|t| {
            if t % S == 0 {
                vec![advert(2, 200)]
            } else {
                vec![]
            }
        });
        assert_eq!(states(&r), vec![State::Backup, State::Backup]);
        assert!(r.instance(0).unwrap().wants_master());
        // The other peer dies: both become master together.
        step(&mut r, 10 * S, 20 * S, &|_| vec![]);
        assert_eq!(states(&r), vec![State::Master, State::Master]);
    }

    #[test]
    fn losing_one_member_moves_the_group_to_backup() {
        let mut r = Router::new(vec![inst(1, 100), inst(2, 100)], vec![vec![0, 1]]);
        r.start(0);
        step(&mut r, 0, 5 * S, &|_| vec![]);
        assert_eq!(states(&r), vec![State::Master, State::Master]);
        let (ev, rej) = r.receive(5 * S, &advert(1, 200), |_| true);
        assert!(rej.is_empty());
        assert_eq!(states(&r), vec![State::Backup, State::Backup]);
        let moved: Vec<usize> = ev
            .iter()
            .filter(|e| {
                e.action
                    == Action::Transition {
                        from: State::Master,
                        to: State::Backup,
                    }
            })
            .map(|e| e.instance)
            .collect();
        assert_eq!(moved, vec![0, 1]);
    }

    #[test]
    fn fault_in_one_member_faults_the_group_until_it_recovers() {
        let mut r = Router::new(
            vec![inst(1, 100), inst(2, 100), inst(3, 100)],
            vec![vec![0, 1]],
        );
        r.start(0);
        step(&mut r, 0, 5 * S, &|_| vec![]);
        assert_eq!(states(&r), vec![State::Master; 3]);
        let ev = r.set_tracking(1, None, 5 * S);
        assert_eq!(states(&r), vec![State::Fault, State::Fault, State::Master]);
        // Both masters of the group sent priority 0 on the way out.
        let zeros = ev
            .iter()
            .filter(|e| e.action == Action::SendAdvert { priority: 0 })
            .count();
        assert_eq!(zeros, 2);
        r.set_tracking(1, Some(100), 6 * S);
        assert_eq!(
            states(&r),
            vec![State::Backup, State::Backup, State::Master]
        );
        step(&mut r, 6 * S, 12 * S, &|_| vec![]);
        assert_eq!(states(&r), vec![State::Master; 3]);
    }

    #[test]
    fn tracking_priority_changes_the_election() {
        let mut r = Router::new(vec![inst(1, 100)], vec![]);
        r.start(0);
        step(&mut r, 0, 5 * S, &|_| vec![]);
        assert_eq!(states(&r), vec![State::Master]);
        // A script lowers us to 80: a peer at 90 now wins.
        r.set_tracking(0, Some(80), 5 * S);
        r.receive(5 * S, &advert(1, 90), |_| true);
        assert_eq!(states(&r), vec![State::Backup]);
    }
}
