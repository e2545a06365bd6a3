//! Shared helpers for the policy integration tests: fixed test-only keys, a JWKS built from
//! them, and token builders that can produce any header (including hostile ones).

#![allow(dead_code)]

pub mod signing;

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use portcullis_config::model::JwtIssuer;
use portcullis_policy::jwt::{IssuerPolicy, JwtVerifier, KeySet};
use serde_json::{json, Value};

pub const RSA_PRIVATE: &[u8] = include_bytes!("../keys/rsa_private.pem");
pub const RSA_PUBLIC: &[u8] = include_bytes!("../keys/rsa_public.pem");
pub const EC_PRIVATE: &[u8] = include_bytes!("../keys/ec256_private.pem");
pub const ED_PRIVATE: &[u8] = include_bytes!("../keys/ed25519_private.pem");
pub const ED_PUBLIC: &str = include_str!("../keys/ed25519_public.pem");
pub const ATTACKER_RSA_PRIVATE: &[u8] = include_bytes!("../keys/attacker_rsa_private.pem");
/// An `oct` key for the HMAC tests (32 bytes).
pub const HMAC_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

pub const ISSUER: &str = "https://issuer.test";
pub const AUDIENCE: &str = "orders-api";
/// A fixed "now" so that every time check is deterministic.
pub const NOW: u64 = 1_700_000_000;

pub fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(RSA_PRIVATE).expect("test RSA key")
}
pub fn ec_key() -> EncodingKey {
    EncodingKey::from_ec_pem(EC_PRIVATE).expect("test EC key")
}
pub fn ed_key() -> EncodingKey {
    EncodingKey::from_ed_pem(ED_PRIVATE).expect("test Ed25519 key")
}
pub fn attacker_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(ATTACKER_RSA_PRIVATE).expect("attacker key")
}

/// The public JWK of `key` with `kid`, without `alg` unless `pin` is set.
pub fn public_jwk(key: &EncodingKey, algorithm: Algorithm, kid: &str, pin: bool) -> Value {
    let jwk = Jwk::from_encoding_key(key, algorithm).expect("jwk");
    let mut value = serde_json::to_value(&jwk).expect("jwk json");
    let object = value.as_object_mut().expect("jwk object");
    object.insert("kid".into(), json!(kid));
    if !pin {
        object.remove("alg");
    }
    value
}

/// The raw 32-byte Ed25519 public key: the tail of its SubjectPublicKeyInfo DER.
pub fn ed25519_public_bytes() -> Vec<u8> {
    let body: String = ED_PUBLIC
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("pem body");
    der[der.len() - 32..].to_vec()
}

/// `jsonwebtoken` cannot derive an OKP JWK from a private key, so it is built by hand.
pub fn ed25519_jwk(kid: &str) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": "EdDSA",
           "x": URL_SAFE_NO_PAD.encode(ed25519_public_bytes())})
}

/// The issuer's JWK Set: RSA (`rsa-1`), P-256 (`ec-1`), Ed25519 (`ed-1`), HMAC (`hmac-1`).
pub fn jwks() -> Value {
    json!({"keys": [
        public_jwk(&rsa_key(), Algorithm::RS256, "rsa-1", false),
        public_jwk(&ec_key(), Algorithm::ES256, "ec-1", true),
        ed25519_jwk("ed-1"),
        {"kty": "oct", "kid": "hmac-1", "k": URL_SAFE_NO_PAD.encode(HMAC_SECRET)},
    ]})
}

pub fn issuer_config(algorithms: &[&str]) -> JwtIssuer {
    serde_json::from_value(json!({
        "issuer": ISSUER,
        "audiences": [AUDIENCE],
        "jwks": jwks(),
        "algorithms": algorithms,
    }))
    .expect("issuer config")
}

/// A verifier for the test issuer allowing `algorithms`.
pub fn verifier(algorithms: &[&str]) -> JwtVerifier {
    let config = issuer_config(algorithms);
    let policy = IssuerPolicy::from_config(&config).expect("policy");
    let (keys, skipped) = KeySet::from_jwks_value(&jwks()).expect("jwks");
    assert!(skipped.is_empty(), "{skipped:?}");
    JwtVerifier::new(vec![(policy, Arc::new(keys))])
}

pub fn all_algorithms() -> JwtVerifier {
    verifier(&["RS256", "PS256", "ES256", "EdDSA", "HS256"])
}

/// Claims that pass every check at [`NOW`].
pub fn good_claims() -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-42",
        "tenant_id": "acme",
        "scope": "orders:read orders:write",
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "exp": NOW + 600,
    })
}

pub fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json"))
}

/// A compact JWS with exactly this header and these claims, signed by `key` under `algorithm`.
pub fn sign_raw(header: &Value, claims: &Value, key: &EncodingKey, algorithm: Algorithm) -> String {
    let message = format!("{}.{}", b64_json(header), b64_json(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, algorithm).expect("sign");
    format!("{message}.{signature}")
}

/// An RS256 token (key `rsa-1`) over header and claims JSON written out as text, for members
/// a `Value` cannot hold (a repeated name) or exact bytes.
pub fn sign_text(header: &str, claims: &str) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &rsa_key(), Algorithm::RS256).expect("sign");
    format!("{message}.{signature}")
}

/// A token with a standard header (`alg`, `kid`, `typ`).
pub fn token(algorithm: Algorithm, kid: &str, claims: &Value) -> String {
    let key = match algorithm {
        Algorithm::RS256 | Algorithm::PS256 => rsa_key(),
        Algorithm::ES256 => ec_key(),
        Algorithm::EdDSA => ed_key(),
        _ => EncodingKey::from_secret(HMAC_SECRET),
    };
    let header = json!({"alg": format!("{algorithm:?}"), "kid": kid, "typ": "JWT"});
    sign_raw(&header, claims, &key, algorithm)
}

pub fn with_claim(name: &str, value: Value) -> Value {
    let mut claims = good_claims();
    claims
        .as_object_mut()
        .expect("object")
        .insert(name.into(), value);
    claims
}

pub fn without_claim(name: &str) -> Value {
    let mut claims = good_claims();
    claims.as_object_mut().expect("object").remove(name);
    claims
}
