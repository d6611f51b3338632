//! Shared pieces of the director and socket tests: a recording dataplane, fake counters,
//! and builders for requests and configurations.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use control::config::{Config, Port};
use control::director::{
    Applier, Caller, DestCounters, DestId, Director, Ids, ServiceCounters, ServiceId, StatsSource,
    StatusSource,
};
use proto::{
    CheckerStatus, ClientAddr, ConnInfo, Counter, DestSpec, ErrorKind, Forward, NeighInfo,
    Protocol, Request, Response, ServiceKey, ServiceSpec, Tunnel, VrrpStatus,
};

/// What the dataplane was handed, in order.
#[derive(Clone, Default)]
pub struct Dataplane {
    pub applied: Arc<Mutex<Vec<(Config, Ids)>>>,
    pub fail: Arc<AtomicBool>,
    /// Fail every apply after this many successful ones (None = never).
    pub fail_after: Arc<Mutex<Option<usize>>>,
}

impl Dataplane {
    pub fn count(&self) -> usize {
        self.applied.lock().unwrap().len()
    }
    pub fn last(&self) -> (Config, Ids) {
        self.applied
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("nothing applied")
    }
    pub fn set_failing(&self, on: bool) {
        self.fail.store(on, Ordering::SeqCst);
    }
}

pub struct RecordingApplier(pub Dataplane);

impl Applier for RecordingApplier {
    fn apply(&mut self, cfg: &Config, ids: &Ids) -> Result<(), String> {
        if self.0.fail.load(Ordering::SeqCst) {
            return Err("worker 0 is gone".into());
        }
        let mut applied = self.0.applied.lock().unwrap();
        if let Some(n) = *self.0.fail_after.lock().unwrap()
            && applied.len() >= n
        {
            return Err("snapshot refused".into());
        }
        applied.push((cfg.clone(), ids.clone()));
        Ok(())
    }
}

/// The ids one `-Z` zeroed.
pub type ZeroCall = (Vec<ServiceId>, Vec<DestId>);

/// Counters keyed by id, and a record of what `-Z` zeroed.
#[derive(Clone, Default)]
pub struct FakeStats {
    pub services: Arc<Mutex<HashMap<ServiceId, ServiceCounters>>>,
    pub dests: Arc<Mutex<HashMap<DestId, DestCounters>>>,
    pub zeroed: Arc<Mutex<Vec<ZeroCall>>>,
}

impl StatsSource for FakeStats {
    fn service(&self, id: ServiceId) -> ServiceCounters {
        self.services
            .lock()
            .unwrap()
            .get(&id)
            .copied()
            .unwrap_or_default()
    }
    fn dest(&self, id: DestId) -> DestCounters {
        self.dests
            .lock()
            .unwrap()
            .get(&id)
            .copied()
            .unwrap_or_default()
    }
    fn zero(&mut self, services: &[ServiceId], dests: &[DestId]) {
        let mut s = self.services.lock().unwrap();
        for id in services {
            s.remove(id);
        }
        let mut d = self.dests.lock().unwrap();
        for id in dests {
            d.remove(id);
        }
        self.zeroed
            .lock()
            .unwrap()
            .push((services.to_vec(), dests.to_vec()));
    }
}

/// Fixed observability answers.
#[derive(Clone, Default)]
pub struct FakeStatus {
    pub conns: Vec<ConnInfo>,
    pub neighs: Vec<NeighInfo>,
    pub checkers: Vec<CheckerStatus>,
    pub vrrp: Vec<VrrpStatus>,
    pub counters: Vec<Counter>,
}

impl StatusSource for FakeStatus {
    fn conns(&self) -> Vec<ConnInfo> {
        self.conns.clone()
    }
    fn learned_neighbours(&self) -> Vec<NeighInfo> {
        self.neighs.clone()
    }
    fn checkers(&self) -> Vec<CheckerStatus> {
        self.checkers.clone()
    }
    fn vrrp(&self) -> Vec<VrrpStatus> {
        self.vrrp.clone()
    }
    fn counters(&self) -> Vec<Counter> {
        self.counters.clone()
    }
}

pub fn tcp(addr: &str) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: addr.parse().unwrap(),
    }
}

pub fn udp(addr: &str) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Udp,
        addr: addr.parse().unwrap(),
    }
}

pub fn sa(addr: &str) -> SocketAddr {
    addr.parse().unwrap()
}

pub fn spec(key: ServiceKey, scheduler: &str) -> ServiceSpec {
    ServiceSpec {
        key,
        scheduler: scheduler.into(),
        sched_flags: vec![],
        persistent: None,
        netmask: 32,
        one_packet: false,
        client_addr: ClientAddr::Toa,
    }
}

pub fn dest(addr: &str, forward: Forward, weight: u32) -> DestSpec {
    DestSpec {
        addr: addr.parse().unwrap(),
        forward,
        tunnel: Tunnel::default(),
        weight,
        upper: 0,
        lower: 0,
    }
}

pub fn add_service(key: ServiceKey, scheduler: &str) -> Request {
    Request::AddService {
        service: spec(key, scheduler),
    }
}

pub fn add_dest(key: ServiceKey, addr: &str, weight: u32) -> Request {
    Request::AddDest {
        key,
        dest: dest(addr, Forward::Nat, weight),
    }
}

/// A director configuration with one port `dp0` and no persistence.
pub fn base_config() -> Config {
    let mut cfg = Config::default();
    cfg.daemon.state_file = None;
    cfg.ports.push(Port {
        name: "dp0".into(),
        device: "net_null0".into(),
        addresses: vec!["10.0.0.2/24".parse().unwrap()],
        mtu: 1500,
        kernel_port: None,
    });
    cfg
}

pub fn root() -> Caller {
    Caller {
        uid: 0,
        gid: 0,
        pid: Some(1),
        authorized: true,
    }
}

/// A started director over `cfg` with a recording dataplane and fake counters.
pub fn started(cfg: Config) -> (Director, Dataplane, FakeStats) {
    let dp = Dataplane::default();
    let stats = FakeStats::default();
    let mut d = Director::new(cfg, Box::new(RecordingApplier(dp.clone())))
        .with_stats(Box::new(stats.clone()));
    d.start().expect("start");
    (d, dp, stats)
}

/// Sends `req` as root and expects `Ok`.
pub fn ok(d: &mut Director, req: Request) {
    let resp = d.handle(req.clone(), &root());
    assert_eq!(resp, Response::Ok, "request {req:?}");
}

/// Sends `req` as root, expects the error, and checks that nothing changed: configuration,
/// effective configuration, ids, generation, and what the dataplane was handed.
pub fn refused(d: &mut Director, dp: &Dataplane, req: Request, kind: ErrorKind, message: &str) {
    let before = (
        d.configured().clone(),
        d.effective().clone(),
        d.ids().clone(),
        d.generation(),
    );
    let applied = dp.count();
    let resp = d.handle(req.clone(), &root());
    assert_eq!(
        resp,
        Response::Error {
            kind,
            message: message.to_string()
        },
        "request {req:?}"
    );
    let after = (
        d.configured().clone(),
        d.effective().clone(),
        d.ids().clone(),
        d.generation(),
    );
    assert!(before == after, "state changed by refused {req:?}");
    assert_eq!(dp.count(), applied, "dataplane touched by refused {req:?}");
}
