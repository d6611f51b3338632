//! How `rvsadm` ends when something is wrong: the text on stderr and the exit status, as
//! ipvsadm ends in the same situation.
//!
//! ipvsadm has four endings, measured with the oracle: `fail()` for bad command lines
//! (status 2), `tryhelp_exit()` when the first word is not a command and popt errors after it
//! (status 255, from `exit(-1)`/`return -1`), a refused change (255, the message from
//! `ipvs_strerror`), and a failed listing (status 1). The daemon's typed errors are mapped
//! onto these with the per-operation wording of libipvs's `ipvs_strerror` table (a missing
//! service is "No such service" to `-D` but "Service not defined" to `-a`).

use proto::ErrorKind;

/// ipvsadm's text when it cannot reach IPVS as a non-root user, byte for byte.
pub const NOT_ROOT: &str = "Can't initialize ipvs: Permission denied (you must be root)\n\
                            Are you sure that IP Virtual Server is built in the kernel or as module?\n";

/// A non-zero ending: what to print on stderr and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    pub code: i32,
    /// Complete stderr text, newline included.
    pub stderr: String,
}

impl Exit {
    /// ipvsadm's `fail(2, ...)`: a bad command line.
    pub fn usage(message: impl Into<String>) -> Exit {
        Exit {
            code: 2,
            stderr: format!("{}\n", message.into()),
        }
    }

    /// ipvsadm's `tryhelp_exit(argv[0], -1)`.
    pub fn try_help(program: &str) -> Exit {
        Exit {
            code: 255,
            stderr: format!("Try `{program} -h' or '{program} --help' for more information.\n"),
        }
    }

    /// A change the daemon (or rvs) refused; ipvsadm returns -1 from main.
    pub fn refused(message: impl Into<String>) -> Exit {
        Exit {
            code: 255,
            stderr: format!("{}\n", message.into()),
        }
    }

    /// A listing that failed; ipvsadm calls `exit(1)`.
    pub fn list_failed(message: impl Into<String>) -> Exit {
        Exit {
            code: 1,
            stderr: format!("{}\n", message.into()),
        }
    }

    /// The daemon cannot be used at all, analogous to ipvsadm's "Can't initialize ipvs".
    pub fn init_failed(reason: &str, socket: &str) -> Exit {
        Exit {
            code: 2,
            stderr: format!(
                "Can't initialize ipvs: {reason}\n\
                 Are you sure that rvsd is running and listening on {socket}? \
                 (--socket PATH or RVS_SOCKET select another socket)\n"
            ),
        }
    }

    /// The caller may not do this (not root nor in rvs's control group).
    pub fn not_root() -> Exit {
        Exit {
            code: 2,
            stderr: NOT_ROOT.to_string(),
        }
    }
}

/// Which operation a daemon error answers; decides ipvsadm's wording and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    AddService,
    EditService,
    DelService,
    Zero,
    AddDest,
    EditDest,
    DelDest,
    /// A listing: failures end with status 1.
    List,
    /// Anything else (timeouts, local addresses, the director's tables, batches).
    Other,
}

/// ipvsadm's text for `kind` in answer to `op`, per libipvs's `ipvs_strerror` table.
fn ipvsadm_text(op: Operation, kind: ErrorKind) -> Option<&'static str> {
    use ErrorKind as K;
    use Operation as O;
    Some(match (op, kind) {
        (O::AddService, K::ServiceExists) => "Service already exists",
        (O::AddService | O::EditService, K::NotFound) => {
            "Scheduler or persistence engine not found"
        }
        (O::EditService | O::DelService | O::Zero | O::List, K::NoService) => "No such service",
        (O::AddDest | O::EditDest | O::DelDest, K::NoService) => "Service not defined",
        (O::AddDest, K::DestExists) => "Destination already exists",
        (O::EditDest | O::DelDest, K::NoDest) => "No such destination",
        _ => return kind.ipvsadm_message(),
    })
}

/// The ending for a daemon's error reply to `op`.
pub fn daemon_error(op: Operation, kind: ErrorKind, message: &str) -> Exit {
    if kind == ErrorKind::PermissionDenied {
        return Exit::not_root();
    }
    let text = ipvsadm_text(op, kind).unwrap_or(message);
    if op == Operation::List {
        Exit::list_failed(text)
    } else {
        Exit::refused(text)
    }
}

