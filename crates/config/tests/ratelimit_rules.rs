//! The `redis` and `localLimits` sections and the rate-limit rules that depend on them.

mod common;

use common::{expect_error, load, SERVICES};
use portcullis_config::{checksum, Config, LocalLimits, RateLimitStore};

fn document(extra: &str) -> String {
    format!("{SERVICES}routes: []\n{extra}")
}

fn with_store(store: &str, extra: &str) -> String {
    let services = SERVICES.replace(
        "    key: [clientIp]\n",
        &format!("    key: [clientIp]\n    store: {store}\n"),
    );
    format!("{services}routes: []\n{extra}")
}

#[test]
fn redis_defaults_apply() {
    let loaded = load(&with_store(
        "redis",
        "redis: {url: \"redis://127.0.0.1:6379\"}\n",
    ))
    .expect("valid");
    let redis = loaded.config().redis.as_ref().expect("redis section");
    assert_eq!(redis.timeout_ms, 10);
    assert_eq!(redis.failure_threshold, 3);
    assert_eq!(redis.cooldown_ms, 1_000);
    assert_eq!(
        loaded.config().rate_limits["per-ip"].store,
        RateLimitStore::Redis
    );
    assert_eq!(loaded.config().local_limits.max_buckets, 1_000_000);
}

#[test]
fn cluster_nodes_load() {
    let loaded = load(&with_store(
        "redisLeased",
        "redis:\n  clusterNodes: [\"10.0.0.7:6379\", \"10.0.0.8:6379\"]\n  timeoutMs: 25\n",
    ))
    .expect("valid");
    let redis = loaded.config().redis.as_ref().expect("redis section");
    assert_eq!(redis.cluster_nodes.len(), 2);
    assert_eq!(redis.timeout_ms, 25);
}

#[test]
fn a_redis_store_needs_the_redis_section() {
    expect_error(
        &with_store("redis", ""),
        "rateLimits.per-ip.store",
        &["redis", "top-level `redis` section", "store: local"],
    );
    expect_error(
        &with_store("redisLeased", ""),
        "rateLimits.per-ip.store",
        &["redisLeased"],
    );
}

#[test]
fn exactly_one_of_url_and_cluster_nodes() {
    expect_error(
        &document("redis: {timeoutMs: 10}\n"),
        "redis",
        &["neither", "url"],
    );
    expect_error(
        &document("redis: {url: \"redis://a:1\", clusterNodes: [\"b:2\"]}\n"),
        "redis",
        &["both"],
    );
}

#[test]
fn redis_url_and_nodes_are_checked() {
    expect_error(
        &document("redis: {url: \"http://127.0.0.1:6379\"}\n"),
        "redis.url",
        &["http://127.0.0.1:6379", "redis://"],
    );
    expect_error(
        &document("redis: {url: \"rediss://cache:6380\"}\n"),
        "redis.url",
        &["rediss:// is not supported"],
    );
    expect_error(
        &document("redis: {clusterNodes: [\"10.0.0.7:6379\", \"no-port\"]}\n"),
        "redis.clusterNodes[1]",
        &["no-port", "host:port"],
    );
}

#[test]
fn redis_timeouts_and_breaker_are_bounded() {
    expect_error(
        &document("redis: {url: \"redis://r:6379\", timeoutMs: 0}\n"),
        "redis.timeoutMs",
        &["timeoutMs 0", "1–1000"],
    );
    expect_error(
        &document("redis: {url: \"redis://r:6379\", timeoutMs: 5000}\n"),
        "redis.timeoutMs",
        &["5000"],
    );
    expect_error(
        &document("redis: {url: \"redis://r:6379\", failureThreshold: 0}\n"),
        "redis.failureThreshold",
        &["failureThreshold 0"],
    );
    expect_error(
        &document("redis: {url: \"redis://r:6379\", cooldownMs: 0}\n"),
        "redis.cooldownMs",
        &["cooldownMs 0"],
    );
    expect_error(
        &document("redis: {url: \"redis://r:6379\", timeoutMs: 10, colour: red}\n"),
        "redis",
        &["colour"],
    );
}

#[test]
fn max_buckets_must_be_positive() {
    expect_error(
        &document("localLimits: {maxBuckets: 0}\n"),
        "localLimits.maxBuckets",
        &["maxBuckets 0"],
    );
    let loaded = load(&document("localLimits: {maxBuckets: 5000}\n")).expect("valid");
    assert_eq!(loaded.config().local_limits.max_buckets, 5_000);
}

