//! Per-worker counters.
//!
//! Each worker owns one [`WorkerCounters`], cache-line aligned so two workers never share
//! a line. Every counter has exactly one writer (its worker), so an increment is a relaxed
//! load and store rather than a locked read-modify-write; the control thread reads them with
//! relaxed loads and may see a value a few packets old, never a torn one.
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a packet was dropped. Each reason is one counter with a stable name (used in
/// statistics output and tests; never rename one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum DropReason {
    /// Shorter than the headers its type announces (Ethernet, ARP, IPv4, ICMP).
    Truncated,
    /// Neither ARP nor IPv4 (IPv6, LLDP, unknown EtherTypes; VLAN tags are not yet handled).
    NotIpv4,
    /// An ARP packet that is not Ethernet/IPv4 or has an unknown operation.
    ArpMalformed,
    /// An ARP request for an address that is not the director's.
    ArpNotOurs,
    /// An ARP reply or gratuitous ARP (the neighbour table will learn from these).
    ArpNotRequest,
    /// An IPv4 header that fails validation (version, header length, checksum, length).
    Ipv4Malformed,
    /// A fragment (rvs does not reassemble).
    Ipv4Fragment,
    /// IPv4 to an address that is neither the director's nor (later) a virtual service.
    NotForUs,
    /// ICMP to the director that is not an echo request.
    IcmpNotEcho,
    /// ICMP with a bad checksum or length.
    IcmpMalformed,
    /// Another IP protocol to the director's own address (TCP/UDP go to the kernel port
    /// once it exists).
    LocalProtoUnhandled,
    /// The verdict named a port or worker that does not exist.
    NoSuchPort,
    /// The TX queue stayed full.
    TxFull,
    /// The hand-off ring to another worker was full.
    HandOffFull,
    /// Meant for the kernel-side port, which is not configured.
    NoKernelPort,
    /// A stage produced more buffers in one call than the worker takes.
    OutputFull,
    /// A handed-off packet that its new worker wanted to hand off again.
    HandOffLoop,
    /// A TCP/UDP header that fails validation.
    L4Malformed,
    /// An IP protocol the director does not forward (to a VIP).
    ProtoUnhandled,
    /// To a VIP, but no virtual service matches its protocol and port.
    NoService,
    /// The service has no available real server (all quiescent, overloaded or none).
    NoDest,
    /// A TCP segment without SYN that matches no connection (IPVS drops these).
    TcpNoSyn,
    /// To a FULLNAT local address, matching no connection.
    NoConn,
    /// The connection table is full: a new connection was refused.
    ConnTableFull,
    /// A FULLNAT service without local addresses.
    NoLocalAddr,
    /// Every local port of the service's local addresses is in use on this worker.
    NoLocalPort,
    /// No route to the destination.
    NoRoute,
    /// The next hop is being resolved and already holds as many packets as it may.
    NeighHoldFull,
    /// The next hop does not answer ARP.
    NeighFailed,
    /// No room in the neighbour table for a new next hop.
    NeighTableFull,
    /// The packet pool was empty when a packet had to be built.
    NoBuffer,
    /// A real server's reply of a DR/TUN connection reached the director.
    UnexpectedReply,
    /// An ICMP error that quotes no known connection.
    IcmpUntranslated,
    /// Too big for the outgoing port's MTU once encapsulated, and cannot be fragmented.
    TooBig,
    /// An ICMP error whose quote is not an IPv4 header followed by 8 bytes of its payload.
    IcmpEmbeddedMalformed,
    /// Fragmentation needed about an encapsulated packet whose client packet allows
    /// fragmentation: the client does no path MTU discovery, nothing to tell it (IPVS
    /// consumes these too).
    IcmpPmtuNoDf,
    /// TUN: too big for the tunnel with DF set; the client was sent ICMP
    /// fragmentation-needed with the usable MTU (as IPVS does).
    TunFragNeeded,
    /// TUN: the egress port's MTU minus the tunnel overhead is below 68 (IPVS refuses
    /// such a route).
    TunMtuTooSmall,
    /// TUN: the egress port has no IPv4 address to use as the tunnel source.
    TunNoSource,
    /// TUN: the buffer lacks the headroom for the tunnel headers.
    TunNoHeadroom,
    /// FULLNAT with PROXY protocol: a UDP datagram (or a TCP segment, even with its data
    /// left for the client to retransmit) has no room for the PROXY header — tailroom or
    /// the outgoing port's MTU.
    ProxyNoRoom,
    /// A forwarded packet whose TTL expired; the sender was told (ICMP time exceeded)
    /// unless RFC 1122 forbids it (the packet is an ICMP error, a non-first fragment, or
    /// from a multicast or broadcast source).
    TtlExceeded,
}

