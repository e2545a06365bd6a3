//! The in-process bucket store: sharded, bounded, with idle buckets dropped.
//!
//! Time is passed in (`now: Instant`), so tests drive it deterministically and the hot path
//! reads the clock once per request for all of its limits.

use std::time::{Duration, Instant};

use crate::bucket::{self, BucketDecision, BucketParams};
use crate::shards::{default_shard_count, Expiring, ShardedMap};

/// The default bound on buckets held by one store.
pub const DEFAULT_MAX_BUCKETS: usize = 1_000_000;

struct BucketEntry {
    tokens: f64,
    /// Store time (ns since the store's epoch) of the last update.
    updated: u64,
    /// Store time from which the bucket is full again: from then on it is indistinguishable
    /// from a bucket that was never created, so it can be dropped.
    full_at: u64,
}

impl Expiring for BucketEntry {
    fn expires_at(&self) -> u64 {
        self.full_at
    }
}

/// Token buckets held in this process.
pub struct LocalBuckets {
    buckets: ShardedMap<BucketEntry>,
    epoch: Instant,
}

/// One limit of a multi-limit decision: its bucket key and its shape.
#[derive(Debug, Clone, Copy)]
pub struct BucketRequest<'a> {
    pub key: &'a str,
    pub params: BucketParams,
}

impl LocalBuckets {
    /// A store of at most (about) `max_buckets` buckets, with [`default_shard_count`] shards.
    pub fn new(max_buckets: usize) -> Self {
        Self::with_shards(max_buckets, default_shard_count())
    }

    /// As [`LocalBuckets::new`] with an explicit shard count (rounded up to a power of two).
    pub fn with_shards(max_buckets: usize, shard_count: usize) -> Self {
        LocalBuckets {
            buckets: ShardedMap::new(max_buckets, shard_count),
            // Backdated so that an `Instant` taken just before construction still maps to a
            // positive store time.
            epoch: Instant::now()
                .checked_sub(Duration::from_secs(1))
                .unwrap_or_else(Instant::now),
        }
    }

    /// Takes one token from the bucket `key`.
    pub fn take(&self, key: &str, params: BucketParams, now: Instant) -> BucketDecision {
        self.take_tokens(key, params, 1.0, now)
    }

    /// Takes `cost` tokens from the bucket `key` if it holds that many.
    pub fn take_tokens(
        &self,
        key: &str,
        params: BucketParams,
        cost: f64,
        now: Instant,
    ) -> BucketDecision {
        let now = self.store_time(now);
        self.buckets.update(
            key,
            now,
            || BucketEntry {
                tokens: params.capacity,
                updated: now,
                full_at: now,
            },
            |entry| {
                let elapsed = nanos_to_seconds(now.saturating_sub(entry.updated));
                let decision = bucket::take(params, entry.tokens, elapsed, cost);
                entry.tokens = decision.tokens;
                entry.updated = now.max(entry.updated);
                entry.full_at = entry
                    .updated
                    .saturating_add(duration_nanos(decision.until_full));
                decision
            },
        )
    }

    /// Gives `amount` tokens back to the bucket `key` (capped at capacity); a bucket that was
    /// dropped meanwhile is full already, so nothing is recreated.
    pub fn refund(&self, key: &str, params: BucketParams, amount: f64, now: Instant) {
        let now = self.store_time(now);
        self.buckets.update_existing(key, |entry| {
            let elapsed = nanos_to_seconds(now.saturating_sub(entry.updated));
            let tokens = bucket::refill(params, entry.tokens, elapsed) + amount;
            entry.tokens = tokens.min(params.capacity);
            entry.updated = now.max(entry.updated);
            let until_full = bucket::decision(params, true, entry.tokens).until_full;
            entry.full_at = entry.updated.saturating_add(duration_nanos(until_full));
        });
    }

