//! The validation contract as the control socket sees it: model in, every problem out, each
//! named by its exact path.

use std::net::IpAddr;

use super::*;
use crate::config::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn real(addr: &str) -> RealServer {
    RealServer {
        address: ip(addr),
        port: 0,
        port_zero: false,
        weight: 1,
        forward: None,
        tunnel: TunnelType::Ipip,
        tunnel_port: 0,
        tunnel_csum: TunnelCsum::NoCsum,
        upper_threshold: 0,
        lower_threshold: 0,
        inhibit_on_failure: None,
        notify_up: None,
        notify_down: None,
        delay_loop: None,
        checks: vec![Check::Tcp {
            common: CheckCommon::default(),
        }],
    }
}

fn service(addr: &str, port: u16) -> VirtualService {
    VirtualService {
        protocol: Protocol::Tcp,
        address: ip(addr),
        port,
        scheduler: "wlc".into(),
        sched_flags: vec![],
        persistence_timeout: None,
        persistence_netmask: None,
        one_packet: false,
        forward: Forward::Nat,
        local_address_group: None,
        client_address: ClientAddr::Toa,
        check: ServiceCheckDefaults::default(),
        sorry_server: None,
        real_servers: vec![real("10.0.1.1")],
    }
}

/// The (path, message) pairs of a config's errors.
fn problems(cfg: &Config) -> Vec<(String, String)> {
    match validate(cfg) {
        Ok(()) => Vec::new(),
        Err(errs) => errs.into_iter().map(|e| (e.path, e.message)).collect(),
    }
}

fn paths(cfg: &Config) -> Vec<String> {
    problems(cfg).into_iter().map(|(p, _)| p).collect()
}

#[test]
fn the_default_and_a_plain_service_are_valid() {
    assert_eq!(validate(&Config::default()), Ok(()));
    let mut cfg = Config::default();
    cfg.services.push(service("10.0.0.1", 80));
    assert_eq!(validate(&cfg), Ok(()));
}

#[test]
fn every_problem_is_reported_with_its_path() {
    let mut cfg = Config::default();
    let mut a = service("10.0.0.1", 80);
    a.scheduler = "rrr".into();
    a.real_servers[0].weight = 2_147_483_648;
    a.real_servers[0].upper_threshold = 10;
    a.real_servers[0].lower_threshold = 11;
    let mut b = service("10.0.0.2", 0);
    b.real_servers.push(real("10.0.1.1"));
    b.real_servers[1].checks = vec![Check::Http {
        common: CheckCommon {
            connect_timeout: 0.0,
            ..CheckCommon::default()
        },
        tls: false,
        urls: vec![HttpUrl {
            path: "/".into(),
            status_codes: vec![StatusRange { from: 300, to: 200 }],
            digest: Some("xyz".into()),
            virtualhost: None,
        }],
        virtualhost: None,
        sni: false,
    }];
    cfg.services = vec![a, b];
    assert_eq!(
        paths(&cfg),
        vec![
            "services[0].scheduler",
            "services[0].real_servers[0].weight",
            "services[0].real_servers[0].lower_threshold",
            "services[1].port",
            "services[1].real_servers[1]",
            "services[1].real_servers[1].checks[0].connect_timeout",
            "services[1].real_servers[1].checks[0].urls[0].status_codes[0]",
            "services[1].real_servers[1].checks[0].urls[0].digest",
        ]
    );
    let msgs = problems(&cfg);
    assert_eq!(msgs[0].1, "unknown scheduler \"rrr\"; did you mean \"rr\"?");
    assert_eq!(
        msgs[1].1,
        "weight 2147483648 is out of range 0..=2147483647"
    );
}

#[test]
fn weights_go_up_to_what_ipvs_takes() {
    let mut cfg = Config::default();
    let mut s = service("10.0.0.1", 80);
    s.real_servers[0].weight = 65536;
    s.real_servers.push(real("10.0.1.2"));
    s.real_servers[1].weight = 2_147_483_647;
    cfg.services.push(s);
    assert_eq!(validate(&cfg), Ok(()));
}

