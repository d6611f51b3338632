//! Configuration: the one model, its two readers (native TOML and keepalived.conf),
//! validation with line-numbered errors, and the `--check-config` description.
//!
//! ```text
//! file ──► toml_reader ─┐                      ┌─► Loaded { config, warnings, sources }
//!                       ├─► Config + SpanMap ─► validate ─┤
//! file ──► keepalived ──┘                      └─► ConfigErrors (file:line: message)
//! ```
//!
//! Every reader collects all the problems it finds; a file with any error yields no
//! [`Config`] at all, so a bad file can never half-apply. Validation ([`validate()`]) speaks
//! in model paths and is the same contract the control socket applies after each change;
//! the readers map those paths back to the lines they came from ([`spans::SpanMap`]).

pub mod check;
pub mod describe;
pub mod error;
pub mod keepalived;
pub mod merge;
pub mod model;
pub mod sched_flags;
pub mod spans;
pub mod suggest;
pub mod toml_reader;
pub mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

pub use check::{CheckReport, check_config};
pub use describe::describe;
pub use error::{ConfigError, ConfigErrors, ConfigWarning, Location};
pub use keepalived::{KeepalivedOptions, load_keepalived_file, load_keepalived_str_with};
pub use model::*;
pub use toml_reader::{load_toml_file, load_toml_str};
pub use validate::{ValidationError, validate};

/// The two file formats rvs reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// rvs's own TOML file (docs/config.md).
    Toml,
    /// keepalived.conf, as keepalived 2.2 reads it (plus DPVS's FULLNAT keywords).
    Keepalived,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Toml => "TOML",
            Format::Keepalived => "keepalived.conf",
        })
    }
}

/// A configuration that read and validated cleanly.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub config: Config,
    /// Things accepted but not acted on, or fixed as keepalived would fix them.
    pub warnings: Vec<ConfigWarning>,
    /// Every file read, the main file first, then included files in reading order.
    pub sources: Vec<PathBuf>,
    pub format: Format,
}

/// Loads a configuration file, choosing the reader by name and content: `*.toml` is TOML,
/// `*.conf` is keepalived.conf, anything else is TOML when its first meaningful line looks
/// like TOML (`[table]` or `key = value`) and keepalived.conf otherwise. A TOML file that
/// names a keepalived.conf (`daemon.keepalived_conf`) is completed with it ([`merge`]).
pub fn load_file(path: impl AsRef<Path>) -> Result<Loaded, ConfigErrors> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let text = std::fs::read(path)
        .map_err(|e| ConfigErrors::single(&name, format!("cannot read the file: {e}")))?;
    let text = String::from_utf8_lossy(&text);
    match detect_format(path, &text) {
        Format::Toml => {
            merge::with_keepalived(toml_reader::load_toml_named(&text, &name, path)?, path)
        }
        Format::Keepalived => load_keepalived_file(path, &KeepalivedOptions::default()),
    }
}

/// Reads keepalived.conf text; relative `include`s resolve against `base_dir`.
pub fn load_keepalived_str(text: &str, base_dir: impl AsRef<Path>) -> Result<Loaded, ConfigErrors> {
    load_keepalived_str_with(text, base_dir.as_ref(), &KeepalivedOptions::default())
}

/// Which reader a file needs (see [`load_file`]).
pub fn detect_format(path: &Path, text: &str) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => return Format::Toml,
        Some("conf") => return Format::Keepalived,
        _ => {}
    }
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'));
    match first {
        Some(l) if l.starts_with('[') => Format::Toml,
        Some(l) if !l.starts_with('$') && looks_like_toml_assignment(l) => Format::Toml,
        _ => Format::Keepalived,
    }
}

/// `key = value` (keepalived never puts `=` after a bare keyword).
fn looks_like_toml_assignment(line: &str) -> bool {
    match line.split_once('=') {
        Some((key, _)) => {
            let key = key.trim();
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"'))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_by_extension_then_content() {
        assert_eq!(
            detect_format(Path::new("a.toml"), "vrrp_instance x {"),
            Format::Toml
        );
        assert_eq!(
            detect_format(Path::new("a.conf"), "[daemon]"),
            Format::Keepalived
        );
        assert_eq!(
            detect_format(Path::new("rvs"), "# c\n[[services]]\n"),
            Format::Toml
        );
        assert_eq!(
            detect_format(Path::new("rvs"), "timeouts.tcp = 5"),
            Format::Toml
        );
        assert_eq!(
            detect_format(Path::new("keepalived"), "! c\nglobal_defs {\n"),
            Format::Keepalived
        );
        assert_eq!(detect_format(Path::new("x"), "$A=1\n"), Format::Keepalived);
    }
}
