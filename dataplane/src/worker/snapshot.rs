//! The immutable view of configuration a worker reads on its fast path.
//!
//! The control thread builds a new [`Snapshot`] whenever something changes and sends an
//! `Arc` of it to every worker over a channel; a worker swaps it in between bursts. Nothing
//! in a snapshot is ever mutated, so reading it needs no lock and a packet is always handled
//! under one consistent configuration.
use std::net::Ipv4Addr;

/// What a worker knows about the world, for now: each port's MAC and the director's own
/// addresses on it. (Services, real servers and routes join it with forwarding.)
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Increases with every snapshot the control plane builds.
    pub generation: u64,
    /// By port index (the order of `ports` in the configuration).
    pub ports: Vec<PortView>,
}

/// One port as the dataplane sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortView {
    /// The configured name (`dp0`).
    pub name: String,
    /// The port's MAC, used as source of everything the director answers.
    pub mac: [u8; 6],
    /// The director's own IPv4 addresses on this port (answered for ARP and ICMP echo).
    pub ipv4: Vec<Ipv4Addr>,
    /// Index of this port's kernel-side port (its TAP), where traffic for the director
    /// itself goes; `None` without one.
    pub kernel: Option<u16>,
}

impl PortView {
    /// Whether `addr` is one of the director's own addresses on this port.
    #[inline]
    pub fn owns_ipv4(&self, addr: Ipv4Addr) -> bool {
        self.ipv4.contains(&addr)
    }
}

impl Snapshot {
    /// The port at `index`.
    #[inline]
    pub fn port(&self, index: usize) -> Option<&PortView> {
        self.ports.get(index)
    }
}
