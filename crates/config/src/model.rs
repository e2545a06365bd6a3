//! The external configuration model: the seed's YAML shape, camelCase keys.
//!
//! Every struct denies unknown fields so that a typo is an error rather than a silently
//! ignored setting. Maps are `BTreeMap` so that iteration (and therefore error order and
//! the canonical checksum) is deterministic. Defaults live in the `default_*` functions
//! below and are documented, field by field, in `docs/configuration.md`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A whole gateway configuration document. `Config::default()` equals what an empty document
/// parses to (one default listener included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Optional explicit version; standalone mode reports it as `configVersion` when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    #[serde(default)]
    pub routes: Vec<Route>,
    #[serde(default)]
    pub services: BTreeMap<String, Service>,
    #[serde(default)]
    pub rate_limits: BTreeMap<String, RateLimit>,
    #[serde(default)]
    pub quotas: BTreeMap<String, Quota>,
    /// The shared store for `store: redis` / `redisLeased` limits and for quotas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisSettings>,
    /// Bounds on the in-process rate-limit state.
    #[serde(default, skip_serializing_if = "LocalLimits::is_default")]
    pub local_limits: LocalLimits,
    #[serde(default)]
    pub authentication: Authentication,
    #[serde(default)]
    pub tenants: BTreeMap<String, Tenant>,
    #[serde(default)]
    pub defaults: Defaults,
    /// Request shaping applied to every route unless the route sets its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_policy: Option<RequestPolicy>,
    /// Hosts that only internal clients reach. Every other host (and a route with no host,
    /// which answers on any host) is public, and may only reach `visibility: public` services.
    #[serde(default)]
    pub internal_hosts: Vec<String>,
    #[serde(default = "default_listeners")]
    pub listeners: Vec<Listener>,
    #[serde(default)]
    pub admin: Admin,
    #[serde(default)]
    pub access_log: AccessLog,
    /// Path prefixes (segment-aware) whose requests need the `admin` scope.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admin_path_prefixes: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            version: None,
            routes: Vec::new(),
            services: BTreeMap::new(),
            rate_limits: BTreeMap::new(),
            quotas: BTreeMap::new(),
            redis: None,
            local_limits: LocalLimits::default(),
            authentication: Authentication::default(),
            tenants: BTreeMap::new(),
            defaults: Defaults::default(),
            request_policy: None,
            internal_hosts: Vec::new(),
            listeners: default_listeners(),
            admin: Admin::default(),
            access_log: AccessLog::default(),
            admin_path_prefixes: Vec::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Route {
    /// kebab-case, unique.
    pub name: String,
    #[serde(rename = "match")]
    pub matcher: RouteMatch,
    /// Final tie-breaker between routes at the same host and path: higher wins.
    #[serde(default)]
    pub priority: i32,
    pub upstream: RouteUpstream,
    #[serde(default)]
    pub policies: Policies,
    /// Overrides the top-level `requestPolicy` for this route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_policy: Option<RequestPolicy>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteMatch {
    /// Exact host (`api.example.com`), wildcard (`*.example.com`) or absent (any host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Exact path. Exactly one of `path` and `pathPrefix` must be set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Segment-aware prefix: `/v1/orders` matches `/v1/orders/7`, never `/v1/ordersX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// Upper-case method names; absent or empty means every method.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteUpstream {
    pub service: String,
    /// Port for endpoints given as bare hosts; must agree with endpoints that name a port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Pin one version of the service. Mutually exclusive with `splits`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Canary split; weights sum to 10000.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub splits: Vec<TrafficSplit>,
    /// What the split bucket is computed from (default: `x-user-id` header, else request id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_key: Option<SplitKey>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrafficSplit {
    pub version: String,
    pub weight: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SplitKey {
    /// Take the bucket key from this request header (falling back to the request id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Take the bucket key from the authenticated principal's subject.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub subject: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policies {
    /// Required: validation rejects a route without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthMode>,
    /// Methods the route accepts; empty means every method configured under `authentication`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auth_methods: Vec<AuthMethod>,
    /// A single rate-limit name (the seed's form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<String>,
    /// Several rate-limit names; all must admit the request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_limits: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quotas: Vec<String>,
    /// Route timeout; `defaults.timeoutMs` when absent. At most 30000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Retries (not tries); at most 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry_on: Vec<RetryOn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    /// Forward the client's `Authorization` header upstream (default false: stripped after
    /// the gateway authenticated the request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_authorization: Option<bool>,
    /// Add `RateLimit`/`RateLimit-Policy` headers to admitted responses.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rate_limit_headers: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AuthMode {
    Required,
    Optional,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AuthMethod {
    Jwt,
    ApiKey,
    Signature,
    Mtls,
    Introspection,
}

/// A `retryOn` entry: `connect-failure`, `reset`, or a status code (502, 503, 504).
/// YAML writes `503` as a number, so both numbers and strings are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RetryOn {
    ConnectFailure,
    Reset,
    Status(u16),
}

impl fmt::Display for RetryOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryOn::ConnectFailure => f.write_str("connect-failure"),
            RetryOn::Reset => f.write_str("reset"),
            RetryOn::Status(code) => write!(f, "{code}"),
        }
    }
}

