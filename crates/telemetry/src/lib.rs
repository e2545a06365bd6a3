//! Metrics registry, access-log writer, request ids and W3C trace context.
//!
//! CONTRACT: the public items below are used by `portcullis-proxy` and the binary; keep
//! their signatures (add freely).

pub mod access_log;
pub mod metrics;
pub mod request_id;
pub mod trace;
