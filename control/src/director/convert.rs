//! The one place where the control protocol's specs and the configuration model meet.
//!
//! A request speaks ipvsadm (`ServiceSpec`, `DestSpec`, keyed by protocol + VIP:port and by
//! destination address:port); the model speaks keepalived (`VirtualService`, `RealServer`,
//! with health checks and other settings ipvsadm never sees). Converting a spec into a model
//! item therefore comes in two forms: *new* (everything ipvsadm does not say takes the model's
//! default) and *update* (`-E`/`-e`: only what the spec carries changes, health checks,
//! notify scripts, sorry server and the like are kept).
//!
//! Identity: a service is its protocol, address and port; a real server within a service is
//! its address and *effective* port ([`RealServer::port_in`]: the model's port 0 means "the
//! service's port", as in keepalived, so a file's `10.0.0.1` and `10.0.0.1:80` under a
//! port-80 service are the same server). A request's destination port is taken as written,
//! as the kernel takes it: ipvsadm fills in the service's port when `-r` names none, and an
//! explicit `-r 10.0.0.1:0` is a destination of its own, kept as port 0 (`port_zero`),
//! listed as `10.0.0.1:0` and forwarded to the packet's own destination port.

use std::net::{IpAddr, SocketAddr};

use proto::{DestSpec, Protocol, ServiceKey, ServiceSpec, Tunnel};

use crate::config::sched_flags;
use crate::config::{ClientAddr, Config, Forward, RealServer, VirtualService};

/// Full prefix length of an address family: persistence netmask "not set".
pub fn full_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { 32 } else { 128 }
}

/// The protocol key of a configured service.
pub fn service_key(svc: &VirtualService) -> ServiceKey {
    ServiceKey::Addr {
        protocol: svc.protocol,
        addr: SocketAddr::new(svc.address, svc.port),
    }
}

/// True when `svc` is the service `protocol` + `addr` names.
pub fn is_service(svc: &VirtualService, protocol: Protocol, addr: SocketAddr) -> bool {
    svc.protocol == protocol && svc.address == addr.ip() && svc.port == addr.port()
}

/// Index of the service a key names; `None` for fwmark keys and unknown services.
pub fn find_service(cfg: &Config, key: &ServiceKey) -> Option<usize> {
    match *key {
        ServiceKey::Addr { protocol, addr } => cfg
            .services
            .iter()
            .position(|s| is_service(s, protocol, addr)),
        ServiceKey::Fwmark { .. } => None,
    }
}

/// The port a real server is listed with and handed to the dataplane with
/// ([`RealServer::port_in`]); 0 only for ipvsadm's `ADDR:0` (or under a port-0 service),
/// which the dataplane, like IPVS, forwards to the packet's own destination port.
pub fn effective_port(svc: &VirtualService, rs: &RealServer) -> u16 {
    rs.port_in(svc.port)
}

/// The address:port identity of a real server within its service.
pub fn dest_addr(svc: &VirtualService, rs: &RealServer) -> SocketAddr {
    SocketAddr::new(rs.address, effective_port(svc, rs))
}

/// Index of the real server of `svc` at exactly `addr` (port 0 is port 0, as in IPVS).
pub fn find_dest(svc: &VirtualService, addr: SocketAddr) -> Option<usize> {
    svc.real_servers
        .iter()
        .position(|rs| dest_addr(svc, rs) == addr)
}

/// A new service from `-A`: the spec's settings, the model's defaults for everything else.
pub fn new_service(protocol: Protocol, addr: SocketAddr, spec: &ServiceSpec) -> VirtualService {
    let mut svc = VirtualService {
        protocol,
        address: addr.ip(),
        port: addr.port(),
        scheduler: String::new(),
        sched_flags: Vec::new(),
        persistence_timeout: None,
        persistence_netmask: None,
        one_packet: false,
        forward: Forward::Nat,
        local_address_group: None,
        client_address: ClientAddr::default(),
        check: Default::default(),
        sorry_server: None,
        real_servers: Vec::new(),
    };
    update_service(&mut svc, spec);
    svc
}

