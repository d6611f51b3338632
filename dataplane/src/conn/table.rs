//! The connection table of one worker: slab + index + timer wheel, with IPVS semantics.
//!
//! Everything is allocated in [`ConnTable::new`]: the slab of `capacity` records, the bucket
//! array and the wheel's links. Nothing on the per-packet path allocates, locks or reads a
//! clock; the caller passes `now` in milliseconds. Time is expected not to go backwards (a
//! step back only delays expiry).

use super::addr::ConnAddr;
use super::clock::{Clock, Span, tick_le};
use super::entry::{
    ConnFlags, Entry, F_INACTIVE, F_INVALID, F_NO_OUTPUT, F_TEMPLATE, Forward, FwdMethod,
    TunnelKind,
};
use super::index::{Index, node};
use super::info::{
    Activity, ConnHandle, ConnInfo, ConnState, ConnTableStats, ExpireSummary, Expiry, Transition,
};
use super::key::{Direction, FlowKey, Proto, TcpFlags};
use super::persist::{NewTemplate, TEMPLATE_REARM_SECS, TemplateKey};
use super::tcp::{TCP_STATE_COUNT, TcpDir, TcpState, next_state};
use super::timeouts::Timeouts;
use super::wheel::{NIL, Wheel};

/// Largest capacity: chain nodes use one bit of a `u32` for the side, and the wheel numbers
/// its sentinels after the entries.
pub const MAX_CAPACITY: u32 = 1 << 30;
/// Largest wheel.
pub const MAX_WHEEL_SLOTS: u32 = 1 << 24;
/// Longest tick.
pub const MAX_TICK_MS: u32 = 60_000;

/// Construction parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnTableConfig {
    /// Entries (connections and templates) the table holds; beyond it inserts are refused.
    pub capacity: u32,
    /// Timer granularity: an entry expires at most this much after its timeout.
    pub tick_ms: u32,
    /// Slots of the timer wheel (a power of two); `slots × tick_ms` is the horizon beyond
    /// which timers are parked and re-filed.
    pub wheel_slots: u32,
    /// Key of the index hash; the control plane picks a random one per worker.
    pub hash_seed: u64,
    pub timeouts: Timeouts,
}

impl Default for ConnTableConfig {
    fn default() -> Self {
        ConnTableConfig {
            capacity: 1 << 20,
            tick_ms: 100,
            wheel_slots: 4096,
            hash_seed: 0,
            timeouts: Timeouts::default(),
        }
    }
}

/// A configuration the table cannot be built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("connection table capacity must be between 1 and {MAX_CAPACITY}, not {0}")]
    Capacity(u32),
    #[error("timer tick must be between 1 and {MAX_TICK_MS} ms, not {0}")]
    Tick(u32),
    #[error("timer wheel slots must be a power of two between 1 and {MAX_WHEEL_SLOTS}, not {0}")]
    WheelSlots(u32),
}

/// Why a table operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConnError {
    #[error("connection table full")]
    Full,
    #[error("an entry with this key exists")]
    Exists,
    #[error("no live entry at this handle")]
    StaleHandle,
    #[error("the entry is a persistence template")]
    IsTemplate,
    #[error("the entry is not a persistence template")]
    NotTemplate,
    #[error("the template still controls connections")]
    TemplateInUse,
}

/// Heap bytes of a table, by part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUse {
    /// The records.
    pub slab: usize,
    /// The bucket array.
    pub index: usize,
    /// The timer links (per record, plus one sentinel per slot).
    pub wheel: usize,
}

impl MemoryUse {
    pub fn total(&self) -> usize {
        self.slab + self.index + self.wheel
    }
}

/// A connection to insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewConn<A> {
    pub proto: Proto,
    pub caddr: A,
    pub cport: u16,
    pub vaddr: A,
    pub vport: u16,
    pub raddr: A,
    pub rport: u16,
    pub forward: Forward<A>,
    pub dest_id: u32,
    pub svc_id: u32,
    pub flags: ConnFlags,
    /// The persistence template this connection is created under.
    pub control: Option<ConnHandle>,
}

/// Timeouts pre-split into ticks (see `clock`).
#[derive(Debug, Clone, Copy)]
struct Spans {
    tcp: [Span; TCP_STATE_COUNT],
    udp: Span,
    icmp: Span,
}

