//! A live rvsd in a lab director namespace (net_af_packet port on the director's veth,
//! kernel-side TAP `rvs0`), rvsadm against it, and the small Python helpers the live
//! health and VRRP tests share: a UDP echo that names its server, a UDP prober that
//! measures outages, an HTTP keep-alive client, a burst of new HTTP connections, a server
//! that accepts and never answers.
//!
//! Tests skip (print `skipped: ...` and pass) when not root, when rvsadm is not built
//! next to rvsd, or when a tool they need is missing. Tests of one binary run one at a
//! time ([`serial`]): each rvsd busy-polls a core, and the timings they measure are the
//! point.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use lab::{Lab, LabSpec, NodeId, ProcessGuard};

pub const RVSD: &str = env!("CARGO_BIN_EXE_rvsd");
pub const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
/// The Python the lab uses (not a pyenv shim, which would fork and outlive a SIGTERM).
pub const PYTHON: &str = "/usr/bin/python3";

/// The rvsadm binary next to rvsd.
pub fn rvsadm_binary() -> Option<PathBuf> {
    let p = Path::new(RVSD).with_file_name("rvsadm");
    p.exists().then_some(p)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Why these tests cannot run here, if they cannot. `tools` are programs that must be on
/// the PATH (keepalived, say).
pub fn skip_reason(tools: &[&str]) -> Option<String> {
    if !is_root() {
        return Some("needs root (network namespaces, DPDK)".into());
    }
    if rvsadm_binary().is_none() {
        return Some("rvsadm is not built next to rvsd (cargo build -p cli)".into());
    }
    if !Path::new(PYTHON).exists() {
        return Some(format!("{PYTHON} is missing"));
    }
    for t in tools {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(t).exists()))
            .unwrap_or(false);
        if !found {
            return Some(format!("{t} is not installed"));
        }
    }
    None
}

/// Prints the skip line and returns true when the test cannot run.
pub fn skip(tools: &[&str]) -> bool {
    match skip_reason(tools) {
        Some(why) => {
            println!("skipped: {why}");
            true
        }
        None => false,
    }
}

static SERIAL: Mutex<()> = Mutex::new(());

