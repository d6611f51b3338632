//! `virtual_server` blocks and their sorry servers.
//!
//! A virtual_server is read into a draft first, because keepalived lets keywords come in
//! any order and resolves defaults at the end of the block: the scheduler flags `flag-1`
//! and `flag-2` mean different things for sh and mh, real servers take the service's
//! forwarding method and checker settings, and a `group` service becomes one service per
//! address of the group.

use std::net::IpAddr;

use super::method::Method;
use super::real_server::RsDraft;
use super::{Builder, LocalSpans};
use crate::config::error::Location;
use crate::config::keepalived::keywords::Block;
use crate::config::keepalived::tree::Node;
use crate::config::keepalived::values;
use crate::config::suggest::suggest;
use crate::config::{
    Forward, MAX_WEIGHT, Protocol, RealServer, ServiceCheckDefaults, SorryServer, TunnelCsum,
    TunnelType, VirtualService,
};

/// keepalived's default persistence timeout (IPVS's), in seconds.
const DEFAULT_PERSISTENCE: u32 = 360;

/// What a virtual_server line names.
#[derive(Debug, Clone)]
enum Target {
    Addr(IpAddr, u16),
    Group(String),
    /// Not supported by rvs: read for errors, then dropped.
    Fwmark,
}

/// Checker settings a virtual or real server passes down to its checkers.
#[derive(Debug, Clone, Default)]
pub(super) struct CheckerDefaults {
    pub connect_timeout: Option<f64>,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<f64>,
    pub warmup: Option<f64>,
    pub delay_loop: Option<f64>,
    pub alpha: Option<bool>,
    pub virtualhost: Option<String>,
}

impl CheckerDefaults {
    /// `self` where set, else `outer`.
    pub(super) fn or(&self, outer: &CheckerDefaults) -> CheckerDefaults {
        CheckerDefaults {
            connect_timeout: self.connect_timeout.or(outer.connect_timeout),
            retry: self.retry.or(outer.retry),
            delay_before_retry: self.delay_before_retry.or(outer.delay_before_retry),
            warmup: self.warmup.or(outer.warmup),
            delay_loop: self.delay_loop.or(outer.delay_loop),
            alpha: self.alpha.or(outer.alpha),
            virtualhost: self
                .virtualhost
                .clone()
                .or_else(|| outer.virtualhost.clone()),
        }
    }
}

struct VsDraft {
    at: Location,
    target: Target,
    svc: VirtualService,
    protocol: Option<Protocol>,
    scheduler: Option<String>,
    method: Option<Method>,
    flags: Vec<(String, Location)>,
    default_weight: Option<u32>,
    defaults: CheckerDefaults,
    sorry_method: Option<(Method, Location)>,
    sorry_inhibit: bool,
    reals: Vec<RsDraft>,
    spans: LocalSpans,
}

