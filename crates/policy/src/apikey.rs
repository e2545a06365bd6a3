//! API keys, stored only as `sha256:` hashes.
//!
//! The presented key is hashed and looked up by digest, then the digests are compared again in
//! constant time. A timing difference in the map lookup could at most reveal bits of the
//! SHA-256 of attacker-chosen input versus stored digests, which yields nothing about a key
//! (that would need a preimage). The key itself is never stored, logged or printed: only ids.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::request::Parts;
use http::HeaderName;
use portcullis_config::model::{ApiKey, ApiKeyAuthentication};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::failure::AuthFailure;
use crate::principal::{AuthMethod, Principal};

/// Prefix of every stored hash.
pub const HASH_PREFIX: &str = "sha256:";
/// Prefix of generated keys, so a leaked key is recognisable by secret scanners.
pub const KEY_PREFIX: &str = "pcs_";
/// The status a key must have to be accepted.
pub const ACTIVE: &str = "ACTIVE";

/// Why the API key configuration could not be compiled (validation should catch these first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyConfigError {
    #[error("authentication.apiKeys.header: `{0}` is not a valid header name: use one such as x-api-key")]
    InvalidHeader(String),
    #[error("authentication.apiKeys.keys[{index}].hash: the hash of key `{id}` is not `sha256:` + 64 hex digits")]
    InvalidHash { index: usize, id: String },
    #[error("authentication.apiKeys.keys[{index}].expiresAt: `{value}` of key `{id}` is not an RFC 3339 time: write one such as 2026-04-08T10:15:30Z")]
    InvalidExpiry {
        index: usize,
        id: String,
        value: String,
    },
}

#[derive(Debug, Clone)]
struct StoredKey {
    digest: [u8; 32],
    principal: Principal,
    active: bool,
    /// Unix seconds; the key is refused from this instant on.
    expires_at: Option<i64>,
}

/// The compiled key table. `Debug` shows ids and digests only.
#[derive(Debug, Clone)]
pub struct ApiKeyStore {
    header: HeaderName,
    keys: HashMap<[u8; 32], StoredKey>,
}

impl ApiKeyStore {
    pub fn from_config(config: &ApiKeyAuthentication) -> Result<Self, ApiKeyConfigError> {
        let header = HeaderName::from_bytes(config.header.to_ascii_lowercase().as_bytes())
            .map_err(|_| ApiKeyConfigError::InvalidHeader(config.header.clone()))?;
        let mut keys = HashMap::with_capacity(config.keys.len());
        for (index, key) in config.keys.iter().enumerate() {
            let stored = compile_key(index, key)?;
            keys.insert(stored.digest, stored);
        }
        Ok(ApiKeyStore { header, keys })
    }

    pub fn header(&self) -> &HeaderName {
        &self.header
    }

    /// Authenticates the key in the configured header. `Ok(None)`: no such header (a key sent
    /// in any other header is simply not seen).
    pub fn authenticate(
        &self,
        parts: &Parts,
        now_unix: i64,
    ) -> Result<Option<Principal>, AuthFailure> {
        let mut values = parts.headers.get_all(&self.header).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(AuthFailure::ApiKeyNotFound);
        }
        self.verify_key(value.as_bytes(), now_unix).map(Some)
    }

    /// Looks up a presented key (raw bytes, never kept).
    pub fn verify_key(&self, presented: &[u8], now_unix: i64) -> Result<Principal, AuthFailure> {
        let digest: [u8; 32] = Sha256::digest(presented).into();
        let stored = self.keys.get(&digest).ok_or(AuthFailure::ApiKeyNotFound)?;
        if !bool::from(stored.digest.ct_eq(&digest)) {
            return Err(AuthFailure::ApiKeyNotFound);
        }
        if !stored.active {
            return Err(AuthFailure::ApiKeyRevoked);
        }
        if stored.expires_at.is_some_and(|expiry| now_unix >= expiry) {
            return Err(AuthFailure::ApiKeyExpired);
        }
        Ok(stored.principal.clone())
    }
}

fn compile_key(index: usize, key: &ApiKey) -> Result<StoredKey, ApiKeyConfigError> {
    let digest = parse_hash(&key.hash).ok_or_else(|| ApiKeyConfigError::InvalidHash {
        index,
        id: key.id.clone(),
    })?;
    let expires_at = match &key.expires_at {
        None => None,
        Some(value) => Some(
            time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
                .map_err(|_| ApiKeyConfigError::InvalidExpiry {
                    index,
                    id: key.id.clone(),
                    value: value.clone(),
                })?
                .unix_timestamp(),
        ),
    };
    Ok(StoredKey {
        digest,
        principal: Principal {
            subject: key.id.clone(),
            tenant_id: key.tenant_id.clone(),
            scopes: key.scopes.clone(),
            key_id: Some(key.id.clone()),
            products: key.products.clone(),
            method: AuthMethod::ApiKey,
        },
        active: key.status == ACTIVE,
        expires_at,
    })
}

/// `sha256:<64 lower-case hex>` into the digest bytes.
pub fn parse_hash(hash: &str) -> Option<[u8; 32]> {
    let hex_digits = hash.strip_prefix(HASH_PREFIX)?;
    if hex_digits.len() != 64 || hex_digits.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut digest = [0u8; 32];
    hex::decode_to_slice(hex_digits, &mut digest).ok()?;
    Some(digest)
}

/// The stored form of `key`: `sha256:` + lower-case hex of its SHA-256.
pub fn hash_api_key(key: &str) -> String {
    format!(
        "{HASH_PREFIX}{}",
        hex::encode(Sha256::digest(key.as_bytes()))
    )
}

/// A fresh key (256 random bits, base64url, `pcs_` prefix) and the hash to put in the config.
/// For `portcullis apikey new`: print the key once, store only the hash.
pub fn generate_api_key() -> (String, String) {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let key = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
    let hash = hash_api_key(&key);
    (key, hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_unique_and_hash_to_the_stored_form() {
        let (key, hash) = generate_api_key();
        let (other, other_hash) = generate_api_key();
        assert_ne!(key, other);
        assert_ne!(hash, other_hash);
        assert!(key.starts_with(KEY_PREFIX));
        assert_eq!(key.len(), KEY_PREFIX.len() + 43);
        assert_eq!(hash, hash_api_key(&key));
        assert!(parse_hash(&hash).is_some());
        assert!(!hash.contains(&key));
    }

    #[test]
    fn hash_parsing_is_strict() {
        let good = hash_api_key("k");
        assert!(parse_hash(&good).is_some());
        assert!(parse_hash(&good.to_ascii_uppercase()).is_none());
        assert!(parse_hash(&good.replace("sha256:", "sha512:")).is_none());
        assert!(parse_hash(&good[..good.len() - 1]).is_none());
        assert!(parse_hash("sha256:zz").is_none());
    }
}
