//! One VRRP instance: the RFC 3768 / RFC 5798 state machine with keepalived's behaviour
//! where the RFCs leave room (start in BACKUP, nopreempt, preempt_delay, priority-0 on
//! leaving MASTER, the owner-conflict rule, re-asserting against lower-priority adverts,
//! gratuitous ARP timing).
//!
//! The machine is pure: time is passed in (microseconds on any monotonic clock), received
//! adverts come in as parsed [`Advert`]s, and everything the instance wants done comes out
//! as [`Action`]s (send an advert, send gratuitous ARPs, a state transition for the
//! driver to apply to the dataplane and to notify scripts). That makes every timing rule
//! testable to the microsecond without sockets or sleeps.

use std::net::Ipv4Addr;

use super::packet::{AUTH_NONE, AUTH_PASS, Advert, VRRP_TTL, auth_data};

/// Priority of the address owner.
pub const PRIO_OWNER: u8 = 255;
/// Priority a master sends when it stops being master ("I am leaving").
pub const PRIO_STOP: u8 = 0;

/// VRRP states (keepalived adds FAULT for tracked failures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Init,
    Backup,
    Master,
    Fault,
}

impl State {
    /// The name keepalived logs and rvsadm prints.
    pub fn name(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        }
    }
}

/// Static parameters of an instance, resolved from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConfig {
    pub name: String,
    pub vrid: u8,
    /// 2 or 3.
    pub version: u8,
    pub priority: u8,
    /// Advertisement interval in microseconds (v2: whole seconds; v3: centiseconds).
    pub adver_int_us: u64,
    /// `state MASTER`: only shortens the first wait of an address owner (priority 255).
    pub initial_master: bool,
    pub nopreempt: bool,
    pub preempt_delay_us: u64,
    /// v2 PASS authentication (already cut to 8 bytes on the wire).
    pub password: Option<Vec<u8>>,
    pub vips: Vec<Ipv4Addr>,
    /// Our primary address: the source of our adverts, compared on equal priority.
    pub primary: Ipv4Addr,
    /// Unicast peers; empty = multicast to 224.0.0.18.
    pub unicast_peers: Vec<Ipv4Addr>,
    /// Gratuitous ARPs per VIP on becoming master (garp_master_repeat, default 5).
    pub garp_repeat: u32,
    /// Delay of the second burst of gratuitous ARPs (garp_master_delay, default 5 s; 0 = none).
    pub garp_delay_us: u64,
    /// Period of gratuitous ARP refresh while master (garp_master_refresh; 0 = none).
    pub garp_refresh_us: u64,
    /// Gratuitous ARPs per VIP at each refresh (garp_master_refresh_repeat, default 1).
    pub garp_refresh_repeat: u32,
}

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send an advertisement with this priority (to the group or every unicast peer).
    SendAdvert { priority: u8 },
    /// Send `count` gratuitous ARPs for every VIP.
    Garp { count: u32 },
    /// The instance changed state: apply VIP ownership, run notify scripts.
    Transition { from: State, to: State },
}

/// Why a received advert was not accepted. Each is a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reject {
    /// Another virtual router's advert (not an error; not for this instance).
    OtherVrid,
    /// Our own advert looped back.
    Own,
    Ttl,
    Version,
    AuthType,
    AuthFailure,
    /// v2 advert interval differs from ours.
    Interval,
    AddrCount,
    AddrList,
    /// Unicast mode: the source is not a configured peer.
    NotPeer,
}

impl Reject {
    pub fn name(self) -> &'static str {
        match self {
            Reject::OtherVrid => "other_vrid",
            Reject::Own => "own",
            Reject::Ttl => "ttl",
            Reject::Version => "version",
            Reject::AuthType => "auth_type",
            Reject::AuthFailure => "auth_failure",
            Reject::Interval => "interval",
            Reject::AddrCount => "addr_count",
            Reject::AddrList => "addr_list",
            Reject::NotPeer => "not_peer",
        }
    }
}

