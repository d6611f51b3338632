//! The one configuration model of rvs.
//!
//! Both readers (the native TOML file and keepalived.conf) produce a [`Config`]; the control
//! socket edits one; the daemon compiles one into the dataplane's snapshot. The field names
//! are the TOML vocabulary (see docs/config.md) and deliberately echo keepalived's and
//! ipvsadm's, so an LVS operator recognises every word.
//!
//! Durations are whole seconds unless the name says otherwise (`_ms`), as in keepalived;
//! where keepalived accepts fractions (advert_int, delays) the field is an `f64` of seconds.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

pub use proto::{ClientAddr, Forward, Protocol, TunnelCsum, TunnelType};

/// The whole configuration of one director.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Daemon settings: control socket, state file, logging.
    pub daemon: Daemon,
    /// DPDK runtime: EAL arguments, worker cores, pool sizes.
    pub dpdk: Dpdk,
    /// The director's packet ports (DPDK devices) and their own addresses.
    pub ports: Vec<Port>,
    /// Static routes (longest-prefix match); a 0.0.0.0/0 route is the default gateway.
    pub routes: Vec<Route>,
    /// Static neighbours (ARP entries that never expire).
    pub neighbours: Vec<Neighbour>,
    /// Connection timeouts (`ipvsadm --set`).
    pub timeouts: Timeouts,
    /// Connection table sizing.
    pub conn_table: ConnTable,
    /// Local address pools for FULLNAT, by name (DPVS's local_address_group).
    pub local_address_groups: BTreeMap<String, LocalAddressGroup>,
    /// Virtual services.
    pub services: Vec<VirtualService>,
    /// keepalived's global_defs that matter to rvs.
    pub global: GlobalDefs,
    /// vrrp_script definitions, by name.
    pub vrrp_scripts: BTreeMap<String, VrrpScript>,
    /// vrrp_instance definitions.
    pub vrrp_instances: Vec<VrrpInstance>,
    /// vrrp_sync_group definitions.
    pub vrrp_sync_groups: Vec<VrrpSyncGroup>,
}

/// Daemon settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Daemon {
    /// Path of the control socket (mode 0600 unless `control_group` is set, then 0660).
    pub control_socket: String,
    /// Group (name or gid) whose members may use the control socket besides root.
    pub control_group: Option<String>,
    /// Where changes made through rvsadm are persisted; `None` disables persistence.
    pub state_file: Option<String>,
    /// A keepalived.conf whose virtual servers, local address groups, VRRP sections,
    /// global_defs and lvs_timeouts complete this file (relative paths are relative to this
    /// file's directory). Lets an operator migrating from keepalived keep that file as it is
    /// and write only the DPDK runtime here; this file must then not define those sections
    /// itself. Only honoured in the TOML file.
    pub keepalived_conf: Option<String>,
    /// Statistics slots per worker: one per virtual service and one per real server, plus
    /// those of removed ones whose connections have not ended yet. Each costs 64 bytes per
    /// worker; a change that needs more slots than this is refused.
    pub stats_slots: u32,
}

/// Default of [`Daemon::stats_slots`].
pub const DEFAULT_STATS_SLOTS: u32 = 65_536;

/// Largest [`Daemon::stats_slots`] (256 MiB of counters per worker).
pub const MAX_STATS_SLOTS: u32 = 4 * 1024 * 1024;

impl Default for Daemon {
    fn default() -> Self {
        Daemon {
            control_socket: proto::DEFAULT_SOCKET.to_string(),
            control_group: None,
            state_file: Some("/var/lib/rvs/state.json".to_string()),
            keepalived_conf: None,
            stats_slots: DEFAULT_STATS_SLOTS,
        }
    }
}

/// The DPDK runtime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dpdk {
    /// EAL arguments, exactly as on a DPDK command line (without the program name and
    /// without `--vdev`/`-a` for the ports, which rvs adds from `ports`).
    pub eal_args: Vec<String>,
    /// CPU cores of the worker threads: one worker per core, each owning queue q of every port.
    pub workers: Vec<usize>,
    /// Packet buffers in the mempool (per port socket).
    pub mbufs: u32,
    /// Per-lcore mempool cache.
    pub mbuf_cache: u32,
    /// RX and TX descriptors per queue.
    pub rx_desc: u16,
    pub tx_desc: u16,
    /// Burst size of the poll loop (at most 64).
    pub burst: u16,
}

