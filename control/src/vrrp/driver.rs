//! The VRRP driver: the pure [`Router`] brought to life on kernel sockets, timers,
//! tracking scripts, interface polling and notify scripts, as one tokio task.
//!
//! Shape (the same as the health engine's): [`VrrpDriver::start`] opens the sockets, spawns
//! the task and returns a handle plus a receiver of [`VrrpEvent`]s, which the daemon turns
//! into dataplane changes — VIP ownership as one snapshot change per event, gratuitous
//! ARPs through the port. The task owns the router; everything reaches it as a message
//! (received datagrams from one reader task per interface, script and link reports,
//! commands) or as the router's next deadline, so the state machine is only ever touched
//! from one place and no lock is held across an await. A status board under a short lock
//! serves [`VrrpDriver::status`] without waiting for the task.
//!
//! Time is microseconds since the driver started, on tokio's clock.
//!
//! Shutdown ([`VrrpDriver::shutdown`]) stops every instance: masters send their
//! priority-0 advert (sent synchronously before the task ends), give up their addresses
//! (an `Ownership { owned: false }` event) and run notify_stop; the call returns once
//! that is done and the stop scripts have finished or timed out.

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use proto::{Counter, VrrpStatus};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout};

use super::instance::{Action, Reject, State};
use super::io::{RECV_BUF, Receiver, Sender};
use super::link::{LinkReport, link_up, watch_links};
use super::packet::{self, AdvertSpec, IPPROTO_VRRP, ParseError, VRRP_GROUP};
use super::resolve::{Notify, Resolved, ResolvedInstance};
use super::router::{Event, Router};
use super::script::{ScriptReport, notify, track_script};
use super::status::{InstanceReport, counters};
use super::track::{Tracked, effective_priority};
use super::{Instance, instance::InstanceStats};

/// Tunables of the driver itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverOptions {
    /// How long a notify script may run before its process group is killed.
    pub script_timeout: Duration,
    /// Period of the track_interface poll.
    pub link_poll: Duration,
}

impl Default for DriverOptions {
    fn default() -> Self {
        DriverOptions {
            script_timeout: Duration::from_secs(30),
            link_poll: Duration::from_millis(250),
        }
    }
}

/// What the daemon must do for VRRP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VrrpEvent {
    /// The instance entered (`owned`) or left MASTER: serve (answer ARP for, forward to)
    /// `vips` or stop doing so, as one snapshot change.
    Ownership {
        instance: String,
        /// The configured port (or interface) name.
        port: String,
        /// The kernel interface VRRP runs on.
        interface: String,
        vips: Vec<IpAddr>,
        owned: bool,
    },
    /// Send `count` gratuitous ARPs for each of `vips` out of `port`.
    Garp {
        instance: String,
        port: String,
        interface: String,
        vips: Vec<Ipv4Addr>,
        count: u32,
    },
}

/// Receives the driver's events.
pub type EventReceiver = mpsc::UnboundedReceiver<VrrpEvent>;

enum Command {
    Shutdown,
}

/// A cloneable reader of the driver's status board: what [`VrrpDriver::status`],
/// [`VrrpDriver::reports`] and [`VrrpDriver::counters`] answer, for holders that do not own
/// the driver (the daemon's status source while the driver runs on its own thread).
#[derive(Clone)]
pub struct StatusBoard(Arc<Mutex<Vec<InstanceReport>>>);

impl StatusBoard {
    /// The state of every instance, in configuration order.
    pub fn status(&self) -> Vec<VrrpStatus> {
        lock(&self.0).iter().map(|r| r.status.clone()).collect()
    }

    /// The state and every counter of every instance.
    pub fn reports(&self) -> Vec<InstanceReport> {
        lock(&self.0).clone()
    }

    /// Drops by reason and send errors as named counters.
    pub fn counters(&self) -> Vec<Counter> {
        counters(&lock(&self.0))
    }
}

