//! `rvsd replay --counters FILE`: the replay's counters as JSON, for tests and tooling.
//!
//! The summary on stdout has the workers' totals only; a test that checks what a replay did
//! to each virtual service and real server (connections scheduled, packets and bytes each
//! way, the ActiveConn / InActConn / PersistConn gauges at the end) would have to parse
//! `-Ln --stats` listings, which only the pcap engine's `--script` can print. This file has
//! both, from the same sources as the summary and the listings, for either engine:
//!
//! ```json
//! {
//!   "engine": "pcap",
//!   "counters": { "rx_packets": 12, "tx_packets": 11, "drop.no_dest": 1, ... },
//!   "services": [
//!     { "service": "TCP 10.0.0.100:80", "conns": 3, "inpkts": 9, "outpkts": 0,
//!       "inbytes": 480, "outbytes": 0,
//!       "dests": [ { "addr": "10.0.0.11:80", "forward": "dr", "weight": 1, "conns": 2,
//!                    "inpkts": 6, "outpkts": 0, "inbytes": 320, "outbytes": 0,
//!                    "active_conns": 1, "inactive_conns": 1, "persist_conns": 0 } ] }
//!   ]
//! }
//! ```
//!
//! `counters` holds every line of the summary (drops only when non-zero, named
//! `drop.<reason>`); `services` follows the director's listing order.
use std::path::Path;

use dataplane::stats::CounterValues;
use proto::{DestInfo, Forward, ServiceInfo, ServiceKey, Stats};
use serde_json::{Map, Value, json};

use crate::error::RvsdError;

fn key_name(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr { protocol, addr } => format!("{protocol} {addr}"),
        ServiceKey::Fwmark { mark } => format!("FWM {mark}"),
    }
}

fn forward_name(f: Forward) -> &'static str {
    match f {
        Forward::Dr => "dr",
        Forward::Tun => "tun",
        Forward::Nat => "nat",
        Forward::FullNat => "full_nat",
    }
}

/// The five cumulative counters into `obj`.
fn put_stats(obj: &mut Map<String, Value>, s: &Stats) {
    for (name, value) in [
        ("conns", s.conns),
        ("inpkts", s.inpkts),
        ("outpkts", s.outpkts),
        ("inbytes", s.inbytes),
        ("outbytes", s.outbytes),
    ] {
        obj.insert(name.to_string(), json!(value));
    }
}

fn dest_json(d: &DestInfo) -> Value {
    let mut obj = Map::new();
    obj.insert("addr".into(), json!(d.spec.addr.to_string()));
    obj.insert("forward".into(), json!(forward_name(d.spec.forward)));
    obj.insert("weight".into(), json!(d.spec.weight));
    put_stats(&mut obj, &d.stats);
    obj.insert("active_conns".into(), json!(d.active_conns));
    obj.insert("inactive_conns".into(), json!(d.inactive_conns));
    obj.insert("persist_conns".into(), json!(d.persist_conns));
    Value::Object(obj)
}

fn service_json(s: &ServiceInfo) -> Value {
    let mut obj = Map::new();
    obj.insert("service".into(), json!(key_name(&s.spec.key)));
    put_stats(&mut obj, &s.stats);
    obj.insert(
        "dests".into(),
        Value::Array(s.dests.iter().map(dest_json).collect()),
    );
    Value::Object(obj)
}

/// The JSON document of a finished replay.
pub fn document(engine: &str, total: &CounterValues, services: &[ServiceInfo]) -> Value {
    let counters: Map<String, Value> = total
        .lines()
        .into_iter()
        .map(|(name, value)| (name, json!(value)))
        .collect();
    json!({
        "engine": engine,
        "counters": counters,
        "services": services.iter().map(service_json).collect::<Vec<_>>(),
    })
}

/// Writes [`document`] to `path`.
pub fn write(
    path: &Path,
    engine: &str,
    total: &CounterValues,
    services: &[ServiceInfo],
) -> Result<(), RvsdError> {
    let text = serde_json::to_string_pretty(&document(engine, total, services))
        .map_err(|e| RvsdError::Other(format!("{}: {e}", path.display())))?;
    std::fs::write(path, text + "\n")
        .map_err(|e| RvsdError::Other(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::{Protocol, Rates, ServiceSpec, Tunnel};

    #[test]
    fn services_and_counters_are_named_as_in_the_summary_and_listings() {
        let mut total = CounterValues {
            rx_packets: 7,
            ..CounterValues::default()
        };
        total.drops[dataplane::stats::DropReason::NoDest as usize] = 2;
        let dest = DestInfo {
            spec: proto::DestSpec {
                addr: "10.0.0.11:8080".parse().unwrap(),
                forward: Forward::FullNat,
                tunnel: Tunnel::default(),
                weight: 3,
                upper: 0,
                lower: 0,
            },
            active_conns: 1,
            inactive_conns: 2,
            persist_conns: 0,
            stats: Stats {
                conns: 3,
                inpkts: 4,
                outpkts: 5,
                inbytes: 6,
                outbytes: 7,
            },
            rates: Rates::default(),
            healthy: true,
        };
        let svc = ServiceInfo {
            spec: ServiceSpec {
                key: ServiceKey::Addr {
                    protocol: Protocol::Udp,
                    addr: "10.0.0.100:53".parse().unwrap(),
                },
                scheduler: "rr".into(),
                sched_flags: Vec::new(),
                persistent: None,
                netmask: 32,
                one_packet: false,
                client_addr: proto::ClientAddr::None,
            },
            dests: vec![dest],
            local_addrs: Vec::new(),
            stats: Stats {
                conns: 3,
                ..Stats::default()
            },
            rates: Rates::default(),
        };
        let doc = document("pcap", &total, &[svc]);
        assert_eq!(doc["engine"], "pcap");
        assert_eq!(doc["counters"]["rx_packets"], 7);
        assert_eq!(doc["counters"]["drop.no_dest"], 2);
        assert!(doc["counters"].get("drop.no_service").is_none());
        let s = &doc["services"][0];
        assert_eq!(s["service"], "UDP 10.0.0.100:53");
        assert_eq!(s["conns"], 3);
        let d = &s["dests"][0];
        assert_eq!(d["addr"], "10.0.0.11:8080");
        assert_eq!(d["forward"], "full_nat");
        assert_eq!(
            (d["weight"].as_u64(), d["outbytes"].as_u64()),
            (Some(3), Some(7))
        );
        assert_eq!(d["inactive_conns"], 2);
    }
}