impl DropReason {
    /// Number of reasons (size of the counter array).
    pub const COUNT: usize = Self::ALL.len();

    /// Every reason, in counter order.
    pub const ALL: &[DropReason] = &[
        DropReason::Truncated,
        DropReason::NotIpv4,
        DropReason::ArpMalformed,
        DropReason::ArpNotOurs,
        DropReason::ArpNotRequest,
        DropReason::Ipv4Malformed,
        DropReason::Ipv4Fragment,
        DropReason::NotForUs,
        DropReason::IcmpNotEcho,
        DropReason::IcmpMalformed,
        DropReason::LocalProtoUnhandled,
        DropReason::NoSuchPort,
        DropReason::TxFull,
        DropReason::HandOffFull,
        DropReason::NoKernelPort,
        DropReason::OutputFull,
        DropReason::HandOffLoop,
        DropReason::L4Malformed,
        DropReason::ProtoUnhandled,
        DropReason::NoService,
        DropReason::NoDest,
        DropReason::TcpNoSyn,
        DropReason::NoConn,
        DropReason::ConnTableFull,
        DropReason::NoLocalAddr,
        DropReason::NoLocalPort,
        DropReason::NoRoute,
        DropReason::NeighHoldFull,
        DropReason::NeighFailed,
        DropReason::NeighTableFull,
        DropReason::NoBuffer,
        DropReason::UnexpectedReply,
        DropReason::IcmpUntranslated,
        DropReason::TooBig,
        DropReason::IcmpEmbeddedMalformed,
        DropReason::IcmpPmtuNoDf,
        DropReason::TunFragNeeded,
        DropReason::TunMtuTooSmall,
        DropReason::TunNoSource,
        DropReason::TunNoHeadroom,
        DropReason::ProxyNoRoom,
        DropReason::TtlExceeded,
    ];

    /// The stable name.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Truncated => "truncated",
            DropReason::NotIpv4 => "not_ipv4",
            DropReason::ArpMalformed => "arp_malformed",
            DropReason::ArpNotOurs => "arp_not_ours",
            DropReason::ArpNotRequest => "arp_not_request",
            DropReason::Ipv4Malformed => "ipv4_malformed",
            DropReason::Ipv4Fragment => "ipv4_fragment",
            DropReason::NotForUs => "not_for_us",
            DropReason::IcmpNotEcho => "icmp_not_echo",
            DropReason::IcmpMalformed => "icmp_malformed",
            DropReason::LocalProtoUnhandled => "local_proto_unhandled",
            DropReason::NoSuchPort => "no_such_port",
            DropReason::TxFull => "tx_full",
            DropReason::HandOffFull => "handoff_full",
            DropReason::NoKernelPort => "no_kernel_port",
            DropReason::OutputFull => "output_full",
            DropReason::HandOffLoop => "handoff_loop",
            DropReason::L4Malformed => "l4_malformed",
            DropReason::ProtoUnhandled => "proto_unhandled",
            DropReason::NoService => "no_service",
            DropReason::NoDest => "no_dest",
            DropReason::TcpNoSyn => "tcp_no_syn",
            DropReason::NoConn => "no_conn",
            DropReason::ConnTableFull => "conn_table_full",
            DropReason::NoLocalAddr => "no_local_addr",
            DropReason::NoLocalPort => "no_local_port",
            DropReason::NoRoute => "no_route",
            DropReason::NeighHoldFull => "neigh_hold_full",
            DropReason::NeighFailed => "neigh_failed",
            DropReason::NeighTableFull => "neigh_table_full",
            DropReason::NoBuffer => "no_buffer",
            DropReason::UnexpectedReply => "unexpected_reply",
            DropReason::IcmpUntranslated => "icmp_untranslated",
            DropReason::TooBig => "too_big",
            DropReason::IcmpEmbeddedMalformed => "icmp_embedded_malformed",
            DropReason::IcmpPmtuNoDf => "icmp_pmtu_no_df",
            DropReason::TunFragNeeded => "tun_frag_needed",
            DropReason::TunMtuTooSmall => "tun_mtu_too_small",
            DropReason::TunNoSource => "tun_no_source",
            DropReason::TunNoHeadroom => "tun_no_headroom",
            DropReason::ProxyNoRoom => "proxy_no_room",
            DropReason::TtlExceeded => "ttl_exceeded",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One single-writer counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Only the owning worker calls this (single writer), hence load + store.
    #[inline(always)]
    pub fn add(&self, n: u64) {
        let v = self.0.load(Ordering::Relaxed);
        self.0.store(v.wrapping_add(n), Ordering::Relaxed);
    }

