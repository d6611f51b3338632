//! The native TOML reader: values reach the model, every problem of a file is reported at
//! its line and column, near-misses get a suggestion, and a file with errors yields nothing.

use control::config::{
    Check, ConfigError, ConfigErrors, Forward, Protocol, TunnelType, VrrpAuth, load_file,
    load_toml_str,
};

fn errors(text: &str) -> Vec<ConfigError> {
    match load_toml_str(text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(ConfigErrors { errors, .. }) => errors,
    }
}

/// The single error of `text`, as `line:column: message`.
fn one_error(text: &str) -> ConfigError {
    let errs = errors(text);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    errs.into_iter().next().unwrap()
}

const SERVICE: &str = r#"
[[services]]
protocol = "tcp"
address = "10.0.0.1"
port = 80
"#;

#[test]
fn a_small_file_reads_into_the_model_with_defaults() {
    let cfg = load_toml_str(
        r#"
[[services]]
protocol = "udp"
address = "2001:db8::1"
port = 53
scheduler = "mh"
sched_flags = ["mh-port", "mh-fallback"]
forward = "tun"

[[services.real_servers]]
address = "2001:db8:1::5"
tunnel = "gue"
tunnel_port = 5555
[[services.real_servers.checks]]
type = "dns"
name = "example.org."
"#,
    )
    .unwrap()
    .config;
    let s = &cfg.services[0];
    assert_eq!(s.protocol, Protocol::Udp);
    assert_eq!(s.port, 53);
    assert_eq!(s.sched_flags, vec!["mh-port", "mh-fallback"]);
    assert_eq!(s.forward, Forward::Tun);
    assert_eq!(s.check.delay_loop, 60.0, "keepalived's default delay_loop");
    let r = &s.real_servers[0];
    assert_eq!(
        (r.weight, r.port),
        (1, 0),
        "default weight 1, port = the service's"
    );
    assert_eq!((r.tunnel, r.tunnel_port), (TunnelType::Gue, 5555));
    match &r.checks[0] {
        Check::Dns {
            qtype,
            name,
            common,
        } => {
            assert_eq!((qtype.as_str(), name.as_str()), ("SOA", "example.org."));
            assert_eq!(common.connect_timeout, 5.0);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(cfg.timeouts.tcp, 900);
}

#[test]
fn unknown_keys_are_all_reported_with_line_column_and_suggestion() {
    let text = r#"[[services]]
protocol = "tcp"
address = "10.0.0.1"
port = 80
schedular = "rr"

[[services.real_servers]]
address = "10.0.1.1"
wieght = 3

[[services.real_servers.checks]]
type = "http"
conect_timeout = 3
[[services.real_servers.checks.urls]]
path = "/"
status = 200

[timeout]
tcp = 5
"#;
    let errs = errors(text);
    let got: Vec<(usize, Option<usize>, Option<&str>)> = errs
        .iter()
        .map(|e| (e.line, e.column, e.suggestion.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (5, Some(1), Some("scheduler")),
            (9, Some(1), Some("weight")),
            (13, Some(1), Some("connect_timeout")),
            (16, Some(1), None),
            (18, Some(2), Some("timeouts")),
        ],
        "{errs:#?}"
    );
    assert_eq!(
        errs[1].message,
        "unknown field `wieght` in services[0].real_servers[0]"
    );
    assert!(errs[2].message.contains("(a http checker)"));
    assert_eq!(
        errs[1].to_string(),
        "<string>:9:1: unknown field `wieght` in services[0].real_servers[0] (did you mean \"weight\"?)"
    );
}

#[test]
fn bad_values_are_located_and_each_bad_item_is_reported() {
    let text = r#"
[[services]]
protocol = "tcpx"
address = "10.0.0.1"
port = 80

[[services]]
protocol = "tcp"
address = "10.0.0.300"
port = 80

[[services]]
protocol = "tcp"
address = "10.0.0.3"
port = 70000
"#;
    let errs = errors(text);
    let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![3, 9, 15], "{errs:#?}");
    assert_eq!(errs[0].suggestion.as_deref(), Some("tcp"));
    assert!(errs[0].message.contains("expected one of tcp, udp"));
    assert!(
        errs[1].message.contains("invalid IP address syntax"),
        "{}",
        errs[1]
    );
}

#[test]
fn syntax_errors_have_a_place() {
    let e = &errors("[[services]\nprotocol = \"tcp\"\n")[0];
    assert_eq!(e.line, 1);
    assert!(e.column.is_some());
    let e = &errors("a = \n")[0];
    assert_eq!(e.line, 1);
}

#[test]
fn validation_errors_point_at_the_offending_key() {
    let e = one_error(&format!(
        "{SERVICE}scheduler = \"wrrr\"\n[[services.real_servers]]\naddress = \"10.0.1.1\"\n"
    ));
    assert_eq!(e.line, 6);
    assert_eq!(
        e.message,
        "services[0].scheduler: unknown scheduler \"wrrr\"; did you mean \"wrr\"?"
    );

    let e = one_error(&format!(
        "{SERVICE}[[services.real_servers]]\naddress = \"10.0.1.1\"\nweight = 2147483648\n"
    ));
    assert_eq!((e.line, e.column), (8, Some(1)));
    assert!(
        e.message
            .ends_with("weight 2147483648 is out of range 0..=2147483647"),
        "{e}"
    );

    // A default the file did not write is reported at the item that has it.
    let e = one_error("\n[[services]]\nprotocol = \"tcp\"\naddress = \"10.0.0.1\"\nport = 0\n");
    assert_eq!(e.line, 5);
    assert!(
        e.message.contains("only valid for a persistent service"),
        "{e}"
    );
}

#[test]
fn semantic_rules_of_services() {
    let cases: [(&str, &str); 9] = [
        (
            "sched_flags = [\"sh-port\"]",
            "flag sh-port applies to the sh scheduler only, not wlc",
        ),
        (
            "scheduler = \"rr\"\nsched_flags = [\"flag-4\"]",
            "unknown scheduler flag \"flag-4\"; did you mean \"flag-1\"?",
        ),
        (
            "one_packet = true",
            "one-packet scheduling applies to UDP services only",
        ),
        (
            "persistence_timeout = 60\npersistence_netmask = 33",
            "persistence netmask /33 is out of range 0..=32",
        ),
        (
            "forward = \"full_nat\"",
            "FULLNAT needs a local address group",
        ),
        (
            "forward = \"full_nat\"\nlocal_address_group = \"lg\"",
            "local address group \"lg\" does not exist",
        ),
        (
            "forward = \"tun\"\n[[services.real_servers]]\naddress = \"10.0.1.2\"\ntunnel = \"gue\"",
            "a GUE tunnel needs a UDP port",
        ),
        (
            "forward = \"dr\"\n[[services.real_servers]]\naddress = \"10.0.1.2\"\nport = 8080",
            "DR forwarding cannot change the port",
        ),
        (
            "[[services.real_servers]]\naddress = \"2001:db8::1\"",
            "is IPv6 but the service is IPv4",
        ),
    ];
    for (extra, expected) in cases {
        let text = format!("{SERVICE}{extra}\n");
        let errs = errors(&text);
        assert!(
            errs.iter()
                .any(|e| e.message.contains(expected) && e.line > 0),
            "{extra}: expected \"{expected}\" in {errs:#?}"
        );
    }
}

#[test]
fn duplicates_are_errors() {
    let text = format!(
        "{SERVICE}[[services.real_servers]]\naddress = \"10.0.1.1\"\n[[services.real_servers]]\naddress = \"10.0.1.1\"\nport = 80\n{SERVICE}"
    );
    let errs = errors(&text);
    let msgs: Vec<&str> = errs.iter().map(|e| e.message.as_str()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("real server 10.0.1.1:80 is listed twice")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("duplicate virtual service TCP 10.0.0.1:80")),
        "{msgs:?}"
    );
}