impl Builder<'_> {
    /// `virtual_server IP [PORT] | group NAME | fwmark N { ... }`.
    pub(super) fn virtual_server(&mut self, node: &Node) {
        let Some(target) = self.vs_target(node) else {
            return;
        };
        let mut d = VsDraft {
            at: node.at.clone(),
            target,
            svc: VirtualService {
                protocol: Protocol::Tcp,
                address: IpAddr::from([0, 0, 0, 0]),
                port: 0,
                scheduler: "wlc".to_string(),
                sched_flags: Vec::new(),
                persistence_timeout: None,
                persistence_netmask: None,
                one_packet: false,
                forward: Forward::Nat,
                local_address_group: None,
                client_address: Default::default(),
                check: ServiceCheckDefaults::default(),
                sorry_server: None,
                real_servers: Vec::new(),
            },
            protocol: None,
            scheduler: None,
            method: None,
            flags: Vec::new(),
            default_weight: None,
            defaults: CheckerDefaults::default(),
            sorry_method: None,
            sorry_inhibit: false,
            reals: Vec::new(),
            spans: LocalSpans::default(),
        };
        d.spans.at("", &node.at);
        for st in self.block(node) {
            self.vs_statement(&mut d, st);
        }
        self.finish_virtual_server(d);
    }

    /// What the virtual_server line names.
    fn vs_target(&mut self, node: &Node) -> Option<Target> {
        let words: Vec<&str> = node.args().iter().map(|w| w.text.as_str()).collect();
        match words.as_slice() {
            ["group", name, rest @ ..] => {
                if !rest.is_empty() {
                    self.extra_words(node, 2);
                }
                if !self.groups.contains_key(*name) {
                    let hint = suggest(name, self.groups.keys().map(String::as_str));
                    self.diag.error_suggest(
                        &node.at,
                        format!(
                            "virtual_server group {name}: no virtual_server_group of that name"
                        ),
                        hint,
                    );
                    return None;
                }
                Some(Target::Group(name.to_string()))
            }
            ["fwmark", ..] => {
                self.diag.warn(
                    &node.at,
                    "fwmark virtual servers are not supported by rvs (it has no netfilter marks): skipped",
                );
                Some(Target::Fwmark)
            }
            [addr, rest @ ..] => {
                let ip = match values::ip(addr) {
                    Ok(ip) => ip,
                    Err(msg) => {
                        self.diag.error(&node.at, format!("virtual_server: {msg}"));
                        return None;
                    }
                };
                let port = match rest.first() {
                    None => 0,
                    Some(p) => match values::port(p) {
                        Ok(p) => p,
                        Err(msg) => {
                            self.diag.error(&node.at, format!("virtual_server: {msg}"));
                            return None;
                        }
                    },
                };
                if rest.len() > 1 {
                    self.extra_words(node, 2);
                }
                Some(Target::Addr(ip, port))
            }
            [] => {
                self.diag.error(
                    &node.at,
                    "virtual_server needs an address and port, group NAME or fwmark N",
                );
                None
            }
        }
    }

    /// One statement of a virtual_server block.
    fn vs_statement(&mut self, d: &mut VsDraft, st: &Node) {
        let kw = st.keyword();
        let rel = match kw {
            "lb_algo" | "lvs_sched" => {
                if let Some(s) = self.one(st) {
                    d.scheduler = Some(s.to_string());
                }
                ".scheduler"
            }
            "lb_kind" | "lvs_method" => {
                if let Some(m) = self.method(st) {
                    d.method = Some(m);
                }
                ".forward"
            }
            "protocol" => {
                if let Some(p) = self.protocol(st) {
                    d.protocol = Some(p);
                }
                ".protocol"
            }
            "persistence_timeout" => {
                self.no_block(st);
                d.svc.persistence_timeout = match st.arg(0) {
                    None => Some(DEFAULT_PERSISTENCE),
                    Some(_) => self.value(st, |w| values::u32_in(w, 1, u32::MAX)),
                };
                ".persistence_timeout"
            }
            "persistence_granularity" => {
                let v6 = match &d.target {
                    Target::Addr(ip, _) => ip.is_ipv6(),
                    _ => st.arg(0).is_some_and(|w| !w.contains('.')),
                };
                d.svc.persistence_netmask = if v6 {
                    self.value(st, |w| values::u8_in(w, 1, 128))
                } else {
                    self.granularity_v4(st)
                };
                ".persistence_netmask"
            }
            "ops" => {
                self.bare(st);
                d.svc.one_packet = true;
                ".one_packet"
            }
            "flag-1" | "flag-2" | "flag-3" | "sh-port" | "sh-fallback" | "mh-port"
            | "mh-fallback" => {
                self.bare(st);
                d.flags.push((kw.to_string(), st.at.clone()));
                return;
            }
            "delay_loop" => {
                if let Some(v) = self.value(st, |w| values::timer(w, 86_400.0 * 365.0)) {
                    d.svc.check.delay_loop = v;
                }
                ".check.delay_loop"
            }
            "warmup" => {
                d.svc.check.warmup = self.value(st, |w| values::timer(w, 86_400.0 * 365.0));
                ".check.warmup"
            }
            "alpha" => {
                self.bare(st);
                d.svc.check.alpha = true;
                ".check.alpha"
            }
            "omega" => {
                self.bare(st);
                d.svc.check.omega = true;
                ".check.omega"
            }
            "quorum" => {
                if let Some(q) = self.value(st, |w| values::u32_in(w, 0, u32::MAX)) {
                    d.svc.check.quorum = q;
                }
                ".check.quorum"
            }
            "hysteresis" => {
                if let Some(h) = self.value(st, |w| values::u32_in(w, 0, u32::MAX)) {
                    d.svc.check.hysteresis = h;
                }
                ".check.hysteresis"
            }
            "quorum_up" => {
                d.svc.check.quorum_up = self.script(st);
                ".check.quorum_up"
            }
            "quorum_down" => {
                d.svc.check.quorum_down = self.script(st);
                ".check.quorum_down"
            }
            "inhibit_on_failure" => {
                if let Some(v) = self.flag(st) {
                    d.svc.check.inhibit_on_failure = v;
                }
                ".check.inhibit_on_failure"
            }
            "virtualhost" => {
                d.svc.check.virtualhost = self.one(st).map(str::to_string);
                ".check.virtualhost"
            }
            "connect_timeout" => {
                d.defaults.connect_timeout = self.value(st, |w| values::timer(w, 86_400.0));
                return;
            }
            "retry" => {
                d.defaults.retry = self.value(st, |w| values::u32_in(w, 1, u32::MAX));
                return;
            }
            "delay_before_retry" => {
                d.defaults.delay_before_retry =
                    self.value(st, |w| values::timer(w, 86_400.0 * 365.0));
                return;
            }
            "weight" => {
                d.default_weight = self.value(st, |w| values::u32_in(w, 0, MAX_WEIGHT));
                return;
            }
            "sorry_server" => {
                self.no_block(st);
                d.svc.sorry_server = self.sorry_server(st);
                ".sorry_server"
            }
            "sorry_server_inhibit" => {
                self.bare(st);
                d.sorry_inhibit = true;
                ".sorry_server.inhibit"
            }
            "sorry_server_lvs_method" => {
                if let Some(m) = self.method(st) {
                    d.sorry_method = Some((m, st.at.clone()));
                }
                ".sorry_server.forward"
            }
            "laddr_group_name" => {
                d.svc.local_address_group = self.one(st).map(str::to_string);
                ".local_address_group"
            }
            "real_server" => {
                if let Some(rs) = self.real_server(st) {
                    d.reals.push(rs);
                }
                return;
            }
            _ => {
                self.other(Block::VirtualServer, st);
                return;
            }
        };
        d.spans.at(rel, &st.at);
    }

    /// An IPv4 `persistence_granularity`: a netmask. keepalived hands any dotted quad to
    /// IPVS; rvs groups clients by prefix, so a mask with holes is reported and not used.
    fn granularity_v4(&mut self, st: &Node) -> Option<u8> {
        let word = self.one(st)?;
        match values::netmask_v4(word) {
            Ok(len) => Some(len),
            Err(msg) if word.parse::<std::net::Ipv4Addr>().is_ok() => {
                self.diag.warn(
                    &st.at,
                    format!("persistence_granularity: {msg}; rvs persists by prefix, so it is not used (persistence per client address)"),
                );
                None
            }
            Err(msg) => {
                self.diag
                    .error(&st.at, format!("persistence_granularity: {msg}"));
                None
            }
        }
    }

    /// `protocol TCP|UDP|SCTP` (any case, as keepalived reads it).
    fn protocol(&mut self, st: &Node) -> Option<Protocol> {
        let word = self.one(st)?;
        match word.to_ascii_uppercase().as_str() {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => {
                self.diag.error(
                    &st.at,
                    "protocol SCTP is not supported by rvs (TCP and UDP only)",
                );
                None
            }
            _ => {
                let hint = suggest(word, ["TCP", "UDP", "SCTP"]);
                self.diag.error_suggest(
                    &st.at,
                    format!("protocol: unknown protocol \"{word}\" (TCP, UDP or SCTP)"),
                    hint,
                );
                None
            }
        }
    }

    /// `sorry_server IP [PORT]`.
    fn sorry_server(&mut self, st: &Node) -> Option<SorryServer> {
        let addr = match st.arg(0).map(values::ip) {
            Some(Ok(a)) => a,
            Some(Err(msg)) => {
                self.diag.error(&st.at, format!("sorry_server: {msg}"));
                return None;
            }
            None => {
                self.diag
                    .error(&st.at, "sorry_server needs an address [and port]");
                return None;
            }
        };
        let port = match st.arg(1).map(values::port) {
            None => 0,
            Some(Ok(p)) => p,
            Some(Err(msg)) => {
                self.diag.error(&st.at, format!("sorry_server: {msg}"));
                return None;
            }
        };
        if st.args().len() > 2 {
            self.extra_words(st, 2);
        }
        Some(SorryServer {
            address: addr,
            port,
            forward: None,
            inhibit: false,
            tunnel: TunnelType::Ipip,
            tunnel_port: 0,
        })
    }

    /// Resolves defaults and inheritance, repairs what keepalived repairs, and adds one
    /// service per address of the draft.
    fn finish_virtual_server(&mut self, mut d: VsDraft) {
        if matches!(d.target, Target::Fwmark) {
            return;
        }
        let method = self.resolve_service(&mut d);
        let reals = self.inherit_real_servers(&mut d, method);
        if reals.is_empty() {
            self.diag.warn(
                &d.at,
                "virtual_server has no real servers: ignored, as keepalived does",
            );
            return;
        }
        self.repair_quorum(&mut d, &reals);
        self.add_services(&d, &reals);
    }

    /// The service's own settings: keepalived's defaults (with a warning where keepalived
    /// complains), flags by scheduler, repairs, the sorry server. Returns the method its
    /// real servers inherit.
    fn resolve_service(&mut self, d: &mut VsDraft) -> Method {
        let protocol = match d.protocol {
            Some(p) => p,
            None => {
                self.diag.warn(
                    &d.at,
                    "no protocol given: keepalived defaults to UDP, and so does rvs (add `protocol TCP`?)",
                );
                Protocol::Udp
            }
        };
        d.svc.protocol = protocol;
        match d.scheduler.take() {
            Some(s) => d.svc.scheduler = s,
            None => self.diag.warn(
                &d.at,
                "no lb_algo given: keepalived defaults to wlc, and so does rvs",
            ),
        }
        if d.method.is_none() && d.reals.iter().any(|r| r.method.is_none()) {
            self.diag.warn(
                &d.at,
                "no lb_kind given: keepalived defaults to NAT, and so does rvs",
            );
        }
        let method = d.method.unwrap_or(Method {
            forward: Forward::Nat,
            tunnel: TunnelType::Ipip,
            tunnel_port: 0,
            csum: TunnelCsum::NoCsum,
        });
        d.svc.forward = method.forward;
        d.svc.sched_flags = resolve_flags(&d.svc.scheduler, &d.flags);
        if d.svc.one_packet && protocol != Protocol::Udp {
            self.diag.warn(
                &d.at,
                "ops (one-packet scheduling) applies to UDP only: cleared, as keepalived does",
            );
            d.svc.one_packet = false;
        }
        if d.svc.persistence_netmask.is_some() && d.svc.persistence_timeout.is_none() {
            d.svc.persistence_timeout = Some(DEFAULT_PERSISTENCE);
        }
        self.resolve_sorry_server(d, method);
        method
    }

    fn resolve_sorry_server(&mut self, d: &mut VsDraft, method: Method) {
        let Some(sorry) = &mut d.svc.sorry_server else {
            if let Some((_, at)) = &d.sorry_method {
                self.diag
                    .warn(at, "sorry_server_lvs_method without sorry_server: ignored");
            }
            if d.sorry_inhibit {
                self.diag
                    .warn(&d.at, "sorry_server_inhibit without sorry_server: ignored");
            }
            return;
        };
        sorry.inhibit = d.sorry_inhibit;
        let m = match d.sorry_method {
            Some((m, _)) => {
                sorry.forward = Some(m.forward);
                m
            }
            None => method,
        };
        if m.forward == Forward::Tun {
            sorry.tunnel = m.tunnel;
            sorry.tunnel_port = m.tunnel_port;
        }
        if let Some(vip) = d.target.addr()
            && m.forward != Forward::Tun
            && sorry.address.is_ipv4() != vip.is_ipv4()
        {
            self.diag.warn(
                &d.at,
                format!(
                    "sorry server {} is not of the virtual server's address family: skipped, as keepalived does",
                    sorry.address
                ),
            );
            d.svc.sorry_server = None;
        }
    }

    /// The real servers with what they inherit from the service, without those keepalived
    /// drops (wrong family, listed twice).
    fn inherit_real_servers(
        &mut self,
        d: &mut VsDraft,
        method: Method,
    ) -> Vec<(RealServer, LocalSpans, Location)> {
        let vs_defaults = CheckerDefaults {
            warmup: d.svc.check.warmup,
            alpha: d.svc.check.alpha.then_some(true),
            ..d.defaults.clone()
        };
        let mut reals: Vec<(RealServer, LocalSpans, Location)> = Vec::new();
        for r in std::mem::take(&mut d.reals) {
            let (rs, spans, at) = r.finish(method, d.default_weight, &vs_defaults);
            let fwd = rs.forward.unwrap_or(method.forward);
            if let Some(vip) = d.target.addr()
                && fwd != Forward::Tun
                && rs.address.is_ipv4() != vip.is_ipv4()
            {
                self.diag.warn(
                    &at,
                    format!(
                        "real server {} is not of the virtual server's address family: skipped, as keepalived does",
                        rs.address
                    ),
                );
                continue;
            }
            if let Some((_, _, first)) = reals
                .iter()
                .find(|(x, _, _)| x.address == rs.address && x.port == rs.port)
            {
                self.diag.warn(
                    &at,
                    format!(
                        "real server {} is listed twice (first at line {}): the second is dropped, as keepalived does",
                        rs.address, first.line
                    ),
                );
                continue;
            }
            reals.push((rs, spans, at));
        }
        reals
    }

    /// keepalived lowers a quorum above the total weight, and a hysteresis not below it.
    fn repair_quorum(&mut self, d: &mut VsDraft, reals: &[(RealServer, LocalSpans, Location)]) {
        let weight_sum: u64 = reals.iter().map(|(r, _, _)| u64::from(r.weight)).sum();
        let q = &mut d.svc.check;
        if u64::from(q.quorum) > weight_sum {
            self.diag.warn(
                &d.at,
                format!(
                    "quorum {} exceeds the total weight of the real servers ({weight_sum}): lowered, as keepalived does",
                    q.quorum
                ),
            );
            q.quorum = u32::try_from(weight_sum).unwrap_or(u32::MAX);
        }
        if q.quorum > 0 && q.hysteresis >= q.quorum {
            self.diag.warn(
                &d.at,
                format!(
                    "hysteresis {} is not below the quorum {}: set to {}, as keepalived does",
                    q.hysteresis,
                    q.quorum,
                    q.quorum - 1
                ),
            );
            q.hysteresis = q.quorum - 1;
        }
    }

    /// One service per address: the virtual_server's own, or each of its group's.
    fn add_services(&mut self, d: &VsDraft, reals: &[(RealServer, LocalSpans, Location)]) {
        let targets: Vec<(IpAddr, u16, Option<Location>, bool)> = match &d.target {
            Target::Addr(ip, port) => vec![(*ip, *port, None, false)],
            Target::Group(name) => self
                .groups
                .get(name)
                .map(|g| {
                    g.entries
                        .iter()
                        .flat_map(|e| {
                            e.addrs
                                .iter()
                                .map(|a| (*a, e.port, Some(e.at.clone()), true))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            Target::Fwmark => Vec::new(),
        };
        for (addr, port, entry_at, grouped) in targets {
            let mut svc = d.svc.clone();
            svc.address = addr;
            svc.port = port;
            let mut spans = d.spans.clone();
            if let Some(at) = &entry_at {
                spans.at(".address", at);
                spans.at(".port", at);
            }
            if port == 0 && svc.persistence_timeout.is_none() {
                self.diag.warn(
                    entry_at.as_ref().unwrap_or(&d.at),
                    format!(
                        "port 0 (every port) needs persistence: persistence_timeout {DEFAULT_PERSISTENCE} set, as keepalived does"
                    ),
                );
                svc.persistence_timeout = Some(DEFAULT_PERSISTENCE);
            }
            for (j, (rs, rs_spans, rs_at)) in reals.iter().enumerate() {
                let mut rs = rs.clone();
                let fwd = rs.forward.unwrap_or(svc.forward);
                if rs.port == 0 {
                    rs.port = port;
                } else if !grouped
                    && port != 0
                    && matches!(fwd, Forward::Dr | Forward::Tun)
                    && rs.port != port
                {
                    self.diag.warn(
                        rs_at,
                        format!(
                            "real server port {} differs from the virtual server port {port}, which DR/TUN cannot change: reset to {port}, as keepalived does",
                            rs.port
                        ),
                    );
                    rs.port = port;
                }
                spans.nest(&format!(".real_servers[{j}]"), rs_spans);
                svc.real_servers.push(rs);
            }
            let idx = self.cfg.services.len();
            spans.commit(&format!("services[{idx}]"), &mut self.spans);
            self.cfg.services.push(svc);
        }
    }
}

impl Target {
    /// The address of an `IP PORT` virtual server.
    fn addr(&self) -> Option<IpAddr> {
        match self {
            Target::Addr(ip, _) => Some(*ip),
            _ => None,
        }
    }
}

/// `flag-1`/`flag-2` name sh's or mh's flags depending on the scheduler; anything that
/// has no meaning is kept as written for validation to report.
fn resolve_flags(scheduler: &str, flags: &[(String, Location)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (f, _) in flags {
        let name = match (scheduler, f.as_str()) {
            ("sh", "flag-1") => "sh-fallback",
            ("sh", "flag-2") => "sh-port",
            ("mh", "flag-1") => "mh-fallback",
            ("mh", "flag-2") => "mh-port",
            (_, other) => other,
        };
        if !out.iter().any(|x| x == name) {
            out.push(name.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_follow_the_scheduler() {
        let at = Location::new(std::sync::Arc::from("t"), 1);
        let f = |s: &str| (s.to_string(), at.clone());
        assert_eq!(
            resolve_flags("sh", &[f("flag-1"), f("flag-2")]),
            vec!["sh-fallback", "sh-port"]
        );
        assert_eq!(
            resolve_flags("mh", &[f("flag-2"), f("mh-port")]),
            vec!["mh-port"]
        );
        assert_eq!(resolve_flags("rr", &[f("flag-1")]), vec!["flag-1"]);
    }
}