    #[inline(always)]
    pub fn inc(&self) {
        self.add(1);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The counters of one worker.
#[derive(Debug)]
#[repr(align(64))]
pub struct WorkerCounters {
    pub rx_packets: Counter,
    pub rx_bytes: Counter,
    pub tx_packets: Counter,
    pub tx_bytes: Counter,
    /// ARP replies the director sent for its own addresses.
    pub arp_replies: Counter,
    /// ICMP echo replies the director sent.
    pub icmp_echo_replies: Counter,
    /// ARP requests and gratuitous ARPs the dataplane sent.
    pub arp_requests: Counter,
    pub garps: Counter,
    /// Packets held while their next hop was being resolved.
    pub neigh_held: Counter,
    /// Packets passed to the kernel-side port.
    pub to_kernel: Counter,
    /// Packets the kernel sent out through the kernel-side port.
    pub from_kernel: Counter,
    /// Packets handed to / received from other workers.
    pub handoff_out: Counter,
    pub handoff_in: Counter,
    /// Polls that received something, and polls that received nothing.
    pub busy_polls: Counter,
    pub idle_polls: Counter,
    /// New snapshots taken.
    pub snapshot_swaps: Counter,
    /// FULLNAT client-address delivery (see `fwd::caddr`): TOA options inserted; packets
    /// sent on without TOA because it did not fit (60-byte TCP header, tailroom, MTU);
    /// PROXY headers inserted (retransmissions included); PROXY headers sent alone in
    /// place of a client segment too big to carry them (the client retransmits its data).
    pub toa_added: Counter,
    pub toa_skipped: Counter,
    pub proxy_added: Counter,
    pub proxy_alone: Counter,
    drops: [Counter; DropReason::COUNT],
}

impl Default for WorkerCounters {
    fn default() -> Self {
        WorkerCounters {
            rx_packets: Counter::default(),
            rx_bytes: Counter::default(),
            tx_packets: Counter::default(),
            tx_bytes: Counter::default(),
            arp_replies: Counter::default(),
            icmp_echo_replies: Counter::default(),
            arp_requests: Counter::default(),
            garps: Counter::default(),
            neigh_held: Counter::default(),
            to_kernel: Counter::default(),
            from_kernel: Counter::default(),
            handoff_out: Counter::default(),
            handoff_in: Counter::default(),
            busy_polls: Counter::default(),
            idle_polls: Counter::default(),
            snapshot_swaps: Counter::default(),
            toa_added: Counter::default(),
            toa_skipped: Counter::default(),
            proxy_added: Counter::default(),
            proxy_alone: Counter::default(),
            drops: std::array::from_fn(|_| Counter::default()),
        }
    }
}

impl WorkerCounters {
    #[inline(always)]
    pub fn drop_packet(&self, reason: DropReason) {
        if let Some(c) = self.drops.get(reason.index()) {
            c.inc();
        }
    }

    pub fn drops(&self, reason: DropReason) -> u64 {
        self.drops.get(reason.index()).map_or(0, Counter::get)
    }

    /// A plain copy for reporting.
    pub fn read(&self) -> CounterValues {
        let mut drops = [0u64; DropReason::COUNT];
        for (d, c) in drops.iter_mut().zip(self.drops.iter()) {
            *d = c.get();
        }
        CounterValues {
            rx_packets: self.rx_packets.get(),
            rx_bytes: self.rx_bytes.get(),
            tx_packets: self.tx_packets.get(),
            tx_bytes: self.tx_bytes.get(),
            arp_replies: self.arp_replies.get(),
            icmp_echo_replies: self.icmp_echo_replies.get(),
            arp_requests: self.arp_requests.get(),
            garps: self.garps.get(),
            neigh_held: self.neigh_held.get(),
            to_kernel: self.to_kernel.get(),
            from_kernel: self.from_kernel.get(),
            handoff_out: self.handoff_out.get(),
            handoff_in: self.handoff_in.get(),
            busy_polls: self.busy_polls.get(),
            idle_polls: self.idle_polls.get(),
            snapshot_swaps: self.snapshot_swaps.get(),
            toa_added: self.toa_added.get(),
            toa_skipped: self.toa_skipped.get(),
            proxy_added: self.proxy_added.get(),
            proxy_alone: self.proxy_alone.get(),
            drops,
        }
    }
}

/// Counter values at one moment (one worker, or a sum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterValues {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub arp_replies: u64,
    pub icmp_echo_replies: u64,
    pub arp_requests: u64,
    pub garps: u64,
    pub neigh_held: u64,
    pub to_kernel: u64,
    pub from_kernel: u64,
    pub handoff_out: u64,
    pub handoff_in: u64,
    pub busy_polls: u64,
    pub idle_polls: u64,
    pub snapshot_swaps: u64,
    pub toa_added: u64,
    pub toa_skipped: u64,
    pub proxy_added: u64,
    pub proxy_alone: u64,
    pub drops: [u64; DropReason::COUNT],
}

impl Default for CounterValues {
    fn default() -> Self {
        CounterValues {
            rx_packets: 0,
            rx_bytes: 0,
            tx_packets: 0,
            tx_bytes: 0,
            arp_replies: 0,
            icmp_echo_replies: 0,
            arp_requests: 0,
            garps: 0,
            neigh_held: 0,
            to_kernel: 0,
            from_kernel: 0,
            handoff_out: 0,
            handoff_in: 0,
            busy_polls: 0,
            idle_polls: 0,
            snapshot_swaps: 0,
            toa_added: 0,
            toa_skipped: 0,
            proxy_added: 0,
            proxy_alone: 0,
            drops: [0; DropReason::COUNT],
        }
    }
}

impl CounterValues {
    pub fn drops(&self, reason: DropReason) -> u64 {
        self.drops.get(reason.index()).copied().unwrap_or(0)
    }

    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }

