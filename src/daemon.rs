//! `rvsd --config FILE`: the live dataplane.
//!
//! Start-up: EAL init from the configured arguments plus the ports → pool and ports set up
//! with one queue per worker → the first snapshot → one pinned, DPDK-registered thread per
//! worker core. Shut-down on SIGINT/SIGTERM: the signal only sets a flag; each worker
//! finishes its burst, flushes and returns its queue handles; then the ports are stopped and
//! closed and, as the last DPDK object goes, `rte_eal_cleanup` runs (no hugepage files or
//! runtime files are left behind).
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use control::config::Config;
use dataplane::local::LocalStage;
use dataplane::port::dpdk::DpdkQueue;
use dataplane::stats::{CounterValues, WorkerCounters};
use dataplane::worker::{HandOffEnds, Snapshot, Worker, WorkerSetup, handoff_mesh};
use dpdk_sys::{Eal, Mbuf, ThreadRegistration};

use crate::error::{DpdkContext, RvsdError};
use crate::ports::{self, DpdkPorts};
use crate::{eal_args, report, snapshot};

/// Packets each hand-off ring holds.
const HANDOFF_RING: usize = 1024;

pub fn run(cfg: &Config) -> Result<(), RvsdError> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .map_err(|e| RvsdError::Other(format!("installing the signal handler: {e}")))?;
    }
    let args = eal_args::for_daemon(cfg);
    log::info!("EAL arguments: {}", args.join(" "));
    let eal = Eal::init(&args).context(|| "initialising the DPDK EAL".to_string())?;
    let devices: Vec<String> = cfg.ports.iter().map(|p| p.device.clone()).collect();
    let workers = u16::try_from(cfg.dpdk.workers.len())
        .map_err(|_| RvsdError::Other("too many workers".into()))?;
    let dp = ports::setup(&eal, cfg, &devices, workers, false)?;
    let snap = Arc::new(snapshot::build(cfg, &dp.macs()?, 1));

    let totals = run_workers(&eal, cfg, &dp, &snap, &stop)?;
    log::info!("stopping: closing ports");
    let port_stats: Vec<_> = dp
        .ports
        .iter()
        .zip(&cfg.ports)
        .map(|(p, c)| (c.name.clone(), p.stats()))
        .collect();
    dp.close()?;
    eprint!("{}", report::counters(&totals));
    for (name, st) in port_stats {
        if let Ok(st) = st {
            eprint!("{}", report::port_stats(&name, &st));
        }
    }
    drop(dp);
    drop(eal);
    log::info!("stopped");
    Ok(())
}

/// Starts the workers, waits for the stop flag, joins them and returns their counters.
fn run_workers(
    eal: &Eal,
    cfg: &Config,
    dp: &DpdkPorts,
    snap: &Arc<Snapshot>,
    stop: &Arc<AtomicBool>,
) -> Result<CounterValues, RvsdError> {
    let mut meshes = handoff_mesh::<Mbuf>(cfg.dpdk.workers.len(), HANDOFF_RING).into_iter();
    // The control plane will keep the senders to push new snapshots; for now nothing does.
    let mut snapshot_senders = Vec::new();
    let mut handles = Vec::new();
    let mut counters = Vec::new();
    for (w, &core) in cfg.dpdk.workers.iter().enumerate() {
        let id = u16::try_from(w).map_err(|_| RvsdError::Other("too many workers".into()))?;
        let mut queues = Vec::with_capacity(dp.ports.len());
        for p in &dp.ports {
            let q = p
                .queue(id)
                .context(|| format!("taking queue {id} of {}", p.name()))?;
            queues.push(DpdkQueue::new(q, dp.pool.clone()));
        }
        let (tx, rx) = crossbeam_channel::bounded(4);
        snapshot_senders.push(tx);
        let wc = Arc::new(WorkerCounters::default());
        counters.push(Arc::clone(&wc));
        let setup = WorkerSetup {
            id,
            queues,
            stage: LocalStage,
            snapshot: Arc::clone(snap),
            updates: rx,
            counters: wc,
            handoff: meshes.next().unwrap_or_else(HandOffEnds::none),
            burst: usize::from(cfg.dpdk.burst),
        };
        let eal = eal.clone();
        let stop = Arc::clone(stop);
        let handle = thread::Builder::new()
            .name(format!("rvs-worker-{w}"))
            .spawn(move || worker_thread(eal, core, setup, &stop))
            .map_err(|e| RvsdError::Other(format!("starting worker {w}: {e}")))?;
        handles.push(handle);
    }
    log::info!(
        "{} worker(s) running on cores {:?}; SIGINT or SIGTERM stops",
        handles.len(),
        cfg.dpdk.workers
    );
    while !stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(100));
        if handles.iter().any(|h| h.is_finished()) {
            // A worker that ended on its own failed at start-up: stop the others.
            stop.store(true, Ordering::Relaxed);
        }
    }
    let mut failed = Vec::new();
    for (w, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failed.push(format!("worker {w}: {e}")),
            Err(_) => failed.push(format!("worker {w} panicked")),
        }
    }
    let mut total = CounterValues::default();
    for c in &counters {
        total.accumulate(&c.read());
    }
    if failed.is_empty() {
        Ok(total)
    } else {
        Err(RvsdError::Other(failed.join("; ")))
    }
}

/// One worker thread: pin, register with DPDK, poll until stopped.
fn worker_thread(
    eal: Eal,
    core: usize,
    setup: WorkerSetup<DpdkQueue, LocalStage>,
    stop: &AtomicBool,
) -> Result<(), String> {
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
