//! The state file: the changes made through the control socket, kept across restarts.
//!
//! What is kept: the parts of the configuration that `rvsadm` edits — virtual services with
//! their real servers, FULLNAT local address pools, connection timeouts, static routes,
//! static neighbours and the director's addresses (by port name). Everything else (daemon
//! settings, DPDK, port devices, VRRP, global_defs) always comes from the configuration
//! file. The health overlay is never kept.
//!
//! Precedence: when a valid state file exists at start, its sections *replace* the same
//! sections of the configuration file as a whole (no merging: merging two sources of truth
//! would make the result depend on history nobody can see). To go back to the
//! configuration file, stop rvsd and delete the state file (or move it away).
//!
//! Format: one JSON document,
//! `{"format": 1, "written_by": "...", "checksum": "crc32:<8 hex>", "state": {...}}`, where
//! the checksum covers the exact bytes of the `state` value as written. A file that is not
//! JSON, has another format number, a wrong checksum or a state that does not deserialize is
//! *corrupt*: it is renamed aside to `<path>.corrupt-<unix time>` and never half-loaded.
//!
//! Writing is atomic: the new contents go to a temporary file in the same directory, which
//! is fsynced, renamed over the state file, and the directory is fsynced. A crash at any
//! point leaves either the old file or the new one, never a mix; a leftover temporary file
//! is removed at the next start.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::config::{
    Config, IfAddr, LocalAddressGroup, Neighbour, Route, Timeouts, VirtualService,
};

/// The format number this code writes and reads.
pub const FORMAT: u32 = 1;

/// Largest state file read (a state with 100,000 real servers is a few tens of MiB).
pub const MAX_STATE_BYTES: u64 = 512 * 1024 * 1024;

/// The persisted sections of a configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersistedState {
    pub services: Vec<VirtualService>,
    pub local_address_groups: BTreeMap<String, LocalAddressGroup>,
    pub timeouts: Timeouts,
    pub routes: Vec<Route>,
    pub neighbours: Vec<Neighbour>,
    /// The director's own addresses, by port name.
    pub port_addresses: BTreeMap<String, Vec<IfAddr>>,
}

impl PersistedState {
    /// The persisted sections of `cfg`.
    pub fn of(cfg: &Config) -> Self {
        PersistedState {
            services: cfg.services.clone(),
            local_address_groups: cfg.local_address_groups.clone(),
            timeouts: cfg.timeouts,
            routes: cfg.routes.clone(),
            neighbours: cfg.neighbours.clone(),
            port_addresses: cfg
                .ports
                .iter()
                .map(|p| (p.name.clone(), p.addresses.clone()))
                .collect(),
        }
    }

    /// Replaces the persisted sections of `cfg` with this state. Addresses of a port the
    /// configuration file no longer has cannot be placed; they are returned as warnings
    /// (and ports the state does not mention keep the file's addresses).
    pub fn install(&self, cfg: &mut Config) -> Vec<String> {
        cfg.services.clone_from(&self.services);
        cfg.local_address_groups
            .clone_from(&self.local_address_groups);
        cfg.timeouts = self.timeouts;
        cfg.routes.clone_from(&self.routes);
        cfg.neighbours.clone_from(&self.neighbours);
        let mut warnings = Vec::new();
        for (name, addrs) in &self.port_addresses {
            match cfg.ports.iter_mut().find(|p| &p.name == name) {
                Some(port) => port.addresses.clone_from(addrs),
                None => warnings.push(format!(
                    "the state file has addresses for port {name:?}, which the configuration \
                     file no longer defines; they are dropped"
                )),
            }
        }
        warnings
    }
}

