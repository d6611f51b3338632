//! Every golden scenario, end to end: the real `rvsadm` binary (run as `ipvsadm`, so that
//! messages quoting argv[0] compare) against a fake daemon holding the scenario's table.
//! stdout, stderr and the exit status must be ipvsadm's byte for byte, and so must the
//! listing taken after a change.

mod common;

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use common::fake_daemon::{Access, FakeDaemon, State};
use common::{Scenario, golden_dir, scenarios};

/// Runs rvsadm with `args` against `daemon`; returns (stdout, stderr, status).
fn rvsadm(daemon: &FakeDaemon, args: &[String], stdin: Option<&str>) -> (String, String, i32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rvsadm"))
        .arg0("ipvsadm")
        .args(args)
        .env("RVS_SOCKET", daemon.socket())
        .env("RVSADM_SERVICES", golden_dir().join("services"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rvsadm");
    {
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("write stdin");
        }
    }
    let out = child.wait_with_output().expect("wait rvsadm");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn daemon_for(s: &Scenario) -> FakeDaemon {
    let mut state = State {
        services: s.table.services.clone(),
        conns: s.table.conns.clone(),
        ..State::default()
    };
    if let Some(t) = s.table.timeouts {
        state.timeouts = t;
    }
    if s.user.is_some() {
        // The oracle ran these as a non-root user; the fake daemon refuses that caller.
        state.access = Access::Denied;
    }
    FakeDaemon::start(state)
}

/// Compares one scenario; returns a description of each difference.
fn check(s: &Scenario) -> Vec<String> {
    let daemon = daemon_for(s);
    let (stdout, stderr, code) = rvsadm(&daemon, &s.args, s.stdin.as_deref());
    let mut problems = Vec::new();
    let args = s.args.join(" ");
    if stdout != s.stdout {
        problems.push(format!(
            "{} ({args}): stdout differs\n--- ipvsadm\n{}--- rvsadm\n{}",
            s.name, s.stdout, stdout
        ));
    }
    if stderr != s.stderr {
        problems.push(format!(
            "{} ({args}): stderr differs\n--- ipvsadm\n{:?}\n--- rvsadm\n{:?}",
            s.name, s.stderr, stderr
        ));
    }
    if code != s.exit {
        problems.push(format!(
            "{} ({args}): exit {code}, ipvsadm {}",
            s.name, s.exit
        ));
    }
    if let Some((after_args, expected)) = &s.after {
        let (after, after_err, _) = rvsadm(&daemon, after_args, None);
        if &after != expected {
            problems.push(format!(
                "{} ({args}): table after differs\n--- ipvsadm {}\n{}--- rvsadm\n{}{}",
                s.name,
                after_args.join(" "),
                expected,
                after,
                after_err
            ));
        }
    }
    problems
}

#[test]
fn every_golden_scenario_matches_ipvsadm_byte_for_byte() {
    let all = scenarios();
    assert!(all.len() > 150, "only {} scenarios found", all.len());
    let problems: Vec<String> = all.iter().flat_map(check).collect();
    assert!(
        problems.is_empty(),
        "{} of {} scenarios differ:\n\n{}",
        problems.len(),
        all.len(),
        problems.join("\n\n")
    );
}

#[test]
fn the_error_scenarios_cover_every_error_the_brief_names() {
    let names: Vec<String> = scenarios().into_iter().map(|s| s.name).collect();
    for wanted in [
        "err-bad-address",
        "src-unknown-scheduler",
        "err-dup-service",
        "err-no-service-delete",
        "err-non-root-add",
        "err-non-root-list",
    ] {
        assert!(
            names.iter().any(|n| n == wanted),
            "missing scenario {wanted}"
        );
    }
}
