//! Applying one change request to a configuration, with ipvsadm's semantics.
//!
//! Every function here works on a candidate copy of the configuration: the caller
//! ([`Director`](super::Director)) clones the running configuration, applies the request
//! here, checks the result and commits it only if everything after succeeds. A refusal
//! therefore never needs undoing, and a [`Request::Batch`] is all-or-nothing for free: its
//! requests are applied one after another to the same copy, and the first refusal discards
//! the copy.

mod dest;
mod local_addr;
mod network;
mod service;

use proto::{Protocol, Request, ServiceKey};
use std::net::SocketAddr;

use super::refusal::Refusal;
use crate::config::Config;

pub use local_addr::PRIVATE_GROUP_PREFIX;

/// True for the requests that change the configuration (and so need [`apply`]).
pub fn is_change(req: &Request) -> bool {
    matches!(
        req,
        Request::AddService { .. }
            | Request::EditService { .. }
            | Request::DelService { .. }
            | Request::Clear
            | Request::SetTimeouts { .. }
            | Request::AddDest { .. }
            | Request::EditDest { .. }
            | Request::DelDest { .. }
            | Request::AddLocalAddr { .. }
            | Request::DelLocalAddr { .. }
            | Request::AddAddress { .. }
            | Request::DelAddress { .. }
            | Request::AddRoute { .. }
            | Request::DelRoute { .. }
            | Request::AddNeigh { .. }
            | Request::DelNeigh { .. }
            | Request::Batch { .. }
    )
}

/// Applies a change request to `cfg`. On a refusal `cfg` may be partly changed: it is a
/// candidate copy and the caller throws it away.
pub fn apply(cfg: &mut Config, req: &Request) -> Result<(), Refusal> {
    match req {
        Request::AddService { service } => service::add(cfg, service),
        Request::EditService { service } => service::edit(cfg, service),
        Request::DelService { key } => service::delete(cfg, key),
        Request::Clear => {
            service::clear(cfg);
            Ok(())
        }
        Request::SetTimeouts { timeouts } => service::set_timeouts(cfg, timeouts),
        Request::AddDest { key, dest } => dest::add(cfg, key, dest),
        Request::EditDest { key, dest } => dest::edit(cfg, key, dest),
        Request::DelDest { key, addr } => dest::delete(cfg, key, *addr),
        Request::AddLocalAddr { key, addr } => local_addr::add(cfg, key, *addr),
        Request::DelLocalAddr { key, addr } => local_addr::delete(cfg, key, *addr),
        Request::AddAddress { address } => network::add_address(cfg, address),
        Request::DelAddress { address } => network::del_address(cfg, address),
        Request::AddRoute { route } => network::add_route(cfg, route),
        Request::DelRoute { route } => network::del_route(cfg, route),
        Request::AddNeigh { neigh } => network::add_neigh(cfg, neigh),
        Request::DelNeigh { neigh } => network::del_neigh(cfg, neigh),
        Request::Batch { requests } => batch(cfg, requests),
        _ => Err(Refusal::invalid("not a change request")),
    }
}

/// Applies every request of a batch in order; the first refusal names its position.
fn batch(cfg: &mut Config, requests: &[Request]) -> Result<(), Refusal> {
    for (i, req) in requests.iter().enumerate() {
        let n = i + 1;
        if matches!(req, Request::Batch { .. }) || !is_change(req) {
            return Err(Refusal::invalid(format!(
                "batch request {n}: only changes can be batched"
            )));
        }
        apply(cfg, req)
            .map_err(|r| Refusal::new(r.kind, format!("batch request {n}: {}", r.message)))?;
    }
    Ok(())
}

/// The protocol and address of a service key; fwmark services are refused.
fn addr_key(key: &ServiceKey) -> Result<(Protocol, SocketAddr), Refusal> {
    match *key {
        ServiceKey::Addr { protocol, addr } => Ok((protocol, addr)),
        ServiceKey::Fwmark { .. } => Err(Refusal::fwmark()),
    }
}
