//! The DPDK Environment Abstraction Layer: initialised once per process from an argument
//! list, cleaned up when the last holder lets go.
use std::ffi::{CString, c_char, c_int};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::DpdkError;
use crate::ffi;

/// Set by the first `Eal::init`; DPDK itself refuses a second `rte_eal_init`.
static INITIALISED: AtomicBool = AtomicBool::new(false);

/// Proof that the EAL is initialised. Cheap to clone; every DPDK object rvs creates keeps
/// one, so `rte_eal_cleanup` runs only after the last of them is gone.
#[derive(Clone)]
pub struct Eal {
    _guard: Arc<EalGuard>,
}

struct EalGuard {
    /// The argument strings, kept alive for as long as the EAL: DPDK may keep pointers into
    /// argv (it documents no copy).
    _args: Vec<CString>,
}

impl Drop for EalGuard {
    fn drop(&mut self) {
        // SAFETY: the EAL was initialised (a guard exists only after a successful init) and
        // every object that used it held a clone of this guard, so none is left.
        unsafe { ffi::rte_eal_cleanup() };
    }
}

impl Eal {
    /// Initialises the EAL with `args` (without the program name, which rvs supplies).
    ///
    /// Fails with [`DpdkError::AlreadyInitialised`] on a second call in the process, and
    /// with DPDK's reason when an argument is wrong (EAL prints its usage on stderr).
    pub fn init<S: AsRef<str>>(args: &[S]) -> Result<Eal, DpdkError> {
        let mut cargs = Vec::with_capacity(args.len() + 1);
        cargs.push(CString::new("rvsd").map_err(|e| DpdkError::Invalid(e.to_string()))?);
        for a in args {
            let a = a.as_ref();
            cargs.push(
                CString::new(a).map_err(|_| {
                    DpdkError::Invalid(format!("EAL argument {a:?} has a NUL byte"))
                })?,
            );
        }
        if INITIALISED.swap(true, Ordering::SeqCst) {
            return Err(DpdkError::AlreadyInitialised);
        }
        // rte_eal_init may permute argv: hand it a scratch array of pointers, not the strings.
        let mut argv: Vec<*mut c_char> = cargs.iter().map(|c| c.as_ptr().cast_mut()).collect();
        let argc = c_int::try_from(argv.len())
            .map_err(|_| DpdkError::Invalid("too many EAL arguments".into()))?;
        // SAFETY: argv holds argc valid NUL-terminated strings that outlive the EAL (they are
        // moved into the guard below); EAL runs at most once per process (checked above).
        let ret = unsafe { ffi::rte_eal_init(argc, argv.as_mut_ptr()) };
        if ret < 0 {
            return Err(DpdkError::from_ret("rte_eal_init", ret));
        }
        Ok(Eal {
            _guard: Arc::new(EalGuard { _args: cargs }),
        })
    }

    /// The NUMA socket of the calling thread (`SOCKET_ID_ANY` on an unregistered thread).
    pub fn socket_id(&self) -> u32 {
        // SAFETY: reads a per-thread value; valid on any thread after EAL init.
        unsafe { ffi::rte_socket_id() }
    }
}
