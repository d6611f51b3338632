//! The health overlay: what the health checkers decide about real servers and sorry
//! servers, kept apart from what the operator configured.
//!
//! keepalived changes the kernel's table when a checker fails (removes the real server, or
//! sets its weight to 0 with `inhibit_on_failure`) but never its configuration file. rvs
//! keeps the same split: the *configured* configuration is what the operator said (file +
//! rvsadm) and is the only thing persisted; the *effective* configuration, which the
//! dataplane runs and `-L` lists, is derived from it and this overlay. A checker's verdict
//! is therefore never written to the state file, and an operator's `-e` never overwrites a
//! checker's verdict (or the other way round).
//!
//! The sorry server follows keepalived's rules (the same as
//! [`crate::health::service_effect`], which a test below holds this module to): while a
//! service's quorum is lost its sorry server is in the table at weight 1 and the alive real
//! servers are out (or at weight 0 with `inhibit_on_failure`); otherwise a sorry server
//! with `sorry_server_inhibit` is listed at weight 0 and one without is absent.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use proto::ServiceKey;

use super::convert::{dest_addr, service_key};
use crate::config::{Config, RealServer, SorryServer, VirtualService};

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
    /// Services whose quorum is lost while they have a sorry server: it serves.
    sorry: BTreeSet<ServiceKey>,
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

    /// Records whether a service's sorry server serves (its quorum is lost).
    pub fn set_sorry(&mut self, key: ServiceKey, active: bool) {
        if active {
            self.sorry.insert(key);
        } else {
            self.sorry.remove(&key);
        }
    }

    /// Whether a service's sorry server serves.
    pub fn sorry_active(&self, key: &ServiceKey) -> bool {
        self.sorry.contains(key)
    }

    /// Forgets verdicts on real servers that are no longer configured, so a server added
    /// again later starts clean (its checker starts again too).
    pub fn retain_configured(&mut self, cfg: &Config) {
        let with_sorry: BTreeSet<ServiceKey> = cfg
            .services
            .iter()
            .filter(|svc| svc.sorry_server.is_some())
            .map(service_key)
            .collect();
        self.sorry.retain(|k| with_sorry.contains(k));
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
        for svc in &mut cfg.services {
            self.apply(svc);
        }
        cfg
    }

    fn apply(&self, svc: &mut VirtualService) {
        let key = service_key(svc);
        let sorry_on = svc.sorry_server.is_some() && self.sorry.contains(&key);
        let inhibit_default = svc.check.inhibit_on_failure;
        let port = svc.port;
        svc.real_servers.retain_mut(|rs| {
            let addr = SocketAddr::new(rs.address, rs.port_in(port));
            let inhibit = rs.inhibit_on_failure.unwrap_or(inhibit_default);
            let weight = match self.get(&key, addr) {
                DestHealth::Down => None,
                _ if sorry_on => None,
                DestHealth::Up => Some(rs.weight),
                DestHealth::Weight(w) => Some(w),
            };
            match (weight, inhibit) {
                (Some(w), _) => {
                    rs.weight = w;
                    true
                }
                (None, true) => {
                    rs.weight = 0;
                    true
                }
                (None, false) => false,
            }
        });
        if let Some(sorry) = &svc.sorry_server
            && (sorry_on || sorry.inhibit)
        {
            let entry = sorry_entry(sorry, u32::from(sorry_on));
            let dest = SocketAddr::new(entry.address, entry.port_in(port));
            // A sorry server that is also a real server is that real server.
            if !svc
                .real_servers
                .iter()
                .any(|rs| SocketAddr::new(rs.address, rs.port_in(port)) == dest)
            {
                svc.real_servers.push(entry);
            }
        }
    }
}

