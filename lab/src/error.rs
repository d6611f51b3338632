//! The one error type of the lab.
//!
//! Every variant names what went wrong in words a test log can show as is: which command
//! failed with which stderr, which tool is missing and which Debian package brings it, what
//! timed out. `NotRoot` is separate because tests turn it into a skip, never a failure.

use std::path::PathBuf;
use std::time::Duration;

/// Why a lab operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// Network namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN).
    #[error("needs root (network namespaces)")]
    NotRoot,
    /// A program the lab runs is not installed.
    #[error("`{tool}` is not installed (Debian package `{package}`)")]
    MissingTool {
        /// The program looked for.
        tool: &'static str,
        /// The Debian package that provides it.
        package: &'static str,
    },
    /// A command ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line, for the log.
        command: String,
        /// Exit status as text (`exit status: 1`, `signal: 9`).
        status: String,
        /// What it printed on stderr (trimmed).
        stderr: String,
    },
    /// A command could not even be started.
    #[error("cannot start `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Something the lab waits for did not happen in time.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long the lab waited.
        waited: Duration,
    },
    /// A run id given by the user is not usable.
    #[error("invalid lab id `{0}`: 1 to 8 characters of [a-z0-9]")]
    InvalidId(String),
    /// A lab specification is inconsistent.
    #[error("invalid lab specification: {0}")]
    InvalidSpec(String),
    /// A node name that this lab does not have.
    #[error("no node `{0}` in this lab")]
    UnknownNode(String),
    /// No lab with this id (no record in the state directory).
    #[error("no lab `{0}` (no record in the state directory)")]
    UnknownLab(String),
    /// A lab with this id already exists.
    #[error("a lab with id `{0}` already exists")]
    AlreadyExists(String),
    /// A program printed something the lab could not understand.
    #[error("cannot parse {what}: {text:?}")]
    Parse {
        /// What was being parsed.
        what: &'static str,
        /// The offending text (shortened).
        text: String,
    },
    /// A capture file could not be read.
    #[error("pcap {path}: {message}")]
    Pcap {
        /// The capture file.
        path: PathBuf,
        /// The reader's message.
        message: String,
    },
}

impl LabError {
    /// An `Io` error for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> LabError {
        LabError::Io {
            path: path.into(),
            source,
        }
    }

    /// A `Parse` error; the text is cut so that a runaway output does not flood the log.
    pub(crate) fn parse(what: &'static str, text: &str) -> LabError {
        LabError::Parse {
            what,
            text: text.chars().take(300).collect(),
        }
    }
}

/// Result with a [`LabError`].
pub type Result<T> = std::result::Result<T, LabError>;
