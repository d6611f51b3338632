//! Replay scripts: rvsadm command lines applied at capture times.
//!
//! ```text
//! # seconds after the first packet, then the rvsadm arguments
//! 1.0   -a -t 10.0.0.100:80 -r 10.0.0.13:80 -g -w 1
//! 2.5   -d -t 10.0.0.100:80 -r 10.0.0.12:80
//! 9     -Ln --stats
//! ```
//!
//! Each line is parsed by rvsadm's own parser (`cli::parse`, ipvsadm's grammar and checks,
//! numeric addresses and ports only), so a script says exactly what an operator would type.
//! A change is handed to the director as the control socket would hand it; a listing
//! (`-L`, `-S`, `--timeout`, `--list-counters`) is formatted with rvsadm's own formatter and
//! printed into the replay's output. Lines run in time order; lines with the same time in
//! file order.
use std::net::{IpAddr, Ipv4Addr};

use cli::command::Command;
use cli::names::Names;
use proto::{Protocol, Request};

/// Names for script lines: numbers only, so a replay never waits for a resolver.
pub struct NumericNames;

impl Names for NumericNames {
    fn host_name(&self, _addr: IpAddr) -> Option<String> {
        None
    }
    fn port_name(&self, _port: u16, _protocol: Protocol) -> Option<String> {
        None
    }
    fn host_addr(&self, _name: &str) -> Option<Ipv4Addr> {
        None
    }
    fn port_number(&self, _name: &str, _protocol: Protocol) -> Option<u16> {
        None
    }
}

/// What a line does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A request to the director.
    Change(Request),
    /// A listing, printed into the replay's output.
    List(Command),
}

/// One line of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line number in the file.
    pub line: usize,
    /// Nanoseconds after the first packet of the capture(s).
    pub at_ns: u64,
    /// The rvsadm arguments as written.
    pub args: String,
    pub action: Action,
}

fn is_listing(c: &Command) -> bool {
    matches!(
        c,
        Command::ListAll(_)
            | Command::ListService(..)
            | Command::Save { .. }
            | Command::ListTimeouts
            | Command::ListCounters
    )
}

/// Parses a script; every bad line is reported (`script:LINE: why`).
pub fn parse(name: &str, text: &str) -> Result<Vec<Entry>, String> {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let mut words = content.split_whitespace();
        let Some(time) = words.next() else {
            continue;
        };
        let at_ns = match time.parse::<f64>() {
            Ok(s) if (0.0..1e9).contains(&s) => (s * 1e9).round() as u64,
            _ => {
                errors.push(format!(
                    "{name}:{line}: {time:?} is not a time in seconds after the first packet"
                ));
                continue;
            }
        };
        let args: Vec<String> = words.map(str::to_string).collect();
        let command = match cli::parse::parse("rvsadm", &args, false, &NumericNames) {
            Ok(c) => c,
            Err(exit) => {
                errors.push(format!("{name}:{line}: {}", exit.stderr.trim_end()));
                continue;
            }
        };
        let action = match command.change() {
            Some((request, _)) => Action::Change(request),
            None if is_listing(&command) => Action::List(command),
            None => {
                errors.push(format!(
                    "{name}:{line}: a script applies changes and prints listings \
                     (-L, -S, --timeout, --list-counters); not {}",
                    args.join(" ")
                ));
                continue;
            }
        };
        entries.push(Entry {
            line,
            at_ns,
            args: args.join(" "),
            action,
        });
    }
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    // Stable: equal times keep file order.
    entries.sort_by_key(|e| e.at_ns);
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_requests_and_listings_in_time_order() {
        let text = "# comment\n\
                    2.5 -d -t 10.0.0.100:80 -r 10.0.0.12:80\n\
                    \n\
                    1   -a -t 10.0.0.100:80 -r 10.0.0.13:80 -g -w 2  # add\n\
                    2.5 -Ln --stats\n";
        let entries = parse("s", text).unwrap();
        let lines: Vec<(usize, u64)> = entries.iter().map(|e| (e.line, e.at_ns)).collect();
        assert_eq!(
            lines,
            [(4, 1_000_000_000), (2, 2_500_000_000), (5, 2_500_000_000)]
        );
        match &entries[0].action {
            Action::Change(Request::AddDest { dest, .. }) => {
                assert_eq!(dest.addr.to_string(), "10.0.0.13:80");
                assert_eq!(dest.weight, 2);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            entries[1].action,
            Action::Change(Request::DelDest { .. })
        ));
        match &entries[2].action {
            Action::List(Command::ListAll(f)) => assert!(f.stats && f.numeric),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            entries[0].args,
            "-a -t 10.0.0.100:80 -r 10.0.0.13:80 -g -w 2"
        );
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number() {
        let err = parse(
            "s.txt",
            "x -A -t 10.0.0.1:80\n1 -A -t 10.0.0.1:80 -s\n2 -v\n-1 -C\n",
        )
        .unwrap_err();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 4, "{err}");
        assert!(lines[0].starts_with("s.txt:1: \"x\""), "{err}");
        assert!(lines[1].starts_with("s.txt:2: "), "{err}");
        assert!(lines[2].contains("not -v"), "{err}");
        assert!(lines[3].starts_with("s.txt:4: "), "{err}");
    }
}
