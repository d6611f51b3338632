//! Preemption as keepalived does it (default preempt, nopreempt, preempt_delay) and
//! tracking (a vrrp_script that starts failing moves mastership), rvs against a real
//! keepalived in network namespaces. Needs root.

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
fn rvs_preempts_a_lower_master_by_default_but_not_with_nopreempt() {
    if skip() {
        return;
    }
    let _g = serial();
    let topo = Topo::new();
    let ka = Keepalived::start(&topo, "ka", &KaConf::default());
    assert!(wait_for(8 * SECOND, || ka.state() == "MASTER").is_some());
    // Default: the higher-priority newcomer ignores the lower master's adverts and takes
    // over when its Master_Down_Interval (3 + 106/256 s) runs out.
    let t0 = now_s();
    let mut rvs = Rvs::start(&topo, "rvs", &rvs_conf(150, 2, "1", ""));
    assert!(wait_for(6 * SECOND, || rvs.state() == "MASTER").is_some());
    let at = rvs.event_at("OWN 1", t0).unwrap();
    figure(
        "rvs (150, preempt) joining a keepalived master (100) -> MASTER",
        at - t0,
    );
    assert!(
        at - t0 > 3.41 - 0.1 && at - t0 < 3.41 + 1.0,
        "{:.3}",
        at - t0
    );
    assert!(wait_for(SECOND, || ka.state() == "BACKUP").is_some());

    rvs.stop();
    assert!(wait_for(3 * SECOND, || ka.state() == "MASTER").is_some());
    // nopreempt: the higher-priority newcomer stays BACKUP under the lower master.
    let nopreempt = rvs_conf(150, 2, "1", "nopreempt = true");
    let rvs2 = Rvs::start(&topo, "rvs2", &nopreempt);
    assert!(wait_for(2 * SECOND, || rvs2.state() == "BACKUP").is_some());
    holds_for(Duration::from_millis(5500), "nopreempt BACKUP", || {
        rvs2.state() == "BACKUP" && ka.state() == "MASTER"
    });
    assert_eq!(rvs2.status().master_addr.as_deref(), Some(KA_IP));
}

#[test]
fn preempt_delay_postpones_the_takeover_as_keepalived_does() {
    if skip() {
        return;
    }
    let _g = serial();
    let topo = Topo::new();
    let ka = Keepalived::start(&topo, "ka", &KaConf::default());
    assert!(wait_for(8 * SECOND, || ka.state() == "MASTER").is_some());
    let t0 = now_s();
    let mut rvs = Rvs::start(&topo, "rvs", &rvs_conf(150, 2, "1", "preempt_delay = 3.0"));
    assert!(wait_for(10 * SECOND, || rvs.state() == "MASTER").is_some());
    let rvs_took = rvs.event_at("OWN 1", t0).unwrap() - t0;
    figure(
        "rvs (150, preempt_delay 3) joining a keepalived master (100)",
        rvs_took,
    );
    rvs.stop();
    assert!(wait_for(3 * SECOND, || ka.state() == "MASTER").is_some());

    // The reference: keepalived itself, same settings, in rvs's place.
    let t1 = now_s();
    let reference = Keepalived::start(
        &topo,
        "reference",
        &KaConf {
            priority: 150,
            extra: "preempt_delay 3",
            on_rvs_side: true,
            ..KaConf::default()
        },
    );
    assert!(wait_for(10 * SECOND, || reference.state() == "MASTER").is_some());
    let ka_took = reference.entered("MASTER", t1).unwrap() - t1;
    figure(
        "keepalived (150, preempt_delay 3) joining a keepalived master (100)",
        ka_took,
    );
    // Without the delay the takeover would come after 3.41 s; with it, after the delay
    // plus up to one Master_Down_Interval.
    assert!(rvs_took > 3.0 + 2.4, "rvs took over after {rvs_took:.3} s");
    assert!(
        (rvs_took - ka_took).abs() < 1.2,
        "rvs {rvs_took:.3} s vs keepalived {ka_took:.3} s"
    );
}

