//! Behaviour of the connection table through its public API: both-direction lookup, the
//! TCP state machine with the activity report, expiry exactness, persistence templates,
//! capacity, listings and IPv6.

use std::net::{Ipv4Addr, Ipv6Addr};

use dataplane::conn::*;

const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const VIP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const RS: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
const LADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 250);

fn table(capacity: u32) -> ConnTable<Ipv4Addr> {
    ConnTable::new(&ConnTableConfig {
        capacity,
        tick_ms: 100,
        wheel_slots: 256,
        hash_seed: 7,
        timeouts: Timeouts::default(),
    })
    .unwrap()
}

fn conn(proto: Proto, cport: u16, forward: Forward<Ipv4Addr>) -> NewConn<Ipv4Addr> {
    NewConn {
        proto,
        caddr: CLIENT,
        cport,
        vaddr: VIP,
        vport: 80,
        raddr: RS,
        rport: 8080,
        forward,
        dest_id: 3,
        svc_id: 1,
        flags: ConnFlags::default(),
        control: None,
    }
}

fn drain(t: &mut ConnTable<Ipv4Addr>, now: u64) -> Vec<Expiry<Ipv4Addr>> {
    let mut v = Vec::new();
    t.expire(now, u32::MAX, |e| v.push(e));
    v
}

fn expired_handles(events: &[Expiry<Ipv4Addr>]) -> Vec<ConnHandle> {
    events
        .iter()
        .filter_map(|e| match e {
            Expiry::Expired(i) => Some(i.handle),
            Expiry::TemplateKept(_) => None,
        })
        .collect()
}

#[test]
fn nat_connection_is_found_from_both_sides() {
    let mut t = table(16);
    let h = t
        .insert(&conn(Proto::Tcp, 40000, Forward::Nat), 1000)
        .unwrap();
    let from_client = FlowKey::new(Proto::Tcp, CLIENT, 40000, VIP, 80);
    let from_server = FlowKey::new(Proto::Tcp, RS, 8080, CLIENT, 40000);
    assert_eq!(t.lookup(&from_client), Some((h, Direction::In)));
    assert_eq!(t.lookup(&from_server), Some((h, Direction::Out)));
    // Near misses: another client port, the VIP answering, another protocol.
    assert_eq!(
        t.lookup(&FlowKey::new(Proto::Tcp, CLIENT, 40001, VIP, 80)),
        None
    );
    assert_eq!(
        t.lookup(&FlowKey::new(Proto::Tcp, VIP, 80, CLIENT, 40000)),
        None
    );
    assert_eq!(
        t.lookup(&FlowKey::new(Proto::Udp, CLIENT, 40000, VIP, 80)),
        None
    );
    let c = t.get(h).unwrap();
    assert_eq!(c.real_server(), (RS, 8080));
    assert_eq!(c.method(), FwdMethod::Nat);
    assert_eq!((c.dest_id(), c.svc_id()), (3, 1));
    assert_eq!(c.local(), None);
    t.verify_integrity().unwrap();
}

#[test]
fn fullnat_reply_side_is_keyed_on_the_local_address() {
    let mut t = table(16);
    let fwd = Forward::FullNat {
        laddr: LADDR,
        lport: 5001,
    };
    let h = t.insert(&conn(Proto::Tcp, 40000, fwd), 0).unwrap();
    assert_eq!(
        t.lookup(&FlowKey::new(Proto::Tcp, RS, 8080, LADDR, 5001)),
        Some((h, Direction::Out))
    );
    assert_eq!(
        t.lookup(&FlowKey::new(Proto::Tcp, RS, 8080, CLIENT, 40000)),
        None
    );
    assert_eq!(t.get(h).unwrap().local(), Some((LADDR, 5001)));
    t.set_seq_delta(h, 0xffff_ff00).unwrap();
    t.set_flags(h, ConnFlags::PROXY_SENT).unwrap();
    let c = t.get(h).unwrap();
    assert_eq!(c.seq_delta(), 0xffff_ff00);
    assert!(c.flags().contains(ConnFlags::PROXY_SENT));
}

#[test]
fn tunnel_kind_is_kept() {
    let mut t = table(4);
    let h = t
        .insert(&conn(Proto::Tcp, 1, Forward::Tun(TunnelKind::Gue)), 0)
        .unwrap();
    assert_eq!(t.get(h).unwrap().method(), FwdMethod::Tun);
    assert_eq!(t.get(h).unwrap().tunnel(), Some(TunnelKind::Gue));
}

