//! What rvsd does to the kernel interface of a TAP, and why.
//!
//! Before the TAP is started (its link still down, so the kernel sends nothing yet):
//!
//! * `disable_ipv6 = 1` — the dataplane forwards IPv4 only; an IPv6-enabled TAP would
//!   autoconfigure a link-local address and send router solicitations, MLD reports and
//!   DAD probes out of the director's port with its MAC. (Skipped when the kernel has no
//!   IPv6.)
//! * `rp_filter = 2` (loose) — the kernel gets the port's routes, so strict reverse-path
//!   filtering would mostly agree, but with several ports a client reached through one
//!   port may be routed through another, and a strict filter would then drop the
//!   director's own traffic silently. Loose mode still drops sources no route reaches. (The
//!   effective value is the larger of `all` and the interface's, so `all = 1` also ends
//!   up loose.)
//!
//! After the TAP is started:
//!
//! * `ip link set dev TAP address MAC mtu MTU` — the network port's MAC and MTU: the kernel
//!   answers ARP for the director's addresses with the port's MAC, and the frames it sends
//!   leave the port unchanged, so there is one identity on the wire. This must come after
//!   the start: `rte_eth_dev_start` replays the port's own (random) MAC into the kernel
//!   interface (measured: a MAC set before the start was gone after it). The PMD's record
//!   of its MAC stays the random one, which nothing on the data path reads.
//! * `ip link set up`, the port's IPv4 addresses with their prefix lengths (`ip addr
//!   replace`, which also gives the kernel the connected routes), then the configured
//!   static routes of the port (`ip route replace ... proto static`), so the kernel routes
//!   its own traffic — health checks to real servers on the LAN, answers to a client
//!   behind the router — through the TAP the way the dataplane routes. A configured route
//!   replaces a kernel route of the same prefix (the dataplane's table wins, as in the
//!   dataplane, where a static route replaces a connected one).
//!
//! The TAP disappears when rvsd closes it, and its addresses and routes with it.
//!
//! A network port that is itself a kernel interface (`net_af_packet,iface=X`, a veth in
//! the lab) needs one more thing: the kernel still receives every frame on X, and once the
//! TAP has the port's MAC and addresses, frames addressed to the director match X's MAC
//! and the kernel's own addresses too, so it would answer everything twice — once through
//! the TAP, once from X (measured: each ping answered twice, each ARP request too). So
//! X gets `arp_ignore = 8` (answer ARP for no local address on it) and `rp_filter = 1`
//! (strict: no route leads out of X, so nothing arriving on it is accepted for the
//! kernel), and IPv6 off. A PCI port is not a kernel interface while DPDK drives it.
//!
//! Done with the `ip` command (iproute2) and writes under `/proc/sys` rather than with
//! netlink: it runs a few times at start-up, never on a packet or failover path; `ip` is
//! present wherever DPDK is; each command is logged as an operator would type it to check
//! or redo the set-up; and rtnetlink by hand would need `unsafe` or a netlink crate stack
//! (the maintained one brings its own async runtime), which the daemon crate keeps out.
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;

use control::config::Config;

/// One step of the set-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Write `value` to the sysctl file `path`; `optional` steps whose file does not exist
    /// are skipped (no IPv6 in this kernel).
    Sysctl {
        path: String,
        value: &'static str,
        optional: bool,
    },
    /// Run `ip` with these arguments.
    Ip(Vec<String>),
}

fn ip(args: &[&str]) -> Step {
    Step::Ip(args.iter().map(|a| (*a).to_string()).collect())
}

fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The kernel interface behind a `net_af_packet` device (`iface=X`), if `device` is one.
pub fn af_packet_interface(device: &str) -> Option<&str> {
    let mut parts = device.split(',');
    if !parts.next()?.trim().starts_with("net_af_packet") {
        return None;
    }
    parts.find_map(|kv| kv.trim().strip_prefix("iface="))
}

