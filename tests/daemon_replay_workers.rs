//! `rvsd replay` with several inputs = several queues = several workers: flows arriving at
//! a worker that does not own them are handed over, every packet comes out, and the DPDK
//! engine (net_pcap with one rx_pcap/tx_pcap per queue) writes exactly what the pcap engine
//! writes. Also `rvsd --check-config` and configuration errors.
mod common;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use common::frames::{ACK, PSH, SYN, Tcp, forwarded, parse_tcp, write_pcap};
use common::{ROOT, TempDir, counter, frames, is_root, rvsd};

const PORT_MAC: [u8; 6] = [0x02, 0x70, 0x63, 0x61, 0x70, 0x00];
const RS_MACS: [[u8; 6]; 2] = [[2, 0, 0, 0, 0, 11], [2, 0, 0, 0, 0, 12]];

fn config_toml() -> String {
    "[dpdk]\neal_args = [\"-l\", \"0\", \"--no-huge\", \"--no-shconf\", \"-m\", \"256\", \"--no-telemetry\"]\n\
     workers = [0, 1]\nmbufs = 4095\nmbuf_cache = 64\n\
     [conn_table]\ncapacity_per_worker = 4096\n\
     [[ports]]\nname = \"dp0\"\ndevice = \"net_null0\"\naddresses = [\"10.0.0.2/24\"]\n\
     [[neighbours]]\naddress = \"10.0.0.11\"\nmac = \"02:00:00:00:00:0b\"\nport = \"dp0\"\n\
     [[neighbours]]\naddress = \"10.0.0.12\"\nmac = \"02:00:00:00:00:0c\"\nport = \"dp0\"\n\
     [[services]]\nprotocol = \"tcp\"\naddress = \"10.0.0.100\"\nport = 80\nscheduler = \"wrr\"\nforward = \"dr\"\n\
     [[services.real_servers]]\naddress = \"10.0.0.11\"\nweight = 2\n\
     [[services.real_servers]]\naddress = \"10.0.0.12\"\nweight = 1\n"
        .to_string()
}

/// 60 connections, each entirely in input `index % 2`: a SYN, an ACK, three segments.
fn inputs() -> [Vec<(u64, Vec<u8>)>; 2] {
    let mut inputs = [Vec::new(), Vec::new()];
    let t0 = 1_700_000_000_000_000_000u64;
    for i in 0..60u32 {
        let c = Tcp {
            src_mac: [2, 0, 0, 0, 0, 1],
            dst_mac: PORT_MAC,
            src: Ipv4Addr::new(10, 9, 1, (i + 1) as u8),
            dst: Ipv4Addr::new(10, 0, 0, 100),
            sport: 50000 + i as u16,
            dport: 80,
            seq: 1,
            ack: 0,
            flags: SYN,
            ttl: 63,
            payload: Vec::new(),
        };
        let file = &mut inputs[(i % 2) as usize];
        let at = t0 + u64::from(i) * 3_000_000;
        file.push((at, c.frame()));
        file.push((
            at + 1_000_000,
            Tcp {
                seq: 2,
                ack: 1,
                flags: ACK,
                ..c.clone()
            }
            .frame(),
        ));
        for k in 0..3u32 {
            file.push((
                at + 2_000_000 + u64::from(k) * 100_000_000,
                Tcp {
                    seq: 2 + k * 10,
                    ack: 1,
                    flags: ACK | PSH,
                    payload: vec![k as u8; 10],
                    ..c.clone()
                }
                .frame(),
            ));
        }
    }
    for f in &mut inputs {
        f.sort_by_key(|(t, _)| *t);
    }
    inputs
}

