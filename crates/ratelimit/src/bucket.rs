//! Token bucket arithmetic, exactly as the seed writes it:
//! `tokens = min(capacity, tokens + elapsed × refillPerSecond)`; a request takes one token or
//! is refused. A new bucket starts full.

use std::time::Duration;

/// The shape of one bucket: how many tokens it holds and how fast it refills.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketParams {
    pub capacity: f64,
    pub refill_per_second: f64,
}

impl BucketParams {
    /// Seconds a drained bucket needs to fill completely (the `w` of `RateLimit-Policy`).
    pub fn full_refill_seconds(&self) -> f64 {
        self.capacity / self.refill_per_second
    }
}

/// The outcome of taking one token from one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketDecision {
    pub admitted: bool,
    /// Tokens left after this decision (fractional; headers show the floor).
    pub tokens: f64,
    /// Time until the bucket holds one whole token again; zero when it holds one now.
    pub until_next_token: Duration,
    /// Time until the bucket is full again (the `t` of the `RateLimit` field).
    pub until_full: Duration,
}

impl BucketDecision {
    /// Whole tokens left, as `RateLimit` reports them.
    pub fn remaining(&self) -> u64 {
        whole_tokens(self.tokens)
    }

    /// `Retry-After` for a refusal: whole seconds, rounded up, at least 1.
    pub fn retry_after_seconds(&self) -> u64 {
        ceil_seconds(self.until_next_token).max(1)
    }
}

/// Whole tokens in a (possibly fractional, never negative) token count.
pub fn whole_tokens(tokens: f64) -> u64 {
    if tokens.is_finite() && tokens > 0.0 {
        tokens.floor() as u64
    } else {
        0
    }
}

/// A duration in whole seconds, rounded up.
pub fn ceil_seconds(duration: Duration) -> u64 {
    let seconds = duration.as_secs();
    if duration.subsec_nanos() > 0 {
        seconds.saturating_add(1)
    } else {
        seconds
    }
}

/// Tokens after refilling `elapsed_seconds` (negative elapsed, from a clock step back, counts
/// as zero).
pub fn refill(params: BucketParams, tokens: f64, elapsed_seconds: f64) -> f64 {
    let elapsed = elapsed_seconds.max(0.0);
    (tokens + elapsed * params.refill_per_second).min(params.capacity)
}

/// Refills a bucket holding `tokens`, then takes `cost` tokens if it can. Returns the new token
/// count and the decision.
pub fn take(params: BucketParams, tokens: f64, elapsed_seconds: f64, cost: f64) -> BucketDecision {
    let available = refill(params, tokens, elapsed_seconds);
    let admitted = available >= cost;
    let left = if admitted {
        available - cost
    } else {
        available
    };
    decision(params, admitted, left)
}

/// Builds the decision for a bucket that holds `tokens` after the request was counted.
pub fn decision(params: BucketParams, admitted: bool, tokens: f64) -> BucketDecision {
    let rate = params.refill_per_second;
    let until_next_token = if tokens >= 1.0 {
        Duration::ZERO
    } else {
        seconds_duration((1.0 - tokens) / rate)
    };
    BucketDecision {
        admitted,
        tokens,
        until_next_token,
        until_full: seconds_duration((params.capacity - tokens).max(0.0) / rate),
    }
}

fn seconds_duration(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: BucketParams = BucketParams {
        capacity: 100.0,
        refill_per_second: 50.0,
    };

    #[test]
    fn takes_one_token_while_there_is_one() {
        let first = take(SEED, 100.0, 0.0, 1.0);
        assert!(first.admitted);
        assert_eq!(first.tokens, 99.0);
        assert_eq!(first.remaining(), 99);
        assert_eq!(first.until_next_token, Duration::ZERO);
        assert_eq!(first.until_full, Duration::from_millis(20));
    }

    #[test]
    fn refuses_below_one_token_and_keeps_the_fraction() {
        let refused = take(SEED, 0.5, 0.0, 1.0);
        assert!(!refused.admitted);
        assert_eq!(refused.tokens, 0.5);
        assert_eq!(refused.until_next_token, Duration::from_millis(10));
        assert_eq!(refused.retry_after_seconds(), 1);
    }

    #[test]
    fn refill_is_capped_at_capacity() {
        assert_eq!(refill(SEED, 10.0, 0.5), 35.0);
        assert_eq!(refill(SEED, 10.0, 60.0), 100.0);
        assert_eq!(refill(SEED, 10.0, -5.0), 10.0);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let slow = BucketParams {
            capacity: 1.0,
            refill_per_second: 0.4,
        };
        let refused = take(slow, 0.0, 0.0, 1.0);
        assert!(!refused.admitted);
        assert_eq!(refused.until_next_token, Duration::from_millis(2500));
        assert_eq!(refused.retry_after_seconds(), 3);
        assert_eq!(ceil_seconds(Duration::from_secs(2)), 2);
        assert_eq!(ceil_seconds(Duration::from_millis(2001)), 3);
    }

    #[test]
    fn whole_tokens_floors_and_clamps() {
        assert_eq!(whole_tokens(2.99), 2);
        assert_eq!(whole_tokens(-1.0), 0);
        assert_eq!(whole_tokens(f64::NAN), 0);
    }
}
