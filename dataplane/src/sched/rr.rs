//! rr — round robin (IPVS `ip_vs_rr.c`).
//!
//! Walks the listed servers circularly from the one after the last pick and takes the
//! first available one. When a snapshot drops the last-picked server, the walk resumes
//! after its nearest listed predecessor, as IPVS's `ip_vs_rr_del_dest` does; a change
//! that keeps it keeps the position.
//!
//! Differences from IPVS: none beyond the snapshot model (one rebuild per snapshot
//! instead of one callback per changed server, with the same resulting position).

use super::dests::{DestId, DestSet};

#[derive(Debug, Clone, Default)]
pub struct RoundRobin {
    /// Position in `order` of the last pick, or `None` for "before the first server"
    /// (IPVS's list head).
    last: Option<usize>,
    /// The order this scheduler was built for.
    order: Vec<DestId>,
}

impl RoundRobin {
    pub fn new(dests: &DestSet) -> Self {
        RoundRobin {
            last: None,
            order: dests.order().to_vec(),
        }
    }

    pub fn rebuild(&mut self, dests: &DestSet) {
        let new_order = dests.order();
        let position_in_new = |id: &DestId| new_order.iter().position(|n| n == id);
        // The last pick if still listed, else its nearest predecessor that is.
        self.last = self.last.and_then(|pos| {
            self.order
                .get(..=pos)
                .and_then(|upto| upto.iter().rev().find_map(position_in_new))
        });
        self.order = new_order.to_vec();
    }

    pub fn pick(&mut self, dests: &DestSet) -> Option<DestId> {
        let n = self.order.len();
        let start = self.last.map_or(0, |p| p + 1);
        for k in 0..n {
            let pos = (start + k) % n;
            if let Some(&id) = self.order.get(pos)
                && dests.available(id)
            {
                self.last = Some(pos);
                return Some(id);
            }
        }
        None
    }
}
