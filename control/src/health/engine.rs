//! The health engine: every checker as a task on one tokio runtime, a supervisor task that
//! turns checker results into real-server and quorum state, and a status board.
//!
//! Shape: the caller talks to the supervisor over an unbounded channel (reconfigure,
//! shutdown), so no call ever waits for a check; checker tasks report only state changes
//! to the supervisor; the supervisor emits [`HealthEvent`]s on another unbounded channel
//! (the director must drain it) and keeps a shared board that [`HealthEngine::status`]
//! and [`HealthEngine::health`] read under a short lock. Events are sent only after the
//! board shows their effect, so a receiver may read [`HealthEngine::health`] on an event
//! and see the state that caused it (or a newer one). A checker is a sleeping future
//! between attempts, so thousands cost a few kilobytes each and no threads; a slow check
//! (or a MISC script) only delays its own task.
//!
//! A live reconfiguration diffs the new targets against the running ones: a checker whose
//! resolved specification is unchanged (same real server, same parameters) keeps its task,
//! hence its state and its schedule; removed checkers are aborted; new ones start with
//! keepalived's initial state (up, or down with alpha) after their warmup.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use proto::{CheckerStatus, ServiceKey};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep};

use super::effect::{ServerHealth, service_effect};
use super::event::{HealthEvent, ServerChange};
use super::policy::{CheckerState, Family};
use super::probe::{Outcome, Prober, WeightHint};
use super::script::run_detached;
use super::spec::{CheckerSpec, ProbeSpec, ServerTarget, ServicePolicy, ServiceTarget};

/// Tunables of the engine itself (not of keepalived's checkers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    /// How long a notify or quorum script may run before its process group is killed.
    pub script_timeout: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            script_timeout: Duration::from_secs(30),
        }
    }
}

/// The engine has stopped (shut down, or its runtime is gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the health engine has stopped")]
pub struct EngineStopped;

/// Health of one service as the engine sees it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceHealth {
    pub servers: Vec<ServerHealth>,
    pub quorum_up: bool,
}

/// Receives the engine's events.
pub type EventReceiver = mpsc::UnboundedReceiver<HealthEvent>;

enum Command {
    Reconfigure(Vec<ServiceTarget>),
    Shutdown,
}

/// Handle to a running engine. Cloning gives another handle to the same engine; the
/// engine stops when [`HealthEngine::shutdown`] is called or every handle is dropped.
#[derive(Clone)]
pub struct HealthEngine {
    commands: mpsc::UnboundedSender<Command>,
    board: Arc<Board>,
}

impl HealthEngine {
    /// Starts the engine on `handle`'s runtime with an initial set of targets.
    pub fn start(
        handle: &Handle,
        targets: Vec<ServiceTarget>,
        prober: Arc<dyn Prober>,
        options: EngineOptions,
    ) -> (HealthEngine, EventReceiver) {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (events, event_rx) = mpsc::unbounded_channel();
        let board = Arc::new(Board::default());
        let supervisor = Supervisor {
            prober,
            options,
            events,
            board: board.clone(),
            reports: None,
            next_id: 0,
            services: BTreeMap::new(),
            owners: HashMap::new(),
            pending: std::cell::RefCell::new(Vec::new()),
        };
        handle.spawn(supervisor.run(command_rx, targets));
        (HealthEngine { commands, board }, event_rx)
    }

    /// Replaces the set of targets; returns at once.
    pub fn reconfigure(&self, targets: Vec<ServiceTarget>) -> Result<(), EngineStopped> {
        self.commands
            .send(Command::Reconfigure(targets))
            .map_err(|_| EngineStopped)
    }

