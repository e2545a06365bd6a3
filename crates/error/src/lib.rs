//! The gateway's one error type and the one table that maps it to a response.
//!
//! Every failure on the request path is a [`GatewayError`]: which pipeline [`Phase`] failed,
//! whether the client, the upstream or the gateway caused it ([`Cause`]), and whether a retry
//! could help. [`ErrorKind::status`] is the single table from error to HTTP status, and
//! [`GatewayError::problem_json`] renders the RFC 9457 `application/problem+json` body that
//! carries the request id. Public text is fixed per kind, so no internal detail (addresses,
//! backtraces, config values) can leak to a client.
//!
//! This crate sits at the bottom of the workspace and imports nothing of Portcullis.

use std::borrow::Cow;
use std::fmt;

use http::StatusCode;

/// The named phases of the request pipeline (DESIGN §5), in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    Accept,
    Ingress,
    Route,
    Shape,
    Authenticate,
    Authorize,
    RateLimit,
    UpstreamSelect,
    Forward,
    Respond,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Accept => "accept",
            Phase::Ingress => "ingress",
            Phase::Route => "route",
            Phase::Shape => "shape",
            Phase::Authenticate => "authenticate",
            Phase::Authorize => "authorize",
            Phase::RateLimit => "rate_limit",
            Phase::UpstreamSelect => "upstream_select",
            Phase::Forward => "forward",
            Phase::Respond => "respond",
        }
    }
}

/// Who caused a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    Client,
    Upstream,
    Gateway,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Client => "client",
            Cause::Upstream => "upstream",
            Cause::Gateway => "gateway",
        }
    }
}

/// What went wrong. Each kind has exactly one status and one public title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Malformed request line, headers, framing or path (400).
    BadRequest,
    /// The canonical path is unacceptable (`..` above root, `%2F`, `%00`, …) (400).
    InvalidPath,
    /// A header the route requires is missing (400).
    MissingRequiredHeader,
    /// HTTP/1.1 without a `Host` header (400; the connection is closed).
    MissingHost,
    /// More than one `Host` header (400).
    DuplicateHost,
    /// A `Host`, absolute-form or `:authority` value that is not `uri-host[:port]` (400).
    InvalidHost,
    /// An absolute-form target or HTTP/2 `:authority` names a different host or port than
    /// `Host` (400).
    AuthorityMismatch,
    /// No route matches (404). Never forwarded.
    RouteNotFound,
    /// A route matches the path but not the method (405, with `Allow`).
    MethodNotAllowed,
    /// Body larger than the route allows (413).
    PayloadTooLarge,
    /// Content type the route does not accept (415).
    UnsupportedMediaType,
    /// Request head too large or too many headers (431).
    HeadersTooLarge,
    /// The client did not send its request head in time (408).
    RequestTimeout,
    /// No or invalid credentials (401).
    Unauthenticated,
    /// Authenticated but not allowed (403).
    Forbidden,
    /// A rate limit or quota refused the request (429).
    RateLimited,
    /// The rate-limit store failed and the limit fails closed (503).
    RateLimitStoreUnavailable,
    /// An identity dependency (introspection endpoint) is down for an uncached token (503).
    AuthUnavailable,
    /// The upstream has no healthy endpoint or is at its concurrency limit (503).
    UpstreamUnavailable,
    /// Connecting to the upstream failed or timed out (502).
    UpstreamConnectFailed,
    /// The upstream reset the connection or sent a malformed response (502).
    UpstreamProtocolError,
    /// The route timeout elapsed before the upstream answered (504).
    UpstreamTimeout,
    /// The gateway has no configuration loaded yet (503).
    NotReady,
    /// A bug or an unexpected condition inside the gateway (500).
    Internal,
}

