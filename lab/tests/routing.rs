//! The lab without rvs: client -> router -> LAN works, and a kernel stand-in director
//! forwards like DR and is the gateway of NAT servers. Needs root; skips otherwise.

mod support;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use lab::plan::{self, CLIENT_ADDR};
use lab::{EchoReply, LabSpec, Mode, NodeId};
use support::{ip_addrs, ipv4_of, lab_or_skip, mac};

const RS1: NodeId = NodeId::Server(1);
const RS2: NodeId = NodeId::Server(2);
const DIRECTOR: NodeId = NodeId::Director(1);

#[test]
fn client_reaches_the_lan_but_dr_servers_hide_the_vip() {
    let Some(lab) = lab_or_skip(LabSpec::new(Mode::Dr).servers(2)) else {
        return;
    };
    for dst in [
        plan::ROUTER_LAN_ADDR,
        plan::server_addr(1),
        plan::server_addr(2),
    ] {
        let report = lab.ping(NodeId::Client, dst, 2).expect("ping");
        assert_eq!(report.received, 2, "ping {dst}: {report:?}");
    }
    // Both servers hold the VIP on lo, but arp_ignore keeps them from answering ARP for it:
    // without a director nobody owns the VIP on the wire.
    let report = lab.ping(NodeId::Client, lab.vip(), 2).expect("ping");
    assert_eq!(
        report.received, 0,
        "a DR server answered for the VIP: {report:?}"
    );
    let lo = lab
        .run(RS1, "ip", &["-4", "-o", "addr", "show", "dev", "lo"])
        .expect("ip addr");
    assert!(lo.contains("10.0.0.100/32"), "{lo}");
}

#[test]
fn kernel_director_forwards_like_dr() {
    let Some(lab) = lab_or_skip(LabSpec::new(Mode::Dr).servers(2)) else {
        return;
    };
    lab.kernel_director(Some(1)).expect("kernel director");
    let _web1 = lab.http_server(RS1, 80).expect("http rs1");
    let _web2 = lab.http_server(RS2, 80).expect("http rs2");
    let _echo = lab.udp_echo(RS1, 5353).expect("udp rs1");
    let director = lab.node(DIRECTOR).expect("director").clone();
    let capture = lab
        .capture(DIRECTOR, director.ifname(), "tcp port 80")
        .expect("capture");

    let url = format!("http://{}/", lab.vip());
    let reply = lab.curl(NodeId::Client, &url).expect("curl VIP");
    assert_eq!(reply.status, 200);
    let echo = EchoReply::parse(&reply.body).expect("echo body");
    assert_eq!(echo.server, "rs1");
    assert_eq!(
        *echo.client.ip(),
        CLIENT_ADDR,
        "the server saw the client itself"
    );
    assert_eq!(Some(echo.client), reply.local, "and the client's very port");
    assert_eq!(
        echo.local,
        SocketAddrV4::new(lab.vip(), 80),
        "reached at the VIP"
    );

    let frames = capture
        .stop()
        .expect("stop capture")
        .frames()
        .expect("read pcap");
    let rs1_mac = mac(lab.node(RS1).expect("rs1").mac());
    let to_vip: Vec<&Vec<u8>> = frames
        .iter()
        .filter(|f| {
            ipv4_of(f)
                .and_then(ip_addrs)
                .is_some_and(|(_, dst)| dst == lab.vip())
        })
        .collect();
    assert!(!to_vip.is_empty(), "no request crossed the director");
    assert!(
        to_vip.iter().any(|f| f.get(..6) == Some(&rs1_mac[..])),
        "the director did not forward to rs1's MAC"
    );
    let from_vip = frames
        .iter()
        .filter(|f| {
            ipv4_of(f)
                .and_then(ip_addrs)
                .is_some_and(|(src, _)| src == lab.vip())
        })
        .count();
    assert_eq!(from_vip, 0, "DR replies must bypass the director");

    let dst = SocketAddrV4::new(lab.vip(), 5353);
    let datagram = lab
        .udp_exchange(NodeId::Client, dst, b"hello", Duration::from_secs(3))
        .expect("udp exchange");
    assert_eq!(datagram.from, dst, "the reply must come from the VIP");
    let echo = EchoReply::parse(&datagram.text()).expect("udp echo");
    assert_eq!(echo.server, "rs1");
    assert_eq!(*echo.client.ip(), CLIENT_ADDR);
    assert_eq!(echo.client.port(), datagram.local.port());
    assert!(datagram.text().contains("len=5"), "{}", datagram.text());

    let report = lab
        .wrk(NodeId::Client, &url, Duration::from_secs(1), 4)
        .expect("wrk");
    assert!(report.requests > 50, "{report:?}");
    assert!(report.requests_per_sec > 0.0, "{report:?}");
    assert_eq!(
        (report.socket_errors, report.non_2xx_3xx),
        (0, 0),
        "{report:?}"
    );
}

