//! VRRP in the running director, live, against a real keepalived (Debian's 2.2.x) in the
//! lab's peer namespace: rvsd sends and receives its adverts through its kernel-side TAP
//! and the dataplane, and VIP ownership decides what the dataplane serves.
//!
//! The lab: client ─ router ─ LAN { director1 (rvsd, 10.0.0.2), peer (keepalived,
//! 10.0.0.8), rs1, rs2 }. The VIP 10.0.0.100 is a DR service of rvsd (HTTP on 80, a UDP
//! echo on 7000 that names its server). The lab kernel has no IPVS, so while keepalived
//! holds the VIP the peer serves it itself (the same HTTP and UDP echo, named `peer`):
//! the client behind the router keeps reaching "the service" either way, and a UDP prober
//! (one datagram every 20 ms) measures the outage of each hand-over. The `FIGURE` lines
//! are what docs/high-availability.md quotes.
mod live_rvsd;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use lab::{Keepalived, Lab, LabSpec, Mode, NodeId};
use live_rvsd::*;
use nix::sys::signal::Signal;

const RVS_MAC: &str = "02:00:0a:00:00:02";
const PEER_MAC: &str = "02:00:0a:00:00:08";
const PROBE_EVERY: Duration = Duration::from_millis(20);

/// One VRRP instance as both sides configure it.
#[derive(Clone)]
struct Vrrp {
    priority: u8,
    version: u8,
    advert_int: f64,
    nopreempt: bool,
    preempt_delay: f64,
    password: Option<&'static str>,
    unicast: bool,
}

impl Default for Vrrp {
    fn default() -> Self {
        Vrrp {
            priority: 100,
            version: 2,
            advert_int: 1.0,
            nopreempt: false,
            preempt_delay: 0.0,
            password: Some("s3cret"),
            unicast: false,
        }
    }
}

impl Vrrp {
    fn prio(&self, priority: u8) -> Vrrp {
        Vrrp {
            priority,
            ..self.clone()
        }
    }

    /// Master_Down_Interval of a backup with this configuration (RFC 3768/5798).
    fn master_down(&self) -> Duration {
        let skew = f64::from(256 - u32::from(self.priority)) / 256.0;
        let skew = if self.version == 3 {
            skew * self.advert_int
        } else {
            skew
        };
        Duration::from_secs_f64(3.0 * self.advert_int + skew)
    }

    /// Skew_Time: how long a backup waits after a priority-0 advert.
    fn skew(&self) -> Duration {
        self.master_down() - Duration::from_secs_f64(3.0 * self.advert_int)
    }

    /// rvsd's service and VRRP sections (`extra` lands in the instance).
    fn rvs_toml(&self, extra: &str) -> String {
        let mut s = String::from(
            "[[services]]\nprotocol = \"tcp\"\naddress = \"10.0.0.100\"\nport = 80\n\
             scheduler = \"rr\"\nforward = \"dr\"\n\
             [[services.real_servers]]\naddress = \"10.0.0.11\"\n\
             [[services.real_servers]]\naddress = \"10.0.0.12\"\n\
             [[services]]\nprotocol = \"udp\"\naddress = \"10.0.0.100\"\nport = 7000\n\
             scheduler = \"rr\"\nforward = \"dr\"\n\
             [[services.real_servers]]\naddress = \"10.0.0.11\"\n\
             [[services.real_servers]]\naddress = \"10.0.0.12\"\n\n\
             [[vrrp_instances]]\nname = \"VI_1\"\ninterface = \"dp0\"\nvirtual_router_id = 51\n",
        );
        s.push_str(&format!(
            "priority = {}\nadvert_int = {}\nversion = {}\nnopreempt = {}\npreempt_delay = {}\n\
             virtual_ipaddress = [{{ address = \"10.0.0.100/32\" }}]\n",
            self.priority, self.advert_int, self.version, self.nopreempt, self.preempt_delay
        ));
        if let Some(p) = self.password {
            s.push_str(&format!(
                "authentication = {{ type = \"PASS\", password = \"{p}\" }}\n"
            ));
        }
        if self.unicast {
            s.push_str("unicast_src_ip = \"10.0.0.2\"\nunicast_peer = [\"10.0.0.8\"]\n");
        }
        s.push_str(extra);
        s
    }

