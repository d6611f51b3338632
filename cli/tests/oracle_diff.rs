//! Differential test against the real ipvsadm 1.31, for machines that have the oracle:
//! random command lines (valid and not) run through ipvsadm on the ipvs-shim and through
//! rvsadm on the fake daemon, both starting from the same table; stdout, stderr, exit status
//! and the table afterwards must agree. Ignored by default (CI has no oracle); run with
//!
//! ```text
//! gcc -shared -fPIC -O2 -o /tmp/ipvs_shim.so .../ipvs-shim/ipvs_shim.c -ldl
//! IPVS_SHIM_SO=/tmp/ipvs_shim.so cargo test -p cli --test oracle_diff -- --ignored
//! ```
//!
//! (`ORACLE_DIFF_CASES` and `ORACLE_DIFF_SEED` change the number of cases and the seed.)

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::fake_daemon::{FakeDaemon, State};
use common::golden_dir;

/// A small deterministic generator (xorshift64*), so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const COMMANDS: &[&str] = &[
    "-A", "-E", "-D", "-a", "-e", "-d", "-L", "-Ln", "-l", "-Z", "-S", "--set", "-C", "--list",
];

const OPTIONS: &[(&str, &[&str])] = &[
    (
        "-t",
        &[
            "10.1.0.100:80",
            "10.1.0.100:http",
            "10.1.0.200",
            "10.1.0.101:443",
            "10.1.0.100:0",
            "1.2.3",
            "bad..addr:80",
        ],
    ),
    ("-u", &["10.1.0.103:53", "10.1.0.103:domain"]),
    ("-s", &["rr", "sh", "mh", "wlc", "foo", ""]),
    ("-p", &[]),
    ("-p", &["60", "0", "2678400", "x"]),
    ("-M", &["255.255.255.0", "24", "0.0.0.0", "x"]),
    (
        "-r",
        &[
            "10.1.0.10",
            "10.1.0.10:80",
            "10.1.0.9:81",
            "10.1.0.11:8080",
            "[2001:db8::1]",
        ],
    ),
    ("-m", &[]),
    ("-g", &[]),
    ("-i", &[]),
    ("-w", &["0", "3", "2147483647", "2147483648", "-1"]),
    ("-x", &["5"]),
    ("-y", &["5"]),
    ("-n", &[]),
    ("-c", &[]),
    ("--stats", &[]),
    ("--rate", &[]),
    ("--exact", &[]),
    ("--thresholds", &[]),
    ("--persistent-conn", &[]),
    ("--nosort", &[]),
    ("--sort", &[]),
    ("--timeout", &[]),
    ("-o", &[]),
    ("-b", &["sh-port", "flag-2", "mh-fallback,mh-port", "foo"]),
    ("--tun-type", &["gue", "gre", "ipip", "vxlan"]),
    ("--tun-port", &["6080", "0"]),
    ("--tun-csum", &[]),
    ("--tun-nocsum", &[]),
    ("--tun-remcsum", &[]),
    ("--tun-info", &[]),
];

const JUNK: &[&str] = &[
    "-Lnt",
    "-q",
    "--foo",
    "-p=",
    "--weight=3",
    "-",
    "--",
    "extra",
    "-Lnx",
    "300",
];

fn command_line(rng: &mut Rng) -> Vec<String> {
    let mut args = vec![rng.pick(COMMANDS).to_string()];
    if args[0] == "--set" {
        for _ in 0..2 + rng.below(3) {
            args.push(rng.pick(&["1", "0", "900", "x"]).to_string());
        }
    }
    for _ in 0..rng.below(6) {
        if rng.below(10) == 0 {
            args.push(rng.pick(JUNK).to_string());
            continue;
        }
        let (opt, values) = OPTIONS[rng.below(OPTIONS.len())];
        args.push(opt.to_string());
        if !values.is_empty() {
            args.push(rng.pick(values).to_string());
        }
    }
    args
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
    after: Vec<String>,
}

const AFTER: &[&[&str]] = &[
    &["-S", "-n"],
    &["-Ln", "--thresholds"],
    &["-L", "--timeout"],
];

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ipvsadm(shim: &str, state: &Path, args: &[String]) -> Outcome {
    let run = |a: &[String]| {
        Command::new("ipvsadm")
            .args(a)
            .env("LD_PRELOAD", shim)
            .env("IPVS_SHIM_STATE", state)
            .env("GLIBC_TUNABLES", "glibc.malloc.perturb=255")
            .stdin(Stdio::null())
            .output()
            .expect("run ipvsadm")
    };
    let out = run(args);
    let after = AFTER
        .iter()
        .map(|a| text(&run(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>()).stdout))
        .collect();
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
        after,
    }
}

fn rvsadm(daemon: &FakeDaemon, args: &[String]) -> Outcome {
    let run = |a: &[String]| {
        Command::new(env!("CARGO_BIN_EXE_rvsadm"))
            .arg0("ipvsadm")
            .args(a)
            .env("RVS_SOCKET", daemon.socket())
            .env("RVSADM_SERVICES", golden_dir().join("services"))
            .stdin(Stdio::null())
            .output()
            .expect("run rvsadm")
    };
    let out = run(args);
    let after = AFTER
        .iter()
        .map(|a| text(&run(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>()).stdout))
        .collect();
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
        after,
    }
}

/// Outcomes that differ for reasons outside rvsadm: the shim has no connection table and
/// no IPv6, and rvs refuses what it does not implement.
fn oracle_artefact(ipv: &Outcome, rvs: &Outcome) -> bool {
    ipv.stderr.contains("cannot open file /proc/net/ip_vs_conn")
        || ipv
            .stderr
            .contains("Operation not supported with specified address family")
        || rvs.stderr.contains("not supported by rvs")
}

#[test]
#[ignore]
fn random_command_lines_agree_with_ipvsadm() {
    let shim = std::env::var("IPVS_SHIM_SO").expect("set IPVS_SHIM_SO to a built ipvs_shim.so");
    let cases: usize = std::env::var("ORACLE_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let seed: u64 = std::env::var("ORACLE_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed);
    let base = golden_dir().join("list-n.state");
    let table = common::load("list-n").table;
    let work = std::env::temp_dir().join(format!("rvsadm-oracle-{}.state", std::process::id()));
    let mut rng = Rng(seed | 1);
    let mut problems = Vec::new();
    for _ in 0..cases {
        let args = command_line(&mut rng);
        std::fs::copy(&base, &work).expect("copy state");
        let ipv = ipvsadm(&shim, &work, &args);
        let daemon = FakeDaemon::start(State {
            services: table.services.clone(),
            timeouts: table.timeouts.expect("timeouts"),
            ..State::default()
        });
        let rvs = rvsadm(&daemon, &args);
        if oracle_artefact(&ipv, &rvs) {
            continue;
        }
        if (ipv.code, &ipv.stdout, &ipv.stderr, &ipv.after)
            != (rvs.code, &rvs.stdout, &rvs.stderr, &rvs.after)
        {
            problems.push(format!(
                "{args:?}\n  ipvsadm: {} {:?} {:?}\n  rvsadm:  {} {:?} {:?}",
                ipv.code, ipv.stderr, ipv.stdout, rvs.code, rvs.stderr, rvs.stdout
            ));
        }
    }
    let _ = std::fs::remove_file(&work);
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
