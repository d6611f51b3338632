//! `-L`: the virtual service table, as ipvsadm's `list_all`, `list_service`, `print_title`
//! and `print_service_entry` print it.

use std::fmt::Write as _;

use proto::{DestInfo, Forward, Protocol, ServiceInfo, ServiceKey, TunnelCsum, TunnelType};

use super::{Format, addrport, largenum, truncate};
use crate::addr::v4_mask;
use crate::names::Names;
use crate::sched_flags;
use crate::sort;

/// The header line ipvsadm prints above a full listing.
pub fn header(conn_table_size: u32) -> String {
    format!("IP Virtual Server version 1.2.1 (size={conn_table_size})\n")
}

/// ipvsadm's `print_title`.
pub fn title(out: &mut String, fmt: &Format) {
    let head = "Prot LocalAddress:Port";
    if fmt.stats {
        let _ = write!(
            out,
            "{head:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
            "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"
        );
    } else if fmt.rate {
        let _ = write!(
            out,
            "{head:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
            "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"
        );
    } else if fmt.thresholds {
        let _ = write!(
            out,
            "{head:<33} {:<10} {:<10} {:<10} {:<10}\n  -> RemoteAddress:Port\n",
            "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
        );
    } else if fmt.persistent_conn {
        let _ = write!(
            out,
            "{head:<33} {:<9} {:<11} {:<10} {:<10}\n  -> RemoteAddress:Port\n",
            "Weight", "PersistConn", "ActiveConn", "InActConn"
        );
    } else if fmt.tun_info {
        out.push_str(
            "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n",
        );
    } else {
        out.push_str(
            "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
        );
    }
}

/// The protocol a service's ports are named with (fwmark services are keyed as TCP).
pub fn service_protocol(key: &ServiceKey) -> Protocol {
    match key {
        ServiceKey::Addr { protocol, .. } => *protocol,
        ServiceKey::Fwmark { .. } => Protocol::Tcp,
    }
}

/// ipvsadm's `fwd_name`.
pub fn forward_name(f: Forward) -> &'static str {
    match f {
        Forward::Nat => "Masq",
        Forward::Tun => "Tunnel",
        Forward::Dr => "Route",
        Forward::FullNat => "FullNat",
    }
}

/// ipvsadm's `tunflags` (`-c`, `+c`, `r+c`).
pub fn csum_label(c: TunnelCsum) -> &'static str {
    match c {
        TunnelCsum::NoCsum => "-c",
        TunnelCsum::Csum => "+c",
        TunnelCsum::RemCsum => "r+c",
    }
}

/// ipvsadm's `fwd_tun_info`: `ipip`, `gue:PORT:FLAGS`, `gre:FLAGS`, or `n/a`.
fn tunnel_info(d: &DestInfo) -> String {
    if d.spec.forward != Forward::Tun {
        return "n/a".into();
    }
    let t = d.spec.tunnel;
    let mut s = match t.kind {
        TunnelType::Ipip => "ipip".to_string(),
        TunnelType::Gue => format!("gue:{}:{}", t.port, csum_label(t.csum)),
        TunnelType::Gre => format!("gre:{}", csum_label(t.csum)),
    };
    truncate(&mut s, 15);
    s
}

/// The service's name column: `TCP  10.0.0.1:80` (cut at 33 bytes for IPv4), `FWM  5`.
fn service_name(s: &ServiceInfo, numeric: bool, names: &dyn Names) -> String {
    match s.spec.key {
        ServiceKey::Fwmark { mark } => format!("FWM  {mark}"),
        ServiceKey::Addr { protocol, addr } => {
            let v = addrport(addr.ip(), addr.port(), protocol, numeric, names);
            // proto's Display ignores widths, so pad the rendered text.
            let p = protocol.to_string();
            let mut name = format!("{p:<4} {v}");
            if addr.is_ipv4() {
                truncate(&mut name, 33);
            }
            name
        }
    }
}

