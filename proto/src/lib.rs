//! The rvs control protocol: what `rvsadm` (and any other client) says to `rvsd` over the
//! control socket, and what it hears back.
//!
//! Wire format (documented for operators in docs/control-protocol.md):
//! every message is one frame, a 4-byte big-endian length followed by that many bytes of
//! UTF-8 JSON (serde). A frame longer than [`MAX_FRAME`] is refused by both ends before it is
//! read, so a bad peer cannot make either side allocate without bound. The first request on
//! a connection must be [`Request::Hello`]; the daemon answers [`Response::Hello`] when the
//! versions are compatible and [`Response::Error`] with [`ErrorKind::Version`] otherwise.
//!
//! The vocabulary is ipvsadm's: a service is keyed by protocol and VIP:port (or fwmark), a
//! destination by its address and port within a service; schedulers, flags, persistence,
//! thresholds and forwarding methods mean what they mean in IPVS. What FULLNAT needs (local
//! addresses) and what the director itself needs (its addresses, routes, neighbours) are
//! additions in the same style.
//!
//! JSON was chosen over a binary encoding because the socket carries control traffic only
//! (a few requests per second at most), and a readable protocol is easy to debug with
//! `socat` and to script against.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

/// Version of this protocol. Bumped on any incompatible change.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest frame either side accepts (bytes of JSON after the length prefix).
/// A full listing of 10,000 services with their destinations fits well within it.
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

/// Default path of the control socket.
pub const DEFAULT_SOCKET: &str = "/run/rvs/rvsd.sock";

/// Transport protocol of a virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        })
    }
}

/// How a virtual service is identified, as in ipvsadm's `-t`, `-u` and `-f`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKey {
    /// `-t`/`-u VIP:PORT`; port 0 means every port of the VIP (a persistent service in IPVS).
    Addr {
        protocol: Protocol,
        addr: SocketAddr,
    },
    /// `-f MARK`. rvs has no netfilter marks; the daemon refuses these with a clear error,
    /// but the key exists so that such requests are representable and answerable.
    Fwmark { mark: u32 },
}

/// The forwarding method of a destination (ipvsadm `-g`, `-i`, `-m`, and rvs's FULLNAT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Forward {
    /// Direct routing (`-g`, "Route"): only the Ethernet header changes.
    Dr,
    /// IP tunnelling (`-i`, "Tunnel").
    Tun,
    /// Masquerading (`-m`, "Masq").
    Nat,
    /// Full NAT: DNAT + SNAT to a local address ("FullNat" as DPVS prints it).
    FullNat,
}

/// Encapsulation of a tunnelled destination (ipvsadm `--tun-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TunnelType {
    #[default]
    Ipip,
    Gue,
    Gre,
}

/// Tunnel parameters of a destination (`--tun-type`, `--tun-port`, `--tun-nocsum`,
/// `--tun-csum`, `--tun-remcsum`). Only meaningful with [`Forward::Tun`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Tunnel {
    pub kind: TunnelType,
    /// UDP destination port for GUE (required by ipvsadm for gue).
    pub port: u16,
    /// GUE/GRE checksum: "nocsum" (default), "csum" or "remcsum".
    pub csum: TunnelCsum,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TunnelCsum {
    #[default]
    NoCsum,
    Csum,
    RemCsum,
}

/// How the client's address reaches a FULLNAT real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ClientAddr {
    /// TCP option 254 ("TOA") in the SYN and first ACK, as the toa kernel modules read it.
    #[default]
    Toa,
    /// A PROXY protocol v2 header in front of the first payload bytes.
    ProxyV2,
    /// Nothing: the real server sees only the local address.
    None,
}

/// A virtual service as added or edited (`-A`/`-E`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub key: ServiceKey,
    /// Scheduler name as ipvsadm spells it (`rr`, `wrr`, `lc`, ... `mh`).
    pub scheduler: String,
    /// Scheduler flags (`-b`): `sh-fallback`, `sh-port`, `mh-fallback`, `mh-port`
    /// (ipvsadm's flag-1/2/3 aliases are resolved by the client).
    pub sched_flags: Vec<String>,
    /// Persistence timeout in seconds (`-p`); `None` when not persistent.
    pub persistent: Option<u32>,
    /// Persistence netmask (`-M`), as a prefix length; 32 when not given.
    pub netmask: u8,
    /// One-packet scheduling (`-o`, UDP only).
    pub one_packet: bool,
    /// Client address delivery for FULLNAT destinations of this service.
    pub client_addr: ClientAddr,
}

