//! The director's own addresses, static routes and static neighbours.
//!
//! These follow iproute2's habits rather than ipvsadm's (ipvsadm has no such commands):
//! an address is identified by port + address + prefix length, a route by its prefix, a
//! neighbour by port + address; adding what exists and deleting what does not are errors,
//! and the texts say which item and which port.

use std::net::IpAddr;

use proto::{AddressSpec, NeighSpec, RouteSpec};

use crate::config::{Config, IfAddr, Neighbour, Port, Route};
use crate::director::check::is_unicast;
use crate::director::convert::full_prefix;
use crate::director::refusal::Refusal;

fn port_mut<'a>(cfg: &'a mut Config, name: &str) -> Result<&'a mut Port, Refusal> {
    cfg.ports
        .iter_mut()
        .find(|p| p.name == name)
        .ok_or_else(|| no_port(name))
}

fn no_port(name: &str) -> Refusal {
    Refusal::new(proto::ErrorKind::NotFound, format!("no such port {name:?}"))
}

fn prefix(addr: IpAddr, len: u8) -> Result<IfAddr, Refusal> {
    if len > full_prefix(addr) {
        return Err(Refusal::invalid(format!(
            "invalid prefix length {len} for {addr}"
        )));
    }
    Ok(IfAddr {
        addr,
        prefix_len: len,
    })
}

/// True when no bit of `addr` beyond `len` is set (a proper network prefix).
fn is_network(addr: IpAddr, len: u8) -> bool {
    match addr {
        IpAddr::V4(a) => {
            let host = u32::MAX.checked_shr(u32::from(len)).unwrap_or(0);
            u32::from(a) & host == 0
        }
        IpAddr::V6(a) => {
            let host = u128::MAX.checked_shr(u32::from(len)).unwrap_or(0);
            u128::from(a) & host == 0
        }
    }
}

/// Adds an address of the director to a port.
pub fn add_address(cfg: &mut Config, spec: &AddressSpec) -> Result<(), Refusal> {
    let ifaddr = prefix(spec.addr, spec.prefix_len)?;
    if !is_unicast(spec.addr) {
        return Err(Refusal::invalid(format!(
            "{} cannot be an address of the director",
            spec.addr
        )));
    }
    if let Some(owner) = cfg
        .ports
        .iter()
        .find(|p| p.addresses.iter().any(|a| a.addr == spec.addr))
    {
        return Err(Refusal::new(
            proto::ErrorKind::Exists,
            format!(
                "address {} already exists on port {}",
                spec.addr, owner.name
            ),
        ));
    }
    port_mut(cfg, &spec.port)?.addresses.push(ifaddr);
    Ok(())
}

/// Removes an address of the director (address and prefix length must match).
pub fn del_address(cfg: &mut Config, spec: &AddressSpec) -> Result<(), Refusal> {
    let port = port_mut(cfg, &spec.port)?;
    let i = port
        .addresses
        .iter()
        .position(|a| a.addr == spec.addr && a.prefix_len == spec.prefix_len)
        .ok_or_else(|| {
            Refusal::new(
                proto::ErrorKind::NotFound,
                format!(
                    "address {}/{} is not on port {}",
                    spec.addr, spec.prefix_len, spec.port
                ),
            )
        })?;
    port.addresses.remove(i);
    Ok(())
}

/// Adds a static route.
pub fn add_route(cfg: &mut Config, spec: &RouteSpec) -> Result<(), Refusal> {
    let pfx = prefix(spec.prefix, spec.prefix_len)?;
    if !is_network(spec.prefix, spec.prefix_len) {
        return Err(Refusal::invalid("Invalid prefix for given prefix length"));
    }
    if let Some(via) = spec.via
        && (via.is_ipv4() != spec.prefix.is_ipv4() || !is_unicast(via))
    {
        return Err(Refusal::invalid(format!(
            "invalid gateway {via} for {}/{}",
            spec.prefix, spec.prefix_len
        )));
    }
    port_mut(cfg, &spec.port)?;
    if cfg.routes.iter().any(|r| r.prefix == pfx) {
        return Err(Refusal::new(
            proto::ErrorKind::Exists,
            format!("route to {pfx} already exists"),
        ));
    }
    cfg.routes.push(Route {
        prefix: pfx,
        via: spec.via,
        port: spec.port.clone(),
    });
    Ok(())
}

/// Removes the static route to a prefix.
pub fn del_route(cfg: &mut Config, spec: &RouteSpec) -> Result<(), Refusal> {
    let pfx = prefix(spec.prefix, spec.prefix_len)?;
    let i = cfg
        .routes
        .iter()
        .position(|r| r.prefix == pfx)
        .ok_or_else(|| Refusal::new(proto::ErrorKind::NotFound, format!("no route to {pfx}")))?;
    cfg.routes.remove(i);
    Ok(())
}

/// `aa:bb:cc:dd:ee:ff`, as the model stores a MAC address.
pub fn format_mac(mac: [u8; 6]) -> String {
    let [a, b, c, d, e, f] = mac;
    format!("{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}")
}

/// Adds a static neighbour.
pub fn add_neigh(cfg: &mut Config, spec: &NeighSpec) -> Result<(), Refusal> {
    let [first, ..] = spec.mac;
    if spec.mac == [0; 6] || first & 1 == 1 {
        return Err(Refusal::invalid(format!(
            "{} is not a unicast MAC address",
            format_mac(spec.mac)
        )));
    }
    if !is_unicast(spec.addr) {
        return Err(Refusal::invalid(format!(
            "{} cannot be a neighbour",
            spec.addr
        )));
    }
    port_mut(cfg, &spec.port)?;
    if cfg
        .neighbours
        .iter()
        .any(|n| n.port == spec.port && n.address == spec.addr)
    {
        return Err(Refusal::new(
            proto::ErrorKind::Exists,
            format!(
                "neighbour {} already exists on port {}",
                spec.addr, spec.port
            ),
        ));
    }
    cfg.neighbours.push(Neighbour {
        address: spec.addr,
        mac: format_mac(spec.mac),
        port: spec.port.clone(),
    });
    Ok(())
}

/// Removes a static neighbour (port and address must match; the MAC is not compared).
pub fn del_neigh(cfg: &mut Config, spec: &NeighSpec) -> Result<(), Refusal> {
    let i = cfg
        .neighbours
        .iter()
        .position(|n| n.port == spec.port && n.address == spec.addr)
        .ok_or_else(|| {
            Refusal::new(
                proto::ErrorKind::NotFound,
                format!("no neighbour {} on port {}", spec.addr, spec.port),
            )
        })?;
    cfg.neighbours.remove(i);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_prefixes_have_no_host_bits() {
        assert!(is_network("10.0.0.0".parse().unwrap(), 8));
        assert!(!is_network("10.0.0.1".parse().unwrap(), 8));
        assert!(is_network("10.0.0.1".parse().unwrap(), 32));
        assert!(is_network("0.0.0.0".parse().unwrap(), 0));
        assert!(!is_network("1.0.0.0".parse().unwrap(), 0));
        assert!(is_network("2001:db8::".parse().unwrap(), 32));
        assert!(!is_network("2001:db8::1".parse().unwrap(), 64));
    }

    #[test]
    fn macs_print_as_the_model_stores_them() {
        assert_eq!(
            format_mac([0x02, 0, 0x5e, 0xa, 0xbc, 0xff]),
            "02:00:5e:0a:bc:ff"
        );
    }
}
