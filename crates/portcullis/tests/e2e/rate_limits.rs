//! Global rate limits across processes: three real gateways share the real Redis at
//! 127.0.0.1:6379 (skipped loudly when it is not reachable; a failure under `CI=true`).
//!
//! * Exact (`store: redis`): concurrent bursts at one key admit no more than
//!   capacity + refill × elapsed, and not fewer than 99% of capacity + refill × the window in
//!   which the bucket was deciding throughout (the first answer to the last request sent).
//! * Leased (`store: redisLeased`): within an interval the instances may overshoot by what
//!   they hold, at most lease size × instances.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::harness::{self, GatewayProcess, HttpClient};
use crate::upstream;
use portcullis_testkit::services::{shared_redis_reachable, SHARED_REDIS};

const INSTANCES: usize = 3;

/// A Redis key prefix no other run uses, so parallel runs never share a bucket.
fn unique_prefix(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!("pce2e-{test}-{}-{nanos}", std::process::id())
}

/// Three gateways on one config: route `/acc` limited by `acc` (defined in `limit_yaml`).
fn start_gateways(
    dir: &std::path::Path,
    upstream: SocketAddr,
    limit_yaml: &str,
) -> Vec<GatewayProcess> {
    let yaml = harness::config_yaml(
        &[("/acc", "acc", upstream)],
        &dir.join("access.log"),
        limit_yaml,
    )
    .replace(
        "      timeoutMs: 20000\n",
        "      timeoutMs: 20000\n      rateLimit: acc\n",
    );
    let path = harness::config_path(dir);
    std::fs::write(&path, yaml).expect("write config");
    (0..INSTANCES)
        .map(|_| tokio::task::block_in_place(|| GatewayProcess::serve(&path, &[])))
        .collect()
}

/// Counts of one burst, and its outer interval: from the first request sent to the last
/// answer received.
struct Burst {
    admitted: u64,
    refused: u64,
    other: u64,
    /// From the start until every answer arrived: the longest the bucket can have refilled
    /// while it decided (the upper bound's window).
    elapsed: Duration,
    /// From the first answer received to the last request sent: a window the bucket decided
    /// throughout (its first decision came before the first answer, its last after the last
    /// send), so the shortest it can have refilled (the lower bound's window). The tail after
    /// the last send, and a slow first connection on a loaded machine, are outside it.
    decided: Duration,
}

