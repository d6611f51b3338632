//! Listings built from the effective configuration and the daemon's counters.
//!
//! Services and real servers are listed in configuration order; `rvsadm` sorts them as
//! ipvsadm does (or not, with `--nosort`), so the daemon does not impose an order of its own.

use proto::{AddressSpec, DestInfo, NeighInfo, NeighSpec, RouteSpec, ServiceInfo, ServiceKey};

use super::convert::{dest_addr, dest_spec, service_key, service_spec};
use super::ids::Ids;
use super::overlay::{DestHealth, HealthOverlay};
use super::sources::StatsSource;
use crate::config::{Config, VirtualService};

/// `-L`: every service of `cfg` (or only `only`), with counters and health.
pub fn services(
    cfg: &Config,
    ids: &Ids,
    overlay: &HealthOverlay,
    stats: &dyn StatsSource,
    only: Option<&ServiceKey>,
) -> Vec<ServiceInfo> {
    cfg.services
        .iter()
        .filter(|svc| only.is_none_or(|k| *k == service_key(svc)))
        .map(|svc| service(cfg, svc, ids, overlay, stats))
        .collect()
}

fn service(
    cfg: &Config,
    svc: &VirtualService,
    ids: &Ids,
    overlay: &HealthOverlay,
    stats: &dyn StatsSource,
) -> ServiceInfo {
    let key = service_key(svc);
    let counters = ids
        .service(&key)
        .map(|id| stats.service(id))
        .unwrap_or_default();
    let dests = svc
        .real_servers
        .iter()
        .map(|rs| {
            let addr = dest_addr(svc, rs);
            let c = ids
                .dest(&key, addr)
                .map(|id| stats.dest(id))
                .unwrap_or_default();
            DestInfo {
                spec: dest_spec(svc, rs),
                active_conns: c.active_conns,
                inactive_conns: c.inactive_conns,
                persist_conns: c.persist_conns,
                stats: c.stats,
                rates: c.rates,
                healthy: overlay.get(&key, addr) != DestHealth::Down,
            }
        })
        .collect();
    let local_addrs = svc
        .local_address_group
        .as_ref()
        .and_then(|g| cfg.local_address_groups.get(g))
        .map(|g| g.addresses.iter().map(|a| a.address).collect())
        .unwrap_or_default();
    ServiceInfo {
        spec: service_spec(svc),
        dests,
        local_addrs,
        stats: counters.stats,
        rates: counters.rates,
    }
}

/// The director's own addresses, port by port.
pub fn addresses(cfg: &Config) -> Vec<AddressSpec> {
    cfg.ports
        .iter()
        .flat_map(|p| {
            p.addresses.iter().map(|a| AddressSpec {
                port: p.name.clone(),
                addr: a.addr,
                prefix_len: a.prefix_len,
            })
        })
        .collect()
}

/// The static routes.
pub fn routes(cfg: &Config) -> Vec<RouteSpec> {
    cfg.routes
        .iter()
        .map(|r| RouteSpec {
            prefix: r.prefix.addr,
            prefix_len: r.prefix.prefix_len,
            via: r.via,
            port: r.port.clone(),
        })
        .collect()
}

/// The static neighbours (state `PERMANENT`, as `ip neigh` shows them).
/// An entry whose MAC does not parse is left out; validation rejects such a configuration.
pub fn static_neighbours(cfg: &Config) -> Vec<NeighInfo> {
    cfg.neighbours
        .iter()
        .filter_map(|n| {
            Some(NeighInfo {
                spec: NeighSpec {
                    port: n.port.clone(),
                    addr: n.address,
                    mac: parse_mac(&n.mac)?,
                },
                is_static: true,
                state: "PERMANENT".to_string(),
            })
        })
        .collect()
}

/// `aa:bb:cc:dd:ee:ff` (or with `-`) into six bytes.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split([':', '-']);
    for byte in &mut mac {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 2 {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_parse_strictly() {
        assert_eq!(
            parse_mac("02:00:5e:0a:bc:ff"),
            Some([2, 0, 0x5e, 0x0a, 0xbc, 0xff])
        );
        assert_eq!(
            parse_mac("02-00-5E-0A-BC-FF"),
            Some([2, 0, 0x5e, 0x0a, 0xbc, 0xff])
        );
        for bad in [
            "",
            "02:00:5e:0a:bc",
            "02:00:5e:0a:bc:ff:00",
            "02:00:5e:0a:bc:fff",
            "zz:00:5e:0a:bc:ff",
            "02::5e:0a:bc:ff",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
    }
}
