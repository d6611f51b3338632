//! The pure-Rust pcap backend: queue q of a "port" reads its packets from one capture file
//! and writes what it transmits to another, like DPDK's net_pcap with one `rx_pcap` and
//! `tx_pcap` per queue, but without EAL.
//!
//! It exists so that the worker loop can be tested deterministically and in-process: the
//! whole input is read when the queue opens (files are small test captures), RX copies each
//! record into a preallocated buffer with [`HEADROOM`] bytes in front (as an mbuf), the
//! record's capture time is the RX timestamp, and TX appends to the output file.
//! Buffers come from a fixed [`BufPool`] shared by the queues of a test, so RX and alloc
//! never allocate, and a dropped buffer goes back to its pool from any thread.
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_queue::ArrayQueue;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};
use pcap_file::{DataLink, PcapError, TsResolution};

use super::{Burst, HEADROOM, NoRoom, PacketBuf, PortQueue};

/// Bytes of one buffer, headroom included: DPDK's default mbuf data room (128 + 2048).
pub const BUF_SIZE: usize = 2176;

/// One record of a capture: capture time (ns since the epoch) and the frame bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub ts_ns: u64,
    pub data: Vec<u8>,
}

/// Why a capture could not be read. Each says what is wrong with which file.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: cannot open: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: not a pcap file ({reason}); pcapng is not supported, convert with `editcap -F pcap`"
    )]
    NotPcap { path: PathBuf, reason: String },
    #[error("{path}: link type {link} is not Ethernet")]
    NotEthernet { path: PathBuf, link: String },
    #[error("{path}: truncated after {records} complete records ({reason})")]
    Truncated {
        path: PathBuf,
        records: usize,
        reason: String,
    },
    #[error("{path}: the capture holds no packets")]
    Empty { path: PathBuf },
    #[error("{path}: cannot write: {source}")]
    Write { path: PathBuf, source: PcapError },
}

