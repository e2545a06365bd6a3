//! OAuth2 token introspection (RFC 7662): the call to the endpoint and the answer cache.
//!
//! Active tokens are cached until the earlier of their `exp` and `cacheTtlSeconds`, inactive
//! ones for `inactiveCacheTtlSeconds`. When the endpoint cannot answer, tokens in the cache
//! keep working and the others get 503 (fail closed). The cache is shared by all worker
//! threads behind one lock, like the nonce cache: a token cached by one thread must keep
//! working on every thread while the endpoint is down, and a hit costs one hash lookup.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::{HeaderValue, StatusCode, Uri};
use portcullis_config::model::IntrospectionAuthentication;
use portcullis_policy::introspection::{parse_response, request_body};
use portcullis_policy::jwt::token_digest;
use portcullis_policy::material::IntrospectionMaterial;
use portcullis_policy::{AuthFailure, Principal};

use super::fetch::FetchClient;

/// Most answers remembered; when full, expired ones go first, then arbitrary ones.
const CACHE_CAPACITY: usize = 100_000;
/// Largest introspection answer read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

#[derive(Debug)]
pub(super) enum IntrospectionError {
    /// 401: the endpoint said the token is not active.
    Refused(AuthFailure),
    /// 503: no cached answer and the endpoint could not give one.
    Unavailable,
}

/// Keeps the introspector (and its cache) across swaps while its settings and credentials
/// are unchanged.
#[derive(Debug, Default)]
pub(super) struct Registry {
    current: Mutex<Option<Arc<Introspector>>>,
}

impl Registry {
    /// The introspector for `material`: the current one when nothing changed, else a new one
    /// (with an empty cache) that [`Registry::commit`] makes current at install.
    pub(super) fn get(&self, material: IntrospectionMaterial) -> Arc<Introspector> {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(introspector) = current.as_ref() {
            if introspector.settings == material.settings
                && introspector.endpoint == material.endpoint
                && introspector.authorization == material.authorization
            {
                return Arc::clone(introspector);
            }
        }
        Arc::new(Introspector::new(material))
    }

    pub(super) fn commit(&self, introspector: &Arc<Introspector>) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(Arc::clone(introspector));
    }
}

#[derive(Debug)]
struct CachedAnswer {
    answer: Result<Arc<Principal>, AuthFailure>,
    until: u64,
}

#[derive(Debug)]
pub(super) struct Introspector {
    settings: IntrospectionAuthentication,
    endpoint: Uri,
    /// `Basic` client credentials, built (and the secret read) when the snapshot was prepared.
    authorization: HeaderValue,
    timeout: Duration,
    client: FetchClient,
    cache: Mutex<HashMap<[u8; 32], CachedAnswer>>,
}

impl Introspector {
    fn new(material: IntrospectionMaterial) -> Introspector {
        let IntrospectionMaterial {
            settings,
            endpoint,
            authorization,
        } = material;
        Introspector {
            timeout: Duration::from_millis(settings.timeout_ms.max(1)),
            settings,
            endpoint,
            authorization,
            client: FetchClient::default(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub(super) async fn authenticate(
        &self,
        token: &str,
        now: u64,
    ) -> Result<Arc<Principal>, IntrospectionError> {
        let key = token_digest(token);
        if let Some(answer) = self.cached(&key, now) {
            return answer.map_err(IntrospectionError::Refused);
        }
        let response = self
            .client
            .post_form(
                &self.endpoint,
                &self.authorization,
                request_body(token),
                MAX_RESPONSE_BYTES,
                self.timeout,
            )
            .await;
        let now = super::unix_now();
        let introspected = match response {
            Ok(response) if response.status == StatusCode::OK => {
                parse_response(&response.body, &self.settings, now)
            }
            Ok(response) => Err(format!("status {}", response.status.as_u16())),
            Err(error) => Err(error),
        };
        let introspected = introspected.map_err(|error| {
            tracing::warn!(endpoint = %self.settings.endpoint, %error, "token introspection failed");
            IntrospectionError::Unavailable
        })?;
        let until = introspected.cache_until(&self.settings, now);
        let answer = introspected.principal().cloned().map(Arc::new);
        self.remember(key, answer.clone(), until, now);
        answer.map_err(IntrospectionError::Refused)
    }

    fn cached(&self, key: &[u8; 32], now: u64) -> Option<Result<Arc<Principal>, AuthFailure>> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        match cache.get(key) {
            Some(entry) if now < entry.until => Some(entry.answer.clone()),
            Some(_) => {
                cache.remove(key);
                None
            }
            None => None,
        }
    }

    fn remember(
        &self,
        key: [u8; 32],
        answer: Result<Arc<Principal>, AuthFailure>,
        until: u64,
        now: u64,
    ) {
        if until <= now {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, entry| now < entry.until);
            if cache.len() >= CACHE_CAPACITY {
                if let Some(victim) = cache.keys().next().copied() {
                    cache.remove(&victim);
                }
            }
        }
        cache.insert(key, CachedAnswer { answer, until });
    }
}
