//! Arbitrary bytes as `x-request-id`: never panics, a valid id is kept verbatim, and the
//! result is always a valid id.

use http::HeaderValue;
use portcullis_telemetry::request_id::{is_valid_request_id, request_id_from};

/// The target's contract for one input; panics on a violation.
pub fn check(data: &[u8]) {
    let valid = is_valid_request_id(data);
    let Ok(incoming) = HeaderValue::from_bytes(data) else {
        assert!(!valid, "a valid id is always a valid header value");
        return;
    };
    let result = request_id_from(Some(&incoming));
    assert!(is_valid_request_id(result.as_bytes()));
    if valid {
        assert_eq!(result.as_bytes(), data);
    } else {
        assert_ne!(result.as_bytes(), data);
    }
}
