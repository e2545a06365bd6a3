//! Upstream select and forward: the split key, the upstream request, the route timeout,
//! and protocol switches (WebSocket) spliced byte for byte.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HOST, UPGRADE};
use http::request::Parts;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode, Uri, Version};
use http_body::Body as _;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use portcullis_error::{ErrorKind, GatewayError, Phase};
use portcullis_router::{CompiledRoute, SplitKeySource, UpstreamTarget};
use portcullis_telemetry::trace::TraceContext;

use crate::body::{BodyProgress, RequestBody};
use crate::body_timeout::ReadTimeout;
use crate::gateway::Gateway;
use crate::ingress::{append_forwarded_for, X_FORWARDED_HOST, X_FORWARDED_PROTO};
use crate::respond::X_REQUEST_ID;
use crate::server::DrainState;
use crate::upstream::{ProxyBody, UpstreamBody};

static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
static TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// Canary split: the configured header's value, or the authenticated principal's subject,
/// else the request id (DESIGN §6).
pub(crate) fn select_target<'a>(
    route: &'a CompiledRoute,
    headers: &http::HeaderMap,
    principal: Option<&portcullis_policy::Principal>,
    request_id: &HeaderValue,
) -> &'a UpstreamTarget {
    let key = match &route.upstream.split_key {
        SplitKeySource::Header(name) => headers
            .get(name)
            .map_or(request_id.as_bytes(), HeaderValue::as_bytes),
        SplitKeySource::Subject => principal.map_or(request_id.as_bytes(), |principal| {
            principal.subject.as_bytes()
        }),
    };
    route.upstream.choose(key)
}

/// Everything the upstream request is made of besides the client's parts.
pub(crate) struct Outbound<'a> {
    pub(crate) uri: Uri,
    pub(crate) host: HeaderValue,
    pub(crate) peer: IpAddr,
    pub(crate) https: bool,
    pub(crate) request_id: &'a HeaderValue,
    pub(crate) trace: &'a TraceContext,
    pub(crate) body_limit: Option<u64>,
    /// The listener's `bodyReadTimeoutMs`.
    pub(crate) body_read_timeout: std::time::Duration,
}

/// The client's body as it goes upstream: streamed, or already read whole (a signed
/// request whose `Content-Digest` was checked against exactly these bytes).
pub(crate) enum ClientBody {
    Streaming(Incoming),
    Buffered(Bytes),
}

impl From<Incoming> for ClientBody {
    fn from(body: Incoming) -> ClientBody {
        ClientBody::Streaming(body)
    }
}

/// Build the upstream request from sanitised client parts. Returns the body's progress
/// when there is a body to stream.
pub(crate) fn upstream_request(
    parts: Parts,
    body: impl Into<ClientBody>,
    outbound: Outbound<'_>,
) -> (Request<ProxyBody>, Option<Arc<BodyProgress>>) {
    let body = match body.into() {
        ClientBody::Streaming(body) => body,
        ClientBody::Buffered(bytes) => {
            let progress = Arc::new(BodyProgress::buffered(bytes.len() as u64));
            let (request, _) = upstream_request_parts(parts, outbound);
            let body = http_body_util::Full::new(bytes)
                .map_err(|never| match never {})
                .boxed_unsync();
            return (request.map(|()| body), Some(progress));
        }
    };
    let body_read_timeout = outbound.body_read_timeout;
    let (request, body_limit) = upstream_request_parts(parts, outbound);
    let (body, progress) = if body.is_end_stream() {
        // A zero-sized body: boxing it does not allocate.
        (
            Empty::<Bytes>::new()
                .map_err(|never| match never {})
                .boxed_unsync(),
            None,
        )
    } else {
        let progress = Arc::new(BodyProgress::default());
        let body = RequestBody::new(
            ReadTimeout::new(body, body_read_timeout),
            body_limit,
            Arc::clone(&progress),
        );
        (body.boxed_unsync(), Some(progress))
    };
    (request.map(|()| body), progress)
}

