//! Semantic validation of a [`Config`](super::Config).
//!
//! Contract (shared by both readers and by the control socket): `validate` returns every
//! problem it finds, each naming the offending item by its path in the model
//! (`services[2].real_servers[0].weight`) so a reader can map it back to a file and line.
//! A config that passes is safe to compile into a dataplane snapshot.

use super::Config;

/// One semantic problem of a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ValidationError {
    /// Path of the item in the model, e.g. `services[2].scheduler`.
    pub path: String,
    pub message: String,
}

/// Checks a whole configuration.
pub fn validate(_cfg: &Config) -> Result<(), Vec<ValidationError>> {
    // Filled in by the configuration work (issue "Control plane").
    Ok(())
}
