//! `vrrp_script`, `vrrp_instance` and `vrrp_sync_group`.

use super::{Builder, LocalSpans};
use crate::config::keepalived::keywords::Block;
use crate::config::keepalived::tree::Node;
use crate::config::keepalived::values;
use crate::config::suggest::suggest;
use crate::config::{
    Tracked, VirtualAddress, VrrpAuth, VrrpInstance, VrrpScript, VrrpState, VrrpSyncGroup,
};

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

    /// `weight N [reverse|noreverse]` on the words from `from` on.
    fn weight_reverse(&mut self, st: &Node, from: usize) -> Option<(i32, bool)> {
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

    pub(super) fn vrrp_instance(&mut self, node: &Node) {
        let Some(name) = self.group_name(node) else {
            return;
        };
        let mut v = VrrpInstance {
            name,
            state: VrrpState::Backup,
            interface: String::new(),
            virtual_router_id: 0,
            priority: 100,
            advert_int: 1.0,
            version: None,
            authentication: None,
            virtual_ipaddress: Vec::new(),
            virtual_ipaddress_excluded: Vec::new(),
            nopreempt: false,
            preempt_delay: 0.0,
            garp_master_delay: None,
            garp_master_repeat: None,
            garp_master_refresh: None,
            garp_master_refresh_repeat: None,
            track_interface: Vec::new(),
            track_script: Vec::new(),
            unicast_src_ip: None,
            unicast_peer: Vec::new(),
            use_vmac: false,
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify_stop: None,
            notify: None,
        };
        let mut spans = LocalSpans::default();
        spans.at("", &node.at);
        let mut has_vrid = false;
        for st in self.block(node) {
            let kw = st.keyword();
            let rel = match kw {
                "state" => {
                    if let Some(s) = self.value(st, |w| match w {
                        "MASTER" => Ok(VrrpState::Master),
                        "BACKUP" => Ok(VrrpState::Backup),
                        other => Err(format!("\"{other}\" is not MASTER or BACKUP")),
                    }) {
                        v.state = s;
                    }
                    ".state"
                }
                "interface" => {
                    if let Some(i) = self.one(st) {
                        v.interface = i.to_string();
                    }
                    ".interface"
                }
                "virtual_router_id" => {
                    if let Some(id) = self.value(st, |w| values::u8_in(w, 1, 255)) {
                        v.virtual_router_id = id;
                        has_vrid = true;
                    }
                    ".virtual_router_id"
                }
                "priority" => {
                    if let Some(p) = self.value(st, |w| values::u8_in(w, 1, 255)) {
                        v.priority = p;
                    }
                    ".priority"
                }
                "advert_int" => {
                    if let Some(a) = self.value(st, |w| values::timer(w, 255.0)) {
                        v.advert_int = a;
                    }
                    ".advert_int"
                }
                "version" => {
                    v.version = self.value(st, |w| values::u8_in(w, 2, 3));
                    ".version"
                }
                "authentication" => {
                    v.authentication = self.authentication(st);
                    ".authentication"
                }
                "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
                    let list = self.virtual_addresses(st, &mut spans);
                    if kw == "virtual_ipaddress" {
                        v.virtual_ipaddress.extend(list);
                    } else {
                        v.virtual_ipaddress_excluded.extend(list);
                    }
                    continue;
                }
                "track_interface" => {
                    let base = v.track_interface.len();
                    let t = self.tracked_list(st, base, ".track_interface", &mut spans);
                    v.track_interface.extend(t);
                    continue;
                }
                "track_script" => {
                    let base = v.track_script.len();
                    let t = self.tracked_list(st, base, ".track_script", &mut spans);
                    v.track_script.extend(t);
                    continue;
                }
                "unicast_peer" => {
                    for line in self.block(st) {
                        if line.block.is_some() {
                            self.diag
                                .error(&line.at, "a unicast peer does not take a { } block");
                            continue;
                        }
                        match values::ip(line.keyword()) {
                            Ok(ip) => {
                                spans.at(
                                    format!(".unicast_peer[{}]", v.unicast_peer.len()),
                                    &line.at,
                                );
                                v.unicast_peer.push(ip);
                                self.peer_options(line);
                            }
                            Err(msg) => self.diag.error(&line.at, format!("unicast_peer: {msg}")),
                        }
                    }
                    ".unicast_peer"
                }
                "unicast_src_ip" | "mcast_src_ip" => {
                    v.unicast_src_ip = self.value(st, values::ip);
                    ".unicast_src_ip"
                }
                "nopreempt" => {
                    self.bare(st);
                    v.nopreempt = true;
                    ".nopreempt"
                }
                "preempt" => {
                    self.bare(st);
                    v.nopreempt = false;
                    ".nopreempt"
                }
                "preempt_delay" => {
                    if let Some(d) = self.value(st, |w| values::timer(w, 1000.0)) {
                        v.preempt_delay = d;
                    }
                    ".preempt_delay"
                }
                "garp_master_delay" => {
                    v.garp_master_delay = self.value(st, |w| values::u32_in(w, 0, 1000));
                    ".garp_master_delay"
                }
                "garp_master_repeat" => {
                    v.garp_master_repeat = self.value(st, |w| values::u32_in(w, 0, u32::MAX));
                    ".garp_master_repeat"
                }
                "garp_master_refresh" => {
                    v.garp_master_refresh = self.value(st, |w| values::u32_in(w, 0, u32::MAX));
                    ".garp_master_refresh"
                }
                "garp_master_refresh_repeat" => {
                    v.garp_master_refresh_repeat =
                        self.value(st, |w| values::u32_in(w, 0, u32::MAX));
                    ".garp_master_refresh_repeat"
                }
                "use_vmac" => {
                    self.no_block(st);
                    if !st.args().is_empty() {
                        self.diag.warn(
                            &st.at,
                            "use_vmac: the interface name and MAC are not used by rvs (it sends from 00:00:5e:00:01:VRID)",
                        );
                    }
                    v.use_vmac = true;
                    ".use_vmac"
                }
                "notify_master" => {
                    v.notify_master = self.script(st);
                    ".notify_master"
                }
                "notify_backup" => {
                    v.notify_backup = self.script(st);
                    ".notify_backup"
                }
                "notify_fault" => {
                    v.notify_fault = self.script(st);
                    ".notify_fault"
                }
                "notify_stop" => {
                    v.notify_stop = self.script(st);
                    ".notify_stop"
                }
                "notify" => {
                    v.notify = self.script(st);
                    ".notify"
                }
                _ => {
                    self.other(Block::VrrpInstance, st);
                    continue;
                }
            };
            spans.at(rel, &st.at);
        }
        if !has_vrid {
            self.diag.error(
                &node.at,
                format!("vrrp_instance {} needs a virtual_router_id", v.name),
            );
        }
        if v.interface.is_empty() {
            let why = if v.unicast_peer.is_empty() {
                ""
            } else {
                " (keepalived's unicast mode without an interface is not supported by rvs)"
            };
            self.diag.error(
                &node.at,
                format!("vrrp_instance {} needs an interface{why}", v.name),
            );
        }
        if v.track_interface.iter().any(|t| t.name == v.interface) {
            self.diag.warn(
                &node.at,
                format!(
                    "track_interface {} is the instance's own interface, which is always tracked (keepalived ignores it too)",
                    v.interface
                ),
            );
        }
        let idx = self.cfg.vrrp_instances.len();
        spans.commit(&format!("vrrp_instances[{idx}]"), &mut self.spans);
        self.cfg.vrrp_instances.push(v);
    }

    fn authentication(&mut self, node: &Node) -> Option<VrrpAuth> {
        if !node.args().is_empty() {
            self.extra_words(node, 0);
        }
        let mut kind: Option<&str> = None;
        let mut password = String::new();
        for st in self.block(node) {
            match st.keyword() {
                "auth_type" => {
                    kind = self.value(st, |w| match w {
                        "PASS" => Ok("PASS"),
                        "AH" => Ok("AH"),
                        other => Err(format!("\"{other}\" is not PASS or AH")),
                    });
                }
                "auth_pass" => {
                    if let Some(p) = self.one(st) {
                        if p.len() > 8 {
                            self.diag.warn(
                                &st.at,
                                "auth_pass is longer than 8 characters: only the first 8 are sent, as keepalived does",
                            );
                        }
                        password = p.to_string();
                    }
                }
                _ => self.other(Block::Authentication, st),
            }
        }
        match kind {
            Some("AH") => Some(VrrpAuth::Ah { password }),
            Some(_) => Some(VrrpAuth::Pass { password }),
            None => {
                self.diag
                    .error(&node.at, "authentication needs auth_type PASS|AH");
                None
            }
        }
    }

    /// A `virtual_ipaddress` / `virtual_ipaddress_excluded` block.
    fn virtual_addresses(&mut self, node: &Node, spans: &mut LocalSpans) -> Vec<VirtualAddress> {
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
    fn peer_options(&mut self, line: &Node) {
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
    fn tracked_list(
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