/// `-E`: replaces what a `ServiceSpec` carries, keeps the rest (real servers, checks ...).
pub fn update_service(svc: &mut VirtualService, spec: &ServiceSpec) {
    svc.scheduler.clone_from(&spec.scheduler);
    // IPVS keeps bits, so `flag-1` on sh *is* sh-fallback: keep the name that says so.
    svc.sched_flags = sched_flags::canonical_list(&spec.scheduler, &spec.sched_flags);
    svc.persistence_timeout = spec.persistent;
    svc.persistence_netmask = if spec.netmask >= full_prefix(svc.address) {
        None
    } else {
        Some(spec.netmask)
    };
    svc.one_packet = spec.one_packet;
    svc.client_address = spec.client_addr;
}

/// The spec of a configured service, as `-L`/`-S` show it.
pub fn service_spec(svc: &VirtualService) -> ServiceSpec {
    ServiceSpec {
        key: service_key(svc),
        scheduler: svc.scheduler.clone(),
        sched_flags: svc.sched_flags.clone(),
        persistent: svc.persistence_timeout,
        netmask: svc
            .persistence_netmask
            .unwrap_or_else(|| full_prefix(svc.address)),
        one_packet: svc.one_packet,
        client_addr: svc.client_address,
    }
}

/// A new real server from `-a`: the spec's settings, the model's defaults for the rest.
/// Port 0 stays 0 (`port_zero`) under a service with a port, as the kernel keeps it.
pub fn new_real_server(svc: &VirtualService, dest: &DestSpec) -> RealServer {
    let addr = dest.addr;
    let mut rs = RealServer {
        address: addr.ip(),
        port: addr.port(),
        port_zero: addr.port() == 0 && svc.port != 0,
        weight: 1,
        forward: None,
        tunnel: Default::default(),
        tunnel_port: 0,
        tunnel_csum: Default::default(),
        upper_threshold: 0,
        lower_threshold: 0,
        inhibit_on_failure: None,
        notify_up: None,
        notify_down: None,
        delay_loop: None,
        checks: Vec::new(),
    };
    update_real_server(svc.forward, &mut rs, dest);
    rs
}

/// `-e`: replaces what a `DestSpec` carries (weight, method, tunnel, thresholds), keeps the
/// identity and everything keepalived-only (checks, notify scripts, inhibit_on_failure).
pub fn update_real_server(service_forward: Forward, rs: &mut RealServer, dest: &DestSpec) {
    rs.weight = dest.weight;
    // Store the method only where it differs from the service's default, as a keepalived
    // configuration would say it.
    rs.forward = (dest.forward != service_forward).then_some(dest.forward);
    rs.tunnel = dest.tunnel.kind;
    rs.tunnel_port = dest.tunnel.port;
    rs.tunnel_csum = dest.tunnel.csum;
    rs.upper_threshold = dest.upper;
    rs.lower_threshold = dest.lower;
}