    /// Stops every checker (running omega notifications); returns at once.
    pub fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown);
    }

    /// The last result of every checker, ordered by service, real server and checker.
    pub fn status(&self) -> Vec<CheckerStatus> {
        let now = Instant::now();
        lock(&self.board.checkers)
            .values()
            .map(|row| CheckerStatus {
                service: row.service,
                dest: row.dest,
                kind: row.kind.to_string(),
                healthy: row.healthy,
                last_latency_ms: row
                    .latency
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                reason: row.reason.clone(),
                age_s: row
                    .completed
                    .map(|t| now.saturating_duration_since(t).as_secs()),
                checks: row.checks,
                failures: row.failures,
            })
            .collect()
    }

    /// The current health of a service's real servers and its quorum.
    pub fn health(&self, service: &ServiceKey) -> Option<ServiceHealth> {
        lock(&self.board.services).get(service).cloned()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Key of a checker on the board: ordered for listings.
type RowKey = (ServiceKey, SocketAddr, u64);

/// The last result of one checker.
struct Row {
    service: ServiceKey,
    dest: SocketAddr,
    kind: &'static str,
    healthy: bool,
    latency: Option<Duration>,
    reason: String,
    completed: Option<Instant>,
    checks: u64,
    failures: u64,
}

/// State shared between the supervisor, the checker tasks and the handles.
#[derive(Default)]
struct Board {
    checkers: Mutex<BTreeMap<RowKey, Row>>,
    services: Mutex<HashMap<ServiceKey, ServiceHealth>>,
}

impl Board {
    fn record(&self, key: &RowKey, outcome: &Outcome, latency: Duration, healthy: bool) {
        if let Some(row) = lock(&self.checkers).get_mut(key) {
            row.healthy = healthy;
            row.latency = Some(latency);
            row.reason.clone_from(&outcome.reason);
            row.completed = Some(Instant::now());
            row.checks += 1;
            if !outcome.ok {
                row.failures += 1;
            }
        }
    }
}

/// What a checker task tells the supervisor.
enum Report {
    /// The checker went up or down.
    Changed { up: bool, reason: String },
    /// MISC_CHECK misc_dynamic asked for a weight.
    Weight(WeightHint),
}

struct CheckerRun {
    id: u64,
    spec: CheckerSpec,
    up: bool,
    task: JoinHandle<()>,
}

struct ServerRun {
    target: ServerTarget,
    checkers: Vec<CheckerRun>,
    alive: bool,
    dynamic: Option<u32>,
}

impl ServerRun {
    fn health(&self) -> ServerHealth {
        ServerHealth {
            dest: self.target.dest,
            weight: self.target.weight,
            inhibit: self.target.inhibit,
            alive: self.alive,
            dynamic_weight: self.dynamic,
        }
    }
}

struct ServiceRun {
    policy: ServicePolicy,
    servers: Vec<ServerRun>,
    quorum_up: bool,
}

impl ServiceRun {
    fn health(&self) -> Vec<ServerHealth> {
        self.servers.iter().map(ServerRun::health).collect()
    }
}

struct Supervisor {
    prober: Arc<dyn Prober>,
    options: EngineOptions,
    events: mpsc::UnboundedSender<HealthEvent>,
    board: Arc<Board>,
    reports: Option<mpsc::UnboundedSender<(u64, Report)>>,
    next_id: u64,
    services: BTreeMap<ServiceKey, ServiceRun>,
    /// Checker id -> (service, real server).
    owners: HashMap<u64, (ServiceKey, SocketAddr)>,
    /// Events waiting for the board to be published ([`Supervisor::flush_events`]).
    pending: std::cell::RefCell<Vec<HealthEvent>>,
}

impl Supervisor {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        initial: Vec<ServiceTarget>,
    ) {
        let (reports, mut report_rx) = mpsc::unbounded_channel();
        self.reports = Some(reports);
        self.apply(initial);
        loop {
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(Command::Reconfigure(targets)) => self.apply(targets),
                    Some(Command::Shutdown) | None => break,
                },
                Some((id, report)) = report_rx.recv() => self.on_report(id, report),
            }
        }
        let keys: Vec<ServiceKey> = self.services.keys().copied().collect();
        for key in keys {
            self.remove_service(&key);
        }
        self.flush_events();
    }

    /// Queues an event until the board is published.
    fn emit(&self, event: HealthEvent) {
        self.pending.borrow_mut().push(event);
    }

    /// Sends the queued events; called once the board shows their effect.
    fn flush_events(&self) {
        for event in self.pending.borrow_mut().drain(..) {
            // The receiver may be gone (nobody listening): health keeps running regardless.
            let _ = self.events.send(event);
        }
    }

    fn script(&self, command: Option<&String>) {
        if let Some(c) = command {
            run_detached(c, self.options.script_timeout);
        }
    }

    fn publish(&self, key: &ServiceKey) {
        let mut services = lock(&self.board.services);
        match self.services.get(key) {
            Some(run) => {
                services.insert(
                    *key,
                    ServiceHealth {
                        servers: run.health(),
                        quorum_up: run.quorum_up,
                    },
                );
            }
            None => {
                services.remove(key);
            }
        }
    }

    fn apply(&mut self, targets: Vec<ServiceTarget>) {
        let wanted: std::collections::HashSet<ServiceKey> = targets.iter().map(|t| t.key).collect();
        let gone: Vec<ServiceKey> = self
            .services
            .keys()
            .filter(|k| !wanted.contains(k))
            .copied()
            .collect();
        for key in gone {
            self.remove_service(&key);
        }
        for target in targets {
            let key = target.key;
            if let Some(mut run) = self.services.remove(&key) {
                self.update_service(&key, &mut run, target);
                self.services.insert(key, run);
                self.update_quorum(&key);
            } else {
                self.add_service(target);
            }
            self.publish(&key);
        }
        self.flush_events();
    }

    fn add_service(&mut self, target: ServiceTarget) {
        let key = target.key;
        let mut servers = Vec::with_capacity(target.servers.len());
        for s in target.servers {
            let run = self.start_server(&key, s);
            if !run.alive {
                self.emit(HealthEvent::Server {
                    service: key,
                    dest: run.target.dest,
                    change: ServerChange::Down,
                    reason: "alpha".into(),
                });
            }
            servers.push(run);
        }
        let health: Vec<ServerHealth> = servers.iter().map(ServerRun::health).collect();
        let p = &target.policy;
        let effect = service_effect(p.quorum, p.hysteresis, p.sorry.as_ref(), &health, None);
        if !effect.quorum_up {
            self.emit(HealthEvent::Quorum {
                service: key,
                up: false,
                weight_sum: effect.weight_sum,
            });
            // keepalived announces "starting with quorum down" only when it has a sorry
            // server to put in.
            if p.sorry.is_some() {
                self.script(p.quorum_down.as_ref());
            }
        }
        self.services.insert(
            key,
            ServiceRun {
                policy: target.policy,
                servers,
                quorum_up: effect.quorum_up,
            },
        );
    }

    fn start_server(&mut self, key: &ServiceKey, target: ServerTarget) -> ServerRun {
        let checkers: Vec<CheckerRun> = target
            .checkers
            .iter()
            .map(|spec| self.start_checker(key, target.dest, spec.clone()))
            .collect();
        let alive = checkers.iter().all(|c| c.up);
        ServerRun {
            target,
            checkers,
            alive,
            dynamic: None,
        }
    }

    fn start_checker(
        &mut self,
        key: &ServiceKey,
        dest: SocketAddr,
        spec: CheckerSpec,
    ) -> CheckerRun {
        let id = self.next_id;
        self.next_id += 1;
        let state = CheckerState::new(Family::of(&spec.probe), &spec.timing);
        let up = state.is_up();
        let row_key = (*key, dest, id);
        lock(&self.board.checkers).insert(
            row_key,
            Row {
                service: *key,
                dest,
                kind: spec.probe.kind_name(),
                healthy: up,
                latency: None,
                reason: "not checked yet".into(),
                completed: None,
                checks: 0,
                failures: 0,
            },
        );
        self.owners.insert(id, (*key, dest));
        let warmup = spec.timing.warmup;
        let first = if warmup.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_nanos(fastrand::u64(
                0..=u64::try_from(warmup.as_nanos()).unwrap_or(u64::MAX),
            ))
        };
        let task = tokio::spawn(run_checker(CheckerTask {
            row_key,
            spec: spec.clone(),
            state,
            prober: self.prober.clone(),
            reports: self.reports.clone(),
            board: self.board.clone(),
            first,
        }));
        CheckerRun { id, spec, up, task }
    }

    fn stop_checker(&mut self, key: &ServiceKey, dest: SocketAddr, c: CheckerRun) {
        c.task.abort();
        self.owners.remove(&c.id);
        lock(&self.board.checkers).remove(&(*key, dest, c.id));
    }

    fn update_service(&mut self, key: &ServiceKey, run: &mut ServiceRun, target: ServiceTarget) {
        run.policy = target.policy;
        let mut old: Vec<ServerRun> = std::mem::take(&mut run.servers);
        for t in target.servers {
            let Some(pos) = old.iter().position(|s| s.target.dest == t.dest) else {
                let new = self.start_server(key, t);
                if !new.alive {
                    self.emit(HealthEvent::Server {
                        service: *key,
                        dest: new.target.dest,
                        change: ServerChange::Down,
                        reason: "alpha".into(),
                    });
                }
                run.servers.push(new);
                continue;
            };
            let mut server = old.swap_remove(pos);
            let mut previous: Vec<CheckerRun> = std::mem::take(&mut server.checkers);
            for spec in &t.checkers {
                match previous.iter().position(|c| &c.spec == spec) {
                    Some(i) => server.checkers.push(previous.swap_remove(i)),
                    None => {
                        let c = self.start_checker(key, t.dest, spec.clone());
                        server.checkers.push(c);
                    }
                }
            }
            for c in previous {
                self.stop_checker(key, t.dest, c);
            }
            if !t
                .checkers
                .iter()
                .any(|c| matches!(c.probe, ProbeSpec::Misc { dynamic: true, .. }))
            {
                server.dynamic = None;
            }
            server.target = t;
            let alive = server.checkers.iter().all(|c| c.up);
            if alive != server.alive {
                server.alive = alive;
                let reason = if alive { "checkers changed" } else { "alpha" };
                self.server_changed(key, &server, reason);
            }
            run.servers.push(server);
        }
        for server in old {
            for c in server.checkers {
                self.stop_checker(key, server.target.dest, c);
            }
        }
    }

    /// Emits the event and runs the notify script of a server whose aliveness changed.
    fn server_changed(&self, key: &ServiceKey, server: &ServerRun, reason: &str) {
        let (change, script) = if server.alive {
            (ServerChange::Up, server.target.notify_up.as_ref())
        } else {
            (ServerChange::Down, server.target.notify_down.as_ref())
        };
        self.emit(HealthEvent::Server {
            service: *key,
            dest: server.target.dest,
            change,
            reason: reason.to_string(),
        });
        self.script(script);
    }

    fn remove_service(&mut self, key: &ServiceKey) {
        let Some(run) = self.services.remove(key) else {
            return;
        };
        if run.policy.omega {
            for s in run.servers.iter().filter(|s| s.alive) {
                self.script(s.target.notify_down.as_ref());
            }
            if run.quorum_up {
                self.script(run.policy.quorum_down.as_ref());
            }
        }
        for server in run.servers {
            for c in server.checkers {
                self.stop_checker(key, server.target.dest, c);
            }
        }
        self.publish(key);
    }

    fn on_report(&mut self, id: u64, report: Report) {
        // Reports of checkers stopped by a reconfiguration may still be queued.
        let Some(&(key, dest)) = self.owners.get(&id) else {
            return;
        };
        let Some(mut run) = self.services.remove(&key) else {
            return;
        };
        if let Some(server) = run.servers.iter_mut().find(|s| s.target.dest == dest) {
            match report {
                Report::Changed { up, reason } => {
                    if let Some(c) = server.checkers.iter_mut().find(|c| c.id == id) {
                        c.up = up;
                    }
                    let alive = server.checkers.iter().all(|c| c.up);
                    if alive != server.alive {
                        server.alive = alive;
                        self.server_changed(&key, server, &reason);
                    }
                }
                Report::Weight(hint) => {
                    let before = server.health().current_weight();
                    server.dynamic = match hint {
                        WeightHint::Set(w) => Some(w),
                        WeightHint::Restore => None,
                    };
                    let after = server.health().current_weight();
                    if before != after {
                        self.emit(HealthEvent::Server {
                            service: key,
                            dest,
                            change: ServerChange::Weight(after),
                            reason: "misc_dynamic".into(),
                        });
                    }
                }
            }
        }
        self.services.insert(key, run);
        self.update_quorum(&key);
        self.publish(&key);
        self.flush_events();
    }

    fn update_quorum(&mut self, key: &ServiceKey) {
        let Some(run) = self.services.get_mut(key) else {
            return;
        };
        let health = run.health();
        let p = &run.policy;
        let effect = service_effect(
            p.quorum,
            p.hysteresis,
            p.sorry.as_ref(),
            &health,
            Some(run.quorum_up),
        );
        if effect.quorum_up == run.quorum_up {
            return;
        }
        run.quorum_up = effect.quorum_up;
        let script = if effect.quorum_up {
            p.quorum_up.clone()
        } else {
            p.quorum_down.clone()
        };
        self.emit(HealthEvent::Quorum {
            service: *key,
            up: effect.quorum_up,
            weight_sum: effect.weight_sum,
        });
        self.script(script.as_ref());
    }
}

