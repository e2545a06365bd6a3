//! A rate limit or quota as the decision code needs it, compiled once per config snapshot.

use std::sync::Arc;

use portcullis_config::model::{
    FailureMode, KeyDimension, Quota, QuotaWindow, RateLimit, RateLimitStore,
};

use crate::bucket::BucketParams;
use crate::key::{write_key, RequestFacts};

/// One configured rate limit.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitSpec {
    pub name: Arc<str>,
    pub params: BucketParams,
    pub key: Arc<[KeyDimension]>,
    pub store: RateLimitStore,
    pub failure_mode: FailureMode,
    /// The per-instance bucket used by `failureMode: localFallback` while the shared store is
    /// unavailable. Defaults to the limit's own shape (each instance then admits up to the
    /// global limit on its own, which is the least surprising emergency setting).
    pub fallback: BucketParams,
    /// Tokens taken from Redis per lease for `store: redisLeased`.
    pub lease_size: u32,
}

impl LimitSpec {
    /// The spec of the configured limit `name`. `localFallback` defaults to the limit's own
    /// shape, `leaseSize` to a tenth of the capacity (at least 1).
    pub fn from_config(name: &str, limit: &RateLimit) -> Self {
        let params = BucketParams {
            capacity: limit.capacity,
            refill_per_second: limit.refill_per_second,
        };
        let fallback = limit
            .local_fallback
            .map_or(params, |emergency| BucketParams {
                capacity: emergency.capacity,
                refill_per_second: emergency.refill_per_second,
            });
        LimitSpec {
            name: Arc::from(name),
            params,
            key: Arc::from(limit.key.as_slice()),
            store: limit.store,
            failure_mode: limit.failure_mode,
            fallback,
            lease_size: limit
                .lease_size
                .unwrap_or(((limit.capacity / 10.0).floor() as u32).max(1)),
        }
    }

    /// Writes this limit's bucket key for `facts` into `out`.
    pub fn write_key(&self, facts: &RequestFacts<'_>, out: &mut String) {
        write_key(&self.name, &self.key, facts, out);
    }
}

/// One configured quota.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaSpec {
    pub name: Arc<str>,
    pub limit: u64,
    pub window: QuotaWindow,
    pub key: Arc<[KeyDimension]>,
}

impl QuotaSpec {
    pub fn from_config(name: &str, quota: &Quota) -> Self {
        QuotaSpec {
            name: Arc::from(name),
            limit: quota.limit,
            window: quota.window,
            key: Arc::from(quota.key.as_slice()),
        }
    }

    /// Writes this quota's counter key (without the window) for `facts` into `out`.
    pub fn write_key(&self, facts: &RequestFacts<'_>, out: &mut String) {
        write_key(&self.name, &self.key, facts, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_limit_compiles_with_defaults() {
        let limit = RateLimit {
            algorithm: Default::default(),
            capacity: 100.0,
            refill_per_second: 50.0,
            key: vec![KeyDimension::TenantId, KeyDimension::RouteName],
            store: RateLimitStore::Local,
            failure_mode: FailureMode::LocalFallback,
            local_fallback: None,
            lease_size: None,
        };
        let spec = LimitSpec::from_config("checkout-default", &limit);
        assert_eq!(spec.lease_size, 10);
        assert_eq!(spec.fallback, spec.params);
        let facts = RequestFacts {
            tenant_id: Some("tenant_abc"),
            route_name: Some("checkout-orders"),
            ..RequestFacts::default()
        };
        let mut key = String::new();
        spec.write_key(&facts, &mut key);
        assert_eq!(key, "checkout-default|tenant_abc|checkout-orders");
    }

    #[test]
    fn configured_fallback_and_lease_size_win() {
        let limit = RateLimit {
            algorithm: Default::default(),
            capacity: 100.0,
            refill_per_second: 50.0,
            key: vec![],
            store: RateLimitStore::RedisLeased,
            failure_mode: FailureMode::LocalFallback,
            local_fallback: Some(portcullis_config::model::EmergencyLimit {
                capacity: 5.0,
                refill_per_second: 1.0,
            }),
            lease_size: Some(3),
        };
        let spec = LimitSpec::from_config("global", &limit);
        assert_eq!(spec.lease_size, 3);
        assert_eq!(
            spec.fallback,
            BucketParams {
                capacity: 5.0,
                refill_per_second: 1.0
            }
        );
        assert_eq!(spec.params.capacity, 100.0);
    }
}
