//! Property tests: any sequence of requests keeps the director consistent, and no byte
//! string makes the state file reader panic or load something it should not.

mod director_support;

use std::collections::HashMap;

use control::director::persist::{self, PersistedState};
use control::director::{DestId, Director};
use director_support::*;
use proptest::prelude::*;
use proto::{Forward, Request, Response, ServiceKey, Timeouts};

fn key() -> impl Strategy<Value = ServiceKey> {
    prop_oneof![
        Just(tcp("10.1.0.1:80")),
        Just(tcp("10.1.0.2:0")),
        Just(udp("10.1.0.1:53")),
        Just(tcp("[2001:db8::1]:443")),
        Just(ServiceKey::Fwmark { mark: 3 }),
    ]
}

fn dest_addr() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("10.2.0.1:80"),
        Just("10.2.0.1:0"),
        Just("10.2.0.2:8080"),
        Just("[2001:db8::2]:80"),
        Just("224.0.0.5:80"),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    let sched = prop_oneof![
        Just("rr"),
        Just("wlc"),
        Just("sh"),
        Just("mh"),
        Just("nosuch")
    ];
    let flags = prop_oneof![
        4 => Just(vec![]),
        1 => Just(vec!["sh-port".to_string()]),
        1 => Just(vec!["bogus".to_string()]),
    ];
    let netmask = prop_oneof![4 => Just(32u8), 1 => Just(24u8), 1 => Just(128u8), 1 => 0u8..140];
    let fwd = prop_oneof![
        Just(Forward::Nat),
        Just(Forward::Dr),
        Just(Forward::Tun),
        Just(Forward::FullNat)
    ];
    let service = (
        key(),
        sched,
        flags,
        proptest::option::of(0u32..4000),
        netmask,
        proptest::bool::weighted(0.2),
    )
        .prop_map(|(key, sched, flags, persistent, netmask, one_packet)| {
            let mut s = spec(key, sched);
            s.sched_flags = flags;
            s.persistent = persistent;
            s.netmask = netmask;
            s.one_packet = one_packet;
            s
        })
        .boxed();
    let dspec = (
        dest_addr(),
        fwd,
        prop_oneof![Just(0u32), Just(1), Just(100), Just(70_000)],
        0u32..3,
        0u32..3,
    )
        .prop_map(|(a, f, w, upper, lower)| {
            let mut d = dest(a, f, w);
            d.upper = upper * 10;
            d.lower = lower * 10;
            d
        })
        .boxed();
    let single = prop_oneof![
        service
            .clone()
            .prop_map(|service| Request::AddService { service }),
        service.prop_map(|service| Request::EditService { service }),
        key().prop_map(|key| Request::DelService { key }),
        (key(), dspec.clone()).prop_map(|(key, dest)| Request::AddDest { key, dest }),
        (key(), dspec).prop_map(|(key, dest)| Request::EditDest { key, dest }),
        (key(), dest_addr()).prop_map(|(key, a)| Request::DelDest { key, addr: sa(a) }),
        (key(), prop_oneof![Just("10.3.0.1"), Just("10.3.0.2")]).prop_map(|(key, a)| {
            Request::AddLocalAddr {
                key,
                addr: a.parse().unwrap(),
            }
        }),
        (key(), prop_oneof![Just("10.3.0.1"), Just("10.3.0.2")]).prop_map(|(key, a)| {
            Request::DelLocalAddr {
                key,
                addr: a.parse().unwrap(),
            }
        }),
        (0u32..3_000_000).prop_map(|t| Request::SetTimeouts {
            timeouts: Timeouts {
                tcp: t,
                tcp_fin: 0,
                udp: t / 2
            }
        }),
        Just(Request::Clear),
    ]
    .boxed();
    prop_oneof![
        8 => single.clone(),
        1 => proptest::collection::vec(single, 0..4).prop_map(|requests| Request::Batch { requests }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_request_sequence_keeps_the_director_consistent(reqs in proptest::collection::vec(request(), 1..40)) {
        let (mut d, dp, _) = started(base_config());
        // Every id ever handed out, with what it named: an id must never name two things.
        let mut named: HashMap<DestId, (ServiceKey, std::net::SocketAddr)> = HashMap::new();
        let mut retired: Vec<DestId> = Vec::new();
        for req in reqs {
            let before = (d.configured().clone(), d.generation(), dp.count());
            let resp = d.handle(req.clone(), &root());
            match resp {
                Response::Ok => {
                    prop_assert!(d.generation() == before.1 || d.generation() == before.1 + 1);
                }
                Response::Error { .. } => {
                    prop_assert_eq!(d.configured(), &before.0, "refused {:?} changed the configuration", req);
                    prop_assert_eq!(d.generation(), before.1);
                    prop_assert_eq!(dp.count(), before.2);
                }
                other => prop_assert!(false, "unexpected reply {:?}", other),
            }
            // The dataplane always runs what the director believes it runs.
            let (applied, ids) = dp.last();
            prop_assert_eq!(&applied, d.effective());
            retired.extend_from_slice(ids.retired_dests());
            for (k, id) in d.ids().dests() {
                prop_assert!(!retired.contains(&id), "retired id {:?} reused", id);
                let prev = named.insert(id, *k);
                prop_assert!(prev.is_none() || prev == Some(*k), "id {:?} renamed", id);
            }
            // No duplicate service or destination ever gets in.
            let cfg = d.configured();
            for (i, a) in cfg.services.iter().enumerate() {
                for b in &cfg.services[i + 1..] {
                    prop_assert!(
                        control::director::convert::service_key(a) != control::director::convert::service_key(b)
                    );
                }
                let mut seen = std::collections::HashSet::new();
                for rs in &a.real_servers {
                    prop_assert!(seen.insert(control::director::convert::dest_addr(a, rs)));
                }
                prop_assert!(a.scheduler.parse::<dataplane::sched::SchedulerKind>().is_ok());
            }
        }
    }

    #[test]
    fn the_state_reader_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = persist::decode(&bytes);
    }

    #[test]
    fn a_damaged_state_file_is_refused_or_reads_back_identical(
        reqs in proptest::collection::vec(request(), 1..10),
        at in any::<proptest::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let (mut d, _, _) = started(base_config());
        for req in reqs {
            let _ = d.handle(req, &root());
        }
        let state = PersistedState::of(d.configured());
        let mut bytes = persist::encode(&state).unwrap();
        let i = at.index(bytes.len());
        bytes[i] ^= xor;
        if let Ok(back) = persist::decode(&bytes) {
            // Only bytes outside the checksummed state (e.g. written_by) may change harmlessly.
            prop_assert_eq!(back, state);
        }
    }
}

#[test]
fn the_director_starts_from_an_empty_configuration() {
    let mut d = Director::new(
        base_config(),
        Box::new(RecordingApplier(Dataplane::default())),
    );
    d.start().unwrap();
    assert_eq!(d.generation(), 1);
}
