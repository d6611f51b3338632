//! Loading the configuration file.
//!
//! One small function on purpose: the validating loader (line-numbered errors, semantic
//! checks) belongs to `control::config`; when it exists, `load` becomes a call to it.
use std::path::Path;

use control::config::Config;

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// Reads and parses `path` as an rvs TOML configuration.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: shown.clone(),
        source,
    })?;
    let cfg: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    check_runnable(&cfg).map_err(|message| ConfigError::Invalid {
        path: shown,
        message,
    })?;
    Ok(cfg)
}

/// The few checks the daemon itself needs before it touches DPDK (the full validation is
/// the control plane's).
fn check_runnable(cfg: &Config) -> Result<(), String> {
    if cfg.ports.is_empty() {
        return Err("no [[ports]]: the director needs at least one port".into());
    }
    if cfg.dpdk.workers.is_empty() {
        return Err("dpdk.workers is empty: give at least one worker core".into());
    }
    if cfg.dpdk.burst == 0 || usize::from(cfg.dpdk.burst) > dataplane::port::BURST_MAX {
        return Err(format!(
            "dpdk.burst must be 1..={}",
            dataplane::port::BURST_MAX
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, core) in cfg.dpdk.workers.iter().enumerate() {
        if !seen.insert(core) {
            return Err(format!("dpdk.workers[{i}]: core {core} is listed twice"));
        }
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, p) in cfg.ports.iter().enumerate() {
        if !names.insert(p.name.as_str()) {
            return Err(format!("ports[{i}].name: {:?} is used twice", p.name));
        }
        if p.device.trim().is_empty() {
            return Err(format!("ports[{i}].device is empty"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        let cfg: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        check_runnable(&cfg)?;
        Ok(cfg)
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
    fn unrunnable_configs_are_refused_with_the_reason() {
        let no_ports = parse("[dpdk]\nworkers = [0]\n").unwrap_err();
        assert!(no_ports.contains("no [[ports]]"), "{no_ports}");
        let twice =
            parse("[dpdk]\nworkers = [1, 1]\n[[ports]]\nname = \"dp0\"\ndevice = \"net_null0\"\n")
                .unwrap_err();
        assert!(twice.contains("core 1 is listed twice"), "{twice}");
        let typo = parse("[[ports]]\nname = \"dp0\"\ndevise = \"net_null0\"\n").unwrap_err();
        assert!(typo.contains("devise"), "{typo}");
    }
}
