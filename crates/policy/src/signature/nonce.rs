//! Replay protection for signature nonces: each (keyid, nonce) pair is remembered until its
//! signature could no longer pass the `created` window, and a second use is refused.
//!
//! Unlike the per-thread token cache this must be shared, or a replay sent to another worker
//! would pass. It takes a lock, which is acceptable: only partner requests that carry a nonce
//! reach it, and the critical section is one hash-map operation.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::failure::AuthFailure;

#[derive(Debug)]
pub struct NonceCache {
    capacity: usize,
    seen: Mutex<HashMap<(String, String), u64>>,
}

impl NonceCache {
    pub fn new(capacity: usize) -> Self {
        NonceCache {
            capacity,
            seen: Mutex::new(HashMap::new()),
        }
    }

    pub fn len(&self) -> usize {
        self.seen.lock().map(|seen| seen.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records the nonce until `remember_until` (Unix seconds). A nonce still remembered is a
    /// replay. When the cache is full of live nonces the request is refused (fail closed):
    /// forgetting one early would reopen its replay window.
    pub fn check_and_remember(
        &self,
        key_id: &str,
        nonce: &str,
        remember_until: u64,
        now_unix: u64,
    ) -> Result<(), AuthFailure> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still sound.
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (key_id.to_string(), nonce.to_string());
        if seen.get(&key).is_some_and(|until| now_unix < *until) {
            return Err(AuthFailure::NonceReplayed);
        }
        if seen.len() >= self.capacity {
            seen.retain(|_, until| now_unix < *until);
            if seen.len() >= self.capacity {
                return Err(AuthFailure::NonceCacheFull);
            }
        }
        seen.insert(key, remember_until);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_refused_while_remembered_and_scoped_to_its_key() {
        let cache = NonceCache::new(10);
        assert_eq!(
            cache.check_and_remember("partner", "n1", 1_600, 1_000),
            Ok(())
        );
        assert_eq!(
            cache.check_and_remember("partner", "n1", 1_600, 1_599),
            Err(AuthFailure::NonceReplayed)
        );
        assert_eq!(
            cache.check_and_remember("other", "n1", 1_600, 1_000),
            Ok(())
        );
        assert_eq!(
            cache.check_and_remember("partner", "n1", 2_200, 1_600),
            Ok(()),
            "window passed"
        );
    }

    #[test]
    fn a_full_cache_sheds_expired_nonces_then_fails_closed() {
        let cache = NonceCache::new(2);
        assert_eq!(cache.check_and_remember("k", "a", 1_010, 1_000), Ok(()));
        assert_eq!(cache.check_and_remember("k", "b", 1_100, 1_000), Ok(()));
        assert_eq!(
            cache.check_and_remember("k", "c", 1_100, 1_001),
            Err(AuthFailure::NonceCacheFull)
        );
        assert_eq!(
            cache.check_and_remember("k", "c", 1_100, 1_020),
            Ok(()),
            "a expired"
        );
        assert_eq!(cache.len(), 2);
    }
}