/// Handle to a running driver.
pub struct VrrpDriver {
    commands: mpsc::UnboundedSender<Command>,
    board: Arc<Mutex<Vec<InstanceReport>>>,
    task: JoinHandle<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl VrrpDriver {
    /// Opens the sockets of every instance and starts the driver on `handle`'s runtime.
    /// Fails when an interface cannot be used (missing, no permission for raw sockets).
    pub fn start(
        handle: &Handle,
        resolved: Resolved,
        options: DriverOptions,
    ) -> io::Result<(VrrpDriver, EventReceiver)> {
        let _guard = handle.enter();
        let mut interfaces: Vec<String> = Vec::new();
        let mut iface_of = Vec::new();
        for inst in &resolved.instances {
            let idx = match interfaces.iter().position(|i| *i == inst.interface) {
                Some(i) => i,
                None => {
                    interfaces.push(inst.interface.clone());
                    interfaces.len() - 1
                }
            };
            iface_of.push(idx);
        }
        let mut receivers = Vec::new();
        for name in &interfaces {
            receivers.push(Receiver::open(name).map_err(|e| with_context(e, name))?);
        }
        let mut senders = Vec::new();
        for inst in &resolved.instances {
            senders.push(
                Sender::open(&inst.interface, inst.engine.primary)
                    .map_err(|e| with_context(e, &inst.interface))?,
            );
        }
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (events, event_rx) = mpsc::unbounded_channel();
        let board = Arc::new(Mutex::new(Vec::new()));
        let router = Router::new(
            resolved
                .instances
                .iter()
                .map(|i| Instance::new(i.engine.clone()))
                .collect(),
            resolved.groups.iter().map(|g| g.members.clone()).collect(),
        );
        let n = resolved.instances.len();
        let core = Core {
            base: Instant::now(),
            router,
            group_states: vec![None; resolved.groups.len()],
            resolved,
            iface_of,
            senders,
            script_ok: Vec::new(),
            links: BTreeMap::new(),
            drops: vec![BTreeMap::new(); n],
            send_errors: vec![0; n],
            unattributed: 0,
            events,
            board: board.clone(),
            options,
            stop_scripts: Vec::new(),
        };
        let task = handle.spawn(core.run(receivers, command_rx));
        Ok((
            VrrpDriver {
                commands,
                board,
                task,
            },
            event_rx,
        ))
    }

    /// The state of every instance, in configuration order.
    pub fn status(&self) -> Vec<VrrpStatus> {
        self.board().status()
    }

    /// The state and every counter of every instance.
    pub fn reports(&self) -> Vec<InstanceReport> {
        self.board().reports()
    }

    /// Drops by reason and send errors as named counters.
    pub fn counters(&self) -> Vec<Counter> {
        self.board().counters()
    }

    /// A reader of the status board that outlives borrows of the driver.
    pub fn board(&self) -> StatusBoard {
        StatusBoard(Arc::clone(&self.board))
    }

    /// Stops every instance (masters send priority 0 and release their addresses, stop
    /// scripts run) and waits for the driver to end.
    pub async fn shutdown(self) {
        let _ = self.commands.send(Command::Shutdown);
        let _ = self.task.await;
    }
}

fn with_context(e: io::Error, interface: &str) -> io::Error {
    io::Error::new(e.kind(), format!("VRRP on interface {interface}: {e}"))
}

/// A received datagram and the interface (index) it came from.
type Datagram = (usize, Vec<u8>);

/// The driver task's state.
struct Core {
    base: Instant,
    router: Router,
    resolved: Resolved,
    /// The interface index of each instance.
    iface_of: Vec<usize>,
    senders: Vec<Sender>,
    /// The decided state of each tracking script.
    script_ok: Vec<Option<bool>>,
    links: BTreeMap<String, bool>,
    drops: Vec<BTreeMap<String, u64>>,
    send_errors: Vec<u64>,
    /// Datagrams that could not be tied to any instance.
    unattributed: u64,
    group_states: Vec<Option<State>>,
    events: mpsc::UnboundedSender<VrrpEvent>,
    board: Arc<Mutex<Vec<InstanceReport>>>,
    options: DriverOptions,
    /// notify_stop scripts started during shutdown, waited for before the task ends.
    stop_scripts: Vec<JoinHandle<()>>,
}

impl Core {
    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    async fn run(
        mut self,
        receivers: Vec<Receiver>,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) {
        let (dgram_tx, mut dgrams) = mpsc::channel::<Datagram>(256);
        let mut helpers: Vec<JoinHandle<()>> = Vec::new();
        for (idx, rx) in receivers.into_iter().enumerate() {
            helpers.push(tokio::spawn(read_loop(idx, rx, dgram_tx.clone())));
        }
        drop(dgram_tx);
        let (script_tx, mut scripts) = mpsc::unbounded_channel();
        self.script_ok = vec![None; self.resolved.scripts.len()];
        for (idx, s) in self.resolved.scripts.iter().enumerate() {
            helpers.push(tokio::spawn(track_script(
                idx,
                s.clone(),
                script_tx.clone(),
            )));
        }
        drop(script_tx);
        for inst in &self.resolved.instances {
            for t in &inst.interfaces {
                self.links
                    .insert(t.interface.clone(), link_up(&t.interface));
            }
        }
        let (link_tx, mut links) = mpsc::unbounded_channel();
        helpers.push(tokio::spawn(watch_links(
            self.links.clone(),
            self.options.link_poll,
            link_tx,
        )));

        self.await_first_script_results(&mut scripts).await;
        for idx in 0..self.resolved.instances.len() {
            self.retrack(idx);
        }
        let now = self.now();
        let ev = self.router.start(now);
        self.apply(ev);
        self.publish();

        let mut datagram: Option<Datagram> = None;
        loop {
            let deadline = self
                .router
                .next_deadline()
                .map(|t| self.base + Duration::from_micros(t));
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(Command::Shutdown) | None => break,
                },
                Some(d) = dgrams.recv() => datagram = Some(d),
                Some(r) = scripts.recv() => self.on_script(r),
                Some(r) = links.recv() => self.on_link(r),
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    let now = self.now();
                    let ev = self.router.poll(now);
                    self.apply(ev);
                }
            }
            if let Some((iface, bytes)) = datagram.take() {
                self.on_datagram(iface, &bytes);
            }
            self.publish();
        }

        let ev = self.router.shutdown();
        self.apply(ev);
        self.publish();
        for h in &helpers {
            h.abort();
        }
        let grace = self.options.script_timeout + Duration::from_secs(3);
        for h in self.stop_scripts.drain(..) {
            let _ = timeout(grace, h).await;
        }
    }

    /// keepalived holds instances until their scripts have reported; so do we, for at
    /// most the longest script timeout plus a second. Scripts still silent count as failed.
    async fn await_first_script_results(
        &mut self,
        scripts: &mut mpsc::UnboundedReceiver<ScriptReport>,
    ) {
        let Some(longest) = self.resolved.scripts.iter().map(|s| s.timeout).max() else {
            return;
        };
        let until = Instant::now() + longest + Duration::from_secs(1);
        while self.script_ok.iter().any(Option::is_none) {
            match timeout(
                until.saturating_duration_since(Instant::now()),
                scripts.recv(),
            )
            .await
            {
                Ok(Some(r)) => {
                    if let Some(s) = self.script_ok.get_mut(r.script) {
                        *s = Some(r.ok);
                    }
                }
                Ok(None) | Err(_) => break,
            }
        }
        for s in &mut self.script_ok {
            s.get_or_insert(false);
        }
    }

    fn on_script(&mut self, r: ScriptReport) {
        if let Some(s) = self.script_ok.get_mut(r.script) {
            *s = Some(r.ok);
        }
        let affected: Vec<usize> = (0..self.resolved.instances.len())
            .filter(|&i| {
                self.resolved.instances[i]
                    .scripts
                    .iter()
                    .any(|t| t.script == r.script)
            })
            .collect();
        for i in affected {
            self.retrack(i);
        }
    }

    fn on_link(&mut self, r: LinkReport) {
        self.links.insert(r.interface.clone(), r.up);
        let affected: Vec<usize> = (0..self.resolved.instances.len())
            .filter(|&i| {
                self.resolved.instances[i]
                    .interfaces
                    .iter()
                    .any(|t| t.interface == r.interface)
            })
            .collect();
        for i in affected {
            self.retrack(i);
        }
    }

    /// Recomputes an instance's effective priority (or FAULT) from its tracking.
    fn retrack(&mut self, idx: usize) {
        let Some(inst) = self.resolved.instances.get(idx) else {
            return;
        };
        let mut tracked = Vec::new();
        for t in &inst.scripts {
            tracked.push(Tracked {
                weight: t.weight,
                reverse: t.reverse,
                up: self
                    .script_ok
                    .get(t.script)
                    .copied()
                    .flatten()
                    .unwrap_or(false),
            });
        }
        for t in &inst.interfaces {
            tracked.push(Tracked {
                weight: t.weight,
                reverse: false,
                up: self.links.get(&t.interface).copied().unwrap_or(false),
            });
        }
        let base = self
            .router
            .instance(idx)
            .map_or(inst.engine.priority, Instance::base_priority);
        let priority = effective_priority(base, &tracked);
        let now = self.now();
        let ev = self.router.set_tracking(idx, priority, now);
        self.apply(ev);
    }

    fn on_datagram(&mut self, iface: usize, bytes: &[u8]) {
        let now = self.now();
        match packet::parse(bytes) {
            Ok(adv) => {
                let iface_of = &self.iface_of;
                let (ev, rejected) = self.router.receive(now, &adv, |i| iface_of[i] == iface);
                for (i, why) in rejected {
                    if why != Reject::OtherVrid {
                        self.count_drop(i, why.name());
                    }
                }
                self.apply(ev);
            }
            Err(e) => {
                let vrid = peek_vrid(bytes);
                let targets: Vec<usize> = (0..self.resolved.instances.len())
                    .filter(|&i| {
                        self.iface_of[i] == iface
                            && Some(self.resolved.instances[i].engine.vrid) == vrid
                    })
                    .collect();
                if targets.is_empty() {
                    self.unattributed += 1;
                }
                for i in targets {
                    self.count_drop(i, parse_error_name(e));
                }
            }
        }
    }

    fn count_drop(&mut self, idx: usize, reason: &str) {
        if let Some(d) = self.drops.get_mut(idx) {
            *d.entry(reason.to_string()).or_insert(0) += 1;
        }
    }

    fn apply(&mut self, events: Vec<Event>) {
        for Event { instance, action } in events {
            match action {
                Action::SendAdvert { priority } => self.send_advert(instance, priority),
                Action::Garp { count } => self.garp(instance, count),
                Action::Transition { from, to } => self.transition(instance, from, to),
            }
        }
        self.group_notifies();
    }

    fn send_advert(&mut self, idx: usize, priority: u8) {
        let (Some(inst), Some(sender)) = (self.resolved.instances.get(idx), self.senders.get(idx))
        else {
            return;
        };
        let cfg = &inst.engine;
        let units = if cfg.version == 2 {
            cfg.adver_int_us / 1_000_000
        } else {
            cfg.adver_int_us / 10_000
        };
        let spec = AdvertSpec {
            version: cfg.version,
            vrid: cfg.vrid,
            priority,
            adver_int: u16::try_from(units).unwrap_or(u16::MAX),
            password: cfg.password.as_deref(),
            addrs: &cfg.vips,
        };
        let mut errors = 0;
        if cfg.unicast_peers.is_empty() {
            let msg = packet::build(&spec, cfg.primary, VRRP_GROUP);
            if let Err(e) = sender.send(&msg, VRRP_GROUP) {
                log::warn!("({}) cannot send advert: {e}", cfg.name);
                errors += 1;
            }
        } else {
            for peer in &cfg.unicast_peers {
                let msg = packet::build(&spec, cfg.primary, *peer);
                if let Err(e) = sender.send(&msg, *peer) {
                    log::warn!("({}) cannot send advert to {peer}: {e}", cfg.name);
                    errors += 1;
                }
            }
        }
        if let Some(c) = self.send_errors.get_mut(idx) {
            *c += errors;
        }
    }

    fn garp(&mut self, idx: usize, count: u32) {
        let Some(inst) = self.resolved.instances.get(idx) else {
            return;
        };
        let vips: Vec<Ipv4Addr> = inst
            .owned
            .iter()
            .filter_map(|a| match a {
                IpAddr::V4(v) => Some(*v),
                IpAddr::V6(_) => None,
            })
            .collect();
        if vips.is_empty() || count == 0 {
            return;
        }
        let _ = self.events.send(VrrpEvent::Garp {
            instance: inst.engine.name.clone(),
            port: inst.port.clone(),
            interface: inst.interface.clone(),
            vips,
            count,
        });
    }

    fn transition(&mut self, idx: usize, from: State, to: State) {
        let Some(inst) = self.resolved.instances.get(idx) else {
            return;
        };
        log::info!("({}) Entering {} STATE", inst.engine.name, to.name());
        if from == State::Master || to == State::Master {
            let _ = self.events.send(ownership(inst, to == State::Master));
        }
        let priority = self
            .router
            .instance(idx)
            .map_or(0, Instance::effective_priority);
        let handles = run_notifies(
            &inst.notify,
            "INSTANCE",
            &inst.engine.name,
            to,
            priority,
            self.options.script_timeout,
        );
        if to == State::Init {
            self.stop_scripts.extend(handles);
        }
    }

    /// Runs the sync groups' notify scripts when a group's combined state changes: FAULT
    /// if any member is, MASTER when all are, BACKUP otherwise.
    fn group_notifies(&mut self) {
        for (g, group) in self.resolved.groups.iter().enumerate() {
            let states: Vec<State> = group
                .members
                .iter()
                .filter_map(|&m| self.router.instance(m).map(Instance::state))
                .collect();
            let combined = if states.is_empty() || states.contains(&State::Init) {
                None
            } else if states.contains(&State::Fault) {
                Some(State::Fault)
            } else if states.iter().all(|s| *s == State::Master) {
                Some(State::Master)
            } else {
                Some(State::Backup)
            };
            if combined == self.group_states[g] {
                continue;
            }
            self.group_states[g] = combined;
            if let Some(state) = combined {
                log::info!(
                    "VRRP_Group({}) Syncing instances to {} state",
                    group.name,
                    state.name()
                );
                run_notifies(
                    &group.notify,
                    "GROUP",
                    &group.name,
                    state,
                    0,
                    self.options.script_timeout,
                );
            }
        }
    }

    fn publish(&self) {
        let reports = self
            .router
            .instances()
            .iter()
            .enumerate()
            .map(|(i, inst)| {
                let drops = self.drops.get(i).cloned().unwrap_or_default();
                let send_errors = self.send_errors.get(i).copied().unwrap_or(0);
                report(inst, &self.resolved.instances[i], drops, send_errors)
            })
            .collect();
        *lock(&self.board) = reports;
    }
}

