//! The keepalived.conf reader on realistic files (every forwarding mode, every checker kind,
//! VRRP with sync groups) and on broken ones (every error carries file:line, near-misses get
//! a suggestion, a file with errors yields no configuration).

use std::path::{Path, PathBuf};

use control::config::{
    Check, ConfigError, Forward, KeepalivedOptions, Loaded, Protocol, StatusRange, TunnelCsum,
    TunnelType, VrrpAuth, VrrpState, load_keepalived_file, load_keepalived_str,
    load_keepalived_str_with,
};

fn load(text: &str) -> Loaded {
    match load_keepalived_str(text, ".") {
        Ok(l) => l,
        Err(e) => panic!("expected to load, got:\n{e}"),
    }
}

fn errors(text: &str) -> Vec<ConfigError> {
    match load_keepalived_str(text, ".") {
        Ok(l) => panic!("expected errors, loaded {:#?}", l.config.services),
        Err(e) => e.errors,
    }
}

/// A scratch directory for include tests, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("rvs-kconf-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An operator's file: DR, NAT, TUN (GUE) and FNAT services, every checker kind, VRRP with
/// a sync group and a tracking script.
const REALISTIC: &str = r#"
! Configuration File for keepalived
global_defs {
   notification_email {
     admin@example.com
   }
   notification_email_from lvs@example.com
   smtp_server 127.0.0.1
   smtp_connect_timeout 30
   router_id LVS_MAIN
   script_user root
   enable_script_security
   lvs_timeouts tcp 7200 udp 60
}

vrrp_script chk_lb {
    script "/usr/local/bin/check_lb --quick"
    interval 2
    weight -20 reverse
    fall 3
    rise 2
}

vrrp_sync_group VG1 {
    group {
        VI_EXT
        VI_INT
    }
    notify_master "/etc/keepalived/master.sh"
}

vrrp_instance VI_EXT {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        192.168.200.16/24 dev eth0 label eth0:1
        192.168.200.17 dev eth0 scope global
    }
    track_script {
        chk_lb weight -30
    }
    track_interface {
        eth2 weight -10
        eth3
    }
}

vrrp_instance VI_INT
{
    state BACKUP
    interface eth1
    virtual_router_id 52
    priority 100
    nopreempt
    virtual_ipaddress { 10.1.0.1/24 }
    unicast_src_ip 10.1.0.2
    unicast_peer {
        10.1.0.3
    }
}

virtual_server 192.168.200.16 80 {
    delay_loop 6
    lb_algo wrr
    lb_kind DR
    persistence_timeout 50
    persistence_granularity 255.255.255.0
    protocol TCP
    sorry_server 192.168.200.200 80
    real_server 192.168.200.2 80 {
        weight 3
        inhibit_on_failure
        HTTP_GET {
            url {
              path /testurl/test.jsp
              digest 640205b7b0fc66c1ea91c463fac6334d
            }
            url {
              path /health
              status_code 200-299 302
            }
            connect_timeout 3
            nb_get_retry 3
            delay_before_retry 3
        }
    }
    real_server 192.168.200.3 80 {
        weight 1
        TCP_CHECK { connect_timeout 5 }
    }
}

virtual_server 192.168.200.17 443 {
    lb_algo sh
    flag-1
    flag-2
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.10 8443 {
        uthreshold 1000
        lthreshold 800
        SSL_GET {
            url {
                path /
            }
            enable_sni
        }
    }
}

virtual_server 192.168.200.16 53 {
    lb_algo rr
    lb_kind TUN
    protocol UDP
    ops
    real_server 172.16.0.5 53 {
        lvs_method TUN type gue port 6080 csum
        DNS_CHECK {
            type A
            name www.example.com
        }
    }
    real_server 172.16.0.6 53 {
        UDP_CHECK {
            payload 00 01
            require_reply
        }
    }
}

local_address_group laddr_g1 {
    192.168.200.50-51 dpdk0
}

