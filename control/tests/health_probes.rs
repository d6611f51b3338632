//! Each checker kind against a real server on loopback: success, refusal, timeout and the
//! checker-specific failures, with the bytes on the wire compared to keepalived's.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use control::health::probe::{NetProber, Prober, WeightHint, http, udp};
use control::health::spec::{ConnSpec, ProbeSpec, UrlSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

fn conn(dst: SocketAddr, ms: u64) -> ConnSpec {
    ConnSpec {
        dst,
        bind: None,
        timeout: Duration::from_millis(ms),
    }
}

/// A port on which nothing listens (bound then released).
async fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    drop(l);
    a
}

type Captured = Arc<Mutex<Vec<Vec<u8>>>>;

/// An HTTP/1.0 server: reads the request head, records it, writes `response`, closes.
async fn http_server(response: Vec<u8>) -> (SocketAddr, Captured) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let seen: Captured = Arc::default();
    let seen2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            seen2.lock().unwrap().push(req);
            let _ = s.write_all(&response).await;
            let _ = s.shutdown().await;
        }
    });
    (addr, seen)
}

fn http_spec(dst: SocketAddr, status: Vec<(u16, u16)>, digest: Option<[u8; 16]>) -> ProbeSpec {
    ProbeSpec::Http {
        conn: conn(dst, 500),
        tls: false,
        sni: None,
        urls: vec![UrlSpec {
            path: "/health/check.html".into(),
            status,
            digest,
            host: format!("{}:{}", dst.ip(), dst.port()),
        }],
    }
}

const BODY_RESPONSE: &[u8] =
    b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 17\r\n\r\nhello keepalived\nTRAILING";

#[tokio::test]
async fn tcp_check_success_refused_and_bindto() {
    let p = NetProber::new();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let ok = p
        .probe(
            &ProbeSpec::Tcp {
                conn: conn(addr, 500),
            },
            0,
        )
        .await;
    assert!(ok.ok, "{ok:?}");

    // bindto: the server sees the configured source address.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let spec = ProbeSpec::Tcp {
        conn: ConnSpec {
            bind: Some("127.0.0.2:0".parse().unwrap()),
            ..conn(addr, 500)
        },
    };
    let (r, accepted) = tokio::join!(p.probe(&spec, 0), l.accept());
    assert!(r.ok);
    assert_eq!(
        accepted.unwrap().1.ip(),
        "127.0.0.2".parse::<std::net::IpAddr>().unwrap()
    );

    let refused = p
        .probe(
            &ProbeSpec::Tcp {
                conn: conn(closed_port().await, 500),
            },
            0,
        )
        .await;
    assert!(!refused.ok);
    assert!(refused.reason.contains("refused"), "{}", refused.reason);
}

#[tokio::test]
async fn tcp_check_times_out_when_syns_go_unanswered() {
    // A listener whose accept queue is full drops new SYNs, so connect() hangs: the
    // checker must give up after connect_timeout (all on loopback).
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let l = socket.listen(1).unwrap();
    let addr = l.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        if let Ok(Ok(c)) = tokio::time::timeout(Duration::from_millis(200), s.connect(addr)).await {
            fillers.push(c);
        }
    }
    let p = NetProber::new();
    let start = Instant::now();
    let r = p
        .probe(
            &ProbeSpec::Tcp {
                conn: conn(addr, 300),
            },
            0,
        )
        .await;
    assert!(!r.ok);
    assert!(r.reason.contains("timeout"), "{}", r.reason);
    assert!(
        start.elapsed() >= Duration::from_millis(290) && start.elapsed() < Duration::from_secs(2)
    );
    drop(l);
}

#[tokio::test]
async fn http_get_sends_keepalived_s_exact_request() {
    let (addr, seen) = http_server(BODY_RESPONSE.to_vec()).await;
    let r = NetProber::new()
        .probe(&http_spec(addr, vec![(200, 299)], None), 0)
        .await;
    assert!(r.ok, "{r:?}");
    let req = seen.lock().unwrap()[0].clone();
    // Captured from keepalived 2.2.7's HTTP_GET (see docs/health-checks.md).
    let want = format!(
        "GET /health/check.html HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:{}\r\n\r\n",
        addr.port()
    );
    assert_eq!(String::from_utf8(req).unwrap(), want);
}