/// The sorry server as a destination of the table.
fn sorry_entry(sorry: &SorryServer, weight: u32) -> RealServer {
    RealServer {
        address: sorry.address,
        port: sorry.port,
        port_zero: false,
        weight,
        forward: sorry.forward,
        tunnel: sorry.tunnel,
        tunnel_port: sorry.tunnel_port,
        tunnel_csum: Default::default(),
        upper_threshold: 0,
        lower_threshold: 0,
        inhibit_on_failure: None,
        notify_up: None,
        notify_down: None,
        delay_loop: None,
        checks: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::effect::{ServerHealth, service_effect};
    use crate::health::spec::SorrySpec;
    use std::net::IpAddr;

    fn service(weights: &[(u32, bool)], sorry: Option<bool>) -> VirtualService {
        let mut text = String::from(
            "protocol = \"tcp\"\naddress = \"10.0.0.100\"\nport = 80\nforward = \"dr\"\n",
        );
        if let Some(inhibit) = sorry {
            text.push_str(&format!(
                "[sorry_server]\naddress = \"10.0.9.9\"\nport = 0\ninhibit = {inhibit}\n"
            ));
        }
        for (i, (w, inhibit)) in weights.iter().enumerate() {
            text.push_str(&format!(
                "[[real_servers]]\naddress = \"10.0.0.{}\"\nweight = {w}\ninhibit_on_failure = {inhibit}\n",
                11 + i
            ));
        }
        toml::from_str(&text).unwrap()
    }

    fn table(svc: &VirtualService) -> Vec<(SocketAddr, u32)> {
        svc.real_servers
            .iter()
            .map(|rs| (dest_addr(svc, rs), rs.weight))
            .collect()
    }

    /// Every combination of three servers' verdicts and inhibit flags, sorry server kinds,
    /// quorum settings and previous quorum states gives the table service_effect gives.
    #[test]
    fn the_effective_table_is_the_health_effect() {
        let verdicts = [
            DestHealth::Up,
            DestHealth::Down,
            DestHealth::Weight(0),
            DestHealth::Weight(5),
        ];
        let mut cases = 0;
        for combo in 0..(4usize.pow(3) * 8) {
            let vs: Vec<DestHealth> = (0..3).map(|i| verdicts[(combo >> (2 * i)) & 3]).collect();
            let inhibits: Vec<bool> = (0..3).map(|i| combo >> (6 + i) & 1 == 1).collect();
            for sorry in [None, Some(false), Some(true)] {
                for quorum in 1..=5u32 {
                    for was in [true, false] {
                        let weights: Vec<(u32, bool)> = inhibits
                            .iter()
                            .enumerate()
                            .map(|(i, inh)| (u32::try_from(i).unwrap() + 1, *inh))
                            .collect();
                        let svc = service(&weights, sorry);
                        let key = service_key(&svc);
                        let health: Vec<ServerHealth> = svc
                            .real_servers
                            .iter()
                            .zip(&vs)
                            .map(|(rs, v)| ServerHealth {
                                dest: dest_addr(&svc, rs),
                                weight: rs.weight,
                                inhibit: rs.inhibit_on_failure.unwrap_or(false),
                                alive: *v != DestHealth::Down,
                                dynamic_weight: match v {
                                    DestHealth::Weight(w) => Some(*w),
                                    _ => None,
                                },
                            })
                            .collect();
                        let spec = sorry.map(|inhibit| SorrySpec {
                            dest: SocketAddr::new(IpAddr::from([10, 0, 9, 9]), 80),
                            inhibit,
                        });
                        let effect = service_effect(quorum, 0, spec.as_ref(), &health, Some(was));
                        let mut overlay = HealthOverlay::default();
                        for (h, v) in health.iter().zip(&vs) {
                            overlay.set(key, h.dest, *v);
                        }
                        overlay.set_sorry(key, effect.sorry_active);
                        let cfg = Config {
                            services: vec![svc.clone()],
                            ..Config::default()
                        };
                        let got = table(&overlay.effective(&cfg).services[0]);
                        let want: Vec<(SocketAddr, u32)> =
                            effect.entries.iter().map(|e| (e.dest, e.weight)).collect();
                        assert_eq!(
                            got, want,
                            "verdicts {vs:?} inhibit {inhibits:?} sorry {sorry:?} quorum {quorum} was {was}"
                        );
                        cases += 1;
                    }
                }
            }
        }
        assert_eq!(cases, 512 * 3 * 5 * 2);
    }

    #[test]
    fn sorry_state_is_forgotten_with_the_sorry_server() {
        let svc = service(&[(1, false)], Some(false));
        let key = service_key(&svc);
        let mut cfg = Config {
            services: vec![svc],
            ..Config::default()
        };
        let mut overlay = HealthOverlay::default();
        overlay.set_sorry(key, true);
        overlay.retain_configured(&cfg);
        assert!(overlay.sorry_active(&key));
        let eff = overlay.effective(&cfg);
        assert_eq!(
            table(&eff.services[0]),
            [(SocketAddr::new(IpAddr::from([10, 0, 9, 9]), 80), 1)]
        );
        cfg.services[0].sorry_server = None;
        overlay.retain_configured(&cfg);
        assert!(!overlay.sorry_active(&key));
        assert_eq!(overlay, HealthOverlay::default());
    }
}
