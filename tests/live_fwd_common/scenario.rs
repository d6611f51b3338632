//! The phases every mode goes through, each on fresh services configured with rvsadm:
//!
//! 1. `rr`: curl and UDP answers alternate between the two real servers and show the
//!    mode's view of the client; what reached real server 1 is the mode's rewrite; a short
//!    wrk run gets only 2xx answers; then `-Ln --stats --exact` equals what the client's
//!    capture counted, per service and per real server.
//! 2. `wrr` with weights 2 and 1: exactly 2:1 over nine sequential requests.
//! 3. `sh`: one client stays on one server.
//! 4. persistence: TCP with `-p` stays on one server under `rr`; UDP with `-p 2` and a
//!    one-second UDP timeout stays on one server, and once the template has expired the
//!    next datagram is scheduled again (`rr` moves on to the other server).

use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use lab::plan::{CLIENT_ADDR, server_addr};
use lab::{Lab, NodeId, WrkReport};

use super::case::{Case, HTTP_PORT, LADDR, UDP_PORT, VIP};
use super::director::Director;
use super::ledger::{self, Ledger};
use super::listing::{self, Proto, ServiceKey};

/// Sequential requests per distribution check (a multiple of 3, for wrr 2:1).
const REQUESTS: usize = 9;
/// UDP exchanges in the rr phase.
const DATAGRAMS: usize = 4;
/// The short wrk run.
const WRK_SECONDS: u64 = 2;
const WRK_CONNECTIONS: u32 = 4;

pub fn tcp_service() -> ServiceKey {
    ServiceKey {
        proto: Proto::Tcp,
        vip: SocketAddrV4::new(VIP, HTTP_PORT),
    }
}

pub fn udp_service() -> ServiceKey {
    ServiceKey {
        proto: Proto::Udp,
        vip: SocketAddrV4::new(VIP, UDP_PORT),
    }
}

/// `-A` for `service` with `sched` (and `extra` options), FULLNAT's local address, and the
/// two real servers with `weights`.
pub fn add_service(
    d: &Director,
    case: Case,
    service: ServiceKey,
    sched: &str,
    extra: &[&str],
    weights: [u32; 2],
) {
    let vip = service.vip.to_string();
    let flag = service.proto.flag();
    let udp = service.proto == Proto::Udp;
    let mut add = vec!["-A", flag, &vip, "-s", sched];
    add.extend_from_slice(extra);
    add.extend_from_slice(case.service_options(udp));
    d.adm(&add);
    if case.mode == lab::Mode::FullNat {
        d.adm(&["-P", flag, &vip, "-z", &LADDR.to_string()]);
    }
    let port = if udp {
        case.udp_port()
    } else {
        case.web_port()
    };
    for (n, weight) in [1u8, 2].into_iter().zip(weights) {
        let rs = SocketAddrV4::new(server_addr(n), port).to_string();
        let w = weight.to_string();
        d.adm(&["-a", flag, &vip, "-r", &rs, case.method(), "-w", &w]);
    }
}

fn url() -> String {
    format!("http://{VIP}:{HTTP_PORT}/")
}

/// `n` sequential curls; the answering server of each, checked by the mode.
fn curls(lab: &Lab, case: Case, n: usize) -> Vec<(u8, u16)> {
    (0..n)
        .map(|_| {
            let reply = lab.curl(NodeId::Client, &url()).expect("curl through rvs");
            let port = reply.local.map_or(0, |a| a.port());
            (case.check_http(&reply), port)
        })
        .collect()
}

/// `n` UDP exchanges, each from a new socket; the answering server and the client port of
/// each.
fn datagrams(lab: &Lab, case: Case, n: usize) -> Vec<(u8, u16)> {
    (0..n)
        .map(|i| {
            let payload = format!("datagram {i}");
            let reply = lab
                .udp_exchange(
                    NodeId::Client,
                    udp_service().vip,
                    payload.as_bytes(),
                    Duration::from_secs(3),
                )
                .expect("UDP answer through rvs");
            (case.check_udp(&reply), reply.local.port())
        })
        .collect()
}

fn assert_alternates(what: &str, servers: &[u8]) {
    assert!(
        servers.windows(2).all(|w| w.first() != w.get(1)),
        "{what}: rr must alternate: {servers:?}"
    );
    assert!(servers.contains(&1) && servers.contains(&2), "{servers:?}");
}

/// What the rr phase measured.
pub struct RrOutcome {
    pub wrk: WrkReport,
    pub sent_packets: u64,
}

