//! The route phase's request-side work: which host, which canonical path (DESIGN §4).

use std::borrow::Cow;

use http::header::HOST;
use http::request::Parts;
use http::uri::PathAndQuery;
use http::{HeaderValue, Uri, Version};
use portcullis_error::{ErrorKind, GatewayError, Phase};
use portcullis_router::{canonicalize_path_with, PathOptions};

use crate::authority::{self, AuthorityError};

/// The host a request is routed on and forwarded with, as the client wrote it (port
/// included): the absolute-form target's or HTTP/2 `:authority`'s authority when there is
/// one (it wins, RFC 9112 §3.2.2, RFC 9113 §8.3.1), else `Host`. Every one present must be a
/// valid `uri-host[:port]` ([`crate::authority`]), `Host` must appear at most once, and
/// when both are present they must name the same host and port.
pub(crate) fn request_host(parts: &Parts) -> Result<HeaderValue, GatewayError> {
    let mut host_lines = parts.headers.get_all(HOST).iter();
    let host_header = host_lines.next();
    if host_lines.next().is_some() {
        return Err(GatewayError::client(ErrorKind::DuplicateHost, Phase::Route)
            .with_detail("send exactly one Host header"));
    }
    let host = host_header
        .map(|value| {
            authority::parse(value.as_bytes()).map_err(|error| invalid("Host header", error))
        })
        .transpose()?;
    let target_name = if parts.version == Version::HTTP_2 {
        ":authority"
    } else {
        "request target's authority"
    };
    let target = parts
        .uri
        .authority()
        .map(|authority| {
            authority::parse(authority.as_str().as_bytes())
                .map(|parsed| (authority, parsed))
                .map_err(|error| invalid(target_name, error))
        })
        .transpose()?;
    match (target, host) {
        (Some((text, target)), host) => {
            if host.is_some_and(|host| !target.same_as(&host, default_port(&parts.uri))) {
                return Err(
                    GatewayError::client(ErrorKind::AuthorityMismatch, Phase::Route).with_detail(
                        "the request target's authority and the Host header must name the same host and port",
                    ),
                );
            }
            if host.is_none() && parts.version == Version::HTTP_11 {
                return Err(missing_host());
            }
            HeaderValue::from_str(text.as_str())
                .map_err(|_| invalid(target_name, AuthorityError::NonAscii))
        }
        (None, Some(_)) => Ok(host_header
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static(""))),
        (None, None) if parts.version == Version::HTTP_11 => Err(missing_host()),
        (None, None) => Ok(HeaderValue::from_static("")),
    }
}

fn invalid(what: &str, error: AuthorityError) -> GatewayError {
    GatewayError::client(ErrorKind::InvalidHost, Phase::Route)
        .with_detail(format!("the {what} is not a valid host[:port]: {error}"))
}

fn missing_host() -> GatewayError {
    GatewayError::client(ErrorKind::MissingHost, Phase::Route)
        .with_detail("HTTP/1.1 requests must carry a Host header")
}

/// The port a missing port stands for, by the target's scheme.
fn default_port(uri: &Uri) -> Option<u16> {
    match uri.scheme_str() {
        Some(scheme) if scheme.eq_ignore_ascii_case("http") => Some(80),
        Some(scheme) if scheme.eq_ignore_ascii_case("https") => Some(443),
        _ => None,
    }
}

