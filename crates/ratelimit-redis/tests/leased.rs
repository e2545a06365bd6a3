//! Leased limits with several independent store instances sharing the machine's Redis.

mod common;

use std::sync::Arc;
use std::time::Duration;

use portcullis_config::model::{FailureMode, RateLimitStore};
use portcullis_ratelimit::LimitSpec;
use portcullis_ratelimit_redis::{DecisionSource, RedisSettings, RedisStore};

use common::{shared_redis_url, spec, unique_prefix};

const INSTANCES: usize = 3;
const LEASE: u32 = 10;

fn leased_spec(capacity: f64) -> LimitSpec {
    LimitSpec {
        store: RateLimitStore::RedisLeased,
        lease_size: LEASE,
        ..spec(capacity, 0.000_1, FailureMode::FailClosed)
    }
}

fn instances(url: &str, prefix: &str) -> Vec<Arc<RedisStore>> {
    (0..INSTANCES)
        .map(|_| {
            let mut settings = RedisSettings::standalone(url);
            settings.key_prefix = prefix.to_string();
            settings.timeout = Duration::from_secs(2);
            Arc::new(RedisStore::new(&settings).expect("valid settings"))
        })
        .collect()
}

/// Every admitted request spent a token taken from the shared bucket, so the total never
/// exceeds the capacity; tokens leased but not spent are the only shortfall.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_never_admit_more_than_the_shared_bucket_holds() {
    let Some(url) = shared_redis_url() else {
        return;
    };
    let stores = instances(&url, &unique_prefix("leased-total"));
    let limit = Arc::new(leased_spec(100.0));
    let mut tasks = Vec::new();
    for store in &stores {
        for _ in 0..2 {
            let store = Arc::clone(store);
            let limit = Arc::clone(&limit);
            tasks.push(tokio::spawn(async move {
                let mut admitted = 0u64;
                let mut round_trips = 0u64;
                for _ in 0..60 {
                    let verdict = store.take_leased(&limit, "hot").await;
                    if verdict.source == DecisionSource::Redis {
                        round_trips += 1;
                    }
                    assert!(!verdict.source.is_degraded(), "{verdict:?}");
                    admitted += u64::from(verdict.admitted());
                }
                (admitted, round_trips)
            }));
        }
    }
    let mut admitted = 0;
    let mut round_trips = 0;
    for task in tasks {
        let (task_admitted, task_round_trips) = task.await.expect("task");
        admitted += task_admitted;
        round_trips += task_round_trips;
    }
    println!("admitted {admitted}, Redis round trips {round_trips} for 360 requests");
    assert!(admitted <= 100, "admitted {admitted} > capacity 100");
    assert!(
        admitted >= 100 - (LEASE as u64 - 1) * INSTANCES as u64,
        "admitted {admitted}: more than the unspent leases went missing"
    );
    assert!(
        round_trips < 360 / 2,
        "leases must save round trips ({round_trips})"
    );
}

/// The overshoot a client can see: once the shared bucket reads empty, the instances still
/// hold leased tokens, at most lease size × instances of them.
#[tokio::test]
async fn overshoot_after_the_shared_bucket_is_empty_is_bounded_by_the_leases() {
    let Some(url) = shared_redis_url() else {
        return;
    };
    let prefix = unique_prefix("leased-overshoot");
    let stores = instances(&url, &prefix);
    let limit = leased_spec(50.0);
    for store in &stores {
        let verdict = store.take_leased(&limit, "k").await;
        assert!(verdict.admitted());
        assert_eq!(verdict.source, DecisionSource::Redis);
    }
    // A fourth instance, exact mode, drains what the shared bucket still has: 50 − 3 × 10.
    let exact = instances(&url, &prefix).remove(0);
    let exact_limit = spec(50.0, 0.000_1, FailureMode::FailClosed);
    let mut drained = 0;
    while exact.take(&exact_limit, "k").await.admitted() {
        drained += 1;
    }
    assert_eq!(drained, 50 - INSTANCES * LEASE as usize);

    let mut overshoot = 0;
    for store in &stores {
        loop {
            let verdict = store.take_leased(&limit, "k").await;
            if !verdict.admitted() {
                assert_eq!(verdict.source, DecisionSource::Redis);
                // The next request is refused locally: the bucket is known to be empty.
                let again = store.take_leased(&limit, "k").await;
                assert!(!again.admitted());
                assert_eq!(again.source, DecisionSource::Lease);
                break;
            }
            assert_eq!(verdict.source, DecisionSource::Lease);
            overshoot += 1;
        }
    }
    assert_eq!(overshoot, INSTANCES * (LEASE as usize - 1));
    assert!(overshoot <= INSTANCES * LEASE as usize);
    // The total is still the capacity: leases move tokens in time, they do not create any.
    assert_eq!(INSTANCES + drained + overshoot, 50);
}
