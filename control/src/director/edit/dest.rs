//! `-a`, `-e` and `-d`.

use std::net::SocketAddr;

use proto::{DestSpec, ServiceKey};

use super::addr_key;
use crate::config::{Config, VirtualService};
use crate::director::check;
use crate::director::convert::{find_dest, find_service, new_real_server, update_real_server};
use crate::director::refusal::Refusal;

/// The service a destination command names ("Service not defined" when it does not exist).
fn service_of<'a>(
    cfg: &'a mut Config,
    key: &ServiceKey,
) -> Result<&'a mut VirtualService, Refusal> {
    find_service(cfg, key)
        .and_then(|i| cfg.services.get_mut(i))
        .ok_or_else(Refusal::service_not_defined)
}

/// `-a`, in the kernel's order: service, thresholds, existing destination, unicast.
pub fn add(cfg: &mut Config, key: &ServiceKey, dest: &DestSpec) -> Result<(), Refusal> {
    let (_, vip) = addr_key(key)?;
    check::dest_spec_syntax(vip.ip(), dest)?;
    let svc = service_of(cfg, key)?;
    check::dest_spec_values(dest)?;
    if find_dest(svc, dest.addr).is_some() {
        return Err(Refusal::dest_exists());
    }
    check::dest_address(dest)?;
    let rs = new_real_server(svc, dest);
    svc.real_servers.push(rs);
    Ok(())
}

/// `-e`: the destination must exist; weight, method, tunnel and thresholds are replaced.
pub fn edit(cfg: &mut Config, key: &ServiceKey, dest: &DestSpec) -> Result<(), Refusal> {
    let (_, vip) = addr_key(key)?;
    check::dest_spec_syntax(vip.ip(), dest)?;
    let svc = service_of(cfg, key)?;
    check::dest_spec_values(dest)?;
    let forward = svc.forward;
    let rs = find_dest(svc, dest.addr)
        .and_then(|i| svc.real_servers.get_mut(i))
        .ok_or_else(Refusal::no_dest)?;
    update_real_server(forward, rs, dest);
    Ok(())
}

/// `-d`: the destination leaves the scheduler; the dataplane keeps its connections.
pub fn delete(cfg: &mut Config, key: &ServiceKey, addr: SocketAddr) -> Result<(), Refusal> {
    addr_key(key)?;
    let svc = service_of(cfg, key)?;
    let i = find_dest(svc, addr).ok_or_else(Refusal::no_dest)?;
    svc.real_servers.remove(i);
    Ok(())
}
