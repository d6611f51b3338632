//! Shared test support: the golden scenarios (loaded from `tests/golden/`), a name
//! resolver that answers as the oracle's machine did, and a fake daemon.

#![allow(dead_code)]

pub mod fake_daemon;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use cli::names::Names;
use cli::sched_flags;
use cli::services_db::ServicesDb;
use proto::{
    ClientAddr, ConnInfo, DestInfo, DestSpec, Forward, Protocol, Rates, ServiceInfo, ServiceKey,
    ServiceSpec, Stats, Timeouts, Tunnel, TunnelCsum, TunnelType,
};

pub fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The table a scenario starts from.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub services: Vec<ServiceInfo>,
    pub timeouts: Option<Timeouts>,
    pub conns: Vec<ConnInfo>,
}

/// One golden scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub table: Table,
    pub args: Vec<String>,
    pub stdout: String,
    pub stderr: String,
    pub exit: i32,
    pub stdin: Option<String>,
    pub user: Option<String>,
    pub after: Option<(Vec<String>, String)>,
}

fn read(path: &PathBuf) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn lines_of(text: &str) -> Vec<String> {
    text.strip_suffix('\n')
        .map(|t| t.split('\n').map(str::to_string).collect())
        .unwrap_or_default()
}

/// Every scenario of the golden directory, sorted by name.
pub fn scenarios() -> Vec<Scenario> {
    let dir = golden_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("golden dir")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".args").map(str::to_string)
        })
        .collect();
    names.sort();
    names.into_iter().map(|n| load(&n)).collect()
}

/// One scenario by name.
pub fn load(name: &str) -> Scenario {
    let dir = golden_dir();
    let file = |ext: &str| dir.join(format!("{name}.{ext}"));
    let state = read(&file("state")).unwrap_or_default();
    let (services, timeouts) = parse_state(&state);
    let conns = read(&file("conn"))
        .map(|t| parse_conns(&t))
        .unwrap_or_default();
    let after = match (read(&file("after-args")), read(&file("after"))) {
        (Some(args), Some(out)) => Some((lines_of(&args), out)),
        _ => None,
    };
    Scenario {
        name: name.to_string(),
        table: Table {
            services,
            timeouts,
            conns,
        },
        args: lines_of(&read(&file("args")).expect("args")),
        stdout: read(&file("stdout")).expect("stdout"),
        stderr: read(&file("stderr")).expect("stderr"),
        exit: read(&file("exit"))
            .expect("exit")
            .trim()
            .parse()
            .expect("exit code"),
        stdin: read(&file("stdin")),
        user: read(&file("user")).map(|u| u.trim().to_string()),
        after,
    }
}

fn stats_from(v: &[u64]) -> (Stats, Rates) {
    let g = |i: usize| v.get(i).copied().unwrap_or(0);
    (
        Stats {
            conns: g(0),
            inpkts: g(1),
            outpkts: g(2),
            inbytes: g(3),
            outbytes: g(4),
        },
        Rates {
            cps: g(5),
            inpps: g(6),
            outpps: g(7),
            inbps: g(8),
            outbps: g(9),
        },
    )
}

fn mask_len(text: &str, v6: bool) -> u8 {
    if v6 {
        return text.parse().expect("ipv6 prefix");
    }
    let m: Ipv4Addr = text.parse().expect("netmask");
    let bits = u32::from(m);
    let len = bits.leading_ones();
    assert_eq!(bits.count_ones(), len, "non-contiguous mask {text}");
    len as u8
}

fn tunnel_from(spec: &str) -> Tunnel {
    let parts: Vec<&str> = spec.split(':').collect();
    let csum = |c: &str| match c {
        "nocsum" => TunnelCsum::NoCsum,
        "csum" => TunnelCsum::Csum,
        "remcsum" => TunnelCsum::RemCsum,
        other => panic!("bad csum {other}"),
    };
    match parts.as_slice() {
        ["ipip"] => Tunnel::default(),
        ["gue", port, c] => Tunnel {
            kind: TunnelType::Gue,
            port: port.parse().unwrap(),
            csum: csum(c),
        },
        ["gre", c] => Tunnel {
            kind: TunnelType::Gre,
            port: 0,
            csum: csum(c),
        },
        _ => panic!("bad tunnel {spec}"),
    }
}