impl Default for Dpdk {
    fn default() -> Self {
        Dpdk {
            eal_args: vec![
                "--no-huge".into(),
                "--no-shconf".into(),
                "-m".into(),
                "512".into(),
            ],
            workers: vec![0],
            mbufs: 8191,
            mbuf_cache: 256,
            rx_desc: 1024,
            tx_desc: 1024,
            burst: 32,
        }
    }
}

/// One packet port of the director.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Port {
    /// Name used everywhere else in the config (`dp0`) and by rvsadm.
    pub name: String,
    /// The DPDK device: a vdev specification (`net_af_packet0,iface=veth0`,
    /// `net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap`, `net_tap0,iface=x`) or a PCI address
    /// (`0000:03:00.0`).
    pub device: String,
    /// The director's own addresses on this port (`10.0.0.2/24`): answered for ARP and
    /// ICMP echo, used as tunnel source and as the source of health checks.
    #[serde(default)]
    pub addresses: Vec<IfAddr>,
    /// IP MTU of the port.
    #[serde(default = "default_mtu")]
    pub mtu: u16,
    /// The kernel-side TAP interface for this port: traffic for the director itself goes
    /// there. `None` means no kernel-side port (replay and benchmarks).
    #[serde(default)]
    pub kernel_port: Option<KernelPort>,
}

fn default_mtu() -> u16 {
    1500
}

/// The kernel-side port (a DPDK net_tap device) of a packet port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelPort {
    /// Name of the TAP interface the kernel sees (e.g. `rvs0`).
    pub name: String,
}

/// An address with its prefix length, written `10.0.0.2/24` in the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IfAddr {
    pub addr: IpAddr,
    pub prefix_len: u8,
}

impl std::fmt::Display for IfAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl std::str::FromStr for IfAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("invalid IP address {addr:?}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix_len = match len {
            None => max,
            Some(l) => l
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(|| format!("invalid prefix length {l:?} (0..={max})"))?,
        };
        Ok(IfAddr { addr, prefix_len })
    }
}

impl Serialize for IfAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IfAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A static route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Destination prefix (`0.0.0.0/0` for the default route).
    pub prefix: IfAddr,
    /// Next hop; absent for a directly connected prefix.
    #[serde(default)]
    pub via: Option<IpAddr>,
    /// Port name the route leaves through.
    pub port: String,
}

/// A static neighbour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Neighbour {
    pub address: IpAddr,
    /// `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
    pub port: String,
}

/// Connection timeouts in seconds, as `ipvsadm --set tcp tcpfin udp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300,
        }
    }
}

/// Connection table sizing, per worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnTable {
    /// Maximum connections (templates included) per worker; beyond it new connections are
    /// refused and counted.
    pub capacity_per_worker: u32,
}

impl Default for ConnTable {
    fn default() -> Self {
        ConnTable {
            capacity_per_worker: 1 << 20,
        }
    }
}

/// A FULLNAT local address pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalAddressGroup {
    /// Addresses, each optionally bound to a port name (keepalived/DPVS: `IP dpdk0`).
    pub addresses: Vec<LocalAddress>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalAddress {
    pub address: IpAddr,
    #[serde(default)]
    pub port: Option<String>,
}

