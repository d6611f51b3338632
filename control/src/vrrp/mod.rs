//! VRRP: high availability that interoperates with keepalived on the wire.
//!
//! The pure engine:
//! - [`packet`]: VRRPv2/v3 advertisements (IPv4), parse and build, checksums.
//! - [`instance`]: one instance's state machine (pure: time in, actions out).
//! - [`track`]: vrrp_script rise/fall and the effective priority from tracking.
//! - [`router`]: all instances with sync groups.
//!
//! The driver that runs it (docs/high-availability.md describes it for operators):
//! - [`resolve`]: the configuration model to engine configurations, keepalived defaults.
//! - [`io`]: raw protocol-112 sockets bound to the interface.
//! - [`script`], [`link`]: tracking scripts, notify scripts, interface state.
//! - [`garp`]: gratuitous ARP on a kernel interface.
//! - [`driver`]: the tokio task tying them together; events for the daemon.
//! - [`host`]: the driver on a runtime thread of its own, events over a plain channel (for
//!   the daemon, which has no async runtime).
//! - [`status`]: per-instance reports and counters.

pub mod driver;
pub mod garp;
pub mod host;
pub mod instance;
pub mod io;
pub mod link;
pub mod packet;
pub mod resolve;
pub mod router;
pub mod script;
pub mod status;
pub mod track;

pub use driver::{DriverOptions, StatusBoard, VrrpDriver, VrrpEvent};
pub use host::VrrpHost;
pub use instance::{Action, Instance, InstanceConfig, Reject, State};
pub use packet::{Advert, AdvertSpec, ParseError};
pub use resolve::{Resolved, resolve};
pub use router::{Event, Router};
