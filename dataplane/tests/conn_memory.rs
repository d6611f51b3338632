//! The connection table's memory: bytes per connection at capacity (goal: at most 128,
//! index included), that the table's own accounting matches what it really allocated, and
//! that nothing is allocated after construction however the table is used.
//!
//! One test in this binary on purpose: the instrumented allocator counts every thread, so a
//! second test running in parallel would disturb the counts.

use std::alloc::System;
use std::net::Ipv4Addr;

use dataplane::conn::*;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn nth_conn(i: u32, control: Option<ConnHandle>) -> NewConn<Ipv4Addr> {
    let [a, b, c, d] = i.to_be_bytes();
    let forward = match i % 4 {
        0 => Forward::Dr,
        1 => Forward::Tun(TunnelKind::Gre),
        2 => Forward::Nat,
        _ => Forward::FullNat {
            laddr: Ipv4Addr::new(10, 255, 0, d),
            lport: (i >> 8) as u16,
        },
    };
    NewConn {
        proto: if i.is_multiple_of(3) {
            Proto::Udp
        } else {
            Proto::Tcp
        },
        caddr: Ipv4Addr::new(100, a, b, c),
        cport: 1024 + u16::from(d),
        vaddr: Ipv4Addr::new(198, 51, 100, 1),
        vport: 443,
        raddr: Ipv4Addr::new(10, 0, 0, d),
        rport: 8443,
        forward,
        dest_id: u32::from(d),
        svc_id: 1,
        flags: ConnFlags::default(),
        control,
    }
}

/// Builds a table, then fills it to capacity, looks up, updates and expires everything.
/// Returns the table's own memory figure, the net bytes `new` allocated, and the number of
/// allocations made after construction.
fn one_run(capacity: u32) -> (MemoryUse, usize, usize) {
    let cfg = ConnTableConfig {
        capacity,
        ..ConnTableConfig::default()
    };
    let region = Region::new(GLOBAL);
    let mut t = ConnTable::<Ipv4Addr>::new(&cfg).unwrap();
    let built = region.change();
    let mem = t.memory();

    let region = Region::new(GLOBAL);
    let now = 5_000;
    let tpl = t
        .insert_template(
            &NewTemplate {
                key: TemplateKey::for_packet(
                    Proto::Tcp,
                    Ipv4Addr::new(100, 0, 0, 0),
                    8,
                    Ipv4Addr::new(198, 51, 100, 1),
                    443,
                    443,
                ),
                raddr: Ipv4Addr::new(10, 0, 0, 1),
                rport: 8443,
                dest_id: 1,
                svc_id: 1,
                timeout_secs: 300,
            },
            now,
        )
        .unwrap();
    for i in 0..capacity - 1 {
        let control = (i % 16 == 0).then_some(tpl);
        let h = t.insert(&nth_conn(i, control), now).unwrap();
        t.update(h, Direction::In, TcpFlags::SYN, now).unwrap();
    }
    assert_eq!(t.len(), capacity, "{:?}", t.stats());
    assert_eq!(
        t.insert(&nth_conn(capacity, None), now),
        Err(ConnError::Full)
    );
    for i in (0..capacity - 1).step_by(7) {
        let c = nth_conn(i, None);
        let key = FlowKey::new(c.proto, c.caddr, c.cport, c.vaddr, c.vport);
        let (h, dir) = t.lookup(&key).unwrap();
        assert_eq!(dir, Direction::In);
        t.update(h, Direction::In, TcpFlags::ACK, now + 1000)
            .unwrap();
    }
    // Everything is long due; the template may be examined while it still controls
    // connections and be kept once, then goes with the second call.
    let mut expired = 0u32;
    let mut count = |e: Expiry<Ipv4Addr>| {
        if let Expiry::Expired(_) = e {
            expired += 1
        }
    };
    let first = t.expire(now + 3_600_000, u32::MAX, &mut count);
    let second = t.expire(now + 3_700_000, u32::MAX, &mut count);
    assert_eq!(first.expired + second.expired, expired);
    let used = region.change();
    assert_eq!(expired, capacity);
    assert_eq!(t.len(), 0);
    (
        mem,
        built.bytes_allocated - built.bytes_deallocated,
        used.allocations + used.reallocations,
    )
}

/// The instrumented allocator counts every thread of the process, so the test harness can
/// add a stray allocation to a run. A real allocation in the table shows in every run; the
/// test therefore takes the cleanest of up to three runs.
#[test]
fn memory_per_connection_and_no_allocation_after_construction() {
    for capacity in [1u32 << 20, 1_000_000, 3_000] {
        let mut runs = Vec::new();
        for _ in 0..3 {
            let run = one_run(capacity);
            let clean = run.1 == run.0.total() && run.2 == 0;
            runs.push(run);
            if clean {
                break;
            }
        }
        let best = runs
            .into_iter()
            .min_by_key(|(mem, built, after)| (built.abs_diff(mem.total()), *after));
        let (mem, built_bytes, allocations_after) = best.unwrap();
        assert_eq!(
            built_bytes,
            mem.total(),
            "the table's accounting must be what it really allocated"
        );
        assert_eq!(allocations_after, 0, "allocated after construction");

        let per_conn = mem.total() as f64 / f64::from(capacity);
        println!(
            "conn table IPv4: capacity {capacity}: {} bytes = slab {} + index {} + wheel {}; {per_conn:.1} bytes per connection",
            mem.total(),
            mem.slab,
            mem.index,
            mem.wheel
        );
        assert!(per_conn <= 128.0, "{per_conn} bytes per connection");
    }
}
