//! The immutable view of configuration a worker reads on its fast path.
//!
//! The control thread builds a new [`Snapshot`] whenever something changes and sends an
//! `Arc` of it to every worker over a channel; a worker swaps it in between bursts. Nothing
//! in a snapshot is ever mutated, so reading it needs no lock and a packet is always handled
//! under one consistent configuration. Everything a packet needs is pre-indexed here
//! (service lookup, VIP and local-address sets, routes), so the fast path only reads.
//!
//! Identity across snapshots: services and real servers carry the control plane's stable
//! ids, and the slots of the per-worker statistics arrays they count into. A worker keeps
//! its per-service state (scheduler, connection counts) by service id, so a new snapshot
//! changes weights or adds servers without disturbing running connections.
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::net::Ipv4Addr;

use crate::conn::{FwdMethod, Proto, Timeouts, TunnelKind};
use crate::neigh::RouteTableV4;
use crate::neigh::route::IntHasher;
use crate::sched::{SchedFlag, SchedulerKind};

type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;
type IntSet<K> = HashSet<K, BuildHasherDefault<IntHasher>>;

/// What a worker knows about the world.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Increases with every snapshot the control plane builds.
    pub generation: u64,
    /// By port index (the order of `ports` in the configuration, then the kernel-side
    /// ports).
    pub ports: Vec<PortView>,
    /// Virtual services and everything derived from them.
    pub services: ServiceTable,
    /// Routes (connected prefixes of the ports' addresses included).
    pub routes: RouteTableV4,
    /// Static neighbours: (port, address, MAC).
    pub static_neighbours: Vec<(u16, Ipv4Addr, [u8; 6])>,
    /// Connection timeouts (`ipvsadm --set`).
    pub timeouts: Timeouts,
    /// Number of workers (for flow ownership).
    pub workers: u16,
    /// Ownership of a flow is decided on the client address masked to this prefix
    /// length, the shortest persistence netmask of any service, so that every connection
    /// a persistence template must see is handled by the same worker.
    pub steer_prefix: u8,
}

/// The role of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PortRole {
    /// A packet port facing the network.
    #[default]
    Network,
    /// The kernel-side (TAP) port of network port `network`: what the kernel sends on it
    /// leaves through that port.
    Kernel { network: u16 },
}

/// One port as the dataplane sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortView {
    /// The configured name (`dp0`).
    pub name: String,
    /// The port's MAC, used as source of everything the director sends.
    pub mac: [u8; 6],
    /// The director's own IPv4 addresses on this port (answered for ARP and ICMP echo).
    pub ipv4: Vec<Ipv4Addr>,
    /// Prefix length of each of `ipv4` (same order; 32 when unknown).
    pub prefix_len: Vec<u8>,
    /// Index of this port's kernel-side port (its TAP), where traffic for the director
    /// itself goes; `None` without one.
    pub kernel: Option<u16>,
    pub role: PortRole,
    /// IP MTU.
    pub mtu: u16,
}

impl PortView {
    /// A network port with addresses and no kernel-side port (tests, replay).
    pub fn network(name: &str, mac: [u8; 6], ipv4: Vec<Ipv4Addr>) -> PortView {
        let prefix_len = vec![32; ipv4.len()];
        PortView {
            name: name.to_string(),
            mac,
            ipv4,
            prefix_len,
            kernel: None,
            role: PortRole::Network,
            mtu: 1500,
        }
    }

    /// Whether `addr` is one of the director's own addresses on this port.
    #[inline]
    pub fn owns_ipv4(&self, addr: Ipv4Addr) -> bool {
        self.ipv4.contains(&addr)
    }

    /// The director's address to use as source towards `dst` on this port: one whose
    /// prefix contains `dst`, else the first.
    pub fn source_for(&self, dst: Ipv4Addr) -> Option<Ipv4Addr> {
        let d = u32::from(dst);
        self.ipv4
            .iter()
            .zip(self.prefix_len.iter().chain(std::iter::repeat(&32)))
            .find(|(a, len)| {
                let mask = if **len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from((**len).min(32)))
                };
                u32::from(**a) & mask == d & mask
            })
            .map(|(a, _)| *a)
            .or_else(|| self.ipv4.first().copied())
    }
}