    /// keepalived.conf of the peer.
    fn keepalived_conf(&self, iface: &str) -> String {
        let mut s = format!(
            "global_defs {{\n    router_id peer\n}}\n\
             vrrp_instance VI_1 {{\n    state BACKUP\n    interface {iface}\n\
             virtual_router_id 51\n    priority {}\n    advert_int {}\n    version {}\n",
            self.priority, self.advert_int, self.version
        );
        if self.nopreempt {
            s.push_str("    nopreempt\n");
        }
        if let Some(p) = self.password.filter(|_| self.version == 2) {
            s.push_str(&format!(
                "    authentication {{\n        auth_type PASS\n        auth_pass {p}\n    }}\n"
            ));
        }
        if self.unicast {
            s.push_str(
                "    unicast_src_ip 10.0.0.8\n    unicast_peer {\n        10.0.0.2\n    }\n",
            );
        }
        s.push_str("    virtual_ipaddress {\n        10.0.0.100/32\n    }\n}\n");
        s
    }
}

/// The lab with the servers the VIP is served by: HTTP and the UDP echo on rs1, rs2 and
/// the peer.
struct World {
    lab: Lab,
    _servers: Vec<lab::ProcessGuard>,
}

fn world() -> Option<World> {
    let lab = lab(LabSpec::new(Mode::Dr).servers(2).with_peer())?;
    let mut servers = Vec::new();
    for node in [NodeId::Server(1), NodeId::Server(2), NodeId::Peer] {
        servers.push(lab.http_server(node, 80).expect("http"));
        servers.push(udp_echo(&lab, node, &node.to_string(), 7000));
    }
    Some(World {
        lab,
        _servers: servers,
    })
}

impl World {
    fn peer_if(&self) -> String {
        self.lab.node(NodeId::Peer).unwrap().ifname().to_string()
    }

    fn keepalived(&self, v: &Vrrp) -> Keepalived {
        self.lab
            .keepalived(NodeId::Peer, &v.keepalived_conf(&self.peer_if()))
            .expect("keepalived")
    }

    fn peer_has_vip(&self) -> bool {
        self.lab.has_address(NodeId::Peer, VIP).unwrap_or(false)
    }

    /// The router's neighbour entry for the VIP (the MAC), if any.
    fn router_vip_mac(&self) -> Option<String> {
        let text = self
            .lab
            .run(NodeId::Router, "ip", &["neigh", "show", &VIP.to_string()])
            .ok()?;
        text.split_whitespace()
            .skip_while(|w| *w != "lladdr")
            .nth(1)
            .map(str::to_string)
    }

    /// The peer as a dead box: its VIP gone too (a SIGKILLed keepalived leaves it).
    fn peer_dies(&self, ka: Keepalived) {
        let dir = ka.pid_file.parent().unwrap().to_path_buf();
        for file in ["vrrp.pid", "keepalived.pid"] {
            if let Ok(text) = std::fs::read_to_string(dir.join(file))
                && let Ok(pid) = text.trim().parse::<u32>()
            {
                lab::process::signal_pid(pid, Signal::SIGKILL);
            }
        }
        let _ = self.lab.run(
            NodeId::Peer,
            "ip",
            &["addr", "del", "10.0.0.100/32", "dev", &self.peer_if()],
        );
        drop(ka);
    }
}

fn is_state(rvsd: &Rvsd, state: &str) -> bool {
    rvsd.vrrp_state("VI_1").as_deref() == Some(state)
}

/// Who answered the prober's last few probes.
fn last_answers(p: &Probe, n: usize) -> Vec<String> {
    let r = p.report();
    let k = r.answered.len().saturating_sub(n);
    r.answered[k..].iter().map(|a| a.2.clone()).collect()
}

/// Waits until the prober's last answers all come from one of `who`.
fn served_by(p: &Probe, who: &[&str], limit: Duration) -> bool {
    wait_for(limit, || {
        let last = last_answers(p, 5);
        last.len() == 5 && last.iter().all(|s| who.contains(&s.as_str()))
    })
    .is_some()
}

