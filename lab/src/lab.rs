//! The `Lab` value: one run of the topology, removed when dropped.
//!
//! Building is split by concern into `topology` (namespaces, links, addresses),
//! `realserver` (the per-mode preparation of real servers) and the helpers in `servers`,
//! `clients`, `capture` and `kernel_director`; they all extend `Lab` with `impl` blocks.
//! `Lab::up` builds into a value that already owns its cleanup, so a failure half way (or a
//! panic in a test) removes whatever was created.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use nix::unistd::geteuid;

use crate::cmd::{self, netns_command};
use crate::error::{LabError, Result};
use crate::names::{NodeId, RunId};
use crate::process::{ProcessGuard, wait_until_every};
use crate::scripts;
use crate::spec::{LabSpec, Offloads, TunnelRxKind};
use crate::state::{LabRecord, Owner, workdir};
use crate::teardown::{namespaces_of, teardown};
use crate::topology::{Node, plan_nodes};

/// Environment variable: when set (to anything), a dropped lab keeps its work directory
/// (logs, configs, captures) for a post-mortem; namespaces are removed regardless.
pub const KEEP_WORKDIR_ENV: &str = "RVS_LAB_KEEP";

/// One live lab. Dropping it stops every process in its namespaces, deletes the namespaces
/// (and with them every veth and the bridge) and its work directory.
#[derive(Debug)]
pub struct Lab {
    pub(crate) record: LabRecord,
    pub(crate) nodes: Vec<Node>,
    pub(crate) workdir: PathBuf,
    /// Programs the lab itself runs for its whole life (the userspace decapsulators).
    pub(crate) helpers: Vec<ProcessGuard>,
    detached: bool,
    log_counter: AtomicU32,
}

impl Lab {
    /// Builds the lab described by `spec`. Fails with [`LabError::NotRoot`] when not root.
    pub fn up(spec: LabSpec) -> Result<Lab> {
        spec.validate()?;
        if !geteuid().is_root() {
            return Err(LabError::NotRoot);
        }
        cmd::find(cmd::IP)?;
        cmd::find(cmd::SYSCTL)?;
        cmd::python()?;
        if spec.offloads == Offloads::OffTowardsDirectors {
            cmd::find(cmd::ETHTOOL)?;
        }
        let id = match spec.id.clone() {
            Some(id) => {
                if !namespaces_of(&id)?.is_empty() || workdir(&id).exists() {
                    return Err(LabError::AlreadyExists(id.to_string()));
                }
                id
            }
            None => fresh_id()?,
        };
        let dir = workdir(&id);
        let mut lab = Lab {
            nodes: plan_nodes(&id, &spec),
            record: LabRecord {
                id,
                owner: Owner::current(),
                spec,
                namespaces: Vec::new(),
                tunnel_rx: None,
            },
            workdir: dir,
            helpers: Vec::new(),
            // Owns nothing until its work directory exists: a clash there (a lab with the
            // same id made in the same instant) must not tear down the other lab.
            detached: true,
            log_counter: AtomicU32::new(0),
        };
        lab.record.create_workdir()?;
        lab.detached = false;
        std::fs::create_dir_all(lab.workdir.join("logs"))
            .map_err(|e| LabError::io(&lab.workdir, e))?;
        scripts::install(&lab.workdir)?;
        lab.build_topology()?;
        lab.prepare_servers()?;
        Ok(lab)
    }

    /// The lab `id` made by another process (`rvs-lab up`), to run helpers in it. The value
    /// does not own the lab: dropping it removes nothing.
    pub fn attach(id: &RunId) -> Result<Lab> {
        let record = LabRecord::load(id).ok_or_else(|| LabError::UnknownLab(id.to_string()))?;
        Ok(Lab {
            nodes: plan_nodes(id, &record.spec),
            workdir: workdir(id),
            record,
            helpers: Vec::new(),
            detached: true,
            log_counter: AtomicU32::new(0),
        })
    }

