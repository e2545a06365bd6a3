//! A flood of distinct keys cannot grow the local store past its bound, and the buckets of
//! keys that are being limited survive it. Its own test binary, so the RSS reading is not
//! disturbed by other tests.

use std::time::{Duration, Instant};

use portcullis_ratelimit::{BucketParams, LocalBuckets};

const MAX_BUCKETS: usize = 50_000;
const FLOOD_KEYS: usize = 1_000_000;
const LIVE_KEYS: usize = 10;

/// Resident set size of this process in bytes (Linux), if readable.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[test]
fn a_million_distinct_keys_stay_within_the_bound() {
    let params = BucketParams {
        capacity: 5.0,
        refill_per_second: 1.0,
    };
    let store = LocalBuckets::new(MAX_BUCKETS);
    let rss_before = resident_bytes();
    let start = Instant::now();
    let live: Vec<String> = (0..LIVE_KEYS)
        .map(|index| format!("live-{index}"))
        .collect();
    for key in &live {
        for _ in 0..5 {
            assert!(store.take(key, params, start).admitted);
        }
    }

    let mut key = String::with_capacity(32);
    let mut largest = 0;
    for index in 0..FLOOD_KEYS {
        // 100 ns per request: the whole flood spans 0.1 s, so drained buckets stay drained.
        let now = start + Duration::from_nanos(100 * index as u64);
        key.clear();
        key.push_str("flood-");
        key.push_str(&index.to_string());
        assert!(
            store.take(&key, params, now).admitted,
            "a new key starts full"
        );
        if index % 50_000 == 0 {
            largest = largest.max(store.len());
            for live_key in &live {
                assert!(
                    !store.take(live_key, params, now).admitted,
                    "{live_key} must stay limited during the flood (request {index})"
                );
            }
        }
    }
    largest = largest.max(store.len());
    assert!(largest <= store.max_buckets(), "{largest} buckets > bound");
    assert!(store.max_buckets() < MAX_BUCKETS + store.shard_count());

    if let (Some(before), Some(after)) = (rss_before, resident_bytes()) {
        let grown = after.saturating_sub(before);
        // Unbounded, a million buckets take about 90 MB; the bound keeps it to a few MB.
        println!("RSS grew by {} KiB for {largest} buckets", grown / 1024);
        assert!(grown < 40 * 1024 * 1024, "RSS grew by {grown} bytes");
    }
}

#[test]
fn concurrent_takes_on_one_key_admit_exactly_the_capacity() {
    let params = BucketParams {
        capacity: 1_000.0,
        refill_per_second: 0.000_001,
    };
    let store = LocalBuckets::new(1_000);
    let now = Instant::now();
    let admitted: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    (0..500)
                        .filter(|_| store.take("shared", params, now).admitted)
                        .count()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("worker finishes"))
            .sum()
    });
    assert_eq!(admitted, 1_000);
}
