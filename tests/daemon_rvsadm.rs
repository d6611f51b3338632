//! The real rvsadm against a real rvsd (net_null ports): listings, changes and errors byte
//! for byte as the real ipvsadm 1.31 printed them (tests/golden/daemon, generated with the
//! oracle by scripts/gen-daemon-goldens.py, and cli's hand-written src-* scenarios), the
//! -S/-R round trip,
//! state kept across a restart (also after SIGKILL), and a corrupt state file set aside.
//!
//! Live tests need root (EAL) and the rvsadm binary; otherwise they print "skipped: ...".
//! They share one lock: each starts its own rvsd with a busy-polling worker.
mod common;

use std::collections::BTreeMap;
use std::sync::Mutex;

use common::TempDir;
use common::golden::{cli_golden_dir, daemon_golden_dir, live_state, restore_lines, scenarios};
use common::live::{LiveDaemon, Run, live_skip_reason, runtime_toml};

static LIVE: Mutex<()> = Mutex::new(());

fn uid_of(user: &str) -> u32 {
    let out = std::process::Command::new("id")
        .args(["-u", user])
        .output()
        .expect("id");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("no user {user}"))
}

fn ok(d: &LiveDaemon, args: &[&str]) -> String {
    let r = d.rvsadm(args);
    assert_eq!(r.code, 0, "rvsadm {args:?}: {}", r.stderr);
    r.stdout
}

fn diff(name: &str, what: &str, want: &str, got: &str) -> Option<String> {
    (want != got).then(|| format!("{name}: {what} differs\n--- ipvsadm\n{want}--- rvsadm\n{got}"))
}

#[test]
fn every_golden_scenario_that_can_run_live_matches_ipvsadm() {
    if let Some(why) = live_skip_reason() {
        println!("skipped: {why}");
        return;
    }
    let _serial = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = TempDir::new("live-goldens");
    let d = LiveDaemon::start(&dir.0, &runtime_toml("net_null0,no-rx=1"));
    let mut ran: Vec<String> = Vec::new();
    let mut skipped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    let all = scenarios(&daemon_golden_dir(), "")
        .into_iter()
        .chain(scenarios(&cli_golden_dir(), "src-"));
    for s in all {
        if s.has_conns {
            skipped
                .entry("connection entries (made by traffic, not by rvsadm)".into())
                .or_default()
                .push(s.name);
            continue;
        }
        // A hand-written scenario whose outcome does not show the table (an error) runs on
        // the table rvsadm can build.
        let state = if s.name.starts_with("src-") && s.stdout.is_empty() && s.after.is_none() {
            live_state(&s.state)
        } else {
            s.state.clone()
        };
        let (lines, timeouts) = match restore_lines(&state) {
            Ok(x) => x,
            Err(why) => {
                skipped.entry(why).or_default().push(s.name);
                continue;
            }
        };
        ok(&d, &["-C"]);
        let (tcp, fin, udp) = timeouts.unwrap_or((900, 120, 300));
        ok(
            &d,
            &[
                "--set",
                &tcp.to_string(),
                &fin.to_string(),
                &udp.to_string(),
            ],
        );
        if !lines.is_empty() {
            let r = d.rvsadm_with(&["-R"], Some(&lines), None);
            if r.code != 0 {
                skipped
                    .entry(format!("rvs refuses the table: {}", r.stderr.trim()))
                    .or_default()
                    .push(s.name);
                continue;
            }
        }
        let uid = s.user.as_deref().map(uid_of);
        let args: Vec<&str> = s.args.iter().map(String::as_str).collect();
        let r: Run = d.rvsadm_with(&args, s.stdin.as_deref(), uid);
        let mut problems = Vec::new();
        problems.extend(diff(&s.name, "stdout", &s.stdout, &r.stdout));
        problems.extend(diff(&s.name, "stderr", &s.stderr, &r.stderr));
        if r.code != s.exit {
            problems.push(format!("{}: exit {}, ipvsadm {}", s.name, r.code, s.exit));
        }
        if let Some((after_args, after)) = &s.after {
            let a: Vec<&str> = after_args.iter().map(String::as_str).collect();
            let r = d.rvsadm(&a);
            problems.extend(diff(&s.name, "listing after the change", after, &r.stdout));
        }
        failures.extend(problems);
        ran.push(s.name);
    }
    println!("ran live: {} scenarios", ran.len());
    for (why, names) in &skipped {
        println!("not live ({}): {why}: {}", names.len(), names.join(" "));
    }
    assert!(
        failures.is_empty(),
        "{} of {} scenarios differ:\n{}",
        failures.len(),
        ran.len(),
        failures.join("\n")
    );
    // The error paths the control plane must get right all ran live.
    for must in [
        "err-bad-address",
        "src-unknown-scheduler",
        "err-dup-service",
        "err-dup-dest",
        "err-no-service-delete",
        "err-no-service-add-dest",
        "err-no-dest-delete",
        "err-non-root-add",
        "err-non-root-list",
        "restore",
        "restore-refused-line",
        "add-dest-weight-max",
        "add-dest-port-zero",
        "add-dest-port-zero-beside-port",
        "add-service-generic-flag",
        "add-service-sh-flag-3",
        "save-n",
        "list-n",
        "set-timeouts",
        "zero-all",
    ] {
        assert!(ran.iter().any(|n| n == must), "{must} did not run live");
    }
}

