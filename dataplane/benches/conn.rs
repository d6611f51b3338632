//! Connection table benchmarks: lookup hit (client side and reply side), lookup miss, the
//! per-packet path (lookup + state update), insert + remove, expiry throughput, and the
//! memory figure (bytes per connection at capacity, printed).
//!
//! Run: `cargo bench -p dataplane --no-default-features --bench conn`
//! (add `-- conn_4k` etc. to run one group).

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use dataplane::conn::*;

const CAPACITY: u32 = 1 << 20;

/// A spread-out, deterministic permutation of 0..n (multiplication by an odd constant).
fn scramble(i: u32, n: u32) -> u32 {
    ((u64::from(i) * 2_654_435_761) % u64::from(n)) as u32
}

fn nth_conn(i: u32) -> NewConn<Ipv4Addr> {
    let [a, b, c, d] = i.to_be_bytes();
    NewConn {
        proto: Proto::Tcp,
        caddr: Ipv4Addr::new(100, a, b, c),
        cport: 1024 + u16::from(d),
        vaddr: Ipv4Addr::new(198, 51, 100, 1),
        vport: 443,
        raddr: Ipv4Addr::new(10, 0, b, d),
        rport: 8443,
        forward: if i.is_multiple_of(2) {
            Forward::Nat
        } else {
            Forward::FullNat {
                laddr: Ipv4Addr::new(10, 255, 0, c),
                lport: u16::from(d) | (u16::from(b) << 8),
            }
        },
        dest_id: u32::from(d),
        svc_id: 1,
        flags: ConnFlags::default(),
        control: None,
    }
}

fn client_key(c: &NewConn<Ipv4Addr>) -> FlowKey<Ipv4Addr> {
    FlowKey::new(c.proto, c.caddr, c.cport, c.vaddr, c.vport)
}

fn reply_key(c: &NewConn<Ipv4Addr>) -> FlowKey<Ipv4Addr> {
    let (dst, dport) = match c.forward {
        Forward::FullNat { laddr, lport } => (laddr, lport),
        _ => (c.caddr, c.cport),
    };
    FlowKey::new(c.proto, c.raddr, c.rport, dst, dport)
}

fn filled(capacity: u32, live: u32) -> ConnTable<Ipv4Addr> {
    let mut t = ConnTable::new(&ConnTableConfig {
        capacity,
        hash_seed: 0x5eed,
        ..ConnTableConfig::default()
    })
    .expect("table");
    for i in 0..live {
        let h = t.insert(&nth_conn(i), 0).expect("insert");
        t.update(h, Direction::In, TcpFlags::SYN, 0)
            .expect("update");
    }
    t
}

fn memory_figure(_c: &mut Criterion) {
    let t = ConnTable::<Ipv4Addr>::new(&ConnTableConfig {
        capacity: CAPACITY,
        ..ConnTableConfig::default()
    })
    .expect("table");
    let m = t.memory();
    println!(
        "conn/memory: capacity {CAPACITY}: {} bytes (slab {} + index {} + wheel {}) = {:.1} bytes per connection",
        m.total(),
        m.slab,
        m.index,
        m.wheel,
        t.bytes_per_entry()
    );
}

/// The per-packet operations on a table of `capacity` entries, 3/4 full. With 2^20 entries
/// (84 MB) every lookup misses the CPU caches: that run shows memory latency. With 2^12
/// (330 KB) the table stays in cache: that run shows the table's own work.
fn per_packet(c: &mut Criterion, group: &str, capacity: u32) {
    let live = capacity / 4 * 3;
    let mut t = filled(capacity, live);
    let hits: Vec<FlowKey<Ipv4Addr>> = (0..live)
        .map(|i| client_key(&nth_conn(scramble(i, live))))
        .collect();
    let replies: Vec<FlowKey<Ipv4Addr>> = (0..live)
        .map(|i| reply_key(&nth_conn(scramble(i, live))))
        .collect();
    let misses: Vec<FlowKey<Ipv4Addr>> = (0..live)
        .map(|i| client_key(&nth_conn(live + scramble(i, live))))
        .collect();

    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function("lookup_hit_client_side", |b| {
        b.iter(|| {
            i = (i + 1) % hits.len();
            black_box(t.lookup(&hits[i]))
        })
    });
    g.bench_function("lookup_hit_reply_side", |b| {
        b.iter(|| {
            i = (i + 1) % replies.len();
            black_box(t.lookup(&replies[i]))
        })
    });
    let mut answers = [None; 32];
    let mut at = 0usize;
    g.bench_function("lookup_hit_burst_of_32_per_packet", |b| {
        b.iter_custom(|iters| {
            let start = std::time::Instant::now();
            for _ in 0..iters.div_ceil(32) {
                at = if at + 64 > hits.len() { 0 } else { at + 32 };
                t.lookup_burst(&hits[at..at + 32], &mut answers);
                black_box(&answers);
            }
            start.elapsed()
        })
    });
    g.bench_function("lookup_miss", |b| {
        b.iter(|| {
            i = (i + 1) % misses.len();
            black_box(t.lookup(&misses[i]))
        })
    });
    let mut now = 1_000u64;
    g.bench_function("lookup_and_update", |b| {
        b.iter(|| {
            i = (i + 1) % hits.len();
            if i == 0 {
                now += 1;
            }
            let (h, dir) = t.lookup(&hits[i]).expect("hit");
            black_box(t.update(h, dir, TcpFlags::ACK, now).expect("update"))
        })
    });
    let mut n = live;
    g.bench_function("insert_and_remove", |b| {
        b.iter(|| {
            n = if n + 1 >= 16 * capacity { live } else { n + 1 };
            let h = t.insert(&nth_conn(n), now).expect("insert");
            black_box(t.remove(h, now).expect("remove"))
        })
    });
    g.finish();
}

fn lookups_cold(c: &mut Criterion) {
    per_packet(c, "conn_1M", CAPACITY);
}

fn lookups_hot(c: &mut Criterion) {
    per_packet(c, "conn_4k", 1 << 12);
}

fn expiry(c: &mut Criterion) {
    const N: u32 = 1 << 16;
    let mut g = c.benchmark_group("conn_expire");
    g.throughput(Throughput::Elements(u64::from(N)));
    // Every connection due: the cost of freeing (unindexing both sides) per connection.
    let due = filled(2 * N, N);
    g.bench_function("expire_all_due", |b| {
        b.iter_batched_ref(
            || due.clone(),
            |t| {
                let s = t.expire(3_600_000, u32::MAX, |e| {
                    black_box(e);
                });
                assert_eq!(s.expired, N);
            },
            BatchSize::LargeInput,
        )
    });
    // Every timer reached but none due (traffic moved the deadlines): the cost of lazy
    // re-filing per timer.
    let mut moved = filled(2 * N, N);
    for i in 0..N {
        let c = nth_conn(i);
        let (h, dir) = moved.lookup(&client_key(&c)).expect("hit");
        moved.update(h, dir, TcpFlags::SYN, 50_000).expect("update");
    }
    g.bench_function("expire_refile_not_due", |b| {
        b.iter_batched_ref(
            || moved.clone(),
            |t| {
                let s = t.expire(60_000, u32::MAX, |e| {
                    black_box(e);
                });
                assert_eq!(s.expired, 0);
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, memory_figure, lookups_hot, lookups_cold, expiry);
criterion_main!(benches);
