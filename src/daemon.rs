//! `rvsd --config FILE`: the running director.
//!
//! Threads:
//!
//! ```text
//!  main ──── waits for SIGINT/SIGTERM, then stops everything in order
//!  rvs-worker-N (one per dpdk.workers core, pinned, DPDK-registered)
//!        poll loop: ForwardStage over queue N of every port (network ports, then TAPs)
//!  rvs-director   the Director: every request, one at a time (control::director::actor)
//!  rvs-control    the control socket (tokio, current-thread)
//!  rvs-stats      every 2 s: rate estimation, freeing retired statistics slots
//!  rvs-health     the health checkers (tokio, current-thread; control::health::host)
//!  rvs-health-events   checker verdicts → the director ([`crate::health`])
//!  rvs-vrrp       the VRRP driver (tokio, current-thread; control::vrrp::host)
//!  rvs-vrrp-events     ownership → snapshot, gratuitous ARP → worker 0 ([`crate::vrrp`])
//! ```
//!
//! Start-up: EAL (which creates the network ports' devices and one net_tap per
//! `kernel_port`) → pool and network ports (one queue per worker) → the kernel-side ports,
//! their kernel interfaces given the port's MAC, addresses and routes ([`crate::kport`])
//! → the workers' stages and channels ([`crate::fleet`]) → the [`Director`] over the
//! configuration, restored from the state file, with the [`SnapshotApplier`],
//! [`DaemonStats`] and [`DaemonStatus`] → the health checkers on the configured services →
//! the first snapshot is queued for every worker (`Director::start`; VRRP addresses are
//! not served until their instance is MASTER) → the worker threads start and take it at
//! their first poll → the director thread, the control socket, the estimator → the health
//! events thread → VRRP (its sockets on the TAPs) and its events thread. A configuration
//! the dataplane cannot run (IPv6 services, say) stops start-up with the reason before any
//! worker runs.
//!
//! Shut-down on SIGINT/SIGTERM, control plane first so no change arrives at stopped
//! workers, VRRP first of all so that a master's priority-0 advert still leaves through
//! the running dataplane: VRRP (priority 0, addresses released) → health checkers →
//! control socket (its file removed) → director thread → estimator → workers (each
//! finishes its burst, flushes, returns its queues) → ports stopped and closed (the TAPs
//! vanish from the kernel with their addresses) → the EAL, cleaned up when its last holder
//! goes.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use control::config::Config;
use control::director::{Director, DirectorHandle, Restored};
use control::health::{HealthEvent, HealthHost};
use control::socket::{ControlServer, SocketOptions};
use control::vrrp::VrrpHost;
use control::vrrp::resolve::Resolved;
use crossbeam_channel::Sender;
use dataplane::fwd::ForwardStage;
use dataplane::fwd::StageCommand;
use dataplane::port::dpdk::DpdkQueue;
use dataplane::stats::CounterValues;
use dataplane::worker::{Worker, WorkerSetup};
use dpdk_sys::{Eal, Mbuf, Port, ThreadRegistration};
use proto::Counter;

use crate::applier::SnapshotApplier;
use crate::counters::{DaemonStats, StatsBook, spawn_estimator};
use crate::error::{DpdkContext, RvsdError};
use crate::fleet::{FleetOptions, Member, Seeds, WorkerTables};
use crate::ownership::VrrpOwnership;
use crate::ports::{self, DpdkPorts};
use crate::snapshot::Devices;
use crate::status::DaemonStatus;
use crate::steering::{self, SharedSteering};
use crate::{eal_args, fleet, health, kport, report, vrrp};

type DpdkSetup = WorkerSetup<DpdkQueue, ForwardStage<Mbuf>>;

/// The daemon's name as `Hello`/`Info` report it.
pub fn daemon_name() -> String {
    format!("rvsd {}", crate::VERSION)
}