/// A table with most of what rvsadm can say: schedulers and flags, persistence with a
/// netmask, one-packet UDP, DR/NAT/TUN/FULLNAT destinations, tunnels, weights,
/// thresholds, local addresses, timeouts.
const TABLE: &str = "\
-A -t 10.1.0.100:80 -s wrr
-a -t 10.1.0.100:80 -r 10.1.0.10:80 -m -w 2
-a -t 10.1.0.100:80 -r 10.1.0.11:8080 -m -w 3 -x 100 -y 50
-a -t 10.1.0.100:80 -r 10.1.0.12:80 -g -w 0
-a -t 10.1.0.100:80 -r 10.1.0.13:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
-A -t 10.1.0.102:0 -s sh -b sh-fallback,sh-port -p 600 -M 255.255.255.0
-a -t 10.1.0.102:0 -r 10.1.0.30:0 -g
-A -u 10.1.0.103:53 -s lc -o
-a -u 10.1.0.103:53 -r 10.1.0.40:5353 -m -w 7
-A -t 10.1.0.105:80 -s mh -b mh-port
-A -t 10.6.0.1:80 -s rr --client-addr proxy-v2
-P -t 10.6.0.1:80 -z 10.6.2.1
-P -t 10.6.0.1:80 -z 10.6.2.2
-a -t 10.6.0.1:80 -r 10.6.1.1:8080 --fullnat -w 1
";

#[test]
fn save_restore_round_trip_restart_and_a_corrupt_state_file() {
    if let Some(why) = live_skip_reason() {
        println!("skipped: {why}");
        return;
    }
    let _serial = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = TempDir::new("live-state");
    let mut d = LiveDaemon::start(&dir.0, &runtime_toml("net_null0,no-rx=1"));
    let r = d.rvsadm_with(&["-R"], Some(TABLE), None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    ok(&d, &["--set", "3600", "30", "60"]);
    let saved = ok(&d, &["-Sn"]);
    let listing = ok(&d, &["-Ln"]);
    let laddrs = ok(&d, &["-G", "-n"]);
    let timeouts = ok(&d, &["-L", "--timeout"]);
    assert_eq!(
        timeouts, "Timeout (tcp tcpfin udp): 3600 30 60\n",
        "{timeouts}"
    );
    // ipvsadm -S does not save thresholds; --thresholds lists them.
    assert!(
        saved.contains("-a -t 10.1.0.100:80 -r 10.1.0.11:8080 -m -w 3\n"),
        "{saved}"
    );
    let thresholds = ok(&d, &["-Ln", "--thresholds"]);
    assert!(
        thresholds.contains("  -> 10.1.0.11:8080               100        50"),
        "{thresholds}"
    );
    assert!(
        listing.contains(
            "TCP  10.1.0.102:0 sh (sh-fallback,sh-port) persistent 600 mask 255.255.255.0"
        ),
        "{listing}"
    );
    assert!(laddrs.contains("10.6.2.2"), "{laddrs}");

    // -S / -C / -R gives the same table back.
    ok(&d, &["-C"]);
    assert_eq!(ok(&d, &["-Sn"]), "");
    let r = d.rvsadm_with(&["-R"], Some(&saved), None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(ok(&d, &["-Sn"]), saved);
    assert_eq!(ok(&d, &["-Ln"]), listing);

    // SIGKILL and start again: every change was saved before it was acknowledged.
    let out = d.signal_and_wait("-KILL");
    assert!(!out.status.success());
    assert!(d.socket.exists(), "a killed daemon leaves its socket file");
    d.restart();
    assert_eq!(ok(&d, &["-Sn"]), saved);
    assert_eq!(ok(&d, &["-Ln"]), listing);
    assert_eq!(ok(&d, &["-G", "-n"]), laddrs);
    assert_eq!(ok(&d, &["-L", "--timeout"]), timeouts);
    // A clean stop keeps it too, and removes the socket.
    d.stop();
    assert!(!d.socket.exists());
    d.restart();
    assert_eq!(ok(&d, &["-Sn"]), saved);
    d.stop();

    // A damaged state file is set aside; the configuration file (no services) rules.
    let text = std::fs::read_to_string(&d.state).unwrap();
    assert!(text.contains("\"checksum\": \"crc32:"), "{text}");
    std::fs::write(&d.state, text.replace("10.1.0.100", "10.1.0.199")).unwrap();
    d.restart();
    assert_eq!(ok(&d, &["-Sn"]), "");
    assert_eq!(
        ok(&d, &["-L", "--timeout"]),
        "Timeout (tcp tcpfin udp): 900 120 300\n"
    );
    let aside: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("state.json.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(
        d.log_text().contains("checksum mismatch"),
        "{}",
        d.log_text()
    );
    // And the next change writes a fresh state file.
    ok(&d, &["-A", "-t", "10.9.9.9:80"]);
    d.stop();
    d.restart();
    assert_eq!(ok(&d, &["-Sn"]), "-A -t 10.9.9.9:80 -s wlc\n");
    d.stop();
}

#[test]
fn non_root_callers_are_refused_and_change_nothing() {
    if let Some(why) = live_skip_reason() {
        println!("skipped: {why}");
        return;
    }
    let _serial = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = TempDir::new("live-nonroot");
    let mut d = LiveDaemon::start(&dir.0, &runtime_toml("net_null0,no-rx=1"));
    ok(&d, &["-A", "-t", "10.1.0.1:80", "-s", "rr"]);
    let before = ok(&d, &["-Sn"]);
    let nobody = uid_of("nobody");
    for args in [
        &["-A", "-t", "10.1.0.2:80"][..],
        &["-D", "-t", "10.1.0.1:80"],
        &["-C"],
        &["-Ln"],
    ] {
        let r = d.rvsadm_with(args, None, Some(nobody));
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert_eq!(
            r.stderr,
            "Can't initialize ipvs: Permission denied (you must be root)\n\
             Are you sure that IP Virtual Server is built in the kernel or as module?\n",
            "{args:?}"
        );
    }
    assert_eq!(ok(&d, &["-Sn"]), before);
    // The socket is root's alone.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&d.socket).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    d.stop();
}
