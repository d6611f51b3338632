//! Which virtual addresses VRRP lets this director serve.
//!
//! keepalived's IPVS table is the same on MASTER and BACKUP; what moves is the VIP on the
//! interface, so only the MASTER receives the traffic. rvs answers ARP for VIPs in the
//! dataplane, so the equivalent is deciding, per snapshot, which VIPs are in it: a service
//! whose VIP belongs to a VRRP instance that is not MASTER here is left out of the snapshot
//! (no ARP answers, no forwarding), and an instance's addresses that no service uses are
//! answered for ARP while it is MASTER (a NAT gateway address shared by two directors, for
//! example). `rvsadm -Ln` keeps listing every service on both directors, as `ipvsadm -Ln`
//! does on two keepalived boxes. VIPs in no VRRP instance are always served.
//!
//! [`VrrpOwnership`] is shared between the VRRP event thread, which records transitions,
//! and the snapshot applier, which reads a [`OwnershipView`] at every apply; a transition
//! is followed by one re-apply, hence one snapshot change.
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, PoisonError};

use control::config::Config;

/// One instance's addresses and whether it is MASTER here.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Instance {
    addrs: Vec<Ipv4Addr>,
    master: bool,
}

/// The VRRP instances' addresses and states, shared (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct VrrpOwnership {
    instances: Arc<Mutex<BTreeMap<String, Instance>>>,
}

/// What the applier needs at one apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnershipView {
    /// Addresses of instances that are not MASTER (and of no instance that is).
    pub withheld: BTreeSet<Ipv4Addr>,
    /// Addresses of MASTER instances.
    pub owned: BTreeSet<Ipv4Addr>,
}

impl VrrpOwnership {
    /// Every instance of `cfg` (`virtual_ipaddress` and `virtual_ipaddress_excluded`,
    /// IPv4), none of them MASTER yet: keepalived starts every instance in BACKUP.
    pub fn from_config(cfg: &Config) -> VrrpOwnership {
        let instances = cfg
            .vrrp_instances
            .iter()
            .map(|i| {
                let addrs = i
                    .virtual_ipaddress
                    .iter()
                    .chain(&i.virtual_ipaddress_excluded)
                    .filter_map(|v| match v.address.addr {
                        IpAddr::V4(a) => Some(a),
                        IpAddr::V6(_) => None,
                    })
                    .collect();
                (
                    i.name.clone(),
                    Instance {
                        addrs,
                        master: false,
                    },
                )
            })
            .collect();
        VrrpOwnership {
            instances: Arc::new(Mutex::new(instances)),
        }
    }

    /// Records that `instance` entered (`true`) or left MASTER; whether anything changed.
    /// An unknown instance changes nothing.
    pub fn set_master(&self, instance: &str, master: bool) -> bool {
        let mut map = self
            .instances
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match map.get_mut(instance) {
            Some(i) if i.master != master => {
                i.master = master;
                true
            }
            _ => false,
        }
    }

    /// The addresses to leave out and to answer for, now.
    pub fn view(&self) -> OwnershipView {
        let map = self
            .instances
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let owned: BTreeSet<Ipv4Addr> = map
            .values()
            .filter(|i| i.master)
            .flat_map(|i| i.addrs.iter().copied())
            .collect();
        let withheld = map
            .values()
            .filter(|i| !i.master)
            .flat_map(|i| i.addrs.iter().copied())
            .filter(|a| !owned.contains(a))
            .collect();
        OwnershipView { withheld, owned }
    }
}

impl OwnershipView {
    /// `cfg` without the services whose VIP is withheld.
    pub fn served(&self, cfg: &Config) -> Config {
        let mut out = cfg.clone();
        out.services.retain(|s| match s.address {
            IpAddr::V4(a) => !self.withheld.contains(&a),
            IpAddr::V6(_) => true,
        });
        out
    }

    /// Owned addresses that none of `cfg`'s services uses: answered for ARP only.
    pub fn bare_addresses(&self, cfg: &Config) -> Vec<Ipv4Addr> {
        let vips: BTreeSet<IpAddr> = cfg.services.iter().map(|s| s.address).collect();
        self.owned
            .iter()
            .filter(|a| !vips.contains(&IpAddr::V4(**a)))
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        toml::from_str(
            r#"
            [[services]]
            protocol = "tcp"
            address = "10.0.0.100"
            port = 80
            [[services]]
            protocol = "tcp"
            address = "10.0.0.101"
            port = 80
            [[services]]
            protocol = "tcp"
            address = "10.0.0.150"
            port = 80
            [[vrrp_instances]]
            name = "VI_1"
            interface = "dp0"
            virtual_router_id = 51
            virtual_ipaddress = [{ address = "10.0.0.100/32" }, { address = "10.0.0.254/24" }]
            [[vrrp_instances]]
            name = "VI_2"
            interface = "dp0"
            virtual_router_id = 52
            virtual_ipaddress = [{ address = "10.0.0.101/32" }]
            virtual_ipaddress_excluded = [{ address = "10.0.0.102/32" }]
            "#,
        )
        .unwrap()
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn vips(cfg: &Config) -> Vec<IpAddr> {
        cfg.services.iter().map(|s| s.address).collect()
    }

    #[test]
    fn backup_instances_withhold_their_services_and_masters_serve_them() {
        let cfg = config();
        let own = VrrpOwnership::from_config(&cfg);
        // At start everything VRRP holds is withheld; the service outside VRRP is served.
        let v = own.view();
        assert_eq!(vips(&v.served(&cfg)), [IpAddr::V4(ip("10.0.0.150"))]);
        assert!(v.bare_addresses(&cfg).is_empty());
        assert!(own.set_master("VI_1", true));
        assert!(!own.set_master("VI_1", true), "no change the second time");
        assert!(!own.set_master("VI_9", true), "unknown instance");
        let v = own.view();
        assert_eq!(
            vips(&v.served(&cfg)),
            [IpAddr::V4(ip("10.0.0.100")), IpAddr::V4(ip("10.0.0.150"))]
        );
        // The gateway-style address of VI_1 has no service: ARP only.
        assert_eq!(v.bare_addresses(&cfg), [ip("10.0.0.254")]);
        assert!(own.set_master("VI_2", true));
        let v = own.view();
        assert_eq!(v.served(&cfg).services.len(), 3);
        assert_eq!(v.bare_addresses(&cfg), [ip("10.0.0.102"), ip("10.0.0.254")]);
        assert!(own.set_master("VI_1", false));
        let v = own.view();
        assert_eq!(v.served(&cfg).services.len(), 2);
        assert!(v.withheld.contains(&ip("10.0.0.254")));
        // The clone shares the state.
        let other = own.clone();
        assert!(other.set_master("VI_2", false));
        assert_eq!(own.view().owned, BTreeSet::new());
    }

    #[test]
    fn an_address_in_a_master_and_a_backup_instance_is_served() {
        let mut cfg = config();
        let shared = cfg.vrrp_instances[0].virtual_ipaddress[0].clone();
        cfg.vrrp_instances[1].virtual_ipaddress.push(shared);
        let own = VrrpOwnership::from_config(&cfg);
        own.set_master("VI_1", true);
        let v = own.view();
        assert!(!v.withheld.contains(&ip("10.0.0.100")));
        assert!(v.withheld.contains(&ip("10.0.0.101")));
    }
}