pub fn run(cfg: Config) -> Result<(), RvsdError> {
    let term = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&term))
            .map_err(|e| RvsdError::Other(format!("installing the signal handler: {e}")))?;
    }
    let kernel = kport::planned(&cfg);
    kport::check_names(&kernel).map_err(RvsdError::Other)?;
    let args = eal_args::for_daemon(&cfg);
    log::info!("EAL arguments: {}", args.join(" "));
    let eal = Eal::init(&args).context(|| "initialising the DPDK EAL".to_string())?;
    let devices: Vec<String> = cfg.ports.iter().map(|p| p.device.clone()).collect();
    let workers = u16::try_from(cfg.dpdk.workers.len())
        .map_err(|_| RvsdError::Other("too many workers".into()))?;
    let mut dp = ports::setup(&eal, &cfg, &devices, workers, false)?;
    let result = match ports::add_kernel_ports(&eal, &cfg, &mut dp, &kernel, workers) {
        Ok(()) => run_on_ports(&eal, &cfg, &dp, workers, &term),
        Err(e) => Err(e),
    };
    log::info!("stopping: closing ports");
    let port_stats: Vec<_> = dp
        .all()
        .zip(port_names(&cfg, &dp))
        .map(|(p, name)| (name, p.stats()))
        .collect();
    let closed = dp.close();
    if let Ok(totals) = &result {
        eprint!("{}", report::counters(totals));
        for (name, st) in port_stats {
            if let Ok(st) = st {
                eprint!("{}", report::port_stats(&name, &st));
            }
        }
    }
    drop(dp);
    drop(eal);
    result?;
    closed?;
    log::info!("stopped");
    Ok(())
}

/// The dataplane's port names by index: the network ports, then the TAPs.
fn port_names(cfg: &Config, dp: &DpdkPorts) -> Vec<String> {
    cfg.ports
        .iter()
        .map(|p| p.name.clone())
        .chain(dp.kernel.iter().map(|(k, _)| k.tap.clone()))
        .collect()
}

