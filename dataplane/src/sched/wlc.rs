//! wlc — weighted least connection (IPVS `ip_vs_wlc.c`, IPVS's default scheduler).
//!
//! The available server with the least overhead / weight, overhead = active * 256 +
//! inactive, compared by cross-multiplication; the first one on ties.
//!
//! Differences from IPVS: none (counts are per worker, see [`super::dest`]).

use super::dests::{DestId, DestSet};
use super::least::least_weighted;

pub fn pick(dests: &DestSet) -> Option<DestId> {
    least_weighted(dests, dests.order().iter().copied(), |d| d.overhead())
}
