//! Fixed-bucket latency histogram: one atomic per bucket plus the sum in nanoseconds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (inclusive, `le`) from 0.5 ms to 10 s, in nanoseconds and as labels.
pub(crate) const BOUNDS_NANOS: [u64; 14] = [
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];
pub(crate) const BOUND_LABELS: [&str; 14] = [
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
    "2.5", "5", "10",
];

/// Non-cumulative counts (last slot is above 10 s); cumulated when encoded, so an
/// observation touches exactly two atomics.
#[derive(Debug, Default)]
pub(crate) struct Histogram {
    buckets: [AtomicU64; BOUNDS_NANOS.len() + 1],
    sum_nanos: AtomicU64,
}

/// A consistent-enough copy for encoding.
pub(crate) struct HistogramSnapshot {
    /// Cumulative counts per bound, then the total (`+Inf`).
    pub(crate) cumulative: [u64; BOUNDS_NANOS.len() + 1],
    pub(crate) sum_seconds: f64,
}

impl HistogramSnapshot {
    pub(crate) fn count(&self) -> u64 {
        self.cumulative[BOUNDS_NANOS.len()]
    }
}

impl Histogram {
    pub(crate) fn observe(&self, latency: Duration) {
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        let index = BOUNDS_NANOS
            .iter()
            .position(|&bound| nanos <= bound)
            .unwrap_or(BOUNDS_NANOS.len());
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        let mut cumulative = [0u64; BOUNDS_NANOS.len() + 1];
        let mut running = 0u64;
        for (bucket, total) in self.buckets.iter().zip(cumulative.iter_mut()) {
            running = running.saturating_add(bucket.load(Ordering::Relaxed));
            *total = running;
        }
        HistogramSnapshot {
            cumulative,
            sum_seconds: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_inclusive_buckets() {
        let histogram = Histogram::default();
        histogram.observe(Duration::from_micros(500));
        histogram.observe(Duration::from_micros(501));
        histogram.observe(Duration::from_secs(11));
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.cumulative[0], 1);
        assert_eq!(snapshot.cumulative[1], 2);
        assert_eq!(snapshot.cumulative[13], 2);
        assert_eq!(snapshot.count(), 3);
        assert!((snapshot.sum_seconds - 11.001001).abs() < 1e-9);
    }
}
