//! The Unix control socket: how `rvsadm` (and any other client) talks to the director.
//!
//! Shape (see docs/control-protocol.md for the operator's view):
//! - [`listener`]: the socket file — parent directory created 0755, a stale socket left by a
//!   dead daemon removed (a live one is never stolen), mode 0600, or 0660 with the control
//!   group as the file's group.
//! - [`peer`]: who may talk — SO_PEERCRED on every connection; root, or a member of the
//!   control group (primary or supplementary, via getgrouplist). Others stay connected but
//!   every request except `hello` is answered `permission_denied`, so the client can print
//!   ipvsadm's message instead of a bare connection error.
//! - [`framing`]: length-prefixed frames with the limits checked before a body is read: the
//!   length against the frame limit, the whole frame against a deadline (a client that sends
//!   half a frame is cut off), an idle connection against an idle timeout.
//! - [`connection`]: one connection's conversation — `hello` first, then one reply per
//!   request; a malformed request gets `bad_request` and the connection stays usable.
//! - [`server`]: the accept loop on a small single-threaded tokio runtime of its own, with a
//!   cap on concurrent connections.
//!
//! Why tokio and not a thread per connection: a slow or stuck client must cost a timer and a
//! few bytes, not a thread, and timeouts on reads and writes are plain `timeout()` calls. The
//! runtime is current-thread: control traffic is a few requests a second, and all
//! configuration work happens on the director's own thread ([`crate::director::actor`]),
//! which serialises requests from every connection.

pub mod connection;
pub mod framing;
pub mod listener;
pub mod peer;
pub mod server;

use std::path::PathBuf;
use std::time::Duration;

pub use peer::AccessPolicy;
pub use server::ControlServer;

use crate::config::Daemon;

/// Default cap on concurrently open control connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 32;

/// Per-connection limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest frame body accepted (bytes).
    pub max_frame: usize,
    /// Time a whole frame may take to arrive once its first byte has, and a reply to be
    /// written.
    pub frame_timeout: Duration,
    /// Time a connection may sit without starting a new frame.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame: proto::MAX_FRAME,
            frame_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Everything the server needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketOptions {
    pub path: PathBuf,
    /// Group (name or number) whose members may use the socket besides root.
    pub group: Option<String>,
    pub max_connections: usize,
    pub limits: Limits,
}

impl SocketOptions {
    /// The options the daemon's configuration gives, with default limits.
    pub fn from_config(daemon: &Daemon) -> Self {
        SocketOptions {
            path: PathBuf::from(&daemon.control_socket),
            group: daemon.control_group.clone(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            limits: Limits::default(),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("another process is listening on {0}")]
    InUse(PathBuf),
    #[error("{0} exists and is not a socket; refusing to replace it")]
    NotASocket(PathBuf),
    #[error("unknown control group {0:?}")]
    UnknownGroup(String),
    #[error("cannot start the control thread: {0}")]
    Thread(#[source] std::io::Error),
}
