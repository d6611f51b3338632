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
    fn endings_have_ipvsadm_statuses() {
        assert_eq!(Exit::usage("x").code, 2);
        assert_eq!(
            Exit::try_help("ipvsadm").stderr,
            "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n"
        );
        assert_eq!(Exit::try_help("ipvsadm").code, 255);
    }
}
