//! Malformed and spoofed advertisements, forged with scapy next to a real keepalived,
//! change nothing and are counted by reason. Needs root.

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
fn bad_adverts_change_nothing_and_are_counted_by_reason() {
    if skip() {
        return;
    }
    let _g = serial();
    let topo = Topo::new();
    let ka = Keepalived::start(&topo, "ka", &KaConf::default());
    let rvs = Rvs::start(&topo, "rvs", &rvs_conf(150, 2, "1", ""));
    assert!(
        wait_for(10 * SECOND, || rvs.state() == "MASTER"
            && ka.state() == "BACKUP")
        .is_some()
    );
    let before = rvs.status();
    assert_eq!(before.adverts_dropped, 0);

    // Each would win the election (priority 254) if it were accepted. Three of each.
    topo.scapy(&format!(
        "{SCAPY_PRELUDE}\n\
         send([v2(pw=b'wrong'), v2(ttl=254), v2(chksum=0x1234), v2(vrid=52), v2(adv=2),\n\
               v2(addrs=('10.200.0.99',)), v2(authtype=0, pw=b'')])\n"
    ));
    std::thread::sleep(Duration::from_millis(500));
    holds_for(SECOND, "rvs MASTER, keepalived BACKUP", || {
        rvs.state() == "MASTER" && ka.state() == "BACKUP"
    });
    let st = rvs.status();
    assert_eq!(st.master_addr.as_deref(), Some(RVS_IP), "{st:?}");
    let want = [
        ("auth_failure", 3),
        ("ttl", 3),
        ("checksum", 3),
        ("interval", 3),
        ("addr_list", 3),
        ("auth_type", 3),
    ];
    for (reason, n) in want {
        assert_eq!(st.drops.get(reason).copied(), Some(n), "{reason}: {st:?}");
    }
    // Another VRID is not ours: ignored, not a drop.
    assert_eq!(st.drops.len(), want.len(), "{st:?}");
    assert_eq!(st.adverts_dropped, 18, "{st:?}");
    assert_eq!(st.adverts_received, before.adverts_received, "{st:?}");

    // The control: the same forger with the right password does win, so the rejections
    // above were the checks' doing.
    topo.scapy(&format!("{SCAPY_PRELUDE}\nsend([v2()], count=1)\n"));
    assert!(
        wait_for(SECOND, || rvs.state() == "BACKUP").is_some(),
        "{:?}",
        rvs.status()
    );
    assert_eq!(rvs.status().master_addr.as_deref(), Some(SPOOF_IP));
    // The forger falls silent: rvs takes back after its Master_Down_Interval.
    assert!(wait_for(5 * SECOND, || rvs.state() == "MASTER").is_some());
}
