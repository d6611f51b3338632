//! `-R`: commands read from stdin, sent to the daemon as one all-or-nothing batch.
//!
//! Lines are split as ipvsadm's `config_stream_read` splits them: words separated by
//! blanks, tabs and carriage returns, the word `ipvsadm` dropped wherever it appears (so
//! saved shell scripts restore too), blank lines skipped. Two differences, both accepting
//! input ipvsadm rejects: the word `rvsadm` is dropped as well, and a word starting with `#`
//! starts a comment (ipvsadm takes `#` for an unexpected argument). Every line is parsed and
//! checked before anything is sent, and the daemon applies the batch whole or not at all.
//!
//! ipvsadm, measured with the oracle, sends each line on its own: a line with a bad command
//! line ends it at once (status 2, the lines before it applied), while a line the kernel
//! refuses prints its error and the next lines still run (the exit status is the last
//! line's). rvsadm prints the same text for the first refused line — the daemon names the
//! line's position and the CLI words the error for that line's command
//! ([`crate::exit::batch_error`]) — but applies none of the lines and ends with 255.

use proto::Request;

use crate::command::Command;
use crate::exit::{Exit, Operation};
use crate::names::Names;
use crate::parse::parse;

/// The words of each non-empty line, with its 1-based line number.
pub fn split_lines(input: &str) -> Vec<(usize, Vec<String>)> {
    input
        .split('\n')
        .enumerate()
        .filter_map(|(i, line)| {
            let words: Vec<String> = line
                .split([' ', '\t', '\r'])
                .filter(|w| !w.is_empty())
                .take_while(|w| !w.starts_with('#'))
                .filter(|w| *w != "ipvsadm" && *w != "rvsadm")
                .map(str::to_string)
                .collect();
            (!words.is_empty()).then_some((i + 1, words))
        })
        .collect()
}

/// Parses every line of `input` into the requests of one batch, with the operation of each.
pub fn requests(
    program: &str,
    input: &str,
    names: &dyn Names,
) -> Result<Vec<(Request, Operation)>, Exit> {
    let mut out = Vec::new();
    for (line, words) in split_lines(input) {
        let command = parse(program, &words, true, names)?;
        // -Z zeroes counters, which a batch cannot carry (the daemon refuses it there).
        let change = command.change().filter(|(_, op)| *op != Operation::Zero);
        match change {
            Some(change) => out.push(change),
            None if command == Command::Restore => return Err(Exit::try_help(program)),
            None => {
                return Err(Exit::usage(format!(
                    "line {line}: only commands that change the table can be restored: {}",
                    words.join(" ")
                )));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::tests::FixedNames;
    use proto::{Forward, Protocol, ServiceKey};

    #[test]
    fn lines_split_like_config_stream_read() {
        let lines =
            split_lines("ipvsadm -A -t 10.0.0.1:80\r\n\n  \t\n# comment\n-C # trailing\n-a\t-t x");
        assert_eq!(
            lines,
            vec![
                (1, vec!["-A".to_string(), "-t".into(), "10.0.0.1:80".into()]),
                (5, vec!["-C".to_string()]),
                (6, vec!["-a".to_string(), "-t".into(), "x".into()]),
            ]
        );
    }

    #[test]
    fn saved_rules_become_one_batch() {
        let input = "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m -w 2\n-P -t 10.0.0.1:80 -z 10.0.2.1\n";
        let reqs = requests("rvsadm", input, &FixedNames::default()).unwrap();
        assert_eq!(reqs.len(), 3);
        let key = ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: "10.0.0.1:80".parse().unwrap(),
        };
        match &reqs[1].0 {
            Request::AddDest { key: k, dest } => {
                assert_eq!(*k, key);
                assert_eq!(dest.addr, "10.0.1.1:8080".parse().unwrap());
                assert_eq!(dest.forward, Forward::Nat);
                assert_eq!(dest.weight, 2);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            reqs[2].0,
            Request::AddLocalAddr {
                key,
                addr: "10.0.2.1".parse().unwrap()
            }
        );
    }

    #[test]
    fn bad_lines_end_the_restore_before_anything_is_sent() {
        let names = FixedNames::default();
        let e = requests("ipvsadm", "-A -t 10.0.0.1:80\n-A -t bad\n", &names).unwrap_err();
        assert_eq!(
            (e.code, e.stderr.as_str()),
            (2, "illegal virtual server address[:port] specified\n")
        );
        let e = requests("ipvsadm", "-R\n", &names).unwrap_err();
        assert_eq!(e.code, 255);
        let e = requests("ipvsadm", "-L -n\n", &names).unwrap_err();
        assert_eq!(e.code, 2);
        assert!(e.stderr.starts_with("line 1: "));
        let e = requests("ipvsadm", "-C\n-Z\n", &names).unwrap_err();
        assert_eq!(
            (e.code, e.stderr.as_str()),
            (
                2,
                "line 2: only commands that change the table can be restored: -Z\n"
            )
        );
    }
}
