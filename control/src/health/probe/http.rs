//! HTTP_GET and SSL_GET: one url per attempt, judged by status code and body digest.
//!
//! Written by hand rather than with an HTTP client crate because the check must put on the
//! wire exactly the bytes keepalived sends (an HTTP client adds its own headers and
//! negotiates keep-alive) and must digest the body exactly as keepalived and genhash do:
//! read until the server closes, split the head at the first CRLFCRLF, and MD5 the body
//! bytes, cut at Content-Length when the server sent one.

use md5::{Digest, Md5};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;

use super::Outcome;
use super::conn::{connect_tcp, describe};
use super::tls;
use crate::health::spec::{ConnSpec, UrlSpec};

/// Largest response head accepted; beyond it the check fails instead of buffering more.
pub const MAX_HEAD: usize = 64 * 1024;

/// The request keepalived's HTTP_GET sends (check_http.c `request_template`):
/// `GET <path> HTTP/1.0`, `User-Agent: KeepAliveClient`, `Host: <host>`, blank line.
pub fn request(url: &UrlSpec) -> String {
    format!(
        "GET {} HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: {}\r\n\r\n",
        url.path, url.host
    )
}

/// What was read of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// `None` when no complete head (CRLFCRLF) arrived.
    pub status: Option<u16>,
    /// MD5 of the body (cut at Content-Length).
    pub digest: [u8; 16],
    /// Body bytes received.
    pub body_len: u64,
}

/// Incremental response reader: feed it what the socket gives, then finish at EOF.
pub struct ResponseReader {
    head: Vec<u8>,
    head_done: bool,
    status: Option<u16>,
    content_len: Option<u64>,
    digested: u64,
    received: u64,
    md5: Md5,
}

impl Default for ResponseReader {
    fn default() -> Self {
        ResponseReader::new()
    }
}

impl ResponseReader {
    pub fn new() -> ResponseReader {
        ResponseReader {
            head: Vec::new(),
            head_done: false,
            status: None,
            content_len: None,
            digested: 0,
            received: 0,
            md5: Md5::new(),
        }
    }

    /// Takes the next bytes of the stream.
    pub fn feed(&mut self, data: &[u8]) -> Result<(), String> {
        if self.head_done {
            self.body(data);
            return Ok(());
        }
        // Search from a few bytes back so a CRLFCRLF split across reads is found.
        let from = self.head.len().saturating_sub(3);
        self.head.extend_from_slice(data);
        match find_crlfcrlf(self.head.get(from..).unwrap_or_default()) {
            Some(pos) => {
                let split = from + pos + 4;
                let rest = self.head.split_off(split.min(self.head.len()));
                self.status = status_code(&self.head);
                self.content_len = content_length(&self.head);
                self.head_done = true;
                self.body(&rest);
                Ok(())
            }
            None if self.head.len() > MAX_HEAD => {
                Err(format!("response head longer than {MAX_HEAD} bytes"))
            }
            None => Ok(()),
        }
    }

    fn body(&mut self, data: &[u8]) {
        self.received += data.len() as u64;
        let take = match self.content_len {
            Some(len) => usize::try_from(len.saturating_sub(self.digested))
                .unwrap_or(usize::MAX)
                .min(data.len()),
            None => data.len(),
        };
        let part = data.get(..take).unwrap_or(data);
        self.md5.update(part);
        self.digested += part.len() as u64;
    }

    /// The stream ended.
    pub fn finish(self) -> Response {
        Response {
            status: if self.head_done {
                self.status.or(Some(0))
            } else {
                None
            },
            digest: self.md5.finalize().into(),
            body_len: self.received,
        }
    }
}

fn find_crlfcrlf(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// The status code of the first line (`HTTP/1.1 200 OK`), keepalived's way: the three
/// digits after the first space, followed by a space or the end of the line.
pub fn status_code(head: &[u8]) -> Option<u16> {
    let line_end = head
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(head.len());
    let line = head.get(..line_end)?;
    let sp = line.iter().position(|&b| b == b' ')?;
    let rest = line.get(sp + 1..)?;
    let digits = rest.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    match rest.get(3) {
        None | Some(b' ') => {}
        Some(_) => return None,
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The value of a Content-Length header, if present and numeric.
pub fn content_length(head: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(head);
    text.split("\r\n").skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if name.trim().eq_ignore_ascii_case("content-length") {
            value.trim().parse().ok()
        } else {
            None
        }
    })
}

/// Lowercase hex of a digest, as genhash prints it.
pub fn hex(digest: &[u8; 16]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Judges a response against the url's expectations.
pub fn judge(url: &UrlSpec, resp: &Response) -> Outcome {
    let Some(status) = resp.status else {
        return Outcome::fail("no data received");
    };
    if !url.accepts(status) {
        return Outcome::fail(format!(
            "HTTP status code error: got {status} for {}",
            url.path
        ));
    }
    if let Some(want) = url.digest
        && want != resp.digest
    {
        return Outcome::fail(format!(
            "MD5 digest error: got {} for {}",
            hex(&resp.digest),
            url.path
        ));
    }
    Outcome::pass()
}

/// Sends the request and reads the response until the server closes, each read bounded
/// by the connect timeout (keepalived re-arms its read timer on every read).
pub async fn exchange<S>(stream: &mut S, url: &UrlSpec, conn: &ConnSpec) -> Result<Response, String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let req = request(url);
    match timeout(conn.timeout, stream.write_all(req.as_bytes())).await {
        Err(_) => return Err("timeout sending request".into()),
        Ok(Err(e)) => return Err(format!("cannot send request: {}", describe(&e))),
        Ok(Ok(())) => {}
    }
    let _ = timeout(conn.timeout, stream.flush()).await;
    let mut reader = ResponseReader::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match timeout(conn.timeout, stream.read(&mut buf)).await {
            Err(_) => return Err("timeout reading response".into()),
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => reader.feed(buf.get(..n).unwrap_or_default())?,
            // A TLS peer that closes without close_notify: the response is complete.
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Ok(Err(e)) => return Err(format!("read error: {}", describe(&e))),
        }
    }
    Ok(reader.finish())
}

