//! Every request the director answers, and every error path, with ipvsadm's words; each
//! refusal is checked to leave the configuration, ids, generation and dataplane untouched.

mod director_support;

use control::config::{Check, CheckCommon, LocalAddress, LocalAddressGroup, RealServer};
use director_support::*;
use proto::{
    AddressSpec, Counter, DaemonInfo, ErrorKind, Forward, NeighSpec, Request, Response, RouteSpec,
    ServiceKey, Stats, Timeouts, TunnelType,
};

const V1: &str = "10.1.0.100:80";

fn with_service() -> (control::director::Director, Dataplane, FakeStats) {
    let (mut d, dp, st) = started(base_config());
    ok(&mut d, add_service(tcp(V1), "wrr"));
    ok(&mut d, add_dest(tcp(V1), "10.1.0.10:80", 1));
    (d, dp, st)
}

#[test]
fn hello_answers_with_the_protocol_version_and_refuses_others() {
    let (mut d, _, _) = started(base_config());
    assert_eq!(
        d.handle(Request::Hello { version: 1 }, &root()),
        Response::Hello {
            version: 1,
            daemon: format!("rvsd {}", env!("CARGO_PKG_VERSION"))
        }
    );
    match d.handle(Request::Hello { version: 2 }, &root()) {
        Response::Error { kind, message } => {
            assert_eq!(kind, ErrorKind::Version);
            assert!(message.contains("version 2"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn add_service_is_applied_listed_and_counted_as_a_generation() {
    let (mut d, dp, _) = started(base_config());
    assert_eq!(d.generation(), 1);
    ok(&mut d, add_service(tcp(V1), "wrr"));
    assert_eq!(d.generation(), 2);
    let (applied, ids) = dp.last();
    assert_eq!(applied.services.len(), 1);
    assert_eq!(applied.services[0].scheduler, "wrr");
    assert!(ids.service(&tcp(V1)).is_some());
    match d.handle(Request::ListServices { key: None }, &root()) {
        Response::Services { services } => {
            assert_eq!(services.len(), 1);
            assert_eq!(services[0].spec, spec(tcp(V1), "wrr"));
            assert!(services[0].dests.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn duplicate_service_is_refused_as_ipvsadm_does() {
    let (mut d, dp, _) = with_service();
    refused(
        &mut d,
        &dp,
        add_service(tcp(V1), "rr"),
        ErrorKind::ServiceExists,
        "Service already exists",
    );
    // The kernel looks the service up before the scheduler: existence wins.
    refused(
        &mut d,
        &dp,
        add_service(tcp(V1), "nosuch"),
        ErrorKind::ServiceExists,
        "Service already exists",
    );
    // Same address, other protocol: a different service.
    ok(&mut d, add_service(udp(V1), "rr"));
}

#[test]
fn unknown_scheduler_is_refused_on_add_and_edit() {
    let (mut d, dp, _) = with_service();
    let msg = "Scheduler or persistence engine not found";
    refused(
        &mut d,
        &dp,
        add_service(tcp("10.1.0.101:80"), "wrrr"),
        ErrorKind::Invalid,
        msg,
    );
    refused(
        &mut d,
        &dp,
        Request::EditService {
            service: spec(tcp(V1), "foo"),
        },
        ErrorKind::Invalid,
        msg,
    );
}

#[test]
fn ipvsadm_parser_checks_are_repeated_by_the_daemon() {
    let (mut d, dp, _) = with_service();
    let new = tcp("10.1.0.102:80");
    let mut s = spec(tcp("10.1.0.102:0"), "rr");
    refused(
        &mut d,
        &dp,
        Request::AddService { service: s.clone() },
        ErrorKind::Invalid,
        "Zero port specified for non-persistent service",
    );
    s.persistent = Some(300);
    ok(&mut d, Request::AddService { service: s });

    let mut s = spec(new, "rr");
    s.one_packet = true;
    refused(
        &mut d,
        &dp,
        Request::AddService { service: s },
        ErrorKind::Invalid,
        "One-Packet Scheduling is only for UDP virtual services",
    );
    let mut s = spec(udp("10.1.0.102:53"), "rr");
    s.one_packet = true;
    ok(&mut d, Request::AddService { service: s });

    let mut s = spec(new, "rr");
    s.sched_flags = vec!["sh-port".into()];
    refused(
        &mut d,
        &dp,
        Request::AddService { service: s },
        ErrorKind::Invalid,
        "incompatible scheduler flag `sh-port'",
    );
    let mut s = spec(new, "sh");
    s.sched_flags = vec!["flag-4".into()];
    refused(
        &mut d,
        &dp,
        Request::AddService { service: s },
        ErrorKind::Invalid,
        "invalid scheduler flag `flag-4'",
    );

    let mut s = spec(new, "rr");
    s.netmask = 33;
    refused(
        &mut d,
        &dp,
        Request::AddService { service: s },
        ErrorKind::Invalid,
        "illegal virtual server persistent mask specified",
    );
    let mut s = spec(tcp("[2001:db8::1]:80"), "rr");
    s.netmask = 0;
    refused(
        &mut d,
        &dp,
        Request::AddService { service: s },
        ErrorKind::Invalid,
        "illegal ipv6 netmask specified",
    );

    let mut s = spec(new, "rr");
    s.persistent = Some(0);
    refused(
        &mut d,
        &dp,
        Request::AddService { service: s },
        ErrorKind::Invalid,
        "invalid timeout value `0' specified",
    );

    for bad in [
        "224.0.0.1:80",
        "0.0.0.0:80",
        "255.255.255.255:80",
        "[ff02::1]:80",
    ] {
        refused(
            &mut d,
            &dp,
            add_service(tcp(bad), "rr"),
            ErrorKind::Invalid,
            "illegal virtual server address[:port] specified",
        );
    }
}

#[test]
fn fwmark_services_are_unsupported_everywhere() {
    let (mut d, dp, _) = with_service();
    let fw = ServiceKey::Fwmark { mark: 1 };
    let msg = "fwmark services are not supported: rvs sees no netfilter marks; use a TCP or UDP service (-t/-u)";
    refused(
        &mut d,
        &dp,
        add_service(fw, "rr"),
        ErrorKind::Unsupported,
        msg,
    );
    refused(
        &mut d,
        &dp,
        Request::DelService { key: fw },
        ErrorKind::Unsupported,
        msg,
    );
    refused(
        &mut d,
        &dp,
        add_dest(fw, "10.1.0.10:80", 1),
        ErrorKind::Unsupported,
        msg,
    );
    refused(
        &mut d,
        &dp,
        Request::ListServices { key: Some(fw) },
        ErrorKind::Unsupported,
        msg,
    );
    refused(
        &mut d,
        &dp,
        Request::Zero { key: Some(fw) },
        ErrorKind::Unsupported,
        msg,
    );
}

#[test]
fn edit_service_replaces_what_it_is_told_and_keeps_the_rest() {
    let mut cfg = base_config();
    let mut svc = control::director::convert::new_service(
        proto::Protocol::Tcp,
        sa(V1),
        &spec(tcp(V1), "wlc"),
    );
    svc.check.delay_loop = 7.0;
    svc.check.inhibit_on_failure = true;
    svc.forward = Forward::Dr;
    let mut rs =
        control::director::convert::new_real_server(&svc, &dest("10.1.0.10:80", Forward::Dr, 3));
    rs.checks.push(Check::Tcp {
        common: CheckCommon::default(),
    });
    rs.notify_down = Some("/bin/true".into());
    svc.real_servers.push(rs.clone());
    cfg.services.push(svc);
    let (mut d, _, _) = started(cfg);

    let mut s = spec(tcp(V1), "sh");
    s.sched_flags = vec!["sh-port".into()];
    s.persistent = Some(600);
    s.netmask = 24;
    ok(&mut d, Request::EditService { service: s.clone() });
    let after = &d.configured().services[0];
    assert_eq!(after.scheduler, "sh");
    assert_eq!(after.sched_flags, vec!["sh-port".to_string()]);
    assert_eq!(after.persistence_timeout, Some(600));
    assert_eq!(after.persistence_netmask, Some(24));
    // Not said by -E: kept.
    assert_eq!(after.check.delay_loop, 7.0);
    assert!(after.check.inhibit_on_failure);
    assert_eq!(after.forward, Forward::Dr);
    assert_eq!(after.real_servers, vec![rs]);
}

#[test]
fn edit_with_identical_values_changes_nothing_and_is_not_applied() {
    let (mut d, dp, _) = with_service();
    let (applied, generation) = (dp.count(), d.generation());
    ok(
        &mut d,
        Request::EditService {
            service: spec(tcp(V1), "wrr"),
        },
    );
    assert_eq!((dp.count(), d.generation()), (applied, generation));
}

#[test]
fn missing_service_is_refused_with_the_message_of_each_command() {
    let (mut d, dp, _) = with_service();
    let k = tcp("10.9.0.1:80");
    refused(
        &mut d,
        &dp,
        Request::EditService {
            service: spec(k, "rr"),
        },
        ErrorKind::NoService,
        "No such service",
    );
    refused(
        &mut d,
        &dp,
        Request::DelService { key: k },
        ErrorKind::NoService,
        "No such service",
    );
    refused(
        &mut d,
        &dp,
        Request::Zero { key: Some(k) },
        ErrorKind::NoService,
        "No such service",
    );
    refused(
        &mut d,
        &dp,
        Request::ListServices { key: Some(k) },
        ErrorKind::NoService,
        "No such service",
    );
    refused(
        &mut d,
        &dp,
        add_dest(k, "10.1.0.10:80", 1),
        ErrorKind::NoService,
        "Service not defined",
    );
    refused(
        &mut d,
        &dp,
        Request::EditDest {
            key: k,
            dest: dest("10.1.0.10:80", Forward::Nat, 1),
        },
        ErrorKind::NoService,
        "Service not defined",
    );
    refused(
        &mut d,
        &dp,
        Request::DelDest {
            key: k,
            addr: sa("10.1.0.10:80"),
        },
        ErrorKind::NoService,
        "Service not defined",
    );
    refused(
        &mut d,
        &dp,
        Request::AddLocalAddr {
            key: k,
            addr: "10.2.0.1".parse().unwrap(),
        },
        ErrorKind::NoService,
        "Service not defined",
    );
    refused(
        &mut d,
        &dp,
        Request::DelLocalAddr {
            key: k,
            addr: "10.2.0.1".parse().unwrap(),
        },
        ErrorKind::NoService,
        "Service not defined",
    );
}

#[test]
fn delete_service_removes_it_with_its_destinations() {
    let (mut d, dp, _) = with_service();
    ok(&mut d, add_service(tcp("10.1.0.101:80"), "rr"));
    let old = d.ids().clone();
    ok(&mut d, Request::DelService { key: tcp(V1) });
    assert_eq!(d.configured().services.len(), 1);
    let (_, ids) = dp.last();
    assert_eq!(ids.retired_services(), &[old.service(&tcp(V1)).unwrap()]);
    assert_eq!(
        ids.retired_dests(),
        &[old.dest(&tcp(V1), sa("10.1.0.10:80")).unwrap()]
    );
}

#[test]
fn clear_removes_every_service_and_nothing_else() {
    let (mut d, _, _) = with_service();
    ok(&mut d, add_service(tcp("10.1.0.101:80"), "rr"));
    ok(
        &mut d,
        Request::AddRoute {
            route: RouteSpec {
                prefix: "10.8.0.0".parse().unwrap(),
                prefix_len: 16,
                via: Some("10.0.0.1".parse().unwrap()),
                port: "dp0".into(),
            },
        },
    );
    ok(&mut d, Request::Clear);
    assert!(d.configured().services.is_empty());
    assert_eq!(d.configured().routes.len(), 1);
    assert_eq!(d.configured().ports[0].addresses.len(), 1);
    // Clearing an empty table is fine, as with ipvsadm -C.
    ok(&mut d, Request::Clear);
}

#[test]
fn generic_scheduler_flags_are_stored_and_listed_and_kept_from_the_dataplane() {
    let (mut d, dp, _) = started(base_config());
    // ipvsadm -A -t 10.1.0.106:80 -s wlc -b flag-1,flag-3: accepted by ipvsadm and the kernel.
    let mut s = spec(tcp("10.1.0.106:80"), "wlc");
    s.sched_flags = vec!["flag-1".into(), "flag-3".into()];
    ok(&mut d, Request::AddService { service: s.clone() });
    // The rvsadm client sends sh's aliases by name, another client may not: flag-1 is sh-fallback.
    let mut sh = spec(tcp("10.1.0.107:80"), "sh");
    sh.sched_flags = vec!["flag-1".into(), "flag-3".into()];
    ok(&mut d, Request::AddService { service: sh });
    let listed: Vec<Vec<String>> = match d.handle(Request::ListServices { key: None }, &root()) {
        Response::Services { services } => {
            services.into_iter().map(|s| s.spec.sched_flags).collect()
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        listed,
        [vec!["flag-1", "flag-3"], vec!["sh-fallback", "flag-3"]]
    );
    // The dataplane gets only what its schedulers act on.
    let (applied, _) = dp.last();
    let handed: Vec<&Vec<String>> = applied.services.iter().map(|s| &s.sched_flags).collect();
    assert_eq!(
        handed,
        [&Vec::<String>::new(), &vec!["sh-fallback".to_string()]]
    );
}

#[test]
fn weights_go_up_to_what_the_kernel_takes() {
    let (mut d, dp, _) = with_service();
    ok(&mut d, add_dest(tcp(V1), "10.1.0.26:80", 2_147_483_647));
    let (applied, _) = dp.last();
    assert_eq!(applied.services[0].real_servers[1].weight, 2_147_483_647);
    match d.handle(Request::ListServices { key: Some(tcp(V1)) }, &root()) {
        Response::Services { services } => {
            assert_eq!(services[0].dests[1].spec.weight, 2_147_483_647)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_dest_port_is_taken_as_written_and_duplicates_are_detected() {
    let (mut d, dp, _) = with_service();
    refused(
        &mut d,
        &dp,
        add_dest(tcp(V1), "10.1.0.10:80", 5),
        ErrorKind::DestExists,
        "Destination already exists",
    );
    // An explicit port 0 is a destination of its own, as the kernel keeps it (ipvsadm
    // fills in the service's port only when -r names no port).
    ok(&mut d, add_dest(tcp(V1), "10.1.0.10:0", 5));
    refused(
        &mut d,
        &dp,
        add_dest(tcp(V1), "10.1.0.10:0", 5),
        ErrorKind::DestExists,
        "Destination already exists",
    );
    ok(&mut d, add_dest(tcp(V1), "10.1.0.10:8080", 2));
    match d.handle(Request::ListServices { key: Some(tcp(V1)) }, &root()) {
        Response::Services { services } => {
            let addrs: Vec<_> = services[0].dests.iter().map(|d| d.spec.addr).collect();
            assert_eq!(
                addrs,
                vec![sa("10.1.0.10:80"), sa("10.1.0.10:0"), sa("10.1.0.10:8080")]
            );
        }
        other => panic!("{other:?}"),
    }
    // The dataplane gets port 0 for it (it forwards to the packet's own port, as IPVS
    // does), and an id of its own.
    let (applied, ids) = dp.last();
    let ports: Vec<u16> = applied.services[0]
        .real_servers
        .iter()
        .map(|rs| control::director::convert::effective_port(&applied.services[0], rs))
        .collect();
    assert_eq!(ports, [80, 0, 8080]);
    let zero = ids.dest(&tcp(V1), sa("10.1.0.10:0"));
    assert!(zero.is_some());
    assert_ne!(zero, ids.dest(&tcp(V1), sa("10.1.0.10:80")));
    // -e and -d name it as 10.1.0.10:0 too.
    ok(
        &mut d,
        Request::EditDest {
            key: tcp(V1),
            dest: dest("10.1.0.10:0", Forward::Nat, 9),
        },
    );
    assert_eq!(d.configured().services[0].real_servers[1].weight, 9);
    assert_eq!(d.configured().services[0].real_servers[0].weight, 1);
    ok(
        &mut d,
        Request::DelDest {
            key: tcp(V1),
            addr: sa("10.1.0.10:0"),
        },
    );
    assert_eq!(d.configured().services[0].real_servers.len(), 2);
}

#[test]
fn destination_values_are_checked_as_ipvsadm_and_the_kernel_do() {
    let (mut d, dp, _) = with_service();
    refused(
        &mut d,
        &dp,
        add_dest(tcp(V1), "10.1.0.12:80", 2_147_483_648),
        ErrorKind::Invalid,
        "illegal weight specified",
    );
    let mut x = dest("10.1.0.12:80", Forward::Nat, 1);
    x.upper = 10;
    x.lower = 20;
    refused(
        &mut d,
        &dp,
        Request::AddDest {
            key: tcp(V1),
            dest: x.clone(),
        },
        ErrorKind::Invalid,
        "Numerical result out of range",
    );
    // The kernel checks thresholds before it looks the destination up.
    x.addr = sa("10.1.0.10:80");
    refused(
        &mut d,
        &dp,
        Request::AddDest {
            key: tcp(V1),
            dest: x,
        },
        ErrorKind::Invalid,
        "Numerical result out of range",
    );
    refused(
        &mut d,
        &dp,
        add_dest(tcp(V1), "224.0.0.1:80", 1),
        ErrorKind::Invalid,
        "Invalid operation.  Possibly wrong module version, address not unicast, ...",
    );
    refused(
        &mut d,
        &dp,
        add_dest(tcp(V1), "[2001:db8::10]:80", 1),
        ErrorKind::Invalid,
        "Different address family is allowed only for tunneling servers",
    );
    let mut gue = dest("10.1.0.12:80", Forward::Tun, 1);
    gue.tunnel.kind = TunnelType::Gue;
    refused(
        &mut d,
        &dp,
        Request::AddDest {
            key: tcp(V1),
            dest: gue.clone(),
        },
        ErrorKind::Invalid,
        "a GUE tunnel needs its UDP port (--tun-port)",
    );
    gue.tunnel.port = 6080;
    ok(
        &mut d,
        Request::AddDest {
            key: tcp(V1),
            dest: gue,
        },
    );
    // A tunnelled destination may be of the other family.
    ok(
        &mut d,
        Request::AddDest {
            key: tcp(V1),
            dest: dest("[2001:db8::10]:80", Forward::Tun, 1),
        },
    );
    let mut th = dest("10.1.0.13:80", Forward::Nat, 1);
    th.upper = 100;
    th.lower = 50;
    ok(
        &mut d,
        Request::AddDest {
            key: tcp(V1),
            dest: th,
        },
    );
}

#[test]
fn edit_dest_needs_the_destination_and_keeps_its_checks() {
    let (mut d, dp, _) = with_service();
    refused(
        &mut d,
        &dp,
        Request::EditDest {
            key: tcp(V1),
            dest: dest("10.1.0.11:80", Forward::Nat, 1),
        },
        ErrorKind::NoDest,
        "No such destination",
    );
    // Give the server a checker as a configuration file would, then edit it.
    let mut cfg = d.configured().clone();
    cfg.services[0].real_servers[0].checks.push(Check::Tcp {
        common: CheckCommon::default(),
    });
    let (mut d, dp, _) = started(cfg);
    let mut e = dest("10.1.0.10:80", Forward::Dr, 9);
    e.upper = 7;
    ok(
        &mut d,
        Request::EditDest {
            key: tcp(V1),
            dest: e.clone(),
        },
    );
    let rs: &RealServer = &d.configured().services[0].real_servers[0];
    assert_eq!(
        (rs.weight, rs.forward, rs.upper_threshold),
        (9, Some(Forward::Dr), 7)
    );
    assert_eq!(rs.checks.len(), 1, "-e must not drop the health check");
    let mut bad = e;
    bad.weight = 2_147_483_648;
    refused(
        &mut d,
        &dp,
        Request::EditDest {
            key: tcp(V1),
            dest: bad,
        },
        ErrorKind::Invalid,
        "illegal weight specified",
    );
}

#[test]
fn delete_dest_needs_the_destination() {
    let (mut d, dp, _) = with_service();
    refused(
        &mut d,
        &dp,
        Request::DelDest {
            key: tcp(V1),
            addr: sa("10.1.0.11:80"),
        },
        ErrorKind::NoDest,
        "No such destination",
    );
    refused(
        &mut d,
        &dp,
        Request::DelDest {
            key: tcp(V1),
            addr: sa("10.1.0.10:0"),
        },
        ErrorKind::NoDest,
        "No such destination",
    );
    ok(
        &mut d,
        Request::DelDest {
            key: tcp(V1),
            addr: sa("10.1.0.10:80"),
        },
    );
    assert!(d.configured().services[0].real_servers.is_empty());
}

#[test]
fn timeouts_are_set_per_value_and_read_back() {
    let (mut d, dp, _) = with_service();
    assert_eq!(
        d.handle(Request::GetTimeouts, &root()),
        Response::Timeouts {
            timeouts: Timeouts {
                tcp: 900,
                tcp_fin: 120,
                udp: 300
            }
        }
    );
    ok(
        &mut d,
        Request::SetTimeouts {
            timeouts: Timeouts {
                tcp: 0,
                tcp_fin: 10,
                udp: 0,
            },
        },
    );
    assert_eq!(
        d.handle(Request::GetTimeouts, &root()),
        Response::Timeouts {
            timeouts: Timeouts {
                tcp: 900,
                tcp_fin: 10,
                udp: 300
            }
        }
    );
    refused(
        &mut d,
        &dp,
        Request::SetTimeouts {
            timeouts: Timeouts {
                tcp: 86_400 * 31 + 1,
                tcp_fin: 0,
                udp: 0,
            },
        },
        ErrorKind::Invalid,
        "invalid timeout value `2678401' specified",
    );
}

#[test]
fn local_addresses_are_per_service_even_when_a_pool_is_shared() {
    let mut cfg = base_config();
    cfg.local_address_groups.insert(
        "pool".into(),
        LocalAddressGroup {
            addresses: vec![LocalAddress {
                address: "10.3.0.1".parse().unwrap(),
                port: Some("dp0".into()),
            }],
        },
    );
    for vip in [V1, "10.1.0.101:80"] {
        let mut s = control::director::convert::new_service(
            proto::Protocol::Tcp,
            sa(vip),
            &spec(tcp(vip), "rr"),
        );
        s.local_address_group = Some("pool".into());
        cfg.services.push(s);
    }
    let (mut d, dp, _) = started(cfg);
    let l1 = "10.3.0.1".parse().unwrap();
    let l2 = "10.3.0.2".parse().unwrap();
    refused(
        &mut d,
        &dp,
        Request::AddLocalAddr {
            key: tcp(V1),
            addr: l1,
        },
        ErrorKind::Exists,
        "Local address already exists",
    );
    refused(
        &mut d,
        &dp,
        Request::DelLocalAddr {
            key: tcp(V1),
            addr: l2,
        },
        ErrorKind::NotFound,
        "No such Local address",
    );
    refused(
        &mut d,
        &dp,
        Request::AddLocalAddr {
            key: tcp(V1),
            addr: "224.0.0.1".parse().unwrap(),
        },
        ErrorKind::Invalid,
        "illegal local address",
    );
    ok(
        &mut d,
        Request::AddLocalAddr {
            key: tcp(V1),
            addr: l2,
        },
    );
    let laddrs = |d: &mut control::director::Director, k| match d
        .handle(Request::ListServices { key: Some(k) }, &root())
    {
        Response::Services { services } => services[0].local_addrs.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(laddrs(&mut d, tcp(V1)), vec![l1, l2]);
    // The other service still has the shared pool, unchanged.
    assert_eq!(laddrs(&mut d, tcp("10.1.0.101:80")), vec![l1]);
    assert_eq!(
        d.configured().services[1].local_address_group.as_deref(),
        Some("pool")
    );
    // Removing every address of the private pool removes the pool.
    ok(
        &mut d,
        Request::DelLocalAddr {
            key: tcp(V1),
            addr: l1,
        },
    );
    ok(
        &mut d,
        Request::DelLocalAddr {
            key: tcp(V1),
            addr: l2,
        },
    );
    assert!(laddrs(&mut d, tcp(V1)).is_empty());
    assert_eq!(
        d.configured()
            .local_address_groups
            .keys()
            .collect::<Vec<_>>(),
        vec!["pool"]
    );
}

#[test]
fn director_addresses_routes_and_neighbours() {
    let (mut d, dp, _) = started(base_config());
    let a = |addr: &str, len, port: &str| AddressSpec {
        port: port.into(),
        addr: addr.parse().unwrap(),
        prefix_len: len,
    };
    ok(
        &mut d,
        Request::AddAddress {
            address: a("10.0.1.2", 24, "dp0"),
        },
    );
    refused(
        &mut d,
        &dp,
        Request::AddAddress {
            address: a("10.0.1.2", 24, "dp0"),
        },
        ErrorKind::Exists,
        "address 10.0.1.2 already exists on port dp0",
    );
    refused(
        &mut d,
        &dp,
        Request::AddAddress {
            address: a("10.0.1.3", 24, "dp9"),
        },
        ErrorKind::NotFound,
        "no such port \"dp9\"",
    );
    refused(
        &mut d,
        &dp,
        Request::AddAddress {
            address: a("10.0.1.3", 33, "dp0"),
        },
        ErrorKind::Invalid,
        "invalid prefix length 33 for 10.0.1.3",
    );
    refused(
        &mut d,
        &dp,
        Request::DelAddress {
            address: a("10.0.1.2", 16, "dp0"),
        },
        ErrorKind::NotFound,
        "address 10.0.1.2/16 is not on port dp0",
    );
    assert_eq!(
        d.handle(Request::ListAddresses, &root()),
        Response::Addresses {
            addresses: vec![a("10.0.0.2", 24, "dp0"), a("10.0.1.2", 24, "dp0")]
        }
    );
    ok(
        &mut d,
        Request::DelAddress {
            address: a("10.0.1.2", 24, "dp0"),
        },
    );

    let r = |p: &str, len, via: Option<&str>| RouteSpec {
        prefix: p.parse().unwrap(),
        prefix_len: len,
        via: via.map(|v| v.parse().unwrap()),
        port: "dp0".into(),
    };
    ok(
        &mut d,
        Request::AddRoute {
            route: r("0.0.0.0", 0, Some("10.0.0.1")),
        },
    );
    refused(
        &mut d,
        &dp,
        Request::AddRoute {
            route: r("0.0.0.0", 0, Some("10.0.0.254")),
        },
        ErrorKind::Exists,
        "route to 0.0.0.0/0 already exists",
    );
    refused(
        &mut d,
        &dp,
        Request::AddRoute {
            route: r("10.8.0.1", 16, None),
        },
        ErrorKind::Invalid,
        "Invalid prefix for given prefix length",
    );
    refused(
        &mut d,
        &dp,
        Request::AddRoute {
            route: r("10.8.0.0", 16, Some("2001:db8::1")),
        },
        ErrorKind::Invalid,
        "invalid gateway 2001:db8::1 for 10.8.0.0/16",
    );
    refused(
        &mut d,
        &dp,
        Request::DelRoute {
            route: r("10.9.0.0", 16, None),
        },
        ErrorKind::NotFound,
        "no route to 10.9.0.0/16",
    );
    assert_eq!(
        d.handle(Request::ListRoutes, &root()),
        Response::Routes {
            routes: vec![r("0.0.0.0", 0, Some("10.0.0.1"))]
        }
    );
    ok(
        &mut d,
        Request::DelRoute {
            route: r("0.0.0.0", 0, None),
        },
    );

    let n = |addr: &str, mac| NeighSpec {
        port: "dp0".into(),
        addr: addr.parse().unwrap(),
        mac,
    };
    let mac = [0x02, 0, 0, 0, 0, 0x10];
    ok(
        &mut d,
        Request::AddNeigh {
            neigh: n("10.0.0.10", mac),
        },
    );
    assert_eq!(d.configured().neighbours[0].mac, "02:00:00:00:00:10");
    refused(
        &mut d,
        &dp,
        Request::AddNeigh {
            neigh: n("10.0.0.10", mac),
        },
        ErrorKind::Exists,
        "neighbour 10.0.0.10 already exists on port dp0",
    );
    refused(
        &mut d,
        &dp,
        Request::AddNeigh {
            neigh: n("10.0.0.11", [1, 0, 0x5e, 0, 0, 1]),
        },
        ErrorKind::Invalid,
        "01:00:5e:00:00:01 is not a unicast MAC address",
    );
    refused(
        &mut d,
        &dp,
        Request::DelNeigh {
            neigh: n("10.0.0.11", mac),
        },
        ErrorKind::NotFound,
        "no neighbour 10.0.0.11 on port dp0",
    );
    match d.handle(Request::ListNeighs, &root()) {
        Response::Neighs { neighs } => {
            assert_eq!(neighs.len(), 1);
            assert_eq!(neighs[0].spec, n("10.0.0.10", mac));
            assert!(neighs[0].is_static);
            assert_eq!(neighs[0].state, "PERMANENT");
        }
        other => panic!("{other:?}"),
    }
    ok(
        &mut d,
        Request::DelNeigh {
            neigh: n("10.0.0.10", [0; 6]),
        },
    );
    assert!(d.configured().neighbours.is_empty());
}

#[test]
fn a_batch_is_all_or_nothing() {
    let (mut d, dp, _) = with_service();
    let k2 = tcp("10.1.0.101:80");
    // The third request fails: the first two must not survive.
    refused(
        &mut d,
        &dp,
        Request::Batch {
            requests: vec![
                add_service(k2, "rr"),
                add_dest(k2, "10.1.0.20:80", 1),
                add_dest(tcp(V1), "10.1.0.10:80", 1),
            ],
        },
        ErrorKind::DestExists,
        "batch request 3: Destination already exists",
    );
    refused(
        &mut d,
        &dp,
        Request::Batch {
            requests: vec![Request::Batch { requests: vec![] }],
        },
        ErrorKind::Invalid,
        "batch request 1: only changes can be batched",
    );
    refused(
        &mut d,
        &dp,
        Request::Batch {
            requests: vec![Request::Zero { key: None }],
        },
        ErrorKind::Invalid,
        "batch request 1: only changes can be batched",
    );
    let (applied, generation) = (dp.count(), d.generation());
    ok(
        &mut d,
        Request::Batch {
            requests: vec![
                add_service(k2, "rr"),
                add_dest(k2, "10.1.0.20:80", 1),
                add_dest(k2, "10.1.0.21:80", 1),
            ],
        },
    );
    assert_eq!(
        dp.count(),
        applied + 1,
        "a batch reaches the dataplane as one change"
    );
    assert_eq!(d.generation(), generation + 1);
    assert_eq!(d.configured().services[1].real_servers.len(), 2);
}

#[test]
fn a_caller_who_is_not_allowed_gets_permission_denied_for_everything_but_hello() {
    let (mut d, _, _) = with_service();
    let nobody = control::director::Caller {
        uid: 65534,
        gid: 65534,
        pid: None,
        authorized: false,
    };
    let before = d.configured().clone();
    assert!(matches!(
        d.handle(Request::Hello { version: 1 }, &nobody),
        Response::Hello { .. }
    ));
    for req in [
        add_service(tcp("10.1.0.101:80"), "rr"),
        Request::DelService { key: tcp(V1) },
        Request::Clear,
        Request::ListServices { key: None },
        Request::Info,
        Request::Zero { key: None },
        Request::Batch {
            requests: vec![Request::Clear],
        },
    ] {
        assert_eq!(
            d.handle(req, &nobody),
            Response::Error {
                kind: ErrorKind::PermissionDenied,
                message: "Permission denied (you must be root)".into()
            }
        );
    }
    assert_eq!(d.configured(), &before);
}

#[test]
fn a_dataplane_that_refuses_a_change_leaves_everything_as_it_was() {
    let (mut d, dp, _) = with_service();
    dp.set_failing(true);
    refused(
        &mut d,
        &dp,
        add_service(tcp("10.1.0.101:80"), "rr"),
        ErrorKind::Internal,
        "the dataplane did not take the change (worker 0 is gone); nothing was changed",
    );
    dp.set_failing(false);
    ok(&mut d, add_service(tcp("10.1.0.101:80"), "rr"));
}

#[test]
fn info_reports_workers_table_size_and_generation() {
    let mut cfg = base_config();
    cfg.dpdk.workers = vec![1, 2];
    cfg.conn_table.capacity_per_worker = 1000;
    let (mut d, _, _) = started(cfg);
    ok(&mut d, add_service(tcp(V1), "rr"));
    assert_eq!(
        d.handle(Request::Info, &root()),
        Response::Info {
            info: DaemonInfo {
                version: format!("rvsd {}", env!("CARGO_PKG_VERSION")),
                conn_table_size: 2000,
                workers: 2,
                generation: 2
            }
        }
    );
}

#[test]
fn listings_carry_the_counters_of_each_id_in_configuration_order() {
    let (mut d, _, stats) = with_service();
    ok(&mut d, add_dest(tcp(V1), "10.1.0.9:80", 3));
    ok(&mut d, add_service(tcp("10.1.0.5:80"), "rr"));
    let sid = d.ids().service(&tcp(V1)).unwrap();
    let did = d.ids().dest(&tcp(V1), sa("10.1.0.9:80")).unwrap();
    stats.services.lock().unwrap().insert(
        sid,
        control::director::ServiceCounters {
            stats: Stats {
                conns: 7,
                inpkts: 70,
                outpkts: 60,
                inbytes: 7000,
                outbytes: 6000,
            },
            ..Default::default()
        },
    );
    stats.dests.lock().unwrap().insert(
        did,
        control::director::DestCounters {
            active_conns: 4,
            inactive_conns: 2,
            persist_conns: 0,
            stats: Stats {
                conns: 6,
                ..Default::default()
            },
            ..Default::default()
        },
    );
    match d.handle(Request::ListServices { key: None }, &root()) {
        Response::Services { services } => {
            assert_eq!(services.len(), 2);
            assert_eq!(
                services[0].spec.key,
                tcp(V1),
                "configuration order, not sorted"
            );
            assert_eq!(services[0].stats.conns, 7);
            assert_eq!(services[0].dests[0].active_conns, 0);
            assert_eq!(services[0].dests[1].spec.addr, sa("10.1.0.9:80"));
            assert_eq!(
                (
                    services[0].dests[1].active_conns,
                    services[0].dests[1].inactive_conns,
                    services[0].dests[1].stats.conns
                ),
                (4, 2, 6)
            );
            assert!(services[0].dests[1].healthy);
            assert_eq!(services[1].stats.conns, 0);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn zero_reaches_the_counters_of_one_service_or_all() {
    let (mut d, _, stats) = with_service();
    ok(&mut d, add_service(tcp("10.1.0.5:80"), "rr"));
    ok(&mut d, add_dest(tcp("10.1.0.5:80"), "10.1.0.50:80", 1));
    let ids = d.ids().clone();
    ok(&mut d, Request::Zero { key: Some(tcp(V1)) });
    ok(&mut d, Request::Zero { key: None });
    let zeroed = stats.zeroed.lock().unwrap().clone();
    assert_eq!(
        zeroed[0],
        (
            vec![ids.service(&tcp(V1)).unwrap()],
            vec![ids.dest(&tcp(V1), sa("10.1.0.10:80")).unwrap()]
        )
    );
    let mut all_s = zeroed[1].0.clone();
    all_s.sort();
    let mut want: Vec<_> = ids.services().map(|(_, id)| id).collect();
    want.sort();
    assert_eq!(all_s, want);
    assert_eq!(zeroed[1].1.len(), 2);
}

#[test]
fn observability_requests_pass_the_daemon_s_answers_through() {
    let status = FakeStatus {
        counters: vec![Counter {
            name: "drop_no_service".into(),
            value: 3,
        }],
        ..Default::default()
    };
    let dp = Dataplane::default();
    let mut d = control::director::Director::new(base_config(), Box::new(RecordingApplier(dp)))
        .with_status(Box::new(status));
    d.start().unwrap();
    assert_eq!(
        d.handle(Request::Counters, &root()),
        Response::Counters {
            counters: vec![Counter {
                name: "drop_no_service".into(),
                value: 3
            }]
        }
    );
    assert_eq!(
        d.handle(Request::ListConns, &root()),
        Response::Conns { conns: vec![] }
    );
    assert_eq!(
        d.handle(Request::CheckerStatus, &root()),
        Response::Checkers { checkers: vec![] }
    );
    assert_eq!(
        d.handle(Request::VrrpStatus, &root()),
        Response::Vrrp { instances: vec![] }
    );
}
