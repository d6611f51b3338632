//! `-A`, `-E`, `-D`, `-C` and `--set`.

use proto::{ServiceKey, ServiceSpec, Timeouts};

use super::{addr_key, local_addr};
use crate::config::Config;
use crate::director::check;
use crate::director::convert::{find_service, new_service, update_service};
use crate::director::refusal::Refusal;

/// `-A`: parser checks, then "Service already exists", then the scheduler name.
pub fn add(cfg: &mut Config, spec: &ServiceSpec) -> Result<(), Refusal> {
    let (protocol, addr) = addr_key(&spec.key)?;
    check::service_spec(protocol, addr.ip(), addr.port(), spec)?;
    if find_service(cfg, &spec.key).is_some() {
        return Err(Refusal::service_exists());
    }
    check::scheduler(&spec.scheduler)?;
    cfg.services.push(new_service(protocol, addr, spec));
    Ok(())
}

/// `-E`: replaces what the spec says, keeps real servers, checks and the rest.
pub fn edit(cfg: &mut Config, spec: &ServiceSpec) -> Result<(), Refusal> {
    let (protocol, addr) = addr_key(&spec.key)?;
    check::service_spec(protocol, addr.ip(), addr.port(), spec)?;
    let svc = find_service(cfg, &spec.key)
        .and_then(|i| cfg.services.get_mut(i))
        .ok_or_else(Refusal::no_service)?;
    check::scheduler(&spec.scheduler)?;
    update_service(svc, spec);
    Ok(())
}

/// `-D`: removes the service with its real servers.
pub fn delete(cfg: &mut Config, key: &ServiceKey) -> Result<(), Refusal> {
    addr_key(key)?;
    let i = find_service(cfg, key).ok_or_else(Refusal::no_service)?;
    cfg.services.remove(i);
    local_addr::prune_private_groups(cfg);
    Ok(())
}

/// `-C`: removes every virtual service (the director's addresses and routes stay).
pub fn clear(cfg: &mut Config) {
    cfg.services.clear();
    local_addr::prune_private_groups(cfg);
}

/// `--set tcp tcpfin udp`: a 0 leaves that timeout as it is.
pub fn set_timeouts(cfg: &mut Config, t: &Timeouts) -> Result<(), Refusal> {
    check::timeouts(t)?;
    let cur = &mut cfg.timeouts;
    for (value, slot) in [
        (t.tcp, &mut cur.tcp),
        (t.tcp_fin, &mut cur.tcp_fin),
        (t.udp, &mut cur.udp),
    ] {
        if value != 0 {
            *slot = value;
        }
    }
    Ok(())
}
