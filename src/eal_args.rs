//! The EAL command line rvs builds from the configuration.
//!
//! Operators write the EAL options they care about (`dpdk.eal_args`: memory, lcores, log
//! level); rvs adds one `--vdev` (virtual devices, names starting with `net_`) or `-a` (PCI
//! addresses) per configured port, then one `--vdev net_tap_kport<i>,iface=<name>` per
//! kernel-side port (see [`crate::kport`]), and `--no-pci` when no port is a PCI device so
//! EAL does not probe NICs it was not given.
use control::config::Config;

/// Whether a device string names a virtual device (`net_pcap0,...`) rather than PCI.
pub fn is_vdev(device: &str) -> bool {
    device.starts_with("net_")
}

/// The name DPDK gives the port of `device`: the part before the first comma.
pub fn port_name(device: &str) -> &str {
    device.split(',').next().unwrap_or(device).trim()
}

/// EAL arguments for `rvsd --config`: the operator's, `--in-memory` when they use
/// hugepages without saying how, then the ports.
///
/// rvs runs no DPDK secondary processes, so it has no use for the hugepage and runtime
/// files a default EAL leaves in /dev/hugepages and /var/run/dpdk (they would outlive a
/// crash, too); `--in-memory` keeps everything anonymous.
pub fn for_daemon(cfg: &Config) -> Vec<String> {
    let mut args = cfg.dpdk.eal_args.clone();
    let memory_mode_given = args.iter().any(|a| {
        matches!(
            a.as_str(),
            "--no-huge" | "--in-memory" | "--huge-unlink" | "--file-prefix"
        ) || a.starts_with("--file-prefix=")
            || a.starts_with("--huge-unlink=")
    });
    if !memory_mode_given {
        args.push("--in-memory".into());
    }
    let kernel: Vec<String> = crate::kport::planned(cfg)
        .iter()
        .map(crate::kport::KernelPort::vdev)
        .collect();
    add_devices(
        &mut args,
        cfg.ports
            .iter()
            .map(|p| p.device.as_str())
            .chain(kernel.iter().map(String::as_str)),
    );
    args
}

/// EAL arguments for a replay: in-memory, no hugepage files, the first worker core, and the
/// given devices (port 0 is the net_pcap device).
pub fn for_replay(cfg: &Config, devices: &[String], hugepages: bool) -> Vec<String> {
    let core = cfg.dpdk.workers.first().copied().unwrap_or(0);
    let mut args: Vec<String> = if hugepages {
        vec!["--in-memory".into(), "-m".into(), "256".into()]
    } else {
        vec![
            "--no-huge".into(),
            "--no-shconf".into(),
            "-m".into(),
            "256".into(),
        ]
    };
    args.extend([
        "-l".into(),
        core.to_string(),
        "--log-level=lib.eal:error".into(),
        "--no-telemetry".into(),
    ]);
    add_devices(&mut args, devices.iter().map(String::as_str));
    args
}

fn add_devices<'a>(args: &mut Vec<String>, devices: impl Iterator<Item = &'a str>) {
    let mut any_pci = false;
    for d in devices {
        if is_vdev(d) {
            args.push("--vdev".into());
        } else {
            any_pci = true;
            args.push("-a".into());
        }
        args.push(d.to_string());
    }
    if !any_pci && !args.iter().any(|a| a == "--no-pci" || a == "-a") {
        args.push("--no-pci".into());
    }
}

/// Whether enough free 2 MB hugepages are mounted for a 256 MB in-memory replay.
pub fn hugepages_available() -> bool {
    let mounted = std::fs::read_to_string("/proc/mounts")
        .map(|m| {
            m.lines()
                .any(|l| l.split_whitespace().nth(2) == Some("hugetlbfs"))
        })
        .unwrap_or(false);
    let free = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("HugePages_Free:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse::<u64>().ok())
        })
        .unwrap_or(0);
    mounted && free >= 160
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(devices: &[&str]) -> Config {
        let mut text = String::from("[dpdk]\neal_args = [\"-l\", \"0\"]\nworkers = [1]\n");
        for (i, d) in devices.iter().enumerate() {
            text.push_str(&format!("[[ports]]\nname = \"dp{i}\"\ndevice = \"{d}\"\n"));
        }
        toml::from_str(&text).unwrap()
    }

    #[test]
    fn vdevs_and_pci_devices_get_their_flags() {
        let c = cfg(&["net_af_packet0,iface=veth0", "0000:03:00.0"]);
        assert_eq!(
            for_daemon(&c),
            [
                "-l",
                "0",
                "--in-memory",
                "--vdev",
                "net_af_packet0,iface=veth0",
                "-a",
                "0000:03:00.0"
            ]
        );
        let mut c = cfg(&["net_null0"]);
        c.ports[0].kernel_port = Some(control::config::KernelPort {
            name: "rvs0".into(),
        });
        assert_eq!(
            for_daemon(&c),
            [
                "-l",
                "0",
                "--in-memory",
                "--vdev",
                "net_null0",
                "--vdev",
                "net_tap_kport0,iface=rvs0",
                "--no-pci"
            ]
        );
        c.ports[0].kernel_port = None;
        c.dpdk.eal_args.push("--no-huge".into());
        assert_eq!(
            for_daemon(&c),
            ["-l", "0", "--no-huge", "--vdev", "net_null0", "--no-pci"]
        );
        assert_eq!(port_name("net_pcap0,rx_pcap=a.pcap"), "net_pcap0");
        assert_eq!(port_name("0000:03:00.0"), "0000:03:00.0");
    }

    #[test]
    fn replay_uses_no_hugepage_files() {
        let c = cfg(&["net_null0"]);
        let args = for_replay(&c, &["net_pcap0,rx_pcap=i,tx_pcap=o".into()], false);
        assert_eq!(
            args,
            [
                "--no-huge",
                "--no-shconf",
                "-m",
                "256",
                "-l",
                "1",
                "--log-level=lib.eal:error",
                "--no-telemetry",
                "--vdev",
                "net_pcap0,rx_pcap=i,tx_pcap=o",
                "--no-pci"
            ]
        );
        assert_eq!(for_replay(&c, &[], true)[0], "--in-memory");
    }
}
