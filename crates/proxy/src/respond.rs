//! Respond and log: the one place a [`GatewayError`] becomes a response, and the per-request
//! completion that records metrics and one access-log record.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderName, HeaderValue, Method, Response, Uri};
use portcullis_error::{ErrorKind, GatewayError, PROBLEM_JSON};
use portcullis_telemetry::access_log::{AccessRecord, Text, TraceId};
use portcullis_telemetry::request_id::request_id_from;

use crate::body::{BodyProgress, ResponseBody};
use crate::gateway::Installed;
use crate::server::ConnectionContext;

pub(crate) static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Status logged when the client went away before it got an answer (the convention
/// operators know from other proxies; never sent on the wire).
const CLIENT_CLOSED_REQUEST: u16 = 499;

/// Everything the access log and metrics need about one request, filled in as the
/// pipeline goes. Recorded exactly once, when dropped: for a proxied response that is when
/// its body has been sent (or the client went away), so latency and bytes out are final.
#[derive(Debug)]
pub(crate) struct Completion {
    /// Per connection, so cloning it per request touches no counter shared across cores.
    connection: Arc<ConnectionContext>,
    pub(crate) installed: Option<Arc<Installed>>,
    pub(crate) route_id: Option<usize>,
    started: Instant,
    timestamp_ms: u64,
    pub(crate) request_id: HeaderValue,
    pub(crate) trace_id: [u8; 16],
    method: Method,
    uri: Uri,
    pub(crate) status: u16,
    pub(crate) route_name: Option<Arc<str>>,
    pub(crate) upstream: Option<Arc<str>>,
    pub(crate) upstream_version: Option<Arc<str>>,
    client_addr: SocketAddr,
    pub(crate) config_version: u64,
    pub(crate) body_progress: Option<Arc<BodyProgress>>,
    bytes_out: u64,
    pub(crate) error: Option<&'static str>,
    /// A rate limit or quota refused the request.
    pub(crate) rate_limited: bool,
    /// Who the request authenticated as (access log: tenant and subject or key id).
    pub(crate) principal: Option<Arc<portcullis_policy::Principal>>,
    /// `WWW-Authenticate` for a 401 or 403.
    pub(crate) challenge: Option<HeaderValue>,
}

impl Completion {
    /// The connection's write-stall tracker, for the response body (`writeTimeoutMs`).
    pub(crate) fn write_stall(&self) -> Arc<crate::write_stall::WriteStall> {
        Arc::clone(&self.connection.write_stall)
    }

    pub(crate) fn start(
        connection: Arc<ConnectionContext>,
        started: Instant,
        request_id: HeaderValue,
        method: Method,
        uri: Uri,
        client_addr: SocketAddr,
    ) -> Completion {
        let timestamp_ms = unix_millis();
        connection.listener.gateway.metrics().in_flight_inc();
        Completion {
            connection,
            installed: None,
            route_id: None,
            started,
            timestamp_ms,
            request_id,
            trace_id: [0; 16],
            method,
            uri,
            status: 0,
            route_name: None,
            upstream: None,
            upstream_version: None,
            client_addr,
            config_version: 0,
            body_progress: None,
            bytes_out: 0,
            error: None,
            rate_limited: false,
            principal: None,
            challenge: None,
        }
    }

    pub(crate) fn add_bytes_out(&mut self, bytes: u64) {
        self.bytes_out += bytes;
    }

    /// The upstream broke off its body after the status was sent: the client sees a
    /// truncated response; the log says so.
    pub(crate) fn upstream_body_failed(&mut self) {
        self.error = Some(portcullis_error::ErrorKind::UpstreamProtocolError.code());
    }

    /// Copies what the log needs; short values stay inline in the record, so building it
    /// allocates nothing (the writer thread does all formatting). Values are copied rather
    /// than moved or shared: `uri` and an incoming request id are slices of hyper's read
    /// buffer, and a record holding them in the queue would make hyper allocate a new buffer
    /// for the next request on this connection.
    fn record(&mut self) -> AccessRecord {
        let principal = self.principal.as_deref();
        AccessRecord {
            timestamp_ms: self.timestamp_ms,
            request_id: Text::from(self.request_id.to_str().unwrap_or_default()),
            trace_id: Some(TraceId::from(self.trace_id)),
            route: self.route_name.take(),
            tenant_id: principal
                .and_then(|principal| principal.tenant_id.as_deref())
                .map(Text::from),
            // The credential's id (API key id, signature keyid) or the subject; never a secret.
            principal: principal.map(|principal| {
                Text::from(match (&principal.method, &principal.key_id) {
                    (portcullis_policy::AuthMethod::ApiKey, Some(key_id)) => key_id.as_str(),
                    _ => principal.subject.as_str(),
                })
            }),
            method: Text::from(self.method.as_str()),
            path: Text::from(self.uri.path()),
            status: self.status,
            upstream: self.upstream.take(),
            upstream_version: self.upstream_version.take(),
            latency_ms: self.started.elapsed().as_secs_f64() * 1000.0,
            rate_limited: self.rate_limited,
            config_version: self.config_version,
            client_addr: self.client_addr,
            bytes_in: self
                .body_progress
                .as_ref()
                .map_or(0, |progress| progress.bytes()),
            bytes_out: self.bytes_out,
            error: self.error,
        }
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        let connection = Arc::clone(&self.connection);
        let gateway = &connection.listener.gateway;
        gateway.metrics().in_flight_dec();
        if std::thread::panicking() {
            // Dropped while a panic unwinds the request's task: the gateway's fault, whatever
            // was answered so far (the connection or stream is closed).
            self.status = 500;
            self.error = Some("internal_panic");
        } else if self.status == 0 {
            // Dropped before any response existed: the client disconnected (or the drain
            // deadline cut the request off).
            self.status = CLIENT_CLOSED_REQUEST;
            self.error = Some("client_closed_request");
        }
        let latency = self.started.elapsed();
        let route_metrics = match (&self.installed, self.route_id) {
            (Some(installed), Some(route_id)) => installed.route_metrics_by_id(route_id),
            _ => None,
        };
        route_metrics
            .unwrap_or(&gateway.unmatched)
            .observe(&self.method, self.status, latency);
        let record = self.record();
        gateway.access_log.log(record);
    }
}

/// One access-log record and one `unmatched` metric for a request head hyper refused
/// before the pipeline ran (it answered 400 or 431 itself, or gave up waiting: 408, sent
/// to nobody). Method and path are unknown: logged as `-`.
pub(crate) fn record_refused_head(connection: &ConnectionContext, error: &hyper::Error) {
    let kind = if error.is_parse_too_large() {
        ErrorKind::HeadersTooLarge
    } else if error.is_parse() {
        ErrorKind::BadRequest
    } else if error.is_timeout() {
        ErrorKind::RequestTimeout
    } else {
        return;
    };
    let gateway = &connection.listener.gateway;
    let status = kind.status().as_u16();
    // An extension method short enough to live inline: no allocation, counted as "other".
    if let Ok(unknown) = Method::from_bytes(b"UNPARSED") {
        gateway
            .unmatched
            .observe(&unknown, status, std::time::Duration::ZERO);
    }
    let request_id = request_id_from(None);
    gateway.access_log.log(AccessRecord {
        timestamp_ms: unix_millis(),
        request_id: Text::from(request_id.to_str().unwrap_or_default()),
        trace_id: None,
        route: None,
        tenant_id: None,
        principal: None,
        method: Text::from("-"),
        path: Text::from("-"),
        status,
        upstream: None,
        upstream_version: None,
        latency_ms: 0.0,
        rate_limited: false,
        config_version: gateway.current().map_or(0, |loaded| loaded.config_version),
        client_addr: connection.peer,
        bytes_in: 0,
        bytes_out: 0,
        error: Some(kind.code()),
    });
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}

/// THE error renderer: status from the one table, `application/problem+json` carrying the
/// request id, `x-request-id`, and `Allow` for 405.
pub(crate) fn error_response(
    error: &GatewayError,
    allow: Option<HeaderValue>,
    mut completion: Completion,
) -> Response<ResponseBody> {
    let status = error.status();
    let request_id = completion.request_id.clone();
    let body = error.problem_json(request_id.to_str().unwrap_or_default());
    completion.status = status.as_u16();
    completion.error = Some(error.kind.code());
    let challenge = completion.challenge.take();
    let mut response = Response::new(ResponseBody::full(Bytes::from(body), completion));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    headers.insert(X_REQUEST_ID.clone(), request_id);
    if let Some(allow) = allow {
        headers.insert(ALLOW, allow);
    }
    if let Some(challenge) = challenge {
        headers.insert(http::header::WWW_AUTHENTICATE, challenge);
    }
    response
}
