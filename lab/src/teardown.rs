//! Removing labs: one run by id (`Lab`'s `Drop`, `rvs-lab down`) or every orphan (`rvs-lab gc`).
//!
//! Order matters. A namespace outlives `ip netns del` while a process still runs in it (the
//! process holds a reference), and with it its veths and the LAN bridge, so every process in
//! the run's namespaces is stopped first: SIGTERM, a grace period, SIGKILL. Deleting a
//! namespace destroys the veths it holds, and a veth pair dies with either end, so no link
//! needs deleting by name: none is ever created in the root namespace. (`gc --all` still
//! sweeps root links named `rvl*`, for a veth someone moved out by hand; a single run's
//! teardown does not, since `rvl<id>` is also the start of longer ids' names.)

use std::collections::BTreeSet;
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::cmd::{self, ip};
use crate::error::Result;
use crate::names::{IFACE_PREFIX, NETNS_PREFIX, RunId};
use crate::process::{GRACE, POLL, signal_pid};
use crate::state::{LabRecord, STAGING_PREFIX, recorded_ids, state_root, workdir};

/// What a teardown removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    /// Namespaces deleted.
    pub namespaces: Vec<String>,
    /// Processes signalled.
    pub processes: Vec<u32>,
}

/// The lab namespaces of run `id` that exist now.
pub fn namespaces_of(id: &RunId) -> Result<Vec<String>> {
    let prefix = id.netns_prefix();
    Ok(cmd::list_netns()?
        .into_iter()
        .filter(|name| name.starts_with(&prefix))
        .collect())
}

/// Removes everything of run `id`: processes in its namespaces, the namespaces and its
/// work directory (unless `keep_workdir`).
pub fn teardown(id: &RunId, keep_workdir: bool) -> Result<Removed> {
    let mut removed = Removed::default();
    let namespaces = namespaces_of(id)?;
    removed.processes = stop_processes_in(&namespaces);
    for netns in namespaces {
        // A namespace that vanished meanwhile (a concurrent `down`) is fine.
        if ip(&["netns", "del", &netns]).is_ok() {
            removed.namespaces.push(netns);
        }
    }
    if !keep_workdir {
        let dir = workdir(id);
        if dir.exists() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    Ok(removed)
}

/// Stops every process that runs in `namespaces` (`ip netns pids`): SIGTERM, up to
/// [`GRACE`], then SIGKILL and up to one more second. Returns the pids signalled.
pub fn stop_processes_in(namespaces: &[String]) -> Vec<u32> {
    let pids = pids_in(namespaces);
    for &pid in &pids {
        signal_pid(pid, Signal::SIGTERM);
    }
    if !wait_gone(&pids, GRACE) {
        for &pid in &pids {
            if running(pid) {
                signal_pid(pid, Signal::SIGKILL);
            }
        }
        wait_gone(&pids, Duration::from_secs(1));
    }
    pids.into_iter().collect()
}

fn pids_in(namespaces: &[String]) -> BTreeSet<u32> {
    namespaces
        .iter()
        .filter_map(|netns| ip(&["netns", "pids", netns]).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|word| word.parse::<u32>().ok())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether `pid` runs (a zombie does not: it holds no namespace any more, it only waits
/// for its parent to reap it).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(str::to_owned))
        })
        .is_some_and(|state| state != "Z" && state != "X")
}

fn wait_gone(pids: &BTreeSet<u32>, timeout: Duration) -> bool {
    let start = Instant::now();
    loop {
        if !pids.iter().any(|&pid| running(pid)) {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        sleep(POLL);
    }
}

/// The run id inside a lab namespace name (`rvl-<id>-<node>`).
pub fn id_of_netns(name: &str) -> Option<RunId> {
    let rest = name.strip_prefix(NETNS_PREFIX)?;
    let (id, node) = rest.split_once('-')?;
    if node.is_empty() {
        return None;
    }
    RunId::parse(id).ok()
}

/// Removes every lab whose owner process is gone (or every lab at all with `all`), including
/// work directories without namespaces. Returns the ids removed.
pub fn gc(all: bool) -> Result<Vec<RunId>> {
    let mut ids: BTreeSet<String> = cmd::list_netns()?
        .iter()
        .filter_map(|name| id_of_netns(name))
        .map(String::from)
        .collect();
    ids.extend(recorded_ids().into_iter().map(String::from));
    let mut removed = Vec::new();
    for text in ids {
        let Ok(id) = RunId::parse(&text) else {
            continue;
        };
        let in_use = LabRecord::load(&id).is_some_and(|record| record.owner_alive());
        if in_use && !all {
            continue;
        }
        teardown(&id, false)?;
        removed.push(id);
    }
    remove_stale_staging_dirs();
    // Root links of runs that left nothing else behind.
    for link in cmd::list_root_links()? {
        if all && link.starts_with(IFACE_PREFIX) && link.len() > IFACE_PREFIX.len() {
            let _ = ip(&["link", "del", &link]);
        }
    }
    Ok(removed)
}

/// A staging work directory (see `LabRecord::create_workdir`) older than this was left by
/// a run killed during start-up.
const STAGING_STALE: Duration = Duration::from_secs(60);

fn remove_stale_staging_dirs() {
    let Ok(entries) = std::fs::read_dir(state_root()) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STAGING_STALE);
        if stale
            && entry
                .file_name()
                .to_string_lossy()
                .starts_with(STAGING_PREFIX)
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ids_come_out_of_namespace_names() {
        assert_eq!(
            id_of_netns("rvl-0abcd1-rs3").map(String::from),
            Some("0abcd1".to_owned())
        );
        assert_eq!(
            id_of_netns("rvl-demo-director1").map(String::from),
            Some("demo".to_owned())
        );
        for other in [
            "rvl-",
            "rvl-abc",
            "rvl-abc-",
            "rvx-abc-rs1",
            "rvl-ABC-rs1",
            "ns1",
        ] {
            assert!(
                id_of_netns(other).is_none(),
                "{other} taken for a lab namespace"
            );
        }
    }

    proptest! {
        #[test]
        fn namespace_names_never_panic(text in ".{0,40}") {
            let _ = id_of_netns(&text);
        }
    }
}
