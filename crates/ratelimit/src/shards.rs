//! A bounded map split into independently locked shards, so that concurrent requests on
//! different cores rarely meet on one lock and no lock is shared by all cores.
//!
//! Every entry says when it stops carrying state (`expires_at`: a bucket that has refilled
//! completely, a quota counter whose window has ended); such entries are dropped whenever a
//! shard needs room and by [`ShardedMap::evict_expired`]. When a shard is full of live entries
//! it drops the sixteenth of them that expire soonest (the buckets closest to full), so the
//! cost of making room is amortised O(1) per insertion and a flood of new keys cannot grow
//! memory past the bound.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// An entry that knows when it stops carrying state.
pub(crate) trait Expiring {
    /// The store time (nanoseconds or seconds, the store's choice) from which the entry can be
    /// dropped without changing any decision.
    fn expires_at(&self) -> u64;
}

/// The fraction of a full shard that is freed at once when no entry has expired.
const EVICTION_BATCH_DIVISOR: usize = 16;

type Shard<V> = Mutex<HashMap<Box<str>, V>>;

pub(crate) struct ShardedMap<V> {
    shards: Box<[Shard<V>]>,
    shard_mask: usize,
    per_shard_limit: usize,
    hasher: RandomState,
}

/// The default shard count: the next power of two at or above four per core.
pub fn default_shard_count() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
    (cores * 4).next_power_of_two()
}

impl<V: Expiring> ShardedMap<V> {
    /// `shard_count` is rounded up to a power of two; `max_entries` is split evenly (rounded up,
    /// so the true bound is `max_entries` rounded up to a multiple of the shard count).
    pub fn new(max_entries: usize, shard_count: usize) -> Self {
        let shard_count = shard_count.max(1).next_power_of_two();
        let per_shard_limit = max_entries.max(1).div_ceil(shard_count);
        let shards = (0..shard_count)
            .map(|_| Mutex::new(HashMap::new()))
            .collect::<Vec<_>>()
            .into_boxed_slice();
        ShardedMap {
            shards,
            shard_mask: shard_count - 1,
            per_shard_limit,
            hasher: RandomState::new(),
        }
    }

    /// The most entries this map ever holds.
    pub fn capacity(&self) -> usize {
        self.per_shard_limit * self.shards.len()
    }

    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Runs `update` on the entry for `key`, creating it with `create` when absent (making room
    /// first if the shard is full).
    pub fn update<R>(
        &self,
        key: &str,
        now: u64,
        create: impl FnOnce() -> V,
        update: impl FnOnce(&mut V) -> R,
    ) -> R {
        let mut shard = self.lock(key);
        if let Some(entry) = shard.get_mut(key) {
            return update(entry);
        }
        if shard.len() >= self.per_shard_limit {
            make_room(&mut shard, now, self.per_shard_limit);
        }
        let entry = shard.entry(Box::from(key)).or_insert_with(create);
        update(entry)
    }

    /// Runs `update` on the entry for `key` only if it exists.
    pub fn update_existing<R>(&self, key: &str, update: impl FnOnce(&mut V) -> R) -> Option<R> {
        self.lock(key).get_mut(key).map(update)
    }

    /// Drops every entry that carries no state at `now`; returns how many were dropped.
    pub fn evict_expired(&self, now: u64) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
                let before = shard.len();
                shard.retain(|_, entry| entry.expires_at() > now);
                before - shard.len()
            })
            .sum()
    }

    /// Entries held now (locks each shard in turn; for tests and metrics, not the hot path).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    fn lock(&self, key: &str) -> MutexGuard<'_, HashMap<Box<str>, V>> {
        let index = (self.hasher.hash_one(key) as usize) & self.shard_mask;
        // A panic while holding a shard lock cannot leave an entry half-written in a way that
        // matters (each entry is a few numbers), so a poisoned lock is used as is.
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn make_room<V: Expiring>(shard: &mut HashMap<Box<str>, V>, now: u64, limit: usize) {
    shard.retain(|_, entry| entry.expires_at() > now);
    let batch = (limit / EVICTION_BATCH_DIVISOR).max(1);
    let target = limit.saturating_sub(batch);
    if shard.len() <= target {
        return;
    }
    let excess = shard.len() - target;
    let mut expiries: Vec<u64> = shard.values().map(Expiring::expires_at).collect();
    let (_, threshold, _) = expiries.select_nth_unstable(excess - 1);
    let threshold = *threshold;
    let strictly_sooner = expiries.iter().filter(|&&at| at < threshold).count();
    let mut ties_to_drop = excess - strictly_sooner;
    shard.retain(|_, entry| {
        let at = entry.expires_at();
        if at < threshold {
            false
        } else if at == threshold && ties_to_drop > 0 {
            ties_to_drop -= 1;
            false
        } else {
            true
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Until(u64);
    impl Expiring for Until {
        fn expires_at(&self) -> u64 {
            self.0
        }
    }

    #[test]
    fn shard_count_is_a_power_of_two() {
        assert!(default_shard_count().is_power_of_two());
        assert!(default_shard_count() >= 4);
        let map: ShardedMap<Until> = ShardedMap::new(100, 6);
        assert_eq!(map.shard_count(), 8);
        assert_eq!(map.capacity(), 104);
    }

    #[test]
    fn expired_entries_make_room_first() {
        let map: ShardedMap<Until> = ShardedMap::new(32, 1);
        for index in 0..32 {
            let expiry = if index == 7 { 5 } else { 1_000 };
            map.update(&format!("k{index}"), 0, || Until(expiry), |_| ());
        }
        map.update("new", 10, || Until(1_000), |_| ());
        // The expired k7 goes first; one live entry more makes up the batch of 32 / 16 = 2.
        assert_eq!(map.len(), 31);
        assert!(map.update_existing("k7", |_| ()).is_none());
        assert!(map.update_existing("new", |_| ()).is_some());
    }

    #[test]
    fn a_full_shard_drops_the_soonest_expiring_batch() {
        let map: ShardedMap<Until> = ShardedMap::new(64, 1);
        for index in 0..64u64 {
            map.update(&format!("k{index}"), 0, || Until(100 + index), |_| ());
        }
        map.update("new", 0, || Until(500), |_| ());
        // 64 / 16 = 4 freed before the insert: k0..k3 go, k4 stays.
        assert_eq!(map.len(), 61);
        assert!(map.update_existing("k3", |_| ()).is_none());
        assert!(map.update_existing("k4", |_| ()).is_some());
        assert!(map.update_existing("new", |_| ()).is_some());
    }

    #[test]
    fn ties_do_not_empty_the_shard() {
        let map: ShardedMap<Until> = ShardedMap::new(64, 1);
        for index in 0..200 {
            map.update(&format!("k{index}"), 0, || Until(7), |_| ());
            assert!(map.len() <= 64);
        }
        assert!(map.len() >= 60);
    }

    #[test]
    fn evict_expired_counts_what_it_dropped() {
        let map: ShardedMap<Until> = ShardedMap::new(100, 4);
        for index in 0..10u64 {
            map.update(&format!("k{index}"), 0, || Until(index), |_| ());
        }
        assert_eq!(map.evict_expired(4), 5);
        assert_eq!(map.len(), 5);
    }
}
