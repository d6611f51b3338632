//! The effect of health on a service: which destinations are in its table, at which
//! weight, whether the quorum holds and whether the sorry server is serving.
//!
//! A pure function so the director can derive the effective table from the configured one
//! at any moment (after a health event, a reconfiguration, a restart) and get the same
//! answer keepalived's ipwrapper.c would have reached by its sequence of IPVS commands:
//!
//! * a real server is *alive* when all its checkers are up; alive servers are in the table
//!   at their current weight (MISC_CHECK misc_dynamic may have changed it);
//! * a server that is not alive is removed, or kept at weight 0 with inhibit_on_failure;
//! * the quorum is the sum of the alive servers' weights: gained when the sum reaches
//!   `quorum + hysteresis`, lost when it falls below `quorum - hysteresis` or to 0;
//! * while the quorum is lost and a sorry server is configured, the sorry server is in the
//!   table (weight 1) and the alive real servers are taken out (or set to weight 0 with
//!   inhibit_on_failure); otherwise a sorry server with `sorry_server_inhibit` is kept at
//!   weight 0 and one without is absent.
//!
//! keepalived also corrects the quorum settings when it loads them (a quorum above the total
//! weight is lowered to it; a hysteresis not below the quorum becomes quorum - 1);
//! [`QuorumSpec::new`] applies the same correction.

use std::net::SocketAddr;

use super::spec::SorrySpec;

/// The health of one real server as the effect needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerHealth {
    pub dest: SocketAddr,
    /// The configured weight.
    pub weight: u32,
    /// inhibit_on_failure (after the per-server override).
    pub inhibit: bool,
    /// All checkers up.
    pub alive: bool,
    /// A weight set by MISC_CHECK misc_dynamic, replacing the configured one.
    pub dynamic_weight: Option<u32>,
}

impl ServerHealth {
    /// The weight the server has while alive.
    pub fn current_weight(&self) -> u32 {
        self.dynamic_weight.unwrap_or(self.weight)
    }
}

/// Quorum settings after keepalived's load-time correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuorumSpec {
    pub quorum: u64,
    pub hysteresis: u64,
}

impl QuorumSpec {
    /// Corrects `quorum`/`hysteresis` as keepalived's validate_check_config() does, against
    /// the total configured weight of the service's real servers.
    pub fn new(quorum: u32, hysteresis: u32, total_weight: u64) -> QuorumSpec {
        let quorum = u64::from(quorum).min(total_weight);
        let mut hysteresis = u64::from(hysteresis);
        if hysteresis >= quorum {
            hysteresis = quorum.saturating_sub(1);
        }
        QuorumSpec { quorum, hysteresis }
    }

    /// The quorum state when a service starts (`set_quorum_states`).
    pub fn initially_up(&self, weight_sum: u64) -> bool {
        weight_sum >= self.quorum + self.hysteresis
    }

    /// The quorum state after a change of the alive weight sum (`update_quorum_state`).
    pub fn next(&self, was_up: bool, weight_sum: u64) -> bool {
        if was_up {
            let threshold = self.quorum.saturating_sub(self.hysteresis);
            !(weight_sum == 0 || weight_sum < threshold)
        } else {
            weight_sum >= self.quorum + self.hysteresis
        }
    }
}

/// One destination of the effective table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableEntry {
    pub dest: SocketAddr,
    pub weight: u32,
    /// False for a failed server kept at weight 0 by inhibit_on_failure.
    pub healthy: bool,
    /// This entry is the sorry server.
    pub sorry: bool,
}

/// The effect of health on one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    /// Destinations in the table, in the order of the configured servers, sorry server last.
    pub entries: Vec<TableEntry>,
    pub quorum_up: bool,
    pub sorry_active: bool,
    /// Sum of the alive servers' weights.
    pub weight_sum: u64,
}

/// Sum of the current weights of the alive servers.
pub fn alive_weight(servers: &[ServerHealth]) -> u64 {
    servers
        .iter()
        .filter(|s| s.alive)
        .map(|s| u64::from(s.current_weight()))
        .sum()
}

