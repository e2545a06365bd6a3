//! Leased tokens: an instance takes tokens from the shared bucket in batches and spends them
//! locally, so most requests of a `redisLeased` limit cost no round trip.
//!
//! Overshoot bound: every token spent was taken from the shared bucket, so over the bucket's
//! life no more than `capacity + refill × elapsed` requests are admitted, exactly as without
//! leases. But a token may be taken in one window and spent in a later one: in any interval,
//! the admitted requests may exceed `capacity + refill × interval` by the tokens that were
//! leased before the interval and are still held, which is at most
//! `lease size × instances`. The converse error is an undershoot: tokens leased by an instance
//! that receives no more traffic are not spent, and lapse after the lease lifetime.

use std::time::{Duration, Instant};

use crate::shards::{default_shard_count, Expiring, ShardedMap};

struct Lease {
    tokens: u64,
    /// Store time (ns) from which the unspent tokens lapse.
    expires: u64,
    /// Store time (ns) until which the shared bucket is known to be empty: requests are refused
    /// locally until then instead of asking Redis again.
    refused_until: u64,
}

impl Expiring for Lease {
    fn expires_at(&self) -> u64 {
        if self.tokens == 0 {
            self.refused_until
        } else {
            self.expires.max(self.refused_until)
        }
    }
}

/// What the local lease says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// A held token was spent; `held` remain.
    Spent { held: u64 },
    /// The shared bucket was empty moments ago: refuse without asking it again.
    Refused { retry_in: Duration },
    /// Nothing held: ask the shared bucket.
    Empty,
}

/// Tokens this instance holds per bucket key.
pub struct LocalLeases {
    leases: ShardedMap<Lease>,
    epoch: Instant,
}

impl LocalLeases {
    pub fn new(max_keys: usize) -> Self {
        LocalLeases {
            leases: ShardedMap::new(max_keys, default_shard_count()),
            epoch: Instant::now()
                .checked_sub(Duration::from_secs(1))
                .unwrap_or_else(Instant::now),
        }
    }

    /// Spends one held token of `key`, if there is one that has not lapsed.
    pub fn spend(&self, key: &str, now: Instant) -> LeaseOutcome {
        let now = self.store_time(now);
        self.leases
            .update_existing(key, |lease| {
                if lease.tokens > 0 && lease.expires > now {
                    lease.tokens -= 1;
                    LeaseOutcome::Spent { held: lease.tokens }
                } else if lease.refused_until > now {
                    LeaseOutcome::Refused {
                        retry_in: Duration::from_nanos(lease.refused_until - now),
                    }
                } else {
                    LeaseOutcome::Empty
                }
            })
            .unwrap_or(LeaseOutcome::Empty)
    }

    /// Remembers that the shared bucket of `key` has no token for `wait`: the requests of
    /// that time are refused locally (they would have been refused by the shared bucket too).
    pub fn refuse_for(&self, key: &str, wait: Duration, now: Instant) {
        let now = self.store_time(now);
        let until = now.saturating_add(u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX));
        self.leases.update(
            key,
            now,
            || Lease {
                tokens: 0,
                expires: now,
                refused_until: until,
            },
            |lease| lease.refused_until = until,
        );
    }

    /// Adds `tokens` freshly taken from the shared bucket; they lapse after `lifetime` (tokens
    /// still held from an earlier lease lapse with the new ones).
    pub fn add(&self, key: &str, tokens: u64, lifetime: Duration, now: Instant) {
        let now = self.store_time(now);
        let expires = now.saturating_add(u64::try_from(lifetime.as_nanos()).unwrap_or(u64::MAX));
        self.leases.update(
            key,
            now,
            || Lease {
                tokens: 0,
                expires,
                refused_until: 0,
            },
            |lease| {
                if lease.expires <= now {
                    lease.tokens = 0;
                }
                lease.tokens = lease.tokens.saturating_add(tokens);
                lease.expires = expires;
                lease.refused_until = 0;
            },
        );
    }

    /// Tokens held for `key` now.
    pub fn held(&self, key: &str, now: Instant) -> u64 {
        let now = self.store_time(now);
        self.leases
            .update_existing(
                key,
                |lease| if lease.expires > now { lease.tokens } else { 0 },
            )
            .unwrap_or(0)
    }

    pub fn evict_idle(&self, now: Instant) -> usize {
        self.leases.evict_expired(self.store_time(now))
    }

    fn store_time(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spends_what_was_added_then_stops() {
        let leases = LocalLeases::new(100);
        let now = Instant::now();
        assert_eq!(leases.spend("k", now), LeaseOutcome::Empty);
        leases.add("k", 2, Duration::from_secs(1), now);
        assert_eq!(leases.spend("k", now), LeaseOutcome::Spent { held: 1 });
        assert_eq!(leases.spend("k", now), LeaseOutcome::Spent { held: 0 });
        assert_eq!(leases.spend("k", now), LeaseOutcome::Empty);
    }

    #[test]
    fn unspent_tokens_lapse() {
        let leases = LocalLeases::new(100);
        let now = Instant::now();
        leases.add("k", 5, Duration::from_millis(100), now);
        assert_eq!(leases.held("k", now), 5);
        let later = now + Duration::from_millis(100);
        assert_eq!(leases.held("k", later), 0);
        assert_eq!(leases.spend("k", later), LeaseOutcome::Empty);
        assert_eq!(leases.evict_idle(later), 1);
    }

    #[test]
    fn an_empty_lease_is_idle() {
        let leases = LocalLeases::new(100);
        let now = Instant::now();
        leases.add("k", 1, Duration::from_secs(60), now);
        assert_eq!(leases.spend("k", now), LeaseOutcome::Spent { held: 0 });
        assert_eq!(leases.evict_idle(now), 1);
    }

    #[test]
    fn a_known_empty_bucket_is_refused_locally_until_its_next_token() {
        let leases = LocalLeases::new(100);
        let now = Instant::now();
        leases.refuse_for("k", Duration::from_millis(40), now);
        assert_eq!(
            leases.spend("k", now + Duration::from_millis(10)),
            LeaseOutcome::Refused {
                retry_in: Duration::from_millis(30)
            }
        );
        assert_eq!(
            leases.spend("k", now + Duration::from_millis(40)),
            LeaseOutcome::Empty
        );
        assert_eq!(leases.evict_idle(now + Duration::from_millis(40)), 1);
    }
}
