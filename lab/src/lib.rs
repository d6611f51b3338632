//! The rvs network-namespace lab: one topology, defined once, for the live integration
//! tests (this library) and the shell demo (the `rvs-lab` binary).
//!
//! ```text
//!  client ns ──veth── router ns ──veth──┐
//!  10.9.0.2/24        10.9.0.1/24        │      LAN 10.0.0.0/24: a Linux bridge in its
//!  gw 10.9.0.1        10.0.0.1/24        ├── br own "lan" namespace; every LAN veth peer
//!                                        │      is a port of it
//!  director1..4 ──veth───────────────────┤  10.0.0.2.. (the veth is the DPDK port; no
//!                                        │  kernel address: rvs and its TAP own it)
//!  rs1..rs50 ──veth──────────────────────┤  10.0.0.11.., prepared for DR/TUN/NAT/FULLNAT
//!  peer (optional keepalived node) ──────┘  10.0.0.8
//! ```
//! VIPs default to 10.0.0.100 (on the LAN: the router reaches them by ARP); FULLNAT local
//! addresses are kept free at 10.0.0.200..=10.0.0.239.
//!
//! ```no_run
//! use lab::{Lab, LabSpec, Mode, NodeId};
//! # fn main() -> lab::Result<()> {
//! let Some(lab) = Lab::up_or_skip(LabSpec::new(Mode::Dr).servers(2))? else { return Ok(()) };
//! let _web = lab.http_server(NodeId::Server(1), 80)?;
//! // ... start rvs in lab.netns(NodeId::Director(1))? on lab.node(NodeId::Director(1))?.ifname()
//! let reply = lab.curl(NodeId::Client, &format!("http://{}/", lab.vip()))?;
//! let echo = lab::EchoReply::parse(&reply.body)?;
//! assert_eq!(echo.client.ip(), &lab::plan::CLIENT_ADDR);
//! # Ok(()) }
//! ```
//! Dropping the `Lab` removes everything it made, also when a test panics; `rvs-lab gc`
//! removes what killed runs left. See `docs/lab.md` for the whole story.

pub mod capture;
pub mod clients;
pub mod cmd;
pub mod env;
pub mod error;
pub mod keepalived;
pub mod kernel_director;
pub mod lab;
pub mod names;
pub mod nginx;
pub mod plan;
pub mod process;
pub mod realserver;
pub mod scripts;
pub mod servers;
pub mod spec;
pub mod state;
pub mod teardown;
pub mod topology;

pub use capture::{Capture, CaptureFile, read_frames};
pub use clients::{Datagram, HttpReply, PingReport, TcpReply, UdpListener, WrkReport};
pub use error::{LabError, Result};
pub use keepalived::Keepalived;
pub use lab::Lab;
pub use names::{NodeId, RunId};
pub use nginx::{Nginx, ProxyLogLine};
pub use process::ProcessGuard;
pub use servers::EchoReply;
pub use spec::{LabSpec, Mode, Offloads, TunnelRx, TunnelRxKind};
pub use topology::{Iface, Node};