#[test]
fn rvs_preempts_keepalived_serves_the_vip_and_after_its_sigkill_keepalived_takes_over() {
    if skip(&["keepalived"]) {
        return;
    }
    let _g = serial();
    let Some(w) = world() else { return };
    let base = Vrrp::default();
    // keepalived alone first: MASTER, it serves the VIP itself.
    let _ka = w.keepalived(&base.prio(100));
    w.lab
        .wait_for_address(NodeId::Peer, VIP, Duration::from_secs(8))
        .expect("keepalived MASTER");
    let probe = Probe::start(&w.lab, VIP, 7000, PROBE_EVERY);
    assert!(served_by(&probe, &["peer"], Duration::from_secs(3)));

    // rvsd (150) joins: BACKUP first, then it preempts after its Master_Down_Interval;
    // keepalived steps down and drops the VIP; the client is served by the real servers.
    let rvs = base.prio(150);
    let t_start = Instant::now();
    let rvsd = Rvsd::start(&w.lab, 1, "vrrp1", &rvs.rvs_toml(""));
    let t_up = t_start.elapsed();
    let took =
        wait_for(Duration::from_secs(8), || is_state(&rvsd, "MASTER")).unwrap_or_else(|| {
            panic!(
                "rvs never MASTER: {:?}\n{}",
                rvsd.vrrp_state("VI_1"),
                rvsd.log()
            )
        });
    figure("rvs (150) preempts keepalived (100), from rvsd ready", took);
    assert!(
        took + t_up >= rvs.master_down() - Duration::from_millis(300),
        "preempted after {:?} (+{t_up:?} start-up): before its Master_Down_Interval",
        took
    );
    assert!(wait_for(Duration::from_secs(3), || !w.peer_has_vip()).is_some());
    assert!(served_by(&probe, &["rs1", "rs2"], Duration::from_secs(3)));
    // Held for longer than keepalived's Master_Down_Interval (3.61 s): our adverts,
    // which leave through the TAP and the dataplane, are valid to keepalived.
    holds_for(
        Duration::from_millis(4000),
        "rvs MASTER, keepalived without the VIP",
        || is_state(&rvsd, "MASTER") && !w.peer_has_vip(),
    );
    // The router reaches the VIP at our port's MAC (gratuitous ARP on takeover).
    assert_eq!(w.router_vip_mac().as_deref(), Some(RVS_MAC));
    let list = rvsd.rvsadm(&["--list-vrrp"]).stdout;
    assert!(list.contains("master 10.0.0.2"), "{list}");
    assert!(list.contains("dropped 0"), "{list}");
    let c = rvsd.counters();
    assert!(c["to_kernel"] >= 4 && c["from_kernel"] >= 4, "{c:?}");
    let preempt = probe.report();

    // SIGKILL rvsd: no priority 0; keepalived takes over when its Master_Down_Interval
    // has run out since our last advert: 2.61..3.61 s after the kill.
    let mut rvsd = rvsd;
    let t_kill = Instant::now();
    rvsd.signal(Signal::SIGKILL);
    wait_for(Duration::from_secs(6), || w.peer_has_vip()).expect("keepalived took the VIP");
    let took = t_kill.elapsed();
    figure("SIGKILL rvsd master -> keepalived has the VIP", took);
    assert!(
        took <= base.prio(100).master_down() + Duration::from_millis(400),
        "{took:?}"
    );
    assert!(served_by(&probe, &["peer"], Duration::from_secs(3)));
    std::thread::sleep(Duration::from_millis(300));
    let report = probe.stop();
    figure("client outage, preempt keepalived -> rvs", preempt.outage());
    figure("client outage, SIGKILL rvsd -> keepalived", report.outage());
    assert!(
        preempt.outage() < Duration::from_millis(1000),
        "{:?}",
        preempt.outage()
    );
    assert!(
        report.outage() <= Duration::from_millis(4200),
        "{:?}",
        report.outage()
    );
}