/// Holds the tests of one binary to one at a time.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Polls `f` every 20 ms until it holds or `limit` passes; the time it took.
pub fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if f() {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts `f` holds at every poll for `span`.
pub fn holds_for(span: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < span {
        assert!(f(), "{what} stopped holding after {:?}", start.elapsed());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A measured figure, in a form docs quote (`FIGURE name: 1.234 s`).
pub fn figure(name: &str, d: Duration) {
    println!("FIGURE {name}: {:.3} s", d.as_secs_f64());
}

/// The `[dpdk]` and `[[ports]]` of director `n` in `lab`: port dp0 on its veth, its
/// address, TAP rvs0, default route via the router. `extra` follows (services, VRRP).
pub fn director_toml(lab: &Lab, n: u8, socket: &Path, extra: &str) -> String {
    let node = lab.node(NodeId::Director(n)).expect("director node");
    format!(
        "[daemon]\ncontrol_socket = \"{socket}\"\nstate_file = \"{state}\"\n\n\
         [dpdk]\neal_args = [\"-l\", \"0\", \"--no-huge\", \"--no-shconf\", \"-m\", \"256\", \"--no-telemetry\", \"--log-level=lib.eal:error\", \"--log-level=pmd.net.tap:error\"]\n\
         workers = [1]\nmbufs = 4095\nmbuf_cache = 64\n\n\
         [[ports]]\nname = \"dp0\"\ndevice = \"net_af_packet{n},iface={iface}\"\naddresses = [\"{addr}/24\"]\n\
         kernel_port = {{ name = \"rvs0\" }}\n\n\
         [[routes]]\nprefix = \"0.0.0.0/0\"\nvia = \"10.0.0.1\"\nport = \"dp0\"\n\n{extra}",
        socket = socket.display(),
        state = socket.with_extension("state.json").display(),
        iface = node.ifname(),
        addr = lab::plan::director_addr(n),
    )
}

/// What one rvsadm run printed.
#[derive(Debug, Clone)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// A running rvsd in a director namespace.
pub struct Rvsd {
    pub guard: Option<ProcessGuard>,
    pub socket: PathBuf,
    pub config: PathBuf,
    pub node: NodeId,
}

impl Rvsd {
    /// Writes the configuration for director `n` (`extra` = services, VRRP ...) into the
    /// lab's work directory and starts rvsd there; returns once rvsadm gets an answer.
    pub fn start(lab: &Lab, n: u8, name: &str, extra: &str) -> Rvsd {
        let dir = lab.workdir().join(format!("rvsd-{name}"));
        std::fs::create_dir_all(&dir).expect("rvsd dir");
        let socket = dir.join("rvsd.sock");
        let _ = std::fs::remove_file(&socket);
        let _ = std::fs::remove_file(socket.with_extension("state.json"));
        let config = dir.join("rvs.toml");
        std::fs::write(&config, director_toml(lab, n, &socket, extra)).expect("config");
        let mut guard = lab
            .spawn(
                NodeId::Director(n),
                &format!("rvsd-{name}"),
                RVSD,
                &["--config", config.to_str().expect("utf-8")],
            )
            .expect("spawn rvsd");
        let mut rvsd = Rvsd {
            guard: None,
            socket: socket.clone(),
            config,
            node: NodeId::Director(n),
        };
        guard
            .wait_ready("rvsd's control socket", Duration::from_secs(60), || {
                socket.exists() && rvsd.rvsadm(&["-Ln"]).code == 0
            })
            .unwrap_or_else(|e| panic!("rvsd did not start: {e}"));
        rvsd.guard = Some(guard);
        rvsd
    }

    /// Runs rvsadm against this daemon.
    pub fn rvsadm(&self, args: &[&str]) -> Run {
        let out = Command::new(rvsadm_binary().expect("rvsadm"))
            .args(args)
            .env("RVS_SOCKET", &self.socket)
            .stdin(Stdio::null())
            .output()
            .expect("run rvsadm");
        Run {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            code: out.status.code().unwrap_or(-1),
        }
    }

    /// The real servers `-Ln` lists for `service` (`TCP  10.0.0.100:80`'s heading words),
    /// as `address:port` → weight.
    pub fn table(&self, proto: &str, service: &str) -> BTreeMap<String, u32> {
        let text = self.rvsadm(&["-Ln"]).stdout;
        let mut out = BTreeMap::new();
        let mut inside = false;
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            match f.as_slice() {
                [p, s, ..] if !line.starts_with(' ') => inside = *p == proto && *s == service,
                ["->", addr, _fwd, weight, ..] if inside => {
                    out.insert((*addr).to_string(), weight.parse().unwrap_or(u32::MAX));
                }
                _ => {}
            }
        }
        out
    }

    /// Named counters (`--list-counters`).
    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.rvsadm(&["--list-counters"])
            .stdout
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                Some((f.next()?.to_string(), f.last()?.parse().ok()?))
            })
            .collect()
    }

    pub fn counter(&self, name: &str) -> u64 {
        self.counters().get(name).copied().unwrap_or(0)
    }

    /// The state of VRRP instance `name` (`--list-vrrp`), `None` when not listed.
    pub fn vrrp_state(&self, name: &str) -> Option<String> {
        let text = self.rvsadm(&["--list-vrrp"]).stdout;
        text.lines().find_map(|l| {
            l.strip_prefix(&format!("VRRP instance {name}: "))
                .map(|s| s.trim().to_string())
        })
    }

    /// The checker lines of `--list-checkers` that mention `dest` (`10.0.0.11:8080`...).
    pub fn checker_line(&self, dest_words: &str) -> Option<String> {
        self.rvsadm(&["--list-checkers", "-n"])
            .stdout
            .lines()
            .find(|l| l.contains(dest_words))
            .map(str::to_string)
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        self.guard
            .as_ref()
            .map(ProcessGuard::log)
            .unwrap_or_default()
    }

    /// Sends `signal` and waits up to 10 s for the exit.
    pub fn signal(&mut self, signal: nix::sys::signal::Signal) {
        let guard = self.guard.take().expect("running");
        lab::process::signal_pid(guard.pid(), signal);
        guard
            .wait_exit(Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("rvsd did not exit after {signal}: {e}"));
    }
}

impl Drop for Rvsd {
    fn drop(&mut self) {
        if let Some(g) = self.guard.take() {
            let _ = g.stop();
        }
    }
}

const ECHO_PY: &str = r#"
import socket, sys
name, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data + b" " + name.encode(), peer)
"#;

