//! Destination state: IPVS's threshold boundaries, counts, and the slots of a DestSet
//! across snapshots.

mod sched_support;

use dataplane::sched::{
    BuildError, ConnKind, DestSet, DestSpec, DestState, SchedParams, Scheduler, SchedulerKind,
    per_worker_threshold,
};
use sched_support::*;

fn dest(upper: u32, lower: u32) -> DestState {
    DestState::new(&server('A', 1).with_thresholds(upper, lower))
}

#[test]
fn upper_threshold_sets_on_bind_at_the_boundary() {
    let mut d = dest(4, 0);
    for _ in 0..3 {
        d.bind(ConnKind::Inactive);
    }
    assert!(!d.overloaded(), "3 < 4");
    d.bind(ConnKind::Active);
    assert!(d.overloaded(), "total 4 >= upper 4");
}

#[test]
fn without_lower_it_clears_below_three_quarters_of_upper() {
    let mut d = dest(4, 0);
    for _ in 0..4 {
        d.bind(ConnKind::Active);
    }
    assert!(d.overloaded());
    d.unbind(ConnKind::Active); // 3: 3 * 4 = 12 < 12 is false
    assert!(d.overloaded());
    d.unbind(ConnKind::Active); // 2: 8 < 12
    assert!(!d.overloaded());
}

#[test]
fn with_lower_it_clears_below_lower() {
    let mut d = dest(4, 2);
    for _ in 0..5 {
        d.bind(ConnKind::Inactive);
    }
    assert!(d.overloaded());
    for _ in 0..3 {
        d.unbind(ConnKind::Inactive); // 4, 3, 2: 2 < 2 is false
    }
    assert!(d.overloaded());
    d.unbind(ConnKind::Inactive); // 1 < 2
    assert!(!d.overloaded());
    // Binding again below upper does not set it.
    d.bind(ConnKind::Inactive);
    d.bind(ConnKind::Inactive);
    assert!(!d.overloaded());
}

#[test]
fn templates_are_counted_apart_and_transitions_keep_the_flag() {
    let mut d = dest(2, 0);
    for _ in 0..5 {
        d.bind(ConnKind::Template);
    }
    assert_eq!(d.persistent_conns(), 5);
    assert!(!d.overloaded(), "templates are not load");
    d.bind(ConnKind::Inactive);
    d.activate();
    assert_eq!((d.active_conns(), d.inactive_conns()), (1, 0));
    d.bind(ConnKind::Inactive);
    assert!(d.overloaded());
    d.deactivate();
    assert_eq!((d.active_conns(), d.inactive_conns()), (0, 2));
    assert!(d.overloaded(), "a transition does not re-evaluate");
    assert_eq!(d.overhead(), 2);
    assert_eq!(d.refs(), 7);
}

#[test]
fn unbind_without_thresholds_clears_and_counts_saturate() {
    let mut d = dest(1, 0);
    d.bind(ConnKind::Active);
    assert!(d.overloaded());
    // The threshold goes away without clearing on update? IPVS clears when upper is 0.
    d.update(&server('A', 1));
    assert!(!d.overloaded());
    d.unbind(ConnKind::Active);
    d.unbind(ConnKind::Active);
    d.unbind(ConnKind::Template);
    assert_eq!((d.active_conns(), d.persistent_conns()), (0, 0));
}

#[test]
fn update_clears_only_when_upper_is_removed_or_raised() {
    let mut d = dest(2, 0);
    d.bind(ConnKind::Active);
    d.bind(ConnKind::Active);
    assert!(d.overloaded());
    d.update(&server('A', 1).with_thresholds(1, 0)); // lowered: kept
    assert!(d.overloaded());
    d.update(&server('A', 1).with_thresholds(1, 0)); // same: kept
    assert!(d.overloaded());
    d.update(&server('A', 1).with_thresholds(3, 0)); // raised: cleared
    assert!(!d.overloaded());
    assert_eq!(d.active_conns(), 2, "counts survive updates");
}

#[test]
fn last_weight_follows_non_zero_weights() {
    let mut d = DestState::new(&server('A', 5));
    assert_eq!(d.last_weight(), 5);
    d.update(&server('A', 0));
    assert_eq!((d.weight(), d.last_weight()), (0, 5));
    assert!(!d.available());
    d.update(&server('A', 3));
    assert_eq!((d.weight(), d.last_weight()), (3, 3));
    assert!(d.available());
}

#[test]
fn per_worker_threshold_rounds_up() {
    assert_eq!(per_worker_threshold(0, 4), 0);
    assert_eq!(per_worker_threshold(10, 4), 3);
    assert_eq!(per_worker_threshold(8, 4), 2);
    assert_eq!(per_worker_threshold(3, 4), 1);
    assert_eq!(per_worker_threshold(5, 1), 5);
    assert_eq!(per_worker_threshold(5, 0), 5);
    assert_eq!(per_worker_threshold(u32::MAX, 2), u32::MAX / 2 + 1);
}