virtual_server 192.168.200.18 25 {
    lb_algo wlc
    lb_kind FNAT
    laddr_group_name laddr_g1
    protocol TCP
    real_server 10.2.0.1 25 {
        SMTP_CHECK {
            helo_name lb.example.com
        }
        MISC_CHECK {
            misc_path "/usr/bin/smtp-check 10.2.0.1"
            misc_timeout 8
            misc_dynamic
        }
    }
}
"#;

#[test]
fn a_realistic_file_reads_into_the_model() {
    let loaded = load(REALISTIC);
    let cfg = &loaded.config;
    assert_eq!(cfg.global.router_id.as_deref(), Some("LVS_MAIN"));
    assert!(cfg.global.enable_script_security);
    assert_eq!(
        (cfg.timeouts.tcp, cfg.timeouts.tcp_fin, cfg.timeouts.udp),
        (7200, 120, 60)
    );
    assert_eq!(cfg.services.len(), 4);

    let dr = &cfg.services[0];
    assert_eq!(
        (dr.protocol, dr.port, dr.forward),
        (Protocol::Tcp, 80, Forward::Dr)
    );
    assert_eq!(dr.scheduler, "wrr");
    assert_eq!(
        (dr.persistence_timeout, dr.persistence_netmask),
        (Some(50), Some(24))
    );
    assert_eq!(dr.check.delay_loop, 6.0);
    let sorry = dr.sorry_server.as_ref().unwrap();
    assert_eq!(
        (sorry.address.to_string(), sorry.port),
        ("192.168.200.200".into(), 80)
    );
    let rs = &dr.real_servers[0];
    assert_eq!((rs.weight, rs.inhibit_on_failure), (3, Some(true)));
    match &rs.checks[0] {
        Check::Http {
            common, tls, urls, ..
        } => {
            assert!(!tls);
            assert_eq!(common.retry, Some(3), "nb_get_retry is the old retry");
            assert_eq!(common.connect_timeout, 3.0);
            assert_eq!(urls.len(), 2);
            assert_eq!(
                urls[0].digest.as_deref(),
                Some("640205b7b0fc66c1ea91c463fac6334d")
            );
            assert_eq!(
                urls[0].status_codes,
                vec![StatusRange { from: 200, to: 299 }]
            );
            assert_eq!(
                urls[1].status_codes,
                vec![
                    StatusRange { from: 200, to: 299 },
                    StatusRange { from: 302, to: 302 }
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&dr.real_servers[1].checks[0], Check::Tcp { common } if common.connect_timeout == 5.0)
    );

    let nat = &cfg.services[1];
    assert_eq!(
        nat.sched_flags,
        vec!["sh-fallback", "sh-port"],
        "flag-1/2 of sh"
    );
    let rs = &nat.real_servers[0];
    assert_eq!(
        (rs.port, rs.upper_threshold, rs.lower_threshold),
        (8443, 1000, 800)
    );
    assert!(matches!(
        &rs.checks[0],
        Check::Http {
            tls: true,
            sni: true,
            ..
        }
    ));

    let tun = &cfg.services[2];
    assert_eq!(
        (tun.protocol, tun.forward, tun.one_packet),
        (Protocol::Udp, Forward::Tun, true)
    );
    let gue = &tun.real_servers[0];
    assert_eq!(
        (gue.tunnel, gue.tunnel_port, gue.tunnel_csum),
        (TunnelType::Gue, 6080, TunnelCsum::Csum)
    );
    assert!(
        matches!(&gue.checks[0], Check::Dns { qtype, name, .. } if qtype == "A" && name == "www.example.com")
    );
    assert!(matches!(
        &tun.real_servers[1].checks[0],
        Check::Udp { payload: Some(p), require_reply: Some(r), .. } if p == "00 01" && r.is_empty()
    ));

    let fnat = &cfg.services[3];
    assert_eq!(fnat.forward, Forward::FullNat);
    assert_eq!(fnat.local_address_group.as_deref(), Some("laddr_g1"));
    let pool = &cfg.local_address_groups["laddr_g1"].addresses;
    assert_eq!(pool.len(), 2);
    assert_eq!(pool[1].address.to_string(), "192.168.200.51");
    assert_eq!(pool[1].port.as_deref(), Some("dpdk0"));
    assert!(
        matches!(&fnat.real_servers[0].checks[0], Check::Smtp { helo_name: Some(h), .. } if h == "lb.example.com")
    );
    assert!(matches!(
        &fnat.real_servers[0].checks[1],
        Check::Misc { path, timeout: Some(t), dynamic: true, .. } if path == "/usr/bin/smtp-check 10.2.0.1" && *t == 8.0
    ));

    let ext = &cfg.vrrp_instances[0];
    assert_eq!(
        (ext.state, ext.virtual_router_id, ext.priority),
        (VrrpState::Master, 51, 150)
    );
    assert_eq!(
        ext.authentication,
        Some(VrrpAuth::Pass {
            password: "1111".into()
        })
    );
    assert_eq!(
        ext.virtual_ipaddress[0].address.to_string(),
        "192.168.200.16/24"
    );
    assert_eq!(ext.virtual_ipaddress[0].label.as_deref(), Some("eth0:1"));
    assert_eq!(ext.virtual_ipaddress[1].address.prefix_len, 32);
    assert_eq!(ext.virtual_ipaddress[1].scope.as_deref(), Some("global"));
    assert_eq!(ext.track_script[0].weight, Some(-30));
    assert_eq!(ext.track_interface.len(), 2);
    let int = &cfg.vrrp_instances[1];
    assert!(int.nopreempt);
    assert_eq!(int.virtual_ipaddress.len(), 1, "a one-line block");
    assert_eq!(int.unicast_peer[0].to_string(), "10.1.0.3");
    assert_eq!(cfg.vrrp_sync_groups[0].group, vec!["VI_EXT", "VI_INT"]);
    let script = &cfg.vrrp_scripts["chk_lb"];
    assert_eq!(
        (script.weight, script.weight_reverse, script.fall),
        (-20, true, 3)
    );

    // Accepted but unused keywords are warnings with their lines.
    let w: Vec<(usize, &str)> = loaded
        .warnings
        .iter()
        .map(|w| (w.line, w.message.as_str()))
        .collect();
    assert!(
        w.contains(&(
            4,
            "accepted but not used by rvs: notification_email (in global_defs)"
        )),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|(l, m)| *l == 90 && m.contains("nb_get_retry is deprecated")),
        "{w:?}"
    );
}

#[test]
fn grammar_comments_glued_words_and_continuations() {
    let l = load(
        "virtual_server 10.0.0.1 80#comment glued to a word\n\
         {   ! bang comment\n\
             protocol TCP # trailing\n\
             lb_algo rr!x\n\
             lb_kind NAT\n\
             real_server 10.0.1.3 \\\n\
                 8080 {\n\
                 notify_up \"/bin/x \\#1\"\n\
             }\n\
         }\n",
    );
    // The only remark: a notify script without enable_script_security (keepalived's exit 6).
    assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
    assert!(l.warnings[0].message.contains("no enable_script_security"));
    let s = &l.config.services[0];
    assert_eq!((s.port, s.scheduler.as_str()), (80, "rr"));
    assert_eq!(s.real_servers[0].port, 8080, "the continued line");
    assert_eq!(s.real_servers[0].notify_up.as_deref(), Some("/bin/x #1"));
}

#[test]
fn one_line_blocks_brace_on_the_next_line_and_quoting() {
    let l = load(
        r#"
virtual_server 10.0.0.1 80
{
    protocol TCP
    lb_algo rr
    lb_kind NAT
    quorum_up "/usr/bin/notify up" root
    real_server 10.0.1.1 8080 { weight 2 }
    real_server 10.0.1.2 8080 {
        notify_up '/bin/up "x"'
        MISC_CHECK { misc_path "/bin/check 'a b'" }
    }
}
"#,
    );
    let s = &l.config.services[0];
    assert_eq!(s.real_servers[0].weight, 2);
    assert_eq!(s.check.quorum_up.as_deref(), Some("/usr/bin/notify up"));
    assert!(
        l.warnings
            .iter()
            .any(|w| w.message.contains("running the script as \"root\""))
    );
    assert_eq!(
        s.real_servers[1].notify_up.as_deref(),
        Some("/bin/up \"x\"")
    );
    assert!(
        matches!(&s.real_servers[1].checks[0], Check::Misc { path, .. } if path == "/bin/check 'a b'")
    );
}

#[test]
fn parameters_conditionals_and_sequences() {
    let text = r#"
$VIP=10.0.0.1
$PORT=80
@main $WEIGHT=5
@^main $WEIGHT=1
$RS= \
    real_server 10.0.1.${N} ${PORT} { \
        weight $WEIGHT \
    }

virtual_server $VIP $PORT {
    protocol TCP
    lb_algo rr
    lb_kind DR
    ~SEQ(N, 1, 3) $RS
    @main real_server 10.0.2.1 80 { }
}
"#;
    let main = KeepalivedOptions {
        config_id: Some("main".into()),
    };
    let cfg = load_keepalived_str_with(text, Path::new("."), &main)
        .unwrap()
        .config;
    let rs: Vec<(String, u32)> = cfg.services[0]
        .real_servers
        .iter()
        .map(|r| (r.address.to_string(), r.weight))
        .collect();
    assert_eq!(
        rs,
        vec![
            ("10.0.1.1".into(), 5),
            ("10.0.1.2".into(), 5),
            ("10.0.1.3".into(), 5),
            ("10.0.2.1".into(), 1)
        ]
    );
    // A parameter holding `#` comments out the lines that start with it.
    let off = "$OFF=${_HASH}\nvirtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n $OFF bogus\n ${OFF}real_server 10.0.9.9 80 {\n $OFF }\n real_server 10.0.1.1 80 {\n }\n}\n";
    let cfg = load(off).config;
    assert_eq!(cfg.services[0].real_servers.len(), 1);
    let other = KeepalivedOptions {
        config_id: Some("backup".into()),
    };
    let cfg = load_keepalived_str_with(text, Path::new("."), &other)
        .unwrap()
        .config;
    assert_eq!(cfg.services[0].real_servers.len(), 3);
    assert!(cfg.services[0].real_servers.iter().all(|r| r.weight == 1));
}

#[test]
fn virtual_server_groups_expand_to_services() {
    let cfg = load(
        r#"
virtual_server_group WEB {
    10.0.0.1 80
    10.0.0.10-12 80
    10.0.1.0/30 8080
    fwmark 7
}
virtual_server group WEB {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    real_server 10.9.0.1 {
        TCP_CHECK {}
    }
}
"#,
    )
    .config;
    let keys: Vec<String> = cfg
        .services
        .iter()
        .map(|s| format!("{}:{}", s.address, s.port))
        .collect();
    assert_eq!(
        keys,
        vec![
            "10.0.0.1:80",
            "10.0.0.10:80",
            "10.0.0.11:80",
            "10.0.0.12:80",
            "10.0.1.0:8080",
            "10.0.1.1:8080",
            "10.0.1.2:8080",
            "10.0.1.3:8080"
        ]
    );
    assert_eq!(
        cfg.services[4].real_servers[0].port, 8080,
        "NAT real server takes the entry's port"
    );
}

#[test]
fn keepalived_repairs_are_warnings() {
    let l = load(
        r#"
virtual_server 10.0.0.1 0 {
    lb_algo rr
    lb_kind DR
    real_server 10.0.1.1 {
    }
}
virtual_server 10.0.0.1 80 {
    protocol TCP
    lb_algo rr
    lb_kind DR
    ops
    quorum 5
    real_server 10.0.1.1 8080 {
    }
    real_server 10.0.1.1 8080 {
    }
}
virtual_server 10.0.0.3 80 {
    protocol TCP
    lb_algo rr
    lb_kind DR
    sorry_server 2001:db8::9 80
    real_server 10.0.1.1 80 {
    }
}
virtual_server fwmark 10 {
    lb_algo rr
    real_server 10.0.1.1 80 {
    }
}
virtual_server 10.0.0.2 80 {
    protocol TCP
}
"#,
    );
    let w: Vec<(usize, String)> = l
        .warnings
        .iter()
        .map(|w| (w.line, w.message.clone()))
        .collect();
    let has = |line: usize, text: &str| w.iter().any(|(l, m)| *l == line && m.contains(text));
    assert!(
        has(2, "no protocol given: keepalived defaults to UDP"),
        "{w:#?}"
    );
    assert!(has(2, "port 0 (every port) needs persistence"), "{w:#?}");
    assert!(
        has(8, "ops (one-packet scheduling) applies to UDP only"),
        "{w:#?}"
    );
    assert!(has(8, "quorum 5 exceeds the total weight"), "{w:#?}");
    assert!(has(14, "differs from the virtual server port 80"), "{w:#?}");
    assert!(has(16, "listed twice"), "{w:#?}");
    assert!(
        has(
            19,
            "sorry server 2001:db8::9 is not of the virtual server's address family"
        ),
        "{w:#?}"
    );
    assert!(
        has(27, "fwmark virtual servers are not supported by rvs"),
        "{w:#?}"
    );
    assert!(has(32, "has no real servers: ignored"), "{w:#?}");
    let cfg = &l.config;
    assert_eq!(cfg.services.len(), 3);
    assert!(cfg.services[2].sorry_server.is_none());
    assert_eq!(cfg.services[0].protocol, Protocol::Udp);
    assert_eq!(cfg.services[0].persistence_timeout, Some(360));
    assert_eq!(cfg.services[1].real_servers.len(), 1);
    assert_eq!(cfg.services[1].real_servers[0].port, 80);
    assert_eq!(cfg.services[1].check.quorum, 1);
    assert!(!cfg.services[1].one_packet);
}

#[test]
fn every_error_of_a_broken_file_has_its_line_and_a_suggestion_when_close() {
    let errs = errors(
        r#"global_defs {
    router_idd LVS
}
virtual_server 10.0.0.1 80 {
    1b_algo rr
    lb_kind DSR
    protocol TCP
    persistence_timeout abc
    real_server 10.0.1.1 80 {
        weight -1
        TCP_CHECK {
            nb_get_retry 3
        }
        PING_CHECK {
        }
    }
    real_server 10.0.1.300 80 {
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 300
    authentication {
        auth_type AH
        auth_pass x
    }
    virtual_ipaddress {
        10.0.0.1/24 dev eth0 lable x
    }
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
}
"#,
    );
    let got: Vec<(usize, &str, Option<&str>)> = errs
        .iter()
        .map(|e| (e.line, e.message.as_str(), e.suggestion.as_deref()))
        .collect();
    let expect: [(usize, &str, Option<&str>); 11] = [
        (
            2,
            "unknown keyword \"router_idd\" in global_defs",
            Some("router_id"),
        ),
        (
            5,
            "unknown keyword \"1b_algo\" in virtual_server",
            Some("lb_algo"),
        ),
        (
            6,
            "lb_kind: unknown forwarding method \"DSR\" (NAT, DR, TUN or FNAT)",
            Some("DR"),
        ),
        (8, "persistence_timeout: invalid number 'abc'", None),
        (
            10,
            "weight: negative number '-1' (expected 0..=2147483647)",
            None,
        ),
        (
            12,
            "unknown keyword \"nb_get_retry\" in TCP_CHECK (it belongs in HTTP_GET, SSL_GET)",
            None,
        ),
        (14, "PING_CHECK is not supported by rvs", None),
        (17, "real_server: '10.0.1.300' is not an IP address", None),
        (
            22,
            "virtual_router_id: number '300' is out of range 1..=255",
            None,
        ),
        (
            28,
            "virtual_ipaddress: unknown address option \"lable\"",
            Some("label"),
        ),
        (20, "vrrp_instance VI_1 needs a virtual_router_id", None),
    ];
    for (line, text, sugg) in expect {
        assert!(
            got.iter()
                .any(|(l, m, s)| *l == line && m.starts_with(text) && *s == sugg),
            "missing {line}: {text} ({sugg:?}) in\n{got:#?}"
        );
    }
    assert!(errs.iter().all(|e| e.file == "<string>" && e.line > 0));
}

#[test]
fn semantic_errors_carry_the_line_of_the_statement() {
    let errs = errors(
        r#"
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    authentication {
        auth_type AH
        auth_pass secret
    }
    virtual_ipaddress {
        10.0.0.1
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 51
    version 3
    advert_int 50
    virtual_ipaddress {
        10.0.0.2
    }
    track_script {
        chk_missing
    }
}
virtual_server 10.0.0.1 80 {
    protocol TCP
    lb_algo wrrr
    lb_kind FNAT
    real_server 10.0.1.1 80 {
        uthreshold 10
        lthreshold 20
    }
}
"#,
    );
    let got: Vec<(usize, &str)> = errs.iter().map(|e| (e.line, e.message.as_str())).collect();
    let expect = [
        (5, "auth_type AH (IPsec) is not supported by rvs"),
        (
            15,
            "virtual_router_id 51 is already used on eth0 by \"VI_1\"",
        ),
        (17, "advert_int 50 must be 0.01..=40.95 seconds for VRRPv3"),
        (
            22,
            "track_script \"chk_missing\" is not a defined vrrp_script",
        ),
        (27, "unknown scheduler \"wrrr\"; did you mean \"wrr\"?"),
        (25, "FULLNAT needs a local address group"),
        (31, "lower threshold 20 is above the upper threshold 10"),
    ];
    for (line, text) in expect {
        assert!(
            got.iter().any(|(l, m)| *l == line && m.starts_with(text)),
            "missing {line}: {text} in\n{got:#?}"
        );
    }
}

#[test]
fn unbalanced_braces_are_reported_where_they_are() {
    let errs = errors(
        "global_defs {\n    router_id x\n}\n}\nvirtual_server 10.0.0.1 80 {\n    protocol TCP\n",
    );
    let got: Vec<(usize, &str)> = errs.iter().map(|e| (e.line, e.message.as_str())).collect();
    assert!(
        got.contains(&(4, "extra '}' (no block is open here)")),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|(l, m)| *l == 5 && m.starts_with("missing '}'")),
        "{got:?}"
    );
}

