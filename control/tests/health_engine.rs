//! The engine driven by a scripted prober under tokio's paused clock: retry and delay
//! timing, alpha, MISC dynamic weights, quorum and sorry server, live reconfiguration,
//! isolation of slow checks, status records; and, in real time, notify scripts.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use control::health::probe::{Outcome, ProbeFuture, Prober, WeightHint};
use control::health::spec::{
    CheckerSpec, ConnSpec, ProbeSpec, ServerTarget, ServicePolicy, ServiceTarget, SorrySpec, Timing,
};
use control::health::{EngineOptions, HealthEngine, HealthEvent, ServerChange, service_effect};
use proto::{Protocol, ServiceKey};
use tokio::time::{Instant, sleep};

const S: fn(u64) -> Duration = Duration::from_secs;

/// Outcomes per probe key (the connect port), each with how long the attempt takes; the
/// last one repeats. Records when each attempt started.
struct Scripted {
    t0: Instant,
    scripts: Mutex<HashMap<u16, VecDeque<(Duration, Outcome)>>>,
    calls: Mutex<Vec<(u16, Duration)>>,
}

impl Scripted {
    fn new(scripts: Vec<(u16, Vec<(Duration, Outcome)>)>) -> Arc<Scripted> {
        Arc::new(Scripted {
            t0: Instant::now(),
            scripts: Mutex::new(scripts.into_iter().map(|(k, v)| (k, v.into())).collect()),
            calls: Mutex::default(),
        })
    }

    fn set(&self, key: u16, script: Vec<(Duration, Outcome)>) {
        self.scripts.lock().unwrap().insert(key, script.into());
    }

    /// Start times (whole seconds) of the attempts of `key`.
    fn times(&self, key: u16) -> Vec<u64> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, t)| t.as_secs())
            .collect()
    }
}

fn key_of(spec: &ProbeSpec) -> u16 {
    match spec {
        ProbeSpec::Tcp { conn }
        | ProbeSpec::Http { conn, .. }
        | ProbeSpec::Udp { conn, .. }
        | ProbeSpec::Dns { conn, .. }
        | ProbeSpec::Smtp { conn, .. } => conn.dst.port(),
        ProbeSpec::Misc { command, .. } => command.parse().unwrap_or(0),
    }
}

impl Prober for Scripted {
    fn probe<'a>(&'a self, spec: &'a ProbeSpec, _url: usize) -> ProbeFuture<'a> {
        Box::pin(async move {
            let key = key_of(spec);
            self.calls.lock().unwrap().push((key, self.t0.elapsed()));
            let (took, outcome) = {
                let mut scripts = self.scripts.lock().unwrap();
                let q = scripts.entry(key).or_default();
                match q.len() {
                    0 => (Duration::ZERO, Outcome::pass()),
                    1 => q[0].clone(),
                    _ => q.pop_front().unwrap(),
                }
            };
            sleep(took).await;
            outcome
        })
    }
}

fn ok() -> (Duration, Outcome) {
    (Duration::ZERO, Outcome::pass())
}
fn fail(why: &str) -> (Duration, Outcome) {
    (Duration::ZERO, Outcome::fail(why))
}
fn weight(hint: WeightHint) -> (Duration, Outcome) {
    (
        Duration::ZERO,
        Outcome {
            weight: Some(hint),
            ..Outcome::pass()
        },
    )
}

fn timing(delay_loop: u64, retry: u32, dbr: u64, alpha: bool) -> Timing {
    Timing {
        delay_loop: S(delay_loop),
        retry,
        delay_before_retry: S(dbr),
        warmup: Duration::ZERO,
        alpha,
    }
}

fn tcp(port: u16, t: Timing) -> CheckerSpec {
    CheckerSpec {
        probe: ProbeSpec::Tcp {
            conn: ConnSpec {
                dst: SocketAddr::from(([127, 0, 0, 1], port)),
                bind: None,
                timeout: S(1),
            },
        },
        timing: t,
    }
}

fn misc(id: u16, t: Timing) -> CheckerSpec {
    CheckerSpec {
        probe: ProbeSpec::Misc {
            command: id.to_string(),
            timeout: S(5),
            dynamic: true,
        },
        timing: t,
    }
}

