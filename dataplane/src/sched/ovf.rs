//! ovf — weighted overflow (IPVS `ip_vs_ovf.c`).
//!
//! The available server with the highest weight among those whose active connections do
//! not exceed their weight; the first one on ties. Traffic stays on the heaviest server
//! and overflows to the next once it holds more than `weight` active connections.
//!
//! IPVS skips a server only when `activeconns > weight`, so a server at exactly its weight
//! still takes one more connection; rvs keeps that boundary.
//!
//! Differences from IPVS: none (counts are per worker, see [`super::dest`]).

use super::dests::{DestId, DestSet};

pub fn pick(dests: &DestSet) -> Option<DestId> {
    let mut best: Option<(DestId, u32)> = None;
    for (id, d) in dests.iter() {
        if !d.available() || d.active_conns() > d.weight() {
            continue;
        }
        if best.is_none_or(|(_, w)| d.weight() > w) {
            best = Some((id, d.weight()));
        }
    }
    best.map(|(id, _)| id)
}
