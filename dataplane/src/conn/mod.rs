//! The per-worker connection table: IPVS's connection entries, persistence templates, TCP
//! state machine and timeouts, in a share-nothing structure one worker owns.
//!
//! # Shape
//! Each worker owns one [`ConnTable`] and calls it through `&mut self`: no locks, no atomics.
//! The table is three preallocated arrays:
//!
//! * a **slab** of 64-byte records (`entry.rs`): client, VIP, real server and FULLNAT local
//!   address/port, forwarding method and tunnel kind, destination and service ids, flags,
//!   the FULLNAT sequence delta, the TCP state and the timer deadline;
//! * an **index** (`index.rs`): one bucket array holding *both* sides of each connection —
//!   the client side (client → VIP) and the reply side (real server → client, or → local
//!   address in FULLNAT) — so one lookup of a packet's 5-tuple answers "which connection,
//!   which direction", plus persistence templates. [`ConnTable::lookup_burst`] looks up a
//!   whole burst with the memory reads of different packets overlapped;
//! * a **timer wheel** (`wheel.rs`) with lazy re-arm: per-packet timer updates are O(1),
//!   and expiry never scans the table.
//!
//! Nothing allocates after [`ConnTable::new`]; a full table refuses new entries and counts
//! the refusal. Memory per entry at capacity is 64 (record) + 8 (timer links) + 8 to 16
//! (buckets: the next power of two ≥ 2 × capacity, 4 bytes each) = 80 to 88 bytes for IPv4,
//! plus 8 bytes per wheel slot (32 KiB at the default 4096); measured by
//! `tests/conn_memory.rs` and the `conn` benchmark (80.0 bytes at a capacity of 2^20).
//!
//! # Time
//! The table never reads a clock: the caller passes `now` in milliseconds (burst time, or
//! capture time in pcap replay), so replays are deterministic. Timers have a granularity
//! ([`ConnTableConfig::tick_ms`]): an entry whose timeout `T` starts at `t` is present for
//! every `now < t + T` and gone once `now ≥ t + T + tick` (given `expire` calls with budget).
//!
//! # IPVS semantics
//! * TCP: the kernel's INPUT / OUTPUT / INPUT-ONLY transition tables (`tcp.rs`); DR and TUN
//!   connections use INPUT-ONLY until a reply is seen. Timeouts per state are the kernel's
//!   ([`Timeouts`]), `ipvsadm --set` overrides ESTABLISHED, FIN_WAIT and UDP.
//! * Active/inactive: a new connection counts as inactive; [`ConnTable::update`] returns an
//!   [`Activity`] when a transition crosses the kernel's active set (ESTABLISHED, SYN_SENT,
//!   SYN_RECV, SYNACK), and expiry reports whether the entry was active, so the caller keeps
//!   the per-destination ActiveConn/InActConn counters that lc/wlc read.
//! * UDP has one state ("UDP", 5 min); ICMP echo is keyed by its identifier in place of
//!   both ports ("ICMP", 1 min).
//! * Persistence templates (`persist.rs`) with IPVS's key rules, control counting, and
//!   re-arm instead of free when a template still controls connections.
//!
//! # IPv6
//! The table is generic over its address type ([`ConnAddr`]); IPv6 is
//! `ConnTable<Ipv6Addr>`, a second table per worker chosen by the packet's family, with
//! the same code (its record is 112 bytes). Connections whose client side and real-server
//! side are of different families are not supported.

mod addr;
mod clock;
mod entry;
mod index;
mod info;
mod key;
mod persist;
mod table;
mod tcp;
mod timeouts;
mod wheel;

pub use addr::ConnAddr;
pub use clock::MAX_SPAN_TICKS;
pub use entry::{ConnFlags, Forward, FwdMethod, TunnelKind};
pub use info::{
    Activity, ConnHandle, ConnInfo, ConnState, ConnTableStats, ExpireSummary, Expiry, Transition,
};
pub use key::{Direction, FlowKey, Proto, TcpFlags};
pub use persist::{
    FTP_PORT, NewTemplate, TEMPLATE_REARM_SECS, TemplateKey, conn_dest_port, template_dest_port,
};
pub use table::{
    ConfigError, ConnError, ConnRef, ConnTable, ConnTableConfig, MAX_CAPACITY, MAX_TICK_MS,
    MAX_WHEEL_SLOTS, MemoryUse, NewConn,
};
pub use tcp::{TcpDir, TcpState, next_state};
pub use timeouts::Timeouts;
