//! Scenario tables: each scheduler's expected picks for given weights and counts,
//! following the IPVS module of the same name.

mod sched_support;

use std::net::Ipv4Addr;

use dataplane::sched::{DestSpec, SchedFlag, SchedParams, SchedulerKind, ServiceScheduler};
use sched_support::*;

/// A server of a scenario: weight, active, inactive, overloaded (via an upper threshold
/// of 1 reached by one extra inactive connection on top of the counts).
#[derive(Clone, Copy)]
struct S(u32, u32, u32, bool);

fn scenario(kind: SchedulerKind, servers_: &[S]) -> ServiceScheduler {
    let specs: Vec<DestSpec> = servers_
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let spec = server(char::from(b'A' + u8::try_from(i).unwrap()), s.0);
            if s.3 {
                spec.with_thresholds(1, 0)
            } else {
                spec
            }
        })
        .collect();
    let mut svc = service(kind, &[], &specs);
    for (i, s) in servers_.iter().enumerate() {
        let letter = char::from(b'A' + u8::try_from(i).unwrap());
        load(&mut svc, letter, s.1, s.2 + u32::from(s.3));
        assert_eq!(svc.dests().get(id(&svc, letter)).unwrap().overloaded(), s.3);
    }
    svc
}

/// Runs `(servers, expected first pick)` rows for a connection-count scheduler.
fn table(kind: SchedulerKind, rows: &[(&[S], char)]) {
    for (i, (servers_, want)) in rows.iter().enumerate() {
        let mut svc = scenario(kind, servers_);
        let got = sequence(&mut svc, 1).chars().next().unwrap();
        assert_eq!(got, *want, "{kind} row {i}");
    }
}

const OK: bool = false;
const OVER: bool = true;

#[test]
fn lc_least_overhead_weights_ignored() {
    table(
        SchedulerKind::Lc,
        &[
            // overhead = active * 256 + inactive
            (&[S(1, 2, 0, OK), S(1, 1, 5, OK), S(1, 1, 3, OK)], 'C'),
            (&[S(1, 0, 1, OK), S(1, 0, 1, OK)], 'A'), // tie: first
            (&[S(100, 1, 0, OK), S(1, 0, 0, OK)], 'B'), // weight ignored
            (&[S(0, 0, 0, OK), S(5, 5, 0, OK)], 'B'), // weight 0 quiescent
            (&[S(1, 0, 0, OVER), S(1, 9, 9, OK)], 'B'), // overloaded skipped
            (&[S(0, 0, 0, OK), S(1, 0, 0, OVER)], '-'), // none available
            (&[S(1, 0, 300, OK), S(1, 1, 0, OK)], 'B'), // 300 inactive > 1 active
        ],
    );
}

#[test]
fn wlc_least_overhead_per_weight() {
    table(
        SchedulerKind::Wlc,
        &[
            (&[S(1, 1, 0, OK), S(3, 2, 0, OK)], 'B'),   // 256/1 > 512/3
            (&[S(2, 1, 0, OK), S(4, 2, 0, OK)], 'A'),   // 128 = 128: first
            (&[S(1, 0, 10, OK), S(1, 0, 9, OK)], 'B'),  // inactive counts
            (&[S(0, 0, 0, OK), S(1, 3, 0, OK)], 'B'),   // quiescent
            (&[S(5, 0, 0, OVER), S(1, 3, 0, OK)], 'B'), // overloaded
            (&[S(0, 0, 0, OK)], '-'),
            (&[S(u32::MAX, 0, 0, OK), S(1, 0, 0, OK)], 'A'), // huge weights: no overflow
        ],
    );
}

#[test]
fn sed_expected_delay_ignores_inactive() {
    table(
        SchedulerKind::Sed,
        &[
            (&[S(1, 0, 0, OK), S(3, 2, 0, OK)], 'A'), // 1/1 = 3/3: first
            (&[S(1, 1, 0, OK), S(3, 2, 0, OK)], 'B'), // 2/1 > 3/3
            (&[S(1, 0, 100, OK), S(1, 0, 0, OK)], 'A'), // inactive ignored: tie
            (&[S(0, 0, 0, OK), S(1, 7, 0, OK)], 'B'),
            (&[S(1, 0, 0, OVER), S(1, 7, 0, OK)], 'B'),
            (&[], '-'),
        ],
    );
}

