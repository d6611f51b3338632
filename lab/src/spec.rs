//! What a lab should look like: forwarding mode, sizes, VIPs and the few knobs that change
//! how real servers and the director's port are prepared.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{LabError, Result};
use crate::names::{MAX_DIRECTORS, MAX_SERVERS, RunId};
use crate::plan;

/// The LVS forwarding mode the real servers are prepared for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Direct routing: VIP on `lo`, ARP hidden, gateway = router.
    Dr,
    /// Tunnelling: IPIP, GRE and GUE receivers with the VIP, rp_filter off, gateway = router.
    Tun,
    /// Masquerading: gateway = the director (10.0.0.2).
    Nat,
    /// Full NAT: gateway = router; replies go to the director's local address on the LAN.
    FullNat,
}

impl Mode {
    /// The name used on the command line and in `LAB_MODE`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Dr => "dr",
            Mode::Tun => "tun",
            Mode::Nat => "nat",
            Mode::FullNat => "fullnat",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = LabError;
    fn from_str(text: &str) -> Result<Mode> {
        match text {
            "dr" => Ok(Mode::Dr),
            "tun" => Ok(Mode::Tun),
            "nat" => Ok(Mode::Nat),
            "fullnat" => Ok(Mode::FullNat),
            other => Err(LabError::InvalidSpec(format!(
                "unknown mode `{other}` (dr, tun, nat, fullnat)"
            ))),
        }
    }
}

/// How TUN-mode real servers receive tunnelled packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelRx {
    /// The kernel's `tunl0`/`gre0`/`fou` when this kernel has IPIP, GRE and FOU, else userspace.
    Auto,
    /// The kernel's `tunl0` (IPIP), `gre0` (GRE) and `ip fou add port N gue` (GUE); fails
    /// when the kernel lacks one of them.
    Kernel,
    /// A small userspace decapsulator per server that reads IPIP and GRE from raw sockets and
    /// GUE from a UDP socket and writes the inner packet into a TUN device holding the VIP.
    Userspace,
}

/// How TUN-mode real servers ended up receiving tunnelled packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelRxKind {
    /// The kernel's tunl0 / gre0 / fou.
    Kernel,
    /// The lab's userspace decapsulator and a TUN device per server.
    Userspace,
}

impl TunnelRxKind {
    /// `kernel` or `userspace`.
    pub fn name(self) -> &'static str {
        match self {
            TunnelRxKind::Kernel => "kernel",
            TunnelRxKind::Userspace => "userspace",
        }
    }
}

/// What to do about veth offloads on the path into the directors' ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Offloads {
    /// Turn off TX checksum offload (and with it TSO) on each bridge port that leads to a
    /// director, and GRO on the director's veth, so that a packet socket there
    /// (DPDK `net_af_packet`) receives wire-sized frames with final checksums. Needs `ethtool`.
    OffTowardsDirectors,
    /// Leave the kernel defaults: a packet socket on a director then sees 64 KiB TSO frames
    /// and partial checksums. Only for showing why the default exists.
    Keep,
}

/// Ethernet's usual MTU: the LAN's unless told otherwise.
pub const DEFAULT_MTU: u16 = 1500;
/// Smallest LAN MTU accepted (IPv6's minimum, to keep the option honest).
pub const MIN_MTU: u16 = 1280;
/// Largest LAN MTU accepted (jumbo frames).
pub const MAX_MTU: u16 = 9000;

fn default_mtu() -> u16 {
    DEFAULT_MTU
}

