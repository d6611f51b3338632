//! The `rvsadm` binary against a fake daemon: add/edit/delete flows, the `-S | -R` round
//! trip, FULLNAT and director commands, and the error paths the goldens cannot show
//! (what the daemon refuses, a daemon that is not there, a socket the caller may not open).

mod common;

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use common::fake_daemon::{Access, FakeDaemon, State};
use common::golden_dir;
use proto::{
    CheckerStatus, Counter, ErrorKind, Forward, NeighInfo, NeighSpec, Protocol, Request,
    ServiceKey, VrrpStatus,
};

struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

fn rvsadm_at(socket: &std::path::Path, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rvsadm"))
        .arg0("ipvsadm")
        .args(args)
        .env("RVS_SOCKET", socket)
        .env("RVSADM_SERVICES", golden_dir().join("services"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rvsadm");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin");
    let out = child.wait_with_output().expect("wait");
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

fn rvsadm(d: &FakeDaemon, args: &[&str]) -> Run {
    rvsadm_at(d.socket(), args, "")
}

fn ok(d: &FakeDaemon, args: &[&str]) -> String {
    let r = rvsadm(d, args);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (0, ""),
        "rvsadm {args:?} failed"
    );
    r.stdout
}

fn tcp(addr: &str) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: addr.parse().unwrap(),
    }
}

#[test]
fn add_edit_delete_flow() {
    let d = FakeDaemon::start(State::default());
    ok(&d, &["-A", "-t", "10.0.0.1:80", "-s", "wrr"]);
    ok(
        &d,
        &[
            "-a",
            "-t",
            "10.0.0.1:80",
            "-r",
            "10.0.1.1:8080",
            "-m",
            "-w",
            "2",
        ],
    );
    ok(&d, &["-a", "-t", "10.0.0.1:80", "-r", "10.0.1.2", "-g"]);
    ok(
        &d,
        &[
            "-e",
            "-t",
            "10.0.0.1:80",
            "-r",
            "10.0.1.1:8080",
            "-m",
            "-w",
            "5",
            "-x",
            "100",
            "-y",
            "10",
        ],
    );
    ok(
        &d,
        &[
            "-E",
            "-t",
            "10.0.0.1:80",
            "-s",
            "sh",
            "-b",
            "sh-port",
            "-p",
            "120",
            "-M",
            "24",
        ],
    );
    assert_eq!(
        ok(&d, &["-S", "-n"]),
        "-A -t 10.0.0.1:80 -s sh -p 120 -M 255.255.255.0 -b sh-port\n\
         -a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m -w 5\n\
         -a -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 1\n"
    );
    assert_eq!(
        ok(&d, &["-Ln", "--thresholds"]).lines().nth(4).unwrap(),
        "  -> 10.0.1.1:8080                100        10         0          0         "
    );
    {
        let s = d.state();
        let svc = &s.services[0];
        assert_eq!(svc.spec.sched_flags, vec!["sh-port".to_string()]);
        assert_eq!(svc.spec.netmask, 24);
        assert_eq!(svc.dests[0].spec.upper, 100);
    }
    ok(&d, &["-d", "-t", "10.0.0.1:80", "-r", "10.0.1.2"]);
    ok(&d, &["-D", "-t", "10.0.0.1:80"]);
    assert_eq!(ok(&d, &["-S", "-n"]), "");
    assert!(d.state().services.is_empty());
}

#[test]
fn save_clear_restore_save_is_identical() {
    for state in [
        "list-n",
        "src-tunnel-save",
        "src-ipv6-save",
        "src-fullnat-save",
        "sorting",
    ] {
        let s = common::load(state);
        let d = FakeDaemon::start(State {
            services: s.table.services.clone(),
            ..State::default()
        });
        let saved = ok(&d, &["-S", "-n"]);
        assert!(!saved.is_empty());
        ok(&d, &["-C"]);
        assert_eq!(ok(&d, &["-S", "-n"]), "");
        let r = rvsadm_at(d.socket(), &["-R"], &saved);
        assert_eq!(
            (r.code, r.stderr.as_str()),
            (0, ""),
            "{state}: restore failed"
        );
        assert_eq!(ok(&d, &["-S", "-n"]), saved, "{state}: round trip differs");
        // The restore went over as a single batch.
        let batches = d
            .state()
            .log
            .iter()
            .filter(|r| matches!(r, Request::Batch { .. }))
            .count();
        assert_eq!(batches, 1, "{state}");
    }
}

