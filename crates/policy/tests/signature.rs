//! RFC 9421 signed partner requests end to end: signing with hmac-sha256 and ed25519, then
//! verification with stale, tampered, incomplete and replayed variants.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::signing::*;
use ed25519_dalek::SigningKey;
use hmac::{Hmac, Mac};
use portcullis_policy::signature::sfv::{parse_dictionary, Member};
use portcullis_policy::signature::{
    content_digest_header, signature_base, ContentDigest, NonceCache, SignatureVerifier,
};
use portcullis_policy::{AuthFailure, AuthMethod};
use sha2::Sha256;

#[test]
fn good_signatures_verify_and_map_to_the_partner() {
    let nonces = NonceCache::new(100);
    let body: &[u8] = br#"{"amount": 10}"#;
    let parts = signed(&Signing::default(), &hmac());
    let principal = verify(&parts, true, &nonces)
        .expect("valid")
        .expect("signed");
    assert_eq!(principal.subject, "acme-payments");
    assert_eq!(principal.key_id.as_deref(), Some("hmac-partner"));
    assert_eq!(principal.method, AuthMethod::Signature);
    let digest = ContentDigest::from_parts(&parts)
        .expect("parsed")
        .expect("present");
    assert_eq!(digest.verify(body), Ok(()));

    let ed = Signing {
        key_id: "ed-partner",
        alg: Some("ed25519"),
        ..Signing::default()
    };
    let parts = signed(
        &ed,
        &TestSigner::Ed25519(Box::new(SigningKey::from_bytes(&ED_SEED))),
    );
    let principal = verify(&parts, true, &nonces)
        .expect("valid")
        .expect("signed");
    assert_eq!(principal.subject, "globex");
}

#[test]
fn the_rfc_9421_hmac_example_verifies() {
    // RFC 9421 §B.2.5, with the shared secret of §B.1.5.
    let secret = STANDARD
        .decode("uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==")
        .expect("secret");
    let parts = http::Request::post("/foo?param=Value&Pet=dog")
        .header("host", "example.com")
        .header("date", "Tue, 20 Apr 2021 02:07:55 GMT")
        .header("content-type", "application/json")
        .body(())
        .expect("request")
        .into_parts()
        .0;
    let members = parse_dictionary(r#"sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret""#)
        .expect("input");
    let Member::InnerList(items, params) = &members[0].1 else {
        panic!("inner list");
    };
    let base = signature_base(&parts, items, params).expect("base");
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret).expect("key");
    mac.update(base.as_bytes());
    assert_eq!(
        STANDARD.encode(mac.finalize().into_bytes()),
        "pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8="
    );
}

#[test]
fn created_must_be_within_the_window() {
    let nonces = NonceCache::new(100);
    for (created, fresh) in [
        (NOW - 301, false),
        (NOW + 301, false),
        (NOW - 299, true),
        (NOW + 299, true),
    ] {
        let parts = signed(
            &Signing {
                created,
                ..Signing::default()
            },
            &hmac(),
        );
        let result = verify(&parts, true, &nonces);
        if fresh {
            assert!(result.is_ok(), "{created}");
        } else {
            assert_eq!(result, Err(AuthFailure::SignatureStale), "{created}");
        }
    }
}

