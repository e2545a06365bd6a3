//! Redis killed and restarted: once it answers again, decisions return to Redis within one
//! probe of the first request (not after a cooldown), for every failure mode, and without any
//! request at all after a cooldown.

mod common;

use std::time::{Duration, Instant};

use portcullis_config::model::FailureMode;
use portcullis_ratelimit::LimitSpec;
use portcullis_ratelimit_redis::{BreakerState, DecisionSource, RedisSettings, RedisStore};

use common::{free_port, redis_binaries_available, spec, RedisChild};

/// The default cooldown: recovery must not wait for it when requests arrive.
const COOLDOWN: Duration = Duration::from_secs(1);
/// A probe is one connect and one PING on loopback (about a millisecond); this bound leaves
/// room for a loaded two-core machine and is still far below the cooldown.
const RECOVERY_BOUND: Duration = Duration::from_millis(300);

fn store(url: &str) -> RedisStore {
    let mut settings = RedisSettings::standalone(url);
    // Generous for a loaded test machine; the breaker opens on the first failure.
    settings.timeout = Duration::from_millis(250);
    settings.failure_threshold = 1;
    settings.cooldown = COOLDOWN;
    RedisStore::new(&settings).expect("valid settings")
}

fn degraded_source(mode: FailureMode) -> DecisionSource {
    match mode {
        FailureMode::FailOpen => DecisionSource::FailOpen,
        FailureMode::FailClosed => DecisionSource::FailClosed,
        FailureMode::LocalFallback => DecisionSource::LocalFallback,
    }
}

/// Takes one decision the way the limit's store says (exact or leased).
async fn take(store: &RedisStore, limit: &LimitSpec, leased: bool) -> DecisionSource {
    if leased {
        store.take_leased(limit, "tenant").await.source
    } else {
        store.take(limit, "tenant").await.source
    }
}

/// Redis up, then down (the mode decides, the breaker opens), then up again.
async fn outage(mode: FailureMode, leased: bool) -> (RedisStore, LimitSpec, RedisChild) {
    let directory = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let server = RedisChild::start(port, directory.path(), &[]);
    let store = store(&server.url());
    // One token per lease, so that every leased decision asks Redis.
    let limit = spec(1_000_000.0, 1_000.0, mode);
    assert_eq!(take(&store, &limit, leased).await, DecisionSource::Redis);

    server.stop();
    assert_eq!(take(&store, &limit, leased).await, degraded_source(mode));
    assert_ne!(store.breaker_state(), BreakerState::Closed);
    // Keep deciding while down, so probes fail against a dead port.
    for _ in 0..20 {
        assert_eq!(take(&store, &limit, leased).await, degraded_source(mode));
    }
    let restarted = RedisChild::start(port, directory.path(), &[]);
    (store, limit, restarted)
}

async fn decisions_return_within_a_probe_of_the_first_request(mode: FailureMode, leased: bool) {
    if !redis_binaries_available() {
        return;
    }
    let (store, limit, _server) = outage(mode, leased).await;
    // Redis answers again (RedisChild::start waited for its port). The first request may
    // still be decided by the mode; it asks for a probe, and decisions are Redis's again
    // within that probe.
    let first_request = Instant::now();
    let mut degraded = 0;
    loop {
        let source = take(&store, &limit, leased).await;
        if source == DecisionSource::Redis {
            break;
        }
        assert_eq!(source, degraded_source(mode));
        degraded += 1;
        assert!(
            first_request.elapsed() < RECOVERY_BOUND,
            "{mode:?} (leased {leased}): still degraded {:?} after the first request \
             ({degraded} decisions); stats {:?}",
            first_request.elapsed(),
            store.stats()
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = first_request.elapsed();
    eprintln!("{mode:?} leased={leased}: Redis decides again {elapsed:?} after the first request, {degraded} degraded decisions in between");
    assert_eq!(store.breaker_state(), BreakerState::Closed);
    assert!(store.stats().recoveries >= 1);
    // And it stays with Redis: the replaced connection is a working one.
    for _ in 0..20 {
        assert_eq!(take(&store, &limit, leased).await, DecisionSource::Redis);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_closed_returns_to_redis_within_a_probe() {
    decisions_return_within_a_probe_of_the_first_request(FailureMode::FailClosed, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_open_returns_to_redis_within_a_probe() {
    decisions_return_within_a_probe_of_the_first_request(FailureMode::FailOpen, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_fallback_returns_to_redis_within_a_probe() {
    decisions_return_within_a_probe_of_the_first_request(FailureMode::LocalFallback, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leased_limits_return_to_redis_within_a_probe() {
    decisions_return_within_a_probe_of_the_first_request(FailureMode::FailClosed, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_traffic_the_breaker_closes_by_itself_and_the_first_request_uses_redis() {
    if !redis_binaries_available() {
        return;
    }
    let (store, limit, _server) = outage(FailureMode::FailClosed, false).await;
    // No request: the recovery task's periodic probe (every cooldown) finds Redis.
    let deadline = Instant::now() + COOLDOWN * 5;
    while store.breaker_state() != BreakerState::Closed {
        assert!(
            Instant::now() < deadline,
            "the breaker never closed by itself: {:?}",
            store.stats()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        take(&store, &limit, false).await,
        DecisionSource::Redis,
        "the first request after Redis returned must be decided by Redis"
    );
}
