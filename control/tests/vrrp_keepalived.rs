//! The rvs VRRP driver against a real keepalived (Debian's 2.2.7), in network namespaces:
//! election both ways, takeover timing after SIGKILL and SIGTERM, versions 2 and 3, unicast
//! peers. Needs root (prints "skipped: needs root" otherwise). The `FIGURE` lines are the
//! measurements docs/high-availability.md quotes.

mod vrrp_support;

use std::time::Duration;

use vrrp_support::*;

#[test]
#[ignore = "helper run by the other tests inside a namespace, not a test by itself"]
fn vrrp_role() {
    role_main();
}

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn v2_rvs_higher_wins_serves_the_vip_and_sigterm_hands_over_within_skew_time() {
    if skip() {
        return;
    }
    let _g = serial();
    let topo = Topo::new();
    let ka = Keepalived::start(&topo, "ka", &KaConf::default());
    let mut rvs = Rvs::start(&topo, "rvs", &rvs_conf(150, 2, "1", ""));
    assert!(
        wait_for(8 * SECOND, || rvs.state() == "MASTER").is_some(),
        "rvs never became MASTER: {:?}\n{}",
        rvs.status(),
        rvs.log_text()
    );
    assert!(
        wait_for(3 * SECOND, || ka.state() == "BACKUP").is_some(),
        "keepalived: {:?}\n{}",
        ka.transitions(),
        ka.log_text()
    );
    // Longer than keepalived's Master_Down_Interval (3.61 s): only our adverts keep it
    // BACKUP, so they are valid to keepalived (PASS auth, checksum, TTL, interval).
    holds_for(
        Duration::from_millis(4700),
        "keepalived BACKUP without the VIP",
        || ka.state() == "BACKUP" && !topo.ka_has_vip(),
    );
    assert_eq!(rvs.state(), "MASTER");
    // Gratuitous ARPs went out with our MAC and the VIP answers from our side.
    let mac = topo.mac(&topo.rvs_ns, RVS_IF);
    assert_eq!(topo.ka_neigh_of_vip().as_deref(), Some(mac.as_str()));
    assert!(ka_pings_vip(&topo), "the VIP does not answer");
    let st = rvs.status();
    assert!(st.adverts_sent >= 5, "{st:?}");
    assert_eq!(st.adverts_dropped, 0, "{st:?}");

    // SIGTERM: rvs sends priority 0, keepalived takes over after its Skew_Time (0.61 s).
    let t0 = now_s();
    rvs.stop();
    let took = wait_for(3 * SECOND, || ka.state() == "MASTER");
    assert!(
        took.is_some(),
        "keepalived did not take over: {:?}",
        ka.transitions()
    );
    let at = ka.entered("MASTER", t0).unwrap();
    figure("v2 SIGTERM of rvs master -> keepalived MASTER", at - t0);
    assert!(at - t0 < 0.61 + 0.4, "takeover after {:.3} s", at - t0);
    assert!(
        rvs.event_at("OWN 0", t0).is_some(),
        "rvs kept the VIP: {:?}",
        rvs.events()
    );
    assert!(wait_for(2 * SECOND, || topo.ka_has_vip()).is_some());
}

#[test]
fn v2_keepalived_higher_wins_sigkill_takeover_and_preempt_back() {
    if skip() {
        return;
    }
    let _g = serial();
    let topo = Topo::new();
    let conf = KaConf {
        priority: 150,
        ..KaConf::default()
    };
    // keepalived first, so that rvs never was master before (both started together, rvs
    // may win the first election while keepalived still settles, then be preempted).
    let mut ka = Keepalived::start(&topo, "ka", &conf);
    assert!(
        wait_for(8 * SECOND, || ka.state() == "MASTER").is_some(),
        "{:?}\n{}",
        ka.transitions(),
        ka.log_text()
    );
    let rvs = Rvs::start(&topo, "rvs", &rvs_conf(100, 2, "1", ""));
    assert!(wait_for(2 * SECOND, || rvs.state() == "BACKUP").is_some());
    holds_for(Duration::from_millis(4000), "rvs BACKUP", || {
        rvs.state() == "BACKUP"
    });
    let st = rvs.status();
    assert_eq!(st.master_addr.as_deref(), Some(KA_IP), "{st:?}");
    assert!(st.adverts_received >= 4, "{st:?}");
    assert_eq!(st.adverts_dropped, 0, "{st:?}");
    assert!(rvs.events().iter().all(|(_, e)| !e.starts_with("OWN")));

    // SIGKILL: no priority 0; rvs takes over when Master_Down_Interval (3.61 s) has run
    // out since keepalived's last advert, i.e. 2.61..3.61 s after the kill.
    let t0 = now_s();
    ka.kill_hard();
    assert!(wait_for(6 * SECOND, || rvs.state() == "MASTER").is_some());
    let at = rvs.event_at("OWN 1", t0).expect("ownership event");
    figure("v2 SIGKILL of keepalived master -> rvs MASTER", at - t0);
    assert!(
        at - t0 > 2.5 && at - t0 < 3.61 + 0.3,
        "takeover after {:.3} s",
        at - t0
    );

    // keepalived comes back with the higher priority and preempts (its own
    // Master_Down_Interval after starting); rvs yields on its first advert.
    // The killed keepalived left the VIP on its interface, as keepalived does.
    topo.ip_k(&["addr", "flush", "dev", KA_IF, "to", &format!("{VIP}/32")]);
    let t1 = now_s();
    let ka2 = Keepalived::start(&topo, "ka2", &conf);
    assert!(wait_for(8 * SECOND, || ka2.state() == "MASTER").is_some());
    assert!(wait_for(SECOND, || rvs.state() == "BACKUP").is_some());
    let yielded = rvs.event_at("OWN 0", t1).expect("rvs released the VIP");
    let ka_master = ka2.entered("MASTER", t1).unwrap();
    figure(
        "v2 keepalived (150) restarted -> preempts rvs (100)",
        yielded - t1,
    );
    assert!(
        (yielded - ka_master).abs() < 0.5,
        "{yielded} vs {ka_master}"
    );

    // SIGTERM of keepalived: its priority-0 advert lets rvs take over after Skew_Time.
    let mut ka2 = ka2;
    let t2 = now_s();
    ka2.stop();
    assert!(wait_for(3 * SECOND, || rvs.state() == "MASTER").is_some());
    let at = rvs.event_at("OWN 1", t2).expect("ownership event");
    figure("v2 SIGTERM of keepalived master -> rvs MASTER", at - t2);
    assert!(at - t2 < 0.61 + 0.4, "takeover after {:.3} s", at - t2);
}

