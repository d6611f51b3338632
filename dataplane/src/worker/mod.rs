//! The worker: one thread per configured core, owning queue q of every port.
//!
//! One [`Worker::poll`] is: take a new snapshot if one arrived → handle packets handed over
//! by other workers → for each port, RX burst, decide each packet with the [`Stage`]
//! (transmit on a port, drop with a reason, to the kernel port, hand to another worker) →
//! TX burst per port → run the stage's timers. No allocation, lock, syscall or log line
//! happens on this path: bursts are fixed arrays, counters are single-writer atomics, the
//! snapshot is an `Arc` read without locking, and the clock is read at most once per poll
//! (vDSO `clock_gettime`, no syscall).
//!
//! Pinning the thread and registering it with DPDK is the caller's job (rvsd), since it
//! depends on the backend; the loop itself is backend-agnostic and runs the same over
//! DPDK ports and pcap files.

pub mod handoff;
pub mod snapshot;
pub mod verdict;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use arrayvec::ArrayVec;
use crossbeam_channel::Receiver;

use crate::port::{BURST_MAX, Burst, PacketBuf, PortQueue};
use crate::stats::{DropReason, WorkerCounters};

pub use handoff::{HandOffEnds, handoff_mesh};
pub use snapshot::{
    ClientAddrMode, DestConf, Persistence, PortRole, PortView, ServiceConf, ServiceTable, Snapshot,
    TunnelConf,
};
pub use verdict::{OUTPUT_MAX, Output, PacketCtx, Stage, Verdict};

/// Everything a worker is made of.
pub struct WorkerSetup<Q: PortQueue, S: Stage<Q::Buf>> {
    /// Worker id (also the queue index it owns on every port).
    pub id: u16,
    /// Queue `id` of every port, by port index.
    pub queues: Vec<Q>,
    pub stage: S,
    pub snapshot: Arc<Snapshot>,
    /// New snapshots from the control thread.
    pub updates: Receiver<Arc<Snapshot>>,
    pub counters: Arc<WorkerCounters>,
    pub handoff: HandOffEnds<Q::Buf>,
    /// Packets asked of each port per poll (`dpdk.burst`), 1..=[`BURST_MAX`].
    pub burst: usize,
}

/// A running worker (see the module documentation).
pub struct Worker<Q: PortQueue, S: Stage<Q::Buf>> {
    id: u16,
    queues: Vec<Q>,
    /// Packets waiting for TX, by port index.
    pending: Vec<Burst<Q::Buf>>,
    stage: S,
    snapshot: Arc<Snapshot>,
    updates: Receiver<Arc<Snapshot>>,
    counters: Arc<WorkerCounters>,
    handoff: HandOffEnds<Q::Buf>,
    burst: usize,
    /// Origin of the monotonic clock used when packets carry no timestamp.
    epoch: Instant,
    /// The worker's current time in ns (see [`PacketCtx::now`]).
    now: u64,
    /// Whether the last packet seen carried an RX timestamp: then time follows packets
    /// (replay), and idle polls do not advance it.
    packet_time: bool,
}

impl<Q: PortQueue, S: Stage<Q::Buf>> Worker<Q, S> {
    pub fn new(mut setup: WorkerSetup<Q, S>) -> Worker<Q, S> {
        let pending = (0..setup.queues.len()).map(|_| Burst::new()).collect();
        setup.stage.snapshot_changed(&setup.snapshot);
        Worker {
            id: setup.id,
            queues: setup.queues,
            pending,
            stage: setup.stage,
            snapshot: setup.snapshot,
            updates: setup.updates,
            counters: setup.counters,
            handoff: setup.handoff,
            burst: setup.burst.clamp(1, BURST_MAX),
            epoch: Instant::now(),
            now: 0,
            packet_time: false,
        }
    }

    pub fn id(&self) -> u16 {
        self.id
    }

