//! The third-party servers of the lab: nginx logging PROXY protocol sources, keepalived as
//! a VRRP peer. Needs root; skips otherwise.

mod support;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use lab::plan::{self, CLIENT_ADDR};
use lab::{LabSpec, Mode, NodeId};
use support::{ip_addrs, ipv4_of, lab_or_skip};

const RS1: NodeId = NodeId::Server(1);

/// A PROXY protocol v2 header (PROXY command, TCP over IPv4).
fn proxy_v2(src: SocketAddrV4, dst: SocketAddrV4) -> Vec<u8> {
    let mut header = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    header.extend_from_slice(&[0x21, 0x11, 0x00, 0x0c]);
    header.extend_from_slice(&src.ip().octets());
    header.extend_from_slice(&dst.ip().octets());
    header.extend_from_slice(&src.port().to_be_bytes());
    header.extend_from_slice(&dst.port().to_be_bytes());
    header
}

#[test]
fn nginx_logs_the_proxy_protocol_source() {
    let Some(lab) = lab_or_skip(LabSpec::new(Mode::FullNat)) else {
        return;
    };
    let nginx = lab.nginx_proxy_protocol(RS1, 8080).expect("nginx");
    let server = SocketAddrV4::new(plan::server_addr(1), 8080);
    let vip = SocketAddrV4::new(lab.vip(), 80);
    let original = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 7), 4242);

    let mut request = proxy_v2(original, vip);
    request.extend_from_slice(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n");
    let reply = lab
        .tcp_exchange(NodeId::Client, server, &request, Duration::from_secs(5))
        .expect("v2 request");
    let text = String::from_utf8_lossy(&reply.data);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("proxy_protocol_addr=192.0.2.7"), "{text}");

    let v1 = b"PROXY TCP4 198.51.100.9 10.0.0.100 5555 80\r\nGET / HTTP/1.0\r\n\r\n";
    let reply_v1 = lab
        .tcp_exchange(NodeId::Client, server, v1, Duration::from_secs(5))
        .expect("v1 request");
    assert!(String::from_utf8_lossy(&reply_v1.data).starts_with("HTTP/1.1 200"));

    // Without a header nginx refuses the connection: the listener really demands one.
    let bare = lab.tcp_exchange(
        NodeId::Client,
        server,
        b"GET / HTTP/1.0\r\n\r\n",
        Duration::from_secs(5),
    );
    assert!(
        bare.as_ref()
            .map_or(true, |r| !String::from_utf8_lossy(&r.data).contains("200")),
        "{bare:?}"
    );

    let log = nginx.access_log().expect("access log");
    assert_eq!(log.len(), 2, "{log:?}");
    let first = log.first().expect("v2 line");
    assert_eq!(first.proxy_addr, Some(*original.ip()));
    assert_eq!(first.proxy_port, Some(original.port()));
    assert_eq!(first.remote_addr, CLIENT_ADDR, "the TCP peer is the client");
    assert_eq!(first.remote_port, reply.local.port());
    assert_eq!((first.server_addr, first.server_port), (*server.ip(), 8080));
    let second = log.get(1).expect("v1 line");
    assert_eq!(second.proxy_addr, Some(Ipv4Addr::new(198, 51, 100, 9)));
    assert_eq!(second.proxy_port, Some(5555));
}

#[test]
fn keepalived_becomes_master_in_the_peer() {
    let Some(lab) = lab_or_skip(LabSpec::new(Mode::Dr).with_peer()) else {
        return;
    };
    let peer = lab.node(NodeId::Peer).expect("peer").clone();
    let vrrp_vip = Ipv4Addr::new(10, 0, 0, 150);
    let config = format!(
        "global_defs {{\n  router_id lab_peer\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface {}\n  virtual_router_id 51\n  \
         priority 150\n  advert_int 1\n  authentication {{\n    auth_type PASS\n    auth_pass rvs\n  }}\n  \
         virtual_ipaddress {{\n    {vrrp_vip}/24\n  }}\n}}\n",
        peer.ifname()
    );
    let director = lab.node(NodeId::Director(1)).expect("director").clone();
    let capture = lab
        .capture(NodeId::Director(1), director.ifname(), "ip proto 112")
        .expect("capture VRRP");
    let keepalived = lab.keepalived(NodeId::Peer, &config).expect("keepalived");
    assert!(
        !lab.has_address(NodeId::Peer, vrrp_vip).expect("ip addr"),
        "MASTER at once?"
    );
    lab.wait_for_address(NodeId::Peer, vrrp_vip, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", keepalived.log()));
    assert!(
        keepalived.log().contains("Entering MASTER STATE"),
        "{}",
        keepalived.log()
    );
    let report = lab
        .ping(NodeId::Client, vrrp_vip, 2)
        .expect("ping the VRRP VIP");
    assert!(report.received >= 1, "{report:?}");

    let frames = capture.stop().expect("stop").frames().expect("pcap");
    let adverts: Vec<&[u8]> = frames.iter().filter_map(|f| ipv4_of(f)).collect();
    assert!(
        !adverts.is_empty(),
        "the director's port saw no VRRP advert"
    );
    for packet in adverts {
        assert_eq!(
            ip_addrs(packet),
            Some((plan::PEER_ADDR, Ipv4Addr::new(224, 0, 0, 18)))
        );
        // VRRPv2 advert: version 2 type 1, VRID 51, priority 150.
        assert_eq!(packet.get(20..23), Some(&[0x21, 51, 150][..]));
    }
    keepalived.stop().expect("stop keepalived");
    assert!(
        !lab.has_address(NodeId::Peer, vrrp_vip).expect("ip addr"),
        "VIP kept after stop"
    );
}
