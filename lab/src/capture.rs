//! Packet capture with tcpdump inside a node, and reading the result.
//!
//! tcpdump runs with `--immediate-mode` (take each packet from the kernel ring at once:
//! TPACKET_V3 otherwise holds them in a block for up to a second, and SIGINT drops what is
//! still there) and `-U` (write each packet to the file at once). Stopping waits until the
//! file has stopped growing, then sends SIGINT, after which tcpdump flushes and closes the
//! file; the lab waits for its exit before handing out the path.
//! Start-up is awaited on tcpdump's "listening on" line, printed once the filter is set,
//! so no packet sent after `capture()` returns is missed. A capture on a veth shows what a
//! packet socket there receives: exactly what DPDK's `net_af_packet` would get.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use pcap_file::pcap::PcapReader;

use crate::cmd::{self, TCPDUMP};
use crate::error::{LabError, Result};
use crate::lab::Lab;
use crate::names::NodeId;
use crate::process::{POLL, ProcessGuard};

/// How long tcpdump gets to start listening.
const CAPTURE_START: Duration = Duration::from_secs(10);
/// Kernel ring size (tcpdump `-B`, KiB). With the default 2 MiB a busy machine lost most
/// of a 300 kB transfer ("packets dropped by kernel"); 32 MiB holds a few seconds of
/// veth line rate between two slow reads.
const CAPTURE_BUFFER_KIB: u32 = 32 * 1024;
/// A capture is stopped once its file has not grown for this long...
const SETTLE_QUIET: Duration = Duration::from_millis(200);
/// ...or after this long in any case.
const SETTLE_MAX: Duration = Duration::from_secs(3);

/// A running capture.
#[derive(Debug)]
pub struct Capture {
    guard: ProcessGuard,
    path: PathBuf,
}

/// A finished capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureFile {
    /// The pcap file.
    pub path: PathBuf,
    /// tcpdump's own count (`N packets captured`).
    pub captured: u64,
    /// Packets the kernel dropped because tcpdump's ring was full (`N packets dropped by
    /// kernel`): a capture with drops is incomplete.
    pub dropped: u64,
}

impl CaptureFile {
    /// The frames in the file.
    pub fn frames(&self) -> Result<Vec<Vec<u8>>> {
        read_frames(&self.path)
    }
}

impl Capture {
    /// Stops tcpdump (SIGINT), waits until it has flushed the file, returns it.
    pub fn stop(self) -> Result<CaptureFile> {
        self.settle();
        let log_path = self.guard.log_path().to_path_buf();
        let status = self.guard.stop()?;
        let log = std::fs::read_to_string(&log_path).map_err(|e| LabError::io(&log_path, e))?;
        let captured = summary_count(&log, "captured").ok_or_else(|| LabError::Command {
            command: "tcpdump".to_owned(),
            status: status.map_or_else(|| "unknown".to_owned(), |s| s.to_string()),
            stderr: log.trim().to_owned(),
        })?;
        Ok(CaptureFile {
            path: self.path,
            captured,
            dropped: summary_count(&log, "dropped by kernel").unwrap_or(0),
        })
    }

    /// Waits until the file has not grown for [`SETTLE_QUIET`] (at most [`SETTLE_MAX`]), so
    /// that packets already on their way are in the file before tcpdump is stopped.
    fn settle(&self) {
        let size = || std::fs::metadata(&self.path).map_or(0, |m| m.len());
        let start = Instant::now();
        let mut last = size();
        let mut quiet_since = Instant::now();
        while start.elapsed() < SETTLE_MAX {
            sleep(POLL);
            let now = size();
            if now != last {
                last = now;
                quiet_since = Instant::now();
            } else if quiet_since.elapsed() >= SETTLE_QUIET {
                return;
            }
        }
    }

    /// The pcap file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `N` of a `N packets WHAT` (or `1 packet WHAT`) line of tcpdump's exit summary.
pub fn summary_count(log: &str, what: &str) -> Option<u64> {
    log.lines().find_map(|line| {
        let line = line.trim();
        let n = line
            .strip_suffix(&format!(" packets {what}"))
            .or_else(|| line.strip_suffix(&format!(" packet {what}")))?;
        n.trim().parse().ok()
    })
}

/// Every frame of a pcap file.
pub fn read_frames(path: &Path) -> Result<Vec<Vec<u8>>> {
    let file = File::open(path).map_err(|e| LabError::io(path, e))?;
    let pcap_error = |e: pcap_file::PcapError| LabError::Pcap {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut reader = PcapReader::new(file).map_err(pcap_error)?;
    let mut frames = Vec::new();
    while let Some(packet) = reader.next_packet() {
        frames.push(packet.map_err(pcap_error)?.data.into_owned());
    }
    Ok(frames)
}

impl Lab {
    /// Captures on `iface` in `node` what matches the tcpdump `filter` (empty: everything).
    pub fn capture(&self, node: NodeId, iface: &str, filter: &str) -> Result<Capture> {
        let tcpdump = cmd::find(TCPDUMP)?;
        let path = self.work_file(&format!("capture-{node}-{iface}"), "pcap");
        let mut args = vec![
            "-i".to_owned(),
            iface.to_owned(),
            "-w".to_owned(),
            path.to_string_lossy().into_owned(),
            "-U".to_owned(),
            "--immediate-mode".to_owned(),
            "-B".to_owned(),
            CAPTURE_BUFFER_KIB.to_string(),
            "-n".to_owned(),
            "-s".to_owned(),
            "0".to_owned(),
            "-Z".to_owned(),
            "root".to_owned(),
        ];
        args.extend(filter.split_whitespace().map(str::to_owned));
        let mut guard = self
            .spawn(
                node,
                &format!("tcpdump-{node}"),
                &tcpdump.to_string_lossy(),
                &args,
            )?
            .with_stop_signal(Signal::SIGINT);
        let log = guard.log_path().to_path_buf();
        guard.wait_ready("tcpdump to listen", CAPTURE_START, || {
            std::fs::read_to_string(&log).is_ok_and(|text| text.contains("listening on"))
        })?;
        Ok(Capture { guard, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcpdump_summary_parses() {
        let log = "tcpdump: listening on x, link-type EN10MB\n27 packets captured\n36 packets received by filter\n0 packets dropped by kernel\n";
        assert_eq!(summary_count(log, "captured"), Some(27));
        assert_eq!(summary_count(log, "dropped by kernel"), Some(0));
        assert_eq!(summary_count("1 packet captured\n", "captured"), Some(1));
        assert_eq!(summary_count("tcpdump: listening on x\n", "captured"), None);
    }
}
