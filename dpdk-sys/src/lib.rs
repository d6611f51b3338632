//! Bindings to the system DPDK and the safe wrappers rvs builds on.
//!
//! This crate is the only place (with `dataplane::port::dpdk`) where `unsafe` is allowed.
