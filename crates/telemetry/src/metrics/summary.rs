//! Per-route traffic summaries for the control plane's heartbeats: requests, 5xx responses and
//! the latency histogram, read from the same atomics the Prometheus text is written from.

use super::histogram::BOUNDS_NANOS;
use super::registry::{Metrics, RouteCounters};

/// One route's traffic since the process started (cumulative, like the Prometheus series).
#[derive(Debug, Clone, PartialEq)]
pub struct RouteSummary {
    pub route: String,
    /// Requests answered, every method and status.
    pub requests: u64,
    /// Of those, answered with a 5xx status (the gateway's own included).
    pub responses_5xx: u64,
    /// Inclusive upper bounds of the latency buckets, in seconds, ascending.
    pub latency_bounds_seconds: Vec<f64>,
    /// Cumulative counts: `latency_counts[i]` requests took ≤ `latency_bounds_seconds[i]`;
    /// the one extra last entry counts every request (`+Inf`).
    pub latency_counts: Vec<u64>,
    pub latency_sum_seconds: f64,
}

impl Metrics {
    /// Every route this process has counted, sorted by name; requests that matched no route
    /// are left out. A route removed by a reload keeps its last values (the registry keeps
    /// every name), so a summary may name routes the current configuration no longer has.
    /// Takes the registry lock once to copy the handles, never while reading the counters.
    pub fn route_summaries(&self) -> Vec<RouteSummary> {
        self.sorted_routes()
            .iter()
            .map(|route| summarise(route))
            .collect()
    }
}

fn summarise(route: &RouteCounters) -> RouteSummary {
    let mut requests = 0u64;
    let mut responses_5xx = 0u64;
    route.requests.for_each(|key, count| {
        let status = key & 0xffff;
        requests = requests.saturating_add(count);
        if (500..600).contains(&status) {
            responses_5xx = responses_5xx.saturating_add(count);
        }
    });
    let latency = route.latency.snapshot();
    RouteSummary {
        route: route.name.to_string(),
        requests,
        responses_5xx,
        latency_bounds_seconds: BOUNDS_NANOS
            .iter()
            .map(|&nanos| nanos as f64 / 1e9)
            .collect(),
        latency_counts: latency.cumulative.to_vec(),
        latency_sum_seconds: latency.sum_seconds,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::Method;

    use super::*;

    #[test]
    fn requests_and_5xx_are_summed_over_methods_and_statuses() {
        let metrics = Metrics::new();
        let orders = metrics.route("orders");
        let cases: [(Method, u16, u64); 6] = [
            (Method::GET, 200, 3),
            (Method::POST, 201, 2),
            (Method::GET, 404, 1),
            (Method::GET, 500, 2),
            (Method::POST, 503, 1),
            (Method::DELETE, 599, 1),
        ];
        for (method, status, times) in &cases {
            for _ in 0..*times {
                orders.observe(method, *status, Duration::from_millis(1));
            }
        }
        let summaries = metrics.route_summaries();
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].route, "orders");
        assert_eq!(summaries[0].requests, 10);
        assert_eq!(summaries[0].responses_5xx, 4);
    }

    #[test]
    fn latency_histogram_is_cumulative_with_bounds_in_seconds() {
        let metrics = Metrics::new();
        let route = metrics.route("users");
        route.observe(&Method::GET, 200, Duration::from_micros(400));
        route.observe(&Method::GET, 200, Duration::from_millis(20));
        route.observe(&Method::GET, 200, Duration::from_secs(12));
        let summary = &metrics.route_summaries()[0];
        assert_eq!(summary.latency_bounds_seconds.len(), 14);
        assert_eq!(summary.latency_bounds_seconds[0], 0.0005);
        assert_eq!(summary.latency_bounds_seconds[13], 10.0);
        assert!(summary
            .latency_bounds_seconds
            .windows(2)
            .all(|pair| pair[0] < pair[1]));
        assert_eq!(summary.latency_counts.len(), 15);
        // ≤ 0.5 ms: one; ≤ 25 ms (index 5): two; ≤ 10 s: still two; +Inf: three.
        assert_eq!(summary.latency_counts[0], 1);
        assert_eq!(summary.latency_counts[4], 1);
        assert_eq!(summary.latency_counts[5], 2);
        assert_eq!(summary.latency_counts[13], 2);
        assert_eq!(summary.latency_counts[14], 3);
        assert!((summary.latency_sum_seconds - 12.0204).abs() < 1e-9);
    }

    #[test]
    fn routes_are_sorted_unmatched_left_out_and_idle_routes_zero() {
        let metrics = Metrics::new();
        let _ = metrics.route("zeta");
        metrics
            .route("alpha")
            .observe(&Method::GET, 502, Duration::ZERO);
        metrics
            .unmatched()
            .observe(&Method::GET, 404, Duration::ZERO);
        let summaries = metrics.route_summaries();
        let names: Vec<&str> = summaries.iter().map(|s| s.route.as_str()).collect();
        assert_eq!(names, ["alpha", "zeta"]);
        assert_eq!(summaries[0].responses_5xx, 1);
        let idle = &summaries[1];
        assert_eq!(idle.requests, 0);
        assert!(idle.latency_counts.iter().all(|&count| count == 0));
        assert_eq!(idle.latency_sum_seconds, 0.0);
    }

    #[test]
    fn summaries_agree_with_the_prometheus_text() {
        let metrics = Metrics::new();
        let route = metrics.route("checkout");
        for millis in [1u64, 3, 7, 80, 300] {
            route.observe(&Method::GET, 200, Duration::from_millis(millis));
        }
        route.observe(&Method::GET, 504, Duration::from_millis(1500));
        let text = metrics.encode();
        let summary = &metrics.route_summaries()[0];
        assert!(text.contains(&format!(
            "portcullis_request_duration_seconds_count{{route=\"checkout\"}} {}",
            summary.latency_counts[14]
        )));
        assert!(text.contains(&format!(
            "portcullis_request_duration_seconds_bucket{{route=\"checkout\",le=\"0.1\"}} {}",
            summary.latency_counts[7]
        )));
        assert_eq!(summary.requests, 6);
        assert_eq!(summary.responses_5xx, 1);
    }
}
