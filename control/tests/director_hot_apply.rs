//! What the dataplane needs to apply changes without losing connections: stable ids across
//! edits, retired ids reported when something leaves, ids never reused, weight 0 kept as a
//! quiescent destination, and health verdicts applied to the effective table only.

mod director_support;

use control::director::{DestHealth, Director};
use director_support::*;
use proto::{ErrorKind, Forward, Request, Response};

const V1: &str = "10.1.0.100:80";

fn two_dests() -> (Director, Dataplane) {
    let (mut d, dp, _) = started(base_config());
    ok(&mut d, add_service(tcp(V1), "wrr"));
    ok(&mut d, add_dest(tcp(V1), "10.1.0.10:80", 1));
    ok(&mut d, add_dest(tcp(V1), "10.1.0.11:80", 1));
    (d, dp)
}

#[test]
fn ids_survive_edits_of_the_service_and_its_destinations() {
    let (mut d, dp) = two_dests();
    let before = d.ids().clone();
    ok(
        &mut d,
        Request::EditService {
            service: spec(tcp(V1), "lc"),
        },
    );
    ok(
        &mut d,
        Request::EditDest {
            key: tcp(V1),
            dest: dest("10.1.0.10:80", Forward::Dr, 5),
        },
    );
    ok(&mut d, add_dest(tcp(V1), "10.1.0.12:80", 1));
    let (_, ids) = dp.last();
    assert_eq!(ids.service(&tcp(V1)), before.service(&tcp(V1)));
    for rs in ["10.1.0.10:80", "10.1.0.11:80"] {
        assert_eq!(
            ids.dest(&tcp(V1), sa(rs)),
            before.dest(&tcp(V1), sa(rs)),
            "{rs}"
        );
    }
    assert!(ids.retired_dests().is_empty());
    assert!(ids.retired_services().is_empty());
}

#[test]
fn a_removed_destination_is_reported_and_its_id_never_comes_back() {
    let (mut d, dp) = two_dests();
    let old = d.ids().dest(&tcp(V1), sa("10.1.0.10:80")).unwrap();
    ok(
        &mut d,
        Request::DelDest {
            key: tcp(V1),
            addr: sa("10.1.0.10:80"),
        },
    );
    let (cfg, ids) = dp.last();
    assert_eq!(
        ids.retired_dests(),
        &[old],
        "the dataplane must learn which id to keep as trash"
    );
    assert_eq!(cfg.services[0].real_servers.len(), 1);
    ok(&mut d, add_dest(tcp(V1), "10.1.0.10:80", 1));
    let new = d.ids().dest(&tcp(V1), sa("10.1.0.10:80")).unwrap();
    assert_ne!(
        new, old,
        "an id the dataplane may still hold must not be reused"
    );
    assert!(new.0 > old.0);
    // Once the transition is done the retired list is not repeated.
    assert!(d.ids().retired_dests().is_empty());
}

#[test]
fn a_deleted_and_re_added_service_gets_new_ids() {
    let (mut d, dp) = two_dests();
    let old = d.ids().clone();
    ok(&mut d, Request::DelService { key: tcp(V1) });
    let (_, ids) = dp.last();
    assert_eq!(ids.retired_services(), &[old.service(&tcp(V1)).unwrap()]);
    assert_eq!(ids.retired_dests().len(), 2);
    ok(&mut d, add_service(tcp(V1), "wrr"));
    assert_ne!(d.ids().service(&tcp(V1)), old.service(&tcp(V1)));
}

#[test]
fn weight_zero_keeps_the_destination_and_its_id() {
    let (mut d, dp) = two_dests();
    let id = d.ids().dest(&tcp(V1), sa("10.1.0.10:80"));
    ok(
        &mut d,
        Request::EditDest {
            key: tcp(V1),
            dest: dest("10.1.0.10:80", Forward::Nat, 0),
        },
    );
    let (cfg, ids) = dp.last();
    assert_eq!(cfg.services[0].real_servers[0].weight, 0);
    assert_eq!(ids.dest(&tcp(V1), sa("10.1.0.10:80")), id);
    assert!(ids.retired_dests().is_empty());
}