impl Spans {
    fn new(clock: &Clock, t: &Timeouts) -> Spans {
        let mut tcp = [Span::default(); TCP_STATE_COUNT];
        for (span, secs) in tcp.iter_mut().zip(t.tcp.iter()) {
            *span = clock.span_secs(*secs);
        }
        Spans {
            tcp,
            udp: clock.span_secs(t.udp),
            icmp: clock.span_secs(t.icmp),
        }
    }

    #[inline]
    fn of(&self, proto: Proto, state: TcpState) -> Span {
        match proto {
            // In range: TcpState discriminants are 0..TCP_STATE_COUNT.
            Proto::Tcp => self.tcp[state.index()],
            Proto::Udp => self.udp,
            Proto::Icmp => self.icmp,
        }
    }
}

/// A read-only view of one connection, for the forwarder.
#[derive(Debug, Clone, Copy)]
pub struct ConnRef<'a, A> {
    e: &'a Entry<A>,
}

impl<'a, A: ConnAddr> ConnRef<'a, A> {
    pub fn proto(&self) -> Proto {
        self.e.proto.unwrap_or(Proto::Tcp)
    }
    pub fn client(&self) -> (A, u16) {
        (self.e.caddr, self.e.cport)
    }
    pub fn virtual_addr(&self) -> (A, u16) {
        (self.e.vaddr, self.e.vport)
    }
    pub fn real_server(&self) -> (A, u16) {
        (self.e.raddr, self.e.rport)
    }
    /// FULLNAT local address and port.
    pub fn local(&self) -> Option<(A, u16)> {
        match self.e.method() {
            FwdMethod::FullNat => Some((self.e.laddr, self.e.lport)),
            _ => None,
        }
    }
    pub fn forward(&self) -> Forward<A> {
        self.e.forward()
    }
    pub fn method(&self) -> FwdMethod {
        self.e.method()
    }
    pub fn tunnel(&self) -> Option<TunnelKind> {
        self.e.tunnel()
    }
    pub fn dest_id(&self) -> u32 {
        self.e.dest_id
    }
    pub fn svc_id(&self) -> u32 {
        self.e.svc_id
    }
    pub fn seq_delta(&self) -> u32 {
        self.e.seq_delta
    }
    pub fn flags(&self) -> ConnFlags {
        self.e.flags
    }
    pub fn is_template(&self) -> bool {
        self.e.is_template()
    }
    pub fn state(&self) -> ConnState {
        state_of(self.e)
    }
    /// Counted in ActiveConn.
    pub fn is_active(&self) -> bool {
        !self.e.is_template() && !self.e.has(F_INACTIVE)
    }
    /// Templates: connections controlled.
    pub fn n_control(&self) -> u32 {
        self.e.n_control
    }
}

fn state_of<A>(e: &Entry<A>) -> ConnState {
    match e.proto {
        Some(Proto::Udp) => ConnState::Udp,
        Some(Proto::Icmp) => ConnState::Icmp,
        _ => ConnState::Tcp(e.tcp_state),
    }
}

/// The per-worker connection table. See the module documentation of [`super`].
#[derive(Debug, Clone)]
pub struct ConnTable<A> {
    slab: Vec<Entry<A>>,
    free_head: u32,
    index: Index,
    wheel: Wheel,
    clock: Clock,
    timeouts: Timeouts,
    spans: Spans,
    stats: ConnTableStats,
}

impl<A: ConnAddr> ConnTable<A> {
    /// Builds a table and allocates everything it will ever use.
    pub fn new(cfg: &ConnTableConfig) -> Result<Self, ConfigError> {
        if cfg.capacity == 0 || cfg.capacity > MAX_CAPACITY {
            return Err(ConfigError::Capacity(cfg.capacity));
        }
        if cfg.tick_ms == 0 || cfg.tick_ms > MAX_TICK_MS {
            return Err(ConfigError::Tick(cfg.tick_ms));
        }
        if !cfg.wheel_slots.is_power_of_two() || cfg.wheel_slots > MAX_WHEEL_SLOTS {
            return Err(ConfigError::WheelSlots(cfg.wheel_slots));
        }
        let cap = cfg.capacity;
        let mut slab = Vec::with_capacity(cap as usize);
        for i in 0..cap {
            let next = if i + 1 < cap { i + 1 } else { NIL };
            slab.push(Entry::vacant(next));
        }
        let clock = Clock::new(cfg.tick_ms);
        let spans = Spans::new(&clock, &cfg.timeouts);
        Ok(ConnTable {
            slab,
            free_head: 0,
            index: Index::new(cap, cfg.hash_seed),
            wheel: Wheel::new(cap, cfg.wheel_slots),
            clock,
            timeouts: cfg.timeouts,
            spans,
            stats: ConnTableStats::default(),
        })
    }

