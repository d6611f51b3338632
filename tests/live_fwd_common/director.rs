//! rvsd running live in the lab's director namespace, on a DPDK `net_af_packet` port bound
//! to the director's veth, and the real `rvsadm` talking to its control socket.
//!
//! Everything rvsd owns lives in the lab's work directory (configuration, control socket,
//! state file, log), so removing the lab removes it; EAL runs without hugepages and with a
//! file prefix of its own, so several labs (and other engineers' tests) can run at once.
//! The runtime — port, address, default route via the router — comes from the file; the
//! services are configured with rvsadm, as an operator would.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lab::{Lab, NodeId, ProcessGuard};

use super::listing::{self, ConnEntry, StatsListing};

/// The director's own address on its port (the NAT servers' gateway).
pub const DIRECTOR_ADDR: &str = "10.0.0.2";

/// The rvsadm binary next to rvsd (built by `cargo test --workspace` or `cargo build -p cli`).
pub fn rvsadm_binary() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_BIN_EXE_rvsd")).with_file_name("rvsadm");
    p.exists().then_some(p)
}

/// A running rvsd; dropping it stops it. When dropped during a panic it prints its log and
/// counters first, so a failed test says what the director saw.
pub struct Director {
    guard: Option<ProcessGuard>,
    socket: PathBuf,
    rvsadm: PathBuf,
}

impl Director {
    /// Writes the runtime configuration into the lab's work directory and starts rvsd in
    /// director 1's namespace; returns once rvsadm gets an answer.
    pub fn start(lab: &Lab, rvsadm: PathBuf) -> Director {
        let dir = lab.workdir();
        let socket = dir.join("rvsd.sock");
        let config = dir.join("rvsd.toml");
        let port = lab
            .node(NodeId::Director(1))
            .expect("director 1")
            .ifname()
            .to_owned();
        let text = runtime_config(&socket, &dir.join("rvsd-state.json"), &port, lab.id());
        std::fs::write(&config, text).expect("write rvsd.toml");
        let guard = lab
            .spawn(
                NodeId::Director(1),
                "rvsd",
                env!("CARGO_BIN_EXE_rvsd"),
                &["--config", &config.to_string_lossy()],
            )
            .expect("spawn rvsd");
        let mut d = Director {
            guard: Some(guard),
            socket,
            rvsadm,
        };
        d.wait_ready();
        d
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        loop {
            let guard = self.guard.as_mut().expect("running");
            if let Err(e) = guard.ensure_running() {
                panic!("rvsd exited during start-up: {e}");
            }
            if self.socket.exists() && self.try_adm(&["-Ln"]).0 == 0 {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "rvsd did not answer within 60 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `rvsadm ARGS`: exit status, stdout, stderr.
    pub fn try_adm(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(&self.rvsadm)
            .args(args)
            .env("RVS_SOCKET", &self.socket)
            .stdin(Stdio::null())
            .output()
            .expect("run rvsadm");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs `rvsadm ARGS`, which must succeed; returns its stdout.
    pub fn adm(&self, args: &[&str]) -> String {
        let (code, stdout, stderr) = self.try_adm(args);
        assert_eq!(code, 0, "rvsadm {}: {stderr}{stdout}", args.join(" "));
        stdout
    }

    /// Runs every line of `lines` (words split on blanks) with [`Director::adm`].
    pub fn adm_lines(&self, lines: &str) {
        for line in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
            self.adm(&line.split_whitespace().collect::<Vec<_>>());
        }
    }

    /// `-Ln --stats --exact`, parsed.
    pub fn stats(&self) -> StatsListing {
        listing::parse_stats(&self.adm(&["-Ln", "--stats", "--exact"]))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `-Lnc`, parsed.
    pub fn conns(&self) -> Vec<ConnEntry> {
        listing::parse_conns(&self.adm(&["-Lnc"])).unwrap_or_else(|e| panic!("{e}"))
    }

    /// One named counter of `--list-counters` (0 when not listed: rvs lists drop reasons
    /// only once they happened).
    pub fn counter(&self, name: &str) -> u64 {
        self.adm(&["--list-counters"])
            .lines()
            .find_map(|l| {
                let mut words = l.split_whitespace();
                (words.next() == Some(name))
                    .then(|| words.last().and_then(|v| v.parse().ok()))
                    .flatten()
            })
            .unwrap_or(0)
    }

    /// rvsd's output so far.
    pub fn log(&self) -> String {
        self.guard
            .as_ref()
            .map(ProcessGuard::log)
            .unwrap_or_default()
    }

    /// SIGTERM; rvsd must stop cleanly (exit 0) within the lab's grace period.
    pub fn stop(mut self) {
        let guard = self.guard.take().expect("running");
        let log = guard.log_path().to_path_buf();
        let status = guard.stop().expect("stop rvsd");
        let text = std::fs::read_to_string(log).unwrap_or_default();
        assert!(
            status.is_some_and(|s| s.success()),
            "rvsd did not stop cleanly ({status:?}):\n{text}"
        );
    }
}

impl Drop for Director {
    fn drop(&mut self) {
        if std::thread::panicking() && self.guard.is_some() {
            let (_, counters, _) = self.try_adm(&["--list-counters"]);
            let (_, conns, _) = self.try_adm(&["-Lnc"]);
            eprintln!(
                "---- rvsd log ----\n{}\n---- rvsadm --list-counters ----\n{counters}\n---- rvsadm -Lnc ----\n{conns}",
                self.log()
            );
        }
    }
}

/// The daemon's file: one worker on core 1 (the main lcore on 0), no hugepages, a file
/// prefix of this lab's own, port dp0 = the director's veth through `net_af_packet` with
/// 10.0.0.2/24, the router as default gateway.
fn runtime_config(socket: &Path, state: &Path, iface: &str, id: &lab::RunId) -> String {
    format!(
        r#"[daemon]
control_socket = "{socket}"
state_file = "{state}"

[dpdk]
eal_args = ["-l", "0", "--no-huge", "--no-shconf", "-m", "256", "--no-telemetry",
            "--log-level=lib.eal:error", "--file-prefix", "rvs-{id}"]
workers = [1]
mbufs = 4095
mbuf_cache = 64

[conn_table]
capacity_per_worker = 16384

[[ports]]
name = "dp0"
device = "net_af_packet0,iface={iface}"
addresses = ["{DIRECTOR_ADDR}/24"]

[[routes]]
prefix = "0.0.0.0/0"
via = "10.0.0.1"
port = "dp0"
"#,
        socket = socket.display(),
        state = state.display(),
    )
}
