//! What happens to a packet: the per-packet decision's result and its inputs.
//!
//! The worker loop is generic over a [`Stage`]: one function that takes a packet buffer and
//! its [`PacketCtx`] and puts the result into an [`Output`]: usually the same buffer with a
//! [`Verdict`], but a stage may also keep a buffer (a packet held while its next hop is
//! being resolved), emit buffers it allocated (an ARP request, a second IP fragment), or
//! release held ones later from [`Stage::tick`]. The worker carries the output out after
//! the call, so the stage never touches a queue.
use std::sync::Arc;

use arrayvec::ArrayVec;

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

/// The most buffers one call of a stage may output (a packet, its extra fragments, an ARP
/// request, the packets a resolved neighbour releases ...). Beyond it buffers are dropped
/// and counted as `output_full`.
pub const OUTPUT_MAX: usize = 64;

/// What a stage produced: buffers with their verdicts, and a way to get fresh buffers.
pub struct Output<'a, B> {
    sends: &'a mut ArrayVec<(Verdict, B), OUTPUT_MAX>,
    alloc: &'a mut dyn FnMut() -> Option<B>,
    counters: &'a WorkerCounters,
}

impl<'a, B: PacketBuf> Output<'a, B> {
    /// An output over the worker's scratch array and allocator.
    pub fn new(
        sends: &'a mut ArrayVec<(Verdict, B), OUTPUT_MAX>,
        alloc: &'a mut dyn FnMut() -> Option<B>,
        counters: &'a WorkerCounters,
    ) -> Output<'a, B> {
        Output {
            sends,
            alloc,
            counters,
        }
    }

    /// Hands `buf` back to the worker with its verdict (a `Drop` verdict frees it and counts
    /// the reason).
    #[inline]
    pub fn push(&mut self, verdict: Verdict, buf: B) {
        if let Err(e) = self.sends.try_push((verdict, buf)) {
            drop(e.element());
            self.counters.drop_packet(DropReason::OutputFull);
        }
    }

    /// Drops `buf`, counting `reason`.
    #[inline]
    pub fn drop(&mut self, reason: DropReason, buf: B) {
        self.push(Verdict::Drop(reason), buf);
    }

    /// A fresh empty buffer (with the usual headroom), `None` when the pool is dry.
    #[inline]
    pub fn alloc(&mut self) -> Option<B> {
        (self.alloc)()
    }

    /// Room left for further buffers.
    pub fn remaining(&self) -> usize {
        self.sends.remaining_capacity()
    }

    /// The worker's counters (for stage-specific counting).
    pub fn counters(&self) -> &WorkerCounters {
        self.counters
    }
}

/// The per-packet decision, and the timers that run between bursts.
pub trait Stage<B: PacketBuf>: Send {
    /// Decides what happens to `buf`, rewriting it in place as needed, and puts it (or
    /// whatever replaces it) into `out`. A buffer the stage neither outputs nor keeps is
    /// freed without being counted, so every path should end in `out`.
    fn process(&mut self, buf: B, ctx: &PacketCtx<'_>, out: &mut Output<'_, B>);

    /// Runs timers due at `now` (same clock as [`PacketCtx::now`]); called between bursts.
    fn tick(&mut self, _now: u64, _snapshot: &Arc<Snapshot>, _out: &mut Output<'_, B>) {}

    /// A new snapshot was swapped in (between bursts, before the next packet): the place to
    /// rebuild per-worker state derived from it, which may allocate.
    fn snapshot_changed(&mut self, _snapshot: &Arc<Snapshot>) {}
}
