//! Health checker blocks: TCP_CHECK, HTTP_GET, SSL_GET (with `url` blocks), UDP_CHECK,
//! DNS_CHECK, SMTP_CHECK (with `host` blocks) and MISC_CHECK.
//!
//! Settings a checker leaves out come from its real server, then its virtual server, as in
//! keepalived; that is resolved in [`CheckDraft::finish`] once the whole virtual_server has
//! been read.

use super::services::CheckerDefaults;
use super::{Builder, LocalSpans};
use crate::config::keepalived::keywords::{Block, Keyword};
use crate::config::keepalived::tree::Node;
use crate::config::keepalived::values;
use crate::config::{Check, CheckCommon, DNS_QUERY_TYPES, HttpUrl, StatusRange};

/// A checker as read, before inheriting from its servers.
pub(super) struct CheckDraft {
    check: Check,
    /// connect_timeout was written in the checker (the model's field has a default).
    timeout_set: bool,
    pub spans: LocalSpans,
}

fn common_mut(check: &mut Check) -> &mut CheckCommon {
    match check {
        Check::Tcp { common }
        | Check::Http { common, .. }
        | Check::Udp { common, .. }
        | Check::Dns { common, .. }
        | Check::Smtp { common, .. }
        | Check::Misc { common, .. } => common,
    }
}

impl CheckDraft {
    /// The checker with the settings it left out taken from `d`.
    pub fn finish(mut self, d: &CheckerDefaults) -> Check {
        let c = common_mut(&mut self.check);
        if !self.timeout_set
            && let Some(t) = d.connect_timeout
        {
            c.connect_timeout = t;
        }
        c.retry = c.retry.or(d.retry);
        c.delay_before_retry = c.delay_before_retry.or(d.delay_before_retry);
        c.warmup = c.warmup.or(d.warmup);
        c.delay_loop = c.delay_loop.or(d.delay_loop);
        c.alpha = c.alpha.or(d.alpha);
        if let Check::Http { virtualhost, .. } = &mut self.check
            && virtualhost.is_none()
        {
            virtualhost.clone_from(&d.virtualhost);
        }
        self.check
    }
}

/// The settings every checker kind shares, as read.
#[derive(Default, Clone)]
struct Common {
    common: CheckCommon,
    timeout_set: bool,
    spans: LocalSpans,
}

