//! Neighbours and routes: how the director finds the next hop of a packet it sends.
//!
//! - [`route`]: the longest-prefix-match table, immutable, part of the snapshot.
//! - [`table`]: the per-worker ARP table with a small hold queue per unresolved neighbour.

pub mod route;
pub mod table;

pub use route::{NextHop, RouteEntry, RouteError, RouteTable, RouteTableV4, RouteTableV6};
pub use table::{Mac, NeighConfig, NeighDrop, NeighState, NeighTable, Resolution, TickAction};
