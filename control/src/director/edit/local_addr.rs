//! FULLNAT local addresses of a service (DPVS's `ipvsadm --add-laddr` / `--del-laddr`).
//!
//! The model keeps local addresses in named pools (`local_address_groups`, keepalived/DPVS's
//! `local_address_group`) that services reference, and a pool may be shared by several
//! services. The protocol, like DPVS, edits the addresses of *one* service. So an edit works
//! copy-on-write: a service that shares its pool first gets a private copy (named
//! [`PRIVATE_GROUP_PREFIX`] + the service), and only that copy changes; the other services
//! keep theirs. Private pools that no service references any more are removed.

use std::net::IpAddr;

use proto::ServiceKey;

use super::addr_key;
use crate::config::{Config, LocalAddress, LocalAddressGroup};
use crate::director::check;
use crate::director::convert::{find_service, service_key};
use crate::director::refusal::Refusal;

/// Name prefix of the pools created for one service by a local-address edit.
pub const PRIVATE_GROUP_PREFIX: &str = "rvsadm:";

/// `--add-laddr`.
pub fn add(cfg: &mut Config, key: &ServiceKey, addr: IpAddr) -> Result<(), Refusal> {
    addr_key(key)?;
    check::local_addr(addr)?;
    let idx = find_service(cfg, key).ok_or_else(Refusal::service_not_defined)?;
    if addresses_of(cfg, idx).contains(&addr) {
        return Err(Refusal::local_addr_exists());
    }
    let group = private_group(cfg, idx)?;
    group.addresses.push(LocalAddress {
        address: addr,
        port: None,
    });
    Ok(())
}

/// `--del-laddr`.
pub fn delete(cfg: &mut Config, key: &ServiceKey, addr: IpAddr) -> Result<(), Refusal> {
    addr_key(key)?;
    let idx = find_service(cfg, key).ok_or_else(Refusal::service_not_defined)?;
    if !addresses_of(cfg, idx).contains(&addr) {
        return Err(Refusal::no_local_addr());
    }
    let group = private_group(cfg, idx)?;
    group.addresses.retain(|a| a.address != addr);
    if group.addresses.is_empty()
        && let Some(svc) = cfg.services.get_mut(idx)
    {
        svc.local_address_group = None;
    }
    prune_private_groups(cfg);
    Ok(())
}

/// The local addresses service `idx` uses now.
pub fn addresses_of(cfg: &Config, idx: usize) -> Vec<IpAddr> {
    cfg.services
        .get(idx)
        .and_then(|s| s.local_address_group.as_ref())
        .and_then(|g| cfg.local_address_groups.get(g))
        .map(|g| g.addresses.iter().map(|a| a.address).collect())
        .unwrap_or_default()
}

/// The pool of service `idx`, made private to it first if it is shared or missing.
fn private_group(cfg: &mut Config, idx: usize) -> Result<&mut LocalAddressGroup, Refusal> {
    let svc = cfg
        .services
        .get(idx)
        .ok_or_else(Refusal::service_not_defined)?;
    let current = svc.local_address_group.clone();
    let users = current.as_ref().map_or(0, |name| {
        cfg.services
            .iter()
            .filter(|s| s.local_address_group.as_ref() == Some(name))
            .count()
    });
    let name = match current {
        Some(name) if users == 1 && cfg.local_address_groups.contains_key(&name) => name,
        _ => {
            let copy = LocalAddressGroup {
                addresses: current
                    .as_ref()
                    .and_then(|g| cfg.local_address_groups.get(g))
                    .map(|g| g.addresses.clone())
                    .unwrap_or_default(),
            };
            let name = private_name(cfg, idx);
            cfg.local_address_groups.insert(name.clone(), copy);
            if let Some(svc) = cfg.services.get_mut(idx) {
                svc.local_address_group = Some(name.clone());
            }
            name
        }
    };
    cfg.local_address_groups
        .get_mut(&name)
        .ok_or_else(|| Refusal::internal("local address pool vanished"))
}

/// A pool name for service `idx` that no other pool has.
fn private_name(cfg: &Config, idx: usize) -> String {
    let base = match cfg.services.get(idx).map(service_key) {
        Some(ServiceKey::Addr { protocol, addr }) => {
            format!(
                "{PRIVATE_GROUP_PREFIX}{}:{addr}",
                protocol.to_string().to_lowercase()
            )
        }
        _ => format!("{PRIVATE_GROUP_PREFIX}{idx}"),
    };
    let mut name = base.clone();
    let mut n = 1u32;
    while cfg.local_address_groups.contains_key(&name) {
        n = n.saturating_add(1);
        name = format!("{base}#{n}");
    }
    name
}

/// Removes the private pools no service references.
pub fn prune_private_groups(cfg: &mut Config) {
    let services = &cfg.services;
    cfg.local_address_groups.retain(|name, _| {
        !name.starts_with(PRIVATE_GROUP_PREFIX)
            || services
                .iter()
                .any(|s| s.local_address_group.as_deref() == Some(name.as_str()))
    });
}