#[test]
fn includes_globs_braces_relative_paths_and_nesting() {
    let s = Scratch::new("incl");
    s.write("conf.d/b.conf", "real_server 10.0.1.2 80 {\n}\n");
    s.write("conf.d/a.conf", "real_server 10.0.1.1 80 {\n}\n");
    s.write("conf.d/skip.txt", "garbage\n");
    s.write("vs/web.conf", "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n include ../conf.d/*.conf\n}\n");
    s.write("vs/dns.conf", "virtual_server 10.0.0.1 53 {\n protocol UDP\n lb_algo rr\n lb_kind DR\n real_server 10.0.2.1 53 {\n }\n}\n");
    let main = s.write(
        "keepalived.conf",
        "global_defs {\n router_id X\n}\ninclude vs/{web,dns}.conf\n",
    );
    let l = load_keepalived_file(&main, &KeepalivedOptions { config_id: None }).unwrap();
    let cfg = &l.config;
    assert_eq!(cfg.services.len(), 2);
    let rs: Vec<String> = cfg.services[0]
        .real_servers
        .iter()
        .map(|r| r.address.to_string())
        .collect();
    assert_eq!(
        rs,
        vec!["10.0.1.1", "10.0.1.2"],
        "glob order, relative to the including file"
    );
    assert_eq!(l.sources.len(), 5, "{:?}", l.sources);
    assert_eq!(l.sources[0], main);

    // Errors inside an included file name that file and its line.
    s.write(
        "conf.d/c.conf",
        "real_server 10.0.1.3 80 {\n  wieght 2\n}\n",
    );
    let errs = load_keepalived_file(&main, &KeepalivedOptions { config_id: None }).unwrap_err();
    let e = &errs.errors[0];
    assert!(e.file.ends_with("conf.d/c.conf"), "{e}");
    assert_eq!((e.line, e.suggestion.as_deref()), (2, Some("weight")));
}

