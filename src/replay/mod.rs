//! `rvsd replay`: the real dataplane over captures, deterministically.
//!
//! The same wiring as the daemon ([`crate::fleet`], the director with the
//! [`SnapshotApplier`]) runs the real `ForwardStage`, but every worker is polled in turn on
//! one thread, so a replay is a pure function of its inputs:
//!
//! - one input capture per worker: `--in A --in B` makes two workers, worker w reading
//!   input w as queue w of port 0 and writing what it transmits there to output w
//!   (`--out A.out --out B.out`); packets a worker does not own are handed to their owner
//!   over the real hand-off rings, so cross-worker paths replay too;
//! - time is the capture's (connection timers follow packet timestamps), connection-table
//!   hashes use a fixed seed, FULLNAT local ports are handed out from the bottom of the
//!   range, the state file is not used;
//! - the dpdk engine runs port 0 as `net_pcap0` with one `rx_pcap`/`tx_pcap` per worker
//!   (other ports as `net_null`); the pcap engine runs the same stage over the pure-Rust
//!   pcap port, without EAL; both write the same packets;
//! - with the pcap engine, a `--script` applies rvsadm command lines at capture times (see
//!   [`script`]): the inputs are held back at each line's time, the workers drained, the line
//!   handed to the director, the inputs released. Every two seconds of capture time, the
//!   rate estimators take a sample, as the kernel's timer does, so `--rate` listings in a
//!   script are meaningful;
//! - with several inputs, each queue delivers bursts of its own file, so packets of
//!   different inputs interleave by bursts, not by time (as net_pcap delivers them: this is
//!   what keeps the engines identical). Where order across inputs matters — a NAT reply in
//!   one input to a SYN in the other — the pcap engine's `--slice-us N` replays in slices
//!   of N µs of capture time: all inputs up to the slice's end, hand-offs settled, then the
//!   next slice. Packets further apart than a slice then meet the workers in capture order.
//!
//! - `--counters FILE` writes the workers' totals and each service's and real server's
//!   counters as JSON when the replay ends (see [`counters_file`]).
//!
//! Drain is exact: the pcap engine stops when every input is delivered and two rounds of
//! polling receive nothing (hand-offs settled); the dpdk engine waits until port 0 has
//! received (or rejected) as many packets as the inputs hold, then settles the same way.
pub mod counters_file;
mod gated;
pub mod script;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cli::command::Command;
use control::config::Config;
use control::director::{Caller, Director};
use control::stats::ESTIMATION_INTERVAL;
use dataplane::fwd::ForwardStage;
use dataplane::port::dpdk::DpdkQueue;
use dataplane::port::pcap::{BufPool, CaptureError, PcapBuf, PcapQueue, Record, read_capture};
use dataplane::port::{PacketBuf, PortQueue};
use dataplane::stats::CounterValues;
use dataplane::worker::Worker;
use dpdk_sys::{Eal, Mbuf};
use proto::{Request, Response};

use crate::applier::{LocalAddressObserver, SnapshotApplier};
use crate::counters::{DaemonStats, SharedBook, StatsBook, lock};
use crate::error::{DpdkContext, RvsdError};
use crate::fleet::{self, Fleet, FleetOptions, Seeds, WorkerTables};
use crate::snapshot::Devices;
use crate::status::DaemonStatus;
use crate::{eal_args, ports, report, steering};

use gated::GatedQueue;
use script::{Action, Entry, NumericNames};

/// Rounds without progress after which a replay that still has input is declared stuck (a
/// safety net; a healthy replay never gets near it).
const STALL_ROUNDS: u64 = 50_000_000;

/// The MAC net_pcap gives its ports (it has no real one): `02:70:63:61:70:<port id>`
/// ("pcap" in ASCII). The pcap engine uses the same, so both engines answer alike.
pub fn net_pcap_mac(port: u16) -> [u8; 6] {
    [0x02, 0x70, 0x63, 0x61, 0x70, port as u8]
}

/// Which port backend a replay uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Dpdk,
    Pcap,
}

