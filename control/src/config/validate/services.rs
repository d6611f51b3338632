//! Virtual services, their real servers and health checkers, sorry servers and the FULLNAT
//! local address pools they use. The rules are ipvsadm's where ipvsadm has one.

use std::collections::HashMap;
use std::net::IpAddr;

use dataplane::sched::{SchedFlag, SchedulerKind};

use super::{Problems, seconds_in};
use crate::config::sched_flags::{self, FlagError};
use crate::config::suggest::suggest;
use crate::config::{
    Check, CheckCommon, Config, DNS_QUERY_TYPES, Forward, HttpUrl, MAX_WEIGHT, Protocol,
    RealServer, TunnelType, VirtualService,
};

pub(super) fn check(cfg: &Config, errs: &mut Problems) {
    let mut keys: HashMap<(Protocol, IpAddr, u16), usize> = HashMap::new();
    for (i, svc) in cfg.services.iter().enumerate() {
        let path = format!("services[{i}]");
        if let Some(first) = keys.insert((svc.protocol, svc.address, svc.port), i) {
            errs.push(
                path.clone(),
                format!(
                    "duplicate virtual service {} (already defined as services[{first}])",
                    service_name(svc)
                ),
            );
        }
        check_service(cfg, svc, &path, errs);
    }
}

/// `TCP 10.0.0.1:80` / `UDP [2001:db8::1]:53`, as ipvsadm names a service.
pub(crate) fn service_name(svc: &VirtualService) -> String {
    format!("{} {}", svc.protocol, addr_port(svc.address, svc.port))
}

