//! The Redis store: exact token buckets, leased buckets and quota counters, each decision one
//! script call under a deadline and behind the breaker, with the limit's failure mode applied
//! whenever Redis gives no usable answer.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use portcullis_config::model::{FailureMode, QuotaWindow};
use portcullis_ratelimit::bucket;
use portcullis_ratelimit::{
    LeaseOutcome, LimitSpec, LocalBuckets, LocalLeases, LocalQuotas, QuotaDecision, QuotaSpec,
};
use redis::{FromRedisValue, ScriptInvocation};

use crate::breaker::BreakerState;
use crate::error::StoreError;
use crate::link::Link;
use crate::scripts::{QUOTA, TOKEN_BUCKET};
use crate::settings::RedisSettings;
pub use crate::verdict::{DecisionSource, LimitVerdict, QuotaVerdict, StoreStats};

pub struct RedisStore {
    link: Arc<Link>,
    key_prefix: String,
    fallback_buckets: LocalBuckets,
    fallback_quotas: LocalQuotas,
    leases: LocalLeases,
}

impl RedisStore {
    /// Builds the store without connecting (the first call, or [`RedisStore::warm_up`], does).
    pub fn new(settings: &RedisSettings) -> Result<Self, StoreError> {
        Ok(RedisStore {
            link: Link::new(settings)?,
            key_prefix: settings.key_prefix.clone(),
            fallback_buckets: LocalBuckets::new(settings.max_local_keys),
            fallback_quotas: LocalQuotas::new(settings.max_local_keys),
            leases: LocalLeases::new(settings.max_local_keys),
        })
    }

    /// Connects now, waiting up to `deadline` (a start-up step: a Cluster connection has to
    /// learn the slot map, which may take longer than a per-request deadline).
    pub async fn warm_up(&self, deadline: Duration) -> Result<(), StoreError> {
        self.link.warm_up(deadline).await
    }

    /// Takes one token from the shared bucket of `key` (`store: redis`).
    pub async fn take(&self, spec: &LimitSpec, key: &str) -> LimitVerdict {
        let redis_key = self.bucket_key(key);
        let mut invocation = TOKEN_BUCKET.prepare_invoke();
        invocation
            .key(&redis_key)
            .arg(spec.params.capacity)
            .arg(spec.params.refill_per_second)
            .arg(1)
            .arg(0);
        match self.call::<(i64, String)>(&invocation).await {
            Ok((granted, tokens)) => LimitVerdict {
                decision: bucket::decision(spec.params, granted > 0, parse_tokens(&tokens)),
                source: DecisionSource::Redis,
            },
            Err(_) => self.degraded(spec, key),
        }
    }

    /// Takes one token for `key` from this instance's lease, leasing up to `spec.lease_size`
    /// tokens from the shared bucket when none is held (`store: redisLeased`). See
    /// [`portcullis_ratelimit::lease`] for the overshoot bound (lease size × instances).
    pub async fn take_leased(&self, spec: &LimitSpec, key: &str) -> LimitVerdict {
        let now = Instant::now();
        match self.leases.spend(key, now) {
            LeaseOutcome::Spent { held } => {
                return LimitVerdict {
                    decision: bucket::decision(spec.params, true, held as f64),
                    source: DecisionSource::Lease,
                }
            }
            LeaseOutcome::Refused { retry_in } => {
                let mut decision = bucket::decision(spec.params, false, 0.0);
                decision.until_next_token = retry_in;
                return LimitVerdict {
                    decision,
                    source: DecisionSource::Lease,
                };
            }
            LeaseOutcome::Empty => {}
        }
        let redis_key = self.bucket_key(key);
        let mut invocation = TOKEN_BUCKET.prepare_invoke();
        invocation
            .key(&redis_key)
            .arg(spec.params.capacity)
            .arg(spec.params.refill_per_second)
            .arg(spec.lease_size.max(1))
            .arg(1);
        match self.call::<(i64, String)>(&invocation).await {
            Ok((granted, tokens)) => {
                let shared_tokens = parse_tokens(&tokens);
                if granted > 0 {
                    let kept = u64::try_from(granted - 1).unwrap_or(0);
                    if kept > 0 {
                        self.leases.add(key, kept, lease_lifetime(spec), now);
                    }
                    LimitVerdict {
                        decision: bucket::decision(spec.params, true, shared_tokens + kept as f64),
                        source: DecisionSource::Redis,
                    }
                } else {
                    let decision = bucket::decision(spec.params, false, shared_tokens);
                    self.leases.refuse_for(key, decision.until_next_token, now);
                    LimitVerdict {
                        decision,
                        source: DecisionSource::Redis,
                    }
                }
            }
            Err(_) => self.degraded(spec, key),
        }
    }

    /// Gives one token back to the shared bucket of `key` (a later limit refused the request).
    /// Best effort: a failure is counted and otherwise ignored.
    pub async fn refund(&self, spec: &LimitSpec, key: &str) {
        let redis_key = self.bucket_key(key);
        let mut invocation = TOKEN_BUCKET.prepare_invoke();
        invocation
            .key(&redis_key)
            .arg(spec.params.capacity)
            .arg(spec.params.refill_per_second)
            .arg(-1)
            .arg(0);
        let _ = self.call::<(i64, String)>(&invocation).await;
    }

