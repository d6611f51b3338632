//! Compiling the director's effective configuration into the dataplane's [`Snapshot`].
//!
//! The [`Snapshot`] is the contract between the control plane and the workers: everything a
//! packet needs, pre-indexed and immutable. This module is the one place that maps the
//! configuration model (keepalived/ipvsadm vocabulary, names, optional fields) onto it:
//!
//! - **ports**: the network ports in configuration order (their index is the DPDK port
//!   order), then one kernel-side port per network port whose device is open, each pointing
//!   at the other (`kernel`, `PortRole::Kernel`); MACs from the devices, IPv4 addresses with
//!   prefix lengths, MTU;
//! - **routes**: the connected prefix of every port address, then the static routes (a
//!   static route for a connected prefix replaces it; `0.0.0.0/0` is the default gateway);
//! - **static neighbours**, **timeouts** (`ipvsadm --set` over the kernel's defaults);
//! - **services**: the stable ids of [`Ids`] and the statistics slots of a [`SlotLookup`],
//!   scheduler and flags, persistence (netmask /32 unless given), one-packet, client address
//!   delivery, FULLNAT local addresses, and the real servers with their forwarding method
//!   (the service's unless the server overrides it), tunnel, weight and thresholds
//!   (global values: each worker takes its share);
//! - `workers`, and `steer_prefix`, the shortest persistence netmask (32 without any), so
//!   every connection one persistence template must see lands on one worker.
//!
//! Real servers are listed newest first, the order of IPVS's destination list (it inserts
//! at the head), so the round-robin family walks them in the kernel's order.
//!
//! The dataplane forwards IPv4 only for now: an IPv6 service, real server, port address,
//! route, neighbour or local address is refused with one message per item, rather than
//! silently ignored.
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use control::config::{
    ClientAddr, Config, Forward, Protocol, RealServer, TunnelCsum, TunnelType, VirtualService,
};
use control::director::Ids;
use control::director::convert::{dest_addr, effective_port, service_key};
use control::director::listing::parse_mac;
use dataplane::conn::{FwdMethod, Proto, Timeouts, TunnelKind};
use dataplane::neigh::route::v4_route;
use dataplane::neigh::{RouteEntry, RouteTableV4};
use dataplane::sched::{SchedFlag, SchedulerKind};
use dataplane::worker::{
    ClientAddrMode, DestConf, Persistence, PortRole, PortView, ServiceConf, ServiceTable, Snapshot,
    TunnelConf,
};

use crate::slots::SlotLookup;

/// The devices behind the configured ports, as the daemon opened them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Devices {
    /// The MAC of each network port, in configuration order.
    pub macs: Vec<[u8; 6]>,
    /// The MAC of each network port's kernel-side port, when that port is open (same
    /// order; shorter or `None` = no kernel-side port).
    pub kernel_macs: Vec<Option<[u8; 6]>>,
}

impl Devices {
    /// Network ports only, with these MACs.
    pub fn network(macs: Vec<[u8; 6]>) -> Devices {
        Devices {
            macs,
            kernel_macs: Vec::new(),
        }
    }
}

/// Why a configuration cannot become a snapshot: every problem, one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join("; "))]
pub struct CompileError(pub Vec<String>);

/// Collects problems while compiling.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn push(&mut self, p: impl Into<String>) {
        self.0.push(p.into());
    }
}

const IPV4_ONLY: &str = "rvs forwards IPv4 only for now";