/// Reads every record of a classic pcap file (any byte order, µs or ns timestamps).
/// An empty capture is an error: replaying nothing is never what the caller meant.
pub fn read_capture(path: &Path) -> Result<Vec<Record>, CaptureError> {
    let file = File::open(path).map_err(|source| CaptureError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader =
        PcapReader::new(std::io::BufReader::new(file)).map_err(|e| CaptureError::NotPcap {
            path: path.to_path_buf(),
            reason: match e {
                PcapError::IncompleteBuffer => "shorter than a pcap header".to_string(),
                other => other.to_string(),
            },
        })?;
    let link = reader.header().datalink;
    if link != DataLink::ETHERNET {
        return Err(CaptureError::NotEthernet {
            path: path.to_path_buf(),
            link: format!("{link:?}"),
        });
    }
    let mut records = Vec::new();
    while let Some(packet) = reader.next_packet() {
        let packet = packet.map_err(|e| CaptureError::Truncated {
            path: path.to_path_buf(),
            records: records.len(),
            reason: match e {
                PcapError::IncompleteBuffer => "last record incomplete".to_string(),
                other => other.to_string(),
            },
        })?;
        let ts_ns = u64::try_from(packet.timestamp.as_nanos()).unwrap_or(u64::MAX);
        records.push(Record {
            ts_ns,
            data: packet.data.into_owned(),
        });
    }
    if records.is_empty() {
        return Err(CaptureError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(records)
}

/// A fixed set of packet buffers, shared by the queues that use it.
pub struct BufPool {
    free: ArrayQueue<Box<[u8]>>,
}

impl BufPool {
    /// A pool of `n` buffers of [`BUF_SIZE`] bytes (all allocated now).
    pub fn new(n: usize) -> Arc<BufPool> {
        let free = ArrayQueue::new(n.max(1));
        for _ in 0..n {
            // Cannot fail: the queue has room for exactly n.
            let _ = free.push(vec![0u8; BUF_SIZE].into_boxed_slice());
        }
        Arc::new(BufPool { free })
    }

    /// A fresh buffer with [`HEADROOM`] bytes of headroom and no data.
    pub fn alloc(self: &Arc<Self>) -> Option<PcapBuf> {
        let storage = self.free.pop()?;
        Some(PcapBuf {
            storage,
            start: HEADROOM,
            end: HEADROOM,
            ts: None,
            pool: Arc::clone(self),
        })
    }

    /// Buffers currently in the pool.
    pub fn available(&self) -> usize {
        self.free.len()
    }
}

/// A packet buffer of the pcap backend: `storage[start..end]` is the packet.
pub struct PcapBuf {
    storage: Box<[u8]>,
    start: usize,
    end: usize,
    ts: Option<u64>,
    pool: Arc<BufPool>,
}

impl PcapBuf {
    /// Replaces the contents with `bytes` (headroom reset to [`HEADROOM`]); `NoRoom` when it
    /// does not fit.
    pub fn fill(&mut self, bytes: &[u8], ts: Option<u64>) -> Result<(), NoRoom> {
        let end = HEADROOM + bytes.len();
        let dst = self.storage.get_mut(HEADROOM..end).ok_or(NoRoom {
            op: "fill",
            len: bytes.len(),
        })?;
        dst.copy_from_slice(bytes);
        self.start = HEADROOM;
        self.end = end;
        self.ts = ts;
        Ok(())
    }
}

impl Drop for PcapBuf {
    fn drop(&mut self) {
        let storage = std::mem::take(&mut self.storage);
        // The pool was sized for every buffer it made, so it always has room.
        let _ = self.pool.free.push(storage);
    }
}

impl PacketBuf for PcapBuf {
    fn data(&self) -> &[u8] {
        self.storage.get(self.start..self.end).unwrap_or(&[])
    }

    fn data_mut(&mut self) -> &mut [u8] {
        self.storage
            .get_mut(self.start..self.end)
            .unwrap_or(&mut [])
    }

    fn headroom(&self) -> usize {
        self.start
    }

    fn tailroom(&self) -> usize {
        self.storage.len() - self.end
    }

    fn prepend(&mut self, len: usize) -> Result<&mut [u8], NoRoom> {
        if len > self.start {
            return Err(NoRoom { op: "prepend", len });
        }
        self.start -= len;
        Ok(self.data_mut())
    }

    fn adj(&mut self, len: usize) -> Result<(), NoRoom> {
        if len > self.end - self.start {
            return Err(NoRoom { op: "adj", len });
        }
        self.start += len;
        Ok(())
    }

    fn append(&mut self, len: usize) -> Result<&mut [u8], NoRoom> {
        if len > self.tailroom() {
            return Err(NoRoom { op: "append", len });
        }
        self.end += len;
        Ok(self.data_mut())
    }

    fn trim(&mut self, len: usize) -> Result<(), NoRoom> {
        if len > self.end - self.start {
            return Err(NoRoom { op: "trim", len });
        }
        self.end -= len;
        Ok(())
    }

    fn rx_timestamp(&self) -> Option<u64> {
        self.ts
    }
}

/// Where a pcap queue's transmitted packets go.
enum Sink {
    /// Discarded (counted only).
    Discard,
    /// Written to a pcap file with nanosecond timestamps.
    File {
        path: PathBuf,
        /// `None` once closed (PcapWriter can only be flushed by taking its inner writer).
        writer: Option<PcapWriter<BufWriter<File>>>,
    },
}

/// Queue q of a pcap "port".
pub struct PcapQueue {
    input: Vec<Record>,
    next: usize,
    sink: Sink,
    pool: Arc<BufPool>,
    /// Packets transmitted, and packets the sink failed to take.
    pub tx_packets: u64,
    pub tx_errors: u64,
    /// Records too large for a buffer, skipped as net_pcap does (its `ierrors`).
    pub rx_errors: u64,
    /// The last timestamp seen on RX, stamped on transmitted packets that carry none.
    last_ts: u64,
}

impl PcapQueue {
    /// A queue replaying `input` (already read) and writing to `output` (when given).
    pub fn new(
        input: Vec<Record>,
        output: Option<&Path>,
        pool: Arc<BufPool>,
    ) -> Result<PcapQueue, CaptureError> {
        let sink = match output {
            None => Sink::Discard,
            Some(path) => {
                let file = File::create(path).map_err(|e| CaptureError::Write {
                    path: path.to_path_buf(),
                    source: PcapError::IoError(e),
                })?;
                let header = PcapHeader {
                    ts_resolution: TsResolution::NanoSecond,
                    datalink: DataLink::ETHERNET,
                    snaplen: 65535,
                    ..PcapHeader::default()
                };
                let writer =
                    PcapWriter::with_header(BufWriter::new(file), header).map_err(|source| {
                        CaptureError::Write {
                            path: path.to_path_buf(),
                            source,
                        }
                    })?;
                Sink::File {
                    path: path.to_path_buf(),
                    writer: Some(writer),
                }
            }
        };
        Ok(PcapQueue {
            input,
            next: 0,
            sink,
            pool,
            tx_packets: 0,
            tx_errors: 0,
            rx_errors: 0,
            last_ts: 0,
        })
    }

    /// A queue reading `input` from a file (see [`read_capture`]).
    pub fn open(
        input: &Path,
        output: Option<&Path>,
        pool: Arc<BufPool>,
    ) -> Result<PcapQueue, CaptureError> {
        PcapQueue::new(read_capture(input)?, output, pool)
    }

    /// Whether every input record has been received (or skipped as too large).
    pub fn is_drained(&self) -> bool {
        self.next >= self.input.len()
    }

    /// Flushes and closes the output file (also done on drop, without the error).
    pub fn finish(mut self) -> Result<(), CaptureError> {
        self.close()
    }

    fn close(&mut self) -> Result<(), CaptureError> {
        if let Sink::File { path, writer } = &mut self.sink
            && let Some(writer) = writer.take()
        {
            writer
                .into_writer()
                .flush()
                .map_err(|e| CaptureError::Write {
                    path: path.clone(),
                    source: PcapError::IoError(e),
                })?;
        }
        Ok(())
    }
}

impl Drop for PcapQueue {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

impl PortQueue for PcapQueue {
    type Buf = PcapBuf;

    fn rx_burst(&mut self, out: &mut Burst<PcapBuf>, max: usize) -> usize {
        let mut got = 0;
        while !out.is_full() && got < max {
            let Some(record) = self.input.get(self.next) else {
                break;
            };
            let Some(mut buf) = self.pool.alloc() else {
                break;
            };
            self.next += 1;
            if buf.fill(&record.data, Some(record.ts_ns)).is_err() {
                self.rx_errors += 1;
                continue;
            }
            self.last_ts = record.ts_ns;
            out.push(buf);
            got += 1;
        }
        got
    }

    fn tx_burst(&mut self, bufs: &mut Burst<PcapBuf>) -> usize {
        let n = bufs.len();
        for buf in bufs.drain(..) {
            match &mut self.sink {
                Sink::Discard => self.tx_packets += 1,
                Sink::File { writer: None, .. } => self.tx_errors += 1,
                Sink::File {
                    writer: Some(writer),
                    ..
                } => {
                    let ts = buf.rx_timestamp().unwrap_or(self.last_ts);
                    let data = buf.data();
                    let packet = PcapPacket {
                        timestamp: Duration::from_nanos(ts),
                        orig_len: u32::try_from(data.len()).unwrap_or(u32::MAX),
                        data: Cow::Borrowed(data),
                    };
                    match writer.write_packet(&packet) {
                        Ok(_) => self.tx_packets += 1,
                        Err(_) => self.tx_errors += 1,
                    }
                }
            }
        }
        n
    }

    fn alloc(&mut self) -> Option<PcapBuf> {
        self.pool.alloc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::BURST_MAX;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the file holds, reading it gives records or an error, never a panic;
        /// a valid header followed by garbage is read up to the garbage.
        #[test]
        fn arbitrary_files_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..300),
                                       with_header in any::<bool>()) {
            let path = std::env::temp_dir().join(format!(
                "rvs-pcap-prop-{}-{:?}.pcap",
                std::process::id(),
                std::thread::current().id()
            ));
            let mut bytes = Vec::new();
            if with_header {
                PcapHeader::default().write_to(&mut bytes).unwrap();
            }
            bytes.extend_from_slice(&tail);
            std::fs::write(&path, &bytes).unwrap();
            let result = read_capture(&path);
            std::fs::remove_file(&path).unwrap();
            if let Ok(records) = result {
                prop_assert!(!records.is_empty());
            }
        }
    }

    fn pool() -> Arc<BufPool> {
        BufPool::new(8)
    }

    #[test]
    fn headroom_operations_move_the_window() {
        let pool = pool();
        let mut b = pool.alloc().unwrap();
        b.fill(&[1, 2, 3, 4], Some(7)).unwrap();
        assert_eq!(b.headroom(), HEADROOM);
        assert_eq!(b.tailroom(), BUF_SIZE - HEADROOM - 4);
        let d = b.prepend(2).unwrap();
        d[0] = 9;
        d[1] = 8;
        assert_eq!(b.data(), &[9, 8, 1, 2, 3, 4]);
        b.adj(3).unwrap();
        assert_eq!(b.data(), &[2, 3, 4]);
        b.append(1).unwrap()[3] = 5;
        assert_eq!(b.data(), &[2, 3, 4, 5]);
        b.trim(2).unwrap();
        assert_eq!(b.data(), &[2, 3]);
        assert_eq!(b.rx_timestamp(), Some(7));
        // Refused operations leave the buffer alone.
        assert!(b.prepend(HEADROOM + 10).is_err());
        assert!(b.adj(3).is_err());
        assert!(b.trim(3).is_err());
        assert!(b.append(BUF_SIZE).is_err());
        assert_eq!(b.data(), &[2, 3]);
    }

    #[test]
    fn buffers_return_to_the_pool() {
        let pool = BufPool::new(2);
        let a = pool.alloc().unwrap();
        let b = pool.alloc().unwrap();
        assert!(pool.alloc().is_none());
        drop(a);
        assert_eq!(pool.available(), 1);
        drop(b);
        assert_eq!(pool.available(), 2);
    }

    #[test]
    fn rx_respects_burst_capacity_and_order() {
        let input: Vec<Record> = (0..70u8)
            .map(|i| Record {
                ts_ns: u64::from(i) * 1000,
                data: vec![i; 60],
            })
            .collect();
        let pool = BufPool::new(128);
        let mut q = PcapQueue::new(input, None, pool).unwrap();
        let mut burst = Burst::new();
        assert_eq!(q.rx_burst(&mut burst, BURST_MAX), 64);
        assert_eq!(burst[5].data()[0], 5);
        assert_eq!(burst[5].rx_timestamp(), Some(5000));
        assert!(!q.is_drained());
        burst.clear();
        assert_eq!(q.rx_burst(&mut burst, 4), 4);
        assert_eq!(q.rx_burst(&mut burst, BURST_MAX), 2);
        assert_eq!(burst[0].data()[0], 64);
        assert!(q.is_drained());
        assert_eq!(q.tx_burst(&mut burst), 6);
        assert!(burst.is_empty());
        assert_eq!(q.tx_packets, 6);
    }

    #[test]
    fn oversized_records_are_counted_and_skipped() {
        let input = vec![
            Record {
                ts_ns: 1,
                data: vec![0; BUF_SIZE],
            },
            Record {
                ts_ns: 2,
                data: vec![1; 60],
            },
        ];
        let mut q = PcapQueue::new(input, None, BufPool::new(4)).unwrap();
        let mut burst = Burst::new();
        assert_eq!(q.rx_burst(&mut burst, BURST_MAX), 1);
        assert_eq!(q.rx_errors, 1);
        assert_eq!(burst[0].data(), &[1; 60][..]);
    }

    #[test]
    fn capture_errors_are_specific() {
        let dir = std::env::temp_dir().join(format!("rvs-pcap-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pcap");
        assert!(matches!(
            read_capture(&missing),
            Err(CaptureError::Open { .. })
        ));
        let text = dir.join("text.pcap");
        std::fs::write(&text, b"hello, this is not a capture file at all").unwrap();
        assert!(matches!(
            read_capture(&text),
            Err(CaptureError::NotPcap { .. })
        ));
        // A valid header and one record, then the same file cut inside its second record.
        let good = dir.join("good.pcap");
        {
            let mut w = PcapWriter::new(File::create(&good).unwrap()).unwrap();
            for i in 0..2u8 {
                let data = [i; 60];
                w.write_packet(&PcapPacket::new(Duration::from_secs(1), 60, &data))
                    .unwrap();
            }
        }
        assert_eq!(read_capture(&good).unwrap().len(), 2);
        let bytes = std::fs::read(&good).unwrap();
        let cut = dir.join("cut.pcap");
        std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
        match read_capture(&cut) {
            Err(CaptureError::Truncated { records, .. }) => assert_eq!(records, 1),
            other => panic!("expected Truncated, got {other:?}"),
        }
        let empty = dir.join("empty.pcap");
        std::fs::write(&empty, &bytes[..24]).unwrap();
        assert!(matches!(
            read_capture(&empty),
            Err(CaptureError::Empty { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