/// A destination as added or edited (`-a`/`-e`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestSpec {
    pub addr: SocketAddr,
    pub forward: Forward,
    pub tunnel: Tunnel,
    /// Weight (`-w`), 0..=2147483647 as ipvsadm accepts; 0 is quiescent.
    pub weight: u32,
    /// Upper connection threshold (`-x`), 0 = none.
    pub upper: u32,
    /// Lower connection threshold (`-y`), 0 = none.
    pub lower: u32,
}

/// Connection timeouts in seconds (`--set tcp tcpfin udp`); 0 in a request leaves a value as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

/// Cumulative counters of a service or destination, as IPVS keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
}

/// Rates over the last estimation period, as IPVS estimates them (per second).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Rates {
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

/// A destination in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestInfo {
    pub spec: DestSpec,
    pub active_conns: u32,
    pub inactive_conns: u32,
    pub persist_conns: u32,
    pub stats: Stats,
    pub rates: Rates,
    /// Set when a health checker currently holds this destination out of service
    /// (it is then listed only if inhibit_on_failure keeps it at weight 0).
    pub healthy: bool,
}

/// A virtual service in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInfo {
    pub spec: ServiceSpec,
    pub dests: Vec<DestInfo>,
    /// FULLNAT local addresses of this service.
    pub local_addrs: Vec<IpAddr>,
    pub stats: Stats,
    pub rates: Rates,
}

/// One connection entry (`-Lnc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnInfo {
    pub protocol: Protocol,
    pub client: SocketAddr,
    pub virtual_addr: SocketAddr,
    pub dest: SocketAddr,
    /// FULLNAT local address and port, if any.
    pub local: Option<SocketAddr>,
    /// State name as IPVS prints it (`ESTABLISHED`, `SYN_RECV`, `FIN_WAIT`, `NONE`, ...).
    pub state: String,
    /// Seconds until the entry expires.
    pub expires: u32,
    /// True for a persistence template.
    pub template: bool,
}

/// An address of the director itself on one of its ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressSpec {
    pub port: String,
    pub addr: IpAddr,
    pub prefix_len: u8,
}

/// A static route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteSpec {
    pub prefix: IpAddr,
    pub prefix_len: u8,
    /// Next hop; `None` for a directly connected prefix.
    pub via: Option<IpAddr>,
    pub port: String,
}

/// A static neighbour entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighSpec {
    pub port: String,
    pub addr: IpAddr,
    /// MAC address as six bytes.
    pub mac: [u8; 6],
}

/// A learned or static neighbour, for listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighInfo {
    pub spec: NeighSpec,
    pub is_static: bool,
    /// `REACHABLE`, `INCOMPLETE`, `STALE`, `PERMANENT`.
    pub state: String,
}

/// The last result of one health checker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckerStatus {
    pub service: ServiceKey,
    pub dest: SocketAddr,
    /// Checker kind as keepalived names it (`TCP_CHECK`, `HTTP_GET`, ...).
    pub kind: String,
    pub healthy: bool,
    /// Milliseconds the last check took, if it ran.
    pub last_latency_ms: Option<u64>,
    /// Why the last check failed (or "ok").
    pub reason: String,
    /// Seconds since the last check completed.
    pub age_s: Option<u64>,
    pub checks: u64,
    pub failures: u64,
}

/// The state of one VRRP instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VrrpStatus {
    pub name: String,
    pub vrid: u8,
    pub interface: String,
    /// `INIT`, `BACKUP`, `MASTER`, `FAULT`.
    pub state: String,
    pub priority: u8,
    pub effective_priority: u8,
    pub version: u8,
    pub virtual_addrs: Vec<IpAddr>,
    pub master_addr: Option<IpAddr>,
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub adverts_dropped: u64,
}

