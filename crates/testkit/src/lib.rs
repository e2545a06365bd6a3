//! Test helpers shared by every Portcullis crate's tests (dev-dependency only).
//!
//! * [`MockUpstream`]: a configurable HTTP/1.1 + HTTP/2 (prior knowledge) upstream on
//!   `127.0.0.1:0`, running on the caller's tokio runtime, that counts connections and
//!   requests and records what it received.
//! * [`certs`]: a throw-away CA with a `localhost`/`127.0.0.1` server certificate and client
//!   certificates, written as PEM files to a temporary directory.
//! * [`raw`]: raw TCP exchanges for malformed-request tests.
//! * [`jwks`]: a JWKS endpoint (rotating keys, `Cache-Control`, outages) counting its hits.
//! * [`introspection`]: an RFC 7662 introspection endpoint with per-token answers.
//! * [`postgres`]: a fresh database per test, and private servers that restart.

pub mod certs;
pub mod introspection;
pub mod jwks;
mod mock;
mod mock_body;
mod mock_serve;
mod mock_state;
pub mod postgres;
pub mod raw;
pub mod services;
mod tiny_server;

pub use mock::MockUpstream;
pub use mock_state::{MockUpstreamBuilder, RecordedRequest};
pub use raw::{raw_request, raw_request_until_close, raw_request_with_timeout, response_status};
