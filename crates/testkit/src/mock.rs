//! [`MockUpstream`]: a programmable upstream for tests.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::mock_serve::{serve_http, serve_raw};
use crate::mock_state::{MockUpstreamBuilder, Mode, Protocols, RecordedRequest, Shared, Stats};

/// A mock upstream listening on `127.0.0.1:<free port>`, serving on the caller's tokio
/// runtime until dropped (dropping aborts every connection it holds).
///
/// ```ignore
/// let upstream = MockUpstream::builder().echo().start().await;
/// let upstream = MockUpstream::builder().stream_bytes(1 << 30).http2_only().start().await;
/// assert_eq!(upstream.connections(), 1);
/// ```
#[derive(Debug)]
pub struct MockUpstream {
    addr: SocketAddr,
    stats: Arc<Stats>,
    release: watch::Sender<bool>,
    _shutdown: watch::Sender<()>,
    accept_task: JoinHandle<()>,
}

impl Default for MockUpstreamBuilder {
    fn default() -> Self {
        MockUpstreamBuilder {
            mode: Mode::EchoJson,
            status: StatusCode::OK,
            headers: Vec::new(),
            delay: None,
            hold: false,
            protocols: Protocols::Both,
        }
    }
}

impl MockUpstreamBuilder {
    /// Answer with a JSON description of the request (the default):
    /// `{"method","uri","path","query","version","headers":{name: "v1, v2"},
    /// "headerList":[[name, value], …],"bodyLength"}`; the body is read (not buffered) to
    /// count it. `version` is `"HTTP/1.1"` or `"HTTP/2.0"`.
    pub fn echo(mut self) -> Self {
        self.mode = Mode::EchoJson;
        self
    }

    /// Stream the request body back as the response body (full duplex, no buffering).
    pub fn echo_body(mut self) -> Self {
        self.mode = Mode::EchoBody;
        self
    }

    /// Answer with this fixed body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.mode = Mode::Fixed(body.into());
        self
    }

    /// Answer with `length` bytes of `b'x'` held in memory once (with `Content-Length`).
    pub fn fixed_bytes(mut self, length: usize) -> Self {
        self.mode = Mode::Fixed(Bytes::from(vec![b'x'; length]));
        self
    }

    /// Answer with `length` bytes of `b'x'` generated chunk by chunk (64 KiB at a time),
    /// for very large downloads; sent with `Content-Length`.
    pub fn stream_bytes(mut self, length: u64) -> Self {
        self.mode = Mode::Stream(length);
        self
    }

    /// Speak raw TCP instead of HTTP: on each connection, read the request head (up to the
    /// blank line), record it (see [`MockUpstream::raw_heads`]), write `response` verbatim
    /// and close. `b""` closes before any response; a head with `Content-Length: 100` and
    /// 10 body bytes closes mid-body; any garbage is a malformed response.
    pub fn raw_response(mut self, response: impl Into<Bytes>) -> Self {
        self.mode = Mode::Raw(response.into());
        self
    }

    /// Accept upgrades: a request with an `Upgrade` header gets `101 Switching Protocols`
    /// (echoing the `Upgrade` value) and then every byte sent on the tunnel is echoed back.
    /// Requests without `Upgrade` get the JSON echo.
    pub fn upgrade_echo(mut self) -> Self {
        self.mode = Mode::UpgradeEcho;
        self
    }

    /// Response status (default 200). Not used by the raw and upgrade modes.
    pub fn status(mut self, status: u16) -> Self {
        self.status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        self
    }

    /// Add a response header (panics on an invalid name or value: test input).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("valid header name");
        let value = HeaderValue::from_str(value).expect("valid header value");
        self.headers.push((name, value));
        self
    }

    /// Wait this long after receiving a request's head before answering.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Do not answer any request until [`MockUpstream::release`] is called (requests
    /// received after that are answered at once).
    pub fn hold(mut self) -> Self {
        self.hold = true;
        self
    }

    /// Serve HTTP/1.1 only.
    pub fn http1_only(mut self) -> Self {
        self.protocols = Protocols::Http1Only;
        self
    }

    /// Serve HTTP/2 with prior knowledge (h2c) only. By default the mock detects the
    /// HTTP/2 preface and serves both.
    pub fn http2_only(mut self) -> Self {
        self.protocols = Protocols::Http2Only;
        self
    }

    /// Bind `127.0.0.1:0` and start serving on the current tokio runtime.
    pub async fn start(self) -> MockUpstream {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("local address of a bound listener");
        let stats = Arc::new(Stats::default());
        let (release, released) = watch::channel(false);
        let (shutdown_sender, shutdown) = watch::channel(());
        let shared = Arc::new(Shared {
            config: self,
            stats: stats.clone(),
            released,
            shutdown,
        });
        let accept_task = tokio::spawn(accept_loop(listener, shared));
        MockUpstream {
            addr,
            stats,
            release,
            _shutdown: shutdown_sender,
            accept_task,
        }
    }
}

impl MockUpstream {
    /// A builder; the default answers every request with the JSON echo.
    pub fn builder() -> MockUpstreamBuilder {
        MockUpstreamBuilder::default()
    }

    /// Shorthand for `MockUpstream::builder().echo().start()`.
    pub async fn echo() -> MockUpstream {
        MockUpstream::builder().echo().start().await
    }

    /// The bound address (`127.0.0.1:<port>`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:<port>`, as an endpoint string for a configuration.
    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.stats.connections.load(Ordering::SeqCst)
    }

    /// Requests received so far (counted when the head arrives, before any delay or hold).
    pub fn requests(&self) -> usize {
        self.stats.requests.load(Ordering::SeqCst)
    }

    /// Every request received so far, in arrival order (HTTP modes).
    pub fn recorded(&self) -> Vec<RecordedRequest> {
        self.stats.recorded.lock().expect("recorder lock").clone()
    }

    /// The last request received (HTTP modes).
    pub fn last_request(&self) -> Option<RecordedRequest> {
        self.stats
            .recorded
            .lock()
            .expect("recorder lock")
            .last()
            .cloned()
    }

    /// The raw request heads received in [`MockUpstreamBuilder::raw_response`] mode.
    pub fn raw_heads(&self) -> Vec<Vec<u8>> {
        self.stats.raw_heads.lock().expect("recorder lock").clone()
    }

    /// Answer every held request (see [`MockUpstreamBuilder::hold`]) and stop holding.
    pub fn release(&self) {
        self.release.send_replace(true);
    }

    /// Stop serving now (same as dropping).
    pub fn shutdown(self) {}
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        // Aborting the accept task drops its JoinSet, which aborts every connection task;
        // dropping `_shutdown` ends upgrade tunnels.
        self.accept_task.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok((stream, _peer)) = listener.accept().await else {
            continue;
        };
        shared.stats.connections.fetch_add(1, Ordering::SeqCst);
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        match shared.config.mode.clone() {
            Mode::Raw(response) => connections.spawn(serve_raw(stream, response, shared)),
            _ => connections.spawn(serve_http(stream, shared)),
        };
    }
}
