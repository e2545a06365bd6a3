//! Authentication and authorization on the data plane (DESIGN §5 phases 5 and 6).
//!
//! The decisions live in the pure `portcullis-policy` crate; this module wires them to the
//! request: which credential a request carries, the keys and caches that outlive a snapshot
//! (JWKS key sets and their refresh tasks, the introspection cache, the nonce cache), the
//! identity headers sent upstream, and the 401/403 answers with their challenges.
//!
//! * [`AuthRuntime`] lives in the `Gateway` and survives snapshot swaps.
//! * [`SnapshotAuth`] is built when a snapshot is prepared, from the policy material
//!   (`portcullis_policy::material`, which refuses what cannot be built): per route (by
//!   `CompiledRoute::id`) the accepted methods and a `RouteAuthorizer`, and the verifiers.
//!   Installing it makes the long-lived state it chose current ([`AuthRuntime::install`]).
//! * `upstream_headers`: what the upstream sees afterwards (identity headers in, consumed
//!   credentials out, for every method alike).

mod credentials;
mod fetch;
mod introspect;
mod jwks;
mod jwt;
pub(crate) mod mtls;
mod phase;
mod secrets;
mod signed_body;
mod upstream_headers;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use http::request::Parts;
use http::HeaderValue;
use portcullis_config::model::{AuthMethod, AuthMode, Config, JwtAuthentication, Tenant};
use portcullis_error::{ErrorKind, GatewayError, Phase};
use portcullis_policy::apikey::ApiKeyStore;
use portcullis_policy::identity::IdentityHeaderNames;
use portcullis_policy::material::PolicyMaterial;
use portcullis_policy::mtls::{ClientIdentity, MtlsMapper};
use portcullis_policy::signature::{NonceCache, SignatureVerifier};
use portcullis_policy::{AuthFailure, Principal, RouteAuthorizer};
use portcullis_router::CompiledRoute;
use portcullis_telemetry::metrics::RouteMetrics;

pub(crate) use self::credentials::Credential;
use self::introspect::Introspector;
use self::jwks::JwksRegistry;
use self::jwt::JwtAuth;
pub(crate) use self::phase::authenticate_and_authorize;
pub use self::secrets::EnvironmentSecrets;

/// State that outlives snapshots: kept across swaps while its configuration is unchanged.
/// Preparing a snapshot picks the state it would use (the current one, or new state nobody
/// else sees yet); installing it makes that state current.
#[derive(Debug, Default)]
pub(crate) struct AuthRuntime {
    jwks: JwksRegistry,
    introspection: introspect::Registry,
    nonces: std::sync::Mutex<Option<(u32, Arc<NonceCache>)>>,
    token_cache: jwt::CacheGenerations,
}

impl AuthRuntime {
    /// The nonce cache for `capacity`: the current one when the capacity is unchanged (so a
    /// reload cannot reopen a replay window), else a new one.
    fn nonce_cache(&self, capacity: u32) -> Arc<NonceCache> {
        let current = self
            .nonces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match current.as_ref() {
            Some((size, cache)) if *size == capacity => Arc::clone(cache),
            _ => Arc::new(NonceCache::new(capacity as usize)),
        }
    }

    /// Builds a snapshot's authentication from its material, choosing the long-lived state it
    /// uses. Infallible: everything that can fail was built into `material` already.
    pub(crate) fn prepare(
        &self,
        material: PolicyMaterial,
        config: Arc<Config>,
        routes: &[Arc<CompiledRoute>],
    ) -> PreparedAuth {
        let authentication = &config.authentication;
        let configured: Vec<AuthMethod> = [
            (AuthMethod::Jwt, authentication.jwt.is_some()),
            (AuthMethod::ApiKey, authentication.api_keys.is_some()),
            (AuthMethod::Signature, authentication.signatures.is_some()),
            (AuthMethod::Mtls, authentication.mtls.is_some()),
            (
                AuthMethod::Introspection,
                authentication.introspection.is_some(),
            ),
        ]
        .into_iter()
        .filter_map(|(method, present)| present.then_some(method))
        .collect();
        let route_auth = routes
            .iter()
            .map(|route| RouteAuth {
                mode: route.auth,
                methods: if route.auth_methods.is_empty() {
                    configured.clone()
                } else {
                    route.auth_methods.clone()
                },
                authorizer: RouteAuthorizer::new(
                    route.authorization.as_ref(),
                    &config.admin_path_prefixes,
                ),
                forward_authorization: route.forward_authorization,
            })
            .collect();
        let PolicyMaterial {
            identity_headers,
            jwt,
            api_keys,
            signatures,
            mtls,
            introspection,
            ..
        } = material;
        let jwt = jwt
            .zip(authentication.jwt.as_ref())
            .map(|(material, settings)| {
                (
                    JwtAuth::build(material, settings, &self.jwks, &self.token_cache),
                    settings.clone(),
                )
            });
        let signatures =
            signatures
                .zip(authentication.signatures.as_ref())
                .map(|(verifier, settings)| {
                    let capacity = settings.nonce_cache_size;
                    (verifier, capacity, self.nonce_cache(capacity))
                });
        let introspection = introspection.map(|material| self.introspection.get(material));
        let token_generation = jwt
            .as_ref()
            .map(|(auth, settings)| (settings.clone(), auth.cache_generation()));
        let nonces = signatures
            .as_ref()
            .map(|(_, capacity, cache)| (*capacity, Arc::clone(cache)));
        PreparedAuth {
            auth: SnapshotAuth {
                routes: route_auth,
                config,
                identity_headers,
                jwt: jwt.map(|(auth, _)| auth),
                api_keys,
                signatures: signatures.map(|(verifier, _, cache)| (verifier, cache)),
                mtls,
                introspection,
            },
            token_generation,
            nonces,
        }
    }

