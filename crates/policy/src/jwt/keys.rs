//! JWK Sets (RFC 7517) parsed into verification keys. Parsing is pure: fetching and refreshing
//! the set is the proxy's job, which hands the bytes (or the inline `jwks` value) in here.

use std::fmt;
use std::str::FromStr;

use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

/// The kind of key, which decides the algorithms it may verify. An HMAC algorithm is only ever
/// paired with an `oct` key, so a public key can never be used as an HMAC secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    EcP256,
    EcP384,
    Ed25519,
    Hmac,
}

impl KeyKind {
    pub fn allows(self, algorithm: Algorithm) -> bool {
        use Algorithm::*;
        match self {
            KeyKind::Rsa => matches!(algorithm, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
            KeyKind::EcP256 => algorithm == ES256,
            KeyKind::EcP384 => algorithm == ES384,
            KeyKind::Ed25519 => algorithm == EdDSA,
            KeyKind::Hmac => matches!(algorithm, HS256 | HS384 | HS512),
        }
    }
}

/// One usable key from a JWK Set.
#[derive(Clone)]
pub struct VerificationKey {
    pub key_id: Option<String>,
    pub kind: KeyKind,
    /// The JWK's `alg`, when it names one: the key is then only used with that algorithm.
    pub algorithm: Option<Algorithm>,
    pub(crate) decoding: DecodingKey,
}

impl fmt::Debug for VerificationKey {
    // Key material stays out of Debug output (an `oct` key is a secret).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("key_id", &self.key_id)
            .field("kind", &self.kind)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl VerificationKey {
    /// Whether this key may verify `algorithm` (kind and, when present, the JWK's own `alg`).
    pub fn allows(&self, algorithm: Algorithm) -> bool {
        self.kind.allows(algorithm) && self.algorithm.is_none_or(|pinned| pinned == algorithm)
    }
}

/// Why a JWK Set document could not be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    #[error("the JWK Set is not valid JSON: {0}")]
    NotJson(String),
    #[error("the JWK Set has no `keys` array: expected {{\"keys\": [...]}}")]
    NoKeysArray,
}

/// The keys of one issuer. Lookup is by exact `kid` only.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<VerificationKey>,
}

impl KeySet {
    pub fn new(keys: Vec<VerificationKey>) -> Self {
        KeySet { keys }
    }

    /// Parses a JWK Set document. Keys that are unusable (unknown `kty` or curve, `use` other
    /// than `sig`, missing or undecodable members) are skipped and described in the second
    /// value, so one odd key in a provider's set does not take the others down.
    pub fn from_jwks_json(document: &[u8]) -> Result<(KeySet, Vec<String>), JwksError> {
        let value: Value = serde_json::from_slice(document)
            .map_err(|error| JwksError::NotJson(error.to_string()))?;
        Self::from_jwks_value(&value)
    }

    /// As [`KeySet::from_jwks_json`], for an already parsed document (the inline `jwks` form).
    pub fn from_jwks_value(document: &Value) -> Result<(KeySet, Vec<String>), JwksError> {
        let (keys, skipped) = Self::parse_jwks_value(document)?;
        let skipped = skipped
            .into_iter()
            .map(|(index, reason)| format!("keys[{index}]: {reason}"))
            .collect();
        Ok((keys, skipped))
    }

    /// As [`KeySet::from_jwks_value`], with each skipped key's index in `keys` beside the
    /// reason (the configuration builder refuses inline keys it cannot use, by field path).
    pub fn parse_jwks_value(document: &Value) -> Result<(KeySet, Vec<(usize, String)>), JwksError> {
        let entries = document
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(JwksError::NoKeysArray)?;
        let mut keys = Vec::with_capacity(entries.len());
        let mut skipped = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            match parse_jwk(entry) {
                Ok(key) => keys.push(key),
                Err(reason) => skipped.push((index, reason)),
            }
        }
        Ok((KeySet { keys }, skipped))
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn keys(&self) -> &[VerificationKey] {
        &self.keys
    }

    /// The key named `kid` (exact match). Without a `kid`, only a set holding exactly one key
    /// usable with `algorithm` answers, so a missing `kid` never means "try every key".
    pub fn find(&self, kid: Option<&str>, algorithm: Algorithm) -> Option<&VerificationKey> {
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|key| key.key_id.as_deref() == Some(kid)),
            None => {
                let mut usable = self.keys.iter().filter(|key| key.allows(algorithm));
                match (usable.next(), usable.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            }
        }
    }
}

fn string_member<'a>(jwk: &'a Value, name: &str) -> Result<&'a str, String> {
    jwk.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("member `{name}` is missing or not a string"))
}

