//! RSS and rte_flow steering of FULLNAT return traffic, on the drivers this machine has.
//!
//! None of them creates flow rules (net_pcap and net_null have no flow API; net_tap would,
//! but needs the kernel's multiq qdisc, missing here), so what is proven is the fallback:
//! the rules are tried on every network port, each refusal is counted
//! (`port.<name>.flow_refused`) and logged once per port, and traffic still reaches the
//! worker that owns it through the hand-off. Rule construction and the per-port
//! bookkeeping with a port that accepts rules are unit tests (`src/steering.rs`,
//! `dpdk-sys/src/flow.rs`); RSS on a driver that hashes (net_null) is
//! `dpdk-sys/tests/rss_flow.rs` and the daemon test below.
mod common;

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::frames::{SYN, Tcp, parse_tcp, write_pcap};
use common::live::{LiveDaemon, live_skip_reason};
use common::{ROOT, RVSD, TempDir, counter, frames, is_root, wait_with_deadline};

const REFUSAL_LOG: &str = "no rte_flow steering for FULLNAT return traffic";

/// `rvsd replay` with the DPDK engine, logging at info (the steering lines are info).
fn replay(config: &Path, inputs: &[&Path], outputs: &[&Path], counters: &Path) -> Output {
    let mut cmd = Command::new(RVSD);
    cmd.args(["replay", "--engine", "dpdk", "--config"])
        .arg(config)
        .arg("--counters")
        .arg(counters);
    for (i, o) in inputs.iter().zip(outputs) {
        cmd.arg("--in").arg(i).arg("--out").arg(o);
    }
    let child = cmd
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rvsd");
    wait_with_deadline(child, Duration::from_secs(60))
}

fn fixture_dir() -> std::path::PathBuf {
    Path::new(ROOT).join("pcaps/fwd/fullnat-two-workers")
}

fn json_counter(path: &Path, name: &str) -> u64 {
    let text = std::fs::read_to_string(path).expect("counters file");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    doc["counters"][name].as_u64().unwrap_or(0)
}

#[test]
fn two_workers_on_a_port_without_rte_flow_fall_back_to_the_hand_off() {
    if !is_root() {
        println!("skipped: the DPDK engine needs root (EAL memory setup)");
        return;
    }
    let dir = fixture_dir();
    let tmp = TempDir::new("flow-fallback");
    let (o0, o1, counters) = (tmp.path("o0.pcap"), tmp.path("o1.pcap"), tmp.path("c.json"));
    let out = replay(
        &dir.join("config.toml"),
        &[&dir.join("in0.pcap"), &dir.join("in1.pcap")],
        &[&o0, &o1],
        &counters,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}\n{stdout}\n{stderr}", out.status);

    // One local address, two workers (a power of two): TCP and UDP for each worker were
    // tried on dp0 (net_pcap) and refused; none is installed.
    assert_eq!(
        counter(&stdout, "port.dp0.flow_refused"),
        Some(4),
        "{stdout}"
    );
    assert_eq!(counter(&stdout, "port.dp0.flow_rules"), Some(0), "{stdout}");
    let refusals: Vec<&str> = stderr.lines().filter(|l| l.contains(REFUSAL_LOG)).collect();
    assert_eq!(refusals.len(), 1, "logged once per port:\n{stderr}");
    assert!(refusals[0].contains("port dp0"), "{}", refusals[0]);
    assert!(
        refusals[0].contains("rte_flow_validate") && refusals[0].contains("error 38"),
        "validation refused with ENOSYS: {}",
        refusals[0]
    );
    // net_pcap hashes nothing: said once, and forwarding is unaffected.
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.contains("port dp0: no RSS"))
            .count(),
        1,
        "{stderr}"
    );

    // The traffic: every packet out on the owner's queue, exactly as IPVS would send it,
    // six of them through the hand-off.
    assert_eq!(frames(&o0), frames(&dir.join("expected0.pcap")), "queue 0");
    assert_eq!(frames(&o1), frames(&dir.join("expected1.pcap")), "queue 1");
    assert_eq!(json_counter(&counters, "handoff_out"), 6);
    assert_eq!(json_counter(&counters, "handoff_in"), 6);
    assert_eq!(json_counter(&counters, "tx_packets"), 12);
}

