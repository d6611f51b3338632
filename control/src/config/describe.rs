//! What a configuration would run, for `rvsd --check-config`: the virtual services in
//! `ipvsadm -Ln` style (same columns and names, without the live counters, which a file does
//! not have), their health checkers, then the director's ports, routes and neighbours, and
//! the VRRP instances.

use std::fmt::Write;
use std::net::IpAddr;

use super::validate::services::{addr_port, service_name};
use super::{
    Check, CheckCommon, ClientAddr, Config, Forward, RealServer, TunnelType, VirtualService,
    VrrpAuth, VrrpInstance, VrrpState, netmask_v4,
};

/// The description of `cfg` (multi-line text ending in a newline).
pub fn describe(cfg: &Config) -> String {
    let mut out = String::new();
    let reals: usize = cfg.services.iter().map(|s| s.real_servers.len()).sum();
    let _ = writeln!(
        out,
        "{} virtual service{}, {} real server{}, {} VRRP instance{}",
        cfg.services.len(),
        plural(cfg.services.len()),
        reals,
        plural(reals),
        cfg.vrrp_instances.len(),
        plural(cfg.vrrp_instances.len()),
    );
    services(&mut out, cfg);
    director(&mut out, cfg);
    vrrp(&mut out, cfg);
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// ipvsadm's name of a forwarding method (DPVS's for FULLNAT).
fn forward_name(f: Forward) -> &'static str {
    match f {
        Forward::Dr => "Route",
        Forward::Tun => "Tunnel",
        Forward::Nat => "Masq",
        Forward::FullNat => "FullNat",
    }
}

fn secs(v: f64) -> String {
    format!("{v}s")
}

