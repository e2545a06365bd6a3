//! `x-request-id`: keep a well-formed incoming id (`^[A-Za-z0-9._:-]{1,128}$`), else generate.

use http::HeaderValue;

pub fn is_valid_request_id(value: &[u8]) -> bool {
    let _ = value;
    unimplemented!("telemetry helper")
}

/// The incoming id when valid, else a fresh unique one.
pub fn request_id_from(incoming: Option<&HeaderValue>) -> HeaderValue {
    let _ = incoming;
    unimplemented!("telemetry helper")
}
