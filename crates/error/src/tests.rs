use super::*;

/// One row per error kind: the status it maps to. A new kind must be added here.
const TABLE: &[(ErrorKind, u16)] = &[
    (ErrorKind::BadRequest, 400),
    (ErrorKind::InvalidPath, 400),
    (ErrorKind::MissingRequiredHeader, 400),
    (ErrorKind::MissingHost, 400),
    (ErrorKind::DuplicateHost, 400),
    (ErrorKind::InvalidHost, 400),
    (ErrorKind::AuthorityMismatch, 400),
    (ErrorKind::Unauthenticated, 401),
    (ErrorKind::Forbidden, 403),
    (ErrorKind::RouteNotFound, 404),
    (ErrorKind::MethodNotAllowed, 405),
    (ErrorKind::RequestTimeout, 408),
    (ErrorKind::PayloadTooLarge, 413),
    (ErrorKind::UnsupportedMediaType, 415),
    (ErrorKind::RateLimited, 429),
    (ErrorKind::HeadersTooLarge, 431),
    (ErrorKind::Internal, 500),
    (ErrorKind::UpstreamConnectFailed, 502),
    (ErrorKind::UpstreamProtocolError, 502),
    (ErrorKind::RateLimitStoreUnavailable, 503),
    (ErrorKind::AuthUnavailable, 503),
    (ErrorKind::UpstreamUnavailable, 503),
    (ErrorKind::NotReady, 503),
    (ErrorKind::UpstreamTimeout, 504),
];

#[test]
fn every_kind_maps_to_its_status() {
    for (kind, status) in TABLE {
        assert_eq!(kind.status().as_u16(), *status, "{kind:?}");
    }
}

#[test]
fn every_kind_renders_a_problem_body_with_the_request_id() {
    for (kind, status) in TABLE {
        let err = GatewayError::client(*kind, Phase::Route);
        let body: serde_json::Value =
            serde_json::from_slice(&err.problem_json("req-42")).expect("valid JSON");
        assert_eq!(body["status"], *status, "{kind:?}");
        assert_eq!(body["requestId"], "req-42");
        assert_eq!(body["code"], kind.code());
        assert_eq!(body["title"], kind.title());
        assert!(body["type"]
            .as_str()
            .is_some_and(|t| t.ends_with(kind.code())));
        assert!(body.get("detail").is_none());
    }
}

#[test]
fn codes_are_unique() {
    let mut codes: Vec<_> = TABLE.iter().map(|(k, _)| k.code()).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), TABLE.len());
}

#[test]
fn detail_is_included_and_json_escaped() {
    let err = GatewayError::client(ErrorKind::MissingRequiredHeader, Phase::Shape)
        .with_detail("missing header \"x-tenant\"");
    let body: serde_json::Value =
        serde_json::from_slice(&err.problem_json("r")).expect("valid JSON");
    assert_eq!(body["detail"], "missing header \"x-tenant\"");
}

#[test]
fn upstream_failures_are_retryable_and_client_errors_are_not() {
    assert!(GatewayError::upstream(ErrorKind::UpstreamConnectFailed).retryable);
    assert!(GatewayError::upstream(ErrorKind::UpstreamTimeout).retryable);
    assert!(!GatewayError::client(ErrorKind::BadRequest, Phase::Ingress).retryable);
    assert!(!GatewayError::client(ErrorKind::Forbidden, Phase::Authorize).retryable);
    let err = GatewayError::upstream(ErrorKind::UpstreamConnectFailed);
    assert_eq!(err.cause, Cause::Upstream);
    assert_eq!(err.phase, Phase::Forward);
    assert_eq!(
        err.to_string(),
        "upstream_connect_failed in phase forward (cause: upstream)"
    );
}