struct CheckerTask {
    row_key: RowKey,
    spec: CheckerSpec,
    state: CheckerState,
    prober: Arc<dyn Prober>,
    reports: Option<mpsc::UnboundedSender<(u64, Report)>>,
    board: Arc<Board>,
    first: Duration,
}

/// One checker: wait, probe, update the state, report changes, repeat.
async fn run_checker(mut t: CheckerTask) {
    let id = t.row_key.2;
    let send = |report: Report| {
        if let Some(r) = &t.reports {
            let _ = r.send((id, report));
        }
    };
    // MISC_CHECK measures its period from the start of the script, the others from the end
    // of the attempt.
    let from_start = matches!(t.spec.probe, ProbeSpec::Misc { .. });
    let mut last_hint: Option<WeightHint> = None;
    sleep(t.first).await;
    loop {
        let url = t.state.url();
        let started = Instant::now();
        let outcome = t.prober.probe(&t.spec.probe, url).await;
        let latency = started.elapsed();
        if outcome.ok
            && let Some(hint) = outcome.weight
            && last_hint != Some(hint)
        {
            last_hint = Some(hint);
            send(Report::Weight(hint));
        }
        let step = t.state.record(outcome.ok, &t.spec.timing);
        if step.changed == Some(false) {
            last_hint = None;
        }
        if let Some(up) = step.changed {
            send(Report::Changed {
                up,
                reason: outcome.reason.clone(),
            });
        }
        t.board
            .record(&t.row_key, &outcome, latency, t.state.is_up());
        let wait = if from_start {
            (started + step.next).saturating_duration_since(Instant::now())
        } else {
            step.next
        };
        sleep(wait).await;
    }
}
