//! The whole per-packet path of the forwarding stage: parse, flow ownership, connection
//! lookup, state update, counters, the method's rewrite, route and neighbour lookup,
//! Ethernet header — for an established connection of each method, and the new-connection
//! path (service lookup, scheduling, insert). Buffers come from the pcap backend's pool (the
//! copy of the 74-byte frame into the buffer is included, as a NIC's DMA would be).
//!
//! Run: `cargo bench -p dataplane --no-default-features --bench fwd`

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::sync::Arc;

use arrayvec::ArrayVec;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dataplane::conn::{FwdMethod, Proto};
use dataplane::fwd::{ForwardStage, FwdConfig, NeighSync};
use dataplane::neigh::RouteTableV4;
use dataplane::neigh::route::v4_route;
use dataplane::port::PacketBuf;
use dataplane::port::pcap::{BufPool, PcapBuf};
use dataplane::sched::SchedulerKind;
use dataplane::stats::{SlotTable, WorkerCounters};
use dataplane::testutil::{L2L3, tcp_frame};
use dataplane::worker::{
    ClientAddrMode, DestConf, OUTPUT_MAX, Output, PacketCtx, PortView, ServiceConf, ServiceTable,
    Snapshot, Stage, TunnelConf, Verdict,
};

const D_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
const R_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 2);

fn snapshot(method: FwdMethod) -> Snapshot {
    let mut port = PortView::network("dp0", D_MAC, vec![Ipv4Addr::new(10, 0, 0, 2)]);
    port.prefix_len = vec![24];
    let dests = (0..8u8)
        .map(|i| DestConf {
            id: 10 + u32::from(i),
            stats_slot: 10 + u32::from(i),
            addr: Ipv4Addr::new(10, 0, 0, 11 + i),
            port: 8080,
            weight: 1,
            upper: 0,
            lower: 0,
            forward: method,
            tunnel: TunnelConf::default(),
        })
        .collect();
    let svc = ServiceConf {
        id: 1,
        stats_slot: 1,
        proto: Proto::Tcp,
        vip: VIP,
        port: 80,
        scheduler: SchedulerKind::Wrr,
        flags: vec![],
        persistence: None,
        one_packet: false,
        client_addr: ClientAddrMode::None,
        laddrs: vec![Ipv4Addr::new(10, 0, 0, 200)],
        dests,
    };
    let mut neigh = vec![(0, Ipv4Addr::new(10, 0, 0, 1), R_MAC)];
    for i in 0..8u8 {
        neigh.push((0, Ipv4Addr::new(10, 0, 0, 11 + i), [2, 0, 0, 0, 0, 11 + i]));
    }
    Snapshot {
        generation: 1,
        ports: vec![port],
        services: ServiceTable::new(vec![svc]),
        routes: RouteTableV4::build(&[
            v4_route(Ipv4Addr::new(10, 0, 0, 0), 24, 0, None),
            v4_route(
                Ipv4Addr::UNSPECIFIED,
                0,
                0,
                Some(Ipv4Addr::new(10, 0, 0, 1)),
            ),
        ])
        .unwrap(),
        static_neighbours: neigh,
        timeouts: Default::default(),
        workers: 1,
        steer_prefix: 32,
    }
}

struct Bench {
    stage: ForwardStage<PcapBuf>,
    snap: Arc<Snapshot>,
    counters: WorkerCounters,
    pool: Arc<BufPool>,
}

impl Bench {
    fn new(method: FwdMethod, capacity: u32) -> Bench {
        let (_tx, rx) = crossbeam_channel::unbounded();
        let mut cfg = FwdConfig::new(0, 1);
        cfg.conn.capacity = capacity;
        let mut stage =
            ForwardStage::new(cfg, Arc::new(SlotTable::new(64)), rx, NeighSync::solo()).unwrap();
        let snap = Arc::new(snapshot(method));
        stage.snapshot_changed(&snap);
        Bench {
            stage,
            snap,
            counters: WorkerCounters::default(),
            pool: BufPool::new(256),
        }
    }

    /// The stage's timers, as the worker runs them between bursts.
    fn tick(&mut self, now: u64) {
        let mut sends: ArrayVec<(Verdict, PcapBuf), OUTPUT_MAX> = ArrayVec::new();
        let pool = self.pool.clone();
        let mut alloc = move || pool.alloc();
        let mut out = Output::new(&mut sends, &mut alloc, &self.counters);
        self.stage.tick(now, &self.snap, &mut out);
    }

