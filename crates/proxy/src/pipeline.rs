//! The request pipeline (DESIGN §5): ingress → route → shape → authenticate → authorize →
//! rate limit → upstream select → forward → respond and log. Each phase either passes the
//! request on or fails with a [`GatewayError`], which `respond::error_response` renders.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::header::CONNECTION;
use http::request::Parts;
use http::{HeaderValue, Request, Response, StatusCode, Version};
use http_body::Body as _;
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use portcullis_error::{ErrorKind, GatewayError, Phase};
use portcullis_router::Lookup;
use portcullis_telemetry::request_id::request_id_from;
use portcullis_telemetry::trace::TraceContext;

use crate::body::ResponseBody;
use crate::forward::{self, Outbound};
use crate::gateway::Installed;
use crate::headers::{is_upgrade_request, strip_hop_by_hop, strip_internal};
use crate::respond::{error_response, Completion, X_REQUEST_ID};
use crate::server::ConnectionContext;
use crate::stream_resets::Outcome;
use crate::upstream::UpstreamBody;
use crate::{framing, ingress, ratelimit, route, shape};

/// A failed phase, with the `Allow` value when the failure is a 405.
struct Rejection {
    error: GatewayError,
    allow: Option<HeaderValue>,
    /// `Retry-After` and the `RateLimit` fields of a rate-limit refusal.
    rate_limit_headers: Option<ratelimit::RateLimitHeaders>,
}

impl From<GatewayError> for Rejection {
    fn from(error: GatewayError) -> Rejection {
        Rejection {
            error,
            allow: None,
            rate_limit_headers: None,
        }
    }
}

impl From<ratelimit::Refused> for Rejection {
    fn from(refused: ratelimit::Refused) -> Rejection {
        Rejection {
            error: refused.error,
            allow: None,
            rate_limit_headers: Some(refused.headers),
        }
    }
}

/// hyper's service entry point: one call per request, never fails (every failure is an
/// answer). An HTTP/2 request dropped before its answer was cancelled by the client, and
/// counts against the connection (`stream_resets`).
pub(crate) async fn handle(
    connection: Arc<ConnectionContext>,
    request: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let outcome = Outcome::start(&connection.stream_resets, request.version());
    let response = handle_request(connection, request).await;
    outcome.answered();
    response
}

async fn handle_request(
    connection: Arc<ConnectionContext>,
    request: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let started = Instant::now();
    let listener = &connection.listener;
    let installed = listener.gateway.load();
    let (mut parts, body) = request.into_parts();

    // The framing guard's stand-in for a message it refused: answered here, never forwarded.
    let config_version = installed
        .as_ref()
        .map(|loaded| loaded.loaded.config_version);
    if let Some(response) = framing::answer_refusal(&connection, &parts, started, config_version) {
        return Ok(response);
    }
    // The guard holds the bytes behind a request that may switch protocols until it knows.
    let upgrade_watch = framing::UpgradeWatch::start(&connection, &parts);

    // Ingress.
    let request_id = request_id_from(parts.headers.get(&X_REQUEST_ID));
    let trace = TraceContext::from_headers(&parts.headers);
    let client_ip = ingress::client_ip(
        connection.peer.ip(),
        &parts.headers,
        &listener.trusted_proxies,
    );
    let client_addr = if client_ip == connection.peer.ip() {
        connection.peer
    } else {
        SocketAddr::new(client_ip, 0)
    };
    let mut completion = Completion::start(
        Arc::clone(&connection),
        started,
        request_id.clone(),
        parts.method.clone(),
        parts.uri.clone(),
        client_addr,
    );
    completion.trace_id = trace.trace_id;
    #[cfg(feature = "fault-injection")]
    fault_injection::maybe_panic(&parts);
    let upgrade = is_upgrade_request(parts.version, &parts.method, &parts.headers);
    strip_hop_by_hop(&mut parts.headers, upgrade, true);
    strip_internal(&mut parts.headers);

    let Some(installed) = installed else {
        let error = GatewayError::gateway(ErrorKind::NotReady, Phase::Route);
        return Ok(error_response(&error, None, completion));
    };
    completion.config_version = installed.loaded.config_version;
    completion.installed = Some(Arc::clone(&installed));

    let version = parts.version;
    let request = Inbound {
        connection: &connection,
        installed: &installed,
        request_id: &request_id,
        trace: &trace,
        upgrade,
        client_ip,
    };
    match request.proxy(parts, body, &mut completion).await {
        Ok(response) => {
            if let Some(watch) = upgrade_watch {
                watch.finish(response.status());
            }
            Ok(upstream_response(response, &request_id, completion))
        }
        Err(rejection) => {
            let close = closes_connection(version, rejection.error.kind);
            let mut response = error_response(&rejection.error, rejection.allow, completion);
            if let Some(headers) = rejection.rate_limit_headers {
                headers.apply(response.headers_mut());
            }
            if close {
                // hyper closes an HTTP/1 connection after a response that says so.
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response)
        }
    }
}