#[test]
fn the_director_sections() {
    let ok = r#"
[[ports]]
name = "dp0"
device = "net_tap0"
addresses = ["10.0.0.2/24"]
[[routes]]
prefix = "0.0.0.0/0"
via = "10.0.0.1"
port = "dp0"
[[neighbours]]
address = "10.0.0.1"
mac = "02:00:00:00:00:01"
port = "dp0"
"#;
    let cfg = load_toml_str(ok).unwrap().config;
    assert_eq!(cfg.routes[0].prefix.prefix_len, 0);
    let bad = r#"
[[ports]]
name = "dp0"
device = "net_tap0"
[[routes]]
prefix = "10.1.2.3/8"
port = "dp1"
[[neighbours]]
address = "10.0.0.1"
mac = "01:00:5e:00:00:01"
port = "dp0"
"#;
    let errs = errors(bad);
    let got: Vec<(usize, &str)> = errs.iter().map(|e| (e.line, e.message.as_str())).collect();
    assert!(
        got.contains(&(
            6,
            "routes[0].prefix: prefix 10.1.2.3/8 has host bits set (did you mean 10.0.0.0/8?)"
        )),
        "{got:?}"
    );
    assert!(
        got.contains(&(
            7,
            "routes[0].port: port \"dp1\" does not exist (ports: dp0)"
        )),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|(l, m)| *l == 10 && m.contains("multicast MAC")),
        "{got:?}"
    );
}