    /// Makes the prepared snapshot's long-lived state current and starts what must run in the
    /// background (JWKS refresh of new issuers). Cheap and infallible.
    pub(crate) fn install(&self, prepared: PreparedAuth) -> SnapshotAuth {
        let PreparedAuth {
            auth,
            token_generation,
            nonces,
        } = prepared;
        if let Some((settings, generation)) = token_generation {
            self.token_cache.commit(settings, generation);
        }
        if let Some(nonces) = nonces {
            *self
                .nonces
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(nonces);
        }
        if let Some(introspector) = &auth.introspection {
            self.introspection.commit(introspector);
        }
        if let Some(jwt) = &auth.jwt {
            jwt.start();
        }
        auth
    }
}

/// A snapshot's authentication, built, with the long-lived state it chose (made current when
/// it is installed).
#[derive(Debug)]
pub(crate) struct PreparedAuth {
    auth: SnapshotAuth,
    token_generation: Option<(JwtAuthentication, u64)>,
    nonces: Option<(u32, Arc<NonceCache>)>,
}

/// One route's authentication settings, indexed by `CompiledRoute::id`.
#[derive(Debug)]
struct RouteAuth {
    mode: AuthMode,
    /// Resolved: a route that names none accepts every configured method.
    methods: Vec<AuthMethod>,
    authorizer: RouteAuthorizer,
    forward_authorization: bool,
}

impl RouteAuth {
    fn accepts(&self, method: AuthMethod) -> bool {
        self.methods.contains(&method)
    }
}

/// Everything authentication needs for one snapshot.
#[derive(Debug)]
pub(crate) struct SnapshotAuth {
    routes: Vec<RouteAuth>,
    config: Arc<Config>,
    identity_headers: IdentityHeaderNames,
    jwt: Option<JwtAuth>,
    api_keys: Option<ApiKeyStore>,
    signatures: Option<(SignatureVerifier, Arc<NonceCache>)>,
    mtls: Option<MtlsMapper>,
    introspection: Option<Arc<Introspector>>,
}

/// Why a request was refused: the error and the challenge for `WWW-Authenticate`.
#[derive(Debug)]
pub(crate) struct AuthRejection {
    pub(crate) error: GatewayError,
    pub(crate) challenge: Option<HeaderValue>,
}

impl AuthRejection {
    fn unauthenticated(failure: AuthFailure, metrics: Option<&RouteMetrics>) -> Self {
        if let Some(metrics) = metrics {
            metrics.auth_failure(failure.code());
        }
        AuthRejection {
            error: failure.to_gateway_error(),
            challenge: Some(failure.www_authenticate()),
        }
    }

    /// A route accepts a method its snapshot has no verifier for. Cannot happen: validation
    /// ties route methods to configured sections, and a snapshot is only installed once every
    /// configured section was built. Refused (fail closed) should it ever.
    fn not_configured(metrics: Option<&RouteMetrics>) -> Self {
        Self::unavailable("method_not_configured", metrics)
    }

    fn unavailable(reason: &'static str, metrics: Option<&RouteMetrics>) -> Self {
        if let Some(metrics) = metrics {
            metrics.auth_failure(reason);
        }
        AuthRejection {
            error: GatewayError::gateway(ErrorKind::AuthUnavailable, Phase::Authenticate)
                .with_detail(reason),
            challenge: None,
        }
    }
}

/// Seconds since the Unix epoch (the policy crate takes the clock as an argument).
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

