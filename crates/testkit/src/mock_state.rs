//! What a [`crate::MockUpstream`] and its connection tasks share: the builder's settings, the
//! counters and recorded requests, and the release and shutdown signals.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version};
use tokio::sync::watch;

/// What the mock answers with.
#[derive(Debug, Clone)]
pub(crate) enum Mode {
    EchoJson,
    EchoBody,
    Fixed(Bytes),
    Stream(u64),
    Raw(Bytes),
    UpgradeEcho,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocols {
    Both,
    Http1Only,
    Http2Only,
}

/// Builder for a [`MockUpstream`]; start with `MockUpstream::builder`.
#[derive(Debug, Clone)]
pub struct MockUpstreamBuilder {
    pub(crate) mode: Mode,
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) delay: Option<Duration>,
    pub(crate) hold: bool,
    pub(crate) protocols: Protocols,
}

/// One request as the mock received it (hyper modes only; see `MockUpstream::raw_heads`
/// for the raw mode).
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: Method,
    /// As parsed by the server: origin-form (`/path?q`) when the client sent origin-form.
    pub uri: Uri,
    pub version: Version,
    pub headers: HeaderMap,
}

#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) connections: AtomicUsize,
    pub(crate) requests: AtomicUsize,
    pub(crate) recorded: Mutex<Vec<RecordedRequest>>,
    pub(crate) raw_heads: Mutex<Vec<Vec<u8>>>,
}

pub(crate) struct Shared {
    pub(crate) config: MockUpstreamBuilder,
    pub(crate) stats: Arc<Stats>,
    pub(crate) released: watch::Receiver<bool>,
    pub(crate) shutdown: watch::Receiver<()>,
}
