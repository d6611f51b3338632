//! Properties over every scheduler: a pick is always an available server (listed, weight
//! > 0, not overloaded), and no sequence of updates, counts, clock ticks and picks panics.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dataplane::sched::{
    ConnKind, DestSpec, Flow, SchedFlag, SchedParams, SchedulerKind, ServiceScheduler,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Pick {
        src: u32,
        sport: u16,
        dst: u8,
        v6: bool,
    },
    Bind {
        dest: usize,
        kind: u8,
    },
    Unbind {
        dest: usize,
    },
    Activate {
        dest: usize,
    },
    Deactivate {
        dest: usize,
    },
    Update {
        specs: Vec<(u8, u32, u32, u32)>,
    },
    Tick {
        secs: u32,
    },
}

fn spec((host, weight, upper, lower): (u8, u32, u32, u32)) -> DestSpec {
    DestSpec::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, host)), 80, weight)
        .with_thresholds(upper, lower)
}

fn specs_strategy() -> impl Strategy<Value = Vec<(u8, u32, u32, u32)>> {
    // Hosts from a small range so updates keep, drop and re-add the same servers;
    // duplicates are removed (a duplicate list is an error, tested elsewhere).
    prop::collection::vec(
        (
            0u8..12,
            prop_oneof![0u32..6, Just(u32::MAX)],
            0u32..4,
            0u32..3,
        ),
        0..10,
    )
    .prop_map(|mut v| {
        v.sort_by_key(|s| s.0);
        v.dedup_by_key(|s| s.0);
        v
    })
}

fn kind_of(k: ConnKindSel) -> ConnKind {
    match k % 3 {
        0 => ConnKind::Active,
        1 => ConnKind::Inactive,
        _ => ConnKind::Template,
    }
}
type ConnKindSel = u8;

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<u32>(), any::<u16>(), 0u8..8, any::<bool>())
            .prop_map(|(src, sport, dst, v6)| Op::Pick { src, sport, dst, v6 }),
        4 => (0usize..16, any::<u8>()).prop_map(|(dest, kind)| Op::Bind { dest, kind }),
        3 => (0usize..16).prop_map(|dest| Op::Unbind { dest }),
        1 => (0usize..16).prop_map(|dest| Op::Activate { dest }),
        1 => (0usize..16).prop_map(|dest| Op::Deactivate { dest }),
        1 => specs_strategy().prop_map(|specs| Op::Update { specs }),
        1 => (0u32..200_000).prop_map(|secs| Op::Tick { secs }),
    ]
}

