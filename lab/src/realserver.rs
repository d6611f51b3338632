//! Preparing real servers for the forwarding mode, the way LVS operators do it.
//!
//! - DR: every VIP on `lo` as /32; `arp_ignore=1` and `arp_announce=2` on `all` and the LAN
//!   interface so the server neither answers nor announces the VIP; gateway = router.
//! - TUN: the VIPs on the tunnel device; rp_filter off (packets for the client arrive on the
//!   tunnel while the client is routed via the LAN); ARP hidden as in DR; gateway = router.
//!   Kernel receivers: `tunl0` (IPIP), `gre0` (GRE), `ip fou add port N gue` (GUE).
//!   Kernels without them (this project's build VM has no IPIP, GRE or FOU and no modules)
//!   get the lab's userspace decapsulator writing into a TUN device (see `scripts/decap.py`).
//! - NAT: gateway = director 1 (10.0.0.2), which must answer ARP for it.
//!   (`LabSpec::gateway` overrides the gateway in every mode, e.g. a VRRP address shared by
//!   two directors.)
//! - FULLNAT: gateway = router; replies go to the director's local address on the LAN.

use std::time::Duration;

use crate::cmd::{self, ip_in, sysctl_in};
use crate::error::{LabError, Result};
use crate::lab::Lab;
use crate::names::{NodeId, tag};
use crate::spec::{Mode, TunnelRx, TunnelRxKind};

/// How long a decapsulator gets to come up.
const DECAP_START: Duration = Duration::from_secs(10);

impl Lab {
    /// Prepares every real server for the lab's mode.
    pub(crate) fn prepare_servers(&mut self) -> Result<()> {
        let mode = self.record.spec.mode;
        if mode == Mode::Tun {
            self.record.tunnel_rx = Some(self.choose_tunnel_rx()?);
            self.record.save()?;
        }
        for n in 1..=self.record.spec.servers {
            let node = NodeId::Server(n);
            let gateway = self.record.spec.server_gateway();
            let netns = self.netns(node)?.to_owned();
            ip_in(
                &netns,
                &["route", "add", "default", "via", &gateway.to_string()],
            )?;
            match mode {
                Mode::Dr => {
                    self.hide_arp(node)?;
                    for vip in self.vips().to_vec() {
                        ip_in(&netns, &["addr", "add", &format!("{vip}/32"), "dev", "lo"])?;
                    }
                }
                Mode::Tun => {
                    self.hide_arp(node)?;
                    match self.record.tunnel_rx {
                        Some(TunnelRxKind::Kernel) => self.kernel_tunnels(n)?,
                        _ => self.userspace_tunnel(n)?,
                    }
                }
                Mode::Nat | Mode::FullNat => {}
            }
        }
        Ok(())
    }

    fn hide_arp(&self, node: NodeId) -> Result<()> {
        let n = self.node(node)?;
        let ifname = n.ifname();
        sysctl_in(
            &n.netns,
            &[
                "net.ipv4.conf.all.arp_ignore=1".to_owned(),
                "net.ipv4.conf.all.arp_announce=2".to_owned(),
                format!("net.ipv4.conf.{ifname}.arp_ignore=1"),
                format!("net.ipv4.conf.{ifname}.arp_announce=2"),
            ],
        )
    }

    /// Kernel receivers if asked for (failing without them) or if `Auto` finds all three.
    fn choose_tunnel_rx(&self) -> Result<TunnelRxKind> {
        match self.record.spec.tunnel_rx {
            TunnelRx::Userspace => Ok(TunnelRxKind::Userspace),
            TunnelRx::Kernel => {
                if self.kernel_tunnels_available()? {
                    Ok(TunnelRxKind::Kernel)
                } else {
                    Err(LabError::InvalidSpec(
                        "this kernel lacks IPIP (tunl0), GRE (gre0) or FOU; use tunnel_rx auto or userspace"
                            .to_owned(),
                    ))
                }
            }
            TunnelRx::Auto => Ok(if self.kernel_tunnels_available()? {
                TunnelRxKind::Kernel
            } else {
                TunnelRxKind::Userspace
            }),
        }
    }

    /// Whether rs1's namespace has `tunl0` and `gre0` (loading `ipip`/`ip_gre` if needed) and
    /// accepts a GUE port (`fou`). The probe leaves nothing configured.
    fn kernel_tunnels_available(&self) -> Result<bool> {
        let netns = self.netns(NodeId::Server(1))?.to_owned();
        let has_fallbacks = || {
            ip_in(&netns, &["link", "show", "tunl0"]).is_ok()
                && ip_in(&netns, &["link", "show", "gre0"]).is_ok()
        };
        if !has_fallbacks() {
            // Modules create their fallback devices in every namespace when they load.
            let _ = cmd::output(&mut cmd::root_command(
                "modprobe",
                &["-a", "ipip", "ip_gre", "fou"],
            ));
            if !has_fallbacks() {
                return Ok(false);
            }
        }
        let port = self.record.spec.gue_port.to_string();
        if ip_in(&netns, &["fou", "add", "port", &port, "gue"]).is_err() {
            return Ok(false);
        }
        ip_in(&netns, &["fou", "del", "port", &port])?;
        Ok(true)
    }

    /// tunl0 with the VIPs, gre0 up, a GUE port, rp_filter off on both devices.
    fn kernel_tunnels(&self, n: u8) -> Result<()> {
        let netns = self.netns(NodeId::Server(n))?.to_owned();
        for device in ["tunl0", "gre0"] {
            ip_in(&netns, &["link", "set", device, "up"])?;
        }
        for vip in self.vips() {
            ip_in(
                &netns,
                &["addr", "add", &format!("{vip}/32"), "dev", "tunl0"],
            )?;
        }
        let port = self.record.spec.gue_port.to_string();
        ip_in(&netns, &["fou", "add", "port", &port, "gue"])?;
        sysctl_in(
            &netns,
            &[
                "net.ipv4.conf.tunl0.rp_filter=0".to_owned(),
                "net.ipv4.conf.gre0.rp_filter=0".to_owned(),
            ],
        )
    }

    /// A persistent TUN device with the VIPs and the decapsulator attached to it.
    fn userspace_tunnel(&mut self, n: u8) -> Result<()> {
        let node = NodeId::Server(n);
        let netns = self.netns(node)?.to_owned();
        let tun = self.id().iface(&tag::decap_tun(n));
        ip_in(&netns, &["tuntap", "add", "dev", &tun, "mode", "tun"])?;
        for vip in self.vips() {
            ip_in(&netns, &["addr", "add", &format!("{vip}/32"), "dev", &tun])?;
        }
        ip_in(&netns, &["link", "set", &tun, "up"])?;
        sysctl_in(&netns, &[format!("net.ipv4.conf.{tun}.rp_filter=0")])?;
        let ready = self.work_file(&format!("decap-{node}"), "ready");
        let python = cmd::python()?;
        let script = self.script("decap.py");
        let args = [
            script.to_string_lossy().into_owned(),
            "--tun".to_owned(),
            tun,
            "--gue-port".to_owned(),
            self.record.spec.gue_port.to_string(),
            "--ready".to_owned(),
            ready.to_string_lossy().into_owned(),
        ];
        let mut guard = self.spawn(
            node,
            &format!("decap-{node}"),
            &python.to_string_lossy(),
            &args,
        )?;
        guard.wait_ready("the decapsulator", DECAP_START, || ready.exists())?;
        self.helpers.push(guard);
        Ok(())
    }
}