/// Everything between the ports being up and the ports being closed; returns the workers'
/// summed counters.
fn run_on_ports(
    eal: &Eal,
    cfg: &Config,
    dp: &DpdkPorts,
    workers: u16,
    term: &Arc<AtomicBool>,
) -> Result<CounterValues, RvsdError> {
    let fleet = fleet::build::<Mbuf>(&FleetOptions {
        workers,
        conn_capacity: cfg.conn_table.capacity_per_worker,
        stats_slots: cfg.daemon.stats_slots,
        seeds: Seeds::Random,
    })?;
    let tables = fleet.tables.clone();
    let book = StatsBook::shared(cfg.daemon.stats_slots);
    let ownership = VrrpOwnership::from_config(cfg);
    let devices = Devices {
        macs: dp.macs()?,
        kernel_macs: dp.kernel_macs()?,
    };
    let names = port_names(cfg, dp);
    let network_names: Vec<String> = cfg.ports.iter().map(|p| p.name.clone()).collect();
    let steering = steering::shared(&network_names, &dp.ports, workers);
    let applier = SnapshotApplier::new(
        devices,
        fleet.snapshots.clone(),
        tables.clone(),
        Arc::clone(&book),
    )
    .with_vrrp(ownership.clone())
    .with_local_addresses(steering::observer(&steering));
    let mut director = Director::new(cfg.clone(), Box::new(applier))
        .with_stats(Box::new(DaemonStats::new(
            Arc::clone(&book),
            tables.clone(),
        )))
        .with_daemon_name(daemon_name());
    if let Some(path) = &cfg.daemon.state_file {
        match director.restore(std::path::Path::new(path)) {
            Restored::Absent => {
                log::info!("no state file at {path}: starting from the configuration")
            }
            Restored::Loaded { warnings } => {
                log::info!("state restored from {path} ({} warning(s))", warnings.len())
            }
            Restored::SetAside { reason, moved_to } => log::error!(
                "state file {path} set aside ({reason}){}",
                moved_to.map_or_else(String::new, |p| format!(": now {}", p.display()))
            ),
            Restored::Unreadable { reason } => {
                log::error!("state file {path} unreadable ({reason})")
            }
        }
    }
    // VRRP is checked now (its TAPs carry their addresses already) and started last.
    let vrrp_config = vrrp::resolve_for_daemon(
        cfg,
        &dp.kernel.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
    )?;
    let (health_host, health_events) = health::start(director.configured())?;
    let vrrp_board = Arc::new(OnceLock::new());
    let status = DaemonStatus::new(
        fleet.commands.clone(),
        tables.clone(),
        names.clone(),
        port_counters(
            names.iter().cloned().zip(dp.all().cloned()).collect(),
            Arc::clone(&steering),
        ),
    )
    .with_health(health_host.engine())
    .with_vrrp(Arc::clone(&vrrp_board));
    let mut director = director
        .with_status(Box::new(status))
        .with_observer(health::observer(health_host.engine()));
    director
        .start()
        .map_err(|r| RvsdError::Other(format!("the configuration cannot run: {}", r.message)))?;
    log::info!(
        "generation {}: {} virtual service(s)",
        director.generation(),
        director.effective().services.len()
    );

    let stop_workers = Arc::new(AtomicBool::new(false));
    let garp_worker = fleet.commands.first().cloned();
    let handles = start_workers(eal, cfg, dp, fleet.members, &stop_workers)?;
    let ha = HighAvailability {
        health: Some((health_host, None)),
        vrrp: None,
    };
    let started = start_control_plane(director, cfg, &book, &tables, ha).and_then(|mut c| {
        let vrrp = vrrp_config.map(|resolved| (resolved, ownership, garp_worker));
        match c.wire_high_availability(cfg, health_events, vrrp, &vrrp_board) {
            Ok(()) => Ok(c),
            Err(e) => {
                c.stop();
                Err(e)
            }
        }
    });
    let control = match started {
        Ok(c) => c,
        Err(e) => {
            stop_workers.store(true, Ordering::Relaxed);
            let _ = join_workers(handles, &tables);
            return Err(e);
        }
    };
    log::info!(
        "{} worker(s) running on cores {:?}; SIGINT or SIGTERM stops",
        handles.len(),
        cfg.dpdk.workers
    );
    while !term.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(100));
        if handles.iter().any(|h| h.is_finished()) {
            // A worker that ended on its own failed at start-up: stop the others.
            log::error!("a worker stopped on its own; stopping");
            break;
        }
    }
    log::info!("stopping: control plane");
    control.stop();
    // No change can arrive any more: the NIC rules go before the ports stop.
    steering::lock(&steering).flush();
    log::info!("stopping: workers");
    stop_workers.store(true, Ordering::Relaxed);
    join_workers(handles, &tables)
}

/// Health checkers and VRRP with the threads that carry their events to the director.
struct HighAvailability {
    health: Option<(HealthHost, Option<JoinHandle<()>>)>,
    vrrp: Option<(VrrpHost, JoinHandle<()>)>,
}

/// How long the workers get to send what VRRP's shutdown wrote into the TAPs (the
/// priority-0 adverts) before the dataplane stops: they poll the TAP continuously, so a
/// few milliseconds are plenty; this is a generous bound that costs only at shutdown.
const VRRP_FLUSH: Duration = Duration::from_millis(100);

impl HighAvailability {
    /// VRRP first (priority 0 leaves through the running dataplane), then the checkers;
    /// each events thread ends with its channel, after its last change reached the
    /// director.
    fn stop(&mut self) {
        if let Some((host, events)) = self.vrrp.take() {
            log::info!("stopping: VRRP (priority 0 for the instances in MASTER)");
            host.shutdown();
            if events.join().is_err() {
                log::error!("the VRRP events thread panicked");
            }
            thread::sleep(VRRP_FLUSH);
        }
        if let Some((host, events)) = self.health.take() {
            log::info!("stopping: health checkers");
            host.shutdown();
            if let Some(t) = events
                && t.join().is_err()
            {
                log::error!("the health events thread panicked");
            }
        }
    }
}

/// The director thread, the control socket, the estimator, health checks and VRRP,
/// stopped together.
struct ControlPlane {
    server: ControlServer,
    handle: DirectorHandle,
    director: JoinHandle<Director>,
    estimator: JoinHandle<()>,
    stop_estimator: Arc<AtomicBool>,
    ha: HighAvailability,
}

