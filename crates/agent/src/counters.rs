//! Per-route counters for heartbeats. The agent maps `portcullis-telemetry`'s route summaries
//! to the wire type, so the binary passes `metrics_counters(metrics)` and nothing more.

use std::sync::Arc;

use portcullis_protocol::dataplane::{LatencyHistogram, RouteCounters};
use portcullis_telemetry::metrics::{Metrics, RouteSummary};

/// Called once per heartbeat, on a blocking thread; returns every route's counters,
/// cumulative since the process started.
pub type CountersProvider = Arc<dyn Fn() -> Vec<RouteCounters> + Send + Sync>;

/// The counters of every route `metrics` has seen.
pub fn metrics_counters(metrics: Arc<Metrics>) -> CountersProvider {
    Arc::new(move || route_counters(metrics.route_summaries()))
}

/// Heartbeats without counters.
pub fn no_counters() -> CountersProvider {
    Arc::new(Vec::new)
}

/// Route summaries in the wire shape. Routes that have answered no request yet are left out
/// (absent means zero), so a heartbeat of a 10,000-route configuration carries only the
/// routes that see traffic.
pub fn route_counters(summaries: Vec<RouteSummary>) -> Vec<RouteCounters> {
    summaries
        .into_iter()
        .filter(|summary| summary.requests > 0)
        .map(|summary| RouteCounters {
            route: summary.route,
            requests: summary.requests,
            responses_5xx: summary.responses_5xx,
            latency: LatencyHistogram {
                bounds_seconds: summary.latency_bounds_seconds,
                counts: summary.latency_counts,
                sum_seconds: summary.latency_sum_seconds,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn metrics_become_wire_counters() {
        let metrics = Metrics::new();
        let _idle = metrics.route("idle");
        let route = metrics.route("checkout");
        route.observe(&reqwest::Method::GET, 200, Duration::from_millis(3));
        route.observe(&reqwest::Method::GET, 502, Duration::from_millis(30));
        let counters = metrics_counters(Arc::clone(&metrics))();
        assert_eq!(counters.len(), 1);
        let checkout = &counters[0];
        assert_eq!(checkout.route, "checkout");
        assert_eq!(checkout.requests, 2);
        assert_eq!(checkout.responses_5xx, 1);
        assert_eq!(
            checkout.latency.counts.len(),
            checkout.latency.bounds_seconds.len() + 1
        );
        assert_eq!(checkout.latency.counts.last(), Some(&2));
        assert!((checkout.latency.sum_seconds - 0.033).abs() < 1e-9);
        let json = serde_json::to_value(checkout).expect("serialise");
        assert_eq!(json["responses5xx"], 1);
        assert!(no_counters()().is_empty());
    }
}
