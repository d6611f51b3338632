//! What the engine checks, with every keepalived default already applied.
//!
//! The configuration model (`config::model`) says what the operator wrote; these types say
//! what will actually run. [`super::resolve`] turns the one into the other, so that the
//! engine and the probes never look at an `Option` to guess a default, and so that two
//! checkers compare equal exactly when they would behave the same (that equality is what a
//! live reconfiguration uses to keep a checker's state and schedule).

use std::net::SocketAddr;
use std::time::Duration;

use proto::ServiceKey;

/// Where a network checker connects and from where (keepalived's `conn_opts`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnSpec {
    /// `connect_ip`:`connect_port`, defaulting to the real server's address and port.
    pub dst: SocketAddr,
    /// `bindto` (+ `bind_port`): the source of the check's socket.
    pub bind: Option<SocketAddr>,
    /// `connect_timeout`: bounds the connect and every later read or write.
    pub timeout: Duration,
}

/// One `url` block of HTTP_GET / SSL_GET, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UrlSpec {
    pub path: String,
    /// Accepted status codes as inclusive ranges (default 200-299).
    pub status: Vec<(u16, u16)>,
    /// Expected MD5 of the body (genhash's digest).
    pub digest: Option<[u8; 16]>,
    /// The exact value of the Host header: the virtualhost if one applies, else `IP:PORT`
    /// (`[IPv6]:PORT`), as keepalived writes it.
    pub host: String,
}

impl UrlSpec {
    /// Whether `code` is one of the accepted status codes.
    pub fn accepts(&self, code: u16) -> bool {
        self.status.iter().any(|&(lo, hi)| lo <= code && code <= hi)
    }
}

/// What a checker does on each attempt.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProbeSpec {
    /// TCP_CHECK: the connect succeeds.
    Tcp { conn: ConnSpec },
    /// HTTP_GET (or SSL_GET when `tls`): each url answers with an accepted status and digest.
    Http {
        conn: ConnSpec,
        tls: bool,
        /// Server name sent in the TLS ClientHello (`enable_sni`), if any.
        sni: Option<String>,
        urls: Vec<UrlSpec>,
    },
    /// UDP_CHECK: a datagram is not refused (and, with `require_reply`, is answered).
    Udp {
        conn: ConnSpec,
        payload: Vec<u8>,
        /// `None`: no reply needed (silence is success, ICMP unreachable is failure).
        /// `Some(prefix)`: a reply is required and must start with `prefix` (may be empty).
        require_reply: Option<Vec<u8>>,
    },
    /// DNS_CHECK: a query gets a response with RCODE NOERROR.
    Dns {
        conn: ConnSpec,
        qtype: u16,
        name: String,
    },
    /// SMTP_CHECK: 220 greeting, `HELO name` answered 250, QUIT.
    Smtp { conn: ConnSpec, helo: String },
    /// MISC_CHECK: `/bin/sh -c command` exits 0 (or 2..=255 with `dynamic`).
    Misc {
        command: String,
        timeout: Duration,
        dynamic: bool,
    },
}

impl ProbeSpec {
    /// The checker's name as keepalived spells it.
    pub fn kind_name(&self) -> &'static str {
        match self {
            ProbeSpec::Tcp { .. } => "TCP_CHECK",
            ProbeSpec::Http { tls: false, .. } => "HTTP_GET",
            ProbeSpec::Http { tls: true, .. } => "SSL_GET",
            ProbeSpec::Udp { .. } => "UDP_CHECK",
            ProbeSpec::Dns { .. } => "DNS_CHECK",
            ProbeSpec::Smtp { .. } => "SMTP_CHECK",
            ProbeSpec::Misc { .. } => "MISC_CHECK",
        }
    }
}

/// When a checker runs and how it retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timing {
    /// Time between two checks of a settled checker (`delay_loop`).
    pub delay_loop: Duration,
    /// Further attempts before a failing checker is declared down (`retry`).
    pub retry: u32,
    /// Time between those attempts (`delay_before_retry`).
    pub delay_before_retry: Duration,
    /// The first check runs at a random point in `0..=warmup` after start.
    pub warmup: Duration,
    /// Start the checker as failed until its first success (`alpha`).
    pub alpha: bool,
}

/// One checker of one real server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CheckerSpec {
    pub probe: ProbeSpec,
    pub timing: Timing,
}

/// A real server and its checkers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTarget {
    pub dest: SocketAddr,
    /// The configured weight (keepalived's `iweight`), which MISC_CHECK exit 0 restores.
    pub weight: u32,
    /// inhibit_on_failure, after the per-server override.
    pub inhibit: bool,
    pub notify_up: Option<String>,
    pub notify_down: Option<String>,
    /// Health checkers; the server is alive when all of them are up (always, with none).
    pub checkers: Vec<CheckerSpec>,
}

/// The sorry server of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SorrySpec {
    pub dest: SocketAddr,
    /// `sorry_server_inhibit`: while not in use, keep it in the table at weight 0.
    pub inhibit: bool,
}

/// Service-level health settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePolicy {
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<String>,
    pub quorum_down: Option<String>,
    /// Run notify_down (and quorum_down) scripts when the service is removed.
    pub omega: bool,
    pub sorry: Option<SorrySpec>,
}

/// A virtual service with its real servers, as the engine checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTarget {
    pub key: ServiceKey,
    pub policy: ServicePolicy,
    pub servers: Vec<ServerTarget>,
}
