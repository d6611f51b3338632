//! sed — shortest expected delay (IPVS `ip_vs_sed.c`).
//!
//! The available server with the least (active + 1) / weight: unlike wlc it counts the
//! incoming connection and ignores inactive ones. First one on ties.
//!
//! Differences from IPVS: none (counts are per worker, see [`super::dest`]).

use super::dests::{DestId, DestSet};
use super::least::least_weighted;

/// The expected delay's numerator: the server's active connections plus this one.
pub(crate) fn expected_load(d: &super::dest::DestState) -> u64 {
    u64::from(d.active_conns()) + 1
}

pub fn pick(dests: &DestSet) -> Option<DestId> {
    least_weighted(dests, dests.order().iter().copied(), expected_load)
}
