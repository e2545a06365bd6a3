//! The upstream side of the data plane: per-target pools that survive config swaps,
//! least-request (power of two choices) balancing, concurrency limits, connect timeouts,
//! HTTP/1.1 and HTTP/2 (prior knowledge) clients, and the forwarding call.
//!
//! CONTRACT (between the downstream pipeline and this module): keep these signatures.

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use portcullis_error::GatewayError;
use portcullis_router::{CompiledUpstream, Snapshot, UpstreamTarget};
use portcullis_telemetry::metrics::Metrics;

/// Error type of the bodies the proxy streams.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The request body sent upstream: the client's body, possibly wrapped (size limit,
/// byte counting), streamed, never buffered whole.
pub type ProxyBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// All upstream state, shared by every request and kept across snapshot swaps.
#[derive(Debug)]
pub struct Upstreams {}

impl Upstreams {
    pub fn new(metrics: Arc<Metrics>) -> Upstreams {
        let _ = metrics;
        unimplemented!("upstream helper")
    }

    /// Called when a snapshot is installed, before it serves traffic: create state for new
    /// `pool_key`s, update endpoint lists, drop state no longer referenced.
    pub fn sync(&self, snapshot: &Snapshot) {
        let _ = snapshot;
        unimplemented!("upstream helper")
    }

    /// Send `request` to one endpoint of `target`. The request's URI is origin-form
    /// (canonical path + query) and its headers are already sanitised by the pipeline;
    /// this sets the URI authority/scheme for the chosen endpoint. Picks the endpoint
    /// (least-request, power of two choices), enforces `max_concurrent_requests` (503
    /// `UpstreamUnavailable`, fail fast), the connect timeout (502 `UpstreamConnectFailed`),
    /// maps a reset or malformed response to 502 `UpstreamProtocolError`, and records
    /// upstream latency and connect failures. The caller applies the route timeout (504).
    pub async fn forward(
        &self,
        upstream: &CompiledUpstream,
        target: &UpstreamTarget,
        request: Request<ProxyBody>,
    ) -> Result<Response<Incoming>, GatewayError> {
        let _ = (upstream, target, request);
        unimplemented!("upstream helper")
    }
}
