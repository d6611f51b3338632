//! Names for addresses and ports, both ways: what ipvsadm prints without `-n`
//! (`10.0.0.1:http`, `www.example.org:https`) and what it accepts on its command line
//! (`-t www.example.org:http`).
//!
//! Behind one trait so that the formatter is a pure function of its input in tests. The
//! system implementation bounds reverse DNS: ipvsadm blocks on each `gethostbyaddr` for as
//! long as the resolver likes, while `rvsadm` resolves every address of a listing in
//! parallel and prints the numeric form of those that have no answer within
//! [`REVERSE_DNS_BUDGET`].

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use proto::Protocol;

use crate::services_db::ServicesDb;

/// How long one listing may wait for reverse DNS in total.
pub const REVERSE_DNS_BUDGET: Duration = Duration::from_secs(2);

/// Reverse lookups running at once.
const RESOLVER_THREADS: usize = 16;

/// Lookups of names for addresses and ports.
pub trait Names {
    /// The host name of `addr`, `None` when it has none.
    fn host_name(&self, addr: IpAddr) -> Option<String>;
    /// The service name of `port` for `protocol`.
    fn port_name(&self, port: u16, protocol: Protocol) -> Option<String>;
    /// The (first IPv4) address of a host name, as `gethostbyname` gives it.
    fn host_addr(&self, name: &str) -> Option<Ipv4Addr>;
    /// The port of a service name for `protocol`.
    fn port_number(&self, name: &str, protocol: Protocol) -> Option<u16>;
    /// Resolves `addrs` ahead of formatting, so that a listing waits once, not per line.
    fn prefetch(&self, _addrs: &[IpAddr]) {}
}

/// The machine's resolver and services database.
pub struct SystemNames {
    services: ServicesDb,
    budget: Duration,
    cache: RefCell<HashMap<IpAddr, Option<String>>>,
}

impl SystemNames {
    pub fn new(services: ServicesDb, budget: Duration) -> SystemNames {
        SystemNames {
            services,
            budget,
            cache: RefCell::new(HashMap::new()),
        }
    }
}

/// Resolves `addrs` on a few threads; what has not answered by `deadline` stays unresolved.
fn reverse_lookup_all(addrs: Vec<IpAddr>, deadline: Instant) -> HashMap<IpAddr, String> {
    let total = addrs.len();
    let queue = Arc::new(Mutex::new(VecDeque::from(addrs)));
    let (tx, rx) = mpsc::channel();
    for _ in 0..RESOLVER_THREADS.min(total) {
        let queue = Arc::clone(&queue);
        let tx = tx.clone();
        // Detached on purpose: a lookup that outlives the deadline is abandoned.
        let _ = thread::Builder::new().spawn(move || {
            loop {
                let next = match queue.lock() {
                    Ok(mut q) => q.pop_front(),
                    Err(_) => None,
                };
                let Some(addr) = next else { break };
                let name = dns_lookup::lookup_addr(&addr).ok();
                if tx.send((addr, name)).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let mut found = HashMap::new();
    for _ in 0..total {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((addr, Some(name))) => {
                found.insert(addr, name);
            }
            Ok((_, None)) => {}
            Err(_) => break,
        }
    }
    found
}

impl Names for SystemNames {
    fn host_name(&self, addr: IpAddr) -> Option<String> {
        if !self.cache.borrow().contains_key(&addr) {
            self.prefetch(&[addr]);
        }
        self.cache.borrow().get(&addr).cloned().flatten()
    }

    fn port_name(&self, port: u16, protocol: Protocol) -> Option<String> {
        self.services.name_of(port, protocol).map(str::to_string)
    }

    fn host_addr(&self, name: &str) -> Option<Ipv4Addr> {
        (name, 0u16)
            .to_socket_addrs()
            .ok()?
            .find_map(|a| match a.ip() {
                IpAddr::V4(v4) => Some(v4),
                IpAddr::V6(_) => None,
            })
    }

    fn port_number(&self, name: &str, protocol: Protocol) -> Option<u16> {
        self.services.port_of(name, protocol)
    }

    fn prefetch(&self, addrs: &[IpAddr]) {
        let mut wanted: Vec<IpAddr> = Vec::new();
        {
            let cache = self.cache.borrow();
            for a in addrs {
                if !cache.contains_key(a) && !wanted.contains(a) {
                    wanted.push(*a);
                }
            }
        }
        if wanted.is_empty() {
            return;
        }
        let found = reverse_lookup_all(wanted.clone(), Instant::now() + self.budget);
        let mut cache = self.cache.borrow_mut();
        for a in wanted {
            let name = found.get(&a).cloned();
            cache.insert(a, name);
        }
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A fixed table of names for tests: `gateway` is 192.0.2.254, ports 80/443/53 have
    /// their usual names, and 192.0.2.1 is `www.example.org`.
    pub struct FixedNames {
        services: ServicesDb,
    }

    impl Default for FixedNames {
        fn default() -> Self {
            FixedNames {
                services: ServicesDb::parse(
                    "http 80/tcp www\nhttps 443/tcp\ndomain 53/tcp\ndomain 53/udp\n",
                ),
            }
        }
    }

    impl Names for FixedNames {
        fn host_name(&self, addr: IpAddr) -> Option<String> {
            (addr == IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))).then(|| "www.example.org".into())
        }
        fn port_name(&self, port: u16, protocol: Protocol) -> Option<String> {
            self.services.name_of(port, protocol).map(str::to_string)
        }
        fn host_addr(&self, name: &str) -> Option<Ipv4Addr> {
            (name == "gateway").then_some(Ipv4Addr::new(192, 0, 2, 254))
        }
        fn port_number(&self, name: &str, protocol: Protocol) -> Option<u16> {
            self.services.port_of(name, protocol)
        }
    }

    #[test]
    fn system_names_use_the_services_database_and_cache_misses() {
        let names = SystemNames::new(
            ServicesDb::parse("http 80/tcp\n"),
            Duration::from_millis(500),
        );
        assert_eq!(names.port_name(80, Protocol::Tcp).as_deref(), Some("http"));
        assert_eq!(names.port_number("http", Protocol::Tcp), Some(80));
        assert_eq!(names.port_number("http", Protocol::Udp), None);
        // Literal addresses resolve without DNS.
        assert_eq!(
            names.host_addr("10.1.2.3"),
            Some(Ipv4Addr::new(10, 1, 2, 3))
        );
        // Whatever the resolver says about a documentation address, it is cached once.
        let addr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 77));
        let first = names.host_name(addr);
        assert!(names.cache.borrow().contains_key(&addr));
        assert_eq!(names.host_name(addr), first);
    }
}
