//! The lab described as shell `KEY=value` lines, for `eval "$(rvs-lab up ...)"`.
//!
//! Every variable starts with `LAB_`; per node: `LAB_<NODE>_NS`, `_IF`, `_MAC`, `_IP`
//! (`<NODE>` is `CLIENT`, `ROUTER`, `LAN`, `DIRECTOR1`.., `RS1`.., `PEER`); the router adds
//! `LAB_ROUTER_CLIENT_IF/_MAC/_IP` for its client-side leg, the LAN node `LAB_LAN_BRIDGE`.

use std::fmt::Write as _;

use crate::lab::Lab;
use crate::names::NodeId;
use crate::plan;

/// Quotes `value` for a POSIX shell when it holds anything but `[A-Za-z0-9_./:,@%+=-]`
/// (and spaces are quoted too, so `eval` never splits a value).
pub fn shell_quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./:,@%+=-".contains(&b));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

impl Lab {
    /// The `KEY=value` lines (see the module doc), one per line, ending in a newline.
    pub fn shell_env(&self) -> String {
        let mut out = String::new();
        let mut put = |key: &str, value: &str| {
            let _ = writeln!(out, "LAB_{key}={}", shell_quote(value));
        };
        let spec = self.spec();
        let nodes: Vec<String> = self.nodes().iter().map(|n| n.id.to_string()).collect();
        let vips: Vec<String> = self.vips().iter().map(ToString::to_string).collect();
        put("ID", self.id().as_str());
        put("MODE", spec.mode.name());
        put("NODES", &nodes.join(" "));
        put("SERVERS", &spec.servers.to_string());
        put("DIRECTORS", &spec.directors.to_string());
        put("VIP", &self.vip().to_string());
        put("VIPS", &vips.join(" "));
        put(
            "LAN_NET",
            &format!("{}/{}", plan::LAN_NET, plan::PREFIX_LEN),
        );
        put(
            "CLIENT_NET",
            &format!("{}/{}", plan::CLIENT_NET, plan::PREFIX_LEN),
        );
        put(
            "FULLNAT_LOCAL_FIRST",
            &plan::FULLNAT_LOCAL_FIRST.to_string(),
        );
        put("GUE_PORT", &spec.gue_port.to_string());
        put("LAN_MTU", &spec.lan_mtu.to_string());
        put("SERVER_GATEWAY", &spec.server_gateway().to_string());
        put("TUNNEL_RX", self.tunnel_rx().map_or("none", |rx| rx.name()));
        put("WORKDIR", &self.workdir().to_string_lossy());
        for node in self.nodes() {
            let key = node.id.env_prefix();
            put(&format!("{key}_NS"), &node.netns);
            if node.id == NodeId::Lan {
                put("LAN_BRIDGE", node.ifname());
                continue;
            }
            put(&format!("{key}_IF"), node.ifname());
            put(&format!("{key}_MAC"), node.mac());
            if let Some(addr) = node.addr() {
                put(&format!("{key}_IP"), &addr.to_string());
            }
            if let Some(leg) = &node.client_side {
                put(&format!("{key}_CLIENT_IF"), &leg.name);
                put(&format!("{key}_CLIENT_MAC"), &leg.mac);
                if let Some(addr) = leg.addr {
                    put(&format!("{key}_CLIENT_IP"), &addr.to_string());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("rvl-abc-rs1"), "rvl-abc-rs1");
        assert_eq!(shell_quote("02:00:0a:00:00:0b"), "02:00:0a:00:00:0b");
        assert_eq!(shell_quote("client router"), "'client router'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(shell_quote(""), "''");
    }
}
