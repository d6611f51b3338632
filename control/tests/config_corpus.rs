//! The keepalived.conf reader on the 699-entry corpus of real keepalived configurations
//! (tests/corpus/README.md), against keepalived 2.2.7's own verdicts. The .tsv holds, per
//! file with virtual servers, the exit code of `keepalived -t` (0 valid, 4 config error, 5
//! warnings such as unknown keywords, 6 security warnings, 2 and 134 for files it could not
//! finish) and the number of lines it printed.
//!
//! keepalived's exit code alone is not its whole verdict: 10 files exit 0 after printing 28
//! to 74 complaints (they are written for `keepalived -i low|high`; on another host their
//! `$NAME`-style parameters stay undefined, and keepalived still exits 0). So "keepalived
//! accepts it" here means exit 0 *and* nothing printed.
//!
//! Asserted: every file keepalived accepts loads with no error; no file makes the reader
//! panic; every rejection carries errors that are specific (a file, a line, and a message
//! that says what is wrong, not a generic parse failure). The counts printed at the end are
//! the ones docs/config.md reports (`cargo test -p control --test config_corpus -- --nocapture`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use control::config::{ConfigError, KeepalivedOptions, load_keepalived_file};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// keepalived's verdict per file name: exit code and number of lines printed.
fn verdicts() -> HashMap<String, (u32, u32)> {
    let tsv = std::fs::read_to_string(corpus_dir().join("keepalived-configs.keepalived-t.tsv"))
        .expect("the corpus verdicts are in the repository");
    tsv.lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let name = f.next()?.to_string();
            let code = f.next()?.parse().ok()?;
            let lines = f.next()?.parse().ok()?;
            Some((name, (code, lines)))
        })
        .collect()
}

