//! TUN-mode real servers take IPIP, GRE and GUE from the director and answer the client
//! from the VIP directly. The tunnelled packets are crafted here and injected on the
//! director's port, as rvs would send them. Needs root; skips otherwise.

mod support;

use std::net::SocketAddrV4;
use std::time::Duration;

use lab::plan::{self, CLIENT_ADDR};
use lab::{EchoReply, Lab, LabSpec, Mode, NodeId, TunnelRx, TunnelRxKind};
use support::{ethernet_ipv4, ipv4, lab_or_skip, udp, udp_packet};

const ECHO_PORT: u16 = 7000;

/// The outer packet from director 1 to rs1 around `inner`, for each encapsulation.
fn encapsulations(lab: &Lab, inner: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let director = plan::director_addr(1);
    let server = plan::server_addr(1);
    let mut gre = vec![0x00, 0x00, 0x08, 0x00]; // no flags, version 0, IPv4
    gre.extend_from_slice(inner);
    let mut gue = vec![0x00, 0x04, 0x00, 0x00]; // version 0, hlen 0, proto IPIP, no flags
    gue.extend_from_slice(inner);
    let gue_udp = udp(
        SocketAddrV4::new(director, 40999),
        SocketAddrV4::new(server, lab.spec().gue_port),
        &gue,
        true,
    );
    vec![
        ("ipip", ipv4(director, server, 4, inner)),
        ("gre", ipv4(director, server, 47, &gre)),
        ("gue", ipv4(director, server, 17, &gue_udp)),
    ]
}

/// Sends a UDP request through each tunnel and checks rs1's direct answer at the client.
fn tunnels_deliver(lab: &Lab) {
    let _echo = lab
        .udp_echo(NodeId::Server(1), ECHO_PORT)
        .expect("udp echo");
    let director = lab.node(NodeId::Director(1)).expect("director").clone();
    let rs1_mac = lab.node(NodeId::Server(1)).expect("rs1").mac().to_owned();
    let vip = SocketAddrV4::new(lab.vip(), ECHO_PORT);
    for (i, name) in ["ipip", "gre", "gue"].iter().enumerate() {
        let client = SocketAddrV4::new(CLIENT_ADDR, 41000 + i as u16);
        let inner = udp_packet(client, vip, format!("via {name}").as_bytes());
        let outer = encapsulations(lab, &inner)
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, packet)| packet)
            .expect("encapsulation");
        let frame = ethernet_ipv4(&rs1_mac, director.mac(), &outer);
        let listener = lab
            .udp_listen(NodeId::Client, client.port(), Duration::from_secs(3))
            .expect("listen");
        lab.send_frames(NodeId::Director(1), director.ifname(), &[frame])
            .expect("inject");
        let datagram = listener
            .wait()
            .unwrap_or_else(|e| panic!("{name}: no answer at the client: {e}"));
        assert_eq!(
            datagram.from, vip,
            "{name}: the answer must come from the VIP"
        );
        let echo = EchoReply::parse(&datagram.text()).expect("echo");
        assert_eq!(echo.server, "rs1", "{name}");
        assert_eq!(
            echo.client, client,
            "{name}: the server saw the client itself"
        );
        assert_eq!(echo.local, vip, "{name}");
        assert!(datagram.text().contains(&format!("len={}", 4 + name.len())));
    }
}

#[test]
fn tun_servers_decapsulate_ipip_gre_and_gue() {
    let Some(lab) = lab_or_skip(LabSpec::new(Mode::Tun).servers(2)) else {
        return;
    };
    let rx = lab.tunnel_rx().expect("TUN mode decides a receiver");
    eprintln!("tunnel receivers on this kernel: {}", rx.name());
    tunnels_deliver(&lab);
    // ARP for the VIP stays hidden in TUN mode too.
    let report = lab.ping(NodeId::Client, lab.vip(), 1).expect("ping");
    assert_eq!(report.received, 0);
    if rx == TunnelRxKind::Kernel {
        // This kernel has tunnels: prove the userspace receiver as well.
        drop(lab);
        let spec = LabSpec::new(Mode::Tun).tunnel_rx(TunnelRx::Userspace);
        let lab = lab_or_skip(spec).expect("root was available a moment ago");
        assert_eq!(lab.tunnel_rx(), Some(TunnelRxKind::Userspace));
        tunnels_deliver(&lab);
    }
}

