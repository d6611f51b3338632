//! Helpers shared by the integration tests: running rvsd with a deadline, temporary
//! directories, reading captures.
#![allow(dead_code)]

pub mod frames;
pub mod golden;
pub mod live;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const RVSD: &str = env!("CARGO_BIN_EXE_rvsd");
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Whether the test process runs as root (DPDK tests need it for EAL's memory setup).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// A fresh directory under the target dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("rvs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The configuration the replay fixtures were generated for: dp0 = 10.0.0.2/24.
pub fn write_config(dir: &TempDir, device: &str) -> PathBuf {
    let path = dir.path("rvs.toml");
    std::fs::write(
        &path,
        format!(
            "[dpdk]\neal_args = [\"-l\", \"0\", \"--no-huge\", \"--no-shconf\", \"-m\", \"256\", \"--no-telemetry\"]\n\
             workers = [0]\nmbufs = 2047\nmbuf_cache = 64\n\n\
             [[ports]]\nname = \"dp0\"\ndevice = \"{device}\"\naddresses = [\"10.0.0.2/24\"]\n"
        ),
    )
    .expect("write config");
    path
}

/// Waits for `child` with a deadline: a hang is a test failure, not a stuck suite.
pub fn wait_with_deadline(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    loop {
        if let Some(_status) = child.try_wait().expect("wait") {
            return child.wait_with_output().expect("collect output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collect output");
            panic!(
                "rvsd did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `rvsd ARGS` to completion (at most 60 s).
pub fn rvsd(args: &[&str]) -> Output {
    let child = Command::new(RVSD)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rvsd");
    wait_with_deadline(child, Duration::from_secs(60))
}

/// The frames of a capture, in order.
pub fn frames(path: &Path) -> Vec<Vec<u8>> {
    dataplane::port::pcap::read_capture(path)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|r| r.data)
        .collect()
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(ROOT).join("pcaps").join(name)
}

/// The value of a `name value` line of rvsd's summary.
pub fn counter(stdout: &str, name: &str) -> Option<u64> {
    stdout.lines().find_map(|l| {
        let (n, v) = l.split_once(' ')?;
        (n == name).then(|| v.trim().parse().ok()).flatten()
    })
}