#[test]
fn a_changed_body_fails_the_digest_and_a_changed_digest_fails_the_signature() {
    let nonces = NonceCache::new(100);
    let mut parts = signed(&Signing::default(), &hmac());
    assert!(verify(&parts, true, &nonces).is_ok());
    let digest = ContentDigest::from_parts(&parts)
        .expect("parsed")
        .expect("present");
    assert_eq!(
        digest.verify(br#"{"amount": 10000}"#),
        Err(AuthFailure::ContentDigestMismatch)
    );
    // Swapping in the digest of the new body breaks the signature instead.
    parts.headers.insert(
        "content-digest",
        content_digest_header(br#"{"amount": 10000}"#)
            .parse()
            .expect("header"),
    );
    assert_eq!(
        verify(&parts, true, &nonces),
        Err(AuthFailure::SignatureInvalid)
    );
}

#[test]
fn tampered_requests_fail_the_signature() {
    let nonces = NonceCache::new(100);
    let parts = signed(&Signing::default(), &hmac());
    let mut other_method = parts.clone();
    other_method.method = http::Method::PUT;
    assert_eq!(
        verify(&other_method, true, &nonces),
        Err(AuthFailure::SignatureInvalid)
    );
    let mut other_host = parts.clone();
    other_host
        .headers
        .insert("host", "evil.example.com".parse().expect("header"));
    assert_eq!(
        verify(&other_host, true, &nonces),
        Err(AuthFailure::SignatureInvalid)
    );
    let mut other_query = parts.clone();
    other_query.uri = "/v1/payments?currency=USD".parse().expect("uri");
    assert_eq!(
        verify(&other_query, true, &nonces),
        Err(AuthFailure::SignatureInvalid)
    );
    let wrong_key = signed(
        &Signing {
            key_id: "ed-partner",
            ..Signing::default()
        },
        &TestSigner::Ed25519(Box::new(SigningKey::from_bytes(&[9; 32]))),
    );
    assert_eq!(
        verify(&wrong_key, true, &nonces),
        Err(AuthFailure::SignatureInvalid)
    );
}

#[test]
fn mandatory_components_must_be_covered() {
    let nonces = NonceCache::new(100);
    for components in [
        &["@method", "@authority", "@query", "content-digest"][..],
        &["@method", "@path", "@query", "content-digest"][..],
        &["@authority", "@path", "@query", "content-digest"][..],
        &["@method", "@authority", "@path", "content-digest"][..],
        &["@method", "@authority", "@path", "@query"][..],
    ] {
        let parts = signed(
            &Signing {
                components,
                ..Signing::default()
            },
            &hmac(),
        );
        assert_eq!(
            verify(&parts, true, &nonces),
            Err(AuthFailure::SignatureMissingComponent),
            "{components:?}"
        );
    }
    // Without a body or a query, method, authority and path suffice.
    let minimal = Signing {
        uri: "/v1/payments",
        body: None,
        components: &["@method", "@authority", "@path"],
        ..Signing::default()
    };
    assert!(verify(&signed(&minimal, &hmac()), false, &nonces).is_ok());
    // A covered header the request lacks fails rather than being skipped.
    let mut absent = signed(&Signing::default(), &hmac());
    absent.headers.remove("content-digest");
    assert_eq!(
        verify(&absent, true, &nonces),
        Err(AuthFailure::SignatureMissingComponent)
    );
}

#[test]
fn a_replayed_nonce_is_refused() {
    let nonces = NonceCache::new(100);
    let parts = signed(
        &Signing {
            nonce: Some("b1c3"),
            ..Signing::default()
        },
        &hmac(),
    );
    assert!(verify(&parts, true, &nonces).is_ok());
    assert_eq!(
        verify(&parts, true, &nonces),
        Err(AuthFailure::NonceReplayed)
    );
    let fresh = signed(
        &Signing {
            nonce: Some("b1c4"),
            ..Signing::default()
        },
        &hmac(),
    );
    assert!(verify(&fresh, true, &nonces).is_ok());
    // A forged request cannot burn a partner's nonce.
    let mut forged = signed(
        &Signing {
            nonce: Some("b1c5"),
            ..Signing::default()
        },
        &hmac(),
    );
    forged.method = http::Method::DELETE;
    assert_eq!(
        verify(&forged, true, &nonces),
        Err(AuthFailure::SignatureInvalid)
    );
    let genuine = signed(
        &Signing {
            nonce: Some("b1c5"),
            ..Signing::default()
        },
        &hmac(),
    );
    assert!(verify(&genuine, true, &nonces).is_ok());
}

#[test]
fn keys_algorithms_and_header_shapes_are_checked() {
    let nonces = NonceCache::new(100);
    let unknown = signed(
        &Signing {
            key_id: "nobody",
            ..Signing::default()
        },
        &hmac(),
    );
    assert_eq!(
        verify(&unknown, true, &nonces),
        Err(AuthFailure::SignatureUnknownKey)
    );
    let mismatch = signed(
        &Signing {
            alg: Some("ed25519"),
            ..Signing::default()
        },
        &hmac(),
    );
    assert_eq!(
        verify(&mismatch, true, &nonces),
        Err(AuthFailure::SignatureAlgorithmMismatch)
    );

    let unsigned = http::Request::get("/")
        .body(())
        .expect("request")
        .into_parts()
        .0;
    assert_eq!(verify(&unsigned, false, &nonces), Ok(None));
    let mut half = signed(&Signing::default(), &hmac());
    half.headers.remove("signature");
    assert_eq!(
        verify(&half, true, &nonces),
        Err(AuthFailure::SignatureMalformed)
    );
    let mut garbage = signed(&Signing::default(), &hmac());
    garbage
        .headers
        .insert("signature", "sig1=not-bytes".parse().expect("header"));
    assert_eq!(
        verify(&garbage, true, &nonces),
        Err(AuthFailure::SignatureMalformed)
    );
    let mut other_label = signed(&Signing::default(), &hmac());
    other_label
        .headers
        .insert("signature", "sig2=:AAAA:".parse().expect("header"));
    assert_eq!(
        verify(&other_label, true, &nonces),
        Err(AuthFailure::SignatureMalformed)
    );
}

#[test]
fn the_verifier_compiles_from_config_through_a_resolver() {
    use portcullis_config::model::SignatureAuthentication;
    let ed_public = STANDARD.encode(SigningKey::from_bytes(&ED_SEED).verifying_key().to_bytes());
    let config: SignatureAuthentication = serde_json::from_value(serde_json::json!({"keys": [
        {"keyId": "hmac-partner", "algorithm": "hmac-sha256", "secret": "env:PARTNER_SECRET", "subject": "acme-payments"},
        {"keyId": "ed-partner", "algorithm": "ed25519", "publicKey": ed_public, "subject": "globex", "scopes": ["partner"]}
    ]}))
    .expect("config");
    let resolve = |reference: &str| match reference {
        "env:PARTNER_SECRET" => Ok(HMAC_SECRET.to_vec()),
        other => Err(format!("unknown reference {other}")),
    };
    let verifier = SignatureVerifier::from_config(&config, resolve).expect("compiles");
    let nonces = NonceCache::new(10);
    let hmac_signed = signed(&Signing::default(), &hmac());
    let principal = verifier
        .verify(&hmac_signed, true, NOW, &nonces)
        .expect("valid")
        .expect("signed");
    assert_eq!(principal.subject, "acme-payments");
    let ed = Signing {
        key_id: "ed-partner",
        ..Signing::default()
    };
    let ed_signed = signed(
        &ed,
        &TestSigner::Ed25519(Box::new(SigningKey::from_bytes(&ED_SEED))),
    );
    let principal = verifier
        .verify(&ed_signed, true, NOW, &nonces)
        .expect("valid")
        .expect("signed");
    assert_eq!(principal.scopes, vec!["partner"]);

    let broken = |reference: &str| Err(format!("{reference} is not set"));
    let error = SignatureVerifier::from_config(&config, broken).expect_err("unresolvable");
    assert!(
        error.contains("keys[0].secret") && error.contains("env:PARTNER_SECRET"),
        "{error}"
    );
}

#[test]
fn secrets_never_show_in_debug_output() {
    let debug = format!("{:?}", verifier());
    assert!(debug.contains("<redacted>"));
    assert!(!debug.contains("partner-shared-secret"));
    let bytes = format!("{:?}", HMAC_SECRET.to_vec());
    assert!(!debug.contains(&bytes[1..20]));
}