fn ownership(inst: &ResolvedInstance, owned: bool) -> VrrpEvent {
    VrrpEvent::Ownership {
        instance: inst.engine.name.clone(),
        port: inst.port.clone(),
        interface: inst.interface.clone(),
        vips: inst.owned.clone(),
        owned,
    }
}

/// Starts the state's own script, then the generic one with keepalived's arguments.
fn run_notifies(
    notify_cfg: &Notify,
    kind: &str,
    name: &str,
    state: State,
    priority: u8,
    limit: Duration,
) -> Vec<JoinHandle<()>> {
    let (specific, word) = match state {
        State::Master => (&notify_cfg.master, "MASTER"),
        State::Backup => (&notify_cfg.backup, "BACKUP"),
        State::Fault => (&notify_cfg.fault, "FAULT"),
        State::Init => (&notify_cfg.stop, "STOP"),
    };
    let mut handles = Vec::new();
    if let Some(cmd) = specific {
        handles.push(notify(cmd, &[], limit));
    }
    if let Some(cmd) = &notify_cfg.generic {
        let args = [
            kind.to_string(),
            name.to_string(),
            word.to_string(),
            priority.to_string(),
        ];
        handles.push(notify(cmd, &args, limit));
    }
    handles
}

fn report(
    inst: &Instance,
    resolved: &ResolvedInstance,
    drops: BTreeMap<String, u64>,
    send_errors: u64,
) -> InstanceReport {
    let stats: InstanceStats = inst.stats();
    let cfg = inst.config();
    let mut r = InstanceReport {
        status: VrrpStatus {
            name: cfg.name.clone(),
            vrid: cfg.vrid,
            interface: resolved.port.clone(),
            state: inst.state().name().to_string(),
            priority: inst.base_priority(),
            effective_priority: inst.effective_priority(),
            version: cfg.version,
            virtual_addrs: resolved.owned.clone(),
            master_addr: inst.master_addr().map(IpAddr::V4),
            adverts_sent: stats.adverts_sent,
            adverts_received: stats.adverts_received,
            adverts_dropped: 0,
        },
        drops,
        send_errors,
        effective_priority: inst.effective_priority(),
    };
    r.status.adverts_dropped = r.dropped();
    r
}