    /// Counts one request against the quota of `key` in Redis; when Redis is unavailable the
    /// request is counted by a per-instance counter instead (each instance then allows up to
    /// the limit on its own until Redis returns).
    pub async fn hit_quota(&self, spec: &QuotaSpec, key: &str) -> QuotaVerdict {
        match self.quota_call(spec, key, 1).await {
            Ok(verdict) => verdict,
            Err(_) => {
                self.link
                    .counters
                    .degraded_decisions
                    .fetch_add(1, Ordering::Relaxed);
                let unix_seconds = unix_now();
                QuotaVerdict {
                    decision: self
                        .fallback_quotas
                        .hit(key, spec.limit, spec.window, unix_seconds),
                    unix_seconds,
                    from_redis: false,
                }
            }
        }
    }

    /// Takes back one counted request of the quota of `key` (best effort).
    pub async fn refund_quota(&self, spec: &QuotaSpec, key: &str) {
        let _ = self.quota_call(spec, key, -1).await;
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.link.breaker_state()
    }

    pub fn stats(&self) -> StoreStats {
        self.link.counters.snapshot()
    }

    /// Drops idle per-instance state (fallback buckets, fallback quota counters, lapsed
    /// leases); call it from a periodic background task.
    pub fn evict_idle(&self) -> usize {
        let now = Instant::now();
        self.fallback_buckets.evict_idle(now)
            + self.fallback_quotas.evict_idle(unix_now())
            + self.leases.evict_idle(now)
    }

    /// The Redis key of a bucket. The whole bucket key is the hash tag, so every key a
    /// decision touches is in one Cluster slot.
    pub fn bucket_key(&self, key: &str) -> String {
        format!("{}:rl:{{{key}}}", self.key_prefix)
    }

    /// The Redis key of a quota counter (one hash per quota key; the window lives inside).
    pub fn quota_key(&self, key: &str) -> String {
        format!("{}:q:{{{key}}}", self.key_prefix)
    }

    async fn quota_call(
        &self,
        spec: &QuotaSpec,
        key: &str,
        delta: i64,
    ) -> Result<QuotaVerdict, StoreError> {
        let redis_key = self.quota_key(key);
        let mut invocation = QUOTA.prepare_invoke();
        invocation
            .key(&redis_key)
            .arg(spec.limit)
            .arg(window_name(spec.window))
            .arg(delta);
        let (admitted, count, start, end, now) =
            self.call::<(i64, u64, u64, u64, u64)>(&invocation).await?;
        Ok(QuotaVerdict {
            decision: QuotaDecision::new(admitted > 0, spec.limit, count, start, end),
            unix_seconds: now,
            from_redis: true,
        })
    }

    async fn call<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        self.link.call(invocation).await
    }

    /// The decision of the limit's failure mode while Redis is unavailable.
    fn degraded(&self, spec: &LimitSpec, key: &str) -> LimitVerdict {
        self.link
            .counters
            .degraded_decisions
            .fetch_add(1, Ordering::Relaxed);
        match spec.failure_mode {
            FailureMode::FailOpen => LimitVerdict {
                decision: bucket::decision(spec.params, true, spec.params.capacity),
                source: DecisionSource::FailOpen,
            },
            FailureMode::FailClosed => LimitVerdict {
                decision: bucket::decision(spec.params, false, 0.0),
                source: DecisionSource::FailClosed,
            },
            FailureMode::LocalFallback => LimitVerdict {
                decision: self
                    .fallback_buckets
                    .take(key, spec.fallback, Instant::now()),
                source: DecisionSource::LocalFallback,
            },
        }
    }
}

/// Unspent leased tokens lapse after the time a drained bucket needs to refill, clamped to
/// 1–60 s: long enough to be spent, short enough not to linger.
fn lease_lifetime(spec: &LimitSpec) -> Duration {
    Duration::from_secs_f64(spec.params.full_refill_seconds().clamp(1.0, 60.0))
}

fn parse_tokens(text: &str) -> f64 {
    text.parse::<f64>()
        .ok()
        .filter(|tokens| tokens.is_finite())
        .unwrap_or(0.0)
}

fn window_name(window: QuotaWindow) -> &'static str {
    match window {
        QuotaWindow::Minute => "minute",
        QuotaWindow::Hour => "hour",
        QuotaWindow::Day => "day",
        QuotaWindow::Month => "month",
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_the_whole_bucket_key_as_hash_tag() {
        let store = RedisStore::new(&RedisSettings::standalone("redis://127.0.0.1:1"))
            .expect("settings are valid");
        assert_eq!(
            store.bucket_key("per-tenant|tenant_abc|r"),
            "portcullis:rl:{per-tenant|tenant_abc|r}"
        );
        assert_eq!(store.quota_key("daily|t"), "portcullis:q:{daily|t}");
    }

    #[test]
    fn token_replies_parse_defensively() {
        assert_eq!(parse_tokens("4.5"), 4.5);
        assert_eq!(parse_tokens("nan"), 0.0);
        assert_eq!(parse_tokens("garbage"), 0.0);
    }

    #[test]
    fn bad_settings_are_reported() {
        let error = RedisStore::new(&RedisSettings::cluster(Vec::<String>::new()))
            .err()
            .expect("an empty node list is refused");
        assert!(error.to_string().contains("clusterNodes"));
        assert!(RedisStore::new(&RedisSettings::standalone("not a url")).is_err());
    }
}