    pub fn capacity(&self) -> u32 {
        // The slab never grows past the configured capacity, a u32.
        self.slab.len() as u32
    }

    /// Live entries, templates included.
    pub fn len(&self) -> u32 {
        self.stats.conns + self.stats.templates
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn stats(&self) -> &ConnTableStats {
        &self.stats
    }

    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    /// Replaces the timeouts (`ipvsadm --set`). Like IPVS, running connections keep their
    /// current timer and pick up the new value at their next packet.
    pub fn set_timeouts(&mut self, timeouts: Timeouts) {
        self.timeouts = timeouts;
        self.spans = Spans::new(&self.clock, &timeouts);
    }

    /// The timer granularity in milliseconds.
    pub fn tick_ms(&self) -> u32 {
        self.clock.tick_ms()
    }

    /// Heap bytes held by the slab, the index and the wheel: all the memory the table uses.
    pub fn memory(&self) -> MemoryUse {
        MemoryUse {
            slab: self.slab.capacity() * core::mem::size_of::<Entry<A>>(),
            index: self.index.memory_bytes(),
            wheel: self.wheel.memory_bytes(),
        }
    }

    /// Total of [`Self::memory`].
    pub fn memory_bytes(&self) -> usize {
        self.memory().total()
    }

    /// [`Self::memory_bytes`] per entry of capacity.
    pub fn bytes_per_entry(&self) -> f64 {
        self.memory_bytes() as f64 / f64::from(self.capacity())
    }

    #[inline]
    fn entry(&self, h: ConnHandle) -> Result<&Entry<A>, ConnError> {
        match self.slab.get(h.0 as usize) {
            Some(e) if e.is_live() => Ok(e),
            _ => Err(ConnError::StaleHandle),
        }
    }

    #[inline]
    fn entry_mut(&mut self, h: ConnHandle) -> Result<&mut Entry<A>, ConnError> {
        match self.slab.get_mut(h.0 as usize) {
            Some(e) if e.is_live() => Ok(e),
            _ => Err(ConnError::StaleHandle),
        }
    }

    /// The entry behind a handle.
    pub fn get(&self, h: ConnHandle) -> Option<ConnRef<'_, A>> {
        self.entry(h).ok().map(|e| ConnRef { e })
    }

    /// Whether the entry's timeout has run out at `now_ms` although its timer has not been
    /// run yet (timers run between bursts; a packet may arrive first). IPVS would no
    /// longer find such an entry: the caller removes it ([`ConnTable::remove`]) and treats
    /// the packet as a new flow. A template that still controls connections is never
    /// expired this way (IPVS re-arms it instead).
    pub fn is_expired(&self, h: ConnHandle, now_ms: u64) -> bool {
        match self.entry(h) {
            Ok(e) if e.is_template() && e.n_control > 0 => false,
            Ok(e) => self.clock.ms_until(e.deadline, now_ms) == 0,
            Err(_) => false,
        }
    }

    // ----- lookup -----

    /// Finds the connection a packet belongs to, and from which side it came. A packet that
    /// is one connection's client side and another's reply side (possible only with
    /// overlapping address plans) is taken as the client side; among several connections
    /// with the same reply key the newest wins, as in IPVS.
    #[inline]
    pub fn lookup(&self, key: &FlowKey<A>) -> Option<(ConnHandle, Direction)> {
        let bucket = self
            .index
            .bucket(key.proto, &key.src, key.sport, &key.dst, key.dport);
        self.walk(self.index.head(bucket), key)
    }