fn flags_strategy() -> impl Strategy<Value = Vec<SchedFlag>> {
    prop::collection::vec(prop::sample::select(SchedFlag::ALL.to_vec()), 0..3)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn picks_are_always_available(
        kind in prop::sample::select(SchedulerKind::ALL.to_vec()),
        flags in flags_strategy(),
        initial in specs_strategy(),
        ops in prop::collection::vec(op_strategy(), 0..80),
    ) {
        let params = SchedParams { mh_table_size: 251, locality_capacity: 8, locality_expiration: 600 };
        let specs: Vec<DestSpec> = initial.into_iter().map(spec).collect();
        let mut svc = ServiceScheduler::new(kind, &flags, &params, &specs).unwrap();
        let mut clock = 0u32;
        // The connections the test has bound, so unbinds mirror real ones.
        let mut bound: Vec<(dataplane::sched::DestId, ConnKind)> = Vec::new();
        for op in ops {
            match op {
                Op::Pick { src, sport, dst, v6 } => {
                    let (s, d) = if v6 {
                        (IpAddr::V6(Ipv6Addr::from(u128::from(src) << 64 | 7)),
                         IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(dst))))
                    } else {
                        (IpAddr::V4(Ipv4Addr::from(src)), IpAddr::V4(Ipv4Addr::new(192, 0, 2, dst)))
                    };
                    let flow = Flow::new(s, sport, d, 80);
                    if let Some(id) = svc.pick(&flow) {
                        let d = svc.dests().get(id).expect("picked id is a slot");
                        prop_assert!(d.available(), "{kind} picked unavailable {:?}", d);
                        prop_assert!(d.in_service() && d.weight() > 0 && !d.overloaded());
                        prop_assert!(svc.dests().order().contains(&id));
                    }
                }
                Op::Bind { dest, kind: k } => {
                    if let Some(&id) = svc.dests().order().get(dest % svc.dests().len().max(1)) {
                        let k = kind_of(k);
                        prop_assert!(svc.bind(id, k));
                        bound.push((id, k));
                    }
                }
                Op::Unbind { dest } => {
                    if !bound.is_empty() {
                        let (id, k) = bound.swap_remove(dest % bound.len());
                        prop_assert!(svc.unbind(id, k));
                    }
                }
                Op::Activate { dest } => {
                    if let Some(e) = bound.iter_mut().filter(|e| e.1 == ConnKind::Inactive).nth(dest % 4) {
                        e.1 = ConnKind::Active;
                        prop_assert!(svc.activate(e.0));
                    }
                }
                Op::Deactivate { dest } => {
                    if let Some(e) = bound.iter_mut().filter(|e| e.1 == ConnKind::Active).nth(dest % 4) {
                        e.1 = ConnKind::Inactive;
                        prop_assert!(svc.deactivate(e.0));
                    }
                }
                Op::Update { specs } => {
                    let specs: Vec<DestSpec> = specs.into_iter().map(spec).collect();
                    prop_assert!(svc.update(&specs).is_ok());
                }
                Op::Tick { secs } => {
                    clock = clock.wrapping_add(secs);
                    svc.maintain(clock);
                }
            }
            // Counts always match the connections the test holds.
            for (id, d) in svc.dests().iter() {
                let active = bound.iter().filter(|e| e.0 == id && e.1 == ConnKind::Active).count();
                prop_assert_eq!(usize::try_from(d.active_conns()).unwrap(), active);
            }
        }
    }

    /// Arbitrary weights and counts, straight: whatever the state, each scheduler's pick is
    /// available, and it returns None only when no listed server is available
    /// (for the schedulers that search every server).
    #[test]
    fn exhaustive_schedulers_find_any_available_server(
        kind in prop::sample::select(vec![
            SchedulerKind::Rr, SchedulerKind::Wrr, SchedulerKind::Lc, SchedulerKind::Wlc,
            SchedulerKind::Sed, SchedulerKind::Nq, SchedulerKind::Fo, SchedulerKind::Lblc,
            SchedulerKind::Lblcr,
        ]),
        servers in prop::collection::vec((0u32..5, 0u32..4, 0u32..300, 0u32..3), 0..12),
        picks in 1usize..20,
    ) {
        let specs: Vec<DestSpec> = servers
            .iter()
            .enumerate()
            .map(|(i, s)| spec((u8::try_from(i).unwrap(), s.0, s.3, 0)))
            .collect();
        let mut svc = ServiceScheduler::new(kind, &[], &SchedParams::default(), &specs).unwrap();
        for (i, s) in servers.iter().enumerate() {
            let id = svc.dests().order()[i];
            for _ in 0..s.1 { svc.bind(id, ConnKind::Active); }
            for _ in 0..s.2 { svc.bind(id, ConnKind::Inactive); }
        }
        let any_available = svc.dests().iter().any(|(_, d)| d.available());
        let flow = Flow::new(IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4)), 1, IpAddr::V4(Ipv4Addr::new(5, 6, 7, 8)), 80);
        for _ in 0..picks {
            let got = svc.pick(&flow);
            prop_assert_eq!(got.is_some(), any_available, "{}", kind);
            if let Some(id) = got {
                prop_assert!(svc.dests().available(id));
            }
        }
    }
}
