//! Hot apply without loss: while a capture of 260 established connections replays through
//! two workers, a script of rvsadm changes edits, removes and adds services and real
//! servers between bursts (`rvsd replay --engine pcap --script`). Every packet of every
//! connection must come out, rewritten for the real server its connection was given at its
//! SYN — also after that server was quiesced or removed, and after its whole service was
//! removed — and nothing may be dropped.
//!
//! Traffic (times after the first packet):
//! - 200 DR connections to 10.0.0.100:80, starting every 20 ms from 0 s, each a SYN, an ACK
//!   and eight 100-byte segments every 0.5 s;
//! - 60 NAT connections to 10.0.0.101:80 (real server 10.0.0.13:8080), starting every 50 ms
//!   from 0 s, each a handshake with the server's SYN-ACK and eight exchanges of a client
//!   segment and a server segment every 0.5 s.
//!
//! Each packet goes into one of two inputs alternately, so about half of them arrive at the
//! worker that does not own their connection and are handed over; the replay runs in 1 ms
//! slices so the two inputs meet the workers in capture order.
mod common;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use common::frames::{ACK, PSH, SYN, Tcp, forwarded, parse_tcp, write_pcap};
use common::{TempDir, counter, frames, rvsd};

const PORT_MAC: [u8; 6] = [0x02, 0x70, 0x63, 0x61, 0x70, 0x00];
const ROUTER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const RS_MACS: [[u8; 6]; 3] = [
    [2, 0, 0, 0, 0, 11],
    [2, 0, 0, 0, 0, 12],
    [2, 0, 0, 0, 0, 13],
];
const DR_VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
const NAT_VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 101);
const RS3: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 13);
const T0: u64 = 1_700_000_000_000_000_000;
const MS: u64 = 1_000_000;

const SCRIPT: &str = "\
# Changes while connections run (seconds after the first packet).
0.7  -a -t 10.0.0.100:80 -r 10.0.0.13:80 -g -w 1
1.3  -e -t 10.0.0.100:80 -r 10.0.0.11:80 -g -w 0
1.9  -E -t 10.0.0.100:80 -s wlc
2.5  -d -t 10.0.0.100:80 -r 10.0.0.12:80
2.9  -A -t 10.0.0.102:80 -s rr
3.0  -a -t 10.0.0.102:80 -r 10.0.0.11:80 -g
3.3  -e -t 10.0.0.101:80 -r 10.0.0.13:8080 -m -w 5
3.6  --set 1000 100 200
4.1  -d -t 10.0.0.101:80 -r 10.0.0.13:8080
4.4  -D -t 10.0.0.102:80
4.8  -Z
5.2  -a -t 10.0.0.101:80 -r 10.0.0.13:8080 -m
6.0  -D -t 10.0.0.100:80
9.9  -Ln --stats
9.9  -Ln
";

/// One packet of the capture and what the test knows about it.
#[derive(Clone)]
struct Sent {
    at: u64,
    frame: Vec<u8>,
    /// The connection: (client address, client port).
    conn: (Ipv4Addr, u16),
    nat: bool,
    /// From the real server (NAT replies).
    reply: bool,
}

/// The state file path cannot be written: a replay must never persist a change (each
/// script change would fail if it tried).
fn config_toml() -> String {
    "[daemon]\nstate_file = \"/nonexistent/never-used\"\n\
     [dpdk]\nworkers = [0, 1]\nmbufs = 4095\n\
     [conn_table]\ncapacity_per_worker = 4096\n\
     [[ports]]\nname = \"dp0\"\ndevice = \"net_null0\"\naddresses = [\"10.0.0.2/24\"]\n\
     [[routes]]\nprefix = \"0.0.0.0/0\"\nvia = \"10.0.0.1\"\nport = \"dp0\"\n\
     [[neighbours]]\naddress = \"10.0.0.1\"\nmac = \"02:00:00:00:00:01\"\nport = \"dp0\"\n\
     [[neighbours]]\naddress = \"10.0.0.11\"\nmac = \"02:00:00:00:00:0b\"\nport = \"dp0\"\n\
     [[neighbours]]\naddress = \"10.0.0.12\"\nmac = \"02:00:00:00:00:0c\"\nport = \"dp0\"\n\
     [[neighbours]]\naddress = \"10.0.0.13\"\nmac = \"02:00:00:00:00:0d\"\nport = \"dp0\"\n\
     [[services]]\nprotocol = \"tcp\"\naddress = \"10.0.0.100\"\nport = 80\nscheduler = \"rr\"\nforward = \"dr\"\n\
     [[services.real_servers]]\naddress = \"10.0.0.11\"\n\
     [[services.real_servers]]\naddress = \"10.0.0.12\"\n\
     [[services]]\nprotocol = \"tcp\"\naddress = \"10.0.0.101\"\nport = 80\nscheduler = \"rr\"\nforward = \"nat\"\n\
     [[services.real_servers]]\naddress = \"10.0.0.13\"\nport = 8080\n"
        .to_string()
}

