//! Scheduler benchmarks: one pick per algorithm with 8 and 64 real servers, and the mh
//! table build. Run: `cargo bench -p dataplane --no-default-features --bench sched`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dataplane::sched::{
    ConnKind, DestSet, DestSpec, Flow, SchedFlag, SchedParams, Scheduler, SchedulerKind,
    ServiceScheduler,
};

fn specs(n: usize) -> Vec<DestSpec> {
    (0..n)
        .map(|i| {
            let i = u32::try_from(i).unwrap();
            DestSpec::new(IpAddr::V4(Ipv4Addr::from(0x0a01_0000 + i)), 8080, 1 + i % 5)
        })
        .collect()
}

/// A service with uneven counts so the least-connection family has work to compare.
fn loaded(kind: SchedulerKind, flags: &[SchedFlag], n: usize) -> ServiceScheduler {
    let mut svc = ServiceScheduler::new(kind, flags, &SchedParams::default(), &specs(n)).unwrap();
    let ids: Vec<_> = svc.dests().order().to_vec();
    for (i, id) in ids.into_iter().enumerate() {
        for _ in 0..(i * 7) % 13 + 1 {
            svc.bind(id, ConnKind::Active);
        }
        for _ in 0..(i * 11) % 17 {
            svc.bind(id, ConnKind::Inactive);
        }
    }
    svc
}

/// 1024 client flows, cycled through so hashing schedulers see varied input.
fn flows() -> Vec<Flow> {
    (0..1024u32)
        .map(|i| {
            let src = IpAddr::V4(Ipv4Addr::from(0xc633_0000 ^ i.wrapping_mul(2_654_435_761)));
            let dst = IpAddr::V4(Ipv4Addr::from(0xcb00_7100 + (i % 64)));
            Flow::new(src, u16::try_from(1024 + i).unwrap(), dst, 80)
        })
        .collect()
}

fn pick(c: &mut Criterion) {
    let flows = flows();
    let mut group = c.benchmark_group("sched_pick");
    group.throughput(Throughput::Elements(1));
    for n in [8usize, 64] {
        for kind in SchedulerKind::ALL {
            let flags: &[SchedFlag] = match kind {
                SchedulerKind::Sh => &[SchedFlag::ShPort],
                SchedulerKind::Mh => &[SchedFlag::MhPort],
                _ => &[],
            };
            let mut svc = loaded(kind, flags, n);
            let mut i = 0usize;
            group.bench_with_input(BenchmarkId::new(kind.name(), n), &n, |b, _| {
                b.iter(|| {
                    i = (i + 1) & 1023;
                    black_box(svc.pick(black_box(&flows[i])))
                })
            });
        }
    }
    group.finish();
}

fn mh_build(c: &mut Criterion) {
    let mut group = c.benchmark_group("mh_build");
    for (table, n) in [(4093u32, 8usize), (4093, 64), (65521, 8), (65521, 64)] {
        let dests = DestSet::new(&specs(n)).unwrap();
        let params = SchedParams {
            mh_table_size: table,
            ..SchedParams::default()
        };
        let mut sched = Scheduler::new(SchedulerKind::Mh, &[], &params, &dests).unwrap();
        group.bench_with_input(BenchmarkId::new(format!("table{table}"), n), &n, |b, _| {
            b.iter(|| sched.rebuild(black_box(&dests)).unwrap())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1));
    targets = pick, mh_build
}
criterion_main!(benches);