#[test]
fn packets_not_for_a_tunnel_are_dropped_and_the_receiver_survives_them() {
    let spec = LabSpec::new(Mode::Tun).tunnel_rx(TunnelRx::Userspace);
    let Some(lab) = lab_or_skip(spec) else {
        return;
    };
    let _echo = lab
        .udp_echo(NodeId::Server(1), ECHO_PORT)
        .expect("udp echo");
    let director = lab.node(NodeId::Director(1)).expect("director").clone();
    let rs1_mac = lab.node(NodeId::Server(1)).expect("rs1").mac().to_owned();
    let client = SocketAddrV4::new(CLIENT_ADDR, 41100);
    let inner = udp_packet(client, SocketAddrV4::new(lab.vip(), ECHO_PORT), b"x");
    let (d, s) = (plan::director_addr(1), plan::server_addr(1));
    // GRE carrying an unknown protocol (0x1234); GRE version 1; GUE whose header length
    // runs past the datagram; GUE control message; IPIP carrying a non-IP byte string.
    let gre = |head: [u8; 4]| [&head[..], &inner].concat();
    let gue = |head: [u8; 4]| {
        let payload = [&head[..], &inner].concat();
        let gue_port = SocketAddrV4::new(s, lab.spec().gue_port);
        ipv4(
            d,
            s,
            17,
            &udp(SocketAddrV4::new(d, 40998), gue_port, &payload, true),
        )
    };
    let bogus = [
        ipv4(d, s, 47, &gre([0x00, 0x00, 0x12, 0x34])),
        ipv4(d, s, 47, &gre([0x00, 0x01, 0x08, 0x00])),
        gue([0x1f, 0x04, 0x00, 0x00]),
        gue([0x20, 0x04, 0x00, 0x00]),
        ipv4(d, s, 4, &[0x00; 40]),
    ];
    let frames: Vec<Vec<u8>> = bogus
        .iter()
        .map(|outer| ethernet_ipv4(&rs1_mac, director.mac(), outer))
        .collect();
    let listener = lab
        .udp_listen(NodeId::Client, client.port(), Duration::from_millis(1500))
        .expect("listen");
    lab.send_frames(NodeId::Director(1), director.ifname(), &frames)
        .expect("inject");
    assert!(
        listener.wait().is_err(),
        "a bogus tunnel packet was delivered"
    );

    // The receiver is still there and delivers the next good packet.
    let listener = lab
        .udp_listen(NodeId::Client, client.port(), Duration::from_secs(3))
        .expect("listen");
    let good = ethernet_ipv4(&rs1_mac, director.mac(), &ipv4(d, s, 4, &inner));
    lab.send_frames(NodeId::Director(1), director.ifname(), &[good])
        .expect("inject");
    let datagram = listener.wait().expect("the receiver survived");
    assert_eq!(*datagram.from.ip(), lab.vip());
}

#[test]
fn full_size_packets_fit_in_a_tunnel_only_with_a_larger_lan_mtu() {
    let full_size = [b'x'; 1472]; // 1472 + 8 + 20 = a 1500-byte inner packet
    let client = SocketAddrV4::new(CLIENT_ADDR, 41200);
    let spec = LabSpec::new(Mode::Tun).tunnel_rx(TunnelRx::Userspace);
    let Some(lab) = lab_or_skip(spec.clone()) else {
        return;
    };
    let ipip_frame = |lab: &Lab| {
        let director = lab.node(NodeId::Director(1)).expect("director");
        let rs1 = lab.node(NodeId::Server(1)).expect("rs1");
        let vip = SocketAddrV4::new(lab.vip(), ECHO_PORT);
        let inner = udp_packet(client, vip, &full_size);
        assert_eq!(inner.len(), 1500);
        let outer = ipv4(plan::director_addr(1), plan::server_addr(1), 4, &inner);
        (
            director.ifname().to_owned(),
            ethernet_ipv4(rs1.mac(), director.mac(), &outer),
        )
    };
    // At MTU 1500 the packet socket refuses the 1534-byte frame outright.
    let (ifname, frame) = ipip_frame(&lab);
    let refused = lab.send_frames(NodeId::Director(1), &ifname, &[frame]);
    let message = format!("{refused:?}");
    assert!(message.contains("Message too long"), "{message}");
    drop(lab);

    let lab = lab_or_skip(spec.lan_mtu(1600)).expect("root was available a moment ago");
    let _echo = lab
        .udp_echo(NodeId::Server(1), ECHO_PORT)
        .expect("udp echo");
    let (ifname, frame) = ipip_frame(&lab);
    let listener = lab
        .udp_listen(NodeId::Client, client.port(), Duration::from_secs(3))
        .expect("listen");
    lab.send_frames(NodeId::Director(1), &ifname, &[frame])
        .expect("a 1534-byte frame fits a 1600 MTU");
    let datagram = listener.wait().expect("answer");
    assert!(datagram.text().contains("len=1472"), "{}", datagram.text());
    let mtu = lab
        .run(
            NodeId::Lan,
            "ip",
            &["-o", "link", "show", "dev", &lab.id().iface("br")],
        )
        .expect("bridge");
    assert!(mtu.contains("mtu 1600"), "{mtu}");
}