#[test]
fn v3_fast_adverts_sigkill_of_rvs_master_and_keepalived_takeover() {
    if skip() {
        return;
    }
    let _g = serial();
    let topo = Topo::new();
    let conf = KaConf {
        version: 3,
        advert_int: "0.1",
        password: None,
        ..KaConf::default()
    };
    let ka = Keepalived::start(&topo, "ka", &conf);
    let mut rvs = Rvs::start(&topo, "rvs", &rvs_conf(150, 3, "0.1", ""));
    assert!(wait_for(5 * SECOND, || rvs.state() == "MASTER").is_some());
    assert!(wait_for(2 * SECOND, || ka.state() == "BACKUP").is_some());
    // keepalived's Master_Down_Interval is 0.3 + 0.06 s: holding 1.5 s shows it accepts
    // our v3 adverts (centisecond interval, pseudo-header checksum).
    holds_for(Duration::from_millis(1500), "keepalived BACKUP", || {
        ka.state() == "BACKUP" && !topo.ka_has_vip()
    });
    let t0 = now_s();
    rvs.kill_hard();
    assert!(wait_for(3 * SECOND, || ka.state() == "MASTER").is_some());
    let at = ka.entered("MASTER", t0).unwrap();
    figure(
        "v3 (0.1 s) SIGKILL of rvs master -> keepalived MASTER",
        at - t0,
    );
    assert!(at - t0 < 0.36 + 0.3, "takeover after {:.3} s", at - t0);

    // And the other way: rvs, lower, follows keepalived's v3 adverts.
    let rvs2 = Rvs::start(&topo, "rvs2", &rvs_conf(90, 3, "0.1", ""));
    assert!(wait_for(2 * SECOND, || rvs2.state() == "BACKUP").is_some());
    holds_for(Duration::from_millis(1500), "rvs BACKUP", || {
        rvs2.state() == "BACKUP"
    });
    let st = rvs2.status();
    assert_eq!(st.master_addr.as_deref(), Some(KA_IP), "{st:?}");
    assert!(st.adverts_received >= 10, "{st:?}");
    assert_eq!(st.adverts_dropped, 0, "{st:?}");
}

#[test]
fn v3_unicast_peers_both_ways() {
    if skip() {
        return;
    }
    let _g = serial();
    let topo = Topo::new();
    let conf = KaConf {
        version: 3,
        advert_int: "0.5",
        password: None,
        unicast: true,
        ..KaConf::default()
    };
    let unicast = format!("unicast_src_ip = \"{RVS_IP}\"\nunicast_peer = [\"{KA_IP}\"]");
    let ka = Keepalived::start(&topo, "ka", &conf);
    let mut rvs = Rvs::start(&topo, "rvs", &rvs_conf(150, 3, "0.5", &unicast));
    assert!(wait_for(5 * SECOND, || rvs.state() == "MASTER").is_some());
    assert!(wait_for(2 * SECOND, || ka.state() == "BACKUP").is_some());
    // keepalived's Master_Down_Interval is 1.5 + 0.3 s; our unicast adverts carry a
    // checksum over the peer's address, which keepalived checks.
    holds_for(Duration::from_millis(2500), "keepalived BACKUP", || {
        ka.state() == "BACKUP" && !topo.ka_has_vip()
    });
    let t0 = now_s();
    rvs.stop();
    assert!(wait_for(3 * SECOND, || ka.state() == "MASTER").is_some());
    let at = ka.entered("MASTER", t0).unwrap();
    figure(
        "v3 unicast (0.5 s) SIGTERM of rvs master -> keepalived MASTER",
        at - t0,
    );
    assert!(at - t0 < 0.3 + 0.4, "takeover after {:.3} s", at - t0);

    let rvs2 = Rvs::start(&topo, "rvs2", &rvs_conf(90, 3, "0.5", &unicast));
    assert!(wait_for(2 * SECOND, || rvs2.state() == "BACKUP").is_some());
    holds_for(Duration::from_millis(2500), "rvs BACKUP", || {
        rvs2.state() == "BACKUP"
    });
    let st = rvs2.status();
    assert_eq!(st.master_addr.as_deref(), Some(KA_IP), "{st:?}");
    assert!(st.adverts_received >= 4, "{st:?}");
    assert_eq!(st.adverts_dropped, 0, "{st:?}");
}
