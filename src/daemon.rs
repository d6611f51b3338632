//! `rvsd --config FILE`: the running director.
//!
//! Threads:
//!
//! ```text
//!  main ──── waits for SIGINT/SIGTERM, then stops everything in order
//!  rvs-worker-N (one per dpdk.workers core, pinned, DPDK-registered)
//!        poll loop: ForwardStage over queue N of every port
//!  rvs-director   the Director: every request, one at a time (control::director::actor)
//!  rvs-control    the control socket (tokio, current-thread)
//!  rvs-stats      every 2 s: rate estimation, freeing retired statistics slots
//! ```
//!
//! Start-up: EAL → pool and ports (one queue per worker) → the workers' stages and
//! channels ([`crate::fleet`]) → the [`Director`] over the configuration, restored from the
//! state file, with the [`SnapshotApplier`], [`DaemonStats`] and [`DaemonStatus`] → the
//! first snapshot is queued for every worker (`Director::start`) → the worker threads start
//! and take it at their first poll → the director thread, the control socket and the
//! estimator start. A configuration the dataplane cannot run (IPv6 services, say) stops
//! start-up with the reason before any worker runs.
//!
//! Shut-down on SIGINT/SIGTERM, control plane first so no change arrives at stopped
//! workers: control socket (its file removed) → director thread → estimator → workers
//! (each finishes its burst, flushes, returns its queues) → ports stopped and closed →
//! the EAL, cleaned up when its last holder goes.
//!
//! Not wired yet, with their seams: the kernel-side TAP ports (the snapshot compiler
//! already places them when [`Devices::kernel_macs`] names one), health checkers and VRRP
//! (they reach the director through the same [`DirectorHandle`] as the socket).
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use control::config::Config;
use control::director::{Director, DirectorHandle, Restored};
use control::socket::{ControlServer, SocketOptions};
use dataplane::fwd::ForwardStage;
use dataplane::port::dpdk::DpdkQueue;
use dataplane::stats::CounterValues;
use dataplane::worker::{Worker, WorkerSetup};
use dpdk_sys::{Eal, Mbuf, Port, ThreadRegistration};
use proto::Counter;

use crate::applier::SnapshotApplier;
use crate::counters::{DaemonStats, StatsBook, spawn_estimator};
use crate::error::{DpdkContext, RvsdError};
use crate::fleet::{FleetOptions, Member, Seeds, WorkerTables};
use crate::ports::{self, DpdkPorts};
use crate::snapshot::Devices;
use crate::status::DaemonStatus;
use crate::{eal_args, fleet, report};

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
    let args = eal_args::for_daemon(&cfg);
    log::info!("EAL arguments: {}", args.join(" "));
    let eal = Eal::init(&args).context(|| "initialising the DPDK EAL".to_string())?;
    let devices: Vec<String> = cfg.ports.iter().map(|p| p.device.clone()).collect();
    let workers = u16::try_from(cfg.dpdk.workers.len())
        .map_err(|_| RvsdError::Other("too many workers".into()))?;
    let dp = ports::setup(&eal, &cfg, &devices, workers, false)?;
    for p in cfg.ports.iter().filter(|p| p.kernel_port.is_some()) {
        log::warn!(
            "port {}: kernel_port is not created yet in this version; the dataplane answers \
             ARP and ping for the port's addresses itself",
            p.name
        );
    }
    let result = run_on_ports(&eal, &cfg, &dp, workers, &term);
    log::info!("stopping: closing ports");
    let port_stats: Vec<_> = dp
        .ports
        .iter()
        .zip(&cfg.ports)
        .map(|(p, c)| (c.name.clone(), p.stats()))
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
    let applier = SnapshotApplier::new(
        Devices::network(dp.macs()?),
        fleet.snapshots.clone(),
        tables.clone(),
        Arc::clone(&book),
    );
    let port_names: Vec<String> = cfg.ports.iter().map(|p| p.name.clone()).collect();
    let status = DaemonStatus::new(
        fleet.commands.clone(),
        tables.clone(),
        port_names.clone(),
        port_counters(
            port_names
                .iter()
                .cloned()
                .zip(dp.ports.iter().cloned())
                .collect(),
        ),
    );
    let mut director = Director::new(cfg.clone(), Box::new(applier))
        .with_stats(Box::new(DaemonStats::new(
            Arc::clone(&book),
            tables.clone(),
        )))
        .with_status(Box::new(status))
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
    director
        .start()
        .map_err(|r| RvsdError::Other(format!("the configuration cannot run: {}", r.message)))?;
    log::info!(
        "generation {}: {} virtual service(s)",
        director.generation(),
        director.effective().services.len()
    );

    let stop_workers = Arc::new(AtomicBool::new(false));
    let handles = start_workers(eal, cfg, dp, fleet.members, &stop_workers)?;
    let control = start_control_plane(director, cfg, &book, &tables);
    let control = match control {
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
    log::info!("stopping: workers");
    stop_workers.store(true, Ordering::Relaxed);
    join_workers(handles, &tables)
}

/// The director thread, the control socket and the estimator, stopped together.
struct ControlPlane {
    server: ControlServer,
    handle: DirectorHandle,
    director: JoinHandle<Director>,
    estimator: JoinHandle<()>,
    stop_estimator: Arc<AtomicBool>,
}

impl ControlPlane {
    fn stop(self) {
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
) -> Result<ControlPlane, RvsdError> {
    let stop_estimator = Arc::new(AtomicBool::new(false));
    let estimator = spawn_estimator(
        Arc::clone(book),
        tables.clone(),
        Arc::clone(&stop_estimator),
    )
    .map_err(|e| RvsdError::Other(format!("starting the statistics thread: {e}")))?;
    let (handle, director) = control::director::spawn(director)
        .map_err(|e| RvsdError::Other(format!("starting the director thread: {e}")))?;
    match ControlServer::start(SocketOptions::from_config(&cfg.daemon), handle.clone()) {
        Ok(server) => Ok(ControlPlane {
            server,
            handle,
            director,
            estimator,
            stop_estimator,
        }),
        Err(e) => {
            drop(handle);
            let _ = director.join();
            stop_estimator.store(true, Ordering::Relaxed);
            let _ = estimator.join();
            Err(RvsdError::Other(format!("control socket: {e}")))
        }
    }
}

/// Named counters of the DPDK ports: `port.<name>.<counter>` and the driver's extended
/// counters as `port.<name>.x.<xstat>`.
fn port_counters(ports: Vec<(String, Port)>) -> crate::status::ExtraCounters {
    Box::new(move || {
        let mut out = Vec::new();
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
        let mut queues = Vec::with_capacity(dp.ports.len());
        for p in &dp.ports {
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
