//! What the director shows of the running dataplane besides service counters: connection
//! entries, learned neighbours and named counters.
//!
//! Connections and neighbours live in each worker's own tables, which only that worker may
//! read, so they are asked for: a [`StageCommand`] goes to every worker, which answers
//! between two bursts. The answers are awaited with a deadline — a worker that does not
//! answer in time (it is stuck, or stopping) is left out of the listing and logged, rather
//! than blocking the director. Counters are read directly (single-writer atomics).
//!
//! Health checker results and VRRP instance states come from the boards of the health
//! engine and the VRRP driver (each a short lock), when those run.
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use control::director::StatusSource;
use control::health::HealthEngine;
use control::vrrp::StatusBoard;
use crossbeam_channel::{Receiver, Sender};
use dataplane::conn::Proto;
use dataplane::fwd::{ConnRow, NeighRow, StageCommand};
use dataplane::stats::CounterValues;
use proto::{CheckerStatus, ConnInfo, Counter, NeighInfo, NeighSpec, Protocol, VrrpStatus};

use crate::fleet::WorkerTables;

/// How long a listing waits for all workers together.
pub const ANSWER_DEADLINE: Duration = Duration::from_secs(2);

/// Named counters that do not come from the workers (the ports').
pub type ExtraCounters = Box<dyn Fn() -> Vec<Counter> + Send>;

/// The director's [`StatusSource`] over the workers.
pub struct DaemonStatus {
    commands: Vec<Sender<StageCommand>>,
    tables: WorkerTables,
    /// Port names by dataplane port index (network ports, then kernel-side ports).
    port_names: Vec<String>,
    extra: ExtraCounters,
    health: Option<HealthEngine>,
    /// Set once VRRP runs (it starts after the director).
    vrrp: Arc<OnceLock<StatusBoard>>,
}

impl DaemonStatus {
    pub fn new(
        commands: Vec<Sender<StageCommand>>,
        tables: WorkerTables,
        port_names: Vec<String>,
        extra: ExtraCounters,
    ) -> DaemonStatus {
        DaemonStatus {
            commands,
            tables,
            port_names,
            extra,
            health: None,
            vrrp: Arc::new(OnceLock::new()),
        }
    }

    /// Lists the checkers of `engine` (`rvsadm --list-checkers`).
    pub fn with_health(mut self, engine: HealthEngine) -> DaemonStatus {
        self.health = Some(engine);
        self
    }

    /// Lists the VRRP instances of the board `slot` will hold once VRRP runs
    /// (`rvsadm --list-vrrp`), and their drop counters.
    pub fn with_vrrp(mut self, slot: Arc<OnceLock<StatusBoard>>) -> DaemonStatus {
        self.vrrp = slot;
        self
    }

    /// Sends `make(reply)` to every worker and gathers the answers until the deadline.
    fn ask<T: Send + 'static>(
        &self,
        what: &str,
        make: impl Fn(Sender<Vec<T>>) -> StageCommand,
    ) -> Vec<T> {
        let mut pending: Vec<(usize, Receiver<Vec<T>>)> = Vec::new();
        for (w, tx) in self.commands.iter().enumerate() {
            let (reply, answer) = crossbeam_channel::bounded(1);
            match tx.try_send(make(reply)) {
                Ok(()) => pending.push((w, answer)),
                Err(e) => log::warn!("{what}: worker {w} takes no command ({e})"),
            }
        }
        let deadline = Instant::now() + ANSWER_DEADLINE;
        let mut out = Vec::new();
        for (w, answer) in pending {
            match answer.recv_deadline(deadline) {
                Ok(rows) => out.extend(rows),
                Err(_) => log::warn!("{what}: worker {w} did not answer in time; left out"),
            }
        }
        out
    }
}

fn protocol(p: Proto) -> Option<Protocol> {
    match p {
        Proto::Tcp => Some(Protocol::Tcp),
        Proto::Udp => Some(Protocol::Udp),
        Proto::Icmp => None,
    }
}

/// A connection row as the protocol lists it (`-Lc`); ICMP entries have no ipvsadm form.
pub fn conn_info(row: &ConnRow) -> Option<ConnInfo> {
    Some(ConnInfo {
        protocol: protocol(row.proto)?,
        client: SocketAddr::V4(row.client),
        virtual_addr: SocketAddr::V4(row.virtual_addr),
        dest: SocketAddr::V4(row.dest),
        local: row.local.map(SocketAddr::V4),
        state: row.state.to_string(),
        expires: row.expires_s,
        template: row.template,
    })
}

/// Learned neighbours of every worker, one entry per (port, address): static entries are
/// left out (the director lists those from the configuration), and a confirmed state wins
/// over a weaker one when workers disagree.
pub fn learned_neighbours(rows: &[NeighRow], port_names: &[String]) -> Vec<NeighInfo> {
    fn rank(state: &str) -> u8 {
        match state {
            "REACHABLE" => 0,
            "STALE" => 1,
            "INCOMPLETE" => 2,
            _ => 3,
        }
    }
    let mut best: BTreeMap<(u16, u32), &NeighRow> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.state != "PERMANENT") {
        let key = (r.port, u32::from(r.addr));
        match best.get(&key) {
            Some(b) if rank(b.state) <= rank(r.state) => {}
            _ => {
                best.insert(key, r);
            }
        }
    }
    best.values()
        .map(|r| NeighInfo {
            spec: NeighSpec {
                port: port_names
                    .get(usize::from(r.port))
                    .cloned()
                    .unwrap_or_else(|| format!("port{}", r.port)),
                addr: IpAddr::V4(r.addr),
                mac: r.mac,
            },
            is_static: false,
            state: r.state.to_string(),
        })
        .collect()
}