/// What `rvsd replay` was asked.
#[derive(Debug, Clone)]
pub struct ReplayArgs {
    pub inputs: Vec<PathBuf>,
    pub outputs: Vec<PathBuf>,
    pub engine: Engine,
    pub script: Option<PathBuf>,
    /// Replay in slices of this many ns of capture time (pcap engine).
    pub slice_ns: Option<u64>,
    /// Where to write the counters as JSON when the replay ends.
    pub counters: Option<PathBuf>,
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

/// Fails early, with the path in the message, when an output cannot be created.
fn check_output(output: &Path) -> Result<(), RvsdError> {
    std::fs::File::create(output).map_err(|e| {
        RvsdError::Capture(CaptureError::Write {
            path: output.to_path_buf(),
            source: pcap_file::PcapError::IoError(e),
        })
    })?;
    Ok(())
}

/// Something that happens at a capture time between packets.
enum Event {
    /// A rate-estimation step (every two seconds of capture time).
    Sample,
    Script(Entry),
}

/// The inputs, read and checked, and the configuration adjusted for a replay.
struct Prepared {
    cfg: Config,
    captures: Vec<Vec<Record>>,
    /// (absolute capture time, event), in time order.
    events: Vec<(u64, Event)>,
}

fn prepare(mut cfg: Config, args: &ReplayArgs) -> Result<Prepared, RvsdError> {
    if args.inputs.is_empty() || args.inputs.len() != args.outputs.len() {
        return Err(RvsdError::Other(format!(
            "give one --out per --in ({} --in, {} --out)",
            args.inputs.len(),
            args.outputs.len()
        )));
    }
    if args.engine == Engine::Dpdk && (args.script.is_some() || args.slice_ns.is_some()) {
        return Err(RvsdError::Other(
            "--script and --slice-us need --engine pcap (net_pcap cannot hold its input back)"
                .into(),
        ));
    }
    if args.slice_ns == Some(0) {
        return Err(RvsdError::Other("--slice-us must be at least 1".into()));
    }
    let captures = args
        .inputs
        .iter()
        .map(|p| read_capture(p))
        .collect::<Result<Vec<_>, _>>()?;
    for out in &args.outputs {
        check_output(out)?;
    }
    let first = captures
        .iter()
        .filter_map(|c| c.first().map(|r| r.ts_ns))
        .min()
        .unwrap_or(0);
    let last = captures
        .iter()
        .filter_map(|c| c.last().map(|r| r.ts_ns))
        .max()
        .unwrap_or(0);
    let mut events: Vec<(u64, Event)> = Vec::new();
    if args.engine == Engine::Pcap {
        let step = u64::try_from(ESTIMATION_INTERVAL.as_nanos()).unwrap_or(u64::MAX);
        let mut t = first.saturating_add(step);
        while t <= last {
            events.push((t, Event::Sample));
            t = t.saturating_add(step);
        }
    }
    if let Some(path) = &args.script {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RvsdError::Other(format!("{}: {e}", path.display())))?;
        let entries =
            script::parse(&path.display().to_string(), &text).map_err(RvsdError::Other)?;
        events.extend(
            entries
                .into_iter()
                .map(|e| (first.saturating_add(e.at_ns), Event::Script(e))),
        );
    }
    // Stable: samples before script lines of the same time, script lines in file order.
    events.sort_by_key(|(t, _)| *t);
    // Only this replay's workers exist, and changes must not touch the state file.
    let workers = args.inputs.len();
    let core = cfg.dpdk.workers.first().copied().unwrap_or(0);
    cfg.dpdk.workers = (core..core + workers).collect();
    cfg.daemon.state_file = None;
    Ok(Prepared {
        cfg,
        captures,
        events,
    })
}

/// The director and the tables it reads, on the replay's thread.
struct Control {
    director: Director,
    tables: WorkerTables,
    book: SharedBook,
    first_ts: u64,
}

fn control<B: PacketBuf>(
    cfg: &Config,
    fleet: &Fleet<B>,
    devices: Devices,
    first_ts: u64,
    local_addresses: Option<LocalAddressObserver>,
) -> Result<Control, RvsdError> {
    let book = StatsBook::shared(cfg.daemon.stats_slots);
    let mut applier = SnapshotApplier::new(
        devices,
        fleet.snapshots.clone(),
        fleet.tables.clone(),
        Arc::clone(&book),
    );
    if let Some(observer) = local_addresses {
        applier = applier.with_local_addresses(observer);
    }
    let names: Vec<String> = cfg.ports.iter().map(|p| p.name.clone()).collect();
    let status = DaemonStatus::new(
        fleet.commands.clone(),
        fleet.tables.clone(),
        names,
        Box::new(Vec::new),
    );
    let mut director = Director::new(cfg.clone(), Box::new(applier))
        .with_stats(Box::new(DaemonStats::new(
            Arc::clone(&book),
            fleet.tables.clone(),
        )))
        .with_status(Box::new(status))
        .with_daemon_name(crate::daemon::daemon_name());
    director
        .start()
        .map_err(|r| RvsdError::Other(format!("the configuration cannot run: {}", r.message)))?;
    Ok(Control {
        director,
        tables: fleet.tables.clone(),
        book,
        first_ts,
    })
}

