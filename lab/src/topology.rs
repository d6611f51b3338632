//! The topology: namespaces, veth pairs, the LAN bridge, addresses, routes, offloads.
//!
//! ```text
//!  client ──veth── router ──veth──┐
//!                                 ├── bridge (in the `lan` namespace)
//!  director1..N ──veth────────────┤
//!  rs1..N ──veth──────────────────┤
//!  peer ──veth────────────────────┘
//! ```
//! Each veth is created with both ends directly inside their namespaces (`ip link add A
//! netns X type veth peer name B netns Y`), so nothing ever exists in the root namespace and
//! deleting the namespaces removes every link. Sysctl defaults are set in a namespace before
//! its interfaces exist, because a new interface copies the namespace's `default` values —
//! and IPv4 defaults are inherited from the host, which differs between machines.

use std::net::Ipv4Addr;

use serde::Serialize;

use crate::cmd::{ETHTOOL, find, ip, ip_in, netns_command, run, sysctl_in};
use crate::error::Result;
use crate::lab::Lab;
use crate::names::{NodeId, RunId, tag};
use crate::plan;
use crate::spec::{DEFAULT_MTU, LabSpec, Offloads};

/// One interface of a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Iface {
    /// Interface name inside the node's namespace.
    pub name: String,
    /// Its MAC address.
    pub mac: String,
    /// The node's address on this link (planned; see [`Node::kernel_has_addr`]).
    pub addr: Option<Ipv4Addr>,
}

/// One network namespace of the lab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Node {
    /// Which node.
    pub id: NodeId,
    /// Its namespace name.
    pub netns: String,
    /// Its interface: the one on the LAN (the client's only one; for the LAN node, the bridge).
    pub iface: Iface,
    /// The router's second leg, towards the client (`None` for every other node).
    pub client_side: Option<Iface>,
    /// Whether the kernel holds `iface.addr`. False for directors: their veth is the
    /// DPDK port and their address belongs to rvs (and its TAP), not to the kernel.
    pub kernel_has_addr: bool,
}

impl Node {
    /// The name of its (LAN-facing) interface.
    pub fn ifname(&self) -> &str {
        &self.iface.name
    }

    /// The MAC of its (LAN-facing) interface.
    pub fn mac(&self) -> &str {
        &self.iface.mac
    }

    /// The node's planned address (`None` for the LAN node).
    pub fn addr(&self) -> Option<Ipv4Addr> {
        self.iface.addr
    }

    /// All its interfaces.
    pub fn ifaces(&self) -> impl Iterator<Item = &Iface> {
        std::iter::once(&self.iface).chain(self.client_side.as_ref())
    }
}

/// The nodes of a lab built from `spec`, with their names, MACs and addresses.
pub fn plan_nodes(id: &RunId, spec: &LabSpec) -> Vec<Node> {
    let lan_node = |node: NodeId| {
        let addr = plan::node_addr(node);
        Node {
            id: node,
            netns: id.netns(node),
            iface: Iface {
                name: id.iface(&node.tag()),
                mac: addr.map(plan::mac_for).unwrap_or_default(),
                addr,
            },
            client_side: None,
            kernel_has_addr: !matches!(node, NodeId::Director(_)),
        }
    };
    let mut nodes = vec![
        lan_node(NodeId::Client),
        Node {
            id: NodeId::Router,
            netns: id.netns(NodeId::Router),
            iface: Iface {
                name: id.iface(tag::ROUTER_LAN_SIDE),
                mac: plan::mac_for(plan::ROUTER_LAN_ADDR),
                addr: Some(plan::ROUTER_LAN_ADDR),
            },
            client_side: Some(Iface {
                name: id.iface(tag::ROUTER_CLIENT_SIDE),
                mac: plan::mac_for(plan::ROUTER_CLIENT_ADDR),
                addr: Some(plan::ROUTER_CLIENT_ADDR),
            }),
            kernel_has_addr: true,
        },
        Node {
            id: NodeId::Lan,
            netns: id.netns(NodeId::Lan),
            iface: Iface {
                name: id.iface(tag::BRIDGE),
                mac: "02:00:0a:00:00:fe".to_owned(),
                addr: None,
            },
            client_side: None,
            kernel_has_addr: false,
        },
    ];
    nodes.extend((1..=spec.directors).map(|n| lan_node(NodeId::Director(n))));
    nodes.extend((1..=spec.servers).map(|n| lan_node(NodeId::Server(n))));
    if spec.peer {
        nodes.push(lan_node(NodeId::Peer));
    }
    nodes
}

