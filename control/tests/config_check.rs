//! `rvsd --check-config FILE`: the report and the exit code.

use std::path::Path;

use control::config::check_config;

#[test]
fn a_valid_file_is_described_in_ipvsadm_terms() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/keepalived/dr.conf");
    let r = check_config(&path);
    assert_eq!(r.exit_code, 0, "{}", r.output);
    let lines: Vec<&str> = r.output.lines().collect();
    assert!(lines[0].starts_with("configuration OK: "), "{}", r.output);
    assert!(lines[0].ends_with("(keepalived.conf format, 1 file, 0 warnings)"));
    for expected in [
        "2 virtual services, 4 real servers, 1 VRRP instance",
        "Prot LocalAddress:Port Scheduler Flags",
        "  -> RemoteAddress:Port           Forward Weight",
        "TCP  192.0.2.10:80 wrr persistent 300 mask 255.255.255.0",
        "  -> 192.0.2.21:80                Route   3",
        "       check HTTP_GET connect_timeout 3s retry 3 delay_before_retry 3s; url /healthz status 200-299",
        "     sorry server 192.0.2.99:80 Route",
        "UDP  192.0.2.10:53 sh (sh-fallback)",
        "Timeout (tcp tcpfin udp): 900 120 300",
        "  instance VI_WEB: MASTER on eth1, vrid 51, priority 150, advert 1s, VRRPv2, auth PASS",
        "    virtual addresses: 192.0.2.10/24 dev eth1",
    ] {
        assert!(
            lines.contains(&expected),
            "missing {expected:?} in\n{}",
            r.output
        );
    }
}

#[test]
fn an_invalid_file_lists_its_errors_and_exits_1() {
    let dir = std::env::temp_dir().join(format!("rvs-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("keepalived.conf");
    std::fs::write(
        &path,
        "global_defs {\n  smtp_server 10.0.0.1\n}\nvirtual_server 10.0.0.1 80 {\n  1b_algo rr\n  protocol TCP\n  lb_kind DR\n  real_server 10.0.1.1 80 {\n  }\n}\n",
    )
    .unwrap();
    let r = check_config(&path);
    assert_eq!(r.exit_code, 1);
    let p = path.display();
    assert_eq!(
        r.output,
        format!(
            "warning: {p}:2: accepted but not used by rvs: smtp_server (in global_defs)\n\
             warning: {p}:4: no lb_algo given: keepalived defaults to wlc, and so does rvs\n\
             error: {p}:5: unknown keyword \"1b_algo\" in virtual_server (did you mean \"lb_algo\"?)\n\
             configuration INVALID: {p} (1 error); nothing would change\n"
        )
    );
    let r = check_config(&dir.join("missing.toml"));
    assert_eq!(r.exit_code, 1);
    assert!(r.output.contains("cannot read the file"), "{}", r.output);
    std::fs::remove_dir_all(&dir).unwrap();
}