/// Whether an HTTP/1 connection ends after this refusal: when the request's authority is in
/// doubt (no, several or an invalid `Host`, or one the target contradicts), where one message
/// ends and what the next one is for is not something to trust either (RFC 9112 §3.2).
fn closes_connection(version: Version, kind: ErrorKind) -> bool {
    version <= Version::HTTP_11
        && matches!(
            kind,
            ErrorKind::MissingHost
                | ErrorKind::DuplicateHost
                | ErrorKind::InvalidHost
                | ErrorKind::AuthorityMismatch
        )
}

/// Respond: the upstream's answer without hop-by-hop headers, with `x-request-id`.
fn upstream_response(
    response: Response<UpstreamBody>,
    request_id: &HeaderValue,
    mut completion: Completion,
) -> Response<ResponseBody> {
    let (mut parts, body) = response.into_parts();
    let switching = parts.status == StatusCode::SWITCHING_PROTOCOLS;
    strip_hop_by_hop(&mut parts.headers, switching, false);
    parts
        .headers
        .insert(X_REQUEST_ID.clone(), request_id.clone());
    // The client's connection has its own protocol version; hyper frames it.
    parts.version = Version::HTTP_11;
    completion.status = parts.status.as_u16();
    Response::from_parts(parts, ResponseBody::upstream(body, completion))
}

struct Inbound<'a> {
    connection: &'a ConnectionContext,
    installed: &'a Installed,
    request_id: &'a HeaderValue,
    trace: &'a TraceContext,
    upgrade: bool,
    client_ip: std::net::IpAddr,
}

impl Inbound<'_> {
    async fn proxy(
        &self,
        mut parts: Parts,
        body: Incoming,
        completion: &mut Completion,
    ) -> Result<Response<UpstreamBody>, Rejection> {
        let listener = &self.connection.listener;
        let snapshot = &self.installed.loaded.snapshot;

        // Route.
        let host = route::request_host(&parts)?;
        let upstream_uri = route::upstream_target(&parts.uri, listener.path_options)?;
        let host_text = host.to_str().unwrap_or_default();
        let route = match snapshot.lookup(host_text, &parts.method, upstream_uri.path()) {
            Lookup::Found(route) => route,
            Lookup::MethodNotAllowed { allow } => {
                return Err(Rejection {
                    error: GatewayError::client(ErrorKind::MethodNotAllowed, Phase::Route),
                    allow: Some(allow.clone()),
                    rate_limit_headers: None,
                })
            }
            Lookup::NotFound => {
                return Err(GatewayError::client(ErrorKind::RouteNotFound, Phase::Route).into())
            }
        };
        completion.route_id = Some(route.id);
        completion.route_name = Some(Arc::clone(&route.name));

        // Shape.
        shape::check(&route.request_policy, &parts.headers, !body.is_end_stream())?;
        shape::restrict_headers(&route.request_policy, &mut parts.headers);

        // Authenticate, authorize, rate limit.
        let (principal, body) = crate::auth::authenticate_and_authorize(
            self.installed,
            route,
            &mut parts,
            upstream_uri.path(),
            body,
            self.connection,
            completion,
        )
        .await?;
        let facts = ratelimit::FactsInput {
            client_ip: self.client_ip,
            principal: principal.as_deref(),
        };
        let installed = self.installed;
        let config = &installed.loaded.config;
        let admitted_headers =
            match ratelimit::check(&installed.rate_limits, route.id, &route.name, config, facts)
                .await
            {
                Ok(headers) => headers,
                Err(refused) => {
                    completion.rate_limited = refused.error.kind == ErrorKind::RateLimited;
                    return Err(refused.into());
                }
            };

        // Upstream select.
        let target =
            forward::select_target(route, &parts.headers, principal.as_deref(), self.request_id);
        completion.upstream = Some(Arc::clone(&route.upstream.service));
        completion.upstream_version = Some(Arc::clone(&target.version));

        // Forward.
        let client_upgrade = if self.upgrade {
            parts.extensions.remove::<OnUpgrade>()
        } else {
            None
        };
        let outbound = Outbound {
            uri: upstream_uri,
            host,
            peer: self.connection.peer.ip(),
            https: listener.https,
            request_id: self.request_id,
            trace: self.trace,
            body_limit: route.request_policy.max_body_bytes,
            body_read_timeout: listener.body_read_timeout,
        };
        let (request, progress) = forward::upstream_request(parts, body, outbound);
        completion.body_progress = progress.clone();
        let gateway = &listener.gateway;
        let mut response =
            forward::send(gateway, route, target, request, progress.as_deref()).await?;
        if let Some(headers) = admitted_headers {
            headers.apply(response.headers_mut());
        }
        if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            forward::splice_upgrade(client_upgrade, &mut response, &listener.drain)?;
        }
        Ok(response)
    }
}

#[cfg(feature = "fault-injection")]
mod fault_injection {
    /// Test-only: a request carrying this header panics inside its task, as a bug would.
    pub(super) const PANIC_HEADER: &str = "x-portcullis-fault-panic";

    pub(super) fn maybe_panic(parts: &http::request::Parts) {
        if parts.headers.contains_key(PANIC_HEADER) {
            panic!("fault injection: the request carried {PANIC_HEADER}");
        }
    }
}
