//! FULLNAT return traffic put on its worker's queue by the NIC (rte_flow), where it can be.
//!
//! A FULLNAT connection's replies come back to `laddr:lport`, and the worker that owns the
//! connection is the one whose partition holds `lport` (`lport % workers == worker`, see
//! `dataplane::fwd::lport`). When `workers` is a power of two that partition is a mask on
//! the low bits — `lport & (workers - 1) == worker` — which a NIC can match, so each
//! network port gets, for every local address and every worker, two rules: IPv4 to the
//! address, TCP (and UDP) destination port masked to the worker's value, to the worker's
//! RX queue. The replies then arrive where their connection lives and the hand-off between
//! workers never sees them.
//!
//! Everything here is best effort, because the hand-off is always there: with another
//! worker count no rules are installed (said once in the log); a rule a port refuses —
//! `rte_flow_validate` first, then `rte_flow_create` — is counted
//! (`port.<name>.flow_refused`), the first refusal of each port logged with the driver's
//! reason, and that traffic keeps flowing through the hand-off. Rules follow the local
//! addresses of the snapshots the applier sends: each change installs what is new and
//! destroys what left (the installed set of each port is kept and diffed), and shutdown
//! flushes every port (`rte_flow_flush`).
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use dpdk_sys::{DpdkError, FlowId, L4Proto, Port, QueueRule};

use crate::applier::LocalAddressObserver;

/// The flow-rule calls of one port (a trait so the bookkeeping is testable without a NIC).
pub trait FlowPort {
    fn validate(&self, rule: &QueueRule) -> Result<(), DpdkError>;
    fn create(&self, rule: &QueueRule) -> Result<FlowId, DpdkError>;
    fn destroy(&self, id: FlowId) -> Result<(), DpdkError>;
    fn flush(&self) -> Result<usize, DpdkError>;
}

impl FlowPort for Port {
    fn validate(&self, rule: &QueueRule) -> Result<(), DpdkError> {
        self.validate_flow(rule)
    }
    fn create(&self, rule: &QueueRule) -> Result<FlowId, DpdkError> {
        self.create_flow(rule)
    }
    fn destroy(&self, id: FlowId) -> Result<(), DpdkError> {
        self.destroy_flow(id)
    }
    fn flush(&self) -> Result<usize, DpdkError> {
        self.flush_flows()
    }
}

/// Whether the local-port partition of `workers` can be matched by a NIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    /// One worker: every packet is its own, nothing to steer.
    OneWorker,
    /// `port % workers` is not a mask on low bits: no rules.
    NotAMask { workers: u16 },
    /// `port & mask == worker`.
    Mask { mask: u16 },
}

impl Partition {
    pub fn of(workers: u16) -> Partition {
        match workers {
            0 | 1 => Partition::OneWorker,
            w if w.is_power_of_two() => Partition::Mask { mask: w - 1 },
            w => Partition::NotAMask { workers: w },
        }
    }
}

/// The rules that steer return traffic to `laddr` for each of `workers` workers to its
/// queue: per worker, TCP then UDP. Empty unless the partition is a mask.
pub fn rules_for(laddr: Ipv4Addr, workers: u16) -> Vec<QueueRule> {
    let Partition::Mask { mask } = Partition::of(workers) else {
        return Vec::new();
    };
    (0..workers)
        .flat_map(|worker| {
            [L4Proto::Tcp, L4Proto::Udp].map(|proto| QueueRule {
                dst: laddr,
                proto,
                dst_port: worker,
                dst_port_mask: mask,
                queue: worker,
            })
        })
        .collect()
}

/// One network port's rules.
struct PortRules<P> {
    name: String,
    port: P,
    installed: BTreeMap<QueueRule, FlowId>,
    /// Wanted rules the port refused; not tried again while they stay wanted.
    refused: BTreeSet<QueueRule>,
    /// Rules refused since start (a rule refused again after its address came back counts
    /// again).
    refused_total: u64,
    /// Whether the first refusal was logged.
    told: bool,
}

impl<P: FlowPort> PortRules<P> {
    fn install(&mut self, rule: &QueueRule) {
        let created = self
            .port
            .validate(rule)
            .and_then(|()| self.port.create(rule));
        match created {
            Ok(id) => {
                self.installed.insert(*rule, id);
            }
            Err(e) => {
                self.refused.insert(*rule);
                self.refused_total += 1;
                if !self.told {
                    self.told = true;
                    log::info!(
                        "port {}: no rte_flow steering for FULLNAT return traffic ({e}); \
                         it reaches its worker through the hand-off",
                        self.name
                    );
                }
            }
        }
    }