/// The snapshot of `cfg` (the director's *effective* configuration), numbered `generation`.
pub fn compile(
    cfg: &Config,
    ids: &Ids,
    slots: &dyn SlotLookup,
    devices: &Devices,
    generation: u64,
) -> Result<Snapshot, CompileError> {
    let mut p = Problems::default();
    let port_index: BTreeMap<&str, u16> = cfg
        .ports
        .iter()
        .enumerate()
        .filter_map(|(i, port)| Some((port.name.as_str(), u16::try_from(i).ok()?)))
        .collect();
    let ports = ports(cfg, devices, &mut p);
    let routes = routes(cfg, &port_index, &mut p);
    let static_neighbours = neighbours(cfg, &port_index, &mut p);
    let services: Vec<ServiceConf> = cfg
        .services
        .iter()
        .enumerate()
        .filter_map(|(i, svc)| service(cfg, i, svc, ids, slots, &mut p))
        .collect();
    let mut timeouts = Timeouts::default();
    timeouts.set_ipvsadm(cfg.timeouts.tcp, cfg.timeouts.tcp_fin, cfg.timeouts.udp);
    let steer_prefix = services
        .iter()
        .filter_map(|s| s.persistence.map(|p| p.netmask))
        .min()
        .unwrap_or(32);
    let workers = match u16::try_from(cfg.dpdk.workers.len()) {
        Ok(n) if n > 0 => n,
        _ => {
            p.push(format!(
                "dpdk.workers: {} workers (1..=65535 are possible)",
                cfg.dpdk.workers.len()
            ));
            1
        }
    };
    if !p.0.is_empty() {
        return Err(CompileError(p.0));
    }
    Ok(Snapshot {
        generation,
        ports,
        services: ServiceTable::new(services),
        routes,
        static_neighbours,
        timeouts,
        workers,
        steer_prefix,
    })
}

fn v4(addr: IpAddr) -> Option<Ipv4Addr> {
    match addr {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    }
}

fn ports(cfg: &Config, devices: &Devices, p: &mut Problems) -> Vec<PortView> {
    let mut views: Vec<PortView> = Vec::new();
    let mut kernels: Vec<PortView> = Vec::new();
    let network_count = cfg.ports.len();
    for (i, port) in cfg.ports.iter().enumerate() {
        let Some(mac) = devices.macs.get(i).copied() else {
            p.push(format!(
                "ports[{i}] ({}): no device is open for it",
                port.name
            ));
            continue;
        };
        let mut ipv4 = Vec::new();
        let mut prefix_len = Vec::new();
        for a in &port.addresses {
            match v4(a.addr) {
                Some(addr) => {
                    ipv4.push(addr);
                    prefix_len.push(a.prefix_len);
                }
                None => p.push(format!(
                    "ports[{i}] ({}): address {a}: {IPV4_ONLY}",
                    port.name
                )),
            }
        }
        let kernel_mac = devices.kernel_macs.get(i).copied().flatten();
        let kernel = match (kernel_mac, &port.kernel_port) {
            (Some(kmac), Some(k)) => {
                let index = u16::try_from(network_count + kernels.len()).ok();
                let network = u16::try_from(i).ok();
                if let (Some(_), Some(network)) = (index, network) {
                    kernels.push(PortView {
                        name: k.name.clone(),
                        mac: kmac,
                        ipv4: Vec::new(),
                        prefix_len: Vec::new(),
                        kernel: None,
                        role: PortRole::Kernel { network },
                        mtu: port.mtu,
                    });
                }
                index
            }
            _ => None,
        };
        views.push(PortView {
            name: port.name.clone(),
            mac,
            ipv4,
            prefix_len,
            kernel,
            role: PortRole::Network,
            mtu: port.mtu,
        });
    }
    views.extend(kernels);
    views
}

/// The network address of `addr/len`.
fn network(addr: Ipv4Addr, len: u8) -> Ipv4Addr {
    let mask = if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    };
    Ipv4Addr::from(u32::from(addr) & mask)
}

fn routes(cfg: &Config, port_index: &BTreeMap<&str, u16>, p: &mut Problems) -> RouteTableV4 {
    // (prefix, len) -> entry; connected first, static routes replace them.
    let mut table: BTreeMap<(u32, u8), RouteEntry<u32>> = BTreeMap::new();
    for (i, port) in cfg.ports.iter().enumerate() {
        let Ok(index) = u16::try_from(i) else {
            continue;
        };
        for a in &port.addresses {
            if let Some(addr) = v4(a.addr) {
                let net = network(addr, a.prefix_len);
                table
                    .entry((u32::from(net), a.prefix_len))
                    .or_insert_with(|| v4_route(net, a.prefix_len, index, None));
            }
        }
    }
    for (i, r) in cfg.routes.iter().enumerate() {
        let Some(prefix) = v4(r.prefix.addr) else {
            p.push(format!("routes[{i}] ({}): {IPV4_ONLY}", r.prefix));
            continue;
        };
        let Some(&port) = port_index.get(r.port.as_str()) else {
            p.push(format!("routes[{i}]: no port named {:?}", r.port));
            continue;
        };
        let via = match r.via {
            None => None,
            Some(IpAddr::V4(v)) => Some(v),
            Some(IpAddr::V6(v)) => {
                p.push(format!("routes[{i}]: next hop {v}: {IPV4_ONLY}"));
                continue;
            }
        };
        let net = network(prefix, r.prefix.prefix_len);
        table.insert(
            (u32::from(net), r.prefix.prefix_len),
            v4_route(net, r.prefix.prefix_len, port, via),
        );
    }
    let entries: Vec<RouteEntry<u32>> = table.into_values().collect();
    RouteTableV4::build(&entries).unwrap_or_else(|e| {
        p.push(format!("routes: {e}"));
        RouteTableV4::default()
    })
}