/// The row of the report a file belongs to.
fn verdict_label(v: Option<(u32, u32)>) -> String {
    match v {
        None => "no VS".to_string(),
        Some((0, 0)) => "0 clean".to_string(),
        Some((0, _)) => "0 noisy".to_string(),
        Some((code, _)) => code.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Loaded,
    LoadedWithWarnings,
    Rejected,
}

/// An error is specific when it is placed (file and line) and says what is wrong.
fn is_specific(e: &ConfigError) -> bool {
    let generic = [
        "parse error",
        "syntax error",
        "invalid configuration",
        "failed to parse",
    ];
    !e.file.is_empty()
        && e.line > 0
        && e.message.len() >= 12
        && !generic
            .iter()
            .any(|g| e.message.to_ascii_lowercase().contains(g))
}

/// A short category for an error message: the reason without its particulars.
fn category(e: &ConfigError) -> String {
    let m = e.message.as_str();
    let known = [
        ("unknown keyword", "unknown keyword"),
        (
            "is not a keyword: no such parameter",
            "undefined $PARAMETER used as a keyword",
        ),
        ("needs an interface", "vrrp_instance without interface"),
        ("is not supported by rvs", "feature rvs does not have"),
        ("not an IP address", "bad IP address"),
        ("invalid IP address", "bad IP address"),
        ("invalid number", "bad number"),
        ("out of range", "number out of range"),
        ("include ", "include of a missing file"),
        ("needs a script", "vrrp_script without script"),
        (
            "needs a virtual_router_id",
            "vrrp_instance without virtual_router_id",
        ),
        (
            "is already used on",
            "virtual_router_id used twice on an interface",
        ),
        ("listed twice", "address or real server listed twice"),
        ("duplicate virtual service", "virtual service defined twice"),
        ("defined twice", "name defined twice"),
        ("'}'", "unbalanced braces"),
        ("'{'", "unbalanced braces"),
        ("quote", "unterminated quote"),
        ("escapes nothing", "stray backslash"),
        ("unknown address option", "unknown virtual_ipaddress option"),
        ("authentication", "VRRP authentication"),
        ("auth_type", "VRRP authentication"),
        ("advert_int", "advert_int out of range"),
        ("does not settle", "parameter defined in terms of itself"),
        ("is not MASTER or BACKUP", "VRRP state not MASTER or BACKUP"),
        ("is not one of A NS", "DNS_CHECK type unknown"),
        ("unknown forwarding method", "unknown lb_kind"),
        ("missing terminating", "unterminated quote"),
    ];
    for (needle, cat) in known {
        if m.contains(needle) {
            return cat.to_string();
        }
    }
    let cut = m
        .find([
            '"', '\'', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '(',
        ])
        .unwrap_or(m.len());
    m[..cut].trim().trim_end_matches(':').to_string()
}

#[test]
fn corpus_verdicts_hold() {
    let dir = corpus_dir().join("keepalived-configs");
    let verdicts = verdicts();
    // `@id` lines compare with the config id; with none, none of them match, which is how
    // keepalived read these files on a host named after none of their ids.
    let opts = KeepalivedOptions { config_id: None };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    entries.sort();
    assert_eq!(entries.len(), 699, "the corpus has 699 entries");

    let mut table: BTreeMap<(String, Outcome), usize> = BTreeMap::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    let mut files = 0;
    for path in entries.iter().filter(|p| p.is_file()) {
        files += 1;
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let verdict = verdict_label(verdicts.get(&name).copied());
        let result = std::panic::catch_unwind(|| load_keepalived_file(path, &opts));
        let outcome = match result {
            Err(_) => {
                failures.push(format!("{name}: the reader panicked"));
                continue;
            }
            Ok(Ok(loaded)) if loaded.warnings.is_empty() => Outcome::Loaded,
            Ok(Ok(_)) => Outcome::LoadedWithWarnings,
            Ok(Err(errs)) => {
                if errs.errors.is_empty() {
                    failures.push(format!("{name}: rejected without an error"));
                }
                let mut cats: Vec<String> = Vec::new();
                for e in &errs.errors {
                    if !is_specific(e) {
                        failures.push(format!("{name}: unspecific error: {e}"));
                    }
                    cats.push(category(e));
                }
                cats.sort();
                cats.dedup();
                for c in cats {
                    *reasons.entry(c).or_default() += 1;
                }
                if verdict == "0 clean" {
                    failures.push(format!(
                        "{name}: keepalived accepts it but rvs rejects it:\n    {}",
                        errs.errors
                            .iter()
                            .map(|e| e.to_string())
                            .collect::<Vec<_>>()
                            .join("\n    ")
                    ));
                }
                Outcome::Rejected
            }
        };
        *table.entry((verdict, outcome)).or_default() += 1;
    }

    println!("corpus: {} entries, {files} files read", entries.len());
    println!(
        "{:<10} {:>8} {:>15} {:>9}",
        "keepalived", "loaded", "loaded+warnings", "rejected"
    );
    let mut total = [0usize; 3];
    let verdict_names: Vec<String> = {
        let mut v: Vec<String> = table.keys().map(|(v, _)| v.clone()).collect();
        v.dedup();
        v
    };
    for v in &verdict_names {
        let n = |o| table.get(&(v.clone(), o)).copied().unwrap_or(0);
        let row = [
            n(Outcome::Loaded),
            n(Outcome::LoadedWithWarnings),
            n(Outcome::Rejected),
        ];
        for (t, r) in total.iter_mut().zip(row) {
            *t += r;
        }
        println!("{:<10} {:>8} {:>15} {:>9}", v, row[0], row[1], row[2]);
    }
    println!(
        "{:<10} {:>8} {:>15} {:>9}",
        "all", total[0], total[1], total[2]
    );
    // The noisy zeros are written for `keepalived -i low`: read them that way too.
    let low = KeepalivedOptions {
        config_id: Some("low".to_string()),
    };
    let mut noisy = (0, 0);
    for path in entries.iter().filter(|p| p.is_file()) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if verdict_label(verdicts.get(&name).copied()) != "0 noisy" {
            continue;
        }
        match load_keepalived_file(path, &low) {
            Ok(_) => noisy.0 += 1,
            Err(errs) => {
                noisy.1 += 1;
                for e in &errs.errors {
                    println!("  with config id low, {name} is rejected: {e}");
                }
            }
        }
    }
    println!(
        "0 noisy read with config id low: {} loaded, {} rejected",
        noisy.0, noisy.1
    );
    let mut by_count: Vec<(&String, &usize)> = reasons.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    println!("rejected files by reason (a file may have several):");
    for (reason, n) in by_count {
        println!("{n:>6}  {reason}");
    }
    assert!(
        failures.is_empty(),
        "{} corpus failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