    /// [`Self::lookup`] for a burst of packets: `out[i]` gets the answer for `keys[i]` (the
    /// shorter of the two slices sets the count).
    ///
    /// Why: in a table bigger than the CPU caches each lookup waits for two memory reads
    /// (bucket word, then record). Looking up one packet at a time serialises those waits;
    /// here all the bucket words of a group are read first, then all the first records, as
    /// independent loads the CPU overlaps, and only then are chains walked and keys compared.
    pub fn lookup_burst(&self, keys: &[FlowKey<A>], out: &mut [Option<(ConnHandle, Direction)>]) {
        const GROUP: usize = 16;
        for (keys, out) in keys.chunks(GROUP).zip(out.chunks_mut(GROUP)) {
            let mut heads = [NIL; GROUP];
            for (head, key) in heads.iter_mut().zip(keys) {
                let bucket = self
                    .index
                    .bucket(key.proto, &key.src, key.sport, &key.dst, key.dport);
                *head = self.index.head(bucket);
            }
            // Touch each chain's first record: one independent load per key, so their
            // misses overlap. The loaded word is folded into a value the optimiser must keep.
            let mut touched = 0u32;
            for &head in heads.iter().take(keys.len()) {
                if let Some(e) = self.slab.get((head >> 1) as usize) {
                    touched = touched.wrapping_add(e.chain[0]);
                }
            }
            core::hint::black_box(touched);
            for ((slot, key), &head) in out.iter_mut().zip(keys).zip(heads.iter()) {
                *slot = self.walk(head, key);
            }
        }
    }

    /// The chain walk of [`Self::lookup`], from a bucket's head node.
    #[inline]
    fn walk(&self, head: u32, key: &FlowKey<A>) -> Option<(ConnHandle, Direction)> {
        let mut reply = None;
        for (idx, dir, e) in self.index.chain_from(&self.slab, head) {
            if e.is_template() || !e.matches(dir, key) {
                continue;
            }
            if dir == Direction::In {
                return Some((ConnHandle(idx), Direction::In));
            }
            if reply.is_none() {
                reply = Some((ConnHandle(idx), Direction::Out));
            }
        }
        reply
    }

    /// Finds the persistence template for a key (invalidated templates are not found).
    pub fn lookup_template(&self, key: &TemplateKey<A>) -> Option<ConnHandle> {
        let flow = key.flow();
        let bucket = self
            .index
            .bucket(flow.proto, &flow.src, flow.sport, &flow.dst, flow.dport);
        self.index
            .chain(&self.slab, bucket)
            .find(|(_, dir, e)| {
                e.is_template() && *dir == Direction::In && e.matches(Direction::In, &flow)
            })
            .map(|(idx, _, _)| ConnHandle(idx))
    }

    fn client_side_taken(&self, key: &FlowKey<A>, bucket: u32, templates: bool) -> bool {
        self.index.chain(&self.slab, bucket).any(|(_, dir, e)| {
            dir == Direction::In && e.is_template() == templates && e.matches(Direction::In, key)
        })
    }

    // ----- insertion -----

    fn alloc(&mut self) -> Result<u32, ConnError> {
        let idx = self.free_head;
        let Some(e) = self.slab.get(idx as usize) else {
            self.stats.refused_full += 1;
            return Err(ConnError::Full);
        };
        self.free_head = e.chain[0];
        Ok(idx)
    }

    fn bucket_of(&self, e: &Entry<A>, dir: Direction) -> Option<u32> {
        e.key(dir)
            .map(|k| self.index.bucket(k.proto, &k.src, k.sport, &k.dst, k.dport))
    }

    /// Sets an entry's deadline: moved at once when earlier, left for lazy re-filing when
    /// later (see `wheel`).
    #[inline]
    fn set_deadline(&mut self, idx: u32, deadline: u32) {
        let Some(e) = self.slab.get_mut(idx as usize) else {
            return;
        };
        let old = e.deadline;
        e.deadline = deadline;
        if !tick_le(old, deadline) {
            self.wheel.rearm(idx, deadline);
        }
    }

    /// Restarts a template's timer with its current timeout.
    fn touch_template(&mut self, idx: u32, now_ms: u64) {
        let Some(secs) = self.slab.get(idx as usize).map(|e| e.persist_secs) else {
            return;
        };
        let span = self.clock.span_secs(secs);
        let deadline = self.clock.deadline(now_ms, span);
        self.set_deadline(idx, deadline);
    }