pub(crate) fn addr_port(a: IpAddr, port: u16) -> String {
    match a {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

fn family(a: IpAddr) -> &'static str {
    if a.is_ipv4() { "IPv4" } else { "IPv6" }
}

fn check_service(cfg: &Config, svc: &VirtualService, path: &str, errs: &mut Problems) {
    let sched = check_scheduler(svc, path, errs);
    check_flags(svc, sched, path, errs);
    check_persistence(svc, path, errs);
    if svc.one_packet && svc.protocol != Protocol::Udp {
        errs.push(
            format!("{path}.one_packet"),
            "one-packet scheduling applies to UDP services only",
        );
    }
    check_fullnat_pool(cfg, svc, path, errs);
    check_defaults(svc, path, errs);
    if let Some(sorry) = &svc.sorry_server {
        let spath = format!("{path}.sorry_server");
        let fwd = sorry.forward.unwrap_or(svc.forward);
        if fwd != Forward::Tun && sorry.address.is_ipv4() != svc.address.is_ipv4() {
            errs.push(
                format!("{spath}.address"),
                format!(
                    "sorry server {} is {} but the service is {} (only tunnelled servers may differ)",
                    sorry.address,
                    family(sorry.address),
                    family(svc.address)
                ),
            );
        }
        check_tunnel(fwd, sorry.tunnel, sorry.tunnel_port, &spath, errs);
    }
    let mut seen: HashMap<(IpAddr, u16), usize> = HashMap::new();
    for (j, rs) in svc.real_servers.iter().enumerate() {
        let rpath = format!("{path}.real_servers[{j}]");
        let port = rs.port_in(svc.port);
        if let Some(first) = seen.insert((rs.address, port), j) {
            errs.push(
                rpath.clone(),
                format!(
                    "real server {} is listed twice (first as real_servers[{first}])",
                    addr_port(rs.address, port)
                ),
            );
        }
        check_real_server(svc, rs, &rpath, errs);
    }
}

fn check_scheduler(svc: &VirtualService, path: &str, errs: &mut Problems) -> Option<SchedulerKind> {
    match svc.scheduler.parse::<SchedulerKind>() {
        Ok(k) => Some(k),
        Err(_) => {
            let names = SchedulerKind::ALL.map(SchedulerKind::name);
            let hint = match suggest(&svc.scheduler, names) {
                Some(s) => format!("; did you mean \"{s}\"?"),
                None => format!(" (rvs has {})", names.join(" ")),
            };
            errs.push(
                format!("{path}.scheduler"),
                format!("unknown scheduler \"{}\"{hint}", svc.scheduler),
            );
            None
        }
    }
}

fn check_flags(
    svc: &VirtualService,
    sched: Option<SchedulerKind>,
    path: &str,
    errs: &mut Problems,
) {
    for (k, name) in svc.sched_flags.iter().enumerate() {
        let fpath = format!("{path}.sched_flags[{k}]");
        match sched_flags::meaning(&svc.scheduler, name) {
            Ok(_) => {}
            // An unknown scheduler is reported on its own; its flags are not judged by it.
            Err(FlagError::Incompatible(_)) if sched.is_none() => {}
            Err(FlagError::Incompatible(flag)) => errs.push(
                fpath,
                format!(
                    "flag {flag} applies to the {} scheduler only, not {}",
                    flag.scheduler(),
                    svc.scheduler
                ),
            ),
            Err(FlagError::Unknown) => {
                let names: Vec<&str> = SchedFlag::ALL
                    .map(SchedFlag::name)
                    .into_iter()
                    .chain(sched_flags::GENERIC)
                    .collect();
                let hint = suggest(name, names.iter().copied())
                    .map(|s| format!("; did you mean \"{s}\"?"))
                    .unwrap_or_else(|| format!(" (flags: {})", names.join(" ")));
                errs.push(fpath, format!("unknown scheduler flag \"{name}\"{hint}"));
            }
        }
    }
}

fn check_persistence(svc: &VirtualService, path: &str, errs: &mut Problems) {
    if svc.persistence_timeout == Some(0) {
        errs.push(
            format!("{path}.persistence_timeout"),
            "a persistence timeout must be at least 1 second",
        );
    }
    if let Some(mask) = svc.persistence_netmask {
        let max = if svc.address.is_ipv4() { 32 } else { 128 };
        if mask > max {
            errs.push(
                format!("{path}.persistence_netmask"),
                format!(
                    "persistence netmask /{mask} is out of range 0..={max} for an {} service",
                    family(svc.address)
                ),
            );
        }
        if svc.persistence_timeout.is_none() {
            errs.push(
                format!("{path}.persistence_netmask"),
                "a persistence netmask needs persistence_timeout",
            );
        }
    }
    if svc.port == 0 && svc.persistence_timeout.is_none() {
        errs.push(
            format!("{path}.port"),
            "port 0 (every port) is only valid for a persistent service: set persistence_timeout",
        );
    }
}

fn uses_fullnat(svc: &VirtualService) -> bool {
    svc.forward == Forward::FullNat
        || svc
            .real_servers
            .iter()
            .any(|rs| rs.forward == Some(Forward::FullNat))
}

fn check_fullnat_pool(cfg: &Config, svc: &VirtualService, path: &str, errs: &mut Problems) {
    if !uses_fullnat(svc) {
        return;
    }
    let gpath = format!("{path}.local_address_group");
    let Some(name) = &svc.local_address_group else {
        errs.push(
            gpath,
            "FULLNAT needs a local address group (local_address_group / laddr_group_name)",
        );
        return;
    };
    let Some(group) = cfg.local_address_groups.get(name) else {
        let hint = suggest(name, cfg.local_address_groups.keys().map(String::as_str))
            .map(|s| format!("; did you mean \"{s}\"?"))
            .unwrap_or_default();
        errs.push(
            gpath,
            format!("local address group \"{name}\" does not exist{hint}"),
        );
        return;
    };
    if group.addresses.is_empty() {
        errs.push(gpath, format!("local address group \"{name}\" is empty"));
        return;
    }
    if let Some(la) = group
        .addresses
        .iter()
        .find(|la| la.address.is_ipv4() != svc.address.is_ipv4())
    {
        errs.push(
            gpath,
            format!(
                "local address {} of group \"{name}\" is {} but the service is {}",
                la.address,
                family(la.address),
                family(svc.address)
            ),
        );
    }
}

fn check_defaults(svc: &VirtualService, path: &str, errs: &mut Problems) {
    let d = &svc.check;
    if !seconds_in(d.delay_loop, 0.000_001, 86_400.0 * 365.0) {
        errs.push(
            format!("{path}.check.delay_loop"),
            format!(
                "delay_loop {} must be a positive number of seconds",
                d.delay_loop
            ),
        );
    }
    if let Some(w) = d.warmup
        && !seconds_in(w, 0.0, 86_400.0 * 365.0)
    {
        errs.push(
            format!("{path}.check.warmup"),
            format!("warmup {w} must be zero or a positive number of seconds"),
        );
    }
    if d.quorum > 0 && d.hysteresis >= d.quorum {
        errs.push(
            format!("{path}.check.hysteresis"),
            format!(
                "hysteresis {} must be below the quorum {}",
                d.hysteresis, d.quorum
            ),
        );
    }
}

fn check_tunnel(fwd: Forward, tunnel: TunnelType, port: u16, path: &str, errs: &mut Problems) {
    if fwd == Forward::Tun {
        if tunnel == TunnelType::Gue && port == 0 {
            errs.push(
                format!("{path}.tunnel_port"),
                "a GUE tunnel needs a UDP port (tun_type gue port N)",
            );
        }
    } else if tunnel != TunnelType::Ipip || port != 0 {
        errs.push(
            format!("{path}.tunnel"),
            "tunnel settings apply only to tunnelled (TUN) forwarding",
        );
    }
}

fn check_real_server(svc: &VirtualService, rs: &RealServer, path: &str, errs: &mut Problems) {
    let fwd = rs.forward.unwrap_or(svc.forward);
    if rs.weight > MAX_WEIGHT {
        errs.push(
            format!("{path}.weight"),
            format!("weight {} is out of range 0..={MAX_WEIGHT}", rs.weight),
        );
    }
    if rs.port_zero && rs.port != 0 {
        errs.push(
            format!("{path}.port_zero"),
            format!("port_zero needs port 0 (it has {})", rs.port),
        );
    }
    if rs.port_zero && !rs.checks.is_empty() {
        // The checkers report by the service's port, which is another server's identity.
        errs.push(
            format!("{path}.checks"),
            "a real server with port_zero (ipvsadm's ADDR:0) cannot be health-checked",
        );
    }
    if rs.upper_threshold != 0 && rs.lower_threshold > rs.upper_threshold {
        errs.push(
            format!("{path}.lower_threshold"),
            format!(
                "lower threshold {} is above the upper threshold {}",
                rs.lower_threshold, rs.upper_threshold
            ),
        );
    }
    if fwd != Forward::Tun && rs.address.is_ipv4() != svc.address.is_ipv4() {
        errs.push(
            format!("{path}.address"),
            format!(
                "real server {} is {} but the service is {} (only tunnelled servers may differ)",
                rs.address,
                family(rs.address),
                family(svc.address)
            ),
        );
    }
    if matches!(fwd, Forward::Dr | Forward::Tun)
        && rs.port != 0
        && svc.port != 0
        && rs.port != svc.port
    {
        errs.push(
            format!("{path}.port"),
            format!(
                "{} forwarding cannot change the port: real server port {} differs from service port {}",
                if fwd == Forward::Dr { "DR" } else { "TUN" },
                rs.port,
                svc.port
            ),
        );
    }
    check_tunnel(fwd, rs.tunnel, rs.tunnel_port, path, errs);
    if let Some(d) = rs.delay_loop
        && !seconds_in(d, 0.000_001, 86_400.0 * 365.0)
    {
        errs.push(
            format!("{path}.delay_loop"),
            format!("delay_loop {d} must be a positive number of seconds"),
        );
    }
    for (k, check) in rs.checks.iter().enumerate() {
        check_checker(check, &format!("{path}.checks[{k}]"), errs);
    }
}

fn check_common(c: &CheckCommon, path: &str, errs: &mut Problems) {
    if !seconds_in(c.connect_timeout, 0.000_001, 86_400.0) {
        errs.push(
            format!("{path}.connect_timeout"),
            format!(
                "connect_timeout {} must be a positive number of seconds",
                c.connect_timeout
            ),
        );
    }
    for (name, v) in [
        ("delay_before_retry", c.delay_before_retry),
        ("warmup", c.warmup),
    ] {
        if let Some(v) = v
            && !seconds_in(v, 0.0, 86_400.0 * 365.0)
        {
            errs.push(
                format!("{path}.{name}"),
                format!("{name} {v} must be zero or a positive number of seconds"),
            );
        }
    }
    if let Some(v) = c.delay_loop
        && !seconds_in(v, 0.000_001, 86_400.0 * 365.0)
    {
        errs.push(
            format!("{path}.delay_loop"),
            format!("delay_loop {v} must be a positive number of seconds"),
        );
    }
    if let (Some(bind), Some(ip)) = (c.bindto, c.connect_ip)
        && bind.is_ipv4() != ip.is_ipv4()
    {
        errs.push(
            format!("{path}.bindto"),
            format!("bindto {bind} is not of the family of connect_ip {ip}"),
        );
    }
}

fn is_hex(s: &str, allow_x: bool) -> bool {
    s.chars()
        .all(|c| c.is_ascii_hexdigit() || c.is_whitespace() || (allow_x && matches!(c, 'x' | 'X')))
}

fn check_checker(check: &Check, path: &str, errs: &mut Problems) {
    match check {
        Check::Tcp { common } | Check::Smtp { common, .. } => check_common(common, path, errs),
        Check::Http { common, urls, .. } => {
            check_common(common, path, errs);
            if urls.is_empty() {
                errs.push(
                    format!("{path}.urls"),
                    "an HTTP checker needs at least one url",
                );
            }
            for (u, url) in urls.iter().enumerate() {
                check_url(url, &format!("{path}.urls[{u}]"), errs);
            }
        }
        Check::Udp {
            common,
            payload,
            require_reply,
        } => {
            check_common(common, path, errs);
            if let Some(p) = payload
                && !is_hex(p, false)
            {
                errs.push(
                    format!("{path}.payload"),
                    format!("payload \"{p}\" is not hexadecimal"),
                );
            }
            if let Some(r) = require_reply
                && !is_hex(r, true)
            {
                errs.push(
                    format!("{path}.require_reply"),
                    format!("require_reply \"{r}\" is not hexadecimal (x marks an ignored digit)"),
                );
            }
        }
        Check::Dns {
            common,
            qtype,
            name,
        } => {
            check_common(common, path, errs);
            if !DNS_QUERY_TYPES.contains(&qtype.to_ascii_uppercase().as_str()) {
                errs.push(
                    format!("{path}.qtype"),
                    format!(
                        "DNS query type \"{qtype}\" is not one of {}",
                        DNS_QUERY_TYPES.join(" ")
                    ),
                );
            }
            if name.is_empty() {
                errs.push(
                    format!("{path}.name"),
                    "a DNS query needs a name (\".\" for the root)",
                );
            }
        }
        Check::Misc {
            common,
            path: cmd,
            timeout,
            ..
        } => {
            check_common(common, path, errs);
            if cmd.trim().is_empty() {
                errs.push(
                    format!("{path}.path"),
                    "MISC_CHECK needs a command (misc_path)",
                );
            }
            if let Some(t) = timeout
                && !seconds_in(*t, 0.000_001, 86_400.0)
            {
                errs.push(
                    format!("{path}.timeout"),
                    format!("misc_timeout {t} must be a positive number of seconds"),
                );
            }
        }
    }
}

fn check_url(url: &HttpUrl, path: &str, errs: &mut Problems) {
    if url.path.is_empty() {
        errs.push(format!("{path}.path"), "a url needs a path");
    }
    for (k, r) in url.status_codes.iter().enumerate() {
        if !(100..=599).contains(&r.from) || !(100..=599).contains(&r.to) || r.from > r.to {
            errs.push(
                format!("{path}.status_codes[{k}]"),
                format!(
                    "status code range {}-{} is not within 100-599 in increasing order",
                    r.from, r.to
                ),
            );
        }
    }
    if let Some(d) = &url.digest
        && (d.len() != 32 || !d.chars().all(|c| c.is_ascii_hexdigit()))
    {
        errs.push(
            format!("{path}.digest"),
            format!("digest \"{d}\" is not an MD5 sum (32 hexadecimal digits, as genhash prints)"),
        );
    }
}