impl Serialize for RetryOn {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            RetryOn::Status(code) => serializer.serialize_u16(*code),
            other => serializer.serialize_str(&other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for RetryOn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RetryOnVisitor;
        const EXPECTED: &str = "connect-failure, reset, 502, 503 or 504";
        impl serde::de::Visitor<'_> for RetryOnVisitor {
            type Value = RetryOn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RetryOn, E> {
                match v {
                    502..=504 => Ok(RetryOn::Status(v as u16)),
                    _ => Err(E::custom(format!(
                        "unsupported retryOn status {v}: use 502, 503 or 504"
                    ))),
                }
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RetryOn, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(format!(
                        "unsupported retryOn status {v}: use 502, 503 or 504"
                    ))),
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RetryOn, E> {
                match v {
                    "connect-failure" => Ok(RetryOn::ConnectFailure),
                    "reset" => Ok(RetryOn::Reset),
                    other => match other.parse::<u64>() {
                        Ok(code) => self.visit_u64(code),
                        Err(_) => Err(E::custom(format!(
                            "unknown retryOn value {other:?}: use {EXPECTED}"
                        ))),
                    },
                }
            }
        }
        deserializer.deserialize_any(RetryOnVisitor)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Authorization {
    /// Every listed scope is required.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_scopes: Vec<String>,
    /// Allowed tenant statuses (from `tenants`); an unknown tenant is denied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenant_status: Vec<String>,
    /// An API key must carry this product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<u64>,
    /// Media types (without parameters) a request body may have; empty means any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_content_types: Vec<String>,
    /// Headers every request must carry (400 when one is missing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require_headers: Vec<String>,
    /// When set, only these request headers (plus the gateway's own) are forwarded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_headers: Option<Vec<String>>,
}

// ---------------------------------------------------------------------------------------
// Services
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Service {
    /// `internal` (the safe default) services may not sit behind a public host.
    #[serde(default)]
    pub visibility: Visibility,
    /// Endpoints of a service with one version (named `default`). Exclusive with `versions`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub versions: BTreeMap<String, ServiceVersion>,
    #[serde(default)]
    pub protocol: UpstreamProtocol,
    #[serde(default)]
    pub balancing: Balancing,
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Concurrent requests per service beyond which the gateway answers 503 at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_requests: Option<u32>,
    #[serde(default)]
    pub pool: PoolSettings,
}

/// Matches the serde defaults, so code-built services behave like parsed ones.
impl Default for Service {
    fn default() -> Self {
        Service {
            visibility: Visibility::default(),
            endpoints: Vec::new(),
            versions: BTreeMap::new(),
            protocol: UpstreamProtocol::default(),
            balancing: Balancing::default(),
            connect_timeout_ms: default_connect_timeout_ms(),
            max_concurrent_requests: None,
            pool: PoolSettings::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceVersion {
    pub endpoints: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Visibility {
    Public,
    #[default]
    Internal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum UpstreamProtocol {
    #[default]
    Http1,
    /// HTTP/2 with prior knowledge (h2c).
    Http2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Balancing {
    /// Least outstanding requests between two endpoints picked at random.
    #[default]
    LeastRequest,
    RoundRobin,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PoolSettings {
    #[serde(default = "default_pool_max_idle")]
    pub max_idle_per_endpoint: u32,
    #[serde(default = "default_pool_idle_timeout_ms")]
    pub idle_timeout_ms: u64,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_idle_per_endpoint: default_pool_max_idle(),
            idle_timeout_ms: default_pool_idle_timeout_ms(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Rate limits and quotas (behaviour: rate-limit issue; shape parsed and validated here)
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimit {
    #[serde(default)]
    pub algorithm: RateLimitAlgorithm,
    pub capacity: f64,
    pub refill_per_second: f64,
    #[serde(default)]
    pub key: Vec<KeyDimension>,
    #[serde(default)]
    pub store: RateLimitStore,
    #[serde(default)]
    pub failure_mode: FailureMode,
    /// The per-instance emergency bucket `failureMode: localFallback` uses while the shared
    /// store is unavailable; absent: the limit's own capacity and refill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_fallback: Option<EmergencyLimit>,
    /// Tokens an instance leases from Redis per call (`store: redisLeased`); absent: a tenth
    /// of the capacity, at least 1. The overshoot bound is this × instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_size: Option<u32>,
}

/// `rateLimits.<name>.localFallback`: the per-instance bucket used while Redis is down.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmergencyLimit {
    pub capacity: f64,
    pub refill_per_second: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum RateLimitAlgorithm {
    #[default]
    #[serde(rename = "token_bucket")]
    TokenBucket,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum KeyDimension {
    TenantId,
    UserId,
    ApiKey,
    ClientIp,
    RouteName,
    ProductTier,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum RateLimitStore {
    #[default]
    Local,
    Redis,
    RedisLeased,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum FailureMode {
    FailOpen,
    FailClosed,
    #[default]
    LocalFallback,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Quota {
    pub limit: u64,
    pub window: QuotaWindow,
    #[serde(default)]
    pub key: Vec<KeyDimension>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum QuotaWindow {
    Minute,
    Hour,
    Day,
    Month,
}

/// `redis:` — where the shared rate-limit and quota state lives. Exactly one of `url` and
/// `clusterNodes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedisSettings {
    /// A standalone server: `redis://host:port[/db]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Seed nodes of a Redis Cluster (`host:port`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_nodes: Vec<String>,
    /// Deadline of every Redis call.
    #[serde(default = "default_redis_timeout_ms")]
    pub timeout_ms: u64,
    /// Consecutive failures that open the circuit breaker.
    #[serde(default = "default_redis_failure_threshold")]
    pub failure_threshold: u32,
    /// How long an open breaker makes no call before one probe.
    #[serde(default = "default_redis_cooldown_ms")]
    pub cooldown_ms: u64,
    /// Prefix of every key this gateway writes (`<prefix>:rl:{…}`); absent: `portcullis`.
    /// Gateways that share buckets must use the same prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_prefix: Option<String>,
}

pub const MAX_REDIS_TIMEOUT_MS: u64 = 1_000;

fn default_redis_timeout_ms() -> u64 {
    10
}

fn default_redis_failure_threshold() -> u32 {
    3
}

fn default_redis_cooldown_ms() -> u64 {
    1_000
}

/// `localLimits:` — bounds on the in-process buckets and quota counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalLimits {
    /// Most buckets (and, separately, quota counters) one instance holds; beyond it, idle and
    /// then nearly-full buckets are dropped.
    #[serde(default = "default_max_buckets")]
    pub max_buckets: u64,
}

fn default_max_buckets() -> u64 {
    1_000_000
}

impl Default for LocalLimits {
    fn default() -> Self {
        LocalLimits {
            max_buckets: default_max_buckets(),
        }
    }
}

impl LocalLimits {
    pub fn is_default(&self) -> bool {
        *self == LocalLimits::default()
    }
}

// ---------------------------------------------------------------------------------------
// Authentication (behaviour: authentication issue; shape parsed and validated here)
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Authentication {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<JwtAuthentication>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_keys: Option<ApiKeyAuthentication>,
    /// RFC 9421 signed partner requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatures: Option<SignatureAuthentication>,
    /// Principals from TLS client certificates (the listener sets `tls.clientAuth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls: Option<MtlsAuthentication>,
    /// OAuth2 token introspection (RFC 7662) for opaque tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection: Option<IntrospectionAuthentication>,
    /// Headers the gateway sets upstream after authentication (client-sent copies are stripped).
    #[serde(default)]
    pub identity_headers: IdentityHeaders,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JwtAuthentication {
    #[serde(default)]
    pub issuers: Vec<JwtIssuer>,
    /// Verified tokens remembered per worker thread; 0 disables the cache.
    #[serde(default = "default_token_cache_size")]
    pub token_cache_size: u32,
    /// A cached token is re-verified after this long even if its `exp` is later.
    #[serde(default = "default_token_cache_ttl_seconds")]
    pub token_cache_ttl_seconds: u64,
}

impl Default for JwtAuthentication {
    fn default() -> Self {
        JwtAuthentication {
            issuers: Vec::new(),
            token_cache_size: default_token_cache_size(),
            token_cache_ttl_seconds: default_token_cache_ttl_seconds(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JwtIssuer {
    pub issuer: String,
    #[serde(default)]
    pub audiences: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// An inline JWK Set (`{"keys": [...]}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    #[serde(default)]
    pub algorithms: Vec<String>,
    #[serde(default = "default_clock_tolerance_seconds")]
    pub clock_tolerance_seconds: u64,
    #[serde(default = "default_tenant_claim")]
    pub tenant_claim: String,
    #[serde(default = "default_scopes_claim")]
    pub scopes_claim: String,
    /// Lower bound on the JWKS refresh interval (a shorter `Cache-Control: max-age` is raised).
    #[serde(default = "default_jwks_refresh_min_seconds")]
    pub jwks_refresh_min_seconds: u64,
    /// Upper bound on the JWKS refresh interval (and the interval without `max-age`).
    #[serde(default = "default_jwks_refresh_max_seconds")]
    pub jwks_refresh_max_seconds: u64,
    /// After an unknown `kid` triggered a refresh, further unknown kids fail fast for this long.
    #[serde(default = "default_unknown_kid_cooldown_seconds")]
    pub unknown_kid_cooldown_seconds: u64,
    /// While the JWKS endpoint is down, the last keys stay in use for at most this long.
    #[serde(default = "default_jwks_max_stale_seconds")]
    pub max_stale_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKeyAuthentication {
    #[serde(default = "default_api_key_header")]
    pub header: String,
    #[serde(default)]
    pub keys: Vec<ApiKey>,
}

impl Default for ApiKeyAuthentication {
    fn default() -> Self {
        ApiKeyAuthentication {
            header: default_api_key_header(),
            keys: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKey {
    pub id: String,
    /// `sha256:` followed by 64 lower-case hex digits; the key itself is never stored.
    pub hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub products: Vec<String>,
    #[serde(default = "default_active_status")]
    pub status: String,
    /// RFC 3339 expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignatureAuthentication {
    /// How far `created` may be from the gateway's clock, either way.
    #[serde(default = "default_signature_max_skew_seconds")]
    pub max_skew_seconds: u64,
    /// Most nonces remembered at once; when full of live nonces, new ones are refused.
    #[serde(default = "default_nonce_cache_size")]
    pub nonce_cache_size: u32,
    #[serde(default)]
    pub keys: Vec<SignatureKeyConfig>,
}

impl Default for SignatureAuthentication {
    fn default() -> Self {
        SignatureAuthentication {
            max_skew_seconds: default_signature_max_skew_seconds(),
            nonce_cache_size: default_nonce_cache_size(),
            keys: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignatureAlgorithmName {
    #[serde(rename = "hmac-sha256")]
    HmacSha256,
    #[serde(rename = "ed25519")]
    Ed25519,
}

/// One partner key (RFC 9421 `keyid`) and the principal it maps to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignatureKeyConfig {
    pub key_id: String,
    pub algorithm: SignatureAlgorithmName,
    /// hmac-sha256: where the shared secret is, `env:NAME` or `file:PATH` (never inline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// ed25519: the raw 32-byte public key in base64, or `file:PATH` holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// The partner's principal.
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MtlsAuthentication {
    /// Certificate identities (SAN URI such as a SPIFFE id, else DNS SAN, else subject CN) that
    /// map to principals; a certificate with no mapped identity is refused.
    #[serde(default)]
    pub identities: Vec<MtlsIdentity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MtlsIdentity {
    /// `spiffe://…` or another SAN URI, a DNS name, or a subject CN; matched exactly.
    pub identity: String,
    /// Principal subject; the identity itself when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntrospectionAuthentication {
    /// RFC 7662 endpoint, `http://` or `https://`.
    pub endpoint: String,
    pub client_id: String,
    /// Where the client secret is, `env:NAME` or `file:PATH` (never inline).
    pub client_secret: String,
    #[serde(default = "default_introspection_timeout_ms")]
    pub timeout_ms: u64,
    /// Active tokens are cached until the earlier of `exp` and this.
    #[serde(default = "default_introspection_cache_ttl_seconds")]
    pub cache_ttl_seconds: u64,
    /// Inactive tokens are remembered this long, so a bad token cannot hammer the endpoint.
    #[serde(default = "default_introspection_inactive_ttl_seconds")]
    pub inactive_cache_ttl_seconds: u64,
    #[serde(default = "default_tenant_claim")]
    pub tenant_claim: String,
    #[serde(default = "default_scopes_claim")]
    pub scopes_claim: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentityHeaders {
    #[serde(default = "default_subject_header")]
    pub subject: String,
    #[serde(default = "default_tenant_header")]
    pub tenant: String,
    #[serde(default = "default_scopes_header")]
    pub scopes: String,
}

impl Default for IdentityHeaders {
    fn default() -> Self {
        IdentityHeaders {
            subject: default_subject_header(),
            tenant: default_tenant_header(),
            scopes: default_scopes_header(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tenant {
    #[serde(default = "default_active_status")]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Process-level settings
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Defaults {
    /// Timeout for routes that set none.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            timeout_ms: default_timeout_ms(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Listener {
    pub name: String,
    /// `IP:PORT` to bind.
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ListenerTls>,
    /// Most bytes of request line plus headers (431 beyond).
    #[serde(default = "default_max_header_bytes")]
    pub max_header_bytes: u32,
    /// Most request headers (431 beyond).
    #[serde(default = "default_max_headers")]
    pub max_headers: u32,
    /// Time a client has to send the complete request head.
    #[serde(default = "default_header_read_timeout_ms")]
    pub header_read_timeout_ms: u64,
    /// Idle keep-alive connections are closed after this long.
    #[serde(default = "default_idle_timeout_ms")]
    pub idle_timeout_ms: u64,
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// Accept `%2F` and `%5C` in paths (kept encoded) instead of answering 400.
    #[serde(default)]
    pub allow_encoded_slashes: bool,
    /// CIDRs of proxies whose `X-Forwarded-For` entries are trusted.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListenerTls {
    pub cert_file: String,
    pub key_file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<ClientAuth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca_file: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ClientAuth {
    Required,
    Optional,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Admin {
    /// The admin listener (metrics, health, config version). Loopback by default.
    #[serde(default = "default_admin_address")]
    pub address: String,
}

impl Default for Admin {
    fn default() -> Self {
        Admin {
            address: default_admin_address(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessLog {
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// `stdout`, `stderr`, or a file path (appended to).
    #[serde(default = "default_access_log_path")]
    pub path: String,
    /// Records waiting for the writer thread; a full queue drops and counts.
    #[serde(default = "default_access_log_queue")]
    pub queue_capacity: u32,
}

impl Default for AccessLog {
    fn default() -> Self {
        AccessLog {
            enabled: true,
            path: default_access_log_path(),
            queue_capacity: default_access_log_queue(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Defaults (each one is listed in docs/configuration.md)
// ---------------------------------------------------------------------------------------

pub const DEFAULT_VERSION_NAME: &str = "default";

pub fn default_listeners() -> Vec<Listener> {
    vec![Listener {
        name: "default".to_string(),
        address: "0.0.0.0:8080".to_string(),
        tls: None,
        max_header_bytes: default_max_header_bytes(),
        max_headers: default_max_headers(),
        header_read_timeout_ms: default_header_read_timeout_ms(),
        idle_timeout_ms: default_idle_timeout_ms(),
        max_connections: default_max_connections(),
        allow_encoded_slashes: false,
        trusted_proxies: Vec::new(),
    }]
}
pub fn default_timeout_ms() -> u64 {
    15_000
}
pub fn default_connect_timeout_ms() -> u64 {
    1_000
}
pub fn default_pool_max_idle() -> u32 {
    256
}
pub fn default_pool_idle_timeout_ms() -> u64 {
    60_000
}
pub fn default_clock_tolerance_seconds() -> u64 {
    30
}
pub fn default_tenant_claim() -> String {
    "tenant_id".to_string()
}
pub fn default_scopes_claim() -> String {
    "scope".to_string()
}
pub fn default_api_key_header() -> String {
    "x-api-key".to_string()
}
pub fn default_token_cache_size() -> u32 {
    10_000
}
pub fn default_token_cache_ttl_seconds() -> u64 {
    300
}
pub fn default_jwks_refresh_min_seconds() -> u64 {
    60
}
pub fn default_jwks_refresh_max_seconds() -> u64 {
    3_600
}
pub fn default_unknown_kid_cooldown_seconds() -> u64 {
    30
}
pub fn default_jwks_max_stale_seconds() -> u64 {
    86_400
}
pub fn default_signature_max_skew_seconds() -> u64 {
    300
}
pub fn default_nonce_cache_size() -> u32 {
    100_000
}
pub fn default_introspection_timeout_ms() -> u64 {
    2_000
}
pub fn default_introspection_cache_ttl_seconds() -> u64 {
    300
}
pub fn default_introspection_inactive_ttl_seconds() -> u64 {
    10
}
pub fn default_subject_header() -> String {
    "x-portcullis-subject".to_string()
}
pub fn default_tenant_header() -> String {
    "x-portcullis-tenant".to_string()
}
pub fn default_scopes_header() -> String {
    "x-portcullis-scopes".to_string()
}
pub fn default_active_status() -> String {
    "ACTIVE".to_string()
}
pub fn default_max_header_bytes() -> u32 {
    32 * 1024
}
pub fn default_max_headers() -> u32 {
    100
}
pub fn default_header_read_timeout_ms() -> u64 {
    10_000
}
pub fn default_idle_timeout_ms() -> u64 {
    60_000
}
pub fn default_max_connections() -> u32 {
    25_000
}
pub fn default_admin_address() -> String {
    "127.0.0.1:9901".to_string()
}
pub fn default_access_log_path() -> String {
    "stdout".to_string()
}
pub fn default_access_log_queue() -> u32 {
    16_384
}
fn default_true() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Default` and the serde defaults must agree, or code-built configs would differ from
    /// parsed ones (and have different checksums).
    #[test]
    fn default_impls_match_an_empty_document() {
        let parsed: Config = serde_json::from_str("{}").expect("empty config");
        assert_eq!(parsed, Config::default());
        let service: Service = serde_json::from_str("{}").expect("empty service");
        assert_eq!(service, Service::default());
        let keys: ApiKeyAuthentication = serde_json::from_str("{}").expect("empty api keys");
        assert_eq!(keys, ApiKeyAuthentication::default());
        let jwt: JwtAuthentication = serde_json::from_str("{}").expect("empty jwt");
        assert_eq!(jwt, JwtAuthentication::default());
        let signatures: SignatureAuthentication =
            serde_json::from_str("{}").expect("empty signatures");
        assert_eq!(signatures, SignatureAuthentication::default());
        let authentication: Authentication =
            serde_json::from_str("{}").expect("empty authentication");
        assert_eq!(authentication, Authentication::default());
    }
}