const PROBE_PY: &str = r#"
import select, socket, sys, time
dst, port, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
seq, nxt = 0, time.monotonic()
print("ready", flush=True)
while True:
    now = time.monotonic()
    if now >= nxt:
        try:
            s.sendto(str(seq).encode(), (dst, port))
        except OSError:
            pass
        print(f"S {seq} {now:.6f}", flush=True)
        seq += 1
        nxt += interval
    r, _, _ = select.select([s], [], [], max(0.0, nxt - time.monotonic()))
    if r:
        try:
            data, _ = s.recvfrom(2048)
        except OSError:
            continue
        parts = data.decode(errors="replace").split()
        if len(parts) >= 2:
            print(f"R {parts[0]} {time.monotonic():.6f} {parts[1]}", flush=True)
"#;

const KEEPALIVE_PY: &str = r#"
import socket, sys, time
dst, port, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection((dst, port), timeout=5)
print("ready", flush=True)
n = 0
while True:
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            print("closed", flush=True)
            sys.exit(0)
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    length, server = 0, "?"
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
        if k.strip().lower() == b"x-server":
            server = v.strip().decode()
    while len(body) < length:
        chunk = s.recv(4096)
        if not chunk:
            print("closed", flush=True)
            sys.exit(0)
        body += chunk
    n += 1
    print(f"reply {n} {server}", flush=True)
    time.sleep(interval)
"#;

const BURST_PY: &str = r#"
import socket, sys, collections
dst, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
counts = collections.Counter()
for i in range(n):
    try:
        s = socket.create_connection((dst, port), timeout=3)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        buf = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        s.close()
        server = "?"
        for line in buf.split(b"\r\n\r\n")[0].split(b"\r\n"):
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"x-server":
                server = v.strip().decode()
        counts[server] += 1
    except OSError:
        counts["error"] += 1
for k, v in sorted(counts.items()):
    print(k, v)
"#;

const SILENT_PY: &str = r#"
import socket, sys, time
port = int(sys.argv[1])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(64)
print("ready", flush=True)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
"#;

/// Writes a helper script into the lab's work directory.
fn script(lab: &Lab, name: &str, text: &str) -> PathBuf {
    let p = lab.workdir().join(name);
    std::fs::write(&p, text).expect("write helper script");
    p
}

/// Starts a Python helper in `node` and waits for its `ready` line.
pub fn helper(lab: &Lab, node: NodeId, name: &str, text: &str, args: &[String]) -> ProcessGuard {
    let path = script(lab, &format!("{name}.py"), text);
    let mut argv = vec![path.to_string_lossy().into_owned()];
    argv.extend(args.iter().cloned());
    let mut g = lab.spawn(node, name, PYTHON, &argv).expect("spawn helper");
    let log = g.log_path().to_path_buf();
    g.wait_ready(name, Duration::from_secs(10), || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("ready")
    })
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    g
}

/// A UDP echo on `port` in `node` that appends `name` to each datagram.
pub fn udp_echo(lab: &Lab, node: NodeId, name: &str, port: u16) -> ProcessGuard {
    helper(
        lab,
        node,
        &format!("echo-{name}"),
        ECHO_PY,
        &[name.to_string(), port.to_string()],
    )
}

/// A TCP listener on `port` in `node` that accepts and never says anything.
pub fn silent_server(lab: &Lab, node: NodeId, port: u16) -> ProcessGuard {
    helper(
        lab,
        node,
        &format!("silent-{node}"),
        SILENT_PY,
        &[port.to_string()],
    )
}

/// A UDP prober from the client: one datagram every `interval` to `dst:port`.
pub struct Probe {
    guard: Option<ProcessGuard>,
    interval: Duration,
}

/// What a prober saw.
#[derive(Debug, Clone)]
pub struct ProbeReport {
    pub sent: u64,
    /// (sequence, send time, who answered) of every answered probe, by sequence.
    pub answered: Vec<(u64, f64, String)>,
    pub interval: Duration,
}

impl Probe {
    pub fn start(lab: &Lab, dst: Ipv4Addr, port: u16, interval: Duration) -> Probe {
        let g = helper(
            lab,
            NodeId::Client,
            "probe",
            PROBE_PY,
            &[
                dst.to_string(),
                port.to_string(),
                format!("{}", interval.as_secs_f64()),
            ],
        );
        Probe {
            guard: Some(g),
            interval,
        }
    }

