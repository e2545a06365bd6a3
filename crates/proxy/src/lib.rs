//! The data plane: listeners, TLS, HTTP/1.1 + HTTP/2, the request pipeline, upstream pools,
//! balancing, timeouts.
//!
//! CONTRACT: the public items below are used by the binary and `portcullis-admin`; keep
//! their signatures (add freely).
//!
//! Layout: `server` (accept, limits, TLS, protocols, shutdown) reads HTTP/1 through the
//! `framing` guard (malformed or ambiguous framing never reaches hyper) and hands each request to
//! `pipeline`, which runs the phases of DESIGN §5 using `ingress`, `route` (with the strict
//! `authority` parser), `shape`, `forward` and `respond`; `upstream` owns the pools and the
//! forwarding call.

mod auth;
mod authority;
mod body;
mod body_timeout;
pub mod cidr;
mod forward;
pub mod framing;
mod gateway;
mod headers;
mod ingress;
mod pipeline;
mod prepare;
mod protocol;
mod ratelimit;
mod respond;
mod route;
mod server;
mod shape;
mod stream_resets;
mod tls;
pub mod upstream;
mod write_deadline;
mod write_stall;

pub use auth::EnvironmentSecrets;
pub use body::ResponseBody;
pub use gateway::Gateway;
pub use prepare::{PreparedSnapshot, SnapshotMeta};
pub use server::Server;

use std::sync::Arc;

use portcullis_router::Snapshot;

/// A compiled configuration with its identity, as installed on the data plane. Built only by
/// [`Gateway::prepare`] (hence non-exhaustive); its fields are for reading.
#[derive(Debug)]
#[non_exhaustive]
pub struct LoadedSnapshot {
    pub snapshot: Snapshot,
    /// The validated configuration the snapshot was compiled from (tenants and rate-limit
    /// key facts are read from it per request).
    pub config: Arc<portcullis_config::Config>,
    /// Standalone: the file's `version` when set, else the count of successful loads.
    pub config_version: u64,
    /// `sha256:…` over the canonical JSON of the configuration.
    pub checksum: String,
    pub loaded_at: time::OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("cannot listen on {address} (listeners[].address): {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("listener {listener}: TLS setup failed: {message}")]
    Tls { listener: String, message: String },
    #[error("listener {listener}: invalid address {address:?}: use IP:PORT, e.g. 0.0.0.0:8080")]
    Address { listener: String, address: String },
    #[error("listener {listener}: listeners[].trustedProxies: {source}")]
    TrustedProxy {
        listener: String,
        source: cidr::CidrError,
    },
}
