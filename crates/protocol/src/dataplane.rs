//! Between a data plane and the control plane: the long-polled snapshot and the heartbeat.
//!
//! `GET /v1/dataplane/snapshot?environment=E&pool=P&known=CHECKSUM` answers 200 with a
//! [`DataPlaneSnapshot`] at once when the version assigned to (E, P) has another checksum than
//! `known` (absent or empty `known`: at once when any version is assigned), else holds the
//! request up to the control plane's long-poll period and answers 304. 404 when the environment
//! does not exist. `POST /v1/dataplane/heartbeat` takes a [`Heartbeat`] and answers a
//! [`HeartbeatAck`]. Both need a token with the `dataplane` role.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const SNAPSHOT_PATH: &str = "/v1/dataplane/snapshot";
pub const HEARTBEAT_PATH: &str = "/v1/dataplane/heartbeat";

/// Query of `GET /v1/dataplane/snapshot`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SnapshotQuery {
    /// The environment the data plane serves.
    pub environment: String,
    /// The data plane's pool (`default` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// Checksum of the configuration the data plane last received (installed or refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known: Option<String>,
}

/// The configuration assigned to a data plane's (environment, pool).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataPlaneSnapshot {
    pub environment: String,
    pub pool: String,
    pub config_version: i64,
    /// `sha256:` over the canonical JSON of `config`; the data plane recomputes it and refuses
    /// a snapshot whose configuration does not match.
    pub checksum: String,
    /// When this version became what the pool serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<String>,
    /// The configuration document (the same shape as a gateway YAML file, as JSON).
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
}

/// What a data plane reports every heartbeat interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Heartbeat {
    /// Stable for the life of the process (`--instance-id`, else host name and process id).
    pub instance_id: String,
    pub environment: String,
    pub pool: String,
    /// When the process started; counters below count from here.
    pub started_at: String,
    /// The data plane's build (`portcullis --version`).
    pub agent_version: String,
    /// The configuration being served, absent until one is installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loaded: Option<LoadedConfig>,
    /// The last snapshot the data plane refused, while it has not installed a later one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
    /// Per-route counters, cumulative since `startedAt`.
    #[serde(default)]
    pub routes: Vec<RouteCounters>,
}

/// The configuration a data plane serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoadedConfig {
    pub config_version: i64,
    pub checksum: String,
    pub loaded_at: String,
    /// Where it came from: the control plane, or the disk copy at start.
    pub source: ConfigSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ConfigSource {
    ControlPlane,
    Disk,
}

/// A snapshot the data plane could not install; the previous one kept serving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    pub config_version: i64,
    pub checksum: String,
    /// Every reason, one line each, with field paths.
    pub errors: Vec<String>,
    pub at: String,
}

/// One route's traffic since the data plane started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteCounters {
    pub route: String,
    pub requests: u64,
    /// Responses with a 5xx status, the gateway's own included.
    pub responses_5xx: u64,
    pub latency: LatencyHistogram,
}

/// A latency histogram in the Prometheus shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LatencyHistogram {
    /// Inclusive upper bounds of the buckets, in seconds, ascending.
    pub bounds_seconds: Vec<f64>,
    /// Cumulative counts: `counts[i]` observations were ≤ `bounds_seconds[i]`; one more
    /// entry at the end holds every observation (`+Inf`).
    pub counts: Vec<u64>,
    pub sum_seconds: f64,
}

/// The control plane's answer to a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatAck {
    pub received_at: String,
    /// An instance not heard from for three intervals is shown as stale.
    pub heartbeat_interval_seconds: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_round_trips_with_camel_case_keys() {
        let heartbeat = Heartbeat {
            instance_id: "dp-1".into(),
            environment: "production".into(),
            pool: "canary".into(),
            started_at: "2026-04-08T10:15:30.123Z".into(),
            agent_version: "0.1.0".into(),
            loaded: Some(LoadedConfig {
                config_version: 42,
                checksum: format!("sha256:{}", "0".repeat(64)),
                loaded_at: "2026-04-08T10:15:31.000Z".into(),
                source: ConfigSource::Disk,
            }),
            refusal: None,
            routes: vec![RouteCounters {
                route: "checkout-orders".into(),
                requests: 10,
                responses_5xx: 1,
                latency: LatencyHistogram {
                    bounds_seconds: vec![0.005, 0.01],
                    counts: vec![4, 9, 10],
                    sum_seconds: 0.07,
                },
            }],
        };
        let json = serde_json::to_value(&heartbeat).expect("serialise");
        assert_eq!(json["instanceId"], "dp-1");
        assert_eq!(json["loaded"]["configVersion"], 42);
        assert_eq!(json["loaded"]["source"], "disk");
        assert_eq!(json["routes"][0]["responses5xx"], 1);
        assert!(json.get("refusal").is_none());
        let back: Heartbeat = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, heartbeat);
    }
}