/// Reads one interface's socket for ever, forwarding each datagram to the driver.
async fn read_loop(idx: usize, rx: Receiver, tx: mpsc::Sender<Datagram>) {
    let mut buf = vec![0u8; RECV_BUF];
    loop {
        match rx.recv(&mut buf).await {
            Ok(n) => {
                let Some(bytes) = buf.get(..n) else { continue };
                if tx.send((idx, bytes.to_vec())).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                // An interface going down makes reads fail for a while; retry gently.
                log::debug!("VRRP receive error: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The VRID of a datagram that failed to parse, when its headers get that far, so the
/// drop can be counted against the instance it was meant for.
fn peek_vrid(packet: &[u8]) -> Option<u8> {
    let first = *packet.first()?;
    if first >> 4 != 4 || *packet.get(9)? != IPPROTO_VRRP {
        return None;
    }
    let ihl = usize::from(first & 0x0f) * 4;
    packet.get(ihl + 1).copied()
}

fn parse_error_name(e: ParseError) -> &'static str {
    match e {
        ParseError::Truncated => "truncated",
        ParseError::NotIpv4 => "not_ipv4",
        ParseError::NotVrrp => "not_vrrp",
        ParseError::IpLength => "ip_length",
        ParseError::Version(_) => "version",
        ParseError::Type(_) => "type",
        ParseError::Length => "length",
        ParseError::Checksum => "checksum",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vrid_of_a_broken_advert_is_found_when_the_headers_are_there() {
        let msg = packet::build(
            &AdvertSpec {
                version: 2,
                vrid: 42,
                priority: 100,
                adver_int: 1,
                password: None,
                addrs: &[Ipv4Addr::new(10, 0, 0, 100)],
            },
            Ipv4Addr::new(10, 0, 0, 1),
            VRRP_GROUP,
        );
        let mut pkt = packet::wrap_ipv4(&msg, Ipv4Addr::new(10, 0, 0, 1), VRRP_GROUP, 255, 1);
        pkt[20 + 7] ^= 0xff;
        assert_eq!(packet::parse(&pkt), Err(ParseError::Checksum));
        assert_eq!(peek_vrid(&pkt), Some(42));
        assert_eq!(peek_vrid(&pkt[..21]), None);
        assert_eq!(peek_vrid(&[]), None);
        pkt[9] = 6;
        assert_eq!(peek_vrid(&pkt), None);
    }
}
