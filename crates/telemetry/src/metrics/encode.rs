//! Prometheus text exposition format (version 0.0.4), written directly.

use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use super::histogram::{Histogram, BOUND_LABELS};
use super::registry::{Metrics, UpstreamCounters, METHOD_LABELS, UNMATCHED_ROUTE_LABEL};
use super::sparse::SparseCounters;
use super::text::{escape_into, family};

impl Metrics {
    /// Prometheus text exposition format.
    pub fn encode(&self) -> String {
        encode(self)
    }
}

fn encode(metrics: &Metrics) -> String {
    // Copy the handles out so the registry locks are not held while formatting.
    let routes = metrics.sorted_routes();
    let mut upstreams: Vec<Arc<UpstreamCounters>> = metrics
        .upstreams
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .values()
        .cloned()
        .collect();
    upstreams.sort_by(|left, right| left.service.cmp(&right.service));
    let config_info = metrics
        .config_info
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();

    let all_routes = || {
        std::iter::once((UNMATCHED_ROUTE_LABEL, &*metrics.unmatched))
            .chain(routes.iter().map(|route| (&*route.name, &**route)))
    };
    let mut out = String::with_capacity(4096 + routes.len() * 256);

    family(
        &mut out,
        "requests_total",
        "counter",
        "Requests answered, by route, method and status.",
    );
    for (name, route) in all_routes() {
        route.requests.for_each(|key, count| {
            let method = METHOD_LABELS[(key >> 16) as usize % METHOD_LABELS.len()];
            let status = key & 0xffff;
            out.push_str("portcullis_requests_total{route=\"");
            escape_into(&mut out, name);
            let _ = writeln!(out, "\",method=\"{method}\",status=\"{status}\"}} {count}");
        });
    }

    family(
        &mut out,
        "request_duration_seconds",
        "histogram",
        "Time from request arrival to response, by route.",
    );
    for (name, route) in all_routes() {
        histogram(
            &mut out,
            "request_duration_seconds",
            "route",
            name,
            &route.latency,
        );
    }

    family(
        &mut out,
        "request_rejections_total",
        "counter",
        "Requests refused by policy, by route and reason.",
    );
    for (name, route) in all_routes() {
        if let Some(rejections) = route.rejections.get() {
            rejections.for_each(|reason, count| {
                out.push_str("portcullis_request_rejections_total{route=\"");
                escape_into(&mut out, name);
                out.push_str("\",reason=\"");
                escape_into(&mut out, reason);
                let _ = writeln!(out, "\"}} {count}");
            });
        }
    }

    reason_counters(
        &mut out,
        "auth_failures_total",
        "Requests refused by authentication (401), by route and reason.",
        all_routes().map(|(name, route)| (name, route.auth.get().map(|auth| &auth.failures))),
    );
    reason_counters(
        &mut out,
        "authorization_denials_total",
        "Requests refused by authorization (403), by route and reason.",
        all_routes().map(|(name, route)| (name, route.auth.get().map(|auth| &auth.denials))),
    );

    family(
        &mut out,
        "upstream_duration_seconds",
        "histogram",
        "Upstream response time, by service.",
    );
    for upstream in &upstreams {
        histogram(
            &mut out,
            "upstream_duration_seconds",
            "service",
            &upstream.service,
            &upstream.latency,
        );
    }

    family(
        &mut out,
        "upstream_connect_failures_total",
        "counter",
        "Failed connection attempts to upstream endpoints, by service.",
    );
    for upstream in &upstreams {
        out.push_str("portcullis_upstream_connect_failures_total{service=\"");
        escape_into(&mut out, &upstream.service);
        let failures = upstream.connect_failures.load(Ordering::Relaxed);
        let _ = writeln!(out, "\"}} {failures}");
    }

    family(
        &mut out,
        "config_info",
        "gauge",
        "The configuration being served (value is always 1).",
    );
    if let Some((version, checksum)) = config_info {
        let _ = write!(
            out,
            "portcullis_config_info{{version=\"{version}\",checksum=\""
        );
        escape_into(&mut out, &checksum);
        out.push_str("\"} 1\n");
    }

    family(
        &mut out,
        "config_loads_total",
        "counter",
        "Configuration load attempts, by result.",
    );
    let success = metrics.config_loads_success.load(Ordering::Relaxed);
    let failure = metrics.config_loads_failure.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "portcullis_config_loads_total{{result=\"success\"}} {success}"
    );
    let _ = writeln!(
        out,
        "portcullis_config_loads_total{{result=\"failure\"}} {failure}"
    );

    family(
        &mut out,
        "access_log_dropped_total",
        "counter",
        "Access-log records dropped because the queue was full.",
    );
    let dropped = metrics.access_log_dropped.load(Ordering::Relaxed);
    let _ = writeln!(out, "portcullis_access_log_dropped_total {dropped}");

    family(
        &mut out,
        "panics_total",
        "counter",
        "Panics caught since the process started; each ended one connection or stream.",
    );
    let panics = crate::panics::panic_count();
    let _ = writeln!(out, "portcullis_panics_total {panics}");

    family(
        &mut out,
        "in_flight_requests",
        "gauge",
        "Requests being handled now.",
    );
    let in_flight = metrics.in_flight.load(Ordering::Relaxed);
    let _ = writeln!(out, "portcullis_in_flight_requests {in_flight}");
    super::ratelimit::encode(metrics.rate_limit_counters(), &mut out);
    super::connections::encode(&metrics.listeners, &mut out);
    out
}

/// Histograms that never saw an observation are left out, so 10,000 idle routes do not
/// add 170,000 lines to every scrape.
fn histogram(out: &mut String, name: &str, label: &str, value: &str, histogram: &Histogram) {
    let snapshot = histogram.snapshot();
    if snapshot.count() == 0 {
        return;
    }
    let bounds = BOUND_LABELS.iter().copied().chain(std::iter::once("+Inf"));
    for (bound, count) in bounds.zip(snapshot.cumulative) {
        let _ = write!(out, "portcullis_{name}_bucket{{{label}=\"");
        escape_into(out, value);
        let _ = writeln!(out, "\",le=\"{bound}\"}} {count}");
    }
    let _ = write!(out, "portcullis_{name}_sum{{{label}=\"");
    escape_into(out, value);
    let _ = writeln!(out, "\"}} {}", snapshot.sum_seconds);
    let _ = write!(out, "portcullis_{name}_count{{{label}=\"");
    escape_into(out, value);
    let _ = writeln!(out, "\"}} {}", snapshot.count());
}

/// One counter family labelled by route and reason, from per-route sparse counters.
fn reason_counters<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    routes: impl Iterator<Item = (&'a str, Option<&'a SparseCounters<&'static str>>)>,
) {
    family(out, name, "counter", help);
    for (route_name, counters) in routes {
        let Some(counters) = counters else {
            continue;
        };
        counters.for_each(|reason, count| {
            out.push_str("portcullis_");
            out.push_str(name);
            out.push_str("{route=\"");
            escape_into(out, route_name);
            out.push_str("\",reason=\"");
            escape_into(out, reason);
            let _ = writeln!(out, "\"}} {count}");
        });
    }
}