fn traffic() -> Vec<Sent> {
    let mut out = Vec::new();
    for i in 0..200u32 {
        let client = Ipv4Addr::new(10, 9, (i / 200) as u8, (i % 200 + 1) as u8);
        let start = T0 + u64::from(i) * 20 * MS;
        let c = Tcp {
            src_mac: ROUTER_MAC,
            dst_mac: PORT_MAC,
            src: client,
            dst: DR_VIP,
            sport: 30000 + i as u16,
            dport: 80,
            seq: 100,
            ack: 0,
            flags: SYN,
            ttl: 63,
            payload: Vec::new(),
        };
        let conn = (client, c.sport);
        let mut push = |at: u64, tcp: Tcp| {
            out.push(Sent {
                at,
                frame: tcp.frame(),
                conn,
                nat: false,
                reply: false,
            })
        };
        push(start, c.clone());
        push(
            start + 10 * MS,
            Tcp {
                seq: 101,
                ack: 9001,
                flags: ACK,
                ..c.clone()
            },
        );
        for k in 0..8u32 {
            push(
                start + u64::from(k + 1) * 500 * MS,
                Tcp {
                    seq: 101 + k * 100,
                    ack: 9001,
                    flags: ACK | PSH,
                    payload: vec![k as u8; 100],
                    ..c.clone()
                },
            );
        }
    }
    for j in 0..60u32 {
        let client = Ipv4Addr::new(10, 8, 0, (j + 1) as u8);
        let start = T0 + u64::from(j) * 50 * MS + 3 * MS;
        let c = Tcp {
            src_mac: ROUTER_MAC,
            dst_mac: PORT_MAC,
            src: client,
            dst: NAT_VIP,
            sport: 20000 + j as u16,
            dport: 80,
            seq: 500,
            ack: 0,
            flags: SYN,
            ttl: 63,
            payload: Vec::new(),
        };
        let s = Tcp {
            src_mac: RS_MACS[2],
            dst_mac: PORT_MAC,
            src: RS3,
            dst: client,
            sport: 8080,
            dport: c.sport,
            seq: 7000,
            ack: 501,
            flags: SYN | ACK,
            ttl: 64,
            payload: Vec::new(),
        };
        let conn = (client, c.sport);
        let mut push = |at: u64, tcp: Tcp, reply: bool| {
            out.push(Sent {
                at,
                frame: tcp.frame(),
                conn,
                nat: true,
                reply,
            })
        };
        push(start, c.clone(), false);
        push(start + 5 * MS, s.clone(), true);
        push(
            start + 10 * MS,
            Tcp {
                seq: 501,
                ack: 7001,
                flags: ACK,
                ..c.clone()
            },
            false,
        );
        for k in 0..8u32 {
            let at = start + u64::from(k + 1) * 500 * MS;
            push(
                at,
                Tcp {
                    seq: 501 + k * 50,
                    ack: 7001 + k * 60,
                    flags: ACK | PSH,
                    payload: vec![0xc0 | k as u8; 50],
                    ..c.clone()
                },
                false,
            );
            push(
                at + 7 * MS,
                Tcp {
                    seq: 7001 + k * 60,
                    ack: 551 + k * 50,
                    flags: ACK | PSH,
                    payload: vec![0x50 | k as u8; 60],
                    ..s.clone()
                },
                true,
            );
        }
    }
    out.sort_by_key(|s| s.at);
    out
}

/// (client, client port, from the server, TCP sequence number, flags): unique per packet.
type PacketId = (Ipv4Addr, u16, bool, u32, u8);

fn id_of_sent(s: &Sent) -> PacketId {
    let seen = parse_tcp(&s.frame).expect("TCP");
    (s.conn.0, s.conn.1, s.reply, seen.seq, seen.flags)
}

