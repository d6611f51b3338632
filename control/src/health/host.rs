//! The health engine on a thread of its own, for a daemon that is not async.
//!
//! The daemon (rvsd) keeps tokio out of its own code: the control crate owns every async
//! runtime. [`HealthHost::start`] builds a current-thread tokio runtime on a dedicated
//! thread (`rvs-health`), starts the [`HealthEngine`] on it and forwards its events to a
//! plain `std::sync::mpsc` channel, which a daemon thread drains without any runtime.
//! A thread of its own, rather than the control socket's runtime, so that a burst of checks
//! (thousands of connects, a MISC script being spawned) never delays a control request,
//! and a slow control client never delays a check.
//!
//! Everything the daemon calls returns at once except [`HealthHost::shutdown`], which
//! stops every checker (omega scripts are started) and waits for the thread.

use std::io;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use proto::{CheckerStatus, ServiceKey};

use super::engine::{EngineOptions, EngineStopped, HealthEngine, ServiceHealth};
use super::event::HealthEvent;
use super::probe::Prober;
use super::spec::ServiceTarget;

/// A running engine and the thread that drives it.
pub struct HealthHost {
    engine: HealthEngine,
    thread: Option<JoinHandle<()>>,
}

impl HealthHost {
    /// Starts the engine with `targets` on a new thread; its events arrive on the receiver
    /// (which the caller must drain), in the order the engine emitted them. The receiver
    /// ends after [`HealthHost::shutdown`].
    pub fn start(
        targets: Vec<ServiceTarget>,
        prober: Arc<dyn Prober>,
        options: EngineOptions,
    ) -> io::Result<(HealthHost, Receiver<HealthEvent>)> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (engine, mut events) = HealthEngine::start(runtime.handle(), targets, prober, options);
        let (tx, rx): (Sender<HealthEvent>, Receiver<HealthEvent>) = channel();
        let thread = std::thread::Builder::new()
            .name("rvs-health".into())
            .spawn(move || {
                runtime.block_on(async move {
                    // Ends when the supervisor has stopped (shutdown) and dropped its sender.
                    while let Some(event) = events.recv().await {
                        // A receiver that went away only loses the events.
                        let _ = tx.send(event);
                    }
                });
            })?;
        Ok((
            HealthHost {
                engine,
                thread: Some(thread),
            },
            rx,
        ))
    }

    /// Replaces the targets (see [`HealthEngine::reconfigure`]); returns at once.
    pub fn reconfigure(&self, targets: Vec<ServiceTarget>) -> Result<(), EngineStopped> {
        self.engine.reconfigure(targets)
    }

    /// A handle to the engine, for callers that need their own (status readers,
    /// reconfiguration from another thread).
    pub fn engine(&self) -> HealthEngine {
        self.engine.clone()
    }

    /// The last result of every checker.
    pub fn status(&self) -> Vec<CheckerStatus> {
        self.engine.status()
    }

    /// The current health of a service's real servers and its quorum.
    pub fn health(&self, service: &ServiceKey) -> Option<ServiceHealth> {
        self.engine.health(service)
    }

    /// Stops every checker and waits for the engine's thread to end.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.engine.shutdown();
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            log::error!("the health thread panicked");
        }
    }
}

impl Drop for HealthHost {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::event::ServerChange;
    use crate::health::probe::{Outcome, ProbeFuture};
    use crate::health::spec::{
        CheckerSpec, ConnSpec, ProbeSpec, ServerTarget, ServicePolicy, Timing,
    };
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    /// Passes while `up` is set.
    struct Switch(Arc<AtomicBool>);

    impl Prober for Switch {
        fn probe<'a>(&'a self, _spec: &'a ProbeSpec, _url: usize) -> ProbeFuture<'a> {
            let up = self.0.load(Ordering::Relaxed);
            Box::pin(async move {
                if up {
                    Outcome::pass()
                } else {
                    Outcome::fail("switched off")
                }
            })
        }
    }

    fn target() -> ServiceTarget {
        let dest = "10.0.0.11:80".parse().unwrap();
        ServiceTarget {
            key: ServiceKey::Addr {
                protocol: proto::Protocol::Tcp,
                addr: "10.0.0.100:80".parse().unwrap(),
            },
            policy: ServicePolicy {
                quorum: 1,
                hysteresis: 0,
                quorum_up: None,
                quorum_down: None,
                omega: false,
                sorry: None,
            },
            servers: vec![ServerTarget {
                dest,
                weight: 1,
                inhibit: false,
                notify_up: None,
                notify_down: None,
                checkers: vec![CheckerSpec {
                    probe: ProbeSpec::Tcp {
                        conn: ConnSpec {
                            dst: dest,
                            bind: None,
                            timeout: Duration::from_secs(1),
                        },
                    },
                    timing: Timing {
                        delay_loop: Duration::from_millis(50),
                        retry: 0,
                        delay_before_retry: Duration::from_millis(10),
                        warmup: Duration::ZERO,
                        alpha: false,
                    },
                }],
            }],
        }
    }

    #[test]
    fn events_reach_a_plain_thread_after_the_board_shows_them_and_shutdown_ends_them() {
        let up = Arc::new(AtomicBool::new(true));
        let (host, events) = HealthHost::start(
            vec![target()],
            Arc::new(Switch(Arc::clone(&up))),
            EngineOptions::default(),
        )
        .unwrap();
        let key = target().key;
        up.store(false, Ordering::Relaxed);
        let event = events.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(
            matches!(
                event,
                HealthEvent::Server {
                    change: ServerChange::Down,
                    ..
                }
            ),
            "{event:?}"
        );
        // The board already shows what the event says.
        let health = host.health(&key).unwrap();
        assert!(!health.servers[0].alive);
        assert!(!health.quorum_up);
        let status = host.status();
        assert_eq!(status.len(), 1);
        assert!(!status[0].healthy);
        assert_eq!(status[0].reason, "switched off");
        host.shutdown();
        // After shutdown the channel ends (the quorum event may come first).
        let rest: Vec<HealthEvent> = events.iter().collect();
        assert!(
            rest.iter()
                .all(|e| matches!(e, HealthEvent::Quorum { up: false, .. })),
            "{rest:?}"
        );
    }
}
