//! JWKS key sets fetched over HTTP: fetched when an issuer first appears, refreshed in the
//! background (one tokio task per issuer, `Cache-Control: max-age` within the configured
//! bounds), refreshed early at most once per cooldown for an unknown `kid`, and kept while
//! the endpoint is down up to the max-stale age.
//!
//! Key sets are shared across snapshot swaps: the registry hands out the same
//! [`IssuerKeys`] for an unchanged (issuer, URI, refresh settings). It holds them weakly,
//! so an issuer removed from the config stops refreshing once the last snapshot using it
//! is gone. New keys start fetching when their snapshot is installed, never while it is
//! only prepared.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use http::header::CACHE_CONTROL;
use http::Uri;
use portcullis_policy::jwt::{KeySet, KidRefreshGate, RefreshPolicy};

use super::fetch::FetchClient;
use super::unix_now;

/// Largest JWKS document accepted (provider sets are a few KiB).
const MAX_JWKS_BYTES: usize = 1024 * 1024;
/// How long one JWKS request may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct IssuerKey {
    issuer: String,
    uri: String,
    policy: (u64, u64, u64, u64),
}

/// Every issuer's keys, shared across snapshots.
#[derive(Debug, Default)]
pub(super) struct JwksRegistry {
    issuers: Mutex<HashMap<IssuerKey, Weak<IssuerKeys>>>,
    /// Bumped whenever any key set changes, so verifiers know to pick up new keys.
    epoch: Arc<AtomicU64>,
    client: FetchClient,
}

impl JwksRegistry {
    pub(super) fn epoch(&self) -> &Arc<AtomicU64> {
        &self.epoch
    }

    /// The shared keys of `issuer` at `uri`: the ones already in use when the issuer, URI and
    /// refresh settings are unchanged, else new, empty ones. New keys do not fetch until
    /// [`IssuerKeys::start`] (called when their snapshot is installed), so preparing a
    /// snapshot that is then refused starts nothing; it is dropped, and forgotten here.
    pub(super) fn issuer(&self, issuer: &str, uri: Uri, policy: RefreshPolicy) -> Arc<IssuerKeys> {
        let key = IssuerKey {
            issuer: issuer.to_string(),
            uri: uri.to_string(),
            policy: (
                policy.min_seconds,
                policy.max_seconds,
                policy.unknown_kid_cooldown_seconds,
                policy.max_stale_seconds,
            ),
        };
        let mut issuers = self.issuers.lock().unwrap_or_else(PoisonError::into_inner);
        issuers.retain(|_, keys| keys.strong_count() > 0);
        if let Some(existing) = issuers.get(&key).and_then(Weak::upgrade) {
            return existing;
        }
        let keys = Arc::new(IssuerKeys {
            issuer: issuer.to_string(),
            uri,
            policy,
            keys: ArcSwap::from_pointee(KeySet::default()),
            fetched_at: AtomicU64::new(0),
            attempts: AtomicU64::new(0),
            next_due: AtomicU64::new(0),
            gate: Mutex::new(KidRefreshGate::default()),
            fetch_lock: tokio::sync::Mutex::new(()),
            client: self.client.clone(),
            epoch: Arc::clone(&self.epoch),
            started: AtomicBool::new(false),
        });
        issuers.insert(key, Arc::downgrade(&keys));
        keys
    }
}

/// One issuer's fetched key set and its refresh state.
#[derive(Debug)]
pub(super) struct IssuerKeys {
    issuer: String,
    uri: Uri,
    policy: RefreshPolicy,
    keys: ArcSwap<KeySet>,
    /// Unix seconds of the last successful fetch; 0 before the first.
    fetched_at: AtomicU64,
    /// Unix seconds when the next scheduled refresh is due; 0: now.
    next_due: AtomicU64,
    /// Fetch attempts so far (successful or not): waiters use it to tell that a fetch
    /// happened while they queued.
    attempts: AtomicU64,
    gate: Mutex<KidRefreshGate>,
    /// One fetch at a time per issuer.
    fetch_lock: tokio::sync::Mutex<()>,
    client: FetchClient,
    epoch: Arc<AtomicU64>,
    /// Set once the background refresh runs.
    started: AtomicBool,
}

