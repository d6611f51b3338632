//! A control socket server on a temporary path with a recording dataplane, and a blocking
//! client speaking the protocol as `rvsadm` does.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;

use control::director::{Director, DirectorHandle};
use control::socket::{ControlServer, Limits, SocketError, SocketOptions};
use proto::{Request, Response};

#[path = "../director_support/mod.rs"]
pub mod director_support;

pub use director_support::*;

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub server: Option<ControlServer>,
    pub handle: Option<DirectorHandle>,
    pub thread: Option<JoinHandle<Director>>,
    pub dp: Dataplane,
}

/// Options for a socket under a fresh temporary directory (traversable by everyone, so a
/// client running as another user can reach it).
pub fn options(dir: &Path) -> SocketOptions {
    SocketOptions {
        path: dir.join("run/rvs/rvsd.sock"),
        group: None,
        max_connections: 8,
        limits: Limits::default(),
    }
}

pub fn temp_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

impl Harness {
    pub fn start(tweak: impl FnOnce(&mut SocketOptions)) -> Harness {
        Self::try_start(temp_dir(), tweak).unwrap()
    }

    pub fn try_start(
        dir: tempfile::TempDir,
        tweak: impl FnOnce(&mut SocketOptions),
    ) -> Result<Harness, SocketError> {
        let mut opts = options(dir.path());
        tweak(&mut opts);
        let dp = Dataplane::default();
        let mut director = Director::new(base_config(), Box::new(RecordingApplier(dp.clone())));
        director.start().unwrap();
        let (handle, thread) = control::director::spawn(director).unwrap();
        let path = opts.path.clone();
        let server = ControlServer::start(opts, handle.clone())?;
        Ok(Harness {
            dir,
            path,
            server: Some(server),
            handle: Some(handle),
            thread: Some(thread),
            dp,
        })
    }

    pub fn client(&self) -> Client {
        Client::connect(&self.path).unwrap()
    }

    /// Runs `f` on the director thread.
    pub fn inspect<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Director) -> R + Send + 'static,
    ) -> R {
        self.handle.as_ref().unwrap().run_blocking(f).unwrap()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown();
        }
        self.handle.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub struct Client(pub UnixStream);

impl Client {
    pub fn connect(path: &Path) -> io::Result<Client> {
        let s = UnixStream::connect(path)?;
        s.set_read_timeout(Some(Duration::from_secs(20)))?;
        s.set_write_timeout(Some(Duration::from_secs(20)))?;
        Ok(Client(s))
    }

    pub fn call(&mut self, req: &Request) -> Response {
        proto::write_frame(&mut self.0, req).unwrap();
        self.reply()
    }

    pub fn reply(&mut self) -> Response {
        proto::read_frame(&mut self.0).unwrap()
    }

    pub fn hello(&mut self) {
        match self.call(&Request::Hello {
            version: proto::PROTOCOL_VERSION,
        }) {
            Response::Hello { version, .. } => assert_eq!(version, proto::PROTOCOL_VERSION),
            other => panic!("{other:?}"),
        }
    }

    pub fn raw(&mut self, bytes: &[u8]) {
        self.0.write_all(bytes).unwrap();
    }

    /// True when the server closed the connection (EOF) without sending anything more.
    pub fn at_eof(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.0.read(&mut b), Ok(0))
    }
}
