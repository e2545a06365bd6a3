//! Verification costs on the request path: a cached token, RS256, ES256 and EdDSA tokens,
//! an API key, and an HMAC-signed request (RFC 9421). Keys are the test-only keys in
//! `tests/keys`. Run: `cargo bench -p portcullis-policy --bench verify`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use hmac::{Hmac, Mac};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use portcullis_config::model::{ApiKey, ApiKeyAuthentication, JwtIssuer};
use portcullis_policy::apikey::{hash_api_key, ApiKeyStore};
use portcullis_policy::jwt::{IssuerPolicy, JwtVerifier, KeySet, TokenCache};
use portcullis_policy::signature::sfv::{parse_dictionary, Member};
use portcullis_policy::signature::{
    content_digest_header, signature_base, KeyMaterial, NonceCache, SignatureKey,
    SignatureVerifier, DEFAULT_MAX_SKEW_SECONDS,
};
use portcullis_policy::{AuthMethod, Principal};
use serde_json::{json, Value};
use sha2::Sha256;

const RSA_PRIVATE: &[u8] = include_bytes!("../tests/keys/rsa_private.pem");
const EC_PRIVATE: &[u8] = include_bytes!("../tests/keys/ec256_private.pem");
const ED_PRIVATE: &[u8] = include_bytes!("../tests/keys/ed25519_private.pem");
const ED_PUBLIC: &str = include_str!("../tests/keys/ed25519_public.pem");
const ISSUER: &str = "https://issuer.test";
const HMAC_SECRET: &[u8] = b"partner-shared-secret-of-32-bytes";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

fn jwk(key: &EncodingKey, algorithm: Algorithm, kid: &str) -> Value {
    let mut value = serde_json::to_value(Jwk::from_encoding_key(key, algorithm).expect("jwk"))
        .expect("jwk json");
    value["kid"] = json!(kid);
    value
}

fn ed25519_jwk(kid: &str) -> Value {
    let body: String = ED_PUBLIC
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = STANDARD.decode(body).expect("pem body");
    json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": "EdDSA",
           "x": URL_SAFE_NO_PAD.encode(&der[der.len() - 32..])})
}

fn verifier() -> JwtVerifier {
    let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE).expect("rsa");
    let ec = EncodingKey::from_ec_pem(EC_PRIVATE).expect("ec");
    let jwks = json!({"keys": [jwk(&rsa, Algorithm::RS256, "rsa-1"), jwk(&ec, Algorithm::ES256, "ec-1"), ed25519_jwk("ed-1")]});
    let issuer: JwtIssuer = serde_json::from_value(json!({
        "issuer": ISSUER, "audiences": ["orders-api"], "jwks": jwks,
        "algorithms": ["RS256", "ES256", "EdDSA"],
    }))
    .expect("issuer");
    let (keys, _) = KeySet::from_jwks_value(&jwks).expect("jwks");
    JwtVerifier::new(vec![(
        IssuerPolicy::from_config(&issuer).expect("policy"),
        Arc::new(keys),
    )])
}

fn token(algorithm: Algorithm, kid: &str, key: &EncodingKey) -> String {
    let now = now();
    let claims = json!({"iss": ISSUER, "aud": "orders-api", "sub": "user-42", "tenant_id": "acme",
                        "scope": "orders:read orders:write", "iat": now, "exp": now + 3600});
    let header = json!({"alg": format!("{algorithm:?}"), "kid": kid, "typ": "JWT"});
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("header")),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims"))
    );
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, algorithm).expect("sign");
    format!("{message}.{signature}")
}

