//! What differs between the four forwarding modes, in one place: rvsadm's method flag, the
//! real servers' ports, what they see as the client, whether replies cross the director,
//! and what the frames arriving at a real server must look like.

use std::net::{Ipv4Addr, SocketAddrV4};

use lab::plan::{CLIENT_ADDR, ROUTER_LAN_ADDR, mac_for, server_addr};
use lab::{Datagram, EchoReply, HttpReply, Mode};

use super::packet::{self, Frame, PROTO_IPIP};

/// The VIP every test uses (the lab's default: on the LAN, reached by ARP).
pub const VIP: Ipv4Addr = lab::plan::DEFAULT_VIP;
/// The director's address on its port.
pub const DIRECTOR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// The service ports.
pub const HTTP_PORT: u16 = 80;
pub const UDP_PORT: u16 = 53;
/// The FULLNAT local address of the main services.
pub const LADDR: Ipv4Addr = lab::plan::FULLNAT_LOCAL_FIRST;

/// One mode's expectations.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    pub mode: Mode,
}

impl Case {
    /// rvsadm's forwarding method option for real servers.
    pub fn method(self) -> &'static str {
        match self.mode {
            Mode::Dr => "-g",
            Mode::Tun => "-i",
            Mode::Nat => "-m",
            Mode::FullNat => "--fullnat",
        }
    }

    /// The real servers' HTTP port: DR and TUN cannot change ports; NAT and FULLNAT show
    /// that they can.
    pub fn web_port(self) -> u16 {
        match self.mode {
            Mode::Dr | Mode::Tun => HTTP_PORT,
            Mode::Nat | Mode::FullNat => 8080,
        }
    }

    /// The real servers' UDP echo port.
    pub fn udp_port(self) -> u16 {
        match self.mode {
            Mode::Dr | Mode::Tun => UDP_PORT,
            Mode::Nat | Mode::FullNat => 5353,
        }
    }

    /// Whether replies come back through the director (and so count as OutPkts).
    pub fn replies_cross_director(self) -> bool {
        matches!(self.mode, Mode::Nat | Mode::FullNat)
    }

    /// Extra `-A` options of the TCP and UDP services.
    pub fn service_options(self, udp: bool) -> &'static [&'static str] {
        match (self.mode, udp) {
            (Mode::FullNat, false) => &["--client-addr", "proxy-v2"],
            (Mode::FullNat, true) => &["--client-addr", "none"],
            _ => &[],
        }
    }

    /// The address the real server's socket is reached at: the VIP (DR, TUN: it holds it)
    /// or its own (NAT, FULLNAT), with its own port.
    fn server_local(self, server: u8, port: u16) -> SocketAddrV4 {
        match self.mode {
            Mode::Dr | Mode::Tun => SocketAddrV4::new(VIP, port),
            Mode::Nat | Mode::FullNat => SocketAddrV4::new(server_addr(server), port),
        }
    }

    /// Checks one curl answer (from `curl_port` on the client) and returns which real
    /// server (1-based) answered. DR, TUN, NAT: the echo body names the real client and
    /// where the server was reached. FULLNAT: nginx behind the PROXY header names itself;
    /// the client it learnt is checked in its access log.
    pub fn check_http(self, reply: &HttpReply) -> u8 {
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(
            reply.remote,
            Some(SocketAddrV4::new(VIP, HTTP_PORT)),
            "{reply:?}"
        );
        let server = server_number(&reply.body);
        if self.mode != Mode::FullNat {
            let echo = EchoReply::parse(&reply.body).expect("echo body");
            let curl = reply.local.expect("curl's own address");
            assert_eq!(
                echo.client, curl,
                "the real server saw the client: {reply:?}"
            );
            assert_eq!(echo.local, self.server_local(server, self.web_port()));
        }
        server
    }

    /// Checks one UDP answer to a datagram sent from `sent_from` and returns which real
    /// server answered.
    pub fn check_udp(self, reply: &Datagram) -> u8 {
        assert_eq!(reply.from, SocketAddrV4::new(VIP, UDP_PORT), "{reply:?}");
        let echo = EchoReply::parse(&reply.text()).expect("echo datagram");
        let server = server_number(&reply.text());
        match self.mode {
            Mode::FullNat => assert_eq!(echo.client.ip(), &LADDR, "{echo:?}"),
            _ => {
                assert_eq!(echo.client.ip(), &CLIENT_ADDR, "{echo:?}");
                assert_eq!(echo.client.port(), reply.local.port(), "{echo:?}");
            }
        }
        assert_eq!(echo.local, self.server_local(server, self.udp_port()));
        server
    }

    /// Checks what arrived at real server 1 (and what it sent) while curl and UDP clients
    /// ran: the mode's own rewrite, and the path of the replies; in FULLNAT, that the
    /// connections of `rs1_curl_ports` (client ports of curls rs1 answered) began with a
    /// PROXY v2 header naming the client.
    pub fn check_server_side(self, frames: &[Vec<u8>], rs1_curl_ports: &[u16]) {
        let director_mac = packet::parse_mac(&mac_for(DIRECTOR)).expect("mac");
        let router_mac = packet::parse_mac(&mac_for(ROUTER_LAN_ADDR)).expect("mac");
        let rs_mac = packet::parse_mac(&mac_for(server_addr(1))).expect("mac");
        let rs = server_addr(1);
        let parsed: Vec<Frame<'_>> = frames.iter().filter_map(|f| packet::frame(f)).collect();
        let inbound: Vec<&Frame<'_>> = parsed
            .iter()
            .filter(|f| f.src_mac == director_mac)
            .collect();
        assert!(
            !inbound.is_empty(),
            "rs1 received nothing from the director"
        );
        for f in &inbound {
            assert_eq!(f.dst_mac, rs_mac, "{f:?}");
            let ip = &f.ip;
            match self.mode {
                Mode::Dr => {
                    assert_eq!((ip.src, ip.dst), (CLIENT_ADDR, VIP), "DR: only MACs change")
                }
                Mode::Tun => {
                    assert_eq!(ip.proto, PROTO_IPIP, "TUN: IPIP from the director: {f:?}");
                    assert_eq!((ip.src, ip.dst), (DIRECTOR, rs), "outer header");
                    let inner = ip.ipip_inner().expect("inner IPv4");
                    assert_eq!((inner.src, inner.dst), (CLIENT_ADDR, VIP), "inner header");
                }
                Mode::Nat => assert_eq!((ip.src, ip.dst), (CLIENT_ADDR, rs), "NAT: dst only"),
                Mode::FullNat => {
                    assert_eq!((ip.src, ip.dst), (LADDR, rs), "FULLNAT: both addresses")
                }
            }
        }
        // Replies: straight to the router (DR, TUN) or back through the director.
        let replies: Vec<&Frame<'_>> = parsed
            .iter()
            .filter(|f| f.src_mac == rs_mac && f.ip.ports().is_some())
            .collect();
        assert!(!replies.is_empty(), "rs1 sent no replies");
        for f in replies {
            let (want_mac, want_src, want_dst) = match self.mode {
                Mode::Dr | Mode::Tun => (router_mac, VIP, CLIENT_ADDR),
                Mode::Nat => (director_mac, rs, CLIENT_ADDR),
                Mode::FullNat => (director_mac, rs, LADDR),
            };
            assert_eq!(
                (f.dst_mac, f.ip.src, f.ip.dst),
                (want_mac, want_src, want_dst),
                "reply path: {f:?}"
            );
        }
        if self.mode == Mode::FullNat {
            let headers: Vec<(SocketAddrV4, SocketAddrV4)> = inbound
                .iter()
                .filter_map(|f| f.ip.tcp())
                .filter_map(|t| proxy_v2_addresses(t.payload))
                .collect();
            for port in rs1_curl_ports {
                let want = (
                    SocketAddrV4::new(CLIENT_ADDR, *port),
                    SocketAddrV4::new(VIP, HTTP_PORT),
                );
                assert!(
                    headers.contains(&want),
                    "no PROXY v2 header for {want:?} reached rs1; saw {headers:?}"
                );
            }
        }
    }
}

