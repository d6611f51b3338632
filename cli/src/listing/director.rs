//! Listings ipvsadm has no counterpart for: FULLNAT local addresses (`--get-laddr`, laid
//! out like DPVS's), the director's addresses, routes and neighbours (one line each in
//! `ip addr`/`ip route`/`ip neigh` words, so they read and grep like iproute2's), checker and
//! VRRP status, and named counters. Formats are documented in docs/rvsadm.md.

use std::fmt::Write as _;

use proto::{AddressSpec, CheckerStatus, Counter, NeighInfo, RouteSpec, ServiceInfo, VrrpStatus};

use super::services::service_protocol;
use super::{addrport, ntop};
use crate::names::Names;
use crate::sort;

/// `--get-laddr`: each service with its FULLNAT local addresses.
pub fn local_addrs(services: &[ServiceInfo], numeric: bool, names: &dyn Names) -> String {
    let mut sorted = services.to_vec();
    sort::glibc_merge_sort(&mut sorted, &sort::cmp_services);
    let mut out = format!(
        "{:<4} {:<22} {:<8} {}\n",
        "Prot", "VIP:VPORT", "TOTAL", "LADDR"
    );
    for s in &sorted {
        let (protocol, vname) = match s.spec.key {
            proto::ServiceKey::Addr { protocol, addr } => (
                protocol.to_string(),
                addrport(
                    addr.ip(),
                    addr.port(),
                    service_protocol(&s.spec.key),
                    numeric,
                    names,
                ),
            ),
            proto::ServiceKey::Fwmark { mark } => ("FWM".to_string(), mark.to_string()),
        };
        let _ = writeln!(out, "{protocol:<4} {vname:<22} {}", s.local_addrs.len());
        let mut laddrs = s.local_addrs.clone();
        laddrs.sort_by(sort::ip_order);
        for l in laddrs {
            let _ = writeln!(out, "{:<37}{}", "", ntop(l));
        }
    }
    out
}

/// `--list-addrs`: `10.0.0.1/24 dev dpdk0`.
pub fn addresses(list: &[AddressSpec]) -> String {
    list.iter()
        .map(|a| format!("{}/{} dev {}\n", ntop(a.addr), a.prefix_len, a.port))
        .collect()
}

/// `--list-routes`: `10.1.0.0/16 via 10.0.0.254 dev dpdk0`, or without `via` when the
/// prefix is directly connected.
pub fn routes(list: &[RouteSpec]) -> String {
    list.iter()
        .map(|r| match r.via {
            Some(via) => format!(
                "{}/{} via {} dev {}\n",
                ntop(r.prefix),
                r.prefix_len,
                ntop(via),
                r.port
            ),
            None => format!("{}/{} dev {}\n", ntop(r.prefix), r.prefix_len, r.port),
        })
        .collect()
}