/// What VRRP needs once the director runs: its configuration, the ownership the applier
/// reads, and worker 0's command channel (for gratuitous ARPs).
type VrrpStart = (Resolved, VrrpOwnership, Option<Sender<StageCommand>>);

impl ControlPlane {
    /// Starts the health events thread, then VRRP and its events thread (if configured).
    fn wire_high_availability(
        &mut self,
        cfg: &Config,
        health_events: std::sync::mpsc::Receiver<HealthEvent>,
        vrrp: Option<VrrpStart>,
        board: &OnceLock<control::vrrp::StatusBoard>,
    ) -> Result<(), RvsdError> {
        self.wire_health(health_events)?;
        let Some((resolved, ownership, garp_worker)) = vrrp else {
            return Ok(());
        };
        let sinks = vrrp::EventSinks {
            ownership,
            director: self.handle.clone(),
            garp_worker: garp_worker.ok_or_else(|| RvsdError::Other("no worker".into()))?,
            ports: cfg
                .ports
                .iter()
                .enumerate()
                .filter_map(|(i, p)| Some((p.name.clone(), u16::try_from(i).ok()?)))
                .collect(),
        };
        self.start_vrrp(resolved, sinks, board)
    }

    /// Starts the thread that hands checker verdicts to the director.
    fn wire_health(
        &mut self,
        events: std::sync::mpsc::Receiver<HealthEvent>,
    ) -> Result<(), RvsdError> {
        let Some((host, thread)) = self.ha.health.as_mut() else {
            return Ok(());
        };
        let t = health::spawn_events(events, host.engine(), self.handle.clone())
            .map_err(|e| RvsdError::Other(format!("starting the health events thread: {e}")))?;
        *thread = Some(t);
        Ok(())
    }

    /// Starts VRRP and the thread that carries its events out.
    fn start_vrrp(
        &mut self,
        resolved: Resolved,
        sinks: vrrp::EventSinks,
        board: &OnceLock<control::vrrp::StatusBoard>,
    ) -> Result<(), RvsdError> {
        let (host, events) = vrrp::start(resolved)?;
        let _ = board.set(host.board());
        match vrrp::spawn_events(events, sinks) {
            Ok(t) => {
                self.ha.vrrp = Some((host, t));
                Ok(())
            }
            Err(e) => {
                host.shutdown();
                Err(RvsdError::Other(format!(
                    "starting the VRRP events thread: {e}"
                )))
            }
        }
    }

    fn stop(mut self) {
        self.ha.stop();
        self.server.shutdown();
        drop(self.handle);
        if self.director.join().is_err() {
            log::error!("the director thread panicked");
        }
        self.stop_estimator.store(true, Ordering::Relaxed);
        let _ = self.estimator.join();
    }
}

fn start_control_plane(
    director: Director,
    cfg: &Config,
    book: &crate::counters::SharedBook,
    tables: &WorkerTables,
    mut ha: HighAvailability,
) -> Result<ControlPlane, RvsdError> {
    let stop_estimator = Arc::new(AtomicBool::new(false));
    let estimator = match spawn_estimator(
        Arc::clone(book),
        tables.clone(),
        Arc::clone(&stop_estimator),
    ) {
        Ok(e) => e,
        Err(e) => {
            ha.stop();
            return Err(RvsdError::Other(format!(
                "starting the statistics thread: {e}"
            )));
        }
    };
    let (handle, director) = match control::director::spawn(director) {
        Ok(x) => x,
        Err(e) => {
            ha.stop();
            stop_estimator.store(true, Ordering::Relaxed);
            let _ = estimator.join();
            return Err(RvsdError::Other(format!(
                "starting the director thread: {e}"
            )));
        }
    };
    match ControlServer::start(SocketOptions::from_config(&cfg.daemon), handle.clone()) {
        Ok(server) => Ok(ControlPlane {
            server,
            handle,
            director,
            estimator,
            stop_estimator,
            ha,
        }),
        Err(e) => {
            ha.stop();
            drop(handle);
            let _ = director.join();
            stop_estimator.store(true, Ordering::Relaxed);
            let _ = estimator.join();
            Err(RvsdError::Other(format!("control socket: {e}")))
        }
    }
}