#[test]
fn generic_flags_are_accepted_on_every_scheduler() {
    let mut cfg = Config::default();
    for (i, sched) in ["wlc", "rr", "sh", "mh", "lblcr"].iter().enumerate() {
        let mut s = service(&format!("10.0.0.{}", i + 1), 80);
        s.scheduler = sched.to_string();
        s.sched_flags = vec!["flag-1".into(), "flag-2".into(), "flag-3".into()];
        cfg.services.push(s);
    }
    assert_eq!(validate(&cfg), Ok(()));
}

#[test]
fn a_literal_port_zero_is_its_own_real_server() {
    let mut cfg = Config::default();
    let mut s = service("10.0.0.1", 80);
    s.real_servers[0].checks.clear();
    // 10.0.1.1 (the service's port, 80) and 10.0.1.1:0 are two servers, as in IPVS.
    s.real_servers.push(real("10.0.1.1"));
    s.real_servers[1].port_zero = true;
    s.real_servers[1].checks.clear();
    cfg.services.push(s);
    assert_eq!(validate(&cfg), Ok(()));
    // A second 10.0.1.1:80 is a duplicate.
    cfg.services[0].real_servers.push(real("10.0.1.1"));
    cfg.services[0].real_servers[2].port = 80;
    assert_eq!(paths(&cfg), vec!["services[0].real_servers[2]"]);
    cfg.services[0].real_servers.pop();
    // port_zero says the port is 0: with another port it contradicts itself, and a checker
    // could not be matched to it.
    cfg.services[0].real_servers[1].port = 8080;
    cfg.services[0].real_servers[1].checks = vec![Check::Tcp {
        common: CheckCommon::default(),
    }];
    assert_eq!(
        problems(&cfg),
        vec![
            (
                "services[0].real_servers[1].port_zero".to_string(),
                "port_zero needs port 0 (it has 8080)".to_string()
            ),
            (
                "services[0].real_servers[1].checks".to_string(),
                "a real server with port_zero (ipvsadm's ADDR:0) cannot be health-checked"
                    .to_string()
            ),
        ]
    );
}

#[test]
fn scheduler_flags_must_match_the_scheduler() {
    let mut cfg = Config::default();
    let mut s = service("10.0.0.1", 80);
    s.scheduler = "mh".into();
    s.sched_flags = vec!["mh-port".into(), "sh-port".into(), "mh-portt".into()];
    cfg.services.push(s);
    let p = problems(&cfg);
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(p[0].0, "services[0].sched_flags[1]");
    assert_eq!(
        p[0].1,
        "flag sh-port applies to the sh scheduler only, not mh"
    );
    assert_eq!(
        p[1].1,
        "unknown scheduler flag \"mh-portt\"; did you mean \"mh-port\"?"
    );
}

#[test]
fn address_families_must_agree_except_through_tunnels() {
    let mut cfg = Config::default();
    let mut s = service("10.0.0.1", 80);
    s.real_servers = vec![real("2001:db8::1")];
    cfg.services.push(s.clone());
    assert_eq!(paths(&cfg), vec!["services[0].real_servers[0].address"]);
    cfg.services[0].forward = Forward::Tun;
    assert_eq!(validate(&cfg), Ok(()), "TUN may cross families");
    cfg.services[0].forward = Forward::FullNat;
    cfg.services[0].real_servers = vec![real("10.0.1.1")];
    cfg.services[0].local_address_group = Some("g".into());
    cfg.local_address_groups.insert(
        "g".into(),
        LocalAddressGroup {
            addresses: vec![LocalAddress {
                address: ip("2001:db8::5"),
                port: None,
            }],
        },
    );
    let p = problems(&cfg);
    assert_eq!(p[0].0, "services[0].local_address_group");
    assert!(p[0].1.contains("is IPv6 but the service is IPv4"), "{p:?}");
    cfg.local_address_groups.get_mut("g").unwrap().addresses = vec![];
    assert!(problems(&cfg)[0].1.contains("is empty"));
}

