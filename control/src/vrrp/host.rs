//! The VRRP driver on a thread of its own, for a daemon that is not async.
//!
//! The daemon keeps tokio out of its own code; this module owns the runtime. A dedicated
//! current-thread runtime (thread `rvs-vrrp`) rather than a shared one, because VRRP is the
//! one timing-critical job of the control plane: an advert must leave every advert_int
//! (10 ms granularity with v3) whatever the health checkers or the control socket are
//! doing. The driver's [`VrrpEvent`]s are forwarded to a plain `std::sync::mpsc` channel
//! that a daemon thread drains.
//!
//! [`VrrpHost::shutdown`] runs the driver's shutdown (masters send priority 0 and give up
//! their addresses, stop scripts run), forwards the last events and waits for the thread;
//! the event receiver ends after them.

use std::io;
use std::sync::mpsc::{Receiver, channel};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::driver::{DriverOptions, StatusBoard, VrrpDriver, VrrpEvent};
use super::resolve::Resolved;

/// A running driver and the thread that drives it.
pub struct VrrpHost {
    board: StatusBoard,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl VrrpHost {
    /// Opens the sockets of every instance and starts the driver on a new thread. Fails
    /// as [`VrrpDriver::start`] does (missing interface, no raw-socket permission).
    pub fn start(
        resolved: Resolved,
        options: DriverOptions,
    ) -> io::Result<(VrrpHost, Receiver<VrrpEvent>)> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (driver, mut events) = VrrpDriver::start(runtime.handle(), resolved, options)?;
        let board = driver.board();
        let (tx, rx) = channel();
        let (stop, mut stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("rvs-vrrp".into())
            .spawn(move || {
                runtime.block_on(async move {
                    loop {
                        tokio::select! {
                            event = events.recv() => match event {
                                // A receiver that went away only loses the events.
                                Some(e) => { let _ = tx.send(e); }
                                None => return,
                            },
                            _ = &mut stopped => break,
                        }
                    }
                    driver.shutdown().await;
                    // The driver has ended and dropped its sender: forward what it said
                    // on the way out (the ownership releases), then the channel ends.
                    while let Some(e) = events.recv().await {
                        let _ = tx.send(e);
                    }
                });
            })?;
        Ok((
            VrrpHost {
                board,
                stop: Some(stop),
                thread: Some(thread),
            },
            rx,
        ))
    }

    /// A reader of every instance's state and counters.
    pub fn board(&self) -> StatusBoard {
        self.board.clone()
    }

    /// Stops every instance (see the module documentation) and waits for the thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            log::error!("the VRRP thread panicked");
        }
    }
}

impl Drop for VrrpHost {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn without_instances_it_starts_reports_nothing_and_shuts_down_promptly() {
        let (host, events) = VrrpHost::start(Resolved::default(), DriverOptions::default())
            .expect("no sockets to open");
        let board = host.board();
        assert!(board.status().is_empty());
        assert!(
            events.recv_timeout(Duration::from_millis(100)).is_err(),
            "no event without instances"
        );
        let started = Instant::now();
        host.shutdown();
        assert!(started.elapsed() < Duration::from_secs(5));
        // The channel has ended: nothing more will come.
        assert!(events.recv().is_err());
        assert!(board.counters().is_empty());
    }
}
