//! The per-worker state of one real server ("destination") of a virtual service.
//!
//! A worker keeps one [`DestState`] per real server per service. It holds what the
//! snapshot says (address, weight, thresholds) and what only the worker knows (its own
//! connection counts and the overload flag they drive). The counting rules are those of
//! Linux IPVS: `ip_vs_bind_dest` / `ip_vs_unbind_dest` (net/netfilter/ipvs/ip_vs_conn.c)
//! and `__ip_vs_update_dest` (ip_vs_ctl.c).
//!
//! # Shared nothing: counts and thresholds are per worker
//!
//! IPVS has one set of counters per real server; rvs has one per worker, because workers
//! share nothing. The least-connection family (lc, wlc, sed, nq, lblc, lblcr, ovf) therefore
//! decides on the worker's own share of the connections, as DPVS does. With RSS spreading
//! clients evenly this approximates the global decision. Upper/lower thresholds (`-x`/`-y`)
//! are per worker too: split a global threshold with [`per_worker_threshold`].

use std::fmt;
use std::net::IpAddr;

/// How a real server is identified inside its service (as IPVS does: address and port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DestKey {
    pub addr: IpAddr,
    pub port: u16,
}

impl fmt::Display for DestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

/// What the snapshot says about a real server: the input of a (re)build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DestSpec {
    pub key: DestKey,
    /// 0 = quiescent: no new connections, existing ones continue.
    pub weight: u32,
    /// `-x`: overloaded once this many connections are bound (0 = no limit). Per worker.
    pub upper_threshold: u32,
    /// `-y`: the overload flag clears below this many (0 = three quarters of the upper).
    pub lower_threshold: u32,
}

impl DestSpec {
    /// A real server with a weight and no thresholds.
    pub fn new(addr: IpAddr, port: u16, weight: u32) -> Self {
        DestSpec {
            key: DestKey { addr, port },
            weight,
            upper_threshold: 0,
            lower_threshold: 0,
        }
    }

    /// The same server with thresholds (per worker values).
    pub fn with_thresholds(mut self, upper: u32, lower: u32) -> Self {
        self.upper_threshold = upper;
        self.lower_threshold = lower;
        self
    }
}

/// Which counter a connection is kept in (IPVS: `IP_VS_CONN_F_INACTIVE`, `_TEMPLATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnKind {
    /// An established TCP connection.
    Active,
    /// Any other connection (TCP not established, UDP, ICMP).
    Inactive,
    /// A persistence template: counted apart, never in the load figures.
    Template,
}

/// One real server as one worker sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestState {
    key: DestKey,
    weight: u32,
    /// The latest non-zero weight (IPVS `last_weight`): mh keeps a quiesced server's
    /// table slots with it, so quiescing does not reshuffle the other servers.
    last_weight: u32,
    upper_threshold: u32,
    lower_threshold: u32,
    active: u32,
    inactive: u32,
    persistent: u32,
    overloaded: bool,
    /// False once the snapshot no longer lists the server (IPVS: the trash, without
    /// `IP_VS_DEST_F_AVAILABLE`); its connections continue until they end.
    in_service: bool,
}

impl DestState {
    /// A server just added to its service.
    pub fn new(spec: &DestSpec) -> Self {
        DestState {
            key: spec.key,
            weight: spec.weight,
            last_weight: spec.weight,
            upper_threshold: spec.upper_threshold,
            lower_threshold: spec.lower_threshold,
            active: 0,
            inactive: 0,
            persistent: 0,
            overloaded: false,
            in_service: true,
        }
    }

    /// Applies a new snapshot entry for the same server, as `__ip_vs_update_dest` does:
    /// `last_weight` follows only non-zero weights, and the overload flag is cleared
    /// when the upper threshold is removed or raised (never set here: only a bind sets it).
    /// Connection counts are kept.
    pub fn update(&mut self, spec: &DestSpec) {
        if spec.weight != 0 || !self.in_service {
            self.last_weight = spec.weight;
        }
        self.weight = spec.weight;
        if spec.upper_threshold == 0 || spec.upper_threshold > self.upper_threshold {
            self.overloaded = false;
        }
        self.upper_threshold = spec.upper_threshold;
        self.lower_threshold = spec.lower_threshold;
        self.in_service = true;
    }

    /// The snapshot dropped this server: no new connections, existing ones continue.
    pub(crate) fn retire(&mut self) {
        self.in_service = false;
    }

    /// Takes the slot over for another server (only when it holds no connection).
    pub(crate) fn reuse(&mut self, spec: &DestSpec) {
        *self = DestState::new(spec);
    }

