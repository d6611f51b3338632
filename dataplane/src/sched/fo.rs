//! fo — weighted failover (IPVS `ip_vs_fo.c`).
//!
//! The available server with the highest weight; the first one on ties. All traffic goes
//! to one server until it is quiesced, overloaded or removed.
//!
//! Differences from IPVS: none.

use super::dests::{DestId, DestSet};

pub fn pick(dests: &DestSet) -> Option<DestId> {
    let mut best: Option<(DestId, u32)> = None;
    for (id, d) in dests.iter() {
        if d.available() && best.is_none_or(|(_, w)| d.weight() > w) {
            best = Some((id, d.weight()));
        }
    }
    best.map(|(id, _)| id)
}
