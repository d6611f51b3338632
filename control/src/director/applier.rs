//! How a new configuration reaches the dataplane.
//!
//! The daemon implements [`Applier`]: it compiles the effective configuration into the
//! dataplane's immutable snapshot (keyed by the [`Ids`]) and sends it to every worker over a
//! crossbeam channel; the workers swap it in between two bursts, so no packet sees half a
//! change. The director calls it before persisting and committing; an error means the
//! dataplane still runs the previous snapshot, and the director replies with the error and
//! changes nothing. Keeping this a trait lets the control plane be tested without a
//! dataplane and lets the daemon choose how to build and hand over snapshots.

use super::ids::Ids;
use crate::config::Config;

/// Hands an effective configuration to the dataplane.
pub trait Applier: Send {
    /// Makes `cfg` the running configuration of the dataplane: the effective configuration
    /// with only the scheduler flags a scheduler acts on ([`super::dataplane_view`]).
    /// `ids` names every service and real server of `cfg`; its retired lists name what left, whose existing
    /// connections the dataplane keeps until they end. On `Err` the dataplane must still
    /// run what it ran before the call.
    fn apply(&mut self, cfg: &Config, ids: &Ids) -> Result<(), String>;
}
