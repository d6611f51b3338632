//! A pcap queue that holds its input back at a time gate.
//!
//! A scripted replay applies a control request "at" a capture time: every packet captured
//! before it is processed under the old configuration, every packet from it on under the
//! new one. The plain pcap queue hands out records as fast as it is polled; this one stops
//! at the first record whose timestamp reaches the gate, so the replay can drain the
//! workers, apply the request, and open the gate further. Transmission and buffers are the
//! plain pcap queue's (it is wrapped with an empty input), so output files are written
//! exactly as without a gate.
use std::sync::Arc;

use dataplane::port::pcap::{BufPool, PcapBuf, PcapQueue, Record};
use dataplane::port::{Burst, PortQueue};

/// See the module documentation.
pub struct GatedQueue {
    input: Vec<Record>,
    next: usize,
    /// Records at or after this capture time (ns) are held back.
    gate: u64,
    pool: Arc<BufPool>,
    inner: PcapQueue,
    /// Records too large for a buffer, skipped as net_pcap does.
    pub rx_errors: u64,
}

impl GatedQueue {
    /// A queue replaying `input` and transmitting through `inner` (a pcap queue with no
    /// input of its own), initially with the gate open.
    pub fn new(input: Vec<Record>, inner: PcapQueue, pool: Arc<BufPool>) -> GatedQueue {
        GatedQueue {
            input,
            next: 0,
            gate: u64::MAX,
            pool,
            inner,
            rx_errors: 0,
        }
    }

    /// Holds back every record captured at or after `ns`.
    pub fn set_gate(&mut self, ns: u64) {
        self.gate = ns;
    }

    /// Whether every record has been received.
    #[cfg(test)]
    fn is_drained(&self) -> bool {
        self.next >= self.input.len()
    }

    /// Whether the queue has nothing to give until the gate moves (or ever).
    pub fn is_held(&self) -> bool {
        self.input
            .get(self.next)
            .is_none_or(|r| r.ts_ns >= self.gate)
    }

    /// The capture time of the next record.
    pub fn next_ts(&self) -> Option<u64> {
        self.input.get(self.next).map(|r| r.ts_ns)
    }

    /// Completes the output file.
    pub fn finish(self) -> Result<(), dataplane::port::pcap::CaptureError> {
        self.inner.finish()
    }
}

impl PortQueue for GatedQueue {
    type Buf = PcapBuf;

    fn rx_burst(&mut self, out: &mut Burst<PcapBuf>, max: usize) -> usize {
        let mut got = 0;
        while !out.is_full() && got < max {
            let Some(record) = self.input.get(self.next) else {
                break;
            };
            if record.ts_ns >= self.gate {
                break;
            }
            let Some(mut buf) = self.pool.alloc() else {
                break;
            };
            self.next += 1;
            if buf.fill(&record.data, Some(record.ts_ns)).is_err() {
                self.rx_errors += 1;
                continue;
            }
            out.push(buf);
            got += 1;
        }
        got
    }

    fn tx_burst(&mut self, bufs: &mut Burst<PcapBuf>) -> usize {
        self.inner.tx_burst(bufs)
    }

    fn alloc(&mut self) -> Option<PcapBuf> {
        self.inner.alloc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataplane::port::PacketBuf;

    fn rec(ts: u64, byte: u8) -> Record {
        Record {
            ts_ns: ts,
            data: vec![byte; 60],
        }
    }

    #[test]
    fn records_stop_at_the_gate_and_resume_when_it_moves() {
        let pool = BufPool::new(16);
        let inner = PcapQueue::new(Vec::new(), None, Arc::clone(&pool)).unwrap();
        let mut q = GatedQueue::new(vec![rec(10, 1), rec(20, 2), rec(30, 3)], inner, pool);
        q.set_gate(20);
        let mut burst = Burst::new();
        assert_eq!(q.rx_burst(&mut burst, 32), 1);
        assert_eq!(burst[0].data()[0], 1);
        assert!(q.is_held());
        assert_eq!(q.next_ts(), Some(20));
        assert_eq!(q.rx_burst(&mut burst, 32), 0);
        q.set_gate(u64::MAX);
        assert!(!q.is_held());
        assert_eq!(q.rx_burst(&mut burst, 1), 1);
        assert_eq!(q.rx_burst(&mut burst, 32), 1);
        assert_eq!(
            burst.iter().map(|b| b.data()[0]).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert!(q.is_drained() && q.is_held());
        assert_eq!(burst[2].rx_timestamp(), Some(30));
    }
}
