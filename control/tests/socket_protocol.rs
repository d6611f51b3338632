//! The control socket over a real Unix socket: handshake, framing limits, slow and idle
//! clients, concurrency, the connection cap, and the socket file's life cycle.

mod socket_support;

use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use control::socket::SocketError;
use proptest::prelude::*;
use proto::{ErrorKind, MAX_FRAME, Request, Response};
use socket_support::*;

fn error_of(resp: Response) -> (ErrorKind, String) {
    match resp {
        Response::Error { kind, message } => (kind, message),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn handshake_then_changes_and_listings() {
    let h = Harness::start(|_| {});
    let meta = fs::metadata(&h.path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let parent = fs::metadata(h.path.parent().unwrap()).unwrap();
    assert_eq!(parent.permissions().mode() & 0o777, 0o755);

    let mut c = h.client();
    match c.call(&Request::Hello { version: 1 }) {
        Response::Hello { version, daemon } => {
            assert_eq!(version, 1);
            assert!(daemon.starts_with("rvsd "), "{daemon}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.call(&add_service(tcp("10.1.0.100:80"), "wrr")),
        Response::Ok
    );
    assert_eq!(
        c.call(&add_dest(tcp("10.1.0.100:80"), "10.1.0.10:80", 2)),
        Response::Ok
    );
    let (kind, message) = error_of(c.call(&add_service(tcp("10.1.0.100:80"), "wrr")));
    assert_eq!(
        (kind, message.as_str()),
        (ErrorKind::ServiceExists, "Service already exists")
    );
    match c.call(&Request::ListServices { key: None }) {
        Response::Services { services } => {
            assert_eq!(services.len(), 1);
            assert_eq!(services[0].dests[0].spec.weight, 2);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        h.dp.last().0.services.len(),
        1,
        "the change reached the dataplane"
    );
}

#[test]
fn a_version_mismatch_is_answered_and_hello_can_be_retried() {
    let h = Harness::start(|_| {});
    let mut c = h.client();
    let (kind, message) = error_of(c.call(&Request::Hello { version: 99 }));
    assert_eq!(kind, ErrorKind::Version);
    assert!(message.contains("99"), "{message}");
    let (kind, _) = error_of(c.call(&Request::Info));
    assert_eq!(kind, ErrorKind::Version, "still not greeted");
    c.hello();
    assert!(matches!(c.call(&Request::Info), Response::Info { .. }));
}

#[test]
fn nothing_is_done_before_hello() {
    let h = Harness::start(|_| {});
    let mut c = h.client();
    let (kind, message) = error_of(c.call(&add_service(tcp("10.1.0.100:80"), "rr")));
    assert_eq!(kind, ErrorKind::Version);
    assert_eq!(message, "the first request on a connection must be hello");
    assert!(h.inspect(|d| d.configured().services.is_empty()));
}

#[test]
fn garbage_gets_bad_request_and_the_connection_stays_usable() {
    let h = Harness::start(|_| {});
    let mut c = h.client();
    c.raw(&[0, 0, 0, 3, b'x', b'y', b'z']);
    assert_eq!(error_of(c.reply()).0, ErrorKind::BadRequest);
    let body = br#"{"op":"format_disk"}"#;
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(body);
    c.raw(&frame);
    let (kind, message) = error_of(c.reply());
    assert_eq!(kind, ErrorKind::BadRequest);
    assert!(message.contains("format_disk"), "{message}");
    c.hello();
    assert_eq!(
        c.call(&add_service(tcp("10.1.0.100:80"), "rr")),
        Response::Ok
    );
}

#[test]
fn an_oversized_frame_is_refused_before_its_body_is_read() {
    let h = Harness::start(|_| {});
    let mut c = h.client();
    c.hello();
    // Announce one byte more than allowed, and send none of it.
    c.raw(&((MAX_FRAME + 1) as u32).to_be_bytes());
    let (kind, message) = error_of(c.reply());
    assert_eq!(kind, ErrorKind::BadRequest);
    assert!(message.contains("exceeds the limit"), "{message}");
    assert!(
        c.at_eof(),
        "the framing is lost, so the connection is closed"
    );
}

#[test]
fn a_slow_client_does_not_block_another() {
    // A frame timeout far longer than the test, so the slow client is still pending while
    // the other one is served.
    let h = Harness::start(|o| o.limits.frame_timeout = Duration::from_secs(600));
    let mut slow = h.client();
    slow.hello();
    let req = proto::encode(&add_service(tcp("10.1.0.9:80"), "rr")).unwrap();
    slow.raw(&req[..2]); // half a length prefix, then nothing

    let mut other = h.client();
    other.hello();
    assert_eq!(
        other.call(&add_service(tcp("10.1.0.100:80"), "rr")),
        Response::Ok
    );
    match other.call(&Request::ListServices { key: None }) {
        Response::Services { services } => assert_eq!(services.len(), 1),
        r => panic!("{r:?}"),
    }
    // The slow client was neither answered nor dropped meanwhile...
    slow.0.set_nonblocking(true).unwrap();
    let mut b = [0u8; 1];
    let pending = std::io::Read::read(&mut slow.0, &mut b);
    assert_eq!(pending.unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    slow.0.set_nonblocking(false).unwrap();
    // ... and its request completes when the rest arrives.
    slow.raw(&req[2..]);
    assert_eq!(slow.reply(), Response::Ok);
    assert_eq!(h.inspect(|d| d.configured().services.len()), 2);
}

#[test]
fn a_half_sent_frame_is_cut_off_at_the_frame_timeout() {
    let h = Harness::start(|o| o.limits.frame_timeout = Duration::from_millis(200));
    let mut c = h.client();
    c.hello();
    c.raw(&[0, 0]);
    let (kind, message) = error_of(c.reply());
    assert_eq!(kind, ErrorKind::BadRequest);
    assert!(message.contains("did not arrive"), "{message}");
    assert!(c.at_eof());
}

#[test]
fn an_idle_connection_is_closed() {
    let h = Harness::start(|o| o.limits.idle_timeout = Duration::from_millis(200));
    let mut c = h.client();
    assert!(c.at_eof(), "closed without a word after the idle timeout");
}

#[test]
fn concurrent_clients_are_all_served_one_change_at_a_time() {
    let h = Harness::start(|_| {});
    let path = h.path.clone();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut c = Client::connect(&path).unwrap();
                c.hello();
                for i in 0..5 {
                    let key = tcp(&format!("10.{t}.0.{i}:80"));
                    assert_eq!(c.call(&add_service(key, "rr")), Response::Ok);
                    assert_eq!(c.call(&add_dest(key, "10.200.0.1:80", 1)), Response::Ok);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let (services, generation) = h.inspect(|d| (d.configured().services.len(), d.generation()));
    assert_eq!(services, 40);
    assert_eq!(generation, 1 + 80, "every change applied exactly once");
    assert_eq!(h.dp.count(), 81);
}

#[test]
fn connections_beyond_the_cap_are_turned_away_with_a_reason() {
    let h = Harness::start(|o| o.max_connections = 2);
    let mut a = h.client();
    a.hello();
    let mut b = h.client();
    b.hello();
    let mut c = h.client();
    let (kind, message) = error_of(c.reply());
    assert_eq!(kind, ErrorKind::Internal);
    assert_eq!(message, "too many control connections (limit 2); try again");
    drop(a);
    // The slot frees once the server notices the closed connection.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut d = h.client();
        match d.call(&Request::Hello { version: 1 }) {
            Response::Hello { .. } => break,
            other => assert!(Instant::now() < deadline, "never admitted: {other:?}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    b.hello();
}

#[test]
fn a_stale_socket_is_replaced_but_a_live_one_or_a_file_is_not() {
    let dir = temp_dir();
    let path = options(dir.path()).path;
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    drop(UnixListener::bind(&path).unwrap()); // a dead daemon's socket file
    let h = Harness::try_start(dir, |_| {}).unwrap();
    h.client().hello();

    let again = Harness::try_start(temp_dir(), |o| o.path = h.path.clone());
    assert!(
        matches!(again, Err(SocketError::InUse(_))),
        "{:?}",
        again.err()
    );
    h.client().hello();

    let dir = temp_dir();
    let file = dir.path().join("rvsd.sock");
    fs::write(&file, b"precious").unwrap();
    let r = Harness::try_start(temp_dir(), |o| o.path = file.clone());
    assert!(matches!(r, Err(SocketError::NotASocket(_))));
    assert_eq!(fs::read(&file).unwrap(), b"precious");
}

#[test]
fn shutdown_closes_connections_and_removes_the_socket() {
    let mut h = Harness::start(|_| {});
    let mut c = h.client();
    c.hello();
    h.server.take().unwrap().shutdown();
    assert!(!h.path.exists());
    assert!(c.at_eof());
    assert!(Client::connect(&h.path).is_err());
}

#[test]
fn an_unknown_control_group_is_an_error() {
    let r = Harness::try_start(temp_dir(), |o| o.group = Some("no-such-group-rvs".into()));
    assert!(matches!(r, Err(SocketError::UnknownGroup(g)) if g == "no-such-group-rvs"));
}

#[test]
fn a_peer_that_may_not_make_requests_cannot_send_large_frames() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut director = control::director::Director::new(
        base_config(),
        Box::new(RecordingApplier(Dataplane::default())),
    );
    director.start().unwrap();
    let (handle, _thread) = control::director::spawn(director).unwrap();
    let stranger = control::director::Caller {
        uid: 1000,
        gid: 1000,
        pid: None,
        authorized: false,
    };
    let replies = rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut client, mut server) = tokio::io::duplex(1 << 16);
        let mut input = proto::encode(&Request::Hello { version: 1 }).unwrap();
        input.extend_from_slice(&5000u32.to_be_bytes());
        client.write_all(&input).await.unwrap();
        control::socket::connection::serve(
            &mut server,
            stranger,
            &handle,
            &control::socket::Limits::default(),
        )
        .await;
        drop(server);
        let mut out = Vec::new();
        client.read_to_end(&mut out).await.unwrap();
        let mut rest = &out[..];
        let mut replies: Vec<Response> = Vec::new();
        while !rest.is_empty() {
            replies.push(proto::read_frame(&mut rest).unwrap());
        }
        replies
    });
    assert!(matches!(replies[0], Response::Hello { .. }));
    let (kind, message) = error_of(replies[1].clone());
    assert_eq!(kind, ErrorKind::BadRequest);
    assert_eq!(
        message,
        "a frame of 5000 bytes exceeds the limit of 4096 bytes"
    );
    assert_eq!(replies.len(), 2);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever bytes a client sends, the connection handler answers with well-formed
    /// frames and ends; nothing panics and nothing reaches the configuration before hello.
    #[test]
    fn any_byte_stream_is_survived(input in proptest::collection::vec(any::<u8>(), 0..300)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dp = Dataplane::default();
        let mut director = control::director::Director::new(base_config(), Box::new(RecordingApplier(dp)));
        director.start().unwrap();
        let (handle, thread) = control::director::spawn(director).unwrap();
        let limits = control::socket::Limits {
            max_frame: 64,
            frame_timeout: Duration::from_millis(50),
            idle_timeout: Duration::from_millis(50),
        };
        let output = rt.block_on(async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut client, mut server) = tokio::io::duplex(1 << 16);
            client.write_all(&input).await.unwrap();
            control::socket::connection::serve(&mut server, root(), &handle, &limits).await;
            drop(server);
            let mut out = Vec::new();
            client.read_to_end(&mut out).await.unwrap();
            out
        });
        let mut rest = &output[..];
        while !rest.is_empty() {
            let r: Result<Response, _> = proto::read_frame(&mut rest);
            prop_assert!(r.is_ok(), "the server only writes whole, well-formed frames: {:?}", r);
        }
        drop(handle);
        let d = thread.join().unwrap();
        prop_assert!(d.configured().services.is_empty());
    }
}
