//! LVS-NAT through a live rvsd: the director rewrites the destination (VIP:80 to the real
//! server's own address and port 8080) and, since the real servers route back through it
//! (10.0.0.2 is their gateway), the source of every reply. See `live_fwd_common` for the
//! phases.
mod live_fwd_common;

use lab::Mode;

#[test]
fn masquerading_serves_real_clients_by_every_scheduler() {
    let Some((lab, _servers, director)) = live_fwd_common::setup(Mode::Nat) else {
        return;
    };
    live_fwd_common::run_phases(&lab, &director, Mode::Nat, |_| {});
    director.stop();
}