#[test]
fn the_named_form_of_save_restores_too() {
    let s = common::load("save-names");
    let d = FakeDaemon::start(State {
        services: s.table.services.clone(),
        ..State::default()
    });
    let numeric = ok(&d, &["-S", "-n"]);
    let named = ok(&d, &["-S"]);
    assert!(named.contains(":http "), "{named}");
    ok(&d, &["-C"]);
    let r = rvsadm_at(d.socket(), &["-R"], &named);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert_eq!(ok(&d, &["-S", "-n"]), numeric);
}

#[test]
fn a_failing_restore_changes_nothing() {
    let d = FakeDaemon::start(State::default());
    ok(&d, &["-A", "-t", "10.0.0.1:80"]);
    let before = ok(&d, &["-S", "-n"]);
    // The third line fails at the daemon (the service exists): nothing is applied.
    let input = "-A -t 10.0.0.2:80\n-a -t 10.0.0.2:80 -r 10.0.1.1\n-A -t 10.0.0.1:80\n";
    let r = rvsadm_at(d.socket(), &["-R"], input);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (255, "Service already exists\n")
    );
    assert_eq!(ok(&d, &["-S", "-n"]), before);
    // The error is worded for the failing line's command, as ipvsadm prints it for that
    // line: a missing service is "Service not defined" to -a (and "No such service" to -D).
    let input = "-A -t 10.0.0.2:80\n-a -t 10.0.0.9:80 -r 10.0.1.1\n-D -t 10.0.0.8:80\n";
    let r = rvsadm_at(d.socket(), &["-R"], input);
    assert_eq!((r.code, r.stderr.as_str()), (255, "Service not defined\n"));
    let input = "-A -t 10.0.0.2:80\n-D -t 10.0.0.8:80\n";
    let r = rvsadm_at(d.socket(), &["-R"], input);
    assert_eq!((r.code, r.stderr.as_str()), (255, "No such service\n"));
    let input = "-A -t 10.0.0.2:80\n-d -t 10.0.0.1:80 -r 10.0.1.9\n";
    let r = rvsadm_at(d.socket(), &["-R"], input);
    assert_eq!((r.code, r.stderr.as_str()), (255, "No such destination\n"));
    assert_eq!(ok(&d, &["-S", "-n"]), before);
    // A line that does not parse: nothing is even sent.
    let sent = d.state().log.len();
    let r = rvsadm_at(
        d.socket(),
        &["-R"],
        "-A -t 10.0.0.3:80\n-A -t 10.0.0.4:80 -s\n",
    );
    assert_eq!((r.code, r.stderr.as_str()), (255, "-s: missing argument\n"));
    assert_eq!(d.state().log.len(), sent);
    // Comments and blank lines are skipped; listings are refused.
    let r = rvsadm_at(d.socket(), &["-R"], "# saved\n\n-L -n\n");
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        "line 3: only commands that change the table can be restored: -L -n\n"
    );
}