/// The persistence part of a service line: ` persistent 300 mask 255.255.255.0`.
fn persistence(out: &mut String, s: &ServiceInfo) {
    if let Some(timeout) = s.spec.persistent {
        let _ = write!(out, " persistent {timeout}");
        match s.spec.key {
            ServiceKey::Addr { addr, .. } if addr.is_ipv6() => {
                if s.spec.netmask != 128 {
                    let _ = write!(out, " mask {}", s.spec.netmask);
                }
            }
            _ => {
                if s.spec.netmask != 32 {
                    let _ = write!(out, " mask {}", v4_mask(s.spec.netmask));
                }
            }
        }
    }
}

/// One service and its destinations (`print_service_entry`), destinations sorted unless
/// `--nosort`.
pub fn entry(out: &mut String, s: &ServiceInfo, fmt: &Format, names: &dyn Names) {
    let svc_name = service_name(s, fmt.numeric, names);
    if fmt.stats {
        let _ = write!(out, "{svc_name:<33}");
        let st = &s.stats;
        for n in [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes] {
            largenum(out, n, fmt.exact);
        }
    } else if fmt.rate {
        let _ = write!(out, "{svc_name:<33}");
        let r = &s.rates;
        for n in [r.cps, r.inpps, r.outpps, r.inbps, r.outbps] {
            largenum(out, n, fmt.exact);
        }
    } else {
        let _ = write!(out, "{svc_name} {}", s.spec.scheduler);
        let bits = sched_flags::bits(&s.spec.sched_flags);
        if bits != 0 {
            let _ = write!(out, " ({})", sched_flags::display(&s.spec.scheduler, bits));
        }
        persistence(out, s);
        if s.spec.one_packet {
            out.push_str(" ops");
        }
    }
    out.push('\n');

    let protocol = service_protocol(&s.spec.key);
    let mut dests = s.dests.clone();
    if !fmt.nosort {
        sort::glibc_merge_sort(&mut dests, &sort::cmp_dests);
    }
    for d in &dests {
        let a = d.spec.addr;
        let mut dname = addrport(a.ip(), a.port(), protocol, fmt.numeric, names);
        if a.is_ipv4() {
            truncate(&mut dname, 28);
        }
        dest_line(out, &dname, d, fmt);
    }
}

fn dest_line(out: &mut String, dname: &str, d: &DestInfo, fmt: &Format) {
    // ipvsadm keeps weights in a C int and prints them with %d.
    let weight = d.spec.weight as i32;
    if fmt.stats {
        let _ = write!(out, "  -> {dname:<28}");
        let st = &d.stats;
        for n in [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes] {
            largenum(out, n, fmt.exact);
        }
        out.push('\n');
    } else if fmt.rate {
        let r = &d.rates;
        let _ = write!(
            out,
            "  -> {dname:<28} {:>8} {:>8} {:>8}",
            r.cps, r.inpps, r.outpps
        );
        largenum(out, r.inbps, fmt.exact);
        largenum(out, r.outbps, fmt.exact);
        out.push('\n');
    } else if fmt.thresholds {
        let _ = writeln!(
            out,
            "  -> {dname:<28} {:<10} {:<10} {:<10} {:<10}",
            d.spec.upper, d.spec.lower, d.active_conns, d.inactive_conns
        );
    } else if fmt.persistent_conn {
        let _ = writeln!(
            out,
            "  -> {dname:<28} {:<9} {:<11} {:<10} {:<10}",
            d.spec.weight, d.persist_conns, d.active_conns, d.inactive_conns
        );
    } else if fmt.tun_info {
        let _ = writeln!(
            out,
            "  -> {dname:<28} {:<7} {:<13} {weight:<6} {:<10} {:<10}",
            forward_name(d.spec.forward),
            tunnel_info(d),
            d.active_conns,
            d.inactive_conns
        );
    } else {
        let _ = writeln!(
            out,
            "  -> {dname:<28} {:<7} {weight:<6} {:<10} {:<10}",
            forward_name(d.spec.forward),
            d.active_conns,
            d.inactive_conns
        );
    }
}

