//! `rvsadm`: the ipvsadm-compatible command line of rvs.
//!
//! It accepts ipvsadm 1.31's command lines (options, clusters, quirks and error messages
//! included), adds what a DPDK director needs (FULLNAT, its local addresses, the director's
//! own addresses, routes and neighbours, status listings), sends requests over rvsd's
//! control socket (`proto`), and prints listings byte for byte as ipvsadm prints them.
//!
//! The pieces, in the order a command line meets them:
//! [`popt`] finds options as libpopt does; [`options`] is the option table and ipvsadm's
//! legality table; [`parse`] turns a command line into a checked [`command::Command`];
//! [`client`] talks to the daemon; [`listing`] formats replies (pure functions, tested
//! against the real ipvsadm's output); [`exit`] holds ipvsadm's endings; [`run`] ties them.

pub mod addr;
pub mod client;
pub mod command;
pub mod exit;
pub mod help;
pub mod listing;
pub mod names;
pub mod options;
pub mod parse;
pub mod popt;
pub mod restore;
pub mod run;
pub mod sched_flags;
pub mod services_db;
pub mod sort;

/// Environment variable naming the control socket.
pub const SOCKET_ENV: &str = "RVS_SOCKET";
/// Environment variable naming the services database (default /etc/services).
pub const SERVICES_ENV: &str = "RVSADM_SERVICES";

/// Removes rvsadm's own `--socket PATH` / `--socket=PATH` from `args` (it is not an
/// ipvsadm option, so it must not reach ipvsadm's parser); returns the path if given.
pub fn take_socket_option(args: &mut Vec<String>) -> Result<Option<String>, exit::Exit> {
    let mut socket = None;
    let mut i = 0;
    while let Some(word) = args.get(i) {
        if word == "--" {
            break;
        }
        if let Some(path) = word.strip_prefix("--socket=") {
            socket = Some(path.to_string());
            args.remove(i);
        } else if word == "--socket" {
            args.remove(i);
            if i >= args.len() {
                return Err(exit::Exit::refused("--socket: missing argument"));
            }
            socket = Some(args.remove(i));
        } else {
            i += 1;
        }
    }
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_option_is_taken_out_anywhere_before_double_dash() {
        let mut a: Vec<String> = [
            "-L",
            "--socket",
            "/tmp/s",
            "-n",
            "--socket=/tmp/t",
            "--",
            "--socket",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            take_socket_option(&mut a).unwrap().as_deref(),
            Some("/tmp/t")
        );
        assert_eq!(a, vec!["-L", "-n", "--", "--socket"]);
        let mut b = vec!["-L".to_string(), "--socket".to_string()];
        assert!(take_socket_option(&mut b).is_err());
    }
}