/// General facts about the daemon (`-L` header, `--version`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonInfo {
    /// rvsd's own version string.
    pub version: String,
    /// Connection table capacity (ipvsadm prints it as `size=`).
    pub conn_table_size: u32,
    pub workers: u32,
    pub generation: u64,
}

/// One named counter with its value (drop reasons, port and tap counters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    pub name: String,
    pub value: u64,
}

/// A request to the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// First request of every connection.
    Hello {
        version: u32,
    },
    /// Daemon facts.
    Info,

    // --- virtual services (ipvsadm -A -E -D -C -Z --set) ---
    AddService {
        service: ServiceSpec,
    },
    EditService {
        service: ServiceSpec,
    },
    DelService {
        key: ServiceKey,
    },
    /// `-C`: remove every virtual service.
    Clear,
    /// `-Z`: zero counters of one service or all.
    Zero {
        key: Option<ServiceKey>,
    },
    SetTimeouts {
        timeouts: Timeouts,
    },
    GetTimeouts,

    // --- destinations (ipvsadm -a -e -d) ---
    AddDest {
        key: ServiceKey,
        dest: DestSpec,
    },
    EditDest {
        key: ServiceKey,
        dest: DestSpec,
    },
    DelDest {
        key: ServiceKey,
        addr: SocketAddr,
    },

    // --- FULLNAT local addresses ---
    AddLocalAddr {
        key: ServiceKey,
        addr: IpAddr,
    },
    DelLocalAddr {
        key: ServiceKey,
        addr: IpAddr,
    },

    /// `-L`: services with their destinations and counters (one, or all).
    ListServices {
        key: Option<ServiceKey>,
    },
    /// `-Lc`: connection entries.
    ListConns,

    /// Several changes applied as one: all or nothing (used by `-R`).
    Batch {
        requests: Vec<Request>,
    },

    // --- the director's own addresses, routes and neighbours ---
    AddAddress {
        address: AddressSpec,
    },
    DelAddress {
        address: AddressSpec,
    },
    ListAddresses,
    AddRoute {
        route: RouteSpec,
    },
    DelRoute {
        route: RouteSpec,
    },
    ListRoutes,
    AddNeigh {
        neigh: NeighSpec,
    },
    DelNeigh {
        neigh: NeighSpec,
    },
    ListNeighs,

    // --- observability ---
    CheckerStatus,
    VrrpStatus,
    /// Named counters: drops by reason, port and kernel-side port counters.
    Counters,
}

/// The daemon's answer to one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Response {
    Hello {
        version: u32,
        daemon: String,
    },
    /// The change was applied (or the request needed no data back).
    Ok,
    Error {
        kind: ErrorKind,
        message: String,
    },
    Info {
        info: DaemonInfo,
    },
    Services {
        services: Vec<ServiceInfo>,
    },
    Conns {
        conns: Vec<ConnInfo>,
    },
    Timeouts {
        timeouts: Timeouts,
    },
    Addresses {
        addresses: Vec<AddressSpec>,
    },
    Routes {
        routes: Vec<RouteSpec>,
    },
    Neighs {
        neighs: Vec<NeighInfo>,
    },
    Checkers {
        checkers: Vec<CheckerStatus>,
    },
    Vrrp {
        instances: Vec<VrrpStatus>,
    },
    Counters {
        counters: Vec<Counter>,
    },
}

/// Why a request failed. The kinds that ipvsadm knows map to its messages
/// (see [`ErrorKind::ipvsadm_message`]); the others carry their own text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Protocol version mismatch or missing Hello.
    Version,
    /// The frame could not be decoded.
    BadRequest,
    /// The caller is not allowed to change anything (not root nor in the control group).
    PermissionDenied,
    ServiceExists,
    NoService,
    DestExists,
    NoDest,
    /// A value is out of range or inconsistent (bad scheduler, weight, address family ...).
    Invalid,
    /// Something the request names does not exist (a port, a local address ...).
    NotFound,
    /// Already present (an address, a route ...).
    Exists,
    /// The request is valid but rvs does not support it (e.g. fwmark services).
    Unsupported,
    /// The daemon failed internally; the running state is unchanged.
    Internal,
}

