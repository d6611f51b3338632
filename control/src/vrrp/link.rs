//! track_interface: whether a kernel interface is usable, polled from sysfs.
//!
//! An interface counts as up when it exists, its carrier is on and its operstate is `up`
//! or `unknown` (TAP and loopback devices report `unknown` while working) — keepalived's
//! IFF_UP && IFF_RUNNING as sysfs shows it. Polling every few hundred milliseconds keeps
//! this free of netlink plumbing; the delay it adds is far below Master_Down_Interval.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{MissedTickBehavior, interval};

/// The state of `interface` now.
pub fn link_up(interface: &str) -> bool {
    link_up_in(Path::new("/sys/class/net"), interface)
}

/// [`link_up`] against another sysfs root (tests).
pub fn link_up_in(root: &Path, interface: &str) -> bool {
    if interface.is_empty() || interface.contains('/') || interface.starts_with('.') {
        return false;
    }
    let dir = root.join(interface);
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).map(|s| s.trim().to_string());
    let carrier = read("carrier").is_ok_and(|c| c == "1");
    let oper = read("operstate").is_ok_and(|o| o == "up" || o == "unknown");
    carrier && oper
}

/// A change of an interface's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkReport {
    pub interface: String,
    pub up: bool,
}

/// Polls `interfaces` every `period`, reporting changes from `initial`. Ends when the
/// receiver is gone.
pub async fn watch_links(
    mut known: BTreeMap<String, bool>,
    period: Duration,
    tx: mpsc::UnboundedSender<LinkReport>,
) {
    let mut tick = interval(period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for (name, up) in known.iter_mut() {
            let now = link_up(name);
            if now != *up {
                *up = now;
                log::info!(
                    "VRRP tracked interface {name} is {}",
                    if now { "up" } else { "down" }
                );
                if tx
                    .send(LinkReport {
                        interface: name.clone(),
                        up: now,
                    })
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_needs_carrier_and_a_working_operstate() {
        let root = tempfile::tempdir().unwrap();
        let make = |name: &str, oper: &str, carrier: Option<&str>| {
            let d = root.path().join(name);
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("operstate"), format!("{oper}\n")).unwrap();
            if let Some(c) = carrier {
                std::fs::write(d.join("carrier"), format!("{c}\n")).unwrap();
            }
        };
        make("eth0", "up", Some("1"));
        make("tap0", "unknown", Some("1"));
        make("veth1", "lowerlayerdown", Some("0"));
        make("down0", "down", None);
        assert!(link_up_in(root.path(), "eth0"));
        assert!(link_up_in(root.path(), "tap0"));
        assert!(!link_up_in(root.path(), "veth1"));
        assert!(!link_up_in(root.path(), "down0"));
        assert!(!link_up_in(root.path(), "missing"));
        assert!(!link_up_in(root.path(), "../eth0"));
    }
}
