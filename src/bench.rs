//! `rvsd bench`: a first throughput figure for the worker loop with the local responder.
//!
//! Two net_null ports: port 0 receives an endless stream of 64-byte buffers, port 1
//! discards what it is given. net_null writes no packet bytes, so the bench stage first
//! copies a 60-byte ICMP echo request for the director into each buffer (standing in for
//! the NIC's DMA, and costing what net_null's `copy=1` would), then runs the real
//! [`LocalStage`] on it, which rewrites it into the echo reply; the reply is sent on
//! port 1 instead of back on port 0. One worker on the main lcore, counted by its own
//! counters; the figure is received packets per second.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use control::config::Config;
use dataplane::local::respond;
use dataplane::port::PacketBuf;
use dataplane::port::dpdk::DpdkQueue;
use dataplane::stats::WorkerCounters;
use dataplane::worker::{HandOffEnds, Output, PacketCtx, Stage, Verdict, Worker, WorkerSetup};
use dpdk_sys::Eal;

use control::director::Ids;

use crate::error::{DpdkContext, RvsdError};
use crate::slots::SlotAllocator;
use crate::snapshot::Devices;
use crate::{eal_args, ports, snapshot};

/// The director's address in the bench configuration.
const DIRECTOR_IP: [u8; 4] = [10, 0, 0, 2];

/// Fills each buffer with an echo request to the director, then answers it on port 1.
struct BenchStage {
    template: [u8; 60],
}

impl BenchStage {
    fn new(director_mac: [u8; 6]) -> BenchStage {
        let mut t = [0u8; 60];
        t[0..6].copy_from_slice(&director_mac);
        t[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
        t[12..14].copy_from_slice(&[0x08, 0x00]);
        // IPv4: 20 + ICMP 8 + 18 bytes of data = 46.
        let ip = &mut t[14..34];
        ip.copy_from_slice(&[
            0x45, 0, 0, 46, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0, 10, 0, 0, 1, 0, 0, 0, 0,
        ]);
        ip[16..20].copy_from_slice(&DIRECTOR_IP);
        let sum = dataplane::wire::checksum::checksum(ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let icmp = &mut t[34..60];
        icmp[0] = 8;
        icmp[4..8].copy_from_slice(&[0xbe, 0xef, 0, 1]);
        let sum = dataplane::wire::checksum::checksum(icmp);
        icmp[2..4].copy_from_slice(&sum.to_be_bytes());
        BenchStage { template: t }
    }
}

impl<B: PacketBuf> Stage<B> for BenchStage {
    #[inline]
    fn process(&mut self, mut buf: B, ctx: &PacketCtx<'_>, out: &mut Output<'_, B>) {
        if let Some(head) = buf.data_mut().get_mut(..self.template.len()) {
            head.copy_from_slice(&self.template);
        }
        let verdict = match respond(buf.data_mut(), ctx) {
            Verdict::Transmit { .. } => Verdict::Transmit { port: 1 },
            other => other,
        };
        out.push(verdict, buf);
    }
}

pub fn run(seconds: u64) -> Result<(), RvsdError> {
    let cfg: Config = toml::from_str(
        "[dpdk]\nworkers = [0]\nmbufs = 16383\nmbuf_cache = 512\n\
         [[ports]]\nname = \"gen\"\ndevice = \"net_null0,size=64\"\naddresses = [\"10.0.0.2/24\"]\n\
         [[ports]]\nname = \"sink\"\ndevice = \"net_null1,no-rx=1\"\n",
    )
    .map_err(|e| RvsdError::Other(e.to_string()))?;
    let devices: Vec<String> = cfg.ports.iter().map(|p| p.device.clone()).collect();
    let hugepages = eal_args::hugepages_available();
    let args = eal_args::for_replay(&cfg, &devices, hugepages);
    let eal = Eal::init(&args).context(|| "initialising the DPDK EAL".to_string())?;
    let dp = ports::setup(&eal, &cfg, &devices, 1, false)?;
    let macs = dp.macs()?;
    let snap = Arc::new(
        snapshot::compile(
            &cfg,
            &Ids::new(),
            &SlotAllocator::new(1),
            &Devices::network(macs.clone()),
            1,
        )
        .map_err(|e| RvsdError::Other(e.to_string()))?,
    );
    let mut queues = Vec::new();
    for p in &dp.ports {
        queues.push(DpdkQueue::new(
            p.queue(0).context(|| "taking queue 0".into())?,
            dp.pool.clone(),
        ));
    }
    let counters = Arc::new(WorkerCounters::default());
    let (_tx, updates) = crossbeam_channel::bounded(1);
    let mut worker = Worker::new(WorkerSetup {
        id: 0,
        queues,
        stage: BenchStage::new(macs.first().copied().unwrap_or([0; 6])),
        snapshot: snap,
        updates,
        counters: Arc::clone(&counters),
        handoff: HandOffEnds::none(),
        burst: 32,
    });
    // Warm up (caches, mempool), then measure.
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(500) {
        worker.poll();
    }
    let before = counters.read();
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        for _ in 0..1024 {
            worker.poll();
        }
        if start.elapsed() >= Duration::from_secs(seconds) {
            stop.store(true, Ordering::Relaxed);
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let after = counters.read();
    drop(worker.into_queues());
    dp.close()?;
    let rx = after.rx_packets - before.rx_packets;
    let tx = after.tx_packets - before.tx_packets;
    let replies = after.icmp_echo_replies - before.icmp_echo_replies;
    if replies != rx || after.total_drops() != before.total_drops() {
        return Err(RvsdError::Other(format!(
            "bench packets were not all answered: rx {rx}, replies {replies}, drops {}",
            after.total_drops() - before.total_drops()
        )));
    }
    println!(
        "memory: {}",
        if hugepages {
            "hugepages (--in-memory)"
        } else {
            "no hugepages (--no-huge)"
        }
    );
    println!("packets: {rx} received, {tx} transmitted in {elapsed:.2} s");
    println!(
        "worker loop, local responder (echo request -> reply), 64-byte packets, 1 core: {:.2} Mpps",
        rx as f64 / elapsed / 1e6
    );
    Ok(())
}