    /// Takes one token from every bucket in `requests`, in order; all must admit.
    ///
    /// On the first refusal the tokens already taken for this request are given back and the
    /// later limits are not consulted, so a refused request consumes nothing from any limit
    /// (a client hammering one exhausted limit does not also drain its other limits). The
    /// decisions made are left in `decisions` (cleared first; the refusing limit's decision is
    /// the last one). Returns the index of the refusing limit, or `None` when all admitted.
    pub fn take_all(
        &self,
        requests: &[BucketRequest<'_>],
        now: Instant,
        decisions: &mut Vec<BucketDecision>,
    ) -> Option<usize> {
        decisions.clear();
        for (index, request) in requests.iter().enumerate() {
            let decision = self.take(request.key, request.params, now);
            decisions.push(decision);
            if !decision.admitted {
                for earlier in &requests[..index] {
                    self.refund(earlier.key, earlier.params, 1.0, now);
                }
                return Some(index);
            }
        }
        None
    }

    /// Drops every bucket that has refilled completely by `now` (call it from a periodic
    /// background task; full shards also do it on their own). Returns how many were dropped.
    pub fn evict_idle(&self, now: Instant) -> usize {
        self.buckets.evict_expired(self.store_time(now))
    }

    /// Buckets held now (locks every shard in turn: for metrics and tests).
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most buckets this store ever holds.
    pub fn max_buckets(&self) -> usize {
        self.buckets.capacity()
    }

    pub fn shard_count(&self) -> usize {
        self.buckets.shard_count()
    }

    fn store_time(&self, now: Instant) -> u64 {
        duration_nanos(now.saturating_duration_since(self.epoch))
    }
}

fn duration_nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

fn nanos_to_seconds(nanos: u64) -> f64 {
    nanos as f64 / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN_PER_SECOND: BucketParams = BucketParams {
        capacity: 5.0,
        refill_per_second: 10.0,
    };

    #[test]
    fn a_new_bucket_starts_full_and_drains() {
        let store = LocalBuckets::new(100);
        let now = Instant::now();
        for expected_left in (0..5).rev() {
            let decision = store.take("k", TEN_PER_SECOND, now);
            assert!(decision.admitted);
            assert_eq!(decision.remaining(), expected_left);
        }
        let refused = store.take("k", TEN_PER_SECOND, now);
        assert!(!refused.admitted);
        assert_eq!(refused.until_next_token, Duration::from_millis(100));
        assert_eq!(refused.retry_after_seconds(), 1);
    }

    #[test]
    fn tokens_come_back_with_time() {
        let store = LocalBuckets::new(100);
        let start = Instant::now();
        for _ in 0..5 {
            assert!(store.take("k", TEN_PER_SECOND, start).admitted);
        }
        assert!(!store.take("k", TEN_PER_SECOND, start).admitted);
        let later = start + Duration::from_millis(250);
        // 2.5 tokens refilled: two admitted, the third refused.
        assert!(store.take("k", TEN_PER_SECOND, later).admitted);
        assert!(store.take("k", TEN_PER_SECOND, later).admitted);
        assert!(!store.take("k", TEN_PER_SECOND, later).admitted);
    }

    #[test]
    fn keys_are_independent() {
        let store = LocalBuckets::new(100);
        let now = Instant::now();
        for _ in 0..5 {
            assert!(store.take("a", TEN_PER_SECOND, now).admitted);
        }
        assert!(!store.take("a", TEN_PER_SECOND, now).admitted);
        assert!(store.take("b", TEN_PER_SECOND, now).admitted);
    }

    #[test]
    fn a_refused_request_consumes_no_other_limit() {
        let store = LocalBuckets::new(100);
        let now = Instant::now();
        let roomy = BucketParams {
            capacity: 10.0,
            refill_per_second: 0.001,
        };
        let tight = BucketParams {
            capacity: 1.0,
            refill_per_second: 0.001,
        };
        let requests = [
            BucketRequest {
                key: "roomy",
                params: roomy,
            },
            BucketRequest {
                key: "tight",
                params: tight,
            },
        ];
        let mut decisions = Vec::new();
        assert_eq!(store.take_all(&requests, now, &mut decisions), None);
        assert_eq!(decisions.len(), 2);
        for _ in 0..3 {
            assert_eq!(store.take_all(&requests, now, &mut decisions), Some(1));
        }
        // Only the admitted request took from `roomy` (9 left, so this take leaves 8); without
        // the refunds the three refusals would have left 6 and this take 5.
        assert_eq!(store.take("roomy", roomy, now).remaining(), 8);
    }

    #[test]
    fn full_buckets_are_dropped_as_idle() {
        let store = LocalBuckets::new(100);
        let now = Instant::now();
        store.take("drained", TEN_PER_SECOND, now);
        store.take("other", TEN_PER_SECOND, now);
        assert_eq!(store.len(), 2);
        assert_eq!(store.evict_idle(now + Duration::from_millis(50)), 0);
        assert_eq!(store.evict_idle(now + Duration::from_millis(100)), 2);
        assert!(store.is_empty());
    }

    #[test]
    fn shards_spread_the_keys() {
        let store = LocalBuckets::with_shards(1_000, 8);
        let now = Instant::now();
        for index in 0..400 {
            store.take(&format!("key-{index}"), TEN_PER_SECOND, now);
        }
        assert_eq!(store.len(), 400);
        assert_eq!(store.shard_count(), 8);
    }
}