/// Phase 1 (see the module doc). `check_client_view` runs after the traffic with the curl
/// ports per answering server, for what only the mode knows how to check (FULLNAT: nginx's
/// access log).
pub fn rr_traffic_and_stats(
    lab: &Lab,
    d: &Director,
    case: Case,
    check_client_view: impl FnOnce(&BTreeMap<u8, Vec<u16>>),
) -> RrOutcome {
    add_service(d, case, tcp_service(), "rr", &[], [1, 1]);
    add_service(d, case, udp_service(), "rr", &[], [1, 1]);
    let client_if = lab
        .node(NodeId::Client)
        .expect("client")
        .ifname()
        .to_owned();
    let rs1_if = lab
        .node(NodeId::Server(1))
        .expect("rs1")
        .ifname()
        .to_owned();
    let ledger_capture = lab
        .capture(NodeId::Client, &client_if, &format!("host {VIP}"))
        .expect("capture on the client");
    let rs1_capture = lab
        .capture(NodeId::Server(1), &rs1_if, "ip")
        .expect("capture on rs1");

    let answered = curls(lab, case, REQUESTS);
    let servers: Vec<u8> = answered.iter().map(|(s, _)| *s).collect();
    assert_alternates("curl", &servers);
    let udp: Vec<u8> = datagrams(lab, case, DATAGRAMS)
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_alternates("UDP", &udp);
    let mut ports_by_server: BTreeMap<u8, Vec<u16>> = BTreeMap::new();
    for (server, port) in &answered {
        ports_by_server.entry(*server).or_default().push(*port);
    }

    let rs1_frames = rs1_capture
        .stop()
        .expect("rs1 capture")
        .frames()
        .expect("read");
    case.check_server_side(
        &rs1_frames,
        ports_by_server.get(&1).map_or(&[][..], Vec::as_slice),
    );

    let wrk = lab
        .wrk(
            NodeId::Client,
            &url(),
            Duration::from_secs(WRK_SECONDS),
            WRK_CONNECTIONS,
        )
        .expect("wrk through rvs");
    assert!(wrk.requests > 0, "{wrk:?}");
    assert_eq!((wrk.socket_errors, wrk.non_2xx_3xx), (0, 0), "{wrk:?}");

    // The connection table first (entries of closed connections expire), then the capture.
    let conns = d.conns();
    let capture = ledger_capture.stop().expect("client capture");
    assert_eq!(capture.dropped, 0, "the client capture is incomplete");
    let frames = capture.frames().expect("read capture");
    let ledger = Ledger::from_capture(&frames, CLIENT_ADDR, &[tcp_service(), udp_service()]);
    for (server, port) in &answered {
        assert_eq!(
            ledger::dest_of(&conns, tcp_service(), *port).map(|a| *a.ip()),
            Some(server_addr(*server)),
            "-Lnc puts curl's connection from port {port} where rs{server} answered it"
        );
    }
    check_client_view(&ports_by_server);

    let listed = d.stats();
    let want = ledger
        .expected(&listed, &conns, case.replies_cross_director())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        listed == want,
        "-Ln --stats --exact differs from the client's capture:\n{}",
        listing::differences(&listed, &want)
    );
    let tcp = want
        .services
        .get(&tcp_service())
        .copied()
        .unwrap_or_default();
    assert!(
        tcp.conns > REQUESTS as u64,
        "curl and wrk connections: {tcp:?}"
    );
    d.adm(&["-C"]);
    RrOutcome {
        wrk,
        sent_packets: ledger.sent_packets(),
    }
}

/// Phase 2: wrr 2:1.
pub fn wrr_two_to_one(lab: &Lab, d: &Director, case: Case) {
    add_service(d, case, tcp_service(), "wrr", &[], [2, 1]);
    let answered = curls(lab, case, REQUESTS);
    let ones = answered.iter().filter(|(s, _)| *s == 1).count();
    assert_eq!(
        (ones, REQUESTS - ones),
        (REQUESTS * 2 / 3, REQUESTS / 3),
        "wrr 2:1 over {REQUESTS} requests: {answered:?}"
    );
    d.adm(&["-C"]);
}

/// Phase 3: sh keeps the client on one server.
pub fn sh_keeps_the_client(lab: &Lab, d: &Director, case: Case) {
    add_service(d, case, tcp_service(), "sh", &[], [1, 1]);
    let answered = curls(lab, case, REQUESTS);
    let first = answered.first().map(|(s, _)| *s);
    assert!(
        answered.iter().all(|(s, _)| Some(*s) == first),
        "sh: one client, one server: {answered:?}"
    );
    d.adm(&["-C"]);
}

/// Phase 4: persistence holds for its timeout, and a UDP template expires.
pub fn persistence_holds_then_expires(lab: &Lab, d: &Director, case: Case) {
    add_service(d, case, tcp_service(), "rr", &["-p", "30"], [1, 1]);
    let answered = curls(lab, case, REQUESTS / 3 * 2);
    let first = answered.first().map(|(s, _)| *s);
    assert!(
        answered.iter().all(|(s, _)| Some(*s) == first),
        "TCP persistence under rr: one server: {answered:?}"
    );

    // UDP: 1 s connection timeout, 2 s persistence.
    d.adm(&["--set", "0", "0", "1"]);
    add_service(d, case, udp_service(), "rr", &["-p", "2"], [1, 1]);
    let held = datagrams(lab, case, 3);
    assert!(
        held.windows(2)
            .all(|w| w.first().map(|h| h.0) == w.get(1).map(|h| h.0)),
        "UDP persistence under rr: one server: {held:?}"
    );
    let sent = Instant::now();
    let ports: Vec<u16> = held.iter().map(|(_, p)| *p).collect();
    wait_for_expiry(d, &ports);
    assert!(
        sent.elapsed() >= Duration::from_secs(2),
        "the template went before its 2 s: {:?}",
        sent.elapsed()
    );
    let after = datagrams(lab, case, 1);
    assert_ne!(
        after.first().map(|h| h.0),
        held.first().map(|h| h.0),
        "after the template expired rr schedules again, to the other server"
    );
    d.adm(&["-C"]);
    d.adm(&["--set", "0", "0", "300"]);
}

/// Waits (at most 15 s) until `-Lnc` lists neither the UDP connections from client
/// `ports` nor a UDP persistence template (client port 0) to the VIP. Connections of the
/// rr phase may still be listed: they belong to a removed service and keep its timeout.
fn wait_for_expiry(d: &Director, ports: &[u16]) {
    let start = Instant::now();
    loop {
        let left: Vec<_> = d
            .conns()
            .into_iter()
            .filter(|e| e.proto == Proto::Udp && e.vip == udp_service().vip)
            .filter(|e| e.client.port() == 0 || ports.contains(&e.client.port()))
            .collect();
        if left.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "UDP entries did not expire: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
