//! The rate-limit phase's one call: several limits and quotas, local and Redis.

mod common;

use portcullis_config::{load_str, Config, Format};
use portcullis_ratelimit::{LimitSpec, QuotaSpec, RequestFacts};
use portcullis_ratelimit_redis::{DecisionSource, RateLimiter, RuleKind};

use common::{shared_redis_url, unique_prefix};

const LIMITS: &str = r#"
rateLimits:
  per-tenant:
    capacity: 5
    refillPerSecond: 0.001
    key: [tenantId, routeName]
  per-ip:
    capacity: 2
    refillPerSecond: 0.001
    key: [clientIp]
quotas:
  daily:
    limit: 3
    window: day
    key: [tenantId]
routes: []
"#;

fn config(extra: &str) -> Config {
    load_str(&format!("{LIMITS}{extra}"), Format::Yaml)
        .unwrap_or_else(|errors| panic!("{errors}"))
        .config()
        .clone()
}

fn specs(config: &Config, names: &[&str]) -> Vec<LimitSpec> {
    names
        .iter()
        .map(|name| LimitSpec::from_config(name, &config.rate_limits[*name]))
        .collect()
}

fn quota_specs(config: &Config) -> Vec<QuotaSpec> {
    config
        .quotas
        .iter()
        .map(|(name, quota)| QuotaSpec::from_config(name, quota))
        .collect()
}

fn facts(ip: &str) -> RequestFacts<'_> {
    RequestFacts {
        tenant_id: Some("tenant_abc"),
        client_ip: Some(ip),
        route_name: Some("checkout-orders"),
        ..RequestFacts::default()
    }
}

/// Noon on a fixed day, so the day window never rolls over during the test.
const NOON: u64 = 1_764_331_200;

#[tokio::test]
async fn a_refusal_names_the_limit_and_consumes_nothing_else() {
    let config = config("");
    let limiter = RateLimiter::from_config(&config).expect("limiter");
    let limits = specs(&config, &["per-tenant", "per-ip"]);
    for _ in 0..2 {
        assert!(limiter
            .check(&limits, &[], &facts("192.0.2.1"), NOON)
            .await
            .admitted());
    }
    for _ in 0..5 {
        let refused = limiter.check(&limits, &[], &facts("192.0.2.1"), NOON).await;
        let refusal = refused.refusal.as_ref().expect("per-ip refuses");
        assert_eq!(refusal.kind, RuleKind::RateLimit);
        assert_eq!(&*refusal.name, "per-ip");
        assert_eq!(refusal.retry_after_seconds, 1_000);
        assert_eq!(refused.limits.len(), 2);
    }
    // The tenant's bucket lost only the two admitted requests: 3 left for another address.
    for ip in ["192.0.2.2", "192.0.2.2", "192.0.2.3"] {
        assert!(limiter
            .check(&limits, &[], &facts(ip), NOON)
            .await
            .admitted());
    }
    let refused = limiter.check(&limits, &[], &facts("192.0.2.4"), NOON).await;
    assert_eq!(
        refused.refusal.expect("tenant exhausted").name.as_ref(),
        "per-tenant"
    );
}

#[tokio::test]
async fn an_exhausted_quota_refuses_by_name_and_refunds_the_limits() {
    let config = config("");
    let limiter = RateLimiter::from_config(&config).expect("limiter");
    let limits = specs(&config, &["per-tenant"]);
    let quotas = quota_specs(&config);
    for _ in 0..3 {
        assert!(limiter
            .check(&limits, &quotas, &facts("a"), NOON)
            .await
            .admitted());
    }
    let refused = limiter.check(&limits, &quotas, &facts("a"), NOON).await;
    let refusal = refused.refusal.as_ref().expect("quota refuses");
    assert_eq!(refusal.kind, RuleKind::Quota);
    assert_eq!(&*refusal.name, "daily");
    assert_eq!(refusal.retry_after_seconds, 12 * 3_600);
    // per-tenant: 5 − 3 admitted = 2 tokens; the quota refusal gave its token back.
    let (policy, status) = refused.header_values();
    assert_eq!(policy, "\"per-tenant\";q=5;w=5000, \"daily\";q=3;w=86400");
    assert!(status.starts_with("\"per-tenant\";r=1;"), "{status}");
    assert!(status.ends_with("\"daily\";r=0;t=43200"), "{status}");
    let next_day = limiter
        .check(&limits, &quotas, &facts("a"), NOON + 86_400)
        .await;
    assert!(next_day.admitted());
    assert_eq!(next_day.limits[0].decision.remaining(), 1);
}

#[tokio::test]
async fn redis_limits_and_quotas_decide_through_redis() {
    let Some(url) = shared_redis_url() else {
        return;
    };
    let mut config = config(&format!("redis: {{url: \"{url}\", timeoutMs: 1000}}\n"));
    for limit in config.rate_limits.values_mut() {
        limit.store = portcullis_config::RateLimitStore::Redis;
    }
    // A unique tenant keeps this run's keys apart from earlier runs on the shared Redis.
    let tenant = unique_prefix("limiter");
    let facts = RequestFacts {
        tenant_id: Some(&tenant),
        client_ip: Some("198.51.100.7"),
        route_name: Some("r"),
        ..RequestFacts::default()
    };
    let limiter = RateLimiter::from_config(&config).expect("limiter");
    let limits = specs(&config, &["per-tenant"]);
    let quotas = quota_specs(&config);
    let mut admitted = 0;
    let mut last = None;
    for _ in 0..5 {
        let outcome = limiter.check(&limits, &quotas, &facts, 0).await;
        assert_eq!(outcome.limits[0].source, Some(DecisionSource::Redis));
        assert!(outcome.quotas.iter().all(|quota| quota.from_redis));
        admitted += usize::from(outcome.admitted());
        last = Some(outcome);
    }
    let last = last.expect("five outcomes");
    assert_eq!(admitted, 3, "the daily quota of 3 decides");
    assert!(!last.degraded());
    assert_eq!(last.refusal.expect("refused").name.as_ref(), "daily");
    // The quota refusals gave their tokens back: 5 − 3 admitted.
    let outcome = limiter.check(&limits, &[], &facts, 0).await;
    assert_eq!(outcome.limits[0].decision.remaining(), 1);
}
