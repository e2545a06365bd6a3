//! RFC 9530 `Content-Digest` (sha-256): the digest a signed request claims for its body, checked
//! against the bytes the gateway actually forwards.

use http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::sfv::{parse_dictionary, BareItem, Member};
use crate::failure::AuthFailure;

pub const CONTENT_DIGEST: &str = "content-digest";

/// The sha-256 value of a request's `Content-Digest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentDigest {
    sha256: [u8; 32],
}

impl ContentDigest {
    /// Parses `Content-Digest` from `parts`. `Ok(None)` when absent; `ContentDigestMissing` when
    /// present without a usable `sha-256` member (other algorithms are not accepted).
    pub fn from_parts(parts: &Parts) -> Result<Option<Self>, AuthFailure> {
        let mut combined = String::new();
        for value in parts.headers.get_all(CONTENT_DIGEST) {
            let text = value
                .to_str()
                .map_err(|_| AuthFailure::SignatureMalformed)?;
            if !combined.is_empty() {
                combined.push_str(", ");
            }
            combined.push_str(text);
        }
        if combined.is_empty() {
            return Ok(None);
        }
        Self::parse(&combined).map(Some)
    }

    /// Parses a field value such as `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`.
    pub fn parse(value: &str) -> Result<Self, AuthFailure> {
        let members = parse_dictionary(value).map_err(|_| AuthFailure::SignatureMalformed)?;
        for (algorithm, member) in members {
            if algorithm != "sha-256" {
                continue;
            }
            if let Member::Item(item) = member {
                if let BareItem::ByteSequence(bytes) = item.bare {
                    let sha256 = bytes
                        .try_into()
                        .map_err(|_| AuthFailure::ContentDigestMismatch)?;
                    return Ok(ContentDigest { sha256 });
                }
            }
            return Err(AuthFailure::SignatureMalformed);
        }
        Err(AuthFailure::ContentDigestMissing)
    }

    /// Checks a whole body.
    pub fn verify(&self, body: &[u8]) -> Result<(), AuthFailure> {
        let mut check = self.start();
        check.update(body);
        check.finish()
    }

    /// Starts an incremental check, for bodies that stream through the gateway.
    pub fn start(&self) -> ContentDigestCheck {
        ContentDigestCheck {
            expected: self.sha256,
            hasher: Sha256::new(),
        }
    }
}

/// An incremental body check: feed every chunk, then `finish` before the last byte goes out.
#[derive(Debug, Clone)]
pub struct ContentDigestCheck {
    expected: [u8; 32],
    hasher: Sha256,
}

impl ContentDigestCheck {
    pub fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
    }

    pub fn finish(self) -> Result<(), AuthFailure> {
        let actual: [u8; 32] = self.hasher.finalize().into();
        if bool::from(actual.ct_eq(&self.expected)) {
            Ok(())
        } else {
            Err(AuthFailure::ContentDigestMismatch)
        }
    }
}

/// The `Content-Digest` value for `body`, for clients and tests.
pub fn content_digest_header(body: &[u8]) -> String {
    use base64::Engine;
    format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rfc_9530_example() {
        // RFC 9530 §B.1: `{"hello": "world"}` (the body of its examples).
        let body = br#"{"hello": "world"}"#;
        assert_eq!(
            content_digest_header(body),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
        let digest = ContentDigest::parse(
            "sha-512=:AAAA:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
        )
        .expect("parsed");
        assert_eq!(digest.verify(body), Ok(()));
        assert_eq!(
            digest.verify(br#"{"hello": "World"}"#),
            Err(AuthFailure::ContentDigestMismatch)
        );
    }

    #[test]
    fn streaming_chunks_give_the_same_answer() {
        let digest = ContentDigest::parse(&content_digest_header(b"abcdef")).expect("parsed");
        let mut check = digest.start();
        check.update(b"abc");
        check.update(b"def");
        assert_eq!(check.finish(), Ok(()));
    }

    #[test]
    fn other_algorithms_alone_are_not_enough() {
        assert_eq!(
            ContentDigest::parse("sha-512=:AAAA:"),
            Err(AuthFailure::ContentDigestMissing)
        );
        assert_eq!(
            ContentDigest::parse("sha-256=:AAAA:"),
            Err(AuthFailure::ContentDigestMismatch)
        );
        assert_eq!(
            ContentDigest::parse("sha-256=abc"),
            Err(AuthFailure::SignatureMalformed)
        );
    }
}
