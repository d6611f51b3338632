//! A fake rvsd for the client's tests: a Unix socket server on a thread that speaks
//! `proto` and keeps services in memory with IPVS's semantics, just enough to exercise
//! `rvsadm` end to end (the real daemon has its own integration tests).

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;

use proto::{
    AddressSpec, CheckerStatus, ConnInfo, Counter, DaemonInfo, DestInfo, ErrorKind, NeighInfo,
    PROTOCOL_VERSION, Rates, Request, Response, RouteSpec, ServiceInfo, ServiceKey, Stats,
    Timeouts, VrrpStatus, read_frame, write_frame,
};

/// How the fake daemon treats the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Access {
    /// Everything allowed.
    #[default]
    Root,
    /// A caller the daemon refuses outright (the handshake fails), as a non-root user.
    Denied,
    /// Listings allowed, changes refused.
    ReadOnly,
}

/// The daemon's whole state.
#[derive(Debug, Clone)]
pub struct State {
    pub services: Vec<ServiceInfo>,
    pub timeouts: Timeouts,
    pub conns: Vec<ConnInfo>,
    pub addresses: Vec<AddressSpec>,
    pub routes: Vec<RouteSpec>,
    pub neighs: Vec<NeighInfo>,
    pub checkers: Vec<CheckerStatus>,
    pub vrrp: Vec<VrrpStatus>,
    pub counters: Vec<Counter>,
    pub access: Access,
    /// Every request received after the handshake, in order.
    pub log: Vec<Request>,
    /// Reply to Hello with this protocol version instead of ours.
    pub version: u32,
}

impl Default for State {
    fn default() -> Self {
        State {
            services: vec![],
            timeouts: Timeouts {
                tcp: 900,
                tcp_fin: 120,
                udp: 300,
            },
            conns: vec![],
            addresses: vec![],
            routes: vec![],
            neighs: vec![],
            checkers: vec![],
            vrrp: vec![],
            counters: vec![],
            access: Access::Root,
            log: vec![],
            version: PROTOCOL_VERSION,
        }
    }
}

const SCHEDULERS: [&str; 13] = [
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh",
];

fn err(kind: ErrorKind, message: &str) -> Response {
    Response::Error {
        kind,
        message: message.to_string(),
    }
}

fn is_change(r: &Request) -> bool {
    !matches!(
        r,
        Request::Hello { .. }
            | Request::Info
            | Request::GetTimeouts
            | Request::ListServices { .. }
            | Request::ListConns
            | Request::ListAddresses
            | Request::ListRoutes
            | Request::ListNeighs
            | Request::CheckerStatus
            | Request::VrrpStatus
            | Request::Counters
    )
}

impl State {
    fn find(&mut self, key: &ServiceKey) -> Option<&mut ServiceInfo> {
        self.services.iter_mut().find(|s| s.spec.key == *key)
    }