#[test]
fn fullnat_local_addresses() {
    let d = FakeDaemon::start(State::default());
    ok(
        &d,
        &[
            "-A",
            "-t",
            "10.0.0.1:80",
            "-s",
            "rr",
            "--client-addr",
            "proxy-v2",
        ],
    );
    ok(
        &d,
        &[
            "-a",
            "-t",
            "10.0.0.1:80",
            "-r",
            "10.0.1.1:8080",
            "--fullnat",
        ],
    );
    ok(&d, &["-P", "-t", "10.0.0.1:80", "-z", "10.0.2.2"]);
    ok(
        &d,
        &["--add-laddr", "-t", "10.0.0.1:80", "--laddr", "10.0.2.1"],
    );
    assert_eq!(
        ok(&d, &["-G", "-n"]),
        "Prot VIP:VPORT              TOTAL    LADDR\n\
         TCP  10.0.0.1:80            2\n\
         \x20                                    10.0.2.1\n\
         \x20                                    10.0.2.2\n"
    );
    assert!(
        ok(&d, &["-Ln"])
            .contains("  -> 10.0.1.1:8080                FullNat 1      0          0         \n")
    );
    assert_eq!(
        ok(&d, &["-S", "-n"]),
        "-A -t 10.0.0.1:80 -s rr --client-addr proxy-v2\n\
         -a -t 10.0.0.1:80 -r 10.0.1.1:8080 --fullnat -w 1\n\
         -P -t 10.0.0.1:80 -z 10.0.2.1\n\
         -P -t 10.0.0.1:80 -z 10.0.2.2\n"
    );
    ok(&d, &["-Q", "-t", "10.0.0.1:80", "-z", "10.0.2.2"]);
    assert_eq!(
        d.state().services[0].local_addrs,
        vec!["10.0.2.1".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(
        d.state().services[0].dests[0].spec.forward,
        Forward::FullNat
    );
    // Removing one that is not there: the daemon's own words.
    let r = rvsadm(&d, &["--del-laddr", "-t", "10.0.0.1:80", "-z", "10.0.2.9"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (255, "no such local address\n")
    );
    let r = rvsadm(&d, &["-P", "-t", "10.0.0.1:80"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            2,
            "You need to supply the 'local-address' option for the 'add-laddr' command\n"
        )
    );
    let r = rvsadm(&d, &["-P", "-t", "10.0.0.9:80", "-z", "10.0.2.2"]);
    assert_eq!((r.code, r.stderr.as_str()), (255, "No such service\n"));
}

#[test]
fn director_addresses_routes_and_neighbours() {
    let d = FakeDaemon::start(State::default());
    ok(&d, &["--add-addr", "dpdk0", "10.0.0.1/24"]);
    ok(&d, &["--add-addr", "dpdk1", "2001:db8::1/64"]);
    ok(&d, &["--add-route", "0.0.0.0/0", "dpdk0", "10.0.0.254"]);
    ok(&d, &["--add-route", "10.9.0.0/16", "dpdk0"]);
    ok(
        &d,
        &["--add-neigh", "dpdk0", "10.0.0.254", "52:54:00:12:34:56"],
    );
    assert_eq!(
        ok(&d, &["--list-addrs"]),
        "10.0.0.1/24 dev dpdk0\n2001:db8::1/64 dev dpdk1\n"
    );
    assert_eq!(
        ok(&d, &["--list-routes"]),
        "0.0.0.0/0 via 10.0.0.254 dev dpdk0\n10.9.0.0/16 dev dpdk0\n"
    );
    assert_eq!(
        ok(&d, &["--list-neighs"]),
        "10.0.0.254 dev dpdk0 lladdr 52:54:00:12:34:56 PERMANENT static\n"
    );
    ok(&d, &["--del-neigh", "dpdk0", "10.0.0.254"]);
    ok(&d, &["--del-route", "10.9.0.0/16", "dpdk0"]);
    ok(&d, &["--del-addr", "dpdk1", "2001:db8::1/64"]);
    {
        let s = d.state();
        assert!(s.neighs.is_empty());
        assert_eq!(s.routes.len(), 1);
        assert_eq!(s.addresses.len(), 1);
    }
    let r = rvsadm(&d, &["--del-addr", "dpdk1", "2001:db8::1/64"]);
    assert_eq!((r.code, r.stderr.as_str()), (255, "no such address\n"));
    let r = rvsadm(&d, &["--add-addr", "dpdk0"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            2,
            "--add-addr option requires 2 values: port address/prefix\n"
        )
    );
    let r = rvsadm(&d, &["--add-addr", "dpdk0", "10.0.0.1/33"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (2, "illegal address/prefix `10.0.0.1/33' specified\n")
    );
    let r = rvsadm(
        &d,
        &["--add-neigh", "dpdk0", "10.0.0.2", "zz:54:00:12:34:56"],
    );
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (2, "illegal MAC address `zz:54:00:12:34:56' specified\n")
    );
    let r = rvsadm(&d, &["--list-routes", "-n"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            2,
            "Illegal 'numeric' option with the 'list-routes' command\n"
        )
    );
    let r = rvsadm(
        &d,
        &["--add-route", "10.9.0.0/16", "dpdk0", "10.0.0.1", "extra"],
    );
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (2, "unexpected argument extra\n")
    );
}

#[test]
fn status_listings() {
    let d = FakeDaemon::start(State {
        checkers: vec![CheckerStatus {
            service: tcp("10.0.0.1:80"),
            dest: "10.0.1.1:80".parse().unwrap(),
            kind: "TCP_CHECK".into(),
            healthy: true,
            last_latency_ms: Some(1),
            reason: "ok".into(),
            age_s: Some(2),
            checks: 10,
            failures: 0,
        }],
        vrrp: vec![VrrpStatus {
            name: "VI_1".into(),
            vrid: 51,
            interface: "dpdk0".into(),
            state: "MASTER".into(),
            priority: 150,
            effective_priority: 150,
            version: 2,
            virtual_addrs: vec!["10.0.0.100".parse().unwrap()],
            master_addr: Some("10.0.0.2".parse().unwrap()),
            adverts_sent: 12,
            adverts_received: 0,
            adverts_dropped: 1,
        }],
        counters: vec![Counter {
            name: "drop_no_route".into(),
            value: 3,
        }],
        ..State::default()
    });
    let checkers = ok(&d, &["--list-checkers", "-n"]);
    assert_eq!(
        checkers.lines().nth(1).unwrap(),
        "TCP  10.0.0.1:80            10.0.1.1:80                 TCP_CHECK  UP          1ms     2s       10        0 ok"
    );
    assert_eq!(
        ok(&d, &["--list-vrrp"]),
        "VRRP instance VI_1: MASTER\n  vrid 51, interface dpdk0, version 2\n  priority 150, effective 150\n  master 10.0.0.2\n  virtual addresses 10.0.0.100\n  adverts sent 12, received 0, dropped 1\n"
    );
    assert_eq!(ok(&d, &["--list-counters"]), "drop_no_route 3\n");
    assert_eq!(ok(&d, &["-L", "--daemon"]), "");
}

#[test]
fn what_rvs_does_not_do_is_refused_clearly() {
    let d = FakeDaemon::start(State::default());
    let r = rvsadm(&d, &["-A", "-f", "5"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (255, "fwmark services are not supported by rvs\n")
    );
    let r = rvsadm(&d, &["-A", "-t", "10.0.0.1:80", "-p", "--pe", "sip"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (255, "persistence engine `sip' is not supported by rvs\n")
    );
    let r = rvsadm(&d, &["-A", "--sctp-service", "10.0.0.1:80"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (255, "SCTP virtual services are not supported by rvs\n")
    );
    let r = rvsadm(&d, &["--start-daemon", "master"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            255,
            "connection synchronisation daemons are not supported by rvs\n"
        )
    );
    // None of these reached the daemon as a change.
    assert!(d.state().services.is_empty());
}

#[test]
fn a_read_only_caller_gets_ipvsadm_s_non_root_message() {
    let d = FakeDaemon::start(State {
        access: Access::ReadOnly,
        ..State::default()
    });
    assert!(ok(&d, &["-Ln"]).starts_with("IP Virtual Server version 1.2.1 (size=4096)\n"));
    let r = rvsadm(&d, &["-A", "-t", "10.0.0.1:80"]);
    assert_eq!((r.code, r.stderr.as_str()), (2, cli::exit::NOT_ROOT));
}

#[test]
fn an_absent_daemon_is_reported_like_a_missing_ipvs() {
    let missing = std::env::temp_dir().join(format!("rvsadm-none-{}.sock", std::process::id()));
    let r = rvsadm_at(&missing, &["-Ln"], "");
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        format!(
            "Can't initialize ipvs: cannot connect to rvsd: No such file or directory\n\
             Are you sure that rvsd is running and listening on {}? (--socket PATH or RVS_SOCKET select another socket)\n",
            missing.display()
        )
    );
    // Bad command lines are reported without a daemon.
    let r = rvsadm_at(&missing, &["-A", "-t", "bad..addr:80"], "");
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (2, "illegal virtual server address[:port] specified\n")
    );
    // --socket overrides the environment.
    let d = FakeDaemon::start(State::default());
    let socket = d.socket().to_string_lossy().into_owned();
    let r = rvsadm_at(
        &missing,
        &["--socket", &socket, "-A", "-t", "10.0.0.1:80"],
        "",
    );
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert_eq!(d.state().services.len(), 1);
}

#[test]
fn a_socket_the_caller_may_not_open_is_the_non_root_case() {
    let d = FakeDaemon::start(State::default());
    let running_as_root = std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    let mut binary = std::path::PathBuf::from(env!("CARGO_BIN_EXE_rvsadm"));
    let copy_dir = std::env::temp_dir().join(format!("rvsadm-nobody-{}", std::process::id()));
    if running_as_root {
        // The build tree may not be reachable by nobody: run a world-executable copy.
        std::fs::create_dir_all(&copy_dir).unwrap();
        std::fs::set_permissions(&copy_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy = copy_dir.join("rvsadm");
        std::fs::copy(&binary, &copy).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        binary = copy;
    }
    let mut cmd = Command::new(&binary);
    cmd.arg0("ipvsadm")
        .args(["-A", "-t", "10.0.0.1:80"])
        .env("RVS_SOCKET", d.socket());
    if running_as_root {
        // root passes every permission check: become nobody, as the oracle's non-root run;
        // the daemon's socket is writable by its owner only.
        std::fs::set_permissions(d.socket(), std::fs::Permissions::from_mode(0o755)).unwrap();
        cmd.uid(65534).gid(65534);
    } else {
        std::fs::set_permissions(d.socket(), std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    // A freshly written executable can be "busy" for a moment: another test thread may have
    // forked while the copy's file was open, and that child holds it until it execs.
    let out = (0..50)
        .find_map(|_| match cmd.output() {
            Err(e) if e.raw_os_error() == Some(libc_etxtbsy()) => {
                std::thread::sleep(std::time::Duration::from_millis(20));
                None
            }
            other => Some(other),
        })
        .expect("the copied rvsadm stayed busy")
        .expect("run rvsadm");
    let _ = std::fs::remove_dir_all(&copy_dir);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr), cli::exit::NOT_ROOT);
    assert!(d.state().services.is_empty());
}

#[test]
fn a_daemon_of_another_protocol_version_is_refused() {
    let d = FakeDaemon::start(State {
        version: 99,
        ..State::default()
    });
    let r = rvsadm(&d, &["-Ln"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .starts_with("Can't initialize ipvs: protocol version mismatch (daemon speaks 99)\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn help_and_version_need_no_daemon() {
    let missing = std::env::temp_dir().join("rvsadm-no-daemon.sock");
    let r = rvsadm_at(&missing, &["-h"], "");
    assert_eq!(r.code, 0);
    assert!(
        r.stdout
            .contains("  ipvsadm -A|E virtual-service [-s scheduler]")
    );
    assert!(r.stdout.contains("--fullnat"));
    let r = rvsadm_at(&missing, &["--version"], "");
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("rvsadm v"), "{}", r.stdout);
}

#[test]
fn sched_flag_aliases_are_resolved_to_names() {
    let d = FakeDaemon::start(State::default());
    ok(
        &d,
        &["-A", "-t", "10.0.0.1:80", "-s", "mh", "-b", "flag-1,flag-2"],
    );
    assert_eq!(
        d.state().services[0].spec.sched_flags,
        vec!["mh-fallback".to_string(), "mh-port".to_string()]
    );
    assert!(ok(&d, &["-Ln"]).contains("TCP  10.0.0.1:80 mh (mh-fallback,mh-port)\n"));
}

#[test]
fn errors_from_the_daemon_use_ipvsadm_wording_per_operation() {
    let d = FakeDaemon::start(State::default());
    let cases: [(&[&str], i32, &str); 4] = [
        (
            &["-a", "-t", "10.0.0.9:80", "-r", "10.0.1.1"],
            255,
            "Service not defined\n",
        ),
        (&["-D", "-t", "10.0.0.9:80"], 255, "No such service\n"),
        (&["-L", "-t", "10.0.0.9:80"], 1, "No such service\n"),
        (
            &["-A", "-t", "10.0.0.9:80", "-s", "nosuch"],
            255,
            "Scheduler or persistence engine not found\n",
        ),
    ];
    for (args, code, text) in cases {
        let r = rvsadm(&d, args);
        assert_eq!((r.code, r.stderr.as_str()), (code, text), "{args:?}");
    }
    assert_eq!(
        ErrorKind::NoService.ipvsadm_message(),
        Some("No such service")
    );
}

#[test]
fn neighbour_entries_reach_the_daemon_as_typed() {
    let d = FakeDaemon::start(State::default());
    ok(
        &d,
        &["--add-neigh", "dpdk0", "2001:db8::2", "02:00:00:00:00:01"],
    );
    assert_eq!(
        d.state().neighs,
        vec![NeighInfo {
            spec: NeighSpec {
                port: "dpdk0".into(),
                addr: "2001:db8::2".parse().unwrap(),
                mac: [2, 0, 0, 0, 0, 1],
            },
            is_static: true,
            state: "PERMANENT".into(),
        }]
    );
}

/// ETXTBSY on Linux ("Text file busy").
fn libc_etxtbsy() -> i32 {
    26
}
