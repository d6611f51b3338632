//! `rvsd --check-config FILE`: load, validate, and say what would run.
//!
//! Kept here (not in the daemon's main) so that it is testable without a daemon: the binary
//! prints [`CheckReport::output`] and exits with [`CheckReport::exit_code`].

use std::path::Path;

use super::{describe, load_file};

/// What `--check-config` prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Errors and warnings (one per line, `file:line: message`), then the description of
    /// what would run when the file is valid.
    pub output: String,
    /// 0 valid, 1 invalid (nothing would run).
    pub exit_code: i32,
}

/// Checks a TOML or keepalived.conf file.
pub fn check_config(path: &Path) -> CheckReport {
    let mut out = String::new();
    match load_file(path) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                out.push_str(&format!("warning: {w}\n"));
            }
            let files = loaded.sources.len();
            out.push_str(&format!(
                "configuration OK: {} ({} format, {} file{}, {} warning{})\n\n",
                path.display(),
                loaded.format,
                files,
                if files == 1 { "" } else { "s" },
                loaded.warnings.len(),
                if loaded.warnings.len() == 1 { "" } else { "s" },
            ));
            out.push_str(&describe(&loaded.config));
            CheckReport {
                output: out,
                exit_code: 0,
            }
        }
        Err(errs) => {
            for w in &errs.warnings {
                out.push_str(&format!("warning: {w}\n"));
            }
            for e in &errs.errors {
                out.push_str(&format!("error: {e}\n"));
            }
            out.push_str(&format!(
                "configuration INVALID: {} ({} error{}); nothing would change\n",
                path.display(),
                errs.errors.len(),
                if errs.errors.len() == 1 { "" } else { "s" },
            ));
            CheckReport {
                output: out,
                exit_code: 1,
            }
        }
    }
}