#[test]
fn include_loops_missing_files_and_empty_patterns() {
    let s = Scratch::new("loop");
    s.write("a.conf", "include b.conf\n");
    s.write("b.conf", "include a.conf\n");
    let main = s.0.join("a.conf");
    let errs = load_keepalived_file(&main, &KeepalivedOptions { config_id: None }).unwrap_err();
    assert!(
        errs.errors[0]
            .message
            .contains("is already being read (an include loop)"),
        "{errs}"
    );
    assert!(errs.errors[0].file.ends_with("b.conf"));

    let missing = s.write("m.conf", "\n\ninclude /nonexistent/rvs/keepalived.conf\n");
    let errs = load_keepalived_file(&missing, &KeepalivedOptions { config_id: None }).unwrap_err();
    assert_eq!(errs.errors[0].line, 3);
    assert!(errs.errors[0].message.contains("no such file"));

    let empty = s.write(
        "e.conf",
        "include /nonexistent/rvs/*.conf\nincludem /nonexistent/rvs/*.conf\n",
    );
    let errs = load_keepalived_file(&empty, &KeepalivedOptions { config_id: None }).unwrap_err();
    assert_eq!(errs.warnings[0].line, 1, "a pattern may match nothing");
    assert_eq!(errs.errors[0].line, 2, "includem requires a match");

    let deep = s.write("self.conf", "include self.conf\n");
    let errs = load_keepalived_file(&deep, &KeepalivedOptions { config_id: None }).unwrap_err();
    assert!(errs.errors[0].message.contains("include loop"));
}