    /// Creates a connection, indexed by both sides.
    ///
    /// As in IPVS a new connection counts as inactive: the caller adds one to the
    /// destination's InActConn, then passes the first packet to [`Self::update`], whose
    /// [`Activity`] says when to move it to ActiveConn. A TCP connection starts in NONE (2 s
    /// until that first update). With `control`, the connection is created under that
    /// template, which counts it and restarts its timer.
    ///
    /// Refused with [`ConnError::Exists`] when a connection with the same client side
    /// exists, and with [`ConnError::Full`] (and counted) when the table is full.
    pub fn insert(&mut self, c: &NewConn<A>, now_ms: u64) -> Result<ConnHandle, ConnError> {
        if let Some(t) = c.control
            && !self.entry(t)?.is_template()
        {
            return Err(ConnError::NotTemplate);
        }
        let key = FlowKey::new(c.proto, c.caddr, c.cport, c.vaddr, c.vport);
        let in_bucket = self
            .index
            .bucket(c.proto, &c.caddr, c.cport, &c.vaddr, c.vport);
        if self.client_side_taken(&key, in_bucket, false) {
            return Err(ConnError::Exists);
        }
        let idx = self.alloc()?;
        let now_tick = self.clock.tick(now_ms);
        self.wheel.start(now_tick);
        let span = self.spans.of(c.proto, TcpState::None);
        let deadline = self.clock.deadline(now_ms, span);

        let mut e = Entry::vacant(NIL);
        e.proto = Some(c.proto);
        e.caddr = c.caddr;
        e.cport = c.cport;
        e.vaddr = c.vaddr;
        e.vport = c.vport;
        e.raddr = c.raddr;
        e.rport = c.rport;
        e.set_forward(&c.forward);
        e.dest_id = c.dest_id;
        e.svc_id = c.svc_id;
        e.flags = c.flags;
        e.deadline = deadline;
        e.set(F_INACTIVE, true);
        e.set(
            F_NO_OUTPUT,
            matches!(c.forward, Forward::Dr | Forward::Tun(_)),
        );
        e.control = c.control.map_or(NIL, |t| t.0);
        let out_bucket = self.bucket_of(&e, Direction::Out);
        if let Some(slot) = self.slab.get_mut(idx as usize) {
            *slot = e;
        }
        self.index
            .push(&mut self.slab, in_bucket, node(idx, Direction::In));
        if let Some(b) = out_bucket {
            self.index
                .push(&mut self.slab, b, node(idx, Direction::Out));
        }
        self.wheel.arm(idx, deadline);

        if let Some(t) = c.control {
            if let Ok(tpl) = self.entry_mut(t) {
                tpl.n_control += 1;
            }
            self.touch_template(t.0, now_ms);
        }
        self.stats.conns += 1;
        self.stats.inserted += 1;
        Ok(ConnHandle(idx))
    }

    /// Creates a persistence template (timer: the template's timeout from `now_ms`).
    /// Refused with [`ConnError::Exists`] when a valid template has the same key.
    pub fn insert_template(
        &mut self,
        t: &NewTemplate<A>,
        now_ms: u64,
    ) -> Result<ConnHandle, ConnError> {
        let key = t.key.flow();
        let bucket = self
            .index
            .bucket(key.proto, &key.src, key.sport, &key.dst, key.dport);
        if self.client_side_taken(&key, bucket, true) {
            return Err(ConnError::Exists);
        }
        let idx = self.alloc()?;
        let now_tick = self.clock.tick(now_ms);
        self.wheel.start(now_tick);
        let span = self.clock.span_secs(t.timeout_secs);
        let deadline = self.clock.deadline(now_ms, span);

        let mut e = Entry::vacant(NIL);
        e.proto = Some(key.proto);
        e.caddr = key.src;
        e.cport = 0;
        e.vaddr = key.dst;
        e.vport = key.dport;
        e.raddr = t.raddr;
        e.rport = t.rport;
        e.dest_id = t.dest_id;
        e.svc_id = t.svc_id;
        e.persist_secs = t.timeout_secs;
        e.deadline = deadline;
        e.set(F_TEMPLATE, true);
        if let Some(slot) = self.slab.get_mut(idx as usize) {
            *slot = e;
        }
        self.index
            .push(&mut self.slab, bucket, node(idx, Direction::In));
        self.wheel.arm(idx, deadline);
        self.stats.templates += 1;
        self.stats.inserted += 1;
        Ok(ConnHandle(idx))
    }

