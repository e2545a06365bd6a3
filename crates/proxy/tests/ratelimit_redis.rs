//! Redis-backed limits through the gateway: the real Redis at 127.0.0.1:6379 (skipped loudly
//! when absent, a failure under `CI=true`), and each failure mode (`failOpen`, `failClosed`,
//! `localFallback`) against a Redis that never answers, one that answers every command with an
//! error, and one stopped mid-load — with recovery when it comes back.

mod common;
mod redis_support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{split_response, start};
use portcullis_telemetry::metrics::{BREAKER_CLOSED, BREAKER_OPEN};
use portcullis_testkit::services::{shared_redis_reachable, SHARED_REDIS};
use portcullis_testkit::{raw_request, MockUpstream};
use redis_support::{ErroringRedis, RedisChild, SilentListener};

/// A key prefix no other run uses.
fn unique_prefix() -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!(
        "pcgw-{}-{nanos}-{}",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    )
}

/// Routes `/<name>` each with the rate limit `<name>`, plus the given sections.
fn config(endpoint: &str, routes: &[&str], sections: &str) -> String {
    let mut yaml = format!(
        "services:\n  backend:\n    visibility: public\n    endpoints: [\"{endpoint}\"]\nroutes:\n"
    );
    for name in routes {
        yaml.push_str(&format!(
            "  - name: {name}\n    match:\n      pathPrefix: /{name}\n    upstream:\n      service: backend\n    policies:\n      auth: none\n      rateLimit: {name}\n      rateLimitHeaders: true\n"
        ));
    }
    yaml.push_str(sections);
    yaml
}

async fn get(addr: SocketAddr, path: &str) -> (u16, Vec<(String, String)>, serde_json::Value) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: api.test\r\n\r\n");
    let raw = raw_request(addr, request.as_bytes()).await.expect("answer");
    let (status, headers, body) = split_response(&raw);
    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    (status, headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

async fn statuses(addr: SocketAddr, path: &str, count: usize) -> Vec<u16> {
    let mut seen = Vec::with_capacity(count);
    for _ in 0..count {
        seen.push(get(addr, path).await.0);
    }
    seen
}

/// Waits (up to 3 s) for the background task to publish a metric value.
async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(3);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn redis_limits_and_quotas_decide_through_the_gateway() {
    if !shared_redis_reachable() {
        return;
    }
    let upstream = MockUpstream::echo().await;
    let sections = format!(
        "rateLimits:\n  shared:\n    capacity: 3\n    refillPerSecond: 0.01\n    key: [clientIp]\n    store: redis\n    failureMode: failClosed\n  leased:\n    capacity: 4\n    refillPerSecond: 0.01\n    store: redisLeased\n    leaseSize: 2\nquotas:\n  hourly:\n    limit: 2\n    window: hour\nredis:\n  url: redis://{SHARED_REDIS}\n  timeoutMs: 200\n  keyPrefix: {}\n",
        unique_prefix()
    );
    let mut yaml = config(&upstream.endpoint(), &["shared", "leased"], &sections);
    yaml.push_str(
        "  - name: counted\n    match:\n      pathPrefix: /counted\n    upstream:\n      service: backend\n    policies:\n      auth: none\n      quotas: [hourly]\n",
    );
    // `routes:` items must come before the sections: move the extra route up.
    let (head, rest) = yaml.split_once("rateLimits:").expect("sections");
    let (sections_text, extra_route) = rest.split_once("  - name: counted").expect("route");
    let yaml = format!("{head}  - name: counted{extra_route}rateLimits:{sections_text}");
    let gateway = start(&yaml).await;

    let (status, headers, _) = get(gateway.addr, "/shared").await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "ratelimit-policy"),
        Some("\"shared\";q=3;w=300")
    );
    assert!(header(&headers, "ratelimit")
        .expect("RateLimit")
        .starts_with("\"shared\";r=2;"));
    assert_eq!(statuses(gateway.addr, "/shared", 3).await, [200, 200, 429]);
    let (status, headers, problem) = get(gateway.addr, "/shared").await;
    assert_eq!(status, 429);
    assert_eq!(header(&headers, "retry-after"), Some("100"));
    assert!(problem["detail"]
        .as_str()
        .expect("detail")
        .contains("rate limit shared"));

    assert_eq!(
        statuses(gateway.addr, "/leased", 6).await,
        [200, 200, 200, 200, 429, 429]
    );

    assert_eq!(statuses(gateway.addr, "/counted", 3).await, [200, 200, 429]);
    let (_, _, problem) = get(gateway.addr, "/counted").await;
    assert!(problem["detail"]
        .as_str()
        .expect("detail")
        .contains("quota hourly"));
    assert_eq!(upstream.requests(), 3 + 4 + 2);

    let metrics = std::sync::Arc::clone(gateway.gateway.metrics());
    wait_for("breaker closed", || {
        metrics.rate_limit_breaker_state() == BREAKER_CLOSED
    })
    .await;
    assert_eq!(metrics.rate_limit_fallback_count(), 0);
    assert_eq!(metrics.rate_limit_store_error_count(), 0);
    gateway.stop().await;
}

