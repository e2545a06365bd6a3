//! Shared helpers for the authentication tests: the policy crate's fixed test keys, token
//! builders that can write any header, and a config with one protected route.
#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Value};

pub const RSA_PRIVATE: &[u8] = include_bytes!("../../../policy/tests/keys/rsa_private.pem");
pub const RSA_PUBLIC: &[u8] = include_bytes!("../../../policy/tests/keys/rsa_public.pem");
pub const EC_PRIVATE: &[u8] = include_bytes!("../../../policy/tests/keys/ec256_private.pem");
pub const ED_PRIVATE: &[u8] = include_bytes!("../../../policy/tests/keys/ed25519_private.pem");
pub const ED_PUBLIC: &str = include_str!("../../../policy/tests/keys/ed25519_public.pem");
/// A second RSA key: the rotation target, and the attacker's key in bad-input tests.
pub const OTHER_RSA_PRIVATE: &[u8] =
    include_bytes!("../../../policy/tests/keys/attacker_rsa_private.pem");

pub const ISSUER: &str = "https://issuer.test";
pub const AUDIENCE: &str = "orders-api";

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

pub fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(RSA_PRIVATE).expect("test RSA key")
}
pub fn other_rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(OTHER_RSA_PRIVATE).expect("second RSA key")
}
pub fn ec_key() -> EncodingKey {
    EncodingKey::from_ec_pem(EC_PRIVATE).expect("test EC key")
}
pub fn ed_key() -> EncodingKey {
    EncodingKey::from_ed_pem(ED_PRIVATE).expect("test Ed25519 key")
}

/// The public JWK of `key` with `kid` (no `alg` pin).
pub fn public_jwk(key: &EncodingKey, algorithm: Algorithm, kid: &str) -> Value {
    let jwk = Jwk::from_encoding_key(key, algorithm).expect("jwk");
    let mut value = serde_json::to_value(&jwk).expect("jwk json");
    let object = value.as_object_mut().expect("jwk object");
    object.insert("kid".into(), json!(kid));
    object.remove("alg");
    value
}

fn ed25519_public_bytes() -> Vec<u8> {
    let body: String = ED_PUBLIC
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("pem body");
    der[der.len() - 32..].to_vec()
}

pub fn ed25519_jwk(kid: &str) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": "EdDSA",
           "x": URL_SAFE_NO_PAD.encode(ed25519_public_bytes())})
}

/// The issuer's first key set: RSA `rsa-1`, P-256 `ec-1`, Ed25519 `ed-1`.
pub fn jwks() -> Value {
    json!({"keys": [
        public_jwk(&rsa_key(), Algorithm::RS256, "rsa-1"),
        public_jwk(&ec_key(), Algorithm::ES256, "ec-1"),
        ed25519_jwk("ed-1"),
    ]})
}

/// The rotated key set: `rsa-2` (a different RSA key) replaces `rsa-1`.
pub fn rotated_jwks() -> Value {
    json!({"keys": [
        public_jwk(&other_rsa_key(), Algorithm::RS256, "rsa-2"),
        public_jwk(&ec_key(), Algorithm::ES256, "ec-1"),
    ]})
}

/// Claims that pass every check now.
pub fn good_claims() -> Value {
    let now = now();
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-42",
        "tenant_id": "acme",
        "scope": "orders:read orders:write",
        "iat": now - 10,
        "nbf": now - 10,
        "exp": now + 600,
    })
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

pub fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json"))
}

/// A compact JWS with exactly this header and these claims, signed by `key`.
pub fn sign_raw(header: &Value, claims: &Value, key: &EncodingKey, algorithm: Algorithm) -> String {
    let message = format!("{}.{}", b64_json(header), b64_json(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, algorithm).expect("sign");
    format!("{message}.{signature}")
}

/// A token with a standard header, signed with the key that matches `algorithm`.
pub fn token(algorithm: Algorithm, kid: &str, claims: &Value) -> String {
    let key = match algorithm {
        Algorithm::RS256 | Algorithm::PS256 => rsa_key(),
        Algorithm::ES256 => ec_key(),
        Algorithm::EdDSA => ed_key(),
        _ => panic!("no test key for {algorithm:?}"),
    };
    let header = json!({"alg": format!("{algorithm:?}"), "kid": kid, "typ": "JWT"});
    sign_raw(&header, claims, &key, algorithm)
}

/// `authentication.jwt` with one issuer whose keys come from `jwks_uri`, plus `extra`
/// issuer fields (indented YAML lines).
pub fn jwt_authentication(jwks_uri: &str, extra: &str) -> String {
    format!(
        r#"authentication:
  jwt:
    issuers:
      - issuer: {ISSUER}
        audiences: [{AUDIENCE}]
        jwksUri: {jwks_uri}
        algorithms: [RS256, ES256, EdDSA]
{extra}"#
    )
}

/// A config with `authentication` (a YAML block starting at column 0) and one route `main`
/// under `/` to `endpoint` with `policies` (indented YAML lines under `policies:`).
pub fn config(endpoint: &str, authentication: &str, policies: &str, top_level: &str) -> String {
    format!(
        r#"
services:
  backend:
    visibility: public
    endpoints: ["{endpoint}"]
routes:
  - name: main
    match:
      pathPrefix: /
    upstream:
      service: backend
    policies:
{policies}
{authentication}
{top_level}
"#
    )
}

/// An access-log writer the test can read back.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("capture lock")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("capture lock")).into_owned()
    }
}

/// The `WWW-Authenticate` value of a response, as text.
pub fn challenge(response: &http::Response<bytes::Bytes>) -> String {
    response
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().expect("ascii").to_string())
        .unwrap_or_default()
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}
