//! What one `rvsadm` command line asks for, once parsed and checked.

use std::net::{IpAddr, SocketAddr};

use proto::{
    AddressSpec, DestSpec, NeighSpec, Request, RouteSpec, ServiceKey, ServiceSpec, Timeouts,
};

use crate::exit::Operation;
use crate::listing::Format;

/// A checked command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `-h`: usage on stdout.
    Help,
    /// `-v`: version on stdout.
    Version,
    AddService(ServiceSpec),
    EditService(ServiceSpec),
    DelService(ServiceKey),
    /// `-C`.
    Clear,
    /// `-Z [service]`.
    Zero(Option<ServiceKey>),
    /// `--set tcp tcpfin udp`.
    SetTimeouts(Timeouts),
    AddDest(ServiceKey, DestSpec),
    EditDest(ServiceKey, DestSpec),
    DelDest(ServiceKey, SocketAddr),
    /// `-L` (also what `rvsadm` alone does).
    ListAll(Format),
    /// `-L -t VIP:PORT`.
    ListService(ServiceKey, Format),
    /// `-L -c`.
    ListConns(Format),
    /// `-L --timeout`.
    ListTimeouts,
    /// `-L --daemon`: rvs has no sync daemon, so this lists nothing.
    ListDaemons,
    /// `-S [-n]`.
    Save {
        numeric: bool,
    },
    /// `-R`.
    Restore,
    AddLocalAddr(ServiceKey, IpAddr),
    DelLocalAddr(ServiceKey, IpAddr),
    /// `--get-laddr [service]`.
    GetLocalAddrs {
        key: Option<ServiceKey>,
        numeric: bool,
    },
    AddAddress(AddressSpec),
    DelAddress(AddressSpec),
    ListAddresses,
    AddRoute(RouteSpec),
    DelRoute(RouteSpec),
    ListRoutes,
    AddNeigh(NeighSpec),
    DelNeigh(NeighSpec),
    ListNeighs,
    ListCheckers {
        numeric: bool,
    },
    ListVrrp,
    ListCounters,
}

impl Command {
    /// The request of a command that changes the daemon's state, with the operation its
    /// errors are worded for; `None` for listings and local commands.
    pub fn change(&self) -> Option<(Request, Operation)> {
        use Operation as O;
        Some(match self.clone() {
            Command::AddService(service) => (Request::AddService { service }, O::AddService),
            Command::EditService(service) => (Request::EditService { service }, O::EditService),
            Command::DelService(key) => (Request::DelService { key }, O::DelService),
            Command::Clear => (Request::Clear, O::Other),
            Command::Zero(key) => (Request::Zero { key }, O::Zero),
            Command::SetTimeouts(timeouts) => (Request::SetTimeouts { timeouts }, O::Other),
            Command::AddDest(key, dest) => (Request::AddDest { key, dest }, O::AddDest),
            Command::EditDest(key, dest) => (Request::EditDest { key, dest }, O::EditDest),
            Command::DelDest(key, addr) => (Request::DelDest { key, addr }, O::DelDest),
            Command::AddLocalAddr(key, addr) => (Request::AddLocalAddr { key, addr }, O::Other),
            Command::DelLocalAddr(key, addr) => (Request::DelLocalAddr { key, addr }, O::Other),
            Command::AddAddress(address) => (Request::AddAddress { address }, O::Other),
            Command::DelAddress(address) => (Request::DelAddress { address }, O::Other),
            Command::AddRoute(route) => (Request::AddRoute { route }, O::Other),
            Command::DelRoute(route) => (Request::DelRoute { route }, O::Other),
            Command::AddNeigh(neigh) => (Request::AddNeigh { neigh }, O::Other),
            Command::DelNeigh(neigh) => (Request::DelNeigh { neigh }, O::Other),
            _ => return None,
        })
    }
}
