//! `x-request-id`: keep a well-formed incoming id (`^[A-Za-z0-9._:-]{1,128}$`), else generate.
//!
//! Generated ids are 128 random bits from a thread-local CSPRNG rendered as 32 lower-case
//! hex digits (see `random`): unique across processes without coordination, and not
//! guessable from earlier ids (a counter would let a client predict other clients' ids).

use http::HeaderValue;

use crate::random::{random_u128, write_hex};

/// Longest request id kept from a client.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// Length of a generated id (32 hex digits).
pub const GENERATED_REQUEST_ID_LEN: usize = 32;

/// True when `value` matches `^[A-Za-z0-9._:-]{1,128}$`.
pub fn is_valid_request_id(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= MAX_REQUEST_ID_LEN
        && value
            .iter()
            .all(|&byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b':' | b'-'))
}

/// The incoming id when valid, else a fresh unique one.
pub fn request_id_from(incoming: Option<&HeaderValue>) -> HeaderValue {
    match incoming {
        Some(value) if is_valid_request_id(value.as_bytes()) => value.clone(),
        _ => generate_request_id(),
    }
}

/// A fresh id: 32 lower-case hex digits of 128 random bits (one allocation, the value).
pub fn generate_request_id() -> HeaderValue {
    let mut digits = [0u8; GENERATED_REQUEST_ID_LEN];
    write_hex(&random_u128().to_be_bytes(), &mut digits);
    HeaderValue::from_bytes(&digits).expect("hex digits are valid header bytes")
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn valid_ids_are_kept() {
        for id in ["a", "req_123", "A.b-c:d_e", "0123456789", &"x".repeat(128)] {
            let incoming = HeaderValue::from_str(id).expect("test id is a header value");
            assert!(is_valid_request_id(id.as_bytes()), "{id}");
            assert_eq!(request_id_from(Some(&incoming)), incoming);
        }
    }

    #[test]
    fn invalid_ids_are_replaced() {
        let too_long = "x".repeat(129);
        let cases: [&[u8]; 7] = [
            b"",
            too_long.as_bytes(),
            b"has space",
            "unicod\u{e9}".as_bytes(),
            b"a/b",
            b"a\tb",
            b"semi;colon",
        ];
        for case in cases {
            assert!(!is_valid_request_id(case), "{case:?}");
            let incoming = HeaderValue::from_bytes(case).expect("test bytes are a header value");
            let replaced = request_id_from(Some(&incoming));
            assert_ne!(replaced.as_bytes(), case);
            assert_eq!(replaced.len(), GENERATED_REQUEST_ID_LEN);
            assert!(is_valid_request_id(replaced.as_bytes()));
        }
    }

    #[test]
    fn absent_id_is_generated_as_lower_hex() {
        let generated = request_id_from(None);
        assert_eq!(generated.len(), GENERATED_REQUEST_ID_LEN);
        assert!(generated
            .as_bytes()
            .iter()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(byte)));
    }

    #[test]
    fn generated_ids_are_unique() {
        let ids: HashSet<HeaderValue> = (0..100_000).map(|_| generate_request_id()).collect();
        assert_eq!(ids.len(), 100_000);
    }

    proptest::proptest! {
        /// Same property as the `request_id` fuzz target: never panics, keeps a valid id
        /// verbatim, and always returns a valid id.
        #[test]
        fn any_header_value_yields_a_valid_id(raw in proptest::collection::vec(
            proptest::prop_oneof![proptest::num::u8::ANY, proptest::sample::select(b"aZ9._:-".to_vec())],
            0..140,
        )) {
            let valid = is_valid_request_id(&raw);
            match HeaderValue::from_bytes(&raw) {
                Err(_) => proptest::prop_assert!(!valid),
                Ok(incoming) => {
                    let result = request_id_from(Some(&incoming));
                    proptest::prop_assert!(is_valid_request_id(result.as_bytes()));
                    proptest::prop_assert_eq!(result.as_bytes() == &raw[..], valid);
                }
            }
        }
    }
}