#[test]
fn nat_servers_answer_through_the_director() {
    let Some(lab) = lab_or_skip(LabSpec::new(Mode::Nat)) else {
        return;
    };
    let _web = lab.http_server(RS1, 80).expect("http rs1");
    let url = format!("http://{}/", plan::server_addr(1));
    // The server's gateway is 10.0.0.2, which nobody holds yet: no answer comes back.
    let lost = lab.curl_with(NodeId::Client, &url, &[], Duration::from_millis(1500));
    assert!(
        lost.is_err(),
        "a NAT server answered without its gateway: {lost:?}"
    );

    lab.kernel_director(None).expect("kernel director");
    let director = lab.node(DIRECTOR).expect("director").clone();
    let capture = lab
        .capture(DIRECTOR, director.ifname(), "tcp and src host 10.0.0.11")
        .expect("capture");
    let reply = lab.curl(NodeId::Client, &url).expect("curl rs1");
    let echo = EchoReply::parse(&reply.body).expect("echo body");
    assert_eq!(
        (echo.server.as_str(), *echo.client.ip()),
        ("rs1", CLIENT_ADDR)
    );
    let file = capture.stop().expect("stop capture");
    assert!(file.captured > 0, "the replies did not pass the director");
    let frames = file.frames().expect("read pcap");
    assert_eq!(frames.len() as u64, file.captured);
    assert!(frames.iter().all(|f| {
        ipv4_of(f)
            .and_then(ip_addrs)
            .is_some_and(|(src, dst)| src == plan::server_addr(1) && dst == CLIENT_ADDR)
    }));
}

#[test]
fn fullnat_servers_answer_local_addresses_on_the_lan() {
    let Some(lab) = lab_or_skip(LabSpec::new(Mode::FullNat)) else {
        return;
    };
    let _web = lab.http_server(RS1, 80).expect("http rs1");
    let url = format!("http://{}/", plan::server_addr(1));
    // Clients reach FULLNAT servers through the router (gateway = router)...
    let reply = lab.curl(NodeId::Client, &url).expect("curl from client");
    assert_eq!(
        *EchoReply::parse(&reply.body).expect("echo").client.ip(),
        CLIENT_ADDR
    );
    // ...and a director's local address on the LAN gets its answers directly.
    lab.kernel_director(None).expect("kernel director");
    let director = lab.node(DIRECTOR).expect("director").clone();
    let local = plan::fullnat_local_addr(0);
    lab.run(
        DIRECTOR,
        "ip",
        &[
            "addr",
            "add",
            &format!("{local}/24"),
            "dev",
            director.ifname(),
        ],
    )
    .expect("add local address");
    let reply = lab
        .curl_with(
            DIRECTOR,
            &url,
            &["--interface", &local.to_string()],
            Duration::from_secs(5),
        )
        .expect("curl from the local address");
    let echo = EchoReply::parse(&reply.body).expect("echo");
    assert_eq!(*echo.client.ip(), local);
    assert_eq!(local, Ipv4Addr::new(10, 0, 0, 200));
}
