//! [`Director`]: the running configuration and the one path every change takes.
//!
//! A change goes: copy the configured configuration → apply the request to the copy
//! ([`edit`]) → check the copy ([`check::config`]) → derive the effective configuration
//! (health overlay) and its ids → hand it to the dataplane ([`Applier`]) → persist the
//! configured copy (state file) → commit → reply `Ok`. Each step can refuse, and a refusal
//! at any step leaves the configuration, the ids, the dataplane and the state file as they
//! were: the copy is dropped, and if persisting fails after the dataplane took the change,
//! the dataplane is handed the previous configuration again.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use proto::{DaemonInfo, PROTOCOL_VERSION, Request, Response, ServiceKey};

use super::applier::Applier;
use super::check;
use super::convert::{find_dest, find_service};
use super::dataplane_view::for_dataplane;
use super::edit;
use super::ids::Ids;
use super::listing;
use super::overlay::{DestHealth, HealthOverlay};
use super::persist::{self, PersistedState};
use super::refusal::Refusal;
use super::sources::{NoStats, NoStatus, StatsSource, StatusSource};
use crate::config::Config;

/// Who sent a request, as the control socket learned it from the peer's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
    pub pid: Option<i32>,
    /// Root or a member of the control group: may do anything. Others get
    /// `PermissionDenied` for everything but `Hello`.
    pub authorized: bool,
}

impl Caller {
    /// The daemon itself (health checkers, VRRP, startup code).
    pub fn internal() -> Self {
        Caller {
            uid: 0,
            gid: 0,
            pid: i32::try_from(std::process::id()).ok(),
            authorized: true,
        }
    }
}

/// What [`Director::restore`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restored {
    /// No state file exists: the configuration file rules.
    Absent,
    /// The state file replaced the persisted sections of the configuration file; the
    /// warnings name what could not be placed (addresses of ports no longer defined).
    Loaded { warnings: Vec<String> },
    /// The state file was corrupt or invalid; it was renamed to `moved_to` (or could not be
    /// renamed: `None`), and the configuration file rules.
    SetAside {
        reason: String,
        moved_to: Option<PathBuf>,
    },
    /// The state file could not be read (permissions, I/O); it was left where it is and the
    /// configuration file rules.
    Unreadable { reason: String },
}

/// Called with the configured configuration after every change to it (not after health
/// verdicts): the daemon re-targets its health checkers here. It must not block.
pub type ChangeObserver = Box<dyn FnMut(&Config) + Send>;

/// The running configuration of the director.
pub struct Director {
    /// What the operator configured (file + control socket): the persisted truth.
    configured: Config,
    /// Health verdicts applied on top of `configured`.
    overlay: HealthOverlay,
    /// `overlay` applied to `configured`: what the dataplane runs and `-L` lists.
    effective: Config,
    /// Ids of everything in `effective`.
    ids: Ids,
    /// Number of configurations handed to the dataplane so far.
    generation: u64,
    applier: Box<dyn Applier>,
    stats: Box<dyn StatsSource>,
    status: Box<dyn StatusSource>,
    state_file: Option<PathBuf>,
    daemon: String,
    observer: Option<ChangeObserver>,
}

impl Director {
    /// A director over `cfg` (normally the configuration file), not yet started. The state
    /// file is `cfg.daemon.state_file`.
    pub fn new(cfg: Config, applier: Box<dyn Applier>) -> Self {
        let state_file = cfg.daemon.state_file.as_ref().map(PathBuf::from);
        Director {
            effective: cfg.clone(),
            configured: cfg,
            overlay: HealthOverlay::default(),
            ids: Ids::new(),
            generation: 0,
            applier,
            stats: Box::new(NoStats),
            status: Box::new(NoStatus),
            state_file,
            daemon: format!("rvsd {}", env!("CARGO_PKG_VERSION")),
            observer: None,
        }
    }