    /// Like [`Lab::up`], but turns `NotRoot` into `Ok(None)` after printing
    /// `skipped: needs root (network namespaces)`: the one-liner for tests.
    pub fn up_or_skip(spec: LabSpec) -> Result<Option<Lab>> {
        match Lab::up(spec) {
            Ok(lab) => Ok(Some(lab)),
            Err(LabError::NotRoot) => {
                eprintln!("skipped: needs root (network namespaces)");
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }

    /// The run id.
    pub fn id(&self) -> &RunId {
        &self.record.id
    }

    /// The specification the lab was built from.
    pub fn spec(&self) -> &LabSpec {
        &self.record.spec
    }

    /// The work directory (scripts, configs, logs, captures).
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// Every node, in creation order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Node `id`, or `UnknownNode`.
    pub fn node(&self, id: NodeId) -> Result<&Node> {
        self.nodes
            .iter()
            .find(|node| node.id == id)
            .ok_or_else(|| LabError::UnknownNode(id.to_string()))
    }

    /// The namespace of node `id`.
    pub fn netns(&self, id: NodeId) -> Result<&str> {
        self.node(id).map(|node| node.netns.as_str())
    }

    /// The VIPs.
    pub fn vips(&self) -> &[Ipv4Addr] {
        &self.record.spec.vips
    }

    /// The first VIP.
    pub fn vip(&self) -> Ipv4Addr {
        self.record
            .spec
            .vips
            .first()
            .copied()
            .unwrap_or(crate::plan::DEFAULT_VIP)
    }

    /// How TUN-mode servers decapsulate (`None` in other modes).
    pub fn tunnel_rx(&self) -> Option<TunnelRxKind> {
        self.record.tunnel_rx
    }

    /// Runs `program args...` in node `id`; fails unless it exits 0; returns stdout.
    pub fn run<S: AsRef<std::ffi::OsStr>>(
        &self,
        id: NodeId,
        program: &str,
        args: &[S],
    ) -> Result<String> {
        cmd::run(&mut netns_command(self.netns(id)?, program, args))
    }

    /// Runs `program args...` in node `id` and returns its output whatever its exit status.
    pub fn output<S: AsRef<std::ffi::OsStr>>(
        &self,
        id: NodeId,
        program: &str,
        args: &[S],
    ) -> Result<Output> {
        cmd::output(&mut netns_command(self.netns(id)?, program, args))
    }

    /// Starts `program args...` in node `id`; output goes to `logs/<name>-<n>.log` in the
    /// work directory; dropping the guard stops it.
    pub fn spawn<S: AsRef<std::ffi::OsStr>>(
        &self,
        id: NodeId,
        name: &str,
        program: &str,
        args: &[S],
    ) -> Result<ProcessGuard> {
        let command = netns_command(self.netns(id)?, program, args);
        ProcessGuard::spawn(command, name, &self.log_path(name))
    }

    /// Waits until `addr` (a VRRP VIP, say) is on `node`'s LAN interface; polls every 50 ms.
    pub fn wait_for_address(&self, node: NodeId, addr: Ipv4Addr, timeout: Duration) -> Result<()> {
        let ifname = self.node(node)?.ifname().to_owned();
        wait_until_every(
            &format!("{addr} on {ifname} in {node}"),
            timeout,
            Duration::from_millis(50),
            || self.has_address(node, addr).unwrap_or(false),
        )
    }

    /// Whether `addr` is on `node`'s LAN interface now.
    pub fn has_address(&self, node: NodeId, addr: Ipv4Addr) -> Result<bool> {
        let ifname = self.node(node)?.ifname().to_owned();
        let text = self.run(node, "ip", &["-4", "-o", "addr", "show", "dev", &ifname])?;
        Ok(text.contains(&format!(" {addr}/")))
    }

    /// A fresh log file path for `name` (an old file of that name is truncated on spawn).
    pub(crate) fn log_path(&self, name: &str) -> PathBuf {
        let n = self.log_counter.fetch_add(1, Ordering::Relaxed);
        self.workdir.join("logs").join(format!("{name}-{n}.log"))
    }

    /// A fresh path in the work directory (`<stem>-<n>.<ext>`). Whatever is there already
    /// (left by another process attached to the same lab, whose counter also started at 0)
    /// is removed, so a readiness file or pid file found there is always a new one.
    pub(crate) fn work_file(&self, stem: &str, ext: &str) -> PathBuf {
        let n = self.log_counter.fetch_add(1, Ordering::Relaxed);
        let path = self.workdir.join(format!("{stem}-{n}.{ext}"));
        if path.is_dir() {
            let _ = std::fs::remove_dir_all(&path);
        } else {
            let _ = std::fs::remove_file(&path);
        }
        path
    }

    /// The path of a helper script in the work directory.
    pub(crate) fn script(&self, name: &str) -> PathBuf {
        self.workdir.join(name)
    }

    /// Hands the lab to `owner` (a process id, `None` for nobody) and forgets it: it keeps
    /// running after this value is gone, with its helpers, until `rvs-lab down` or `gc`.
    pub fn detach(mut self, owner: Option<u32>) -> Result<RunId> {
        self.record.owner = owner.and_then(Owner::of);
        self.record.save()?;
        for helper in self.helpers.drain(..) {
            helper.detach();
        }
        self.detached = true;
        Ok(self.record.id.clone())
    }

    /// Removes the lab now and reports failures (dropping does the same silently).
    pub fn down(mut self) -> Result<()> {
        self.detached = true;
        self.helpers.clear();
        teardown(&self.record.id, keep_workdir()).map(|_| ())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.detached {
            return;
        }
        self.helpers.clear();
        if let Err(e) = teardown(&self.record.id, keep_workdir()) {
            eprintln!("rvs-lab: cleanup of lab {} failed: {e}", self.record.id);
        }
    }
}

fn keep_workdir() -> bool {
    std::env::var_os(KEEP_WORKDIR_ENV).is_some()
}

/// A generated id that is not in use. A leftover under the same id can only come from a
/// dead process that had our pid; it is removed.
fn fresh_id() -> Result<RunId> {
    let id = RunId::generate();
    let stale = !namespaces_of(&id)?.is_empty() || workdir(&id).exists();
    if stale {
        let owner_alive = LabRecord::load(&id).is_some_and(|r| r.owner_alive());
        if owner_alive {
            return Err(LabError::AlreadyExists(id.to_string()));
        }
        teardown(&id, false)?;
    }
    Ok(id)
}
