//! Statement tree to [`Config`]: one module per family of blocks ([`global`], [`groups`],
//! [`services`] with [`real_server`], [`method`] and [`checkers`], [`vrrp`] with
//! [`vrrp_lists`] and [`vrrp_groups`]), sharing the
//! helpers here for the parts every keyword needs
//! (argument counts, value parsing with a located message, unknown keywords with a
//! suggestion, and where each produced item came from).
//!
//! Where keepalived quietly repairs a configuration (a real server port that DR cannot
//! change, a port-0 service without persistence, ops on TCP ...), the builder repairs it the
//! same way and says so in a warning: the operator gets the behaviour they had, and learns
//! about it.

mod checkers;
mod global;
mod groups;
mod method;
mod real_server;
mod services;
mod vrrp;
mod vrrp_groups;
mod vrrp_lists;

use std::collections::HashMap;
use std::net::IpAddr;

use super::keywords::{Block, Keyword};
use super::tree::Node;
use crate::config::Config;
use crate::config::error::{Diagnostics, Location};
use crate::config::spans::SpanMap;
use crate::config::suggest::suggest;

/// Builds a configuration from the top-level statements.
pub fn build(nodes: &[Node], diag: &mut Diagnostics) -> (Config, SpanMap) {
    let mut b = Builder {
        diag,
        cfg: Config::default(),
        spans: SpanMap::default(),
        groups: HashMap::new(),
    };
    // Groups first: keepalived resolves them after reading, so a virtual_server may name a
    // group defined further down.
    for node in nodes {
        match node.keyword() {
            "virtual_server_group" => b.virtual_server_group(node),
            "local_address_group" => b.local_address_group(node),
            _ => {}
        }
    }
    for node in nodes {
        match node.keyword() {
            "virtual_server_group" | "local_address_group" => {}
            "global_defs" => b.global_defs(node),
            "vrrp_script" => b.vrrp_script(node),
            "vrrp_sync_group" => b.vrrp_sync_group(node),
            "vrrp_instance" => b.vrrp_instance(node),
            "virtual_server" => b.virtual_server(node),
            _ => b.other(Block::Top, node),
        }
    }
    b.script_security(nodes);
    (b.cfg, b.spans)
}

/// A virtual_server_group: its entries, each an address list and a port.
#[derive(Debug, Clone, Default)]
struct VsGroup {
    entries: Vec<VsGroupEntry>,
}

#[derive(Debug, Clone)]
struct VsGroupEntry {
    addrs: Vec<IpAddr>,
    port: u16,
    at: Location,
}

struct Builder<'d> {
    diag: &'d mut Diagnostics,
    cfg: Config,
    spans: SpanMap,
    groups: HashMap<String, VsGroup>,
}

/// Places of the parts of an item whose index in the model is not known yet.
#[derive(Debug, Default, Clone)]
struct LocalSpans(Vec<(String, Location)>);

impl LocalSpans {
    /// Records `rel` (e.g. `.weight`, or `` for the item itself).
    fn at(&mut self, rel: impl Into<String>, loc: &Location) {
        self.0.push((rel.into(), loc.clone()));
    }

    /// Adds the spans of a sub-item under `prefix` (e.g. `.real_servers[2]`).
    fn nest(&mut self, prefix: &str, inner: &LocalSpans) {
        for (rel, loc) in &inner.0 {
            self.0.push((format!("{prefix}{rel}"), loc.clone()));
        }
    }

    fn commit(&self, prefix: &str, spans: &mut SpanMap) {
        for (rel, loc) in &self.0 {
            spans.insert(format!("{prefix}{rel}"), loc.clone());
        }
    }
}

