//! The idle connections of one endpoint, shared by both HTTP/1.1 pools ([`super::pool`] and
//! [`super::lean`]): most recently used last, at most `max_idle`, none kept past
//! `idle_timeout`, and a reaper task that closes expired ones when no request comes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// A connection that can tell, without waiting, whether it can still carry a request.
pub(crate) trait IdleConnection: Send + 'static {
    fn still_usable(&self) -> bool;
}

#[derive(Debug)]
pub(crate) struct IdleList<C> {
    max_idle: usize,
    idle_timeout: Duration,
    connections: Mutex<Vec<(C, Instant)>>,
    /// Set once the reaper task runs.
    reaper_started: AtomicBool,
}

impl<C: IdleConnection> IdleList<C> {
    pub(crate) fn new(max_idle: usize, idle_timeout: Duration) -> IdleList<C> {
        IdleList {
            max_idle,
            idle_timeout,
            connections: Mutex::new(Vec::new()),
            reaper_started: AtomicBool::new(false),
        }
    }

    /// The most recently used connection that is still usable and not idle too long; the
    /// others met on the way are dropped (which closes them).
    pub(crate) fn checkout(&self) -> Option<C> {
        let mut connections = self.lock();
        while let Some((connection, since)) = connections.pop() {
            if since.elapsed() < self.idle_timeout && connection.still_usable() {
                return Some(connection);
            }
        }
        None
    }

    /// Keep `connection` for the next request. The oldest goes when the list is full: it is
    /// the likeliest to be closed by the endpoint.
    pub(crate) fn put(self: &Arc<Self>, connection: C) {
        let mut connections = self.lock();
        if connections.len() >= self.max_idle {
            connections.remove(0);
        }
        connections.push((connection, Instant::now()));
        drop(connections);
        if !self.reaper_started.swap(true, Ordering::Relaxed) {
            self.spawn_reaper();
        }
    }

    /// Every `idle_timeout` (at least every 100 ms) until the list is dropped, close the
    /// connections past their idle time or no longer usable, even when no request comes.
    fn spawn_reaper(self: &Arc<Self>) {
        let list: Weak<IdleList<C>> = Arc::downgrade(self);
        let period = self.idle_timeout.max(Duration::from_millis(100));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                let Some(list) = list.upgrade() else { return };
                let timeout = list.idle_timeout;
                list.lock().retain(|(connection, since)| {
                    since.elapsed() < timeout && connection.still_usable()
                });
            }
        });
    }

    fn lock(&self) -> MutexGuard<'_, Vec<(C, Instant)>> {
        // A panic while holding the lock cannot leave the list half-changed.
        self.connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