/// How a virtual service is addressed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualService {
    pub protocol: Protocol,
    pub address: IpAddr,
    /// 0 = every port of the address (IPVS semantics; requires persistence in ipvsadm).
    pub port: u16,
    /// Scheduler name (`lb_algo`): rr wrr lc wlc sed nq sh dh lblc lblcr mh fo ovf.
    #[serde(default = "default_scheduler")]
    pub scheduler: String,
    /// Scheduler flags: sh-fallback, sh-port, mh-fallback, mh-port.
    #[serde(default)]
    pub sched_flags: Vec<String>,
    /// Persistence timeout in seconds (`persistence_timeout`, ipvsadm `-p`).
    #[serde(default)]
    pub persistence_timeout: Option<u32>,
    /// Persistence granularity as a prefix length (`persistence_granularity`, `-M`).
    #[serde(default)]
    pub persistence_netmask: Option<u8>,
    /// One-packet scheduling (UDP).
    #[serde(default)]
    pub one_packet: bool,
    /// Default forwarding method of the real servers (`lb_kind`); a real server may override.
    #[serde(default = "default_forward")]
    pub forward: Forward,
    /// FULLNAT local address pool (`laddr_group_name`).
    #[serde(default)]
    pub local_address_group: Option<String>,
    /// How a FULLNAT real server learns the client address.
    #[serde(default)]
    pub client_address: ClientAddr,
    /// Health-check defaults of this service (keepalived's virtual_server-level keywords).
    #[serde(default)]
    pub check: ServiceCheckDefaults,
    /// Served when every real server is down (keepalived's sorry_server).
    #[serde(default)]
    pub sorry_server: Option<SorryServer>,
    #[serde(default)]
    pub real_servers: Vec<RealServer>,
}

fn default_scheduler() -> String {
    "wlc".to_string()
}

fn default_forward() -> Forward {
    Forward::Nat
}

/// Virtual-server-level health-check settings (keepalived semantics).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceCheckDefaults {
    /// Seconds between checks (`delay_loop`), default 60 as in keepalived.
    pub delay_loop: f64,
    /// Set weight 0 instead of removing a failed real server.
    pub inhibit_on_failure: bool,
    /// Start real servers as failed until their first successful check (`alpha`).
    pub alpha: bool,
    /// Run notify_down for every server when the service goes away (`omega`).
    pub omega: bool,
    /// Minimum sum of healthy weights for the service to be up (`quorum`).
    pub quorum: u32,
    /// Hysteresis around the quorum (`hysteresis`).
    pub hysteresis: u32,
    /// Scripts run when the quorum is gained or lost.
    pub quorum_up: Option<String>,
    pub quorum_down: Option<String>,
    /// Randomise the first check within delay_loop (`warmup`), seconds; `None` = delay_loop.
    pub warmup: Option<f64>,
    /// Default `virtualhost` (HTTP Host header) for the HTTP checks of this service.
    pub virtualhost: Option<String>,
}

impl Default for ServiceCheckDefaults {
    fn default() -> Self {
        ServiceCheckDefaults {
            delay_loop: 60.0,
            inhibit_on_failure: false,
            alpha: false,
            omega: false,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            warmup: None,
            virtualhost: None,
        }
    }
}

/// keepalived's sorry_server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SorryServer {
    pub address: IpAddr,
    pub port: u16,
    #[serde(default)]
    pub forward: Option<Forward>,
    /// Keep the real servers in the table while the sorry server is active (`sorry_server_inhibit`).
    #[serde(default)]
    pub inhibit: bool,
    /// Tunnel type when the sorry server is reached with `forward = "tun"`.
    #[serde(default)]
    pub tunnel: TunnelType,
    /// UDP port for GUE.
    #[serde(default)]
    pub tunnel_port: u16,
}

/// A real server of a virtual service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealServer {
    pub address: IpAddr,
    /// 0 means "the service's port" (as keepalived does for a real_server without a port),
    /// unless `port_zero` is set.
    #[serde(default)]
    pub port: u16,
    /// The server's port is a literal 0 (with `port` 0), as ipvsadm keeps it for an explicit
    /// `-r ADDR:0` under a service with a port: IPVS identifies and lists that server as
    /// `ADDR:0`, a destination distinct from `ADDR:PORT`, and forwards its connections to
    /// the packet's own destination port (the service's port). Set only by the control
    /// socket (and so kept in the state file); a configuration file never needs it, and the
    /// TOML reader does not take it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub port_zero: bool,
    /// 0..=2147483647, as IPVS takes it (a C `int` that may not be negative); 0 = quiescent.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Overrides the service's forwarding method.
    #[serde(default)]
    pub forward: Option<Forward>,
    /// Tunnel type for `forward = "tun"`.
    #[serde(default)]
    pub tunnel: TunnelType,
    /// UDP port for GUE.
    #[serde(default)]
    pub tunnel_port: u16,
    #[serde(default)]
    pub tunnel_csum: TunnelCsum,
    /// Upper and lower connection thresholds (`uthreshold`, `lthreshold`; ipvsadm -x / -y).
    #[serde(default)]
    pub upper_threshold: u32,
    #[serde(default)]
    pub lower_threshold: u32,
    /// Overrides the service's inhibit_on_failure.
    #[serde(default)]
    pub inhibit_on_failure: Option<bool>,
    /// Scripts run when the server goes up or down.
    #[serde(default)]
    pub notify_up: Option<String>,
    #[serde(default)]
    pub notify_down: Option<String>,
    /// Per-real-server delay_loop override.
    #[serde(default)]
    pub delay_loop: Option<f64>,
    /// Health checkers; the server is up when all of them pass.
    #[serde(default)]
    pub checks: Vec<Check>,
}

