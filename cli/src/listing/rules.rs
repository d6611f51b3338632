//! `-S`: the table as commands that `-R` reads back (ipvsadm's `FMT_RULE` output), plus the
//! lines rvs needs for what ipvsadm has no words for: `--fullnat` destinations,
//! `--client-addr` of a service and FULLNAT local addresses (`-P ... -z LADDR`).

use std::fmt::Write as _;

use proto::{ClientAddr, Forward, ServiceInfo, ServiceKey, TunnelType};

use super::services::service_protocol;
use super::{addrport, ntop};
use crate::addr::v4_mask;
use crate::names::Names;
use crate::sched_flags;
use crate::sort;

/// The service part of a rule: `-t 10.0.0.1:80`, `-u ...`, `-f 5`.
fn service_arg(s: &ServiceInfo, numeric: bool, names: &dyn Names) -> String {
    match s.spec.key {
        ServiceKey::Fwmark { mark } => format!("-f {mark}"),
        ServiceKey::Addr { protocol, addr } => {
            let flag = match protocol {
                proto::Protocol::Tcp => "-t",
                proto::Protocol::Udp => "-u",
            };
            let v = addrport(addr.ip(), addr.port(), protocol, numeric, names);
            format!("{flag} {v}")
        }
    }
}

/// The `--client-addr` word for a mode.
pub fn client_addr_word(c: ClientAddr) -> &'static str {
    match c {
        ClientAddr::Toa => "toa",
        ClientAddr::ProxyV2 => "proxy-v2",
        ClientAddr::None => "none",
    }
}

/// ipvsadm's `fwd_switch` (and rvs's `--fullnat`).
fn forward_switch(f: Forward) -> &'static str {
    match f {
        Forward::Nat => "-m",
        Forward::Tun => "-i",
        Forward::Dr => "-g",
        Forward::FullNat => "--fullnat",
    }
}

/// The rules of one service.
fn service_rules(out: &mut String, s: &ServiceInfo, numeric: bool, names: &dyn Names) {
    let svc = service_arg(s, numeric, names);
    let _ = write!(out, "-A {svc} -s {}", s.spec.scheduler);
    if let Some(timeout) = s.spec.persistent {
        let _ = write!(out, " -p {timeout}");
        match s.spec.key {
            ServiceKey::Addr { addr, .. } if addr.is_ipv6() => {
                if s.spec.netmask != 128 {
                    let _ = write!(out, " -M {}", s.spec.netmask);
                }
            }
            _ => {
                if s.spec.netmask != 32 {
                    let _ = write!(out, " -M {}", v4_mask(s.spec.netmask));
                }
            }
        }
    }
    if s.spec.one_packet {
        out.push_str(" -o");
    }
    let bits = sched_flags::bits(&s.spec.sched_flags);
    if bits != 0 {
        let _ = write!(out, " -b {}", sched_flags::display(&s.spec.scheduler, bits));
    }
    if s.spec.client_addr != ClientAddr::default() {
        let _ = write!(
            out,
            " --client-addr {}",
            client_addr_word(s.spec.client_addr)
        );
    }
    out.push('\n');

    let protocol = service_protocol(&s.spec.key);
    let mut dests = s.dests.clone();
    sort::glibc_merge_sort(&mut dests, &sort::cmp_dests);
    for d in &dests {
        let a = d.spec.addr;
        let dname = addrport(a.ip(), a.port(), protocol, numeric, names);
        let weight = d.spec.weight as i32;
        let _ = write!(
            out,
            "-a {svc} -r {dname} {} -w {weight}",
            forward_switch(d.spec.forward)
        );
        if d.spec.forward == Forward::Tun {
            // What ipvsadm prints on a kernel >= 5.3, which reports the tunnel type.
            let t = d.spec.tunnel;
            let csum = match t.csum {
                proto::TunnelCsum::NoCsum => "--tun-nocsum",
                proto::TunnelCsum::Csum => "--tun-csum",
                proto::TunnelCsum::RemCsum => "--tun-remcsum",
            };
            let _ = match t.kind {
                TunnelType::Ipip => write!(out, " --tun-type ipip"),
                TunnelType::Gue => write!(out, " --tun-type gue --tun-port {} {csum}", t.port),
                TunnelType::Gre => write!(out, " --tun-type gre {csum}"),
            };
        }
        out.push('\n');
    }
    let mut laddrs = s.local_addrs.clone();
    laddrs.sort_by(sort::ip_order);
    for l in laddrs {
        let _ = writeln!(out, "-P {svc} -z {}", ntop(l));
    }
}

/// `-S [-n]`: every service, sorted as ipvsadm sorts them.
pub fn save(services: &[ServiceInfo], numeric: bool, names: &dyn Names) -> String {
    let mut sorted = services.to_vec();
    sort::glibc_merge_sort(&mut sorted, &sort::cmp_services);
    super::services::prefetch_names(&sorted, numeric, names);
    let mut out = String::new();
    for s in &sorted {
        service_rules(&mut out, s, numeric, names);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::tests::FixedNames;
    use proto::{
        ClientAddr, DestInfo, DestSpec, Protocol, Rates, ServiceSpec, Stats, Tunnel, TunnelCsum,
    };

    fn dest(addr: &str, forward: Forward, tunnel: Tunnel) -> DestInfo {
        DestInfo {
            spec: DestSpec {
                addr: addr.parse().unwrap(),
                forward,
                tunnel,
                weight: 3,
                upper: 0,
                lower: 0,
            },
            active_conns: 0,
            inactive_conns: 0,
            persist_conns: 0,
            stats: Stats::default(),
            rates: Rates::default(),
            healthy: true,
        }
    }

    #[test]
    fn fullnat_tunnel_and_local_address_rules() {
        let s = ServiceInfo {
            spec: ServiceSpec {
                key: ServiceKey::Addr {
                    protocol: Protocol::Tcp,
                    addr: "10.0.0.1:80".parse().unwrap(),
                },
                scheduler: "mh".into(),
                sched_flags: vec!["mh-port".into()],
                persistent: Some(60),
                netmask: 24,
                one_packet: false,
                client_addr: ClientAddr::ProxyV2,
            },
            dests: vec![
                dest(
                    "10.0.1.3:80",
                    Forward::Tun,
                    Tunnel {
                        kind: TunnelType::Gue,
                        port: 6080,
                        csum: TunnelCsum::RemCsum,
                    },
                ),
                dest("10.0.1.2:8080", Forward::FullNat, Tunnel::default()),
            ],
            local_addrs: vec!["10.0.2.2".parse().unwrap(), "10.0.2.1".parse().unwrap()],
            stats: Stats::default(),
            rates: Rates::default(),
        };
        assert_eq!(
            save(&[s], true, &FixedNames::default()),
            "-A -t 10.0.0.1:80 -s mh -p 60 -M 255.255.255.0 -b mh-port --client-addr proxy-v2\n\
             -a -t 10.0.0.1:80 -r 10.0.1.2:8080 --fullnat -w 3\n\
             -a -t 10.0.0.1:80 -r 10.0.1.3:80 -i -w 3 --tun-type gue --tun-port 6080 --tun-remcsum\n\
             -P -t 10.0.0.1:80 -z 10.0.2.1\n\
             -P -t 10.0.0.1:80 -z 10.0.2.2\n"
        );
    }
}
