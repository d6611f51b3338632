//! The list blocks of VRRP: `virtual_ipaddress` lines with their options, unicast peers,
//! and `track_interface` / `track_script` entries with `weight N [reverse]`.

use super::{Builder, LocalSpans};
use crate::config::keepalived::tree::Node;
use crate::config::keepalived::values;
use crate::config::suggest::suggest;
use crate::config::{Tracked, VirtualAddress};

/// Options of a `virtual_ipaddress` line that rvs reads.
const VIP_USED: [&str; 3] = ["dev", "label", "scope"];
/// Options keepalived knows that take a value, and those that do not (accepted, unused).
const VIP_IGNORED_WITH_VALUE: [&str; 4] = ["brd", "peer", "track_group", "preferred_lft"];
const VIP_IGNORED_FLAGS: [&str; 7] = [
    "home",
    "-nodad",
    "mngtmpaddr",
    "noprefixroute",
    "autojoin",
    "no_track",
    "use_vmac",
];
const SCOPES: [&str; 5] = ["site", "link", "host", "nowhere", "global"];

impl Builder<'_> {
    /// `weight N [reverse|noreverse]` on the words from `from` on.
    pub(super) fn weight_reverse(&mut self, st: &Node, from: usize) -> Option<(i32, bool)> {
        self.no_block(st);
        let words: Vec<&str> = st
            .words
            .iter()
            .skip(from + 1)
            .map(|w| w.text.as_str())
            .collect();
        let Some(w) = words.first() else {
            self.diag.error(&st.at, "weight needs a number");
            return None;
        };
        let weight = match values::signed(w, -254, 254) {
            Ok(v) => i32::try_from(v).unwrap_or(0),
            Err(msg) => {
                self.diag.error(&st.at, format!("weight: {msg}"));
                return None;
            }
        };
        let reverse = match words.get(1).copied() {
            None | Some("noreverse" | "no_reverse") => false,
            Some("reverse") => true,
            Some(other) => {
                let hint = suggest(other, ["reverse", "noreverse"]);
                self.diag.error_suggest(
                    &st.at,
                    format!("weight: unexpected \"{other}\" (reverse or noreverse)"),
                    hint,
                );
                return None;
            }
        };
        if words.len() > 2 {
            self.extra_words(st, from + 2);
        }
        Some((weight, reverse))
    }

    /// A `virtual_ipaddress` / `virtual_ipaddress_excluded` block.
    pub(super) fn virtual_addresses(
        &mut self,
        node: &Node,
        spans: &mut LocalSpans,
    ) -> Vec<VirtualAddress> {
        let kw = node.keyword().to_string();
        let mut out = Vec::new();
        if !node.args().is_empty() {
            self.extra_words(node, 0);
        }
        for line in self.block(node) {
            if line.block.is_some() {
                self.diag.error(
                    &line.at,
                    format!("an entry of {kw} does not take a {{ }} block"),
                );
                continue;
            }
            let address = match values::ip_prefix(line.keyword()) {
                Ok(a) => a,
                Err(msg) => {
                    self.diag.error(&line.at, format!("{kw}: {msg}"));
                    continue;
                }
            };
            let mut va = VirtualAddress {
                address,
                dev: None,
                label: None,
                scope: None,
            };
            let words: Vec<&str> = line.args().iter().map(|w| w.text.as_str()).collect();
            let mut i = 0;
            while let Some(opt) = words.get(i).copied() {
                let value = words.get(i + 1).copied();
                if VIP_USED.contains(&opt) || VIP_IGNORED_WITH_VALUE.contains(&opt) {
                    let Some(value) = value else {
                        self.diag
                            .error(&line.at, format!("{kw}: {opt} needs a value"));
                        break;
                    };
                    match opt {
                        "dev" => va.dev = Some(value.to_string()),
                        "label" => va.label = Some(value.to_string()),
                        "scope" => {
                            if SCOPES.contains(&value) || value.parse::<u8>().is_ok() {
                                va.scope = Some(value.to_string());
                            } else {
                                let hint = suggest(value, SCOPES);
                                self.diag.error_suggest(
                                    &line.at,
                                    format!(
                                        "{kw}: scope \"{value}\" is not one of {}",
                                        SCOPES.join(" ")
                                    ),
                                    hint,
                                );
                            }
                        }
                        _ => self.diag.warn(
                            &line.at,
                            format!("accepted but not used by rvs: {opt} (in {kw})"),
                        ),
                    }
                    i += 2;
                } else if VIP_IGNORED_FLAGS.contains(&opt) {
                    self.diag.warn(
                        &line.at,
                        format!("accepted but not used by rvs: {opt} (in {kw})"),
                    );
                    i += 1;
                } else {
                    let all = VIP_USED
                        .iter()
                        .chain(&VIP_IGNORED_WITH_VALUE)
                        .chain(&VIP_IGNORED_FLAGS)
                        .copied();
                    let hint = suggest(opt, all);
                    self.diag.error_suggest(
                        &line.at,
                        format!("{kw}: unknown address option \"{opt}\""),
                        hint,
                    );
                    break;
                }
            }
            spans.at(format!(".{kw}[{}]", out.len()), &line.at);
            out.push(va);
        }
        out
    }

    /// `min_ttl N` / `max_ttl N` after a unicast peer (accepted, not used).
    pub(super) fn peer_options(&mut self, line: &Node) {
        let words: Vec<&str> = line.args().iter().map(|w| w.text.as_str()).collect();
        let mut i = 0;
        while let Some(opt) = words.get(i).copied() {
            match opt {
                "min_ttl" | "max_ttl" => {
                    if let Some(v) = words.get(i + 1)
                        && values::u8_in(v, 0, 255).is_ok()
                    {
                        self.diag.warn(
                            &line.at,
                            format!("accepted but not used by rvs: {opt} (in unicast_peer)"),
                        );
                    } else {
                        self.diag
                            .error(&line.at, format!("unicast_peer: {opt} needs a TTL 0..=255"));
                    }
                    i += 2;
                }
                other => {
                    let hint = suggest(other, ["min_ttl", "max_ttl"]);
                    self.diag.error_suggest(
                        &line.at,
                        format!("unicast_peer: unexpected \"{other}\""),
                        hint,
                    );
                    return;
                }
            }
        }
    }

    /// A `track_interface` / `track_script` block: `NAME [weight N [reverse|noreverse]]`.
    pub(super) fn tracked_list(
        &mut self,
        node: &Node,
        base: usize,
        rel: &str,
        spans: &mut LocalSpans,
    ) -> Vec<Tracked> {
        let mut out = Vec::new();
        if !node.args().is_empty() {
            self.extra_words(node, 0);
        }
        for line in self.block(node) {
            if line.block.is_some() {
                self.diag.error(
                    &line.at,
                    format!("an entry of {} does not take a {{ }} block", node.keyword()),
                );
                continue;
            }
            let mut t = Tracked {
                name: line.keyword().to_string(),
                weight: None,
                reverse: false,
            };
            match line.arg(0) {
                None => {}
                Some("weight") => {
                    if let Some((w, rev)) = self.weight_reverse(line, 1) {
                        t.weight = Some(w);
                        t.reverse = rev;
                    }
                }
                Some(other) => {
                    let hint = suggest(other, ["weight"]);
                    self.diag.error_suggest(
                        &line.at,
                        format!(
                            "{}: unexpected \"{other}\" after {}",
                            node.keyword(),
                            t.name
                        ),
                        hint,
                    );
                }
            }
            spans.at(format!("{rel}[{}]", base + out.len()), &line.at);
            out.push(t);
        }
        out
    }
}
