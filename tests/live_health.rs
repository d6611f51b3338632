//! Health checks in the running director, live: rvsd in the lab's director namespace,
//! checking real servers (Python HTTP servers, a UDP echo, a silent listener, a MISC
//! script) through its kernel-side TAP, with `rvsadm -Ln` showing the effect as
//! keepalived + ipvsadm would. The `FIGURE` lines are the detection and recovery times
//! docs/health-checks.md quotes.
mod live_rvsd;

use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use lab::{Lab, LabSpec, Mode, NodeId};
use live_rvsd::*;

fn rs(n: u8) -> String {
    format!("10.0.0.{}", 10 + n)
}

fn table_of(rvsd: &Rvsd) -> BTreeMap<String, u32> {
    rvsd.table("TCP", "10.0.0.100:80")
}

/// Waits until `-Ln` shows `want` for the service; how long it took.
fn wait_table(
    rvsd: &Rvsd,
    proto: &str,
    service: &str,
    limit: Duration,
    want: &[(&str, u32)],
) -> Duration {
    let want: BTreeMap<String, u32> = want.iter().map(|(a, w)| ((*a).to_string(), *w)).collect();
    wait_for(limit, || rvsd.table(proto, service) == want).unwrap_or_else(|| {
        panic!(
            "{proto} {service}: wanted {want:?}, have {:?}\n{}\n{}",
            rvsd.table(proto, service),
            rvsd.rvsadm(&["--list-checkers", "-n"]).stdout,
            rvsd.log()
        )
    })
}

fn http_servers(lab: &Lab, n: u8, port: u16) -> Vec<lab::ProcessGuard> {
    (1..=n)
        .map(|i| {
            lab.http_server(NodeId::Server(i), port)
                .expect("http server")
        })
        .collect()
}

/// TCP_CHECK on a separate health port (8080) of three servers behind an rr service.
fn tcp_check_service() -> String {
    let mut s = String::from(
        "[[services]]\nprotocol = \"tcp\"\naddress = \"10.0.0.100\"\nport = 80\n\
         scheduler = \"rr\"\nforward = \"dr\"\n\
         [services.check]\ndelay_loop = 1\nwarmup = 0\n",
    );
    for n in 1..=3 {
        s.push_str(&format!(
            "[[services.real_servers]]\naddress = \"{}\"\n\
             [[services.real_servers.checks]]\ntype = \"tcp\"\nconnect_port = 8080\n\
             connect_timeout = 1\nretry = 1\ndelay_before_retry = 1\n",
            rs(n)
        ));
    }
    s
}