impl ErrorKind {
    /// The one table from error kind to status code.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::BadRequest
            | ErrorKind::InvalidPath
            | ErrorKind::MissingRequiredHeader
            | ErrorKind::MissingHost
            | ErrorKind::DuplicateHost
            | ErrorKind::InvalidHost
            | ErrorKind::AuthorityMismatch => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::RouteNotFound => StatusCode::NOT_FOUND,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::UpstreamConnectFailed | ErrorKind::UpstreamProtocolError => {
                StatusCode::BAD_GATEWAY
            }
            ErrorKind::RateLimitStoreUnavailable
            | ErrorKind::AuthUnavailable
            | ErrorKind::UpstreamUnavailable
            | ErrorKind::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// Stable machine-readable code, used in problem bodies, metrics labels and logs.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::InvalidPath => "invalid_path",
            ErrorKind::MissingRequiredHeader => "missing_required_header",
            ErrorKind::MissingHost => "missing_host",
            ErrorKind::DuplicateHost => "duplicate_host",
            ErrorKind::InvalidHost => "invalid_host",
            ErrorKind::AuthorityMismatch => "authority_mismatch",
            ErrorKind::RouteNotFound => "route_not_found",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::UnsupportedMediaType => "unsupported_media_type",
            ErrorKind::HeadersTooLarge => "headers_too_large",
            ErrorKind::RequestTimeout => "request_timeout",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::RateLimitStoreUnavailable => "rate_limit_store_unavailable",
            ErrorKind::AuthUnavailable => "auth_unavailable",
            ErrorKind::UpstreamUnavailable => "upstream_unavailable",
            ErrorKind::UpstreamConnectFailed => "upstream_connect_failed",
            ErrorKind::UpstreamProtocolError => "upstream_protocol_error",
            ErrorKind::UpstreamTimeout => "upstream_timeout",
            ErrorKind::NotReady => "not_ready",
            ErrorKind::Internal => "internal_error",
        }
    }

    /// Fixed public title: never includes request-specific or internal data.
    pub fn title(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "The request is malformed.",
            ErrorKind::InvalidPath => "The request path is not acceptable.",
            ErrorKind::MissingRequiredHeader => "A required request header is missing.",
            ErrorKind::MissingHost => "The request has no Host header.",
            ErrorKind::DuplicateHost => "The request has more than one Host header.",
            ErrorKind::InvalidHost => "The request's host is not a valid host[:port].",
            ErrorKind::AuthorityMismatch => {
                "The request target's authority differs from the Host header."
            }
            ErrorKind::RouteNotFound => "No route matches the request.",
            ErrorKind::MethodNotAllowed => "The route does not accept this method.",
            ErrorKind::PayloadTooLarge => "The request body is too large.",
            ErrorKind::UnsupportedMediaType => "The request's content type is not accepted.",
            ErrorKind::HeadersTooLarge => "The request headers are too large.",
            ErrorKind::RequestTimeout => "The request was not received in time.",
            ErrorKind::Unauthenticated => "Authentication is required.",
            ErrorKind::Forbidden => "The caller is not allowed to do this.",
            ErrorKind::RateLimited => "Too many requests.",
            ErrorKind::RateLimitStoreUnavailable => "Rate limiting is unavailable.",
            ErrorKind::AuthUnavailable => "Authentication is temporarily unavailable.",
            ErrorKind::UpstreamUnavailable => "The upstream service is unavailable.",
            ErrorKind::UpstreamConnectFailed => "The upstream service could not be reached.",
            ErrorKind::UpstreamProtocolError => "The upstream service failed to answer.",
            ErrorKind::UpstreamTimeout => "The upstream service did not answer in time.",
            ErrorKind::NotReady => "The gateway is not ready.",
            ErrorKind::Internal => "The gateway failed to handle the request.",
        }
    }
}

/// A failure on the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayError {
    pub kind: ErrorKind,
    pub phase: Phase,
    pub cause: Cause,
    /// Whether trying again (elsewhere or later) could succeed.
    pub retryable: bool,
    /// Optional public detail, safe to show a client (e.g. "missing header x-tenant-id").
    pub detail: Option<Cow<'static, str>>,
}

impl GatewayError {
    pub fn new(kind: ErrorKind, phase: Phase, cause: Cause) -> Self {
        let retryable = matches!(
            kind,
            ErrorKind::UpstreamConnectFailed
                | ErrorKind::UpstreamUnavailable
                | ErrorKind::UpstreamProtocolError
                | ErrorKind::UpstreamTimeout
                | ErrorKind::NotReady
                | ErrorKind::RateLimitStoreUnavailable
                | ErrorKind::AuthUnavailable
        );
        GatewayError {
            kind,
            phase,
            cause,
            retryable,
            detail: None,
        }
    }

    /// A client error in `phase`.
    pub fn client(kind: ErrorKind, phase: Phase) -> Self {
        Self::new(kind, phase, Cause::Client)
    }

    /// An upstream failure during forwarding.
    pub fn upstream(kind: ErrorKind) -> Self {
        Self::new(kind, Phase::Forward, Cause::Upstream)
    }

    /// A failure of the gateway itself in `phase`.
    pub fn gateway(kind: ErrorKind, phase: Phase) -> Self {
        Self::new(kind, phase, Cause::Gateway)
    }

    pub fn with_detail(mut self, detail: impl Into<Cow<'static, str>>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The RFC 9457 problem document for this error, carrying the request id.
    pub fn problem_json(&self, request_id: &str) -> Vec<u8> {
        let status = self.status();
        let mut body = serde_json::json!({
            "type": format!("https://portcullis.dev/problems/{}", self.kind.code()),
            "title": self.kind.title(),
            "status": status.as_u16(),
            "code": self.kind.code(),
            "requestId": request_id,
        });
        if let (Some(detail), Some(map)) = (&self.detail, body.as_object_mut()) {
            map.insert(
                "detail".to_string(),
                serde_json::Value::String(detail.to_string()),
            );
        }
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} in phase {} (cause: {})",
            self.kind.code(),
            self.phase.as_str(),
            self.cause.as_str()
        )?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for GatewayError {}

/// The media type of every error body the gateway writes.
pub const PROBLEM_JSON: &str = "application/problem+json";

#[cfg(test)]
mod tests;
