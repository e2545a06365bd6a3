//! The write timeout (`writeTimeoutMs`): a connection whose client stopped reading its
//! responses is closed instead of holding an upstream response (and its connection) forever.
//!
//! Response bodies report to their connection's [`WriteStall`]: a body that handed hyper a
//! frame waits on the client until hyper asks for the next one (hyper asks only once the
//! frame is written: HTTP/1 after the socket took it, HTTP/2 once the client's flow-control
//! window had room). Time spent waiting on the upstream does not count. [`watch`] runs beside
//! the connection and returns when responses have waited `writeTimeoutMs` with no progress
//! at all on the connection; the caller then drops the connection.
//!
//! Per connection, not per stream: on HTTP/2 one stream with a closed window while others
//! progress is not closed; it holds at most one body frame and `H2_MAX_SEND_BUFFER` of the
//! stream's queue, and streams per connection are bounded by `max_concurrent_streams`.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

#[derive(Debug)]
pub(crate) struct WriteStall {
    /// Response bodies that handed out a frame hyper has not finished writing.
    waiting: AtomicUsize,
    /// Milliseconds after `epoch` of the last progress (or of the start of a wait).
    last_progress_ms: AtomicU64,
    epoch: Instant,
    /// Wakes [`watch`] when the first body starts waiting.
    started_waiting: Notify,
}

impl Default for WriteStall {
    fn default() -> Self {
        WriteStall {
            waiting: AtomicUsize::new(0),
            last_progress_ms: AtomicU64::new(0),
            epoch: Instant::now(),
            started_waiting: Notify::new(),
        }
    }
}

impl WriteStall {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// A body handed hyper a frame and now waits for the client to take it.
    pub(crate) fn handed_out(&self) {
        if self.waiting.fetch_add(1, Ordering::AcqRel) == 0 {
            self.last_progress_ms
                .store(self.now_ms(), Ordering::Release);
            self.started_waiting.notify_one();
        }
    }

    /// The frame a body handed out was written (`progressed`), or the body was dropped
    /// while one was out (not progress: a cancelled stream).
    pub(crate) fn taken(&self, progressed: bool) {
        if progressed {
            self.last_progress_ms
                .store(self.now_ms(), Ordering::Release);
        }
        self.waiting.fetch_sub(1, Ordering::AcqRel);
    }

    /// Since when responses have waited on the client with no progress, if they do.
    fn stalled_since(&self) -> Option<Instant> {
        if self.waiting.load(Ordering::Acquire) == 0 {
            return None;
        }
        let since = self.last_progress_ms.load(Ordering::Acquire);
        Some(self.epoch + Duration::from_millis(since))
    }
}

/// Returns once responses on this connection have waited `timeout` on a client that took
/// none of their bytes; never otherwise. Sleeps while nothing waits on the client.
pub(crate) async fn watch(stall: &WriteStall, timeout: Duration) {
    loop {
        let Some(since) = stall.stalled_since() else {
            // `notify_one` keeps a permit when nobody waits, so a wait that starts between
            // the check above and this await is not missed.
            stall.started_waiting.notified().await;
            continue;
        };
        let deadline = since + timeout;
        if Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep_until(deadline).await;
    }
}

/// A response body's side of its connection's [`WriteStall`]: whether it has a frame out.
#[derive(Debug)]
pub(crate) struct FrameOut {
    stall: Arc<WriteStall>,
    out: bool,
}

impl FrameOut {
    pub(crate) fn new(stall: Arc<WriteStall>) -> FrameOut {
        FrameOut { stall, out: false }
    }

    /// hyper asks for the next frame: the one handed out before was written.
    pub(crate) fn polled(&mut self) {
        if std::mem::take(&mut self.out) {
            self.stall.taken(true);
        }
    }

    /// A data frame goes to hyper; the last one (`end`) is not waited on, since hyper
    /// drops the body after it.
    pub(crate) fn handed_out(&mut self, end: bool) {
        if !end && !self.out {
            self.out = true;
            self.stall.handed_out();
        }
    }
}

impl Drop for FrameOut {
    fn drop(&mut self) {
        if self.out {
            self.stall.taken(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn watch_fires_only_after_a_wait_without_progress() {
        let stall = Arc::new(WriteStall::default());
        let timeout = Duration::from_millis(100);
        let mut body = FrameOut::new(Arc::clone(&stall));
        // Nothing waits: the watch sleeps.
        assert!(tokio::time::timeout(timeout * 3, watch(&stall, timeout))
            .await
            .is_err());
        body.handed_out(false);
        let first = stall.stalled_since().expect("waiting");
        // Progress restarts the clock; a new wait starts from it.
        tokio::time::sleep(Duration::from_millis(20)).await;
        body.polled();
        body.handed_out(false);
        let second = stall.stalled_since().expect("waiting");
        assert!(second > first);
        watch(&stall, timeout).await;
        assert!(second.elapsed() >= timeout);
        // A dropped body stops the wait.
        drop(body);
        assert!(stall.stalled_since().is_none());
    }

    #[test]
    fn the_last_frame_is_not_waited_on() {
        let stall = Arc::new(WriteStall::default());
        let mut body = FrameOut::new(Arc::clone(&stall));
        body.handed_out(true);
        assert!(stall.stalled_since().is_none());
    }
}