    /// Takes a template out of the index because its destination is no longer available
    /// (IPVS's `ip_vs_check_template`): later lookups miss it and the caller schedules a new
    /// destination and template, while connections already under it keep it alive until its
    /// timer fires. Its ports read 65535 in listings from then on, as in IPVS.
    pub fn invalidate_template(&mut self, h: ConnHandle) -> Result<(), ConnError> {
        let e = self.entry(h)?;
        if !e.is_template() {
            return Err(ConnError::NotTemplate);
        }
        if e.has(F_INVALID) {
            return Ok(());
        }
        if let Some(b) = self.bucket_of(e, Direction::In) {
            self.index
                .unlink(&mut self.slab, b, node(h.0, Direction::In));
        }
        let e = self.entry_mut(h)?;
        e.set(F_INVALID, true);
        e.cport = 0;
        e.vport = u16::MAX;
        e.rport = u16::MAX;
        Ok(())
    }

    // ----- per packet -----

    /// Accounts one packet of a connection: runs the TCP state machine (input, output or
    /// input-only table, as IPVS picks it), restarts the idle timer with the new state's
    /// timeout, and says whether the connection changed between active and inactive.
    /// UDP and ICMP ignore `flags` and just restart their timer.
    #[inline]
    pub fn update(
        &mut self,
        h: ConnHandle,
        dir: Direction,
        flags: TcpFlags,
        now_ms: u64,
    ) -> Result<Transition, ConnError> {
        let e = self.entry_mut(h)?;
        if e.is_template() {
            return Err(ConnError::IsTemplate);
        }
        let from = state_of(e);
        let mut activity = Activity::Unchanged;
        let proto = e.proto.unwrap_or(Proto::Tcp);
        if proto == Proto::Tcp {
            let mut table = match dir {
                Direction::In => TcpDir::Input,
                Direction::Out => TcpDir::Output,
            };
            if e.has(F_NO_OUTPUT) {
                if dir == Direction::Out {
                    e.set(F_NO_OUTPUT, false);
                } else {
                    table = TcpDir::InputOnly;
                }
            }
            let old = e.tcp_state;
            let new = next_state(old, table, flags);
            if new != old {
                if !e.has(F_INACTIVE) && !new.is_active() {
                    e.set(F_INACTIVE, true);
                    activity = Activity::NowInactive;
                } else if e.has(F_INACTIVE) && new.is_active() {
                    e.set(F_INACTIVE, false);
                    activity = Activity::NowActive;
                }
                e.tcp_state = new;
            }
        }
        let to = state_of(e);
        let state = e.tcp_state;
        let span = self.spans.of(proto, state);
        let deadline = self.clock.deadline(now_ms, span);
        self.set_deadline(h.0, deadline);
        Ok(Transition { from, to, activity })
    }

    /// Sets the FULLNAT sequence offset of a connection.
    pub fn set_seq_delta(&mut self, h: ConnHandle, delta: u32) -> Result<(), ConnError> {
        self.entry_mut(h)?.seq_delta = delta;
        Ok(())
    }

    /// Replaces the forwarder's flags of a connection.
    pub fn set_flags(&mut self, h: ConnHandle, flags: ConnFlags) -> Result<(), ConnError> {
        self.entry_mut(h)?.flags = flags;
        Ok(())
    }

    // ----- removal and expiry -----