#[tokio::test]
async fn failure_modes_decide_while_redis_never_answers() {
    let silent = SilentListener::start().await;
    let upstream = MockUpstream::echo().await;
    let sections = format!(
        "rateLimits:\n  open:\n    capacity: 2\n    refillPerSecond: 0.01\n    store: redis\n    failureMode: failOpen\n  closed:\n    capacity: 2\n    refillPerSecond: 0.01\n    store: redis\n    failureMode: failClosed\n  fallback:\n    capacity: 100\n    refillPerSecond: 0.01\n    store: redis\n    failureMode: localFallback\n    localFallback: {{capacity: 2, refillPerSecond: 0.01}}\nredis:\n  url: redis://127.0.0.1:{}\n  timeoutMs: 20\n  failureThreshold: 2\n  cooldownMs: 60000\n",
        silent.port
    );
    let yaml = config(
        &upstream.endpoint(),
        &["open", "closed", "fallback"],
        &sections,
    );
    let gateway = start(&yaml).await;

    // failOpen admits beyond the capacity: nothing is counted.
    assert_eq!(statuses(gateway.addr, "/open", 5).await, [200; 5]);
    // failClosed refuses with 503 rate_limit_store_unavailable.
    for _ in 0..3 {
        let (status, headers, problem) = get(gateway.addr, "/closed").await;
        assert_eq!(status, 503);
        assert_eq!(problem["code"], "rate_limit_store_unavailable");
        assert!(header(&headers, "retry-after").is_some());
    }
    // localFallback applies the emergency limit (2), not the limit's own capacity (100).
    assert_eq!(
        statuses(gateway.addr, "/fallback", 4).await,
        [200, 200, 429, 429]
    );
    assert_eq!(upstream.requests(), 5 + 2);

    // The breaker opened after two failures: later requests cost no deadline.
    let started = Instant::now();
    assert_eq!(statuses(gateway.addr, "/open", 3).await, [200; 3]);
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );

    let metrics = std::sync::Arc::clone(gateway.gateway.metrics());
    // 5 + 3 + 4 + 3 decisions, every one made by a failure mode.
    assert_eq!(metrics.rate_limit_fallback_count(), 15);
    wait_for("store errors and an open breaker", || {
        metrics.rate_limit_store_error_count() >= 2
            && metrics.rate_limit_breaker_state() == BREAKER_OPEN
    })
    .await;
    let text = metrics.encode();
    assert!(
        text.contains("portcullis_rate_limit_breaker_state 2"),
        "{text}"
    );
    assert!(
        text.contains(
            "portcullis_rate_limit_rejections_total{route=\"fallback\",limit=\"fallback\"} 2"
        ),
        "{text}"
    );
    gateway.stop().await;
}

/// One failure mode, as the stopped-Redis and erroring-Redis tests exercise it.
struct ModeCase {
    /// The route and limit name (kebab-case).
    name: &'static str,
    mode: &'static str,
    /// Extra YAML lines of the limit (the emergency bucket for `localFallback`).
    extra: &'static str,
    /// Statuses while Redis is unavailable, from a bucket the outage has not touched yet.
    while_down: &'static [u16],
}

const MODE_CASES: [ModeCase; 3] = [
    // Nothing is counted: more requests than the capacity (3) are admitted.
    ModeCase {
        name: "open",
        mode: "failOpen",
        extra: "",
        while_down: &[200, 200, 200, 200, 200],
    },
    ModeCase {
        name: "closed",
        mode: "failClosed",
        extra: "",
        while_down: &[503, 503, 503],
    },
    // The emergency bucket (2) decides, not the limit's own capacity (3).
    ModeCase {
        name: "fallback",
        mode: "localFallback",
        extra: "    localFallback: {capacity: 2, refillPerSecond: 0.01}\n",
        while_down: &[200, 200, 429, 429],
    },
];

/// Redis back: decisions must come from Redis within one background probe of the first
/// request (a connect and a PING), far sooner than the 1 s default `cooldownMs` the test runs
/// with. The bound leaves room for a loaded two-core machine.
const RECOVERY_BOUND: Duration = Duration::from_millis(400);