/// What keeps the kernel out of a port that is also a kernel interface (see the module
/// documentation); nothing for other devices.
pub fn quiet_port_interface(device: &str) -> Vec<Step> {
    let Some(iface) = af_packet_interface(device) else {
        return Vec::new();
    };
    vec![
        Step::Sysctl {
            path: format!("/proc/sys/net/ipv4/conf/{iface}/arp_ignore"),
            value: "8",
            optional: false,
        },
        Step::Sysctl {
            path: format!("/proc/sys/net/ipv4/conf/{iface}/rp_filter"),
            value: "1",
            optional: false,
        },
        Step::Sysctl {
            path: format!("/proc/sys/net/ipv6/conf/{iface}/disable_ipv6"),
            value: "1",
            optional: true,
        },
    ]
}

/// What is done while the TAP's link is still down.
pub fn before_start(tap: &str) -> Vec<Step> {
    vec![
        Step::Sysctl {
            path: format!("/proc/sys/net/ipv6/conf/{tap}/disable_ipv6"),
            value: "1",
            optional: true,
        },
        Step::Sysctl {
            path: format!("/proc/sys/net/ipv4/conf/{tap}/rp_filter"),
            value: "2",
            optional: false,
        },
    ]
}

/// What is done once the TAP is started: the port's MAC and MTU, link up, the addresses of
/// port `network`, the static routes through it. IPv6 items are left out (the snapshot
/// compiler refuses them with their own messages).
pub fn after_start(cfg: &Config, network: usize, tap: &str, mac: [u8; 6]) -> Vec<Step> {
    let Some(port) = cfg.ports.get(network) else {
        return Vec::new();
    };
    let mut steps = vec![
        ip(&[
            "link",
            "set",
            "dev",
            tap,
            "address",
            &mac_text(mac),
            "mtu",
            &port.mtu.to_string(),
        ]),
        ip(&["link", "set", "dev", tap, "up"]),
    ];
    for a in port.addresses.iter().filter(|a| a.addr.is_ipv4()) {
        steps.push(ip(&["-4", "addr", "replace", &a.to_string(), "dev", tap]));
    }
    for r in cfg
        .routes
        .iter()
        .filter(|r| r.port == port.name && r.prefix.addr.is_ipv4())
    {
        let prefix = if r.prefix.prefix_len == 0 {
            "default".to_string()
        } else {
            r.prefix.to_string()
        };
        let mut args = vec!["-4", "route", "replace", prefix.as_str()];
        let via;
        if let Some(IpAddr::V4(gw)) = r.via {
            via = gw.to_string();
            args.extend(["via", via.as_str()]);
        }
        args.extend(["dev", tap, "proto", "static"]);
        steps.push(ip(&args));
    }
    steps
}