    /// One packet through the stage; returns how many buffers it transmitted.
    fn run(&mut self, frame: &[u8], now: u64) -> usize {
        let mut b = self.pool.alloc().unwrap();
        b.fill(frame, None).unwrap();
        let mut sends: ArrayVec<(Verdict, PcapBuf), OUTPUT_MAX> = ArrayVec::new();
        let pool = self.pool.clone();
        let mut alloc = move || pool.alloc();
        let ctx = PacketCtx {
            port: 0,
            worker: 0,
            now,
            handed_off: false,
            snapshot: &self.snap,
            counters: &self.counters,
        };
        {
            let mut out = Output::new(&mut sends, &mut alloc, &self.counters);
            self.stage.process(b, &ctx, &mut out);
        }
        let n = sends
            .iter()
            .filter(|(v, _)| matches!(v, Verdict::Transmit { .. }))
            .count();
        for (v, b) in sends.drain(..) {
            if let Verdict::Drop(r) = v {
                self.counters.drop_packet(r);
            }
            black_box(b.data()[0]);
        }
        n
    }
}

fn hdr() -> L2L3 {
    L2L3 {
        src_mac: R_MAC,
        dst_mac: D_MAC,
        src: CLIENT,
        dst: VIP,
        ttl: 63,
        df: true,
    }
}

fn established(c: &mut Criterion) {
    let mut g = c.benchmark_group("fwd_established");
    g.throughput(Throughput::Elements(1));
    for (name, method) in [
        ("dr", FwdMethod::Dr),
        ("nat", FwdMethod::Nat),
        ("fullnat", FwdMethod::FullNat),
    ] {
        let mut b = Bench::new(method, 1 << 16);
        let syn = tcp_frame(&hdr(), 40000, 80, 0x02, 1, 0, b"");
        assert_eq!(
            b.run(&syn, 1_000_000_000),
            1,
            "{name}: the SYN is forwarded"
        );
        let data = tcp_frame(&hdr(), 40000, 80, 0x10, 2, 1, &[0u8; 6]);
        assert_eq!(b.run(&data, 1_000_000_000), 1);
        let mut now = 1_000_000_000u64;
        let (mut sent, mut tried) = (0usize, 0usize);
        g.bench_function(name, |bench| {
            bench.iter(|| {
                now += 1;
                tried += 1;
                sent += b.run(black_box(&data), now);
            })
        });
        assert_eq!(sent, tried, "{name}: every packet was forwarded");
    }
    g.finish();
}

fn new_connections(c: &mut Criterion) {
    let mut g = c.benchmark_group("fwd_new_connection");
    g.throughput(Throughput::Elements(1));
    for (name, method) in [("dr", FwdMethod::Dr), ("nat", FwdMethod::Nat)] {
        let mut b = Bench::new(method, 1 << 20);
        let frames: Vec<Vec<u8>> = (0..60000u16)
            .map(|i| tcp_frame(&hdr(), 1024 + i, 80, 0x02, 1, 0, b""))
            .collect();
        let mut i = 0usize;
        let mut round = 0u32;
        let mut f = frames[0].clone();
        let (mut sent, mut tried) = (0usize, 0usize);
        // 100 µs of capture time per SYN: connections (60 s in SYN_RECV) expire as they would
        // at 10 k new connections per second, and the table holds about 600 k of them.
        let mut now = 1_000_000_000u64;
        g.bench_function(name, |bench| {
            bench.iter(|| {
                now += 100_000;
                if tried % 32 == 0 {
                    b.tick(now);
                }
                i += 1;
                if i == frames.len() {
                    // A fresh client address per round keeps every SYN a new connection.
                    i = 0;
                    round += 1;
                }
                f.copy_from_slice(&frames[i]);
                dataplane::wire::ipv4::Packet::new_checked(&mut f[14..])
                    .unwrap()
                    .set_src(Ipv4Addr::from(u32::from(CLIENT) + round));
                // The TCP checksum covers the source address: fix it the same way.
                let seg = &mut f[34..];
                let mut t = dataplane::wire::tcp::Packet::new_checked(seg).unwrap();
                t.adjust_checksum_for_ipv4_change(
                    CLIENT,
                    Ipv4Addr::from(u32::from(CLIENT) + round),
                );
                tried += 1;
                sent += b.run(&f, now);
            })
        });
        assert_eq!(
            sent,
            tried,
            "{name}: every SYN was forwarded; drops: {:?}",
            b.counters.read().lines()
        );
        eprintln!("{name}: {} connections in the table", b.stage.conns().len());
    }
    g.finish();
}

criterion_group!(benches, established, new_connections);
criterion_main!(benches);
