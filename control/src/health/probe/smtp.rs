//! SMTP_CHECK: a 220 greeting, `HELO name` answered with 250, then `QUIT` and one more
//! line (any), as check_smtp.c's engine does.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::Outcome;
use super::conn::{connect_tcp, describe};
use crate::health::spec::ConnSpec;

/// keepalived's SMTP line buffer; a longer line is discarded and reading goes on.
const LINE_MAX: usize = 512;

/// The reply code of a line, keepalived's way: exactly three digits, then a space or the
/// end of the line.
pub fn reply_code(line: &[u8]) -> Option<u16> {
    let digits = line.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    match line.get(3) {
        None | Some(b' ') => {}
        Some(_) => return None,
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

async fn read_line(stream: &mut TcpStream, conn: &ConnSpec) -> Result<Vec<u8>, String> {
    let mut line = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    loop {
        let n = match timeout(conn.timeout, stream.read(&mut buf)).await {
            Err(_) => return Err("read timeout from server".into()),
            Ok(Err(e)) => return Err(format!("read failure from server: {}", describe(&e))),
            Ok(Ok(0)) => return Err("read failure from server: connection closed".into()),
            Ok(Ok(n)) => n,
        };
        line.extend_from_slice(buf.get(..n).unwrap_or_default());
        if let Some(pos) = line.iter().position(|&b| b == b'\n') {
            line.truncate(pos);
            return Ok(line);
        }
        if line.len() >= LINE_MAX - 1 {
            line.clear();
        }
    }
}

async fn write_line(stream: &mut TcpStream, conn: &ConnSpec, text: &str) -> Result<(), String> {
    match timeout(conn.timeout, stream.write_all(text.as_bytes())).await {
        Err(_) => Err("write timeout to server".into()),
        Ok(Err(e)) => Err(format!("write failure to server: {}", describe(&e))),
        Ok(Ok(())) => Ok(()),
    }
}

async fn converse(stream: &mut TcpStream, conn: &ConnSpec, helo: &str) -> Result<(), String> {
    let greeting = read_line(stream, conn).await?;
    if reply_code(&greeting) != Some(220) {
        return Err(format!(
            "bad greeting banner: {:?}",
            String::from_utf8_lossy(&greeting)
        ));
    }
    write_line(stream, conn, &format!("HELO {helo}\r\n")).await?;
    let reply = read_line(stream, conn).await?;
    if reply_code(&reply) != Some(250) {
        return Err(format!(
            "bad HELO response: {:?}",
            String::from_utf8_lossy(&reply)
        ));
    }
    write_line(stream, conn, "QUIT\r\n").await?;
    read_line(stream, conn).await?;
    Ok(())
}

pub async fn probe(conn: &ConnSpec, helo: &str) -> Outcome {
    let mut stream = match connect_tcp(conn).await {
        Ok(s) => s,
        Err(reason) => return Outcome::fail(reason),
    };
    match converse(&mut stream, conn, helo).await {
        Ok(()) => Outcome::pass(),
        Err(reason) => Outcome::fail(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_codes() {
        assert_eq!(reply_code(b"220 mail.example ESMTP\r"), Some(220));
        assert_eq!(reply_code(b"250"), Some(250));
        assert_eq!(reply_code(b"250-PIPELINING"), None);
        assert_eq!(reply_code(b"220\r"), None);
        assert_eq!(reply_code(b"22"), None);
        assert_eq!(reply_code(b"abc "), None);
    }
}
