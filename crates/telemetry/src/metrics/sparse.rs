//! Counters keyed by a small value, created on first use without locks.
//!
//! A route sees only a handful of (method, status) pairs, so a dense table (900 statuses ×
//! methods) would waste memory at 10,000 routes. Instead each key claims the first free slot
//! of a chain of 8-slot chunks; the first chunk lives inline, later ones are allocated once
//! when the previous fills up. Keys are never removed, so a key is always found before the
//! first free slot and never stored twice.
//!
//! A slot's key is a `OnceLock`: the first writer stores it, racing writers wait only for
//! that one store (once per key for the life of the process) and then everything is a
//! plain atomic load and `fetch_add`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

const SLOTS_PER_CHUNK: usize = 8;

#[derive(Debug, Default)]
struct Slot<K> {
    key: OnceLock<K>,
    count: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct SparseCounters<K> {
    slots: [Slot<K>; SLOTS_PER_CHUNK],
    next: OnceLock<Box<SparseCounters<K>>>,
}

impl<K: Copy + Eq> Default for SparseCounters<K> {
    fn default() -> Self {
        SparseCounters {
            slots: std::array::from_fn(|_| Slot {
                key: OnceLock::new(),
                count: AtomicU64::new(0),
            }),
            next: OnceLock::new(),
        }
    }
}

impl<K: Copy + Eq> SparseCounters<K> {
    /// Adds `amount` to `key`'s counter, claiming a slot on the key's first use.
    pub(crate) fn add(&self, key: K, amount: u64) {
        let mut chunk = self;
        loop {
            for slot in &chunk.slots {
                if *slot.key.get_or_init(|| key) == key {
                    slot.count.fetch_add(amount, Ordering::Relaxed);
                    return;
                }
            }
            chunk = chunk.next.get_or_init(Box::default);
        }
    }

    /// Every key seen so far with its count, in first-use order.
    pub(crate) fn for_each(&self, mut visit: impl FnMut(K, u64)) {
        let mut chunk = Some(self);
        while let Some(current) = chunk {
            for slot in &current.slots {
                match slot.key.get() {
                    Some(key) => visit(*key, slot.count.load(Ordering::Relaxed)),
                    None => return,
                }
            }
            chunk = current.next.get().map(|boxed| &**boxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn totals(counters: &SparseCounters<u32>) -> HashMap<u32, u64> {
        let mut seen = HashMap::new();
        counters.for_each(|key, count| {
            assert!(seen.insert(key, count).is_none(), "key {key} stored twice");
        });
        seen
    }

    #[test]
    fn keys_beyond_one_chunk_spill_into_the_next() {
        let counters = SparseCounters::<u32>::default();
        for round in 0..3 {
            for key in 0..20 {
                counters.add(key, u64::from(key) + round);
            }
        }
        let seen = totals(&counters);
        assert_eq!(seen.len(), 20);
        for key in 0..20u32 {
            assert_eq!(seen[&key], 3 * u64::from(key) + 3);
        }
    }

    #[test]
    fn concurrent_first_use_never_duplicates_a_key() {
        let counters = SparseCounters::<u32>::default();
        std::thread::scope(|scope| {
            for thread in 0..4u32 {
                let counters = &counters;
                scope.spawn(move || {
                    for index in 0..2_000u32 {
                        counters.add((index + thread) % 24, 1);
                    }
                });
            }
        });
        let seen = totals(&counters);
        assert_eq!(seen.len(), 24);
        assert_eq!(seen.values().sum::<u64>(), 8_000);
    }
}