#[test]
fn a_failing_track_script_lowers_priority_and_moves_the_vip() {
    if skip() {
        return;
    }
    let _g = serial();
    let topo = Topo::new();
    let flag = topo.dir.path().join("healthy");
    std::fs::write(&flag, "").unwrap();
    let ka = Keepalived::start(
        &topo,
        "ka",
        &KaConf {
            priority: 120,
            ..KaConf::default()
        },
    );
    let script = format!(
        "track_script = [{{ name = \"chk\" }}]\n\n\
         [vrrp_scripts.chk]\nscript = \"test -f {}\"\ninterval = 0.5\nweight = -60\n",
        flag.display()
    );
    let conf = rvs_conf(150, 2, "1", &script);
    let rvs = Rvs::start(&topo, "rvs", &conf);
    assert!(
        wait_for(10 * SECOND, || rvs.state() == "MASTER"
            && ka.state() == "BACKUP")
        .is_some(),
        "{:?} {:?}\n{}",
        rvs.status(),
        ka.transitions(),
        rvs.log_text()
    );
    assert_eq!(rvs.status().effective_priority, 150);

    // The script fails: 150 - 60 = 90 < 120, keepalived preempts after its
    // Master_Down_Interval and rvs yields to its first advert.
    let t0 = now_s();
    std::fs::remove_file(&flag).unwrap();
    assert!(wait_for(2 * SECOND, || rvs.status().effective_priority == 90).is_some());
    assert!(
        wait_for(6 * SECOND, || ka.state() == "MASTER"
            && rvs.state() == "BACKUP")
        .is_some(),
        "{:?} {:?}",
        rvs.status(),
        ka.transitions()
    );
    let moved = ka.entered("MASTER", t0).unwrap() - t0;
    figure(
        "track_script fails on rvs master (150-60 < 120) -> keepalived MASTER",
        moved,
    );
    assert!(rvs.event_at("OWN 0", t0).is_some());
    assert!(wait_for(SECOND, || topo.ka_has_vip()).is_some());

    // It recovers: back to 150, rvs preempts again.
    std::fs::write(&flag, "").unwrap();
    assert!(
        wait_for(6 * SECOND, || rvs.state() == "MASTER"
            && ka.state() == "BACKUP")
        .is_some()
    );
    assert_eq!(rvs.status().effective_priority, 150);
}

#[test]
fn a_tracked_interface_going_down_faults_the_master_and_notify_reports_each_state() {
    if skip() {
        return;
    }
    let _g = serial();
    let topo = Topo::new();
    // A second veth pair inside the rvs namespace stands for another port.
    topo.ip_r(&["link", "add", "vt0", "type", "veth", "peer", "name", "vt1"]);
    topo.ip_r(&["link", "set", "vt1", "up"]);
    topo.ip_r(&["link", "set", "vt0", "up"]);
    let states = topo.dir.path().join("rvs.states");
    let extra = format!(
        "track_interface = [{{ name = \"vt0\" }}]\n\
         notify = \"echo >>{} \"",
        states.display()
    );
    let ka = Keepalived::start(&topo, "ka", &KaConf::default());
    let rvs = Rvs::start(&topo, "rvs", &rvs_conf(150, 2, "1", &extra));
    assert!(
        wait_for(10 * SECOND, || rvs.state() == "MASTER"
            && ka.state() == "BACKUP")
        .is_some()
    );

    // Down: FAULT at once (priority 0 sent), keepalived takes over after Skew_Time.
    let t0 = now_s();
    topo.ip_r(&["link", "set", "vt0", "down"]);
    assert!(
        wait_for(3 * SECOND, || rvs.state() == "FAULT"
            && ka.state() == "MASTER")
        .is_some()
    );
    let at = ka.entered("MASTER", t0).unwrap();
    figure(
        "tracked interface down on rvs master -> keepalived MASTER",
        at - t0,
    );
    assert!(at - t0 < 0.25 + 0.61 + 0.4, "{:.3}", at - t0);
    assert!(rvs.event_at("OWN 0", t0).is_some());

    // Up: BACKUP, then rvs preempts after its Master_Down_Interval.
    topo.ip_r(&["link", "set", "vt0", "up"]);
    assert!(
        wait_for(6 * SECOND, || rvs.state() == "MASTER"
            && ka.state() == "BACKUP")
        .is_some()
    );
    let lines: Vec<String> = std::fs::read_to_string(&states)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            "INSTANCE VI_1 BACKUP 150",
            "INSTANCE VI_1 MASTER 150",
            "INSTANCE VI_1 FAULT 150",
            "INSTANCE VI_1 BACKUP 150",
            "INSTANCE VI_1 MASTER 150",
        ]
    );
}
