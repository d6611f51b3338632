//! A live rvsd for integration tests, and the real rvsadm to talk to it.
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{RVSD, wait_with_deadline};

/// The rvsadm binary next to rvsd, when the workspace built it (`cargo test --workspace`
/// or `cargo build -p cli`).
pub fn rvsadm_binary() -> Option<PathBuf> {
    let p = Path::new(RVSD).with_file_name("rvsadm");
    p.exists().then_some(p)
}

/// Why a live test cannot run here, if it cannot.
pub fn live_skip_reason() -> Option<String> {
    if !super::is_root() {
        return Some("the live daemon needs root (EAL memory setup)".into());
    }
    if rvsadm_binary().is_none() {
        return Some(
            "rvsadm is not built next to rvsd (run `cargo build -p cli` or `cargo test --workspace`)"
                .into(),
        );
    }
    None
}

/// The services database the goldens' names came from.
pub fn golden_services() -> PathBuf {
    super::golden::cli_golden_dir().join("services")
}

/// What one rvsadm run printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// A running rvsd with its own directory, socket and state file.
pub struct LiveDaemon {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub socket: PathBuf,
    pub state: PathBuf,
    pub log: PathBuf,
    child: Option<Child>,
    starts: u32,
}

impl LiveDaemon {
    /// Writes `rvs.toml` in `dir` (socket and state file inside it, then `body`) and
    /// starts rvsd on it.
    pub fn start(dir: &Path, body: &str) -> LiveDaemon {
        let socket = dir.join("rvsd.sock");
        let state = dir.join("state.json");
        let config = dir.join("rvs.toml");
        std::fs::write(
            &config,
            format!(
                "[daemon]\ncontrol_socket = \"{}\"\nstate_file = \"{}\"\n{body}",
                socket.display(),
                state.display()
            ),
        )
        .expect("write config");
        let mut d = LiveDaemon {
            dir: dir.to_path_buf(),
            config,
            socket,
            state,
            log: dir.join("rvsd.log"),
            child: None,
            starts: 0,
        };
        d.spawn();
        d
    }

    fn spawn(&mut self) {
        self.starts += 1;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open log");
        let child = Command::new(RVSD)
            .args(["--config", self.config.to_str().expect("utf-8 path")])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn rvsd");
        self.child = Some(child);
        self.wait_ready();
    }

    /// The daemon's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "rvsd exited during start-up ({status}):\n{}",
                    self.log_text()
                );
            }
            if self.socket.exists() && self.rvsadm(&["-Ln"]).code == 0 {
                return;
            }
            if start.elapsed() > Duration::from_secs(60) {
                self.kill();
                panic!("rvsd did not answer within 60 s:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs rvsadm (as argv[0] `ipvsadm`, so messages quoting the program name compare
    /// with ipvsadm's) against this daemon.
    pub fn rvsadm(&self, args: &[&str]) -> Run {
        self.rvsadm_with(args, None, None)
    }

    /// [`LiveDaemon::rvsadm`] with stdin and, optionally, as another user (uid = gid).
    pub fn rvsadm_with(&self, args: &[&str], stdin: Option<&str>, uid: Option<u32>) -> Run {
        let bin = rvsadm_binary().expect("rvsadm built");
        let mut cmd = Command::new(bin);
        cmd.arg0("ipvsadm")
            .args(args)
            .env("RVS_SOCKET", &self.socket)
            .env("RVSADM_SERVICES", golden_services())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(id) = uid {
            cmd.uid(id).gid(id);
        }
        let mut child = cmd.spawn().expect("spawn rvsadm");
        {
            use std::io::Write;
            let mut input = child.stdin.take().expect("stdin");
            if let Some(text) = stdin {
                input.write_all(text.as_bytes()).expect("write stdin");
            }
        }
        let out = wait_with_deadline(child, Duration::from_secs(30));
        Run {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            code: out.status.code().unwrap_or(-1),
        }
    }

    /// Sends `signal` (`-TERM`, `-KILL` ...) and waits for the daemon to end.
    pub fn signal_and_wait(&mut self, signal: &str) -> Output {
        let child = self.child.take().expect("running");
        let pid = child.id().to_string();
        let status = Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal} {pid}");
        wait_with_deadline(child, Duration::from_secs(30))
    }

    /// SIGTERM, and the exit must be clean.
    pub fn stop(&mut self) {
        let out = self.signal_and_wait("-TERM");
        assert!(
            out.status.success(),
            "rvsd exit {}:\n{}",
            out.status,
            self.log_text()
        );
    }

    /// Starts rvsd again on the same configuration, socket and state file.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop it first");
        self.spawn();
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for LiveDaemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The `[dpdk]`, `[conn_table]` and `[[ports]]` of a live test daemon: one worker on core
/// 1, no hugepages, and `device` as port dp0 (10.0.0.2/24).
pub fn runtime_toml(device: &str) -> String {
    format!(
        "[dpdk]\neal_args = [\"-l\", \"0\", \"--no-huge\", \"--no-shconf\", \"-m\", \"256\", \"--no-telemetry\", \"--log-level=lib.eal:error\"]\n\
         workers = [1]\nmbufs = 2047\nmbuf_cache = 64\n\n\
         [conn_table]\ncapacity_per_worker = 4096\n\n\
         [[ports]]\nname = \"dp0\"\ndevice = \"{device}\"\naddresses = [\"10.0.0.2/24\"]\n"
    )
}
