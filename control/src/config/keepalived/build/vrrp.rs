//! `vrrp_instance` and its `authentication` block (the list blocks are in
//! [`vrrp_lists`](super::vrrp_lists)).

use super::{Builder, LocalSpans};
use crate::config::keepalived::keywords::Block;
use crate::config::keepalived::tree::Node;
use crate::config::keepalived::values;
use crate::config::{VrrpAuth, VrrpInstance, VrrpState};

impl Builder<'_> {
    /// `vrrp_instance NAME { ... }`.
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

    /// `authentication { auth_type PASS|AH auth_pass X }`.
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
}
