//! Bad input never panics: both readers get arbitrary text, keyword soup, and mutations of
//! valid files; every outcome is a configuration or located errors.

use control::config::{ConfigErrors, load_keepalived_str, load_toml_str};
use proptest::prelude::*;

/// Every error of a rejected text must be placed on a line (the text has no other file).
fn assert_located(r: &Result<control::config::Loaded, ConfigErrors>) {
    if let Err(e) = r {
        assert!(!e.errors.is_empty(), "rejected without an error");
        for err in &e.errors {
            assert!(err.line > 0, "error without a line: {err}");
            assert!(!err.message.is_empty());
        }
    }
}

const K_WORDS: &[&str] = &[
    "global_defs",
    "vrrp_instance",
    "vrrp_script",
    "vrrp_sync_group",
    "virtual_server",
    "virtual_server_group",
    "real_server",
    "local_address_group",
    "group",
    "fwmark",
    "TCP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "MISC_CHECK",
    "DNS_CHECK",
    "SMTP_CHECK",
    "UDP_CHECK",
    "PING_CHECK",
    "url",
    "host",
    "path",
    "status_code",
    "digest",
    "lb_algo",
    "lb_kind",
    "lvs_method",
    "protocol",
    "TCP",
    "UDP",
    "NAT",
    "DR",
    "TUN",
    "FNAT",
    "type",
    "gue",
    "port",
    "weight",
    "priority",
    "virtual_router_id",
    "interface",
    "state",
    "MASTER",
    "BACKUP",
    "authentication",
    "auth_type",
    "PASS",
    "AH",
    "auth_pass",
    "virtual_ipaddress",
    "dev",
    "track_script",
    "track_interface",
    "unicast_peer",
    "persistence_timeout",
    "persistence_granularity",
    "sorry_server",
    "laddr_group_name",
    "misc_path",
    "retry",
    "connect_timeout",
    "delay_loop",
    "quorum",
    "hysteresis",
    "advert_int",
    "version",
    "rr",
    "wrr",
    "sh",
    "flag-1",
    "sh-port",
    "ops",
    "{",
    "}",
    "{",
    "}",
    "\n",
    "\n",
    "\n",
    "#",
    "!",
    "\"",
    "'",
    "\\",
    "$A=1",
    "$A",
    "${A}",
    "$M= \\\n",
    "@x",
    "@^x",
    "~SEQ(N,1,3)",
    "~LST(N,a,b)",
    "${N}",
    "0",
    "1",
    "255",
    "256",
    "-1",
    "65536",
    "10.0.0.1",
    "10.0.0.1-3",
    "10.0.0.0/30",
    "2001:db8::1",
    "255.255.255.0",
    "1.5",
    "nan",
    "x",
];

const T_WORDS: &[&str] = &[
    "[[services]]",
    "[[services.real_servers]]",
    "[[services.real_servers.checks]]",
    "[[services.real_servers.checks.urls]]",
    "[[vrrp_instances]]",
    "[[ports]]",
    "[[routes]]",
    "[dpdk]",
    "[timeouts]",
    "[local_address_groups.g]",
    "[vrrp_scripts.s]",
    "protocol",
    "address",
    "port",
    "scheduler",
    "forward",
    "weight",
    "type",
    "tcp",
    "http",
    "name",
    "interface",
    "virtual_router_id",
    "priority",
    "prefix",
    "via",
    "addresses",
    "workers",
    "burst",
    "=",
    "=",
    "\"tcp\"",
    "\"10.0.0.1\"",
    "\"10.0.0.0/24\"",
    "\"dp0\"",
    "\"full_nat\"",
    "\"sh\"",
    "0",
    "1",
    "80",
    "70000",
    "-1",
    "1.5",
    "true",
    "[",
    "]",
    "{",
    "}",
    ",",
    "\n",
    "\n",
    "#",
];

fn soup(words: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(words), 0..max).prop_map(|ws| {
        let mut s = String::new();
        for w in ws {
            s.push_str(w);
            s.push(if w.ends_with('\n') { '\0' } else { ' ' });
        }
        s.replace('\0', "")
    })
}

/// A valid file of each format, for mutation.
const K_VALID: &str = "global_defs {\n router_id x\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 10.0.0.9/24\n }\n}\nvirtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 10.0.1.1 80 {\n  weight 2\n  HTTP_GET {\n   url {\n    path /\n    status_code 200\n   }\n  }\n }\n}\n";
const T_VALID: &str = "[[services]]\nprotocol = \"tcp\"\naddress = \"10.0.0.1\"\nport = 80\n[[services.real_servers]]\naddress = \"10.0.1.1\"\nweight = 2\n[[services.real_servers.checks]]\ntype = \"http\"\n[[services.real_servers.checks.urls]]\npath = \"/\"\n";

/// Replaces, inserts or deletes characters of `base` at the given places.
fn mutate(base: &str, edits: &[(usize, u8, char)]) -> String {
    let mut chars: Vec<char> = base.chars().collect();
    for &(pos, op, c) in edits {
        if chars.is_empty() {
            chars.push(c);
            continue;
        }
        let i = pos % chars.len();
        match op % 3 {
            0 => chars[i] = c,
            1 => chars.insert(i, c),
            _ => {
                chars.remove(i);
            }
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn keepalived_arbitrary_text(text in any::<String>()) {
        assert_located(&load_keepalived_str(&text, "/nonexistent"));
    }

    #[test]
    fn keepalived_keyword_soup(text in soup(K_WORDS, 120)) {
        assert_located(&load_keepalived_str(&text, "/nonexistent"));
    }

    #[test]
    fn keepalived_mutations(edits in prop::collection::vec((any::<usize>(), any::<u8>(), prop::sample::select(vec!['{', '}', ' ', '\n', '"', '#', '$', 'x', '1', '.', '\\'])), 1..8)) {
        assert_located(&load_keepalived_str(&mutate(K_VALID, &edits), "/nonexistent"));
    }

    #[test]
    fn toml_arbitrary_text(text in any::<String>()) {
        let r = load_toml_str(&text);
        assert_located(&r);
    }

    #[test]
    fn toml_key_soup(text in soup(T_WORDS, 80)) {
        let r = load_toml_str(&text);
        assert_located(&r);
    }

    #[test]
    fn toml_mutations(edits in prop::collection::vec((any::<usize>(), any::<u8>(), prop::sample::select(vec!['[', ']', '=', '"', '\n', '#', 'x', '9', '.', ','])), 1..8)) {
        assert_located(&load_toml_str(&mutate(T_VALID, &edits)));
    }
}

#[test]
fn the_unmutated_bases_are_valid() {
    assert!(load_keepalived_str(K_VALID, ".").is_ok());
    assert!(load_toml_str(T_VALID).is_ok());
}