impl Control {
    fn event(&mut self, at: u64, ev: &Event) {
        match ev {
            Event::Sample => {
                let mut b = lock(&self.book);
                b.reclaim(&self.tables);
                b.sample(&self.tables);
            }
            Event::Script(e) => self.script_line(at, e),
        }
    }

    fn script_line(&mut self, at: u64, e: &Entry) {
        let secs = at.saturating_sub(self.first_ts) as f64 / 1e9;
        let head = format!("script line {} at {secs:.3} s: {}", e.line, e.args);
        match &e.action {
            Action::Change(req) => match self.director.handle(req.clone(), &Caller::internal()) {
                Response::Ok => println!("{head}: ok"),
                Response::Error { message, .. } => println!("{head}: error: {message}"),
                other => println!("{head}: unexpected reply {other:?}"),
            },
            Action::List(cmd) => {
                println!("{head}");
                print!("{}", self.listing(cmd));
            }
        }
    }

    fn ask(&mut self, req: Request) -> Response {
        self.director.handle(req, &Caller::internal())
    }

    /// Every service with its counters, as `-Ln --stats` lists them.
    fn services(&mut self) -> Result<Vec<proto::ServiceInfo>, RvsdError> {
        match self.ask(Request::ListServices { key: None }) {
            Response::Services { services } => Ok(services),
            other => Err(RvsdError::Other(format!(
                "listing the services for --counters: {other:?}"
            ))),
        }
    }

    /// Writes `--counters FILE` when asked.
    fn write_counters(
        &mut self,
        args: &ReplayArgs,
        engine: &str,
        total: &CounterValues,
    ) -> Result<(), RvsdError> {
        let Some(path) = &args.counters else {
            return Ok(());
        };
        let services = self.services()?;
        counters_file::write(path, engine, total, &services)
    }

    /// A listing as rvsadm prints it.
    fn listing(&mut self, cmd: &Command) -> String {
        use cli::listing::{conns, director, rules, services};
        let names = NumericNames;
        let list = |c: &mut Control, key| match c.ask(Request::ListServices { key }) {
            Response::Services { services } => Ok(services),
            Response::Error { message, .. } => Err(message),
            other => Err(format!("unexpected reply {other:?}")),
        };
        let text = match cmd {
            Command::ListAll(fmt) => {
                let size = match self.ask(Request::Info) {
                    Response::Info { info } => info.conn_table_size,
                    _ => 0,
                };
                list(self, None).map(|l| services::list_all(size, &l, fmt, &names))
            }
            Command::ListService(key, fmt) => list(self, Some(*key)).and_then(|l| {
                l.first()
                    .map(|s| services::list_one(s, fmt, &names))
                    .ok_or_else(|| "No such service".to_string())
            }),
            Command::Save { numeric } => {
                list(self, None).map(|l| rules::save(&l, *numeric, &names))
            }
            Command::ListTimeouts => match self.ask(Request::GetTimeouts) {
                Response::Timeouts { timeouts } => Ok(conns::timeouts(&timeouts)),
                other => Err(format!("{other:?}")),
            },
            Command::ListCounters => match self.ask(Request::Counters) {
                Response::Counters { counters } => Ok(director::counters(&counters)),
                other => Err(format!("{other:?}")),
            },
            other => Err(format!("not a listing: {other:?}")),
        };
        text.unwrap_or_else(|e| format!("error: {e}\n"))
    }
}

/// The workers' summed counters.
fn totals(tables: &WorkerTables) -> CounterValues {
    let mut total = CounterValues::default();
    for c in &tables.counters {
        total.accumulate(&c.read());
    }
    total
}

