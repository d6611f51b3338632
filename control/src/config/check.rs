//! `rvsd --check-config FILE`: load, validate, and say what would run.
//!
//! Kept here (not in the daemon's main) so that it is testable without a daemon: the binary
//! prints [`CheckReport::output`] and exits with [`CheckReport::exit_code`].

use std::path::Path;

use super::{ConfigError, describe, load_file};

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
    match load_file(path) {
        Ok(loaded) => {
            let mut out = diagnostics(&[], &loaded.warnings);
            let files = loaded.sources.len();
            out.push_str(&format!(
                "configuration OK: {} ({} format, {} file{}, {} warning{})\n\n",
                path.display(),
                loaded.format,
                files,
                plural(files),
                loaded.warnings.len(),
                plural(loaded.warnings.len()),
            ));
            out.push_str(&describe(&loaded.config));
            CheckReport {
                output: out,
                exit_code: 0,
            }
        }
        Err(errs) => {
            let mut out = diagnostics(&errs.errors, &errs.warnings);
            out.push_str(&format!(
                "configuration INVALID: {} ({} error{}); nothing would change\n",
                path.display(),
                errs.errors.len(),
                plural(errs.errors.len()),
            ));
            CheckReport {
                output: out,
                exit_code: 1,
            }
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Errors and warnings in file order: files as they were first mentioned, then by line.
fn diagnostics(errors: &[ConfigError], warnings: &[ConfigError]) -> String {
    let mut all: Vec<(&str, &ConfigError)> = errors
        .iter()
        .map(|e| ("error", e))
        .chain(warnings.iter().map(|w| ("warning", w)))
        .collect();
    let mut files: Vec<&str> = Vec::new();
    for (_, e) in &all {
        if !files.contains(&e.file.as_str()) {
            files.push(&e.file);
        }
    }
    all.sort_by_key(|(_, e)| {
        (
            files
                .iter()
                .position(|f| *f == e.file)
                .unwrap_or(usize::MAX),
            e.line,
            e.column,
        )
    });
    all.iter()
        .map(|(kind, e)| format!("{kind}: {e}\n"))
        .collect()
}
