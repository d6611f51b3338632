//! The processes VRRP starts: tracking scripts (vrrp_script) and notify scripts.
//!
//! A tracking script runs every `interval` under `/bin/sh -c`; exit 0 is success, any
//! other exit, a signal or running past `timeout` is failure (the process group is then
//! terminated, as for MISC_CHECK). The first result decides the script's state outright
//! (keepalived's initial "INIT" state); `init_fail` starts it failed instead, so it needs
//! `rise` successes. After that the engine's [`ScriptState`] applies rise/fall. Only
//! changes are reported, plus the first state, which the driver waits for before starting
//! the instances (keepalived holds instances until their scripts have reported).
//!
//! Notify scripts run without being waited for, each bounded by a timeout. The generic
//! `notify` gets keepalived's four arguments (`INSTANCE|GROUP`, name, state, priority)
//! after its own: it runs as `sh -c 'COMMAND "$@"' sh ARGS...`, so the configured command
//! line is split by the shell and the arguments are passed verbatim, never re-parsed.
//!
//! Scripts run as the daemon's user: rvs does not switch to `script_user` (the daemon that
//! runs VRRP is root and the configuration file is root's), and `enable_script_security`
//! is accepted without effect; docs/high-availability.md says so.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{MissedTickBehavior, interval};

use super::resolve::ResolvedScript;
use super::track::ScriptState;
use crate::health::probe::misc::{SHELL, spawn, wait_or_kill};

/// A tracking script's state as the driver sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptReport {
    /// Index into the resolved scripts.
    pub script: usize,
    pub ok: bool,
}

/// Rise/fall bookkeeping with keepalived's start: undecided until the first result,
/// unless `init_fail`.
#[derive(Debug, Clone)]
pub struct ScriptTracker {
    rise: u32,
    fall: u32,
    state: Option<ScriptState>,
}

impl ScriptTracker {
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> Self {
        ScriptTracker {
            rise,
            fall,
            state: init_fail.then(|| ScriptState::new(rise, fall, true)),
        }
    }

    /// The current state, if decided.
    pub fn ok(&self) -> Option<bool> {
        self.state.as_ref().map(ScriptState::ok)
    }

    /// Records one result; returns the new state when it changed or was first decided.
    pub fn record(&mut self, success: bool) -> Option<bool> {
        match &mut self.state {
            None => {
                self.state = Some(ScriptState::new(self.rise, self.fall, !success));
                Some(success)
            }
            Some(s) => s.record(success).then(|| s.ok()),
        }
    }
}

/// Runs `command` once; true when it exited 0 within `limit`.
pub async fn run_once(command: &str, limit: Duration) -> bool {
    let Ok(mut child) = spawn(command) else {
        return false;
    };
    matches!(wait_or_kill(&mut child, limit).await, Some(Ok(s)) if s.success())
}

/// Runs one tracking script for ever, reporting its state changes (and its first state)
/// on `tx`. Ends when the receiver is gone.
pub async fn track_script(
    index: usize,
    script: ResolvedScript,
    tx: mpsc::UnboundedSender<ScriptReport>,
) {
    let mut tracker = ScriptTracker::new(script.rise, script.fall, script.init_fail);
    if let Some(ok) = tracker.ok()
        && tx.send(ScriptReport { script: index, ok }).is_err()
    {
        return;
    }
    let mut tick = interval(script.interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let success = run_once(&script.command, script.timeout).await;
        if let Some(ok) = tracker.record(success) {
            log::info!(
                "VRRP_Script({}) {}",
                script.name,
                if ok { "succeeded" } else { "failed" }
            );
            if tx.send(ScriptReport { script: index, ok }).is_err() {
                return;
            }
        }
    }
}

fn spawn_with_args(command: &str, args: &[String]) -> std::io::Result<Child> {
    Command::new(SHELL)
        .arg("-c")
        .arg(format!("{command} \"$@\""))
        .arg("sh")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
}

/// Starts a notify script in the background; the handle finishes when it has exited or
/// been killed after `limit`.
pub fn notify(command: &str, args: &[String], limit: Duration) -> JoinHandle<()> {
    let command = command.to_string();
    let args = args.to_vec();
    tokio::spawn(async move {
        match spawn_with_args(&command, &args) {
            Ok(mut child) => {
                if wait_or_kill(&mut child, limit).await.is_none() {
                    log::warn!("VRRP notify script {command:?} killed after {limit:?}");
                }
            }
            Err(e) => log::warn!("cannot run VRRP notify script {command:?}: {e}"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_result_decides_then_rise_and_fall_apply() {
        let mut t = ScriptTracker::new(2, 3, false);
        assert_eq!(t.ok(), None);
        assert_eq!(t.record(true), Some(true));
        assert_eq!(t.record(false), None);
        assert_eq!(t.record(false), None);
        assert_eq!(t.record(false), Some(false));
        assert_eq!(t.record(true), None);
        assert_eq!(t.record(true), Some(true));
        // A failing first result also decides at once.
        let mut t = ScriptTracker::new(2, 3, false);
        assert_eq!(t.record(false), Some(false));
        assert_eq!(t.record(true), None);
        assert_eq!(t.record(true), Some(true));
    }

    #[test]
    fn init_fail_starts_failed_and_needs_rise_successes() {
        let mut t = ScriptTracker::new(3, 1, true);
        assert_eq!(t.ok(), Some(false));
        assert_eq!(t.record(true), None);
        assert_eq!(t.record(true), None);
        assert_eq!(t.record(true), Some(true));
    }

    #[tokio::test]
    async fn run_once_judges_exit_status_and_timeout() {
        assert!(run_once("exit 0", Duration::from_secs(5)).await);
        assert!(!run_once("exit 3", Duration::from_secs(5)).await);
        assert!(!run_once("sleep 5", Duration::from_millis(100)).await);
    }

    #[tokio::test]
    async fn notify_passes_arguments_verbatim() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("args");
        let cmd = format!("printf '%s|' first >{0}; printf '%s|' >>{0}", out.display());
        let args: Vec<String> = ["INSTANCE", "VI 1; rm -rf /", "MASTER", "150"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        notify(&cmd, &args, Duration::from_secs(5)).await.unwrap();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "first|INSTANCE|VI 1; rm -rf /|MASTER|150|"
        );
    }
}