fn fleet_options(cfg: &Config, workers: usize) -> Result<FleetOptions, RvsdError> {
    Ok(FleetOptions {
        workers: u16::try_from(workers).map_err(|_| RvsdError::Other("too many inputs".into()))?,
        conn_capacity: cfg.conn_table.capacity_per_worker,
        stats_slots: cfg.daemon.stats_slots,
        seeds: Seeds::Fixed,
    })
}

/// One poll of every worker, in worker order; the packets received.
fn round<Q: PortQueue>(workers: &mut [Worker<Q, ForwardStage<Q::Buf>>]) -> usize {
    workers.iter_mut().map(Worker::poll).sum()
}

fn list_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run(cfg: Config, args: &ReplayArgs) -> Result<(), RvsdError> {
    let prepared = prepare(cfg, args)?;
    match args.engine {
        Engine::Pcap => run_pcap(prepared, args),
        Engine::Dpdk => run_dpdk(prepared, args),
    }
}

type PcapWorker = Worker<GatedQueue, ForwardStage<PcapBuf>>;

/// Polls until nothing moves any more while the inputs are held at their gates.
fn settle_pcap(workers: &mut [PcapWorker]) -> Result<(), RvsdError> {
    let (mut quiet, mut stalled) = (0, 0u64);
    while quiet < 2 {
        if round(workers) > 0 {
            quiet = 0;
            stalled = 0;
        } else if workers
            .iter()
            .all(|w| w.queues().iter().all(GatedQueue::is_held))
        {
            quiet += 1;
        } else {
            stalled += 1;
            if stalled > STALL_ROUNDS {
                return Err(RvsdError::Other(
                    "replay stalled: input left but no buffer to receive it (dpdk.mbufs)".into(),
                ));
            }
        }
    }
    Ok(())
}

fn set_gates(workers: &mut [PcapWorker], gate: u64) {
    for w in workers {
        for q in w.queues_mut() {
            q.set_gate(gate);
        }
    }
}

/// Replays every record captured before `until`, in slices of `slice` ns when given.
fn advance(workers: &mut [PcapWorker], until: u64, slice: Option<u64>) -> Result<(), RvsdError> {
    if let Some(slice) = slice {
        loop {
            let next = workers
                .iter()
                .flat_map(|w| w.queues().iter().filter_map(GatedQueue::next_ts))
                .min();
            match next {
                Some(t) if t < until => {
                    set_gates(workers, t.saturating_add(slice).min(until));
                    settle_pcap(workers)?;
                }
                _ => break,
            }
        }
    }
    set_gates(workers, until);
    settle_pcap(workers)
}

fn run_pcap(prepared: Prepared, args: &ReplayArgs) -> Result<(), RvsdError> {
    let Prepared {
        cfg,
        captures,
        events,
    } = prepared;
    let expected: usize = captures.iter().map(Vec::len).sum();
    let first_ts = captures
        .iter()
        .filter_map(|c| c.first().map(|r| r.ts_ns))
        .min()
        .unwrap_or(0);
    let mut fleet = fleet::build::<PcapBuf>(&fleet_options(&cfg, captures.len())?)?;
    let macs: Vec<[u8; 6]> = (0..cfg.ports.len() as u16).map(net_pcap_mac).collect();
    let mut control = control(&cfg, &fleet, Devices::network(macs), first_ts, None)?;
    let pool = BufPool::new(cfg.dpdk.mbufs as usize);
    let mut workers: Vec<PcapWorker> = Vec::new();
    let members = std::mem::take(&mut fleet.members);
    for ((member, records), output) in members.into_iter().zip(captures).zip(&args.outputs) {
        let sink = PcapQueue::new(Vec::new(), Some(output), Arc::clone(&pool))?;
        let mut queues = vec![GatedQueue::new(records, sink, Arc::clone(&pool))];
        for _ in 1..cfg.ports.len() {
            let discard = PcapQueue::new(Vec::new(), None, Arc::clone(&pool))?;
            queues.push(GatedQueue::new(Vec::new(), discard, Arc::clone(&pool)));
        }
        workers.push(Worker::new(
            member.into_setup(queues, usize::from(cfg.dpdk.burst)),
        ));
    }
    for (at, ev) in &events {
        advance(&mut workers, *at, args.slice_ns)?;
        control.event(*at, ev);
    }
    advance(&mut workers, u64::MAX, args.slice_ns)?;
    let total = totals(&control.tables);
    control.write_counters(args, "pcap", &total)?;
    for w in workers {
        for q in w.into_queues() {
            q.finish()?;
        }
    }
    print!("{}", report::counters(&total));
    println!(
        "replayed {expected} packets from {} (pcap): {} written to {}",
        list_paths(&args.inputs),
        total.tx_packets,
        list_paths(&args.outputs)
    );
    Ok(())
}

