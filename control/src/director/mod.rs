//! The running configuration of the director and every change made to it.
//!
//! [`Director`] owns the configured [`Config`](crate::config::Config), a health overlay
//! (what the checkers and VRRP decide, never persisted), the stable ids the dataplane keys its
//! state by, and a generation counter. Every control request goes through
//! [`Director::handle`]: a change is applied to a *copy* of the configuration with ipvsadm's
//! semantics, checked, handed to the dataplane through an [`Applier`], persisted, and only
//! then committed; any failure on the way replies with the reason and leaves everything as it
//! was. The [`actor`] module puts the director behind a single owner thread so that requests
//! from the control socket, the health checkers and VRRP are serialised.
//!
//! Layout, one concern per module:
//! - [`refusal`]: the error replies, with ipvsadm's exact texts in one place;
//! - [`convert`]: protocol specs <-> model items (the only place that maps them);
//! - [`check`]: the checks ipvsadm and the kernel make on a request before anything changes;
//! - [`edit`]: applying one change request to a configuration;
//! - [`ids`]: stable service and destination ids;
//! - [`overlay`]: the health overlay (verdicts, sorry servers) and the effective
//!   configuration derived from it;
//! - [`applier`] and [`sources`]: the traits the daemon implements (dataplane, counters);
//! - [`dataplane_view`]: the effective configuration as the applier gets it (only the
//!   scheduler flags a scheduler acts on);
//! - [`listing`]: building listings from the configuration and the counters;
//! - [`persist`]: the state file (atomic write, checksum, corrupt files set aside);
//! - [`running`]: the [`Director`] itself.
//!
//! How the daemon wires it (its `Applier` compiles and sends the dataplane snapshot):
//!
//! ```no_run
//! use control::config::Config;
//! use control::director::{Applier, Director, Ids, Restored};
//! use control::socket::{ControlServer, SocketOptions};
//! use std::path::PathBuf;
//!
//! struct Snapshots; // the daemon's: build the snapshot, send it to every worker
//! impl Applier for Snapshots {
//!     fn apply(&mut self, _cfg: &Config, _ids: &Ids) -> Result<(), String> {
//!         Ok(())
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cfg = Config::default(); // from the configuration file
//! let daemon = cfg.daemon.clone();
//! let mut director = Director::new(cfg, Box::new(Snapshots));
//! if let Some(path) = &daemon.state_file {
//!     if let Restored::SetAside { reason, .. } = director.restore(&PathBuf::from(path)) {
//!         eprintln!("state file set aside: {reason}");
//!     }
//! }
//! director.start()?;
//! let (handle, _thread) = control::director::spawn(director)?;
//! let server = ControlServer::start(SocketOptions::from_config(&daemon), handle.clone())?;
//! // ... health checkers use handle.run_blocking(|d| d.set_dest_health(..)) ...
//! server.shutdown();
//! # Ok(())
//! # }
//! ```

pub mod actor;
pub mod applier;
pub mod check;
pub mod convert;
pub mod dataplane_view;
pub mod edit;
pub mod ids;
pub mod listing;
pub mod overlay;
pub mod persist;
pub mod refusal;
pub mod running;
pub mod sources;

pub use actor::{DirectorHandle, spawn};
pub use applier::Applier;
pub use ids::{DestId, Ids, ServiceId};
pub use overlay::{DestHealth, HealthOverlay};
pub use refusal::Refusal;
pub use running::{Caller, ChangeObserver, Director, Restored};
pub use sources::{DestCounters, NoStats, NoStatus, ServiceCounters, StatsSource, StatusSource};
