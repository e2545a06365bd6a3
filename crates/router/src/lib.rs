//! Compile a validated configuration into an immutable [`Snapshot`]: host and path index,
//! resolved policies per route, canary splits; and canonicalise request paths (DESIGN §4).
//!
//! CONTRACT: the public items below are used by `portcullis-proxy`; keep their signatures.
//!
//! Modules: [`path`] (canonicalisation, with `dot_segment` for segments an upstream may
//! read as `.`/`..`), [`host`] (host normalisation), [`split`] (canary
//! buckets), `index` (the lookup structure and its decisions), `compile` and `upstream`
//! (config → compiled routes), `compiled` (the types the hot path reads).

use std::sync::Arc;

use http::{HeaderValue, Method};
use portcullis_config::{ConfigError, ConfigErrors, ValidatedConfig};

mod compile;
mod compiled;
mod dot_segment;
pub mod host;
mod index;
pub mod path;
pub mod split;
#[cfg(test)]
mod tests;
mod upstream;
mod utf8;

pub use compiled::{
    CompiledRequestPolicy, CompiledRoute, CompiledUpstream, Endpoint, SplitKeySource,
    UpstreamTarget,
};
pub use host::normalize_host;
pub use path::{canonicalize_path, canonicalize_path_with, PathOptions};
pub use split::{murmur3_x86_32, split_bucket, SPLIT_BUCKETS};

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
    #[error("a '.' or '..' segment carries ';' parameters (e.g. '..;'), which servlet containers read as '..'; the listener allows them only with allowDotSegmentParameters")]
    DotSegmentParameters,
    #[error("a segment reads as '.' or '..' once blanks are trimmed or Unicode dots normalised (e.g. '..%20', '...', '%EF%BC%8E%EF%BC%8E')")]
    DisguisedDotSegment,
    #[error("a '.' or '..' sits between encoded slashes (e.g. 'a%2F..%2Fb'), which an upstream that decodes them reads as a dot-segment")]
    DotSegmentBehindEncodedSlash,
}

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("route {route}: {message}")]
    Route { route: String, message: String },
}

impl CompileError {
    /// The error in the form every configuration error takes, with the route's field path
    /// (`routes[3]`), so callers report compile errors exactly as they report validation's.
    pub fn to_config_errors(&self, config: &ValidatedConfig) -> ConfigErrors {
        let CompileError::Route { route, message } = self;
        let path = config
            .config()
            .routes
            .iter()
            .position(|candidate| candidate.name == *route)
            .map(|index| format!("routes[{index}]"))
            .unwrap_or_else(|| "routes".to_string());
        let message = if route.is_empty() {
            format!("the configuration is valid but does not compile: {message}")
        } else {
            format!("route {route} is valid but does not compile: {message}")
        };
        ConfigErrors::single(ConfigError::new(path, message))
    }
}

/// Result of a lookup.
#[derive(Debug)]
pub enum Lookup<'a> {
    Found(&'a Arc<CompiledRoute>),
    /// Routes exist at the winning path but none accepts the method; `allow` is the
    /// pre-rendered `Allow` header value.
    MethodNotAllowed {
        allow: &'a HeaderValue,
    },
    NotFound,
}

/// The compiled, immutable routing table and per-route policies.
#[derive(Debug)]
pub struct Snapshot {
    routes: Vec<Arc<CompiledRoute>>,
    index: index::RouteIndex,
}

impl Snapshot {
    /// Compile a configuration that has passed `portcullis_config` validation (the only kind
    /// there is a [`ValidatedConfig`] of).
    pub fn compile(config: &ValidatedConfig) -> Result<Snapshot, CompileError> {
        compile::compile_snapshot(config.config())
    }

    /// Route a request. `host` is the raw `Host`/authority (may carry a port or be empty);
    /// `canonical_path` is the output of [`canonicalize_path`]. Allocates nothing unless the
    /// host has upper-case letters.
    pub fn lookup(&self, host: &str, method: &Method, canonical_path: &str) -> Lookup<'_> {
        let host = normalize_host(host);
        match self.index.lookup(&host, method, canonical_path) {
            index::IndexHit::Route(id) => match self.routes.get(id) {
                Some(route) => Lookup::Found(route),
                None => Lookup::NotFound,
            },
            index::IndexHit::MethodNotAllowed(allow) => Lookup::MethodNotAllowed { allow },
            index::IndexHit::NotFound => Lookup::NotFound,
        }
    }

    pub fn routes(&self) -> &[Arc<CompiledRoute>] {
        &self.routes
    }
}
