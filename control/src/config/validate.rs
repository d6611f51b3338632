//! Semantic validation of a [`Config`](super::Config).
//!
//! Contract (shared by both readers and by the control socket): `validate` returns every
//! problem it finds, each naming the offending item by its path in the model
//! (`services[2].real_servers[0].weight`) so a reader can map it back to a file and line.
//! A config that passes is safe to compile into a dataplane snapshot.
//!
//! The checks are split by concern: [`services`] (virtual services, real servers, checkers,
//! FULLNAT pools), [`vrrp`] (instances, scripts, sync groups) and [`network`] (the
//! director's ports, routes, neighbours and runtime settings).

mod network;
pub(crate) mod services;
pub(crate) mod vrrp;

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
pub fn validate(cfg: &Config) -> Result<(), Vec<ValidationError>> {
    let mut errs = Problems::default();
    network::check(cfg, &mut errs);
    services::check(cfg, &mut errs);
    vrrp::check(cfg, &mut errs);
    if errs.0.is_empty() {
        Ok(())
    } else {
        Err(errs.0)
    }
}

/// The problems found so far.
#[derive(Debug, Default)]
struct Problems(Vec<ValidationError>);

impl Problems {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ValidationError {
            path: path.into(),
            message: message.into(),
        });
    }
}

/// A duration in seconds must be a finite number in `min..=max`.
fn seconds_in(v: f64, min: f64, max: f64) -> bool {
    v.is_finite() && v >= min && v <= max
}

#[cfg(test)]
mod tests;
