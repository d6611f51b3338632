//! The forwarding stage inside a real worker loop over in-memory ports: packets in, packets
//! out, every field and checksum checked.
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;
use std::sync::Arc;

use crossbeam_channel::{Sender, unbounded};

use super::*;
use crate::conn::{FwdMethod, Proto};
use crate::neigh::RouteTableV4;
use crate::neigh::route::v4_route;
use crate::port::pcap::{BufPool, PcapBuf};
use crate::sched::SchedulerKind;
use crate::stats::{SlotTable, WorkerCounters};
use crate::testutil::*;
use crate::worker::{
    ClientAddrMode, DestConf, HandOffEnds, Persistence, PortView, ServiceConf, ServiceTable,
    Snapshot, TunnelConf, Worker, WorkerSetup,
};

pub const D_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
pub const R_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
pub const RS1_MAC: [u8; 6] = [2, 0, 0, 0, 0, 11];
pub const RS2_MAC: [u8; 6] = [2, 0, 0, 0, 0, 12];
pub const D_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const R_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const RS1: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 11);
pub const RS2: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 12);
pub const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
pub const LADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 200);
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 2);
pub const CLIENT2: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 3);

const SYN: u16 = 0x02;
const ACK: u16 = 0x10;
const PSH: u16 = 0x08;
const SYNACK: u16 = 0x12;

pub fn dest(id: u32, addr: Ipv4Addr, port: u16, weight: u32, forward: FwdMethod) -> DestConf {
    DestConf {
        id,
        stats_slot: id,
        addr,
        port,
        weight,
        upper: 0,
        lower: 0,
        forward,
        tunnel: TunnelConf::default(),
    }
}

pub fn service(
    id: u32,
    proto: Proto,
    port: u16,
    sched: SchedulerKind,
    dests: Vec<DestConf>,
) -> ServiceConf {
    ServiceConf {
        id,
        stats_slot: id,
        proto,
        vip: VIP,
        port,
        scheduler: sched,
        flags: vec![],
        persistence: None,
        one_packet: false,
        client_addr: ClientAddrMode::None,
        laddrs: vec![LADDR],
        dests,
    }
}

pub fn snapshot(generation: u64, services: Vec<ServiceConf>, static_rs: bool) -> Snapshot {
    let mut port = PortView::network("dp0", D_MAC, vec![D_IP]);
    port.prefix_len = vec![24];
    let mut neigh = vec![(0, R_IP, R_MAC)];
    if static_rs {
        neigh.push((0, RS1, RS1_MAC));
        neigh.push((0, RS2, RS2_MAC));
    }
    Snapshot {
        generation,
        ports: vec![port],
        services: ServiceTable::new(services),
        routes: RouteTableV4::build(&[
            v4_route(Ipv4Addr::new(10, 0, 0, 0), 24, 0, None),
            v4_route(Ipv4Addr::UNSPECIFIED, 0, 0, Some(R_IP)),
        ])
        .unwrap(),
        static_neighbours: neigh,
        timeouts: Default::default(),
        workers: 1,
        steer_prefix: 32,
    }
}

pub struct Rig {
    pub worker: Worker<MemQueue, ForwardStage<PcapBuf>>,
    pub updates: Sender<Arc<Snapshot>>,
    /// Control-plane requests (neighbour and connection dumps, gratuitous ARP).
    pub commands: Sender<StageCommand>,
    pub slots: Arc<SlotTable>,
    /// Capture time of the next packet (ns).
    pub now: u64,
}

