//! The workers as the control plane wires them: one forwarding stage per worker and every
//! channel and shared table between them and the control thread.
//!
//! The same wiring serves the live daemon (DPDK queues, worker threads) and replay (pcap or
//! net_pcap queues, polled in turn on one thread), so a replay exercises exactly the stage,
//! channels and tables the daemon runs. What differs is passed in: the buffer type, and
//! whether each worker's connection-table hash seed is random (the daemon: flows must not be
//! steerable into one bucket by an attacker who knows the seed) or fixed (replay: identical
//! runs).
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use dataplane::fwd::{ForwardStage, FwdConfig, StageCommand, neigh_mesh};
use dataplane::port::{PacketBuf, PortQueue};
use dataplane::stats::{SlotTable, SlotValues, WorkerCounters};
use dataplane::worker::{HandOffEnds, Snapshot, WorkerSetup, handoff_mesh};

use crate::error::RvsdError;
use crate::slots::SlotReader;

/// Snapshots a worker's channel holds before a change is refused (a worker that stopped
/// polling); workers take every pending one at the start of each poll.
pub const SNAPSHOT_QUEUE: usize = 16;
/// Control-plane commands (connection and neighbour dumps, gratuitous ARPs) queued per
/// worker.
pub const COMMAND_QUEUE: usize = 64;
/// Packets each hand-off ring holds.
pub const HANDOFF_RING: usize = 1024;
/// Neighbour updates each worker's inbox holds.
const NEIGH_INBOX: usize = 256;
/// The hash seed of replays (any fixed value does).
pub const REPLAY_SEED: u64 = 0x7276_735f_7265_706c;

/// How each worker's connection-table hash is keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seeds {
    /// A random key per worker and per run.
    Random,
    /// [`REPLAY_SEED`] plus the worker id.
    Fixed,
}

/// What the workers are built from.
#[derive(Debug, Clone, Copy)]
pub struct FleetOptions {
    pub workers: u16,
    /// Connection-table entries per worker (`conn_table.capacity_per_worker`).
    pub conn_capacity: u32,
    /// Statistics slots per worker (`daemon.stats_slots`).
    pub stats_slots: u32,
    pub seeds: Seeds,
}

/// The workers' shared tables, as the control plane reads them.
#[derive(Clone)]
pub struct WorkerTables {
    pub counters: Vec<Arc<WorkerCounters>>,
    pub slots: Vec<Arc<SlotTable>>,
}

impl SlotReader for WorkerTables {
    fn sum(&self, slot: u32) -> SlotValues {
        let mut sum = SlotValues::default();
        for table in &self.slots {
            if let Some(c) = table.get(slot) {
                sum.accumulate(&c.read());
            }
        }
        sum
    }

    fn acknowledged(&self) -> u64 {
        self.counters
            .iter()
            .map(|c| c.snapshot_swaps.get())
            .min()
            .unwrap_or(0)
    }
}

/// One worker, ready to be given its queues.
pub struct Member<B: PacketBuf> {
    pub id: u16,
    workers: u16,
    stage: ForwardStage<B>,
    updates: Receiver<Arc<Snapshot>>,
    counters: Arc<WorkerCounters>,
    handoff: HandOffEnds<B>,
}

impl<B: PacketBuf> Member<B> {
    /// The worker's end of its snapshot channel (tests look at what was sent).
    #[cfg(test)]
    pub fn updates(&self) -> &Receiver<Arc<Snapshot>> {
        &self.updates
    }

    /// The worker's setup over `queues` (queue `id` of every port, by port index). It
    /// starts from an empty snapshot and takes the director's first one at its first poll.
    pub fn into_setup<Q: PortQueue<Buf = B>>(
        self,
        queues: Vec<Q>,
        burst: usize,
    ) -> WorkerSetup<Q, ForwardStage<B>> {
        WorkerSetup {
            id: self.id,
            queues,
            stage: self.stage,
            snapshot: Arc::new(Snapshot {
                workers: self.workers,
                steer_prefix: 32,
                ..Snapshot::default()
            }),
            updates: self.updates,
            counters: self.counters,
            handoff: self.handoff,
            burst,
        }
    }
}

/// Every worker and every channel to them.
pub struct Fleet<B: PacketBuf> {
    pub tables: WorkerTables,
    /// New snapshots, one channel per worker.
    pub snapshots: Vec<Sender<Arc<Snapshot>>>,
    /// Control-plane commands, one channel per worker.
    pub commands: Vec<Sender<StageCommand>>,
    pub members: Vec<Member<B>>,
}

