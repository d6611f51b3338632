//! VRRP: high availability that interoperates with keepalived on the wire.
//!
//! - [`packet`]: VRRPv2/v3 advertisements (IPv4), parse and build, checksums.
//! - [`instance`]: one instance's state machine (pure: time in, actions out).
//! - [`track`]: vrrp_script rise/fall and the effective priority from tracking.
//! - [`router`]: all instances with sync groups.

pub mod instance;
pub mod packet;
pub mod router;
pub mod track;

pub use instance::{Action, Instance, InstanceConfig, Reject, State};
pub use packet::{Advert, AdvertSpec, ParseError};
pub use router::{Event, Router};
