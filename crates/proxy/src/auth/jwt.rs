//! JWT authentication for one snapshot: the verifier over the current key sets (rebuilt
//! when a JWKS refresh changed them), the per-thread verified-token cache, and the
//! unknown-`kid` refresh.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis_config::model::JwtAuthentication;
use portcullis_policy::jwt::{IssuerPolicy, JwtVerifier, KeySet, TokenCache, VerifiedToken};
use portcullis_policy::material::{self, JwtMaterial};
use portcullis_policy::{AuthFailure, Principal};

use super::jwks::{IssuerKeys, JwksRegistry};

/// Where an issuer's keys come from.
#[derive(Debug)]
enum KeySource {
    Inline(Arc<KeySet>),
    Fetched(Arc<IssuerKeys>),
}

impl KeySource {
    fn keys(&self) -> Arc<KeySet> {
        match self {
            KeySource::Inline(keys) => Arc::clone(keys),
            KeySource::Fetched(issuer) => issuer.keys(),
        }
    }
}

#[derive(Debug)]
struct BuiltVerifier {
    /// The registry epoch the key sets were read at.
    epoch: u64,
    verifier: JwtVerifier,
}

/// Token caches are per worker thread (DESIGN §9: no lock shared across cores). A
/// generation names the JWT configuration the cached answers were computed under: a
/// reload that keeps it keeps the caches; one that changes it empties them.
#[derive(Debug, Default)]
pub(super) struct CacheGenerations {
    current: Mutex<Option<(JwtAuthentication, u64)>>,
}

/// Generations are unique in the process, so two gateways (tests) never share answers.
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

impl CacheGenerations {
    /// The generation for `config`: the current one when the configuration is unchanged,
    /// else a new one, which [`CacheGenerations::commit`] makes current at install.
    fn generation_for(&self, config: &JwtAuthentication) -> u64 {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        match current.as_ref() {
            Some((known, generation)) if known == config => *generation,
            _ => NEXT_GENERATION.fetch_add(1, Ordering::Relaxed),
        }
    }

    pub(super) fn commit(&self, config: JwtAuthentication, generation: u64) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some((config, generation));
    }
}

thread_local! {
    static TOKEN_CACHE: RefCell<Option<(u64, TokenCache)>> = const { RefCell::new(None) };
}

#[derive(Debug)]
pub(super) struct JwtAuth {
    issuers: Vec<(IssuerPolicy, KeySource)>,
    verifier: ArcSwap<BuiltVerifier>,
    epoch: Arc<AtomicU64>,
    cache_generation: u64,
    cache_size: usize,
    cache_ttl_seconds: u64,
}

impl JwtAuth {
    /// JWT authentication for one snapshot from its built material. Fetched issuers share the
    /// registry's keys (new ones are not fetching yet: see [`JwtAuth::start`]).
    pub(super) fn build(
        material: JwtMaterial,
        config: &JwtAuthentication,
        registry: &JwksRegistry,
        generations: &CacheGenerations,
    ) -> JwtAuth {
        let issuers: Vec<(IssuerPolicy, KeySource)> = material
            .issuers
            .into_iter()
            .map(|issuer| {
                let source = match issuer.keys {
                    material::KeySource::Inline(keys) => KeySource::Inline(keys),
                    material::KeySource::Fetched { uri, refresh } => {
                        KeySource::Fetched(registry.issuer(&issuer.policy.issuer, uri, refresh))
                    }
                };
                (issuer.policy, source)
            })
            .collect();
        let epoch = Arc::clone(registry.epoch());
        let built = build_verifier(&issuers, epoch.load(Ordering::Acquire));
        JwtAuth {
            issuers,
            verifier: ArcSwap::from_pointee(built),
            epoch,
            cache_generation: generations.generation_for(config),
            cache_size: config.token_cache_size as usize,
            cache_ttl_seconds: config.token_cache_ttl_seconds,
        }
    }