    /// What it saw so far.
    pub fn report(&self) -> ProbeReport {
        let text = self
            .guard
            .as_ref()
            .map(ProcessGuard::log)
            .unwrap_or_default();
        parse_probe(&text, self.interval)
    }

    /// Stops it and returns what it saw.
    pub fn stop(mut self) -> ProbeReport {
        let r = self.report();
        if let Some(g) = self.guard.take() {
            let _ = g.stop();
        }
        r
    }
}

fn parse_probe(text: &str, interval: Duration) -> ProbeReport {
    let mut sent_at: BTreeMap<u64, f64> = BTreeMap::new();
    let mut answered: BTreeMap<u64, String> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["S", seq, t] => {
                if let (Ok(s), Ok(t)) = (seq.parse(), t.parse()) {
                    sent_at.insert(s, t);
                }
            }
            ["R", seq, _t, who] => {
                if let Ok(s) = seq.parse() {
                    answered.insert(s, (*who).to_string());
                }
            }
            _ => {}
        }
    }
    ProbeReport {
        sent: sent_at.len() as u64,
        answered: answered
            .into_iter()
            .filter_map(|(s, who)| Some((s, *sent_at.get(&s)?, who)))
            .collect(),
        interval,
    }
}

impl ProbeReport {
    /// The longest time without an answer: between the send times of two consecutive
    /// answered probes, less one interval (0 when nothing was lost).
    pub fn outage(&self) -> Duration {
        let longest = self
            .answered
            .windows(2)
            .map(|w| w[1].1 - w[0].1)
            .fold(0.0_f64, f64::max);
        Duration::from_secs_f64((longest - self.interval.as_secs_f64()).max(0.0))
    }

    /// Who answered the probes sent after `t` (monotonic seconds of the prober).
    pub fn answered_after(&self, t: f64) -> Vec<String> {
        self.answered
            .iter()
            .filter(|(_, at, _)| *at > t)
            .map(|(_, _, w)| w.clone())
            .collect()
    }

    /// The send time of the last probe (prober's clock).
    pub fn last_sent(&self) -> f64 {
        self.answered.last().map_or(0.0, |a| a.1)
    }
}

/// An HTTP/1.1 keep-alive connection from the client to `dst:port`, one request every
/// `interval`, logging which server answered each.
pub struct KeepAlive {
    guard: ProcessGuard,
}

impl KeepAlive {
    pub fn start(lab: &Lab, dst: Ipv4Addr, port: u16, interval: Duration) -> KeepAlive {
        KeepAlive {
            guard: helper(
                lab,
                NodeId::Client,
                "keepalive",
                KEEPALIVE_PY,
                &[
                    dst.to_string(),
                    port.to_string(),
                    format!("{}", interval.as_secs_f64()),
                ],
            ),
        }
    }

    /// The servers of the replies so far, in order; `closed` when the connection ended.
    pub fn replies(&self) -> (Vec<String>, bool) {
        let text = self.guard.log();
        let servers = text
            .lines()
            .filter_map(|l| l.strip_prefix("reply "))
            .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
            .collect();
        (servers, text.lines().any(|l| l == "closed"))
    }
}

/// `n` new HTTP connections from the client to `dst:port`, one after the other: how many
/// each server (X-Server) answered (`error` for failed ones).
pub fn http_burst(lab: &Lab, dst: Ipv4Addr, port: u16, n: u32) -> BTreeMap<String, u32> {
    let path = script(lab, "burst.py", BURST_PY);
    let out = lab
        .run(
            NodeId::Client,
            PYTHON,
            &[
                path.to_string_lossy().into_owned(),
                dst.to_string(),
                port.to_string(),
                n.to_string(),
            ],
        )
        .expect("http burst");
    out.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// Builds a lab or returns `None` after printing why not.
pub fn lab(spec: LabSpec) -> Option<Lab> {
    Lab::up_or_skip(spec).expect("building the lab")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_logs_give_outages_and_answerers() {
        let text = "ready\nS 0 1.00\nR 0 1.01 rs1\nS 1 1.10\nS 2 1.20\nS 3 1.30\nR 3 1.31 peer\nS 4 1.40\nR 4 1.41 peer\n";
        let r = parse_probe(text, Duration::from_millis(100));
        assert_eq!(r.sent, 5);
        assert_eq!(r.answered.len(), 3);
        assert!((r.outage().as_secs_f64() - 0.2).abs() < 1e-6);
        assert_eq!(r.answered_after(1.25), ["peer", "peer"]);
    }
}