    /// Applies one request after the handshake.
    pub fn apply(&mut self, request: &Request) -> Response {
        if self.access == Access::ReadOnly && is_change(request) {
            return err(ErrorKind::PermissionDenied, "permission denied");
        }
        match request {
            Request::Hello { .. } => err(ErrorKind::BadRequest, "hello twice"),
            Request::Info => Response::Info {
                info: DaemonInfo {
                    version: "fake".into(),
                    conn_table_size: 4096,
                    workers: 1,
                    generation: 0,
                },
            },
            Request::AddService { service } | Request::EditService { service } => {
                if matches!(service.key, ServiceKey::Fwmark { .. }) {
                    return err(
                        ErrorKind::Unsupported,
                        "fwmark services are not supported by rvs",
                    );
                }
                let adding = matches!(request, Request::AddService { .. });
                let exists = self.find(&service.key).is_some();
                if adding && exists {
                    return err(ErrorKind::ServiceExists, "service exists");
                }
                if !adding && !exists {
                    return err(ErrorKind::NoService, "no such service");
                }
                if !SCHEDULERS.contains(&service.scheduler.as_str()) {
                    return err(ErrorKind::NotFound, "unknown scheduler");
                }
                if adding {
                    self.services.push(ServiceInfo {
                        spec: service.clone(),
                        dests: vec![],
                        local_addrs: vec![],
                        stats: Stats::default(),
                        rates: Rates::default(),
                    });
                } else if let Some(s) = self.find(&service.key) {
                    s.spec = service.clone();
                }
                Response::Ok
            }
            Request::DelService { key } => {
                let before = self.services.len();
                self.services.retain(|s| s.spec.key != *key);
                if self.services.len() == before {
                    err(ErrorKind::NoService, "no such service")
                } else {
                    Response::Ok
                }
            }
            Request::Clear => {
                self.services.clear();
                Response::Ok
            }
            Request::Zero { key } => {
                let zero = |s: &mut ServiceInfo| {
                    s.stats = Stats::default();
                    s.rates = Rates::default();
                    for d in &mut s.dests {
                        d.stats = Stats::default();
                        d.rates = Rates::default();
                    }
                };
                match key {
                    None => self.services.iter_mut().for_each(zero),
                    Some(k) => match self.find(k) {
                        Some(s) => zero(s),
                        None => return err(ErrorKind::NoService, "no such service"),
                    },
                }
                Response::Ok
            }
            Request::SetTimeouts { timeouts } => {
                let t = &mut self.timeouts;
                for (new, old) in [
                    (timeouts.tcp, &mut t.tcp),
                    (timeouts.tcp_fin, &mut t.tcp_fin),
                    (timeouts.udp, &mut t.udp),
                ] {
                    if new != 0 {
                        *old = new;
                    }
                }
                Response::Ok
            }
            Request::GetTimeouts => Response::Timeouts {
                timeouts: self.timeouts,
            },
            Request::AddDest { key, dest } | Request::EditDest { key, dest } => {
                let adding = matches!(request, Request::AddDest { .. });
                let Some(s) = self.find(key) else {
                    return err(ErrorKind::NoService, "no such service");
                };
                let existing = s.dests.iter_mut().find(|d| d.spec.addr == dest.addr);
                match (adding, existing) {
                    (true, Some(_)) => err(ErrorKind::DestExists, "destination exists"),
                    (false, None) => err(ErrorKind::NoDest, "no such destination"),
                    (true, None) => {
                        s.dests.push(DestInfo {
                            spec: dest.clone(),
                            active_conns: 0,
                            inactive_conns: 0,
                            persist_conns: 0,
                            stats: Stats::default(),
                            rates: Rates::default(),
                            healthy: true,
                        });
                        Response::Ok
                    }
                    (false, Some(d)) => {
                        d.spec = dest.clone();
                        Response::Ok
                    }
                }
            }
            Request::DelDest { key, addr } => {
                let Some(s) = self.find(key) else {
                    return err(ErrorKind::NoService, "no such service");
                };
                let before = s.dests.len();
                s.dests.retain(|d| d.spec.addr != *addr);
                if s.dests.len() == before {
                    err(ErrorKind::NoDest, "no such destination")
                } else {
                    Response::Ok
                }
            }
            Request::AddLocalAddr { key, addr } => {
                let Some(s) = self.find(key) else {
                    return err(ErrorKind::NoService, "no such service");
                };
                if s.local_addrs.contains(addr) {
                    return err(ErrorKind::Exists, "local address already exists");
                }
                s.local_addrs.push(*addr);
                Response::Ok
            }
            Request::DelLocalAddr { key, addr } => {
                let Some(s) = self.find(key) else {
                    return err(ErrorKind::NoService, "no such service");
                };
                if !s.local_addrs.contains(addr) {
                    return err(ErrorKind::NotFound, "no such local address");
                }
                s.local_addrs.retain(|a| a != addr);
                Response::Ok
            }
            Request::ListServices { key: None } => Response::Services {
                services: self.services.clone(),
            },
            Request::ListServices { key: Some(k) } => match self.find(k) {
                Some(s) => Response::Services {
                    services: vec![s.clone()],
                },
                None => err(ErrorKind::NoService, "no such service"),
            },
            Request::ListConns => Response::Conns {
                conns: self.conns.clone(),
            },
            Request::Batch { requests } => {
                let saved = self.clone();
                for (i, r) in requests.iter().enumerate() {
                    let n = i + 1;
                    if matches!(r, Request::Batch { .. } | Request::Hello { .. }) {
                        *self = saved;
                        return err(
                            ErrorKind::Invalid,
                            &format!("batch request {n}: only changes can be batched"),
                        );
                    }
                    // As rvsd answers: the failing request's kind, its message after
                    // `batch request N: `.
                    if let Response::Error { kind, message } = self.apply(r) {
                        *self = saved;
                        return err(kind, &format!("batch request {n}: {message}"));
                    }
                }
                Response::Ok
            }
            Request::AddAddress { address } => {
                if self.addresses.contains(address) {
                    return err(ErrorKind::Exists, "address exists");
                }
                self.addresses.push(address.clone());
                Response::Ok
            }
            Request::DelAddress { address } => {
                if !self.addresses.contains(address) {
                    return err(ErrorKind::NotFound, "no such address");
                }
                self.addresses.retain(|a| a != address);
                Response::Ok
            }
            Request::ListAddresses => Response::Addresses {
                addresses: self.addresses.clone(),
            },
            Request::AddRoute { route } => {
                if self.routes.contains(route) {
                    return err(ErrorKind::Exists, "route exists");
                }
                self.routes.push(route.clone());
                Response::Ok
            }
            Request::DelRoute { route } => {
                if !self.routes.contains(route) {
                    return err(ErrorKind::NotFound, "no such route");
                }
                self.routes.retain(|r| r != route);
                Response::Ok
            }
            Request::ListRoutes => Response::Routes {
                routes: self.routes.clone(),
            },
            Request::AddNeigh { neigh } => {
                self.neighs.push(NeighInfo {
                    spec: neigh.clone(),
                    is_static: true,
                    state: "PERMANENT".into(),
                });
                Response::Ok
            }
            Request::DelNeigh { neigh } => {
                let before = self.neighs.len();
                self.neighs
                    .retain(|n| !(n.spec.port == neigh.port && n.spec.addr == neigh.addr));
                if self.neighs.len() == before {
                    err(ErrorKind::NotFound, "no such neighbour")
                } else {
                    Response::Ok
                }
            }
            Request::ListNeighs => Response::Neighs {
                neighs: self.neighs.clone(),
            },
            Request::CheckerStatus => Response::Checkers {
                checkers: self.checkers.clone(),
            },
            Request::VrrpStatus => Response::Vrrp {
                instances: self.vrrp.clone(),
            },
            Request::Counters => Response::Counters {
                counters: self.counters.clone(),
            },
        }
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A running fake daemon; stops and removes its socket when dropped.
pub struct FakeDaemon {
    pub path: PathBuf,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

fn serve(mut stream: UnixStream, state: &Mutex<State>) {
    let Ok(Request::Hello { version }) = read_frame::<_, Request>(&mut stream) else {
        let _ = write_frame(&mut stream, &err(ErrorKind::BadRequest, "say hello first"));
        return;
    };
    let reply = {
        let s = state.lock().unwrap();
        if version != PROTOCOL_VERSION || s.version != PROTOCOL_VERSION {
            err(
                ErrorKind::Version,
                "protocol version mismatch (daemon speaks 99)",
            )
        } else if s.access == Access::Denied {
            err(ErrorKind::PermissionDenied, "permission denied")
        } else {
            Response::Hello {
                version: PROTOCOL_VERSION,
                daemon: "fake rvsd".into(),
            }
        }
    };
    let ok = matches!(reply, Response::Hello { .. });
    if write_frame(&mut stream, &reply).is_err() || !ok {
        return;
    }
    while let Ok(request) = read_frame::<_, Request>(&mut stream) {
        let reply = {
            let mut s = state.lock().unwrap();
            s.log.push(request.clone());
            s.apply(&request)
        };
        if write_frame(&mut stream, &reply).is_err() {
            return;
        }
    }
}

impl FakeDaemon {
    /// Starts a daemon with `state` on a fresh socket under the system's temp directory.
    pub fn start(state: State) -> FakeDaemon {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("rvsadm-test-{}-{id}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).expect("bind fake daemon socket");
        let state = Arc::new(Mutex::new(state));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (Arc::clone(&state), Arc::clone(&stop));
        thread::spawn(move || {
            for stream in listener.incoming() {
                if sp.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(stream) = stream {
                    serve(stream, &st);
                }
            }
        });
        FakeDaemon { path, state, stop }
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    pub fn socket(&self) -> &Path {
        &self.path
    }
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so that it sees the flag.
        let _ = UnixStream::connect(&self.path);
        let _ = std::fs::remove_file(&self.path);
    }
}