#[tokio::test]
async fn http_get_status_codes_and_ranges() {
    let p = NetProber::new();
    let (addr, _) = http_server(b"HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n".to_vec()).await;
    let default = p.probe(&http_spec(addr, vec![(200, 299)], None), 0).await;
    assert!(!default.ok);
    assert!(default.reason.contains("got 302"), "{}", default.reason);
    assert!(
        p.probe(&http_spec(addr, vec![(200, 200), (300, 399)], None), 0)
            .await
            .ok
    );
    assert!(
        p.probe(&http_spec(addr, vec![(302, 302)], None), 0)
            .await
            .ok
    );
    assert!(
        !p.probe(&http_spec(addr, vec![(303, 399)], None), 0)
            .await
            .ok
    );
}

#[tokio::test]
async fn http_get_digest_is_genhash_s() {
    // md5("hello keepalived\n"), as `genhash -s IP -p PORT -u URL` prints it for this
    // server: the body is cut at Content-Length, the trailing bytes are not digested.
    let golden =
        control::health::resolve::parse_digest("e05003f6b7448aa2c2497bb671696f04").unwrap();
    let (addr, _) = http_server(BODY_RESPONSE.to_vec()).await;
    let p = NetProber::new();
    assert!(
        p.probe(&http_spec(addr, vec![(200, 299)], Some(golden)), 0)
            .await
            .ok
    );
    let wrong = p
        .probe(&http_spec(addr, vec![(200, 299)], Some([0u8; 16])), 0)
        .await;
    assert!(!wrong.ok);
    assert!(
        wrong.reason.contains("e05003f6b7448aa2c2497bb671696f04"),
        "{}",
        wrong.reason
    );

    // Where keepalived's genhash is installed, ask it too.
    let genhash = std::path::Path::new("/usr/bin/genhash");
    if genhash.exists() {
        let out = tokio::process::Command::new(genhash)
            .args([
                "-s",
                "127.0.0.1",
                "-p",
                &addr.port().to_string(),
                "-u",
                "/health/check.html",
            ])
            .output()
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.trim().lines().last(),
            Some("e05003f6b7448aa2c2497bb671696f04")
        );
    } else {
        eprintln!("genhash not installed: compared with the golden digest only");
    }
}

#[tokio::test]
async fn http_get_fails_on_refusal_silence_and_garbage() {
    let p = NetProber::new();
    let refused = p
        .probe(&http_spec(closed_port().await, vec![(200, 299)], None), 0)
        .await;
    assert!(!refused.ok);

    // Accepts and never answers: the read times out.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let (s, _) = l.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(s);
    });
    let start = Instant::now();
    let silent = p.probe(&http_spec(addr, vec![(200, 299)], None), 0).await;
    assert!(!silent.ok);
    assert!(silent.reason.contains("timeout"), "{}", silent.reason);
    assert!(start.elapsed() < Duration::from_secs(2));
    hold.abort();

    let (addr, _) = http_server(b"SSH-2.0-OpenSSH\r\n".to_vec()).await;
    let garbage = p.probe(&http_spec(addr, vec![(200, 299)], None), 0).await;
    assert_eq!(garbage.reason, "no data received");
}

