//! The one call the proxy's rate-limit phase makes: every limit and quota of a route, across
//! the local store, Redis and leases, with all-must-admit semantics and the response headers.

use std::sync::Arc;
use std::time::Instant;

use portcullis_config::model::{Config, RateLimitStore};
use portcullis_ratelimit::bucket::BucketDecision;
use portcullis_ratelimit::headers::{
    retry_after_seconds, write_policy_header, write_status_header, PolicyItem, StatusItem,
};
use portcullis_ratelimit::{
    LimitSpec, LocalBuckets, LocalQuotas, QuotaDecision, QuotaSpec, RequestFacts,
};

use crate::error::StoreError;
use crate::settings::RedisSettings;
use crate::store::{DecisionSource, RedisStore};

/// Which kind of rule refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    RateLimit,
    Quota,
}

/// The rule that refused a request (for the 429 body, metrics and the access log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RuleKind,
    pub name: Arc<str>,
    /// `Retry-After`: whole seconds, rounded up, at least 1.
    pub retry_after_seconds: u64,
}

/// One limit's part of an outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitResult {
    pub name: Arc<str>,
    pub spec: LimitSpec,
    pub decision: BucketDecision,
    /// `None` for a local limit.
    pub source: Option<DecisionSource>,
}

/// One quota's part of an outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaResult {
    pub name: Arc<str>,
    pub decision: QuotaDecision,
    pub unix_seconds: u64,
    pub from_redis: bool,
}

/// Everything the rate-limit phase decided for one request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    /// `None`: admitted.
    pub refusal: Option<Refusal>,
    /// Decisions made, in the route's order (up to and including the refusing one).
    pub limits: Vec<LimitResult>,
    pub quotas: Vec<QuotaResult>,
}

impl Outcome {
    pub fn admitted(&self) -> bool {
        self.refusal.is_none()
    }

    /// True when a failure mode decided some limit (for the fallback-activation metric).
    pub fn degraded(&self) -> bool {
        self.limits
            .iter()
            .any(|limit| limit.source.is_some_and(|source| source.is_degraded()))
            || self.quotas.iter().any(|quota| !quota.from_redis)
    }

    /// The `RateLimit-Policy` and `RateLimit` values for the rules decided (empty strings when
    /// the route has none).
    pub fn header_values(&self) -> (String, String) {
        let mut policies = Vec::with_capacity(self.limits.len() + self.quotas.len());
        let mut statuses = Vec::with_capacity(policies.capacity());
        for limit in &self.limits {
            policies.push(PolicyItem::for_bucket(&limit.name, limit.spec.params));
            statuses.push(StatusItem::for_bucket(&limit.name, &limit.decision));
        }
        for quota in &self.quotas {
            policies.push(PolicyItem::for_quota(&quota.name, &quota.decision));
            statuses.push(StatusItem::for_quota(
                &quota.name,
                &quota.decision,
                quota.unix_seconds,
            ));
        }
        let mut policy = String::new();
        let mut status = String::new();
        write_policy_header(&policies, &mut policy);
        write_status_header(&statuses, &mut status);
        (policy, status)
    }
}

/// All rate-limit state of one gateway instance. Build it once; keep it across config swaps
/// (buckets are keyed by limit name, so unchanged limits keep their state).
pub struct RateLimiter {
    local: LocalBuckets,
    local_quotas: LocalQuotas,
    redis: Option<RedisStore>,
}

impl RateLimiter {
    /// The limiter a validated config asks for. Does not connect to Redis (the first decision,
    /// or [`RedisStore::warm_up`] through [`RateLimiter::redis`], does).
    pub fn from_config(config: &Config) -> Result<Self, StoreError> {
        let max = usize::try_from(config.local_limits.max_buckets).unwrap_or(usize::MAX);
        let redis = match &config.redis {
            Some(redis) => Some(RedisStore::new(&RedisSettings::from_config(
                redis,
                &config.local_limits,
            ))?),
            None => None,
        };
        Ok(Self::new(max, redis))
    }

    pub fn new(max_buckets: usize, redis: Option<RedisStore>) -> Self {
        RateLimiter {
            local: LocalBuckets::new(max_buckets),
            local_quotas: LocalQuotas::new(max_buckets),
            redis,
        }
    }

