//! Signing helpers for the RFC 9421 tests: a partner key table and a request builder that signs
//! whatever components a test asks for.

#![allow(dead_code)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use hmac::{Hmac, Mac};
use http::request::Parts;
use portcullis_policy::signature::sfv::{parse_dictionary, Member};
use portcullis_policy::signature::{
    content_digest_header, signature_base, KeyMaterial, NonceCache, SignatureKey,
    SignatureVerifier, DEFAULT_MAX_SKEW_SECONDS,
};
use portcullis_policy::{AuthFailure, AuthMethod, Principal};
use sha2::Sha256;

pub const NOW: u64 = 1_700_000_000;
pub const HMAC_SECRET: &[u8] = b"partner-shared-secret-of-32-bytes";
pub const ED_SEED: [u8; 32] = [7; 32];

pub enum TestSigner {
    Hmac(&'static [u8]),
    Ed25519(Box<SigningKey>),
}

pub fn partner(subject: &str) -> Principal {
    Principal {
        subject: subject.into(),
        tenant_id: Some("partner-tenant".into()),
        scopes: vec!["partner".into()],
        key_id: None,
        products: Vec::new(),
        method: AuthMethod::Signature,
    }
}

pub fn verifier() -> SignatureVerifier {
    let ed_public = SigningKey::from_bytes(&ED_SEED).verifying_key();
    SignatureVerifier::new(
        vec![
            SignatureKey {
                key_id: "hmac-partner".into(),
                material: KeyMaterial::HmacSecret(HMAC_SECRET.to_vec()),
                principal: partner("acme-payments"),
            },
            SignatureKey {
                key_id: "ed-partner".into(),
                material: KeyMaterial::Ed25519(ed_public),
                principal: partner("globex"),
            },
        ],
        DEFAULT_MAX_SKEW_SECONDS,
    )
}

pub struct Signing<'a> {
    pub uri: &'a str,
    pub body: Option<&'a [u8]>,
    pub components: &'a [&'a str],
    pub created: u64,
    pub key_id: &'a str,
    pub nonce: Option<&'a str>,
    pub alg: Option<&'a str>,
}

impl Default for Signing<'_> {
    fn default() -> Self {
        Signing {
            uri: "/v1/payments?currency=EUR",
            body: Some(br#"{"amount": 10}"#),
            components: &["@method", "@authority", "@path", "@query", "content-digest"],
            created: NOW,
            key_id: "hmac-partner",
            nonce: None,
            alg: None,
        }
    }
}

/// Builds a POST request signed as `signing` says.
pub fn signed(signing: &Signing<'_>, signer: &TestSigner) -> Parts {
    let mut builder = http::Request::post(signing.uri).header("host", "api.example.com");
    if let Some(body) = signing.body {
        builder = builder.header("content-digest", content_digest_header(body));
    }
    let mut parts = builder.body(()).expect("request").into_parts().0;
    let covered: Vec<String> = signing
        .components
        .iter()
        .map(|name| format!("\"{name}\""))
        .collect();
    let mut input = format!(
        "sig1=({});created={};keyid=\"{}\"",
        covered.join(" "),
        signing.created,
        signing.key_id
    );
    if let Some(nonce) = signing.nonce {
        input.push_str(&format!(";nonce=\"{nonce}\""));
    }
    if let Some(alg) = signing.alg {
        input.push_str(&format!(";alg=\"{alg}\""));
    }
    let members = parse_dictionary(&input).expect("input");
    let Member::InnerList(items, params) = &members[0].1 else {
        panic!("inner list");
    };
    let base = signature_base(&parts, items, params).expect("base");
    let signature = match signer {
        TestSigner::Hmac(secret) => {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("hmac key");
            mac.update(base.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        TestSigner::Ed25519(key) => key.sign(base.as_bytes()).to_bytes().to_vec(),
    };
    parts
        .headers
        .insert("signature-input", input.parse().expect("header"));
    parts.headers.insert(
        "signature",
        format!("sig1=:{}:", STANDARD.encode(signature))
            .parse()
            .expect("header"),
    );
    parts
}

pub fn hmac() -> TestSigner {
    TestSigner::Hmac(HMAC_SECRET)
}

pub fn verify(
    parts: &Parts,
    has_body: bool,
    nonces: &NonceCache,
) -> Result<Option<Principal>, AuthFailure> {
    verifier().verify(parts, has_body, NOW, nonces)
}
