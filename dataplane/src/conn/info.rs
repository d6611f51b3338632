//! What the table reports: connection snapshots for `-Lnc` listings and expiry, state
//! transitions for the destination counters, and the table's own counters.

use super::entry::{ConnFlags, Forward};
use super::key::Proto;
use super::tcp::TcpState;

/// A slab position. Valid until the entry is removed (by [`super::ConnTable::remove`] or
/// [`super::ConnTable::expire`]); a handle kept past that may name a different entry later,
/// so a worker holds handles only while it processes one burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnHandle(pub(crate) u32);

impl ConnHandle {
    /// The slab position, for diagnostics.
    pub fn index(self) -> u32 {
        self.0
    }
}

/// The protocol state of an entry, as IPVS names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnState {
    Tcp(TcpState),
    /// UDP has one state.
    Udp,
    Icmp,
}

impl ConnState {
    /// The state column of `ipvsadm -Lnc` ("ESTABLISHED", "UDP", ...).
    pub fn name(self) -> &'static str {
        match self {
            ConnState::Tcp(s) => s.name(),
            ConnState::Udp => "UDP",
            ConnState::Icmp => "ICMP",
        }
    }
}

/// How a packet changed a connection's active/inactive class: the caller moves one count
/// between the destination's ActiveConn and InActConn accordingly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activity {
    Unchanged,
    /// InActConn -1, ActiveConn +1.
    NowActive,
    /// ActiveConn -1, InActConn +1.
    NowInactive,
}

/// The result of [`super::ConnTable::update`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transition {
    pub from: ConnState,
    pub to: ConnState,
    pub activity: Activity,
}

/// A snapshot of one entry: a `-Lnc` row, or what an expiry hands back so the caller can
/// fix its counters and release a FULLNAT local port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnInfo<A> {
    pub handle: ConnHandle,
    pub proto: Proto,
    /// A persistence template rather than a connection.
    pub template: bool,
    /// A template taken out of service by [`super::ConnTable::invalidate_template`].
    pub invalidated: bool,
    pub caddr: A,
    pub cport: u16,
    pub vaddr: A,
    pub vport: u16,
    pub raddr: A,
    pub rport: u16,
    /// `None` for templates.
    pub forward: Option<Forward<A>>,
    pub state: ConnState,
    /// Counted in ActiveConn (else InActConn; templates count in PersistConn instead).
    pub active: bool,
    pub dest_id: u32,
    pub svc_id: u32,
    pub seq_delta: u32,
    pub flags: ConnFlags,
    /// Templates: connections they control. Connections: 0.
    pub n_control: u32,
    /// Connections: the template controlling it.
    pub controlled_by: Option<ConnHandle>,
    /// Milliseconds until the entry's timer fires (0 when due).
    pub expires_ms: u64,
}

impl<A> ConnInfo<A> {
    /// The `state` column of `ipvsadm -Lnc`.
    pub fn state_name(&self) -> &'static str {
        self.state.name()
    }

    /// Whole seconds to expiry, as IPVS computes the `expire` column (rounded down).
    pub fn expires_secs(&self) -> u64 {
        self.expires_ms / 1000
    }
}

/// One outcome of [`super::ConnTable::expire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry<A> {
    /// The entry is gone; its last state is given.
    Expired(ConnInfo<A>),
    /// A template's timer fired while it still controlled connections: it was kept and
    /// re-armed for [`super::TEMPLATE_REARM_SECS`].
    TemplateKept(ConnInfo<A>),
}

/// What one [`super::ConnTable::expire`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExpireSummary {
    /// Timers looked at (bounded by the budget).
    pub examined: u32,
    /// Entries freed.
    pub expired: u32,
    /// Templates kept because they still controlled connections.
    pub templates_kept: u32,
    /// Timers found not yet due (their deadline moved) and filed again.
    pub refiled: u32,
    /// Whether timers are still waiting to be examined (the budget ran out).
    pub backlog: bool,
}

/// The table's counters, kept by the worker that owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnTableStats {
    /// Live connections (templates excluded).
    pub conns: u32,
    /// Live templates.
    pub templates: u32,
    pub inserted: u64,
    /// Inserts refused because the table was full.
    pub refused_full: u64,
    pub expired: u64,
    pub removed: u64,
    pub templates_kept: u64,
}
