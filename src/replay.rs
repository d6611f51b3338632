//! `rvsd replay`: the dataplane over a capture, deterministically.
//!
//! The DPDK engine runs the real path: port 0 becomes `net_pcap0,rx_pcap=IN,tx_pcap=OUT`
//! (other ports become `net_null` devices that receive nothing), EAL runs in memory without
//! hugepage files, one worker polls on the main lcore, and RX timestamps (the capture
//! times) are the worker's clock. Drain is detected exactly: IN is read beforehand to count
//! its records, and the replay ends when the port has received (or rejected as too large)
//! that many; then TX is flushed and the port closed, which completes OUT.
//!
//! The pcap engine runs the same worker and stage over the pure-Rust pcap port, without
//! EAL; both must write the same packets.
use std::path::Path;
use std::sync::Arc;

use control::config::Config;
use dataplane::local::LocalStage;
use dataplane::port::dpdk::DpdkQueue;
use dataplane::port::pcap::{BufPool, CaptureError, PcapQueue, read_capture};
use dataplane::stats::WorkerCounters;
use dataplane::worker::{HandOffEnds, Stage, Worker, WorkerSetup};
use dpdk_sys::Eal;

use crate::error::{DpdkContext, RvsdError};
use crate::{eal_args, ports, report, snapshot};

/// Consecutive empty polls after which a replay that has not drained is declared stuck
/// (a safety net against a driver that stops delivering; a healthy replay never gets
/// near it, since every poll of a non-drained capture returns packets).
const STALL_POLLS: u64 = 50_000_000;

/// The MAC net_pcap gives its ports (it has no real one): `02:70:63:61:70:<port id>`
/// ("pcap" in ASCII). The pcap engine uses the same, so both engines answer alike.
pub fn net_pcap_mac(port: u16) -> [u8; 6] {
    [0x02, 0x70, 0x63, 0x61, 0x70, port as u8]
}

fn devarg_path(p: &Path) -> Result<String, RvsdError> {
    let s = p
        .to_str()
        .ok_or_else(|| RvsdError::Other(format!("{}: path is not valid UTF-8", p.display())))?;
    if s.contains(',') || s.contains('=') {
        return Err(RvsdError::Other(format!(
            "{s}: net_pcap cannot take a path containing ',' or '='"
        )));
    }
    Ok(s.to_string())
}

/// Fails early, with the path in the message, when OUT cannot be created.
fn check_output(output: &Path) -> Result<(), RvsdError> {
    std::fs::File::create(output).map_err(|e| {
        RvsdError::Capture(CaptureError::Write {
            path: output.to_path_buf(),
            source: pcap_file::PcapError::IoError(e),
        })
    })?;
    Ok(())
}

pub fn run_dpdk(cfg: &Config, input: &Path, output: &Path) -> Result<(), RvsdError> {
    let records = read_capture(input)?;
    let expected = records.len() as u64;
    drop(records);
    check_output(output)?;
    let mut devices = vec![format!(
        "net_pcap0,rx_pcap={},tx_pcap={}",
        devarg_path(input)?,
        devarg_path(output)?
    )];
    for i in 1..cfg.ports.len() {
        devices.push(format!("net_null{i},no-rx=1"));
    }
    let args = eal_args::for_replay(cfg, &devices, eal_args::hugepages_available());
    log::debug!("EAL arguments: {}", args.join(" "));
    let eal = Eal::init(&args).context(|| "initialising the DPDK EAL".to_string())?;
    let dp = ports::setup(&eal, cfg, &devices, 1, true)?;
    let snap = Arc::new(snapshot::build(cfg, &dp.macs()?, 1));
    let mut queues = Vec::with_capacity(dp.ports.len());
    for p in &dp.ports {
        let q = p
            .queue(0)
            .context(|| format!("taking queue 0 of {}", p.name()))?;
        queues.push(DpdkQueue::new(q, dp.pool.clone()));
    }
    let counters = Arc::new(WorkerCounters::default());
    let (_updates_tx, updates) = crossbeam_channel::bounded(1);
    let mut worker = Worker::new(WorkerSetup {
        id: 0,
        queues,
        stage: LocalStage,
        snapshot: snap,
        updates,
        counters: Arc::clone(&counters),
        handoff: HandOffEnds::none(),
        burst: usize::from(cfg.dpdk.burst),
    });
    let port0 = dp
        .ports
        .first()
        .ok_or_else(|| RvsdError::Other("no port 0".into()))?
        .clone();
    let mut idle = 0u64;
    loop {
        let got = worker.poll();
        let st = port0.stats().context(|| "reading port 0 counters".into())?;
        if st.ipackets + st.ierrors >= expected {
            break;
        }
        if got == 0 {
            idle += 1;
            if idle > STALL_POLLS {
                return Err(RvsdError::Other(format!(
                    "{}: replay stalled after {} of {expected} packets",
                    input.display(),
                    st.ipackets + st.ierrors
                )));
            }
        } else {
            idle = 0;
        }
    }
    drop(worker.into_queues());
    let st = port0.stats().context(|| "reading port 0 counters".into())?;
    dp.close()?;
    drop(port0);
    drop(dp);
    drop(eal);
    print!("{}", report::counters(&counters.read()));
    print!("{}", report::port_stats("0", &st));
    println!(
        "replayed {expected} packets from {} (dpdk): {} written to {}",
        input.display(),
        counters.read().tx_packets,
        output.display()
    );
    Ok(())
}

pub fn run_pcap(cfg: &Config, input: &Path, output: &Path) -> Result<(), RvsdError> {
    let records = read_capture(input)?;
    let expected = records.len();
    let pool = BufPool::new(cfg.dpdk.mbufs as usize);
    let mut queues = vec![PcapQueue::new(records, Some(output), Arc::clone(&pool))?];
    for _ in 1..cfg.ports.len() {
        queues.push(PcapQueue::new(Vec::new(), None, Arc::clone(&pool))?);
    }
    let macs: Vec<[u8; 6]> = (0..cfg.ports.len() as u16).map(net_pcap_mac).collect();
    let snap = Arc::new(snapshot::build(cfg, &macs, 1));
    let counters = Arc::new(WorkerCounters::default());
    let (_updates_tx, updates) = crossbeam_channel::bounded(1);
    let mut worker = Worker::new(WorkerSetup {
        id: 0,
        queues,
        stage: LocalStage,
        snapshot: snap,
        updates,
        counters: Arc::clone(&counters),
        handoff: HandOffEnds::none(),
        burst: usize::from(cfg.dpdk.burst),
    });
    drain(&mut worker);
    let mut queues = worker.into_queues().into_iter();
    if let Some(q0) = queues.next() {
        q0.finish()?;
    }
    print!("{}", report::counters(&counters.read()));
    println!(
        "replayed {expected} packets from {} (pcap): {} written to {}",
        input.display(),
        counters.read().tx_packets,
        output.display()
    );
    Ok(())
}

/// Polls until every pcap queue has delivered its whole input.
fn drain<S: Stage<<PcapQueue as dataplane::port::PortQueue>::Buf>>(
    worker: &mut Worker<PcapQueue, S>,
) {
    while !worker.queues().iter().all(PcapQueue::is_drained) {
        worker.poll();
    }
    // One more poll lets anything the last burst produced go out.
    worker.poll();
}
