//! `real_server` blocks, read into drafts that take the virtual server's defaults once the
//! whole virtual_server has been read.

use super::checkers::CheckDraft;
use super::method::Method;
use super::services::CheckerDefaults;
use super::{Builder, LocalSpans};
use crate::config::error::Location;
use crate::config::keepalived::keywords::Block;
use crate::config::keepalived::tree::Node;
use crate::config::keepalived::values;
use crate::config::{Forward, MAX_WEIGHT, RealServer, TunnelCsum, TunnelType};

pub(super) struct RsDraft {
    pub rs: RealServer,
    pub method: Option<Method>,
    pub weight_set: bool,
    pub defaults: CheckerDefaults,
    pub checks: Vec<CheckDraft>,
    pub spans: LocalSpans,
    pub at: Location,
}

impl Builder<'_> {
    /// `real_server IP [PORT] { ... }` (the block may be left out).
    pub(super) fn real_server(&mut self, node: &Node) -> Option<RsDraft> {
        let addr = match node.arg(0).map(values::ip) {
            Some(Ok(a)) => a,
            Some(Err(msg)) => {
                self.diag.error(&node.at, format!("real_server: {msg}"));
                return None;
            }
            None => {
                self.diag
                    .error(&node.at, "real_server needs an address [and port]");
                return None;
            }
        };
        let port = match node.arg(1).map(values::port) {
            None => 0,
            Some(Ok(p)) => p,
            Some(Err(msg)) => {
                self.diag.error(&node.at, format!("real_server: {msg}"));
                return None;
            }
        };
        if node.args().len() > 2 {
            self.extra_words(node, 2);
        }
        let mut r = RsDraft {
            rs: RealServer {
                address: addr,
                port,
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
                checks: Vec::new(),
            },
            method: None,
            weight_set: false,
            defaults: CheckerDefaults::default(),
            checks: Vec::new(),
            spans: LocalSpans::default(),
            at: node.at.clone(),
        };
        r.spans.at("", &node.at);
        // keepalived allows a real_server without a block (weight 1, no checker).
        for st in node.block.as_deref().unwrap_or_default() {
            self.rs_statement(&mut r, st);
        }
        Some(r)
    }

    /// One statement of a real_server block.
    fn rs_statement(&mut self, r: &mut RsDraft, st: &Node) {
        let kw = st.keyword();
        let rel = match kw {
            "weight" => {
                if let Some(w) = self.value(st, |w| values::u32_in(w, 0, MAX_WEIGHT)) {
                    r.rs.weight = w;
                    r.weight_set = true;
                }
                ".weight"
            }
            "lvs_method" => {
                r.method = self.method(st);
                ".forward"
            }
            "uthreshold" => {
                if let Some(v) = self.value(st, |w| values::u32_in(w, 0, u32::MAX)) {
                    r.rs.upper_threshold = v;
                }
                ".upper_threshold"
            }
            "lthreshold" => {
                if let Some(v) = self.value(st, |w| values::u32_in(w, 0, u32::MAX)) {
                    r.rs.lower_threshold = v;
                }
                ".lower_threshold"
            }
            "inhibit_on_failure" => {
                r.rs.inhibit_on_failure = self.flag(st);
                ".inhibit_on_failure"
            }
            "notify_up" => {
                r.rs.notify_up = self.script(st);
                ".notify_up"
            }
            "notify_down" => {
                r.rs.notify_down = self.script(st);
                ".notify_down"
            }
            "delay_loop" => {
                r.rs.delay_loop = self.value(st, |w| values::timer(w, 86_400.0 * 365.0));
                r.defaults.delay_loop = r.rs.delay_loop;
                ".delay_loop"
            }
            "alpha" => {
                r.defaults.alpha = self.flag(st);
                return;
            }
            "connect_timeout" => {
                r.defaults.connect_timeout = self.value(st, |w| values::timer(w, 86_400.0));
                return;
            }
            "retry" => {
                r.defaults.retry = self.value(st, |w| values::u32_in(w, 1, u32::MAX));
                return;
            }
            "delay_before_retry" => {
                r.defaults.delay_before_retry =
                    self.value(st, |w| values::timer(w, 86_400.0 * 365.0));
                return;
            }
            "warmup" => {
                r.defaults.warmup = self.value(st, |w| values::timer(w, 86_400.0 * 365.0));
                return;
            }
            "virtualhost" => {
                r.defaults.virtualhost = self.one(st).map(str::to_string);
                return;
            }
            "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "MISC_CHECK" | "SMTP_CHECK" | "DNS_CHECK"
            | "UDP_CHECK" => {
                r.checks.extend(self.checker(st));
                return;
            }
            "PING_CHECK" | "FILE_CHECK" | "BFD_CHECK" => {
                self.diag.error(
                    &st.at,
                    format!(
                        "{kw} is not supported by rvs (it checks with TCP_CHECK, HTTP_GET, SSL_GET, \
                         UDP_CHECK, DNS_CHECK, SMTP_CHECK and MISC_CHECK)"
                    ),
                );
                return;
            }
            _ => {
                self.other(Block::RealServer, st);
                return;
            }
        };
        r.spans.at(rel, &st.at);
    }
}

impl RsDraft {
    /// The real server with what it inherits from its virtual server: the forwarding
    /// method and tunnel, the default weight, and its checkers' settings.
    pub(super) fn finish(
        mut self,
        method: Method,
        default_weight: Option<u32>,
        vs_defaults: &CheckerDefaults,
    ) -> (RealServer, LocalSpans, Location) {
        let m = self.method.unwrap_or(method);
        self.rs.forward = self.method.map(|m| m.forward);
        if m.forward == Forward::Tun {
            self.rs.tunnel = m.tunnel;
            self.rs.tunnel_port = m.tunnel_port;
            self.rs.tunnel_csum = m.csum;
        }
        if !self.weight_set
            && let Some(w) = default_weight
        {
            self.rs.weight = w;
        }
        let defaults = self.defaults.or(vs_defaults);
        for (k, c) in self.checks.into_iter().enumerate() {
            self.spans.nest(&format!(".checks[{k}]"), &c.spans);
            self.rs.checks.push(c.finish(&defaults));
        }
        (self.rs, self.spans, self.at)
    }
}
