//! The live daemon: `rvsd --config FILE` with two pinned workers over a net_pcap port with
//! one input and one output file per queue; each worker answers its queue's requests, and
//! SIGTERM / SIGINT stop it cleanly (ports closed, so the outputs are complete, exit 0).
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn run_until_answered_then_signal(signal: &str) {
    if !is_root() {
        println!("skipped: the live daemon needs root (EAL memory setup)");
        return;
    }
    let dir = TempDir::new(&format!("daemon-{signal}"));
    let input = fixture("local-in.pcap");
    let (out0, out1) = (dir.path("out0.pcap"), dir.path("out1.pcap"));
    let device = format!(
        "net_pcap0,rx_pcap={in_},rx_pcap={in_},tx_pcap={},tx_pcap={}",
        out0.display(),
        out1.display(),
        in_ = input.display()
    );
    let config = dir.path("rvs.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\ncontrol_socket = \"{sock}\"\nstate_file = \"{state}\"\n\
             [dpdk]\neal_args = [\"-l\", \"0\", \"--no-huge\", \"--no-shconf\", \"-m\", \"256\", \"--no-telemetry\"]\n\
             workers = [0, 1]\nmbufs = 4095\nmbuf_cache = 64\n\n\
             [[ports]]\nname = \"dp0\"\ndevice = \"{device}\"\naddresses = [\"10.0.0.2/24\"]\n",
            sock = dir.path("rvsd.sock").display(),
            state = dir.path("state.json").display(),
        ),
    )
    .unwrap();
    let child = Command::new(RVSD)
        .args(["--config", config.to_str().unwrap()])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rvsd");
    let pid = child.id().to_string();

    // net_pcap flushes its output after every burst: wait until both queues answered.
    let start = Instant::now();
    let answered =
        |p: &std::path::Path| dataplane::port::pcap::read_capture(p).is_ok_and(|r| r.len() == 4);
    while !(answered(&out0) && answered(&out1)) {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            let out = child.wait_with_output().unwrap();
            panic!(
                "no answers within 30 s:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill").args([signal, &pid]).status().unwrap();
    assert!(status.success());
    let out = wait_with_deadline(child, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {}:\n{stderr}", out.status);
    assert!(
        stderr.contains("2 worker(s) running on cores [0, 1]"),
        "{stderr}"
    );
    assert!(stderr.contains("worker 0 on core 0"), "{stderr}");
    assert!(stderr.contains("worker 1 on core 1"), "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
    // Both workers' counters are summed in the final report.
    assert_eq!(
        counter(&stderr_tail(&stderr), "rx_packets"),
        Some(24),
        "{stderr}"
    );
    assert_eq!(
        counter(&stderr_tail(&stderr), "arp_replies"),
        Some(4),
        "{stderr}"
    );
    let expected = frames(&fixture("local-expected.pcap"));
    assert_eq!(frames(&out0), expected);
    assert_eq!(frames(&out1), expected);
}

/// The counter lines of the final report (lines without a log prefix).
fn stderr_tail(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.starts_with('['))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn sigterm_stops_two_workers_cleanly() {
    run_until_answered_then_signal("-TERM");
}

#[test]
fn sigint_stops_two_workers_cleanly() {
    run_until_answered_then_signal("-INT");
}

#[test]
fn a_missing_config_is_a_clear_error() {
    let out = rvsd(&["--config", "/nonexistent/rvs.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/rvs.toml"), "{stderr}");
    let out = rvsd(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--config FILE is required"));
}