#[test]
fn tcp_check_takes_a_dead_server_out_in_time_new_requests_avoid_it_and_it_comes_back() {
    if skip(&[]) {
        return;
    }
    let _g = serial();
    let Some(lab) = lab(LabSpec::new(Mode::Dr).servers(3)) else {
        return;
    };
    let _web = http_servers(&lab, 3, 80);
    let mut health: Vec<Option<lab::ProcessGuard>> =
        http_servers(&lab, 3, 8080).into_iter().map(Some).collect();
    let rvsd = Rvsd::start(&lab, 1, "tcp", &tcp_check_service());
    let all = [(rs(1) + ":80", 1), (rs(2) + ":80", 1), (rs(3) + ":80", 1)];
    let all: Vec<(&str, u32)> = all.iter().map(|(a, w)| (a.as_str(), *w)).collect();
    wait_table(&rvsd, "TCP", "10.0.0.100:80", Duration::from_secs(5), &all);
    // The checks went out through the TAP, from the director's address.
    let line = rvsd
        .checker_line(&format!("{}:80 ", rs(2)))
        .expect("rs2 checker");
    assert!(line.contains("TCP_CHECK") && line.contains("UP"), "{line}");
    assert_eq!(http_burst(&lab, VIP, 80, 9).get("rs2"), Some(&3));

    // Kill rs2's health port: within delay_loop + (retry + 1) x connect + retry x
    // delay_before_retry (1 + 2 + 1 s) it leaves the table.
    let dead = rs(2) + ":80";
    drop(health[1].take());
    let t0 = Instant::now();
    let took = wait_for(Duration::from_secs(6), || {
        !table_of(&rvsd).contains_key(&dead)
    })
    .unwrap_or_else(|| panic!("rs2 still listed: {:?}\n{}", table_of(&rvsd), rvsd.log()));
    figure(
        "TCP_CHECK detection (delay_loop 1, retry 1, delay_before_retry 1)",
        took,
    );
    assert!(took <= Duration::from_millis(4500), "took {took:?}");
    let line = rvsd.checker_line(&format!("{}:80 ", rs(2))).unwrap();
    assert!(line.contains("DOWN"), "{line}");
    assert!(line.contains("connection refused"), "{line}");
    // New connections go to the two others only, alternately.
    let burst = http_burst(&lab, VIP, 80, 10);
    assert_eq!(burst.get("rs2"), None, "{burst:?}");
    assert_eq!(burst.get("rs1"), Some(&5), "{burst:?}");
    assert_eq!(burst.get("rs3"), Some(&5), "{burst:?}");

    // Restore it: back within one delay_loop.
    health[1] = Some(lab.http_server(NodeId::Server(2), 8080).unwrap());
    let took = wait_for(Duration::from_secs(4), || {
        table_of(&rvsd).contains_key(&dead)
    })
    .expect("rs2 back");
    let back = t0.elapsed();
    figure("TCP_CHECK recovery (delay_loop 1)", took);
    assert!(took <= Duration::from_millis(1700), "took {took:?}");
    assert!(back > Duration::ZERO);
    assert_eq!(http_burst(&lab, VIP, 80, 9).get("rs2"), Some(&3));
    let line = rvsd.checker_line(&format!("{}:80 ", rs(2))).unwrap();
    assert!(line.contains("UP") && line.ends_with("ok"), "{line}");
}

