//! Health checks in the running director.
//!
//! ```text
//!  configured services ──resolve──▶ HealthHost (thread rvs-health: checkers, supervisor)
//!        ▲ every accepted change                 │ events (std channel)
//!        │ (director observer: reconfigure)       ▼
//!     Director ◀── set_service_health ── thread rvs-health-events
//! ```
//!
//! The checkers target the *configured* real servers (a failed one must keep being
//! checked to come back), resolved with keepalived's defaults; the director calls the
//! observer after every change of its configuration, which re-targets the engine without
//! waiting (checkers whose settings did not change keep their state and schedule). The
//! checks are ordinary kernel sockets of the daemon, so they leave from the director's
//! address through the TAP of the port the kernel routes them to, like any traffic of the
//! director.
//!
//! On an event the events thread reads the service's whole health from the engine's board
//! (which shows the event's effect before the event is sent) and hands it to the director
//! as one change: each real server down, up or at a MISC_CHECK weight, and whether the
//! sorry server serves (quorum lost). The director derives the effective table with
//! keepalived's rules and the applier turns it into one snapshot. Events that queued up
//! meanwhile are folded into one change per service. Nothing here blocks the control
//! socket or a configuration change: the engine runs on its own thread, and the events
//! thread waits for the director like any client.
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;

use control::config::Config;
use control::director::{ChangeObserver, DestHealth, DirectorHandle};
use control::health::resolve::resolve_service;
use control::health::{
    EngineOptions, HealthEngine, HealthEvent, HealthHost, NetProber, ServerChange, ServiceHealth,
    ServiceTarget,
};
use proto::ServiceKey;

use crate::error::RvsdError;

/// The checker targets of `cfg`'s services. A service whose checkers cannot run is left
/// unchecked (its servers stay in) and logged; configuration validation normally refuses
/// such a file before this point.
pub fn targets(cfg: &Config) -> Vec<ServiceTarget> {
    let mut out = Vec::with_capacity(cfg.services.len());
    for vs in &cfg.services {
        match resolve_service(vs) {
            Ok(t) => out.push(t),
            Err(errors) => {
                for e in errors {
                    log::error!("health check not started: {e}");
                }
            }
        }
    }
    out
}

/// Starts the checkers of `cfg` on their own thread.
pub fn start(cfg: &Config) -> Result<(HealthHost, Receiver<HealthEvent>), RvsdError> {
    let targets = targets(cfg);
    let checkers: usize = targets
        .iter()
        .flat_map(|t| &t.servers)
        .map(|s| s.checkers.len())
        .sum();
    let started = HealthHost::start(
        targets,
        Arc::new(NetProber::new()),
        EngineOptions::default(),
    )
    .map_err(|e| RvsdError::Other(format!("starting the health checkers: {e}")))?;
    log::info!("health: {checkers} checker(s) started");
    Ok(started)
}

/// The director's observer: every change of the configuration re-targets the checkers.
pub fn observer(engine: HealthEngine) -> ChangeObserver {
    Box::new(move |cfg: &Config| {
        if engine.reconfigure(targets(cfg)).is_err() {
            log::warn!("health: the engine has stopped; the change is not checked");
        }
    })
}

/// The director's verdict on each real server of a service's health.
pub fn verdicts(health: &ServiceHealth) -> Vec<(SocketAddr, DestHealth)> {
    health
        .servers
        .iter()
        .map(|s| {
            let verdict = match (s.alive, s.dynamic_weight) {
                (false, _) => DestHealth::Down,
                (true, Some(w)) => DestHealth::Weight(w),
                (true, None) => DestHealth::Up,
            };
            (s.dest, verdict)
        })
        .collect()
}

/// `TCP 10.0.0.100:80`, as the log names a service.
fn service_name(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr { protocol, addr } => format!("{protocol} {addr}"),
        ServiceKey::Fwmark { mark } => format!("FWM {mark}"),
    }
}

fn key_of(event: &HealthEvent) -> ServiceKey {
    match event {
        HealthEvent::Server { service, .. } | HealthEvent::Quorum { service, .. } => *service,
    }
}

fn log_event(event: &HealthEvent) {
    match event {
        HealthEvent::Server {
            service,
            dest,
            change,
            reason,
        } => {
            let what = match change {
                ServerChange::Up => "UP".to_string(),
                ServerChange::Down => "DOWN".to_string(),
                ServerChange::Weight(w) => format!("weight {w}"),
            };
            log::info!(
                "health: real server {dest} of {}: {what} ({reason})",
                service_name(service)
            );
        }
        HealthEvent::Quorum {
            service,
            up,
            weight_sum,
        } => log::info!(
            "health: {}: quorum {} (alive weight {weight_sum})",
            service_name(service),
            if *up { "gained" } else { "lost" }
        ),
    }
}

/// Starts the thread that turns events into director changes; it ends when the engine's
/// event channel does (after [`HealthHost::shutdown`]) or the director is gone.
pub fn spawn_events(
    events: Receiver<HealthEvent>,
    engine: HealthEngine,
    director: DirectorHandle,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("rvs-health-events".into())
        .spawn(move || {
            while let Ok(first) = events.recv() {
                let mut keys = BTreeSet::new();
                for event in std::iter::once(first).chain(events.try_iter()) {
                    log_event(&event);
                    keys.insert(key_of(&event));
                }
                for key in keys {
                    // A service removed meanwhile has no health any more: nothing to do.
                    let Some(health) = engine.health(&key) else {
                        continue;
                    };
                    let dests = verdicts(&health);
                    let sorry = !health.quorum_up;
                    match director.run_blocking(move |d| d.set_service_health(&key, &dests, sorry))
                    {
                        None => return,
                        Some(Ok(())) => {}
                        Some(Err(r)) => {
                            log::warn!(
                                "health: {}: the change was not applied: {}",
                                service_name(&key),
                                r.message
                            )
                        }
                    }
                }
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use control::health::ServerHealth;

    #[test]
    fn verdicts_follow_aliveness_and_dynamic_weights() {
        let s = |n: u8, alive: bool, dynamic: Option<u32>| ServerHealth {
            dest: SocketAddr::from(([10, 0, 0, n], 80)),
            weight: 3,
            inhibit: false,
            alive,
            dynamic_weight: dynamic,
        };
        let h = ServiceHealth {
            servers: vec![
                s(11, true, None),
                s(12, false, None),
                s(13, true, Some(9)),
                s(14, false, Some(9)),
            ],
            quorum_up: true,
        };
        let got: Vec<DestHealth> = verdicts(&h).into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            got,
            [
                DestHealth::Up,
                DestHealth::Down,
                DestHealth::Weight(9),
                DestHealth::Down
            ]
        );
    }

    #[test]
    fn unresolvable_checkers_leave_only_their_service_unchecked() {
        let cfg: Config = toml::from_str(
            r#"
            [[services]]
            protocol = "tcp"
            address = "10.0.0.100"
            port = 80
            [[services.real_servers]]
            address = "10.0.0.11"
            [[services.real_servers.checks]]
            type = "tcp"
            [[services]]
            protocol = "tcp"
            address = "10.0.0.101"
            port = 80
            [[services.real_servers]]
            address = "10.0.0.11"
            [[services.real_servers.checks]]
            type = "tcp"
            connect_timeout = -1.0
            "#,
        )
        .unwrap();
        let t = targets(&cfg);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].servers[0].checkers.len(), 1);
        assert_eq!(
            t[0].key,
            ServiceKey::Addr {
                protocol: proto::Protocol::Tcp,
                addr: "10.0.0.100:80".parse().unwrap()
            }
        );
    }
}
