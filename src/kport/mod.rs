//! The kernel-side ports: one DPDK `net_tap` device per network port that names a
//! `kernel_port`, so that the director's own traffic has a kernel to go to.
//!
//! ```text
//!  network port dp0 (DPDK) ──worker── TAP rvs0 (DPDK net_tap) ══ kernel interface rvs0
//!     ARP/ICMP/TCP/UDP/VRRP for the director's own addresses ─▶ kernel
//!     what the kernel sends on rvs0 ─▶ out of dp0 (VRRP with the virtual MAC as source)
//! ```
//!
//! The kernel interface gets the network port's identity: its MAC, MTU, addresses (with
//! their prefix lengths) and the configured static routes, so ping, SSH, the health checks
//! and VRRP of the kernel look, on the wire, exactly like the director. Each TAP is an
//! extra DPDK port after the network ports (`net_tap_kport<i>,iface=<name>`, created with
//! the EAL), with one queue per worker like every port: worker w polls queue w of it.
//! [`kernel`] holds what is done to the kernel interface and why.
//!
//! The dataplane counts both directions (`to_kernel`, `from_kernel`), and DPDK counts the
//! TAP port itself (`port.<tap>.*` in `rvsadm --list-counters`).
pub mod kernel;

use control::config::Config;

/// One kernel-side port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelPort {
    /// Index of its network port in the configuration (and in the dataplane).
    pub network: usize,
    /// The kernel interface name (`kernel_port.name`).
    pub tap: String,
    /// The DPDK device name of the TAP (`net_tap_kport<i>`).
    pub device: String,
}

impl KernelPort {
    /// The `--vdev` argument that creates it.
    pub fn vdev(&self) -> String {
        format!("{},iface={}", self.device, self.tap)
    }
}

/// The kernel-side ports `cfg` asks for, in network-port order (which is also their order
/// after the network ports in the dataplane).
pub fn planned(cfg: &Config) -> Vec<KernelPort> {
    cfg.ports
        .iter()
        .enumerate()
        .filter_map(|(network, p)| {
            let k = p.kernel_port.as_ref()?;
            Some((network, k.name.clone()))
        })
        .enumerate()
        .map(|(i, (network, tap))| KernelPort {
            network,
            tap,
            // The vdev bus picks the driver by name prefix: `net_tap...` is net_tap, and
            // the `kport` part keeps it apart from a network port an operator named
            // `net_tap0`.
            device: format!("net_tap_kport{i}"),
        })
        .collect()
}

/// Checks the kernel interface names before anything is created: Linux allows 15 bytes,
/// no `/`, no whitespace, not `.` or `..`; and no two ports may share one.
pub fn check_names(ports: &[KernelPort]) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for k in ports {
        let n = k.tap.as_str();
        let bad = n.is_empty()
            || n.len() > 15
            || n == "."
            || n == ".."
            || n.chars()
                .any(|c| c == '/' || c == ':' || c.is_whitespace() || c == ',');
        if bad {
            return Err(format!(
                "kernel_port name {n:?} is not a valid interface name (1 to 15 bytes, no \
                 '/', ':', ',' or spaces)"
            ));
        }
        if !seen.insert(n) {
            return Err(format!("kernel_port name {n:?} is used by two ports"));
        }
    }
    Ok(())
}

/// The kernel interface of the port named `port`, if it has one.
pub fn tap_of<'a>(cfg: &Config, ports: &'a [KernelPort], port: &str) -> Option<&'a str> {
    let index = cfg.ports.iter().position(|p| p.name == port)?;
    ports
        .iter()
        .find(|k| k.network == index)
        .map(|k| k.tap.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn taps_follow_the_network_ports_that_ask_for_them() {
        let c = cfg(r#"
            [[ports]]
            name = "dp0"
            device = "net_af_packet0,iface=veth0"
            kernel_port = { name = "rvs0" }
            [[ports]]
            name = "dp1"
            device = "net_null0"
            [[ports]]
            name = "dp2"
            device = "net_null1"
            kernel_port = { name = "rvs2" }
        "#);
        let k = planned(&c);
        assert_eq!(
            k,
            [
                KernelPort {
                    network: 0,
                    tap: "rvs0".into(),
                    device: "net_tap_kport0".into()
                },
                KernelPort {
                    network: 2,
                    tap: "rvs2".into(),
                    device: "net_tap_kport1".into()
                },
            ]
        );
        assert_eq!(k[1].vdev(), "net_tap_kport1,iface=rvs2");
        assert_eq!(tap_of(&c, &k, "dp2"), Some("rvs2"));
        assert_eq!(tap_of(&c, &k, "dp1"), None);
        assert_eq!(tap_of(&c, &k, "eth0"), None);
        assert!(check_names(&k).is_ok());
    }

    #[test]
    fn bad_or_shared_interface_names_are_refused() {
        let port = |tap: &str| KernelPort {
            network: 0,
            tap: tap.into(),
            device: "net_tap_kport0".into(),
        };
        for bad in ["", "a-name-of-16-byt", "a/b", "a b", "..", "rvs0,x", "a:1"] {
            let err = check_names(&[port(bad)]).unwrap_err();
            assert!(err.contains("not a valid interface name"), "{bad}: {err}");
        }
        let err = check_names(&[port("rvs0"), port("rvs0")]).unwrap_err();
        assert!(err.contains("used by two ports"), "{err}");
        assert!(check_names(&[port("a-name-of-15-by")]).is_ok());
    }
}
