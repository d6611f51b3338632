//! MISC_CHECK: run `/bin/sh -c misc_path`; exit 0 is healthy, anything else a failure,
//! except that with misc_dynamic an exit code of 2..=255 is healthy and sets the weight to
//! `code - 2` (and 0 restores the configured weight). A script still running after
//! misc_timeout is sent SIGTERM, then SIGKILL 2 s later (its whole process group), and the
//! check fails, as keepalived does.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::time::timeout;

use super::{Outcome, WeightHint};

/// Grace between SIGTERM and SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);

/// The shell every script runs under.
pub const SHELL: &str = "/bin/sh";

/// Starts `/bin/sh -c command` in its own process group with no stdio.
pub fn spawn(command: &str) -> std::io::Result<Child> {
    Command::new(SHELL)
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
}

/// Waits for `child` up to `limit`; past it, terminates the process group (SIGTERM, then
/// SIGKILL after a grace period). Returns `None` when the child had to be killed.
pub async fn wait_or_kill(
    child: &mut Child,
    limit: Duration,
) -> Option<std::io::Result<std::process::ExitStatus>> {
    if let Ok(r) = timeout(limit, child.wait()).await {
        return Some(r);
    }
    let group = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw);
    if let Some(pg) = group {
        let _ = killpg(pg, Signal::SIGTERM);
    }
    if timeout(TERM_GRACE, child.wait()).await.is_err() {
        if let Some(pg) = group {
            let _ = killpg(pg, Signal::SIGKILL);
        }
        let _ = child.start_kill();
        let _ = child.wait().await;
    } else if let Some(pg) = group {
        // The shell is gone; make sure nothing it started lingers.
        let _ = killpg(pg, Signal::SIGKILL);
    }
    None
}

/// Maps an exit status to the check's outcome.
pub fn judge(status: std::process::ExitStatus, dynamic: bool) -> Outcome {
    match (status.code(), status.signal()) {
        (Some(0), _) => Outcome {
            weight: dynamic.then_some(WeightHint::Restore),
            ..Outcome::pass()
        },
        (Some(code @ 2..=255), _) if dynamic => Outcome {
            weight: u32::try_from(code - 2).ok().map(WeightHint::Set),
            ..Outcome::pass()
        },
        (Some(code), _) => Outcome::fail(format!("exited with status {code}")),
        (None, Some(sig)) => Outcome::fail(format!("killed by signal {sig}")),
        (None, None) => Outcome::fail("ended without a status"),
    }
}

pub async fn probe(command: &str, limit: Duration, dynamic: bool) -> Outcome {
    let mut child = match spawn(command) {
        Ok(c) => c,
        Err(e) => return Outcome::fail(format!("cannot run {SHELL}: {e}")),
    };
    match wait_or_kill(&mut child, limit).await {
        None => Outcome::fail(format!("timed out after {limit:?}")),
        Some(Err(e)) => Outcome::fail(format!("cannot wait for the script: {e}")),
        Some(Ok(status)) => judge(status, dynamic),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::ExitStatus;

    fn exit(code: i32) -> ExitStatus {
        ExitStatus::from_raw(code << 8)
    }

    #[test]
    fn exit_codes() {
        assert_eq!(judge(exit(0), false), Outcome::pass());
        assert_eq!(judge(exit(0), true).weight, Some(WeightHint::Restore));
        assert!(!judge(exit(1), true).ok);
        assert!(!judge(exit(2), false).ok);
        assert_eq!(judge(exit(2), true).weight, Some(WeightHint::Set(0)));
        assert_eq!(judge(exit(7), true).weight, Some(WeightHint::Set(5)));
        assert_eq!(judge(exit(255), true).weight, Some(WeightHint::Set(253)));
        assert_eq!(
            judge(ExitStatus::from_raw(9), false).reason,
            "killed by signal 9"
        );
    }
}
