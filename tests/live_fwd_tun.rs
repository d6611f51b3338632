//! LVS-TUN through a live rvsd: the director wraps each client packet in IPIP to the real
//! server, which decapsulates it (tunl0 where the kernel has it, the lab's userspace
//! receiver otherwise), holds the VIP and answers the client directly. See
//! `live_fwd_common` for the phases.
mod live_fwd_common;

use lab::Mode;

#[test]
fn tunnelling_serves_real_clients_by_every_scheduler() {
    let Some((lab, _servers, director)) = live_fwd_common::setup(Mode::Tun) else {
        return;
    };
    println!("tun: real servers decapsulate with {:?}", lab.tunnel_rx());
    live_fwd_common::run_phases(&lab, &director, Mode::Tun, |_| {});
    director.stop();
}