fn seed(seeds: Seeds, worker: u16) -> u64 {
    match seeds {
        Seeds::Fixed => REPLAY_SEED.wrapping_add(u64::from(worker)),
        Seeds::Random => {
            // std's RandomState is keyed from the OS's random source once per process and
            // stepped per instance: a fresh one hashes to an unpredictable value.
            let mut h = RandomState::new().build_hasher();
            h.write_u16(worker);
            h.finish()
        }
    }
}

/// Builds the workers' stages and the channels and tables between them and the control
/// plane.
pub fn build<B: PacketBuf>(opts: &FleetOptions) -> Result<Fleet<B>, RvsdError> {
    let n = opts.workers.max(1);
    let mut handoffs = handoff_mesh::<B>(usize::from(n), HANDOFF_RING).into_iter();
    let mut neighs = neigh_mesh(usize::from(n), NEIGH_INBOX).into_iter();
    let mut fleet = Fleet {
        tables: WorkerTables {
            counters: Vec::new(),
            slots: Vec::new(),
        },
        snapshots: Vec::new(),
        commands: Vec::new(),
        members: Vec::new(),
    };
    for id in 0..n {
        let mut cfg = FwdConfig::new(id, n);
        cfg.conn.capacity = opts.conn_capacity;
        cfg.conn.hash_seed = seed(opts.seeds, id);
        let slots = Arc::new(SlotTable::new(opts.stats_slots as usize));
        let (cmd_tx, cmd_rx) = crossbeam_channel::bounded(COMMAND_QUEUE);
        let (snap_tx, snap_rx) = crossbeam_channel::bounded(SNAPSHOT_QUEUE);
        let neigh = neighs
            .next()
            .ok_or_else(|| RvsdError::Other("neighbour mesh too small".into()))?;
        let stage = ForwardStage::new(cfg, Arc::clone(&slots), cmd_rx, neigh)
            .map_err(|e| RvsdError::Other(format!("worker {id}: {e}")))?;
        let counters = Arc::new(WorkerCounters::default());
        fleet.tables.counters.push(Arc::clone(&counters));
        fleet.tables.slots.push(slots);
        fleet.snapshots.push(snap_tx);
        fleet.commands.push(cmd_tx);
        fleet.members.push(Member {
            id,
            workers: n,
            stage,
            updates: snap_rx,
            counters,
            handoff: handoffs.next().unwrap_or_else(HandOffEnds::none),
        });
    }
    Ok(fleet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataplane::port::pcap::PcapBuf;

    #[test]
    fn each_worker_gets_its_own_tables_and_channels() {
        let fleet = build::<PcapBuf>(&FleetOptions {
            workers: 3,
            conn_capacity: 64,
            stats_slots: 16,
            seeds: Seeds::Fixed,
        })
        .unwrap();
        assert_eq!(fleet.members.len(), 3);
        assert_eq!(fleet.snapshots.len(), 3);
        assert_eq!(fleet.commands.len(), 3);
        assert_eq!(fleet.tables.slots[2].len(), 16);
        let ids: Vec<u16> = fleet.members.iter().map(|m| m.id).collect();
        assert_eq!(ids, [0, 1, 2]);
        // Counting into worker 1's slot 5 shows in the sum; the ack is the slowest worker's.
        fleet.tables.slots[1].get(5).unwrap().inpkts.add(7);
        fleet.tables.slots[2].get(5).unwrap().inpkts.add(1);
        assert_eq!(fleet.tables.sum(5).inpkts, 8);
        assert_eq!(fleet.tables.sum(99).inpkts, 0);
        fleet.tables.counters[0].snapshot_swaps.add(2);
        fleet.tables.counters[1].snapshot_swaps.add(2);
        assert_eq!(fleet.tables.acknowledged(), 0);
        fleet.tables.counters[2].snapshot_swaps.add(3);
        assert_eq!(fleet.tables.acknowledged(), 2);
    }

    #[test]
    fn seeds_are_fixed_for_replay_and_differ_between_workers() {
        assert_eq!(seed(Seeds::Fixed, 1), seed(Seeds::Fixed, 1));
        assert_ne!(seed(Seeds::Fixed, 1), seed(Seeds::Fixed, 2));
        // Two random seeds colliding has probability 2^-64.
        assert_ne!(seed(Seeds::Random, 0), seed(Seeds::Random, 0));
    }
}