/// Why a state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read the state file: {0}")]
    Read(#[source] io::Error),
    #[error("the state file is larger than {MAX_STATE_BYTES} bytes")]
    TooLarge,
    #[error("not a state file: {0}")]
    Envelope(#[source] serde_json::Error),
    #[error("state format {0} is not supported (this rvsd reads format {FORMAT})")]
    Format(u32),
    #[error("checksum mismatch: the file says {stored}, its contents give {actual}")]
    Checksum { stored: String, actual: String },
    #[error("the saved state does not fit the configuration model: {0}")]
    State(#[source] serde_json::Error),
}

impl StateError {
    /// True when the file itself is damaged (as opposed to unreadable): such a file is set
    /// aside rather than left in place.
    pub fn is_corrupt(&self) -> bool {
        !matches!(self, StateError::Read(_))
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    format: u32,
    checksum: String,
    #[serde(borrow)]
    state: &'a RawValue,
}

fn checksum(body: &[u8]) -> String {
    format!("crc32:{:08x}", crc32fast::hash(body))
}

/// The bytes of a state file holding `state`.
pub fn encode(state: &PersistedState) -> Result<Vec<u8>, serde_json::Error> {
    let body = serde_json::to_vec_pretty(state)?;
    let mut out = Vec::with_capacity(body.len() + 128);
    out.extend_from_slice(format!("{{\n\"format\": {FORMAT},\n\"written_by\": ").as_bytes());
    out.extend_from_slice(&serde_json::to_vec(&format!(
        "rvsd {}",
        env!("CARGO_PKG_VERSION")
    ))?);
    out.extend_from_slice(
        format!(",\n\"checksum\": \"{}\",\n\"state\": ", checksum(&body)).as_bytes(),
    );
    out.extend_from_slice(&body);
    out.extend_from_slice(b"\n}\n");
    Ok(out)
}

/// Reads a state file's bytes back; every damage is an error, never a partial state.
pub fn decode(bytes: &[u8]) -> Result<PersistedState, StateError> {
    let env: Envelope<'_> = serde_json::from_slice(bytes).map_err(StateError::Envelope)?;
    if env.format != FORMAT {
        return Err(StateError::Format(env.format));
    }
    let raw = env.state.get();
    let actual = checksum(raw.as_bytes());
    if actual != env.checksum {
        return Err(StateError::Checksum {
            stored: env.checksum,
            actual,
        });
    }
    serde_json::from_str(raw).map_err(StateError::State)
}

/// Loads the state file at `path`; `Ok(None)` when there is none.
pub fn load(path: &Path) -> Result<Option<PersistedState>, StateError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StateError::Read(e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_STATE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(StateError::Read)?;
    if bytes.len() as u64 > MAX_STATE_BYTES {
        return Err(StateError::TooLarge);
    }
    decode(&bytes).map(Some)
}

/// Writes `state` to `path` atomically (temporary file, fsync, rename, fsync directory).
pub fn save(path: &Path, state: &PersistedState) -> io::Result<()> {
    let bytes = encode(state).map_err(io::Error::other)?;
    let tmp = write_temp(path, &bytes)?;
    commit_temp(&tmp, path)
}

fn temp_prefix(path: &Path) -> io::Result<String> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other(format!("{} has no file name", path.display())))?;
    Ok(format!(".{}.tmp.", name.to_string_lossy()))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// First half of [`save`]: the new contents, durable, in a temporary file next to `path`.
/// The state file itself is untouched until [`commit_temp`].
pub fn write_temp(path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let dir = parent_dir(path);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)?;
    let tmp = dir.join(format!("{}{}", temp_prefix(path)?, std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    match result {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Second half of [`save`]: the temporary file replaces the state file, durably.
pub fn commit_temp(tmp: &Path, path: &Path) -> io::Result<()> {
    if let Err(e) = fs::rename(tmp, path) {
        let _ = fs::remove_file(tmp);
        return Err(e);
    }
    File::open(parent_dir(path))?.sync_all()
}

/// Removes temporary files a crash during [`save`] left next to `path`; returns how many.
pub fn remove_stale_temps(path: &Path) -> usize {
    let Ok(prefix) = temp_prefix(path) else {
        return 0;
    };
    let Ok(entries) = fs::read_dir(parent_dir(path)) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .filter(|e| fs::remove_file(e.path()).is_ok())
        .count()
}

/// Renames a corrupt state file to `<path>.corrupt-<unix time>` (with a `.N` suffix if
/// that name is taken) and returns the new name.
pub fn set_aside(path: &Path) -> io::Result<PathBuf> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let base = format!("{}.corrupt-{now}", path.display());
    let mut target = PathBuf::from(&base);
    let mut n = 0u32;
    while target.exists() {
        n = n.saturating_add(1);
        target = PathBuf::from(format!("{base}.{n}"));
    }
    fs::rename(path, &target)?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip_and_checksum_catches_a_flipped_byte() {
        let mut cfg = Config::default();
        cfg.timeouts.tcp = 42;
        let state = PersistedState::of(&cfg);
        let bytes = encode(&state).unwrap();
        assert_eq!(decode(&bytes).unwrap(), state);
        let text = String::from_utf8(bytes).unwrap();
        let damaged = text.replace("\"tcp\": 42", "\"tcp\": 43");
        assert_ne!(damaged, text);
        assert!(matches!(
            decode(damaged.as_bytes()),
            Err(StateError::Checksum { .. })
        ));
    }
}
