//! The on-disk record of a lab: its work directory and `state.json`.
//!
//! Why a record at all: `rvs-lab gc` must tell a leftover of a killed run from a lab that
//! another test or engineer is using right now on the same machine. The record names the
//! owning process by pid *and* start time (pids are reused), and gc only removes labs whose
//! owner is gone. The work directory also holds the helper scripts, server configs, logs
//! and captures of the run, so one `rm -r` removes them with the lab.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{LabError, Result};
use crate::names::RunId;
use crate::process::start_time;
use crate::spec::{LabSpec, TunnelRxKind};

/// Environment variable that moves the state root (default `/run/rvs-lab`).
pub const STATE_DIR_ENV: &str = "RVS_LAB_STATE_DIR";
/// Default state root: tmpfs, so a reboot forgets labs together with their namespaces.
pub const DEFAULT_STATE_DIR: &str = "/run/rvs-lab";
/// Prefix of a work directory under construction (`.new-<id>`).
pub const STAGING_PREFIX: &str = ".new-";
/// Name of the record inside a lab's work directory.
pub const STATE_FILE: &str = "state.json";

/// The directory that holds one work directory per lab.
pub fn state_root() -> PathBuf {
    std::env::var_os(STATE_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR))
}

/// The work directory of lab `id`.
pub fn workdir(id: &RunId) -> PathBuf {
    state_root().join(id.as_str())
}

/// The process a lab belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// Its pid.
    pub pid: u32,
    /// Its start time in clock ticks since boot (`/proc/PID/stat` field 22).
    pub start: u64,
}

impl Owner {
    /// This process.
    pub fn current() -> Option<Owner> {
        Owner::of(std::process::id())
    }

    /// Process `pid`, if it exists.
    pub fn of(pid: u32) -> Option<Owner> {
        start_time(pid).map(|start| Owner { pid, start })
    }

    /// Whether the very same process still runs.
    pub fn alive(&self) -> bool {
        start_time(self.pid) == Some(self.start)
    }
}

/// What `state.json` holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LabRecord {
    /// The run id.
    pub id: RunId,
    /// The owning process; `None` means nobody: gc may remove it.
    pub owner: Option<Owner>,
    /// How the lab was built.
    pub spec: LabSpec,
    /// Namespaces created so far (written before each is created).
    pub namespaces: Vec<String>,
    /// How TUN-mode servers decapsulate, once decided.
    #[serde(default)]
    pub tunnel_rx: Option<TunnelRxKind>,
}

impl LabRecord {
    /// Writes the record into the lab's work directory (atomically: write then rename).
    pub fn save(&self) -> Result<()> {
        let dir = workdir(&self.id);
        let path = dir.join(STATE_FILE);
        let tmp = dir.join(format!("{STATE_FILE}.tmp"));
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| LabError::io(&path, std::io::Error::other(e)))?;
        std::fs::write(&tmp, text).map_err(|e| LabError::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| LabError::io(&path, e))
    }

    /// Creates the lab's work directory with the record already inside: built under a
    /// temporary name and renamed, so that `gc` never sees a work directory without a
    /// record (which it would take for a leftover and remove).
    pub fn create_workdir(&self) -> Result<()> {
        let root = state_root();
        let staging = root.join(format!("{STAGING_PREFIX}{}", self.id));
        std::fs::create_dir_all(&staging).map_err(|e| LabError::io(&staging, e))?;
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| LabError::io(&staging, std::io::Error::other(e)))?;
        let record = staging.join(STATE_FILE);
        std::fs::write(&record, text).map_err(|e| LabError::io(&record, e))?;
        let dir = workdir(&self.id);
        std::fs::rename(&staging, &dir).map_err(|e| {
            let _ = std::fs::remove_dir_all(&staging);
            LabError::io(&dir, e)
        })
    }

    /// Reads the record of lab `id`, if there is a readable one.
    pub fn load(id: &RunId) -> Option<LabRecord> {
        load_from(&workdir(id).join(STATE_FILE))
    }

    /// Whether the owner still runs.
    pub fn owner_alive(&self) -> bool {
        self.owner.is_some_and(|owner| owner.alive())
    }
}

fn load_from(path: &Path) -> Option<LabRecord> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Ids of all labs that have a work directory.
pub fn recorded_ids() -> Vec<RunId> {
    let Ok(entries) = std::fs::read_dir(state_root()) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().is_dir())
        .filter_map(|entry| RunId::parse(&entry.file_name().to_string_lossy()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_identified_by_pid_and_start_time() {
        let me = Owner::current().expect("this process exists");
        assert!(me.alive());
        let reused = Owner {
            pid: me.pid,
            start: me.start + 1,
        };
        assert!(!reused.alive(), "a reused pid passed for the owner");
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id();
        child.wait().expect("reap");
        assert!(Owner::of(pid).is_none());
    }
}
