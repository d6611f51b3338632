//! VRRP in the running director.
//!
//! ```text
//!  vrrp_instance (interface = port dp0) ──resolve (dp0 → its TAP rvs0)──▶ VrrpHost
//!     (thread rvs-vrrp: raw sockets on rvs0; the kernel's adverts leave through
//!      rvs0 → worker → dp0, with the virtual MAC as source; received adverts come
//!      back the same way, the dataplane passes multicast and own-address traffic to rvs0)
//!        │ events (std channel)
//!        ▼
//!  thread rvs-vrrp-events
//!     Ownership → VrrpOwnership + Director::reapply  (one snapshot: VIPs in or out)
//!     Garp      → StageCommand::Garp to worker 0     (frames from the port's MAC)
//! ```
//!
//! An instance runs on an rvs port (its kernel side is the TAP) or, failing that, on a
//! kernel interface of that name (a management network, say): then its gratuitous ARPs go
//! through an AF_PACKET socket and its addresses are not the dataplane's business. An
//! instance on a port without `kernel_port` cannot run and stops start-up with the reason.
//!
//! Shut-down ([`VrrpHost::shutdown`]) runs before the dataplane stops, so that a master's
//! priority-0 advert still leaves through the TAP and the port, and the backup takes over
//! after its Skew_Time instead of Master_Down_Interval.
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;

use control::config::Config;
use control::director::DirectorHandle;
use control::vrrp::garp::{GarpSender, PacketGarp};
use control::vrrp::resolve::{Resolved, SystemEnv, resolve};
use control::vrrp::{DriverOptions, VrrpEvent, VrrpHost};
use crossbeam_channel::Sender;
use dataplane::fwd::StageCommand;

use crate::error::RvsdError;
use crate::kport::{self, KernelPort};
use crate::ownership::VrrpOwnership;

/// Resolves the VRRP configuration (`None` without instances): ports are mapped to their
/// TAPs, which must exist and carry their addresses already (the primary address of an
/// instance is its interface's first IPv4 address unless `unicast_src_ip` says).
pub fn resolve_for_daemon(
    cfg: &Config,
    kernel: &[KernelPort],
) -> Result<Option<Resolved>, RvsdError> {
    if cfg.vrrp_instances.is_empty() {
        return Ok(None);
    }
    for inst in &cfg.vrrp_instances {
        let on_port = cfg.ports.iter().any(|p| p.name == inst.interface);
        if on_port && kport::tap_of(cfg, kernel, &inst.interface).is_none() {
            return Err(RvsdError::Other(format!(
                "vrrp_instance {}: port {} has no kernel_port; VRRP runs on the port's TAP \
                 (add kernel_port = {{ name = \"...\" }} to the port)",
                inst.name, inst.interface
            )));
        }
    }
    let env = SystemEnv {
        map_name: |name: &str| kport::tap_of(cfg, kernel, name).unwrap_or(name).to_string(),
    };
    let resolved = resolve(cfg, &env).map_err(|e| RvsdError::Other(e.to_string()))?;
    for w in &resolved.warnings {
        log::warn!("{w}");
    }
    Ok(Some(resolved))
}

/// Starts the driver on its own thread.
pub fn start(resolved: Resolved) -> Result<(VrrpHost, Receiver<VrrpEvent>), RvsdError> {
    let n = resolved.instances.len();
    let started = VrrpHost::start(resolved, DriverOptions::default())
        .map_err(|e| RvsdError::Other(format!("starting VRRP: {e}")))?;
    log::info!("VRRP: {n} instance(s) started");
    Ok(started)
}

/// What the events thread needs.
pub struct EventSinks {
    pub ownership: VrrpOwnership,
    pub director: DirectorHandle,
    /// Worker 0's command channel: it sends the gratuitous ARPs.
    pub garp_worker: Sender<StageCommand>,
    /// Network port indices by name.
    pub ports: BTreeMap<String, u16>,
}

/// Starts the thread that carries the driver's events out; it ends with the driver's
/// event channel (after [`VrrpHost::shutdown`]) or when the director is gone.
pub fn spawn_events(
    events: Receiver<VrrpEvent>,
    sinks: EventSinks,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("rvs-vrrp-events".into())
        .spawn(move || {
            while let Ok(event) = events.recv() {
                if !handle(&sinks, event) {
                    return;
                }
            }
        })
}

/// Carries one event out; false when the director is gone.
fn handle(sinks: &EventSinks, event: VrrpEvent) -> bool {
    match event {
        VrrpEvent::Ownership {
            instance,
            vips,
            owned,
            ..
        } => {
            let addrs: Vec<String> = vips.iter().map(ToString::to_string).collect();
            log::info!(
                "VRRP ({instance}): {} {}",
                if owned {
                    "serving"
                } else {
                    "no longer serving"
                },
                addrs.join(" ")
            );
            if !sinks.ownership.set_master(&instance, owned) {
                return true;
            }
            match sinks.director.run_blocking(|d| d.reapply()) {
                None => return false,
                Some(Ok(())) => {}
                Some(Err(r)) => log::error!(
                    "VRRP ({instance}): the dataplane did not take the ownership change: {}",
                    r.message
                ),
            }
        }
        VrrpEvent::Garp {
            instance,
            port,
            interface,
            vips,
            count,
        } => match sinks.ports.get(&port) {
            Some(&index) => {
                for addr in vips {
                    let cmd = StageCommand::Garp {
                        port: index,
                        addr,
                        count,
                    };
                    if sinks.garp_worker.try_send(cmd).is_err() {
                        log::warn!(
                            "VRRP ({instance}): worker 0 takes no command: GARP for {addr} not sent"
                        );
                    }
                }
            }
            None => kernel_garp(&instance, &interface, &vips, count),
        },
    }
    true
}

/// Gratuitous ARPs of an instance on a kernel interface that is not an rvs port.
fn kernel_garp(instance: &str, interface: &str, vips: &[Ipv4Addr], count: u32) {
    let sent = PacketGarp::open().and_then(|g| g.send(interface, vips, count));
    if let Err(e) = sent {
        log::warn!("VRRP ({instance}): gratuitous ARP on {interface}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_on_a_port_without_kernel_port_is_refused() {
        let cfg: Config = toml::from_str(
            r#"
            [[ports]]
            name = "dp0"
            device = "net_null0"
            [[vrrp_instances]]
            name = "VI_1"
            interface = "dp0"
            virtual_router_id = 51
            virtual_ipaddress = [{ address = "10.0.0.100/32" }]
            "#,
        )
        .unwrap();
        let err = resolve_for_daemon(&cfg, &kport::planned(&cfg)).unwrap_err();
        assert!(err.to_string().contains("has no kernel_port"), "{err}");
        let none = Config::default();
        assert!(resolve_for_daemon(&none, &[]).unwrap().is_none());
    }
}
