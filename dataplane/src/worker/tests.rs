//! Tests of the loop itself, over an in-memory port and a stage driven by the first bytes
//! of each packet (the real stage has its own tests in `local`).
use super::*;
use crate::port::PacketBuf;
use crate::port::pcap::{BufPool, PcapBuf};
use crate::testutil::MemQueue;

/// Byte 0 chooses the verdict, byte 1 its argument; the stage writes the snapshot
/// generation into byte 2 and the low byte of `now` into byte 3.
#[derive(Default)]
struct ByteStage {
    ticks: Vec<u64>,
}

impl<B: PacketBuf> Stage<B> for ByteStage {
    fn process(&mut self, mut buf: B, ctx: &PacketCtx<'_>, out: &mut Output<'_, B>) {
        let v = byte_verdict(buf.data_mut(), ctx);
        out.push(v, buf);
    }
    fn tick(&mut self, now: u64, _snapshot: &Arc<Snapshot>, _out: &mut Output<'_, B>) {
        self.ticks.push(now);
    }
}

fn byte_verdict(d: &mut [u8], ctx: &PacketCtx<'_>) -> Verdict {
    {
        if d.len() < 4 {
            return Verdict::Drop(DropReason::Truncated);
        }
        d[2] = ctx.snapshot.generation as u8;
        d[3] = ctx.now as u8;
        match d[0] {
            0 => Verdict::Transmit {
                port: u16::from(d[1]),
            },
            1 => Verdict::Drop(DropReason::NotForUs),
            2 if !ctx.handed_off => Verdict::HandOff {
                worker: u16::from(d[1]),
            },
            2 => Verdict::Transmit { port: ctx.port },
            _ => Verdict::ToKernel { port: ctx.port },
        }
    }
}

fn worker(
    id: u16,
    queues: Vec<MemQueue>,
    handoff: HandOffEnds<PcapBuf>,
) -> (
    Worker<MemQueue, ByteStage>,
    crossbeam_channel::Sender<Arc<Snapshot>>,
) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let w = Worker::new(WorkerSetup {
        id,
        queues,
        stage: ByteStage::default(),
        snapshot: Arc::new(Snapshot::default()),
        updates: rx,
        counters: Arc::new(WorkerCounters::default()),
        handoff,
        burst: BURST_MAX,
    });
    (w, tx)
}

#[test]
fn verdicts_route_packets_and_count_drops() {
    let pool = BufPool::new(64);
    let p0 = MemQueue::with_input(
        &pool,
        vec![
            (Some(1), vec![0, 1, 0, 0, 0xaa]), // to port 1
            (Some(2), vec![1, 0, 0, 0]),       // dropped: not_for_us
            (Some(3), vec![0, 0, 0, 0, 0xbb]), // back out of port 0
            (Some(4), vec![0, 9, 0, 0]),       // no such port
            (Some(5), vec![7]),                // truncated
            (Some(6), vec![3, 0, 0, 0]),       // to kernel: none configured
        ],
    );
    let p1 = MemQueue::with_input(&pool, vec![]);
    let (mut w, _tx) = worker(0, vec![p0, p1], HandOffEnds::none());
    assert_eq!(w.poll(), 6);
    let q = w.queues();
    assert_eq!(q[1].out, vec![vec![0, 1, 0, 1, 0xaa]]);
    assert_eq!(q[0].out, vec![vec![0, 0, 0, 3, 0xbb]]);
    let c = w.counters().read();
    assert_eq!(c.rx_packets, 6);
    assert_eq!(c.tx_packets, 2);
    assert_eq!(c.tx_bytes, 10);
    assert_eq!(c.drops(DropReason::NotForUs), 1);
    assert_eq!(c.drops(DropReason::NoSuchPort), 1);
    assert_eq!(c.drops(DropReason::Truncated), 1);
    assert_eq!(c.drops(DropReason::NoKernelPort), 1);
    // Every buffer went back to the pool.
    drop(w);
    assert_eq!(pool.available(), 64);
}

#[test]
fn time_follows_packet_timestamps_and_timers_run_between_bursts() {
    let pool = BufPool::new(8);
    let p0 = MemQueue::with_input(
        &pool,
        vec![
            (Some(1_000), vec![0, 0, 0, 0]),
            (Some(2_005), vec![0, 0, 0, 0]),
        ],
    );
    let (mut w, _tx) = worker(0, vec![p0], HandOffEnds::none());
    w.poll();
    assert_eq!(w.now(), 2_005);
    assert_eq!(w.queues()[0].out[0][3], (1_000u64 & 0xff) as u8);
    assert_eq!(w.queues()[0].out[1][3], (2_005u64 & 0xff) as u8);
    // An idle poll in packet time does not move the clock.
    assert_eq!(w.poll(), 0);
    assert_eq!(w.now(), 2_005);
    assert_eq!(w.stage.ticks, vec![2_005, 2_005]);
}

#[test]
fn a_new_snapshot_applies_from_the_next_poll() {
    let pool = BufPool::new(8);
    let p0 = MemQueue::with_input(&pool, vec![(None, vec![0, 0, 0, 0])]);
    let (mut w, tx) = worker(0, vec![p0], HandOffEnds::none());
    tx.send(Arc::new(Snapshot {
        generation: 5,
        ..Snapshot::default()
    }))
    .unwrap();
    tx.send(Arc::new(Snapshot {
        generation: 6,
        ..Snapshot::default()
    }))
    .unwrap();
    w.poll();
    assert_eq!(w.snapshot().generation, 6);
    assert_eq!(w.queues()[0].out[0][2], 6);
    assert_eq!(w.counters().read().snapshot_swaps, 2);
}

#[test]
fn a_full_tx_queue_keeps_packets_pending_then_drops_on_flush() {
    let pool = BufPool::new(128);
    let input = (0..70).map(|_| (None, vec![0, 0, 0, 0])).collect();
    let mut p0 = MemQueue::with_input(&pool, input);
    p0.tx_room = 0;
    let (mut w, _tx) = worker(0, vec![p0], HandOffEnds::none());
    w.poll();
    w.poll();
    // 64 fit in the pending burst; the others found it full.
    let c = w.counters().read();
    assert_eq!(c.tx_packets, 0);
    assert_eq!(c.drops(DropReason::TxFull), 6);
    w.queues[0].tx_room = 10;
    w.flush(1);
    let c = w.counters().read();
    assert_eq!(c.tx_packets, 10);
    assert_eq!(c.drops(DropReason::TxFull), 6 + 54);
}

#[test]
fn handed_off_packets_are_processed_by_their_owner() {
    let pool = BufPool::new(16);
    let mut ends = handoff_mesh::<PcapBuf>(2, 4).into_iter();
    let (e0, e1) = (ends.next().unwrap(), ends.next().unwrap());
    let a = MemQueue::with_input(&pool, vec![(None, vec![2, 1, 0, 0, 0x11])]);
    let b = MemQueue::with_input(&pool, vec![]);
    let (mut w0, _t0) = worker(0, vec![a], e0);
    let (mut w1, _t1) = worker(1, vec![b], e1);
    w0.poll();
    assert_eq!(w0.counters().read().handoff_out, 1);
    assert!(w0.queues()[0].out.is_empty());
    assert_eq!(w1.poll(), 1);
    assert_eq!(w1.counters().read().handoff_in, 1);
    assert_eq!(w1.queues()[0].out.len(), 1);
    assert_eq!(w1.queues()[0].out[0][4], 0x11);
}