fn neighbours(
    cfg: &Config,
    port_index: &BTreeMap<&str, u16>,
    p: &mut Problems,
) -> Vec<(u16, Ipv4Addr, [u8; 6])> {
    let mut out = Vec::new();
    for (i, n) in cfg.neighbours.iter().enumerate() {
        let Some(addr) = v4(n.address) else {
            p.push(format!("neighbours[{i}] ({}): {IPV4_ONLY}", n.address));
            continue;
        };
        let Some(&port) = port_index.get(n.port.as_str()) else {
            p.push(format!("neighbours[{i}]: no port named {:?}", n.port));
            continue;
        };
        let Some(mac) = parse_mac(&n.mac) else {
            p.push(format!("neighbours[{i}]: {:?} is not a MAC address", n.mac));
            continue;
        };
        out.push((port, addr, mac));
    }
    out
}

fn proto(p: Protocol) -> Proto {
    match p {
        Protocol::Tcp => Proto::Tcp,
        Protocol::Udp => Proto::Udp,
    }
}

fn method(f: Forward) -> FwdMethod {
    match f {
        Forward::Dr => FwdMethod::Dr,
        Forward::Tun => FwdMethod::Tun,
        Forward::Nat => FwdMethod::Nat,
        Forward::FullNat => FwdMethod::FullNat,
    }
}

fn client_addr(c: ClientAddr) -> ClientAddrMode {
    match c {
        ClientAddr::Toa => ClientAddrMode::Toa,
        ClientAddr::ProxyV2 => ClientAddrMode::ProxyV2,
        ClientAddr::None => ClientAddrMode::None,
    }
}

/// The tunnel of a real server reached with `forward`. The dataplane has one checksum
/// switch: remote checksum offload (`remcsum`) asks for a checksum too.
fn tunnel(forward: FwdMethod, rs: &RealServer) -> TunnelConf {
    if forward != FwdMethod::Tun {
        return TunnelConf::default();
    }
    TunnelConf {
        kind: Some(match rs.tunnel {
            TunnelType::Ipip => TunnelKind::Ipip,
            TunnelType::Gue => TunnelKind::Gue,
            TunnelType::Gre => TunnelKind::Gre,
        }),
        port: rs.tunnel_port,
        csum: rs.tunnel_csum != TunnelCsum::NoCsum,
    }
}

