//! Compile a validated configuration into an immutable [`Snapshot`]: host and path index,
//! resolved policies per route, canary splits; and canonicalise request paths (DESIGN §4).
//!
//! CONTRACT: the public items below are used by `portcullis-proxy`; keep their signatures.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use portcullis_config::{
    AuthMethod, AuthMode, Authorization, Balancing, Config, PoolSettings, RetryOn,
    UpstreamProtocol,
};

/// Why a request path was refused (each maps to 400 `invalid_path`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("path does not start with '/'")]
    NotAbsolute,
    #[error("'..' climbs above the root")]
    AboveRoot,
    #[error("encoded slash (%2F) is not allowed")]
    EncodedSlash,
    #[error("encoded backslash (%5C) is not allowed")]
    EncodedBackslash,
    #[error("encoded NUL (%00) is not allowed")]
    EncodedNul,
    #[error("malformed percent-escape")]
    MalformedEscape,
    #[error("raw backslash is not allowed")]
    RawBackslash,
    #[error("fragment ('#') is not allowed")]
    Fragment,
    #[error("control byte is not allowed")]
    ControlByte,
    #[error("path is not valid UTF-8")]
    InvalidUtf8,
}

/// Canonicalise the path part of a request target (without the query), per DESIGN §4.
/// Returns `Cow::Borrowed` when the input is already canonical (the common case).
pub fn canonicalize_path(raw_path: &str, allow_encoded_slashes: bool) -> Result<Cow<'_, str>, PathError> {
    let _ = (raw_path, allow_encoded_slashes);
    unimplemented!("router helper")
}

/// Lower-case a host, strip a port and a trailing dot (`API.Example.com.:443` → `api.example.com`).
pub fn normalize_host(host: &str) -> Cow<'_, str> {
    let _ = host;
    unimplemented!("router helper")
}

/// Canary bucket: `murmur3_x86_32(key, seed 0) % 10000` (DESIGN §6).
pub fn split_bucket(key: &[u8]) -> u32 {
    let _ = key;
    unimplemented!("router helper")
}

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("route {route}: {message}")]
    Route { route: String, message: String },
}

/// Result of a lookup.
#[derive(Debug)]
pub enum Lookup<'a> {
    Found(&'a Arc<CompiledRoute>),
    /// Routes exist at the winning path but none accepts the method; `allow` is the
    /// pre-rendered `Allow` header value.
    MethodNotAllowed { allow: &'a HeaderValue },
    NotFound,
}

/// The compiled, immutable routing table and per-route policies.
#[derive(Debug)]
pub struct Snapshot {
    routes: Vec<Arc<CompiledRoute>>,
}

impl Snapshot {
    /// Compile a configuration that has passed `portcullis_config` validation.
    pub fn compile(config: &Config) -> Result<Snapshot, CompileError> {
        let _ = config;
        unimplemented!("router helper")
    }

    /// Route a request. `host` is the raw `Host`/authority (may carry a port or be empty);
    /// `canonical_path` is the output of [`canonicalize_path`].
    pub fn lookup(&self, host: &str, method: &Method, canonical_path: &str) -> Lookup<'_> {
        let _ = (host, method, canonical_path);
        unimplemented!("router helper")
    }

    pub fn routes(&self) -> &[Arc<CompiledRoute>] {
        &self.routes
    }
}

/// A route with every policy resolved (defaults applied), ready for the hot path.
#[derive(Debug)]
pub struct CompiledRoute {
    /// Index in [`Snapshot::routes`].
    pub id: usize,
    pub name: Arc<str>,
    pub timeout: Duration,
    pub retries: u32,
    pub retry_on: Vec<RetryOn>,
    pub auth: AuthMode,
    pub auth_methods: Vec<AuthMethod>,
    pub rate_limits: Vec<Arc<str>>,
    pub quotas: Vec<Arc<str>>,
    pub authorization: Option<Authorization>,
    pub forward_authorization: bool,
    pub request_policy: CompiledRequestPolicy,
    pub upstream: CompiledUpstream,
}

#[derive(Debug, Default)]
pub struct CompiledRequestPolicy {
    pub max_body_bytes: Option<u64>,
    /// Lower-case media types without parameters; empty = any.
    pub allowed_content_types: Vec<String>,
    pub require_headers: Vec<HeaderName>,
    pub allowed_headers: Option<Vec<HeaderName>>,
}

#[derive(Debug)]
pub enum SplitKeySource {
    /// This header's value, else the request id. Default: `x-user-id`.
    Header(HeaderName),
    /// The authenticated principal's subject, else the request id.
    Subject,
}

#[derive(Debug)]
pub struct CompiledUpstream {
    pub service: Arc<str>,
    pub protocol: UpstreamProtocol,
    pub balancing: Balancing,
    pub connect_timeout: Duration,
    pub max_concurrent_requests: Option<u32>,
    pub pool: PoolSettings,
    /// One entry per version this route can reach (one unless split).
    pub targets: Vec<UpstreamTarget>,
    pub split_key: SplitKeySource,
    /// Cumulative split weights, parallel to `targets` (empty when there is no split).
    cumulative_weights: Vec<u32>,
}

impl CompiledUpstream {
    /// Pick the target for a split key (hashing only when there is a split).
    pub fn choose(&self, split_key: &[u8]) -> &UpstreamTarget {
        let _ = (split_key, &self.cumulative_weights);
        unimplemented!("router helper")
    }
}

#[derive(Debug)]
pub struct UpstreamTarget {
    pub version: Arc<str>,
    /// `service/version`: the key under which the proxy keeps this target's pools and
    /// balancer state, so they survive config swaps when names stay the same.
    pub pool_key: Arc<str>,
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: Arc<str>,
    pub port: u16,
    /// `host:port`, as sent in the upstream URI authority.
    pub authority: Arc<str>,
}