impl Snapshot {
    /// The port at `index`.
    #[inline]
    pub fn port(&self, index: usize) -> Option<&PortView> {
        self.ports.get(index)
    }

    /// Whether `addr` is one of the director's own addresses on any port.
    #[inline]
    pub fn is_own_address(&self, addr: Ipv4Addr) -> bool {
        self.ports.iter().any(|p| p.owns_ipv4(addr))
    }
}

/// How a FULLNAT real server learns the client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAddrMode {
    /// TCP option 254 in the packets that carry the handshake's last ACK and the first data.
    #[default]
    Toa,
    /// A PROXY protocol v2 header in front of the client's first bytes.
    ProxyV2,
    None,
}

/// Tunnel parameters of a real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TunnelConf {
    pub kind: Option<TunnelKind>,
    /// GUE destination port.
    pub port: u16,
    /// GRE/GUE checksum.
    pub csum: bool,
}

/// One real server of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestConf {
    /// The control plane's stable id.
    pub id: u32,
    /// Slot of the per-worker statistics arrays this server counts into.
    pub stats_slot: u32,
    pub addr: Ipv4Addr,
    pub port: u16,
    /// 0 = quiescent.
    pub weight: u32,
    /// Per-worker share of the `-x`/`-y` thresholds (0 = none).
    pub upper: u32,
    pub lower: u32,
    pub forward: FwdMethod,
    pub tunnel: TunnelConf,
}

/// Persistence (`-p`, `-M`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Persistence {
    pub timeout_s: u32,
    /// Netmask of the client address, as a prefix length.
    pub netmask: u8,
}

/// One virtual service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConf {
    /// The control plane's stable id.
    pub id: u32,
    pub stats_slot: u32,
    pub proto: Proto,
    pub vip: Ipv4Addr,
    /// 0 = every port of the VIP.
    pub port: u16,
    pub scheduler: SchedulerKind,
    pub flags: Vec<SchedFlag>,
    pub persistence: Option<Persistence>,
    /// One-packet scheduling (UDP `-o`): no connection entry is kept.
    pub one_packet: bool,
    pub client_addr: ClientAddrMode,
    /// FULLNAT local addresses.
    pub laddrs: Vec<Ipv4Addr>,
    pub dests: Vec<DestConf>,
}

/// The services, indexed for the packet path.
#[derive(Debug, Clone, Default)]
pub struct ServiceTable {
    services: Vec<ServiceConf>,
    /// (proto, VIP, port) → index; port-0 services under port 0.
    by_key: IntMap<(u8, u32, u16), usize>,
    /// Every VIP the director currently serves (answered for ARP and echo).
    vips: IntSet<u32>,
    /// Every FULLNAT local address (answered for ARP; return traffic arrives to them).
    laddrs: IntSet<u32>,
}

fn proto_key(p: Proto) -> u8 {
    match p {
        Proto::Tcp => 6,
        Proto::Udp => 17,
        Proto::Icmp => 1,
    }
}

impl ServiceTable {
    /// Indexes `services`. A later duplicate key is ignored (validation refuses them).
    pub fn new(services: Vec<ServiceConf>) -> ServiceTable {
        let mut t = ServiceTable {
            services,
            ..ServiceTable::default()
        };
        for (i, s) in t.services.iter().enumerate() {
            t.by_key
                .entry((proto_key(s.proto), u32::from(s.vip), s.port))
                .or_insert(i);
            t.vips.insert(u32::from(s.vip));
            for l in &s.laddrs {
                t.laddrs.insert(u32::from(*l));
            }
        }
        t
    }

    /// Keeps answering for the addresses of removed services whose connections are still
    /// draining: their VIPs and FULLNAT local addresses stay in the VIP and local-address
    /// sets (ARP, flow ownership) although no service names them, so the remaining packets
    /// of those connections reach the worker that holds them. New connections to them find
    /// no service.
    pub fn keep_draining(&mut self, vips: &[Ipv4Addr], laddrs: &[Ipv4Addr]) {
        self.vips.extend(vips.iter().map(|a| u32::from(*a)));
        self.laddrs.extend(laddrs.iter().map(|a| u32::from(*a)));
    }