/// The workers' counters summed, as named counters (`rx_packets`, `drop.no_service` ...,
/// `snapshot_swaps`).
pub fn worker_counters(tables: &WorkerTables) -> Vec<Counter> {
    let mut total = CounterValues::default();
    for c in &tables.counters {
        total.accumulate(&c.read());
    }
    let mut out: Vec<Counter> = total
        .lines()
        .into_iter()
        .map(|(name, value)| Counter { name, value })
        .collect();
    out.push(Counter {
        name: "snapshot_swaps".into(),
        value: total.snapshot_swaps,
    });
    out
}

impl StatusSource for DaemonStatus {
    fn conns(&self) -> Vec<ConnInfo> {
        self.ask("connection listing", |reply| StageCommand::DumpConns {
            reply,
        })
        .iter()
        .filter_map(conn_info)
        .collect()
    }

    fn learned_neighbours(&self) -> Vec<NeighInfo> {
        let rows = self.ask("neighbour listing", |reply| StageCommand::DumpNeighbours {
            reply,
        });
        learned_neighbours(&rows, &self.port_names)
    }

    fn checkers(&self) -> Vec<CheckerStatus> {
        self.health
            .as_ref()
            .map(HealthEngine::status)
            .unwrap_or_default()
    }

    fn vrrp(&self) -> Vec<VrrpStatus> {
        self.vrrp.get().map(StatusBoard::status).unwrap_or_default()
    }

    fn counters(&self) -> Vec<Counter> {
        let mut out = worker_counters(&self.tables);
        out.extend((self.extra)());
        if let Some(board) = self.vrrp.get() {
            out.extend(board.counters());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddrV4};

    fn row(port: u16, last: u8, state: &'static str) -> NeighRow {
        NeighRow {
            port,
            addr: Ipv4Addr::new(10, 0, 0, last),
            mac: [2, 0, 0, 0, 0, last],
            state,
        }
    }

    #[test]
    fn neighbours_are_merged_across_workers_without_static_ones() {
        let names = vec!["dp0".to_string(), "dp1".to_string()];
        let rows = [
            row(0, 1, "PERMANENT"),
            row(0, 11, "STALE"),
            row(0, 11, "REACHABLE"),
            row(1, 11, "INCOMPLETE"),
            row(0, 12, "FAILED"),
        ];
        let got = learned_neighbours(&rows, &names);
        let brief: Vec<(String, String, String)> = got
            .iter()
            .map(|n| {
                (
                    n.spec.port.clone(),
                    n.spec.addr.to_string(),
                    n.state.clone(),
                )
            })
            .collect();
        assert_eq!(
            brief,
            [
                ("dp0".into(), "10.0.0.11".into(), "REACHABLE".into()),
                ("dp0".into(), "10.0.0.12".into(), "FAILED".into()),
                ("dp1".into(), "10.0.0.11".into(), "INCOMPLETE".into()),
            ]
        );
        assert!(got.iter().all(|n| !n.is_static));
    }

    #[test]
    fn connection_rows_become_protocol_entries() {
        let r = ConnRow {
            proto: Proto::Tcp,
            client: SocketAddrV4::new(Ipv4Addr::new(10, 9, 0, 2), 40000),
            virtual_addr: SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 100), 80),
            dest: SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 11), 80),
            local: None,
            state: "ESTABLISHED",
            expires_s: 899,
            template: false,
            service_id: 1,
            dest_id: 2,
        };
        let c = conn_info(&r).unwrap();
        assert_eq!(c.protocol, Protocol::Tcp);
        assert_eq!(c.client.to_string(), "10.9.0.2:40000");
        assert_eq!(c.dest.to_string(), "10.0.0.11:80");
        assert_eq!((c.state.as_str(), c.expires), ("ESTABLISHED", 899));
        let icmp = ConnRow {
            proto: Proto::Icmp,
            ..r
        };
        assert_eq!(conn_info(&icmp), None);
    }

    #[test]
    fn a_worker_that_does_not_answer_is_left_out_after_the_deadline() {
        let (alive_tx, alive_rx) = crossbeam_channel::bounded::<StageCommand>(4);
        let (dead_tx, _dead_rx) = crossbeam_channel::bounded::<StageCommand>(4);
        let tables = WorkerTables {
            counters: vec![Default::default(), Default::default()],
            slots: Vec::new(),
        };
        let status = DaemonStatus::new(
            vec![alive_tx, dead_tx],
            tables,
            vec!["dp0".into()],
            Box::new(|| {
                vec![Counter {
                    name: "port.dp0.ipackets".into(),
                    value: 3,
                }]
            }),
        );
        let answerer = std::thread::spawn(move || {
            if let Ok(StageCommand::DumpNeighbours { reply }) = alive_rx.recv() {
                let _ = reply.send(vec![row(0, 11, "REACHABLE")]);
            }
        });
        let started = Instant::now();
        let got = status.learned_neighbours();
        answerer.join().unwrap();
        assert_eq!(got.len(), 1);
        assert!(started.elapsed() >= ANSWER_DEADLINE);
        let counters = status.counters();
        assert!(
            counters
                .iter()
                .any(|c| c.name == "rx_packets" && c.value == 0)
        );
        assert!(
            counters
                .iter()
                .any(|c| c.name == "port.dp0.ipackets" && c.value == 3)
        );
    }
}