    pub fn redis(&self) -> Option<&RedisStore> {
        self.redis.as_ref()
    }

    pub fn local(&self) -> &LocalBuckets {
        &self.local
    }

    /// Decides one request: every limit in order, then every quota; all must admit. On a
    /// refusal, tokens and counts already taken for this request are given back, so a refused
    /// request consumes nothing. A limit whose store is `redis`/`redisLeased` but that has no
    /// Redis configured (validation prevents it) is decided locally.
    pub async fn check(
        &self,
        limits: &[LimitSpec],
        quotas: &[QuotaSpec],
        facts: &RequestFacts<'_>,
        unix_seconds: u64,
    ) -> Outcome {
        let now = Instant::now();
        let mut outcome = Outcome {
            refusal: None,
            limits: Vec::with_capacity(limits.len()),
            quotas: Vec::with_capacity(quotas.len()),
        };
        let mut keys: Vec<String> = Vec::with_capacity(limits.len() + quotas.len());
        for spec in limits {
            let mut key = String::with_capacity(64);
            spec.write_key(facts, &mut key);
            let (decision, source) = match (spec.store, &self.redis) {
                (RateLimitStore::Redis, Some(redis)) => {
                    let verdict = redis.take(spec, &key).await;
                    (verdict.decision, Some(verdict.source))
                }
                (RateLimitStore::RedisLeased, Some(redis)) => {
                    let verdict = redis.take_leased(spec, &key).await;
                    (verdict.decision, Some(verdict.source))
                }
                _ => (self.local.take(&key, spec.params, now), None),
            };
            outcome.limits.push(LimitResult {
                name: Arc::clone(&spec.name),
                spec: spec.clone(),
                decision,
                source,
            });
            keys.push(key);
            if !decision.admitted {
                outcome.refusal = Some(Refusal {
                    kind: RuleKind::RateLimit,
                    name: Arc::clone(&spec.name),
                    retry_after_seconds: retry_after_seconds(decision.until_next_token),
                });
                self.refund_limits(&limits[..keys.len() - 1], &keys, now)
                    .await;
                return outcome;
            }
        }
        for (index, spec) in quotas.iter().enumerate() {
            let mut key = String::with_capacity(64);
            spec.write_key(facts, &mut key);
            let result = match &self.redis {
                Some(redis) => {
                    let verdict = redis.hit_quota(spec, &key).await;
                    QuotaResult {
                        name: Arc::clone(&spec.name),
                        decision: verdict.decision,
                        unix_seconds: verdict.unix_seconds,
                        from_redis: verdict.from_redis,
                    }
                }
                None => QuotaResult {
                    name: Arc::clone(&spec.name),
                    decision: self
                        .local_quotas
                        .hit(&key, spec.limit, spec.window, unix_seconds),
                    unix_seconds,
                    from_redis: false,
                },
            };
            let admitted = result.decision.admitted;
            let retry = result.decision.reset_seconds(result.unix_seconds);
            outcome.quotas.push(result);
            keys.push(key);
            if !admitted {
                outcome.refusal = Some(Refusal {
                    kind: RuleKind::Quota,
                    name: Arc::clone(&spec.name),
                    retry_after_seconds: retry,
                });
                self.refund_limits(limits, &keys, now).await;
                for (earlier, key) in quotas[..index].iter().zip(&keys[limits.len()..]) {
                    match &self.redis {
                        Some(redis) => redis.refund_quota(earlier, key).await,
                        None => self.local_quotas.refund(key, earlier.window, unix_seconds),
                    }
                }
                return outcome;
            }
        }
        outcome
    }

    async fn refund_limits(&self, limits: &[LimitSpec], keys: &[String], now: Instant) {
        for (spec, key) in limits.iter().zip(keys) {
            match (spec.store, &self.redis) {
                (RateLimitStore::Redis, Some(redis)) => redis.refund(spec, key).await,
                // A leased token stays with this instance: spending it later is what it is for.
                (RateLimitStore::RedisLeased, Some(_)) => {}
                _ => self.local.refund(key, spec.params, 1.0, now),
            }
        }
    }
}
