//! Scale and timing on real sockets: thousands of checkers on one thread, and the
//! detection / recovery times of a killed and restored server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use control::health::spec::{
    CheckerSpec, ConnSpec, ProbeSpec, ServerTarget, ServicePolicy, ServiceTarget, Timing,
};
use control::health::{EngineOptions, HealthEngine, HealthEvent, NetProber, ServerChange};
use proto::{Protocol, ServiceKey};
use tokio::net::TcpListener;

/// Lifts the open-file limit to its hard maximum: 2000 checkers hold up to 2000 sockets.
fn raise_fd_limit(need: u64) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    assert!(
        hard >= need,
        "RLIMIT_NOFILE hard limit {hard} is below the {need} this test needs"
    );
}

fn tcp(dst: SocketAddr, t: Timing) -> CheckerSpec {
    CheckerSpec {
        probe: ProbeSpec::Tcp {
            conn: ConnSpec {
                dst,
                bind: None,
                timeout: Duration::from_secs(1),
            },
        },
        timing: t,
    }
}

fn service(port: u16, servers: Vec<ServerTarget>) -> ServiceTarget {
    ServiceTarget {
        key: ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: SocketAddr::from(([10, 0, 0, 1], port)),
        },
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

fn server(dest: SocketAddr, checkers: Vec<CheckerSpec>) -> ServerTarget {
    ServerTarget {
        dest,
        weight: 1,
        inhibit: false,
        notify_up: None,
        notify_down: None,
        checkers,
    }
}

async fn accept_forever(l: TcpListener) {
    loop {
        if let Ok((s, _)) = l.accept().await {
            drop(s);
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn two_thousand_checkers_on_one_thread() {
    raise_fd_limit(4096);
    let mut open = Vec::new();
    let mut closed = Vec::new();
    for i in 1..=10u8 {
        let l = TcpListener::bind(SocketAddr::from(([127, 0, 0, i], 0)))
            .await
            .unwrap();
        open.push(l.local_addr().unwrap());
        tokio::spawn(accept_forever(l));
        let gone = TcpListener::bind(SocketAddr::from(([127, 0, 1, i], 0)))
            .await
            .unwrap();
        closed.push(gone.local_addr().unwrap());
    }
    let t = Timing {
        delay_loop: Duration::from_secs(1),
        retry: 0,
        delay_before_retry: Duration::from_secs(1),
        warmup: Duration::from_millis(500),
        alpha: false,
    };
    // 100 services x (10 servers on open ports + 10 on closed ports) = 2000 TCP checkers,
    // plus one MISC_CHECK whose script takes 5 s.
    let mut targets = Vec::new();
    for svc in 0..100u16 {
        let mut servers = Vec::new();
        for (i, (o, c)) in open.iter().zip(&closed).enumerate() {
            let o_dest = SocketAddr::from(([10, 1, svc.to_be_bytes()[1], i as u8], 80));
            let c_dest = SocketAddr::from(([10, 2, svc.to_be_bytes()[1], i as u8], 80));
            servers.push(server(o_dest, vec![tcp(*o, t)]));
            servers.push(server(c_dest, vec![tcp(*c, t)]));
        }
        targets.push(service(1000 + svc, servers));
    }
    let slow = CheckerSpec {
        probe: ProbeSpec::Misc {
            command: "sleep 5".into(),
            timeout: Duration::from_secs(10),
            dynamic: false,
        },
        timing: Timing {
            warmup: Duration::ZERO,
            ..t
        },
    };
    targets.push(service(
        9,
        vec![server(SocketAddr::from(([10, 3, 0, 1], 80)), vec![slow])],
    ));

    let started = Instant::now();
    let (engine, mut events) = HealthEngine::start(
        &tokio::runtime::Handle::current(),
        targets,
        Arc::new(NetProber::new()),
        EngineOptions::default(),
    );
    let mut all_checked_once = None;
    let mut downs = 0usize;
    let deadline = started + Duration::from_secs(4);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        while let Ok(e) = events.try_recv() {
            if let HealthEvent::Server {
                change: ServerChange::Down,
                ..
            } = e
            {
                downs += 1;
            }
        }
        if all_checked_once.is_none()
            && engine
                .status()
                .iter()
                .filter(|s| s.kind == "TCP_CHECK")
                .all(|s| s.checks >= 1)
        {
            all_checked_once = Some(started.elapsed());
        }
    }
    let status = engine.status();
    let tcp: Vec<_> = status.iter().filter(|s| s.kind == "TCP_CHECK").collect();
    assert_eq!(tcp.len(), 2000);
    let first = all_checked_once.expect("every checker ran within 4 s");
    eprintln!(
        "2000 TCP checkers: all checked once after {first:?}; checks per checker after 4 s: min {} max {}",
        tcp.iter().map(|s| s.checks).min().unwrap(),
        tcp.iter().map(|s| s.checks).max().unwrap()
    );
    assert!(
        first < Duration::from_millis(1500),
        "first round took {first:?} (warmup 0.5 s)"
    );
    // Within four delay_loops every checker has completed at least three checks.
    assert!(
        tcp.iter().all(|s| s.checks >= 3),
        "some checker fell behind"
    );
    let healthy = tcp.iter().filter(|s| s.healthy).count();
    assert_eq!(healthy, 1000);
    assert!(
        tcp.iter()
            .filter(|s| !s.healthy)
            .all(|s| s.reason.contains("refused"))
    );
    assert_eq!(downs, 1000);
    // The 5 s script is still running and delayed nobody.
    let misc = status.iter().find(|s| s.kind == "MISC_CHECK").unwrap();
    assert_eq!(misc.checks, 0);
    engine.shutdown();
}

/// The next real-server event (quorum events are skipped).
async fn next_server_event(events: &mut control::health::engine::EventReceiver) -> HealthEvent {
    loop {
        let e = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap()
            .unwrap();
        if matches!(e, HealthEvent::Server { .. }) {
            return e;
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn detection_and_recovery_of_a_killed_server() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let accept = tokio::spawn(accept_forever(l));
    // delay_loop 1 s, retry 1, delay_before_retry 0.5 s, connect_timeout 1 s.
    let t = Timing {
        delay_loop: Duration::from_secs(1),
        retry: 1,
        delay_before_retry: Duration::from_millis(500),
        warmup: Duration::ZERO,
        alpha: false,
    };
    let dest = SocketAddr::from(([10, 0, 1, 1], 80));
    let (engine, mut events) = HealthEngine::start(
        &tokio::runtime::Handle::current(),
        vec![service(80, vec![server(dest, vec![tcp(addr, t)])])],
        Arc::new(NetProber::new()),
        EngineOptions::default(),
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(events.try_recv().is_err(), "no event while healthy");

    // Kill the server: the port now refuses.
    accept.abort();
    let _ = accept.await;
    let killed = Instant::now();
    let e = next_server_event(&mut events).await;
    let detect = killed.elapsed();
    assert!(
        matches!(
            e,
            HealthEvent::Server {
                change: ServerChange::Down,
                ..
            }
        ),
        "{e:?}"
    );
    // Bound: the next check comes within delay_loop, then `retry` retries
    // delay_before_retry apart (refusals are immediate on loopback).
    assert!(
        detect <= Duration::from_millis(1000 + 500 + 1000),
        "detected after {detect:?}"
    );

    // Restore it on the same port: up on the first success, within delay_loop.
    let l = TcpListener::bind(addr).await.unwrap();
    let restored = Instant::now();
    tokio::spawn(accept_forever(l));
    let e = next_server_event(&mut events).await;
    let recover = restored.elapsed();
    assert!(
        matches!(
            e,
            HealthEvent::Server {
                change: ServerChange::Up,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        recover <= Duration::from_millis(1000 + 1000),
        "recovered after {recover:?}"
    );
    eprintln!(
        "detection {detect:?} (bound 1.5 s + slack), recovery {recover:?} (bound 1 s + slack)"
    );
    engine.shutdown();
}