/// Parses ipvs-shim's state format (plus the `src-*` extensions) into protocol data.
pub fn parse_state(text: &str) -> (Vec<ServiceInfo>, Option<Timeouts>) {
    let mut services: Vec<ServiceInfo> = Vec::new();
    let mut timeouts = None;
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (numbers, extra): (Vec<&str>, Vec<&str>) =
            f.iter().skip(1).partition(|w| !w.contains('='));
        let kv = |key: &str| {
            extra
                .iter()
                .find_map(|w| w.strip_prefix(&format!("{key}=")).map(str::to_string))
        };
        match f.first() {
            Some(&"T") => {
                timeouts = Some(Timeouts {
                    tcp: f[1].parse().unwrap(),
                    tcp_fin: f[2].parse().unwrap(),
                    udp: f[3].parse().unwrap(),
                });
            }
            Some(&"S") => {
                let protocol = match numbers[0] {
                    "6" => Protocol::Tcp,
                    "17" => Protocol::Udp,
                    p => panic!("protocol {p}"),
                };
                let ip: IpAddr = numbers[1].parse().unwrap();
                let port: u16 = numbers[2].parse().unwrap();
                let fwmark: u32 = numbers[3].parse().unwrap();
                let sched = numbers[4].to_string();
                let flags: u32 = numbers[5].parse().unwrap();
                let timeout: u32 = numbers[6].parse().unwrap();
                let netmask = mask_len(numbers[7], ip.is_ipv6());
                let st: Vec<u64> = numbers[8..].iter().map(|n| n.parse().unwrap()).collect();
                let (stats, rates) = stats_from(&st);
                let key = if fwmark != 0 {
                    ServiceKey::Fwmark { mark: fwmark }
                } else {
                    ServiceKey::Addr {
                        protocol,
                        addr: SocketAddr::new(ip, port),
                    }
                };
                let bits =
                    flags & (sched_flags::SCHED1 | sched_flags::SCHED2 | sched_flags::SCHED3);
                let client_addr = match kv("client").as_deref() {
                    None | Some("toa") => ClientAddr::Toa,
                    Some("proxy-v2") => ClientAddr::ProxyV2,
                    Some("none") => ClientAddr::None,
                    Some(other) => panic!("client {other}"),
                };
                services.push(ServiceInfo {
                    spec: ServiceSpec {
                        key,
                        scheduler: sched.clone(),
                        sched_flags: sched_flags::names(&sched, bits),
                        persistent: (flags & 1 != 0).then_some(timeout),
                        netmask,
                        one_packet: flags & 4 != 0,
                        client_addr,
                    },
                    dests: vec![],
                    local_addrs: vec![],
                    stats,
                    rates,
                });
            }
            Some(&"D") => {
                let ip: IpAddr = numbers[0].parse().unwrap();
                let port: u16 = numbers[1].parse().unwrap();
                let conn_flags: u32 = numbers[2].parse().unwrap();
                let n = |i: usize| -> u32 { numbers[i].parse::<i64>().unwrap() as u32 };
                let st: Vec<u64> = numbers[9..].iter().map(|x| x.parse().unwrap()).collect();
                let (stats, rates) = stats_from(&st);
                let forward = match conn_flags & 7 {
                    0 => Forward::Nat,
                    2 => Forward::Tun,
                    3 => Forward::Dr,
                    5 => Forward::FullNat,
                    other => panic!("forwarding method {other}"),
                };
                let tunnel = kv("tun").map(|t| tunnel_from(&t)).unwrap_or_default();
                let svc = services.last_mut().expect("D before S");
                svc.dests.push(DestInfo {
                    spec: DestSpec {
                        addr: SocketAddr::new(ip, port),
                        forward,
                        tunnel,
                        weight: n(3),
                        upper: n(4),
                        lower: n(5),
                    },
                    active_conns: n(6),
                    inactive_conns: n(7),
                    persist_conns: n(8),
                    stats,
                    rates,
                    healthy: true,
                });
            }
            Some(&"L") => {
                let svc = services.last_mut().expect("L before S");
                svc.local_addrs.push(numbers[0].parse().unwrap());
            }
            _ => {}
        }
    }
    (services, timeouts)
}

fn hex_v4(text: &str) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(u32::from_str_radix(text, 16).unwrap()))
}

fn hex_port(text: &str) -> u16 {
    u16::from_str_radix(text, 16).unwrap()
}

/// Parses `/proc/net/ip_vs_conn` text (first line is the header) into connection entries.
pub fn parse_conns(text: &str) -> Vec<ConnInfo> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let protocol = match f[0] {
                "TCP" => Protocol::Tcp,
                "UDP" => Protocol::Udp,
                p => panic!("protocol {p}"),
            };
            ConnInfo {
                protocol,
                client: SocketAddr::new(hex_v4(f[1]), hex_port(f[2])),
                virtual_addr: SocketAddr::new(hex_v4(f[3]), hex_port(f[4])),
                dest: SocketAddr::new(hex_v4(f[5]), hex_port(f[6])),
                local: None,
                state: f[7].to_string(),
                expires: f[8].parse().unwrap(),
                template: f[7] == "NONE",
            }
        })
        .collect()
}

/// Names as the oracle's machine gave them: the checked-in services database, and no
/// reverse DNS names for the goldens' addresses.
pub struct GoldenNames {
    services: ServicesDb,
}

impl GoldenNames {
    pub fn new() -> GoldenNames {
        GoldenNames {
            services: ServicesDb::load(&golden_dir().join("services")),
        }
    }
}

impl Names for GoldenNames {
    fn host_name(&self, _addr: IpAddr) -> Option<String> {
        None
    }
    fn port_name(&self, port: u16, protocol: Protocol) -> Option<String> {
        self.services.name_of(port, protocol).map(str::to_string)
    }
    fn host_addr(&self, name: &str) -> Option<Ipv4Addr> {
        name.parse().ok()
    }
    fn port_number(&self, name: &str, protocol: Protocol) -> Option<u16> {
        self.services.port_of(name, protocol)
    }
}
