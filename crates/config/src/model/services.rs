//! Upstream services: endpoints, versions, protocol, balancing and pools.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::defaults::{
    default_connect_timeout_ms, default_pool_idle_timeout_ms, default_pool_max_idle,
};

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
