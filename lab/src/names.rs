//! Names of everything a lab creates, all derived from one short run id.
//!
//! Why this shape: labs overlap (parallel tests in one process, several engineers on one
//! machine, a demo beside CI), so every namespace and interface carries the run id, and
//! cleanup finds a run's leftovers by prefix alone. Linux caps interface names at 15 bytes
//! (IFNAMSIZ is 16 with the NUL), so the id is short base36 and the role tags are tiny:
//! `rvl` + id (at most 8) + tag (at most 4) = 15.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::{LabError, Result};

/// Every lab namespace is named `rvl-<id>-<node>`.
pub const NETNS_PREFIX: &str = "rvl-";
/// Every lab interface is named `rvl<id><tag>`.
pub const IFACE_PREFIX: &str = "rvl";
/// Longest run id.
pub const MAX_ID_LEN: usize = 8;
/// Longest Linux interface name.
pub const IFNAME_MAX: usize = 15;
/// Most directors a lab holds (`d1`..`d4`).
pub const MAX_DIRECTORS: u8 = 4;
/// Most real servers a lab holds (`s1`..`s50`; addresses 10.0.0.11..10.0.0.60).
pub const MAX_SERVERS: u8 = 50;

/// Width of the pid part of a generated id: pid_max is at most 2^22 = `2hwcg` in base36.
const PID_WIDTH: usize = 5;
/// Generated ids count labs within one process modulo this (3 base36 digits), so that a
/// generated id never exceeds [`MAX_ID_LEN`].
const COUNTER_MODULO: u32 = 36 * 36 * 36;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The short id of one lab run: `[a-z0-9]{1,8}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RunId(String);

impl RunId {
    /// A fresh id: this process's pid (5 base36 digits) then a per-process counter, so two
    /// live processes never collide and one process never repeats itself.
    pub fn generate() -> RunId {
        let count = COUNTER.fetch_add(1, Ordering::Relaxed) % COUNTER_MODULO;
        let mut id = format!("{:0>PID_WIDTH$}", base36(std::process::id()));
        id.push_str(&base36(count));
        RunId(id)
    }

    /// Checks an id given by a user (`rvs-lab up --id`).
    pub fn parse(text: &str) -> Result<RunId> {
        let valid = !text.is_empty()
            && text.len() <= MAX_ID_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if valid {
            Ok(RunId(text.to_owned()))
        } else {
            Err(LabError::InvalidId(text.to_owned()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Prefix shared by all namespaces of this run (`rvl-<id>-`).
    pub fn netns_prefix(&self) -> String {
        format!("{NETNS_PREFIX}{}-", self.0)
    }

    /// The namespace of `node`.
    pub fn netns(&self, node: NodeId) -> String {
        format!("{}{node}", self.netns_prefix())
    }

    /// The interface with role `tag` (see [`NodeId::tag`]): `rvl<id><tag>`.
    pub fn iface(&self, tag: &str) -> String {
        format!("{IFACE_PREFIX}{}{tag}", self.0)
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RunId {
    type Error = LabError;
    fn try_from(text: String) -> Result<RunId> {
        RunId::parse(&text)
    }
}

impl From<RunId> for String {
    fn from(id: RunId) -> String {
        id.0
    }
}

/// Lower-case base36 of `n`.
pub fn base36(mut n: u32) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        let digit = DIGITS.get((n % 36) as usize).copied().unwrap_or(b'0');
        out.push(digit);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// One node (network namespace) of a lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum NodeId {
    /// The client, 10.9.0.2 behind the router.
    Client,
    /// The router between the client net and the LAN.
    Router,
    /// The namespace that holds the LAN bridge.
    Lan,
    /// Director `n` (1-based): rvs runs here.
    Director(u8),
    /// Real server `n` (1-based).
    Server(u8),
    /// The optional keepalived node.
    Peer,
}

impl NodeId {
    /// Short role tag used in interface names: `c`, `r`, `d1`, `s12`, `p` (`l` for the LAN).
    pub fn tag(self) -> String {
        match self {
            NodeId::Client => "c".to_owned(),
            NodeId::Router => "r".to_owned(),
            NodeId::Lan => "l".to_owned(),
            NodeId::Director(n) => format!("d{n}"),
            NodeId::Server(n) => format!("s{n}"),
            NodeId::Peer => "p".to_owned(),
        }
    }

    /// Prefix of shell variables for this node (`CLIENT`, `DIRECTOR1`, `RS3`).
    pub fn env_prefix(self) -> String {
        self.to_string().to_ascii_uppercase()
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeId::Client => f.write_str("client"),
            NodeId::Router => f.write_str("router"),
            NodeId::Lan => f.write_str("lan"),
            NodeId::Director(n) => write!(f, "director{n}"),
            NodeId::Server(n) => write!(f, "rs{n}"),
            NodeId::Peer => f.write_str("peer"),
        }
    }
}

impl FromStr for NodeId {
    type Err = LabError;

    /// `client`, `router`, `lan`, `peer`, `director` (= `director1`), `directorN`, `rsN`.
    fn from_str(text: &str) -> Result<NodeId> {
        let unknown = || LabError::UnknownNode(text.to_owned());
        let number = |digits: &str| -> Result<u8> {
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(unknown());
            }
            digits.parse::<u8>().map_err(|_| unknown())
        };
        match text {
            "client" => Ok(NodeId::Client),
            "router" => Ok(NodeId::Router),
            "lan" => Ok(NodeId::Lan),
            "peer" => Ok(NodeId::Peer),
            "director" => Ok(NodeId::Director(1)),
            _ => {
                if let Some(digits) = text.strip_prefix("director") {
                    Ok(NodeId::Director(number(digits)?))
                } else if let Some(digits) = text.strip_prefix("rs") {
                    Ok(NodeId::Server(number(digits)?))
                } else {
                    Err(unknown())
                }
            }
        }
    }
}

/// Interface tags below the node tags: the router has two legs, the LAN bridge names each
/// port after the node it leads to, a userspace tunnel device is named after its server.
pub mod tag {
    use super::NodeId;

    /// The router's leg towards the client.
    pub const ROUTER_CLIENT_SIDE: &str = "rc";
    /// The router's leg on the LAN.
    pub const ROUTER_LAN_SIDE: &str = "rl";
    /// The bridge.
    pub const BRIDGE: &str = "br";

    /// The bridge port (in the LAN namespace) that leads to `node`.
    pub fn bridge_port(node: NodeId) -> String {
        match node {
            NodeId::Router => "brl".to_owned(),
            other => format!("b{}", other.tag()),
        }
    }

    /// The userspace decapsulation TUN device of server `n`.
    pub fn decap_tun(n: u8) -> String {
        format!("t{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn base36_digits() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
        assert_eq!(base36(4_194_304), "2hwcg");
        assert_eq!(base36(u32::MAX), "1z141z3");
    }

    #[test]
    fn generated_ids_are_distinct_and_short() {
        let a = RunId::generate();
        let b = RunId::generate();
        assert_ne!(a, b);
        assert!(a.as_str().len() <= MAX_ID_LEN, "{a}");
        assert!(
            a.as_str()
                .starts_with(&format!("{:0>5}", base36(std::process::id())))
        );
        RunId::parse(a.as_str()).expect("a generated id parses");
    }

    #[test]
    fn ids_are_checked() {
        for bad in ["", "ABC", "a-b", "123456789", "é", "a b"] {
            assert!(RunId::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(RunId::parse("demo1").expect("valid").as_str(), "demo1");
    }

    #[test]
    fn every_interface_name_fits_ifnamsiz() {
        let id = RunId::parse("zzzzzzzz").expect("longest id");
        let mut tags = vec![
            tag::ROUTER_CLIENT_SIDE.to_owned(),
            tag::ROUTER_LAN_SIDE.to_owned(),
            tag::BRIDGE.to_owned(),
            tag::bridge_port(NodeId::Router),
            tag::bridge_port(NodeId::Peer),
            NodeId::Client.tag(),
            NodeId::Peer.tag(),
        ];
        for n in 1..=MAX_DIRECTORS {
            tags.push(NodeId::Director(n).tag());
            tags.push(tag::bridge_port(NodeId::Director(n)));
        }
        for n in 1..=MAX_SERVERS {
            tags.push(NodeId::Server(n).tag());
            tags.push(tag::bridge_port(NodeId::Server(n)));
            tags.push(tag::decap_tun(n));
        }
        for t in &tags {
            let name = id.iface(t);
            assert!(name.len() <= IFNAME_MAX, "{name} is {} bytes", name.len());
        }
        let unique: std::collections::HashSet<_> = tags.iter().collect();
        assert_eq!(unique.len(), tags.len(), "two roles share a tag");
    }

    #[test]
    fn node_names_round_trip() {
        let nodes = [
            NodeId::Client,
            NodeId::Router,
            NodeId::Lan,
            NodeId::Peer,
            NodeId::Director(2),
            NodeId::Server(17),
        ];
        for node in nodes {
            assert_eq!(node.to_string().parse::<NodeId>().expect("parses"), node);
        }
        assert_eq!(
            "director".parse::<NodeId>().expect("alias"),
            NodeId::Director(1)
        );
        assert_eq!(NodeId::Server(3).env_prefix(), "RS3");
        for bad in ["rs", "rs-1", "rs+1", "rs999", "directorx", "Client", ""] {
            assert!(bad.parse::<NodeId>().is_err(), "{bad:?} accepted");
        }
    }

    proptest! {
        #[test]
        fn node_parsing_never_panics(text in ".{0,20}") {
            let _ = text.parse::<NodeId>();
            let _ = RunId::parse(&text);
        }
    }
}