    fn sync(&mut self, wanted: &BTreeSet<QueueRule>) {
        let gone: Vec<QueueRule> = self
            .installed
            .keys()
            .filter(|r| !wanted.contains(r))
            .copied()
            .collect();
        for rule in gone {
            if let Some(id) = self.installed.remove(&rule)
                && let Err(e) = self.port.destroy(id)
            {
                // A rule left behind only steers traffic nobody sends any more.
                log::warn!("port {}: removing a flow rule: {e}", self.name);
            }
        }
        self.refused.retain(|r| wanted.contains(r));
        for rule in wanted {
            if !self.installed.contains_key(rule) && !self.refused.contains(rule) {
                self.install(rule);
            }
        }
    }
}

/// The steering rules of every network port (see the module documentation).
pub struct FlowSteering<P> {
    workers: u16,
    ports: Vec<PortRules<P>>,
    /// Whether some call ever tried to install (so a flush is worth making).
    tried: bool,
}

/// The daemon's steering, shared by the applier (which syncs it) and the main thread
/// (which flushes it and reads its counters).
pub type SharedSteering = Arc<Mutex<FlowSteering<Port>>>;

/// Locks the shared steering (a panic elsewhere does not make its state wrong).
pub fn lock<P>(s: &Mutex<FlowSteering<P>>) -> MutexGuard<'_, FlowSteering<P>> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The daemon's steering over its network ports (named as configured) for `workers`.
pub fn shared(names: &[String], ports: &[Port], workers: u16) -> SharedSteering {
    let ports = names.iter().cloned().zip(ports.iter().cloned()).collect();
    Arc::new(Mutex::new(FlowSteering::new(ports, workers)))
}

/// The applier's observer that keeps `steering` on the snapshots' local addresses.
pub fn observer(steering: &SharedSteering) -> LocalAddressObserver {
    let steering = Arc::clone(steering);
    Box::new(move |laddrs| lock(&steering).sync(laddrs))
}

impl<P: FlowPort> FlowSteering<P> {
    /// Steering for `ports` (name, port) with `workers` workers; logs once when the worker
    /// count rules rte_flow out.
    pub fn new(ports: Vec<(String, P)>, workers: u16) -> FlowSteering<P> {
        if let Partition::NotAMask { workers } = Partition::of(workers) {
            log::info!(
                "FULLNAT return traffic: {workers} workers is not a power of two, so the \
                 local-port partition (port % workers) is no mask a NIC can match; no rte_flow \
                 rules, the hand-off between workers steers it"
            );
        }
        FlowSteering {
            workers,
            ports: ports
                .into_iter()
                .map(|(name, port)| PortRules {
                    name,
                    port,
                    installed: BTreeMap::new(),
                    refused: BTreeSet::new(),
                    refused_total: 0,
                    told: false,
                })
                .collect(),
            tried: false,
        }
    }

