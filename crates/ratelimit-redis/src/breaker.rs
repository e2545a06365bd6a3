//! A circuit breaker in front of Redis, lock-free so that it costs the hot path one atomic
//! load while closed.
//!
//! Closed: every call goes through. After `failure_threshold` consecutive failures it opens
//! and no request calls Redis at all. Requests never probe: a request's call would go to the
//! connection that just failed, fail again and keep the breaker open for another round. The
//! store's recovery task (`crate::recovery`) probes on a fresh connection instead and closes
//! the breaker when Redis answers.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// The breaker's state, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    /// No request calls Redis; no probe is in flight.
    Open,
    /// Still open for requests, while a probe on a fresh connection is in flight.
    HalfOpen,
}

#[derive(Debug)]
pub struct Breaker {
    consecutive_failures: AtomicU32,
    open: AtomicBool,
    probing: AtomicBool,
    failure_threshold: u32,
}

impl Breaker {
    pub fn new(failure_threshold: u32) -> Self {
        Breaker {
            consecutive_failures: AtomicU32::new(0),
            open: AtomicBool::new(false),
            probing: AtomicBool::new(false),
            failure_threshold: failure_threshold.max(1),
        }
    }

    /// True when requests may call Redis.
    pub fn allows_calls(&self) -> bool {
        !self.open.load(Ordering::Acquire)
    }

    pub fn record_success(&self) {
        self.consecutive_failures.store(0, Ordering::Release);
        self.open.store(false, Ordering::Release);
    }

    /// Counts a failure; true when this failure opened the breaker.
    pub fn record_failure(&self) -> bool {
        let failures = self
            .consecutive_failures
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        failures >= self.failure_threshold && !self.open.swap(true, Ordering::AcqRel)
    }

    /// Marks a probe as in flight (or not), for [`Breaker::state`].
    pub fn set_probing(&self, probing: bool) {
        self.probing.store(probing, Ordering::Release);
    }

    pub fn state(&self) -> BreakerState {
        if self.allows_calls() {
            BreakerState::Closed
        } else if self.probing.load(Ordering::Acquire) {
            BreakerState::HalfOpen
        } else {
            BreakerState::Open
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_only() {
        let breaker = Breaker::new(3);
        assert!(!breaker.record_failure());
        assert!(!breaker.record_failure());
        breaker.record_success();
        assert!(!breaker.record_failure());
        assert!(!breaker.record_failure());
        assert!(breaker.allows_calls());
        assert!(breaker.record_failure(), "the third failure opens it");
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(!breaker.allows_calls());
        assert!(
            !breaker.record_failure(),
            "only the failure that opened it reports the opening"
        );
    }

    #[test]
    fn a_probe_shows_as_half_open_and_success_closes() {
        let breaker = Breaker::new(1);
        assert!(breaker.record_failure());
        breaker.set_probing(true);
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        assert!(!breaker.allows_calls(), "requests still do not call");
        breaker.set_probing(false);
        assert_eq!(breaker.state(), BreakerState::Open);
        breaker.record_success();
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.allows_calls());
        assert!(breaker.record_failure(), "it can open again");
    }
}
