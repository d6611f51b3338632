//! Gratuitous ARP on a kernel interface.
//!
//! In production the daemon turns the driver's [`super::driver::VrrpEvent::Garp`] into a
//! request to the dataplane, which owns the DPDK port and sends the frames itself. This
//! module is the same job for a plain kernel interface (tests, or a director without a
//! dataplane port): [`GarpSender`] is the seam, [`PacketGarp`] sends through an AF_PACKET
//! socket.
//!
//! Written by hand because no maintained crate sends one ARP frame without pulling in a
//! whole packet framework; the frame is 42 bytes (padded to the Ethernet minimum). The
//! link address comes from getifaddrs' AF_PACKET entry for the interface, which gives the
//! interface index and MAC in a `sockaddr_ll` without any `unsafe` here.

use std::io;
use std::net::Ipv4Addr;

use nix::sys::socket::{
    AddressFamily, LinkAddr, MsgFlags, SockFlag, SockType, SockaddrLike, sendto, socket,
};
use std::os::fd::{AsRawFd, OwnedFd};

/// Sends gratuitous ARPs for addresses on an interface.
pub trait GarpSender: Send + Sync {
    /// Sends `count` gratuitous ARP requests for each of `vips` on `interface`.
    fn send(&self, interface: &str, vips: &[Ipv4Addr], count: u32) -> io::Result<()>;
}

/// Length of an Ethernet frame carrying ARP, before padding.
const ARP_FRAME: usize = 42;
/// Minimum Ethernet frame without FCS.
const ETH_MIN: usize = 60;

/// A gratuitous ARP request as keepalived sends it: broadcast, sender and target IP both
/// the VIP, sender MAC the interface's, target MAC zero.
pub fn garp_frame(mac: [u8; 6], vip: Ipv4Addr) -> [u8; ETH_MIN] {
    let mut f = [0u8; ETH_MIN];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    // Hardware Ethernet, protocol IPv4, lengths 6 and 4, operation request.
    f[14..22].copy_from_slice(&[0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]);
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&vip.octets());
    f[38..42].copy_from_slice(&vip.octets());
    const { assert!(ARP_FRAME <= ETH_MIN) };
    f
}

/// Sends gratuitous ARPs through an AF_PACKET socket.
pub struct PacketGarp {
    socket: OwnedFd,
}

impl PacketGarp {
    /// Opens a send-only packet socket (protocol 0: it receives nothing). Needs
    /// CAP_NET_RAW.
    pub fn open() -> io::Result<PacketGarp> {
        let socket = socket(
            AddressFamily::Packet,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .map_err(io::Error::from)?;
        Ok(PacketGarp { socket })
    }
}

/// The AF_PACKET address (index and MAC) of a kernel interface.
pub fn link_addr(interface: &str) -> io::Result<LinkAddr> {
    nix::ifaddrs::getifaddrs()
        .map_err(io::Error::from)?
        .filter(|a| a.interface_name == interface)
        .find_map(|a| a.address.as_ref().and_then(|s| s.as_link_addr().copied()))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("no link address for interface {interface}"),
            )
        })
}

impl GarpSender for PacketGarp {
    fn send(&self, interface: &str, vips: &[Ipv4Addr], count: u32) -> io::Result<()> {
        let link = link_addr(interface)?;
        let mac = link.addr().unwrap_or([0; 6]);
        for _ in 0..count {
            for vip in vips {
                let frame = garp_frame(mac, *vip);
                let n = sendto(
                    self.socket.as_raw_fd(),
                    &frame,
                    &link as &dyn SockaddrLike,
                    MsgFlags::empty(),
                )
                .map_err(io::Error::from)?;
                if n != frame.len() {
                    return Err(io::Error::new(io::ErrorKind::WriteZero, "short send"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_layout_is_a_broadcast_arp_request_for_the_vip() {
        let mac = [0x02, 0, 0, 0, 0, 0x01];
        let f = garp_frame(mac, Ipv4Addr::new(10, 0, 0, 100));
        assert_eq!(&f[0..6], &[0xff; 6]);
        assert_eq!(&f[6..12], &mac);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[14..22], &[0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!(&f[22..28], &mac);
        assert_eq!(&f[28..32], &[10, 0, 0, 100]);
        assert_eq!(&f[32..38], &[0; 6]);
        assert_eq!(&f[38..42], &[10, 0, 0, 100]);
        assert!(f[42..].iter().all(|b| *b == 0));
    }
}
