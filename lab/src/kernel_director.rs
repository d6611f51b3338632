//! A stand-in director made of the plain Linux kernel, to prove the lab without rvs.
//!
//! The kernel here has no IPVS, so the stand-in uses what forwarding alone can do:
//! - it holds 10.0.0.2 on its veth, forwards, and routes the client net via the router, so
//!   it is a working NAT-mode gateway for replies;
//! - with `forward_vips_to = Some(n)` it routes each VIP to real server `n` unchanged, and
//!   the router's ARP entry for the VIP points at the director: plain forwarding then *is*
//!   DR with one real server (only the MAC changes, the server sees the VIP and the client).
//!
//! ICMP redirects are off: the director sends packets back out of the port they came in
//! by design, and a redirect would teach the router to bypass it.

use crate::cmd::{ip_in, sysctl_in};
use crate::error::{LabError, Result};
use crate::lab::Lab;
use crate::names::NodeId;
use crate::plan;

impl Lab {
    /// Turns director 1 into a kernel router (see the module doc). Not for rvs runs: rvs
    /// owns the director's address and port.
    pub fn kernel_director(&self, forward_vips_to: Option<u8>) -> Result<()> {
        let director = self.node(NodeId::Director(1))?;
        let netns = director.netns.as_str();
        let ifname = director.ifname();
        let addr = director
            .addr()
            .ok_or_else(|| LabError::InvalidSpec("director without an address".to_owned()))?;
        ip_in(
            netns,
            &[
                "addr",
                "add",
                &format!("{addr}/{}", plan::PREFIX_LEN),
                "dev",
                ifname,
            ],
        )?;
        sysctl_in(
            netns,
            &[
                "net.ipv4.ip_forward=1".to_owned(),
                "net.ipv4.conf.all.send_redirects=0".to_owned(),
                format!("net.ipv4.conf.{ifname}.send_redirects=0"),
            ],
        )?;
        let client_net = format!("{}/{}", plan::CLIENT_NET, plan::PREFIX_LEN);
        ip_in(
            netns,
            &[
                "route",
                "add",
                &client_net,
                "via",
                &plan::ROUTER_LAN_ADDR.to_string(),
            ],
        )?;
        let Some(n) = forward_vips_to else {
            return Ok(());
        };
        let server = self.node(NodeId::Server(n))?;
        let server_addr = server
            .addr()
            .ok_or_else(|| LabError::InvalidSpec("server without an address".to_owned()))?
            .to_string();
        let router = self.node(NodeId::Router)?;
        for vip in self.vips() {
            let vip = vip.to_string();
            ip_in(
                netns,
                &[
                    "route",
                    "replace",
                    &format!("{vip}/32"),
                    "via",
                    &server_addr,
                ],
            )?;
            ip_in(
                &router.netns,
                &[
                    "neigh",
                    "replace",
                    &vip,
                    "lladdr",
                    director.mac(),
                    "dev",
                    router.ifname(),
                    "nud",
                    "permanent",
                ],
            )?;
        }
        Ok(())
    }
}
