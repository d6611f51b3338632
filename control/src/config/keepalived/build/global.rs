//! `global_defs`.

use super::Builder;
use crate::config::keepalived::keywords::{Block, Keyword};
use crate::config::keepalived::tree::Node;
use crate::config::keepalived::values;

impl Builder<'_> {
    pub(super) fn global_defs(&mut self, node: &Node) {
        self.spans.insert("global", node.at.clone());
        for st in self.block(node) {
            let kw = st.keyword();
            let path = format!("global.{kw}");
            match kw {
                "router_id" => {
                    if let Some(v) = self.one(st) {
                        self.cfg.global.router_id = Some(v.to_string());
                    }
                }
                "script_user" => {
                    if let Some(v) = self.words(st) {
                        self.cfg.global.script_user = Some(v);
                    }
                }
                "enable_script_security" => {
                    self.bare(st);
                    self.cfg.global.enable_script_security = true;
                }
                "vrrp_garp_master_delay" => {
                    self.cfg.global.vrrp_garp_master_delay =
                        self.value(st, |w| values::u32_in(w, 0, 1000));
                }
                "vrrp_garp_master_repeat" => {
                    self.cfg.global.vrrp_garp_master_repeat =
                        self.value(st, |w| values::u32_in(w, 0, u32::MAX));
                }
                "vrrp_garp_master_refresh" => {
                    self.cfg.global.vrrp_garp_master_refresh =
                        self.value(st, |w| values::u32_in(w, 0, u32::MAX));
                }
                "vrrp_garp_master_refresh_repeat" => {
                    self.cfg.global.vrrp_garp_master_refresh_repeat =
                        self.value(st, |w| values::u32_in(w, 0, u32::MAX));
                }
                "vrrp_version" => {
                    self.cfg.global.vrrp_version = self.value(st, |w| values::u8_in(w, 2, 3));
                }
                "lvs_timeouts" => self.lvs_timeouts(st),
                _ => {
                    if Block::GlobalDefs.classify(kw) != Keyword::Unknown {
                        self.cfg.global.ignored.push(kw.to_string());
                    }
                    self.other(Block::GlobalDefs, st);
                    continue;
                }
            }
            self.spans.insert(path, st.at.clone());
        }
    }

    /// `lvs_timeouts [tcp SECS] [tcpfin SECS] [udp SECS]`.
    fn lvs_timeouts(&mut self, st: &Node) {
        self.no_block(st);
        let args: Vec<&str> = st.args().iter().map(|w| w.text.as_str()).collect();
        if args.is_empty() {
            self.diag.error(
                &st.at,
                "lvs_timeouts needs at least one of: tcp SECS, tcpfin SECS, udp SECS",
            );
            return;
        }
        let mut it = args.chunks(2);
        for pair in &mut it {
            let (name, value) = match pair {
                [n, v] => (*n, *v),
                [n] => {
                    self.diag.error(
                        &st.at,
                        format!("lvs_timeouts: {n} needs a number of seconds"),
                    );
                    return;
                }
                _ => return,
            };
            let secs = match values::u32_in(value, 1, 86_400 * 31) {
                Ok(s) => s,
                Err(msg) => {
                    self.diag
                        .error(&st.at, format!("lvs_timeouts {name}: {msg}"));
                    continue;
                }
            };
            let (slot, field) = match name {
                "tcp" => (&mut self.cfg.timeouts.tcp, "tcp"),
                "tcpfin" => (&mut self.cfg.timeouts.tcp_fin, "tcp_fin"),
                "udp" => (&mut self.cfg.timeouts.udp, "udp"),
                other => {
                    let hint = crate::config::suggest::suggest(other, ["tcp", "tcpfin", "udp"]);
                    self.diag.error_suggest(
                        &st.at,
                        format!("lvs_timeouts: unknown timeout \"{other}\" (tcp, tcpfin or udp)"),
                        hint,
                    );
                    continue;
                }
            };
            *slot = secs;
            self.spans
                .insert(format!("timeouts.{field}"), st.at.clone());
        }
    }
}
