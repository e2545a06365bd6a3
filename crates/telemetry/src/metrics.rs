//! The metrics registry, rendered as Prometheus text on the admin listener.

use std::time::Duration;

use http::Method;

/// Process-wide metrics. Shared as `Arc<Metrics>`.
#[derive(Debug)]
pub struct Metrics {}

impl Metrics {
    pub fn new() -> std::sync::Arc<Metrics> {
        unimplemented!("telemetry helper")
    }

    /// Handle for one route's metrics; cheap to clone; taken once per route at snapshot
    /// install, never per request.
    pub fn route(&self, route_name: &str) -> RouteMetrics {
        let _ = route_name;
        unimplemented!("telemetry helper")
    }

    /// Handle for requests that matched no route (404, 405, early rejections).
    pub fn unmatched(&self) -> RouteMetrics {
        unimplemented!("telemetry helper")
    }

    /// Handle for one upstream service's metrics.
    pub fn upstream(&self, service: &str) -> UpstreamMetrics {
        let _ = service;
        unimplemented!("telemetry helper")
    }

    /// `portcullis_config_info{version,checksum} 1`, replacing the previous one.
    pub fn set_config_info(&self, version: u64, checksum: &str) {
        let _ = (version, checksum);
        unimplemented!("telemetry helper")
    }

    /// Count a configuration load attempt (`success` or `failure`).
    pub fn config_load(&self, success: bool) {
        let _ = success;
        unimplemented!("telemetry helper")
    }

    /// Count an access-log record dropped because the queue was full.
    pub fn access_log_dropped(&self) {
        unimplemented!("telemetry helper")
    }

    /// Prometheus text exposition format.
    pub fn encode(&self) -> String {
        unimplemented!("telemetry helper")
    }
}

#[derive(Debug, Clone)]
pub struct RouteMetrics {}

impl RouteMetrics {
    pub fn observe(&self, method: &Method, status: u16, latency: Duration) {
        let _ = (method, status, latency);
        unimplemented!("telemetry helper")
    }
}

#[derive(Debug, Clone)]
pub struct UpstreamMetrics {}

impl UpstreamMetrics {
    pub fn observe_latency(&self, latency: Duration) {
        let _ = latency;
        unimplemented!("telemetry helper")
    }
    pub fn connect_failure(&self) {
        unimplemented!("telemetry helper")
    }
}
