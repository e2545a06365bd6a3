//! API tokens: `pct_` + 43 characters of base64url (32 random bytes), stored only as
//! `sha256:<hex>` of the token, so a copy of the database grants nothing.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

const PREFIX: &str = "pct_";

/// A fresh random token. The caller shows it once and stores [`hash`] of it.
pub fn generate() -> String {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    )
}

/// What the store keeps of a token.
pub fn hash(token: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(token.as_bytes())))
}

/// The token of an `Authorization: Bearer <token>` value, when the value has that shape.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_the_documented_shape_and_differ() {
        let first = generate();
        let second = generate();
        assert_ne!(first, second);
        assert!(first.starts_with("pct_"));
        assert_eq!(first.len(), 4 + 43);
        assert!(first[4..]
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'));
    }

    #[test]
    fn the_hash_is_sha256_hex_of_the_token() {
        assert_eq!(
            hash("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bearer_values_are_parsed_strictly() {
        let cases = [
            ("Bearer pct_x", Some("pct_x")),
            ("bearer  pct_x ", Some("pct_x")),
            ("Basic abc", None),
            ("Bearer ", None),
            ("Bearer", None),
        ];
        for (header, token) in cases {
            assert_eq!(bearer(header), token, "{header:?}");
        }
    }
}