    /// Makes every port's rules those of `laddrs`: new ones installed, gone ones destroyed.
    pub fn sync(&mut self, laddrs: &BTreeSet<Ipv4Addr>) {
        let wanted: BTreeSet<QueueRule> = laddrs
            .iter()
            .flat_map(|a| rules_for(*a, self.workers))
            .collect();
        self.tried |= !wanted.is_empty();
        for p in &mut self.ports {
            p.sync(&wanted);
        }
        log::debug!(
            "flow steering: {} local address(es), {} rule(s) wanted per port, installed: {}",
            laddrs.len(),
            wanted.len(),
            self.ports
                .iter()
                .map(|p| format!("{} {}", p.name, p.installed.len()))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    /// Removes every rule from every port (at shutdown, before the ports stop).
    pub fn flush(&mut self) {
        if !self.tried {
            return;
        }
        for p in &mut self.ports {
            let had = p.installed.len();
            p.installed.clear();
            p.refused.clear();
            if had == 0 {
                continue;
            }
            match p.port.flush() {
                Ok(_) => log::info!("port {}: {had} flow rule(s) removed", p.name),
                Err(e) => log::warn!("port {}: removing the flow rules: {e}", p.name),
            }
        }
    }

    /// `port.<name>.flow_rules` (installed now) and `port.<name>.flow_refused` (refused
    /// since start) for every port.
    pub fn counters(&self) -> Vec<(String, u64)> {
        self.ports
            .iter()
            .flat_map(|p| {
                [
                    (
                        format!("port.{}.flow_rules", p.name),
                        p.installed.len() as u64,
                    ),
                    (format!("port.{}.flow_refused", p.name), p.refused_total),
                ]
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataplane::fwd::LocalPorts;
    use std::cell::RefCell;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn rules_for_four_workers_match_each_workers_ports_to_its_queue() {
        let rules = rules_for(ip("10.0.0.50"), 4);
        assert_eq!(rules.len(), 8);
        for (i, r) in rules.iter().enumerate() {
            let worker = (i / 2) as u16;
            assert_eq!(r.dst, ip("10.0.0.50"));
            assert_eq!(
                r.proto,
                if i % 2 == 0 {
                    L4Proto::Tcp
                } else {
                    L4Proto::Udp
                }
            );
            assert_eq!((r.dst_port, r.dst_port_mask, r.queue), (worker, 3, worker));
        }
    }

    #[test]
    fn the_mask_is_exactly_the_local_port_partition() {
        // For every worker count that gets rules, a port matches worker w's rule exactly
        // when LocalPorts hands it to w (and the owner function agrees).
        for workers in [2u16, 4, 8, 16, 32, 64] {
            let rules = rules_for(ip("10.0.0.50"), workers);
            assert_eq!(rules.len(), 2 * usize::from(workers));
            for port in 0..=u16::MAX {
                let matching: Vec<u16> = rules
                    .iter()
                    .filter(|r| r.proto == L4Proto::Tcp)
                    .filter(|r| port & r.dst_port_mask == r.dst_port)
                    .map(|r| r.queue)
                    .collect();
                assert_eq!(matching, [LocalPorts::owner(port, workers)], "port {port}");
            }
            // And a worker's allocator only hands out ports of its own rule.
            let mut lp = LocalPorts::new(1024, 1100, workers - 1, workers);
            lp.prepare(ip("10.0.0.50"));
            let p = lp.alloc(ip("10.0.0.50")).unwrap();
            assert_eq!(p & (workers - 1), workers - 1);
        }
    }

    #[test]
    fn no_rules_for_one_worker_or_a_count_that_is_no_power_of_two() {
        assert_eq!(Partition::of(1), Partition::OneWorker);
        assert_eq!(Partition::of(3), Partition::NotAMask { workers: 3 });
        assert_eq!(Partition::of(6), Partition::NotAMask { workers: 6 });
        assert_eq!(Partition::of(8), Partition::Mask { mask: 7 });
        for w in [0, 1, 3, 5, 6, 7, 12] {
            assert!(rules_for(ip("10.0.0.50"), w).is_empty(), "{w}");
        }
    }

    /// A port that records calls and accepts, refuses at validation, or refuses at creation.
    #[derive(Default)]
    struct FakePort {
        refuse_validate: bool,
        refuse_create: bool,
        next: RefCell<u64>,
        live: RefCell<BTreeMap<FlowId, QueueRule>>,
        calls: RefCell<Vec<String>>,
    }

    fn refusal() -> DpdkError {
        DpdkError::Call {
            op: "rte_flow_validate(port 0 fake)".into(),
            code: 38,
            message: "Function not implemented".into(),
        }
    }

    impl FlowPort for FakePort {
        fn validate(&self, r: &QueueRule) -> Result<(), DpdkError> {
            self.calls.borrow_mut().push(format!("validate {}", r.dst));
            if self.refuse_validate {
                return Err(refusal());
            }
            Ok(())
        }
        fn create(&self, r: &QueueRule) -> Result<FlowId, DpdkError> {
            self.calls.borrow_mut().push(format!("create {}", r.dst));
            if self.refuse_create {
                return Err(refusal());
            }
            *self.next.borrow_mut() += 1;
            let id = FlowId(*self.next.borrow());
            self.live.borrow_mut().insert(id, *r);
            Ok(id)
        }
        fn destroy(&self, id: FlowId) -> Result<(), DpdkError> {
            let r = self.live.borrow_mut().remove(&id).expect("a live rule");
            self.calls.borrow_mut().push(format!("destroy {}", r.dst));
            Ok(())
        }
        fn flush(&self) -> Result<usize, DpdkError> {
            self.calls.borrow_mut().push("flush".into());
            let n = self.live.borrow().len();
            self.live.borrow_mut().clear();
            Ok(n)
        }
    }

    fn set(addrs: &[&str]) -> BTreeSet<Ipv4Addr> {
        addrs.iter().map(|a| ip(a)).collect()
    }

    fn counters<P: FlowPort>(s: &FlowSteering<P>) -> Vec<(String, u64)> {
        s.counters()
    }

    #[test]
    fn rules_follow_the_local_addresses_and_are_flushed_at_the_end() {
        let mut s = FlowSteering::new(vec![("dp0".into(), FakePort::default())], 2);
        s.sync(&set(&["10.0.0.50"]));
        let port = &s.ports[0].port;
        // 2 workers x TCP/UDP, each validated then created.
        assert_eq!(port.live.borrow().len(), 4);
        assert_eq!(
            port.calls
                .borrow()
                .iter()
                .filter(|c| c.starts_with("validate"))
                .count(),
            4
        );
        let mut queues: Vec<(L4Proto, u16, u16)> = port
            .live
            .borrow()
            .values()
            .map(|r| (r.proto, r.dst_port, r.queue))
            .collect();
        queues.sort();
        assert_eq!(
            queues,
            [
                (L4Proto::Tcp, 0, 0),
                (L4Proto::Tcp, 1, 1),
                (L4Proto::Udp, 0, 0),
                (L4Proto::Udp, 1, 1)
            ]
        );
        // The same addresses again: nothing is called.
        let before = port.calls.borrow().len();
        s.sync(&set(&["10.0.0.50"]));
        assert_eq!(s.ports[0].port.calls.borrow().len(), before);
        // One address more, one less: 4 created for .51, 4 destroyed for .50.
        s.sync(&set(&["10.0.0.51"]));
        let port = &s.ports[0].port;
        let new_calls: Vec<String> = port.calls.borrow()[before..].to_vec();
        assert_eq!(
            new_calls
                .iter()
                .filter(|c| *c == "destroy 10.0.0.50")
                .count(),
            4
        );
        assert_eq!(
            new_calls
                .iter()
                .filter(|c| *c == "create 10.0.0.51")
                .count(),
            4
        );
        assert!(
            port.live
                .borrow()
                .values()
                .all(|r| r.dst == ip("10.0.0.51"))
        );
        assert_eq!(
            counters(&s),
            [
                ("port.dp0.flow_rules".to_string(), 4),
                ("port.dp0.flow_refused".to_string(), 0)
            ]
        );
        s.flush();
        assert!(s.ports[0].port.live.borrow().is_empty());
        assert_eq!(s.ports[0].port.calls.borrow().last().unwrap(), "flush");
        assert_eq!(counters(&s)[0].1, 0);
    }

    #[test]
    fn a_refused_rule_is_counted_once_while_wanted_and_never_created() {
        let refusing = FakePort {
            refuse_validate: true,
            ..FakePort::default()
        };
        let late = FakePort {
            refuse_create: true,
            ..FakePort::default()
        };
        let mut s = FlowSteering::new(vec![("dp0".into(), refusing), ("dp1".into(), late)], 2);
        s.sync(&set(&["10.0.0.50"]));
        s.sync(&set(&["10.0.0.50"]));
        assert!(
            s.ports[0]
                .port
                .calls
                .borrow()
                .iter()
                .all(|c| c.starts_with("validate")),
            "validation failed: nothing created"
        );
        assert_eq!(s.ports[0].port.calls.borrow().len(), 4, "not retried");
        assert_eq!(
            s.ports[1].port.calls.borrow().len(),
            8,
            "validated, then refused"
        );
        assert_eq!(
            counters(&s),
            [
                ("port.dp0.flow_rules".to_string(), 0),
                ("port.dp0.flow_refused".to_string(), 4),
                ("port.dp1.flow_rules".to_string(), 0),
                ("port.dp1.flow_refused".to_string(), 4),
            ]
        );
        // The address leaves and comes back: tried (and counted) again.
        s.sync(&BTreeSet::new());
        s.sync(&set(&["10.0.0.50"]));
        assert_eq!(counters(&s)[1].1, 8);
        // Nothing was installed, so shutdown flushes nothing.
        s.flush();
        assert!(
            !s.ports[0]
                .port
                .calls
                .borrow()
                .contains(&"flush".to_string())
        );
    }

    #[test]
    fn three_workers_install_nothing() {
        let mut s = FlowSteering::new(vec![("dp0".into(), FakePort::default())], 3);
        s.sync(&set(&["10.0.0.50", "10.0.0.51"]));
        assert!(s.ports[0].port.calls.borrow().is_empty());
        assert_eq!(counters(&s)[1], ("port.dp0.flow_refused".to_string(), 0));
        s.flush();
        assert!(s.ports[0].port.calls.borrow().is_empty());
    }
}
