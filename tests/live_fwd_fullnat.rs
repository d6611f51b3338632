//! FULLNAT through a live rvsd: the director rewrites both addresses (the client's becomes
//! the local address 10.0.0.200), so real servers need no route back through it; they
//! learn the client from a PROXY protocol v2 header (read by a real nginx with `listen ...
//! proxy_protocol`) or from the TOA option (checked in a capture on the real server). See
//! `live_fwd_common` for the shared phases.
mod live_fwd_common;

use std::net::SocketAddrV4;

use lab::plan::{CLIENT_ADDR, fullnat_local_addr, server_addr};
use lab::{EchoReply, Lab, Mode, NodeId};

use live_fwd_common::case::VIP;
use live_fwd_common::director::Director;
use live_fwd_common::packet::{self, TCP_ACK, TCP_SYN};

#[test]
fn fullnat_serves_clients_and_tells_servers_who_they_are() {
    let Some((lab, servers, director)) = live_fwd_common::setup(Mode::FullNat) else {
        return;
    };
    live_fwd_common::run_phases(&lab, &director, Mode::FullNat, |ports| {
        live_fwd_common::check_proxy_logs(&servers, ports)
    });
    toa_reaches_the_server_in_the_handshake(&lab, &director);
    director.stop();
}

/// TOA service: VIP:81 to rs1:80 (plain nginx, which has no TOA module and so shows the
/// local address 10.0.0.201), `--client-addr toa`. The capture on rs1 must show, in the
/// handshake's final ACK, option 254 of length 8 carrying the client's port and address.
fn toa_reaches_the_server_in_the_handshake(lab: &Lab, d: &Director) {
    let laddr = fullnat_local_addr(1);
    let vip = format!("{VIP}:81");
    let rs = format!("{}:80", server_addr(1));
    d.adm_lines(&format!(
        "-A -t {vip} -s rr --client-addr toa\n\
         -P -t {vip} -z {laddr}\n\
         -a -t {vip} -r {rs} --fullnat"
    ));
    let rs1_if = lab
        .node(NodeId::Server(1))
        .expect("rs1")
        .ifname()
        .to_owned();
    let capture = lab
        .capture(NodeId::Server(1), &rs1_if, "tcp port 80")
        .expect("capture on rs1");
    let toa_before = d.counter("toa_added");
    let reply = lab
        .curl(NodeId::Client, &format!("http://{vip}/"))
        .expect("curl through the TOA service");
    let frames = capture.stop().expect("rs1 capture").frames().expect("read");
    assert_eq!(reply.status, 200, "{reply:?}");
    let client_port = reply.local.expect("curl's address").port();
    let echo = EchoReply::parse(&reply.body).expect("echo body");
    assert_eq!(
        echo.client.ip(),
        &laddr,
        "the server's peer is the local address"
    );
    assert_eq!(echo.local, rs.parse::<SocketAddrV4>().expect("addr"));

    let lport = echo.client.port();
    let from_laddr: Vec<packet::Tcp<'_>> = frames
        .iter()
        .filter_map(|f| packet::frame(f))
        .filter(|f| f.ip.src == laddr && f.ip.dst == server_addr(1))
        .filter_map(|f| f.ip.tcp())
        .filter(|t| t.sport == lport)
        .collect();
    let syn = from_laddr.first().expect("the SYN reached rs1");
    assert_eq!(syn.flags & (TCP_SYN | TCP_ACK), TCP_SYN, "{syn:?}");
    let last_ack = from_laddr
        .iter()
        .find(|t| t.flags == TCP_ACK && t.payload.is_empty() && t.ack != 0)
        .expect("the handshake's final ACK reached rs1");
    let [hi, lo] = client_port.to_be_bytes();
    let [a, b, c, e] = CLIENT_ADDR.octets();
    let want: [u8; 8] = [254, 8, hi, lo, a, b, c, e];
    let options = packet::tcp_options(last_ack.options);
    assert!(
        options.iter().any(|(_, bytes)| *bytes == want),
        "TOA {want:?} (client {CLIENT_ADDR}:{client_port}) in the final ACK's options {options:?}"
    );
    assert!(d.counter("toa_added") > toa_before, "toa_added counted");
    d.adm(&["-C"]);
}
