//! The director itself: ports, addresses, routes, static neighbours, runtime sizing.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::Problems;
use crate::config::{Config, IfAddr, MAX_STATS_SLOTS};

pub(super) fn check(cfg: &Config, errs: &mut Problems) {
    check_daemon_and_runtime(cfg, errs);
    check_ports(cfg, errs);
    check_routes(cfg, errs);
    check_neighbours(cfg, errs);
    check_local_address_groups(cfg, errs);
}

fn check_daemon_and_runtime(cfg: &Config, errs: &mut Problems) {
    if cfg.daemon.control_socket.trim().is_empty() {
        errs.push("daemon.control_socket", "the control socket path is empty");
    }
    let slots = cfg.daemon.stats_slots;
    if slots == 0 || slots > MAX_STATS_SLOTS {
        errs.push(
            "daemon.stats_slots",
            format!("{slots} statistics slots is out of range 1..={MAX_STATS_SLOTS}"),
        );
    }
    if cfg
        .daemon
        .keepalived_conf
        .as_ref()
        .is_some_and(|p| p.trim().is_empty())
    {
        errs.push(
            "daemon.keepalived_conf",
            "the keepalived.conf path is empty",
        );
    }
    let d = &cfg.dpdk;
    if d.burst == 0 || d.burst > 64 {
        errs.push(
            "dpdk.burst",
            format!("burst {} is out of range 1..=64", d.burst),
        );
    }
    if d.workers.is_empty() {
        errs.push("dpdk.workers", "at least one worker core is needed");
    }
    let mut seen = HashSet::new();
    for (i, core) in d.workers.iter().enumerate() {
        if !seen.insert(core) {
            errs.push(
                format!("dpdk.workers[{i}]"),
                format!("core {core} is listed twice (one worker per core)"),
            );
        }
    }
    if d.mbufs == 0 {
        errs.push("dpdk.mbufs", "the mempool needs at least one buffer");
    }
    if d.rx_desc == 0 {
        errs.push("dpdk.rx_desc", "at least one RX descriptor is needed");
    }
    if d.tx_desc == 0 {
        errs.push("dpdk.tx_desc", "at least one TX descriptor is needed");
    }
    let t = &cfg.timeouts;
    for (name, v) in [("tcp", t.tcp), ("tcp_fin", t.tcp_fin), ("udp", t.udp)] {
        if v == 0 {
            errs.push(
                format!("timeouts.{name}"),
                "a connection timeout must be at least 1 second",
            );
        }
    }
    if cfg.conn_table.capacity_per_worker == 0 {
        errs.push(
            "conn_table.capacity_per_worker",
            "the connection table needs room for at least one connection",
        );
    }
}

fn check_ports(cfg: &Config, errs: &mut Problems) {
    let mut names = HashSet::new();
    let mut kernel_names = HashSet::new();
    for (i, port) in cfg.ports.iter().enumerate() {
        let path = format!("ports[{i}]");
        if port.name.trim().is_empty() {
            errs.push(format!("{path}.name"), "a port needs a name");
        } else if !names.insert(port.name.as_str()) {
            errs.push(
                format!("{path}.name"),
                format!("port name \"{}\" is used twice", port.name),
            );
        }
        if port.device.trim().is_empty() {
            errs.push(format!("{path}.device"), "a port needs a DPDK device");
        }
        if !(68..=9702).contains(&port.mtu) {
            errs.push(
                format!("{path}.mtu"),
                format!("MTU {} is out of range 68..=9702", port.mtu),
            );
        }
        let mut addrs = HashSet::new();
        for (j, a) in port.addresses.iter().enumerate() {
            if !addrs.insert(a.addr) {
                errs.push(
                    format!("{path}.addresses[{j}]"),
                    format!("address {} is listed twice", a.addr),
                );
            }
        }
        if let Some(k) = &port.kernel_port {
            if k.name.trim().is_empty() {
                errs.push(
                    format!("{path}.kernel_port.name"),
                    "a kernel port needs a name",
                );
            } else if !kernel_names.insert(k.name.as_str()) {
                errs.push(
                    format!("{path}.kernel_port.name"),
                    format!("kernel port name \"{}\" is used twice", k.name),
                );
            }
        }
    }
}

/// The port names the config defines.
fn port_names(cfg: &Config) -> HashSet<&str> {
    cfg.ports.iter().map(|p| p.name.as_str()).collect()
}

fn missing_port(cfg: &Config, name: &str) -> String {
    if cfg.ports.is_empty() {
        format!("port \"{name}\" does not exist (no ports are defined)")
    } else {
        let known: Vec<&str> = cfg.ports.iter().map(|p| p.name.as_str()).collect();
        format!(
            "port \"{name}\" does not exist (ports: {})",
            known.join(", ")
        )
    }
}

fn check_routes(cfg: &Config, errs: &mut Problems) {
    let ports = port_names(cfg);
    let mut prefixes = HashMap::new();
    for (i, r) in cfg.routes.iter().enumerate() {
        let path = format!("routes[{i}]");
        if !ports.contains(r.port.as_str()) {
            errs.push(format!("{path}.port"), missing_port(cfg, &r.port));
        }
        let net = network_of(r.prefix);
        if net != r.prefix.addr {
            errs.push(
                format!("{path}.prefix"),
                format!(
                    "prefix {} has host bits set (did you mean {}/{}?)",
                    r.prefix, net, r.prefix.prefix_len
                ),
            );
        }
        if let Some(via) = r.via
            && via.is_ipv4() != r.prefix.addr.is_ipv4()
        {
            errs.push(
                format!("{path}.via"),
                format!("next hop {via} is not of the family of {}", r.prefix),
            );
        }
        if let Some(first) = prefixes.insert((net, r.prefix.prefix_len), i) {
            errs.push(
                format!("{path}.prefix"),
                format!(
                    "route to {} is already defined by routes[{first}]",
                    r.prefix
                ),
            );
        }
    }
}

