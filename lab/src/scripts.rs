//! The Python helpers, compiled into the crate and written into each lab's work directory.
//!
//! Why Python: the servers and clients must show which addresses the kernel saw
//! (`getpeername`, `IP_PKTINFO`), and the tunnel receiver needs raw sockets and a TUN
//! device; in Rust that takes `unsafe` ioctls, which the house keeps out of this crate.
//! Python 3 is on every Debian system and in the project's CI. Embedding the files keeps
//! `rvs-lab` a single binary that works from any directory.

use std::path::Path;

use crate::error::{LabError, Result};

/// (file name, contents) of every helper.
pub const SCRIPTS: [(&str, &str); 3] = [
    ("decap.py", include_str!("../scripts/decap.py")),
    ("servers.py", include_str!("../scripts/servers.py")),
    ("clients.py", include_str!("../scripts/clients.py")),
];

/// Writes the helpers into `dir`.
pub fn install(dir: &Path) -> Result<()> {
    for (name, text) in SCRIPTS {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| LabError::io(&path, e))?;
    }
    Ok(())
}