fn parse_jwk(jwk: &Value) -> Result<VerificationKey, String> {
    if let Some(usage) = jwk.get("use") {
        if usage.as_str() != Some("sig") {
            return Err("`use` is not `sig`".to_string());
        }
    }
    let key_id = match jwk.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err("`kid` is not a string".to_string()),
    };
    let algorithm = match jwk.get("alg") {
        None => None,
        Some(Value::String(name)) => {
            Some(Algorithm::from_str(name).map_err(|_| format!("unsupported `alg` {name:?}"))?)
        }
        Some(_) => return Err("`alg` is not a string".to_string()),
    };
    let kty = string_member(jwk, "kty")?;
    let invalid = |error: jsonwebtoken::errors::Error| format!("invalid {kty} key: {error}");
    let (kind, decoding) = match kty {
        "RSA" => (
            KeyKind::Rsa,
            DecodingKey::from_rsa_components(string_member(jwk, "n")?, string_member(jwk, "e")?)
                .map_err(invalid)?,
        ),
        "EC" => {
            let kind = match string_member(jwk, "crv")? {
                "P-256" => KeyKind::EcP256,
                "P-384" => KeyKind::EcP384,
                other => return Err(format!("unsupported EC curve {other:?}")),
            };
            let key =
                DecodingKey::from_ec_components(string_member(jwk, "x")?, string_member(jwk, "y")?)
                    .map_err(invalid)?;
            (kind, key)
        }
        "OKP" => {
            if string_member(jwk, "crv")? != "Ed25519" {
                return Err("unsupported OKP curve (only Ed25519)".to_string());
            }
            let key = DecodingKey::from_ed_components(string_member(jwk, "x")?).map_err(invalid)?;
            (KeyKind::Ed25519, key)
        }
        "oct" => {
            use base64::Engine;
            let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(string_member(jwk, "k")?)
                .map_err(|_| "`k` is not base64url".to_string())?;
            if secret.len() < 32 {
                return Err("HMAC key shorter than 32 bytes".to_string());
            }
            (KeyKind::Hmac, DecodingKey::from_secret(&secret))
        }
        other => return Err(format!("unsupported `kty` {other:?}")),
    };
    if let Some(pinned) = algorithm {
        if !kind.allows(pinned) {
            return Err(format!("`alg` {pinned:?} does not fit a {kind:?} key"));
        }
    }
    Ok(VerificationKey {
        key_id,
        kind,
        algorithm,
        decoding,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EC_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const EC_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    #[test]
    fn parses_supported_keys_and_skips_the_rest() {
        let document = serde_json::json!({"keys": [
            {"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y, "kid": "ec-1", "use": "sig"},
            {"kty": "EC", "crv": "P-521", "x": EC_X, "y": EC_Y, "kid": "ec-2"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "oct", "kid": "short", "k": "AAAA"},
            {"kty": "oct", "kid": "hmac", "k": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE"},
            {"kty": "XYZ"},
            {"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y, "kid": "pinned", "alg": "RS256"}
        ]});
        let (set, skipped) = KeySet::from_jwks_value(&document).expect("set");
        let kids: Vec<_> = set.keys().iter().map(|key| key.key_id.clone()).collect();
        assert_eq!(
            kids,
            vec![Some("ec-1".to_string()), Some("hmac".to_string())]
        );
        assert_eq!(skipped.len(), 5, "{skipped:?}");
        assert!(format!("{:?}", set.keys()[1]).contains("Hmac"));
    }

    #[test]
    fn documents_without_keys_are_errors() {
        assert!(matches!(
            KeySet::from_jwks_json(b"not json"),
            Err(JwksError::NotJson(_))
        ));
        assert_eq!(
            KeySet::from_jwks_json(b"{}").err(),
            Some(JwksError::NoKeysArray)
        );
    }

    #[test]
    fn lookup_is_by_exact_kid_only() {
        let document = serde_json::json!({"keys": [
            {"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y, "kid": "key-1"}
        ]});
        let (set, _) = KeySet::from_jwks_value(&document).expect("set");
        assert!(set.find(Some("key-1"), Algorithm::ES256).is_some());
        for injected in [
            "key-1 ",
            "KEY-1",
            "../../etc/passwd",
            "' OR '1'='1",
            "key-1\0",
            "",
        ] {
            assert!(
                set.find(Some(injected), Algorithm::ES256).is_none(),
                "{injected:?}"
            );
        }
        // No kid: the single usable key answers, but not for an algorithm it cannot verify.
        assert!(set.find(None, Algorithm::ES256).is_some());
        assert!(set.find(None, Algorithm::RS256).is_none());
    }
}
