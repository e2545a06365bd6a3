//! Rate limits and quotas, the shared Redis store and the bounds on in-process state
//! (behaviour: `portcullis-ratelimit` and `portcullis-ratelimit-redis`; shape parsed and
//! validated here).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimit {
    #[serde(default)]
    pub algorithm: RateLimitAlgorithm,
    pub capacity: f64,
    pub refill_per_second: f64,
    #[serde(default)]
    pub key: Vec<KeyDimension>,
    #[serde(default)]
    pub store: RateLimitStore,
    #[serde(default)]
    pub failure_mode: FailureMode,
    /// The per-instance emergency bucket `failureMode: localFallback` uses while the shared
    /// store is unavailable; absent: the limit's own capacity and refill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_fallback: Option<EmergencyLimit>,
    /// Tokens an instance leases from Redis per call (`store: redisLeased`); absent: a tenth
    /// of the capacity, at least 1. The overshoot bound is this × instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_size: Option<u32>,
}

/// `rateLimits.<name>.localFallback`: the per-instance bucket used while Redis is down.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmergencyLimit {
    pub capacity: f64,
    pub refill_per_second: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum RateLimitAlgorithm {
    #[default]
    #[serde(rename = "token_bucket")]
    TokenBucket,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum KeyDimension {
    TenantId,
    UserId,
    ApiKey,
    ClientIp,
    RouteName,
    ProductTier,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum RateLimitStore {
    #[default]
    Local,
    Redis,
    RedisLeased,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum FailureMode {
    FailOpen,
    FailClosed,
    #[default]
    LocalFallback,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Quota {
    pub limit: u64,
    pub window: QuotaWindow,
    #[serde(default)]
    pub key: Vec<KeyDimension>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum QuotaWindow {
    Minute,
    Hour,
    Day,
    Month,
}

/// `redis:` — where the shared rate-limit and quota state lives. Exactly one of `url` and
/// `clusterNodes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedisSettings {
    /// A standalone server: `redis://host:port[/db]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Seed nodes of a Redis Cluster (`host:port`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_nodes: Vec<String>,
    /// Deadline of every Redis call.
    #[serde(default = "default_redis_timeout_ms")]
    pub timeout_ms: u64,
    /// Consecutive failures that open the circuit breaker.
    #[serde(default = "default_redis_failure_threshold")]
    pub failure_threshold: u32,
    /// How long an open breaker makes no call before one probe.
    #[serde(default = "default_redis_cooldown_ms")]
    pub cooldown_ms: u64,
    /// Prefix of every key this gateway writes (`<prefix>:rl:{…}`); absent: `portcullis`.
    /// Gateways that share buckets must use the same prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_prefix: Option<String>,
}

pub const MAX_REDIS_TIMEOUT_MS: u64 = 1_000;

fn default_redis_timeout_ms() -> u64 {
    10
}

fn default_redis_failure_threshold() -> u32 {
    3
}

fn default_redis_cooldown_ms() -> u64 {
    1_000
}

/// `localLimits:` — bounds on the in-process buckets and quota counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalLimits {
    /// Most buckets (and, separately, quota counters) one instance holds; beyond it, idle and
    /// then nearly-full buckets are dropped.
    #[serde(default = "default_max_buckets")]
    pub max_buckets: u64,
}

fn default_max_buckets() -> u64 {
    1_000_000
}

impl Default for LocalLimits {
    fn default() -> Self {
        LocalLimits {
            max_buckets: default_max_buckets(),
        }
    }
}

impl LocalLimits {
    pub fn is_default(&self) -> bool {
        *self == LocalLimits::default()
    }
}
