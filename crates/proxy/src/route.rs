//! The route phase's request-side work: which host, which canonical path (DESIGN §4).

use std::borrow::Cow;

use http::header::HOST;
use http::request::Parts;
use http::uri::PathAndQuery;
use http::{HeaderValue, Uri, Version};
use portcullis_error::{ErrorKind, GatewayError, Phase};
use portcullis_router::{canonicalize_path, normalize_host};

/// The host a request is routed on, as the client wrote it (port included): the absolute-
/// form target's or HTTP/2 `:authority`'s authority, else `Host`.
pub(crate) fn request_host(parts: &Parts) -> Result<HeaderValue, GatewayError> {
    let bad = |detail: &'static str| {
        GatewayError::client(ErrorKind::BadRequest, Phase::Route).with_detail(detail)
    };
    let host_header = parts.headers.get(HOST);
    let host_text = match host_header {
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| bad("the Host header is not valid text"))?,
        ),
        None => None,
    };
    match (parts.uri.authority(), host_text) {
        (Some(authority), Some(host)) => {
            if normalize_host(authority.as_str()) != normalize_host(host) {
                return Err(GatewayError::client(ErrorKind::HostMismatch, Phase::Route));
            }
            HeaderValue::from_str(authority.as_str())
                .map_err(|_| bad("the request target's authority is invalid"))
        }
        (Some(authority), None) => HeaderValue::from_str(authority.as_str())
            .map_err(|_| bad("the request target's authority is invalid")),
        (None, Some(_)) => Ok(host_header
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static(""))),
        (None, None) if parts.version == Version::HTTP_11 => {
            Err(bad("HTTP/1.1 requests must carry a Host header"))
        }
        (None, None) => Ok(HeaderValue::from_static("")),
    }
}

/// The origin-form target sent upstream: the canonical path plus the query unchanged.
/// Reuses the client's target when it is already canonical and origin-form (the common
/// case, no allocation).
pub(crate) fn upstream_target(uri: &Uri, allow_encoded_slashes: bool) -> Result<Uri, GatewayError> {
    let canonical = canonicalize_path(uri.path(), allow_encoded_slashes).map_err(|error| {
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
            ErrorKind::HostMismatch
        );
        let missing = parts("/a", None, Version::HTTP_11);
        assert_eq!(
            request_host(&missing).expect_err("missing").kind,
            ErrorKind::BadRequest
        );
        let http10 = parts("/a", None, Version::HTTP_10);
        assert_eq!(request_host(&http10).expect("HTTP/1.0 may omit Host"), "");
    }

    #[test]
    fn upstream_target_is_canonical_origin_form_with_the_query_unchanged() {
        let target = |uri: &str| {
            upstream_target(&uri.parse().expect("test uri"), false).map(|uri| uri.to_string())
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
        let target = upstream_target(&uri, false).expect("ok");
        assert_eq!(target, uri);
    }
}