#[tokio::test]
async fn ssl_get_over_tls_with_a_self_signed_certificate() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let certs = CertificateDer::pem_file_iter(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/health/cert.pem"
    ))
    .unwrap()
    .collect::<Result<Vec<_>, _>>()
    .unwrap();
    let key = PrivateKeyDer::from_pem_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/health/key.pem"
    ))
    .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let seen: Captured = Arc::default();
    let seen2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let (s, _) = l.accept().await.unwrap();
            let Ok(mut tls) = acceptor.accept(s).await else {
                continue;
            };
            let mut buf = vec![0u8; 1024];
            let n = tls.read(&mut buf).await.unwrap_or(0);
            seen2.lock().unwrap().push(buf[..n].to_vec());
            let _ = tls.write_all(BODY_RESPONSE).await;
            let _ = tls.shutdown().await;
        }
    });
    let golden =
        control::health::resolve::parse_digest("e05003f6b7448aa2c2497bb671696f04").unwrap();
    let mut spec = http_spec(addr, vec![(200, 299)], Some(golden));
    if let ProbeSpec::Http { tls, .. } = &mut spec {
        *tls = true;
    }
    let r = NetProber::new().probe(&spec, 0).await;
    assert!(r.ok, "{r:?}");
    assert!(seen.lock().unwrap()[0].starts_with(b"GET /health/check.html HTTP/1.0\r\n"));

    // A plain-text server is not a TLS server.
    let (plain, _) = http_server(BODY_RESPONSE.to_vec()).await;
    let mut spec = http_spec(plain, vec![(200, 299)], None);
    if let ProbeSpec::Http { tls, .. } = &mut spec {
        *tls = true;
    }
    let r = NetProber::new().probe(&spec, 0).await;
    assert!(!r.ok);
    assert!(r.reason.contains("TLS"), "{}", r.reason);
}

async fn udp_echo(reply: Option<&'static [u8]>) -> SocketAddr {
    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = s.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        loop {
            let Ok((n, from)) = s.recv_from(&mut buf).await else {
                return;
            };
            match reply {
                Some(r) => drop(s.send_to(r, from).await),
                None if n == usize::MAX => {}
                None => {} // silent
            }
        }
    });
    addr
}

fn udp_spec(dst: SocketAddr, require: Option<&[u8]>) -> ProbeSpec {
    ProbeSpec::Udp {
        conn: conn(dst, 300),
        payload: control::health::resolve::default_udp_payload(),
        require_reply: require.map(<[u8]>::to_vec),
    }
}

#[tokio::test]
async fn udp_check_reply_silence_and_port_unreachable() {
    let p = NetProber::new();
    let echo = udp_echo(Some(b"PONG v1")).await;
    assert!(p.probe(&udp_spec(echo, Some(b"")), 0).await.ok);
    assert!(p.probe(&udp_spec(echo, Some(b"PONG")), 0).await.ok);
    let mismatch = p.probe(&udp_spec(echo, Some(b"PING")), 0).await;
    assert_eq!(mismatch.reason, "reply data mismatch");

    let silent = udp_echo(None).await;
    assert!(
        p.probe(&udp_spec(silent, None), 0).await.ok,
        "silence without require_reply is success"
    );
    assert_eq!(
        p.probe(&udp_spec(silent, Some(b"")), 0).await.reason,
        "no reply"
    );

    // Nothing bound: the kernel answers ICMP port unreachable -> ECONNREFUSED.
    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let closed = s.local_addr().unwrap();
    drop(s);
    let r = p.probe(&udp_spec(closed, None), 0).await;
    assert!(!r.ok);
    assert!(r.reason.contains("unreachable"), "{}", r.reason);
    assert!(udp::reply_matches(b"PONG", b"PONG"));
}

/// A DNS responder answering with `rcode`; with `decoy` it first sends an answer with a
/// wrong ID, which the checker must ignore.
async fn dns_server(rcode: u8, decoy: bool) -> SocketAddr {
    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = s.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        loop {
            let Ok((n, from)) = s.recv_from(&mut buf).await else {
                return;
            };
            let mut resp = buf[..n].to_vec();
            resp[2] |= 0x80; // QR
            resp[3] = (resp[3] & 0xf0) | rcode;
            if decoy {
                let mut other = resp.clone();
                other[0] ^= 0xff;
                other[3] &= 0xf0;
                let _ = s.send_to(&other, from).await;
            }
            let _ = s.send_to(&resp, from).await;
        }
    });
    addr
}

