//! notify_up / notify_down / quorum_up / quorum_down scripts: started without waiting for
//! them (the engine must never stall on a script), each bounded by a timeout after which
//! its process group is killed.

use std::time::Duration;

use super::probe::misc::{spawn, wait_or_kill};

/// Starts `command` under `/bin/sh -c` in the background. Must be called inside the
/// engine's runtime.
pub fn run_detached(command: &str, limit: Duration) {
    let command = command.to_string();
    tokio::spawn(async move {
        match spawn(&command) {
            Ok(mut child) => {
                if wait_or_kill(&mut child, limit).await.is_none() {
                    log::warn!("notify script {command:?} killed after {limit:?}");
                }
            }
            Err(e) => log::warn!("cannot run notify script {command:?}: {e}"),
        }
    });
}