/// Sysctls every namespace gets before its interfaces exist: no reverse-path filter (the
/// lab routes asymmetrically on purpose: NAT replies via the director, DR replies past
/// it) and no IPv6 (no router solicitations or MLD reports in captures and DPDK ports).
const BASE_SYSCTLS: [&str; 4] = [
    "net.ipv4.conf.all.rp_filter=0",
    "net.ipv4.conf.default.rp_filter=0",
    "net.ipv6.conf.all.disable_ipv6=1",
    "net.ipv6.conf.default.disable_ipv6=1",
];

impl Lab {
    /// Creates namespaces, links, addresses and routes.
    pub(crate) fn build_topology(&mut self) -> Result<()> {
        self.create_namespaces()?;
        let lan = self.node(NodeId::Lan)?.clone();
        let bridge = lan.ifname().to_owned();
        ip_in(
            &lan.netns,
            &[
                "link",
                "add",
                &bridge,
                "address",
                lan.mac(),
                "type",
                "bridge",
            ],
        )?;
        ip_in(&lan.netns, &["link", "set", &bridge, "up"])?;
        self.link_client_to_router()?;
        for node in self.nodes.clone() {
            if matches!(node.id, NodeId::Client | NodeId::Lan) {
                continue;
            }
            self.link_to_bridge(&node, &lan.netns, &bridge)?;
        }
        self.address_nodes()?;
        if self.record.spec.offloads == Offloads::OffTowardsDirectors {
            self.disable_offloads_towards_directors(&lan.netns)?;
        }
        Ok(())
    }

    fn create_namespaces(&mut self) -> Result<()> {
        let base: Vec<String> = BASE_SYSCTLS.iter().map(|s| (*s).to_owned()).collect();
        for node in self.nodes.clone() {
            // Record first: a run killed right after `netns add` is still found by gc.
            self.record.namespaces.push(node.netns.clone());
            self.record.save()?;
            ip(&["netns", "add", &node.netns])?;
            ip_in(&node.netns, &["link", "set", "lo", "up"])?;
            sysctl_in(&node.netns, &base)?;
        }
        Ok(())
    }

    fn link_client_to_router(&self) -> Result<()> {
        let client = self.node(NodeId::Client)?;
        let router = self.node(NodeId::Router)?;
        let router_leg = router.client_side.as_ref().unwrap_or(&router.iface);
        veth((&client.netns, &client.iface), (&router.netns, router_leg))
    }

    fn link_to_bridge(&self, node: &Node, lan_netns: &str, bridge: &str) -> Result<()> {
        let port = Iface {
            name: self.id().iface(&tag::bridge_port(node.id)),
            mac: String::new(),
            addr: None,
        };
        veth((&node.netns, &node.iface), (lan_netns, &port))?;
        let mtu = self.record.spec.lan_mtu;
        if mtu != DEFAULT_MTU {
            let mtu = mtu.to_string();
            ip_in(&node.netns, &["link", "set", &node.iface.name, "mtu", &mtu])?;
            ip_in(lan_netns, &["link", "set", &port.name, "mtu", &mtu])?;
        }
        ip_in(
            lan_netns,
            &["link", "set", &port.name, "master", bridge, "up"],
        )?;
        Ok(())
    }

