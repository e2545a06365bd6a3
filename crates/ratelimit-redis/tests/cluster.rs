//! The store against a 3-master Redis Cluster started on loopback ports for this test.

mod common;

use std::time::Duration;

use portcullis_config::model::{FailureMode, KeyDimension, QuotaWindow};
use portcullis_ratelimit::QuotaSpec;
use portcullis_ratelimit_redis::{DecisionSource, RedisSettings, RedisStore};

use common::{redis_binaries_available, spec, RedisCluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buckets_and_quotas_work_across_cluster_slots() {
    if !redis_binaries_available() {
        return;
    }
    let cluster = RedisCluster::start();
    let mut settings = RedisSettings::cluster(cluster.seed_nodes());
    settings.timeout = Duration::from_secs(2);
    let store = RedisStore::new(&settings).expect("valid settings");
    store
        .warm_up(Duration::from_secs(10))
        .await
        .expect("connect to the cluster");

    let limit = spec(2.0, 0.001, FailureMode::FailClosed);
    // Forty keys spread over the three masters' slots.
    for tenant in 0..40 {
        let key = format!("test-limit|tenant-{tenant}");
        let first = store.take(&limit, &key).await;
        let second = store.take(&limit, &key).await;
        let third = store.take(&limit, &key).await;
        assert_eq!(first.source, DecisionSource::Redis, "{key}");
        assert!(first.admitted() && second.admitted(), "{key}");
        assert!(!third.admitted(), "{key}");
        assert_eq!(third.source, DecisionSource::Redis);
    }

    let quota = QuotaSpec {
        name: "daily".into(),
        limit: 2,
        window: QuotaWindow::Day,
        key: vec![KeyDimension::TenantId].into(),
    };
    let hits = [
        store.hit_quota(&quota, "daily|t").await,
        store.hit_quota(&quota, "daily|t").await,
        store.hit_quota(&quota, "daily|t").await,
    ];
    assert!(hits.iter().all(|hit| hit.from_redis));
    if hits[0].decision.window_end == hits[2].decision.window_end {
        assert!(hits[0].decision.admitted && hits[1].decision.admitted);
        assert!(!hits[2].decision.admitted);
    }
    let stats = store.stats();
    assert_eq!(stats.errors + stats.timeouts, 0, "{stats:?}");

    // The slots of the keys are spread: more than one master holds buckets.
    let masters_with_keys = cluster
        .nodes
        .iter()
        .filter(|node| {
            std::process::Command::new("redis-cli")
                .args(["-p", &node.port.to_string(), "dbsize"])
                .output()
                .is_ok_and(|output| {
                    String::from_utf8_lossy(&output.stdout)
                        .trim()
                        .parse::<u64>()
                        .unwrap_or(0)
                        > 0
                })
        })
        .count();
    assert!(
        masters_with_keys >= 2,
        "keys landed on {masters_with_keys} master(s)"
    );
}