impl SnapshotAuth {
    fn route(&self, route: &CompiledRoute) -> Option<&RouteAuth> {
        self.routes.get(route.id)
    }

    /// Client-sent identity headers are never forwarded, whatever the route says.
    pub(crate) fn strip_identity_headers(&self, headers: &mut http::HeaderMap) {
        self.identity_headers.strip(headers);
    }

    /// Phase 5. `Ok(None)`: anonymous (`auth: none`, or `optional` without credentials).
    pub(crate) async fn authenticate(
        &self,
        route: &CompiledRoute,
        parts: &Parts,
        has_body: bool,
        client_identity: Option<&ClientIdentity>,
        metrics: Option<&RouteMetrics>,
    ) -> Result<Option<Arc<Principal>>, AuthRejection> {
        let Some(route_auth) = self.route(route) else {
            // A snapshot always has one entry per route; refuse rather than pass.
            return Err(AuthRejection::unavailable("route_auth_missing", metrics));
        };
        if route_auth.mode == AuthMode::None {
            return Ok(None);
        }
        let now = unix_now();
        let credential = credentials::find(self, route_auth, parts, client_identity)
            .map_err(|failure| AuthRejection::unauthenticated(failure, metrics))?;
        let Some(credential) = credential else {
            return match route_auth.mode {
                AuthMode::Required => Err(AuthRejection::unauthenticated(
                    AuthFailure::MissingCredentials,
                    metrics,
                )),
                _ => Ok(None),
            };
        };
        // Boxed: verification may fetch keys or introspect over the network, and that state
        // would otherwise be carried inline by every request's future, `auth: none` included.
        Box::pin(self.verify(credential, parts, has_body, now, metrics))
            .await
            .map(Some)
    }

    async fn verify(
        &self,
        credential: Credential<'_>,
        parts: &Parts,
        has_body: bool,
        now: u64,
        metrics: Option<&RouteMetrics>,
    ) -> Result<Arc<Principal>, AuthRejection> {
        let fail = |failure| AuthRejection::unauthenticated(failure, metrics);
        match credential {
            Credential::Jwt(token) => match &self.jwt {
                Some(jwt) => jwt.authenticate(token, now).await.map_err(fail),
                None => Err(AuthRejection::not_configured(metrics)),
            },
            Credential::Introspection(token) => match &self.introspection {
                Some(introspector) => {
                    introspector
                        .authenticate(token, now)
                        .await
                        .map_err(|error| match error {
                            introspect::IntrospectionError::Refused(failure) => fail(failure),
                            introspect::IntrospectionError::Unavailable => {
                                AuthRejection::unavailable("introspection_unavailable", metrics)
                            }
                        })
                }
                None => Err(AuthRejection::not_configured(metrics)),
            },
            Credential::ApiKey => match &self.api_keys {
                Some(store) => match store.authenticate(parts, now as i64) {
                    Ok(Some(principal)) => Ok(Arc::new(principal)),
                    Ok(None) => Err(fail(AuthFailure::MissingCredentials)),
                    Err(failure) => Err(fail(failure)),
                },
                None => Err(AuthRejection::not_configured(metrics)),
            },
            Credential::Signature => match &self.signatures {
                Some((verifier, nonces)) => match verifier.verify(parts, has_body, now, nonces) {
                    Ok(Some(principal)) => Ok(Arc::new(principal)),
                    Ok(None) => Err(fail(AuthFailure::MissingCredentials)),
                    Err(failure) => Err(fail(failure)),
                },
                None => Err(AuthRejection::not_configured(metrics)),
            },
            Credential::ClientCertificate(identity) => match &self.mtls {
                Some(mapper) => mapper.authenticate(identity).map(Arc::new).map_err(fail),
                None => Err(fail(AuthFailure::ClientCertificateUnmapped)),
            },
        }
    }

    /// Phase 6: coarse checks. 403 with `insufficient_scope`.
    pub(crate) fn authorize(
        &self,
        route: &CompiledRoute,
        principal: Option<&Principal>,
        path: &str,
        metrics: Option<&RouteMetrics>,
    ) -> Result<(), AuthRejection> {
        let Some(route_auth) = self.route(route) else {
            return Err(AuthRejection::unavailable("route_auth_missing", metrics));
        };
        let tenants: &BTreeMap<String, Tenant> = &self.config.tenants;
        route_auth
            .authorizer
            .authorize(principal, path, tenants)
            .map_err(|denial| {
                if let Some(metrics) = metrics {
                    metrics.authorization_denial(denial.reason.code());
                }
                AuthRejection {
                    error: denial.to_gateway_error(),
                    challenge: Some(denial.www_authenticate),
                }
            })
    }
}
