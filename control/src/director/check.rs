//! The checks ipvsadm and the kernel make on a request, and the whole-configuration check.
//!
//! ipvsadm refuses some requests in its option parser (zero port without persistence,
//! one-packet on TCP, bad flags, weights out of range) and the kernel refuses others
//! (unknown scheduler, destination not unicast, thresholds out of order). The daemon repeats
//! both kinds of checks, with the same texts, because it is the authority: `rvsadm` mirrors
//! ipvsadm's parser, but any other client of the socket may not. The order inside
//! [`crate::director::edit`] follows ipvsadm's: parser checks first, then the kernel's
//! existence checks (`Service already exists` wins over an unknown scheduler), then the
//! kernel's value checks.
//!
//! After a change has been applied to a copy of the configuration, [`config`] runs the
//! model's own `validate()` plus the scheduler names of every service, so a configuration
//! that reaches the dataplane always names schedulers the dataplane has.

use std::net::IpAddr;
use std::str::FromStr;

use dataplane::sched::SchedulerKind;
use proto::{DestSpec, Forward, Protocol, ServiceSpec, TunnelType};

use super::refusal::Refusal;
use crate::config::sched_flags::{self, FlagError};
use crate::config::{self, Config, VirtualService};

/// Longest timeout ipvsadm accepts (31 days), for `-p` and `--set`.
pub const MAX_TIMEOUT: u32 = 86_400 * 31;

/// Largest weight (`-w`): ipvsadm, keepalived and the kernel take 0..=2147483647.
pub const MAX_WEIGHT: u32 = config::MAX_WEIGHT;

/// Largest connection threshold (`-x`/`-y`): ipvsadm parses them as a C `int`.
pub const MAX_THRESHOLD: u32 = i32::MAX as u32;

/// True for an address a packet can be sent to (not unspecified, multicast or broadcast).
pub fn is_unicast(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => !(a.is_unspecified() || a.is_multicast() || a.is_broadcast()),
        IpAddr::V6(a) => !(a.is_unspecified() || a.is_multicast()),
    }
}

/// ipvsadm's parser checks of `-A`/`-E` (everything but the scheduler name), in its
/// order: the options as they are parsed, then the checks across options.
pub fn service_spec(
    protocol: Protocol,
    addr: IpAddr,
    port: u16,
    spec: &ServiceSpec,
) -> Result<(), Refusal> {
    if !is_unicast(addr) {
        return Err(Refusal::invalid(
            "illegal virtual server address[:port] specified",
        ));
    }
    for name in &spec.sched_flags {
        match sched_flags::meaning(&spec.scheduler, name) {
            Ok(_) => {}
            Err(FlagError::Unknown) => {
                return Err(Refusal::invalid(format!("invalid scheduler flag `{name}'")));
            }
            Err(FlagError::Incompatible(_)) => {
                return Err(Refusal::invalid(format!(
                    "incompatible scheduler flag `{name}'"
                )));
            }
        }
    }
    match addr {
        IpAddr::V4(_) if spec.netmask > 32 => {
            return Err(Refusal::invalid(
                "illegal virtual server persistent mask specified",
            ));
        }
        IpAddr::V6(_) if spec.netmask == 0 || spec.netmask > 128 => {
            return Err(Refusal::invalid("illegal ipv6 netmask specified"));
        }
        _ => {}
    }
    if let Some(t) = spec.persistent
        && (t == 0 || t > MAX_TIMEOUT)
    {
        return Err(invalid_timeout(t));
    }
    if port == 0 && spec.persistent.is_none() {
        return Err(Refusal::invalid(
            "Zero port specified for non-persistent service",
        ));
    }
    if spec.one_packet && protocol != Protocol::Udp {
        return Err(Refusal::invalid(
            "One-Packet Scheduling is only for UDP virtual services",
        ));
    }
    Ok(())
}

/// The kernel's scheduler lookup.
pub fn scheduler(name: &str) -> Result<SchedulerKind, Refusal> {
    SchedulerKind::from_str(name).map_err(|_| Refusal::scheduler_not_found())
}

/// ipvsadm's parser checks of `-a`/`-e`.
pub fn dest_spec_syntax(service_addr: IpAddr, dest: &DestSpec) -> Result<(), Refusal> {
    if dest.weight > MAX_WEIGHT {
        return Err(Refusal::invalid("illegal weight specified"));
    }
    if dest.upper > MAX_THRESHOLD {
        return Err(Refusal::invalid("illegal u_threshold specified"));
    }
    if dest.lower > MAX_THRESHOLD {
        return Err(Refusal::invalid("illegal l_threshold specified"));
    }
    if service_addr.is_ipv4() != dest.addr.is_ipv4() && dest.forward != Forward::Tun {
        return Err(Refusal::invalid(
            "Different address family is allowed only for tunneling servers",
        ));
    }
    Ok(())
}