#[test]
fn vrrp_rules() {
    let base = r#"
[[vrrp_instances]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
virtual_ipaddress = [{ address = "10.0.0.10/24" }]
"#;
    assert!(load_toml_str(base).is_ok());
    let cases: [(&str, &str); 7] = [
        (
            "authentication = { type = \"AH\", password = \"x\" }",
            "auth_type AH (IPsec) is not supported by rvs",
        ),
        (
            "version = 3\nauthentication = { type = \"PASS\", password = \"x\" }",
            "authentication exists in VRRPv2 only",
        ),
        (
            "advert_int = 0.5",
            "must be whole seconds 1..=255 for VRRPv2",
        ),
        (
            "version = 3\nadvert_int = 50",
            "must be 0.01..=40.95 seconds for VRRPv3",
        ),
        ("priority = 0", "priority 0 is reserved"),
        (
            "track_script = [{ name = \"chk_x\" }]",
            "track_script \"chk_x\" is not a defined vrrp_script",
        ),
        (
            "virtual_router_id = 0",
            "virtual_router_id 0 is out of range",
        ),
    ];
    for (extra, expected) in cases {
        // The extra key replaces a base key of the same name, if any.
        let key = extra.split(' ').next().unwrap();
        let base: String = base
            .lines()
            .filter(|l| !l.starts_with(&format!("{key} ")))
            .map(|l| format!("{l}\n"))
            .collect();
        let errs = errors(&format!("{base}{extra}\n"));
        assert!(
            errs.iter()
                .any(|e| e.message.contains(expected) && e.line > 0),
            "{extra}: expected \"{expected}\" in {errs:#?}"
        );
    }
    let two = format!("{base}{}", base.replace("VI_1", "VI_2"));
    let errs = errors(&two);
    assert!(
        errs[0]
            .message
            .contains("virtual_router_id 51 is already used on eth0 by \"VI_1\"")
    );
    let group = format!("{base}[[vrrp_sync_groups]]\nname = \"G\"\ngroup = [\"VI_1\", \"VI_3\"]\n");
    let errs = errors(&group);
    assert!(
        errs[0]
            .message
            .contains("sync group member \"VI_3\" is not a vrrp_instance")
    );
    let owner = format!(
        "[[ports]]\nname = \"dp0\"\ndevice = \"x\"\naddresses = [\"10.0.0.2/24\"]\n{base}priority = 255\n"
    );
    let errs = errors(&owner);
    assert!(
        errs[0]
            .message
            .contains("priority 255 is for the address owner only")
    );
    let cfg = load_toml_str(&format!(
        "{base}authentication = {{ type = \"PASS\", password = \"secret\" }}\n"
    ))
    .unwrap()
    .config;
    assert_eq!(
        cfg.vrrp_instances[0].authentication,
        Some(VrrpAuth::Pass {
            password: "secret".into()
        })
    );
}

#[test]
fn files_are_named_in_errors_and_unreadable_files_are_errors() {
    let dir = std::env::temp_dir().join(format!("rvs-toml-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, "[daemon]\ncontrol_sockett = \"/x\"\n").unwrap();
    let errs = load_file(&path).unwrap_err();
    assert_eq!(errs.errors[0].file, path.display().to_string());
    assert_eq!(errs.errors[0].line, 2);
    let missing = load_file(dir.join("missing.toml")).unwrap_err();
    assert!(missing.errors[0].message.contains("cannot read the file"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn what_ipvsadm_and_keepalived_accept_loads() {
    // Weights up to 2^31 - 1 and the generic flags on any scheduler, as ipvsadm 1.31 and
    // keepalived 2.2.7 take them.
    let cfg = load_toml_str(&format!(
        "{SERVICE}scheduler = \"wlc\"\nsched_flags = [\"flag-1\", \"flag-3\"]\n\
         [[services.real_servers]]\naddress = \"10.0.1.1\"\nweight = 2147483647\n"
    ))
    .unwrap()
    .config;
    assert_eq!(cfg.services[0].sched_flags, ["flag-1", "flag-3"]);
    assert_eq!(cfg.services[0].real_servers[0].weight, 2_147_483_647);
    // ipvsadm's literal port 0 is the control socket's business, not the file's.
    let e = one_error(&format!(
        "{SERVICE}[[services.real_servers]]\naddress = \"10.0.1.1\"\nport_zero = true\n"
    ));
    assert!(e.message.contains("port_zero"), "{e}");
}