fn service(
    cfg: &Config,
    i: usize,
    svc: &VirtualService,
    ids: &Ids,
    slots: &dyn SlotLookup,
    p: &mut Problems,
) -> Option<ServiceConf> {
    let key = service_key(svc);
    let name = format!(
        "services[{i}] ({} {})",
        svc.protocol,
        std::net::SocketAddr::new(svc.address, svc.port)
    );
    let Some(vip) = v4(svc.address) else {
        p.push(format!("{name}: IPv6 virtual service: {IPV4_ONLY}"));
        return None;
    };
    let Some(id) = ids.service(&key) else {
        p.push(format!("{name}: has no id (internal error)"));
        return None;
    };
    let Some(stats_slot) = slots.service_slot(id) else {
        p.push(format!("{name}: has no statistics slot (internal error)"));
        return None;
    };
    let scheduler = match SchedulerKind::from_str(&svc.scheduler) {
        Ok(s) => s,
        Err(e) => {
            p.push(format!("{name}: {e}"));
            return None;
        }
    };
    // Only the flags this scheduler acts on reach the dataplane; ipvsadm's generic
    // `flag-N` names are resolved (or ignored where meaningless) as the director does.
    let mut flags = Vec::new();
    for f in &control::config::sched_flags::acting(&svc.scheduler, &svc.sched_flags) {
        match SchedFlag::from_str(f) {
            Ok(flag) => flags.push(flag),
            Err(e) => p.push(format!("{name}: {e}")),
        }
    }
    let persistence = svc.persistence_timeout.map(|timeout_s| Persistence {
        timeout_s,
        netmask: svc.persistence_netmask.unwrap_or(32).min(32),
    });
    let mut laddrs = Vec::new();
    if let Some(group) = &svc.local_address_group {
        match cfg.local_address_groups.get(group) {
            None => p.push(format!("{name}: no local address group {group:?}")),
            Some(g) => {
                for la in &g.addresses {
                    match v4(la.address) {
                        Some(a) => laddrs.push(a),
                        None => p.push(format!(
                            "local_address_groups.{group}: {}: {IPV4_ONLY}",
                            la.address
                        )),
                    }
                }
            }
        }
    }
    let mut dests = Vec::with_capacity(svc.real_servers.len());
    // Newest first, as IPVS lists them.
    for rs in svc.real_servers.iter().rev() {
        let addr = dest_addr(svc, rs);
        let rname = format!("{name} real server {addr}");
        let Some(raddr) = v4(rs.address) else {
            p.push(format!("{rname}: {IPV4_ONLY}"));
            continue;
        };
        let Some(did) = ids.dest(&key, addr) else {
            p.push(format!("{rname}: has no id (internal error)"));
            continue;
        };
        let Some(dslot) = slots.dest_slot(did) else {
            p.push(format!("{rname}: has no statistics slot (internal error)"));
            continue;
        };
        let forward = method(rs.forward.unwrap_or(svc.forward));
        dests.push(DestConf {
            id: did.0,
            stats_slot: dslot,
            addr: raddr,
            port: effective_port(svc, rs),
            weight: rs.weight,
            upper: rs.upper_threshold,
            lower: rs.lower_threshold,
            forward,
            tunnel: tunnel(forward, rs),
        });
    }
    Some(ServiceConf {
        id: id.0,
        stats_slot,
        proto: proto(svc.protocol),
        vip,
        port: svc.port,
        scheduler,
        flags,
        persistence,
        one_packet: svc.one_packet,
        client_addr: client_addr(svc.client_address),
        laddrs,
        dests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slots::SlotAllocator;
    use control::config::load_file;
    use std::path::Path;

    fn example(name: &str) -> Config {
        load_file(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("examples")
                .join(name),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .config
    }

    /// Ids and slots for `cfg`, as the daemon's applier assigns them.
    fn ids_and_slots(cfg: &Config) -> (Ids, SlotAllocator) {
        let ids = Ids::new().transition(cfg).unwrap().settled();
        let mut alloc = SlotAllocator::new(1024);
        let plan = alloc.plan(&ids).unwrap();
        alloc.commit(plan, 1, &NoWorkers);
        (ids, alloc)
    }

    struct NoWorkers;
    impl crate::slots::SlotReader for NoWorkers {
        fn sum(&self, _: u32) -> dataplane::stats::SlotValues {
            Default::default()
        }
        fn acknowledged(&self) -> u64 {
            0
        }
    }

    fn mac(last: u8) -> [u8; 6] {
        [2, 0, 0, 0, 0, last]
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn the_dr_example_compiles_to_its_services_routes_and_steering() {
        let cfg = example("dr.toml");
        let (ids, slots) = ids_and_slots(&cfg);
        let devices = Devices {
            macs: vec![mac(2)],
            kernel_macs: vec![Some(mac(3))],
        };
        let s = compile(&cfg, &ids, &slots, &devices, 9).unwrap();
        assert_eq!(s.generation, 9);
        assert_eq!(s.workers, 2);
        // dp0 and its kernel-side port rvs0, pointing at each other.
        assert_eq!(s.ports.len(), 2);
        assert_eq!(s.ports[0].name, "dp0");
        assert_eq!(s.ports[0].mac, mac(2));
        assert_eq!(s.ports[0].ipv4, [ip("192.0.2.2")]);
        assert_eq!(s.ports[0].prefix_len, [24]);
        assert_eq!(s.ports[0].kernel, Some(1));
        assert_eq!(s.ports[0].role, PortRole::Network);
        assert_eq!(s.ports[1].name, "rvs0");
        assert_eq!(s.ports[1].mac, mac(3));
        assert_eq!(s.ports[1].role, PortRole::Kernel { network: 0 });
        assert_eq!(s.ports[1].mtu, 1500);
        // Connected /24 and the default route via the gateway.
        let hop = s.routes.lookup(u32::from(ip("192.0.2.77"))).unwrap();
        assert_eq!((hop.port, hop.gateway), (0, None));
        let hop = s.routes.lookup(u32::from(ip("8.8.8.8"))).unwrap();
        assert_eq!(hop.gateway, Some(u32::from(ip("192.0.2.1"))));
        // Persistence /24 → flows steer on /24.
        assert_eq!(s.steer_prefix, 24);
        assert_eq!(s.services.len(), 2);
        let web = s.services.lookup(Proto::Tcp, ip("192.0.2.10"), 80).unwrap();
        assert_eq!(web.scheduler, SchedulerKind::Wrr);
        assert_eq!(
            web.persistence,
            Some(Persistence {
                timeout_s: 300,
                netmask: 24
            })
        );
        // Real servers newest first, DR, port = the service's.
        let addrs: Vec<_> = web
            .dests
            .iter()
            .map(|d| (d.addr, d.port, d.weight))
            .collect();
        assert_eq!(
            addrs,
            [(ip("192.0.2.22"), 80, 1), (ip("192.0.2.21"), 80, 3)]
        );
        assert!(web.dests.iter().all(|d| d.forward == FwdMethod::Dr));
        let dns = s.services.lookup(Proto::Udp, ip("192.0.2.10"), 53).unwrap();
        assert_eq!(dns.scheduler, SchedulerKind::Sh);
        assert_eq!(dns.flags, [SchedFlag::ShFallback]);
        assert_eq!(dns.persistence, None);
        // Ids and slots are the control plane's, all distinct.
        let key = service_key(&cfg.services[0]);
        assert_eq!(web.id, ids.service(&key).unwrap().0);
        let mut slot_list: Vec<u32> = s
            .services
            .iter()
            .flat_map(|svc| {
                std::iter::once(svc.stats_slot).chain(svc.dests.iter().map(|d| d.stats_slot))
            })
            .collect();
        let n = slot_list.len();
        slot_list.sort_unstable();
        slot_list.dedup();
        assert_eq!(slot_list.len(), n);
        // Timeouts as configured.
        assert_eq!(s.timeouts.ipvsadm_triplet(), (900, 120, 300));
    }

    #[test]
    fn without_an_open_kernel_port_the_network_port_answers_itself() {
        let cfg = example("dr.toml");
        let (ids, slots) = ids_and_slots(&cfg);
        let s = compile(&cfg, &ids, &slots, &Devices::network(vec![mac(2)]), 1).unwrap();
        assert_eq!(s.ports.len(), 1);
        assert_eq!(s.ports[0].kernel, None);
    }

    #[test]
    fn nat_fullnat_examples_compile_methods_thresholds_neighbours_and_laddrs() {
        let cfg = example("nat.toml");
        let (ids, slots) = ids_and_slots(&cfg);
        let s = compile(
            &cfg,
            &ids,
            &slots,
            &Devices::network(vec![mac(2), mac(3)]),
            1,
        )
        .unwrap();
        assert_eq!(s.ports.len(), 2);
        assert_eq!(s.ports[1].ipv4, [ip("10.10.0.1")]);
        assert_eq!(
            s.static_neighbours,
            [(0, ip("198.51.100.1"), [2, 0, 0, 0, 1, 1])]
        );
        let hop = s.routes.lookup(u32::from(ip("10.10.0.11"))).unwrap();
        assert_eq!((hop.port, hop.gateway), (1, None));
        let svc = s
            .services
            .lookup(Proto::Tcp, ip("198.51.100.10"), 443)
            .unwrap();
        let d = svc
            .dests
            .iter()
            .find(|d| d.addr == ip("10.10.0.11"))
            .unwrap();
        assert_eq!((d.port, d.upper, d.lower), (8443, 5000, 4000));
        assert_eq!(d.forward, FwdMethod::Nat);
        // The all-ports service answers any port of its VIP.
        let any = s
            .services
            .lookup(Proto::Tcp, ip("198.51.100.11"), 22)
            .unwrap();
        assert_eq!((any.port, any.scheduler), (0, SchedulerKind::Lc));
        assert_eq!(any.persistence.unwrap().netmask, 32);

        let cfg = example("fullnat.toml");
        let (ids, slots) = ids_and_slots(&cfg);
        let s = compile(&cfg, &ids, &slots, &Devices::network(vec![mac(2)]), 1).unwrap();
        let web = s
            .services
            .lookup(Proto::Tcp, ip("192.0.2.100"), 80)
            .unwrap();
        assert_eq!(web.laddrs, [ip("192.0.2.50"), ip("192.0.2.51")]);
        assert_eq!(web.client_addr, ClientAddrMode::Toa);
        assert!(web.dests.iter().all(|d| d.forward == FwdMethod::FullNat));
        let smtp = s
            .services
            .lookup(Proto::Tcp, ip("192.0.2.100"), 25)
            .unwrap();
        assert_eq!(smtp.client_addr, ClientAddrMode::ProxyV2);
        assert!(s.services.is_laddr(ip("192.0.2.51")));
        assert_eq!(s.steer_prefix, 32);
    }

    #[test]
    fn ipv6_is_refused_item_by_item() {
        // tun.toml has an IPv6 address, route and service besides its IPv4 service.
        let cfg = example("tun.toml");
        let (ids, slots) = ids_and_slots(&cfg);
        let err = compile(&cfg, &ids, &slots, &Devices::network(vec![mac(2)]), 1).unwrap_err();
        let text = err.to_string();
        assert_eq!(err.0.len(), 3, "{text}");
        assert!(
            text.contains("ports[0] (dp0): address 2001:db8::2/64"),
            "{text}"
        );
        assert!(text.contains("routes[1] (::/0)"), "{text}");
        assert!(text.contains("IPv6 virtual service"), "{text}");
        assert!(text.contains("IPv4 only"), "{text}");
        // Without the IPv6 items, the tunnels compile.
        let mut v4only = cfg.clone();
        v4only.ports[0].addresses.truncate(1);
        v4only.routes.truncate(1);
        v4only.services.truncate(1);
        let (ids, slots) = ids_and_slots(&v4only);
        let s = compile(&v4only, &ids, &slots, &Devices::network(vec![mac(2)]), 1).unwrap();
        let svc = s
            .services
            .lookup(Proto::Tcp, ip("203.0.113.80"), 80)
            .unwrap();
        assert_eq!(svc.flags, [SchedFlag::MhPort]);
        let tunnels: Vec<_> = svc.dests.iter().map(|d| (d.addr, d.tunnel)).collect();
        assert_eq!(
            tunnels,
            [
                (
                    ip("192.168.70.13"),
                    TunnelConf {
                        kind: Some(TunnelKind::Gre),
                        port: 0,
                        csum: false
                    }
                ),
                (
                    ip("192.168.60.12"),
                    TunnelConf {
                        kind: Some(TunnelKind::Gue),
                        port: 6080,
                        csum: true
                    }
                ),
                (
                    ip("192.168.50.11"),
                    TunnelConf {
                        kind: Some(TunnelKind::Ipip),
                        port: 0,
                        csum: false
                    }
                ),
            ]
        );
    }

    #[test]
    fn a_static_route_replaces_the_connected_one_and_a_missing_device_is_reported() {
        let mut cfg = example("rvs.toml");
        cfg.routes.push(control::config::Route {
            prefix: "10.0.0.0/24".parse().unwrap(),
            via: Some("10.0.0.1".parse().unwrap()),
            port: "dp0".into(),
        });
        let (ids, slots) = ids_and_slots(&cfg);
        let s = compile(&cfg, &ids, &slots, &Devices::network(vec![mac(2)]), 1).unwrap();
        let hop = s.routes.lookup(u32::from(ip("10.0.0.9"))).unwrap();
        assert_eq!(hop.gateway, Some(u32::from(ip("10.0.0.1"))));
        let err = compile(&cfg, &ids, &slots, &Devices::default(), 1).unwrap_err();
        assert!(err.to_string().contains("no device is open"), "{err}");
    }
}