/// The listing line of `name` (a service or `  -> real server`), split in fields.
fn fields<'a>(listing: &'a str, name: &str) -> Vec<&'a str> {
    listing
        .lines()
        .map(str::split_whitespace)
        .map(Iterator::collect::<Vec<_>>)
        .find(|f| f.contains(&name))
        .unwrap_or_else(|| panic!("{name} in\n{listing}"))
}

#[test]
fn changes_under_traffic_lose_no_packet_of_an_established_connection() {
    let dir = TempDir::new("hot-apply");
    let keep = std::env::var_os("RVS_KEEP").is_some();
    let sent = traffic();
    let mut inputs: [Vec<(u64, Vec<u8>)>; 2] = [Vec::new(), Vec::new()];
    for (n, s) in sent.iter().enumerate() {
        inputs[n % 2].push((s.at, s.frame.clone()));
    }
    let (in0, in1) = (dir.path("in0.pcap"), dir.path("in1.pcap"));
    let (out0, out1) = (dir.path("out0.pcap"), dir.path("out1.pcap"));
    write_pcap(&in0, &inputs[0]);
    write_pcap(&in1, &inputs[1]);
    let config = dir.path("rvs.toml");
    std::fs::write(&config, config_toml()).unwrap();
    let script = dir.path("script.txt");
    std::fs::write(&script, SCRIPT).unwrap();
    let result = rvsd(&[
        "replay",
        "--engine",
        "pcap",
        "--config",
        config.to_str().unwrap(),
        "--script",
        script.to_str().unwrap(),
        "--slice-us",
        "1000",
        "--in",
        in0.to_str().unwrap(),
        "--in",
        in1.to_str().unwrap(),
        "--out",
        out0.to_str().unwrap(),
        "--out",
        out1.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&result.stdout).into_owned();
    if keep {
        eprintln!("kept {}", dir.0.display());
        std::mem::forget(dir);
    }
    assert!(
        result.status.success(),
        "{}\n{stdout}\n{}",
        result.status,
        String::from_utf8_lossy(&result.stderr)
    );

    // Every script line was applied.
    let applied = stdout.lines().filter(|l| l.ends_with(": ok")).count();
    assert_eq!(applied, 13, "{stdout}");
    assert!(!stdout.contains(": error:"), "{stdout}");
    // Nothing dropped, and the two workers really handed packets to each other.
    let drops: Vec<&str> = stdout.lines().filter(|l| l.starts_with("drop.")).collect();
    assert!(drops.is_empty(), "{drops:?}\n{stdout}");
    assert_eq!(counter(&stdout, "rx_packets"), Some(sent.len() as u64));
    assert_eq!(counter(&stdout, "tx_packets"), Some(sent.len() as u64));
    assert!(
        counter(&stdout, "handoff_in").unwrap_or(0) > 1000,
        "{stdout}"
    );

    // Every packet came out, once, rewritten for its connection's real server.
    let mut by_id: BTreeMap<PacketId, &Sent> = BTreeMap::new();
    for s in &sent {
        assert!(by_id.insert(id_of_sent(s), s).is_none(), "unique ids");
    }
    let mut outs = frames(&out0);
    outs.extend(frames(&out1));
    assert_eq!(outs.len(), sent.len());
    let mut server_of: BTreeMap<(Ipv4Addr, u16), [u8; 6]> = BTreeMap::new();
    let mut seen_ids = std::collections::BTreeSet::new();
    // Packets that passed after the change that would have cut them if changes cut
    // connections: to the quiesced server, to the removed server, of the removed service,
    // of the removed then re-added NAT server.
    let (mut quiesced, mut removed, mut service_gone, mut nat_gone) = (0, 0, 0, 0);
    for frame in &outs {
        let o = parse_tcp(frame).expect("TCP/IPv4 with valid checksums");
        let id = if o.dst == DR_VIP || o.dst == RS3 {
            (o.src, o.sport, false, o.seq, o.flags)
        } else {
            // A NAT reply on its way to the client.
            (o.dst, o.dport, true, o.seq, o.flags)
        };
        let s = by_id
            .get(&id)
            .unwrap_or_else(|| panic!("{id:?} was never sent: {o:?}"));
        assert!(seen_ids.insert(id), "{id:?} came out twice");
        assert_eq!(o.src_mac, PORT_MAC);
        let t = s.at - T0;
        if !s.nat {
            quiesced += usize::from(o.dst_mac == RS_MACS[0] && t > 1300 * MS);
            removed += usize::from(o.dst_mac == RS_MACS[1] && t > 2500 * MS);
            service_gone += usize::from(t > 6000 * MS);
        } else {
            nat_gone += usize::from(t > 4100 * MS && t < 5200 * MS);
        }
        if !s.nat {
            // DR: only the Ethernet header and the TTL change; one real server per connection.
            assert_eq!(frame[12..], forwarded(&s.frame)[12..]);
            assert!(RS_MACS.contains(&o.dst_mac), "{o:?}");
            let first = *server_of.entry(s.conn).or_insert(o.dst_mac);
            assert_eq!(first, o.dst_mac, "connection {:?} changed server", s.conn);
        } else if !s.reply {
            assert_eq!((o.dst, o.dport), (RS3, 8080));
            assert_eq!(o.dst_mac, RS_MACS[2]);
            assert_eq!((o.src, o.sport), s.conn);
        } else {
            assert_eq!((o.src, o.sport), (NAT_VIP, 80));
            assert_eq!((o.dst, o.dport), s.conn);
            assert_eq!(o.dst_mac, ROUTER_MAC);
        }
    }
    assert_eq!(seen_ids.len(), sent.len());
    for (what, n) in [
        ("to 10.0.0.11 after its weight went to 0", quiesced),
        ("to 10.0.0.12 after it was removed", removed),
        ("of 10.0.0.100:80 after it was removed", service_gone),
        ("of 10.0.0.13:8080 while it was removed", nat_gone),
    ] {
        println!("{n} packets {what}");
        assert!(n > 100, "only {n} packets {what}");
    }

    // The scheduling followed the changes: connections that started after 10.0.0.11 was
    // quiesced (1.3 s) avoid it; after 10.0.0.12 was removed (2.5 s) they all go to
    // 10.0.0.13, which was added at 0.7 s.
    let start_of: BTreeMap<(Ipv4Addr, u16), u64> = sent
        .iter()
        .filter(|s| !s.nat)
        .map(|s| (s.conn, s.at))
        .rev()
        .collect();
    let mut after_removal = 0;
    for (conn, mac) in &server_of {
        let t = start_of[conn] - T0;
        if t < 700 * MS {
            assert_ne!(*mac, RS_MACS[2], "{conn:?} before 10.0.0.13 existed");
        }
        if t > 1300 * MS {
            assert_ne!(*mac, RS_MACS[0], "{conn:?} to the quiesced server");
        }
        if t > 2500 * MS {
            assert_eq!(*mac, RS_MACS[2], "{conn:?} after 10.0.0.12 left");
            after_removal += 1;
        }
    }
    assert!(after_removal > 50, "{after_removal}");

    // The final listing: the DR service is gone; the NAT service counts what passed since
    // -Z (4.8 s), its re-added real server what passed since 5.2 s, and still carries all
    // 60 established connections.
    let since = |from_ms: u64, reply: bool| -> (u64, u64) {
        let ps: Vec<&Sent> = sent
            .iter()
            .filter(|s| s.nat && s.reply == reply && s.at >= T0 + from_ms * MS)
            .collect();
        (
            ps.len() as u64,
            ps.iter().map(|s| (s.frame.len() - 14) as u64).sum(),
        )
    };
    let tail: String = stdout
        .split("script line 15 at 9.900 s: -Ln --stats\n")
        .nth(1)
        .expect("the stats listing")
        .to_string();
    assert!(!tail.contains("10.0.0.100:80"), "{tail}");
    let svc = fields(&tail, "10.0.0.101:80");
    let (inp, inb) = since(4800, false);
    let (outp, outb) = since(4800, true);
    assert_eq!(svc[2..], nums(&[0, inp, outp, inb, outb]), "{tail}");
    let rs = fields(&tail, "10.0.0.13:8080");
    let (inp, inb) = since(5200, false);
    let (outp, outb) = since(5200, true);
    assert_eq!(rs[2..], nums(&[0, inp, outp, inb, outb]), "{tail}");
    let list = stdout
        .split("script line 16 at 9.900 s: -Ln\n")
        .nth(1)
        .expect("the listing");
    let rs = fields(list, "10.0.0.13:8080");
    assert_eq!(rs[2..], ["Masq", "1", "60", "0"], "{list}");
}

fn nums(values: &[u64]) -> Vec<String> {
    values.iter().map(u64::to_string).collect()
}
