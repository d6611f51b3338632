//! wrr — weighted round robin (IPVS `ip_vs_wrr.c`), step for step.
//!
//! The cycle: `di` is the gcd of the non-zero weights, `mw` the largest weight less
//! `di - 1`, `cw` the current weight. Each pass walks the servers in order and takes those
//! with weight >= `cw`; after a pass `cw` drops by `di`, and from `mw` again once it reaches
//! 0. Weights 4, 3, 2 (A, B, C) give A A B A B C A B C, each server its weight's share.
//! Overloaded servers are skipped; the pass structure (`last_pass`, `stop`) is IPVS's, so
//! a fully overloaded service returns `None` after one full check, never loops.
//!
//! On a new snapshot rvs does what IPVS's `ip_vs_wrr_dest_changed` does once: restart at
//! the list head, recompute `di`/`mw`, and keep `cw` (clamped to the new `mw`, or aligned
//! to the new `di`). IPVS calls it once per changed server; rvs once per snapshot, which
//! ends in the same state unless an intermediate state's `mw` would have clamped `cw`.
//!
//! Where rvs differs: passes that cannot find a server (their `cw` exceeds every available
//! weight) are skipped in one step instead of walked, which yields the same picks and the
//! same final state while bounding a pick to a few walks of the list whatever the weights.

use super::dests::{DestId, DestSet};

#[derive(Debug, Clone, Default)]
pub struct WeightedRoundRobin {
    order: Vec<DestId>,
    /// Position of the current server, `None` = the list head.
    cl: Option<usize>,
    cw: i64,
    mw: i64,
    di: i64,
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl WeightedRoundRobin {
    pub fn new(dests: &DestSet) -> Self {
        let mut s = WeightedRoundRobin::default();
        s.recompute(dests);
        s.cw = s.mw;
        s
    }

    /// `di` and `mw` from the listed weights (IPVS `ip_vs_wrr_gcd_weight`/`_max_weight`).
    fn recompute(&mut self, dests: &DestSet) {
        self.order = dests.order().to_vec();
        self.cl = None;
        let weights = || dests.iter().map(|(_, d)| i64::from(d.weight()));
        let g = weights().filter(|w| *w > 0).fold(0, gcd);
        self.di = if g > 0 { g } else { 1 };
        self.mw = weights().max().unwrap_or(0) - (self.di - 1);
    }

    pub fn rebuild(&mut self, dests: &DestSet) {
        self.recompute(dests);
        if self.cw > self.mw || self.cw == 0 {
            self.cw = self.mw;
        } else if self.di > 1 {
            self.cw = (self.cw / self.di) * self.di + 1;
        }
    }

    fn eligible(&self, dests: &DestSet, id: DestId) -> bool {
        dests
            .get(id)
            .is_some_and(|d| d.in_service() && !d.overloaded() && i64::from(d.weight()) >= self.cw)
    }

    pub fn pick(&mut self, dests: &DestSet) -> Option<DestId> {
        if self.mw <= 0 {
            return None;
        }
        let n = self.order.len();
        let last = self.cl;
        let mut pos = self.cl;
        let mut stop: Option<usize> = None;
        let (mut last_pass, mut restarted) = (false, false);
        let mut reachable: Option<i64> = None;
        loop {
            let from = pos.map_or(0, |p| p + 1);
            for p in from..n {
                let Some(&id) = self.order.get(p) else { break };
                if self.eligible(dests, id) {
                    self.cl = Some(p);
                    return Some(id);
                }
                if stop == Some(p) {
                    self.cl = Some(p);
                    return None;
                }
            }
            pos = None;
            self.cw -= self.di;
            if self.cw <= 0 {
                self.cw = self.mw;
                if last_pass || last.is_none() {
                    self.cl = None;
                    return None;
                }
                restarted = true;
            }
            // Passes at a `cw` above every available server's weight find nothing; IPVS
            // walks them one by one (2^32 passes with a weight near u32::MAX), rvs jumps
            // to the first `cw` of the same sequence that can find a server. It never jumps
            // past the last pass (`cw <= di`), whose `stop` logic ends a fruitless search.
            let top = *reachable.get_or_insert_with(|| self.max_available_weight(dests));
            let floor = top.max(self.di);
            if self.cw > floor {
                let passes = (self.cw - floor + self.di - 1) / self.di;
                self.cw -= passes * self.di;
            }
            last_pass = self.cw <= self.di;
            if last_pass && restarted && last.is_some() {
                stop = last;
            }
        }
    }

    /// The largest weight of a server that a pass may take.
    fn max_available_weight(&self, dests: &DestSet) -> i64 {
        self.order
            .iter()
            .filter_map(|&id| dests.get(id))
            .filter(|d| d.in_service() && !d.overloaded())
            .map(|d| i64::from(d.weight()))
            .max()
            .unwrap_or(0)
    }
}