    /// Unindexes and frees a record, releasing its hold on its template.
    fn release(&mut self, idx: u32) {
        let Some(e) = self.slab.get(idx as usize) else {
            return;
        };
        if !e.is_live() {
            return;
        }
        let template = e.is_template();
        let invalid = e.has(F_INVALID);
        let control = e.control;
        let in_bucket = self.bucket_of(e, Direction::In);
        let out_bucket = if template {
            None
        } else {
            self.bucket_of(e, Direction::Out)
        };
        if !invalid && let Some(b) = in_bucket {
            self.index
                .unlink(&mut self.slab, b, node(idx, Direction::In));
        }
        if let Some(b) = out_bucket {
            self.index
                .unlink(&mut self.slab, b, node(idx, Direction::Out));
        }
        if let Some(t) = self.slab.get_mut(control as usize) {
            t.n_control = t.n_control.saturating_sub(1);
        }
        self.wheel.disarm(idx);
        if let Some(slot) = self.slab.get_mut(idx as usize) {
            *slot = Entry::vacant(self.free_head);
            self.free_head = idx;
        }
        if template {
            self.stats.templates -= 1;
        } else {
            self.stats.conns -= 1;
        }
    }

    /// Removes an entry now (a flushed service, a one-packet UDP connection, an operator's
    /// request). A template that still controls connections is refused.
    pub fn remove(&mut self, h: ConnHandle, now_ms: u64) -> Result<ConnInfo<A>, ConnError> {
        let e = self.entry(h)?;
        if e.is_template() && e.n_control > 0 {
            return Err(ConnError::TemplateInUse);
        }
        let info = self.info(h.0, now_ms)?;
        self.release(h.0);
        self.stats.removed += 1;
        Ok(info)
    }

    /// Runs due timers: frees every entry whose deadline has passed (reporting each through
    /// `on_expiry` so the caller can fix its destination counters and release FULLNAT local
    /// ports), keeps and re-arms templates that still control connections, and re-files
    /// timers whose deadline moved later. At most `budget` timers are examined per call;
    /// the rest wait for the next call (see [`ExpireSummary::backlog`]).
    pub fn expire(
        &mut self,
        now_ms: u64,
        budget: u32,
        mut on_expiry: impl FnMut(Expiry<A>),
    ) -> ExpireSummary {
        let now_tick = self.clock.tick(now_ms);
        self.wheel.advance(now_tick);
        let mut s = ExpireSummary::default();
        while s.examined < budget {
            let Some(idx) = self.wheel.pop_pending() else {
                break;
            };
            s.examined += 1;
            let Some(e) = self.slab.get_mut(idx as usize) else {
                continue;
            };
            if !e.is_live() {
                continue;
            }
            if !tick_le(e.deadline, now_tick) {
                let deadline = e.deadline;
                self.wheel.arm(idx, deadline);
                s.refiled += 1;
                continue;
            }
            if e.is_template() && e.n_control > 0 {
                e.persist_secs = TEMPLATE_REARM_SECS;
                let span = self.clock.span_secs(TEMPLATE_REARM_SECS);
                let deadline = self.clock.deadline(now_ms, span);
                e.deadline = deadline;
                self.wheel.arm(idx, deadline);
                s.templates_kept += 1;
                self.stats.templates_kept += 1;
                if let Ok(info) = self.info(idx, now_ms) {
                    on_expiry(Expiry::TemplateKept(info));
                }
                continue;
            }
            let info = self.info(idx, now_ms);
            self.release(idx);
            s.expired += 1;
            self.stats.expired += 1;
            if let Ok(info) = info {
                on_expiry(Expiry::Expired(info));
            }
        }
        s.backlog = self.wheel.has_pending();
        s
    }

    // ----- enumeration -----

    fn info(&self, idx: u32, now_ms: u64) -> Result<ConnInfo<A>, ConnError> {
        let h = ConnHandle(idx);
        let e = self.entry(h)?;
        let template = e.is_template();
        Ok(ConnInfo {
            handle: h,
            proto: e.proto.unwrap_or(Proto::Tcp),
            template,
            invalidated: e.has(F_INVALID),
            caddr: e.caddr,
            cport: e.cport,
            vaddr: e.vaddr,
            vport: e.vport,
            raddr: e.raddr,
            rport: e.rport,
            forward: if template { None } else { Some(e.forward()) },
            state: state_of(e),
            active: !template && !e.has(F_INACTIVE),
            dest_id: e.dest_id,
            svc_id: e.svc_id,
            seq_delta: e.seq_delta,
            flags: e.flags,
            n_control: e.n_control,
            controlled_by: (e.control != NIL).then_some(ConnHandle(e.control)),
            expires_ms: self.clock.ms_until(e.deadline, now_ms),
        })
    }