fn replay(engine: &str, dir: &TempDir, tag: &str) -> (Vec<Vec<u8>>, Vec<Vec<u8>>, String) {
    let config = dir.path("rvs.toml");
    std::fs::write(&config, config_toml()).unwrap();
    let (o0, o1) = (
        dir.path(&format!("{tag}0.pcap")),
        dir.path(&format!("{tag}1.pcap")),
    );
    let out = rvsd(&[
        "replay",
        "--engine",
        engine,
        "--config",
        config.to_str().unwrap(),
        "--in",
        dir.path("in0.pcap").to_str().unwrap(),
        "--in",
        dir.path("in1.pcap").to_str().unwrap(),
        "--out",
        o0.to_str().unwrap(),
        "--out",
        o1.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{engine}: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (frames(&o0), frames(&o1), stdout)
}

#[test]
fn two_workers_hand_flows_to_their_owner_and_both_engines_agree() {
    let dir = TempDir::new("replay-workers");
    let ins = inputs();
    write_pcap(&dir.path("in0.pcap"), &ins[0]);
    write_pcap(&dir.path("in1.pcap"), &ins[1]);
    let total = ins[0].len() + ins[1].len();
    let (p0, p1, stdout) = replay("pcap", &dir, "pcap");
    assert_eq!(
        counter(&stdout, "rx_packets"),
        Some(total as u64),
        "{stdout}"
    );
    assert_eq!(
        counter(&stdout, "tx_packets"),
        Some(total as u64),
        "{stdout}"
    );
    assert!(!stdout.contains("drop."), "{stdout}");
    // Flows are owned by a hash of the client: some sat in the other worker's input.
    let handed = counter(&stdout, "handoff_in").unwrap_or(0);
    assert!(
        handed > 20 && handed < total as u64,
        "{handed} of {total}\n{stdout}"
    );
    // Every packet left once, on its connection's real server, whichever worker read it.
    let sent: BTreeMap<Vec<u8>, ()> = ins
        .iter()
        .flatten()
        .map(|(_, f)| (forwarded(f)[12..].to_vec(), ()))
        .collect();
    let mut servers: BTreeMap<(Ipv4Addr, u16), [u8; 6]> = BTreeMap::new();
    let mut per_server = [0usize; 2];
    for f in p0.iter().chain(&p1) {
        assert!(
            sent.contains_key(&f[12..]),
            "only the Ethernet header and the TTL change"
        );
        let s = parse_tcp(f).unwrap();
        let first = *servers.entry((s.src, s.sport)).or_insert(s.dst_mac);
        assert_eq!(first, s.dst_mac);
        if s.flags & SYN != 0 {
            per_server[RS_MACS.iter().position(|m| *m == s.dst_mac).unwrap()] += 1;
        }
    }
    assert_eq!(p0.len() + p1.len(), total);
    // wrr 2:1 on each worker.
    assert_eq!(per_server, [40, 20]);
    if !is_root() {
        println!("skipped: the dpdk engine half needs root");
        return;
    }
    let (d0, d1, dstdout) = replay("dpdk", &dir, "dpdk");
    assert_eq!(d0, p0, "queue 0 output differs between engines");
    assert_eq!(d1, p1, "queue 1 output differs between engines");
    assert_eq!(counter(&dstdout, "handoff_in"), Some(handed));
    assert_eq!(counter(&dstdout, "port.0.ipackets"), Some(total as u64));
}

#[test]
fn check_config_reports_and_exits_with_its_verdict() {
    for example in ["examples/dr.toml", "examples/keepalived/dr.conf"] {
        let out = rvsd(&["--check-config", &format!("{ROOT}/{example}")]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{example}: {text}");
        assert!(text.contains("configuration OK"), "{text}");
    }
    let dir = TempDir::new("check-config");
    let bad = dir.path("bad.toml");
    std::fs::write(
        &bad,
        "[dpdk]\nworkers = [1]\n\n[[services]]\nprotocol = \"tcp\"\naddress = \"10.0.0.1\"\nport = 80\nscheduler = \"nope\"\n",
    )
    .unwrap();
    let out = rvsd(&["--check-config", bad.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("{}:8", bad.display())), "{text}");
    assert!(text.contains("configuration INVALID"), "{text}");
    // Running on it refuses with the same place, exit 2.
    let out = rvsd(&["--config", bad.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{}:8", bad.display())), "{err}");
}

/// The kernel's estimator over `samples` two-second deltas of `delta` (its recurrence, its
/// fixed point: `shift` 9 for packets and connections, 4 for bytes), read as ipvsadm shows
/// it.
fn kernel_rate(delta: u64, samples: usize, shift: u32, scale: u32, round: i64) -> u64 {
    let mut avg = 0i64;
    for _ in 0..samples {
        let rate = (delta << shift) as i64;
        avg += (rate - avg) >> 2;
    }
    ((avg + round) >> scale) as u64
}

#[test]
fn rates_in_a_replay_follow_the_kernel_estimator_over_capture_time() {
    // 10 new connections a second for 20 s (SYNs of 40 bytes), away from sample instants.
    let dir = TempDir::new("replay-rates");
    let t0 = 1_700_000_000_000_000_000u64;
    let mut records = Vec::new();
    for i in 0..200u32 {
        let syn = Tcp {
            src_mac: [2, 0, 0, 0, 0, 1],
            dst_mac: PORT_MAC,
            src: Ipv4Addr::new(10, 7, (i / 250) as u8, (i % 250 + 1) as u8),
            dst: Ipv4Addr::new(10, 0, 0, 100),
            sport: 1024 + i as u16,
            dport: 80,
            seq: 1,
            ack: 0,
            flags: SYN,
            ttl: 63,
            payload: Vec::new(),
        };
        records.push((t0 + 50_000_000 + u64::from(i) * 100_000_000, syn.frame()));
    }
    write_pcap(&dir.path("in.pcap"), &records);
    let config = dir.path("rvs.toml");
    std::fs::write(
        &config,
        config_toml().replace("workers = [0, 1]", "workers = [0]"),
    )
    .unwrap();
    let script = dir.path("script.txt");
    std::fs::write(&script, "19.99 -Ln --rate\n").unwrap();
    let out = rvsd(&[
        "replay",
        "--engine",
        "pcap",
        "--config",
        config.to_str().unwrap(),
        "--script",
        script.to_str().unwrap(),
        "--in",
        dir.path("in.pcap").to_str().unwrap(),
        "--out",
        dir.path("out.pcap").to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Samples at 2, 4, ... 18 s: nine, each of 20 connections, packets and 800 bytes.
    let cps = kernel_rate(20, 9, 9, 10, 0x1FF);
    let bps = kernel_rate(800, 9, 4, 5, 0xF);
    assert_eq!((cps, bps), (9, 370), "the recurrence itself");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("TCP  10.0.0.100:80"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let f: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(f[2..], ["9", "9", "0", "370", "0"], "{stdout}");
}
