//! The weighted comparisons the least-connection family shares.
//!
//! IPVS compares loads `h1/w1 > h2/w2` without division, as `h1*w2 > h2*w1`. rvs does the
//! same in 128-bit arithmetic, so no weight or count can overflow the products.

use super::dest::DestState;
use super::dests::{DestId, DestSet};

/// `a_load / a_weight > b_load / b_weight`, by cross-multiplication.
pub(crate) fn heavier(a_load: u64, a_weight: u32, b_load: u64, b_weight: u32) -> bool {
    u128::from(a_load) * u128::from(b_weight) > u128::from(b_load) * u128::from(a_weight)
}

/// The available server with the least `load / weight`; the first one on ties.
///
/// This is the two-stage loop of `ip_vs_wlc_schedule` (and sed, lblc, lblcr): the first
/// available server seeds the search, later servers replace it only when strictly lighter.
/// IPVS's second stage does not re-check the weight, but a zero weight can never be
/// strictly lighter, so filtering on availability picks the same server.
pub(crate) fn least_weighted(
    dests: &DestSet,
    ids: impl Iterator<Item = DestId>,
    load: impl Fn(&DestState) -> u64,
) -> Option<DestId> {
    let mut least: Option<(DestId, u64, u32)> = None;
    for id in ids {
        let Some(d) = dests.get(id) else { continue };
        if !d.available() {
            continue;
        }
        let l = load(d);
        match least {
            Some((_, ll, lw)) if !heavier(ll, lw, l, d.weight()) => {}
            _ => least = Some((id, l, d.weight())),
        }
    }
    least.map(|(id, _, _)| id)
}

/// IPVS `is_overloaded` of lblc/lblcr: the server has more active connections than its
/// weight while some listed server is below half of its own weight.
pub(crate) fn locality_overloaded(dests: &DestSet, dest: &DestState) -> bool {
    u64::from(dest.active_conns()) > u64::from(dest.weight())
        && dests
            .iter()
            .any(|(_, d)| u64::from(d.active_conns()) * 2 < u64::from(d.weight()))
}