    /// Counts a new connection (IPVS `ip_vs_bind_dest`): the overload flag is set once
    /// active + inactive reaches the upper threshold.
    pub fn bind(&mut self, kind: ConnKind) {
        match kind {
            ConnKind::Active => self.active = self.active.saturating_add(1),
            ConnKind::Inactive => self.inactive = self.inactive.saturating_add(1),
            ConnKind::Template => self.persistent = self.persistent.saturating_add(1),
        }
        if self.upper_threshold != 0 && self.total_conns() >= u64::from(self.upper_threshold) {
            self.overloaded = true;
        }
    }

    /// Uncounts an ended connection (IPVS `ip_vs_unbind_dest`): with a lower threshold the
    /// flag clears below it; without one, below three quarters of the upper threshold;
    /// with no threshold at all it clears. Counts saturate at zero rather than wrap, so a
    /// caller's double unbind cannot make a server look infinitely loaded.
    pub fn unbind(&mut self, kind: ConnKind) {
        match kind {
            ConnKind::Active => self.active = self.active.saturating_sub(1),
            ConnKind::Inactive => self.inactive = self.inactive.saturating_sub(1),
            ConnKind::Template => self.persistent = self.persistent.saturating_sub(1),
        }
        let total = self.total_conns();
        if self.lower_threshold != 0 {
            if total < u64::from(self.lower_threshold) {
                self.overloaded = false;
            }
        } else if self.upper_threshold != 0 {
            if total * 4 < u64::from(self.upper_threshold) * 3 {
                self.overloaded = false;
            }
        } else {
            self.overloaded = false;
        }
    }

    /// A connection became established (TCP state machine): inactive -> active.
    /// As in IPVS, thresholds are not re-evaluated: the total does not change.
    pub fn activate(&mut self) {
        self.inactive = self.inactive.saturating_sub(1);
        self.active = self.active.saturating_add(1);
    }

    /// A connection left the established state: active -> inactive.
    pub fn deactivate(&mut self) {
        self.active = self.active.saturating_sub(1);
        self.inactive = self.inactive.saturating_add(1);
    }

    /// May receive new connections: listed, weight > 0 and not overloaded.
    pub fn available(&self) -> bool {
        self.in_service && self.weight > 0 && !self.overloaded
    }

    /// IPVS `ip_vs_dest_conn_overhead`: an active connection costs 256 inactive ones.
    pub fn overhead(&self) -> u64 {
        (u64::from(self.active) << 8) + u64::from(self.inactive)
    }

    /// Connections the thresholds count (templates excluded, as in IPVS).
    pub fn total_conns(&self) -> u64 {
        u64::from(self.active) + u64::from(self.inactive)
    }

    /// Every connection that still refers to this server, templates included.
    pub fn refs(&self) -> u64 {
        self.total_conns() + u64::from(self.persistent)
    }

    pub fn key(&self) -> DestKey {
        self.key
    }
    pub fn weight(&self) -> u32 {
        self.weight
    }
    pub fn last_weight(&self) -> u32 {
        self.last_weight
    }
    pub fn upper_threshold(&self) -> u32 {
        self.upper_threshold
    }
    pub fn lower_threshold(&self) -> u32 {
        self.lower_threshold
    }
    pub fn active_conns(&self) -> u32 {
        self.active
    }
    pub fn inactive_conns(&self) -> u32 {
        self.inactive
    }
    pub fn persistent_conns(&self) -> u32 {
        self.persistent
    }
    pub fn overloaded(&self) -> bool {
        self.overloaded
    }
    pub fn in_service(&self) -> bool {
        self.in_service
    }

    /// Test and benchmark helper: sets the counts directly.
    #[doc(hidden)]
    pub fn set_counts(&mut self, active: u32, inactive: u32) {
        self.active = active;
        self.inactive = inactive;
    }
}

/// Splits a global connection threshold (`-x` or `-y`) across `workers` workers.
///
/// Each worker enforces its share on its own connections. The share is rounded up, so the
/// director as a whole admits at most `global + workers - 1` connections before every
/// worker flags the server: rounding down could give a worker 0, which IPVS reads as "no
/// limit". 0 stays 0 (no threshold); `workers == 0` is treated as one worker.
pub fn per_worker_threshold(global: u32, workers: usize) -> u32 {
    if global == 0 {
        return 0;
    }
    let n = u32::try_from(workers.max(1)).unwrap_or(u32::MAX);
    global.div_ceil(n)
}