/// Counters of one instance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstanceStats {
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub adverts_rejected: u64,
    pub priority_zero_received: u64,
    pub priority_zero_sent: u64,
    pub became_master: u64,
}

/// A VRRP instance.
#[derive(Debug, Clone)]
pub struct Instance {
    cfg: InstanceConfig,
    state: State,
    /// Base priority; lowered from 255 to 254 on an owner conflict, as keepalived does.
    base_priority: u8,
    effective_priority: u8,
    /// Master_Adver_Interval: ours, or (v3, in BACKUP) the master's.
    master_adver_int_us: u64,
    /// Master_Down_Timer (BACKUP).
    down_at: Option<u64>,
    /// Adver_Timer (MASTER).
    adver_at: Option<u64>,
    /// Second burst of gratuitous ARPs after becoming master.
    garp_delay_at: Option<u64>,
    garp_refresh_at: Option<u64>,
    /// keepalived's preempt_time: while set and in the future, a lower-priority master is
    /// still accepted.
    preempt_at: Option<u64>,
    /// A sync group holds the instance in BACKUP until every member can become master.
    wants_master: bool,
    /// Set by tracking: the instance must be in FAULT.
    fault: bool,
    /// Set by the sync group: another member is in FAULT, so this one is too.
    group_fault: bool,
    master_addr: Option<Ipv4Addr>,
    stats: InstanceStats,
}

