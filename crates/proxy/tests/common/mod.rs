//! A gateway on 127.0.0.1:0 built from YAML, for the proxy's integration tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use portcullis_config::{ConfigErrors, Format, Listener};
use portcullis_proxy::{Gateway, PreparedSnapshot, Server, SnapshotMeta};
use portcullis_telemetry::access_log::AccessLog;
use portcullis_telemetry::metrics::Metrics;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestGateway {
    pub addr: SocketAddr,
    pub gateway: Arc<Gateway>,
    shutdown: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<()>,
}

impl TestGateway {
    /// Signal shutdown and wait for `run` to return.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let task = &mut self.task;
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("server stops")
            .expect("server task");
    }

    pub fn begin_shutdown(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

/// A plain listener on 127.0.0.1:0 with the model's defaults.
pub fn listener() -> Listener {
    let mut listener = portcullis_config::default_listeners().remove(0);
    listener.name = "test".to_string();
    listener.address = "127.0.0.1:0".to_string();
    listener
}

/// One route `name` with `pathPrefix`, `methods` (empty = all) to `endpoint`, plus extra
/// policy YAML lines (indented under `policies:`).
pub fn single_route(endpoint: &str, path_prefix: &str, methods: &str, policies: &str) -> String {
    format!(
        r#"
services:
  backend:
    visibility: public
    endpoints: ["{endpoint}"]
routes:
  - name: main
    match:
      pathPrefix: {path_prefix}
      {methods}
    upstream:
      service: backend
    policies:
      auth: none
{policies}
"#
    )
}

/// `yaml` validated and prepared on `gateway`: the configuration's errors, or the snapshot
/// ready to install. Version 1 unless the document sets one.
pub fn prepare(gateway: &Gateway, yaml: &str) -> Result<PreparedSnapshot, ConfigErrors> {
    let validated = portcullis_config::load_str(yaml, Format::Yaml)?;
    let meta = SnapshotMeta {
        config_version: validated.config().version.unwrap_or(1),
        loaded_at: time::OffsetDateTime::now_utc(),
    };
    gateway.prepare(validated, meta)
}

/// Prepares and installs `yaml` (panics with every error when it is refused).
pub fn install(gateway: &Gateway, yaml: &str) {
    let prepared = prepare(gateway, yaml).unwrap_or_else(|errors| panic!("{errors}"));
    gateway.install(prepared);
}

pub async fn start(yaml: &str) -> TestGateway {
    start_with(yaml, listener(), AccessLog::disabled()).await
}

pub async fn start_with(yaml: &str, listener: Listener, access_log: AccessLog) -> TestGateway {
    let gateway = Gateway::new(Metrics::new(), access_log);
    install(&gateway, yaml);
    start_gateway(gateway, listener, Duration::from_secs(5)).await
}

pub async fn start_gateway(
    gateway: Arc<Gateway>,
    listener: Listener,
    drain: Duration,
) -> TestGateway {
    let server = Server::bind(Arc::clone(&gateway), &[listener])
        .await
        .expect("bind");
    let addr = server.local_addrs()[0].1;
    let (shutdown, shutdown_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(
        async move {
            let _ = shutdown_rx.await;
        },
        drain,
    ));
    TestGateway {
        addr,
        gateway,
        shutdown: Some(shutdown),
        task,
    }
}

/// Parse a raw HTTP/1.x response into (status, lower-cased header lines, body).
pub fn split_response(raw: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let head_end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("complete head");
    let head = String::from_utf8_lossy(&raw[..head_end]).to_string();
    let status = portcullis_testkit::response_status(raw).expect("status line");
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    (status, headers, raw[head_end + 4..].to_vec())
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// One request over a fresh HTTP/1.1 connection with hyper's client; returns the response
/// with its body collected.
/// A fresh HTTP/1.1 client connection to `addr`, its connection task spawned. Generic over
/// the request body so streaming tests can send bodies of their own type.
pub async fn connect_http1<B>(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<B>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to gateway");
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(connection);
    sender
}

pub async fn send(
    addr: SocketAddr,
    request: http::Request<http_body_util::Full<bytes::Bytes>>,
) -> http::Response<bytes::Bytes> {
    use http_body_util::BodyExt;
    let mut sender = connect_http1(addr).await;
    let response = sender.send_request(request).await.expect("response");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    http::Response::from_parts(parts, body)
}

/// `GET path` with `Host` and extra headers.
pub async fn get(
    addr: SocketAddr,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> http::Response<bytes::Bytes> {
    let mut builder = http::Request::get(path).header("host", host);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    send(
        addr,
        builder
            .body(http_body_util::Full::default())
            .expect("request"),
    )
    .await
}

pub fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).expect("JSON body")
}

/// Open a WebSocket-style upgrade through the gateway and return the tunnel once the 101
/// head has been read (panics with what arrived otherwise).
pub async fn open_upgrade(addr: SocketAddr) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(
            b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .expect("write");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte))
            .await
            .expect("head in time");
        assert_eq!(
            read.expect("read"),
            1,
            "closed before the 101 head: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: websocket"), "{head}");
    stream
}

/// Write `message` into a tunnel to an echoing upstream and expect it back.
pub async fn echo_through(stream: &mut tokio::net::TcpStream, message: &[u8]) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(message).await.expect("write tunnel");
    let mut echoed = vec![0u8; message.len()];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut echoed))
        .await
        .expect("echo in time")
        .expect("read tunnel");
    assert_eq!(echoed, message);
}
