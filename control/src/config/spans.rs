//! Where each item of a [`Config`](super::Config) came from.
//!
//! Validation speaks in model paths (`services[2].real_servers[0].weight`) so that the
//! control socket can use it without any file; the readers record, while reading, the file
//! and line of every item they produce under the same paths. Mapping a validation error back
//! to a line is then a lookup: the exact path if it was written in the file, else its
//! nearest written ancestor (a default weight is reported at its real server's line).

use std::collections::HashMap;

use super::error::{ConfigError, Location};
use super::validate::ValidationError;

/// Model path -> place in the file.
#[derive(Debug, Default, Clone)]
pub struct SpanMap {
    map: HashMap<String, Location>,
}

impl SpanMap {
    /// Records where `path` was written; the first record of a path wins.
    pub fn insert(&mut self, path: impl Into<String>, at: Location) {
        self.map.entry(path.into()).or_insert(at);
    }

    /// Records `path`, replacing an earlier record.
    pub fn set(&mut self, path: impl Into<String>, at: Location) {
        self.map.insert(path.into(), at);
    }

    /// The place of `path`, or of its nearest recorded ancestor.
    pub fn locate(&self, path: &str) -> Option<&Location> {
        let mut p = path;
        loop {
            if let Some(at) = self.map.get(p) {
                return Some(at);
            }
            p = parent(p)?;
        }
    }

    /// Turns a validation error into a located configuration error. `with_path` keeps the
    /// model path in the message (useful for TOML, whose keys are the path).
    pub fn locate_error(
        &self,
        err: &ValidationError,
        fallback_file: &str,
        with_path: bool,
    ) -> ConfigError {
        let message = if with_path {
            err.to_string()
        } else {
            err.message.clone()
        };
        match self.locate(&err.path) {
            Some(at) => at.error(message),
            None => ConfigError {
                file: fallback_file.to_string(),
                line: 0,
                column: None,
                message,
                suggestion: None,
            },
        }
    }
}

/// `a.b[2].c` -> `a.b[2]` -> `a.b` -> `a` -> none.
fn parent(path: &str) -> Option<&str> {
    let cut = path.rfind(['.', '['])?;
    Some(&path[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn falls_back_to_the_nearest_written_ancestor() {
        let f: Arc<str> = Arc::from("k.conf");
        let mut m = SpanMap::default();
        m.insert("services[1]", Location::new(f.clone(), 10));
        m.insert("services[1].real_servers[0]", Location::new(f.clone(), 14));
        m.insert(
            "services[1].real_servers[0].weight",
            Location::new(f.clone(), 15),
        );
        let line = |p: &str| m.locate(p).map(|l| l.line);
        assert_eq!(line("services[1].real_servers[0].weight"), Some(15));
        assert_eq!(
            line("services[1].real_servers[0].checks[0].retry"),
            Some(14)
        );
        assert_eq!(line("services[1].scheduler"), Some(10));
        assert_eq!(line("services[0].scheduler"), None);
        let e = m.locate_error(
            &ValidationError {
                path: "services[1].real_servers[0].weight".into(),
                message: "weight 70000 is out of range 0..=65535".into(),
            },
            "k.conf",
            false,
        );
        assert_eq!(
            e.to_string(),
            "k.conf:15: weight 70000 is out of range 0..=65535"
        );
    }
}
