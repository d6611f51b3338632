//! The pure formatter against the golden listings: each scenario whose command is a listing
//! that succeeded is parsed with rvsadm's own parser, its table is formatted without any
//! daemon, and the text must equal ipvsadm's output byte for byte.

mod common;

use cli::command::Command;
use cli::listing::{conns, rules, services};
use cli::parse::parse;
use common::{GoldenNames, Scenario, scenarios};

/// The listing rvsadm prints for scenario `s`, or `None` when it is not a listing.
fn format(s: &Scenario, names: &GoldenNames) -> Option<String> {
    let command = if s.args.is_empty() {
        Command::ListAll(Default::default())
    } else {
        parse("ipvsadm", &s.args, false, names).ok()?
    };
    let t = &s.table;
    Some(match command {
        Command::ListAll(fmt) => services::list_all(4096, &t.services, &fmt, names),
        Command::ListService(key, fmt) => {
            let one = t.services.iter().find(|x| x.spec.key == key)?;
            services::list_one(one, &fmt, names)
        }
        Command::ListConns(fmt) => conns::list_conns(&t.conns, &fmt, names),
        Command::ListTimeouts => conns::timeouts(&t.timeouts?),
        Command::Save { numeric } => rules::save(&t.services, numeric, names),
        Command::ListDaemons => String::new(),
        _ => return None,
    })
}

#[test]
fn listings_match_ipvsadm_byte_for_byte() {
    let names = GoldenNames::new();
    let mut checked = 0;
    let mut problems = Vec::new();
    for s in scenarios().iter().filter(|s| s.exit == 0) {
        let Some(text) = format(s, &names) else {
            continue;
        };
        checked += 1;
        if text != s.stdout {
            problems.push(format!(
                "{} ({}):\n--- ipvsadm\n{}--- rvsadm\n{}",
                s.name,
                s.args.join(" "),
                s.stdout,
                text
            ));
        }
    }
    assert!(checked >= 40, "only {checked} listing scenarios found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn sorting_reproduces_the_wrapping_comparison() {
    // 250.1.1.1 sorts before 2.1.1.1, and the cyclic trio 1.0.0.0 / 129.0.0.1 / 1.0.0.1
    // comes out in glibc's merge order.
    let s = common::load("sorting");
    let names = GoldenNames::new();
    let text = format(&s, &names).unwrap();
    let first = text.lines().nth(3).unwrap();
    assert_eq!(first, "TCP  250.1.1.1:80 wlc");
    let dests: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("  -> ") && !l.contains("RemoteAddress"))
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(
        &dests[..5],
        &[
            "129.0.0.1:80",
            "200.0.0.9:80",
            "250.1.1.1:80",
            "1.0.0.0:80",
            "1.0.0.1:80"
        ]
    );
}
