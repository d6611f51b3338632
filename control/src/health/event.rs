//! What the engine tells the director.

use std::net::SocketAddr;

use proto::ServiceKey;

/// A change of a real server's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerChange {
    /// All checkers up: the server goes (back) into the table.
    Up,
    /// A checker failed: the server leaves the table (or gets weight 0 with
    /// inhibit_on_failure).
    Down,
    /// MISC_CHECK misc_dynamic set the server's weight (the configured weight when the
    /// script went back to exit 0).
    Weight(u32),
}

/// One event of the health engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthEvent {
    Server {
        service: ServiceKey,
        dest: SocketAddr,
        change: ServerChange,
        /// Why: the failing checker's reason, "ok", or "alpha" for a server that starts
        /// down until its first successful check.
        reason: String,
    },
    /// The service gained or lost its quorum (the sorry server goes out or in).
    Quorum {
        service: ServiceKey,
        up: bool,
        weight_sum: u64,
    },
}