    /// Calls `observer` after every change of the configured configuration (see
    /// [`ChangeObserver`]).
    pub fn with_observer(mut self, observer: ChangeObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Reads counters from `stats` (default: none).
    pub fn with_stats(mut self, stats: Box<dyn StatsSource>) -> Self {
        self.stats = stats;
        self
    }

    /// Reads connections, checkers, VRRP and named counters from `status` (default: none).
    pub fn with_status(mut self, status: Box<dyn StatusSource>) -> Self {
        self.status = status;
        self
    }

    /// The daemon's name and version, as `Hello` and `Info` report it.
    pub fn with_daemon_name(mut self, name: impl Into<String>) -> Self {
        self.daemon = name.into();
        self
    }

    /// Loads the state file at `path` over the configuration (see [`persist`] for the
    /// precedence rule). A corrupt or invalid file is set aside and reported; the
    /// configuration is then untouched. Call before [`Director::start`].
    pub fn restore(&mut self, path: &Path) -> Restored {
        let stale = persist::remove_stale_temps(path);
        if stale > 0 {
            log::warn!(
                "removed {stale} temporary file(s) an interrupted save left next to {}",
                path.display()
            );
        }
        let reason = match persist::load(path) {
            Ok(None) => return Restored::Absent,
            Ok(Some(state)) => {
                let mut candidate = self.configured.clone();
                let warnings = state.install(&mut candidate);
                match check::config(&candidate) {
                    Ok(()) => {
                        for w in &warnings {
                            log::warn!("{}: {w}", path.display());
                        }
                        self.configured = candidate;
                        self.overlay.retain_configured(&self.configured);
                        self.effective = self.overlay.effective(&self.configured);
                        log::info!(
                            "restored {} service(s) from {}",
                            self.configured.services.len(),
                            path.display()
                        );
                        return Restored::Loaded { warnings };
                    }
                    Err(r) => format!(
                        "the saved state is not a valid configuration: {}",
                        r.message
                    ),
                }
            }
            Err(e) if !e.is_corrupt() => {
                let reason = e.to_string();
                log::error!(
                    "{}: {reason}; starting from the configuration file",
                    path.display()
                );
                return Restored::Unreadable { reason };
            }
            Err(e) => e.to_string(),
        };
        let moved_to = match persist::set_aside(path) {
            Ok(p) => {
                log::error!(
                    "{}: {reason}; moved to {} and starting from the configuration file",
                    path.display(),
                    p.display()
                );
                Some(p)
            }
            Err(e) => {
                log::error!(
                    "{}: {reason}; it could not be moved aside ({e}); starting from the \
                     configuration file",
                    path.display()
                );
                None
            }
        };
        Restored::SetAside { reason, moved_to }
    }

    /// Hands the initial configuration to the dataplane.
    pub fn start(&mut self) -> Result<(), Refusal> {
        check::config(&self.configured)?;
        self.install(self.configured.clone(), self.overlay.clone(), false)
    }

    /// What the operator configured (file + control socket).
    pub fn configured(&self) -> &Config {
        &self.configured
    }

    /// What the dataplane runs: the configured configuration with health verdicts applied.
    pub fn effective(&self) -> &Config {
        &self.effective
    }

    /// Ids of the effective configuration.
    pub fn ids(&self) -> &Ids {
        &self.ids
    }

    /// Number of configurations handed to the dataplane.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The health verdicts in force.
    pub fn overlay(&self) -> &HealthOverlay {
        &self.overlay
    }

    /// Records a health checker's verdict on a configured real server and hands the
    /// resulting effective configuration to the dataplane. Nothing is persisted.
    pub fn set_dest_health(
        &mut self,
        key: &ServiceKey,
        dest: SocketAddr,
        health: DestHealth,
    ) -> Result<(), Refusal> {
        let svc = find_service(&self.configured, key)
            .and_then(|i| self.configured.services.get(i))
            .ok_or_else(Refusal::no_service)?;
        let rs = find_dest(svc, dest)
            .and_then(|i| svc.real_servers.get(i))
            .ok_or_else(Refusal::no_dest)?;
        let addr = super::convert::dest_addr(svc, rs);
        let mut overlay = self.overlay.clone();
        overlay.set(*key, addr, health);
        if overlay == self.overlay {
            return Ok(());
        }
        self.install(self.configured.clone(), overlay, false)
    }

    /// Records the health of a service as a whole — every listed real server's verdict and
    /// whether its sorry server serves (quorum lost) — and hands the resulting effective
    /// configuration to the dataplane as one change. Real servers that are not configured
    /// (any more) are skipped; the sorry flag is ignored without a sorry server. Nothing is
    /// persisted.
    pub fn set_service_health(
        &mut self,
        key: &ServiceKey,
        dests: &[(SocketAddr, DestHealth)],
        sorry_active: bool,
    ) -> Result<(), Refusal> {
        let svc = find_service(&self.configured, key)
            .and_then(|i| self.configured.services.get(i))
            .ok_or_else(Refusal::no_service)?;
        let mut overlay = self.overlay.clone();
        for (dest, health) in dests {
            if let Some(rs) = find_dest(svc, *dest).and_then(|i| svc.real_servers.get(i)) {
                overlay.set(*key, super::convert::dest_addr(svc, rs), *health);
            }
        }
        overlay.set_sorry(*key, sorry_active && svc.sorry_server.is_some());
        if overlay == self.overlay {
            return Ok(());
        }
        self.install(self.configured.clone(), overlay, false)
    }

    /// Hands the current effective configuration to the dataplane again, for when what the
    /// applier adds to it changed (VRRP ownership decides which VIPs are served). Nothing
    /// is persisted.
    pub fn reapply(&mut self) -> Result<(), Refusal> {
        self.install(self.configured.clone(), self.overlay.clone(), false)
    }

    /// Answers one request. Never panics on any input; a refused change changes nothing.
    pub fn handle(&mut self, req: Request, caller: &Caller) -> Response {
        if let Request::Hello { version } = req {
            return self.hello(version);
        }
        if !caller.authorized {
            return Refusal::permission_denied().into_response();
        }
        match self.answer(&req, caller) {
            Ok(resp) => resp,
            Err(refusal) => {
                if edit::is_change(&req) {
                    log::info!(
                        "refused {} from uid {}: {}",
                        op_name(&req),
                        caller.uid,
                        refusal.message
                    );
                }
                refusal.into_response()
            }
        }
    }

    fn hello(&self, version: u32) -> Response {
        if version == PROTOCOL_VERSION {
            Response::Hello {
                version: PROTOCOL_VERSION,
                daemon: self.daemon.clone(),
            }
        } else {
            Refusal::new(
                proto::ErrorKind::Version,
                format!(
                    "protocol version {version} is not supported: {} speaks version {PROTOCOL_VERSION}",
                    self.daemon
                ),
            )
            .into_response()
        }
    }

    fn answer(&mut self, req: &Request, caller: &Caller) -> Result<Response, Refusal> {
        Ok(match req {
            Request::Hello { version } => self.hello(*version),
            Request::Info => Response::Info { info: self.info() },
            Request::GetTimeouts => Response::Timeouts {
                timeouts: proto::Timeouts {
                    tcp: self.configured.timeouts.tcp,
                    tcp_fin: self.configured.timeouts.tcp_fin,
                    udp: self.configured.timeouts.udp,
                },
            },
            Request::ListServices { key } => {
                if let Some(k) = key {
                    self.known_service(k)?;
                }
                Response::Services {
                    services: listing::services(
                        &self.effective,
                        &self.ids,
                        &self.overlay,
                        self.stats.as_ref(),
                        key.as_ref(),
                    ),
                }
            }
            Request::Zero { key } => {
                self.zero(key.as_ref())?;
                Response::Ok
            }
            Request::ListConns => Response::Conns {
                conns: self.status.conns(),
            },
            Request::ListAddresses => Response::Addresses {
                addresses: listing::addresses(&self.effective),
            },
            Request::ListRoutes => Response::Routes {
                routes: listing::routes(&self.effective),
            },
            Request::ListNeighs => {
                let mut neighs = listing::static_neighbours(&self.effective);
                neighs.extend(self.status.learned_neighbours());
                Response::Neighs { neighs }
            }
            Request::CheckerStatus => Response::Checkers {
                checkers: self.status.checkers(),
            },
            Request::VrrpStatus => Response::Vrrp {
                instances: self.status.vrrp(),
            },
            Request::Counters => Response::Counters {
                counters: self.status.counters(),
            },
            change => {
                self.change(change, caller)?;
                Response::Ok
            }
        })
    }

    fn info(&self) -> DaemonInfo {
        let workers = u32::try_from(self.configured.dpdk.workers.len()).unwrap_or(u32::MAX);
        DaemonInfo {
            version: self.daemon.clone(),
            conn_table_size: self
                .configured
                .conn_table
                .capacity_per_worker
                .saturating_mul(workers.max(1)),
            workers,
            generation: self.generation,
        }
    }

    /// A service named by a read-only request must exist ("No such service").
    fn known_service(&self, key: &ServiceKey) -> Result<(), Refusal> {
        if let ServiceKey::Fwmark { .. } = key {
            return Err(Refusal::fwmark());
        }
        find_service(&self.configured, key)
            .map(|_| ())
            .ok_or_else(Refusal::no_service)
    }

    fn zero(&mut self, key: Option<&ServiceKey>) -> Result<(), Refusal> {
        let (services, dests) = match key {
            None => (
                self.ids.services().map(|(_, id)| id).collect::<Vec<_>>(),
                self.ids.dests().map(|(_, id)| id).collect::<Vec<_>>(),
            ),
            Some(k) => {
                self.known_service(k)?;
                (
                    self.ids.service(k).into_iter().collect(),
                    self.ids.dests_of(k),
                )
            }
        };
        self.stats.zero(&services, &dests);
        Ok(())
    }

    fn change(&mut self, req: &Request, caller: &Caller) -> Result<(), Refusal> {
        if !edit::is_change(req) {
            return Err(Refusal::invalid("not a change request"));
        }
        let mut candidate = self.configured.clone();
        edit::apply(&mut candidate, req)?;
        if candidate == self.configured {
            return Ok(());
        }
        check::config(&candidate)?;
        let mut overlay = self.overlay.clone();
        overlay.retain_configured(&candidate);
        self.install(candidate, overlay, true)?;
        log::info!(
            "generation {}: {} by uid {} (pid {})",
            self.generation,
            op_name(req),
            caller.uid,
            caller
                .pid
                .map_or_else(|| "?".to_string(), |p| p.to_string())
        );
        Ok(())
    }

    /// Dataplane, then state file, then memory; undoes the dataplane step if saving fails.
    fn install(
        &mut self,
        configured: Config,
        overlay: HealthOverlay,
        persist: bool,
    ) -> Result<(), Refusal> {
        let effective = overlay.effective(&configured);
        let ids = self
            .ids
            .transition(&effective)
            .map_err(|e| Refusal::internal(e.to_string()))?;
        self.applier
            .apply(&for_dataplane(&effective), &ids)
            .map_err(|e| {
                Refusal::internal(format!(
                    "the dataplane did not take the change ({e}); nothing was changed"
                ))
            })?;
        let state_file = if persist {
            self.state_file.clone()
        } else {
            None
        };
        if let Some(path) = state_file
            && let Err(e) = persist::save(&path, &PersistedState::of(&configured))
        {
            let saved = format!("cannot save the state to {}: {e}", path.display());
            let back = ids.rollback_to(&self.ids);
            return match self.applier.apply(&for_dataplane(&self.effective), &back) {
                Ok(()) => {
                    self.ids = back.settled();
                    Err(Refusal::internal(format!("{saved}; nothing was changed")))
                }
                Err(undo) => {
                    // The dataplane runs the new configuration and will not go back:
                    // follow it, so that listings tell the truth, and say so loudly.
                    log::error!("{saved}; undoing the change in the dataplane failed: {undo}");
                    self.commit(configured, overlay, effective, ids);
                    Err(Refusal::internal(format!(
                        "{saved}; the change is running but is NOT saved and will be lost \
                             at restart"
                    )))
                }
            };
        }
        self.commit(configured, overlay, effective, ids);
        Ok(())
    }

    fn commit(&mut self, configured: Config, overlay: HealthOverlay, effective: Config, ids: Ids) {
        let changed = configured != self.configured;
        self.configured = configured;
        self.overlay = overlay;
        self.effective = effective;
        self.ids = ids.settled();
        self.generation = self.generation.saturating_add(1);
        if changed && let Some(observer) = self.observer.as_mut() {
            observer(&self.configured);
        }
    }
}

/// The protocol's name of a request (`add_service` ...), for logs.
fn op_name(req: &Request) -> String {
    serde_json::to_value(req)
        .ok()
        .and_then(|v| v.get("op").and_then(|op| op.as_str()).map(str::to_string))
        .unwrap_or_else(|| "request".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Records the real servers (address:weight) of the first service of every apply.
    #[derive(Clone, Default)]
    struct Tables(Arc<Mutex<Vec<Vec<String>>>>);

    impl Applier for Tables {
        fn apply(&mut self, cfg: &Config, _ids: &Ids) -> Result<(), String> {
            let svc = cfg.services.first();
            let row = svc
                .map(|s| {
                    s.real_servers
                        .iter()
                        .map(|rs| format!("{}:{}", rs.address, rs.weight))
                        .collect()
                })
                .unwrap_or_default();
            self.0.lock().unwrap().push(row);
            Ok(())
        }
    }

    fn config() -> Config {
        let mut c: Config = toml::from_str(
            "[[services]]\nprotocol = \"tcp\"\naddress = \"10.0.0.100\"\nport = 80\n\
             [services.sorry_server]\naddress = \"10.0.0.99\"\nport = 80\n\
             [[services.real_servers]]\naddress = \"10.0.0.11\"\nweight = 2\n\
             [[services.real_servers]]\naddress = \"10.0.0.12\"\n",
        )
        .unwrap();
        c.daemon.state_file = None;
        c
    }

    fn key() -> ServiceKey {
        ServiceKey::Addr {
            protocol: proto::Protocol::Tcp,
            addr: "10.0.0.100:80".parse().unwrap(),
        }
    }

    #[test]
    fn service_health_is_one_change_and_the_sorry_server_serves_while_quorum_is_lost() {
        let tables = Tables::default();
        let mut d = Director::new(config(), Box::new(tables.clone()));
        d.start().unwrap();
        let rs1: SocketAddr = "10.0.0.11:80".parse().unwrap();
        // A server the file gives no port is the service's port (as the checkers name it).
        let rs2: SocketAddr = "10.0.0.12:80".parse().unwrap();
        d.set_service_health(
            &key(),
            &[(rs1, DestHealth::Down), (rs2, DestHealth::Weight(7))],
            false,
        )
        .unwrap();
        d.set_service_health(
            &key(),
            &[(rs1, DestHealth::Down), (rs2, DestHealth::Down)],
            true,
        )
        .unwrap();
        // The same state again changes nothing and applies nothing.
        d.set_service_health(
            &key(),
            &[(rs1, DestHealth::Down), (rs2, DestHealth::Down)],
            true,
        )
        .unwrap();
        d.set_service_health(
            &key(),
            &[(rs1, DestHealth::Up), (rs2, DestHealth::Up)],
            false,
        )
        .unwrap();
        assert_eq!(
            *tables.0.lock().unwrap(),
            [
                vec!["10.0.0.11:2", "10.0.0.12:1"],
                vec!["10.0.0.12:7"],
                vec!["10.0.0.99:1"],
                vec!["10.0.0.11:2", "10.0.0.12:1"],
            ]
        );
        assert_eq!(d.generation(), 4);
        // The configuration itself never changed.
        assert_eq!(d.configured(), &config());
        let missing = ServiceKey::Addr {
            protocol: proto::Protocol::Udp,
            addr: "10.0.0.100:80".parse().unwrap(),
        };
        assert!(d.set_service_health(&missing, &[], true).is_err());
    }

    #[test]
    fn the_observer_sees_configuration_changes_only_and_reapply_hands_the_same_table() {
        let tables = Tables::default();
        let seen: Arc<Mutex<Vec<usize>>> = Arc::default();
        let log = Arc::clone(&seen);
        let mut d = Director::new(config(), Box::new(tables.clone())).with_observer(Box::new(
            move |cfg: &Config| log.lock().unwrap().push(cfg.services.len()),
        ));
        d.start().unwrap();
        let rs1: SocketAddr = "10.0.0.11:80".parse().unwrap();
        d.set_dest_health(&key(), rs1, DestHealth::Down).unwrap();
        d.reapply().unwrap();
        let caller = Caller::internal();
        let del: Request = serde_json::from_str(
            r#"{"op":"del_service","key":{"addr":{"protocol":"tcp","addr":"10.0.0.100:80"}}}"#,
        )
        .unwrap();
        assert_eq!(d.handle(del, &caller), Response::Ok);
        assert_eq!(*seen.lock().unwrap(), [0]);
        let t = tables.0.lock().unwrap();
        assert_eq!(t[1], t[2], "reapply hands the same effective table");
        assert_eq!(t[2], ["10.0.0.12:1"]);
    }
}