/// Sends `path` until a decision is made without a failure mode (the fallback counter does
/// not move), which must then be an admission; before that each answer is the mode's.
async fn wait_for_redis_decisions(
    gateway: &common::TestGateway,
    path: &str,
    status_while_down: u16,
) {
    let metrics = std::sync::Arc::clone(gateway.gateway.metrics());
    let first_request = Instant::now();
    let deadline = first_request + RECOVERY_BOUND;
    loop {
        let fallbacks_before = metrics.rate_limit_fallback_count();
        let (status, _, _) = get(gateway.addr, path).await;
        if metrics.rate_limit_fallback_count() == fallbacks_before {
            assert_eq!(status, 200, "{path}: the first decision from Redis again");
            return;
        }
        assert_eq!(status, status_while_down, "{path}: still degraded");
        assert!(
            Instant::now() < deadline,
            "{path}: decisions did not return to Redis within {RECOVERY_BOUND:?} of the first request"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn a_stopped_redis_degrades_per_failure_mode_and_recovers_when_it_returns() {
    for case in &MODE_CASES {
        let directory = tempfile::tempdir().expect("temp dir");
        let Some((server, port)) = RedisChild::start_on_free_port(directory.path()) else {
            return;
        };
        let upstream = MockUpstream::echo().await;
        let sections = format!(
            "rateLimits:\n  limited:\n    capacity: 3\n    refillPerSecond: 0.01\n    store: redis\n    failureMode: {}\n{}redis:\n  url: redis://127.0.0.1:{port}\n  timeoutMs: 100\n  failureThreshold: 1\n",
            case.mode, case.extra
        );
        let yaml = config(&upstream.endpoint(), &["limited"], &sections);
        let gateway = start(&yaml).await;
        let metrics = std::sync::Arc::clone(gateway.gateway.metrics());
        let mode = case.mode;

        // Healthy: Redis decides (one of its 3 tokens taken).
        assert_eq!(get(gateway.addr, "/limited").await.0, 200, "{mode}");
        assert_eq!(metrics.rate_limit_fallback_count(), 0, "{mode}");

        // Stopped mid-load: the failure mode decides every request.
        drop(server);
        let mut seen = Vec::new();
        for _ in case.while_down {
            let (status, headers, problem) = get(gateway.addr, "/limited").await;
            if status == 503 {
                assert_eq!(problem["code"], "rate_limit_store_unavailable", "{mode}");
                assert!(header(&headers, "retry-after").is_some(), "{mode}");
            }
            seen.push(status);
        }
        assert_eq!(seen, case.while_down, "{mode} while Redis is down");
        assert_eq!(
            metrics.rate_limit_fallback_count(),
            case.while_down.len() as u64,
            "{mode}"
        );

        // Back (empty: no persistence): decisions come from Redis's fresh bucket again.
        let _server = RedisChild::start(port, directory.path()).expect("restart redis-server");
        let steady_down_status = *case.while_down.last().expect("statuses");
        wait_for_redis_decisions(&gateway, "/limited", steady_down_status).await;
        let fallbacks = metrics.rate_limit_fallback_count();
        assert_eq!(
            statuses(gateway.addr, "/limited", 3).await,
            [200, 200, 429],
            "{mode}: Redis counts again"
        );
        assert_eq!(metrics.rate_limit_fallback_count(), fallbacks, "{mode}");
        wait_for("store errors counted and the breaker closed again", || {
            metrics.rate_limit_store_error_count() >= 1
                && metrics.rate_limit_breaker_state() == BREAKER_CLOSED
        })
        .await;
        gateway.stop().await;
    }
}

#[tokio::test]
async fn failure_modes_decide_while_redis_answers_errors() {
    let fake = ErroringRedis::start().await;
    let upstream = MockUpstream::echo().await;
    let mut sections = String::from("rateLimits:\n");
    for case in &MODE_CASES {
        sections.push_str(&format!(
            "  {}:\n    capacity: 3\n    refillPerSecond: 0.01\n    store: redis\n    failureMode: {}\n{}",
            case.name, case.mode, case.extra
        ));
    }
    // A threshold no test reaches keeps the breaker closed, so every decision asks the fake;
    // a generous deadline keeps a slow machine from turning error replies into timeouts.
    sections.push_str(&format!(
        "redis:\n  url: redis://127.0.0.1:{}\n  timeoutMs: 1000\n  failureThreshold: 1000\n  cooldownMs: 60000\n",
        fake.port
    ));
    let routes: Vec<&str> = MODE_CASES.iter().map(|case| case.name).collect();
    let yaml = config(&upstream.endpoint(), &routes, &sections);
    let gateway = start(&yaml).await;
    let metrics = std::sync::Arc::clone(gateway.gateway.metrics());

    let mut decisions = 0;
    for case in &MODE_CASES {
        let path = format!("/{}", case.name);
        let mut seen = Vec::new();
        for _ in case.while_down {
            let (status, _, problem) = get(gateway.addr, &path).await;
            if status == 503 {
                assert_eq!(problem["code"], "rate_limit_store_unavailable");
            }
            seen.push(status);
        }
        assert_eq!(seen, case.while_down, "{} against error replies", case.mode);
        decisions += case.while_down.len();
    }
    assert_eq!(upstream.requests(), 5 + 2);
    assert_eq!(metrics.rate_limit_fallback_count(), decisions as u64);

    // Every decision sent one script call and got one error back; the only other commands
    // are the client's connection set-up, whose error replies it ignores.
    assert_eq!(fake.count("EVALSHA"), decisions, "{:?}", fake.commands());
    assert!(
        fake.commands()
            .iter()
            .all(|command| command == "EVALSHA" || command == "CLIENT SETINFO"),
        "{:?}",
        fake.commands()
    );
    wait_for("every error reply counted as a store error", || {
        metrics.rate_limit_store_error_count() == decisions as u64
    })
    .await;
    assert_eq!(metrics.rate_limit_breaker_state(), BREAKER_CLOSED);
    gateway.stop().await;
}
