//! The data plane: listeners, TLS, HTTP/1.1 + HTTP/2, the request pipeline, upstream pools,
//! balancing, timeouts.
//!
//! CONTRACT: the public items below are used by the binary and `portcullis-admin`; keep
//! their signatures (add freely).

pub mod upstream;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use portcullis_router::Snapshot;
use portcullis_telemetry::access_log::AccessLog;
use portcullis_telemetry::metrics::Metrics;

/// A compiled configuration with its identity, as installed on the data plane.
#[derive(Debug)]
pub struct LoadedSnapshot {
    pub snapshot: Snapshot,
    /// Standalone: the file's `version` when set, else the count of successful loads.
    pub config_version: u64,
    /// `sha256:…` over the canonical JSON of the configuration.
    pub checksum: String,
    pub loaded_at: time::OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("cannot listen on {address} (listeners[].address): {source}")]
    Bind { address: String, source: std::io::Error },
    #[error("listener {listener}: TLS setup failed: {message}")]
    Tls { listener: String, message: String },
    #[error("listener {listener}: invalid address {address:?}: use IP:PORT, e.g. 0.0.0.0:8080")]
    Address { listener: String, address: String },
}

/// Shared data-plane state: the current snapshot (one atomic load per request), metrics,
/// the access log and the upstream pools.
#[derive(Debug)]
pub struct Gateway {}

impl Gateway {
    pub fn new(metrics: Arc<Metrics>, access_log: AccessLog) -> Arc<Gateway> {
        let _ = (metrics, access_log);
        unimplemented!("proxy helper")
    }

    /// Atomically swap in a new snapshot. In-flight requests finish on the one they started
    /// with. Upstream pools whose `pool_key` stays the same are kept.
    pub fn install(&self, snapshot: LoadedSnapshot) {
        let _ = snapshot;
        unimplemented!("proxy helper")
    }

    pub fn current(&self) -> Option<Arc<LoadedSnapshot>> {
        unimplemented!("proxy helper")
    }

    /// True once a snapshot is installed.
    pub fn is_ready(&self) -> bool {
        unimplemented!("proxy helper")
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        unimplemented!("proxy helper")
    }
}

/// Bound data-plane listeners.
#[derive(Debug)]
pub struct Server {}

impl Server {
    /// Bind every listener (a port of 0 picks a free one) and load TLS material.
    pub async fn bind(
        gateway: Arc<Gateway>,
        listeners: &[portcullis_config::Listener],
    ) -> Result<Server, ProxyError> {
        let _ = (gateway, listeners);
        unimplemented!("proxy helper")
    }

    /// `(listener name, bound address)` for each listener.
    pub fn local_addrs(&self) -> Vec<(String, SocketAddr)> {
        unimplemented!("proxy helper")
    }

    /// Serve until `shutdown` resolves, then stop accepting, let in-flight requests finish
    /// for up to `drain_deadline`, and close what remains.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send, drain_deadline: Duration) {
        let _ = (shutdown, drain_deadline);
        unimplemented!("proxy helper")
    }
}