/// HTTP_GET of one url.
pub async fn probe_plain(conn: &ConnSpec, url: &UrlSpec) -> Outcome {
    let mut stream = match connect_tcp(conn).await {
        Ok(s) => s,
        Err(reason) => return Outcome::fail(reason),
    };
    match exchange(&mut stream, url, conn).await {
        Ok(resp) => judge(url, &resp),
        Err(reason) => Outcome::fail(reason),
    }
}

/// SSL_GET of one url: the same exchange inside TLS, certificate not verified.
pub async fn probe_tls(
    conn: &ConnSpec,
    sni: Option<&str>,
    url: &UrlSpec,
    config: Arc<rustls::ClientConfig>,
) -> Outcome {
    let tcp = match connect_tcp(conn).await {
        Ok(s) => s,
        Err(reason) => return Outcome::fail(reason),
    };
    let mut stream = match timeout(conn.timeout, tls::handshake(tcp, conn.dst, sni, config)).await {
        Err(_) => return Outcome::fail("timeout in TLS handshake"),
        Ok(Err(reason)) => return Outcome::fail(reason),
        Ok(Ok(s)) => s,
    };
    match exchange(&mut stream, url, conn).await {
        Ok(resp) => judge(url, &resp),
        Err(reason) => Outcome::fail(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn url(status: Vec<(u16, u16)>, digest: Option<[u8; 16]>) -> UrlSpec {
        UrlSpec {
            path: "/index.html".into(),
            status,
            digest,
            host: "10.0.1.1:8080".into(),
        }
    }

    #[test]
    fn request_bytes_are_keepalived_s() {
        assert_eq!(
            request(&url(vec![(200, 299)], None)),
            "GET /index.html HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 10.0.1.1:8080\r\n\r\n"
        );
    }

    #[test]
    fn status_line_parsing() {
        assert_eq!(status_code(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(status_code(b"HTTP/1.0 404\r\n"), Some(404));
        assert_eq!(status_code(b"HTTP/1.0 2000 OK\r\n"), None);
        assert_eq!(status_code(b"HTTP/1.0 20\r\n"), None);
        assert_eq!(status_code(b"garbage"), None);
        assert_eq!(status_code(b""), None);
    }

    #[test]
    fn digest_is_md5_of_body_cut_at_content_length() {
        let mut r = ResponseReader::new();
        r.feed(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n").unwrap();
        r.feed(b"\r").unwrap();
        r.feed(b"\nhello, trailing junk").unwrap();
        let resp = r.finish();
        assert_eq!(resp.status, Some(200));
        assert_eq!(hex(&resp.digest), "5d41402abc4b2a76b9719d911017c592"); // md5("hello")
        assert_eq!(resp.body_len, 20);
        let mut r = ResponseReader::new();
        r.feed(b"HTTP/1.0 200 OK\r\n\r\nhello").unwrap();
        assert_eq!(hex(&r.finish().digest), "5d41402abc4b2a76b9719d911017c592");
    }

    #[test]
    fn judging() {
        let ok = Response {
            status: Some(204),
            digest: [0; 16],
            body_len: 0,
        };
        assert!(judge(&url(vec![(200, 299)], None), &ok).ok);
        assert!(!judge(&url(vec![(200, 200), (300, 399)], None), &ok).ok);
        assert!(judge(&url(vec![(200, 200), (204, 204)], None), &ok).ok);
        let bad_digest = judge(&url(vec![(200, 299)], Some([1; 16])), &ok);
        assert!(!bad_digest.ok);
        assert!(bad_digest.reason.contains("MD5 digest error"));
        let none = Response {
            status: None,
            digest: [0; 16],
            body_len: 0,
        };
        assert_eq!(
            judge(&url(vec![(200, 299)], None), &none).reason,
            "no data received"
        );
    }

    #[test]
    fn head_without_end_is_bounded() {
        let mut r = ResponseReader::new();
        let chunk = vec![b'a'; 4096];
        let mut failed = false;
        for _ in 0..20 {
            if r.feed(&chunk).is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed);
    }

    proptest! {
        #[test]
        fn reader_never_panics_and_split_does_not_matter(data in proptest::collection::vec(any::<u8>(), 0..600), cut in 0usize..600) {
            let mut whole = ResponseReader::new();
            let a = whole.feed(&data);
            let mut split = ResponseReader::new();
            let cut = cut.min(data.len());
            let b = split.feed(&data[..cut]).and_then(|_| split.feed(&data[cut..]));
            prop_assert_eq!(a.is_ok(), b.is_ok());
            prop_assert_eq!(whole.finish(), split.finish());
        }

        #[test]
        fn status_and_length_parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = status_code(&data);
            let _ = content_length(&data);
        }
    }
}
