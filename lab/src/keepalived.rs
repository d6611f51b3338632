//! keepalived as a VRRP peer (or a comparison director) inside a lab namespace.
//!
//! Several keepalived instances run side by side on one machine only with their own pid
//! files (`-p`, `-r`, `-c`), otherwise each believes another is already running. `-n -l -D`
//! keeps it in the foreground and logs to stdout, which goes to the lab's log file.

use std::path::PathBuf;
use std::time::Duration;

use crate::cmd::{self, KEEPALIVED};
use crate::error::{LabError, Result};
use crate::lab::Lab;
use crate::names::NodeId;
use crate::process::ProcessGuard;

/// How long keepalived gets to write its pid file.
const KEEPALIVED_START: Duration = Duration::from_secs(10);

/// A running keepalived; dropping it stops it (SIGTERM: it sends priority 0 first).
#[derive(Debug)]
pub struct Keepalived {
    guard: ProcessGuard,
    /// Its configuration file.
    pub config: PathBuf,
    /// Its main pid file.
    pub pid_file: PathBuf,
    node: NodeId,
}

impl Keepalived {
    /// What keepalived logged so far.
    pub fn log(&self) -> String {
        self.guard.log()
    }

    /// The node it runs in.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// Stops it now and waits until it has exited.
    pub fn stop(self) -> Result<()> {
        self.guard.stop().map(|_| ())
    }
}

impl Lab {
    /// Starts keepalived in `node` with `config` (the text of a keepalived.conf).
    pub fn keepalived(&self, node: NodeId, config: &str) -> Result<Keepalived> {
        let keepalived = cmd::find(KEEPALIVED)?;
        let dir = self.work_file(&format!("keepalived-{node}"), "d");
        std::fs::create_dir_all(&dir).map_err(|e| LabError::io(&dir, e))?;
        let conf = dir.join("keepalived.conf");
        std::fs::write(&conf, config).map_err(|e| LabError::io(&conf, e))?;
        let pid_file = dir.join("keepalived.pid");
        let path = |p: PathBuf| p.to_string_lossy().into_owned();
        let args = [
            "-n".to_owned(),
            "-l".to_owned(),
            "-D".to_owned(),
            "-f".to_owned(),
            path(conf.clone()),
            "-p".to_owned(),
            path(pid_file.clone()),
            "-r".to_owned(),
            path(dir.join("vrrp.pid")),
            "-c".to_owned(),
            path(dir.join("checkers.pid")),
        ];
        let mut guard = self.spawn(
            node,
            &format!("keepalived-{node}"),
            &keepalived.to_string_lossy(),
            &args,
        )?;
        guard.wait_ready("keepalived's pid file", KEEPALIVED_START, || {
            pid_file.exists()
        })?;
        Ok(Keepalived {
            guard,
            config: conf,
            pid_file,
            node,
        })
    }
}