#[test]
fn keepalived_wins_rvs_backup_serves_nothing_and_takes_over_when_keepalived_dies() {
    if skip(&["keepalived"]) {
        return;
    }
    let _g = serial();
    let Some(w) = world() else { return };
    let base = Vrrp::default();
    let ka = w.keepalived(&base.prio(150));
    w.lab
        .wait_for_address(NodeId::Peer, VIP, Duration::from_secs(8))
        .expect("keepalived MASTER");
    let rvs = base.prio(100);
    let rvsd = Rvsd::start(&w.lab, 1, "vrrp2", &rvs.rvs_toml(""));
    assert!(wait_for(Duration::from_secs(3), || is_state(&rvsd, "BACKUP")).is_some());
    holds_for(Duration::from_millis(4000), "rvs BACKUP", || {
        is_state(&rvsd, "BACKUP") && w.peer_has_vip()
    });
    let list = rvsd.rvsadm(&["--list-vrrp"]).stdout;
    assert!(list.contains("master 10.0.0.8"), "{list}");
    assert!(list.contains("dropped 0"), "{list}");
    // `-Ln` lists the services anyway, as ipvsadm does on a keepalived BACKUP.
    assert_eq!(rvsd.table("TCP", "10.0.0.100:80").len(), 2);

    // A BACKUP answers no ARP for the VIP: the router learns the peer's MAC, and the ARP
    // requests that reached our port were dropped as not ours.
    let not_ours = rvsd.counter("drop.arp_not_ours");
    w.lab
        .run(NodeId::Router, "ip", &["neigh", "flush", "all"])
        .unwrap();
    let probe = Probe::start(&w.lab, VIP, 7000, PROBE_EVERY);
    assert!(served_by(&probe, &["peer"], Duration::from_secs(3)));
    assert_eq!(w.router_vip_mac().as_deref(), Some(PEER_MAC));
    assert!(rvsd.counter("drop.arp_not_ours") > not_ours);
    // Nor does it forward: a datagram to the VIP sent to our MAC is not for us.
    let not_for_us = rvsd.counter("drop.not_for_us");
    let frame = udp_to_vip_frame();
    w.lab
        .send_frames(
            NodeId::Router,
            w.lab.node(NodeId::Router).unwrap().ifname(),
            &[frame.clone(), frame.clone(), frame],
        )
        .unwrap();
    assert!(
        wait_for(Duration::from_secs(2), || rvsd.counter("drop.not_for_us")
            >= not_for_us + 3)
        .is_some(),
        "{:?}",
        rvsd.counters()
    );
    assert!(rvsd.rvsadm(&["-Lnc"]).stdout.lines().count() <= 2);

    // keepalived's box dies (SIGKILL, VIP gone): rvs takes over after its
    // Master_Down_Interval (3.61 s for priority 100) since the last advert.
    let t_kill = Instant::now();
    w.peer_dies(ka);
    wait_for(Duration::from_secs(6), || is_state(&rvsd, "MASTER")).expect("rvs took over");
    let took = t_kill.elapsed();
    figure("SIGKILL keepalived master -> rvs MASTER", took);
    assert!(
        took <= rvs.master_down() + Duration::from_millis(400),
        "{took:?}"
    );
    assert!(served_by(&probe, &["rs1", "rs2"], Duration::from_secs(3)));
    assert_eq!(w.router_vip_mac().as_deref(), Some(RVS_MAC));
    std::thread::sleep(Duration::from_millis(300));
    let report = probe.stop();
    figure("client outage, SIGKILL keepalived -> rvs", report.outage());
    assert!(
        report.outage() <= Duration::from_millis(4200),
        "{:?}",
        report.outage()
    );
}

/// A UDP datagram from the client to VIP:7000 as the router forwards it, addressed to
/// rvs's port MAC.
fn udp_to_vip_frame() -> Vec<u8> {
    let ip = control_free_udp(Ipv4Addr::new(10, 9, 0, 2), VIP, 40000, 7000, b"hi");
    let mut f = Vec::with_capacity(14 + ip.len());
    f.extend_from_slice(&[2, 0, 0x0a, 0, 0, 2]);
    f.extend_from_slice(&[2, 0, 0x0a, 0, 0, 1]);
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&ip);
    f
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn ones(data: &[u8]) -> u32 {
    data.chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum()
}

/// IPv4 + UDP with correct checksums (TTL 63: forwarded once).
fn control_free_udp(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
    let ulen = 8 + data.len();
    let mut udp = Vec::new();
    udp.extend_from_slice(&sport.to_be_bytes());
    udp.extend_from_slice(&dport.to_be_bytes());
    udp.extend_from_slice(&(ulen as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(data);
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&[0, 17]);
    pseudo.extend_from_slice(&(ulen as u16).to_be_bytes());
    let c = fold(ones(&pseudo) + ones(&udp));
    udp[6..8].copy_from_slice(&c.to_be_bytes());
    let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 63, 17, 0, 0];
    ip[2..4].copy_from_slice(&((20 + ulen) as u16).to_be_bytes());
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let c = fold(ones(&ip));
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&udp);
    ip
}

