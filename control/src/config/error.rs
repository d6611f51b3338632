//! Configuration diagnostics: what is wrong (or merely unused) in a file, and where.
//!
//! Both readers report through the same [`ConfigError`] so that an operator sees one format,
//! `file:line[:column]: message`, whatever file they wrote. Warnings (a keyword rvs accepts but
//! does not act on, a value keepalived would silently fix) use the same type: they differ only
//! in which list they are kept in.

use std::fmt;
use std::sync::Arc;

/// One problem found in a configuration, with its place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, as the operator named it (`<string>` for text handed over directly).
    pub file: String,
    /// 1-based line; 0 when the problem concerns the whole file.
    pub line: usize,
    /// 1-based column, when the reader knows it (TOML).
    pub column: Option<usize>,
    /// What is wrong, in the operator's vocabulary.
    pub message: String,
    /// A close valid spelling, for an unknown keyword or field.
    pub suggestion: Option<String>,
}

/// Warnings have the same shape as errors; they do not stop a configuration from loading.
pub type ConfigWarning = ConfigError;

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        write!(f, ": {}", self.message)?;
        if let Some(s) = &self.suggestion {
            write!(f, " (did you mean \"{s}\"?)")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Everything that stopped a configuration from loading. A file with errors yields no
/// configuration at all; the warnings found on the way are kept for the report.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigErrors {
    pub errors: Vec<ConfigError>,
    pub warnings: Vec<ConfigWarning>,
}

impl ConfigErrors {
    /// A single error that is not tied to a line (unreadable file ...).
    pub fn single(file: &str, message: impl Into<String>) -> Self {
        ConfigErrors {
            errors: vec![ConfigError {
                file: file.to_string(),
                line: 0,
                column: None,
                message: message.into(),
                suggestion: None,
            }],
            warnings: Vec::new(),
        }
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "error: {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// A place in a configuration file. Cheap to clone: the file name is shared.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    pub file: Arc<str>,
    pub line: usize,
    pub column: Option<usize>,
}

impl Location {
    pub fn new(file: Arc<str>, line: usize) -> Self {
        Location {
            file,
            line,
            column: None,
        }
    }

    /// An error at this place.
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.to_string(),
            line: self.line,
            column: self.column,
            message: message.into(),
            suggestion: None,
        }
    }
}

/// Collects errors and warnings while a reader walks a file, so that every problem is
/// reported rather than only the first.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub errors: Vec<ConfigError>,
    pub warnings: Vec<ConfigWarning>,
}

impl Diagnostics {
    pub fn error(&mut self, at: &Location, message: impl Into<String>) {
        self.errors.push(at.error(message));
    }

    pub fn error_suggest(
        &mut self,
        at: &Location,
        message: impl Into<String>,
        suggestion: Option<&str>,
    ) {
        let mut e = at.error(message);
        e.suggestion = suggestion.map(str::to_string);
        self.errors.push(e);
    }

    pub fn warn(&mut self, at: &Location, message: impl Into<String>) {
        self.warnings.push(at.error(message));
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    pub fn into_errors(self) -> ConfigErrors {
        ConfigErrors {
            errors: self.errors,
            warnings: self.warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_file_line_column_and_suggestion() {
        let mut e = Location {
            file: Arc::from("a.conf"),
            line: 12,
            column: Some(3),
        }
        .error("unknown keyword \"1b_algo\"");
        e.suggestion = Some("lb_algo".into());
        assert_eq!(
            e.to_string(),
            "a.conf:12:3: unknown keyword \"1b_algo\" (did you mean \"lb_algo\"?)"
        );
        let whole = ConfigErrors::single("x.toml", "cannot read");
        assert_eq!(whole.to_string(), "error: x.toml: cannot read");
    }
}