/// The spec of a configured real server, as `-L`/`-S` show it.
pub fn dest_spec(svc: &VirtualService, rs: &RealServer) -> DestSpec {
    DestSpec {
        addr: dest_addr(svc, rs),
        forward: rs.forward.unwrap_or(svc.forward),
        tunnel: Tunnel {
            kind: rs.tunnel,
            port: rs.tunnel_port,
            csum: rs.tunnel_csum,
        },
        weight: rs.weight,
        upper: rs.upper_threshold,
        lower: rs.lower_threshold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::{TunnelCsum, TunnelType};

    fn spec(addr: &str) -> ServiceSpec {
        ServiceSpec {
            key: ServiceKey::Addr {
                protocol: Protocol::Tcp,
                addr: addr.parse().unwrap(),
            },
            scheduler: "wrr".into(),
            sched_flags: vec![],
            persistent: Some(300),
            netmask: 24,
            one_packet: false,
            client_addr: ClientAddr::ProxyV2,
        }
    }

    #[test]
    fn service_round_trips_through_the_model() {
        let s = spec("10.0.0.1:80");
        let svc = new_service(Protocol::Tcp, "10.0.0.1:80".parse().unwrap(), &s);
        assert_eq!(svc.persistence_netmask, Some(24));
        assert_eq!(service_spec(&svc), s);
        let mut full = s.clone();
        full.netmask = 32;
        let svc = new_service(Protocol::Tcp, "10.0.0.1:80".parse().unwrap(), &full);
        assert_eq!(svc.persistence_netmask, None);
        assert_eq!(service_spec(&svc).netmask, 32);
    }

    fn dest(addr: &str) -> DestSpec {
        DestSpec {
            addr: addr.parse().unwrap(),
            forward: Forward::Tun,
            tunnel: Tunnel {
                kind: TunnelType::Gue,
                port: 6080,
                csum: TunnelCsum::Csum,
            },
            weight: 7,
            upper: 10,
            lower: 5,
        }
    }

    #[test]
    fn dest_round_trips_through_the_model() {
        let svc = new_service(
            Protocol::Tcp,
            "10.0.0.1:80".parse().unwrap(),
            &spec("10.0.0.1:80"),
        );
        let rs = new_real_server(&svc, &dest("10.0.1.1:80"));
        assert_eq!((rs.port, rs.port_zero), (80, false));
        assert_eq!(rs.forward, Some(Forward::Tun));
        let back = dest_spec(&svc, &rs);
        assert_eq!(back, dest("10.0.1.1:80"));
        let mut with_rs = svc.clone();
        with_rs.real_servers.push(rs);
        assert_eq!(find_dest(&with_rs, "10.0.1.1:80".parse().unwrap()), Some(0));
        assert_eq!(find_dest(&with_rs, "10.0.1.1:81".parse().unwrap()), None);
    }

    #[test]
    fn an_explicit_port_zero_is_a_destination_of_its_own_as_in_ipvs() {
        let svc = new_service(
            Protocol::Tcp,
            "10.0.0.1:80".parse().unwrap(),
            &spec("10.0.0.1:80"),
        );
        let zero = new_real_server(&svc, &dest("10.0.1.1:0"));
        assert_eq!((zero.port, zero.port_zero), (0, true));
        assert_eq!(dest_spec(&svc, &zero).addr, "10.0.1.1:0".parse().unwrap());
        assert_eq!(effective_port(&svc, &zero), 0);
        let mut with_rs = svc.clone();
        with_rs.real_servers.push(zero);
        // 10.0.1.1:0 is not 10.0.1.1:80 ...
        assert_eq!(find_dest(&with_rs, "10.0.1.1:80".parse().unwrap()), None);
        assert_eq!(find_dest(&with_rs, "10.0.1.1:0".parse().unwrap()), Some(0));
        // ... and a file's port-less server is the service's port, not 0.
        let mut file_rs = new_real_server(&svc, &dest("10.0.1.1:80"));
        file_rs.port = 0;
        with_rs.real_servers.push(file_rs);
        assert_eq!(find_dest(&with_rs, "10.0.1.1:80".parse().unwrap()), Some(1));
        // Under a port-0 service both meanings are the same port.
        let all_ports = new_service(
            Protocol::Tcp,
            "10.0.0.1:0".parse().unwrap(),
            &spec("10.0.0.1:0"),
        );
        let rs = new_real_server(&all_ports, &dest("10.0.1.1:0"));
        assert_eq!((rs.port, rs.port_zero), (0, false));
    }

    #[test]
    fn generic_flag_names_are_kept_and_sh_aliases_take_sh_names() {
        let mut s = spec("10.0.0.1:80");
        s.scheduler = "wlc".into();
        s.sched_flags = vec!["flag-1".into(), "flag-3".into()];
        let svc = new_service(Protocol::Tcp, "10.0.0.1:80".parse().unwrap(), &s);
        assert_eq!(svc.sched_flags, ["flag-1", "flag-3"]);
        s.scheduler = "sh".into();
        s.sched_flags = vec!["flag-2".into(), "sh-port".into(), "flag-3".into()];
        let svc = new_service(Protocol::Tcp, "10.0.0.1:80".parse().unwrap(), &s);
        assert_eq!(svc.sched_flags, ["sh-port", "flag-3"]);
    }
}