/// The network address of a prefix (host bits cleared).
fn network_of(p: IfAddr) -> IpAddr {
    match p.addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let mask = if p.prefix_len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(p.prefix_len.min(32)))
            };
            IpAddr::V4((bits & mask).into())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let mask = if p.prefix_len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(p.prefix_len.min(128)))
            };
            IpAddr::V6((bits & mask).into())
        }
    }
}

/// `aa:bb:cc:dd:ee:ff` (or with `-`), six hex pairs.
pub(crate) fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut n = 0;
    for part in s.split([':', '-']) {
        if n >= 6 || part.len() != 2 {
            return None;
        }
        out[n] = u8::from_str_radix(part, 16).ok()?;
        n += 1;
    }
    (n == 6).then_some(out)
}

fn check_neighbours(cfg: &Config, errs: &mut Problems) {
    let ports = port_names(cfg);
    let mut seen = HashMap::new();
    for (i, n) in cfg.neighbours.iter().enumerate() {
        let path = format!("neighbours[{i}]");
        if !ports.contains(n.port.as_str()) {
            errs.push(format!("{path}.port"), missing_port(cfg, &n.port));
        }
        match parse_mac(&n.mac) {
            None => errs.push(
                format!("{path}.mac"),
                format!("\"{}\" is not a MAC address (aa:bb:cc:dd:ee:ff)", n.mac),
            ),
            Some(mac) if mac[0] & 1 == 1 => errs.push(
                format!("{path}.mac"),
                format!("{} is a multicast MAC address, not a neighbour's", n.mac),
            ),
            Some(_) => {}
        }
        if let Some(first) = seen.insert((n.port.as_str(), n.address), i) {
            errs.push(
                format!("{path}.address"),
                format!(
                    "neighbour {} on port {} is already defined by neighbours[{first}]",
                    n.address, n.port
                ),
            );
        }
    }
}

fn check_local_address_groups(cfg: &Config, errs: &mut Problems) {
    let ports = port_names(cfg);
    for (name, group) in &cfg.local_address_groups {
        let path = format!("local_address_groups.{name}");
        let mut seen = HashSet::new();
        let mut v4 = false;
        let mut v6 = false;
        for (j, la) in group.addresses.iter().enumerate() {
            let apath = format!("{path}.addresses[{j}]");
            if !seen.insert(la.address) {
                errs.push(
                    format!("{apath}.address"),
                    format!("local address {} is listed twice", la.address),
                );
            }
            v4 |= la.address.is_ipv4();
            v6 |= la.address.is_ipv6();
            // keepalived.conf imports name DPDK ports (dpdk0) before any [[ports]] exist:
            // the names can only be checked against ports the config defines.
            if let Some(p) = &la.port
                && !cfg.ports.is_empty()
                && !ports.contains(p.as_str())
            {
                errs.push(format!("{apath}.port"), missing_port(cfg, p));
            }
        }
        if v4 && v6 {
            errs.push(
                path,
                "a local address group mixes IPv4 and IPv6 addresses; use one group per family",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs() {
        assert_eq!(
            parse_mac("02:00:00:aa:BB:0f"),
            Some([2, 0, 0, 0xaa, 0xbb, 0x0f])
        );
        assert_eq!(
            parse_mac("02-00-00-aa-bb-0f"),
            Some([2, 0, 0, 0xaa, 0xbb, 0x0f])
        );
        assert_eq!(parse_mac("02:00:00:aa:bb"), None);
        assert_eq!(parse_mac("02:00:00:aa:bb:0f:11"), None);
        assert_eq!(parse_mac("2:00:00:aa:bb:0f"), None);
        assert_eq!(parse_mac("zz:00:00:aa:bb:0f"), None);
    }

    #[test]
    fn stats_slots_and_keepalived_path_are_checked() {
        let mut cfg = Config::default();
        let mut errs = Problems::default();
        check(&cfg, &mut errs);
        assert!(errs.0.is_empty(), "{:?}", errs.0);
        cfg.daemon.stats_slots = 0;
        cfg.daemon.keepalived_conf = Some(" ".into());
        check(&cfg, &mut errs);
        let paths: Vec<&str> = errs.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["daemon.stats_slots", "daemon.keepalived_conf"]);
        let mut errs = Problems::default();
        cfg.daemon.stats_slots = MAX_STATS_SLOTS + 1;
        cfg.daemon.keepalived_conf = None;
        check(&cfg, &mut errs);
        assert_eq!(errs.0.len(), 1);
        assert!(errs.0[0].message.contains("out of range"), "{:?}", errs.0);
        let mut errs = Problems::default();
        cfg.daemon.stats_slots = MAX_STATS_SLOTS;
        check(&cfg, &mut errs);
        assert!(errs.0.is_empty());
    }

    #[test]
    fn network_addresses() {
        let p: IfAddr = "10.1.2.3/8".parse().unwrap();
        assert_eq!(network_of(p), "10.0.0.0".parse::<IpAddr>().unwrap());
        let p: IfAddr = "2001:db8::1/64".parse().unwrap();
        assert_eq!(network_of(p), "2001:db8::".parse::<IpAddr>().unwrap());
        let p: IfAddr = "0.0.0.0/0".parse().unwrap();
        assert_eq!(network_of(p), "0.0.0.0".parse::<IpAddr>().unwrap());
    }
}