#[test]
fn nopreempt_holds_preempt_delay_waits_and_sigterm_hands_over_within_skew_time() {
    if skip(&["keepalived"]) {
        return;
    }
    let _g = serial();
    let Some(w) = world() else { return };
    let base = Vrrp::default();
    let ka_conf = base.prio(100);
    let _ka = w.keepalived(&ka_conf);
    w.lab
        .wait_for_address(NodeId::Peer, VIP, Duration::from_secs(8))
        .expect("keepalived MASTER");

    // nopreempt: rvs (150) stays BACKUP under a lower master.
    let quiet = Vrrp {
        nopreempt: true,
        ..base.prio(150)
    };
    let mut rvsd = Rvsd::start(&w.lab, 1, "nopreempt", &quiet.rvs_toml(""));
    holds_for(Duration::from_millis(5500), "nopreempt rvs BACKUP", || {
        rvsd.vrrp_state("VI_1").as_deref() != Some("MASTER") && w.peer_has_vip()
    });
    assert!(is_state(&rvsd, "BACKUP"));
    rvsd.signal(Signal::SIGTERM);

    // preempt_delay 2: the preemption waits 2 s more than a plain one would.
    let delayed = Vrrp {
        preempt_delay: 2.0,
        ..base.prio(150)
    };
    let t0 = Instant::now();
    let rvsd = Rvsd::start(&w.lab, 1, "preemptdelay", &delayed.rvs_toml(""));
    let took = wait_for(Duration::from_secs(10), || is_state(&rvsd, "MASTER"))
        .expect("rvs MASTER after its preempt delay");
    let total = t0.elapsed();
    figure(
        "rvs (150, preempt_delay 2) preempts keepalived (100), from rvsd ready",
        took,
    );
    let plain = delayed.master_down();
    assert!(
        total >= plain + Duration::from_millis(1700),
        "preempted after {total:?}: the delay was not waited"
    );
    assert!(took <= plain + Duration::from_secs(3), "{took:?}");
    assert!(wait_for(Duration::from_secs(2), || !w.peer_has_vip()).is_some());

    // SIGTERM: rvs sends priority 0 before its dataplane stops; keepalived takes over
    // after its Skew_Time (0.61 s) instead of Master_Down_Interval.
    let probe = Probe::start(&w.lab, VIP, 7000, PROBE_EVERY);
    assert!(served_by(&probe, &["rs1", "rs2"], Duration::from_secs(3)));
    let mut rvsd = rvsd;
    let t_term = Instant::now();
    let pid = rvsd.guard.as_ref().unwrap().pid();
    lab::process::signal_pid(pid, Signal::SIGTERM);
    wait_for(Duration::from_secs(4), || w.peer_has_vip()).expect("keepalived MASTER");
    let took = t_term.elapsed();
    figure("SIGTERM rvsd master -> keepalived has the VIP", took);
    assert!(
        took <= ka_conf.skew() + Duration::from_millis(600),
        "{took:?}: keepalived waited for Master_Down_Interval, no priority 0 arrived?"
    );
    assert!(served_by(&probe, &["peer"], Duration::from_secs(3)));
    rvsd.guard
        .take()
        .unwrap()
        .wait_exit(Duration::from_secs(10))
        .expect("rvsd exits");
    let report = probe.stop();
    figure("client outage, SIGTERM rvsd -> keepalived", report.outage());
    assert!(
        report.outage() <= Duration::from_millis(1500),
        "{:?}",
        report.outage()
    );
}

