//! The external configuration model: the seed's YAML shape, camelCase keys.
//!
//! Every struct denies unknown fields so that a typo is an error rather than a silently
//! ignored setting. Maps are `BTreeMap` so that iteration (and therefore error order and
//! the canonical checksum) is deterministic. Defaults live in the `default_*` functions of
//! [`defaults`] and are documented, field by field, in `docs/configuration.md`.
//!
//! One file per area, as `validate/` is split: [`routes`], [`services`], [`limits`] (rate
//! limits, quotas and their stores), [`authentication`] (and tenants), [`settings`]
//! (listeners, admin, access log, defaults) and [`defaults`]. Everything is re-exported here,
//! so callers name `portcullis_config::model::Route` (or `portcullis_config::Route`).

mod authentication;
mod defaults;
mod limits;
mod routes;
mod services;
mod settings;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use authentication::*;
pub use defaults::*;
pub use limits::*;
pub use routes::*;
pub use services::*;
pub use settings::*;

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