fn default_weight() -> u32 {
    1
}

/// Largest real server weight: IPVS keeps weights in a C `int` and refuses negative ones,
/// so ipvsadm, keepalived and the kernel all take 0..=2147483647.
pub const MAX_WEIGHT: u32 = i32::MAX as u32;

impl RealServer {
    /// The port this server is identified, listed and reached by within a service whose
    /// port is `service_port`: its own, the service's when it has none, or 0 when
    /// [`RealServer::port_zero`] says so (IPVS then forwards to the packet's own
    /// destination port).
    pub fn port_in(&self, service_port: u16) -> u16 {
        match (self.port, self.port_zero) {
            (0, true) => 0,
            (0, false) => service_port,
            (p, _) => p,
        }
    }
}

/// Settings shared by every checker kind (keepalived names in comments).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckCommon {
    /// `connect_ip` (default: the real server's address).
    pub connect_ip: Option<IpAddr>,
    /// `connect_port` (default: the real server's port).
    pub connect_port: Option<u16>,
    /// `bindto`: source address of the check.
    pub bindto: Option<IpAddr>,
    /// `bind_port`.
    pub bind_port: Option<u16>,
    /// `connect_timeout`, seconds (default 5).
    pub connect_timeout: f64,
    /// `retry` (old name `nb_get_retry`): further attempts before declaring failure.
    pub retry: Option<u32>,
    /// `delay_before_retry`, seconds (default 1; 3 for HTTP_GET/SSL_GET).
    pub delay_before_retry: Option<f64>,
    /// `delay_loop` override for this checker.
    pub delay_loop: Option<f64>,
    /// `warmup` override for this checker.
    pub warmup: Option<f64>,
    /// `alpha` override.
    pub alpha: Option<bool>,
}

impl Default for CheckCommon {
    fn default() -> Self {
        CheckCommon {
            connect_ip: None,
            connect_port: None,
            bindto: None,
            bind_port: None,
            connect_timeout: 5.0,
            retry: None,
            delay_before_retry: None,
            delay_loop: None,
            warmup: None,
            alpha: None,
        }
    }
}

/// One health checker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// TCP_CHECK: a connect succeeds.
    Tcp {
        #[serde(flatten)]
        common: CheckCommon,
    },
    /// HTTP_GET / SSL_GET: every url answers as configured.
    Http {
        #[serde(flatten)]
        common: CheckCommon,
        /// SSL_GET when true.
        #[serde(default)]
        tls: bool,
        #[serde(default)]
        urls: Vec<HttpUrl>,
        /// `virtualhost` (Host header).
        #[serde(default)]
        virtualhost: Option<String>,
        /// `enable_sni` for SSL_GET.
        #[serde(default)]
        sni: bool,
    },
    /// UDP_CHECK: a datagram gets an answer (or no ICMP unreachable), optionally matching.
    Udp {
        #[serde(flatten)]
        common: CheckCommon,
        /// `payload` as hex (keepalived writes it as hex digits).
        #[serde(default)]
        payload: Option<String>,
        /// `require_reply` with an optional expected hex payload.
        #[serde(default)]
        require_reply: Option<String>,
    },
    /// DNS_CHECK: a query for `name` of `qtype` gets a NOERROR answer.
    Dns {
        #[serde(flatten)]
        common: CheckCommon,
        #[serde(default = "default_dns_type")]
        qtype: String,
        #[serde(default = "default_dns_name")]
        name: String,
    },
    /// SMTP_CHECK: the server greets with 220 and answers HELO with 250.
    Smtp {
        #[serde(flatten)]
        common: CheckCommon,
        #[serde(default)]
        helo_name: Option<String>,
    },
    /// MISC_CHECK: a script's exit code decides.
    Misc {
        #[serde(flatten)]
        common: CheckCommon,
        /// `misc_path`: the command line.
        path: String,
        /// `misc_timeout`, seconds.
        #[serde(default)]
        timeout: Option<f64>,
        /// `misc_dynamic`: exit codes 2..=255 set the weight to code - 2.
        #[serde(default)]
        dynamic: bool,
        /// `user`.
        #[serde(default)]
        user: Option<String>,
    },
}