#[test]
fn absent_sections_do_not_change_the_checksum() {
    let config = Config::default();
    assert!(config.redis.is_none());
    assert_eq!(config.local_limits, LocalLimits::default());
    let json = portcullis_config::canonical_json(&config);
    assert!(
        !json.contains("redis") && !json.contains("localLimits"),
        "{json}"
    );
    let mut bounded = Config::default();
    bounded.local_limits.max_buckets = 10;
    assert_ne!(checksum(&config), checksum(&bounded));
}

/// `per-ip` with extra lines under it (indented as its fields).
fn per_ip_with(lines: &str, extra: &str) -> String {
    let services = SERVICES.replace(
        "    key: [clientIp]\n",
        &format!("    key: [clientIp]\n{lines}"),
    );
    format!("{services}routes: []\n{extra}")
}

const REDIS: &str = "redis: {url: \"redis://127.0.0.1:6379\"}\n";

#[test]
fn local_fallback_and_lease_size_load() {
    let loaded = load(&per_ip_with(
        "    store: redisLeased\n    leaseSize: 4\n    localFallback: {capacity: 3, refillPerSecond: 0.5}\n",
        REDIS,
    ))
    .expect("valid");
    let limit = &loaded.config().rate_limits["per-ip"];
    assert_eq!(limit.lease_size, Some(4));
    let fallback = limit.local_fallback.expect("localFallback");
    assert_eq!(fallback.capacity, 3.0);
    assert_eq!(fallback.refill_per_second, 0.5);
    assert!(loaded.warnings().is_empty(), "{:?}", loaded.warnings());
    // Absent fields stay absent, so existing configurations keep their checksum.
    let plain = load(&with_store("redis", REDIS)).expect("valid");
    assert_eq!(plain.config().rate_limits["per-ip"].lease_size, None);
    assert_eq!(plain.config().rate_limits["per-ip"].local_fallback, None);
}

#[test]
fn bad_local_fallback_and_lease_size_are_errors() {
    expect_error(
        &per_ip_with(
            "    store: redis\n    localFallback: {capacity: 0, refillPerSecond: 1}\n",
            REDIS,
        ),
        "rateLimits.per-ip.localFallback.capacity",
        &["capacity 0", "above 0"],
    );
    expect_error(
        &per_ip_with(
            "    store: redis\n    localFallback: {capacity: 2, refillPerSecond: -1}\n",
            REDIS,
        ),
        "rateLimits.per-ip.localFallback.refillPerSecond",
        &["refillPerSecond -1"],
    );
    expect_error(
        &per_ip_with("    store: redisLeased\n    leaseSize: 0\n", REDIS),
        "rateLimits.per-ip.leaseSize",
        &["leaseSize 0"],
    );
    expect_error(
        &per_ip_with("    store: redisLeased\n    leaseSize: 11\n", REDIS),
        "rateLimits.per-ip.leaseSize",
        &["leaseSize 11", "capacity 10"],
    );
    expect_error(
        &per_ip_with("    localFallback: {capacity: 1}\n", ""),
        "rateLimits.per-ip.localFallback",
        &["refillPerSecond"],
    );
}

#[test]
fn settings_that_cannot_apply_are_warnings() {
    let loaded = load(&per_ip_with(
        "    leaseSize: 2\n    localFallback: {capacity: 1, refillPerSecond: 1}\n",
        "",
    ))
    .expect("warnings do not fail the load");
    let paths: Vec<&str> = loaded
        .warnings()
        .iter()
        .map(|warning| warning.path.as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "rateLimits.per-ip.localFallback",
            "rateLimits.per-ip.leaseSize"
        ]
    );
}

#[test]
fn key_prefix_loads_and_is_checked() {
    let loaded = load(&with_store(
        "redis",
        "redis: {url: \"redis://127.0.0.1:6379\", keyPrefix: \"gw-eu.1\"}\n",
    ))
    .expect("valid");
    let redis = loaded.config().redis.as_ref().expect("redis section");
    assert_eq!(redis.key_prefix.as_deref(), Some("gw-eu.1"));
    expect_error(
        &with_store(
            "redis",
            "redis: {url: \"redis://127.0.0.1:6379\", keyPrefix: \"a{b}\"}\n",
        ),
        "redis.keyPrefix",
        &["a{b}", "hash tag"],
    );
}
