//! Verified-token cache: skips signature verification for tokens seen recently.
//!
//! Keyed by the SHA-256 of the token (the token itself is not kept), valid until the earlier of
//! the token's `exp` and a TTL, bounded in size. It takes `&mut self` and no lock: the proxy
//! keeps one per worker thread (DESIGN §9: no locks shared across cores).

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::principal::Principal;

/// SHA-256 of a token, the cache key.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[derive(Debug)]
struct Entry {
    principal: Arc<Principal>,
    valid_until: u64,
}

#[derive(Debug)]
pub struct TokenCache {
    capacity: usize,
    ttl_seconds: u64,
    entries: HashMap<[u8; 32], Entry>,
}

impl TokenCache {
    pub fn new(capacity: usize, ttl_seconds: u64) -> Self {
        TokenCache {
            capacity,
            ttl_seconds,
            entries: HashMap::with_capacity(capacity.min(4096)),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The principal of a cached, still valid token; expired entries are dropped on sight.
    pub fn get(&mut self, token: &str, now_unix: u64) -> Option<Arc<Principal>> {
        let key = token_digest(token);
        match self.entries.get(&key) {
            Some(entry) if now_unix < entry.valid_until => Some(Arc::clone(&entry.principal)),
            Some(_) => {
                self.entries.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Remembers a verified token until `min(expires_at, now + ttl)`. When full, expired entries
    /// go first; if none expired, one arbitrary entry makes room (a miss only costs a verify).
    pub fn insert(
        &mut self,
        token: &str,
        principal: Arc<Principal>,
        expires_at: u64,
        now_unix: u64,
    ) {
        if self.capacity == 0 {
            return;
        }
        let valid_until = expires_at.min(now_unix.saturating_add(self.ttl_seconds));
        if valid_until <= now_unix {
            return;
        }
        if self.entries.len() >= self.capacity {
            self.entries.retain(|_, entry| now_unix < entry.valid_until);
        }
        if self.entries.len() >= self.capacity {
            if let Some(victim) = self.entries.keys().next().copied() {
                self.entries.remove(&victim);
            }
        }
        self.entries.insert(
            token_digest(token),
            Entry {
                principal,
                valid_until,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::AuthMethod;

    fn principal(subject: &str) -> Arc<Principal> {
        Arc::new(Principal {
            subject: subject.into(),
            tenant_id: None,
            scopes: Vec::new(),
            key_id: None,
            products: Vec::new(),
            method: AuthMethod::Jwt,
        })
    }

    #[test]
    fn entries_live_until_the_earlier_of_exp_and_ttl() {
        let mut cache = TokenCache::new(10, 60);
        cache.insert("short", principal("a"), 1_010, 1_000);
        cache.insert("long", principal("b"), 5_000, 1_000);
        assert_eq!(
            cache.get("short", 1_009).map(|p| p.subject.clone()),
            Some("a".into())
        );
        assert!(cache.get("short", 1_010).is_none(), "exp reached");
        assert!(cache.get("long", 1_059).is_some());
        assert!(cache.get("long", 1_060).is_none(), "ttl reached");
        assert!(cache.is_empty());
        cache.insert("dead", principal("c"), 900, 1_000);
        assert!(cache.get("dead", 1_000).is_none());
    }

    #[test]
    fn the_cache_stays_within_its_bound() {
        let mut cache = TokenCache::new(3, 60);
        for index in 0..10 {
            cache.insert(&format!("token-{index}"), principal("x"), 2_000, 1_000);
            assert!(cache.len() <= 3);
        }
        assert!(
            cache.get("token-9", 1_001).is_some(),
            "the newest entry is kept"
        );
        assert!(cache.get("other", 1_001).is_none());
    }
}
