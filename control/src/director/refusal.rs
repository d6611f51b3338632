//! Why a request was refused, with the words ipvsadm uses.
//!
//! LVS operators read ipvsadm's messages every day and script against them, so wherever
//! ipvsadm (or the kernel behind it, through libipvs's `ipvs_strerror`) has a message for a
//! situation, the refusal carries exactly that text; `rvsadm` prints it unchanged. Texts that
//! ipvsadm prints from its own option parser (exit status 2) are kept too, because a client
//! other than `rvsadm` may skip those checks and the daemon must still answer them. Where
//! ipvsadm has nothing to say (FULLNAT, the director's own addresses) the text is rvs's own.

use proto::{ErrorKind, Response};

/// A refused request: the protocol's error kind and the message to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub kind: ErrorKind,
    pub message: String,
}

impl Refusal {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Refusal {
            kind,
            message: message.into(),
        }
    }

    /// A value out of range or inconsistent.
    pub fn invalid(message: impl Into<String>) -> Self {
        Refusal::new(ErrorKind::Invalid, message)
    }

    /// The daemon could not do what was asked; nothing changed.
    pub fn internal(message: impl Into<String>) -> Self {
        Refusal::new(ErrorKind::Internal, message)
    }

    /// The reply that carries this refusal.
    pub fn into_response(self) -> Response {
        Response::Error {
            kind: self.kind,
            message: self.message,
        }
    }

    /// `-A` of a service that exists (kernel EEXIST).
    pub fn service_exists() -> Self {
        Refusal::new(ErrorKind::ServiceExists, "Service already exists")
    }

    /// `-E`, `-D`, `-Z`, `-L` of a service that does not exist (kernel ESRCH).
    pub fn no_service() -> Self {
        Refusal::new(ErrorKind::NoService, "No such service")
    }

    /// `-a`, `-e`, `-d` (and the local-address commands) naming a service that does not exist:
    /// libipvs words this ESRCH differently from the service commands.
    pub fn service_not_defined() -> Self {
        Refusal::new(ErrorKind::NoService, "Service not defined")
    }

    /// `-a` of a destination that exists (kernel EEXIST).
    pub fn dest_exists() -> Self {
        Refusal::new(ErrorKind::DestExists, "Destination already exists")
    }

    /// `-e`, `-d` of a destination that does not exist (kernel ENOENT).
    pub fn no_dest() -> Self {
        Refusal::new(ErrorKind::NoDest, "No such destination")
    }

    /// An unknown scheduler name (kernel ENOENT from `ip_vs_scheduler_get`).
    pub fn scheduler_not_found() -> Self {
        Refusal::invalid("Scheduler or persistence engine not found")
    }

    /// The caller is neither root nor in the control group (kernel EPERM).
    pub fn permission_denied() -> Self {
        Refusal::new(
            ErrorKind::PermissionDenied,
            "Permission denied (you must be root)",
        )
    }

    /// Any request naming a fwmark service.
    pub fn fwmark() -> Self {
        Refusal::new(
            ErrorKind::Unsupported,
            "fwmark services are not supported: rvs sees no netfilter marks; \
             use a TCP or UDP service (-t/-u)",
        )
    }

    /// `--add-laddr` of an address the service already has (DPVS's ipvsadm).
    pub fn local_addr_exists() -> Self {
        Refusal::new(ErrorKind::Exists, "Local address already exists")
    }

    /// `--del-laddr` of an address the service does not have (DPVS's ipvsadm).
    pub fn no_local_addr() -> Self {
        Refusal::new(ErrorKind::NotFound, "No such Local address")
    }

    /// What libipvs prints for the kernel's EINVAL (e.g. a destination that is not unicast).
    pub fn kernel_einval() -> Self {
        Refusal::invalid(
            "Invalid operation.  Possibly wrong module version, address not unicast, ...",
        )
    }

    /// What libipvs prints for the kernel's ERANGE (strerror), e.g. thresholds out of order.
    pub fn kernel_erange() -> Self {
        Refusal::invalid("Numerical result out of range")
    }
}