fn jwt(c: &mut Criterion) {
    let verifier = verifier();
    let now = now();
    let cases = [
        (
            "rs256",
            token(
                Algorithm::RS256,
                "rsa-1",
                &EncodingKey::from_rsa_pem(RSA_PRIVATE).expect("rsa"),
            ),
        ),
        (
            "es256",
            token(
                Algorithm::ES256,
                "ec-1",
                &EncodingKey::from_ec_pem(EC_PRIVATE).expect("ec"),
            ),
        ),
        (
            "eddsa",
            token(
                Algorithm::EdDSA,
                "ed-1",
                &EncodingKey::from_ed_pem(ED_PRIVATE).expect("ed"),
            ),
        ),
    ];
    for (name, token) in &cases {
        verifier
            .verify(token, now)
            .expect("the benchmark token verifies");
        c.bench_function(&format!("jwt_verify_{name}"), |b| {
            b.iter(|| verifier.verify(black_box(token), now))
        });
    }
    let mut cache = TokenCache::new(10_000, 300);
    let verified = verifier.verify(&cases[0].1, now).expect("verifies");
    cache.insert(
        &cases[0].1,
        Arc::new(verified.principal),
        verified.expires_at,
        now,
    );
    c.bench_function("jwt_cached_token", |b| {
        b.iter(|| cache.get(black_box(&cases[0].1), now).expect("cached"))
    });
}

fn api_key(c: &mut Criterion) {
    let key = "pcs_benchmark-key-0123456789abcdefghijkl";
    let config = ApiKeyAuthentication {
        header: "x-api-key".into(),
        keys: (0..1000)
            .map(|index| ApiKey {
                id: format!("key-{index}"),
                hash: if index == 500 {
                    hash_api_key(key)
                } else {
                    hash_api_key(&format!("other-{index}"))
                },
                tenant_id: Some("acme".into()),
                scopes: vec!["orders:read".into()],
                products: Vec::new(),
                status: "ACTIVE".into(),
                expires_at: None,
            })
            .collect(),
    };
    let store = ApiKeyStore::from_config(&config).expect("store");
    let now = now() as i64;
    store.verify_key(key.as_bytes(), now).expect("known key");
    c.bench_function("api_key_of_1000", |b| {
        b.iter(|| store.verify_key(black_box(key.as_bytes()), now))
    });
}

fn hmac_signature(c: &mut Criterion) {
    let now = now();
    let verifier = SignatureVerifier::new(
        vec![SignatureKey {
            key_id: "hmac-partner".into(),
            material: KeyMaterial::HmacSecret(HMAC_SECRET.to_vec()),
            principal: Principal {
                subject: "acme-payments".into(),
                tenant_id: None,
                scopes: Vec::new(),
                key_id: None,
                products: Vec::new(),
                method: AuthMethod::Signature,
            },
        }],
        DEFAULT_MAX_SKEW_SECONDS,
    );
    let body = br#"{"amount": 10}"#;
    let mut parts = http::Request::post("/v1/payments?currency=EUR")
        .header("host", "api.example.com")
        .header("content-digest", content_digest_header(body))
        .body(())
        .expect("request")
        .into_parts()
        .0;
    let input = format!(
        "sig1=(\"@method\" \"@authority\" \"@path\" \"@query\" \"content-digest\");created={now};keyid=\"hmac-partner\""
    );
    let members = parse_dictionary(&input).expect("input");
    let Member::InnerList(items, params) = &members[0].1 else {
        panic!("inner list");
    };
    let base = signature_base(&parts, items, params).expect("base");
    let mut mac = Hmac::<Sha256>::new_from_slice(HMAC_SECRET).expect("key");
    mac.update(base.as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    parts
        .headers
        .insert("signature-input", input.parse().expect("header"));
    parts.headers.insert(
        "signature",
        format!("sig1=:{signature}:").parse().expect("header"),
    );
    let nonces = NonceCache::new(16);
    verifier
        .verify(&parts, true, now, &nonces)
        .expect("verifies")
        .expect("signed");
    c.bench_function("signature_hmac_sha256", |b| {
        b.iter(|| verifier.verify(black_box(&parts), true, now, &nonces))
    });
}

criterion_group!(benches, jwt, api_key, hmac_signature);
criterion_main!(benches);