/// Named counters of the DPDK ports: `port.<name>.<counter>`, the flow-steering counters
/// of the network ports (`port.<name>.flow_rules`, `port.<name>.flow_refused`) and the
/// driver's extended counters as `port.<name>.x.<xstat>`.
fn port_counters(
    ports: Vec<(String, Port)>,
    steering: SharedSteering,
) -> crate::status::ExtraCounters {
    Box::new(move || {
        let mut out: Vec<Counter> = steering::lock(&steering)
            .counters()
            .into_iter()
            .map(|(name, value)| Counter { name, value })
            .collect();
        for (name, port) in &ports {
            if let Ok(st) = port.stats() {
                for (what, value) in [
                    ("ipackets", st.ipackets),
                    ("opackets", st.opackets),
                    ("ibytes", st.ibytes),
                    ("obytes", st.obytes),
                    ("imissed", st.imissed),
                    ("ierrors", st.ierrors),
                    ("oerrors", st.oerrors),
                    ("rx_nombuf", st.rx_nombuf),
                ] {
                    out.push(Counter {
                        name: format!("port.{name}.{what}"),
                        value,
                    });
                }
            }
            if let Ok(xs) = port.xstats() {
                out.extend(xs.into_iter().map(|x| Counter {
                    name: format!("port.{name}.x.{}", x.name),
                    value: x.value,
                }));
            }
        }
        out
    })
}

fn start_workers(
    eal: &Eal,
    cfg: &Config,
    dp: &DpdkPorts,
    members: Vec<Member<Mbuf>>,
    stop: &Arc<AtomicBool>,
) -> Result<Vec<JoinHandle<Result<(), String>>>, RvsdError> {
    let mut handles = Vec::new();
    for (member, &core) in members.into_iter().zip(&cfg.dpdk.workers) {
        let id = member.id;
        let mut queues = Vec::with_capacity(dp.ports.len() + dp.kernel.len());
        for p in dp.all() {
            let q = p
                .queue(id)
                .context(|| format!("taking queue {id} of {}", p.name()))?;
            queues.push(DpdkQueue::new(q, dp.pool.clone()));
        }
        let setup = member.into_setup(queues, usize::from(cfg.dpdk.burst));
        let eal = eal.clone();
        let stop = Arc::clone(stop);
        let handle = thread::Builder::new()
            .name(format!("rvs-worker-{id}"))
            .spawn(move || worker_thread(eal, core, setup, &stop))
            .map_err(|e| RvsdError::Other(format!("starting worker {id}: {e}")))?;
        handles.push(handle);
    }
    Ok(handles)
}

fn join_workers(
    handles: Vec<JoinHandle<Result<(), String>>>,
    tables: &WorkerTables,
) -> Result<CounterValues, RvsdError> {
    let mut failed = Vec::new();
    for (w, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failed.push(format!("worker {w}: {e}")),
            Err(_) => failed.push(format!("worker {w} panicked")),
        }
    }
    let mut total = CounterValues::default();
    for c in &tables.counters {
        total.accumulate(&c.read());
    }
    if failed.is_empty() {
        Ok(total)
    } else {
        Err(RvsdError::Other(failed.join("; ")))
    }
}

/// One worker thread: pin, register with DPDK, poll until stopped.
fn worker_thread(eal: Eal, core: usize, setup: DpdkSetup, stop: &AtomicBool) -> Result<(), String> {
    if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
        return Err(format!(
            "cannot pin to core {core} (is it online and allowed?)"
        ));
    }
    let _registration =
        ThreadRegistration::register(&eal).map_err(|e| format!("registering with DPDK: {e}"))?;
    log::info!(
        "worker {} on core {core}, lcore {:?}",
        setup.id,
        dpdk_sys::lcore_id()
    );
    let mut worker = Worker::new(setup);
    worker.run(stop);
    // Dropping the worker returns the queue handles, so the ports may stop.
    drop(worker);
    Ok(())
}