#[test]
fn a_failing_track_script_moves_the_vip_to_keepalived_and_back() {
    if skip(&["keepalived"]) {
        return;
    }
    let _g = serial();
    let Some(w) = world() else { return };
    let flag = w.lab.workdir().join("track-ok");
    std::fs::write(&flag, "").unwrap();
    let base = Vrrp::default();
    let ka_conf = base.prio(100);
    let _ka = w.keepalived(&ka_conf);
    let rvs = base.prio(150);
    let extra = format!(
        "track_script = [{{ name = \"chk\" }}]\n\n[vrrp_scripts.chk]\n\
         script = \"/bin/test -f {}\"\ninterval = 1\nweight = -60\n",
        flag.display()
    );
    let rvsd = Rvsd::start(&w.lab, 1, "track", &rvs.rvs_toml(&extra));
    assert!(
        wait_for(Duration::from_secs(8), || is_state(&rvsd, "MASTER")
            && !w.peer_has_vip())
        .is_some(),
        "{:?}\n{}",
        rvsd.vrrp_state("VI_1"),
        rvsd.log()
    );
    // The script fails: 150 - 60 = 90 < 100; keepalived's adverts... are not heard as
    // better until it is master: it takes over when its Master_Down_Interval runs out
    // (our adverts at 90 do not hold a preempting backup of 100).
    std::fs::remove_file(&flag).unwrap();
    let t0 = Instant::now();
    let took = wait_for(Duration::from_secs(8), || w.peer_has_vip()).expect("keepalived MASTER");
    figure(
        "track_script fails on rvs master (150-60 < 100) -> keepalived MASTER",
        took,
    );
    assert!(took <= Duration::from_secs(1) + ka_conf.master_down() + Duration::from_millis(500));
    assert!(wait_for(Duration::from_secs(2), || is_state(&rvsd, "BACKUP")).is_some());
    let list = rvsd.rvsadm(&["--list-vrrp"]).stdout;
    assert!(list.contains("priority 150, effective 90"), "{list}");

    // The script passes again: 150 > 100, rvs preempts after its Master_Down_Interval.
    std::fs::write(&flag, "").unwrap();
    let took = wait_for(Duration::from_secs(8), || is_state(&rvsd, "MASTER")).expect("rvs back");
    figure("track_script recovers -> rvs (150) preempts back", took);
    assert!(took <= Duration::from_secs(1) + rvs.master_down() + Duration::from_millis(500));
    assert!(wait_for(Duration::from_secs(2), || !w.peer_has_vip()).is_some());
    assert!(t0.elapsed() > Duration::ZERO);
}

#[test]
fn version_3_with_unicast_peers_elects_rvs_and_hands_over_in_a_third_of_a_second() {
    if skip(&["keepalived"]) {
        return;
    }
    let _g = serial();
    let Some(w) = world() else { return };
    let base = Vrrp {
        version: 3,
        advert_int: 0.1,
        unicast: true,
        password: None,
        ..Vrrp::default()
    };
    let ka_conf = base.prio(100);
    let _ka = w.keepalived(&ka_conf);
    let rvsd = Rvsd::start(&w.lab, 1, "v3", &base.prio(150).rvs_toml(""));
    assert!(
        wait_for(Duration::from_secs(5), || is_state(&rvsd, "MASTER")).is_some(),
        "{}",
        rvsd.log()
    );
    holds_for(
        Duration::from_millis(1500),
        "rvs MASTER (v3 unicast)",
        || is_state(&rvsd, "MASTER") && !w.peer_has_vip(),
    );
    let list = rvsd.rvsadm(&["--list-vrrp"]).stdout;
    assert!(list.contains("version 3"), "{list}");
    assert!(list.contains("dropped 0"), "{list}");
    let probe = Probe::start(&w.lab, VIP, 7000, PROBE_EVERY);
    assert!(served_by(&probe, &["rs1", "rs2"], Duration::from_secs(3)));
    let mut rvsd = rvsd;
    let t_kill = Instant::now();
    rvsd.signal(Signal::SIGKILL);
    wait_for(Duration::from_secs(3), || w.peer_has_vip()).expect("keepalived MASTER");
    let took = t_kill.elapsed();
    figure(
        "v3 unicast 0.1 s: SIGKILL rvsd master -> keepalived has the VIP",
        took,
    );
    assert!(
        took <= ka_conf.master_down() + Duration::from_millis(400),
        "{took:?}"
    );
    assert!(served_by(&probe, &["peer"], Duration::from_secs(3)));
    let report = probe.stop();
    figure(
        "client outage, v3 unicast 0.1 s, SIGKILL rvsd -> keepalived",
        report.outage(),
    );
    assert!(
        report.outage() <= Duration::from_millis(1000),
        "{:?}",
        report.outage()
    );
}