impl Rig {
    pub fn new(snap: Snapshot) -> Rig {
        let pool = BufPool::new(512);
        let slots = Arc::new(SlotTable::new(64));
        let (cmd_tx, cmd_rx) = unbounded();
        let mut cfg = FwdConfig::new(0, 1);
        cfg.conn.capacity = 1024;
        cfg.conn.wheel_slots = 1024;
        let stage = ForwardStage::new(cfg, slots.clone(), cmd_rx, NeighSync::solo()).unwrap();
        let (tx, rx) = unbounded();
        let worker = Worker::new(WorkerSetup {
            id: 0,
            queues: vec![MemQueue::new(&pool)],
            stage,
            snapshot: Arc::new(snap),
            updates: rx,
            counters: Arc::new(WorkerCounters::default()),
            handoff: HandOffEnds::none(),
            burst: 32,
        });
        Rig {
            worker,
            updates: tx,
            commands: cmd_tx,
            slots,
            now: 1_000_000_000,
        }
    }

    /// Receives `frame` on port 0 and returns what was transmitted.
    pub fn send(&mut self, frame: Vec<u8>) -> Vec<Vec<u8>> {
        self.now += 1_000_000;
        let q = &mut self.worker.queues_mut()[0];
        q.input.push((Some(self.now), frame));
        let before = q.out.len();
        self.worker.poll();
        self.worker.queues()[0].out[before..].to_vec()
    }

    pub fn drops(&self, r: DropReason) -> u64 {
        self.worker.counters().read().drops(r)
    }
}

/// `frame` (Ethernet, IPv4 without options) as the director forwards it, IPVS's
/// `decrement_ttl`: TTL one less, IPv4 header checksum recomputed from scratch here (the
/// stage updates it incrementally — two derivations of the same bytes).
pub fn forwarded(frame: &[u8]) -> Vec<u8> {
    let mut f = frame.to_vec();
    f[14 + crate::wire::ipv4::field::TTL] -= 1;
    crate::wire::ipv4::Packet::new_unchecked(&mut f[14..]).fill_checksum();
    f
}

fn from_router(src: Ipv4Addr, dst: Ipv4Addr) -> L2L3 {
    L2L3 {
        src_mac: R_MAC,
        dst_mac: D_MAC,
        src,
        dst,
        ttl: 63,
        df: true,
    }
}

fn from_rs(mac: [u8; 6], src: Ipv4Addr, dst: Ipv4Addr) -> L2L3 {
    L2L3 {
        src_mac: mac,
        dst_mac: D_MAC,
        src,
        dst,
        ttl: 64,
        df: true,
    }
}

#[test]
fn dr_round_robin_changes_only_ethernet_and_ttl() {
    let svc = service(
        1,
        Proto::Tcp,
        80,
        SchedulerKind::Rr,
        vec![
            dest(10, RS1, 80, 1, FwdMethod::Dr),
            dest(11, RS2, 80, 1, FwdMethod::Dr),
        ],
    );
    let mut rig = Rig::new(snapshot(1, vec![svc], true));
    let syn1 = tcp_frame(&from_router(CLIENT, VIP), 40000, 80, SYN, 100, 0, b"");
    let out = rig.send(syn1.clone());
    assert_eq!(out.len(), 1);
    let s = seen(&out[0]);
    assert_eq!((s.dst_mac, s.src_mac), (RS1_MAC, D_MAC));
    assert_eq!((s.src, s.dst, s.sport, s.dport), (CLIENT, VIP, 40000, 80));
    // Only the Ethernet header changed, and the TTL (63 -> 62) with the header checksum.
    assert_eq!(out[0][12..], forwarded(&syn1)[12..]);
    assert_eq!(out[0][14 + 8], 62);
    let out = rig.send(tcp_frame(
        &from_router(CLIENT2, VIP),
        40001,
        80,
        SYN,
        7,
        0,
        b"",
    ));
    assert_eq!(seen(&out[0]).dst_mac, RS2_MAC);
    // The first connection's data stays on rs1.
    let out = rig.send(tcp_frame(
        &from_router(CLIENT, VIP),
        40000,
        80,
        ACK | PSH,
        101,
        1,
        b"GET /",
    ));
    let s = seen(&out[0]);
    assert_eq!(s.dst_mac, RS1_MAC);
    assert_eq!(s.payload, b"GET /");
    let c = rig.slots.get(10).unwrap().read();
    assert_eq!((c.conns, c.inpkts), (1, 2));
    assert_eq!(rig.slots.get(1).unwrap().read().conns, 2);
    assert_eq!(rig.worker.stage().conns().len(), 2);
}