type DpdkWorker = Worker<DpdkQueue, ForwardStage<Mbuf>>;

fn run_dpdk(prepared: Prepared, args: &ReplayArgs) -> Result<(), RvsdError> {
    let Prepared { cfg, captures, .. } = prepared;
    let expected: u64 = captures.iter().map(|c| c.len() as u64).sum();
    let first_ts = captures
        .iter()
        .filter_map(|c| c.first().map(|r| r.ts_ns))
        .min()
        .unwrap_or(0);
    let n = captures.len();
    drop(captures);
    let mut device = String::from("net_pcap0");
    for input in &args.inputs {
        device.push_str(&format!(",rx_pcap={}", devarg_path(input)?));
    }
    for output in &args.outputs {
        device.push_str(&format!(",tx_pcap={}", devarg_path(output)?));
    }
    let mut devices = vec![device];
    for i in 1..cfg.ports.len() {
        devices.push(format!("net_null{i},no-rx=1"));
    }
    let eal_args = eal_args::for_replay(&cfg, &devices, eal_args::hugepages_available());
    log::debug!("EAL arguments: {}", eal_args.join(" "));
    let eal = Eal::init(&eal_args).context(|| "initialising the DPDK EAL".to_string())?;
    let queues = u16::try_from(n).map_err(|_| RvsdError::Other("too many inputs".into()))?;
    let dp = ports::setup(&eal, &cfg, &devices, queues, true)?;
    let names: Vec<String> = cfg.ports.iter().map(|p| p.name.clone()).collect();
    let steering = steering::shared(&names, &dp.ports, queues);
    let result = (|| {
        let mut fleet = fleet::build::<Mbuf>(&fleet_options(&cfg, n)?)?;
        let mut control = control(
            &cfg,
            &fleet,
            Devices::network(dp.macs()?),
            first_ts,
            Some(steering::observer(&steering)),
        )?;
        let mut workers: Vec<DpdkWorker> = Vec::new();
        for member in std::mem::take(&mut fleet.members) {
            let id = member.id;
            let mut qs = Vec::with_capacity(dp.ports.len());
            for p in &dp.ports {
                let q = p
                    .queue(id)
                    .context(|| format!("taking queue {id} of {}", p.name()))?;
                qs.push(DpdkQueue::new(q, dp.pool.clone()));
            }
            workers.push(Worker::new(
                member.into_setup(qs, usize::from(cfg.dpdk.burst)),
            ));
        }
        let port0 = dp
            .ports
            .first()
            .ok_or_else(|| RvsdError::Other("no port 0".into()))?
            .clone();
        let mut idle = 0u64;
        loop {
            let got = round(&mut workers);
            let st = port0.stats().context(|| "reading port 0 counters".into())?;
            if st.ipackets + st.ierrors >= expected {
                break;
            }
            if got == 0 {
                idle += 1;
                if idle > STALL_ROUNDS {
                    return Err(RvsdError::Other(format!(
                        "replay stalled after {} of {expected} packets",
                        st.ipackets + st.ierrors
                    )));
                }
            } else {
                idle = 0;
            }
        }
        let mut quiet = 0;
        while quiet < 2 {
            if round(&mut workers) == 0 {
                quiet += 1;
            } else {
                quiet = 0;
            }
        }
        for w in workers {
            drop(w.into_queues());
        }
        let st = port0.stats().context(|| "reading port 0 counters".into())?;
        let total = totals(&control.tables);
        control.write_counters(args, "dpdk", &total)?;
        drop(control.director);
        Ok((total, st))
    })();
    let flow_counters = steering::lock(&steering).counters();
    steering::lock(&steering).flush();
    let closed = dp.close();
    drop(dp);
    drop(eal);
    let (total, st) = result?;
    closed?;
    print!("{}", report::counters(&total));
    print!("{}", report::port_stats("0", &st));
    for (name, value) in flow_counters {
        println!("{name} {value}");
    }
    println!(
        "replayed {expected} packets from {} (dpdk): {} written to {}",
        list_paths(&args.inputs),
        total.tx_packets,
        list_paths(&args.outputs)
    );
    Ok(())
}
