//! Statistics the control plane derives from the workers' counters.
//!
//! The workers only count (per-worker, single-writer counters in `dataplane::stats`); the
//! daemon sums them per service and real server and hands the sums here. What this module
//! adds is what IPVS computes on top of its counters: the rates `ipvsadm --rate` shows
//! ([`estimator`]).

pub mod estimator;

pub use estimator::{ESTIMATION_INTERVAL, Estimator};