    /// A snapshot of one entry (a `-Lnc` row).
    pub fn info_of(&self, h: ConnHandle, now_ms: u64) -> Option<ConnInfo<A>> {
        self.info(h.0, now_ms).ok()
    }

    /// Every live entry, templates included, in slab order: what `ipvsadm -Lnc` lists. A
    /// full walk of the slab, meant for the control plane between bursts.
    pub fn iter(&self, now_ms: u64) -> impl Iterator<Item = ConnInfo<A>> + '_ {
        (0..self.capacity()).filter_map(move |idx| self.info(idx, now_ms).ok())
    }

    /// Checks every internal invariant (index ↔ slab, free list, timers, template counts)
    /// by walking everything. For tests; returns the first violation found.
    #[doc(hidden)]
    pub fn verify_integrity(&self) -> Result<(), String> {
        let cap = self.capacity();
        let mut conns = 0u32;
        let mut templates = 0u32;
        let mut controlled = vec![0u32; cap as usize];
        for (i, e) in self.slab.iter().enumerate() {
            if !e.is_live() {
                continue;
            }
            let idx = i as u32;
            if e.is_template() {
                templates += 1;
            } else {
                conns += 1;
                if e.control != NIL {
                    match self.slab.get(e.control as usize) {
                        Some(t) if t.is_live() && t.is_template() => {
                            controlled[e.control as usize] += 1
                        }
                        _ => return Err(format!("{idx}: control {} is not a template", e.control)),
                    }
                }
            }
            let sides: &[Direction] = if e.is_template() {
                if e.has(F_INVALID) {
                    &[]
                } else {
                    &[Direction::In]
                }
            } else {
                &[Direction::In, Direction::Out]
            };
            for &dir in sides {
                let b = self.bucket_of(e, dir).ok_or("live entry without key")?;
                let n = self
                    .index
                    .chain(&self.slab, b)
                    .filter(|(ci, cd, _)| *ci == idx && *cd == dir)
                    .count();
                if n != 1 {
                    return Err(format!("{idx} {dir:?}: in its chain {n} times"));
                }
            }
        }
        if conns != self.stats.conns || templates != self.stats.templates {
            return Err(format!(
                "counted {conns} conns {templates} templates, stats say {} {}",
                self.stats.conns, self.stats.templates
            ));
        }
        for (i, e) in self.slab.iter().enumerate() {
            if e.is_live() && e.is_template() && e.n_control != controlled[i] {
                return Err(format!(
                    "template {i}: n_control {} but {} controlled",
                    e.n_control, controlled[i]
                ));
            }
        }
        // Every chain node is a live record's key in the right bucket.
        let mut nodes = 0usize;
        for b in 0..self.index.bucket_count() {
            let b = b as u32;
            for (idx, dir, e) in self.index.chain(&self.slab, b) {
                nodes += 1;
                if nodes > 2 * cap as usize {
                    return Err("chain cycle".into());
                }
                if !e.is_live() {
                    return Err(format!("bucket {b}: free record {idx}"));
                }
                if self.bucket_of(e, dir) != Some(b) {
                    return Err(format!("bucket {b}: {idx} {dir:?} hashed elsewhere"));
                }
            }
        }
        // The free list holds exactly the free records.
        let mut free = 0u32;
        let mut cur = self.free_head;
        while cur != NIL {
            let e = self
                .slab
                .get(cur as usize)
                .ok_or("free list leaves the slab")?;
            if e.is_live() {
                return Err(format!("free list holds live {cur}"));
            }
            free += 1;
            if free > cap {
                return Err("free list cycle".into());
            }
            cur = e.chain[0];
        }
        if free + conns + templates != cap {
            return Err(format!("{free} free + {} live != {cap}", conns + templates));
        }
        // Every live record has exactly one timer; free records none.
        let mut filed = vec![0u32; cap as usize];
        for (n, _) in self.wheel.filed() {
            let slot = filed.get_mut(n as usize).ok_or("wheel node out of range")?;
            *slot += 1;
        }
        for (i, e) in self.slab.iter().enumerate() {
            let want = u32::from(e.is_live());
            if filed[i] != want {
                return Err(format!("record {i}: filed {} times", filed[i]));
            }
        }
        Ok(())
    }
}
