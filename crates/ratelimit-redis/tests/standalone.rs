//! The store against the machine's Redis (127.0.0.1:6379).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_config::model::{FailureMode, KeyDimension, QuotaWindow};
use portcullis_ratelimit::{window_bounds, QuotaSpec};
use portcullis_ratelimit_redis::{testing, DecisionSource, RedisSettings, RedisStore};

use common::{shared_redis_url, spec, unique_prefix};

/// A store on the shared Redis with a deadline generous enough for a loaded test machine.
fn store(url: &str, test: &str) -> RedisStore {
    let mut settings = RedisSettings::standalone(url);
    settings.key_prefix = unique_prefix(test);
    settings.timeout = Duration::from_secs(2);
    RedisStore::new(&settings).expect("valid settings")
}

async fn raw_connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("valid url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis")
}

#[tokio::test]
async fn exact_bucket_drains_refuses_and_sets_a_ttl() {
    let Some(url) = shared_redis_url() else {
        return;
    };
    let store = store(&url, "exact");
    let limit = spec(3.0, 0.001, FailureMode::FailClosed);
    for expected_left in [2, 1, 0] {
        let verdict = store.take(&limit, "tenant-a").await;
        assert_eq!(verdict.source, DecisionSource::Redis);
        assert!(verdict.admitted());
        assert_eq!(verdict.decision.remaining(), expected_left);
    }
    let refused = store.take(&limit, "tenant-a").await;
    assert_eq!(refused.source, DecisionSource::Redis);
    assert!(!refused.admitted());
    assert!(refused.decision.retry_after_seconds() >= 999);
    // Another key has its own bucket.
    assert!(store.take(&limit, "tenant-b").await.admitted());

    let mut connection = raw_connection(&url).await;
    let ttl: i64 = redis::cmd("PTTL")
        .arg(store.bucket_key("tenant-a"))
        .query_async(&mut connection)
        .await
        .expect("PTTL");
    assert!(ttl > 0, "an idle bucket must expire (PTTL {ttl})");
    assert_eq!(store.stats().errors, 0);
}

#[tokio::test]
async fn refund_gives_a_token_back() {
    let Some(url) = shared_redis_url() else {
        return;
    };
    let store = store(&url, "refund");
    let limit = spec(1.0, 0.001, FailureMode::FailClosed);
    assert!(store.take(&limit, "k").await.admitted());
    assert!(!store.take(&limit, "k").await.admitted());
    store.refund(&limit, "k").await;
    assert!(store.take(&limit, "k").await.admitted());
}

#[tokio::test]
async fn scripts_are_reloaded_after_script_flush() {
    let Some(url) = shared_redis_url() else {
        return;
    };
    let store = store(&url, "noscript");
    let limit = spec(10.0, 1.0, FailureMode::FailClosed);
    assert_eq!(store.take(&limit, "k").await.source, DecisionSource::Redis);
    let mut connection = raw_connection(&url).await;
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut connection)
        .await
        .expect("SCRIPT FLUSH");
    let verdict = store.take(&limit, "k").await;
    assert_eq!(
        verdict.source,
        DecisionSource::Redis,
        "NOSCRIPT must reload"
    );
    assert_eq!(verdict.decision.remaining(), 8);
}

#[tokio::test]
async fn quota_counts_to_the_limit_then_refuses() {
    let Some(url) = shared_redis_url() else {
        return;
    };
    let store = store(&url, "quota");
    let quota = QuotaSpec {
        name: "monthly".into(),
        limit: 3,
        window: QuotaWindow::Month,
        key: vec![KeyDimension::TenantId].into(),
    };
    let mut verdicts = Vec::new();
    for _ in 0..4 {
        verdicts.push(store.hit_quota(&quota, "monthly|t").await);
    }
    // A month boundary between the calls would legitimately restart the count.
    if verdicts
        .iter()
        .any(|v| v.decision.window_end != verdicts[0].decision.window_end)
    {
        eprintln!("month rolled over during the test; nothing to check");
        return;
    }
    assert!(verdicts.iter().all(|verdict| verdict.from_redis));
    let admitted: Vec<bool> = verdicts.iter().map(|v| v.decision.admitted).collect();
    assert_eq!(admitted, [true, true, true, false]);
    assert_eq!(verdicts[3].decision.used, 3);
    assert_eq!(verdicts[3].decision.remaining(), 0);
    let first = verdicts[0];
    assert_eq!(
        (
            first.decision.window_end - first.decision.window_seconds,
            first.decision.window_end
        ),
        window_bounds(QuotaWindow::Month, first.unix_seconds),
        "Redis and Rust agree on the window"
    );
    store.refund_quota(&quota, "monthly|t").await;
    assert!(store.hit_quota(&quota, "monthly|t").await.decision.admitted);

    let mut connection = raw_connection(&url).await;
    let ttl: i64 = redis::cmd("PTTL")
        .arg(store.quota_key("monthly|t"))
        .query_async(&mut connection)
        .await
        .expect("PTTL");
    assert!(ttl > 0 && ttl <= 31 * 86_400_000 + 1_000, "PTTL {ttl}");
}

