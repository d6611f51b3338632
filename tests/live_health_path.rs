//! The kernel-side port the health checks (and VRRP, SSH, ping) use, live: rvsd on the
//! director's veth (net_af_packet) with its TAP `rvs0`, in the lab.
//!
//! The kernel interface carries the port's identity (MAC, address, routes); ping from the
//! client behind the router, ARP and a TCP connection to a listener of the director's
//! kernel all work through it, each answered once; the dataplane counts both directions
//! and the TAP port's own counters agree with it.
mod live_rvsd;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use lab::{LabSpec, Mode, NodeId};
use live_rvsd::*;

const DIRECTOR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PORT_MAC: &str = "02:00:0a:00:00:02";

const UPPER_PY: &str = r#"
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.0.0.2", int(sys.argv[1])))
s.listen(8)
print("ready", flush=True)
while True:
    c, peer = s.accept()
    data = c.recv(4096)
    c.sendall(data.upper() + f" from {peer[0]}".encode())
    c.close()
"#;

#[test]
fn ping_arp_and_tcp_reach_the_directors_kernel_through_the_tap_and_are_counted() {
    if skip(&[]) {
        return;
    }
    let _g = serial();
    let Some(lab) = lab(LabSpec::new(Mode::Dr).servers(1)) else {
        return;
    };
    let rvsd = Rvsd::start(&lab, 1, "path", "");
    let d = NodeId::Director(1);

    // The kernel interface has the port's identity, and what would confuse it is off.
    let link = lab.run(d, "ip", &["-o", "link", "show", "rvs0"]).unwrap();
    assert!(link.contains(&format!("link/ether {PORT_MAC}")), "{link}");
    assert!(link.contains("mtu 1500"), "{link}");
    let addr = lab
        .run(d, "ip", &["-o", "-4", "addr", "show", "rvs0"])
        .unwrap();
    assert!(addr.contains("inet 10.0.0.2/24"), "{addr}");
    let routes = lab.run(d, "ip", &["-4", "route"]).unwrap();
    assert!(routes.contains("default via 10.0.0.1 dev rvs0"), "{routes}");
    let sysctl = |path: &str| lab.run(d, "cat", &[path]).unwrap().trim().to_string();
    assert_eq!(sysctl("/proc/sys/net/ipv4/conf/rvs0/rp_filter"), "2");
    let veth = lab.node(d).unwrap().ifname().to_string();
    assert_eq!(
        sysctl(&format!("/proc/sys/net/ipv4/conf/{veth}/arp_ignore")),
        "8"
    );
    assert_eq!(
        sysctl(&format!("/proc/sys/net/ipv4/conf/{veth}/rp_filter")),
        "1"
    );
    let before_to = rvsd.counter("to_kernel");
    let before_from = rvsd.counter("from_kernel");

    // ARP: the router learns the director's address with the port's MAC, from the kernel.
    lab.run(NodeId::Router, "ip", &["neigh", "flush", "all"])
        .unwrap();
    // Ping from the client, through the router: every request answered, exactly once.
    let ping = lab
        .output(
            NodeId::Client,
            "ping",
            &["-c", "5", "-i", "0.2", "-W", "2", "10.0.0.2"],
        )
        .unwrap();
    let text = String::from_utf8_lossy(&ping.stdout).into_owned();
    assert!(text.contains("5 packets transmitted, 5 received"), "{text}");
    assert!(!text.contains("duplicates"), "answered twice: {text}");
    let neigh = lab
        .run(NodeId::Router, "ip", &["neigh", "show", "10.0.0.2"])
        .unwrap();
    assert!(neigh.contains(&format!("lladdr {PORT_MAC}")), "{neigh}");

    // TCP to a listener of the director's kernel, from the client and from a LAN host.
    let _upper = helper(&lab, d, "upper", UPPER_PY, &["2222".to_string()]);
    for (node, who) in [
        (NodeId::Client, "10.9.0.2"),
        (NodeId::Server(1), "10.0.0.11"),
    ] {
        let reply = lab
            .tcp_exchange(
                node,
                SocketAddrV4::new(DIRECTOR, 2222),
                b"hello director",
                Duration::from_secs(5),
            )
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&reply.data),
            format!("HELLO DIRECTOR from {who}")
        );
    }

    // Both directions counted: at least the pings (5 each way) and the two TCP exchanges
    // (SYN, ACK, data, FIN, ACK in; SYN-ACK, data, FIN, ACK out, for each), and the TAP
    // port's DPDK counters say the same as the dataplane's.
    let settle = |n: &str| {
        let mut last = u64::MAX;
        for _ in 0..50 {
            let now = rvsd.counter(n);
            if now == last {
                return now;
            }
            last = now;
            std::thread::sleep(Duration::from_millis(100));
        }
        last
    };
    let to = settle("to_kernel") - before_to;
    let from = settle("from_kernel") - before_from;
    assert!(to >= 5 + 2 * 5, "to_kernel grew by {to}");
    assert!(from >= 5 + 2 * 4, "from_kernel grew by {from}");
    let c = rvsd.counters();
    assert_eq!(c["port.rvs0.opackets"], c["to_kernel"], "{c:?}");
    assert_eq!(c["port.rvs0.ipackets"], c["from_kernel"], "{c:?}");
    assert_eq!(c.get("drop.no_kernel_port").copied().unwrap_or(0), 0);
    println!("FIGURE kernel port counters: to_kernel +{to}, from_kernel +{from}");
}