    /// Adds another worker's values.
    pub fn accumulate(&mut self, o: &CounterValues) {
        self.rx_packets += o.rx_packets;
        self.rx_bytes += o.rx_bytes;
        self.tx_packets += o.tx_packets;
        self.tx_bytes += o.tx_bytes;
        self.arp_replies += o.arp_replies;
        self.icmp_echo_replies += o.icmp_echo_replies;
        self.arp_requests += o.arp_requests;
        self.garps += o.garps;
        self.neigh_held += o.neigh_held;
        self.to_kernel += o.to_kernel;
        self.from_kernel += o.from_kernel;
        self.handoff_out += o.handoff_out;
        self.handoff_in += o.handoff_in;
        self.busy_polls += o.busy_polls;
        self.idle_polls += o.idle_polls;
        self.snapshot_swaps += o.snapshot_swaps;
        self.toa_added += o.toa_added;
        self.toa_skipped += o.toa_skipped;
        self.proxy_added += o.proxy_added;
        self.proxy_alone += o.proxy_alone;
        for (a, b) in self.drops.iter_mut().zip(o.drops.iter()) {
            *a += b;
        }
    }

    /// `name value` lines: the packet counters, then every non-zero drop as `drop.<name>`.
    pub fn lines(&self) -> Vec<(String, u64)> {
        let mut out = vec![
            ("rx_packets".to_string(), self.rx_packets),
            ("rx_bytes".to_string(), self.rx_bytes),
            ("tx_packets".to_string(), self.tx_packets),
            ("tx_bytes".to_string(), self.tx_bytes),
            ("arp_replies".to_string(), self.arp_replies),
            ("icmp_echo_replies".to_string(), self.icmp_echo_replies),
            ("arp_requests".to_string(), self.arp_requests),
            ("garps".to_string(), self.garps),
            ("neigh_held".to_string(), self.neigh_held),
            ("to_kernel".to_string(), self.to_kernel),
            ("from_kernel".to_string(), self.from_kernel),
            ("handoff_out".to_string(), self.handoff_out),
            ("handoff_in".to_string(), self.handoff_in),
            ("toa_added".to_string(), self.toa_added),
            ("toa_skipped".to_string(), self.toa_skipped),
            ("proxy_added".to_string(), self.proxy_added),
            ("proxy_alone".to_string(), self.proxy_alone),
        ];
        for r in DropReason::ALL {
            let v = self.drops(*r);
            if v != 0 {
                out.push((format!("drop.{}", r.name()), v));
            }
        }
        out
    }
}