impl IssuerKeys {
    pub(super) fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Starts fetching now and refreshing in the background (when a tokio runtime is running),
    /// for as long as a snapshot uses these keys. Once per issuer: later calls do nothing.
    pub(super) fn start(self: &Arc<Self>) {
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(refresh_loop(Arc::downgrade(self)));
            }
            Err(_) => tracing::warn!(
                issuer = %self.issuer,
                "no async runtime at install: JWKS keys are fetched on first use only"
            ),
        }
    }

    pub(super) fn keys(&self) -> Arc<KeySet> {
        self.keys.load_full()
    }

    /// A token named a `kid` this issuer's set does not hold, when verified against the
    /// keys of registry epoch `epoch_seen`. Returns true when keys changed since (a fetch
    /// by this request or one it waited for) and verification is worth retrying; false
    /// when the cooldown forbids a refresh (the request fails fast).
    pub(super) async fn refresh_for_unknown_kid(&self, epoch_seen: u64) -> bool {
        let attempts_before = self.attempts.load(Ordering::Acquire);
        let _fetching = self.fetch_lock.lock().await;
        if self.epoch.load(Ordering::Acquire) != epoch_seen
            || self.attempts.load(Ordering::Acquire) != attempts_before
        {
            return true;
        }
        let now = unix_now();
        // Until anything was tried there is nothing to wait for; after that, one refresh
        // per cooldown (also while the endpoint has never answered).
        if self.attempts.load(Ordering::Acquire) != 0 {
            let allowed = self
                .gate
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .try_refresh(self.policy.unknown_kid_cooldown_seconds, now);
            if !allowed {
                return false;
            }
        }
        self.fetch_locked().await.is_ok()
    }

    /// Seconds until the next scheduled refresh; when it is due, fetch first (one fetch at
    /// a time: a fetch made meanwhile for an unknown `kid` reschedules this one).
    async fn refresh_when_due(&self) -> u64 {
        let due_in = |keys: &IssuerKeys| {
            keys.next_due
                .load(Ordering::Acquire)
                .saturating_sub(unix_now())
        };
        if due_in(self) > 0 {
            return due_in(self);
        }
        let _fetching = self.fetch_lock.lock().await;
        if due_in(self) == 0 {
            self.expire_stale(unix_now());
            let _ = self.fetch_locked().await;
        }
        due_in(self)
    }

    /// The fetch itself; the caller holds `fetch_lock`.
    async fn fetch_locked(&self) -> Result<(), ()> {
        self.attempts.fetch_add(1, Ordering::AcqRel);
        let fetched = self
            .client
            .get(&self.uri, MAX_JWKS_BYTES, FETCH_TIMEOUT)
            .await
            .and_then(|response| {
                let cache_control = response
                    .headers
                    .get(CACHE_CONTROL)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_string);
                if response.status != http::StatusCode::OK {
                    return Err(format!("status {}", response.status.as_u16()));
                }
                let (keys, skipped) =
                    KeySet::from_jwks_json(&response.body).map_err(|error| error.to_string())?;
                Ok((keys, skipped, cache_control))
            });
        let now = unix_now();
        match fetched {
            Ok((keys, skipped, cache_control)) => {
                for reason in skipped {
                    tracing::warn!(issuer = %self.issuer, %reason, "JWKS key skipped");
                }
                tracing::debug!(issuer = %self.issuer, keys = keys.len(), "JWKS fetched");
                self.keys.store(Arc::new(keys));
                self.fetched_at.store(now.max(1), Ordering::Release);
                self.epoch.fetch_add(1, Ordering::AcqRel);
                let next = self.policy.next_refresh_in(cache_control.as_deref()).max(1);
                self.next_due.store(now + next, Ordering::Release);
                Ok(())
            }
            Err(error) => {
                // Retry after the lower bound, not at the full interval.
                self.next_due
                    .store(now + self.policy.min_seconds.max(1), Ordering::Release);
                let fetched_at = self.fetched_at.load(Ordering::Acquire);
                if fetched_at == 0 {
                    tracing::warn!(issuer = %self.issuer, uri = %self.uri, %error, "JWKS fetch failed; no keys yet");
                } else if self.policy.keys_usable(fetched_at, now) {
                    tracing::warn!(issuer = %self.issuer, uri = %self.uri, %error, age_seconds = now.saturating_sub(fetched_at), "JWKS fetch failed; keeping the last keys");
                } else if !self.keys.load().is_empty() {
                    tracing::error!(issuer = %self.issuer, uri = %self.uri, %error, "JWKS fetch failed past maxStaleSeconds; dropping the stale keys");
                    self.keys.store(Arc::new(KeySet::default()));
                    self.epoch.fetch_add(1, Ordering::AcqRel);
                }
                Err(())
            }
        }
    }

    /// Drops keys older than the max-stale age (checked on each scheduled tick as well, so
    /// stale keys go even when no fetch is attempted in between).
    fn expire_stale(&self, now: u64) {
        let fetched_at = self.fetched_at.load(Ordering::Acquire);
        if fetched_at != 0
            && !self.policy.keys_usable(fetched_at, now)
            && !self.keys.load().is_empty()
        {
            tracing::error!(issuer = %self.issuer, "JWKS keys older than maxStaleSeconds; dropping them");
            self.keys.store(Arc::new(KeySet::default()));
            self.epoch.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// The background refresher of one issuer: fetch now, then again after `max-age` (within
/// bounds); after a failure, retry after the lower bound. Ends when the issuer is no longer
/// used by any snapshot.
async fn refresh_loop(keys: Weak<IssuerKeys>) {
    loop {
        let wait = {
            let Some(keys) = keys.upgrade() else {
                return;
            };
            keys.refresh_when_due().await
        };
        tokio::time::sleep(Duration::from_secs(wait.max(1))).await;
    }
}
