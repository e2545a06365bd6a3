//! Rapid reset once the gateway has accepted the stream (CVE-2023-44487): h2 caps streams
//! reset *before* they are accepted (`max_pending_accept_reset_streams`), but a client that
//! paces its HEADERS and RST_STREAM so that each stream is accepted first makes the gateway
//! route it, start the upstream request and then abandon it, with a free concurrency slot
//! at once. Each such stream costs an upstream request (often a new upstream connection,
//! since one abandoned mid-request cannot be reused).
//!
//! So each HTTP/2 connection counts its streams the client cancelled before their response
//! head, against those answered. Once at least [`MIN_CANCELLED`] were cancelled and they
//! outnumber the answered ones, the connection is closed: a browser that cancels some
//! requests never gets there, a connection that exists to cancel does quickly.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use http::Version;
use tokio::sync::Notify;

/// Cancelled streams a connection may have before the ratio is looked at.
pub(crate) const MIN_CANCELLED: u32 = 100;

#[derive(Debug, Default)]
pub(crate) struct StreamResets {
    cancelled: AtomicU32,
    answered: AtomicU32,
    exceeded: Notify,
}

impl StreamResets {
    fn answered(&self) {
        self.answered.fetch_add(1, Ordering::Relaxed);
    }

    fn cancelled(&self) {
        let cancelled = self
            .cancelled
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        if cancelled >= MIN_CANCELLED && cancelled > self.answered.load(Ordering::Relaxed) {
            self.exceeded.notify_one();
        }
    }

    /// Resolves once the connection cancelled too many streams (see the module docs).
    pub(crate) async fn exceeded(&self) {
        self.exceeded.notified().await;
    }
}

/// One HTTP/2 request on its way to a response head: dropped before [`Outcome::answered`],
/// the client cancelled it.
#[derive(Debug)]
pub(crate) struct Outcome {
    resets: Option<Arc<StreamResets>>,
}

impl Outcome {
    /// Watch a request; HTTP/1 requests are not counted (one at a time per connection).
    pub(crate) fn start(resets: &Arc<StreamResets>, version: Version) -> Outcome {
        Outcome {
            resets: (version == Version::HTTP_2).then(|| Arc::clone(resets)),
        }
    }

    pub(crate) fn answered(mut self) {
        if let Some(resets) = self.resets.take() {
            resets.answered();
        }
    }
}

impl Drop for Outcome {
    fn drop(&mut self) {
        if let Some(resets) = self.resets.take() {
            resets.cancelled();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn exceeded_once_cancellations_reach_the_minimum_and_outnumber_answers() {
        let resets = StreamResets::default();
        for _ in 0..MIN_CANCELLED {
            resets.answered();
        }
        for _ in 0..MIN_CANCELLED {
            resets.cancelled();
        }
        // As many cancelled as answered: a busy but honest client.
        let honest = tokio::time::timeout(std::time::Duration::from_millis(50), resets.exceeded());
        assert!(honest.await.is_err());
        resets.cancelled();
        tokio::time::timeout(std::time::Duration::from_secs(1), resets.exceeded())
            .await
            .expect("exceeded");
    }
}