impl Builder<'_> {
    /// keepalived rates scripts without `enable_script_security` a security violation (its
    /// exit code 6); rvs says the same, as a warning.
    fn script_security(&mut self, nodes: &[Node]) {
        if self.cfg.global.enable_script_security {
            return;
        }
        let cfg = &self.cfg;
        let scripts = !cfg.vrrp_scripts.is_empty()
            || cfg.vrrp_instances.iter().any(|i| {
                i.notify.is_some()
                    || i.notify_master.is_some()
                    || i.notify_backup.is_some()
                    || i.notify_fault.is_some()
                    || i.notify_stop.is_some()
            })
            || cfg.services.iter().any(|s| {
                s.check.quorum_up.is_some()
                    || s.check.quorum_down.is_some()
                    || s.real_servers.iter().any(|r| {
                        r.notify_up.is_some()
                            || r.notify_down.is_some()
                            || r.checks
                                .iter()
                                .any(|c| matches!(c, crate::config::Check::Misc { .. }))
                    })
            });
        if scripts && let Some(first) = nodes.first() {
            self.diag.warn(
                &first.at,
                "scripts are configured but global_defs has no enable_script_security \
                 (keepalived reports a security violation: scripts run as root)",
            );
        }
    }

    /// A keyword the caller does not read: ignored with a warning if keepalived (or DPVS)
    /// knows it in this block, else an error with a suggestion.
    fn other(&mut self, block: Block, node: &Node) {
        let kw = node.keyword();
        match block.classify(kw) {
            Keyword::Used | Keyword::Ignored => {
                self.diag.warn(
                    &node.at,
                    format!("accepted but not used by rvs: {kw} (in {})", block.name()),
                );
                if block == Block::Top {
                    self.check_ignored_block(kw, node);
                }
            }
            Keyword::DpvsIgnored => self.diag.warn(
                &node.at,
                format!(
                    "accepted but not used by rvs: {kw} (a DPVS extension, in {})",
                    block.name()
                ),
            ),
            Keyword::Unknown => self.unknown(block, node),
        }
    }

    fn unknown(&mut self, block: Block, node: &Node) {
        let kw = node.keyword();
        if kw.starts_with('$') {
            self.diag.error(
                &node.at,
                format!(
                    "\"{kw}\" in {} is not a keyword: no such parameter is defined here",
                    block.name()
                ),
            );
            return;
        }
        let hint = suggest(kw, block.all());
        let elsewhere = block.elsewhere(kw);
        let place = if elsewhere.is_empty() {
            String::new()
        } else {
            format!(" (it belongs in {})", elsewhere.join(", "))
        };
        self.diag.error_suggest(
            &node.at,
            format!("unknown keyword \"{kw}\" in {}{place}", block.name()),
            hint,
        );
    }

    /// Checks the keywords inside a block rvs ignores but whose keywords are known.
    fn check_ignored_block(&mut self, kw: &str, node: &Node) {
        let block = match kw {
            "vrrp_track_process" => Block::VrrpTrackProcess,
            "track_file" | "vrrp_track_file" => Block::TrackFile,
            "bfd_instance" => Block::BfdInstance,
            "SSL" => Block::Ssl,
            "garp_group" => Block::GarpGroup,
            _ => return,
        };
        for inner in node.block.as_deref().unwrap_or_default() {
            if block.classify(inner.keyword()) == Keyword::Unknown {
                self.unknown(block, inner);
            }
        }
    }

    /// The block of a keyword that needs one (an error, and no statements, if it is missing).
    fn block<'n>(&mut self, node: &'n Node) -> &'n [Node] {
        match &node.block {
            Some(b) => b,
            None => {
                self.diag
                    .error(&node.at, format!("{} needs a {{ }} block", node.keyword()));
                &[]
            }
        }
    }

    /// Reports a `{ }` block after a keyword that takes none.
    fn no_block(&mut self, node: &Node) {
        if node.block.is_some() {
            self.diag.error(
                &node.at,
                format!("{} does not take a {{ }} block", node.keyword()),
            );
        }
    }

    /// The first argument, which must be there; further words are reported as ignored.
    fn one<'n>(&mut self, node: &'n Node) -> Option<&'n str> {
        self.no_block(node);
        match node.arg(0) {
            None => {
                self.diag
                    .error(&node.at, format!("{} needs a value", node.keyword()));
                None
            }
            Some(v) => {
                if node.args().len() > 1 {
                    self.extra_words(node, 1);
                }
                Some(v)
            }
        }
    }

    fn extra_words(&mut self, node: &Node, from: usize) {
        let extra: Vec<&str> = node
            .args()
            .iter()
            .skip(from)
            .map(|w| w.text.as_str())
            .collect();
        self.diag.warn(
            &node.at,
            format!(
                "{}: extra words ignored: {}",
                node.keyword(),
                extra.join(" ")
            ),
        );
    }

    /// The first argument parsed with `parse`; a bad value is a located error.
    fn value<T>(
        &mut self,
        node: &Node,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let word = self.one(node)?;
        match parse(word) {
            Ok(v) => Some(v),
            Err(msg) => {
                self.diag
                    .error(&node.at, format!("{}: {msg}", node.keyword()));
                None
            }
        }
    }

    /// A keyword that is a flag, optionally followed by a boolean (`alpha`, `alpha off`).
    fn flag(&mut self, node: &Node) -> Option<bool> {
        self.no_block(node);
        match node.arg(0) {
            None => Some(true),
            Some(_) => self.value(node, super::values::boolean),
        }
    }

    /// A keyword that takes nothing (`nopreempt`); words after it are reported.
    fn bare(&mut self, node: &Node) {
        self.no_block(node);
        if !node.args().is_empty() {
            self.extra_words(node, 0);
        }
    }

    /// A script: the first word is the command line; keepalived reads the next words as the
    /// user and group to run it as, which rvs does not do (scripts run as script_user).
    fn script(&mut self, node: &Node) -> Option<String> {
        self.no_block(node);
        let Some(cmd) = node.arg(0) else {
            self.diag
                .error(&node.at, format!("{} needs a script", node.keyword()));
            return None;
        };
        if node.args().len() > 1 {
            let user: Vec<&str> = node
                .args()
                .iter()
                .skip(1)
                .map(|w| w.text.as_str())
                .collect();
            self.diag.warn(
                &node.at,
                format!(
                    "{}: running the script as \"{}\" is not supported by rvs (scripts run as script_user)",
                    node.keyword(),
                    user.join(" ")
                ),
            );
        }
        Some(cmd.to_string())
    }

    /// All arguments joined by blanks (a command line given as several words).
    fn words(&mut self, node: &Node) -> Option<String> {
        self.no_block(node);
        if node.args().is_empty() {
            self.diag
                .error(&node.at, format!("{} needs a value", node.keyword()));
            return None;
        }
        Some(
            node.args()
                .iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        )
    }
}