#[test]
fn ports_named_by_routes_and_pools_must_exist() {
    let mut cfg = Config::default();
    cfg.routes.push(Route {
        prefix: "10.1.0.0/16".parse().unwrap(),
        via: Some(ip("10.0.0.1")),
        port: "dp0".into(),
    });
    assert_eq!(
        problems(&cfg),
        vec![(
            "routes[0].port".to_string(),
            "port \"dp0\" does not exist (no ports are defined)".to_string()
        )]
    );
    // Pools may name DPDK ports before any are defined (a keepalived.conf import) ...
    cfg.routes.clear();
    cfg.local_address_groups.insert(
        "g".into(),
        LocalAddressGroup {
            addresses: vec![LocalAddress {
                address: ip("10.0.0.5"),
                port: Some("dpdk0".into()),
            }],
        },
    );
    assert_eq!(validate(&cfg), Ok(()));
    // ... but once ports exist, the names must be theirs.
    cfg.ports.push(Port {
        name: "dp0".into(),
        device: "net_tap0".into(),
        addresses: vec![],
        mtu: 1500,
        kernel_port: None,
    });
    assert_eq!(
        paths(&cfg),
        vec!["local_address_groups.g.addresses[0].port"]
    );
}

#[test]
fn vrrp_names_members_and_vrids() {
    let inst = |name: &str, vrid: u8, iface: &str| VrrpInstance {
        name: name.into(),
        state: VrrpState::Backup,
        interface: iface.into(),
        virtual_router_id: vrid,
        priority: 100,
        advert_int: 1.0,
        version: None,
        authentication: None,
        virtual_ipaddress: vec![VirtualAddress {
            address: "10.0.0.10/24".parse().unwrap(),
            dev: None,
            label: None,
            scope: None,
        }],
        virtual_ipaddress_excluded: vec![],
        nopreempt: false,
        preempt_delay: 0.0,
        garp_master_delay: None,
        garp_master_repeat: None,
        garp_master_refresh: None,
        garp_master_refresh_repeat: None,
        track_interface: vec![],
        track_script: vec![],
        unicast_src_ip: None,
        unicast_peer: vec![],
        use_vmac: false,
        notify_master: None,
        notify_backup: None,
        notify_fault: None,
        notify_stop: None,
        notify: None,
    };
    let mut cfg = Config {
        vrrp_instances: vec![
            inst("A", 1, "eth0"),
            inst("B", 1, "eth1"),
            inst("A", 1, "eth0"),
        ],
        ..Config::default()
    };
    cfg.vrrp_sync_groups.push(VrrpSyncGroup {
        name: "G".into(),
        group: vec!["B".into(), "C".into()],
        notify_master: None,
        notify_backup: None,
        notify_fault: None,
        notify: None,
        track_script: vec![],
        track_interface: vec![],
    });
    assert_eq!(
        paths(&cfg),
        vec![
            "vrrp_instances[2].name",
            "vrrp_instances[2].virtual_router_id",
            "vrrp_sync_groups[0].group[1]",
        ]
    );
    // IPv6 instances default to VRRPv3, and v3 has no authentication.
    let mut v6 = inst("V6", 2, "eth0");
    v6.virtual_ipaddress[0].address = "2001:db8::10/64".parse().unwrap();
    v6.advert_int = 0.5;
    cfg = Config::default();
    cfg.vrrp_instances.push(v6.clone());
    assert_eq!(validate(&cfg), Ok(()));
    assert_eq!(vrrp::effective_version(&cfg, &v6), 3);
    cfg.vrrp_instances[0].version = Some(2);
    assert_eq!(paths(&cfg)[0], "vrrp_instances[0].version");
}