#[test]
fn a_failed_server_leaves_the_effective_table_but_not_the_configuration() {
    let (mut d, dp) = two_dests();
    let id = d.ids().dest(&tcp(V1), sa("10.1.0.10:80")).unwrap();
    let configured = d.configured().clone();
    d.set_dest_health(&tcp(V1), sa("10.1.0.10:80"), DestHealth::Down)
        .unwrap();
    assert_eq!(
        d.configured(),
        &configured,
        "a checker never edits the configuration"
    );
    let (cfg, ids) = dp.last();
    assert_eq!(cfg.services[0].real_servers.len(), 1);
    assert_eq!(
        cfg.services[0].real_servers[0].address.to_string(),
        "10.1.0.11"
    );
    assert_eq!(ids.retired_dests(), &[id]);
    match d.handle(Request::ListServices { key: None }, &root()) {
        Response::Services { services } => assert_eq!(services[0].dests.len(), 1),
        other => panic!("{other:?}"),
    }
    // The operator's edit of a failed server changes the configuration, not the verdict.
    ok(
        &mut d,
        Request::EditDest {
            key: tcp(V1),
            dest: dest("10.1.0.10:80", Forward::Nat, 4),
        },
    );
    assert_eq!(d.configured().services[0].real_servers[0].weight, 4);
    assert_eq!(d.effective().services[0].real_servers.len(), 1);
    // Back up: it returns with the configured weight and a fresh id.
    d.set_dest_health(&tcp(V1), sa("10.1.0.10:80"), DestHealth::Up)
        .unwrap();
    let (cfg, ids) = dp.last();
    assert_eq!(cfg.services[0].real_servers.len(), 2);
    assert_eq!(cfg.services[0].real_servers[0].weight, 4);
    assert_ne!(ids.dest(&tcp(V1), sa("10.1.0.10:80")), Some(id));
}

#[test]
fn inhibit_on_failure_keeps_a_failed_server_at_weight_zero() {
    let mut cfg = base_config();
    let mut svc = control::director::convert::new_service(
        proto::Protocol::Tcp,
        sa(V1),
        &spec(tcp(V1), "wrr"),
    );
    svc.check.inhibit_on_failure = true;
    let rs =
        control::director::convert::new_real_server(&svc, &dest("10.1.0.10:80", Forward::Nat, 3));
    svc.real_servers.push(rs);
    cfg.services.push(svc);
    let (mut d, dp, _) = started(cfg);
    let id = d.ids().dest(&tcp(V1), sa("10.1.0.10:80"));
    d.set_dest_health(&tcp(V1), sa("10.1.0.10:80"), DestHealth::Down)
        .unwrap();
    let (eff, ids) = dp.last();
    assert_eq!(eff.services[0].real_servers[0].weight, 0);
    assert_eq!(
        ids.dest(&tcp(V1), sa("10.1.0.10:80")),
        id,
        "kept in place, same id"
    );
    assert_eq!(d.configured().services[0].real_servers[0].weight, 3);
    match d.handle(Request::ListServices { key: None }, &root()) {
        Response::Services { services } => {
            assert_eq!(services[0].dests[0].spec.weight, 0);
            assert!(!services[0].dests[0].healthy);
        }
        other => panic!("{other:?}"),
    }
    d.set_dest_health(&tcp(V1), sa("10.1.0.10:80"), DestHealth::Weight(7))
        .unwrap();
    assert_eq!(dp.last().0.services[0].real_servers[0].weight, 7);
}

#[test]
fn verdicts_on_unknown_servers_are_refused_and_deleted_servers_forget_theirs() {
    let (mut d, dp) = two_dests();
    let err = d
        .set_dest_health(&tcp(V1), sa("10.1.0.99:80"), DestHealth::Down)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NoDest);
    let err = d
        .set_dest_health(&tcp("10.9.9.9:80"), sa("10.1.0.10:80"), DestHealth::Down)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NoService);
    d.set_dest_health(&tcp(V1), sa("10.1.0.10:80"), DestHealth::Down)
        .unwrap();
    ok(
        &mut d,
        Request::DelDest {
            key: tcp(V1),
            addr: sa("10.1.0.10:80"),
        },
    );
    ok(&mut d, add_dest(tcp(V1), "10.1.0.10:80", 1));
    // Added again by the operator: it starts clean, in the table.
    assert_eq!(dp.last().0.services[0].real_servers.len(), 2);
    assert_eq!(
        d.overlay().get(&tcp(V1), sa("10.1.0.10:80")),
        DestHealth::Up
    );
}

#[test]
fn a_verdict_that_changes_nothing_is_not_applied() {
    let (mut d, dp) = two_dests();
    let n = dp.count();
    d.set_dest_health(&tcp(V1), sa("10.1.0.10:80"), DestHealth::Up)
        .unwrap();
    assert_eq!(dp.count(), n);
}