/// How the daemon prefixes the refusal of one request of a batch (docs/control-protocol.md):
/// `batch request N: TEXT`, N counting from 1, TEXT and the error kind being what that
/// request alone would have been answered.
pub const BATCH_PREFIX: &str = "batch request ";

/// The 1-based position and own message of a batch refusal, if `message` has that form.
pub fn split_batch_error(message: &str) -> Option<(usize, &str)> {
    let rest = message.strip_prefix(BATCH_PREFIX)?;
    let (n, text) = rest.split_once(": ")?;
    let n: usize = n.parse().ok()?;
    (n > 0).then_some((n, text))
}

/// The ending for a daemon's refusal of a `-R` batch whose requests answer `ops` in order:
/// the failing line's error worded as ipvsadm words it for that line's command (ipvsadm
/// prints each refused line's `ipvs_strerror` text). Anything else (a refusal of the batch
/// as a whole) prints as the daemon said it.
pub fn batch_error(ops: &[Operation], kind: ErrorKind, message: &str) -> Exit {
    match split_batch_error(message) {
        Some((n, text)) => {
            let op = ops.get(n - 1).copied().unwrap_or(Operation::Other);
            daemon_error(op, kind, text)
        }
        None => daemon_error(Operation::Other, kind, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording_depends_on_the_operation() {
        let e = daemon_error(Operation::DelService, ErrorKind::NoService, "x");
        assert_eq!((e.code, e.stderr.as_str()), (255, "No such service\n"));
        let e = daemon_error(Operation::AddDest, ErrorKind::NoService, "x");
        assert_eq!(e.stderr, "Service not defined\n");
        let e = daemon_error(Operation::List, ErrorKind::NoService, "x");
        assert_eq!((e.code, e.stderr.as_str()), (1, "No such service\n"));
        let e = daemon_error(
            Operation::AddService,
            ErrorKind::NotFound,
            "unknown scheduler foo",
        );
        assert_eq!(e.stderr, "Scheduler or persistence engine not found\n");
        let e = daemon_error(
            Operation::Other,
            ErrorKind::Unsupported,
            "fwmark services are not supported",
        );
        assert_eq!(
            (e.code, e.stderr.as_str()),
            (255, "fwmark services are not supported\n")
        );
        let e = daemon_error(Operation::AddDest, ErrorKind::PermissionDenied, "");
        assert_eq!((e.code, e.stderr.as_str()), (2, NOT_ROOT));
    }

    #[test]
    fn a_refused_batch_is_worded_for_its_failing_line() {
        let ops = [
            Operation::AddService,
            Operation::AddDest,
            Operation::DelService,
        ];
        // The kind alone would say "No such service"; for -a libipvs says otherwise.
        let e = batch_error(
            &ops,
            ErrorKind::NoService,
            "batch request 2: Service not defined",
        );
        assert_eq!((e.code, e.stderr.as_str()), (255, "Service not defined\n"));
        let e = batch_error(
            &ops,
            ErrorKind::NoService,
            "batch request 3: No such service",
        );
        assert_eq!(e.stderr, "No such service\n");
        let e = batch_error(
            &ops,
            ErrorKind::Invalid,
            "batch request 1: Scheduler or persistence engine not found",
        );
        assert_eq!(e.stderr, "Scheduler or persistence engine not found\n");
        // A refusal of the whole batch is printed as it came.
        let e = batch_error(&ops, ErrorKind::Internal, "the dataplane did not take it");
        assert_eq!(e.stderr, "the dataplane did not take it\n");
        // A position out of range falls back to the kind's text or the message.
        let e = batch_error(&ops, ErrorKind::Invalid, "batch request 9: odd");
        assert_eq!(e.stderr, "odd\n");
        assert_eq!(split_batch_error("batch request 0: x"), None);
        assert_eq!(split_batch_error("batch request x: y"), None);
        assert_eq!(
            split_batch_error("batch request 12: a: b"),
            Some((12, "a: b"))
        );
    }

    #[test]
    fn endings_have_ipvsadm_statuses() {
        assert_eq!(Exit::usage("x").code, 2);
        assert_eq!(
            Exit::try_help("ipvsadm").stderr,
            "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n"
        );
        assert_eq!(Exit::try_help("ipvsadm").code, 255);
    }
}
