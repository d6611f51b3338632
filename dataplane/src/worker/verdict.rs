//! What happens to a packet: the per-packet decision's result and its inputs.
//!
//! The worker loop is generic over a [`Stage`]: one function from a packet buffer and a
//! [`PacketCtx`] to a [`Verdict`]. Today's stage answers for the director's own addresses
//! (see [`crate::local`]); forwarding extends the same function (classify once, then local
//! or forward) without touching the loop.
use std::sync::Arc;

use crate::port::PacketBuf;
use crate::stats::{DropReason, WorkerCounters};

use super::snapshot::Snapshot;

/// The outcome of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send on port `port` (index in the snapshot), queue of this worker.
    Transmit { port: u16 },
    /// Drop and count the reason.
    Drop(DropReason),
    /// Deliver to the kernel-side port of `port` (traffic for the director itself).
    ToKernel { port: u16 },
    /// Pass to worker `worker`, which owns the packet's connection.
    HandOff { worker: u16 },
}

/// Everything a stage may read about the packet's circumstances.
pub struct PacketCtx<'a> {
    /// Port index the packet arrived on.
    pub port: u16,
    /// This worker's id.
    pub worker: u16,
    /// The packet's time in ns: its RX timestamp (capture time in replay), otherwise the
    /// monotonic clock read once for the burst.
    pub now: u64,
    /// Whether another worker handed this packet over (a stage must not hand it back).
    pub handed_off: bool,
    pub snapshot: &'a Arc<Snapshot>,
    pub counters: &'a WorkerCounters,
}

/// The per-packet decision, and the timers that run between bursts.
pub trait Stage: Send {
    /// Decides what happens to `buf`, rewriting it in place as needed.
    fn process<B: PacketBuf>(&mut self, buf: &mut B, ctx: &PacketCtx<'_>) -> Verdict;

    /// Runs timers due at `now` (same clock as [`PacketCtx::now`]); called between bursts.
    fn tick(&mut self, _now: u64) {}
}