    /// At install: fetched issuers start refreshing (those already running keep on).
    pub(super) fn start(&self) {
        for (_, source) in &self.issuers {
            if let KeySource::Fetched(keys) = source {
                keys.start();
            }
        }
    }

    pub(super) fn cache_generation(&self) -> u64 {
        self.cache_generation
    }

    /// Verifies `token` (cache first). An unknown `kid` of a fetched issuer may refresh its
    /// JWKS once per cooldown and retry.
    pub(super) async fn authenticate(
        &self,
        token: &str,
        now: u64,
    ) -> Result<Arc<Principal>, AuthFailure> {
        if let Some(principal) = self.cached(token, now) {
            return Ok(principal);
        }
        let epoch_seen = self.epoch.load(Ordering::Acquire);
        match self.verify(token, now) {
            Err(AuthFailure::UnknownKeyId) => {
                let Some(issuer) = self.fetched_issuer_of(token) else {
                    return Err(AuthFailure::UnknownKeyId);
                };
                if !issuer.refresh_for_unknown_kid(epoch_seen).await {
                    return Err(AuthFailure::UnknownKeyId);
                }
                let verified = self.verify(token, super::unix_now())?;
                Ok(self.remember(token, verified, now))
            }
            Err(failure) => Err(failure),
            Ok(verified) => Ok(self.remember(token, verified, now)),
        }
    }

    fn verify(&self, token: &str, now: u64) -> Result<VerifiedToken, AuthFailure> {
        let epoch = self.epoch.load(Ordering::Acquire);
        let built = self.verifier.load();
        if built.epoch == epoch {
            return built.verifier.verify(token, now);
        }
        // Some issuer's keys changed since this verifier was built (rare): rebuild it.
        let rebuilt = Arc::new(build_verifier(&self.issuers, epoch));
        self.verifier.store(Arc::clone(&rebuilt));
        rebuilt.verifier.verify(token, now)
    }

    /// The fetched issuer named by the token's (unverified) `iss`, to decide whose JWKS an
    /// unknown `kid` may refresh. Only used on that failure path.
    fn fetched_issuer_of(&self, token: &str) -> Option<&Arc<IssuerKeys>> {
        let payload = token.split('.').nth(1)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        let issuer = claims.get("iss")?.as_str()?;
        self.issuers
            .iter()
            .find_map(|(policy, source)| match source {
                KeySource::Fetched(keys) if policy.issuer == issuer => Some(keys),
                _ => None,
            })
            .filter(|keys| keys.issuer() == issuer)
    }

    fn cached(&self, token: &str, now: u64) -> Option<Arc<Principal>> {
        if self.cache_size == 0 {
            return None;
        }
        TOKEN_CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            match cache.as_mut() {
                Some((generation, cache)) if *generation == self.cache_generation => {
                    cache.get(token, now)
                }
                _ => None,
            }
        })
    }

    fn remember(&self, token: &str, verified: VerifiedToken, now: u64) -> Arc<Principal> {
        let principal = Arc::new(verified.principal);
        if self.cache_size == 0 {
            return principal;
        }
        TOKEN_CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            let fresh = !matches!(cache.as_ref(), Some((generation, _)) if *generation == self.cache_generation);
            if fresh {
                *cache = Some((
                    self.cache_generation,
                    TokenCache::new(self.cache_size, self.cache_ttl_seconds),
                ));
            }
            if let Some((_, cache)) = cache.as_mut() {
                cache.insert(token, Arc::clone(&principal), verified.expires_at, now);
            }
        });
        principal
    }
}

fn build_verifier(issuers: &[(IssuerPolicy, KeySource)], epoch: u64) -> BuiltVerifier {
    BuiltVerifier {
        epoch,
        verifier: JwtVerifier::new(
            issuers
                .iter()
                .map(|(policy, source)| (policy.clone(), source.keys()))
                .collect(),
        ),
    }
}
