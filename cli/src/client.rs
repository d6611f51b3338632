//! The control-socket client: connect, say hello, send requests, read replies, each with a
//! timeout, and turn every transport failure into an [`Exit`] with a clear sentence.

use std::io;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use proto::{ErrorKind, PROTOCOL_VERSION, Request, Response, read_frame, write_frame};

use crate::exit::Exit;

/// Default time to wait for one reply.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection to rvsd that has passed the `Hello` handshake.
pub struct Client {
    stream: UnixStream,
}

/// An I/O error's text without Rust's " (os error N)" suffix, as `strerror` prints it.
fn io_text(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text.get(..i).unwrap_or(&text).to_string(),
        None => text,
    }
}

impl Client {
    /// Connects to the socket at `path` and performs the handshake.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Client, Exit> {
        let shown = path.display().to_string();
        let stream = UnixStream::connect(path).map_err(|e| {
            if e.kind() == io::ErrorKind::PermissionDenied {
                Exit::not_root()
            } else {
                Exit::init_failed(&format!("cannot connect to rvsd: {}", io_text(&e)), &shown)
            }
        })?;
        let configure = stream
            .set_read_timeout(Some(timeout))
            .and_then(|()| stream.set_write_timeout(Some(timeout)));
        if let Err(e) = configure {
            return Err(Exit::init_failed(&io_text(&e), &shown));
        }
        let mut client = Client { stream };
        let hello = Request::Hello {
            version: PROTOCOL_VERSION,
        };
        match client.exchange(&hello) {
            Ok(Response::Hello { .. }) => Ok(client),
            Ok(Response::Error {
                kind: ErrorKind::PermissionDenied,
                ..
            }) => Err(Exit::not_root()),
            Ok(Response::Error { message, .. }) => Err(Exit::init_failed(&message, &shown)),
            Ok(other) => Err(Exit::init_failed(
                &format!("unexpected reply to hello: {other:?}"),
                &shown,
            )),
            Err(e) => Err(Exit::init_failed(&e, &shown)),
        }
    }

    fn exchange(&mut self, request: &Request) -> Result<Response, String> {
        write_frame(&mut self.stream, request).map_err(|e| e.to_string())?;
        read_frame(&mut self.stream).map_err(|e| match e {
            proto::FrameError::Io(io)
                if matches!(
                    io.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                "no reply from rvsd in time".to_string()
            }
            other => other.to_string(),
        })
    }

    /// Sends one request and returns the daemon's reply.
    pub fn call(&mut self, request: &Request) -> Result<Response, Exit> {
        self.exchange(request)
            .map_err(|e| Exit::refused(format!("rvsadm: lost the connection to rvsd: {e}")))
    }
}