#[test]
fn slots_are_stable_and_retired_servers_keep_theirs_while_used() {
    let mut set = DestSet::new(&servers(&[1, 1, 1])).unwrap();
    let key = |c| server(c, 0).key;
    let (a, b, c) = (
        set.find(&key('A')).unwrap(),
        set.find(&key('B')).unwrap(),
        set.find(&key('C')).unwrap(),
    );
    set.bind(b, ConnKind::Active);
    // B dropped, D added: B keeps its slot (a connection refers to it), D gets a new one.
    set.apply(&[server('A', 1), server('C', 2), server('D', 1)])
        .unwrap();
    let d = set.find(&key('D')).unwrap();
    assert_eq!(set.order(), &[a, c, d]);
    assert_eq!(set.slot_count(), 4);
    assert!(!set.get(b).unwrap().in_service());
    assert!(!set.available(b));
    assert_eq!(set.get(c).unwrap().weight(), 2);
    // A re-added B finds its counts again.
    set.apply(&[server('A', 1), server('B', 1)]).unwrap();
    assert_eq!(set.find(&key('B')), Some(b));
    assert_eq!(set.get(b).unwrap().active_conns(), 1);
    assert!(set.get(b).unwrap().in_service());
    // C and D were retired by that apply with no connection: free from now on. A, idle,
    // is retired by the next apply, which must not hand A's slot to E.
    set.apply(&[server('B', 1), server('E', 1)]).unwrap();
    let e = set.find(&key('E')).unwrap();
    assert!(e == c || e == d, "E takes a slot emptied earlier: {e:?}");
    assert_ne!(e, a, "a slot emptied by this apply is not reused by it");
    assert_eq!(set.slot_count(), 4);
    // The next apply may reuse both remaining empty slots, A's included.
    set.apply(&[
        server('B', 1),
        server('E', 1),
        server('F', 1),
        server('G', 1),
    ])
    .unwrap();
    let f = set.find(&key('F')).unwrap();
    let g = set.find(&key('G')).unwrap();
    let mut reused = vec![f.index(), g.index(), e.index()];
    reused.sort_unstable();
    assert_eq!(reused, vec![a.index(), c.index(), d.index()]);
    assert_eq!(set.slot_count(), 4);
    assert_eq!(set.find(&key('A')), None);
}

#[test]
fn duplicate_servers_are_refused_without_change() {
    let mut set = DestSet::new(&servers(&[1, 1])).unwrap();
    let epoch = set.epoch();
    let before: Vec<_> = set.iter().map(|(id, d)| (id, d.clone())).collect();
    let err = set.apply(&[server('A', 3), server('A', 4)]).unwrap_err();
    assert_eq!(err, BuildError::DuplicateDest(server('A', 0).key));
    assert_eq!(set.epoch(), epoch);
    let after: Vec<_> = set.iter().map(|(id, d)| (id, d.clone())).collect();
    assert_eq!(before, after);
}

#[test]
fn a_scheduler_not_rebuilt_after_apply_refuses_to_pick() {
    let mut set = DestSet::new(&servers(&[1, 1])).unwrap();
    let mut sched = Scheduler::new(SchedulerKind::Rr, &[], &SchedParams::default(), &set).unwrap();
    let f = client([1, 2, 3, 4], 5);
    assert!(sched.pick(&set, &f).is_some());
    set.apply(&servers(&[1, 1, 1])).unwrap();
    assert_eq!(sched.pick(&set, &f), None);
    sched.rebuild(&set).unwrap();
    assert!(sched.pick(&set, &f).is_some());
}

#[test]
fn a_failed_service_update_leaves_everything_as_it_was() {
    let params = SchedParams {
        mh_table_size: 251,
        ..SchedParams::default()
    };
    let mut svc =
        dataplane::sched::ServiceScheduler::new(SchedulerKind::Mh, &[], &params, &servers(&[1, 1]))
            .unwrap();
    let f = client([9, 9, 9, 9], 0);
    let before = svc.pick(&f);
    let too_many: Vec<DestSpec> = (0..300u32)
        .map(|i| {
            DestSpec::new(
                std::net::IpAddr::V4(std::net::Ipv4Addr::from(0x0a02_0000 + i)),
                80,
                1,
            )
        })
        .collect();
    assert!(matches!(
        svc.update(&too_many),
        Err(BuildError::MhTooManyDests { .. })
    ));
    assert_eq!(svc.dests().len(), 2);
    assert_eq!(svc.pick(&f), before);
}

#[test]
fn locality_capacity_is_validated() {
    let dests = DestSet::new(&servers(&[1])).unwrap();
    for bad in [
        0usize,
        dataplane::sched::LOCALITY_MAX_CAPACITY + 1,
        usize::MAX,
    ] {
        let params = SchedParams {
            locality_capacity: bad,
            ..SchedParams::default()
        };
        for kind in [SchedulerKind::Lblc, SchedulerKind::Lblcr] {
            assert_eq!(
                Scheduler::new(kind, &[], &params, &dests).unwrap_err(),
                BuildError::LocalityCapacity(bad)
            );
        }
        // Other schedulers do not use it.
        assert!(Scheduler::new(SchedulerKind::Wlc, &[], &params, &dests).is_ok());
    }
}