    /// The service for a packet to `vip:port`: the exact one, else the VIP's port-0
    /// service (IPVS's lookup order).
    #[inline]
    pub fn lookup(&self, proto: Proto, vip: Ipv4Addr, port: u16) -> Option<&ServiceConf> {
        let (p, v) = (proto_key(proto), u32::from(vip));
        self.by_key
            .get(&(p, v, port))
            .or_else(|| self.by_key.get(&(p, v, 0)))
            .and_then(|&i| self.services.get(i))
    }

    /// Whether `addr` is a VIP of some service.
    #[inline]
    pub fn is_vip(&self, addr: Ipv4Addr) -> bool {
        self.vips.contains(&u32::from(addr))
    }

    /// Whether `addr` is a FULLNAT local address.
    #[inline]
    pub fn is_laddr(&self, addr: Ipv4Addr) -> bool {
        self.laddrs.contains(&u32::from(addr))
    }

    pub fn iter(&self) -> impl Iterator<Item = &ServiceConf> {
        self.services.iter()
    }

    pub fn len(&self) -> usize {
        self.services.len()
    }

    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(id: u32, proto: Proto, vip: &str, port: u16) -> ServiceConf {
        ServiceConf {
            id,
            stats_slot: id,
            proto,
            vip: vip.parse().unwrap(),
            port,
            scheduler: SchedulerKind::Rr,
            flags: vec![],
            persistence: None,
            one_packet: false,
            client_addr: ClientAddrMode::Toa,
            laddrs: vec!["10.0.0.50".parse().unwrap()],
            dests: vec![],
        }
    }

    #[test]
    fn lookup_prefers_the_exact_port_then_port_zero() {
        let t = ServiceTable::new(vec![
            svc(1, Proto::Tcp, "10.0.0.100", 80),
            svc(2, Proto::Tcp, "10.0.0.100", 0),
            svc(3, Proto::Udp, "10.0.0.100", 53),
        ]);
        let vip = "10.0.0.100".parse().unwrap();
        assert_eq!(t.lookup(Proto::Tcp, vip, 80).unwrap().id, 1);
        assert_eq!(t.lookup(Proto::Tcp, vip, 443).unwrap().id, 2);
        assert_eq!(t.lookup(Proto::Udp, vip, 53).unwrap().id, 3);
        assert!(t.lookup(Proto::Udp, vip, 54).is_none());
        assert!(t.is_vip(vip));
        assert!(!t.is_vip("10.0.0.101".parse().unwrap()));
        assert!(t.is_laddr("10.0.0.50".parse().unwrap()));
    }

    #[test]
    fn draining_addresses_stay_answered_without_a_service() {
        let mut t = ServiceTable::new(vec![svc(1, Proto::Tcp, "10.0.0.100", 80)]);
        let gone: Ipv4Addr = "10.0.0.101".parse().unwrap();
        let laddr: Ipv4Addr = "10.0.0.60".parse().unwrap();
        assert!(!t.is_vip(gone) && !t.is_laddr(laddr));
        t.keep_draining(&[gone], &[laddr]);
        assert!(t.is_vip(gone) && t.is_laddr(laddr));
        assert!(t.lookup(Proto::Tcp, gone, 80).is_none());
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn source_address_follows_the_prefix() {
        let mut p = PortView::network(
            "dp0",
            [2, 0, 0, 0, 0, 1],
            vec!["10.0.0.2".parse().unwrap(), "192.168.1.2".parse().unwrap()],
        );
        p.prefix_len = vec![24, 24];
        assert_eq!(
            p.source_for("192.168.1.77".parse().unwrap()),
            Some("192.168.1.2".parse().unwrap())
        );
        assert_eq!(
            p.source_for("172.16.0.1".parse().unwrap()),
            Some("10.0.0.2".parse().unwrap())
        );
    }
}