fn server(n: u8, weight: u32, checkers: Vec<CheckerSpec>) -> ServerTarget {
    ServerTarget {
        dest: SocketAddr::from(([10, 0, 1, n], 80)),
        weight,
        inhibit: false,
        notify_up: None,
        notify_down: None,
        checkers,
    }
}

fn key(port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: SocketAddr::from(([10, 0, 0, 1], port)),
    }
}

fn service(port: u16, servers: Vec<ServerTarget>) -> ServiceTarget {
    ServiceTarget {
        key: key(port),
        policy: ServicePolicy {
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            omega: false,
            sorry: None,
        },
        servers,
    }
}

/// Events with the (whole) second they arrived.
type Events = Arc<Mutex<Vec<(u64, HealthEvent)>>>;

/// Collects events with the (paused) time they arrived.
fn collect(mut rx: control::health::engine::EventReceiver) -> Events {
    let out: Events = Arc::default();
    let out2 = out.clone();
    let t0 = Instant::now();
    tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            out2.lock().unwrap().push((t0.elapsed().as_secs(), e));
        }
    });
    out
}

fn server_events(events: &Mutex<Vec<(u64, HealthEvent)>>) -> Vec<(u64, u8, ServerChange)> {
    events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(t, e)| match e {
            HealthEvent::Server { dest, change, .. } => match dest.ip() {
                std::net::IpAddr::V4(ip) => Some((*t, ip.octets()[3], *change)),
                std::net::IpAddr::V6(_) => None,
            },
            HealthEvent::Quorum { .. } => None,
        })
        .collect()
}

fn start(prober: Arc<Scripted>, targets: Vec<ServiceTarget>) -> (HealthEngine, Events) {
    let (engine, rx) = HealthEngine::start(
        &tokio::runtime::Handle::current(),
        targets,
        prober,
        EngineOptions::default(),
    );
    (engine, collect(rx))
}

