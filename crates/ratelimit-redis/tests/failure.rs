//! Redis that never answers, Redis stopped and restarted: deadlines, the breaker, the failure
//! modes, and recovery.

mod common;

use std::time::{Duration, Instant};

use portcullis_config::model::FailureMode;
use portcullis_ratelimit::BucketParams;
use portcullis_ratelimit_redis::{BreakerState, DecisionSource, RedisSettings, RedisStore};

use common::{free_port, redis_binaries_available, spec, RedisChild, SilentListener};

const DEADLINE: Duration = Duration::from_millis(20);
/// Scheduling slack for a loaded two-core test machine, on top of the deadline.
const SLACK: Duration = Duration::from_millis(40);

fn silent_store(listener: &SilentListener, cooldown: Duration) -> RedisStore {
    let mut settings = RedisSettings::standalone(listener.url());
    settings.timeout = DEADLINE;
    settings.failure_threshold = 3;
    settings.cooldown = cooldown;
    RedisStore::new(&settings).expect("valid settings")
}

#[tokio::test]
async fn a_server_that_never_answers_costs_the_deadline_then_nothing() {
    let listener = SilentListener::start().await;
    let store = silent_store(&listener, Duration::from_secs(60));
    let limit = spec(10.0, 1.0, FailureMode::FailOpen);

    for attempt in 0..3 {
        let started = Instant::now();
        let verdict = store.take(&limit, "k").await;
        let cost = started.elapsed();
        assert_eq!(verdict.source, DecisionSource::FailOpen);
        assert!(verdict.admitted());
        assert!(cost <= DEADLINE + SLACK, "attempt {attempt} took {cost:?}");
    }
    assert_eq!(store.breaker_state(), BreakerState::Open);
    assert_eq!(store.stats().timeouts, 3);

    let started = Instant::now();
    for _ in 0..1_000 {
        assert_eq!(
            store.take(&limit, "k").await.source,
            DecisionSource::FailOpen
        );
    }
    let per_decision = started.elapsed() / 1_000;
    assert!(
        per_decision < Duration::from_millis(1),
        "an open breaker must cost ~0, not {per_decision:?}"
    );
    let stats = store.stats();
    assert_eq!(stats.calls, 3, "no Redis call while open: {stats:?}");
    assert_eq!(stats.breaker_refusals, 1_000);
    assert_eq!(stats.degraded_decisions, 1_003);
}

#[tokio::test]
async fn each_failure_mode_decides_while_redis_is_unavailable() {
    let listener = SilentListener::start().await;
    let store = silent_store(&listener, Duration::from_secs(60));
    // Open the breaker first, so the modes below are decided without waiting.
    for _ in 0..3 {
        store
            .take(&spec(1.0, 1.0, FailureMode::FailOpen), "warm")
            .await;
    }
    assert_eq!(store.breaker_state(), BreakerState::Open);

    let open = store
        .take(&spec(1.0, 1.0, FailureMode::FailOpen), "k")
        .await;
    assert!(open.admitted());
    assert_eq!(open.source, DecisionSource::FailOpen);

    let closed = store
        .take(&spec(1.0, 1.0, FailureMode::FailClosed), "k")
        .await;
    assert!(!closed.admitted());
    assert_eq!(closed.source, DecisionSource::FailClosed);
    assert_eq!(closed.decision.retry_after_seconds(), 1);

    // localFallback uses the per-instance emergency bucket: 2 tokens, not the limit's 100.
    let mut fallback = spec(100.0, 0.001, FailureMode::LocalFallback);
    fallback.fallback = BucketParams {
        capacity: 2.0,
        refill_per_second: 0.001,
    };
    let outcomes: Vec<bool> = {
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            let verdict = store.take(&fallback, "tenant").await;
            assert_eq!(verdict.source, DecisionSource::LocalFallback);
            outcomes.push(verdict.admitted());
        }
        outcomes
    };
    assert_eq!(outcomes, [true, true, false]);

    // Leased limits fall back the same way.
    let leased = store.take_leased(&fallback, "tenant").await;
    assert_eq!(leased.source, DecisionSource::LocalFallback);
    assert!(!leased.admitted());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_recovers_when_redis_comes_back() {
    if !redis_binaries_available() {
        return;
    }
    let directory = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let server = RedisChild::start(port, directory.path(), &[]);
    let mut settings = RedisSettings::standalone(server.url());
    settings.timeout = Duration::from_millis(250);
    settings.failure_threshold = 1;
    settings.cooldown = Duration::from_millis(200);
    let store = RedisStore::new(&settings).expect("valid settings");
    let limit = spec(1_000.0, 1.0, FailureMode::LocalFallback);

    assert_eq!(store.take(&limit, "k").await.source, DecisionSource::Redis);

    server.stop();
    let down = store.take(&limit, "k").await;
    assert_eq!(down.source, DecisionSource::LocalFallback);
    assert!(down.admitted());
    // Open, or half-open while the recovery task's probe is in flight.
    assert_ne!(store.breaker_state(), BreakerState::Closed);
    let calls_while_open = store.stats().calls;
    assert_eq!(
        store.take(&limit, "k").await.source,
        DecisionSource::LocalFallback
    );
    assert_eq!(store.stats().calls, calls_while_open, "no call while open");

    let _restarted = RedisChild::start(port, directory.path(), &[]);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut recovered = false;
    while Instant::now() < deadline {
        if store.take(&limit, "k").await.source == DecisionSource::Redis {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        recovered,
        "the breaker must probe and recover by itself: {:?}",
        store.stats()
    );
    assert_eq!(store.breaker_state(), BreakerState::Closed);
}
