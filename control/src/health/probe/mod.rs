//! The probes: one attempt of each checker kind against the network (or a script).
//!
//! Every probe is an ordinary kernel socket of the daemon, so it leaves through whatever
//! interface the kernel routes it to (on a director, the TAP that carries its addresses);
//! `bindto` only picks the source address. Each returns an [`Outcome`], never an error:
//! whatever goes wrong is a failed check with a reason, as keepalived logs it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::spec::ProbeSpec;

pub mod conn;
pub mod dns;
pub mod dns_wire;
pub mod http;
pub mod misc;
pub mod smtp;
pub mod tcp;
pub mod tls;
pub mod udp;

/// What a MISC_CHECK with misc_dynamic says about the server's weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightHint {
    /// Exit code 2..=255: the weight becomes `code - 2`.
    Set(u32),
    /// Exit code 0: back to the configured weight.
    Restore,
}

/// The result of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub ok: bool,
    /// "ok" or why the attempt failed.
    pub reason: String,
    /// Set only by MISC_CHECK with misc_dynamic on success.
    pub weight: Option<WeightHint>,
}

impl Outcome {
    pub fn pass() -> Outcome {
        Outcome {
            ok: true,
            reason: "ok".to_string(),
            weight: None,
        }
    }

    pub fn fail(reason: impl Into<String>) -> Outcome {
        Outcome {
            ok: false,
            reason: reason.into(),
            weight: None,
        }
    }
}

/// A boxed future, so that probers can be trait objects.
pub type ProbeFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// Runs one attempt of a checker. The engine uses [`NetProber`]; tests substitute scripted
/// probers to drive the engine under tokio's paused clock.
pub trait Prober: Send + Sync + 'static {
    /// One attempt of `spec`; `url` is the index of the url an HTTP checker fetches.
    fn probe<'a>(&'a self, spec: &'a ProbeSpec, url: usize) -> ProbeFuture<'a>;
}

/// The real prober: sockets and processes.
pub struct NetProber {
    tls: Result<Arc<rustls::ClientConfig>, String>,
}

impl NetProber {
    pub fn new() -> NetProber {
        NetProber {
            tls: tls::client_config(),
        }
    }
}

impl Default for NetProber {
    fn default() -> Self {
        NetProber::new()
    }
}

impl Prober for NetProber {
    fn probe<'a>(&'a self, spec: &'a ProbeSpec, url: usize) -> ProbeFuture<'a> {
        Box::pin(async move {
            match spec {
                ProbeSpec::Tcp { conn } => tcp::probe(conn).await,
                ProbeSpec::Http {
                    conn,
                    tls,
                    sni,
                    urls,
                } => match urls.get(url).or(urls.first()) {
                    None => Outcome::fail("no url to check"),
                    Some(u) if *tls => match &self.tls {
                        Ok(config) => {
                            http::probe_tls(conn, sni.as_deref(), u, config.clone()).await
                        }
                        Err(reason) => Outcome::fail(reason.clone()),
                    },
                    Some(u) => http::probe_plain(conn, u).await,
                },
                ProbeSpec::Udp {
                    conn,
                    payload,
                    require_reply,
                } => udp::probe(conn, payload, require_reply.as_deref()).await,
                ProbeSpec::Dns { conn, qtype, name } => dns::probe(conn, *qtype, name).await,
                ProbeSpec::Smtp { conn, helo } => smtp::probe(conn, helo).await,
                ProbeSpec::Misc {
                    command,
                    timeout,
                    dynamic,
                } => misc::probe(command, *timeout, *dynamic).await,
            }
        })
    }
}