/// The origin-form target sent upstream: the canonical path plus the query unchanged.
/// Reuses the client's target when it is already canonical and origin-form (the common
/// case, no allocation).
pub(crate) fn upstream_target(uri: &Uri, options: PathOptions) -> Result<Uri, GatewayError> {
    let canonical = canonicalize_path_with(uri.path(), options).map_err(|error| {
        GatewayError::client(ErrorKind::InvalidPath, Phase::Route).with_detail(error.to_string())
    })?;
    let origin_form = uri.scheme().is_none() && uri.authority().is_none();
    let path_and_query = match (canonical, uri.path_and_query()) {
        (Cow::Borrowed(_), Some(_)) if origin_form => return Ok(uri.clone()),
        (Cow::Borrowed(_), Some(original)) => original.clone(),
        (canonical, _) => {
            let text = match uri.query() {
                Some(query) => format!("{canonical}?{query}"),
                None => canonical.into_owned(),
            };
            PathAndQuery::try_from(text).map_err(|_| {
                GatewayError::client(ErrorKind::InvalidPath, Phase::Route)
                    .with_detail("the canonical path is not a valid URI path")
            })?
        }
    };
    Uri::builder()
        .path_and_query(path_and_query)
        .build()
        .map_err(|_| GatewayError::client(ErrorKind::InvalidPath, Phase::Route))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, host: Option<&str>, version: Version) -> Parts {
        let mut builder = http::Request::builder().uri(uri).version(version);
        if let Some(host) = host {
            builder = builder.header(HOST, host);
        }
        builder.body(()).expect("test request").into_parts().0
    }

    #[test]
    fn host_comes_from_the_authority_or_the_host_header() {
        let origin = parts("/a", Some("Api.Example.com:8080"), Version::HTTP_11);
        assert_eq!(request_host(&origin).expect("host"), "Api.Example.com:8080");
        let absolute = parts(
            "http://api.example.com/a",
            Some("API.example.com."),
            Version::HTTP_11,
        );
        assert_eq!(request_host(&absolute).expect("host"), "api.example.com");
        let port_mismatch = parts(
            "http://api.example.com:8080/a",
            Some("api.example.com"),
            Version::HTTP_11,
        );
        assert_eq!(
            request_host(&port_mismatch).expect_err("ports differ").kind,
            ErrorKind::AuthorityMismatch
        );
        let default_port = parts(
            "http://api.example.com/a",
            Some("api.example.com:80"),
            Version::HTTP_11,
        );
        assert_eq!(
            request_host(&default_port).expect("80 is http's port"),
            "api.example.com"
        );
        let h2 = parts("https://api.example.com/a", None, Version::HTTP_2);
        assert_eq!(request_host(&h2).expect("host"), "api.example.com");
    }

    #[test]
    fn differing_hosts_and_missing_http11_host_are_refused() {
        let mismatch = parts(
            "http://evil.example/a",
            Some("good.example"),
            Version::HTTP_11,
        );
        assert_eq!(
            request_host(&mismatch).expect_err("mismatch").kind,
            ErrorKind::AuthorityMismatch
        );
        let missing = parts("/a", None, Version::HTTP_11);
        assert_eq!(
            request_host(&missing).expect_err("missing").kind,
            ErrorKind::MissingHost
        );
        let absolute_without_host = parts("http://good.example/a", None, Version::HTTP_11);
        assert_eq!(
            request_host(&absolute_without_host)
                .expect_err("HTTP/1.1 needs Host even in absolute form")
                .kind,
            ErrorKind::MissingHost
        );
        let http10 = parts("/a", None, Version::HTTP_10);
        assert_eq!(request_host(&http10).expect("HTTP/1.0 may omit Host"), "");
    }

    #[test]
    fn repeated_and_invalid_hosts_are_refused_with_their_kind() {
        let mut repeated = parts("/a", Some("a.test"), Version::HTTP_2);
        repeated
            .headers
            .append(HOST, HeaderValue::from_static("b.test"));
        assert_eq!(
            request_host(&repeated).expect_err("two Host").kind,
            ErrorKind::DuplicateHost
        );
        for (uri, host) in [
            ("/a", Some("a.test, b.test")),
            ("/a", Some("attacker@a.test")),
            ("http://u@a.test/a", Some("a.test")),
            ("https://a.test:99999/a", None),
        ] {
            let request = parts(uri, host, Version::HTTP_2);
            let error = request_host(&request).expect_err("invalid");
            assert_eq!(error.kind, ErrorKind::InvalidHost, "{uri} {host:?}");
            assert!(error
                .detail
                .is_some_and(|detail| detail.contains("host[:port]")));
        }
    }

    #[test]
    fn upstream_target_is_canonical_origin_form_with_the_query_unchanged() {
        let target = |uri: &str| {
            upstream_target(&uri.parse().expect("test uri"), PathOptions::default())
                .map(|uri| uri.to_string())
        };
        assert_eq!(
            target("/v1/orders?x=%2F&y").expect("ok"),
            "/v1/orders?x=%2F&y"
        );
        assert_eq!(
            target("/v1//orders/./7/../8?q=1").expect("ok"),
            "/v1/orders/8?q=1"
        );
        assert_eq!(target("http://h:8080/v1/%41").expect("ok"), "/v1/A");
        assert_eq!(
            target("/v1/a%2Fb").expect_err("encoded slash").kind,
            ErrorKind::InvalidPath
        );
        assert_eq!(
            target("/../x").expect_err("above root").kind,
            ErrorKind::InvalidPath
        );
    }

    #[test]
    fn already_canonical_targets_are_reused() {
        let uri: Uri = "/v1/orders/7?x=1".parse().expect("test uri");
        let target = upstream_target(&uri, PathOptions::default()).expect("ok");
        assert_eq!(target, uri);
    }
}