impl Instance {
    /// Creates the instance in INIT; call [`Instance::start`] to enter BACKUP.
    pub fn new(cfg: InstanceConfig) -> Self {
        let base = cfg.priority;
        let mai = cfg.adver_int_us;
        Instance {
            cfg,
            state: State::Init,
            base_priority: base,
            effective_priority: base,
            master_adver_int_us: mai,
            down_at: None,
            adver_at: None,
            garp_delay_at: None,
            garp_refresh_at: None,
            preempt_at: None,
            wants_master: false,
            fault: false,
            group_fault: false,
            master_addr: None,
            stats: InstanceStats::default(),
        }
    }

    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }

    pub fn base_priority(&self) -> u8 {
        self.base_priority
    }

    pub fn master_addr(&self) -> Option<Ipv4Addr> {
        match self.state {
            State::Master => Some(self.cfg.primary),
            _ => self.master_addr,
        }
    }

    pub fn stats(&self) -> InstanceStats {
        self.stats
    }

    /// True while the sync group holds a master-ready instance back.
    pub fn wants_master(&self) -> bool {
        self.wants_master
    }

    /// Skew_Time: v2 `(256 - priority) / 256` s; v3 `((256 - priority) *
    /// Master_Adver_Interval) / 256`, computed in centiseconds as keepalived does.
    pub fn skew_us(&self) -> u64 {
        let p = 256 - u64::from(self.effective_priority);
        if self.cfg.version == 3 {
            let mai_cs = self.master_adver_int_us / 10_000;
            (p * mai_cs / 256) * 10_000
        } else {
            p * 1_000_000 / 256
        }
    }

    /// Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time.
    pub fn master_down_interval_us(&self) -> u64 {
        3 * self.master_adver_int_us + self.skew_us()
    }

    /// The earliest time [`Instance::poll`] has something to do.
    pub fn next_deadline(&self) -> Option<u64> {
        [
            self.down_at,
            self.adver_at,
            self.garp_delay_at,
            self.garp_refresh_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn transition(&mut self, to: State, out: &mut Vec<Action>) {
        let from = self.state;
        if from != to {
            self.state = to;
            out.push(Action::Transition { from, to });
        }
    }

    fn send(&mut self, priority: u8, out: &mut Vec<Action>) {
        self.stats.adverts_sent += 1;
        if priority == PRIO_STOP {
            self.stats.priority_zero_sent += 1;
        }
        out.push(Action::SendAdvert { priority });
    }

    /// Enters BACKUP (keepalived always starts there). The first Master_Down_Timer is
    /// shortened to one interval plus skew only for an address owner configured `state
    /// MASTER`.
    pub fn start(&mut self, now: u64, out: &mut Vec<Action>) {
        self.master_adver_int_us = self.cfg.adver_int_us;
        if self.is_fault() {
            self.transition(State::Fault, out);
            return;
        }
        self.transition(State::Backup, out);
        let wait = if self.cfg.initial_master && self.base_priority == PRIO_OWNER {
            self.master_adver_int_us + self.skew_us()
        } else {
            self.master_down_interval_us()
        };
        self.down_at = Some(now + wait);
        if self.cfg.preempt_delay_us > 0 {
            // keepalived: preempt_delay counts from startup.
            self.preempt_at = Some(now + self.cfg.preempt_delay_us);
        }
    }

    fn become_master(&mut self, now: u64, out: &mut Vec<Action>) {
        self.wants_master = false;
        self.down_at = None;
        self.preempt_at = None;
        self.master_adver_int_us = self.cfg.adver_int_us;
        self.transition(State::Master, out);
        self.stats.became_master += 1;
        self.send(self.effective_priority, out);
        if !self.cfg.vips.is_empty() {
            out.push(Action::Garp {
                count: self.cfg.garp_repeat,
            });
        }
        self.adver_at = Some(now + self.cfg.adver_int_us);
        self.garp_delay_at = (self.cfg.garp_delay_us > 0).then(|| now + self.cfg.garp_delay_us);
        self.garp_refresh_at =
            (self.cfg.garp_refresh_us > 0).then(|| now + self.cfg.garp_refresh_us);
    }

    fn become_backup(&mut self, now: u64, out: &mut Vec<Action>) {
        self.wants_master = false;
        self.adver_at = None;
        self.garp_delay_at = None;
        self.garp_refresh_at = None;
        self.transition(State::Backup, out);
        self.down_at = Some(now + self.master_down_interval_us());
    }

    /// Runs the timers that are due.
    pub fn poll(&mut self, now: u64, out: &mut Vec<Action>) {
        match self.state {
            State::Backup => {
                if self.down_at.is_some_and(|t| now >= t) {
                    self.down_at = None;
                    self.wants_master = true;
                    // A sync group may hold us; alone, we go at once.
                }
            }
            State::Master => {
                if self.adver_at.is_some_and(|t| now >= t) {
                    self.send(self.effective_priority, out);
                    self.adver_at = Some(now + self.cfg.adver_int_us);
                }
                if self.garp_delay_at.is_some_and(|t| now >= t) {
                    self.garp_delay_at = None;
                    out.push(Action::Garp {
                        count: self.cfg.garp_repeat,
                    });
                }
                if self.garp_refresh_at.is_some_and(|t| now >= t) {
                    out.push(Action::Garp {
                        count: self.cfg.garp_refresh_repeat,
                    });
                    self.garp_refresh_at = Some(now + self.cfg.garp_refresh_us);
                }
            }
            State::Init | State::Fault => {}
        }
    }

    /// For an instance outside a sync group: completes a pending move to MASTER.
    /// (A sync group calls [`Instance::go_master`] when every member is ready.)
    pub fn settle(&mut self, now: u64, out: &mut Vec<Action>) {
        if self.wants_master && self.state == State::Backup {
            self.become_master(now, out);
        }
    }

    /// Moves a master-ready instance to MASTER (sync group decision).
    pub fn go_master(&mut self, now: u64, out: &mut Vec<Action>) {
        if matches!(self.state, State::Backup) {
            self.become_master(now, out);
        }
    }

    /// Moves the instance to BACKUP (sync group decision: another member lost mastership).
    pub fn go_backup(&mut self, now: u64, out: &mut Vec<Action>) {
        match self.state {
            State::Master => {
                self.master_adver_int_us = self.cfg.adver_int_us;
                self.become_backup(now, out);
            }
            State::Backup => {
                self.wants_master = false;
                if self.down_at.is_none() {
                    self.down_at = Some(now + self.master_down_interval_us());
                }
            }
            State::Init | State::Fault => {}
        }
    }

    /// Checks an advert against this instance's configuration (the RFC's MUST checks and
    /// keepalived's address-list check).
    pub fn check(&self, adv: &Advert) -> Result<(), Reject> {
        if adv.vrid != self.cfg.vrid {
            return Err(Reject::OtherVrid);
        }
        if adv.src == self.cfg.primary {
            return Err(Reject::Own);
        }
        if self.cfg.unicast_peers.is_empty() {
            if adv.ttl != VRRP_TTL {
                return Err(Reject::Ttl);
            }
        } else if !self.cfg.unicast_peers.contains(&adv.src) {
            return Err(Reject::NotPeer);
        }
        if adv.version != self.cfg.version {
            return Err(Reject::Version);
        }
        if self.cfg.version == 2 {
            let want = if self.cfg.password.is_some() {
                AUTH_PASS
            } else {
                AUTH_NONE
            };
            if adv.auth_type != want {
                return Err(Reject::AuthType);
            }
            if let Some(pw) = &self.cfg.password
                && adv.auth_data != auth_data(pw)
            {
                return Err(Reject::AuthFailure);
            }
            if adv.interval_us() != self.cfg.adver_int_us {
                return Err(Reject::Interval);
            }
        }
        if adv.addrs.len() != self.cfg.vips.len() {
            return Err(Reject::AddrCount);
        }
        if !self.cfg.vips.iter().all(|v| adv.addrs.contains(v)) {
            return Err(Reject::AddrList);
        }
        Ok(())
    }

    /// Processes a received advert. Rejected adverts change nothing but a counter.
    pub fn receive(&mut self, now: u64, adv: &Advert, out: &mut Vec<Action>) -> Result<(), Reject> {
        if let Err(r) = self.check(adv) {
            if r != Reject::OtherVrid && r != Reject::Own {
                self.stats.adverts_rejected += 1;
            }
            return Err(r);
        }
        self.stats.adverts_received += 1;
        if adv.priority == PRIO_STOP {
            self.stats.priority_zero_received += 1;
        }
        match self.state {
            State::Backup => self.backup_rx(now, adv),
            State::Master => self.master_rx(now, adv, out),
            State::Init | State::Fault => {}
        }
        Ok(())
    }

    fn backup_rx(&mut self, now: u64, adv: &Advert) {
        if adv.priority == PRIO_STOP {
            // The master is leaving: take over after Skew_Time only.
            self.down_at = Some(now + self.skew_us());
            self.wants_master = false;
            return;
        }
        let preempt_delayed = self.cfg.preempt_delay_us > 0
            && match self.preempt_at {
                None => true,
                Some(t) => t > now,
            };
        if self.cfg.nopreempt || adv.priority >= self.effective_priority || preempt_delayed {
            if self.cfg.version == 3 {
                self.master_adver_int_us = adv.interval_us();
            }
            self.down_at = Some(now + self.master_down_interval_us());
            self.wants_master = false;
            self.master_addr = Some(adv.src);
            if self.cfg.preempt_delay_us > 0 {
                if adv.priority >= self.effective_priority {
                    self.preempt_at = None;
                } else if self.preempt_at.is_none() {
                    self.preempt_at = Some(now + self.cfg.preempt_delay_us);
                }
            }
        } else {
            // A lower-priority master and we may preempt: ignore it and let the
            // Master_Down_Timer run out.
            self.master_addr = Some(adv.src);
        }
    }

    fn master_rx(&mut self, now: u64, adv: &Advert, out: &mut Vec<Action>) {
        // Higher address wins a tie (RFC 5798 6.4.3).
        let theirs_higher = u32::from(adv.src) > u32::from(self.cfg.primary);
        if adv.priority == PRIO_STOP {
            // Another router gave up: assert ourselves at once.
            self.send(self.effective_priority, out);
            self.adver_at = Some(now + self.cfg.adver_int_us);
            return;
        }
        if adv.priority == self.effective_priority && self.effective_priority == PRIO_OWNER {
            // Two owners: keepalived reports a configuration error and steps down to 254.
            self.base_priority = PRIO_OWNER - 1;
            self.effective_priority = PRIO_OWNER - 1;
        }
        if adv.priority < self.effective_priority
            || (adv.priority == self.effective_priority && !theirs_higher)
        {
            // A lower-priority router thinks it is master: force a new election.
            self.send(self.effective_priority, out);
            self.adver_at = Some(now + self.cfg.adver_int_us);
            return;
        }
        // Higher priority, or equal with a higher address: step down.
        if self.cfg.version == 3 {
            self.master_adver_int_us = adv.interval_us();
        }
        self.master_addr = Some(adv.src);
        self.become_backup(now, out);
    }

    /// Applies a new effective priority from tracking (base + weights, clamped).
    pub fn set_effective_priority(&mut self, priority: u8) {
        self.effective_priority = priority;
    }

    /// Enters or leaves FAULT because of this instance's own tracking. Leaving MASTER for
    /// FAULT sends a priority-0 advert so a backup takes over at once.
    pub fn set_fault(&mut self, fault: bool, now: u64, out: &mut Vec<Action>) {
        let before = self.is_fault();
        self.fault = fault;
        self.apply_fault(before, now, out);
    }

    /// Enters or leaves FAULT because another member of the sync group is in FAULT.
    pub fn set_group_fault(&mut self, fault: bool, now: u64, out: &mut Vec<Action>) {
        let before = self.is_fault();
        self.group_fault = fault;
        self.apply_fault(before, now, out);
    }

    fn apply_fault(&mut self, before: bool, now: u64, out: &mut Vec<Action>) {
        let fault = self.is_fault();
        if fault == before || self.state == State::Init {
            return;
        }
        if fault {
            if self.state == State::Master {
                self.send(PRIO_STOP, out);
            }
            self.down_at = None;
            self.adver_at = None;
            self.garp_delay_at = None;
            self.garp_refresh_at = None;
            self.wants_master = false;
            self.transition(State::Fault, out);
        } else {
            self.master_adver_int_us = self.cfg.adver_int_us;
            self.transition(State::Backup, out);
            self.down_at = Some(now + self.master_down_interval_us());
        }
    }

    /// True when the instance's own tracking faults it (not counting its group).
    pub fn own_fault(&self) -> bool {
        self.fault
    }

    /// True when the instance is held in FAULT, by its own tracking or its group.
    pub fn is_fault(&self) -> bool {
        self.fault || self.group_fault
    }

    /// Stops the instance (daemon shutdown): a master sends priority 0 so the backup takes
    /// over after Skew_Time instead of Master_Down_Interval.
    pub fn shutdown(&mut self, out: &mut Vec<Action>) {
        if self.state == State::Master {
            self.send(PRIO_STOP, out);
        }
        self.down_at = None;
        self.adver_at = None;
        self.garp_delay_at = None;
        self.garp_refresh_at = None;
        self.wants_master = false;
        self.transition(State::Init, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;
    const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
    const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);
    const LOWER_PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

    fn cfg(priority: u8) -> InstanceConfig {
        InstanceConfig {
            name: "VI_1".into(),
            vrid: 51,
            version: 2,
            priority,
            adver_int_us: S,
            initial_master: false,
            nopreempt: false,
            preempt_delay_us: 0,
            password: Some(b"secret".to_vec()),
            vips: vec![VIP],
            primary: ME,
            unicast_peers: vec![],
            garp_repeat: 5,
            garp_delay_us: 5 * S,
            garp_refresh_us: 0,
            garp_refresh_repeat: 1,
        }
    }

    fn advert(from: Ipv4Addr, priority: u8) -> Advert {
        Advert {
            src: from,
            dst: super::super::packet::VRRP_GROUP,
            ttl: 255,
            version: 2,
            vrid: 51,
            priority,
            adver_int: 1,
            auth_type: AUTH_PASS,
            auth_data: auth_data(b"secret"),
            addrs: vec![VIP],
        }
    }

    /// Runs the instance to `until`, stepping to each deadline, collecting actions.
    fn run(i: &mut Instance, from: u64, until: u64, out: &mut Vec<Action>) -> u64 {
        let mut now = from;
        loop {
            i.poll(now, out);
            i.settle(now, out);
            match i.next_deadline() {
                Some(t) if t <= until => now = t.max(now),
                _ => return now,
            }
        }
    }

    fn transitions(out: &[Action]) -> Vec<(State, State)> {
        out.iter()
            .filter_map(|a| match a {
                Action::Transition { from, to } => Some((*from, *to)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn alone_it_becomes_master_after_master_down_interval() {
        // keepalived, advert_int 1, priority 100: MASTER after 3 + 156/256 s.
        let mut i = Instance::new(cfg(100));
        let mut out = vec![];
        i.start(0, &mut out);
        assert_eq!(i.state(), State::Backup);
        assert_eq!(i.master_down_interval_us(), 3 * S + 609_375);
        run(&mut i, 0, 3 * S + 609_374, &mut out);
        assert_eq!(i.state(), State::Backup);
        out.clear();
        run(&mut i, 3 * S + 609_374, 3 * S + 609_375, &mut out);
        assert_eq!(i.state(), State::Master);
        assert_eq!(
            out,
            vec![
                Action::Transition {
                    from: State::Backup,
                    to: State::Master
                },
                Action::SendAdvert { priority: 100 },
                Action::Garp { count: 5 },
            ]
        );
        // Then an advert every second and the second GARP burst 5 s later.
        out.clear();
        let t0 = 3 * S + 609_375;
        run(&mut i, t0, t0 + 5 * S, &mut out);
        let adverts = out
            .iter()
            .filter(|a| **a == Action::SendAdvert { priority: 100 })
            .count();
        assert_eq!(adverts, 5);
        assert_eq!(
            out.iter()
                .filter(|a| **a == Action::Garp { count: 5 })
                .count(),
            1
        );
    }

    #[test]
    fn owner_with_state_master_waits_one_interval_plus_skew() {
        let mut c = cfg(255);
        c.initial_master = true;
        let mut i = Instance::new(c);
        let mut out = vec![];
        i.start(0, &mut out);
        assert_eq!(i.next_deadline(), Some(S + 3_906));
        run(&mut i, 0, S + 3_906, &mut out);
        assert_eq!(i.state(), State::Master);
    }

    #[test]
    fn v3_skew_and_learned_interval() {
        let mut c = cfg(100);
        c.version = 3;
        c.password = None;
        c.adver_int_us = S; // 100 cs
        let mut i = Instance::new(c);
        let mut out = vec![];
        i.start(0, &mut out);
        // (156 * 100) / 256 = 60 cs.
        assert_eq!(i.skew_us(), 600_000);
        let mut a = advert(PEER, 150);
        a.version = 3;
        a.auth_type = AUTH_NONE;
        a.auth_data = [0; 8];
        a.adver_int = 50; // master advertises every 0.5 s
        i.receive(10, &a, &mut out).unwrap();
        // 3 * 0.5 s + (156 * 50) / 256 = 30 cs.
        assert_eq!(i.next_deadline(), Some(10 + 1_500_000 + 300_000));
    }

    #[test]
    fn a_higher_priority_master_keeps_us_backup_and_priority_zero_speeds_takeover() {
        let mut i = Instance::new(cfg(100));
        let mut out = vec![];
        i.start(0, &mut out);
        for k in 1..10u64 {
            i.receive(k * S, &advert(PEER, 150), &mut out).unwrap();
            run(&mut i, k * S, k * S + S - 1, &mut out);
            assert_eq!(i.state(), State::Backup);
        }
        assert_eq!(i.master_addr(), Some(PEER));
        // The master shuts down: priority 0 -> we take over after Skew_Time (0.61 s).
        i.receive(10 * S, &advert(PEER, 0), &mut out).unwrap();
        assert_eq!(i.next_deadline(), Some(10 * S + 609_375));
        out.clear();
        run(&mut i, 10 * S, 10 * S + 609_375, &mut out);
        assert_eq!(i.state(), State::Master);
        assert_eq!(i.stats().priority_zero_received, 1);
    }

    #[test]
    fn a_master_steps_down_for_higher_priority_and_reasserts_against_lower() {
        let mut i = Instance::new(cfg(150));
        let mut out = vec![];
        i.start(0, &mut out);
        run(&mut i, 0, 10 * S, &mut out);
        assert_eq!(i.state(), State::Master);
        out.clear();
        // Lower priority: send our advert at once, stay master.
        i.receive(10 * S + 5, &advert(PEER, 100), &mut out).unwrap();
        assert_eq!(out, vec![Action::SendAdvert { priority: 150 }]);
        assert_eq!(i.state(), State::Master);
        out.clear();
        // Equal priority from a lower address: we win.
        i.receive(10 * S + 6, &advert(LOWER_PEER, 150), &mut out)
            .unwrap();
        assert_eq!(i.state(), State::Master);
        // Equal priority from a higher address: we lose.
        out.clear();
        i.receive(10 * S + 7, &advert(PEER, 150), &mut out).unwrap();
        assert_eq!(i.state(), State::Backup);
        assert_eq!(transitions(&out), vec![(State::Master, State::Backup)]);
    }

    #[test]
    fn preemption_nopreempt_and_preempt_delay() {
        // Preempt (default): a lower-priority master is ignored, we take over after
        // Master_Down_Interval.
        let mut i = Instance::new(cfg(200));
        let mut out = vec![];
        i.start(0, &mut out);
        let mut now = 0;
        while now < 3 * S {
            now += S / 2;
            i.receive(now, &advert(PEER, 100), &mut out).unwrap();
            run(&mut i, now, now, &mut out);
        }
        run(&mut i, now, 4 * S, &mut out);
        assert_eq!(i.state(), State::Master, "preempts a lower master");

        // nopreempt: stays backup while the lower master advertises.
        let mut c = cfg(200);
        c.nopreempt = true;
        let mut i = Instance::new(c);
        let mut out = vec![];
        i.start(0, &mut out);
        for k in 1..20u64 {
            i.receive(k * S, &advert(PEER, 100), &mut out).unwrap();
            run(&mut i, k * S, k * S + S - 1, &mut out);
        }
        assert_eq!(i.state(), State::Backup, "nopreempt never preempts");

        // preempt_delay 5 s: the lower master is accepted for 5 s from startup, then
        // ignored, so we take over at ~5 s + Master_Down_Interval at the latest.
        let mut c = cfg(200);
        c.preempt_delay_us = 5 * S;
        let mut i = Instance::new(c);
        let mut out = vec![];
        i.start(0, &mut out);
        let mut master_at = None;
        for k in 1..30u64 {
            let t = k * S / 2;
            if i.state() == State::Backup {
                i.receive(t, &advert(PEER, 100), &mut out).unwrap();
            }
            run(&mut i, t, t + S / 2 - 1, &mut out);
            if i.state() == State::Master && master_at.is_none() {
                master_at = Some(t);
            }
        }
        let at = master_at.expect("takes over after the delay");
        assert!(at >= 5 * S, "not before preempt_delay: {at}");
        assert!(at <= 5 * S + i.master_down_interval_us() + S, "{at}");
    }

    #[test]
    fn invalid_adverts_change_nothing() {
        let mut i = Instance::new(cfg(100));
        let mut out = vec![];
        i.start(0, &mut out);
        let deadline = i.next_deadline();
        let mut bad = vec![];
        let mut a = advert(PEER, 200);
        a.ttl = 254;
        bad.push((a, Reject::Ttl));
        let mut a = advert(PEER, 200);
        a.auth_data = auth_data(b"wrong");
        bad.push((a, Reject::AuthFailure));
        let mut a = advert(PEER, 200);
        a.auth_type = AUTH_NONE;
        bad.push((a, Reject::AuthType));
        let mut a = advert(PEER, 200);
        a.adver_int = 2;
        bad.push((a, Reject::Interval));
        let mut a = advert(PEER, 200);
        a.addrs = vec![Ipv4Addr::new(10, 0, 0, 99)];
        bad.push((a, Reject::AddrList));
        let mut a = advert(PEER, 200);
        a.addrs = vec![];
        bad.push((a, Reject::AddrCount));
        let mut a = advert(PEER, 200);
        a.version = 3;
        bad.push((a, Reject::Version));
        for (a, why) in bad {
            assert_eq!(i.receive(S, &a, &mut out), Err(why));
            assert_eq!(i.next_deadline(), deadline);
            assert!(out.iter().all(|x| !matches!(x, Action::SendAdvert { .. })));
        }
        assert_eq!(i.stats().adverts_rejected, 7);
        let mut other = advert(PEER, 200);
        other.vrid = 52;
        assert_eq!(i.receive(S, &other, &mut out), Err(Reject::OtherVrid));
        assert_eq!(i.stats().adverts_rejected, 7);
    }

    #[test]
    fn unicast_accepts_only_configured_peers_and_any_ttl() {
        let mut c = cfg(100);
        c.unicast_peers = vec![PEER];
        let mut i = Instance::new(c);
        let mut out = vec![];
        i.start(0, &mut out);
        let mut a = advert(PEER, 200);
        a.ttl = 64;
        assert_eq!(i.receive(S, &a, &mut out), Ok(()));
        let spoof = advert(Ipv4Addr::new(10, 0, 0, 66), 254);
        assert_eq!(i.receive(S, &spoof, &mut out), Err(Reject::NotPeer));
    }

    #[test]
    fn fault_sends_priority_zero_and_recovery_goes_backup() {
        let mut i = Instance::new(cfg(100));
        let mut out = vec![];
        i.start(0, &mut out);
        run(&mut i, 0, 5 * S, &mut out);
        assert_eq!(i.state(), State::Master);
        out.clear();
        i.set_fault(true, 5 * S, &mut out);
        assert_eq!(
            out,
            vec![
                Action::SendAdvert { priority: 0 },
                Action::Transition {
                    from: State::Master,
                    to: State::Fault
                }
            ]
        );
        assert_eq!(i.next_deadline(), None);
        out.clear();
        i.set_fault(false, 6 * S, &mut out);
        assert_eq!(i.state(), State::Backup);
        assert_eq!(i.next_deadline(), Some(6 * S + i.master_down_interval_us()));
    }

    #[test]
    fn shutdown_of_a_master_sends_priority_zero() {
        let mut i = Instance::new(cfg(100));
        let mut out = vec![];
        i.start(0, &mut out);
        run(&mut i, 0, 5 * S, &mut out);
        out.clear();
        i.shutdown(&mut out);
        assert_eq!(out[0], Action::SendAdvert { priority: 0 });
        assert_eq!(i.state(), State::Init);
        // A backup shutting down sends nothing.
        let mut j = Instance::new(cfg(100));
        let mut out = vec![];
        j.start(0, &mut out);
        out.clear();
        j.shutdown(&mut out);
        assert!(out.iter().all(|a| !matches!(a, Action::SendAdvert { .. })));
    }

    #[test]
    fn two_owners_step_one_down_to_254() {
        let mut i = Instance::new(cfg(255));
        let mut out = vec![];
        i.start(0, &mut out);
        run(&mut i, 0, 5 * S, &mut out);
        assert_eq!(i.state(), State::Master);
        i.receive(5 * S, &advert(PEER, 255), &mut out).unwrap();
        assert_eq!(i.base_priority(), 254);
        // PEER's address is higher, so we yield.
        assert_eq!(i.state(), State::Backup);
    }
}
