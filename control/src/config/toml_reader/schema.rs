//! The keys each TOML table may hold, checked before serde decodes anything.
//!
//! serde's `deny_unknown_fields` stops at the first unknown key of an item and, inside the
//! tagged and flattened checker tables, cannot even list the valid ones. Walking the spanned
//! tree against this table instead reports *every* unknown key at its own line and column,
//! with a suggestion drawn from the keys valid in that very table, and removes it so that
//! decoding and validation still run on the rest. A test serializes a fully populated model
//! and checks that every key it produces is listed here, so the two cannot drift apart.

use toml::de::{DeTable, DeValue};

use super::Reader;
use crate::config::error::Diagnostics;
use crate::config::suggest::suggest;

/// The kinds of tables in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Top,
    Daemon,
    Dpdk,
    Port,
    KernelPort,
    Route,
    Neighbour,
    Timeouts,
    ConnTable,
    LocalAddressGroup,
    LocalAddress,
    Service,
    ServiceCheck,
    SorryServer,
    RealServer,
    Check,
    Url,
    StatusRange,
    Global,
    VrrpScript,
    VrrpInstance,
    VrrpAuth,
    VirtualAddress,
    Tracked,
    VrrpSyncGroup,
}

/// What a key holds.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// A value that holds no keys to check (number, string, list of strings ...).
    Leaf,
    Table(Kind),
    /// An array of tables.
    Array(Kind),
    /// A table of named tables (`[vrrp_scripts.NAME]`).
    Named(Kind),
}

use Shape::{Array, Leaf, Named, Table};

const TOP: &[(&str, Shape)] = &[
    ("daemon", Table(Kind::Daemon)),
    ("dpdk", Table(Kind::Dpdk)),
    ("ports", Array(Kind::Port)),
    ("routes", Array(Kind::Route)),
    ("neighbours", Array(Kind::Neighbour)),
    ("timeouts", Table(Kind::Timeouts)),
    ("conn_table", Table(Kind::ConnTable)),
    ("local_address_groups", Named(Kind::LocalAddressGroup)),
    ("services", Array(Kind::Service)),
    ("global", Table(Kind::Global)),
    ("vrrp_scripts", Named(Kind::VrrpScript)),
    ("vrrp_instances", Array(Kind::VrrpInstance)),
    ("vrrp_sync_groups", Array(Kind::VrrpSyncGroup)),
];

/// Keys every checker takes (`CheckCommon`), besides `type`.
const CHECK_COMMON: &[&str] = &[
    "type",
    "connect_ip",
    "connect_port",
    "bindto",
    "bind_port",
    "connect_timeout",
    "retry",
    "delay_before_retry",
    "delay_loop",
    "warmup",
    "alpha",
];