#[test]
fn duplicate_client_side_is_refused() {
    let mut t = table(16);
    t.insert(&conn(Proto::Tcp, 40000, Forward::Nat), 0).unwrap();
    assert_eq!(
        t.insert(&conn(Proto::Tcp, 40000, Forward::Dr), 0),
        Err(ConnError::Exists)
    );
    // Same ports over UDP are another connection.
    t.insert(&conn(Proto::Udp, 40000, Forward::Nat), 0).unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t.stats().refused_full, 0);
}

#[test]
fn a_full_table_refuses_and_counts() {
    let mut t = table(4);
    let hs: Vec<ConnHandle> = (0..4)
        .map(|p| t.insert(&conn(Proto::Udp, p, Forward::Nat), 0).unwrap())
        .collect();
    assert_eq!(
        t.insert(&conn(Proto::Udp, 9, Forward::Nat), 0),
        Err(ConnError::Full)
    );
    assert_eq!(
        t.insert(&conn(Proto::Udp, 10, Forward::Nat), 0),
        Err(ConnError::Full)
    );
    assert_eq!(t.stats().refused_full, 2);
    t.remove(hs[1], 0).unwrap();
    let h = t.insert(&conn(Proto::Udp, 9, Forward::Nat), 0).unwrap();
    assert_eq!(
        t.lookup(&FlowKey::new(Proto::Udp, CLIENT, 9, VIP, 80)),
        Some((h, Direction::In))
    );
    assert_eq!(
        t.lookup(&FlowKey::new(Proto::Udp, CLIENT, 1, VIP, 80)),
        None
    );
    t.verify_integrity().unwrap();
}

#[test]
fn nat_handshake_reports_activity_and_timeouts() {
    let mut t = table(16);
    let h = t.insert(&conn(Proto::Tcp, 40000, Forward::Nat), 0).unwrap();
    assert!(
        !t.get(h).unwrap().is_active(),
        "new connections count as inactive"
    );
    let tcp = ConnState::Tcp;
    let steps = [
        (
            Direction::In,
            TcpFlags::SYN,
            TcpState::SynRecv,
            Activity::NowActive,
            60,
        ),
        (
            Direction::Out,
            TcpFlags::SYN | TcpFlags::ACK,
            TcpState::SynRecv,
            Activity::Unchanged,
            60,
        ),
        (
            Direction::In,
            TcpFlags::ACK,
            TcpState::Established,
            Activity::Unchanged,
            900,
        ),
        (
            Direction::In,
            TcpFlags::FIN | TcpFlags::ACK,
            TcpState::CloseWait,
            Activity::NowInactive,
            60,
        ),
        (
            Direction::Out,
            TcpFlags::FIN | TcpFlags::ACK,
            TcpState::TimeWait,
            Activity::Unchanged,
            120,
        ),
    ];
    let mut prev = TcpState::None;
    for (i, (dir, flags, state, activity, secs)) in steps.into_iter().enumerate() {
        let now = 1000 * i as u64;
        let tr = t.update(h, dir, flags, now).unwrap();
        assert_eq!(
            tr,
            Transition {
                from: tcp(prev),
                to: tcp(state),
                activity
            },
            "step {i}"
        );
        let info = t.info_of(h, now).unwrap();
        assert_eq!(info.expires_secs(), secs, "step {i}");
        assert_eq!(info.state_name(), state.name());
        prev = state;
    }
}

#[test]
fn dr_uses_the_input_only_table_until_a_reply_is_seen() {
    let mut t = table(16);
    let dr = t.insert(&conn(Proto::Tcp, 1, Forward::Dr), 0).unwrap();
    let nat = t.insert(&conn(Proto::Tcp, 2, Forward::Nat), 0).unwrap();
    for h in [dr, nat] {
        t.update(h, Direction::In, TcpFlags::SYN, 0).unwrap();
        t.update(h, Direction::In, TcpFlags::ACK, 0).unwrap();
    }
    // ESTABLISHED + client FIN: INPUT-ONLY gives FIN_WAIT, INPUT gives CLOSE_WAIT.
    let fin = TcpFlags::FIN | TcpFlags::ACK;
    assert_eq!(
        t.update(dr, Direction::In, fin, 0).unwrap().to,
        ConnState::Tcp(TcpState::FinWait)
    );
    assert_eq!(
        t.update(nat, Direction::In, fin, 0).unwrap().to,
        ConnState::Tcp(TcpState::CloseWait)
    );
    // A DR connection that does see a reply switches to the INPUT table for good.
    let dr2 = t.insert(&conn(Proto::Tcp, 3, Forward::Dr), 0).unwrap();
    t.update(dr2, Direction::In, TcpFlags::SYN, 0).unwrap();
    t.update(dr2, Direction::Out, TcpFlags::SYN | TcpFlags::ACK, 0)
        .unwrap();
    t.update(dr2, Direction::In, TcpFlags::ACK, 0).unwrap();
    assert_eq!(
        t.update(dr2, Direction::In, fin, 0).unwrap().to,
        ConnState::Tcp(TcpState::CloseWait)
    );
}