#[test]
fn nat_rewrites_both_directions() {
    let svc = service(
        1,
        Proto::Tcp,
        80,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 8080, 1, FwdMethod::Nat)],
    );
    let mut rig = Rig::new(snapshot(1, vec![svc], true));
    let out = rig.send(tcp_frame(
        &from_router(CLIENT, VIP),
        40000,
        80,
        SYN,
        100,
        0,
        b"",
    ));
    let s = seen(&out[0]);
    assert_eq!((s.dst_mac, s.dst, s.dport), (RS1_MAC, RS1, 8080));
    assert_eq!((s.src, s.sport), (CLIENT, 40000));
    // The real server answers through the director: back to VIP:80, to the router's MAC.
    let out = rig.send(tcp_frame(
        &from_rs(RS1_MAC, RS1, CLIENT),
        8080,
        40000,
        SYNACK,
        5000,
        101,
        b"",
    ));
    let s = seen(&out[0]);
    assert_eq!((s.src, s.sport, s.dst, s.dport), (VIP, 80, CLIENT, 40000));
    assert_eq!(s.dst_mac, R_MAC);
    assert_eq!(s.seq, 5000);
    let c = rig.slots.get(10).unwrap().read();
    assert_eq!((c.inpkts, c.outpkts), (1, 1));
    // Established after the client's ACK: ActiveConn 1.
    rig.send(tcp_frame(
        &from_router(CLIENT, VIP),
        40000,
        80,
        ACK,
        101,
        5001,
        b"",
    ));
    assert_eq!(rig.slots.get(10).unwrap().read().active, 1);
}

#[test]
fn what_is_not_a_new_connection_is_dropped_with_its_reason() {
    let svc = service(
        1,
        Proto::Tcp,
        80,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 80, 1, FwdMethod::Dr)],
    );
    let mut rig = Rig::new(snapshot(1, vec![svc], true));
    // TCP without SYN.
    assert!(
        rig.send(tcp_frame(&from_router(CLIENT, VIP), 1, 80, ACK, 1, 1, b"x"))
            .is_empty()
    );
    assert_eq!(rig.drops(DropReason::TcpNoSyn), 1);
    // The VIP, another port.
    assert!(
        rig.send(tcp_frame(&from_router(CLIENT, VIP), 1, 81, SYN, 1, 0, b""))
            .is_empty()
    );
    assert_eq!(rig.drops(DropReason::NoService), 1);
    // UDP to the VIP: no UDP service.
    assert!(
        rig.send(udp_frame(&from_router(CLIENT, VIP), 5, 80, b"q"))
            .is_empty()
    );
    assert_eq!(rig.drops(DropReason::NoService), 2);
    // Not ours at all.
    assert!(
        rig.send(tcp_frame(
            &from_router(CLIENT, Ipv4Addr::new(10, 0, 0, 99)),
            1,
            80,
            SYN,
            1,
            0,
            b""
        ))
        .is_empty()
    );
    assert_eq!(rig.drops(DropReason::NotForUs), 1);
    assert_eq!(rig.worker.stage().conns().len(), 0);
}