fn keys(kind: Kind) -> &'static [(&'static str, Shape)] {
    match kind {
        Kind::Top => TOP,
        Kind::Daemon => &[
            ("control_socket", Leaf),
            ("control_group", Leaf),
            ("state_file", Leaf),
            ("keepalived_conf", Leaf),
            ("stats_slots", Leaf),
        ],
        Kind::Dpdk => &[
            ("eal_args", Leaf),
            ("workers", Leaf),
            ("mbufs", Leaf),
            ("mbuf_cache", Leaf),
            ("rx_desc", Leaf),
            ("tx_desc", Leaf),
            ("burst", Leaf),
        ],
        Kind::Port => &[
            ("name", Leaf),
            ("device", Leaf),
            ("addresses", Leaf),
            ("mtu", Leaf),
            ("kernel_port", Table(Kind::KernelPort)),
        ],
        Kind::KernelPort => &[("name", Leaf)],
        Kind::Route => &[("prefix", Leaf), ("via", Leaf), ("port", Leaf)],
        Kind::Neighbour => &[("address", Leaf), ("mac", Leaf), ("port", Leaf)],
        Kind::Timeouts => &[("tcp", Leaf), ("tcp_fin", Leaf), ("udp", Leaf)],
        Kind::ConnTable => &[("capacity_per_worker", Leaf)],
        Kind::LocalAddressGroup => &[("addresses", Array(Kind::LocalAddress))],
        Kind::LocalAddress => &[("address", Leaf), ("port", Leaf)],
        Kind::Service => &[
            ("protocol", Leaf),
            ("address", Leaf),
            ("port", Leaf),
            ("scheduler", Leaf),
            ("sched_flags", Leaf),
            ("persistence_timeout", Leaf),
            ("persistence_netmask", Leaf),
            ("one_packet", Leaf),
            ("forward", Leaf),
            ("local_address_group", Leaf),
            ("client_address", Leaf),
            ("check", Table(Kind::ServiceCheck)),
            ("sorry_server", Table(Kind::SorryServer)),
            ("real_servers", Array(Kind::RealServer)),
        ],
        Kind::ServiceCheck => &[
            ("delay_loop", Leaf),
            ("inhibit_on_failure", Leaf),
            ("alpha", Leaf),
            ("omega", Leaf),
            ("quorum", Leaf),
            ("hysteresis", Leaf),
            ("quorum_up", Leaf),
            ("quorum_down", Leaf),
            ("warmup", Leaf),
            ("virtualhost", Leaf),
        ],
        Kind::SorryServer => &[
            ("address", Leaf),
            ("port", Leaf),
            ("forward", Leaf),
            ("inhibit", Leaf),
            ("tunnel", Leaf),
            ("tunnel_port", Leaf),
        ],
        Kind::RealServer => &[
            ("address", Leaf),
            ("port", Leaf),
            ("weight", Leaf),
            ("forward", Leaf),
            ("tunnel", Leaf),
            ("tunnel_port", Leaf),
            ("tunnel_csum", Leaf),
            ("upper_threshold", Leaf),
            ("lower_threshold", Leaf),
            ("inhibit_on_failure", Leaf),
            ("notify_up", Leaf),
            ("notify_down", Leaf),
            ("delay_loop", Leaf),
            ("checks", Array(Kind::Check)),
        ],
        // The checker's own keys depend on its type: see `check_keys`.
        Kind::Check => &[("urls", Array(Kind::Url))],
        Kind::Url => &[
            ("path", Leaf),
            ("status_codes", Array(Kind::StatusRange)),
            ("digest", Leaf),
            ("virtualhost", Leaf),
        ],
        Kind::StatusRange => &[("from", Leaf), ("to", Leaf)],
        Kind::Global => &[
            ("router_id", Leaf),
            ("script_user", Leaf),
            ("enable_script_security", Leaf),
            ("vrrp_garp_master_delay", Leaf),
            ("vrrp_garp_master_repeat", Leaf),
            ("vrrp_garp_master_refresh", Leaf),
            ("vrrp_garp_master_refresh_repeat", Leaf),
            ("vrrp_version", Leaf),
            ("ignored", Leaf),
        ],
        Kind::VrrpScript => &[
            ("script", Leaf),
            ("interval", Leaf),
            ("timeout", Leaf),
            ("weight", Leaf),
            ("weight_reverse", Leaf),
            ("rise", Leaf),
            ("fall", Leaf),
            ("user", Leaf),
            ("init_fail", Leaf),
        ],
        Kind::VrrpInstance => &[
            ("name", Leaf),
            ("state", Leaf),
            ("interface", Leaf),
            ("virtual_router_id", Leaf),
            ("priority", Leaf),
            ("advert_int", Leaf),
            ("version", Leaf),
            ("authentication", Table(Kind::VrrpAuth)),
            ("virtual_ipaddress", Array(Kind::VirtualAddress)),
            ("virtual_ipaddress_excluded", Array(Kind::VirtualAddress)),
            ("nopreempt", Leaf),
            ("preempt_delay", Leaf),
            ("garp_master_delay", Leaf),
            ("garp_master_repeat", Leaf),
            ("garp_master_refresh", Leaf),
            ("garp_master_refresh_repeat", Leaf),
            ("track_interface", Array(Kind::Tracked)),
            ("track_script", Array(Kind::Tracked)),
            ("unicast_src_ip", Leaf),
            ("unicast_peer", Leaf),
            ("use_vmac", Leaf),
            ("notify_master", Leaf),
            ("notify_backup", Leaf),
            ("notify_fault", Leaf),
            ("notify_stop", Leaf),
            ("notify", Leaf),
        ],
        Kind::VrrpAuth => &[("type", Leaf), ("password", Leaf)],
        Kind::VirtualAddress => &[
            ("address", Leaf),
            ("dev", Leaf),
            ("label", Leaf),
            ("scope", Leaf),
        ],
        Kind::Tracked => &[("name", Leaf), ("weight", Leaf), ("reverse", Leaf)],
        Kind::VrrpSyncGroup => &[
            ("name", Leaf),
            ("group", Leaf),
            ("notify_master", Leaf),
            ("notify_backup", Leaf),
            ("notify_fault", Leaf),
            ("notify", Leaf),
            ("track_script", Array(Kind::Tracked)),
            ("track_interface", Array(Kind::Tracked)),
        ],
    }
}