/// An advert from the router's port as a forger would send it (Ethernet to the VRRP
/// group's MAC, source the virtual router MAC).
fn forged(priority: u8, password: &[u8], ttl: u8, break_checksum: bool) -> Vec<u8> {
    use control::vrrp::packet::{AdvertSpec, VRRP_GROUP, build, wrap_ipv4};
    let src = Ipv4Addr::new(10, 0, 0, 1);
    let pw = String::from_utf8_lossy(password).into_owned();
    let mut vrrp = build(
        &AdvertSpec {
            version: 2,
            vrid: 51,
            priority,
            adver_int: 1,
            password: Some(pw.as_bytes()),
            addrs: &[VIP],
        },
        src,
        VRRP_GROUP,
    );
    if break_checksum {
        vrrp[6] ^= 0x5a;
    }
    let ip = wrap_ipv4(&vrrp, src, VRRP_GROUP, ttl, 7);
    let mut f = vec![
        0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x00, 0x00, 0x5e, 0x00, 0x01, 51,
    ];
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&ip);
    f
}

#[test]
fn spoofed_and_malformed_adverts_through_the_dataplane_change_nothing() {
    if skip(&[]) {
        return;
    }
    let _g = serial();
    let Some(lab) = lab(LabSpec::new(Mode::Dr).servers(2)) else {
        return;
    };
    let rvsd = Rvsd::start(&lab, 1, "spoof", &Vrrp::default().prio(150).rvs_toml(""));
    assert!(wait_for(Duration::from_secs(6), || is_state(&rvsd, "MASTER")).is_some());
    // Becoming MASTER was one snapshot; nothing else changes the table here.
    let swaps = rvsd.counter("snapshot_swaps");
    let router_if = lab.node(NodeId::Router).unwrap().ifname().to_string();
    let send = |frames: Vec<Vec<u8>>| {
        lab.send_frames(NodeId::Router, &router_if, &frames)
            .unwrap()
    };
    let bad = vec![
        forged(254, b"wrong", 255, false),
        forged(254, b"wrong", 255, false),
        forged(254, b"wrong", 255, false),
        forged(254, b"s3cret", 254, false),
        forged(254, b"s3cret", 254, false),
        forged(254, b"s3cret", 254, false),
        forged(254, b"s3cret", 255, true),
        forged(254, b"s3cret", 255, true),
        forged(254, b"s3cret", 255, true),
    ];
    send(bad);
    let counted = wait_for(Duration::from_secs(3), || {
        let c = rvsd.counters();
        let get = |n: &str| c.get(n).copied().unwrap_or(0);
        get("vrrp_VI_1_drop_auth_failure") == 3
            && get("vrrp_VI_1_drop_ttl") == 3
            && get("vrrp_VI_1_drop_checksum") == 3
    });
    assert!(counted.is_some(), "{:?}", rvsd.counters());
    holds_for(
        Duration::from_millis(1500),
        "rvs MASTER despite forged adverts",
        || is_state(&rvsd, "MASTER"),
    );
    let list = rvsd.rvsadm(&["--list-vrrp"]).stdout;
    assert!(list.contains("dropped 9"), "{list}");
    assert_eq!(
        rvsd.counter("snapshot_swaps"),
        swaps,
        "a dropped advert changed the table"
    );

    // The control: the same forger with the right password, TTL and checksum wins.
    send(vec![forged(254, b"s3cret", 255, false)]);
    assert!(
        wait_for(Duration::from_secs(2), || is_state(&rvsd, "BACKUP")).is_some(),
        "{:?}",
        rvsd.vrrp_state("VI_1")
    );
    let list = rvsd.rvsadm(&["--list-vrrp"]).stdout;
    assert!(list.contains("master 10.0.0.1"), "{list}");
    // Leaving MASTER is exactly one snapshot change: the VIP's services go out together.
    assert!(
        wait_for(Duration::from_secs(2), || rvsd.counter("snapshot_swaps")
            == swaps + 1)
        .is_some(),
        "{} swaps after {swaps}",
        rvsd.counter("snapshot_swaps")
    );
    assert!(rvsd.counter("snapshot_swaps") == swaps + 1);
}
