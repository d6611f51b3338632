//! The keepalived.conf reader: keepalived 2.2's grammar, LVS and VRRP sections, plus DPVS's
//! FULLNAT keywords (`lb_kind FNAT`, `local_address_group`, `laddr_group_name`).
//!
//! ```text
//! files ─► source (comments, @id, $DEFS, ~SEQ, include) ─► lines with file:line
//!       ─► tree ({ } blocks) ─► build (keyword tables, values) ─► Config + SpanMap
//!       ─► validate ─► Loaded | ConfigErrors
//! ```
//!
//! Operators keep their files: what keepalived accepts loads (keywords rvs does not act on
//! are warnings), what keepalived calls an unknown keyword is an error with a suggestion,
//! and every error names the file and line it comes from.

mod build;
pub mod keywords;
pub mod lexer;
pub mod params;
pub mod source;
pub mod tree;
pub mod values;

use std::path::{Path, PathBuf};

use super::error::ConfigErrors;
use super::{Format, Loaded, validate};
use source::Source;

/// How to read a keepalived.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepalivedOptions {
    /// The config id that `@id` lines are compared with (keepalived's `-i`); keepalived's
    /// default is the first part of the host name, and so is this one's.
    pub config_id: Option<String>,
}

impl Default for KeepalivedOptions {
    fn default() -> Self {
        KeepalivedOptions {
            config_id: host_short_name(),
        }
    }
}

/// The host name up to its first dot, as keepalived's default config id.
fn host_short_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let short = name.trim().split('.').next()?.to_string();
    (!short.is_empty()).then_some(short)
}

/// Reads a keepalived.conf file (and what it includes).
pub fn load_keepalived_file(
    path: impl AsRef<Path>,
    opts: &KeepalivedOptions,
) -> Result<Loaded, ConfigErrors> {
    let path = path.as_ref();
    let mut src = Source::new(opts);
    src.read_main_file(path);
    finish(src, &path.display().to_string())
}

/// Reads keepalived.conf text; relative includes resolve against `base_dir`.
pub fn load_keepalived_str_with(
    text: &str,
    base_dir: &Path,
    opts: &KeepalivedOptions,
) -> Result<Loaded, ConfigErrors> {
    let mut src = Source::new(opts);
    src.read_main_text(text, base_dir);
    finish(src, "<string>")
}

fn finish(src: Source<'_>, main: &str) -> Result<Loaded, ConfigErrors> {
    let Source {
        mut diag,
        lines,
        files,
        ..
    } = src;
    let nodes = tree::build(lines, &mut diag);
    let (config, spans) = build::build(&nodes, &mut diag);
    if diag.has_errors() {
        return Err(diag.into_errors());
    }
    if let Err(errs) = validate(&config) {
        for e in &errs {
            diag.errors.push(spans.locate_error(e, main, false));
        }
        return Err(diag.into_errors());
    }
    let sources: Vec<PathBuf> = files;
    Ok(Loaded {
        config,
        warnings: diag.warnings,
        sources,
        format: Format::Keepalived,
    })
}