/// Everything needed to build a lab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabSpec {
    /// How real servers are prepared.
    pub mode: Mode,
    /// Number of real servers (1..=50): `rs1`.. at 10.0.0.11..
    pub servers: u8,
    /// Number of director namespaces (1..=4): `director1`.. (10.0.0.2.. reserved for them).
    pub directors: u8,
    /// Whether to add the keepalived `peer` node (10.0.0.8).
    pub peer: bool,
    /// The virtual IPs real servers accept (DR: on `lo`; TUN: on the tunnel device).
    /// A VIP outside the LAN gets a route via director 1 on the router.
    pub vips: Vec<Ipv4Addr>,
    /// UDP port of the GUE receivers (TUN mode).
    pub gue_port: u16,
    /// How TUN-mode servers decapsulate.
    pub tunnel_rx: TunnelRx,
    /// Offload policy on the way into the directors.
    pub offloads: Offloads,
    /// MTU of every LAN link (default 1500). Raise it (say to 1600) to let a director send
    /// a full-size packet inside IPIP/GRE/GUE: a packet socket refuses frames longer than
    /// MTU + 14 (`EMSGSIZE`), so at 1500 a tunnelled 1500-byte packet cannot leave at all.
    #[serde(default = "default_mtu")]
    pub lan_mtu: u16,
    /// The real servers' default gateway, instead of the mode's (router, or director 1 in
    /// NAT). Must be on the LAN.
    #[serde(default)]
    pub gateway: Option<Ipv4Addr>,
    /// A chosen run id (else one is generated).
    pub id: Option<RunId>,
}

impl LabSpec {
    /// One director, one real server, no peer, VIP 10.0.0.100, offloads off towards the director.
    pub fn new(mode: Mode) -> LabSpec {
        LabSpec {
            mode,
            servers: 1,
            directors: 1,
            peer: false,
            vips: vec![plan::DEFAULT_VIP],
            gue_port: plan::DEFAULT_GUE_PORT,
            tunnel_rx: TunnelRx::Auto,
            offloads: Offloads::OffTowardsDirectors,
            lan_mtu: DEFAULT_MTU,
            gateway: None,
            id: None,
        }
    }

    /// Sets the number of real servers.
    pub fn servers(mut self, n: u8) -> LabSpec {
        self.servers = n;
        self
    }

    /// Sets the number of directors.
    pub fn directors(mut self, n: u8) -> LabSpec {
        self.directors = n;
        self
    }

    /// Adds the keepalived peer node.
    pub fn with_peer(mut self) -> LabSpec {
        self.peer = true;
        self
    }

    /// Replaces the VIP list.
    pub fn vips(mut self, vips: Vec<Ipv4Addr>) -> LabSpec {
        self.vips = vips;
        self
    }

    /// Chooses how TUN-mode servers decapsulate.
    pub fn tunnel_rx(mut self, rx: TunnelRx) -> LabSpec {
        self.tunnel_rx = rx;
        self
    }

    /// Chooses the offload policy.
    pub fn offloads(mut self, offloads: Offloads) -> LabSpec {
        self.offloads = offloads;
        self
    }

    /// Sets the MTU of the LAN links.
    pub fn lan_mtu(mut self, mtu: u16) -> LabSpec {
        self.lan_mtu = mtu;
        self
    }

    /// Overrides the real servers' default gateway.
    pub fn gateway(mut self, gateway: Ipv4Addr) -> LabSpec {
        self.gateway = Some(gateway);
        self
    }

    /// The real servers' default gateway: the override, else the router, or director 1 in
    /// NAT mode.
    pub fn server_gateway(&self) -> Ipv4Addr {
        self.gateway.unwrap_or(match self.mode {
            Mode::Nat => plan::director_addr(1),
            Mode::Dr | Mode::Tun | Mode::FullNat => plan::ROUTER_LAN_ADDR,
        })
    }

    /// Uses a fixed run id.
    pub fn id(mut self, id: RunId) -> LabSpec {
        self.id = Some(id);
        self
    }