#[test]
fn nq_takes_an_idle_server_first() {
    table(
        SchedulerKind::Nq,
        &[
            (&[S(10, 3, 0, OK), S(1, 0, 0, OK)], 'B'), // idle beats sed's 4/10 < 1/1
            (&[S(1, 1, 0, OK), S(3, 2, 0, OK)], 'B'),  // all busy: sed, 2/1 > 3/3
            (&[S(1, 1, 0, OK), S(2, 3, 0, OK)], 'A'),  // 2/1 = 4/2: first
            (&[S(0, 0, 0, OK), S(1, 1, 0, OK)], 'B'),  // idle but quiescent
            (&[S(1, 0, 0, OVER), S(1, 1, 0, OK)], 'B'), // idle but overloaded
            (&[S(1, 0, 9, OK), S(1, 0, 0, OK)], 'A'),  // inactive do not make busy
            (&[S(0, 0, 0, OK)], '-'),
        ],
    );
}

#[test]
fn fo_highest_weight_available() {
    table(
        SchedulerKind::Fo,
        &[
            (&[S(1, 0, 0, OK), S(5, 9, 9, OK), S(3, 0, 0, OK)], 'B'),
            (&[S(1, 0, 0, OK), S(5, 0, 0, OVER), S(3, 0, 0, OK)], 'C'),
            (&[S(2, 5, 0, OK), S(2, 0, 0, OK)], 'A'), // tie: first, load ignored
            (&[S(0, 0, 0, OK), S(0, 0, 0, OK)], '-'),
        ],
    );
}

#[test]
fn ovf_overflows_past_weight() {
    table(
        SchedulerKind::Ovf,
        &[
            (&[S(3, 3, 0, OK), S(2, 0, 0, OK)], 'A'), // active = weight still taken
            (&[S(3, 4, 0, OK), S(2, 0, 0, OK)], 'B'), // active > weight: next by weight
            (&[S(3, 4, 0, OK), S(2, 3, 0, OK), S(0, 0, 0, OK)], '-'),
            (&[S(2, 0, 0, OK), S(2, 0, 0, OK)], 'A'),
            (&[S(3, 0, 50, OK), S(2, 0, 0, OK)], 'A'), // inactive ignored
            (&[S(3, 0, 0, OVER), S(2, 0, 0, OK)], 'B'),
        ],
    );
}

#[test]
fn rr_cycles_and_skips_unavailable() {
    assert_eq!(
        sequence(
            &mut service(SchedulerKind::Rr, &[], &servers(&[1, 1, 1])),
            7
        ),
        "ABCABCA"
    );
    // Weights other than 0 do not matter.
    assert_eq!(
        sequence(
            &mut service(SchedulerKind::Rr, &[], &servers(&[9, 0, 1])),
            4
        ),
        "ACAC"
    );
    let mut s = scenario(
        SchedulerKind::Rr,
        &[S(1, 0, 0, OK), S(1, 0, 0, OVER), S(1, 0, 0, OK)],
    );
    assert_eq!(sequence(&mut s, 4), "ACAC");
    assert_eq!(
        sequence(&mut service(SchedulerKind::Rr, &[], &servers(&[0, 0])), 2),
        "--"
    );
}

#[test]
fn rr_keeps_its_place_across_updates() {
    let mut s = service(SchedulerKind::Rr, &[], &servers(&[1, 1, 1, 1]));
    assert_eq!(sequence(&mut s, 2), "AB");
    s.update(&servers(&[1, 1, 1, 1])).unwrap();
    assert_eq!(sequence(&mut s, 2), "CD");
    // Last pick D removed: resume after its predecessor C, i.e. at A.
    s.update(&[server('A', 1), server('B', 1), server('C', 1)])
        .unwrap();
    assert_eq!(sequence(&mut s, 1), "A");
    // Last pick A removed, B and C stay: A had no predecessor, so start over at the head.
    s.update(&[server('B', 1), server('C', 1)]).unwrap();
    assert_eq!(sequence(&mut s, 3), "BCB");
}

/// The kernel's hash_32(v, 8), written out independently.
fn bucket(v: u32) -> usize {
    usize::try_from(v.wrapping_mul(0x61C8_8647) >> 24).unwrap()
}

#[test]
fn sh_tiles_by_weight_and_hashes_the_source() {
    let s = service(SchedulerKind::Sh, &[], &servers(&[2, 1, 0]));
    let tiles: String = s
        .scheduler()
        .source_hash()
        .unwrap()
        .buckets()
        .take(8)
        .map(|b| name(&s, b.unwrap()))
        .collect();
    // A takes 2 buckets, B 1, C (weight 0) 1, as ip_vs_sh_reassign deals them.
    assert_eq!(tiles, "AABCAABC");

    let mut s = service(SchedulerKind::Sh, &[], &servers(&[1, 1, 1]));
    for i in 0..200u8 {
        let src = [198, 18, i, 7];
        let want =
            char::from(b'A' + u8::try_from(bucket(u32::from(Ipv4Addr::from(src))) % 3).unwrap());
        let got = s.pick(&client(src, 5555)).map(|id| name(&s, id)).unwrap();
        assert_eq!(got, want, "client {src:?}");
    }
}

