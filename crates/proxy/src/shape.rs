//! The shape phase: body size from `Content-Length` (413), content type (415), required
//! headers (400), and the header allowlist.

use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::HeaderMap;
use portcullis_error::{ErrorKind, GatewayError, Phase};
use portcullis_router::CompiledRequestPolicy;

use crate::headers::apply_allowlist;

/// Check a request against its route's policy before anything is forwarded. `has_body` is
/// false only when the request is known to carry no body. The size limit is enforced a
/// second time while the body streams (see `body::RequestBody`).
pub(crate) fn check(
    policy: &CompiledRequestPolicy,
    headers: &HeaderMap,
    has_body: bool,
) -> Result<(), GatewayError> {
    if let Some(limit) = policy.max_body_bytes {
        let declared = headers
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.trim().parse::<u64>().ok());
        if declared.is_some_and(|length| length > limit) {
            return Err(GatewayError::client(
                ErrorKind::PayloadTooLarge,
                Phase::Shape,
            ));
        }
    }
    if !policy.allowed_content_types.is_empty() && (has_body || headers.contains_key(CONTENT_TYPE))
    {
        let media_type = headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(|text| text.split(';').next().unwrap_or_default().trim());
        let accepted = media_type.is_some_and(|media_type| {
            policy
                .allowed_content_types
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(media_type))
        });
        if !accepted {
            return Err(GatewayError::client(
                ErrorKind::UnsupportedMediaType,
                Phase::Shape,
            ));
        }
    }
    if let Some(missing) = policy
        .require_headers
        .iter()
        .find(|name| !headers.contains_key(*name))
    {
        return Err(
            GatewayError::client(ErrorKind::MissingRequiredHeader, Phase::Shape)
                .with_detail(format!("missing header {}", missing.as_str())),
        );
    }
    Ok(())
}

/// Drop headers outside `requestPolicy.allowedHeaders` (when set).
pub(crate) fn restrict_headers(policy: &CompiledRequestPolicy, headers: &mut HeaderMap) {
    if let Some(allowed) = &policy.allowed_headers {
        apply_allowlist(headers, allowed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderName, HeaderValue};

    fn policy() -> CompiledRequestPolicy {
        CompiledRequestPolicy {
            max_body_bytes: Some(10),
            allowed_content_types: vec!["application/json".to_string()],
            require_headers: vec![HeaderName::from_static("x-tenant-id")],
            allowed_headers: None,
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                )
            })
            .collect()
    }

    fn kind(result: Result<(), GatewayError>) -> Option<ErrorKind> {
        result.err().map(|error| error.kind)
    }

    #[test]
    fn declared_length_over_the_limit_is_413() {
        let map = headers(&[
            ("content-length", "11"),
            ("content-type", "application/json"),
            ("x-tenant-id", "t"),
        ]);
        assert_eq!(
            kind(check(&policy(), &map, true)),
            Some(ErrorKind::PayloadTooLarge)
        );
        let map = headers(&[
            ("content-length", "10"),
            ("content-type", "application/json"),
            ("x-tenant-id", "t"),
        ]);
        assert_eq!(kind(check(&policy(), &map, true)), None);
    }

    #[test]
    fn content_type_is_matched_without_parameters_and_case() {
        let map = headers(&[
            ("content-type", "Application/JSON; charset=utf-8"),
            ("x-tenant-id", "t"),
        ]);
        assert_eq!(kind(check(&policy(), &map, true)), None);
        let map = headers(&[("content-type", "text/plain"), ("x-tenant-id", "t")]);
        assert_eq!(
            kind(check(&policy(), &map, true)),
            Some(ErrorKind::UnsupportedMediaType)
        );
        let map = headers(&[("x-tenant-id", "t")]);
        assert_eq!(
            kind(check(&policy(), &map, true)),
            Some(ErrorKind::UnsupportedMediaType)
        );
        // No body and no content type: nothing to check.
        assert_eq!(kind(check(&policy(), &map, false)), None);
    }

    #[test]
    fn missing_required_header_is_named() {
        let error = check(&policy(), &HeaderMap::new(), false).expect_err("must fail");
        assert_eq!(error.kind, ErrorKind::MissingRequiredHeader);
        assert_eq!(error.detail.as_deref(), Some("missing header x-tenant-id"));
    }
}
