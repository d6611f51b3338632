//! The connection table against a reference model: a `HashMap` of entries keyed by handle,
//! each with its deadline (the model's "timers"), under random inserts, template inserts,
//! lookups from both sides, updates, removals, invalidations, time steps and budgeted
//! expiry. The model decides every answer independently (linear scans, plain u64 time) and
//! checks the table's; the table picks slab positions and the order in which it expires due
//! entries, and the model checks that each choice was allowed.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use dataplane::conn::*;
use proptest::prelude::*;

const CAPACITY: u32 = 12;

fn addr(pool: u8, i: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, pool, 0, i)
}

#[derive(Debug, Clone)]
struct MEntry {
    template: bool,
    invalid: bool,
    proto: Proto,
    in_key: FlowKey<Ipv4Addr>,
    out_key: Option<FlowKey<Ipv4Addr>>,
    deadline: u64,
    seq: u64,
    state: TcpState,
    inactive: bool,
    no_output: bool,
    control: Option<ConnHandle>,
    n_control: u32,
    persist_secs: u32,
    dest_id: u32,
}

struct Model {
    tick_ms: u64,
    timeouts: Timeouts,
    entries: HashMap<ConnHandle, MEntry>,
    seq: u64,
    now: u64,
}

impl Model {
    fn deadline(&self, secs: u32) -> u64 {
        (self.now + u64::from(secs) * 1000).div_ceil(self.tick_ms)
    }
    fn now_tick(&self) -> u64 {
        self.now / self.tick_ms
    }
    fn timeout_of(&self, e: &MEntry) -> u32 {
        match e.proto {
            Proto::Tcp => self.timeouts.tcp_state(e.state),
            Proto::Udp => self.timeouts.udp,
            Proto::Icmp => self.timeouts.icmp,
        }
    }
    fn expires_ms(&self, e: &MEntry) -> u64 {
        (e.deadline * self.tick_ms).saturating_sub(self.now)
    }
    fn release(&mut self, h: ConnHandle) {
        let e = self.entries.remove(&h).expect("model entry");
        if let Some(t) = e.control {
            self.entries.get_mut(&t).expect("template").n_control -= 1;
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Insert {
        proto: u8,
        client: u8,
        cport: u16,
        vip: u8,
        rs: u8,
        fwd: u8,
        lport: u16,
        template: Option<usize>,
    },
    InsertTemplate {
        client: u8,
        vip: u8,
        rs: u8,
        secs: u32,
    },
    LookupIn {
        proto: u8,
        client: u8,
        cport: u16,
        vip: u8,
    },
    LookupOut {
        proto: u8,
        rs: u8,
        dst_is_local: bool,
        dst: u8,
        dport: u16,
    },
    LookupTemplate {
        client: u8,
        vip: u8,
    },
    /// A burst of client-side and reply-side keys through `lookup_burst`.
    LookupBurst {
        keys: Vec<(bool, u8, u8, u16)>,
    },
    Update {
        pick: usize,
        out: bool,
        flags: u8,
    },
    Remove {
        pick: usize,
    },
    Invalidate {
        pick: usize,
    },
    Advance {
        ms: u64,
    },
    Expire {
        budget: u32,
    },
    List,
}

fn proto_of(p: u8) -> Proto {
    match p % 3 {
        0 => Proto::Tcp,
        1 => Proto::Udp,
        _ => Proto::Icmp,
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..3, 0u8..4, 0u16..3, 0u8..2, 0u8..3, 0u8..4, 0u16..3, proptest::option::of(0usize..8))
            .prop_map(|(proto, client, cport, vip, rs, fwd, lport, template)| Op::Insert {
                proto, client, cport, vip, rs, fwd, lport, template
            }),
        2 => (0u8..4, 0u8..2, 0u8..3, 1u32..6)
            .prop_map(|(client, vip, rs, secs)| Op::InsertTemplate { client, vip, rs, secs }),
        3 => (0u8..3, 0u8..4, 0u16..3, 0u8..2)
            .prop_map(|(proto, client, cport, vip)| Op::LookupIn { proto, client, cport, vip }),
        3 => (0u8..3, 0u8..3, any::<bool>(), 0u8..4, 0u16..3)
            .prop_map(|(proto, rs, dst_is_local, dst, dport)| Op::LookupOut { proto, rs, dst_is_local, dst, dport }),
        1 => (0u8..4, 0u8..2).prop_map(|(client, vip)| Op::LookupTemplate { client, vip }),
        1 => proptest::collection::vec((any::<bool>(), 0u8..4, 0u8..3, 0u16..3), 0..40)
            .prop_map(|keys| Op::LookupBurst { keys }),
        8 => (0usize..16, any::<bool>(), tcp_flags())
            .prop_map(|(pick, out, flags)| Op::Update { pick, out, flags }),
        1 => (0usize..16).prop_map(|pick| Op::Remove { pick }),
        1 => (0usize..8).prop_map(|pick| Op::Invalidate { pick }),
        4 => prop_oneof![0u64..300, 0u64..4000, 0u64..40_000].prop_map(|ms| Op::Advance { ms }),
        3 => prop_oneof![1u32..4, Just(u32::MAX)].prop_map(|budget| Op::Expire { budget }),
        1 => Just(Op::List),
    ]
}

/// Mostly the flag combinations real segments carry, sometimes any byte.
fn tcp_flags() -> impl Strategy<Value = u8> {
    prop_oneof![
        6 => proptest::sample::select(vec![0x02u8, 0x12, 0x10, 0x11, 0x18, 0x04, 0x14, 0x01, 0x00]),
        1 => any::<u8>(),
    ]
}

fn small_timeouts() -> Timeouts {
    let mut t = Timeouts::default();
    for (i, s) in t.tcp.iter_mut().enumerate() {
        *s = 1 + (i as u32 * 7) % 20;
    }
    t.udp = 5;
    t.icmp = 3;
    t
}

fn sorted_handles(m: &Model, template: bool) -> Vec<ConnHandle> {
    let mut v: Vec<ConnHandle> = m
        .entries
        .iter()
        .filter(|(_, e)| e.template == template)
        .map(|(h, _)| *h)
        .collect();
    v.sort();
    v
}

fn run(ops: Vec<Op>, tick_ms: u32, slots: u32, start_ms: u64) -> Result<(), TestCaseError> {
    let timeouts = small_timeouts();
    let mut t: ConnTable<Ipv4Addr> = ConnTable::new(&ConnTableConfig {
        capacity: CAPACITY,
        tick_ms,
        wheel_slots: slots,
        hash_seed: 42,
        timeouts,
    })
    .unwrap();
    let mut m = Model {
        tick_ms: u64::from(tick_ms),
        timeouts,
        entries: HashMap::new(),
        seq: 0,
        now: start_ms,
    };
    let mut refused = 0u64;

    for op in ops {
        match op {
            Op::Insert {
                proto,
                client,
                cport,
                vip,
                rs,
                fwd,
                lport,
                template,
            } => {
                let proto = proto_of(proto);
                let forward = match fwd {
                    0 => Forward::Dr,
                    1 => Forward::Tun(TunnelKind::Ipip),
                    2 => Forward::Nat,
                    _ => Forward::FullNat {
                        laddr: addr(9, 1),
                        lport,
                    },
                };
                let templates = sorted_handles(&m, true);
                let control = template.and_then(|i| templates.get(i).copied());
                let c = NewConn {
                    proto,
                    caddr: addr(1, client),
                    cport,
                    vaddr: addr(2, vip),
                    vport: 80,
                    raddr: addr(3, rs),
                    rport: 8080,
                    forward,
                    dest_id: u32::from(rs),
                    svc_id: u32::from(vip),
                    flags: ConnFlags::default(),
                    control,
                };
                let in_key = FlowKey::new(proto, c.caddr, c.cport, c.vaddr, c.vport);
                let (rd, rp) = match forward {
                    Forward::FullNat { laddr, lport } => (laddr, lport),
                    _ => (c.caddr, c.cport),
                };
                let out_key = FlowKey::new(proto, c.raddr, c.rport, rd, rp);
                let exists = m
                    .entries
                    .values()
                    .any(|e| !e.template && e.in_key == in_key);
                let got = t.insert(&c, m.now);
                if exists {
                    prop_assert_eq!(got, Err(ConnError::Exists));
                } else if m.entries.len() as u32 == CAPACITY {
                    prop_assert_eq!(got, Err(ConnError::Full));
                    refused += 1;
                } else {
                    let h = got.map_err(|e| TestCaseError::fail(format!("insert: {e}")))?;
                    prop_assert!(!m.entries.contains_key(&h), "handle reused while live");
                    m.seq += 1;
                    let e = MEntry {
                        template: false,
                        invalid: false,
                        proto,
                        in_key,
                        out_key: Some(out_key),
                        deadline: 0,
                        seq: m.seq,
                        state: TcpState::None,
                        inactive: true,
                        no_output: matches!(forward, Forward::Dr | Forward::Tun(_)),
                        control,
                        n_control: 0,
                        persist_secs: 0,
                        dest_id: c.dest_id,
                    };
                    let deadline = m.deadline(m.timeout_of(&e));
                    m.entries.insert(h, MEntry { deadline, ..e });
                    if let Some(tp) = control {
                        let secs = m.entries[&tp].persist_secs;
                        let d = m.deadline(secs);
                        let te = m.entries.get_mut(&tp).unwrap();
                        te.n_control += 1;
                        te.deadline = d;
                    }
                }
            }
            Op::InsertTemplate {
                client,
                vip,
                rs,
                secs,
            } => {
                let key =
                    TemplateKey::for_packet(Proto::Tcp, addr(1, client), 32, addr(2, vip), 80, 80);
                let nt = NewTemplate {
                    key,
                    raddr: addr(3, rs),
                    rport: 8080,
                    dest_id: u32::from(rs),
                    svc_id: u32::from(vip),
                    timeout_secs: secs,
                };
                let in_key = FlowKey::new(Proto::Tcp, key.client_net, 0, key.vaddr, key.vport);
                let exists = m
                    .entries
                    .values()
                    .any(|e| e.template && !e.invalid && e.in_key == in_key);
                let got = t.insert_template(&nt, m.now);
                if exists {
                    prop_assert_eq!(got, Err(ConnError::Exists));
                } else if m.entries.len() as u32 == CAPACITY {
                    prop_assert_eq!(got, Err(ConnError::Full));
                    refused += 1;
                } else {
                    let h = got.map_err(|e| TestCaseError::fail(format!("template: {e}")))?;
                    m.seq += 1;
                    let deadline = m.deadline(secs);
                    m.entries.insert(
                        h,
                        MEntry {
                            template: true,
                            invalid: false,
                            proto: Proto::Tcp,
                            in_key,
                            out_key: None,
                            deadline,
                            seq: m.seq,
                            state: TcpState::None,
                            inactive: true,
                            no_output: false,
                            control: None,
                            n_control: 0,
                            persist_secs: secs,
                            dest_id: nt.dest_id,
                        },
                    );
                }
            }
            Op::LookupIn {
                proto,
                client,
                cport,
                vip,
            } => {
                let key = FlowKey::new(proto_of(proto), addr(1, client), cport, addr(2, vip), 80);
                check_lookup(&t, &m, &key)?;
            }
            Op::LookupOut {
                proto,
                rs,
                dst_is_local,
                dst,
                dport,
            } => {
                let d = if dst_is_local {
                    addr(9, 1)
                } else {
                    addr(1, dst)
                };
                let key = FlowKey::new(proto_of(proto), addr(3, rs), 8080, d, dport);
                check_lookup(&t, &m, &key)?;
            }
            Op::LookupTemplate { client, vip } => {
                let key =
                    TemplateKey::for_packet(Proto::Tcp, addr(1, client), 32, addr(2, vip), 80, 80);
                let in_key = FlowKey::new(Proto::Tcp, key.client_net, 0, key.vaddr, 80);
                let want = m
                    .entries
                    .iter()
                    .find(|(_, e)| e.template && !e.invalid && e.in_key == in_key)
                    .map(|(h, _)| *h);
                prop_assert_eq!(t.lookup_template(&key), want);
            }
            Op::LookupBurst { keys } => {
                let keys: Vec<FlowKey<Ipv4Addr>> = keys
                    .into_iter()
                    .map(|(reply, a, b, port)| {
                        if reply {
                            FlowKey::new(Proto::Tcp, addr(3, b), 8080, addr(1, a), port)
                        } else {
                            FlowKey::new(Proto::Udp, addr(1, a), port, addr(2, b % 2), 80)
                        }
                    })
                    .collect();
                let mut got = vec![None; keys.len()];
                t.lookup_burst(&keys, &mut got);
                for (key, answer) in keys.iter().zip(got) {
                    prop_assert_eq!(answer, expected_lookup(&m, key), "burst key {:?}", key);
                }
            }
            Op::Update { pick, out, flags } => {
                let conns = sorted_handles(&m, false);
                let Some(&h) = conns.get(pick % conns.len().max(1)) else {
                    continue;
                };
                let dir = if out { Direction::Out } else { Direction::In };
                let flags = TcpFlags::from_bits(flags);
                let got = t.update(h, dir, flags, m.now);
                let e = m.entries.get(&h).unwrap().clone();
                let state_of = |e: &MEntry| match e.proto {
                    Proto::Tcp => ConnState::Tcp(e.state),
                    Proto::Udp => ConnState::Udp,
                    Proto::Icmp => ConnState::Icmp,
                };
                let mut ne = e.clone();
                let mut activity = Activity::Unchanged;
                if e.proto == Proto::Tcp {
                    let table = if e.no_output && !out {
                        TcpDir::InputOnly
                    } else if out {
                        TcpDir::Output
                    } else {
                        TcpDir::Input
                    };
                    if out {
                        ne.no_output = false;
                    }
                    let new = next_state(e.state, table, flags);
                    if new != e.state {
                        if !e.inactive && !new.is_active() {
                            ne.inactive = true;
                            activity = Activity::NowInactive;
                        } else if e.inactive && new.is_active() {
                            ne.inactive = false;
                            activity = Activity::NowActive;
                        }
                    }
                    ne.state = new;
                }
                ne.deadline = m.deadline(m.timeout_of(&ne));
                prop_assert_eq!(
                    got,
                    Ok(Transition {
                        from: state_of(&e),
                        to: state_of(&ne),
                        activity
                    })
                );
                m.entries.insert(h, ne);
            }
            Op::Remove { pick } => {
                let mut all: Vec<ConnHandle> = m.entries.keys().copied().collect();
                all.sort();
                let Some(&h) = all.get(pick % all.len().max(1)) else {
                    continue;
                };
                let e = m.entries[&h].clone();
                let got = t.remove(h, m.now);
                if e.template && e.n_control > 0 {
                    prop_assert_eq!(got, Err(ConnError::TemplateInUse));
                } else {
                    let info = got.map_err(|e| TestCaseError::fail(format!("remove: {e}")))?;
                    prop_assert_eq!(info.handle, h);
                    prop_assert_eq!(info.dest_id, e.dest_id);
                    prop_assert_eq!(info.expires_ms, m.expires_ms(&e));
                    m.release(h);
                    prop_assert_eq!(
                        t.update(h, Direction::In, TcpFlags::ACK, m.now),
                        Err(ConnError::StaleHandle)
                    );
                }
            }
            Op::Invalidate { pick } => {
                let templates = sorted_handles(&m, true);
                let Some(&h) = templates.get(pick % templates.len().max(1)) else {
                    continue;
                };
                prop_assert_eq!(t.invalidate_template(h), Ok(()));
                m.entries.get_mut(&h).unwrap().invalid = true;
            }
            Op::Advance { ms } => m.now += ms,
            Op::Expire { budget } => {
                let mut events = Vec::new();
                let s = t.expire(m.now, budget, |e| events.push(e));
                prop_assert!(events.len() as u64 <= u64::from(budget));
                prop_assert_eq!(s.examined <= budget, true);
                let now_tick = m.now_tick();
                for ev in events {
                    match ev {
                        Expiry::Expired(info) => {
                            let e = m.entries.get(&info.handle).cloned();
                            let Some(e) = e else {
                                return Err(TestCaseError::fail("expired an unknown entry"));
                            };
                            prop_assert!(
                                e.deadline <= now_tick,
                                "expired early: {} > {}",
                                e.deadline,
                                now_tick
                            );
                            prop_assert_eq!(info.template, e.template);
                            prop_assert_eq!(info.active, !e.template && !e.inactive);
                            if e.template {
                                prop_assert_eq!(e.n_control, 0);
                            }
                            m.release(info.handle);
                        }
                        Expiry::TemplateKept(info) => {
                            let d = m.deadline(TEMPLATE_REARM_SECS);
                            let e = m.entries.get_mut(&info.handle).unwrap();
                            prop_assert!(e.template && e.n_control > 0 && e.deadline <= now_tick);
                            e.persist_secs = TEMPLATE_REARM_SECS;
                            e.deadline = d;
                        }
                    }
                }
                if !s.backlog {
                    for (h, e) in &m.entries {
                        prop_assert!(
                            e.deadline > now_tick,
                            "{h:?} due at {} but kept at {now_tick}",
                            e.deadline
                        );
                    }
                }
                if budget == u32::MAX {
                    prop_assert!(!s.backlog);
                }
            }
            Op::List => {
                let mut got: Vec<(ConnHandle, &'static str, u64, u32)> = t
                    .iter(m.now)
                    .map(|i| (i.handle, i.state_name(), i.expires_ms, i.n_control))
                    .collect();
                got.sort();
                let mut want: Vec<(ConnHandle, &'static str, u64, u32)> = m
                    .entries
                    .iter()
                    .map(|(h, e)| {
                        let name = match e.proto {
                            Proto::Tcp => e.state.name(),
                            Proto::Udp => "UDP",
                            Proto::Icmp => "ICMP",
                        };
                        (*h, name, m.expires_ms(e), e.n_control)
                    })
                    .collect();
                want.sort();
                prop_assert_eq!(got, want);
            }
        }
        prop_assert_eq!(t.len() as usize, m.entries.len());
        prop_assert_eq!(t.stats().refused_full, refused);
        prop_assert_eq!(
            t.stats().templates as usize,
            m.entries.values().filter(|e| e.template).count()
        );
        if let Err(e) = t.verify_integrity() {
            return Err(TestCaseError::fail(e));
        }
    }
    Ok(())
}

fn expected_lookup(m: &Model, key: &FlowKey<Ipv4Addr>) -> Option<(ConnHandle, Direction)> {
    let by_in = m
        .entries
        .iter()
        .find(|(_, e)| !e.template && e.in_key == *key)
        .map(|(h, _)| (*h, Direction::In));
    let by_out = m
        .entries
        .iter()
        .filter(|(_, e)| !e.template && e.out_key == Some(*key))
        .max_by_key(|(_, e)| e.seq)
        .map(|(h, _)| (*h, Direction::Out));
    by_in.or(by_out)
}

fn check_lookup(
    t: &ConnTable<Ipv4Addr>,
    m: &Model,
    key: &FlowKey<Ipv4Addr>,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(t.lookup(key), expected_lookup(m, key), "key {:?}", key);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn table_matches_the_model(
        ops in proptest::collection::vec(op(), 1..160),
        tick_ms in prop_oneof![Just(100u32), Just(250), Just(1000)],
        slots in prop_oneof![Just(8u32), Just(64)],
    ) {
        run(ops, tick_ms, slots, 1_000_000)?;
    }

    /// The same, with time starting just before the 32-bit tick counter wraps.
    #[test]
    fn table_matches_the_model_across_tick_wrap(
        ops in proptest::collection::vec(op(), 1..160),
    ) {
        let start = (u64::from(u32::MAX) - 40) * 100;
        run(ops, 100, 16, start)?;
    }
}
