//! LVS-DR through a live rvsd: the director rewrites only the Ethernet header; the real
//! servers hold the VIP on `lo` (arp_ignore=1, arp_announce=2) and answer the client
//! directly through the router. See `live_fwd_common` for the phases.
mod live_fwd_common;

use lab::Mode;

#[test]
fn direct_routing_serves_real_clients_by_every_scheduler() {
    let Some((lab, _servers, director)) = live_fwd_common::setup(Mode::Dr) else {
        return;
    };
    live_fwd_common::run_phases(&lab, &director, Mode::Dr, |_| {});
    director.stop();
}
