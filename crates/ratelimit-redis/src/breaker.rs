//! A circuit breaker in front of Redis, lock-free so that it costs the hot path two atomic
//! loads while closed.
//!
//! Closed: every call goes through. After `failure_threshold` consecutive failures it opens:
//! no call is made at all for `cooldown`. Then one caller (the first to win a compare-and-swap)
//! becomes the half-open probe while the others keep treating the breaker as open; the probe's
//! success closes the breaker, its failure opens it for another cooldown.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What the breaker lets a caller do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// The breaker is closed: call Redis.
    Call,
    /// The cool-down has passed and this caller is the one probe: call Redis and report.
    Probe,
    /// The breaker is open: do not call Redis.
    Refused,
}

/// The breaker's state, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    /// Cool-down over; the next call probes.
    HalfOpen,
}

const CLOSED: u64 = 0;

#[derive(Debug)]
pub struct Breaker {
    consecutive_failures: AtomicU32,
    /// `CLOSED`, or the time (ns since `epoch`) until which calls are refused.
    open_until: AtomicU64,
    failure_threshold: u32,
    cooldown: Duration,
    epoch: Instant,
}

impl Breaker {
    pub fn new(failure_threshold: u32, cooldown: Duration) -> Self {
        Breaker {
            consecutive_failures: AtomicU32::new(0),
            open_until: AtomicU64::new(CLOSED),
            failure_threshold: failure_threshold.max(1),
            cooldown,
            // Backdated so that no real time maps to the `CLOSED` sentinel.
            epoch: Instant::now()
                .checked_sub(Duration::from_secs(1))
                .unwrap_or_else(Instant::now),
        }
    }

    pub fn permit(&self, now: Instant) -> Permit {
        let open_until = self.open_until.load(Ordering::Acquire);
        if open_until == CLOSED {
            return Permit::Call;
        }
        let now = self.nanos(now);
        if now < open_until {
            return Permit::Refused;
        }
        // Whoever moves the deadline forward probes; everyone else waits for its verdict.
        let next = now.saturating_add(self.cooldown_nanos()).max(CLOSED + 1);
        match self.open_until.compare_exchange(
            open_until,
            next,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Permit::Probe,
            Err(_) => Permit::Refused,
        }
    }

    pub fn record_success(&self) {
        self.consecutive_failures.store(0, Ordering::Release);
        self.open_until.store(CLOSED, Ordering::Release);
    }

    pub fn record_failure(&self, now: Instant) {
        let failures = self
            .consecutive_failures
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        if failures >= self.failure_threshold {
            let until = self
                .nanos(now)
                .saturating_add(self.cooldown_nanos())
                .max(CLOSED + 1);
            self.open_until.store(until, Ordering::Release);
        }
    }

    pub fn state(&self, now: Instant) -> BreakerState {
        match self.open_until.load(Ordering::Acquire) {
            CLOSED => BreakerState::Closed,
            until if self.nanos(now) < until => BreakerState::Open,
            _ => BreakerState::HalfOpen,
        }
    }

    fn cooldown_nanos(&self) -> u64 {
        u64::try_from(self.cooldown.as_nanos()).unwrap_or(u64::MAX)
    }

    fn nanos(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOLDOWN: Duration = Duration::from_millis(500);

    #[test]
    fn opens_after_consecutive_failures_only() {
        let breaker = Breaker::new(3, COOLDOWN);
        let now = Instant::now();
        breaker.record_failure(now);
        breaker.record_failure(now);
        breaker.record_success();
        breaker.record_failure(now);
        breaker.record_failure(now);
        assert_eq!(breaker.permit(now), Permit::Call);
        breaker.record_failure(now);
        assert_eq!(breaker.state(now), BreakerState::Open);
        assert_eq!(breaker.permit(now), Permit::Refused);
    }

    #[test]
    fn one_probe_after_the_cooldown_and_recovery_on_success() {
        let breaker = Breaker::new(1, COOLDOWN);
        let now = Instant::now();
        breaker.record_failure(now);
        let later = now + COOLDOWN;
        assert_eq!(breaker.state(later), BreakerState::HalfOpen);
        assert_eq!(breaker.permit(later), Permit::Probe);
        assert_eq!(breaker.permit(later), Permit::Refused);
        breaker.record_success();
        assert_eq!(breaker.state(later), BreakerState::Closed);
        assert_eq!(breaker.permit(later), Permit::Call);
    }

    #[test]
    fn a_failed_probe_opens_for_another_cooldown() {
        let breaker = Breaker::new(1, COOLDOWN);
        let now = Instant::now();
        breaker.record_failure(now);
        let later = now + COOLDOWN;
        assert_eq!(breaker.permit(later), Permit::Probe);
        breaker.record_failure(later);
        assert_eq!(breaker.permit(later + COOLDOWN / 2), Permit::Refused);
        assert_eq!(breaker.permit(later + COOLDOWN), Permit::Probe);
    }
}