#[test]
fn quiescent_servers_take_no_new_connections_but_keep_theirs() {
    let two = |w2| {
        service(
            1,
            Proto::Tcp,
            80,
            SchedulerKind::Rr,
            vec![
                dest(10, RS1, 80, 1, FwdMethod::Dr),
                dest(11, RS2, 80, w2, FwdMethod::Dr),
            ],
        )
    };
    let mut rig = Rig::new(snapshot(1, vec![two(1)], true));
    rig.send(tcp_frame(
        &from_router(CLIENT, VIP),
        1000,
        80,
        SYN,
        1,
        0,
        b"",
    ));
    let out = rig.send(tcp_frame(
        &from_router(CLIENT, VIP),
        1001,
        80,
        SYN,
        1,
        0,
        b"",
    ));
    assert_eq!(seen(&out[0]).dst_mac, RS2_MAC);
    // rs2 goes to weight 0.
    rig.updates
        .send(Arc::new(snapshot(2, vec![two(0)], true)))
        .unwrap();
    for p in 2000..2004 {
        let out = rig.send(tcp_frame(&from_router(CLIENT, VIP), p, 80, SYN, 1, 0, b""));
        assert_eq!(seen(&out[0]).dst_mac, RS1_MAC);
    }
    // Its existing connection still flows.
    let out = rig.send(tcp_frame(
        &from_router(CLIENT, VIP),
        1001,
        80,
        ACK,
        2,
        1,
        b"more",
    ));
    assert_eq!(seen(&out[0]).dst_mac, RS2_MAC);
    // Removed from the service altogether: still flows.
    let one = service(
        1,
        Proto::Tcp,
        80,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 80, 1, FwdMethod::Dr)],
    );
    rig.updates
        .send(Arc::new(snapshot(3, vec![one], true)))
        .unwrap();
    let out = rig.send(tcp_frame(
        &from_router(CLIENT, VIP),
        1001,
        80,
        ACK,
        6,
        1,
        b"again",
    ));
    assert_eq!(seen(&out[0]).dst_mac, RS2_MAC);
}

#[test]
fn persistence_keeps_a_client_on_its_server() {
    let mut svc = service(
        1,
        Proto::Tcp,
        80,
        SchedulerKind::Rr,
        vec![
            dest(10, RS1, 80, 1, FwdMethod::Dr),
            dest(11, RS2, 80, 1, FwdMethod::Dr),
        ],
    );
    svc.persistence = Some(Persistence {
        timeout_s: 300,
        netmask: 32,
    });
    let mut rig = Rig::new(snapshot(1, vec![svc], true));
    let first =
        seen(&rig.send(tcp_frame(&from_router(CLIENT, VIP), 1, 80, SYN, 1, 0, b""))[0]).dst_mac;
    for p in 2..6 {
        let m =
            seen(&rig.send(tcp_frame(&from_router(CLIENT, VIP), p, 80, SYN, 1, 0, b""))[0]).dst_mac;
        assert_eq!(m, first);
    }
    // Another client gets the other server.
    let other =
        seen(&rig.send(tcp_frame(&from_router(CLIENT2, VIP), 1, 80, SYN, 1, 0, b""))[0]).dst_mac;
    assert_ne!(other, first);
    assert_eq!(rig.slots.get(1).unwrap().read().persist, 2);
}

#[test]
fn unknown_next_hops_are_resolved_with_arp_and_packets_held() {
    let svc = service(
        1,
        Proto::Udp,
        53,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 53, 1, FwdMethod::Nat)],
    );
    let mut rig = Rig::new(snapshot(1, vec![svc], false));
    let out = rig.send(udp_frame(&from_router(CLIENT, VIP), 5353, 53, b"query"));
    // Held, and an ARP request for rs1 from the director's address went out.
    assert_eq!(out.len(), 1);
    let arp = crate::wire::arp::Packet::new_checked(&out[0][14..42]).unwrap();
    assert_eq!(arp.target_ip(), RS1);
    assert_eq!(arp.sender_ip(), D_IP);
    assert_eq!(&out[0][0..6], &[0xff; 6]);
    // The reply releases the held datagram, rewritten for rs1.
    let out = rig.send(arp_frame(true, RS1_MAC, RS1, D_MAC, D_IP));
    assert_eq!(out.len(), 1);
    let s = seen(&out[0]);
    assert_eq!(
        (s.dst_mac, s.dst, s.payload.as_slice()),
        (RS1_MAC, RS1, &b"query"[..])
    );
}