fn services(out: &mut String, cfg: &Config) {
    if cfg.services.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nVirtual services:");
    let _ = writeln!(out, "Prot LocalAddress:Port Scheduler Flags");
    let _ = writeln!(out, "  -> RemoteAddress:Port           Forward Weight");
    for svc in &cfg.services {
        let _ = writeln!(out, "{}", service_line(svc));
        for rs in &svc.real_servers {
            real_server(out, svc, rs);
        }
        if let Some(sorry) = &svc.sorry_server {
            let port = if sorry.port == 0 {
                svc.port
            } else {
                sorry.port
            };
            let fwd = sorry.forward.unwrap_or(svc.forward);
            let _ = writeln!(
                out,
                "     sorry server {} {}{}",
                addr_port(sorry.address, port),
                forward_name(fwd),
                if sorry.inhibit { " (inhibit)" } else { "" }
            );
        }
        let d = &svc.check;
        let mut health = format!("delay_loop {}", secs(d.delay_loop));
        if d.quorum != 1 || d.hysteresis != 0 {
            let _ = write!(health, ", quorum {} hysteresis {}", d.quorum, d.hysteresis);
        }
        for (on, name) in [
            (d.inhibit_on_failure, "inhibit_on_failure"),
            (d.alpha, "alpha"),
            (d.omega, "omega"),
        ] {
            if on {
                let _ = write!(health, ", {name}");
            }
        }
        if let Some(w) = d.warmup {
            let _ = write!(health, ", warmup {}", secs(w));
        }
        let _ = writeln!(out, "     health: {health}");
        if let Some(group) = &svc.local_address_group {
            let addrs = cfg
                .local_address_groups
                .get(group)
                .map(|g| {
                    g.addresses
                        .iter()
                        .map(|a| match &a.port {
                            Some(p) => format!("{} ({p})", a.address),
                            None => a.address.to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            let client = match svc.client_address {
                ClientAddr::Toa => "TOA",
                ClientAddr::ProxyV2 => "PROXY protocol v2",
                ClientAddr::None => "nothing",
            };
            let _ = writeln!(
                out,
                "     local addresses ({group}): {addrs}; client address by {client}"
            );
        }
    }
    let t = &cfg.timeouts;
    let _ = writeln!(
        out,
        "Timeout (tcp tcpfin udp): {} {} {}",
        t.tcp, t.tcp_fin, t.udp
    );
}

/// `TCP  10.0.0.1:80 wlc (sh-port) persistent 300 mask 255.255.255.0 ops`.
fn service_line(svc: &VirtualService) -> String {
    let name = service_name(svc);
    let (proto, addr) = name.split_once(' ').unwrap_or((&name, ""));
    let mut line = format!("{proto:<4} {addr} {}", svc.scheduler);
    if !svc.sched_flags.is_empty() {
        let _ = write!(line, " ({})", svc.sched_flags.join(","));
    }
    if let Some(p) = svc.persistence_timeout {
        let _ = write!(line, " persistent {p}");
        match (svc.address, svc.persistence_netmask) {
            (IpAddr::V4(_), Some(m)) if m < 32 => {
                let _ = write!(line, " mask {}", netmask_v4(m));
            }
            (IpAddr::V6(_), Some(m)) if m < 128 => {
                let _ = write!(line, " mask {m}");
            }
            _ => {}
        }
    }
    if svc.one_packet {
        line.push_str(" ops");
    }
    line
}

fn real_server(out: &mut String, svc: &VirtualService, rs: &RealServer) {
    let port = rs.port_in(svc.port);
    let fwd = rs.forward.unwrap_or(svc.forward);
    let mut line = format!(
        "  -> {:<28} {:<7} {}",
        addr_port(rs.address, port),
        forward_name(fwd),
        rs.weight
    );
    if fwd == Forward::Tun {
        match rs.tunnel {
            TunnelType::Ipip => {}
            TunnelType::Gue => {
                let _ = write!(line, " tun-type gue tun-port {}", rs.tunnel_port);
            }
            TunnelType::Gre => line.push_str(" tun-type gre"),
        }
    }
    if rs.upper_threshold != 0 || rs.lower_threshold != 0 {
        let _ = write!(
            line,
            " thresholds {}..{}",
            rs.lower_threshold, rs.upper_threshold
        );
    }
    if let Some(inhibit) = rs.inhibit_on_failure {
        let _ = write!(line, " inhibit_on_failure {inhibit}");
    }
    let _ = writeln!(out, "{line}");
    if rs.checks.is_empty() {
        let _ = writeln!(out, "       no checker: always up");
    }
    for c in &rs.checks {
        let _ = writeln!(out, "       check {}", checker(c));
    }
}

fn common(c: &CheckCommon) -> String {
    let mut s = String::new();
    if let Some(ip) = c.connect_ip {
        let _ = write!(s, " connect_ip {ip}");
    }
    if let Some(p) = c.connect_port {
        let _ = write!(s, " connect_port {p}");
    }
    if let Some(b) = c.bindto {
        let _ = write!(s, " bindto {b}");
    }
    let _ = write!(s, " connect_timeout {}", secs(c.connect_timeout));
    if let Some(r) = c.retry {
        let _ = write!(s, " retry {r}");
    }
    if let Some(d) = c.delay_before_retry {
        let _ = write!(s, " delay_before_retry {}", secs(d));
    }
    if let Some(d) = c.delay_loop {
        let _ = write!(s, " delay_loop {}", secs(d));
    }
    s
}

fn checker(c: &Check) -> String {
    match c {
        Check::Tcp { common: cm } => format!("TCP_CHECK{}", common(cm)),
        Check::Http {
            common: cm,
            tls,
            urls,
            virtualhost,
            ..
        } => {
            let mut s = format!(
                "{}{}",
                if *tls { "SSL_GET" } else { "HTTP_GET" },
                common(cm)
            );
            if let Some(v) = virtualhost {
                let _ = write!(s, " virtualhost {v}");
            }
            for u in urls {
                let codes: Vec<String> = u
                    .status_codes
                    .iter()
                    .map(|r| {
                        if r.from == r.to {
                            r.from.to_string()
                        } else {
                            format!("{}-{}", r.from, r.to)
                        }
                    })
                    .collect();
                let _ = write!(s, "; url {} status {}", u.path, codes.join(" "));
                if let Some(d) = &u.digest {
                    let _ = write!(s, " digest {d}");
                }
            }
            s
        }
        Check::Udp {
            common: cm,
            payload,
            require_reply,
        } => {
            let mut s = format!("UDP_CHECK{}", common(cm));
            if let Some(p) = payload {
                let _ = write!(s, " payload {p}");
            }
            if let Some(r) = require_reply {
                let _ = write!(s, " require_reply {r}");
            }
            s
        }
        Check::Dns {
            common: cm,
            qtype,
            name,
        } => format!("DNS_CHECK{} type {qtype} name {name}", common(cm)),
        Check::Smtp {
            common: cm,
            helo_name,
        } => {
            let mut s = format!("SMTP_CHECK{}", common(cm));
            if let Some(h) = helo_name {
                let _ = write!(s, " helo_name {h}");
            }
            s
        }
        Check::Misc {
            common: cm,
            path,
            timeout,
            dynamic,
            user,
        } => {
            let mut s = format!("MISC_CHECK \"{path}\"");
            if let Some(t) = timeout {
                let _ = write!(s, " misc_timeout {}", secs(*t));
            }
            if *dynamic {
                s.push_str(" misc_dynamic");
            }
            if let Some(u) = user {
                let _ = write!(s, " user {u}");
            }
            if let Some(r) = cm.retry {
                let _ = write!(s, " retry {r}");
            }
            s
        }
    }
}

fn director(out: &mut String, cfg: &Config) {
    if !cfg.ports.is_empty() {
        let _ = writeln!(out, "\nPorts:");
        for p in &cfg.ports {
            let addrs: Vec<String> = p.addresses.iter().map(ToString::to_string).collect();
            let _ = write!(out, "  {} {} mtu {}", p.name, p.device, p.mtu);
            if !addrs.is_empty() {
                let _ = write!(out, " addresses {}", addrs.join(" "));
            }
            if let Some(k) = &p.kernel_port {
                let _ = write!(out, " kernel port {}", k.name);
            }
            out.push('\n');
        }
    }
    if !cfg.routes.is_empty() {
        let _ = writeln!(out, "Routes:");
        for r in &cfg.routes {
            match r.via {
                Some(via) => {
                    let _ = writeln!(out, "  {} via {via} port {}", r.prefix, r.port);
                }
                None => {
                    let _ = writeln!(out, "  {} port {}", r.prefix, r.port);
                }
            }
        }
    }
    if !cfg.neighbours.is_empty() {
        let _ = writeln!(out, "Static neighbours:");
        for n in &cfg.neighbours {
            let _ = writeln!(out, "  {} lladdr {} port {}", n.address, n.mac, n.port);
        }
    }
}

fn vrrp(out: &mut String, cfg: &Config) {
    if cfg.vrrp_instances.is_empty() && cfg.vrrp_scripts.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nVRRP:");
    for inst in &cfg.vrrp_instances {
        instance(out, cfg, inst);
    }
    for g in &cfg.vrrp_sync_groups {
        let _ = writeln!(out, "  sync group {}: {}", g.name, g.group.join(", "));
    }
    for (name, s) in &cfg.vrrp_scripts {
        let _ = writeln!(
            out,
            "  script {name}: \"{}\" every {}, weight {}{}, rise {}, fall {}",
            s.script,
            secs(s.interval),
            s.weight,
            if s.weight_reverse { " reverse" } else { "" },
            s.rise,
            s.fall
        );
    }
    let g = &cfg.global;
    if let Some(id) = &g.router_id {
        let _ = writeln!(out, "  router_id {id}");
    }
}

fn instance(out: &mut String, cfg: &Config, inst: &VrrpInstance) {
    let version = super::validate::vrrp::effective_version(cfg, inst);
    let state = match inst.state {
        VrrpState::Master => "MASTER",
        VrrpState::Backup => "BACKUP",
    };
    let auth = match &inst.authentication {
        None => "",
        Some(VrrpAuth::Pass { .. }) => ", auth PASS",
        Some(VrrpAuth::Ah { .. }) => ", auth AH",
    };
    let _ = writeln!(
        out,
        "  instance {}: {state} on {}, vrid {}, priority {}, advert {}, VRRPv{version}{auth}{}",
        inst.name,
        inst.interface,
        inst.virtual_router_id,
        inst.priority,
        secs(inst.advert_int),
        if inst.nopreempt { ", nopreempt" } else { "" },
    );
    let vips: Vec<String> = inst
        .virtual_ipaddress
        .iter()
        .map(|v| match &v.dev {
            Some(d) => format!("{} dev {d}", v.address),
            None => v.address.to_string(),
        })
        .collect();
    let _ = writeln!(out, "    virtual addresses: {}", vips.join(", "));
    if !inst.virtual_ipaddress_excluded.is_empty() {
        let ex: Vec<String> = inst
            .virtual_ipaddress_excluded
            .iter()
            .map(|v| v.address.to_string())
            .collect();
        let _ = writeln!(out, "    excluded addresses: {}", ex.join(", "));
    }
    if !inst.unicast_peer.is_empty() {
        let peers: Vec<String> = inst.unicast_peer.iter().map(ToString::to_string).collect();
        let src = inst
            .unicast_src_ip
            .map(|s| format!("{s} -> "))
            .unwrap_or_default();
        let _ = writeln!(out, "    unicast {src}{}", peers.join(", "));
    }
    for t in &inst.track_script {
        let _ = writeln!(
            out,
            "    track_script {}{}",
            t.name,
            t.weight.map(|w| format!(" weight {w}")).unwrap_or_default()
        );
    }
    for t in &inst.track_interface {
        let _ = writeln!(
            out,
            "    track_interface {}{}",
            t.name,
            t.weight.map(|w| format!(" weight {w}")).unwrap_or_default()
        );
    }
}
