//! `rvsd bench`: throughput of the worker loop through the real DPDK path.
//!
//! Two net_null ports: port 0 receives an endless stream of 64-byte buffers, port 1
//! discards what it is given. net_null writes no packet bytes, so the bench stage first
//! copies a frame into each buffer (standing in for the NIC's DMA, and costing what
//! net_null's `copy=1` would), then hands it to the real stage:
//!
//! * `--mode local`: an ICMP echo request for the director, which `local::respond` rewrites
//!   into the echo reply, sent on port 1;
//! * `--mode dr|nat|fullnat|tun`: a TCP segment of one of 1024 established connections to a
//!   virtual service with eight real servers of that method (the connections are opened by
//!   their SYNs first), through the whole `ForwardStage` — classification, connection
//!   lookup and state, counters, TTL, the method's rewrite, route and neighbour lookup —
//!   out of port 1, where the real servers are.
//!
//! One worker on the main lcore, counted by its own counters; the figure is received
//! packets per second, and every packet must have been transmitted (no drop).
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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

/// What `rvsd bench` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// The local responder: echo request to the director → echo reply.
    Local,
    /// Forwarding of established connections, direct routing.
    Dr,
    /// Forwarding of established connections, masquerading.
    Nat,
    /// Forwarding of established connections, full NAT (no client-address delivery).
    Fullnat,
    /// Forwarding of established connections, IPIP tunnel.
    Tun,
}

/// Connections the forwarding bench cycles through.
const FLOWS: u16 = 1024;

/// Feeds each buffer one segment of the next connection, then runs the forwarding stage.
struct ForwardBench<B: PacketBuf> {
    inner: dataplane::fwd::ForwardStage<B>,
    /// SYN of each flow (sent once), then a data segment of each flow.
    syns: Vec<Vec<u8>>,
    data: Vec<Vec<u8>>,
    next: usize,
}

impl<B: PacketBuf> ForwardBench<B> {
    fn new(inner: dataplane::fwd::ForwardStage<B>, director_mac: [u8; 6]) -> ForwardBench<B> {
        use dataplane::testutil::{L2L3, tcp_frame};
        let h = L2L3 {
            src_mac: [0x02, 0, 0, 0, 0, 0x01],
            dst_mac: director_mac,
            src: std::net::Ipv4Addr::new(192, 168, 0, 10),
            dst: std::net::Ipv4Addr::new(10, 0, 0, 100),
            ttl: 64,
            df: true,
        };
        let syns = (0..FLOWS)
            .map(|i| tcp_frame(&h, 10_000 + i, 80, 0x02, 1, 0, b""))
            .collect();
        let data = (0..FLOWS)
            .map(|i| tcp_frame(&h, 10_000 + i, 80, 0x10, 2, 1, &[0u8; 6]))
            .collect();
        ForwardBench {
            inner,
            syns,
            data,
            next: 0,
        }
    }
}

impl<B: PacketBuf> Stage<B> for ForwardBench<B> {
    #[inline]
    fn process(&mut self, mut buf: B, ctx: &PacketCtx<'_>, out: &mut Output<'_, B>) {
        let i = self.next % usize::from(FLOWS);
        let frame = if self.next < usize::from(FLOWS) {
            &self.syns[i]
        } else {
            &self.data[i]
        };
        self.next += 1;
        let len = buf.len();
        if len > frame.len() {
            let _ = buf.trim(len - frame.len());
        } else if len < frame.len() {
            let _ = buf.append(frame.len() - len);
        }
        if let Some(head) = buf.data_mut().get_mut(..frame.len()) {
            head.copy_from_slice(frame);
        }
        self.inner.process(buf, ctx, out);
    }

    fn tick(
        &mut self,
        now: u64,
        snapshot: &Arc<dataplane::worker::Snapshot>,
        out: &mut Output<'_, B>,
    ) {
        self.inner.tick(now, snapshot, out);
    }

    fn snapshot_changed(&mut self, snapshot: &Arc<dataplane::worker::Snapshot>) {
        self.inner.snapshot_changed(snapshot);
    }
}

/// The bench configuration for a forwarding method: the service arrives on port 0 ("gen"),
/// the real servers are on port 1 ("sink"), known statically.
fn forward_config(method: &str) -> String {
    let mut c = String::from(
        "[dpdk]\nworkers = [0]\nmbufs = 16383\nmbuf_cache = 512\n\
         [[ports]]\nname = \"gen\"\ndevice = \"net_null0,size=64\"\naddresses = [\"192.168.0.2/24\"]\n\
         [[ports]]\nname = \"sink\"\ndevice = \"net_null1,no-rx=1\"\naddresses = [\"10.0.0.2/24\"]\n\
         [local_address_groups.l]\naddresses = [{ address = \"10.0.0.200\" }]\n\
         [[services]]\nprotocol = \"tcp\"\naddress = \"10.0.0.100\"\nport = 80\nscheduler = \"rr\"\n",
    );
    c.push_str(&format!(
        "forward = \"{method}\"\nlocal_address_group = \"l\"\nclient_address = \"none\"\n"
    ));
    for i in 0..8 {
        c.push_str(&format!(
            "[[services.real_servers]]\naddress = \"10.0.0.{}\"\nport = 80\n",
            11 + i
        ));
    }
    for i in 0..8 {
        c.push_str(&format!(
            "[[neighbours]]\naddress = \"10.0.0.{}\"\nmac = \"02:00:00:00:00:{:02x}\"\nport = \"sink\"\n",
            11 + i,
            11 + i
        ));
    }
    c.push_str(
        "[[neighbours]]\naddress = \"192.168.0.10\"\nmac = \"02:00:00:00:00:01\"\nport = \"gen\"\n",
    );
    c
}

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