#[tokio::test]
async fn dns_check_rcode_and_ids() {
    let p = NetProber::new();
    let spec = |dst| ProbeSpec::Dns {
        conn: conn(dst, 300),
        qtype: 6,
        name: ".".into(),
    };
    assert!(p.probe(&spec(dns_server(0, false).await), 0).await.ok);
    let nx = p.probe(&spec(dns_server(3, false).await), 0).await;
    assert!(!nx.ok);
    assert!(nx.reason.contains("rcode = 3"), "{}", nx.reason);
    // The decoy (wrong ID, NOERROR) is ignored; the real answer is NXDOMAIN.
    assert!(!p.probe(&spec(dns_server(3, true).await), 0).await.ok);
    assert!(p.probe(&spec(dns_server(0, true).await), 0).await.ok);
    let silent = udp_echo(None).await;
    assert_eq!(
        p.probe(&spec(silent), 0).await.reason,
        "read timeout from socket"
    );
}

async fn smtp_server(greeting: &'static str, helo_reply: &'static str) -> (SocketAddr, Captured) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let seen: Captured = Arc::default();
    let seen2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let _ = s.write_all(greeting.as_bytes()).await;
            let mut all = Vec::new();
            let mut buf = [0u8; 256];
            let mut lines = 0;
            while lines < 2 {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        all.extend_from_slice(&buf[..n]);
                        let now = all.iter().filter(|&&b| b == b'\n').count();
                        if now > lines {
                            lines = now;
                            let reply = if lines == 1 {
                                helo_reply
                            } else {
                                "221 bye\r\n"
                            };
                            let _ = s.write_all(reply.as_bytes()).await;
                        }
                    }
                }
            }
            seen2.lock().unwrap().push(all);
        }
    });
    (addr, seen)
}

#[tokio::test]
async fn smtp_check_dialogue() {
    let p = NetProber::new();
    let spec = |dst| ProbeSpec::Smtp {
        conn: conn(dst, 500),
        helo: control::health::resolve::DEFAULT_HELO.into(),
    };
    let (addr, seen) = smtp_server("220 mx.test ESMTP\r\n", "250 mx.test\r\n").await;
    let r = p.probe(&spec(addr), 0).await;
    assert!(r.ok, "{r:?}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        seen.lock().unwrap()[0],
        b"HELO smtpchecker.keepalived.org\r\nQUIT\r\n"
    );

    let (addr, _) = smtp_server("554 go away\r\n", "250 x\r\n").await;
    assert!(
        p.probe(&spec(addr), 0)
            .await
            .reason
            .contains("bad greeting")
    );
    let (addr, _) = smtp_server("220 mx\r\n", "501 who are you\r\n").await;
    assert!(p.probe(&spec(addr), 0).await.reason.contains("bad HELO"));
}

#[tokio::test]
async fn misc_check_exit_codes_dynamic_weight_and_timeout() {
    let p = NetProber::new();
    let misc = |cmd: &str, ms: u64, dynamic: bool| ProbeSpec::Misc {
        command: cmd.into(),
        timeout: Duration::from_millis(ms),
        dynamic,
    };
    assert!(p.probe(&misc("exit 0", 2000, false), 0).await.ok);
    assert_eq!(
        p.probe(&misc("exit 1", 2000, true), 0).await.reason,
        "exited with status 1"
    );
    assert!(!p.probe(&misc("exit 7", 2000, false), 0).await.ok);
    let w = p.probe(&misc("exit 7", 2000, true), 0).await;
    assert_eq!((w.ok, w.weight), (true, Some(WeightHint::Set(5))));
    assert_eq!(
        p.probe(&misc("true", 2000, true), 0).await.weight,
        Some(WeightHint::Restore)
    );

    let start = Instant::now();
    let slow = p.probe(&misc("sleep 30", 300, false), 0).await;
    assert!(!slow.ok);
    assert!(slow.reason.contains("timed out"), "{}", slow.reason);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn response_reader_is_reexported_for_the_director() {
    let mut r = http::ResponseReader::new();
    r.feed(b"HTTP/1.0 204 No Content\r\n\r\n").unwrap();
    assert_eq!(r.finish().status, Some(204));
}
