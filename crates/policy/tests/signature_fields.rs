//! The structured fields of signed requests as senders write them: byte sequences without `=`
//! padding (RFC 8941 §4.2.7: parsers should not require it) verify like padded ones.

mod common;

use common::signing::*;
use http::HeaderValue;
use portcullis_policy::signature::{ContentDigest, NonceCache};

/// Drops the `=` padding at the end of the header's one byte sequence (`label=:b64==:`).
fn strip_padding(parts: &mut http::request::Parts, name: &'static str) {
    let value = parts.headers[name].to_str().expect("ascii");
    let inner = value.strip_suffix(':').expect("ends a byte sequence");
    let value = format!("{}:", inner.trim_end_matches('='));
    parts
        .headers
        .insert(name, HeaderValue::from_str(&value).expect("header"));
}

#[test]
fn unpadded_signatures_and_digests_verify() {
    let nonces = NonceCache::new(100);
    let body: &[u8] = br#"{"amount": 10}"#;
    let mut parts = signed(&Signing::default(), &hmac());
    strip_padding(&mut parts, "signature");
    let signature = parts.headers["signature"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        signature.starts_with("sig1=:") && !signature.ends_with("=:"),
        "{signature}"
    );
    let principal = verify(&parts, true, &nonces)
        .expect("an unpadded signature verifies")
        .expect("signed");
    assert_eq!(principal.subject, "acme-payments");
    // The digest is covered by the signature, so it is checked on its own once unpadded.
    strip_padding(&mut parts, "content-digest");
    let digest = parts.headers["content-digest"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        digest.starts_with("sha-256=:") && !digest.ends_with("=:"),
        "{digest}"
    );
    let parsed = ContentDigest::from_parts(&parts)
        .expect("an unpadded digest parses")
        .expect("present");
    assert_eq!(parsed.verify(body), Ok(()));
}
