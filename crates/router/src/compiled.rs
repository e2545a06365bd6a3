//! The compiled forms the hot path reads: every default applied, every name resolved.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, Method};
use portcullis_config::{
    AuthMethod, AuthMode, Authorization, Balancing, PoolSettings, RetryOn, UpstreamProtocol,
};

use crate::split::split_bucket;

/// A route with every policy resolved (defaults applied), ready for the hot path.
#[derive(Debug)]
pub struct CompiledRoute {
    /// Index in [`crate::Snapshot::routes`].
    pub id: usize,
    pub name: Arc<str>,
    pub timeout: Duration,
    pub retries: u32,
    pub retry_on: Vec<RetryOn>,
    pub auth: AuthMode,
    pub auth_methods: Vec<AuthMethod>,
    /// `policies.rateLimit` then `policies.rateLimits`, in order, duplicates removed.
    pub rate_limits: Vec<Arc<str>>,
    pub quotas: Vec<Arc<str>>,
    pub authorization: Option<Authorization>,
    pub forward_authorization: bool,
    pub request_policy: CompiledRequestPolicy,
    pub upstream: CompiledUpstream,
    /// `policies.rateLimitHeaders`: add `RateLimit`/`RateLimit-Policy` to admitted responses.
    pub rate_limit_headers: bool,
    /// Methods the route matches (upper-case); empty means every method.
    pub methods: Vec<Method>,
    pub priority: i32,
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
    /// One entry per version this route can reach (one unless split). Never empty.
    pub targets: Vec<UpstreamTarget>,
    pub split_key: SplitKeySource,
    /// Cumulative split weights, parallel to `targets` (empty when there is no split).
    pub(crate) cumulative_weights: Vec<u32>,
}

impl CompiledUpstream {
    /// Pick the target for a split key (hashing only when there is a split): the first
    /// target whose cumulative weight exceeds the key's bucket.
    pub fn choose(&self, split_key: &[u8]) -> &UpstreamTarget {
        let index = if self.cumulative_weights.is_empty() {
            0
        } else {
            let bucket = split_bucket(split_key);
            // Weights sum to 10000 (checked at compile) and buckets are below 10000, so a
            // target always qualifies; the fallback to the last one is belt and braces.
            self.cumulative_weights
                .iter()
                .position(|&cumulative| cumulative > bucket)
                .unwrap_or(self.cumulative_weights.len() - 1)
        };
        // `compile` never builds an upstream without targets, and `cumulative_weights`
        // (private) is either empty or parallel to `targets`.
        &self.targets[index]
    }

    /// Whether this route splits traffic between versions (and so needs a split key).
    pub fn is_split(&self) -> bool {
        !self.cumulative_weights.is_empty()
    }
}

#[derive(Debug)]
pub struct UpstreamTarget {
    pub version: Arc<str>,
    /// The key under which the proxy keeps this target's pools and balancer state, so they
    /// survive config swaps when names stay the same. `service/version` when every route
    /// that reaches this service version resolves the same endpoints; when routes resolve
    /// different endpoint lists (bare-host endpoints given different `upstream.port`s), each
    /// list needs its own pools, so the key becomes `service/version:port`.
    pub pool_key: Arc<str>,
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or IP address, without brackets for IPv6 (`::1`), ready to resolve/connect.
    pub host: Arc<str>,
    pub port: u16,
    /// `host:port`, as sent in the upstream URI authority (`[::1]:8080` for IPv6).
    pub authority: Arc<str>,
}