#[test]
fn runaway_parameters_are_errors_not_hangs() {
    let errs = errors("$A=$A $A\nvirtual_server $A 80 {\n}\n");
    assert!(errs[0].message.contains("does not settle"), "{errs:?}");
    let errs = errors("$B=\\\n$B\n$B\n");
    assert!(errs.iter().all(|e| e.line > 0));
}

#[test]
fn a_file_with_errors_yields_nothing_but_its_warnings_are_kept() {
    let r = load_keepalived_str(
        "global_defs {\n smtp_server 1.2.3.4\n}\nvirtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 10.0.1.1 80 {\n }\n bogus\n}\n",
        ".",
    );
    let e = r.unwrap_err();
    assert_eq!(e.errors.len(), 1);
    assert_eq!(e.errors[0].line, 10);
    assert_eq!(e.warnings[0].line, 2);
}

#[test]
fn weights_and_generic_flags_as_keepalived_takes_them() {
    // keepalived 2.2.7 (`keepalived -t`) takes weights 0..=2147483647 and flag-1..flag-3 on
    // any scheduler; 2147483648 is "outside range 0-2147483647".
    let loaded = load(
        "virtual_server 10.0.0.1 80 {\n    lb_algo wlc\n    flag-1\n    flag-3\n    \
         lb_kind NAT\n    protocol TCP\n    real_server 10.0.1.1 80 {\n        \
         weight 2147483647\n    }\n}\n",
    );
    let svc = &loaded.config.services[0];
    assert_eq!(svc.sched_flags, ["flag-1", "flag-3"]);
    assert_eq!(svc.real_servers[0].weight, 2_147_483_647);
    let errs = errors(
        "virtual_server 10.0.0.1 80 {\n    protocol TCP\n    real_server 10.0.1.1 80 {\n        \
         weight 2147483648\n    }\n}\n",
    );
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        (errs[0].line, errs[0].message.as_str()),
        (
            4,
            "weight: number '2147483648' is out of range 0..=2147483647"
        )
    );
}