    fn address_nodes(&self) -> Result<()> {
        let prefix = plan::PREFIX_LEN;
        for node in &self.nodes {
            if node.id == NodeId::Lan {
                continue;
            }
            for iface in node.ifaces() {
                if node.kernel_has_addr
                    && let Some(addr) = iface.addr
                {
                    let cidr = format!("{addr}/{prefix}");
                    ip_in(&node.netns, &["addr", "add", &cidr, "dev", &iface.name])?;
                }
                ip_in(&node.netns, &["link", "set", &iface.name, "up"])?;
            }
        }
        let client = self.netns(NodeId::Client)?;
        let gateway = plan::ROUTER_CLIENT_ADDR.to_string();
        ip_in(client, &["route", "add", "default", "via", &gateway])?;
        let router = self.netns(NodeId::Router)?;
        sysctl_in(router, &["net.ipv4.ip_forward=1".to_owned()])?;
        let director = plan::director_addr(1).to_string();
        for vip in self.vips().iter().filter(|vip| !plan::on_lan(**vip)) {
            let dst = format!("{vip}/32");
            ip_in(router, &["route", "add", &dst, "via", &director])?;
        }
        if self.record.spec.peer {
            let peer = self.netns(NodeId::Peer)?;
            let lan_gateway = plan::ROUTER_LAN_ADDR.to_string();
            ip_in(peer, &["route", "add", "default", "via", &lan_gateway])?;
        }
        Ok(())
    }

    /// See [`Offloads::OffTowardsDirectors`]. Turning TX checksumming off on the bridge port
    /// makes the kernel segment TSO super-frames and finish partial checksums in software
    /// right before the frame crosses into the director, whoever sent it.
    fn disable_offloads_towards_directors(&self, lan_netns: &str) -> Result<()> {
        let ethtool = find(ETHTOOL)?;
        for n in 1..=self.record.spec.directors {
            let node = self.node(NodeId::Director(n))?;
            let port = self.id().iface(&tag::bridge_port(node.id));
            run(&mut netns_command(
                lan_netns,
                &ethtool,
                &["-K", &port, "tx", "off"],
            ))?;
            run(&mut netns_command(
                &node.netns,
                &ethtool,
                &["-K", node.ifname(), "gro", "off"],
            ))?;
        }
        Ok(())
    }
}

/// Creates a veth pair with each end (name, MAC) directly in its namespace.
fn veth(a: (&str, &Iface), b: (&str, &Iface)) -> Result<()> {
    let (a_netns, a_iface) = a;
    let (b_netns, b_iface) = b;
    let mut args = vec!["link", "add", a_iface.name.as_str()];
    if !a_iface.mac.is_empty() {
        args.extend(["address", a_iface.mac.as_str()]);
    }
    args.extend([
        "netns",
        a_netns,
        "type",
        "veth",
        "peer",
        "name",
        &b_iface.name,
    ]);
    if !b_iface.mac.is_empty() {
        args.extend(["address", b_iface.mac.as_str()]);
    }
    args.extend(["netns", b_netns]);
    ip(&args).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Mode;

    #[test]
    fn plan_names_every_node() {
        let id = RunId::parse("t1").expect("id");
        let spec = LabSpec::new(Mode::Nat).servers(2).directors(2).with_peer();
        let nodes = plan_nodes(&id, &spec);
        let names: Vec<String> = nodes.iter().map(|n| n.id.to_string()).collect();
        assert_eq!(
            names,
            [
                "client",
                "router",
                "lan",
                "director1",
                "director2",
                "rs1",
                "rs2",
                "peer"
            ]
        );
        let rs2 = nodes
            .iter()
            .find(|n| n.id == NodeId::Server(2))
            .expect("rs2");
        assert_eq!(rs2.netns, "rvl-t1-rs2");
        assert_eq!(rs2.ifname(), "rvlt1s2");
        assert_eq!(rs2.mac(), "02:00:0a:00:00:0c");
        assert_eq!(rs2.addr(), Some(Ipv4Addr::new(10, 0, 0, 12)));
        let director = nodes
            .iter()
            .find(|n| n.id == NodeId::Director(1))
            .expect("d1");
        assert!(!director.kernel_has_addr);
        assert_eq!(director.addr(), Some(Ipv4Addr::new(10, 0, 0, 2)));
        let router = nodes
            .iter()
            .find(|n| n.id == NodeId::Router)
            .expect("router");
        assert_eq!(router.ifaces().count(), 2);
        assert_eq!(
            router.client_side.as_ref().map(|i| i.addr),
            Some(Some(Ipv4Addr::new(10, 9, 0, 1)))
        );
    }
}