/// Sum of the configured weights (what keepalived checks the quorum against at load).
pub fn total_weight(servers: &[ServerHealth]) -> u64 {
    servers.iter().map(|s| u64::from(s.weight)).sum()
}

/// Derives a service's table. `quorum_was_up` is the previous quorum state, or `None` when
/// the service is starting (then the start rule applies).
pub fn service_effect(
    quorum: u32,
    hysteresis: u32,
    sorry: Option<&SorrySpec>,
    servers: &[ServerHealth],
    quorum_was_up: Option<bool>,
) -> Effect {
    let spec = QuorumSpec::new(quorum, hysteresis, total_weight(servers));
    let weight_sum = alive_weight(servers);
    let quorum_up = match quorum_was_up {
        None => spec.initially_up(weight_sum),
        Some(was) => spec.next(was, weight_sum),
    };
    let sorry_active = !quorum_up && sorry.is_some();
    let mut entries = Vec::with_capacity(servers.len() + 1);
    for s in servers {
        let weight = match (s.alive, sorry_active, s.inhibit) {
            (true, false, _) => Some(s.current_weight()),
            (_, _, true) => Some(0),
            _ => None,
        };
        if let Some(weight) = weight {
            entries.push(TableEntry {
                dest: s.dest,
                weight,
                healthy: s.alive,
                sorry: false,
            });
        }
    }
    if let Some(sorry) = sorry
        && (sorry_active || sorry.inhibit)
    {
        entries.push(TableEntry {
            dest: sorry.dest,
            weight: u32::from(sorry_active),
            healthy: true,
            sorry: true,
        });
    }
    Effect {
        entries,
        quorum_up,
        sorry_active,
        weight_sum,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(n: u8) -> SocketAddr {
        SocketAddr::from(([10, 0, 1, n], 80))
    }

    fn srv(n: u8, weight: u32, alive: bool, inhibit: bool, dynamic: Option<u32>) -> ServerHealth {
        ServerHealth {
            dest: addr(n),
            weight,
            inhibit,
            alive,
            dynamic_weight: dynamic,
        }
    }

    const SORRY: SorrySpec = SorrySpec {
        dest: SocketAddr::V4(std::net::SocketAddrV4::new(
            std::net::Ipv4Addr::new(10, 9, 9, 9),
            80,
        )),
        inhibit: false,
    };
    const SORRY_INHIBIT: SorrySpec = SorrySpec {
        inhibit: true,
        ..SORRY
    };

    /// (dest last octet, weight, healthy, sorry)
    fn table(e: &Effect) -> Vec<(u8, u32, bool, bool)> {
        e.entries
            .iter()
            .map(|t| {
                let octet = match t.dest.ip() {
                    std::net::IpAddr::V4(ip) => ip.octets()[3],
                    std::net::IpAddr::V6(_) => 0,
                };
                (octet, t.weight, t.healthy, t.sorry)
            })
            .collect()
    }

    struct Case {
        name: &'static str,
        servers: Vec<ServerHealth>,
        quorum: u32,
        hysteresis: u32,
        sorry: Option<SorrySpec>,
        was: Option<bool>,
        want: Vec<(u8, u32, bool, bool)>,
        want_quorum: bool,
    }

    #[test]
    fn table_of_cases() {
        let cases = vec![
            Case {
                name: "all alive, no sorry",
                servers: vec![srv(1, 1, true, false, None), srv(2, 3, true, false, None)],
                quorum: 1,
                hysteresis: 0,
                sorry: None,
                was: Some(true),
                want: vec![(1, 1, true, false), (2, 3, true, false)],
                want_quorum: true,
            },
            Case {
                name: "failed server removed",
                servers: vec![srv(1, 1, true, false, None), srv(2, 3, false, false, None)],
                quorum: 1,
                hysteresis: 0,
                sorry: None,
                was: Some(true),
                want: vec![(1, 1, true, false)],
                want_quorum: true,
            },
            Case {
                name: "failed server inhibited at weight 0",
                servers: vec![srv(1, 1, true, false, None), srv(2, 3, false, true, None)],
                quorum: 1,
                hysteresis: 0,
                sorry: None,
                was: Some(true),
                want: vec![(1, 1, true, false), (2, 0, false, false)],
                want_quorum: true,
            },
            Case {
                name: "dynamic weight replaces configured weight",
                servers: vec![
                    srv(1, 1, true, false, Some(7)),
                    srv(2, 3, true, false, Some(0)),
                ],
                quorum: 1,
                hysteresis: 0,
                sorry: None,
                was: Some(true),
                want: vec![(1, 7, true, false), (2, 0, true, false)],
                want_quorum: true,
            },
            Case {
                name: "dynamic weight of a dead server does not count",
                servers: vec![srv(1, 1, false, true, Some(7))],
                quorum: 1,
                hysteresis: 0,
                sorry: None,
                was: Some(true),
                want: vec![(1, 0, false, false)],
                want_quorum: false,
            },
            Case {
                name: "all dead without sorry: empty table, quorum lost",
                servers: vec![srv(1, 1, false, false, None), srv(2, 1, false, false, None)],
                quorum: 1,
                hysteresis: 0,
                sorry: None,
                was: Some(true),
                want: vec![],
                want_quorum: false,
            },
            Case {
                name: "all dead with sorry: sorry in at weight 1",
                servers: vec![srv(1, 1, false, false, None), srv(2, 1, false, true, None)],
                quorum: 1,
                hysteresis: 0,
                sorry: Some(SORRY),
                was: Some(true),
                want: vec![(2, 0, false, false), (9, 1, true, true)],
                want_quorum: false,
            },
            Case {
                name: "quorum lost with sorry: alive servers taken out, inhibited ones at 0",
                servers: vec![
                    srv(1, 1, true, false, None),
                    srv(2, 1, true, true, None),
                    srv(3, 2, false, false, None),
                ],
                quorum: 3,
                hysteresis: 0,
                sorry: Some(SORRY),
                was: Some(true),
                want: vec![(2, 0, true, false), (9, 1, true, true)],
                want_quorum: false,
            },
            Case {
                name: "quorum lost without sorry: alive servers stay",
                servers: vec![srv(1, 1, true, false, None), srv(3, 2, false, false, None)],
                quorum: 3,
                hysteresis: 0,
                sorry: None,
                was: Some(true),
                want: vec![(1, 1, true, false)],
                want_quorum: false,
            },
            Case {
                name: "sorry_server_inhibit keeps the idle sorry server at 0",
                servers: vec![srv(1, 1, true, false, None)],
                quorum: 1,
                hysteresis: 0,
                sorry: Some(SORRY_INHIBIT),
                was: Some(true),
                want: vec![(1, 1, true, false), (9, 0, true, true)],
                want_quorum: true,
            },
            Case {
                name: "idle sorry server without inhibit is absent",
                servers: vec![srv(1, 1, true, false, None)],
                quorum: 1,
                hysteresis: 0,
                sorry: Some(SORRY),
                was: Some(true),
                want: vec![(1, 1, true, false)],
                want_quorum: true,
            },
            Case {
                name: "hysteresis: up stays up until below quorum - h",
                servers: vec![
                    srv(1, 2, true, false, None),
                    srv(2, 2, false, false, None),
                    srv(3, 2, false, false, None),
                ],
                quorum: 3,
                hysteresis: 1,
                sorry: Some(SORRY),
                was: Some(true),
                want: vec![(1, 2, true, false)],
                want_quorum: true,
            },
            Case {
                name: "hysteresis: down stays down until quorum + h",
                servers: vec![
                    srv(1, 2, true, false, None),
                    srv(2, 1, true, false, None),
                    srv(3, 2, false, false, None),
                ],
                quorum: 3,
                hysteresis: 1,
                sorry: Some(SORRY),
                was: Some(false),
                want: vec![(9, 1, true, true)],
                want_quorum: false,
            },
            Case {
                name: "hysteresis: down goes up at quorum + h",
                servers: vec![
                    srv(1, 2, true, false, None),
                    srv(2, 2, true, false, None),
                    srv(3, 2, false, false, None),
                ],
                quorum: 3,
                hysteresis: 1,
                sorry: Some(SORRY),
                was: Some(false),
                want: vec![(1, 2, true, false), (2, 2, true, false)],
                want_quorum: true,
            },
            Case {
                name: "hysteresis: up goes down below quorum - h",
                servers: vec![
                    srv(1, 1, true, false, None),
                    srv(2, 2, false, false, None),
                    srv(3, 2, false, false, None),
                ],
                quorum: 3,
                hysteresis: 1,
                sorry: None,
                was: Some(true),
                want: vec![(1, 1, true, false)],
                want_quorum: false,
            },
            Case {
                name: "start: quorum must reach quorum + h",
                servers: vec![srv(1, 3, true, false, None), srv(2, 2, false, false, None)],
                quorum: 3,
                hysteresis: 1,
                sorry: Some(SORRY),
                was: None,
                want: vec![(9, 1, true, true)],
                want_quorum: false,
            },
            Case {
                name: "start: all alive",
                servers: vec![srv(1, 3, true, false, None), srv(2, 2, true, false, None)],
                quorum: 3,
                hysteresis: 1,
                sorry: Some(SORRY),
                was: None,
                want: vec![(1, 3, true, false), (2, 2, true, false)],
                want_quorum: true,
            },
            Case {
                name: "quorum above total weight is lowered to it",
                servers: vec![srv(1, 1, true, false, None), srv(2, 1, true, false, None)],
                quorum: 10,
                hysteresis: 0,
                sorry: Some(SORRY),
                was: None,
                want: vec![(1, 1, true, false), (2, 1, true, false)],
                want_quorum: true,
            },
            Case {
                name: "hysteresis >= quorum becomes quorum - 1",
                servers: vec![srv(1, 1, true, false, None), srv(2, 1, false, false, None)],
                quorum: 2,
                hysteresis: 5,
                sorry: Some(SORRY),
                was: Some(true),
                want: vec![(1, 1, true, false)],
                want_quorum: true,
            },
            Case {
                name: "alive servers with total weight 0 lose the quorum",
                servers: vec![srv(1, 1, true, false, Some(0))],
                quorum: 1,
                hysteresis: 0,
                sorry: Some(SORRY),
                was: Some(true),
                want: vec![(9, 1, true, true)],
                want_quorum: false,
            },
            Case {
                name: "no servers at all",
                servers: vec![],
                quorum: 1,
                hysteresis: 0,
                sorry: Some(SORRY_INHIBIT),
                was: None,
                want: vec![(9, 0, true, true)],
                want_quorum: true,
            },
        ];
        for c in cases {
            let e = service_effect(c.quorum, c.hysteresis, c.sorry.as_ref(), &c.servers, c.was);
            assert_eq!(table(&e), c.want, "{}", c.name);
            assert_eq!(e.quorum_up, c.want_quorum, "{}", c.name);
            assert_eq!(
                e.sorry_active,
                !c.want_quorum && c.sorry.is_some(),
                "{}",
                c.name
            );
        }
    }

    #[test]
    fn quorum_transitions_with_hysteresis() {
        let q = QuorumSpec::new(5, 2, 100);
        // (was_up, sum) -> now_up
        let table = [
            (true, 5, true),
            (true, 3, true),
            (true, 2, false),
            (true, 0, false),
            (false, 5, false),
            (false, 6, false),
            (false, 7, true),
            (false, 100, true),
        ];
        for (was, sum, want) in table {
            assert_eq!(q.next(was, sum), want, "was {was} sum {sum}");
        }
        assert!(!q.initially_up(6));
        assert!(q.initially_up(7));
        assert_eq!(
            QuorumSpec::new(0, 3, 10),
            QuorumSpec {
                quorum: 0,
                hysteresis: 0
            }
        );
    }
}
