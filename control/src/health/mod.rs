//! Health checks with keepalived's semantics: TCP_CHECK, HTTP_GET, SSL_GET, UDP_CHECK,
//! DNS_CHECK, SMTP_CHECK and MISC_CHECK, retries, alpha/omega, inhibit_on_failure, quorum
//! with hysteresis, sorry server and notify scripts.
//!
//! The pieces, in the order data flows through them:
//!
//! * [`resolve`] turns the configured services into [`spec::ServiceTarget`]s with every
//!   keepalived default applied;
//! * [`engine::HealthEngine`] runs one lightweight task per checker on a tokio runtime the
//!   daemon provides (thousands on one thread), each attempt a [`probe`] and each result
//!   fed to the checker's [`policy::CheckerState`]; it aggregates checkers into real
//!   servers and services, runs notify scripts and emits [`event::HealthEvent`]s;
//! * [`effect::service_effect`] is the pure function the director calls to derive a
//!   service's effective table (who is in, at which weight, sorry server or not);
//! * [`host::HealthHost`] runs the engine on a thread of its own for the daemon, which has
//!   no async runtime, and hands its events over a plain channel.
//!
//! docs/health-checks.md describes the behaviour for operators.

pub mod effect;
pub mod engine;
pub mod event;
pub mod host;
pub mod policy;
pub mod probe;
pub mod resolve;
pub mod script;
pub mod spec;

pub use effect::{Effect, ServerHealth, TableEntry, service_effect};
pub use engine::{EngineOptions, EngineStopped, HealthEngine, ServiceHealth};
pub use event::{HealthEvent, ServerChange};
pub use host::HealthHost;
pub use probe::{NetProber, Outcome, Prober};
pub use resolve::{ResolveError, resolve_services};
pub use spec::ServiceTarget;
