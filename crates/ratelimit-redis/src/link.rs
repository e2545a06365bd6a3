//! The path of every Redis call: the breaker, the deadline, the counters, and the recovery
//! task that brings decisions back to Redis after an outage.
//!
//! Recovery does not wait for a request to probe. When the breaker opens, one background task
//! makes a fresh connection and `PING`s it; on an answer it installs that connection and closes
//! the breaker, so the next request's decision is Redis's again. Between probes it waits for a
//! request the open breaker turned away (so a request after Redis returns brings it back within
//! one probe, a few milliseconds), or `cooldown` when no traffic comes. A breaker that opens
//! again within `cooldown` of a recovery (Redis up but failing calls) waits a full `cooldown`
//! before its first probe, so a flapping Redis costs requests a deadline at most once a cooldown.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use redis::{FromRedisValue, ScriptInvocation};
use tokio::sync::Notify;

use crate::breaker::{Breaker, BreakerState};
use crate::connection::Connector;
use crate::error::StoreError;
use crate::settings::RedisSettings;
use crate::verdict::StoreStats;

/// Probes requested by traffic start at most this often (a dead Redis sees one connection
/// attempt per this interval, however many requests arrive).
const PROBE_SPACING: Duration = Duration::from_millis(5);
/// Connecting takes longer than a call; a probe may take this long even when the call
/// deadline is shorter (it runs in the background: no request waits for it).
const PROBE_DEADLINE_FLOOR: Duration = Duration::from_millis(100);

/// Counters for metrics (monotonic).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub calls: AtomicU64,
    pub errors: AtomicU64,
    pub timeouts: AtomicU64,
    pub breaker_refusals: AtomicU64,
    pub degraded_decisions: AtomicU64,
    pub probes: AtomicU64,
    pub recoveries: AtomicU64,
}

impl Counters {
    pub fn snapshot(&self) -> StoreStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        StoreStats {
            calls: load(&self.calls),
            errors: load(&self.errors),
            timeouts: load(&self.timeouts),
            breaker_refusals: load(&self.breaker_refusals),
            degraded_decisions: load(&self.degraded_decisions),
            probes: load(&self.probes),
            recoveries: load(&self.recoveries),
        }
    }
}

pub(crate) struct Link {
    connector: Connector,
    breaker: Breaker,
    timeout: Duration,
    cooldown: Duration,
    /// A request the open breaker turned away asks for a probe now.
    wake: Arc<Notify>,
    /// True while a recovery task runs (at most one per store).
    recovering: AtomicBool,
    last_recovery: Mutex<Option<Instant>>,
    pub counters: Counters,
}

impl Link {
    pub fn new(settings: &RedisSettings) -> Result<Arc<Self>, StoreError> {
        Ok(Arc::new(Link {
            connector: Connector::new(&settings.target, settings.timeout)?,
            breaker: Breaker::new(settings.failure_threshold),
            timeout: settings.timeout,
            cooldown: settings.cooldown,
            wake: Arc::new(Notify::new()),
            recovering: AtomicBool::new(false),
            last_recovery: Mutex::new(None),
            counters: Counters::default(),
        }))
    }

    pub async fn warm_up(&self, deadline: Duration) -> Result<(), StoreError> {
        match tokio::time::timeout(deadline, self.connector.establish()).await {
            Ok(connection) => connection.map(|_| ()),
            Err(_) => Err(StoreError::Timeout(deadline)),
        }
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// One Redis call: refused outright while the breaker is open, bounded by the deadline,
    /// and reported to the breaker.
    pub async fn call<T: FromRedisValue>(
        self: &Arc<Self>,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        if !self.breaker.allows_calls() {
            self.counters
                .breaker_refusals
                .fetch_add(1, Ordering::Relaxed);
            self.wake.notify_one();
            return Err(StoreError::BreakerOpen);
        }
        self.counters.calls.fetch_add(1, Ordering::Relaxed);
        let attempt = async {
            let mut connection = self.connector.get().await?;
            Ok::<T, StoreError>(connection.invoke(invocation).await?)
        };
        let outcome = match tokio::time::timeout(self.timeout, attempt).await {
            Ok(outcome) => outcome,
            Err(_) => {
                self.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                Err(StoreError::Timeout(self.timeout))
            }
        };
        match &outcome {
            Ok(_) => self.breaker.record_success(),
            Err(error) => {
                if !matches!(error, StoreError::Timeout(_)) {
                    self.counters.errors.fetch_add(1, Ordering::Relaxed);
                }
                tracing::debug!(%error, "rate-limit store call failed");
                if self.breaker.record_failure() {
                    tracing::warn!(%error, "rate-limit store unavailable: breaker open, failure modes decide until Redis answers a probe");
                    self.start_recovery();
                }
            }
        }
        outcome
    }

    /// Starts the recovery task unless one runs. Outside a Tokio runtime (never in the
    /// gateway) nothing can run in the background and the breaker stays open.
    fn start_recovery(self: &Arc<Self>) {
        if self.recovering.swap(true, Ordering::AcqRel) {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(recover(Arc::downgrade(self)));
            }
            Err(_) => self.recovering.store(false, Ordering::Release),
        }
    }

    /// How long the first probe waits: nothing, unless the last recovery was less than a
    /// cooldown ago (then what is left of that cooldown).
    fn first_probe_delay(&self, now: Instant) -> Duration {
        let last = *self
            .last_recovery
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        last.map_or(Duration::ZERO, |at| {
            self.cooldown
                .saturating_sub(now.saturating_duration_since(at))
        })
    }

    /// One probe on a fresh connection; true when Redis answered and the breaker closed.
    async fn probe(&self) -> bool {
        self.counters.probes.fetch_add(1, Ordering::Relaxed);
        self.breaker.set_probing(true);
        let deadline = self.timeout.max(PROBE_DEADLINE_FLOOR);
        let outcome = tokio::time::timeout(deadline, self.connector.reconnect()).await;
        self.breaker.set_probing(false);
        match outcome {
            Ok(Ok(())) => {
                *self
                    .last_recovery
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
                self.counters.recoveries.fetch_add(1, Ordering::Relaxed);
                self.breaker.record_success();
                tracing::info!("rate-limit store answered a probe: decisions are Redis's again");
                true
            }
            Ok(Err(error)) => {
                tracing::debug!(%error, "rate-limit store probe failed");
                false
            }
            Err(_) => {
                tracing::debug!(?deadline, "rate-limit store probe timed out");
                false
            }
        }
    }
}

/// The recovery task: probes until Redis answers, then ends. It holds the store weakly between
/// probes and ends when the store is dropped.
async fn recover(link: Weak<Link>) {
    let Some(first) = link.upgrade() else { return };
    let delay = first.first_probe_delay(Instant::now());
    let cooldown = first.cooldown;
    let wake = Arc::clone(&first.wake);
    drop(first);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    loop {
        let Some(strong) = link.upgrade() else { return };
        if strong.probe().await {
            strong.recovering.store(false, Ordering::Release);
            // A failure that opened the breaker again while this probe ran saw the task
            // running and started none: carry on for it.
            if strong.breaker.allows_calls() || strong.recovering.swap(true, Ordering::AcqRel) {
                return;
            }
            drop(strong);
            tokio::time::sleep(cooldown).await;
            continue;
        }
        // A request turned away since the last probe asks for the next one now (the Notify
        // keeps its permit), else the periodic one after a cooldown.
        drop(strong);
        tokio::time::sleep(PROBE_SPACING).await;
        let _ = tokio::time::timeout(cooldown, wake.notified()).await;
    }
}