/// `-L` without a service: header, title, every service (sorted unless `--nosort`).
pub fn list_all(
    conn_table_size: u32,
    services: &[ServiceInfo],
    fmt: &Format,
    names: &dyn Names,
) -> String {
    let mut out = header(conn_table_size);
    title(&mut out, fmt);
    let mut sorted = services.to_vec();
    if !fmt.nosort {
        sort::glibc_merge_sort(&mut sorted, &sort::cmp_services);
    }
    prefetch_names(&sorted, fmt.numeric, names);
    for s in &sorted {
        entry(&mut out, s, fmt, names);
    }
    out
}

/// `-L -t VIP:PORT`: title and that one service, without the header line.
pub fn list_one(service: &ServiceInfo, fmt: &Format, names: &dyn Names) -> String {
    let mut out = String::new();
    title(&mut out, fmt);
    prefetch_names(std::slice::from_ref(service), fmt.numeric, names);
    entry(&mut out, service, fmt, names);
    out
}

/// Starts the reverse lookups of every address a listing will print.
pub fn prefetch_names(services: &[ServiceInfo], numeric: bool, names: &dyn Names) {
    if numeric {
        return;
    }
    let mut addrs = Vec::new();
    for s in services {
        if let ServiceKey::Addr { addr, .. } = s.spec.key {
            addrs.push(addr.ip());
        }
        addrs.extend(s.dests.iter().map(|d| d.spec.addr.ip()));
    }
    names.prefetch(&addrs);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::tests::FixedNames;
    use proto::{ClientAddr, DestSpec, Rates, ServiceSpec, Stats, Tunnel};

    pub(crate) fn service(key: &str, sched: &str) -> ServiceInfo {
        ServiceInfo {
            spec: ServiceSpec {
                key: ServiceKey::Addr {
                    protocol: Protocol::Tcp,
                    addr: key.parse().unwrap(),
                },
                scheduler: sched.into(),
                sched_flags: vec![],
                persistent: None,
                netmask: 32,
                one_packet: false,
                client_addr: ClientAddr::Toa,
            },
            dests: vec![],
            local_addrs: vec![],
            stats: Stats::default(),
            rates: Rates::default(),
        }
    }

    pub(crate) fn dest(addr: &str, forward: Forward, weight: u32) -> DestInfo {
        DestInfo {
            spec: DestSpec {
                addr: addr.parse().unwrap(),
                forward,
                tunnel: Tunnel::default(),
                weight,
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
    fn a_small_listing_byte_for_byte() {
        let mut s = service("10.1.0.100:80", "wrr");
        s.dests.push(dest("10.1.0.11:80", Forward::FullNat, 1));
        s.dests.push(dest("10.1.0.10:80", Forward::Nat, 2));
        let fmt = Format {
            numeric: true,
            ..Format::default()
        };
        let text = list_all(4096, &[s], &fmt, &FixedNames::default());
        assert_eq!(
            text,
            "IP Virtual Server version 1.2.1 (size=4096)\n\
             Prot LocalAddress:Port Scheduler Flags\n  \
             -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n\
             TCP  10.1.0.100:80 wrr\n  \
             -> 10.1.0.10:80                 Masq    2      0          0         \n  \
             -> 10.1.0.11:80                 FullNat 1      0          0         \n"
        );
    }

    #[test]
    fn ipv6_services_are_not_cut_and_print_the_mask_as_a_prefix() {
        let mut s = service("[2001:db8:aaaa:bbbb:cccc:dddd:eeee:1]:443", "rr");
        s.spec.persistent = Some(300);
        s.spec.netmask = 64;
        s.dests.push(dest(
            "[2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:443",
            Forward::Tun,
            1,
        ));
        let fmt = Format {
            numeric: true,
            ..Format::default()
        };
        let text = list_one(&s, &fmt, &FixedNames::default());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[2],
            "TCP  [2001:db8:aaaa:bbbb:cccc:dddd:eeee:1]:443 rr persistent 300 mask 64"
        );
        assert_eq!(
            lines[3],
            "  -> [2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:443 Tunnel  1      0          0         "
        );
    }
}