#[test]
fn arp_and_echo_for_a_vip_are_answered() {
    let svc = service(
        1,
        Proto::Tcp,
        80,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 80, 1, FwdMethod::Dr)],
    );
    let mut rig = Rig::new(snapshot(1, vec![svc], true));
    let out = rig.send(arp_frame(false, R_MAC, R_IP, [0; 6], VIP));
    assert_eq!(out.len(), 1);
    let a = crate::wire::arp::Packet::new_checked(&out[0][14..42]).unwrap();
    assert_eq!(a.sender_ip(), VIP);
    assert_eq!(a.sender_mac().0, D_MAC);
    assert_eq!(&out[0][0..6], &R_MAC);
    // FULLNAT local addresses too.
    let out = rig.send(arp_frame(false, R_MAC, R_IP, [0; 6], LADDR));
    assert_eq!(out.len(), 1);
    // Echo to the VIP: answered, routed back to the client through the router.
    let out = rig.send(echo_frame(&from_router(CLIENT, VIP), 7, 1));
    assert_eq!(out.len(), 1);
    let ip = crate::wire::ipv4::Packet::new_checked(&out[0][14..]).unwrap();
    assert_eq!((ip.src(), ip.dst()), (VIP, CLIENT));
    let m = crate::wire::icmp::Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(m.msg_type(), crate::wire::icmp::Message::EchoReply);
    assert!(m.verify_checksum());
    assert_eq!(&out[0][0..6], &R_MAC);
    // Gratuitous ARP on request of the control plane (VRRP takeover).
    rig.commands
        .send(StageCommand::Garp {
            port: 0,
            addr: VIP,
            count: 2,
        })
        .unwrap();
    let out = rig.send(vec![0; 4]);
    let garps: Vec<_> = out.iter().filter(|f| f[12..14] == [8, 6]).collect();
    assert_eq!(garps.len(), 2);
    let a = crate::wire::arp::Packet::new_checked(&garps[0][14..42]).unwrap();
    assert!(a.is_gratuitous());
    assert_eq!((a.sender_ip(), a.target_ip()), (VIP, VIP));
    // Connection listing.
    let (tx, rx) = unbounded();
    rig.commands
        .send(StageCommand::DumpConns { reply: tx })
        .unwrap();
    rig.send(vec![0; 4]);
    assert!(rx.try_recv().unwrap().is_empty());
}

#[test]
fn fullnat_rewrites_both_addresses_with_reproducible_local_ports() {
    let svc = service(
        1,
        Proto::Tcp,
        80,
        SchedulerKind::Rr,
        vec![dest(10, RS1, 8080, 1, FwdMethod::FullNat)],
    );
    let mut rig = Rig::new(snapshot(1, vec![svc], true));
    let out = rig.send(tcp_frame(
        &from_router(CLIENT, VIP),
        40000,
        80,
        SYN,
        100,
        0,
        b"",
    ));
    let s = seen(&out[0]);
    assert_eq!((s.src, s.sport, s.dst, s.dport), (LADDR, 1024, RS1, 8080));
    let out = rig.send(tcp_frame(
        &from_router(CLIENT2, VIP),
        40000,
        80,
        SYN,
        100,
        0,
        b"",
    ));
    assert_eq!(seen(&out[0]).sport, 1025);
    // The reply to the local address goes back to the first client from the VIP.
    let out = rig.send(tcp_frame(
        &from_rs(RS1_MAC, RS1, LADDR),
        8080,
        1024,
        SYNACK,
        9,
        101,
        b"",
    ));
    let s = seen(&out[0]);
    assert_eq!((s.src, s.sport, s.dst, s.dport), (VIP, 80, CLIENT, 40000));
    assert_eq!(s.dst_mac, R_MAC);
}