/// The 12 bytes every PROXY protocol v2 header starts with.
pub const PROXY_V2_SIGNATURE: [u8; 12] = [
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
];

/// The number of the real server an answer names (`server=rsN`).
pub fn server_number(body: &str) -> u8 {
    body.lines()
        .find_map(|l| l.strip_prefix("server=rs"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no server=rsN in {body:?}"))
}

/// Source and destination of a PROXY v2 `PROXY` header for TCP over IPv4 at the start of
/// `payload` (signature, version 2 + command PROXY, AF_INET + STREAM, length 12, addresses,
/// ports).
pub fn proxy_v2_addresses(payload: &[u8]) -> Option<(SocketAddrV4, SocketAddrV4)> {
    let rest = payload.strip_prefix(&PROXY_V2_SIGNATURE)?;
    let (head, body) = rest.split_first_chunk::<4>()?;
    if *head != [0x21, 0x11, 0x00, 0x0c] {
        return None;
    }
    let b: [u8; 12] = body.get(..12)?.try_into().ok()?;
    let ip = |at: usize| Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3]);
    let port = |at: usize| u16::from_be_bytes([b[at], b[at + 1]]);
    Some((
        SocketAddrV4::new(ip(0), port(8)),
        SocketAddrV4::new(ip(4), port(10)),
    ))
}