#[test]
fn expiry_is_exact_to_the_tick() {
    // UDP timeout 300 s, tick 100 ms: present for every now < start + 300 s, gone by
    // start + 300 s + 100 ms, for starts on and off tick boundaries.
    for start in [0u64, 1, 99, 100, 1234, 987_654] {
        let mut t = table(4);
        let h = t.insert(&conn(Proto::Udp, 5, Forward::Nat), start).unwrap();
        t.update(h, Direction::In, TcpFlags::NONE, start).unwrap();
        let timeout = 300_000;
        let mut last_present = start;
        for now in [
            start + timeout / 2,
            start + timeout - 100,
            start + timeout - 1,
        ] {
            assert!(drain(&mut t, now).is_empty(), "start {start} now {now}");
            assert!(t.get(h).is_some());
            last_present = now;
        }
        let gone_at = start + timeout + 100;
        let events = drain(&mut t, gone_at);
        assert_eq!(expired_handles(&events), [h], "start {start}");
        assert!(t.get(h).is_none());
        assert!(last_present < start + timeout);
        // The exact boundary: the first tick boundary at or after start + timeout.
        let mut t = table(4);
        let h = t.insert(&conn(Proto::Udp, 5, Forward::Nat), start).unwrap();
        t.update(h, Direction::In, TcpFlags::NONE, start).unwrap();
        let boundary = (start + timeout).div_ceil(100) * 100;
        assert!(drain(&mut t, boundary - 1).is_empty());
        assert_eq!(expired_handles(&drain(&mut t, boundary)), [h]);
    }
}

#[test]
fn traffic_pushes_expiry_back() {
    let mut t = table(4);
    let h = t.insert(&conn(Proto::Udp, 5, Forward::Nat), 0).unwrap();
    // A packet every 200 s keeps a 300 s UDP timer alive across several wheel revolutions
    // (256 slots x 100 ms = 25.6 s horizon).
    for i in 0..10u64 {
        let now = i * 200_000;
        t.update(h, Direction::In, TcpFlags::NONE, now).unwrap();
        assert!(drain(&mut t, now + 199_999).is_empty());
    }
    let last = 9 * 200_000;
    assert!(drain(&mut t, last + 299_999).is_empty());
    assert_eq!(expired_handles(&drain(&mut t, last + 300_000)), [h]);
}