/// `tasks_per_instance` loops per gateway, each sending a request every `pace` until
/// `duration` has passed since the start.
async fn burst(
    gateways: &[SocketAddr],
    tasks_per_instance: usize,
    pace: Duration,
    duration: Duration,
) -> Burst {
    let admitted = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let other = Arc::new(AtomicU64::new(0));
    // Nanoseconds since `started`: the first answer received, the last request sent.
    let first_answer = Arc::new(AtomicU64::new(u64::MAX));
    let last_sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for gateway in gateways {
        for _ in 0..tasks_per_instance {
            let (gateway, admitted, refused, other) = (
                *gateway,
                Arc::clone(&admitted),
                Arc::clone(&refused),
                Arc::clone(&other),
            );
            let (first_answer, last_sent) = (Arc::clone(&first_answer), Arc::clone(&last_sent));
            let since_start =
                move || u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            tasks.push(tokio::spawn(async move {
                let client: HttpClient = harness::client();
                while started.elapsed() < duration {
                    last_sent.fetch_max(since_start(), Ordering::Relaxed);
                    let (status, _, _) = harness::get(&client, gateway, "/acc/x").await;
                    first_answer.fetch_min(since_start(), Ordering::Relaxed);
                    let counter = match status {
                        200 => &admitted,
                        429 => &refused,
                        _ => &other,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(pace).await;
                }
            }));
        }
    }
    for task in tasks {
        task.await.expect("burst task");
    }
    Burst {
        admitted: admitted.load(Ordering::Relaxed),
        refused: refused.load(Ordering::Relaxed),
        other: other.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        decided: Duration::from_nanos(
            last_sent
                .load(Ordering::Relaxed)
                .saturating_sub(first_answer.load(Ordering::Relaxed)),
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_gateways_sharing_redis_admit_capacity_plus_refill_times_elapsed() {
    if !shared_redis_reachable() {
        return;
    }
    const CAPACITY: f64 = 100.0;
    const REFILL: f64 = 50.0;
    let dir = harness::temp_dir();
    let alpha = upstream::named("alpha").await;
    // failClosed: a store failure can only lower the count, never inflate it; a generous
    // deadline and threshold keep a busy test machine from tripping the breaker.
    let limit = format!(
        "rateLimits:\n  acc:\n    capacity: {CAPACITY}\n    refillPerSecond: {REFILL}\n    store: redis\n    failureMode: failClosed\nredis:\n  url: redis://{SHARED_REDIS}\n  timeoutMs: 500\n  failureThreshold: 1000\n  keyPrefix: {}\n",
        unique_prefix("exact")
    );
    let gateways = start_gateways(dir.path(), alpha.addr(), &limit);
    let addresses: Vec<SocketAddr> = gateways.iter().map(|gateway| gateway.listener).collect();

    // 12 clients, each every 10 ms: demand well above the refill rate throughout.
    let result = burst(
        &addresses,
        4,
        Duration::from_millis(10),
        Duration::from_secs(3),
    )
    .await;
    let allowed = CAPACITY + REFILL * result.elapsed.as_secs_f64();
    let owed = CAPACITY + REFILL * result.decided.as_secs_f64();
    eprintln!(
        "accuracy: admitted {} refused {} other {} in {:.3} s (decided throughout {:.3} s); \
         capacity + refill × window = {owed:.1} to {allowed:.1} ({:.2}% of the upper bound)",
        result.admitted,
        result.refused,
        result.other,
        result.elapsed.as_secs_f64(),
        result.decided.as_secs_f64(),
        100.0 * result.admitted as f64 / allowed
    );
    assert_eq!(result.other, 0, "every answer is 200 or 429");
    assert!(
        result.refused > result.admitted,
        "demand exceeded the limit"
    );
    assert!(
        result.admitted as f64 <= allowed,
        "admitted {} > capacity + refill × elapsed = {allowed:.1}",
        result.admitted
    );
    assert!(
        result.admitted as f64 >= owed * 0.99,
        "admitted {} < 99% of capacity + refill × the window decided throughout = {owed:.1}",
        result.admitted
    );
    assert_eq!(alpha.requests() as u64, result.admitted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leased_limits_overshoot_by_at_most_lease_size_times_instances() {
    if !shared_redis_reachable() {
        return;
    }
    const CAPACITY: f64 = 60.0;
    const REFILL: f64 = 20.0;
    const LEASE: u64 = 10;
    let dir = harness::temp_dir();
    let alpha = upstream::named("alpha").await;
    let limit = format!(
        "rateLimits:\n  acc:\n    capacity: {CAPACITY}\n    refillPerSecond: {REFILL}\n    store: redisLeased\n    leaseSize: {LEASE}\n    failureMode: failClosed\nredis:\n  url: redis://{SHARED_REDIS}\n  timeoutMs: 500\n  failureThreshold: 1000\n  keyPrefix: {}\n",
        unique_prefix("leased")
    );
    let gateways = start_gateways(dir.path(), alpha.addr(), &limit);
    let addresses: Vec<SocketAddr> = gateways.iter().map(|gateway| gateway.listener).collect();
    let client = harness::client();

    // Each instance leases LEASE tokens and spends one, keeping LEASE - 1; then the shared
    // bucket refills completely while the leases are still held (they last 3 s here).
    for address in &addresses {
        let (status, _, _) = harness::get(&client, *address, "/acc/prime").await;
        assert_eq!(status, 200);
    }
    let refill_wait = Duration::from_secs_f64(INSTANCES as f64 * LEASE as f64 / REFILL);
    tokio::time::sleep(refill_wait).await;

    let result = burst(
        &addresses,
        3,
        Duration::from_millis(5),
        Duration::from_millis(500),
    )
    .await;
    let exact = CAPACITY + REFILL * result.elapsed.as_secs_f64();
    let bound = exact + (LEASE * INSTANCES as u64) as f64;
    eprintln!(
        "leased: admitted {} in {:.3} s; capacity + refill × elapsed = {exact:.1}; overshoot {:.1} (bound lease size × instances = {})",
        result.admitted,
        result.elapsed.as_secs_f64(),
        result.admitted as f64 - exact,
        LEASE * INSTANCES as u64
    );
    assert_eq!(result.other, 0, "every answer is 200 or 429");
    assert!(result.refused > 0, "demand exceeded the limit");
    assert!(
        result.admitted as f64 <= bound,
        "admitted {} > capacity + refill × elapsed + lease size × instances = {bound:.1}",
        result.admitted
    );
    // The held leases were spent on top of a full bucket: the overshoot is real, not zero.
    assert!(
        result.admitted as f64 > exact,
        "admitted {} ≤ {exact:.1}: the leases held before the interval were not spent",
        result.admitted
    );
}