#[tokio::test(start_paused = true)]
async fn tcp_retries_delay_before_retry_and_recovery_timing() {
    let p = Scripted::new(vec![(
        1,
        vec![
            ok(),
            fail("refused"),
            fail("refused"),
            fail("refused"),
            ok(),
        ],
    )]);
    let (_engine, events) = start(
        p.clone(),
        vec![service(
            80,
            vec![server(1, 1, vec![tcp(1, timing(10, 2, 3, false))])],
        )],
    );
    sleep(S(37)).await;
    // ok at 0; fails at 10, retried at 13 and 16 (delay_before_retry 3); down at 16;
    // next attempt a delay_loop later succeeds: up at 26.
    assert_eq!(p.times(1), vec![0, 10, 13, 16, 26, 36]);
    assert_eq!(
        server_events(&events),
        vec![(16, 1, ServerChange::Down), (26, 1, ServerChange::Up)]
    );
    match &events.lock().unwrap()[0].1 {
        HealthEvent::Server { reason, .. } => assert_eq!(reason, "refused"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn first_failure_after_start_is_final_and_alpha_starts_down() {
    let p = Scripted::new(vec![(1, vec![fail("x"), ok()]), (2, vec![ok()])]);
    let svc = service(
        80,
        vec![
            server(1, 1, vec![tcp(1, timing(10, 3, 1, false))]),
            server(2, 1, vec![tcp(2, timing(10, 3, 1, true))]),
        ],
    );
    let (engine, events) = start(p.clone(), vec![svc]);
    sleep(S(11)).await;
    assert_eq!(
        server_events(&events),
        vec![
            (0, 2, ServerChange::Down), // alpha: down until the first success
            (0, 1, ServerChange::Down), // one failure is enough initially
            (0, 2, ServerChange::Up),
            (10, 1, ServerChange::Up),
        ]
    );
    let h = engine.health(&key(80)).unwrap();
    assert!(h.servers.iter().all(|s| s.alive));
}

#[tokio::test(start_paused = true)]
async fn misc_dynamic_weights_quorum_and_sorry_server() {
    let p = Scripted::new(vec![(1, vec![weight(WeightHint::Set(5))]), (2, vec![ok()])]);
    let mut svc = service(
        80,
        vec![
            server(1, 2, vec![misc(1, timing(10, 0, 1, false))]),
            server(2, 2, vec![misc(2, timing(10, 0, 1, false))]),
        ],
    );
    svc.policy.quorum = 4;
    svc.policy.hysteresis = 1;
    svc.policy.sorry = Some(SorrySpec {
        dest: SocketAddr::from(([10, 9, 9, 9], 80)),
        inhibit: false,
    });
    let (engine, events) = start(p.clone(), vec![svc.clone()]);
    sleep(S(1)).await;
    assert_eq!(
        server_events(&events),
        vec![(0, 1, ServerChange::Weight(5))]
    );
    assert!(engine.health(&key(80)).unwrap().quorum_up);

    // Server 1's script now exits 2 (weight 0) and server 2 fails: sum 0 -> quorum lost.
    p.set(1, vec![weight(WeightHint::Set(0))]);
    p.set(2, vec![fail("exited with status 1")]);
    sleep(S(10)).await;
    let h = engine.health(&key(80)).unwrap();
    assert!(!h.quorum_up);
    let quorum: Vec<bool> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(_, e)| match e {
            HealthEvent::Quorum { up, .. } => Some(*up),
            _ => None,
        })
        .collect();
    // Down at start (configured sum 4 < quorum + hysteresis 5), up once the script set
    // weight 5 (sum 7), down again now.
    assert_eq!(quorum, vec![false, true, false]);
    // The director derives the table: only the sorry server.
    let e = service_effect(4, 1, svc.policy.sorry.as_ref(), &h.servers, Some(true));
    assert_eq!(e.entries.len(), 1);
    assert!(e.entries[0].sorry);

    // Back to exit 0 (configured weight 2) and server 2 healthy: sum 4 < quorum + h = 5,
    // so the quorum stays down (hysteresis) ...
    p.set(1, vec![weight(WeightHint::Restore)]);
    p.set(2, vec![ok()]);
    sleep(S(10)).await;
    assert!(!engine.health(&key(80)).unwrap().quorum_up);
    // ... until server 1 is given weight 3 (exit 5): sum 5.
    p.set(1, vec![weight(WeightHint::Set(3))]);
    sleep(S(10)).await;
    assert!(engine.health(&key(80)).unwrap().quorum_up);
    let weights: Vec<ServerChange> = server_events(&events)
        .into_iter()
        .filter(|(_, n, _)| *n == 1)
        .map(|(_, _, c)| c)
        .collect();
    assert_eq!(
        weights,
        vec![
            ServerChange::Weight(5),
            ServerChange::Weight(0),
            ServerChange::Weight(2),
            ServerChange::Weight(3)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn reconfiguration_keeps_unchanged_checkers_and_their_schedule() {
    let p = Scripted::new(vec![]);
    let a = tcp(1, timing(10, 1, 1, false));
    let b = tcp(2, timing(10, 1, 1, false));
    let (engine, _events) = start(
        p.clone(),
        vec![service(80, vec![server(1, 1, vec![a.clone()])])],
    );
    sleep(S(5)).await;
    engine
        .reconfigure(vec![service(
            80,
            vec![server(1, 1, vec![a.clone(), b.clone()])],
        )])
        .unwrap();
    sleep(S(17)).await; // t = 22
    assert_eq!(
        p.times(1),
        vec![0, 10, 20],
        "unchanged checker keeps its schedule"
    );
    assert_eq!(
        p.times(2),
        vec![5, 15],
        "new checker starts on reconfiguration"
    );
    engine
        .reconfigure(vec![service(80, vec![server(1, 1, vec![b.clone()])])])
        .unwrap();
    sleep(S(20)).await; // t = 42
    assert_eq!(p.times(1), vec![0, 10, 20], "removed checker stops");
    assert_eq!(p.times(2), vec![5, 15, 25, 35]);
    let status = engine.status();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].checks, 4);
    // A changed parameter is a different checker: it restarts.
    engine
        .reconfigure(vec![service(
            80,
            vec![server(1, 1, vec![tcp(2, timing(7, 1, 1, false))])],
        )])
        .unwrap();
    sleep(S(15)).await; // t = 57
    assert_eq!(p.times(2), vec![5, 15, 25, 35, 42, 49, 56]);
    // Removing the service stops everything.
    engine.reconfigure(vec![]).unwrap();
    sleep(S(30)).await;
    assert_eq!(p.times(2).len(), 7);
    assert!(engine.status().is_empty());
    assert!(engine.health(&key(80)).is_none());
}

#[tokio::test(start_paused = true)]
async fn a_slow_check_does_not_delay_the_others() {
    let p = Scripted::new(vec![(1, vec![(S(100), Outcome::pass())])]);
    let svc = service(
        80,
        vec![
            server(1, 1, vec![tcp(1, timing(1, 0, 1, false))]),
            server(2, 1, vec![tcp(2, timing(1, 0, 1, false))]),
        ],
    );
    let (engine, _events) = start(p.clone(), vec![svc]);
    sleep(S(10)).await;
    assert_eq!(p.times(1), vec![0]);
    assert_eq!(p.times(2), (0..10).collect::<Vec<u64>>());
    let status = engine.status();
    assert_eq!(
        status.iter().map(|s| s.checks).collect::<Vec<_>>(),
        vec![0, 10]
    );
}

#[tokio::test(start_paused = true)]
async fn status_records_last_result_latency_and_counts() {
    let p = Scripted::new(vec![(
        1,
        vec![
            ok(),
            (
                Duration::from_millis(250),
                Outcome::fail("connect failed: connection refused"),
            ),
        ],
    )]);
    let (engine, _events) = start(
        p.clone(),
        vec![service(
            80,
            vec![server(1, 1, vec![tcp(1, timing(10, 0, 1, false))])],
        )],
    );
    sleep(S(15)).await;
    let s = &engine.status()[0];
    assert_eq!(s.kind, "TCP_CHECK");
    assert_eq!(s.dest, SocketAddr::from(([10, 0, 1, 1], 80)));
    assert_eq!(s.service, key(80));
    assert!(!s.healthy);
    assert_eq!(s.reason, "connect failed: connection refused");
    assert_eq!(s.last_latency_ms, Some(250));
    assert_eq!((s.checks, s.failures), (2, 1));
    assert_eq!(s.age_s, Some(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn notify_and_quorum_scripts_run_on_transitions_and_omega() {
    let dir = std::env::temp_dir().join(format!("rvs-health-notify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("log");
    let _ = std::fs::remove_file(&log);
    let w = |what: &str| Some(format!("echo {what} >> {}", log.display()));
    let fast = Timing {
        delay_loop: Duration::from_millis(100),
        retry: 0,
        delay_before_retry: Duration::from_millis(100),
        warmup: Duration::ZERO,
        alpha: false,
    };
    let p = Scripted::new(vec![(1, vec![ok()])]);
    let mut svc = service(80, vec![server(1, 1, vec![tcp(1, fast)])]);
    svc.servers[0].notify_up = w("up");
    svc.servers[0].notify_down = w("down");
    svc.policy.quorum_up = w("quorum-up");
    svc.policy.quorum_down = w("quorum-down");
    svc.policy.omega = true;
    let (engine, _events) = start(p.clone(), vec![svc]);
    sleep(Duration::from_millis(300)).await;
    p.set(1, vec![fail("down")]);
    sleep(Duration::from_millis(500)).await;
    p.set(1, vec![ok()]);
    sleep(Duration::from_millis(500)).await;
    engine.reconfigure(vec![]).unwrap(); // omega: notify_down + quorum_down
    let mut text = String::new();
    for _ in 0..50 {
        sleep(Duration::from_millis(100)).await;
        text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.lines().count() >= 6 {
            break;
        }
    }
    let mut lines: Vec<&str> = text.lines().collect();
    // Scripts run concurrently: compare each transition's pair as a set.
    for pair in lines.chunks_mut(2) {
        pair.sort_unstable();
    }
    assert_eq!(
        lines,
        vec![
            "down",
            "quorum-down",
            "quorum-up",
            "up",
            "down",
            "quorum-down"
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