impl Builder<'_> {
    /// Reads one checker block (SMTP_CHECK may give one checker per `host`).
    pub(super) fn checker(&mut self, st: &Node) -> Vec<CheckDraft> {
        let block = match st.keyword() {
            "TCP_CHECK" => Block::TcpCheck,
            "HTTP_GET" => Block::HttpGet,
            "SSL_GET" => Block::SslGet,
            "MISC_CHECK" => Block::MiscCheck,
            "SMTP_CHECK" => Block::SmtpCheck,
            "DNS_CHECK" => Block::DnsCheck,
            _ => Block::UdpCheck,
        };
        if !st.args().is_empty() {
            self.extra_words(st, 0);
        }
        let mut base = Common::default();
        base.spans.at("", &st.at);
        let mut urls: Vec<(HttpUrl, LocalSpans)> = Vec::new();
        let mut virtualhost = None;
        let mut sni = false;
        let mut payload = None;
        let mut require_reply = None;
        let mut qtype = "SOA".to_string();
        let mut name = ".".to_string();
        let mut helo = None;
        let mut hosts: Vec<Common> = Vec::new();
        let mut misc_path = None;
        let mut misc_timeout = None;
        let mut misc_dynamic = false;
        let mut user = None;
        let nodes = self.block(st);
        for n in nodes {
            if self.common_keyword(block, &mut base, n) {
                continue;
            }
            let kw = n.keyword();
            let rel = match (block, kw) {
                (Block::HttpGet | Block::SslGet, "url") => {
                    if let Some(u) = self.url(n, urls.len()) {
                        urls.push(u);
                    }
                    continue;
                }
                (Block::HttpGet | Block::SslGet, "virtualhost") => {
                    virtualhost = self.one(n).map(str::to_string);
                    ".virtualhost"
                }
                (Block::HttpGet | Block::SslGet, "enable_sni") => {
                    sni = self.flag(n).unwrap_or(sni);
                    ".sni"
                }
                (Block::HttpGet | Block::SslGet, "nb_get_retry") => {
                    self.diag.warn(
                        &n.at,
                        "nb_get_retry is deprecated (keepalived says so too): read as retry",
                    );
                    base.common.retry = self.value(n, |w| values::u32_in(w, 0, u32::MAX));
                    ".retry"
                }
                (Block::UdpCheck, "payload") => {
                    payload = self.words(n);
                    ".payload"
                }
                (Block::UdpCheck, "require_reply") => {
                    self.no_block(n);
                    let hex: Vec<&str> = n.args().iter().map(|w| w.text.as_str()).collect();
                    require_reply = Some(hex.join(" "));
                    ".require_reply"
                }
                (Block::DnsCheck, "type") => {
                    if let Some(t) = self.value(n, |w| {
                        let up = w.to_ascii_uppercase();
                        if DNS_QUERY_TYPES.contains(&up.as_str()) {
                            Ok(up)
                        } else {
                            Err(format!(
                                "\"{w}\" is not one of {}",
                                DNS_QUERY_TYPES.join(" ")
                            ))
                        }
                    }) {
                        qtype = t;
                    }
                    ".qtype"
                }
                (Block::DnsCheck, "name") => {
                    if let Some(v) = self.one(n) {
                        name = v.to_string();
                    }
                    ".name"
                }
                (Block::SmtpCheck, "helo_name") => {
                    helo = self.one(n).map(str::to_string);
                    ".helo_name"
                }
                (Block::SmtpCheck, "host") => {
                    let mut h = Common::default();
                    h.spans.at("", &n.at);
                    for hn in self.block(n) {
                        if !self.common_keyword(Block::SmtpHost, &mut h, hn) {
                            self.other(Block::SmtpHost, hn);
                        }
                    }
                    hosts.push(h);
                    continue;
                }
                (Block::MiscCheck, "misc_path") => {
                    misc_path = self.words(n);
                    ".path"
                }
                (Block::MiscCheck, "misc_timeout") => {
                    misc_timeout = self.value(n, |w| values::timer(w, 86_400.0));
                    ".timeout"
                }
                (Block::MiscCheck, "misc_dynamic") => {
                    misc_dynamic = self.flag(n).unwrap_or(true);
                    ".dynamic"
                }
                (Block::MiscCheck, "user") => {
                    user = self.words(n);
                    ".user"
                }
                _ => {
                    self.other(block, n);
                    continue;
                }
            };
            base.spans.at(rel, &n.at);
        }

        let make = |c: Common, check: Check| CheckDraft {
            check,
            timeout_set: c.timeout_set,
            spans: c.spans,
        };
        match block {
            Block::TcpCheck => vec![make(
                base.clone(),
                Check::Tcp {
                    common: base.common,
                },
            )],
            Block::HttpGet | Block::SslGet => {
                if urls.is_empty() {
                    self.diag.warn(
                        &st.at,
                        format!(
                            "{} has no url block: the checker is ignored, as keepalived does",
                            st.keyword()
                        ),
                    );
                    return Vec::new();
                }
                let mut spans = base.spans.clone();
                let mut list = Vec::new();
                for (u, (url, s)) in urls.into_iter().enumerate() {
                    spans.nest(&format!(".urls[{u}]"), &s);
                    list.push(url);
                }
                let c = Common { spans, ..base };
                let check = Check::Http {
                    common: c.common.clone(),
                    tls: block == Block::SslGet,
                    urls: list,
                    virtualhost,
                    sni,
                };
                vec![make(c, check)]
            }
            Block::UdpCheck => vec![make(
                base.clone(),
                Check::Udp {
                    common: base.common,
                    payload,
                    require_reply,
                },
            )],
            Block::DnsCheck => vec![make(
                base.clone(),
                Check::Dns {
                    common: base.common,
                    qtype,
                    name,
                },
            )],
            Block::SmtpCheck if !hosts.is_empty() => hosts
                .into_iter()
                .map(|h| {
                    let mut c = h.common.clone();
                    let b = &base.common;
                    c.connect_ip = c.connect_ip.or(b.connect_ip);
                    c.connect_port = c.connect_port.or(b.connect_port);
                    c.bindto = c.bindto.or(b.bindto);
                    c.bind_port = c.bind_port.or(b.bind_port);
                    if !h.timeout_set {
                        c.connect_timeout = b.connect_timeout;
                    }
                    c.retry = c.retry.or(b.retry);
                    c.delay_before_retry = c.delay_before_retry.or(b.delay_before_retry);
                    c.delay_loop = c.delay_loop.or(b.delay_loop);
                    c.warmup = c.warmup.or(b.warmup);
                    c.alpha = c.alpha.or(b.alpha);
                    let mut spans = base.spans.clone();
                    spans.nest("", &h.spans);
                    CheckDraft {
                        check: Check::Smtp {
                            common: c,
                            helo_name: helo.clone(),
                        },
                        timeout_set: h.timeout_set || base.timeout_set,
                        spans,
                    }
                })
                .collect(),
            Block::SmtpCheck => vec![make(
                base.clone(),
                Check::Smtp {
                    common: base.common,
                    helo_name: helo,
                },
            )],
            _ => {
                let Some(path) = misc_path else {
                    self.diag
                        .error(&st.at, "MISC_CHECK needs misc_path (the command to run)");
                    return Vec::new();
                };
                vec![make(
                    base.clone(),
                    Check::Misc {
                        common: base.common,
                        path,
                        timeout: misc_timeout,
                        dynamic: misc_dynamic,
                        user,
                    },
                )]
            }
        }
    }

    /// Reads a keyword every checker shares, when `block` knows it; false otherwise.
    fn common_keyword(&mut self, block: Block, c: &mut Common, n: &Node) -> bool {
        let kw = n.keyword();
        if block.classify(kw) != Keyword::Used {
            return false;
        }
        let cm = &mut c.common;
        let rel = match kw {
            "connect_ip" => {
                cm.connect_ip = self.value(n, values::ip);
                ".connect_ip"
            }
            "connect_port" => {
                cm.connect_port = self.value(n, values::port);
                ".connect_port"
            }
            "bindto" => {
                cm.bindto = self.value(n, values::ip);
                ".bindto"
            }
            "bind_port" => {
                cm.bind_port = self.value(n, values::port);
                ".bind_port"
            }
            "connect_timeout" => {
                if let Some(t) = self.value(n, |w| values::timer(w, 86_400.0)) {
                    cm.connect_timeout = t;
                    c.timeout_set = true;
                }
                ".connect_timeout"
            }
            "retry" => {
                cm.retry = self.value(n, |w| values::u32_in(w, 0, u32::MAX));
                ".retry"
            }
            "delay_before_retry" => {
                cm.delay_before_retry = self.value(n, |w| values::timer(w, 86_400.0 * 365.0));
                ".delay_before_retry"
            }
            "delay_loop" => {
                cm.delay_loop = self.value(n, |w| values::timer(w, 86_400.0 * 365.0));
                ".delay_loop"
            }
            "warmup" => {
                cm.warmup = self.value(n, |w| values::timer(w, 86_400.0 * 365.0));
                ".warmup"
            }
            "alpha" => {
                cm.alpha = self.flag(n);
                ".alpha"
            }
            _ => return false,
        };
        c.spans.at(rel, &n.at);
        true
    }

    /// A `url { path ... digest ... status_code ... virtualhost ... }` block.
    fn url(&mut self, node: &Node, index: usize) -> Option<(HttpUrl, LocalSpans)> {
        let mut spans = LocalSpans::default();
        spans.at("", &node.at);
        let mut url = HttpUrl {
            path: String::new(),
            status_codes: Vec::new(),
            digest: None,
            virtualhost: None,
        };
        let mut has_path = false;
        for n in self.block(node) {
            let rel = match n.keyword() {
                "path" => {
                    if let Some(p) = self.one(n) {
                        url.path = p.to_string();
                        has_path = true;
                    }
                    ".path"
                }
                "digest" => {
                    url.digest = self.one(n).map(str::to_ascii_lowercase);
                    ".digest"
                }
                "status_code" => {
                    self.no_block(n);
                    if n.args().is_empty() {
                        self.diag
                            .error(&n.at, "status_code needs codes or ranges (200-299)");
                    }
                    for w in n.args() {
                        match status_range(&w.text) {
                            Ok(r) => url.status_codes.push(r),
                            Err(msg) => self.diag.error(&n.at, format!("status_code: {msg}")),
                        }
                    }
                    ".status_codes"
                }
                "virtualhost" => {
                    url.virtualhost = self.one(n).map(str::to_string);
                    ".virtualhost"
                }
                _ => {
                    self.other(Block::Url, n);
                    continue;
                }
            };
            spans.at(rel, &n.at);
        }
        if !has_path {
            self.diag
                .error(&node.at, format!("url #{} needs a path", index + 1));
            return None;
        }
        if url.status_codes.is_empty() {
            url.status_codes.push(StatusRange { from: 200, to: 299 });
        }
        Some((url, spans))
    }
}

/// `200` or `200-299`.
fn status_range(word: &str) -> Result<StatusRange, String> {
    let (a, b) = word.split_once('-').unwrap_or((word, word));
    let from = values::u16_in(a, 100, 599)?;
    let to = values::u16_in(b, 100, 599)?;
    if from > to {
        return Err(format!("range {word} ends before it starts"));
    }
    Ok(StatusRange { from, to })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_ranges() {
        assert_eq!(status_range("200"), Ok(StatusRange { from: 200, to: 200 }));
        assert_eq!(
            status_range("200-299"),
            Ok(StatusRange { from: 200, to: 299 })
        );
        assert!(status_range("299-200").is_err());
        assert!(status_range("99").is_err());
        assert!(status_range("abc").is_err());
    }
}