    /// The worker's current time (ns).
    pub fn now(&self) -> u64 {
        self.now
    }

    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snapshot
    }

    pub fn counters(&self) -> &Arc<WorkerCounters> {
        &self.counters
    }

    /// The queues (for backend-specific checks such as a pcap queue's drain state).
    pub fn queues(&self) -> &[Q] {
        &self.queues
    }

    /// The queues, writable (tests feed in-memory queues through this).
    pub fn queues_mut(&mut self) -> &mut [Q] {
        &mut self.queues
    }

    /// The stage (for its tables in tests and listings).
    pub fn stage(&self) -> &S {
        &self.stage
    }

    /// Gives the queues back (and drops everything else), e.g. to close the ports.
    pub fn into_queues(mut self) -> Vec<Q> {
        self.flush(4);
        std::mem::take(&mut self.queues)
    }

    fn monotonic_ns(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// One round of the loop; returns the packets received from ports and peers.
    pub fn poll(&mut self) -> usize {
        // A new snapshot applies from the next packet on; only the newest one matters.
        let mut swapped = false;
        while let Ok(next) = self.updates.try_recv() {
            // The old snapshot is usually freed here, between bursts, never mid-packet.
            self.snapshot = next;
            self.counters.snapshot_swaps.inc();
            swapped = true;
        }
        if swapped {
            self.stage.snapshot_changed(&self.snapshot);
        }
        if !self.packet_time {
            self.now = self.monotonic_ns();
        }

        let mut received = self.receive_handoffs();
        for port in 0..self.queues.len() {
            let mut burst: Burst<Q::Buf> = Burst::new();
            let n = match self.queues.get_mut(port) {
                Some(q) => q.rx_burst(&mut burst, self.burst),
                None => 0,
            };
            if n == 0 {
                continue;
            }
            received += n;
            self.counters.rx_packets.add(n as u64);
            let port = port as u16;
            for buf in burst.drain(..) {
                self.counters.rx_bytes.add(buf.len() as u64);
                self.dispatch(port, buf, false);
            }
        }
        // Timers may emit packets too (ARP retries, released or gratuitous ARPs): run them
        // before the TX bursts so everything of this round leaves together.
        self.run_tick();
        for port in 0..self.pending.len() {
            self.transmit(port);
        }
        if received == 0 {
            self.counters.idle_polls.inc();
        } else {
            self.counters.busy_polls.inc();
        }
        received
    }

    /// Polls until `stop` is set, then flushes what is pending.
    pub fn run(&mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            self.poll();
        }
        self.flush(16);
    }

    /// Retries TX of pending packets up to `tries` times per port; what still cannot be
    /// sent is dropped as `tx_full`.
    pub fn flush(&mut self, tries: usize) {
        for port in 0..self.pending.len() {
            for _ in 0..tries {
                if self.pending.get(port).is_none_or(|p| p.is_empty()) {
                    break;
                }
                self.transmit(port);
            }
            if let Some(p) = self.pending.get_mut(port) {
                for _ in p.drain(..) {
                    self.counters.drop_packet(DropReason::TxFull);
                }
            }
        }
    }

    fn receive_handoffs(&mut self) -> usize {
        // Take them out first: dispatch needs `&mut self`.
        let mut items: arrayvec::ArrayVec<(u16, Q::Buf), BURST_MAX> = arrayvec::ArrayVec::new();
        let n = self.handoff.receive(BURST_MAX, |port, buf| {
            // `receive` stops at BURST_MAX, the capacity of `items`.
            let _ = items.try_push((port, buf));
        });
        self.counters.handoff_in.add(n as u64);
        for (port, buf) in items.drain(..) {
            self.dispatch(port, buf, true);
        }
        n
    }

    /// Decides one packet and carries the stage's output out.
    #[inline]
    fn dispatch(&mut self, port: u16, buf: Q::Buf, handed_off: bool) {
        if let Some(ts) = buf.rx_timestamp() {
            self.now = ts;
            self.packet_time = true;
        }
        let mut sends: ArrayVec<(Verdict, Q::Buf), OUTPUT_MAX> = ArrayVec::new();
        {
            let ctx = PacketCtx {
                port,
                worker: self.id,
                now: self.now,
                handed_off,
                snapshot: &self.snapshot,
                counters: &self.counters,
            };
            let queues = &mut self.queues;
            let mut alloc = || queues.first_mut().and_then(PortQueue::alloc);
            let mut out = Output::new(&mut sends, &mut alloc, &self.counters);
            self.stage.process(buf, &ctx, &mut out);
        }
        self.carry_out(port, handed_off, &mut sends);
    }

    /// Runs the stage's timers and carries their output out.
    fn run_tick(&mut self) {
        let mut sends: ArrayVec<(Verdict, Q::Buf), OUTPUT_MAX> = ArrayVec::new();
        {
            let queues = &mut self.queues;
            let mut alloc = || queues.first_mut().and_then(PortQueue::alloc);
            let mut out = Output::new(&mut sends, &mut alloc, &self.counters);
            self.stage.tick(self.now, &self.snapshot, &mut out);
        }
        // Timer output is the worker's own: it may be handed to a peer.
        self.carry_out(0, false, &mut sends);
    }

    fn carry_out(
        &mut self,
        port: u16,
        handed_off: bool,
        sends: &mut ArrayVec<(Verdict, Q::Buf), OUTPUT_MAX>,
    ) {
        for (verdict, buf) in sends.drain(..) {
            match verdict {
                Verdict::Transmit { port } => self.enqueue_tx(usize::from(port), buf),
                Verdict::Drop(reason) => self.counters.drop_packet(reason),
                Verdict::ToKernel { port } => {
                    match self.snapshot.port(usize::from(port)).and_then(|p| p.kernel) {
                        Some(k) => {
                            self.counters.to_kernel.inc();
                            self.enqueue_tx(usize::from(k), buf);
                        }
                        None => self.counters.drop_packet(DropReason::NoKernelPort),
                    }
                }
                Verdict::HandOff { worker } => {
                    if handed_off {
                        // Never bounce a packet back and forth.
                        self.counters.drop_packet(DropReason::HandOffLoop);
                    } else if self.handoff.send(usize::from(worker), port, buf).is_ok() {
                        self.counters.handoff_out.inc();
                    } else {
                        self.counters.drop_packet(DropReason::HandOffFull);
                    }
                }
            }
        }
    }

    #[inline]
    fn enqueue_tx(&mut self, port: usize, buf: Q::Buf) {
        let full = match self.pending.get(port) {
            None => {
                self.counters.drop_packet(DropReason::NoSuchPort);
                return;
            }
            Some(p) => p.is_full(),
        };
        if full {
            self.transmit(port);
        }
        match self.pending.get_mut(port).map(|p| p.try_push(buf)) {
            Some(Ok(())) => {}
            _ => self.counters.drop_packet(DropReason::TxFull),
        }
    }

    /// One TX burst of `port`'s pending packets; unsent ones stay pending.
    fn transmit(&mut self, port: usize) {
        let (Some(queue), Some(pending)) = (self.queues.get_mut(port), self.pending.get_mut(port))
        else {
            return;
        };
        if pending.is_empty() {
            return;
        }
        let bytes_before: usize = pending.iter().map(PacketBuf::len).sum();
        let sent = queue.tx_burst(pending);
        let bytes_after: usize = pending.iter().map(PacketBuf::len).sum();
        self.counters.tx_packets.add(sent as u64);
        self.counters
            .tx_bytes
            .add(bytes_before.saturating_sub(bytes_after) as u64);
    }
}

#[cfg(test)]
mod tests;