#[test]
fn a_shorter_timeout_takes_effect_at_once() {
    let mut t = table(4);
    let h = t.insert(&conn(Proto::Tcp, 5, Forward::Nat), 0).unwrap();
    t.update(h, Direction::In, TcpFlags::SYN, 0).unwrap();
    t.update(h, Direction::In, TcpFlags::ACK, 0).unwrap(); // ESTABLISHED: 900 s
    let tr = t.update(h, Direction::In, TcpFlags::RST, 1000).unwrap(); // CLOSE: 10 s
    assert_eq!(tr.to, ConnState::Tcp(TcpState::Close));
    assert_eq!(tr.activity, Activity::NowInactive);
    assert!(drain(&mut t, 10_999).is_empty());
    let events = drain(&mut t, 11_000);
    match events.as_slice() {
        [Expiry::Expired(info)] => {
            assert_eq!(info.handle, h);
            assert_eq!(info.state_name(), "CLOSE");
            assert!(!info.active);
            assert_eq!(info.dest_id, 3);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn expire_respects_its_budget() {
    let mut t = table(32);
    for p in 0..10 {
        t.insert(&conn(Proto::Udp, p, Forward::Nat), 0).unwrap();
    }
    let mut n = 0;
    let s = t.expire(400_000, 3, |_| n += 1);
    assert_eq!((s.examined, s.expired, n), (3, 3, 3));
    assert!(s.backlog);
    assert_eq!(t.len(), 7);
    let s = t.expire(400_000, 100, |_| n += 1);
    assert_eq!((s.expired, n), (7, 10));
    assert!(!s.backlog);
    assert!(t.is_empty());
    assert_eq!(t.stats().expired, 10);
    t.verify_integrity().unwrap();
}

#[test]
fn a_long_jump_in_time_expires_everything_due() {
    let mut t = table(8);
    t.insert(&conn(Proto::Udp, 1, Forward::Nat), 0).unwrap();
    t.insert(&conn(Proto::Icmp, 2, Forward::Nat), 0).unwrap();
    let keep = t
        .insert(&conn(Proto::Udp, 3, Forward::Nat), 3_000_000)
        .unwrap();
    let events = drain(&mut t, 3_000_000);
    assert_eq!(expired_handles(&events).len(), 2);
    assert_eq!(t.len(), 1);
    assert!(t.get(keep).is_some());
}

#[test]
fn ipvsadm_set_changes_new_timers() {
    let mut t = table(4);
    let mut to = *t.timeouts();
    to.set_ipvsadm(0, 0, 30);
    t.set_timeouts(to);
    let h = t.insert(&conn(Proto::Udp, 1, Forward::Nat), 0).unwrap();
    t.update(h, Direction::In, TcpFlags::NONE, 0).unwrap();
    assert_eq!(t.info_of(h, 0).unwrap().expires_secs(), 30);
    assert_eq!(t.timeouts().ipvsadm_triplet(), (900, 120, 30));
}

#[test]
fn icmp_echo_is_keyed_by_identifier() {
    let mut t = table(4);
    let mut c = conn(Proto::Icmp, 0x1234, Forward::Nat);
    c.vport = 0x1234;
    c.rport = 0x1234;
    let h = t.insert(&c, 0).unwrap();
    assert_eq!(
        t.lookup(&FlowKey::icmp_echo(CLIENT, VIP, 0x1234)),
        Some((h, Direction::In))
    );
    assert_eq!(
        t.lookup(&FlowKey::icmp_echo(RS, CLIENT, 0x1234)),
        Some((h, Direction::Out))
    );
    assert_eq!(t.lookup(&FlowKey::icmp_echo(CLIENT, VIP, 0x1235)), None);
    let info = t.info_of(h, 0).unwrap();
    assert_eq!((info.state_name(), info.expires_secs()), ("ICMP", 60));
}

fn template(vport: u16, timeout_secs: u32) -> NewTemplate<Ipv4Addr> {
    NewTemplate {
        key: TemplateKey::for_packet(Proto::Udp, CLIENT, 24, VIP, vport, vport),
        raddr: RS,
        rport: template_dest_port(vport, vport, 8080),
        dest_id: 3,
        svc_id: 1,
        timeout_secs,
    }
}

#[test]
fn a_template_controls_its_connections_and_is_kept_while_it_does() {
    let mut t = table(16);
    let tpl = t.insert_template(&template(80, 100), 0).unwrap();
    assert_eq!(
        t.insert_template(&template(80, 100), 0),
        Err(ConnError::Exists)
    );
    // Another client in the same /24 finds the same template.
    let key = TemplateKey::for_packet(Proto::Udp, Ipv4Addr::new(192, 0, 2, 99), 24, VIP, 80, 80);
    assert_eq!(t.lookup_template(&key), Some(tpl));
    // Templates are never found by packet lookups.
    assert_eq!(
        t.lookup(&FlowKey::new(
            Proto::Udp,
            Ipv4Addr::new(192, 0, 2, 0),
            0,
            VIP,
            80
        )),
        None
    );

    let mut c = conn(Proto::Udp, 5000, Forward::Nat);
    c.control = Some(tpl);
    let h = t.insert(&c, 0).unwrap();
    t.update(h, Direction::In, TcpFlags::NONE, 0).unwrap(); // UDP: 300 s
    assert_eq!(t.get(tpl).unwrap().n_control(), 1);
    assert_eq!(t.info_of(h, 0).unwrap().controlled_by, Some(tpl));
    assert_eq!(t.remove(tpl, 0), Err(ConnError::TemplateInUse));

    // At 100 s the template fires but controls the connection: kept for 60 s, repeatedly.
    let events = drain(&mut t, 100_000);
    assert!(
        matches!(events.as_slice(), [Expiry::TemplateKept(i)] if i.handle == tpl && i.expires_secs() == 60)
    );
    for at in [160_000, 220_000, 280_000] {
        let events = drain(&mut t, at);
        assert!(
            matches!(events.as_slice(), [Expiry::TemplateKept(_)]),
            "{at}: {events:?}"
        );
    }
    // The connection goes at 300 s and releases the template ...
    let events = drain(&mut t, 300_000);
    assert_eq!(expired_handles(&events), [h]);
    assert_eq!(t.get(tpl).unwrap().n_control(), 0);
    // ... which goes when its (now 60 s) timer fires next, at 340 s.
    assert!(drain(&mut t, 339_999).is_empty());
    let events = drain(&mut t, 340_000);
    match events.as_slice() {
        [Expiry::Expired(i)] => {
            assert!(i.template);
            assert_eq!(i.handle, tpl);
        }
        other => panic!("{other:?}"),
    }
    assert!(t.is_empty());
    t.verify_integrity().unwrap();
}

#[test]
fn a_new_connection_restarts_its_templates_timer() {
    let mut t = table(16);
    let tpl = t.insert_template(&template(80, 100), 0).unwrap();
    let mut c = conn(Proto::Udp, 1, Forward::Nat);
    c.control = Some(tpl);
    let h = t.insert(&c, 50_000).unwrap();
    assert_eq!(t.info_of(tpl, 50_000).unwrap().expires_secs(), 100);
    t.remove(h, 60_000).unwrap();
    assert!(drain(&mut t, 149_999).is_empty());
    let events = drain(&mut t, 150_000);
    assert_eq!(expired_handles(&events), [tpl]);
}

#[test]
fn an_invalidated_template_is_not_found_but_lives_on() {
    let mut t = table(16);
    let tpl = t.insert_template(&template(80, 100), 0).unwrap();
    let mut c = conn(Proto::Udp, 1, Forward::Nat);
    c.control = Some(tpl);
    let h = t.insert(&c, 0).unwrap();
    t.invalidate_template(tpl).unwrap();
    let key = template(80, 100).key;
    assert_eq!(t.lookup_template(&key), None);
    let info = t.info_of(tpl, 0).unwrap();
    assert!(info.invalidated);
    assert_eq!((info.cport, info.vport, info.rport), (0, 65535, 65535));
    // A replacement template with the same key can be made.
    let fresh = t.insert_template(&template(80, 100), 0).unwrap();
    assert_eq!(t.lookup_template(&key), Some(fresh));
    // The connection still holds the old one.
    assert_eq!(t.get(tpl).unwrap().n_control(), 1);
    assert_eq!(t.info_of(h, 0).unwrap().controlled_by, Some(tpl));
    assert_eq!(t.invalidate_template(h), Err(ConnError::NotTemplate));
    t.verify_integrity().unwrap();
}

#[test]
fn controlling_handle_must_be_a_template() {
    let mut t = table(8);
    let plain = t.insert(&conn(Proto::Udp, 1, Forward::Nat), 0).unwrap();
    let mut c = conn(Proto::Udp, 2, Forward::Nat);
    c.control = Some(plain);
    assert_eq!(t.insert(&c, 0), Err(ConnError::NotTemplate));
    t.remove(plain, 0).unwrap();
    assert_eq!(t.insert(&c, 0), Err(ConnError::StaleHandle));
    assert_eq!(
        t.update(plain, Direction::In, TcpFlags::SYN, 0),
        Err(ConnError::StaleHandle)
    );
    assert_eq!(t.remove(plain, 0), Err(ConnError::StaleHandle));
    let tpl = t.insert_template(&template(80, 10), 0).unwrap();
    assert_eq!(
        t.update(tpl, Direction::In, TcpFlags::SYN, 0),
        Err(ConnError::IsTemplate)
    );
}

#[test]
fn listing_shows_what_ipvsadm_lnc_shows() {
    let mut t = table(16);
    let tpl = t.insert_template(&template(80, 360), 0).unwrap();
    let mut c = conn(Proto::Tcp, 40000, Forward::Dr);
    c.control = Some(tpl);
    let h = t.insert(&c, 0).unwrap();
    t.update(h, Direction::In, TcpFlags::SYN, 0).unwrap();
    t.update(h, Direction::In, TcpFlags::ACK, 500).unwrap();
    let mut rows: Vec<String> = t
        .iter(30_500)
        .map(|i| {
            let s = i.expires_secs();
            format!(
                "{:<3} {:02}:{:02} {:<11} {}:{} {}:{} {}:{}",
                i.proto.name(),
                s / 60,
                s % 60,
                i.state_name(),
                i.caddr,
                i.cport,
                i.vaddr,
                i.vport,
                i.raddr,
                i.rport
            )
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            "TCP 14:30 ESTABLISHED 192.0.2.10:40000 198.51.100.1:80 10.0.0.5:8080",
            "UDP 05:29 UDP         192.0.2.0:0 198.51.100.1:80 10.0.0.5:8080",
        ]
    );
}

#[test]
fn bad_configurations_are_refused() {
    let ok = ConnTableConfig::default();
    let bad = [
        ConnTableConfig { capacity: 0, ..ok },
        ConnTableConfig {
            capacity: MAX_CAPACITY + 1,
            ..ok
        },
        ConnTableConfig { tick_ms: 0, ..ok },
        ConnTableConfig {
            tick_ms: MAX_TICK_MS + 1,
            ..ok
        },
        ConnTableConfig {
            wheel_slots: 1000,
            ..ok
        },
        ConnTableConfig {
            wheel_slots: 0,
            ..ok
        },
    ];
    for cfg in bad {
        assert!(ConnTable::<Ipv4Addr>::new(&cfg).is_err(), "{cfg:?}");
    }
}

#[test]
fn ipv6_is_the_same_table() {
    let mut t: ConnTable<Ipv6Addr> = ConnTable::new(&ConnTableConfig {
        capacity: 8,
        ..ConnTableConfig::default()
    })
    .unwrap();
    let c6: Ipv6Addr = "2001:db8::10".parse().unwrap();
    let v6: Ipv6Addr = "2001:db8:1::1".parse().unwrap();
    let r6: Ipv6Addr = "fd00::5".parse().unwrap();
    let l6: Ipv6Addr = "fd00::fe".parse().unwrap();
    let h = t
        .insert(
            &NewConn {
                proto: Proto::Tcp,
                caddr: c6,
                cport: 1,
                vaddr: v6,
                vport: 443,
                raddr: r6,
                rport: 443,
                forward: Forward::FullNat {
                    laddr: l6,
                    lport: 2000,
                },
                dest_id: 1,
                svc_id: 1,
                flags: ConnFlags::default(),
                control: None,
            },
            0,
        )
        .unwrap();
    assert_eq!(
        t.lookup(&FlowKey::new(Proto::Tcp, c6, 1, v6, 443)),
        Some((h, Direction::In))
    );
    assert_eq!(
        t.lookup(&FlowKey::new(Proto::Tcp, r6, 443, l6, 2000)),
        Some((h, Direction::Out))
    );
    let key = TemplateKey::for_packet(Proto::Tcp, c6, 64, v6, 443, 443);
    assert_eq!(key.client_net, "2001:db8::".parse::<Ipv6Addr>().unwrap());
    let mut n = 0;
    t.expire(2_000, u32::MAX, |_| n += 1); // NONE: 2 s
    assert_eq!(n, 1);
    assert!(t.is_empty());
}

#[test]
fn burst_lookup_answers_like_single_lookups() {
    let mut t = table(256);
    let mut keys = Vec::new();
    for p in 0..100u16 {
        let fwd = if p % 2 == 0 {
            Forward::Nat
        } else {
            Forward::FullNat {
                laddr: LADDR,
                lport: 1000 + p,
            }
        };
        t.insert(&conn(Proto::Tcp, 2000 + p, fwd), 0).unwrap();
        keys.push(FlowKey::new(Proto::Tcp, CLIENT, 2000 + p, VIP, 80));
        keys.push(if p % 2 == 0 {
            FlowKey::new(Proto::Tcp, RS, 8080, CLIENT, 2000 + p)
        } else {
            FlowKey::new(Proto::Tcp, RS, 8080, LADDR, 1000 + p)
        });
        keys.push(FlowKey::new(Proto::Tcp, CLIENT, 9000 + p, VIP, 80)); // miss
    }
    let mut got = vec![None; keys.len()];
    t.lookup_burst(&keys, &mut got);
    let want: Vec<_> = keys.iter().map(|k| t.lookup(k)).collect();
    assert_eq!(got, want);
    assert_eq!(got.iter().filter(|a| a.is_some()).count(), 200);
    // A shorter output slice bounds the work.
    let mut two = [None; 2];
    t.lookup_burst(&keys, &mut two);
    assert_eq!(two.to_vec(), want[..2].to_vec());
}
