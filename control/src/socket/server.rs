//! The accept loop and its lifetime.

use std::os::unix::net::UnixListener as StdUnixListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use proto::{ErrorKind, Response};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinSet;

use super::peer::AccessPolicy;
use super::{Limits, SocketError, SocketOptions, connection, listener};
use crate::director::{Caller, DirectorHandle};

/// A running control socket server. Dropping it (or [`ControlServer::shutdown`]) stops
/// accepting, closes every connection and removes the socket file.
pub struct ControlServer {
    path: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ControlServer {
    /// Binds the socket and starts serving on a thread of its own.
    pub fn start(opts: SocketOptions, director: DirectorHandle) -> Result<Self, SocketError> {
        let policy = AccessPolicy::resolve(opts.group.as_deref())?;
        let std_listener = listener::bind(&opts.path, policy.gid())?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(SocketError::Thread)?;
        let (stop, stopped) = oneshot::channel();
        let server = Server {
            policy,
            director,
            limits: opts.limits,
            permits: Arc::new(Semaphore::new(opts.max_connections)),
            max_connections: opts.max_connections,
        };
        let thread = std::thread::Builder::new()
            .name("rvs-control".into())
            .spawn(move || runtime.block_on(server.run(std_listener, stopped)))
            .map_err(SocketError::Thread)?;
        log::info!("control socket listening on {}", opts.path.display());
        Ok(ControlServer {
            path: opts.path,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops the server and waits for its thread.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.stop_now();
    }
}

struct Server {
    policy: AccessPolicy,
    director: DirectorHandle,
    limits: Limits,
    permits: Arc<Semaphore>,
    max_connections: usize,
}

impl Server {
    async fn run(self, std_listener: StdUnixListener, mut stopped: oneshot::Receiver<()>) {
        let listener = match UnixListener::from_std(std_listener) {
            Ok(l) => l,
            Err(e) => {
                log::error!("control socket: {e}");
                return;
            }
        };
        let this = Arc::new(self);
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => this.admit(stream, &mut connections),
                    Err(e) => {
                        // Out of descriptors and the like: back off instead of spinning.
                        log::warn!("control socket: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
            }
        }
        connections.shutdown().await;
    }

    /// Starts serving a new connection, or turns it away when the cap is reached.
    fn admit(self: &Arc<Self>, stream: UnixStream, connections: &mut JoinSet<()>) {
        let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
            // A fresh socket's send buffer is empty: this small write cannot block.
            let busy = Response::Error {
                kind: ErrorKind::Internal,
                message: format!(
                    "too many control connections (limit {}); try again",
                    self.max_connections
                ),
            };
            if let Ok(bytes) = proto::encode(&busy) {
                let _ = stream.try_write(&bytes);
            }
            return;
        };
        let this = Arc::clone(self);
        connections.spawn(async move {
            let _permit = permit;
            let mut stream = stream;
            let Some(caller) = this.identify(&stream).await else {
                return;
            };
            connection::serve(&mut stream, caller, &this.director, &this.limits).await;
        });
    }

    /// The peer's credentials and whether they may use the socket.
    async fn identify(&self, stream: &UnixStream) -> Option<Caller> {
        let cred = match stream.peer_cred() {
            Ok(c) => c,
            Err(e) => {
                log::warn!("control socket: no peer credentials: {e}");
                return None;
            }
        };
        let (uid, gid) = (cred.uid(), cred.gid());
        let policy = self.policy;
        let authorized = tokio::task::spawn_blocking(move || policy.allows(uid, gid))
            .await
            .unwrap_or(false);
        if !authorized {
            log::info!(
                "control socket: uid {uid} gid {gid} (pid {:?}) is not allowed to make requests",
                cred.pid()
            );
        }
        Some(Caller {
            uid,
            gid,
            pid: cred.pid(),
            authorized,
        })
    }
}
