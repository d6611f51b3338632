//! The kernel sockets VRRP runs over: raw IPv4 sockets of protocol 112, bound to one
//! interface (the port's TAP in production, any kernel interface in tests).
//!
//! Two kinds, as keepalived has: a receive socket per interface, joined to 224.0.0.18 and
//! left unbound to any address (a raw socket bound to an address only sees packets *to*
//! that address, which would hide the multicast adverts), and a send socket per instance,
//! bound to the instance's primary address so the kernel puts it in the IP source that
//! the v3 checksum covered. The kernel writes the IP header: TOS 0xc0 (network control),
//! TTL 255 for unicast and multicast alike, DF clear; multicast loop is off so we do not
//! hear ourselves. The kernel hands the receive side the whole IPv4 header, so TTL and
//! source are checked by the engine.
//!
//! The Ethernet source of what leaves here is the interface's own MAC; on a DPDK port the
//! dataplane rewrites it to the virtual MAC 00:00:5e:00:01:VRID on the way out of the TAP.

use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddrV4};

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;

use super::packet::{IPPROTO_VRRP, VRRP_GROUP, VRRP_TTL};

/// TOS of every advert (IPTOS_PREC_INTERNETCONTROL, as keepalived).
pub const VRRP_TOS: u32 = 0xc0;
/// Largest datagram we read: an IPv4 header with options plus a VRRP message with 255
/// addresses and authentication is far below this.
pub const RECV_BUF: usize = 2048;

fn raw_vrrp_socket(interface: &str) -> io::Result<Socket> {
    let s = Socket::new(
        Domain::IPV4,
        Type::RAW,
        Some(Protocol::from(i32::from(IPPROTO_VRRP))),
    )?;
    s.bind_device(Some(interface.as_bytes()))?;
    s.set_nonblocking(true)?;
    Ok(s)
}

fn if_index(interface: &str) -> io::Result<u32> {
    nix::net::if_::if_nametoindex(interface).map_err(io::Error::from)
}

/// The receive socket of one interface, registered with the tokio reactor.
pub struct Receiver {
    fd: AsyncFd<Socket>,
}

impl Receiver {
    /// Opens the socket on `interface` and joins the VRRP group there.
    pub fn open(interface: &str) -> io::Result<Receiver> {
        let s = raw_vrrp_socket(interface)?;
        let index = if_index(interface)?;
        s.join_multicast_v4_n(&VRRP_GROUP, &InterfaceIndexOrAddress::Index(index))?;
        // Only the groups this socket joined, not every group joined in the namespace.
        s.set_multicast_all_v4(false)?;
        // `AsyncFd::new` is deprecated because a borrowed descriptor could be closed while
        // registered; ours is an owned `Socket` that lives exactly as long as the AsyncFd
        // (the I/O-safety condition), and the replacement, `register`, is `unsafe`.
        #[allow(deprecated)]
        let fd = AsyncFd::new(s)?;
        Ok(Receiver { fd })
    }

    /// Waits for the next datagram (IPv4 header included) and copies it into `buf`.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|inner| {
                let mut s: &Socket = inner.get_ref();
                s.read(buf)
            }) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }
}

/// The send socket of one instance.
pub struct Sender {
    socket: Socket,
}

impl Sender {
    /// Opens the socket on `interface` with `source` as the IP source address.
    pub fn open(interface: &str, source: Ipv4Addr) -> io::Result<Sender> {
        let s = raw_vrrp_socket(interface)?;
        s.set_tos_v4(VRRP_TOS)?;
        s.set_ttl_v4(u32::from(VRRP_TTL))?;
        s.set_multicast_ttl_v4(u32::from(VRRP_TTL))?;
        s.set_multicast_loop_v4(false)?;
        s.set_multicast_if_v4(&source)?;
        s.bind(&SockAddr::from(SocketAddrV4::new(source, 0)))?;
        Ok(Sender { socket: s })
    }

    /// Sends one VRRP message to `dst` (the group or a unicast peer). A full socket buffer
    /// is an error the caller counts: adverts are periodic, the next one follows.
    pub fn send(&self, message: &[u8], dst: Ipv4Addr) -> io::Result<()> {
        let n = self
            .socket
            .send_to(message, &SockAddr::from(SocketAddrV4::new(dst, 0)))?;
        if n == message.len() {
            Ok(())
        } else {
            Err(io::Error::new(io::ErrorKind::WriteZero, "short send"))
        }
    }
}