/// The kernel's value checks of `-a`/`-e`, made before it looks the destination up.
pub fn dest_spec_values(dest: &DestSpec) -> Result<(), Refusal> {
    if dest.lower > dest.upper {
        return Err(Refusal::kernel_erange());
    }
    if dest.forward == Forward::Tun && dest.tunnel.kind == TunnelType::Gue && dest.tunnel.port == 0
    {
        return Err(Refusal::invalid(
            "a GUE tunnel needs its UDP port (--tun-port)",
        ));
    }
    Ok(())
}

/// The kernel's unicast check of a new destination (`ip_vs_new_dest`).
pub fn dest_address(dest: &DestSpec) -> Result<(), Refusal> {
    if is_unicast(dest.addr.ip()) {
        Ok(())
    } else {
        Err(Refusal::kernel_einval())
    }
}

/// `--set tcp tcpfin udp`: each value within ipvsadm's range (0 keeps a value).
pub fn timeouts(t: &proto::Timeouts) -> Result<(), Refusal> {
    for v in [t.tcp, t.tcp_fin, t.udp] {
        if v > MAX_TIMEOUT {
            return Err(invalid_timeout(v));
        }
    }
    Ok(())
}

fn invalid_timeout(t: u32) -> Refusal {
    Refusal::invalid(format!("invalid timeout value `{t}' specified"))
}

/// A FULLNAT local address must be a unicast address.
pub fn local_addr(addr: IpAddr) -> Result<(), Refusal> {
    if is_unicast(addr) {
        Ok(())
    } else {
        Err(Refusal::invalid("illegal local address"))
    }
}

/// The whole-configuration check every candidate passes before it reaches the dataplane.
pub fn config(cfg: &Config) -> Result<(), Refusal> {
    for (i, svc) in cfg.services.iter().enumerate() {
        service_names(svc)
            .map_err(|r| Refusal::invalid(format!("services[{i}]: {}", r.message)))?;
    }
    config::validate(cfg).map_err(|errors| {
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        Refusal::invalid(text.join("; "))
    })
}

/// The scheduler and flag names of a configured service.
fn service_names(svc: &VirtualService) -> Result<(), Refusal> {
    let kind = SchedulerKind::from_str(&svc.scheduler)
        .map_err(|_| Refusal::invalid(format!("unknown scheduler {:?}", svc.scheduler)))?;
    for name in &svc.sched_flags {
        match sched_flags::meaning(&svc.scheduler, name) {
            Ok(_) => {}
            Err(FlagError::Unknown) => {
                return Err(Refusal::invalid(format!("unknown scheduler flag {name:?}")));
            }
            Err(FlagError::Incompatible(_)) => {
                return Err(Refusal::invalid(format!(
                    "scheduler flag {name:?} does not apply to scheduler {kind}"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::{ClientAddr, ServiceKey};

    fn spec(sched: &str, flags: &[&str]) -> ServiceSpec {
        ServiceSpec {
            key: ServiceKey::Fwmark { mark: 1 },
            scheduler: sched.into(),
            sched_flags: flags.iter().map(|s| s.to_string()).collect(),
            persistent: None,
            netmask: 32,
            one_packet: false,
            client_addr: ClientAddr::Toa,
        }
    }

    #[test]
    fn flags_are_checked_against_the_scheduler() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(service_spec(Protocol::Tcp, a, 80, &spec("sh", &["sh-port"])).is_ok());
        let e = service_spec(Protocol::Tcp, a, 80, &spec("rr", &["sh-port"])).unwrap_err();
        assert_eq!(e.message, "incompatible scheduler flag `sh-port'");
        let e = service_spec(Protocol::Tcp, a, 80, &spec("sh", &["flag-9"])).unwrap_err();
        assert_eq!(e.message, "invalid scheduler flag `flag-9'");
        // ipvsadm compares names: an unknown scheduler makes a specific flag incompatible.
        let e = service_spec(Protocol::Tcp, a, 80, &spec("foo", &["sh-port"])).unwrap_err();
        assert_eq!(e.message, "incompatible scheduler flag `sh-port'");
    }

    #[test]
    fn generic_flags_and_large_weights_pass_as_with_ipvsadm() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        for sched in ["wlc", "rr", "sh", "mh"] {
            let s = spec(sched, &["flag-1", "flag-2", "flag-3"]);
            assert!(service_spec(Protocol::Tcp, a, 80, &s).is_ok(), "{sched}");
        }
        let mut d = DestSpec {
            addr: "10.0.1.1:80".parse().unwrap(),
            forward: Forward::Nat,
            tunnel: Default::default(),
            weight: 2_147_483_647,
            upper: 0,
            lower: 0,
        };
        assert!(dest_spec_syntax(a, &d).is_ok());
        d.weight = 2_147_483_648;
        let e = dest_spec_syntax(a, &d).unwrap_err();
        assert_eq!(e.message, "illegal weight specified");
    }

    #[test]
    fn unicast_means_not_multicast_broadcast_or_unspecified() {
        for bad in ["0.0.0.0", "224.0.0.18", "255.255.255.255", "::", "ff02::1"] {
            assert!(!is_unicast(bad.parse().unwrap()), "{bad}");
        }
        for good in ["10.0.0.1", "2001:db8::1", "127.0.0.1"] {
            assert!(is_unicast(good.parse().unwrap()), "{good}");
        }
    }
}
