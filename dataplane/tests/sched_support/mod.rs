//! Helpers shared by the scheduler tests: servers named A, B, C... at 10.0.0.1, .2, .3...
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};

use dataplane::sched::{
    ConnKind, DestId, DestSpec, Flow, SchedFlag, SchedParams, SchedulerKind, ServiceScheduler,
};

pub const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

/// Server `name` ('A'..) at 10.0.0.(1..):80 with `weight`.
pub fn server(name: char, weight: u32) -> DestSpec {
    let n = u8::try_from(u32::from(name) - u32::from('A') + 1).unwrap();
    DestSpec::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)), 80, weight)
}

/// Servers A, B, C... with these weights.
pub fn servers(weights: &[u32]) -> Vec<DestSpec> {
    weights
        .iter()
        .enumerate()
        .map(|(i, &w)| server(char::from(b'A' + u8::try_from(i).unwrap()), w))
        .collect()
}

pub fn service(kind: SchedulerKind, flags: &[SchedFlag], specs: &[DestSpec]) -> ServiceScheduler {
    ServiceScheduler::new(kind, flags, &SchedParams::default(), specs).unwrap()
}

/// The letter of a picked server.
pub fn name(svc: &ServiceScheduler, id: DestId) -> char {
    match svc.dests().get(id).unwrap().key().addr {
        IpAddr::V4(a) => char::from(b'A' + a.octets()[3] - 1),
        IpAddr::V6(_) => '?',
    }
}

/// The id of server `name`.
pub fn id(svc: &ServiceScheduler, name: char) -> DestId {
    svc.dests().find(&server(name, 0).key).unwrap()
}

/// A client flow to the VIP.
pub fn client(src: [u8; 4], sport: u16) -> Flow {
    Flow::new(IpAddr::V4(Ipv4Addr::from(src)), sport, VIP, 80)
}

/// A flow to a given destination address (dh, lblc, lblcr).
pub fn to_dst(dst: [u8; 4]) -> Flow {
    Flow::new(
        IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
        40000,
        IpAddr::V4(Ipv4Addr::from(dst)),
        80,
    )
}

/// `n` picks for the same flow as letters, '-' for None.
pub fn sequence(svc: &mut ServiceScheduler, n: usize) -> String {
    let flow = client([198, 51, 100, 1], 1234);
    (0..n)
        .map(|_| match svc.pick(&flow) {
            Some(id) => name(svc, id),
            None => '-',
        })
        .collect()
}

/// Sets a server's counts by binding `active` active and `inactive` inactive connections.
pub fn load(svc: &mut ServiceScheduler, name_: char, active: u32, inactive: u32) {
    let d = id(svc, name_);
    for _ in 0..active {
        svc.bind(d, ConnKind::Active);
    }
    for _ in 0..inactive {
        svc.bind(d, ConnKind::Inactive);
    }
}