/// Runs the steps in order; the first failure stops them, with the command and what it
/// said.
pub fn run(steps: &[Step]) -> Result<(), String> {
    for step in steps {
        match step {
            Step::Sysctl {
                path,
                value,
                optional,
            } => {
                if *optional && !Path::new(path).exists() {
                    log::debug!("{path} does not exist: skipped");
                    continue;
                }
                std::fs::write(path, value)
                    .map_err(|e| format!("writing {value} to {path}: {e}"))?;
                log::debug!("{path} = {value}");
            }
            Step::Ip(args) => {
                let line = format!("ip {}", args.join(" "));
                let out = Command::new("ip")
                    .args(args)
                    .output()
                    .map_err(|e| format!("{line}: cannot run ip (iproute2): {e}"))?;
                if !out.status.success() {
                    return Err(format!(
                        "{line}: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    ));
                }
                log::info!("{line}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match s {
                Step::Sysctl { path, value, .. } => format!("{path}={value}"),
                Step::Ip(a) => format!("ip {}", a.join(" ")),
            })
            .collect()
    }

    #[test]
    fn ipv6_and_strict_reverse_path_filtering_are_off_before_it_comes_up() {
        assert_eq!(
            argv(&before_start("rvs0")),
            [
                "/proc/sys/net/ipv6/conf/rvs0/disable_ipv6=1",
                "/proc/sys/net/ipv4/conf/rvs0/rp_filter=2",
            ]
        );
    }

    #[test]
    fn an_af_packet_port_interface_is_kept_out_of_the_kernel() {
        assert_eq!(
            af_packet_interface("net_af_packet0,iface=veth0,qpairs=2"),
            Some("veth0")
        );
        assert_eq!(
            af_packet_interface("net_af_packet1,qpairs=2, iface=x"),
            Some("x")
        );
        assert_eq!(af_packet_interface("net_af_packet0"), None);
        assert_eq!(af_packet_interface("net_tap0,iface=veth0"), None);
        assert_eq!(af_packet_interface("0000:03:00.0"), None);
        assert_eq!(
            argv(&quiet_port_interface("net_af_packet0,iface=veth0")),
            [
                "/proc/sys/net/ipv4/conf/veth0/arp_ignore=8",
                "/proc/sys/net/ipv4/conf/veth0/rp_filter=1",
                "/proc/sys/net/ipv6/conf/veth0/disable_ipv6=1",
            ]
        );
        assert!(quiet_port_interface("net_pcap0,rx_pcap=a").is_empty());
    }

    #[test]
    fn addresses_and_the_port_routes_follow_once_it_is_up() {
        let cfg: Config = toml::from_str(
            r#"
            [[ports]]
            name = "dp0"
            device = "net_null0"
            addresses = ["10.0.0.2/24", "10.0.1.2/16", "2001:db8::2/64"]
            kernel_port = { name = "rvs0" }
            [[ports]]
            name = "dp1"
            device = "net_null1"
            mtu = 9000
            [[routes]]
            prefix = "0.0.0.0/0"
            via = "10.0.0.1"
            port = "dp0"
            [[routes]]
            prefix = "192.168.5.0/24"
            port = "dp0"
            [[routes]]
            prefix = "172.16.0.0/12"
            via = "10.9.9.9"
            port = "dp1"
            [[routes]]
            prefix = "::/0"
            via = "2001:db8::1"
            port = "dp0"
            "#,
        )
        .unwrap();
        assert_eq!(
            argv(&after_start(&cfg, 0, "rvs0", [2, 0, 0x0a, 0, 0, 2])),
            [
                "ip link set dev rvs0 address 02:00:0a:00:00:02 mtu 1500",
                "ip link set dev rvs0 up",
                "ip -4 addr replace 10.0.0.2/24 dev rvs0",
                "ip -4 addr replace 10.0.1.2/16 dev rvs0",
                "ip -4 route replace default via 10.0.0.1 dev rvs0 proto static",
                "ip -4 route replace 192.168.5.0/24 dev rvs0 proto static",
            ]
        );
        assert_eq!(
            argv(&after_start(&cfg, 1, "x", [2, 0, 0, 0, 0, 0xab])),
            [
                "ip link set dev x address 02:00:00:00:00:ab mtu 9000",
                "ip link set dev x up",
                "ip -4 route replace 172.16.0.0/12 via 10.9.9.9 dev x proto static",
            ]
        );
        assert!(after_start(&cfg, 7, "x", [0; 6]).is_empty());
    }

    #[test]
    fn a_failing_step_names_the_command_and_stops_the_rest() {
        let steps = [
            Step::Sysctl {
                path: "/nonexistent/rvs/optional".into(),
                value: "1",
                optional: true,
            },
            ip(&["link", "set", "dev", "rvs-no-such-if", "up"]),
            Step::Sysctl {
                path: "/nonexistent/rvs/never-reached".into(),
                value: "1",
                optional: false,
            },
        ];
        let err = run(&steps).unwrap_err();
        assert!(
            err.starts_with("ip link set dev rvs-no-such-if up:"),
            "{err}"
        );
        let err = run(&steps[2..]).unwrap_err();
        assert!(err.contains("/nonexistent/rvs/never-reached"), "{err}");
    }
}
