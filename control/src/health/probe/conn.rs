//! Opening the check's socket: honour `bindto`, bound the connect by `connect_timeout`, and
//! name the failure as keepalived does.

use std::io;

use tokio::net::{TcpSocket, TcpStream, UdpSocket};
use tokio::time::timeout;

use crate::health::spec::ConnSpec;

/// A short, stable description of a socket error for the status record.
pub fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::ConnectionReset => "connection reset".into(),
        io::ErrorKind::TimedOut => "timed out".into(),
        io::ErrorKind::AddrNotAvailable => format!("cannot bind source address ({e})"),
        _ => e.to_string(),
    }
}

/// Connects a TCP socket from `bind` (if any) to `dst` within the connect timeout.
pub async fn connect_tcp(conn: &ConnSpec) -> Result<TcpStream, String> {
    let socket = if conn.dst.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| format!("cannot create socket: {}", describe(&e)))?;
    if let Some(bind) = conn.bind {
        socket
            .bind(bind)
            .map_err(|e| format!("cannot bind to {bind}: {}", describe(&e)))?;
    }
    match timeout(conn.timeout, socket.connect(conn.dst)).await {
        Err(_) => Err(format!("connect timeout after {:?}", conn.timeout)),
        Ok(Err(e)) => Err(format!("connect failed: {}", describe(&e))),
        Ok(Ok(stream)) => Ok(stream),
    }
}

/// A UDP socket bound to `bind` (or any address of the right family) and connected to
/// `dst`, so that an ICMP port unreachable comes back as ECONNREFUSED.
pub async fn connect_udp(conn: &ConnSpec) -> Result<UdpSocket, String> {
    let local = conn.bind.unwrap_or_else(|| {
        if conn.dst.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        }
    });
    let socket = UdpSocket::bind(local)
        .await
        .map_err(|e| format!("cannot bind to {local}: {}", describe(&e)))?;
    socket
        .connect(conn.dst)
        .await
        .map_err(|e| format!("connect failed: {}", describe(&e)))?;
    Ok(socket)
}
