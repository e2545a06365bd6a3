//! The metrics registry, rendered as Prometheus text on the admin listener.
//!
//! Written by hand rather than with `prometheus-client` families: a family looks up its
//! label set in a lock-guarded map on every increment, while here a route's handle is
//! resolved once at snapshot install and each request touches only that route's atomics
//! (DESIGN §9). The text format is small enough to write directly (`encode.rs`).
//!
//! Series of routes and upstreams are kept across reloads (counts survive a reload, and a
//! route that disappears keeps its last values), so the registry only grows with names.

mod connections;
mod encode;
mod histogram;
mod ratelimit;
mod registry;
mod sparse;
mod summary;
mod text;

pub use self::connections::{ListenerMetrics, OpenConnection};
pub use self::ratelimit::{
    RateLimitRejections, BREAKER_ABSENT, BREAKER_CLOSED, BREAKER_HALF_OPEN, BREAKER_OPEN,
};
pub use self::registry::{
    InFlightGuard, Metrics, RouteMetrics, UpstreamMetrics, UNMATCHED_ROUTE_LABEL,
};
pub use self::summary::RouteSummary;

/// `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests;
