//! Services, rate limits and quotas.

use crate::model::{
    Config, FailureMode, RateLimit, RateLimitStore, RedisSettings, Service, DEFAULT_VERSION_NAME,
    MAX_REDIS_TIMEOUT_MS,
};
use crate::validate::syntax::parse_endpoint;
use crate::validate::Issues;

/// The version names a route may pin or split across: the `versions` keys, or `default` for a
/// service written with plain `endpoints`.
pub(crate) fn version_names(service: &Service) -> Vec<&str> {
    if service.versions.is_empty() {
        vec![DEFAULT_VERSION_NAME]
    } else {
        service.versions.keys().map(String::as_str).collect()
    }
}

/// The endpoints of one version (`default` is the plain `endpoints` list).
pub(crate) fn version_endpoints<'a>(service: &'a Service, version: &str) -> &'a [String] {
    if service.versions.is_empty() {
        if version == DEFAULT_VERSION_NAME {
            &service.endpoints
        } else {
            &[]
        }
    } else {
        service
            .versions
            .get(version)
            .map(|v| v.endpoints.as_slice())
            .unwrap_or(&[])
    }
}

pub(crate) fn validate_services(config: &Config, issues: &mut Issues) {
    for (name, service) in &config.services {
        let path = format!("services.{name}");
        issues.require_kebab(&path, "service", name);
        match (service.endpoints.is_empty(), service.versions.is_empty()) {
            (true, true) => issues.error(
                &path,
                format!("service {name} has no endpoints: set `endpoints: [host:port, …]`, or `versions:` with endpoints per version"),
            ),
            (false, false) => issues.error(
                &path,
                format!("service {name} sets both `endpoints` and `versions`: keep one (move the plain endpoints into a version)"),
            ),
            _ => {}
        }
        check_endpoints(&format!("{path}.endpoints"), &service.endpoints, issues);
        for (version, entry) in &service.versions {
            let version_path = format!("{path}.versions.{version}");
            if version.is_empty()
                || !version
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
            {
                issues.error(
                    &version_path,
                    format!("version name `{version}` may only use letters, digits, `-`, `_` and `.`: rename it, such as `stable`"),
                );
            }
            if entry.endpoints.is_empty() {
                issues.error(
                    format!("{version_path}.endpoints"),
                    format!("version {version} of service {name} has no endpoints: list at least one `host:port`"),
                );
            }
            check_endpoints(
                &format!("{version_path}.endpoints"),
                &entry.endpoints,
                issues,
            );
        }
        if service.connect_timeout_ms == 0 {
            issues.error(
                format!("{path}.connectTimeoutMs"),
                "connectTimeoutMs 0 never connects: use a positive value such as 1000",
            );
        }
        if service.max_concurrent_requests == Some(0) {
            issues.error(
                format!("{path}.maxConcurrentRequests"),
                "maxConcurrentRequests 0 rejects every request: use a positive limit or remove the field",
            );
        }
    }
}

fn check_endpoints(path: &str, endpoints: &[String], issues: &mut Issues) {
    for (index, endpoint) in endpoints.iter().enumerate() {
        if let Err(problem) = parse_endpoint(endpoint) {
            issues.error(
                format!("{path}[{index}]"),
                format!(
                    "endpoint `{endpoint}` {problem}; write `host:port`, `host` or `[v6]:port`"
                ),
            );
        }
    }
}

pub(crate) fn validate_limits(config: &Config, issues: &mut Issues) {
    validate_redis(config, issues);
    for (name, limit) in &config.rate_limits {
        let path = format!("rateLimits.{name}");
        issues.require_kebab(&path, "rate limit", name);
        for (field, value) in [
            ("capacity", limit.capacity),
            ("refillPerSecond", limit.refill_per_second),
        ] {
            if !value.is_finite() || value <= 0.0 {
                issues.error(
                    format!("{path}.{field}"),
                    format!("{field} {value} must be a finite number above 0, such as 100"),
                );
            }
        }
        validate_limit_extras(&path, limit, issues);
        if limit.store != RateLimitStore::Local && config.redis.is_none() {
            issues.error(
                format!("{path}.store"),
                format!(
                    "store {} needs the top-level `redis` section: add `redis: {{url: \"redis://127.0.0.1:6379\"}}`, or use store: local",
                    crate::validate::serde_name(&limit.store)
                ),
            );
        }
    }
    for (name, quota) in &config.quotas {
        let path = format!("quotas.{name}");
        issues.require_kebab(&path, "quota", name);
        if quota.limit == 0 {
            issues.error(
                format!("{path}.limit"),
                "limit 0 admits no request: use a positive limit",
            );
        }
    }
}

