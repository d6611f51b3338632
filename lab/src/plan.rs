//! The address plan: which node gets which address and MAC.
//!
//! Kept as plain functions so tests, the demo and rvs configurations can name addresses
//! without a running lab. MACs are derived from the IPv4 address (`02:00:` + the four
//! bytes: locally administered, unicast) so captures are readable and stable across runs.

use std::net::Ipv4Addr;

use crate::names::NodeId;

/// The client network (client and the router's client-side leg).
pub const CLIENT_NET: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 0);
/// The LAN shared by router, directors, real servers and the peer.
pub const LAN_NET: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 0);
/// Prefix length of both networks.
pub const PREFIX_LEN: u8 = 24;
/// The client.
pub const CLIENT_ADDR: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 2);
/// The router on the client network (the client's gateway).
pub const ROUTER_CLIENT_ADDR: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);
/// The router on the LAN (the real servers' gateway in DR, TUN and FULLNAT).
pub const ROUTER_LAN_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// The default virtual IP: on the LAN, so the router reaches it by plain ARP.
pub const DEFAULT_VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
/// The keepalived peer.
pub const PEER_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 8);
/// First of the addresses kept free for FULLNAT local addresses (10.0.0.200..=10.0.0.239):
/// on the LAN, so real servers answer them by plain ARP with their default gateway untouched.
pub const FULLNAT_LOCAL_FIRST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 200);
/// Number of addresses kept free for FULLNAT local addresses.
pub const FULLNAT_LOCAL_COUNT: u8 = 40;
/// Default UDP port of the GUE receivers on real servers in TUN mode.
pub const DEFAULT_GUE_PORT: u16 = 6080;

/// Director `n` (1-based): 10.0.0.(1+n), so director 1 is 10.0.0.2 — the NAT-mode gateway.
pub fn director_addr(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 1u8.saturating_add(n))
}

/// Real server `n` (1-based): 10.0.0.(10+n).
pub fn server_addr(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 10u8.saturating_add(n))
}

/// FULLNAT local address `i` (0-based) of the reserved range.
pub fn fullnat_local_addr(i: u8) -> Ipv4Addr {
    let [a, b, c, d] = FULLNAT_LOCAL_FIRST.octets();
    Ipv4Addr::new(a, b, c, d.saturating_add(i.min(FULLNAT_LOCAL_COUNT - 1)))
}

/// The main address of `node` (`None` for the LAN namespace, which holds only the bridge).
pub fn node_addr(node: NodeId) -> Option<Ipv4Addr> {
    match node {
        NodeId::Client => Some(CLIENT_ADDR),
        NodeId::Router => Some(ROUTER_LAN_ADDR),
        NodeId::Lan => None,
        NodeId::Director(n) => Some(director_addr(n)),
        NodeId::Server(n) => Some(server_addr(n)),
        NodeId::Peer => Some(PEER_ADDR),
    }
}

/// Whether `addr` is on the LAN (10.0.0.0/24).
pub fn on_lan(addr: Ipv4Addr) -> bool {
    let [a, b, c, _] = addr.octets();
    [a, b, c] == [10, 0, 0]
}

/// The MAC the lab gives the interface that holds `addr`: `02:00:` + the address bytes.
pub fn mac_for(addr: Ipv4Addr) -> String {
    let [a, b, c, d] = addr.octets();
    format!("02:00:{a:02x}:{b:02x}:{c:02x}:{d:02x}")
}

/// Addresses used by nodes (so VIPs can be checked against them).
pub fn reserved_node_addrs(directors: u8, servers: u8, peer: bool) -> Vec<Ipv4Addr> {
    let mut addrs = vec![LAN_NET, ROUTER_LAN_ADDR, Ipv4Addr::new(10, 0, 0, 255)];
    addrs.extend((1..=directors).map(director_addr));
    addrs.extend((1..=servers).map(server_addr));
    if peer {
        addrs.push(PEER_ADDR);
    }
    addrs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{MAX_DIRECTORS, MAX_SERVERS};

    #[test]
    fn node_addresses_do_not_overlap() {
        let mut all = reserved_node_addrs(MAX_DIRECTORS, MAX_SERVERS, true);
        all.push(DEFAULT_VIP);
        all.extend((0..FULLNAT_LOCAL_COUNT).map(fullnat_local_addr));
        let unique: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(unique.len(), all.len());
        assert!(all.iter().all(|a| on_lan(*a)));
        assert_eq!(director_addr(1), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(server_addr(MAX_SERVERS), Ipv4Addr::new(10, 0, 0, 60));
        assert_eq!(fullnat_local_addr(39), Ipv4Addr::new(10, 0, 0, 239));
    }

    #[test]
    fn macs_follow_addresses() {
        assert_eq!(mac_for(server_addr(1)), "02:00:0a:00:00:0b");
        assert_eq!(mac_for(CLIENT_ADDR), "02:00:0a:09:00:02");
    }
}
