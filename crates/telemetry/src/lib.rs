//! Metrics registry, access-log writer, request ids and W3C trace context.
//!
//! CONTRACT: the public items below are used by `portcullis-proxy` and the binary; keep
//! their signatures (add freely).
//!
//! Everything called per request (`RouteMetrics::observe`, `request_id_from`,
//! `TraceContext::from_headers`, `AccessLog::log`) is lock-free and allocates at most the
//! header values it returns (DESIGN §9).

pub mod access_log;
pub mod metrics;
pub mod panics;
pub mod request_id;
pub mod trace;

mod random;