/// `localFallback` and `leaseSize`: shapes checked like the limit's own, and a warning when
/// the setting can never apply.
fn validate_limit_extras(path: &str, limit: &RateLimit, issues: &mut Issues) {
    if let Some(fallback) = &limit.local_fallback {
        for (field, value) in [
            ("capacity", fallback.capacity),
            ("refillPerSecond", fallback.refill_per_second),
        ] {
            if !value.is_finite() || value <= 0.0 {
                issues.error(
                    format!("{path}.localFallback.{field}"),
                    format!("{field} {value} must be a finite number above 0, such as 10"),
                );
            }
        }
        if limit.failure_mode != FailureMode::LocalFallback || limit.store == RateLimitStore::Local
        {
            issues.warn(
                format!("{path}.localFallback"),
                "localFallback applies only to a redis or redisLeased limit with failureMode: localFallback; it is ignored here",
            );
        }
    }
    if let Some(lease_size) = limit.lease_size {
        if lease_size == 0 {
            issues.error(
                format!("{path}.leaseSize"),
                "leaseSize 0 leases nothing: use 1 or more (default: a tenth of the capacity)",
            );
        } else if f64::from(lease_size) > limit.capacity {
            issues.error(
                format!("{path}.leaseSize"),
                format!(
                    "leaseSize {lease_size} is above the capacity {}: an instance could never hold a whole lease; use at most the capacity",
                    limit.capacity
                ),
            );
        }
        if limit.store != RateLimitStore::RedisLeased {
            issues.warn(
                format!("{path}.leaseSize"),
                "leaseSize applies only to store: redisLeased; it is ignored here",
            );
        }
    }
}

fn validate_redis(config: &Config, issues: &mut Issues) {
    if config.local_limits.max_buckets == 0 {
        issues.error(
            "localLimits.maxBuckets",
            "maxBuckets 0 leaves no room for any bucket: use a positive bound such as 1000000",
        );
    }
    let Some(redis) = &config.redis else { return };
    check_redis_target(redis, issues);
    if let Some(prefix) = &redis.key_prefix {
        let valid = !prefix.is_empty()
            && prefix
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || "-_.:".contains(character));
        if !valid {
            issues.error(
                "redis.keyPrefix",
                format!("keyPrefix `{prefix}` must be non-empty and use only letters, digits, `-`, `_`, `.` and `:` (braces would break the Cluster hash tag); the default is portcullis"),
            );
        }
    }
    if redis.timeout_ms == 0 || redis.timeout_ms > MAX_REDIS_TIMEOUT_MS {
        issues.error(
            "redis.timeoutMs",
            format!(
                "timeoutMs {} must be 1–{MAX_REDIS_TIMEOUT_MS}: every request may wait this long for Redis; the default is 10",
                redis.timeout_ms
            ),
        );
    }
    if redis.failure_threshold == 0 {
        issues.error(
            "redis.failureThreshold",
            "failureThreshold 0 would open the breaker without any failure: use 1 or more (default 3)",
        );
    }
    if redis.cooldown_ms == 0 {
        issues.error(
            "redis.cooldownMs",
            "cooldownMs 0 probes Redis on every request while it is down: use a positive value such as 1000",
        );
    }
}

fn check_redis_target(redis: &RedisSettings, issues: &mut Issues) {
    match (&redis.url, redis.cluster_nodes.is_empty()) {
        (None, true) => issues.error(
            "redis",
            "redis has neither `url` nor `clusterNodes`: set one, such as `url: \"redis://127.0.0.1:6379\"`",
        ),
        (Some(_), false) => issues.error(
            "redis",
            "redis sets both `url` and `clusterNodes`: keep `url` for one server or `clusterNodes` for a Cluster",
        ),
        _ => {}
    }
    if let Some(url) = &redis.url {
        let valid = url
            .strip_prefix("redis://")
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
        if !valid {
            issues.error(
                "redis.url",
                format!("url `{url}` is not a redis:// URL with a host: write one such as redis://127.0.0.1:6379 (rediss:// is not supported)"),
            );
        }
    }
    for (index, node) in redis.cluster_nodes.iter().enumerate() {
        if !matches!(parse_endpoint(node), Ok(Some(_))) {
            issues.error(
                format!("redis.clusterNodes[{index}]"),
                format!("cluster node `{node}` is not host:port: write one such as 10.0.0.7:6379"),
            );
        }
    }
}