    /// Checks sizes and that no VIP collides with a node address.
    pub fn validate(&self) -> Result<()> {
        if self.servers == 0 || self.servers > MAX_SERVERS {
            return Err(LabError::InvalidSpec(format!(
                "servers must be 1..={MAX_SERVERS}, not {}",
                self.servers
            )));
        }
        if self.directors == 0 || self.directors > MAX_DIRECTORS {
            return Err(LabError::InvalidSpec(format!(
                "directors must be 1..={MAX_DIRECTORS}, not {}",
                self.directors
            )));
        }
        if self.gue_port == 0 {
            return Err(LabError::InvalidSpec("gue_port must not be 0".to_owned()));
        }
        if !(MIN_MTU..=MAX_MTU).contains(&self.lan_mtu) {
            return Err(LabError::InvalidSpec(format!(
                "lan_mtu must be {MIN_MTU}..={MAX_MTU}, not {}",
                self.lan_mtu
            )));
        }
        if let Some(gateway) = self.gateway
            && (!plan::on_lan(gateway) || gateway == plan::LAN_NET)
        {
            return Err(LabError::InvalidSpec(format!(
                "gateway {gateway} is not a LAN address"
            )));
        }
        let taken = plan::reserved_node_addrs(self.directors, self.servers, self.peer);
        for (i, vip) in self.vips.iter().enumerate() {
            if taken.contains(vip) || vip.is_unspecified() || vip.is_multicast() {
                return Err(LabError::InvalidSpec(format!(
                    "VIP {vip} is a node or special address"
                )));
            }
            if on_client_net(*vip) {
                return Err(LabError::InvalidSpec(format!(
                    "VIP {vip} is on the client network"
                )));
            }
            if self
                .vips
                .get(..i)
                .is_some_and(|before| before.contains(vip))
            {
                return Err(LabError::InvalidSpec(format!("VIP {vip} given twice")));
            }
        }
        Ok(())
    }
}

fn on_client_net(addr: Ipv4Addr) -> bool {
    let [a, b, c, _] = addr.octets();
    let [x, y, z, _] = plan::CLIENT_NET.octets();
    [a, b, c] == [x, y, z]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spec_is_valid() {
        LabSpec::new(Mode::Dr).validate().expect("valid");
        LabSpec::new(Mode::Tun)
            .servers(50)
            .directors(4)
            .with_peer()
            .validate()
            .expect("valid");
    }

    #[test]
    fn bad_specs_are_refused() {
        let bad = [
            LabSpec::new(Mode::Dr).servers(0),
            LabSpec::new(Mode::Dr).servers(51),
            LabSpec::new(Mode::Dr).directors(5),
            LabSpec::new(Mode::Dr).vips(vec![plan::server_addr(1)]),
            LabSpec::new(Mode::Dr).vips(vec![plan::director_addr(1)]),
            LabSpec::new(Mode::Dr).vips(vec![Ipv4Addr::new(10, 9, 0, 50)]),
            LabSpec::new(Mode::Dr).vips(vec![plan::DEFAULT_VIP, plan::DEFAULT_VIP]),
            LabSpec::new(Mode::Dr)
                .with_peer()
                .vips(vec![plan::PEER_ADDR]),
            LabSpec::new(Mode::Dr).gateway(Ipv4Addr::new(10, 9, 0, 1)),
            LabSpec::new(Mode::Tun).lan_mtu(1000),
            LabSpec::new(Mode::Tun).lan_mtu(9001),
        ];
        for spec in bad {
            assert!(spec.validate().is_err(), "{spec:?} accepted");
        }
    }

    #[test]
    fn gateways_follow_the_mode_unless_overridden() {
        assert_eq!(
            LabSpec::new(Mode::Nat).server_gateway(),
            plan::director_addr(1)
        );
        assert_eq!(
            LabSpec::new(Mode::Dr).server_gateway(),
            plan::ROUTER_LAN_ADDR
        );
        assert_eq!(
            LabSpec::new(Mode::FullNat).server_gateway(),
            plan::ROUTER_LAN_ADDR
        );
        let custom = Ipv4Addr::new(10, 0, 0, 3);
        assert_eq!(
            LabSpec::new(Mode::Nat).gateway(custom).server_gateway(),
            custom
        );
    }

    #[test]
    fn modes_parse() {
        for mode in [Mode::Dr, Mode::Tun, Mode::Nat, Mode::FullNat] {
            assert_eq!(mode.name().parse::<Mode>().expect("parses"), mode);
        }
        assert!("DR".parse::<Mode>().is_err());
    }
}
