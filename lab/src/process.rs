//! Long-running programs started in a namespace, stopped when their guard is dropped.
//!
//! Output goes to a log file rather than a pipe: nobody would drain a pipe after start-up,
//! a full pipe would freeze the server mid-test, and a pipe inherited by a detached helper
//! would keep `eval "$(rvs-lab up)"` waiting for EOF forever.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::cmd::describe;
use crate::error::{LabError, Result};

/// How long a stopped program gets between the polite signal and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(3);
/// Poll interval of every wait in the lab.
pub const POLL: Duration = Duration::from_millis(10);

/// A running program; dropping the guard stops it (signal, grace period, SIGKILL, reap).
#[derive(Debug)]
pub struct ProcessGuard {
    name: String,
    command: String,
    child: Option<Child>,
    log: PathBuf,
    stop_signal: Signal,
}

impl ProcessGuard {
    /// Starts `command` with stdin closed and stdout+stderr appended to `log`.
    pub fn spawn(mut command: Command, name: &str, log: &Path) -> Result<ProcessGuard> {
        let out = File::create(log).map_err(|e| LabError::io(log, e))?;
        let err = out.try_clone().map_err(|e| LabError::io(log, e))?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        let text = describe(&command);
        let child = command.spawn().map_err(|source| LabError::Spawn {
            command: text.clone(),
            source,
        })?;
        Ok(ProcessGuard {
            name: name.to_owned(),
            command: text,
            child: Some(child),
            log: log.to_path_buf(),
            stop_signal: Signal::SIGTERM,
        })
    }

    /// Uses `signal` instead of SIGTERM to ask the program to stop (tcpdump: SIGINT).
    pub fn with_stop_signal(mut self, signal: Signal) -> ProcessGuard {
        self.stop_signal = signal;
        self
    }

    /// A short name for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The pid (0 once stopped or detached).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The file that collects stdout and stderr.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// What the program printed so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// Whether it is still running (reaps it if it has exited).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Fails with the program's log if it has exited: for readiness loops.
    pub fn ensure_running(&mut self) -> Result<()> {
        let exited = match self.child.as_mut() {
            Some(child) => child.try_wait().ok().flatten(),
            None => None,
        };
        match exited {
            Some(status) => Err(LabError::Command {
                command: self.command.clone(),
                status: status.to_string(),
                stderr: self.log().trim().to_owned(),
            }),
            None => Ok(()),
        }
    }

    /// Waits until `ready()` says yes, failing early if the program dies.
    pub fn wait_ready(
        &mut self,
        what: &str,
        timeout: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<()> {
        let start = Instant::now();
        loop {
            if ready() {
                return Ok(());
            }
            self.ensure_running()?;
            if start.elapsed() > timeout {
                return Err(LabError::Timeout {
                    what: format!("{what} ({}); log: {}", self.name, self.log().trim()),
                    waited: timeout,
                });
            }
            sleep(POLL);
        }
    }

    /// Waits for the program to exit by itself, up to `timeout` (then stops it).
    pub fn wait_exit(mut self, timeout: Duration) -> Result<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Ok(status);
            }
            sleep(POLL);
        }
        let _ = self.stop_child();
        Err(LabError::Timeout {
            what: format!("{} to exit", self.name),
            waited: timeout,
        })
    }

    /// Stops the program: the stop signal, up to [`GRACE`] to exit, then SIGKILL. Returns
    /// its exit status (`None` if it was already reaped by an earlier wait).
    pub fn stop(mut self) -> Result<Option<ExitStatus>> {
        self.stop_child()
    }

    /// Leaves the program running after the guard is gone; returns its pid.
    pub fn detach(mut self) -> u32 {
        self.child.take().map_or(0, |child| child.id())
    }

    /// Stops the child if there still is one; `None` when it was already stopped or detached.
    fn stop_child(&mut self) -> Result<Option<ExitStatus>> {
        let Some(mut child) = self.child.take() else {
            return Ok(None);
        };
        if let Ok(Some(status)) = child.try_wait() {
            return Ok(Some(status));
        }
        signal_pid(child.id(), self.stop_signal);
        let start = Instant::now();
        while start.elapsed() < GRACE {
            if let Ok(Some(status)) = child.try_wait() {
                return Ok(Some(status));
            }
            sleep(POLL);
        }
        let _ = child.kill();
        child
            .wait()
            .map(Some)
            .map_err(|e| LabError::io(&self.log, e))
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        let _ = self.stop_child();
    }
}

/// Sends `signal` to `pid`, ignoring a process that is already gone.
pub fn signal_pid(pid: u32, signal: Signal) {
    if let Ok(raw) = i32::try_from(pid)
        && raw > 0
    {
        let _ = kill(Pid::from_raw(raw), signal);
    }
}

/// Whether a process with this pid exists (zombies included).
pub fn pid_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The start time of `pid` (field 22 of `/proc/PID/stat`, in clock ticks since boot):
/// with the pid it identifies a process even after the pid is reused.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

/// Field 22 of a `/proc/PID/stat` line. The command name (field 2) is in parentheses and may
/// hold spaces and parentheses, so counting starts after the last `)`.
pub fn parse_start_time(stat: &str) -> Option<u64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    // After the name come fields 3.. ; field 22 is the 20th of them.
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// Polls `check` every [`POLL`] until it is true or `timeout` passes.
pub fn wait_until(what: &str, timeout: Duration, check: impl FnMut() -> bool) -> Result<()> {
    wait_until_every(what, timeout, POLL, check)
}

/// Polls `check` every `interval` until it is true or `timeout` passes (a longer interval
/// for checks that start a program each time).
pub fn wait_until_every(
    what: &str,
    timeout: Duration,
    interval: Duration,
    mut check: impl FnMut() -> bool,
) -> Result<()> {
    let start = Instant::now();
    loop {
        if check() {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(LabError::Timeout {
                what: what.to_owned(),
                waited: timeout,
            });
        }
        sleep(interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn start_time_is_field_22() {
        let stat = "123 (a b) c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 4242 20 21";
        assert_eq!(parse_start_time(stat), Some(4242));
        assert_eq!(parse_start_time("123 (x) S 1 2"), None);
        assert!(start_time(std::process::id()).is_some());
    }

    #[test]
    fn dropping_a_guard_kills_the_program() {
        let dir = std::env::temp_dir().join(format!("rvs-lab-proc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let mut command = Command::new("sleep");
        command.arg("30");
        let guard = ProcessGuard::spawn(command, "sleep", &dir.join("sleep.log")).expect("spawn");
        let pid = guard.pid();
        assert!(pid_exists(pid));
        drop(guard);
        assert!(!pid_exists(pid), "sleep {pid} survived its guard");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_dead_program_fails_readiness_with_its_log() {
        let dir = std::env::temp_dir().join(format!("rvs-lab-dead-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let mut command = Command::new("sh");
        command.args(["-c", "echo cannot bind >&2; exit 2"]);
        let mut guard = ProcessGuard::spawn(command, "dies", &dir.join("dies.log")).expect("spawn");
        let err = guard
            .wait_ready("never", Duration::from_secs(5), || false)
            .expect_err("it died");
        assert!(err.to_string().contains("cannot bind"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    proptest! {
        #[test]
        fn stat_parser_never_panics(text in ".{0,300}") {
            let _ = parse_start_time(&text);
        }
    }
}