/// A gauge: a value its one writer sets (connection counts), read by the control thread.
#[derive(Debug, Default)]
pub struct Gauge(AtomicU64);

impl Gauge {
    #[inline(always)]
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The counters of one virtual service or one real server on one worker: what `ipvsadm
/// -L --stats` shows, plus the connection counts `-L` shows. One cache line.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct SlotCounters {
    /// Connections scheduled.
    pub conns: Counter,
    /// Packets and bytes client → real server ("in") and back ("out").
    pub inpkts: Counter,
    pub outpkts: Counter,
    pub inbytes: Counter,
    pub outbytes: Counter,
    /// Connections counted active / inactive by IPVS's rules, and persistence templates.
    pub active: Gauge,
    pub inactive: Gauge,
    pub persist: Gauge,
}

/// A plain copy of a [`SlotCounters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlotValues {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
    pub active: u64,
    pub inactive: u64,
    pub persist: u64,
}

impl SlotValues {
    /// Adds another worker's values.
    pub fn accumulate(&mut self, o: &SlotValues) {
        self.conns += o.conns;
        self.inpkts += o.inpkts;
        self.outpkts += o.outpkts;
        self.inbytes += o.inbytes;
        self.outbytes += o.outbytes;
        self.active += o.active;
        self.inactive += o.inactive;
        self.persist += o.persist;
    }
}

impl SlotCounters {
    pub fn read(&self) -> SlotValues {
        SlotValues {
            conns: self.conns.get(),
            inpkts: self.inpkts.get(),
            outpkts: self.outpkts.get(),
            inbytes: self.inbytes.get(),
            outbytes: self.outbytes.get(),
            active: self.active.get(),
            inactive: self.inactive.get(),
            persist: self.persist.get(),
        }
    }
}

/// One worker's per-service and per-real-server counters, indexed by the statistics slot
/// the control plane assigns each service and real server (see
/// [`crate::worker::ServiceConf::stats_slot`]). Preallocated; the control plane never
/// reuses a slot while a worker may still count into it, and subtracts a baseline instead
/// of zeroing (`ipvsadm -Z`), since only the worker writes.
#[derive(Debug)]
pub struct SlotTable {
    slots: Box<[SlotCounters]>,
}

impl SlotTable {
    pub fn new(slots: usize) -> SlotTable {
        SlotTable {
            slots: (0..slots).map(|_| SlotCounters::default()).collect(),
        }
    }

    #[inline(always)]
    pub fn get(&self, slot: u32) -> Option<&SlotCounters> {
        self.slots.get(slot as usize)
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_have_unique_stable_names_in_index_order() {
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
        assert_eq!(DropReason::ArpNotOurs.name(), "arp_not_ours");
        assert_eq!(DropReason::NotForUs.name(), "not_for_us");
    }

    #[test]
    fn counters_count_and_sum() {
        let c = WorkerCounters::default();
        c.rx_packets.add(3);
        c.drop_packet(DropReason::Truncated);
        c.drop_packet(DropReason::Truncated);
        c.drop_packet(DropReason::NotForUs);
        let v = c.read();
        assert_eq!(v.rx_packets, 3);
        assert_eq!(v.drops(DropReason::Truncated), 2);
        assert_eq!(v.total_drops(), 3);
        let mut sum = CounterValues::default();
        sum.accumulate(&v);
        sum.accumulate(&v);
        assert_eq!(sum.drops(DropReason::NotForUs), 2);
        assert_eq!(std::mem::align_of::<WorkerCounters>(), 64);
        assert!(sum.lines().contains(&("drop.truncated".to_string(), 4)));
    }
}