/// The DNS query types DNS_CHECK sends (keepalived's list).
pub const DNS_QUERY_TYPES: [&str; 7] = ["A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"];

fn default_dns_type() -> String {
    "SOA".to_string()
}

fn default_dns_name() -> String {
    ".".to_string()
}

/// One `url { ... }` block of an HTTP_GET/SSL_GET checker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpUrl {
    pub path: String,
    /// Accepted status codes, as ranges (`200-299` by default).
    #[serde(default = "default_status")]
    pub status_codes: Vec<StatusRange>,
    /// Expected MD5 of the body, lowercase hex (genhash's digest).
    #[serde(default)]
    pub digest: Option<String>,
    /// Per-url virtualhost.
    #[serde(default)]
    pub virtualhost: Option<String>,
}

/// An inclusive range of HTTP status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRange {
    pub from: u16,
    pub to: u16,
}

fn default_status() -> Vec<StatusRange> {
    vec![StatusRange { from: 200, to: 299 }]
}

/// keepalived global_defs that rvs uses.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GlobalDefs {
    pub router_id: Option<String>,
    /// `script_user` (user [group]).
    pub script_user: Option<String>,
    pub enable_script_security: bool,
    /// `vrrp_garp_master_delay` etc. defaults for every instance.
    pub vrrp_garp_master_delay: Option<u32>,
    pub vrrp_garp_master_repeat: Option<u32>,
    pub vrrp_garp_master_refresh: Option<u32>,
    pub vrrp_garp_master_refresh_repeat: Option<u32>,
    pub vrrp_version: Option<u8>,
    /// Keywords read from global_defs that rvs accepts but does not act on (smtp and
    /// notification settings ...), kept so --check-config can show them.
    pub ignored: Vec<String>,
}

/// A vrrp_script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VrrpScript {
    pub script: String,
    /// Seconds between runs (default 1).
    #[serde(default = "one_f64")]
    pub interval: f64,
    /// Seconds before a run counts as failed.
    #[serde(default)]
    pub timeout: Option<f64>,
    /// Priority change (-253..=253) applied while failing (negative) or succeeding (positive).
    #[serde(default)]
    pub weight: i32,
    /// `weight ... reverse`.
    #[serde(default)]
    pub weight_reverse: bool,
    /// Successes needed to become OK, failures needed to become KO.
    #[serde(default = "one_u32")]
    pub rise: u32,
    #[serde(default = "one_u32")]
    pub fall: u32,
    #[serde(default)]
    pub user: Option<String>,
    /// `init_fail`.
    #[serde(default)]
    pub init_fail: bool,
}

fn one_f64() -> f64 {
    1.0
}

fn one_u32() -> u32 {
    1
}

/// VRRP initial state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum VrrpState {
    Master,
    #[default]
    Backup,
}

/// VRRP authentication (v2 only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "UPPERCASE", deny_unknown_fields)]
pub enum VrrpAuth {
    /// Simple text password, cut to 8 bytes on the wire.
    Pass { password: String },
    /// IPsec AH: accepted by the reader, refused by validation (rvs does not implement it).
    Ah { password: String },
}

/// A tracked interface or script with an optional weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tracked {
    pub name: String,
    #[serde(default)]
    pub weight: Option<i32>,
    /// `weight N reverse`: the priority moves the other way.
    #[serde(default)]
    pub reverse: bool,
}

