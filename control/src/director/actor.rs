//! The director's single owner: one thread that holds the [`Director`] and serves commands
//! from a channel, so that requests from every control connection, the health checkers and
//! VRRP are applied one at a time, in arrival order, without a lock around the configuration.
//!
//! A plain thread (not a tokio task) because a change does blocking work: the dataplane
//! hand-over may wait for the workers and persisting calls `fsync`. The socket server's
//! async tasks send over a bounded tokio channel (so a burst of requests waits instead of
//! growing memory) and await the reply on a oneshot; other threads use the blocking
//! variants. One request can delay another only by its own processing time: reading a slow
//! client's bytes happens in that client's task, never here.

use std::io;
use std::thread::JoinHandle;

use proto::{Request, Response};
use tokio::sync::{mpsc, oneshot};

use super::refusal::Refusal;
use super::running::{Caller, Director};

/// Commands queued for the director thread before senders wait.
const QUEUE: usize = 256;

type Job = Box<dyn FnOnce(&mut Director) + Send>;

/// A cloneable way to reach the director thread. The thread ends when every handle is gone.
#[derive(Clone)]
pub struct DirectorHandle {
    tx: mpsc::Sender<Job>,
}

/// Starts the director thread; joining it gives the [`Director`] back.
pub fn spawn(mut director: Director) -> io::Result<(DirectorHandle, JoinHandle<Director>)> {
    let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
    let thread = std::thread::Builder::new()
        .name("rvs-director".into())
        .spawn(move || {
            while let Some(job) = rx.blocking_recv() {
                job(&mut director);
            }
            director
        })?;
    Ok((DirectorHandle { tx }, thread))
}

fn gone() -> Response {
    Refusal::internal("the director is not running").into_response()
}

impl DirectorHandle {
    /// Runs `f` on the director thread and returns its result (`None` if the thread is gone).
    pub async fn run<R, F>(&self, f: F) -> Option<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Director) -> R + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |d| {
            let _ = reply.send(f(d));
        });
        self.tx.send(job).await.ok()?;
        answer.await.ok()
    }

    /// [`DirectorHandle::run`] from a thread outside any async runtime.
    pub fn run_blocking<R, F>(&self, f: F) -> Option<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Director) -> R + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |d| {
            let _ = reply.send(f(d));
        });
        self.tx.blocking_send(job).ok()?;
        answer.blocking_recv().ok()
    }

    /// Answers one protocol request.
    pub async fn request(&self, req: Request, caller: Caller) -> Response {
        self.run(move |d| d.handle(req, &caller))
            .await
            .unwrap_or_else(gone)
    }

    /// [`DirectorHandle::request`] from a thread outside any async runtime.
    pub fn request_blocking(&self, req: Request, caller: Caller) -> Response {
        self.run_blocking(move |d| d.handle(req, &caller))
            .unwrap_or_else(gone)
    }
}
