//! lc — least connection (IPVS `ip_vs_lc.c`).
//!
//! The available server with the smallest overhead (active * 256 + inactive), weights
//! ignored except that 0 quiesces; the first one on ties.
//!
//! Differences from IPVS: none (counts are per worker, see [`super::dest`]).

use super::dests::{DestId, DestSet};

pub fn pick(dests: &DestSet) -> Option<DestId> {
    let mut least: Option<(DestId, u64)> = None;
    for (id, d) in dests.iter() {
        if !d.available() {
            continue;
        }
        let oh = d.overhead();
        if least.is_none_or(|(_, l)| oh < l) {
            least = Some((id, oh));
        }
    }
    least.map(|(id, _)| id)
}
