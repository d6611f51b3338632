//! What the control plane sees of the forwarding stage: its construction parameters, the
//! commands it accepts between bursts, and the rows it answers them with.
use std::net::{Ipv4Addr, SocketAddrV4};

use crossbeam_channel::Sender;

use crate::conn::{ConnTableConfig, Proto};
use crate::neigh::NeighConfig;

/// Parameters of one worker's forwarding stage.
#[derive(Debug, Clone)]
pub struct FwdConfig {
    /// This worker's id (0-based) and the number of workers.
    pub worker: u16,
    pub workers: u16,
    /// The connection table (capacity per worker, timer tick, hash seed, timeouts).
    pub conn: ConnTableConfig,
    pub neigh: NeighConfig,
    /// FULLNAT local ports are taken from `lport_min..=lport_max`, partitioned among
    /// workers by `port % workers == worker` so return traffic names its owner.
    pub lport_min: u16,
    pub lport_max: u16,
}

impl FwdConfig {
    /// Defaults for worker `worker` of `workers`.
    pub fn new(worker: u16, workers: u16) -> FwdConfig {
        FwdConfig {
            worker,
            workers: workers.max(1),
            conn: ConnTableConfig::default(),
            neigh: NeighConfig::default(),
            lport_min: 1024,
            lport_max: 65535,
        }
    }
}

/// A request from the control plane, handled by the worker between bursts.
#[derive(Debug)]
pub enum StageCommand {
    /// Every connection entry (`ipvsadm -Lnc`).
    DumpConns { reply: Sender<Vec<ConnRow>> },
    /// The neighbour table.
    DumpNeighbours { reply: Sender<Vec<NeighRow>> },
    /// Send `count` gratuitous ARPs for `addr` on `port` (VRRP takeover).
    Garp {
        port: u16,
        addr: Ipv4Addr,
        count: u32,
    },
}

/// One connection entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnRow {
    pub proto: Proto,
    pub client: SocketAddrV4,
    pub virtual_addr: SocketAddrV4,
    pub dest: SocketAddrV4,
    /// FULLNAT local address and port.
    pub local: Option<SocketAddrV4>,
    /// IPVS state name.
    pub state: &'static str,
    /// Seconds until it expires.
    pub expires_s: u32,
    pub template: bool,
    /// The control plane's ids of its service and real server (0 when unknown).
    pub service_id: u32,
    pub dest_id: u32,
}

/// One neighbour entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighRow {
    pub port: u16,
    pub addr: Ipv4Addr,
    pub mac: [u8; 6],
    /// `REACHABLE`, `STALE`, `INCOMPLETE`, `FAILED`, `PERMANENT`.
    pub state: &'static str,
}