/// The time of day (seconds) of the first log line of rvsd containing `needle`
/// (`[2026-11-23T17:36:10.348Z INFO ...]`).
fn log_time(log: &str, needle: &str) -> Option<f64> {
    let line = log.lines().find(|l| l.contains(needle))?;
    let ts = line.get(1..24)?;
    let (_, time) = ts.split_once('T')?;
    let mut parts = time.trim_end_matches('Z').split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// md5("ok\n")
const OK_DIGEST: &str = "eff5bc1ef8ec9d03e640fc4370f5eacd";

const HTTP_SERVER_PY: &str = r#"
import functools, http.server, sys
port, root = int(sys.argv[1]), sys.argv[2]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
handler.log_message = lambda *a: None
srv = http.server.ThreadingHTTPServer(("0.0.0.0", port), handler)
print("ready", flush=True)
srv.serve_forever()
"#;

#[test]
fn http_get_fails_on_status_digest_and_silence_inhibited_servers_keep_weight_zero_and_their_connections()
 {
    if skip(&[]) {
        return;
    }
    let _g = serial();
    let Some(lab) = lab(LabSpec::new(Mode::Dr).servers(3)) else {
        return;
    };
    let _web = http_servers(&lab, 3, 80);
    // rs1, rs2: a static health file served on 8080; rs3: accepts on 8080, never answers.
    let mut docroots = Vec::new();
    let mut _static = Vec::new();
    for n in 1..=2u8 {
        let dir = lab.workdir().join(format!("docroot-{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("health.txt"), "ok\n").unwrap();
        _static.push(helper(
            &lab,
            NodeId::Server(n),
            &format!("static-{n}"),
            HTTP_SERVER_PY,
            &["8080".to_string(), dir.display().to_string()],
        ));
        docroots.push(dir);
    }
    let _silent = silent_server(&lab, NodeId::Server(3), 8080);
    let mut svc = String::from(
        "[[services]]\nprotocol = \"tcp\"\naddress = \"10.0.0.100\"\nport = 80\n\
         scheduler = \"rr\"\nforward = \"dr\"\n\
         [services.check]\ndelay_loop = 1\nwarmup = 0\ninhibit_on_failure = true\n",
    );
    for n in 1..=3 {
        svc.push_str(&format!(
            "[[services.real_servers]]\naddress = \"{}\"\n\
             [[services.real_servers.checks]]\ntype = \"http\"\nconnect_port = 8080\n\
             connect_timeout = 1\nretry = 1\ndelay_before_retry = 0.5\n\
             [[services.real_servers.checks.urls]]\npath = \"/health.txt\"\ndigest = \"{OK_DIGEST}\"\n",
            rs(n)
        ));
    }
    let t_start = Instant::now();
    let rvsd = Rvsd::start(&lab, 1, "http", &svc);
    let (a1, a2, a3) = (rs(1) + ":80", rs(2) + ":80", rs(3) + ":80");

    // The silent server is found out by the timeout: kept at weight 0 (inhibit).
    wait_table(
        &rvsd,
        "TCP",
        "10.0.0.100:80",
        Duration::from_secs(8),
        &[(&a1, 1), (&a2, 1), (&a3, 0)],
    );
    // From the checkers' start to the verdict, by rvsd's own log clock.
    let log = rvsd.log();
    let started = log_time(&log, "checker(s) started").expect("start line");
    let down =
        log_time(&log, "10.0.0.13:80 of TCP 10.0.0.100:80: DOWN (timeout").expect("down line");
    figure(
        "HTTP_GET silent server DOWN after its first check started (connect_timeout 1)",
        Duration::from_secs_f64(down - started),
    );
    assert!(down - started < 2.0, "{log}");
    assert!(t_start.elapsed() > Duration::ZERO);
    let line = rvsd.checker_line(&format!("{}:80 ", rs(3))).unwrap();
    assert!(line.contains("HTTP_GET") && line.contains("DOWN"), "{line}");
    assert!(line.contains("timeout"), "{line}");
    let ok = rvsd.checker_line(&format!("{}:80 ", rs(1))).unwrap();
    assert!(ok.contains("UP") && ok.ends_with("ok"), "{ok}");

    // An established connection to rs1 (HTTP keep-alive through the VIP).
    let ka = loop {
        let ka = KeepAlive::start(&lab, VIP, 80, Duration::from_millis(200));
        if wait_for(Duration::from_secs(3), || !ka.replies().0.is_empty()).is_none() {
            panic!("keep-alive client got no reply");
        }
        if ka.replies().0[0] == "rs1" {
            break ka;
        }
    };

    // rs1's body changes: MD5 digest error → weight 0.
    std::fs::write(docroots[0].join("health.txt"), "changed\n").unwrap();
    let took = wait_table(
        &rvsd,
        "TCP",
        "10.0.0.100:80",
        Duration::from_secs(6),
        &[(&a1, 0), (&a2, 1), (&a3, 0)],
    );
    figure(
        "HTTP_GET digest mismatch detection (delay_loop 1, retry 1, dbr 0.5)",
        took,
    );
    let line = rvsd.checker_line(&format!("{}:80 ", rs(1))).unwrap();
    assert!(line.contains("MD5 digest error"), "{line}");
    // At weight 0 it takes no new connection, but the established one goes on (IPVS keeps
    // an inhibited destination available).
    let (before, _) = ka.replies();
    std::thread::sleep(Duration::from_millis(1000));
    let (after, closed) = ka.replies();
    assert!(!closed, "the established connection was closed");
    assert!(after.len() >= before.len() + 3, "{before:?} -> {after:?}");
    assert!(after.iter().all(|s| s == "rs1"), "{after:?}");
    let burst = http_burst(&lab, VIP, 80, 6);
    assert_eq!(burst.get("rs2"), Some(&6), "{burst:?}");

    // rs2's file disappears: HTTP status code error (404) → weight 0.
    std::fs::remove_file(docroots[1].join("health.txt")).unwrap();
    let took = wait_table(
        &rvsd,
        "TCP",
        "10.0.0.100:80",
        Duration::from_secs(6),
        &[(&a1, 0), (&a2, 0), (&a3, 0)],
    );
    figure("HTTP_GET status mismatch detection", took);
    let line = rvsd.checker_line(&format!("{}:80 ", rs(2))).unwrap();
    assert!(line.contains("HTTP status code error: got 404"), "{line}");

    // Control requests are answered at once while checks hang on the silent server, and
    // the checkers follow the table: a server deleted with rvsadm is no longer checked.
    let t = Instant::now();
    let del = rvsd.rvsadm(&["-d", "-t", "10.0.0.100:80", "-r", &a3]);
    assert_eq!(del.code, 0, "{}", del.stderr);
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "rvsadm -d took {:?}",
        t.elapsed()
    );
    wait_for(Duration::from_secs(2), || {
        rvsd.checker_line(&format!("{}:80 ", rs(3))).is_none()
    })
    .expect("rs3's checker stopped");

    // Both restored: back at their weight.
    std::fs::write(docroots[0].join("health.txt"), "ok\n").unwrap();
    std::fs::write(docroots[1].join("health.txt"), "ok\n").unwrap();
    let took = wait_table(
        &rvsd,
        "TCP",
        "10.0.0.100:80",
        Duration::from_secs(4),
        &[(&a1, 1), (&a2, 1)],
    );
    figure("HTTP_GET recovery (delay_loop 1)", took);
    let burst = http_burst(&lab, VIP, 80, 6);
    assert_eq!(
        (burst.get("rs1"), burst.get("rs2")),
        (Some(&3), Some(&3)),
        "{burst:?}"
    );
}

#[test]
fn misc_check_dynamic_weights_set_the_wrr_distribution() {
    if skip(&[]) {
        return;
    }
    let _g = serial();
    let Some(lab) = lab(LabSpec::new(Mode::Dr).servers(2)) else {
        return;
    };
    let _web = http_servers(&lab, 2, 80);
    let codes: Vec<_> = (1..=2)
        .map(|n| lab.workdir().join(format!("misc-code-{n}")))
        .collect();
    // misc_dynamic: exit 2 + w sets weight w; 0 restores the configured weight; 1 fails.
    std::fs::write(&codes[0], "3").unwrap();
    std::fs::write(&codes[1], "5").unwrap();
    let mut svc = String::from(
        "[[services]]\nprotocol = \"tcp\"\naddress = \"10.0.0.100\"\nport = 80\n\
         scheduler = \"wrr\"\nforward = \"dr\"\n\
         [services.check]\ndelay_loop = 1\nwarmup = 0\n",
    );
    for n in 1..=2 {
        svc.push_str(&format!(
            "[[services.real_servers]]\naddress = \"{}\"\nweight = 2\n\
             [[services.real_servers.checks]]\ntype = \"misc\"\n\
             path = \"/bin/sh -c 'exit $(cat {})'\"\ntimeout = 2\ndynamic = true\n",
            rs(n),
            codes[n as usize - 1].display()
        ));
    }
    let rvsd = Rvsd::start(&lab, 1, "misc", &svc);
    let (a1, a2) = (rs(1) + ":80", rs(2) + ":80");
    wait_table(
        &rvsd,
        "TCP",
        "10.0.0.100:80",
        Duration::from_secs(5),
        &[(&a1, 1), (&a2, 3)],
    );
    // wrr 1:3 over 40 new connections.
    let burst = http_burst(&lab, VIP, 80, 40);
    let (c1, c2) = (burst["rs1"], burst["rs2"]);
    assert!((9..=11).contains(&c1) && c1 + c2 == 40, "{burst:?}");

    // rs1's script now says weight 3: even split.
    std::fs::write(&codes[0], "5").unwrap();
    let took = wait_table(
        &rvsd,
        "TCP",
        "10.0.0.100:80",
        Duration::from_secs(4),
        &[(&a1, 3), (&a2, 3)],
    );
    figure("MISC_CHECK dynamic weight change (delay_loop 1)", took);
    let burst = http_burst(&lab, VIP, 80, 40);
    let (c1, c2) = (burst["rs1"], burst["rs2"]);
    assert!((19..=21).contains(&c1) && c1 + c2 == 40, "{burst:?}");

    // Exit 1: rs2 fails and leaves; exit 0: it comes back at its configured weight.
    std::fs::write(&codes[1], "1").unwrap();
    wait_table(
        &rvsd,
        "TCP",
        "10.0.0.100:80",
        Duration::from_secs(4),
        &[(&a1, 3)],
    );
    assert_eq!(http_burst(&lab, VIP, 80, 5).get("rs1"), Some(&5));
    let line = rvsd.checker_line(&rs(2)).unwrap();
    assert!(
        line.contains("MISC_CHECK") && line.contains("exited with status 1"),
        "{line}"
    );
    std::fs::write(&codes[1], "0").unwrap();
    wait_table(
        &rvsd,
        "TCP",
        "10.0.0.100:80",
        Duration::from_secs(4),
        &[(&a1, 3), (&a2, 2)],
    );
}

#[test]
fn udp_check_failures_bring_the_sorry_server_in_and_recovery_takes_it_out() {
    if skip(&[]) {
        return;
    }
    let _g = serial();
    let Some(lab) = lab(LabSpec::new(Mode::Dr).servers(3)) else {
        return;
    };
    let mut echoes: Vec<Option<lab::ProcessGuard>> = (1..=3)
        .map(|n| Some(udp_echo(&lab, NodeId::Server(n), &format!("rs{n}"), 7000)))
        .collect();
    let mut svc = String::from(
        "[[services]]\nprotocol = \"udp\"\naddress = \"10.0.0.100\"\nport = 7000\n\
         scheduler = \"rr\"\nforward = \"dr\"\n\
         [services.check]\ndelay_loop = 1\nwarmup = 0\n\
         [services.sorry_server]\naddress = \"10.0.0.13\"\nport = 7000\n",
    );
    for n in 1..=2 {
        svc.push_str(&format!(
            "[[services.real_servers]]\naddress = \"{}\"\n\
             [[services.real_servers.checks]]\ntype = \"udp\"\nconnect_timeout = 1\n\
             retry = 1\ndelay_before_retry = 0.5\n",
            rs(n)
        ));
    }
    let rvsd = Rvsd::start(&lab, 1, "udp", &svc);
    let (a1, a2, sorry) = (rs(1) + ":7000", rs(2) + ":7000", rs(3) + ":7000");
    let service = "10.0.0.100:7000";
    wait_table(
        &rvsd,
        "UDP",
        service,
        Duration::from_secs(5),
        &[(&a1, 1), (&a2, 1)],
    );
    let ask = || -> String {
        let d = lab
            .udp_exchange(
                NodeId::Client,
                SocketAddrV4::new(VIP, 7000),
                b"hello",
                Duration::from_secs(2),
            )
            .expect("an answer");
        String::from_utf8_lossy(&d.data).into_owned()
    };
    let answers: Vec<String> = (0..4).map(|_| ask()).collect();
    assert!(
        answers.iter().all(|a| a == "hello rs1" || a == "hello rs2"),
        "{answers:?}"
    );

    // Both echoes stop: ICMP port unreachable fails both checks, the quorum is lost and
    // the sorry server serves (weight 1); new flows reach it.
    drop(echoes[0].take());
    drop(echoes[1].take());
    let took = wait_table(
        &rvsd,
        "UDP",
        service,
        Duration::from_secs(6),
        &[(&sorry, 1)],
    );
    figure(
        "UDP_CHECK detection to sorry server (delay_loop 1, retry 1, dbr 0.5)",
        took,
    );
    let line = rvsd.checker_line(&a1).unwrap();
    assert!(
        line.contains("UDP_CHECK") && line.contains("port unreachable"),
        "{line}"
    );
    assert!(rvsd.log().contains("quorum lost"), "{}", rvsd.log());
    assert_eq!(ask(), "hello rs3");

    // rs1 answers again: quorum back, the sorry server leaves.
    echoes[0] = Some(udp_echo(&lab, NodeId::Server(1), "rs1", 7000));
    let took = wait_table(&rvsd, "UDP", service, Duration::from_secs(4), &[(&a1, 1)]);
    figure("UDP_CHECK recovery, sorry server out (delay_loop 1)", took);
    assert_eq!(ask(), "hello rs1");
}

/// A real server the health checker removes (keepalived's action without
/// inhibit_on_failure) keeps its established connections until they end, by the project's
/// requirement ("a removed or weight-0 real server keeps its existing connections until
/// they end"): the dataplane keeps forwarding them while new connections avoid it. IPVS
/// with `expire_nodest_conn` = 0 (the default) silently drops their packets instead;
/// docs/health-checks.md ("Differences from keepalived + IPVS") says why rvs differs.
#[test]
fn an_established_connection_to_a_removed_server_keeps_getting_answers() {
    if skip(&[]) {
        return;
    }
    let _g = serial();
    let Some(lab) = lab(LabSpec::new(Mode::Dr).servers(3)) else {
        return;
    };
    let _web = http_servers(&lab, 3, 80);
    let mut health: Vec<Option<lab::ProcessGuard>> =
        http_servers(&lab, 3, 8080).into_iter().map(Some).collect();
    let rvsd = Rvsd::start(&lab, 1, "nodest", &tcp_check_service());
    let all = [(rs(1) + ":80", 1), (rs(2) + ":80", 1), (rs(3) + ":80", 1)];
    let all: Vec<(&str, u32)> = all.iter().map(|(a, w)| (a.as_str(), *w)).collect();
    wait_table(&rvsd, "TCP", "10.0.0.100:80", Duration::from_secs(5), &all);
    let ka = KeepAlive::start(&lab, VIP, 80, Duration::from_millis(200));
    wait_for(Duration::from_secs(3), || !ka.replies().0.is_empty()).expect("a reply");
    let who = ka.replies().0[0].clone();
    let n: u8 = who.trim_start_matches("rs").parse().unwrap();

    // Its health port dies: the checker takes it out of the table (no inhibit_on_failure).
    drop(health[usize::from(n) - 1].take());
    let gone = rs(n) + ":80";
    wait_for(Duration::from_secs(6), || {
        !table_of(&rvsd).contains_key(&gone)
    })
    .unwrap_or_else(|| panic!("{gone} still listed: {:?}\n{}", table_of(&rvsd), rvsd.log()));
    let line = rvsd.checker_line(&format!("{gone} ")).expect("its checker");
    assert!(line.contains("DOWN"), "{line}");

    // The established connection goes on being answered by the removed server ...
    let (before, closed) = ka.replies();
    assert!(!closed, "the connection ended when its server was removed");
    std::thread::sleep(Duration::from_millis(2000));
    let (after, closed) = ka.replies();
    assert!(!closed, "the connection to the removed {who} was closed");
    assert!(
        after.len() >= before.len() + 5,
        "the connection to the removed {who} stalled: {} replies before, {} after 2 s",
        before.len(),
        after.len()
    );
    assert!(
        after.iter().all(|s| *s == who),
        "replies from another server: {after:?}"
    );
    // ... while new connections go to the two servers left.
    let burst = http_burst(&lab, VIP, 80, 6);
    assert_eq!(burst.get(&who), None, "{burst:?}");
    assert_eq!(burst.values().sum::<u32>(), 6, "{burst:?}");
    assert_eq!(burst.get("error"), None, "{burst:?}");
}