/// A MAC address as `52:54:00:12:34:56`.
pub fn mac_text(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `--list-neighs`: `10.0.0.2 dev dpdk0 lladdr 52:54:00:12:34:56 REACHABLE [static]`.
pub fn neighbours(list: &[NeighInfo]) -> String {
    list.iter()
        .map(|n| {
            format!(
                "{} dev {} lladdr {} {}{}\n",
                ntop(n.spec.addr),
                n.spec.port,
                mac_text(&n.spec.mac),
                n.state,
                if n.is_static { " static" } else { "" }
            )
        })
        .collect()
}

/// `--list-checkers`: one line per checked real server.
pub fn checkers(list: &[CheckerStatus], numeric: bool, names: &dyn Names) -> String {
    let mut out = format!(
        "{:<27} {:<27} {:<10} {:<6} {:>8} {:>6} {:>8} {:>8} {}\n",
        "Prot LocalAddress:Port",
        "RemoteAddress:Port",
        "Check",
        "Status",
        "Latency",
        "Age",
        "Checks",
        "Failures",
        "Reason"
    );
    for c in list {
        let svc = match c.service {
            proto::ServiceKey::Addr { protocol, addr } => {
                let p = protocol.to_string();
                format!(
                    "{p:<4} {}",
                    addrport(addr.ip(), addr.port(), protocol, numeric, names)
                )
            }
            proto::ServiceKey::Fwmark { mark } => format!("FWM  {mark}"),
        };
        let dest = addrport(
            c.dest.ip(),
            c.dest.port(),
            service_protocol(&c.service),
            numeric,
            names,
        );
        let latency = c
            .last_latency_ms
            .map_or_else(|| "-".to_string(), |ms| format!("{ms}ms"));
        let age = c.age_s.map_or_else(|| "-".to_string(), |s| format!("{s}s"));
        let _ = writeln!(
            out,
            "{svc:<27} {dest:<27} {:<10} {:<6} {latency:>8} {age:>6} {:>8} {:>8} {}",
            c.kind,
            if c.healthy { "UP" } else { "DOWN" },
            c.checks,
            c.failures,
            c.reason
        );
    }
    out
}

/// `--list-vrrp`: one block per VRRP instance.
pub fn vrrp(list: &[VrrpStatus]) -> String {
    let mut out = String::new();
    for v in list {
        let vips: Vec<String> = v.virtual_addrs.iter().map(|a| ntop(*a)).collect();
        let _ = writeln!(out, "VRRP instance {}: {}", v.name, v.state);
        let _ = writeln!(
            out,
            "  vrid {}, interface {}, version {}",
            v.vrid, v.interface, v.version
        );
        let _ = writeln!(
            out,
            "  priority {}, effective {}",
            v.priority, v.effective_priority
        );
        let _ = writeln!(
            out,
            "  master {}",
            v.master_addr.map_or_else(|| "-".to_string(), ntop)
        );
        let _ = writeln!(out, "  virtual addresses {}", vips.join(" "));
        let _ = writeln!(
            out,
            "  adverts sent {}, received {}, dropped {}",
            v.adverts_sent, v.adverts_received, v.adverts_dropped
        );
    }
    out
}

/// `--list-counters`: `name value`, names padded to the longest.
pub fn counters(list: &[Counter]) -> String {
    let width = list.iter().map(|c| c.name.len()).max().unwrap_or(0);
    list.iter()
        .map(|c| format!("{:<width$} {}\n", c.name, c.value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::tests::FixedNames;
    use proto::{NeighSpec, Protocol, ServiceKey};

    #[test]
    fn director_listings() {
        assert_eq!(
            addresses(&[AddressSpec {
                port: "dpdk0".into(),
                addr: "10.0.0.1".parse().unwrap(),
                prefix_len: 24
            }]),
            "10.0.0.1/24 dev dpdk0\n"
        );
        assert_eq!(
            routes(&[
                RouteSpec {
                    prefix: "0.0.0.0".parse().unwrap(),
                    prefix_len: 0,
                    via: Some("10.0.0.254".parse().unwrap()),
                    port: "dpdk0".into()
                },
                RouteSpec {
                    prefix: "2001:db8::".parse().unwrap(),
                    prefix_len: 64,
                    via: None,
                    port: "dpdk1".into()
                }
            ]),
            "0.0.0.0/0 via 10.0.0.254 dev dpdk0\n2001:db8::/64 dev dpdk1\n"
        );
        assert_eq!(
            neighbours(&[NeighInfo {
                spec: NeighSpec {
                    port: "dpdk0".into(),
                    addr: "10.0.0.2".parse().unwrap(),
                    mac: [0x52, 0x54, 0, 0x12, 0x34, 0x56]
                },
                is_static: true,
                state: "PERMANENT".into()
            }]),
            "10.0.0.2 dev dpdk0 lladdr 52:54:00:12:34:56 PERMANENT static\n"
        );
        assert_eq!(
            counters(&[
                Counter {
                    name: "rx_packets".into(),
                    value: 10
                },
                Counter {
                    name: "drop_no_route".into(),
                    value: 2
                }
            ]),
            "rx_packets    10\ndrop_no_route 2\n"
        );
    }

    #[test]
    fn checker_lines() {
        let text = checkers(
            &[CheckerStatus {
                service: ServiceKey::Addr {
                    protocol: Protocol::Tcp,
                    addr: "10.0.0.1:80".parse().unwrap(),
                },
                dest: "10.0.1.1:80".parse().unwrap(),
                kind: "HTTP_GET".into(),
                healthy: false,
                last_latency_ms: Some(12),
                reason: "status 503".into(),
                age_s: None,
                checks: 40,
                failures: 3,
            }],
            true,
            &FixedNames::default(),
        );
        assert_eq!(
            text.lines().nth(1).unwrap(),
            "TCP  10.0.0.1:80            10.0.1.1:80                 HTTP_GET   DOWN       12ms      -       40        3 status 503"
        );
    }
}
