//! Compiling the configuration into the dataplane's [`Snapshot`].
use std::net::IpAddr;

use control::config::Config;
use dataplane::worker::{PortView, Snapshot};

/// The snapshot for `cfg`, with each port's MAC as the driver reports it (by port index).
/// IPv6 addresses are accepted in the file but not yet answered (no NDP responder yet).
pub fn build(cfg: &Config, macs: &[[u8; 6]], generation: u64) -> Snapshot {
    let ports = cfg
        .ports
        .iter()
        .enumerate()
        .map(|(i, p)| PortView {
            name: p.name.clone(),
            mac: macs.get(i).copied().unwrap_or([0; 6]),
            ipv4: p
                .addresses
                .iter()
                .filter_map(|a| match a.addr {
                    IpAddr::V4(v4) => Some(v4),
                    IpAddr::V6(_) => None,
                })
                .collect(),
            kernel: None,
        })
        .collect();
    Snapshot { generation, ports }
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
