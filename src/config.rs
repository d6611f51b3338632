//! Loading the configuration file: the one function every mode of rvsd starts with.
//!
//! The reading and validation are `control::config`'s (TOML or keepalived.conf, chosen by
//! name and content; a TOML file may name a keepalived.conf that completes it with
//! `daemon.keepalived_conf`). What is added here is what the daemon needs besides a valid
//! configuration: warnings are logged, errors keep their `file:line:` form for the operator,
//! and the few limits of *this* build (the dataplane's burst size) are checked before DPDK
//! starts.
use std::path::Path;

use control::config::{Config, ConfigErrors, load_file};

/// Why the configuration could not be loaded; printed as is, one problem per line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file does not read or validate: every error with its file and line.
    #[error("{0}")]
    Invalid(ConfigErrors),
    #[error("{path}: {message}")]
    Unrunnable { path: String, message: String },
}

/// Reads and validates `path` (TOML or keepalived.conf); logs its warnings.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let loaded = load_file(path).map_err(ConfigError::Invalid)?;
    for w in &loaded.warnings {
        log::warn!("{w}");
    }
    if loaded.sources.len() > 1 {
        let files: Vec<String> = loaded
            .sources
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        log::info!("configuration read from {}", files.join(", "));
    }
    check_runnable(&loaded.config).map_err(|message| ConfigError::Unrunnable {
        path: path.display().to_string(),
        message,
    })?;
    Ok(loaded.config)
}

/// What this daemon needs beyond a valid configuration.
fn check_runnable(cfg: &Config) -> Result<(), String> {
    if cfg.ports.is_empty() {
        return Err("no [[ports]]: the director needs at least one port \
                    (a keepalived.conf alone has none: name it from a TOML file with \
                    daemon.keepalived_conf)"
            .into());
    }
    if usize::from(cfg.dpdk.burst) > dataplane::port::BURST_MAX {
        return Err(format!(
            "dpdk.burst must be 1..={}",
            dataplane::port::BURST_MAX
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("rvsd-config-{}-{name}", std::process::id()));
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn the_example_file_loads() {
        let cfg = load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/rvs.toml"
        )))
        .unwrap();
        assert_eq!(cfg.ports[0].name, "dp0");
        assert_eq!(cfg.ports[0].addresses[0].to_string(), "10.0.0.2/24");
    }

    #[test]
    fn errors_carry_file_and_line() {
        let p = write(
            "typo.toml",
            "[dpdk]\nworkers = [1, 1]\n[[ports]]\nname = \"dp0\"\ndevise = \"net_null0\"\n",
        );
        let err = load(&p).unwrap_err().to_string();
        let shown = p.display().to_string();
        assert!(err.contains(&format!("{shown}:5:")), "{err}");
        assert!(err.contains("devise"), "{err}");
        let _ = std::fs::remove_file(&p);
    }

    #[test]
    fn a_keepalived_conf_alone_is_valid_but_has_no_ports_to_run() {
        let p = write(
            "ka.conf",
            "virtual_server 10.0.0.100 80 {\n    lb_kind DR\n    protocol TCP\n}\n",
        );
        let err = load(&p).unwrap_err().to_string();
        assert!(err.contains("no [[ports]]"), "{err}");
        assert!(err.contains("daemon.keepalived_conf"), "{err}");
        let _ = std::fs::remove_file(&p);
    }
}
