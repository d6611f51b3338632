//! The health overlay: what the health checkers (and later VRRP) decide about real servers,
//! kept apart from what the operator configured.
//!
//! keepalived changes the kernel's table when a checker fails (removes the real server, or
//! sets its weight to 0 with `inhibit_on_failure`) but never its configuration file. rvs
//! keeps the same split: the *configured* configuration is what the operator said (file +
//! rvsadm) and is the only thing persisted; the *effective* configuration, which the
//! dataplane runs and `-L` lists, is derived from it and this overlay. A checker's verdict
//! is therefore never written to the state file, and an operator's `-e` never overwrites a
//! checker's verdict (or the other way round).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use proto::ServiceKey;

use super::convert::{dest_addr, service_key};
use crate::config::Config;

/// A checker's verdict on one real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestHealth {
    /// Serving with its configured weight (the default without an entry).
    Up,
    /// Failed: removed from the scheduler, or kept at weight 0 with `inhibit_on_failure`.
    Down,
    /// Serving with a weight the checker chose (MISC_CHECK `misc_dynamic`).
    Weight(u32),
}

/// Verdicts by service and real server (effective address:port).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthOverlay {
    dests: BTreeMap<(ServiceKey, SocketAddr), DestHealth>,
}

impl HealthOverlay {
    /// Records a verdict; `Up` removes the entry.
    pub fn set(&mut self, key: ServiceKey, dest: SocketAddr, health: DestHealth) {
        if health == DestHealth::Up {
            self.dests.remove(&(key, dest));
        } else {
            self.dests.insert((key, dest), health);
        }
    }

    /// The verdict on a real server (`Up` when none was recorded).
    pub fn get(&self, key: &ServiceKey, dest: SocketAddr) -> DestHealth {
        self.dests
            .get(&(*key, dest))
            .copied()
            .unwrap_or(DestHealth::Up)
    }

    /// Forgets verdicts on real servers that are no longer configured, so a server added
    /// again later starts clean (its checker starts again too).
    pub fn retain_configured(&mut self, cfg: &Config) {
        let present: std::collections::BTreeSet<(ServiceKey, SocketAddr)> = cfg
            .services
            .iter()
            .flat_map(|svc| {
                let key = service_key(svc);
                svc.real_servers
                    .iter()
                    .map(move |rs| (key, dest_addr(svc, rs)))
            })
            .collect();
        self.dests.retain(|k, _| present.contains(k));
    }

    /// The configuration the dataplane should run: `configured` with the verdicts applied.
    pub fn effective(&self, configured: &Config) -> Config {
        let mut cfg = configured.clone();
        if self.dests.is_empty() {
            return cfg;
        }
        for svc in &mut cfg.services {
            let key = service_key(svc);
            let inhibit_default = svc.check.inhibit_on_failure;
            let port = svc.port;
            svc.real_servers.retain_mut(|rs| {
                let addr = SocketAddr::new(rs.address, if rs.port == 0 { port } else { rs.port });
                match self.get(&key, addr) {
                    DestHealth::Up => true,
                    DestHealth::Weight(w) => {
                        rs.weight = w;
                        true
                    }
                    DestHealth::Down => {
                        if rs.inhibit_on_failure.unwrap_or(inhibit_default) {
                            rs.weight = 0;
                            true
                        } else {
                            false
                        }
                    }
                }
            });
        }
        cfg
    }
}