/// A virtual address of a VRRP instance (`virtual_ipaddress`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualAddress {
    pub address: IfAddr,
    /// `dev NAME`; default the instance's interface.
    #[serde(default)]
    pub dev: Option<String>,
    /// `label NAME` (an `ifconfig`-style alias such as `eth0:1`).
    #[serde(default)]
    pub label: Option<String>,
    /// `scope site|link|host|nowhere|global`.
    #[serde(default)]
    pub scope: Option<String>,
}

/// A vrrp_instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VrrpInstance {
    pub name: String,
    #[serde(default)]
    pub state: VrrpState,
    /// The port (rvs port name) or kernel interface the instance runs on.
    pub interface: String,
    pub virtual_router_id: u8,
    #[serde(default = "default_priority")]
    pub priority: u8,
    /// Seconds between adverts (v3 allows centisecond precision).
    #[serde(default = "one_f64")]
    pub advert_int: f64,
    /// 2 or 3 (default: global vrrp_version, else 2).
    #[serde(default)]
    pub version: Option<u8>,
    #[serde(default)]
    pub authentication: Option<VrrpAuth>,
    pub virtual_ipaddress: Vec<VirtualAddress>,
    #[serde(default)]
    pub virtual_ipaddress_excluded: Vec<VirtualAddress>,
    #[serde(default)]
    pub nopreempt: bool,
    /// Seconds to wait before preempting a lower-priority master.
    #[serde(default)]
    pub preempt_delay: f64,
    #[serde(default)]
    pub garp_master_delay: Option<u32>,
    #[serde(default)]
    pub garp_master_repeat: Option<u32>,
    #[serde(default)]
    pub garp_master_refresh: Option<u32>,
    #[serde(default)]
    pub garp_master_refresh_repeat: Option<u32>,
    #[serde(default)]
    pub track_interface: Vec<Tracked>,
    #[serde(default)]
    pub track_script: Vec<Tracked>,
    #[serde(default)]
    pub unicast_src_ip: Option<IpAddr>,
    #[serde(default)]
    pub unicast_peer: Vec<IpAddr>,
    /// Source MAC is the virtual MAC 00:00:5e:00:01:VRID (keepalived's use_vmac).
    #[serde(default)]
    pub use_vmac: bool,
    #[serde(default)]
    pub notify_master: Option<String>,
    #[serde(default)]
    pub notify_backup: Option<String>,
    #[serde(default)]
    pub notify_fault: Option<String>,
    #[serde(default)]
    pub notify_stop: Option<String>,
    #[serde(default)]
    pub notify: Option<String>,
}

fn default_priority() -> u8 {
    100
}

/// A vrrp_sync_group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VrrpSyncGroup {
    pub name: String,
    pub group: Vec<String>,
    #[serde(default)]
    pub notify_master: Option<String>,
    #[serde(default)]
    pub notify_backup: Option<String>,
    #[serde(default)]
    pub notify_fault: Option<String>,
    #[serde(default)]
    pub notify: Option<String>,
    #[serde(default)]
    pub track_script: Vec<Tracked>,
    #[serde(default)]
    pub track_interface: Vec<Tracked>,
}

/// The IPv4 netmask for a prefix length (persistence granularity).
pub fn netmask_v4(prefix_len: u8) -> Ipv4Addr {
    let bits = if prefix_len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix_len.min(32)))
    };
    Ipv4Addr::from(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifaddr_parses_and_prints() {
        let a: IfAddr = "10.0.0.2/24".parse().unwrap();
        assert_eq!(a.prefix_len, 24);
        assert_eq!(a.to_string(), "10.0.0.2/24");
        let b: IfAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(b.prefix_len, 32);
        assert!("10.0.0.2/33".parse::<IfAddr>().is_err());
        assert!("10.0.0/8".parse::<IfAddr>().is_err());
        let c: IfAddr = "2001:db8::1/64".parse().unwrap();
        assert_eq!(c.prefix_len, 64);
    }

    #[test]
    fn netmask_from_prefix() {
        assert_eq!(netmask_v4(24), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(netmask_v4(0), Ipv4Addr::new(0, 0, 0, 0));
        assert_eq!(netmask_v4(32), Ipv4Addr::new(255, 255, 255, 255));
    }
}
