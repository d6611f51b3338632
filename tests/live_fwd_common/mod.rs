//! The live forwarding tests' harness: a lab in network namespaces (client behind a router,
//! rvs on a DPDK `net_af_packet` port on a veth, two real servers prepared for the mode),
//! real clients (curl, wrk, UDP) and real servers (nginx, the lab's UDP echo), and the
//! checks every mode shares. Each `tests/live_fwd_<mode>.rs` is one test: one lab, one
//! rvsd, every phase of [`scenario`] in turn, plus what only that mode has.
//!
//! Tests run as root only (namespaces, DPDK); otherwise they print `skipped: ...` and pass.
//! Labs have unique names and are removed when the test ends, also when it fails.

#![allow(dead_code)]

pub mod case;
pub mod director;
pub mod ledger;
pub mod listing;
pub mod packet;
pub mod scenario;
pub mod web;

use std::collections::BTreeMap;

use lab::{Lab, LabSpec, Mode, Nginx, NodeId, ProcessGuard};

use case::{Case, LADDR};
use director::{Director, rvsadm_binary};

/// The real servers' processes, stopped when dropped.
pub struct Servers {
    _guards: Vec<ProcessGuard>,
    /// FULLNAT: nginx behind a PROXY protocol listener, per real server (1-based order).
    pub proxied: Vec<Nginx>,
}

impl Servers {
    /// Starts, on rs1 and rs2, the mode's web server on its port and the UDP echo; in
    /// FULLNAT the web server is nginx with `listen ... proxy_protocol`, and rs1 also gets a
    /// plain one on port 80 for the TOA service.
    pub fn start(lab: &Lab, case: Case) -> Servers {
        let mut guards = Vec::new();
        let mut proxied = Vec::new();
        for n in [1u8, 2] {
            let node = NodeId::Server(n);
            if case.mode == Mode::FullNat {
                proxied.push(
                    lab.nginx_proxy_protocol(node, case.web_port())
                        .expect("nginx with proxy_protocol"),
                );
            } else {
                guards.push(web::nginx_echo(lab, node, case.web_port()).expect("nginx"));
            }
            guards.push(lab.udp_echo(node, case.udp_port()).expect("UDP echo"));
        }
        if case.mode == Mode::FullNat {
            guards.push(web::nginx_echo(lab, NodeId::Server(1), 80).expect("nginx"));
        }
        Servers {
            _guards: guards,
            proxied,
        }
    }
}

/// The lab and rvsd of one mode, or `None` (after printing why) when the test cannot run
/// here: not root, or rvsadm not built.
pub fn setup(mode: Mode) -> Option<(Lab, Servers, Director)> {
    let Some(rvsadm) = rvsadm_binary() else {
        println!("skipped: rvsadm is not built next to rvsd (cargo test --workspace)");
        return None;
    };
    let lab = Lab::up_or_skip(LabSpec::new(mode).servers(2)).expect("lab up")?;
    let servers = Servers::start(&lab, Case { mode });
    let director = Director::start(&lab, rvsadm);
    Some((lab, servers, director))
}

/// Every shared phase for `mode`; `client_view` as in
/// [`scenario::rr_traffic_and_stats`]. Prints and returns wrk's requests/s.
pub fn run_phases(
    lab: &Lab,
    d: &Director,
    mode: Mode,
    client_view: impl FnOnce(&BTreeMap<u8, Vec<u16>>),
) -> f64 {
    let case = Case { mode };
    let rr = scenario::rr_traffic_and_stats(lab, d, case, client_view);
    scenario::wrr_two_to_one(lab, d, case);
    scenario::sh_keeps_the_client(lab, d, case);
    scenario::persistence_holds_then_expires(lab, d, case);
    println!(
        "{mode}: wrk {:.0} requests/s ({} requests, {} packets from the client counted)",
        rr.wrk.requests_per_sec, rr.wrk.requests, rr.sent_packets
    );
    rr.wrk.requests_per_sec
}

/// FULLNAT: nginx on each real server learnt the real client from the PROXY v2 header:
/// every logged request names 10.9.0.2 as `$proxy_protocol_addr` and came from the local
/// address, and each curl's port is logged by the server that answered it.
pub fn check_proxy_logs(servers: &Servers, ports_by_server: &BTreeMap<u8, Vec<u16>>) {
    for (i, nginx) in servers.proxied.iter().enumerate() {
        let n = u8::try_from(i + 1).expect("server number");
        let log = nginx.access_log().expect("nginx access log");
        assert!(!log.is_empty(), "rs{n}'s nginx logged nothing");
        for line in &log {
            assert_eq!(line.proxy_addr, Some(lab::plan::CLIENT_ADDR), "{line:?}");
            assert_eq!(line.remote_addr, LADDR, "{line:?}");
            assert_eq!(line.server_addr, lab::plan::server_addr(n), "{line:?}");
        }
        for port in ports_by_server.get(&n).into_iter().flatten() {
            assert!(
                log.iter().any(|l| l.proxy_port == Some(*port)),
                "rs{n} answered curl from port {port} but did not log it: {log:?}"
            );
        }
    }
}