/// The keys a checker of type `kind` takes, besides the common ones.
fn check_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "tcp" => &[],
        "http" => &["tls", "urls", "virtualhost", "sni"],
        "udp" => &["payload", "require_reply"],
        "dns" => &["qtype", "name"],
        "smtp" => &["helo_name"],
        "misc" => &["path", "timeout", "dynamic", "user"],
        _ => &[],
    }
}

impl Reader<'_> {
    /// Reports and removes every key `kind` does not take, recursively; `path` names the
    /// table in messages.
    pub(super) fn prune_unknown(
        &self,
        table: &mut DeTable<'_>,
        kind: Kind,
        path: &str,
        diag: &mut Diagnostics,
    ) {
        let check_type: Option<String> = (kind == Kind::Check)
            .then(|| {
                table
                    .get("type")
                    .and_then(|v| v.get_ref().as_str().map(str::to_string))
            })
            .flatten();
        let allowed: Vec<&str> = if kind == Kind::Check {
            let extra = check_type.as_deref().map(check_keys).unwrap_or_default();
            CHECK_COMMON.iter().chain(extra).copied().collect()
        } else {
            keys(kind).iter().map(|(k, _)| *k).collect()
        };
        let mut unknown = Vec::new();
        for (k, _) in table.iter() {
            let key = k.get_ref().as_ref();
            if !allowed.contains(&key) {
                let mut e = self.location(k.span().start).error(if path.is_empty() {
                    format!("unknown top-level key `{key}`")
                } else if kind == Kind::Check && check_type.is_some() {
                    format!(
                        "unknown field `{key}` in {path} (a {} checker)",
                        check_type.as_deref().unwrap_or_default()
                    )
                } else {
                    format!("unknown field `{key}` in {path}")
                });
                e.suggestion = suggest(key, allowed.iter().copied()).map(str::to_string);
                diag.errors.push(e);
                unknown.push(key.to_string());
            }
        }
        for key in unknown {
            table.remove(key.as_str());
        }
        for (name, shape) in keys(kind) {
            let Some(v) = table.get_mut(*name) else {
                continue;
            };
            let sub = if path.is_empty() {
                (*name).to_string()
            } else {
                format!("{path}.{name}")
            };
            match (*shape, v.get_mut()) {
                (Table(k), DeValue::Table(t)) => self.prune_unknown(t, k, &sub, diag),
                (Array(k), DeValue::Array(items)) => {
                    for (i, item) in items.iter_mut().enumerate() {
                        if let DeValue::Table(t) = item.get_mut() {
                            self.prune_unknown(t, k, &format!("{sub}[{i}]"), diag);
                        }
                    }
                }
                (Named(k), DeValue::Table(t)) => {
                    for (entry, item) in t.iter_mut() {
                        if let DeValue::Table(inner) = item.get_mut() {
                            let epath = format!("{sub}.{}", entry.get_ref());
                            self.prune_unknown(inner, k, &epath, diag);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::*;
    use std::net::IpAddr;

    /// A config in which every optional item is present, every list has an element and
    /// every checker kind appears, so that serializing it yields every key of the model.
    fn full() -> Config {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let common = CheckCommon {
            connect_ip: Some(ip),
            connect_port: Some(1),
            bindto: Some(ip),
            bind_port: Some(2),
            connect_timeout: 1.0,
            retry: Some(1),
            delay_before_retry: Some(1.0),
            delay_loop: Some(1.0),
            warmup: Some(1.0),
            alpha: Some(true),
        };
        let tracked = Tracked {
            name: "s".into(),
            weight: Some(1),
            reverse: true,
        };
        let vip = VirtualAddress {
            address: "10.0.0.9/24".parse().unwrap(),
            dev: Some("eth0".into()),
            label: Some("eth0:1".into()),
            scope: Some("global".into()),
        };
        let mut cfg = Config::default();
        cfg.daemon.control_group = Some("rvs".into());
        cfg.daemon.keepalived_conf = Some("keepalived.conf".into());
        cfg.ports.push(Port {
            name: "dp0".into(),
            device: "d".into(),
            addresses: vec!["10.0.0.2/24".parse().unwrap()],
            mtu: 1500,
            kernel_port: Some(KernelPort { name: "k".into() }),
        });
        cfg.routes.push(Route {
            prefix: "0.0.0.0/0".parse().unwrap(),
            via: Some(ip),
            port: "dp0".into(),
        });
        cfg.neighbours.push(Neighbour {
            address: ip,
            mac: "02:00:00:00:00:01".into(),
            port: "dp0".into(),
        });
        cfg.local_address_groups.insert(
            "g".into(),
            LocalAddressGroup {
                addresses: vec![LocalAddress {
                    address: ip,
                    port: Some("dp0".into()),
                }],
            },
        );
        let checks = vec![
            Check::Tcp {
                common: common.clone(),
            },
            Check::Http {
                common: common.clone(),
                tls: true,
                urls: vec![HttpUrl {
                    path: "/".into(),
                    status_codes: vec![StatusRange { from: 200, to: 200 }],
                    digest: Some("9b3a0c85a887a256d6939da88aabd8cd".into()),
                    virtualhost: Some("v".into()),
                }],
                virtualhost: Some("v".into()),
                sni: true,
            },
            Check::Udp {
                common: common.clone(),
                payload: Some("00".into()),
                require_reply: Some("00".into()),
            },
            Check::Dns {
                common: common.clone(),
                qtype: "A".into(),
                name: ".".into(),
            },
            Check::Smtp {
                common: common.clone(),
                helo_name: Some("h".into()),
            },
            Check::Misc {
                common,
                path: "/bin/true".into(),
                timeout: Some(1.0),
                dynamic: true,
                user: Some("u".into()),
            },
        ];
        cfg.services.push(VirtualService {
            protocol: Protocol::Tcp,
            address: ip,
            port: 80,
            scheduler: "sh".into(),
            sched_flags: vec!["sh-port".into()],
            persistence_timeout: Some(1),
            persistence_netmask: Some(24),
            one_packet: false,
            forward: Forward::Nat,
            local_address_group: Some("g".into()),
            client_address: ClientAddr::Toa,
            check: ServiceCheckDefaults {
                quorum_up: Some("u".into()),
                quorum_down: Some("d".into()),
                warmup: Some(1.0),
                virtualhost: Some("v".into()),
                ..Default::default()
            },
            sorry_server: Some(SorryServer {
                address: ip,
                port: 1,
                forward: Some(Forward::Nat),
                inhibit: true,
                tunnel: TunnelType::Ipip,
                tunnel_port: 0,
            }),
            real_servers: vec![RealServer {
                address: ip,
                port: 80,
                // Not a TOML key: only the control socket sets it (and it is not serialized
                // while false).
                port_zero: false,
                weight: 1,
                forward: Some(Forward::Nat),
                tunnel: TunnelType::Ipip,
                tunnel_port: 0,
                tunnel_csum: TunnelCsum::NoCsum,
                upper_threshold: 1,
                lower_threshold: 1,
                inhibit_on_failure: Some(true),
                notify_up: Some("u".into()),
                notify_down: Some("d".into()),
                delay_loop: Some(1.0),
                checks,
            }],
        });
        cfg.global = GlobalDefs {
            router_id: Some("r".into()),
            script_user: Some("root".into()),
            enable_script_security: true,
            vrrp_garp_master_delay: Some(1),
            vrrp_garp_master_repeat: Some(1),
            vrrp_garp_master_refresh: Some(1),
            vrrp_garp_master_refresh_repeat: Some(1),
            vrrp_version: Some(2),
            ignored: vec!["x".into()],
        };
        cfg.vrrp_scripts.insert(
            "s".into(),
            VrrpScript {
                script: "x".into(),
                interval: 1.0,
                timeout: Some(1.0),
                weight: 1,
                weight_reverse: true,
                rise: 1,
                fall: 1,
                user: Some("u".into()),
                init_fail: true,
            },
        );
        cfg.vrrp_instances.push(VrrpInstance {
            name: "v".into(),
            state: VrrpState::Master,
            interface: "eth0".into(),
            virtual_router_id: 1,
            priority: 100,
            advert_int: 1.0,
            version: Some(2),
            authentication: Some(VrrpAuth::Pass {
                password: "p".into(),
            }),
            virtual_ipaddress: vec![vip.clone()],
            virtual_ipaddress_excluded: vec![vip],
            nopreempt: true,
            preempt_delay: 1.0,
            garp_master_delay: Some(1),
            garp_master_repeat: Some(1),
            garp_master_refresh: Some(1),
            garp_master_refresh_repeat: Some(1),
            track_interface: vec![tracked.clone()],
            track_script: vec![tracked.clone()],
            unicast_src_ip: Some(ip),
            unicast_peer: vec![ip],
            use_vmac: true,
            notify_master: Some("x".into()),
            notify_backup: Some("x".into()),
            notify_fault: Some("x".into()),
            notify_stop: Some("x".into()),
            notify: Some("x".into()),
        });
        cfg.vrrp_sync_groups.push(VrrpSyncGroup {
            name: "g".into(),
            group: vec!["v".into()],
            notify_master: Some("x".into()),
            notify_backup: Some("x".into()),
            notify_fault: Some("x".into()),
            notify: Some("x".into()),
            track_script: vec![tracked.clone()],
            track_interface: vec![tracked],
        });
        cfg
    }

    #[test]
    fn every_key_of_the_model_is_in_the_schema() {
        let text = toml::to_string(&full()).expect("the model serializes");
        let reader = Reader::new(&text, "full.toml");
        let (mut doc, errs) = DeTable::parse_recoverable(&text);
        assert!(errs.is_empty(), "{errs:?}");
        let mut diag = Diagnostics::default();
        reader.prune_unknown(doc.get_mut(), Kind::Top, "", &mut diag);
        assert!(
            diag.errors.is_empty(),
            "schema and model differ: {:?}",
            diag.errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        );
        // And the fully populated model reads back as it was written.
        let back = crate::config::toml_reader::load_toml_str(&text);
        let back = back.map(|l| l.config);
        assert_eq!(back.as_ref().ok(), Some(&full()), "{back:?}");
    }
}