/// The upstream request head (headers rewritten for forwarding) and the body limit.
fn upstream_request_parts(mut parts: Parts, outbound: Outbound<'_>) -> (Request<()>, Option<u64>) {
    let headers = &mut parts.headers;
    append_forwarded_for(headers, outbound.peer);
    headers.insert(
        X_FORWARDED_PROTO.clone(),
        HeaderValue::from_static(if outbound.https { "https" } else { "http" }),
    );
    headers.insert(X_FORWARDED_HOST.clone(), outbound.host.clone());
    headers.insert(X_REQUEST_ID.clone(), outbound.request_id.clone());
    headers.insert(TRACEPARENT.clone(), outbound.trace.traceparent());
    headers.remove(&TRACESTATE);
    if let Some(tracestate) = &outbound.trace.tracestate {
        headers.insert(TRACESTATE.clone(), tracestate.clone());
    }
    // The upstream gets the authority the request was routed on (`route::request_host`):
    // an absolute-form target's or HTTP/2 `:authority`'s when there is one, else `Host`, so
    // it never reads another host than the route matched. HTTP/2 clients may send no `Host`
    // at all: an HTTP/1 upstream still gets the host the client asked for, never the
    // endpoint's address.
    if !outbound.host.is_empty() {
        headers.insert(HOST, outbound.host);
    }

    let mut request = Request::new(());
    *request.method_mut() = parts.method;
    *request.uri_mut() = outbound.uri;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = parts.headers;
    (request, outbound.body_limit)
}

/// Forward under the route timeout (504 when it elapses). An error caused by the client's
/// body is the client's: 413 past the limit, 408 for a body that stopped arriving
/// (`bodyReadTimeoutMs`), 400 for a malformed or truncated body.
pub(crate) async fn send(
    gateway: &Gateway,
    route: &CompiledRoute,
    target: &UpstreamTarget,
    request: Request<ProxyBody>,
    progress: Option<&BodyProgress>,
) -> Result<Response<UpstreamBody>, GatewayError> {
    // `forward_streaming`: the endpoint counts as busy (least-request, concurrency limit)
    // until the response body is done, not just until its headers arrive.
    let forwarded = tokio::time::timeout(
        route.timeout,
        gateway
            .upstreams
            .forward_streaming(&route.upstream, target, request),
    );
    match forwarded.await {
        Ok(Ok(response)) => Ok(response),
        // Failures the client's body caused are the client's, whatever the upstream said.
        Ok(Err(_)) if progress.is_some_and(BodyProgress::exceeded) => Err(GatewayError::client(
            ErrorKind::PayloadTooLarge,
            Phase::Shape,
        )),
        Ok(Err(_)) if progress.is_some_and(BodyProgress::timed_out) => Err(GatewayError::client(
            ErrorKind::RequestTimeout,
            Phase::Forward,
        )
        .with_detail("no request body bytes arrived within bodyReadTimeoutMs")),
        Ok(Err(_)) if progress.is_some_and(BodyProgress::client_failed) => {
            Err(GatewayError::client(ErrorKind::BadRequest, Phase::Forward)
                .with_detail("the request body is malformed or was cut off"))
        }
        Ok(Err(error)) => Err(error),
        Err(_elapsed) => Err(GatewayError::upstream(ErrorKind::UpstreamTimeout)),
    }
}

/// After the upstream agreed to switch protocols, join the two upgraded connections and
/// copy bytes both ways until either side closes or the drain deadline passes.
pub(crate) fn splice_upgrade(
    client: Option<OnUpgrade>,
    response: &mut Response<UpstreamBody>,
    drain: &Arc<DrainState>,
) -> Result<(), GatewayError> {
    debug_assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    let Some(client) = client else {
        // The upstream switched protocols without being asked to.
        return Err(GatewayError::upstream(ErrorKind::UpstreamProtocolError));
    };
    if !response.headers().contains_key(UPGRADE) {
        return Err(GatewayError::upstream(ErrorKind::UpstreamProtocolError));
    }
    let upstream = hyper::upgrade::on(response);
    let tunnel = drain.track_tunnel();
    let mut hard_stop = drain.hard_stop();
    tokio::spawn(async move {
        let _tunnel = tunnel;
        let (client, upstream) = match tokio::join!(client, upstream) {
            (Ok(client), Ok(upstream)) => (client, upstream),
            (client, upstream) => {
                tracing::debug!(
                    client_ok = client.is_ok(),
                    upstream_ok = upstream.is_ok(),
                    "upgrade did not complete"
                );
                return;
            }
        };
        let mut client = TokioIo::new(client);
        let mut upstream = TokioIo::new(upstream);
        tokio::select! {
            copied = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {
                if let Err(error) = copied {
                    tracing::debug!(%error, "upgraded connection ended with an error");
                }
            }
            _ = hard_stop.wait_for(|stopped| *stopped) => {}
        }
    });
    Ok(())
}