#[tokio::test]
async fn lua_windows_match_the_rust_windows() {
    let Some(url) = shared_redis_url() else {
        return;
    };
    let mut connection = raw_connection(&url).await;
    let moments = [
        0,
        59,
        60,
        951_782_399,   // 2000-02-28T23:59:59Z
        951_868_799,   // 2000-02-29T23:59:59Z
        951_868_800,   // 2000-03-01T00:00:00Z
        1_709_251_199, // 2024-02-29T23:59:59Z
        1_709_251_200, // 2024-03-01T00:00:00Z
        1_735_689_599, // 2024-12-31T23:59:59Z
        1_735_689_600, // 2025-01-01T00:00:00Z
        1_764_300_000,
        4_107_542_400, // 2100-03-01T00:00:00Z (2100 is not a leap year)
        4_107_455_999,
    ];
    for moment in moments {
        for (name, window) in [
            ("minute", QuotaWindow::Minute),
            ("hour", QuotaWindow::Hour),
            ("day", QuotaWindow::Day),
            ("month", QuotaWindow::Month),
        ] {
            let lua = testing::lua_window_bounds(&mut connection, name, moment)
                .await
                .expect("window probe");
            assert_eq!(lua, window_bounds(window, moment), "{name} at {moment}");
        }
    }
}

/// Admitted requests over about two seconds of concurrent load on one key stay within
/// `capacity + refill × elapsed` and no more than 1% below it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_load_on_one_key_is_accurate() {
    let Some(url) = shared_redis_url() else {
        return;
    };
    let prefix = unique_prefix("accuracy");
    let stores: Vec<Arc<RedisStore>> = (0..3)
        .map(|_| {
            let mut settings = RedisSettings::standalone(url.as_str());
            settings.key_prefix = prefix.clone();
            settings.timeout = Duration::from_secs(2);
            Arc::new(RedisStore::new(&settings).expect("valid settings"))
        })
        .collect();
    let limit = Arc::new(spec(100.0, 200.0, FailureMode::FailClosed));
    let run_for = Duration::from_secs(2);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..12 {
        let store = Arc::clone(&stores[task % stores.len()]);
        let limit = Arc::clone(&limit);
        tasks.push(tokio::spawn(async move {
            let mut admitted = 0u64;
            let mut attempts = 0u64;
            while started.elapsed() < run_for {
                attempts += 1;
                if store.take(&limit, "hot").await.admitted() {
                    admitted += 1;
                }
            }
            (admitted, attempts)
        }));
    }
    let mut admitted = 0;
    let mut attempts = 0;
    for task in tasks {
        let (task_admitted, task_attempts) = task.await.expect("load task");
        admitted += task_admitted;
        attempts += task_attempts;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ceiling = 100.0 + 200.0 * elapsed;
    println!("admitted {admitted} of {attempts} in {elapsed:.3}s; ceiling {ceiling:.1}");
    for store in &stores {
        assert_eq!(
            store.stats().degraded_decisions,
            0,
            "every decision came from Redis"
        );
    }
    assert!(
        attempts as f64 > ceiling * 2.0,
        "the load must exceed the limit"
    );
    assert!(
        admitted as f64 <= ceiling,
        "admitted {admitted} > {ceiling}"
    );
    assert!(
        admitted as f64 >= ceiling * 0.99,
        "admitted {admitted} < 99% of {ceiling}"
    );
}