pub fn run(seconds: u64, mode: Mode) -> Result<(), RvsdError> {
    let text = match mode {
        Mode::Local => "[dpdk]\nworkers = [0]\nmbufs = 16383\nmbuf_cache = 512\n\
         [[ports]]\nname = \"gen\"\ndevice = \"net_null0,size=64\"\naddresses = [\"10.0.0.2/24\"]\n\
         [[ports]]\nname = \"sink\"\ndevice = \"net_null1,no-rx=1\"\n"
            .to_string(),
        Mode::Dr => forward_config("dr"),
        Mode::Nat => forward_config("nat"),
        Mode::Fullnat => forward_config("full_nat"),
        Mode::Tun => forward_config("tun"),
    };
    let cfg = control::config::load_toml_str(&text)
        .map_err(|e| RvsdError::Other(e.to_string()))?
        .config;
    let devices: Vec<String> = cfg.ports.iter().map(|p| p.device.clone()).collect();
    let hugepages = eal_args::hugepages_available();
    let args = eal_args::for_replay(&cfg, &devices, hugepages);
    let eal = Eal::init(&args).context(|| "initialising the DPDK EAL".to_string())?;
    let dp = ports::setup(&eal, &cfg, &devices, 1, false)?;
    let macs = dp.macs()?;
    let ids = Ids::new()
        .transition(&cfg)
        .map_err(|e| RvsdError::Other(e.to_string()))?
        .settled();
    let slots = SlotAllocator::new(64);
    let plan = slots
        .plan(&ids)
        .map_err(|e| RvsdError::Other(e.to_string()))?;
    let snap = Arc::new(
        snapshot::compile(&cfg, &ids, &plan, &Devices::network(macs.clone()), 1)
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
    let director_mac = macs.first().copied().unwrap_or([0; 6]);
    let measured = if mode == Mode::Local {
        let worker = Worker::new(WorkerSetup {
            id: 0,
            queues,
            stage: BenchStage::new(director_mac),
            snapshot: snap,
            updates,
            counters: Arc::clone(&counters),
            handoff: HandOffEnds::none(),
            burst: 32,
        });
        measure(worker, &counters, seconds)
    } else {
        let (_cmd_tx, cmd_rx) = crossbeam_channel::unbounded();
        let mut fwd = dataplane::fwd::FwdConfig::new(0, 1);
        fwd.conn.capacity = 1 << 16;
        let inner = dataplane::fwd::ForwardStage::new(
            fwd,
            Arc::new(dataplane::stats::SlotTable::new(64)),
            cmd_rx,
            dataplane::fwd::NeighSync::solo(),
        )
        .map_err(|e| RvsdError::Other(e.to_string()))?;
        let worker = Worker::new(WorkerSetup {
            id: 0,
            queues,
            stage: ForwardBench::new(inner, director_mac),
            snapshot: snap,
            updates,
            counters: Arc::clone(&counters),
            handoff: HandOffEnds::none(),
            burst: 32,
        });
        measure(worker, &counters, seconds)
    };
    let (rx, tx, elapsed, before, after) = measured;
    dp.close()?;
    let answered = match mode {
        Mode::Local => after.icmp_echo_replies - before.icmp_echo_replies,
        _ => tx,
    };
    if answered != rx || after.total_drops() != before.total_drops() {
        return Err(RvsdError::Other(format!(
            "bench packets were not all handled: rx {rx}, out {answered}, drops {:?}",
            after.lines()
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
    let what = match mode {
        Mode::Local => "local responder (echo request -> reply)".to_string(),
        m => format!("forwarding, {} established connections, {m:?}", FLOWS),
    };
    println!(
        "worker loop, {what}, 64-byte buffers, 1 core: {:.2} Mpps",
        rx as f64 / elapsed / 1e6
    );
    Ok(())
}

/// Warms a worker up, then polls it for `seconds`; returns received and transmitted packets,
/// the seconds measured and the counters before and after.
fn measure<Q: dataplane::port::PortQueue, S: Stage<Q::Buf>>(
    mut worker: Worker<Q, S>,
    counters: &WorkerCounters,
    seconds: u64,
) -> (
    u64,
    u64,
    f64,
    dataplane::stats::CounterValues,
    dataplane::stats::CounterValues,
) {
    // Warm up (caches, mempool, the connections' SYNs), then measure.
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
    (
        after.rx_packets - before.rx_packets,
        after.tx_packets - before.tx_packets,
        elapsed,
        before,
        after,
    )
}
