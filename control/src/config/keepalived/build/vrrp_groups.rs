//! `vrrp_script` and `vrrp_sync_group`.

use super::{Builder, LocalSpans};
use crate::config::keepalived::keywords::Block;
use crate::config::keepalived::tree::Node;
use crate::config::keepalived::values;
use crate::config::{VrrpScript, VrrpSyncGroup};

impl Builder<'_> {
    /// `vrrp_script NAME { script ... }`.
    pub(super) fn vrrp_script(&mut self, node: &Node) {
        let Some(name) = self.group_name(node) else {
            return;
        };
        let path = format!("vrrp_scripts.{name}");
        if self.cfg.vrrp_scripts.contains_key(&name) {
            self.diag
                .error(&node.at, format!("vrrp_script {name} is defined twice"));
            return;
        }
        let mut s = VrrpScript {
            script: String::new(),
            interval: 1.0,
            timeout: None,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            user: None,
            init_fail: false,
        };
        let mut spans = LocalSpans::default();
        spans.at("", &node.at);
        let mut has_script = false;
        for st in self.block(node) {
            let rel = match st.keyword() {
                "script" => {
                    if let Some(cmd) = self.words(st) {
                        s.script = cmd;
                        has_script = true;
                    }
                    ".script"
                }
                "interval" => {
                    if let Some(v) = self.value(st, |w| values::timer(w, 86_400.0)) {
                        s.interval = v;
                    }
                    ".interval"
                }
                "timeout" => {
                    s.timeout = self.value(st, |w| values::timer(w, 86_400.0));
                    ".timeout"
                }
                "weight" => {
                    if let Some((w, rev)) = self.weight_reverse(st, 0) {
                        s.weight = w;
                        s.weight_reverse = rev;
                    }
                    ".weight"
                }
                "rise" => {
                    if let Some(v) = self.value(st, |w| values::u32_in(w, 1, u32::MAX)) {
                        s.rise = v;
                    }
                    ".rise"
                }
                "fall" => {
                    if let Some(v) = self.value(st, |w| values::u32_in(w, 1, u32::MAX)) {
                        s.fall = v;
                    }
                    ".fall"
                }
                "user" => {
                    s.user = self.words(st);
                    ".user"
                }
                "init_fail" => {
                    self.bare(st);
                    s.init_fail = true;
                    ".init_fail"
                }
                _ => {
                    self.other(Block::VrrpScript, st);
                    continue;
                }
            };
            spans.at(rel, &st.at);
        }
        if !has_script {
            self.diag
                .error(&node.at, format!("vrrp_script {name} needs a script"));
        }
        spans.commit(&path, &mut self.spans);
        self.cfg.vrrp_scripts.insert(name, s);
    }

    /// `vrrp_sync_group NAME { group { ... } ... }`.
    pub(super) fn vrrp_sync_group(&mut self, node: &Node) {
        let Some(name) = self.group_name(node) else {
            return;
        };
        let mut g = VrrpSyncGroup {
            name,
            group: Vec::new(),
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify: None,
            track_script: Vec::new(),
            track_interface: Vec::new(),
        };
        let mut spans = LocalSpans::default();
        spans.at("", &node.at);
        for st in self.block(node) {
            let rel = match st.keyword() {
                "group" => {
                    for m in self.block(st) {
                        if m.block.is_some() {
                            self.diag
                                .error(&m.at, "a group member does not take a { } block");
                            continue;
                        }
                        for w in &m.words {
                            spans.at(format!(".group[{}]", g.group.len()), &m.at);
                            g.group.push(w.text.clone());
                        }
                    }
                    ".group"
                }
                "notify_master" => {
                    g.notify_master = self.script(st);
                    ".notify_master"
                }
                "notify_backup" => {
                    g.notify_backup = self.script(st);
                    ".notify_backup"
                }
                "notify_fault" => {
                    g.notify_fault = self.script(st);
                    ".notify_fault"
                }
                "notify" => {
                    g.notify = self.script(st);
                    ".notify"
                }
                "track_interface" => {
                    let base = g.track_interface.len();
                    let t = self.tracked_list(st, base, ".track_interface", &mut spans);
                    g.track_interface.extend(t);
                    continue;
                }
                "track_script" => {
                    let base = g.track_script.len();
                    let t = self.tracked_list(st, base, ".track_script", &mut spans);
                    g.track_script.extend(t);
                    continue;
                }
                _ => {
                    self.other(Block::VrrpSyncGroup, st);
                    continue;
                }
            };
            spans.at(rel, &st.at);
        }
        if g.group.len() == 1 {
            self.diag.warn(
                &node.at,
                format!(
                    "sync group {} has only one instance (keepalived warns: probably not what you want)",
                    g.name
                ),
            );
        }
        let idx = self.cfg.vrrp_sync_groups.len();
        spans.commit(&format!("vrrp_sync_groups[{idx}]"), &mut self.spans);
        self.cfg.vrrp_sync_groups.push(g);
    }
}