impl ErrorKind {
    /// The text ipvsadm prints for this error, if ipvsadm has one.
    pub fn ipvsadm_message(self) -> Option<&'static str> {
        match self {
            ErrorKind::ServiceExists => Some("Service already exists"),
            ErrorKind::NoService => Some("No such service"),
            ErrorKind::DestExists => Some("Destination already exists"),
            ErrorKind::NoDest => Some("No such destination"),
            ErrorKind::PermissionDenied => Some("Permission denied (you must be root)"),
            _ => None,
        }
    }
}

/// Errors of the framing layer.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("connection closed")]
    Closed,
    #[error("frame of {0} bytes exceeds the limit of {MAX_FRAME}")]
    TooLarge(usize),
    #[error("malformed message: {0}")]
    Decode(#[from] serde_json::Error),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Encodes `msg` as one frame (length prefix + JSON).
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, FrameError> {
    let body = serde_json::to_vec(msg)?;
    if body.len() > MAX_FRAME {
        return Err(FrameError::TooLarge(body.len()));
    }
    let len = u32::try_from(body.len()).map_err(|_| FrameError::TooLarge(body.len()))?;
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes a frame body (without its length prefix).
pub fn decode<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, FrameError> {
    Ok(serde_json::from_slice(body)?)
}

/// Checks a received length prefix against [`MAX_FRAME`].
pub fn frame_len(prefix: [u8; 4]) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(prefix) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    Ok(len)
}

/// Writes one frame to a blocking stream.
pub fn write_frame<W: Write, T: Serialize>(w: &mut W, msg: &T) -> Result<(), FrameError> {
    w.write_all(&encode(msg)?)?;
    w.flush()?;
    Ok(())
}

/// Reads one frame from a blocking stream.
pub fn read_frame<R: Read, T: for<'de> Deserialize<'de>>(r: &mut R) -> Result<T, FrameError> {
    let mut prefix = [0u8; 4];
    match r.read_exact(&mut prefix) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let len = frame_len(prefix)?;
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    decode(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_a_frame() {
        let req = Request::AddDest {
            key: ServiceKey::Addr {
                protocol: Protocol::Tcp,
                addr: "10.0.0.1:80".parse().unwrap(),
            },
            dest: DestSpec {
                addr: "10.0.1.1:8080".parse().unwrap(),
                forward: Forward::Tun,
                tunnel: Tunnel {
                    kind: TunnelType::Gue,
                    port: 6080,
                    csum: TunnelCsum::Csum,
                },
                weight: 3,
                upper: 100,
                lower: 50,
            },
        };
        let frame = encode(&req).unwrap();
        let len = frame_len(frame[..4].try_into().unwrap()).unwrap();
        assert_eq!(len, frame.len() - 4);
        let back: Request = read_frame(&mut &frame[..]).unwrap();
        assert_eq!(back, req);
    }

    #[test]
    fn oversized_prefix_is_refused_before_reading() {
        let prefix = ((MAX_FRAME + 1) as u32).to_be_bytes();
        assert!(matches!(frame_len(prefix), Err(FrameError::TooLarge(_))));
        let mut input: &[u8] = &prefix;
        let r: Result<Request, _> = read_frame(&mut input);
        assert!(matches!(r, Err(FrameError::TooLarge(_))));
    }

    #[test]
    fn truncated_and_garbage_frames_are_errors() {
        let mut short: &[u8] = &[0, 0, 0, 10, b'{'];
        assert!(read_frame::<_, Request>(&mut short).is_err());
        let garbage = [0u8, 0, 0, 3, b'x', b'y', b'z'];
        assert!(matches!(
            read_frame::<_, Request>(&mut &garbage[..]),
            Err(FrameError::Decode(_))
        ));
        let mut empty: &[u8] = &[];
        assert!(matches!(
            read_frame::<_, Request>(&mut empty),
            Err(FrameError::Closed)
        ));
    }
}