#[test]
fn sh_unavailable_is_none_unless_fallback() {
    let specs = servers(&[1, 0, 1]);
    let mut plain = service(SchedulerKind::Sh, &[], &specs);
    let mut fb = service(SchedulerKind::Sh, &[SchedFlag::ShFallback], &specs);
    let mut checked = 0;
    for i in 0..=255u8 {
        let src = [198, 18, 1, i];
        let f = client(src, 0);
        let b = bucket(u32::from(Ipv4Addr::from(src)));
        if b % 3 == 1 {
            checked += 1;
            assert_eq!(plain.pick(&f), None);
            // IPVS's probe: buckets (offset + 2 * b) mod 256, offset = 0, 1, ...
            let want = (0..256)
                .map(|o| (o + 2 * b) % 256)
                .find(|x| x % 3 != 1)
                .unwrap()
                % 3;
            assert_eq!(
                fb.pick(&f).map(|id| name(&fb, id)),
                Some(char::from(b'A' + u8::try_from(want).unwrap()))
            );
        } else {
            assert_eq!(plain.pick(&f), fb.pick(&f));
        }
    }
    assert!(checked > 40);
}

#[test]
fn sh_port_adds_the_source_port() {
    let mut s = service(
        SchedulerKind::Sh,
        &[SchedFlag::ShPort],
        &servers(&[1, 1, 1]),
    );
    let src = [198, 18, 5, 5];
    for port in [1u16, 80, 4242, 65535] {
        let want = bucket(u32::from(Ipv4Addr::from(src)).wrapping_add(u32::from(port))) % 3;
        let picked = s.pick(&client(src, port)).unwrap();
        let got = name(&s, picked);
        assert_eq!(got, char::from(b'A' + u8::try_from(want).unwrap()));
    }
}

#[test]
fn dh_hashes_the_destination_round_robin_table() {
    let mut s = service(SchedulerKind::Dh, &[], &servers(&[5, 1, 1, 1]));
    for i in 0..100u8 {
        let dst = [203, 0, 113, i];
        let want = bucket(u32::from(Ipv4Addr::from(dst))) % 4; // weights ignored
        let picked = s.pick(&to_dst(dst)).unwrap();
        assert_eq!(
            name(&s, picked),
            char::from(b'A' + u8::try_from(want).unwrap())
        );
    }
    s.update(&servers(&[5, 0, 1, 1])).unwrap();
    let dst_on_b = (0..=255u8)
        .map(|i| [203, 0, 113, i])
        .find(|d| bucket(u32::from(Ipv4Addr::from(*d))) % 4 == 1)
        .unwrap();
    assert_eq!(s.pick(&to_dst(dst_on_b)), None);
}

fn locality(kind: SchedulerKind, weights: &[u32], expiration: u32) -> ServiceScheduler {
    let params = SchedParams {
        locality_expiration: expiration,
        ..SchedParams::default()
    };
    ServiceScheduler::new(kind, &[], &params, &servers(weights)).unwrap()
}

#[test]
fn lblc_remembers_until_locality_overloaded() {
    let mut s = locality(SchedulerKind::Lblc, &[1, 1, 1], 86400);
    let x = to_dst([203, 0, 113, 10]);
    assert_eq!(s.pick(&x).map(|i| name(&s, i)), Some('A'));
    load(&mut s, 'A', 1, 0);
    // A is now heavier than B and C, but remembered and not overloaded (1 active = weight).
    assert_eq!(s.pick(&x).map(|i| name(&s, i)), Some('A'));
    // Another address gets the wlc choice.
    assert_eq!(
        s.pick(&to_dst([203, 0, 113, 11])).map(|i| name(&s, i)),
        Some('B')
    );
    // A: 2 active > weight 1 while B is idle: locality-overloaded, re-chosen (picks do not
    // count connections, so B and C are both idle: the first) and remembered.
    load(&mut s, 'A', 1, 0);
    assert_eq!(s.pick(&x).map(|i| name(&s, i)), Some('B'));
    assert_eq!(
        s.scheduler()
            .lblc()
            .unwrap()
            .table()
            .get(&x.dst)
            .map(|i| name(&s, *i)),
        Some('B')
    );
    // Quiescing the remembered server re-chooses too.
    s.update(&servers(&[1, 0, 1])).unwrap();
    assert_eq!(s.pick(&x).map(|i| name(&s, i)), Some('C'));
}