#[test]
fn three_workers_try_no_rule_and_say_why() {
    if !is_root() {
        println!("skipped: the DPDK engine needs root (EAL memory setup)");
        return;
    }
    let dir = fixture_dir();
    let tmp = TempDir::new("flow-three");
    // Nine clients open connections to the FULLNAT service, three on each queue.
    let mut inputs = Vec::new();
    for q in 0..3u8 {
        let records: Vec<(u64, Vec<u8>)> = (0..3u8)
            .map(|k| {
                let i = q * 3 + k;
                let syn = Tcp {
                    src_mac: [2, 0, 0, 0, 0, 1],
                    dst_mac: [0x02, 0x70, 0x63, 0x61, 0x70, 0x00],
                    src: Ipv4Addr::new(198, 51, 100, 100 + i),
                    dst: Ipv4Addr::new(10, 0, 0, 100),
                    sport: 40000 + u16::from(i),
                    dport: 80,
                    seq: 1000,
                    ack: 0,
                    flags: SYN,
                    ttl: 63,
                    payload: Vec::new(),
                };
                (
                    1_700_000_000_000_000_000 + u64::from(i) * 1_000_000,
                    syn.frame(),
                )
            })
            .collect();
        let path = tmp.path(&format!("in{q}.pcap"));
        write_pcap(&path, &records);
        inputs.push(path);
    }
    let outs = [
        tmp.path("o0.pcap"),
        tmp.path("o1.pcap"),
        tmp.path("o2.pcap"),
    ];
    let counters = tmp.path("c.json");
    let out = replay(
        &dir.join("config.toml"),
        &[&inputs[0], &inputs[1], &inputs[2]],
        &[&outs[0], &outs[1], &outs[2]],
        &counters,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}\n{stdout}\n{stderr}", out.status);
    assert_eq!(
        counter(&stdout, "port.dp0.flow_refused"),
        Some(0),
        "{stdout}"
    );
    assert_eq!(counter(&stdout, "port.dp0.flow_rules"), Some(0), "{stdout}");
    assert!(
        !stderr.contains(REFUSAL_LOG),
        "nothing was tried:\n{stderr}"
    );
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.contains("3 workers is not a power of two"))
            .count(),
        1,
        "{stderr}"
    );
    // Every SYN leaves from the local address, on the queue of the worker whose partition
    // (port % 3) holds its local port.
    assert_eq!(json_counter(&counters, "tx_packets"), 9);
    let mut sent = 0;
    for (q, o) in outs.iter().enumerate() {
        for f in frames(o) {
            let seen = parse_tcp(&f).expect("TCP/IPv4 with valid checksums");
            assert_eq!(
                (seen.src, seen.dst),
                (Ipv4Addr::new(10, 0, 0, 50), Ipv4Addr::new(10, 0, 0, 11))
            );
            assert_eq!(
                usize::from(seen.sport % 3),
                q,
                "local port {} on queue {q}",
                seen.sport
            );
            sent += 1;
        }
    }
    assert_eq!(sent, 9);
    assert_eq!(
        json_counter(&counters, "handoff_out"),
        json_counter(&counters, "handoff_in")
    );
}

/// A daemon with two workers on net_null (which hashes, but has no flow API) and a
/// FULLNAT service.
fn daemon_config() -> String {
    "[dpdk]\neal_args = [\"-l\", \"0\", \"--no-huge\", \"--no-shconf\", \"-m\", \"256\", \"--no-telemetry\", \"--log-level=lib.eal:error\"]\n\
     workers = [0, 1]\nmbufs = 4095\nmbuf_cache = 64\n\n\
     [conn_table]\ncapacity_per_worker = 4096\n\n\
     [[ports]]\nname = \"dp0\"\ndevice = \"net_null0,no-rx=1\"\naddresses = [\"10.0.0.2/24\"]\n\n\
     [local_address_groups.lg]\naddresses = [{ address = \"10.0.0.50\", port = \"dp0\" }]\n\n\
     [[services]]\nprotocol = \"tcp\"\naddress = \"10.0.0.100\"\nport = 80\nscheduler = \"rr\"\n\
     forward = \"full_nat\"\nlocal_address_group = \"lg\"\n\
     [[services.real_servers]]\naddress = \"10.0.0.11\"\nport = 8080\n"
        .to_string()
}

fn listed(d: &LiveDaemon, name: &str) -> Option<u64> {
    let run = d.rvsadm(&["--list-counters"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        (f.next() == Some(name))
            .then(|| f.last().and_then(|v| v.parse().ok()))
            .flatten()
    })
}

/// Polls `--list-counters` until `name` reads `want`. The director syncs the rules before
/// it answers a change, so this normally succeeds at once; the wait is a safety margin.
fn wait_for(d: &LiveDaemon, name: &str, want: u64) {
    let start = Instant::now();
    let mut got = None;
    while start.elapsed() < Duration::from_secs(10) {
        got = listed(d, name);
        if got == Some(want) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{name}: {got:?}, expected {want}\n{}", d.log_text());
}

#[test]
fn the_daemon_configures_rss_and_follows_local_address_changes_with_its_rules() {
    if let Some(why) = live_skip_reason() {
        println!("skipped: {why}");
        return;
    }
    let dir = TempDir::new("flow-daemon");
    let mut d = LiveDaemon::start(&dir.0, &daemon_config());
    // At start: RSS over the IPv4 hash types with the symmetric key on net_null, and the
    // four rules of 10.0.0.50 refused.
    let log = d.log_text();
    assert!(
        log.lines().any(|l| l.contains("port dp0: RSS over ipv4")
            && l.contains("ipv4-tcp ipv4-udp")
            && l.contains("(symmetric key)")),
        "{log}"
    );
    wait_for(&d, "port.dp0.flow_refused", 4);
    assert_eq!(listed(&d, "port.dp0.flow_rules"), Some(0));

    // A second local address: its four rules are tried (and refused) too.
    let add = d.rvsadm(&["-P", "-t", "10.0.0.100:80", "-z", "10.0.0.51"]);
    assert_eq!(add.code, 0, "{}", add.stderr);
    wait_for(&d, "port.dp0.flow_refused", 8);
    // Removing it tries nothing more.
    let del = d.rvsadm(&["-Q", "-t", "10.0.0.100:80", "-z", "10.0.0.51"]);
    assert_eq!(del.code, 0, "{}", del.stderr);
    assert_eq!(listed(&d, "port.dp0.flow_refused"), Some(8));
    d.stop();
    let log = d.log_text();
    assert_eq!(
        log.lines().filter(|l| l.contains(REFUSAL_LOG)).count(),
        1,
        "one line per port:\n{log}"
    );
}
