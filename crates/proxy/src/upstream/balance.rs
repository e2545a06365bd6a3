//! Endpoint choice: least outstanding requests between two endpoints picked at random
//! ("power of two choices"), or round robin.
//!
//! Both work on a slice of per-endpoint counters that requests bump on the way out and a
//! guard lowers again, so a slow endpoint (many requests still open) stops attracting
//! traffic without any shared lock: each choice reads two atomics.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use rand::Rng;

/// Anything that reports how many requests it is serving right now.
pub(crate) trait Outstanding {
    fn outstanding(&self) -> u32;
}

impl Outstanding for AtomicU32 {
    fn outstanding(&self) -> u32 {
        self.load(Ordering::Relaxed)
    }
}

/// Least-request with two random choices. `endpoints` must not be empty. With one
/// endpoint there is nothing to choose and no randomness is drawn.
pub(crate) fn least_request<E: Outstanding>(endpoints: &[E], rng: &mut impl Rng) -> usize {
    let count = endpoints.len();
    if count <= 1 {
        return 0;
    }
    let first = rng.random_range(0..count);
    // Draw the second from the remaining `count - 1` slots so the two are always distinct.
    let mut second = rng.random_range(0..count - 1);
    if second >= first {
        second += 1;
    }
    if endpoints[second].outstanding() < endpoints[first].outstanding() {
        second
    } else {
        first
    }
}

/// Round robin over `count` endpoints (`count` must not be zero).
pub(crate) fn round_robin(counter: &AtomicUsize, count: usize) -> usize {
    counter.fetch_add(1, Ordering::Relaxed) % count
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn loads(values: &[u32]) -> Vec<AtomicU32> {
        values.iter().map(|value| AtomicU32::new(*value)).collect()
    }

    #[test]
    fn single_endpoint_is_always_chosen() {
        let endpoints = loads(&[7]);
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..10 {
            assert_eq!(least_request(&endpoints, &mut rng), 0);
        }
    }

    #[test]
    fn two_endpoints_always_pick_the_less_loaded() {
        let endpoints = loads(&[5, 1]);
        let mut rng = StdRng::seed_from_u64(2);
        for _ in 0..50 {
            assert_eq!(least_request(&endpoints, &mut rng), 1);
        }
    }

    #[test]
    fn the_most_loaded_of_three_is_never_chosen() {
        // Any pair of distinct endpoints contains one that is less loaded than index 0.
        let endpoints = loads(&[10, 0, 0]);
        let mut rng = StdRng::seed_from_u64(3);
        let mut picks = [0usize; 3];
        for _ in 0..300 {
            picks[least_request(&endpoints, &mut rng)] += 1;
        }
        assert_eq!(picks[0], 0, "picks: {picks:?}");
        assert!(picks[1] > 50 && picks[2] > 50, "load not spread: {picks:?}");
    }

    #[test]
    fn equal_loads_spread_over_every_endpoint() {
        let endpoints = loads(&[0, 0, 0, 0]);
        let mut rng = StdRng::seed_from_u64(4);
        let mut picks = [0usize; 4];
        for _ in 0..4000 {
            picks[least_request(&endpoints, &mut rng)] += 1;
        }
        for count in picks {
            assert!((800..1200).contains(&count), "uneven spread: {picks:?}");
        }
    }

    #[test]
    fn round_robin_cycles_in_order() {
        let counter = AtomicUsize::new(0);
        let order: Vec<usize> = (0..7).map(|_| round_robin(&counter, 3)).collect();
        assert_eq!(order, vec![0, 1, 2, 0, 1, 2, 0]);
    }
}