#[test]
fn lblc_forgets_removed_servers_and_expires() {
    let mut s = locality(SchedulerKind::Lblc, &[1, 1], 100);
    s.maintain(0);
    let x = to_dst([203, 0, 113, 10]);
    assert_eq!(s.pick(&x).map(|i| name(&s, i)), Some('A'));
    s.update(&[server('B', 1)]).unwrap();
    assert!(s.scheduler().lblc().unwrap().table().is_empty());
    assert_eq!(s.pick(&x).map(|i| name(&s, i)), Some('B'));
    s.update(&servers(&[1, 1])).unwrap();
    // Remembered B stays while used; after 30 one-minute checks (IPVS's full expiration)
    // an entry idle longer than the expiration (100 s) is gone.
    for minute in 1..=29u32 {
        s.maintain(minute * 60);
    }
    assert_eq!(s.scheduler().lblc().unwrap().table().len(), 1);
    s.maintain(30 * 60);
    assert_eq!(s.scheduler().lblc().unwrap().table().len(), 0);
    assert_eq!(s.pick(&x).map(|i| name(&s, i)), Some('A'));
}

#[test]
fn locality_table_is_bounded_and_evicts_the_least_recent() {
    let params = SchedParams {
        locality_capacity: 4,
        ..SchedParams::default()
    };
    let mut s = ServiceScheduler::new(SchedulerKind::Lblc, &[], &params, &servers(&[1])).unwrap();
    for (t, i) in (0..6u8).enumerate() {
        s.maintain(u32::try_from(t).unwrap());
        s.pick(&to_dst([203, 0, 113, i])).unwrap();
    }
    let table = s.scheduler().lblc().unwrap().table();
    assert_eq!(table.capacity(), 4);
    assert_eq!(table.len(), 4);
    assert_eq!(table.evictions(), 2);
    assert!(table.get(&to_dst([203, 0, 113, 0]).dst).is_none());
    assert!(table.get(&to_dst([203, 0, 113, 1]).dst).is_none());
    assert!(table.get(&to_dst([203, 0, 113, 5]).dst).is_some());
}

#[test]
fn lblcr_replicates_and_sheds() {
    let mut s = locality(SchedulerKind::Lblcr, &[1, 1, 1], 100);
    s.maintain(0);
    let x = to_dst([203, 0, 113, 10]);
    assert_eq!(s.pick(&x).map(|i| name(&s, i)), Some('A'));
    load(&mut s, 'A', 2, 0); // locality-overloaded: B joins the set
    assert_eq!(s.pick(&x).map(|i| name(&s, i)), Some('B'));
    let members = |s: &ServiceScheduler| -> String {
        s.scheduler()
            .lblcr()
            .unwrap()
            .set_for(&x.dst)
            .unwrap()
            .members()
            .iter()
            .map(|i| name(s, *i))
            .collect()
    };
    assert_eq!(members(&s), "BA"); // newest first
    // The set's least loaded member serves: B.
    assert_eq!(s.pick(&x).map(|i| name(&s, i)), Some('B'));
    // After the expiration without change, a pick sheds the most loaded member (A).
    s.maintain(101);
    assert_eq!(s.pick(&x).map(|i| name(&s, i)), Some('B'));
    assert_eq!(members(&s), "B");
    // Removing B empties the set; the next pick refills it.
    s.update(&[server('A', 1), server('C', 1)]).unwrap();
    assert_eq!(members(&s), "");
    assert_eq!(s.pick(&x).map(|i| name(&s, i)), Some('C'));
    assert_eq!(members(&s), "C");
}

#[test]
fn lblcr_sets_are_capped() {
    let mut s = locality(SchedulerKind::Lblcr, &[1; 10], 86400);
    let x = to_dst([203, 0, 113, 10]);
    let mut picked = Vec::new();
    for _ in 0..10 {
        let id = s.pick(&x).unwrap();
        picked.push(name(&s, id));
        // Two active connections make it locality-overloaded while others idle.
        let n = name(&s, id);
        load(&mut s, n, 2, 0);
    }
    assert_eq!(picked.iter().collect::<String>(), "ABCDEFGHIJ");
    let set = s
        .scheduler()
        .lblcr()
        .unwrap()
        .set_for(&x.dst)
        .unwrap()
        .members()
        .to_vec();
    assert_eq!(set.len(), dataplane::sched::LBLCR_SET_CAPACITY);
    assert_eq!(name(&s, set[0]), 'J');
}
