//! nq — never queue (IPVS `ip_vs_nq.c`).
//!
//! The first available server with no active connection; when every server is busy, the
//! sed choice ((active + 1) / weight, first on ties).
//!
//! Differences from IPVS: none (counts are per worker, see [`super::dest`]).

use super::dests::{DestId, DestSet};
use super::least::heavier;
use super::sed::expected_load;

pub fn pick(dests: &DestSet) -> Option<DestId> {
    let mut least: Option<(DestId, u64, u32)> = None;
    for (id, d) in dests.iter() {
        if !d.available() {
            continue;
        }
        if d.active_conns() == 0 {
            return Some(id);
        }
        let load = expected_load(d);
        if least.is_none_or(|(_, ll, lw)| heavier(ll, lw, load, d.weight())) {
            least = Some((id, load, d.weight()));
        }
    }
    least.map(|(id, _, _)| id)
}
