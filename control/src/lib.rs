//! The rvs control plane: configuration, the control socket, health checks, VRRP and
//! statistics. Runs on ordinary threads; owns all I/O other than packets.

pub mod config;
pub mod director;
pub mod health;
pub mod socket;
pub mod stats;
pub mod vrrp;
