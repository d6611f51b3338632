//! Compiling the configuration into the dataplane's [`Snapshot`].
use std::net::IpAddr;

use control::config::Config;
use dataplane::worker::{PortRole, PortView, Snapshot};

/// The snapshot for `cfg`, with each port's MAC as the driver reports it (by port index).
/// IPv6 addresses are accepted in the file but not yet answered (no NDP responder yet).
pub fn build(cfg: &Config, macs: &[[u8; 6]], generation: u64) -> Snapshot {
    let ports = cfg
        .ports
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let v4: Vec<(std::net::Ipv4Addr, u8)> = p
                .addresses
                .iter()
                .filter_map(|a| match a.addr {
                    IpAddr::V4(v4) => Some((v4, a.prefix_len)),
                    IpAddr::V6(_) => None,
                })
                .collect();
            PortView {
                name: p.name.clone(),
                mac: macs.get(i).copied().unwrap_or([0; 6]),
                ipv4: v4.iter().map(|a| a.0).collect(),
                prefix_len: v4.iter().map(|a| a.1).collect(),
                kernel: None,
                role: PortRole::Network,
                mtu: p.mtu,
            }
        })
        .collect();
    Snapshot {
        generation,
        ports,
        workers: u16::try_from(cfg.dpdk.workers.len()).unwrap_or(u16::MAX),
        steer_prefix: 32,
        ..Snapshot::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_keep_their_order_macs_and_ipv4_addresses() {
        let cfg: Config = toml::from_str(
            "[[ports]]\nname = \"dp0\"\ndevice = \"net_null0\"\naddresses = [\"10.0.0.2/24\", \"2001:db8::2/64\", \"10.0.0.3/24\"]\n\
             [[ports]]\nname = \"dp1\"\ndevice = \"net_null1\"\n",
        )
        .unwrap();
        let s = build(&cfg, &[[2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 3]], 7);
        assert_eq!(s.generation, 7);
        assert_eq!(s.ports.len(), 2);
        assert_eq!(s.ports[0].name, "dp0");
        assert_eq!(s.ports[0].mac, [2, 0, 0, 0, 0, 2]);
        assert_eq!(
            s.ports[0].ipv4,
            vec![
                "10.0.0.2".parse::<std::net::Ipv4Addr>().unwrap(),
                "10.0.0.3".parse().unwrap()
            ]
        );
        assert!(s.ports[1].ipv4.is_empty());
    }
}
