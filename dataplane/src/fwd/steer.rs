//! Which worker owns a flow, decided from the packet alone.
//!
//! Connection tables are per worker, so both directions of a connection — and, for a
//! persistent service, every connection of one client — must be handled by one worker.
//! NICs spread packets over queues by a hash rvs does not control (and `net_af_packet` or
//! `net_tap` by none at all), so each worker computes the owner of every packet it receives
//! and hands the packet over when it is not the owner (over the per-pair rings of the
//! worker loop). The rule needs no table lookup:
//!
//! - a packet to a FULLNAT local address belongs to the worker whose port partition holds
//!   its destination port (see [`super::lport`]);
//! - any other packet belongs to `hash(client address masked to the snapshot's
//!   steer_prefix) % workers`, where the client is the source of a packet to a VIP and the
//!   destination of anything else (a NAT real server's reply goes to the client).
//!
//! Masking to the shortest persistence netmask keeps every client of one persistence
//! template on one worker. The price: with one worker per core and few distinct clients,
//! load spreads only as well as the client addresses do — the same trade-off as a NIC's RSS
//! on addresses only. Where hardware flow steering exists (rte_flow) it can place packets
//! on the right queue in the first place, and the hand-off never triggers.
use std::net::Ipv4Addr;

use super::lport::LocalPorts;
use super::parse::Ip4;
use crate::worker::Snapshot;

/// The owner of a flow when it is not `me`; `None` when `me` owns it (or there is one
/// worker).
#[inline]
pub fn owner(snap: &Snapshot, ip: &Ip4, _sport: u16, dport: u16, me: u16) -> Option<u16> {
    flow_owner(snap, ip.src, ip.dst, dport, me)
}

/// The owner of an ICMP error when it is not `me`, decided from the packet the error
/// quotes (`quoted_src:quoted_sport → quoted_dst:quoted_dport`, as written in the quote).
///
/// The quoted packet is one the director forwarded (or a real server sent); the error
/// travels back towards that packet's sender, so it belongs to the flow of the quote
/// *reversed* — the same worker [`owner`] picks for the next packet of that flow in the
/// error's direction. The outer header cannot say: its source is often a router, and an
/// ICMP message has no ports.
#[inline]
pub fn icmp_owner(
    snap: &Snapshot,
    quoted_src: Ipv4Addr,
    quoted_sport: u16,
    quoted_dst: Ipv4Addr,
    _quoted_dport: u16,
    me: u16,
) -> Option<u16> {
    flow_owner(snap, quoted_dst, quoted_src, quoted_sport, me)
}

/// The rule of [`owner`] for a packet `src → dst:dport`.
#[inline]
fn flow_owner(snap: &Snapshot, src: Ipv4Addr, dst: Ipv4Addr, dport: u16, me: u16) -> Option<u16> {
    let workers = snap.workers.max(1);
    if workers == 1 {
        return None;
    }
    let o = if snap.services.is_laddr(dst) {
        LocalPorts::owner(dport, workers)
    } else {
        let client = if snap.services.is_vip(dst) { src } else { dst };
        client_owner(client, snap.steer_prefix, workers)
    };
    (o != me).then_some(o)
}

/// The worker of a client address.
#[inline]
pub fn client_owner(client: Ipv4Addr, prefix: u8, workers: u16) -> u16 {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix.min(32)))
    };
    let h = (u32::from(client) & mask).wrapping_mul(0x9E37_79B1);
    // Multiply-shift to [0, workers).
    u16::try_from((u64::from(h) * u64::from(workers)) >> 32).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_spread_and_stay_put() {
        let mut seen = [0u32; 4];
        for i in 0..4000u32 {
            let c = Ipv4Addr::from(0x0a09_0000 + i);
            let w = client_owner(c, 32, 4);
            assert_eq!(w, client_owner(c, 32, 4));
            seen[usize::from(w)] += 1;
        }
        assert!(seen.iter().all(|&n| n > 700), "{seen:?}");
        // A /24 netmask puts a whole subnet on one worker.
        let a = client_owner(Ipv4Addr::new(10, 1, 2, 3), 24, 4);
        let b = client_owner(Ipv4Addr::new(10, 1, 2, 200), 24, 4);
        assert_eq!(a, b);
    }
}
