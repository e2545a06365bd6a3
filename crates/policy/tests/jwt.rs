//! Every JWT bad input from the authentication issue, plus the good paths, against real
//! signatures made with the committed test-only keys.

mod common;

use common::*;
use jsonwebtoken::{Algorithm, EncodingKey};
use portcullis_policy::{AuthFailure, AuthMethod};
use serde_json::json;

fn verify(token: &str) -> Result<portcullis_policy::jwt::VerifiedToken, AuthFailure> {
    all_algorithms().verify(token, NOW)
}

#[test]
fn good_tokens_verify_under_every_asymmetric_algorithm() {
    for (algorithm, kid) in [
        (Algorithm::RS256, "rsa-1"),
        (Algorithm::PS256, "rsa-1"),
        (Algorithm::ES256, "ec-1"),
        (Algorithm::EdDSA, "ed-1"),
        (Algorithm::HS256, "hmac-1"),
    ] {
        let verified = verify(&token(algorithm, kid, &good_claims()))
            .unwrap_or_else(|failure| panic!("{algorithm:?}: {failure}"));
        let principal = verified.principal;
        assert_eq!(principal.subject, "user-42");
        assert_eq!(principal.tenant_id.as_deref(), Some("acme"));
        assert_eq!(principal.scopes, vec!["orders:read", "orders:write"]);
        assert_eq!(principal.key_id.as_deref(), Some(kid));
        assert_eq!(principal.method, AuthMethod::Jwt);
        assert_eq!(verified.expires_at, NOW + 600);
    }
}

#[test]
fn scopes_may_come_from_an_scp_array() {
    let claims = with_claim("scp", json!(["a", "b"]));
    let claims = {
        let mut claims = claims;
        claims.as_object_mut().expect("object").remove("scope");
        claims
    };
    let verified = verify(&token(Algorithm::RS256, "rsa-1", &claims)).expect("valid");
    assert_eq!(verified.principal.scopes, vec!["a", "b"]);
}

#[test]
fn alg_none_is_refused_in_any_casing_with_or_without_a_signature() {
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": alg, "kid": "rsa-1"});
        let unsigned = format!("{}.{}.", b64_json(&header), b64_json(&good_claims()));
        assert_eq!(
            verify(&unsigned).err(),
            Some(AuthFailure::AlgorithmNone),
            "{alg}"
        );
        let with_signature = format!("{unsigned}c2lnbmF0dXJl");
        assert_eq!(
            verify(&with_signature).err(),
            Some(AuthFailure::AlgorithmNone),
            "{alg}"
        );
    }
}

#[test]
fn hs256_signed_with_the_rsa_public_key_is_refused() {
    // The classic confusion attack: HMAC keyed with the issuer's public key, naming the RSA kid.
    let header = json!({"alg": "HS256", "kid": "rsa-1"});
    let forged = sign_raw(
        &header,
        &good_claims(),
        &EncodingKey::from_secret(RSA_PUBLIC),
        Algorithm::HS256,
    );
    assert_eq!(
        all_algorithms().verify(&forged, NOW).err(),
        Some(AuthFailure::KeyAlgorithmMismatch),
        "even an issuer allowing HS256 never keys HMAC with an RSA key"
    );
    assert_eq!(
        verifier(&["RS256"]).verify(&forged, NOW).err(),
        Some(AuthFailure::AlgorithmNotAllowed)
    );
}

#[test]
fn algorithms_the_issuer_does_not_allow_are_refused_before_crypto() {
    let rs_only = verifier(&["RS256"]);
    for (algorithm, kid) in [
        (Algorithm::ES256, "ec-1"),
        (Algorithm::PS256, "rsa-1"),
        (Algorithm::EdDSA, "ed-1"),
        (Algorithm::HS256, "hmac-1"),
    ] {
        assert_eq!(
            rs_only
                .verify(&token(algorithm, kid, &good_claims()), NOW)
                .err(),
            Some(AuthFailure::AlgorithmNotAllowed),
            "{algorithm:?}"
        );
    }
    // A key pinned to one algorithm (`alg` in its JWK) cannot be used under another.
    let header = json!({"alg": "RS256", "kid": "ec-1"});
    let mismatched = sign_raw(&header, &good_claims(), &rsa_key(), Algorithm::RS256);
    assert_eq!(
        verify(&mismatched).err(),
        Some(AuthFailure::KeyAlgorithmMismatch)
    );
}

#[test]
fn unknown_and_injected_kids_do_not_match() {
    for kid in [
        "rsa-2",
        "RSA-1",
        "rsa-1 ",
        "../../etc/passwd",
        "/dev/null",
        "' OR '1'='1",
        "rsa-1'; DROP TABLE keys; --",
        "",
    ] {
        let header = json!({"alg": "RS256", "kid": kid});
        let token = sign_raw(&header, &good_claims(), &rsa_key(), Algorithm::RS256);
        assert_eq!(
            verify(&token).err(),
            Some(AuthFailure::UnknownKeyId),
            "{kid:?}"
        );
    }
    // Without a kid the set has more than one RSA-capable... exactly one: it is used.
    let header = json!({"alg": "RS256"});
    let token = sign_raw(&header, &good_claims(), &rsa_key(), Algorithm::RS256);
    assert!(verify(&token).is_ok());
}

#[test]
fn jku_x5u_and_embedded_jwk_are_ignored() {
    let attacker_jwk = public_jwk(&attacker_key(), Algorithm::RS256, "rsa-1", true);
    let header = json!({
        "alg": "RS256",
        "kid": "rsa-1",
        "jku": "http://127.0.0.1:9/jwks.json",
        "x5u": "http://127.0.0.1:9/cert.pem",
        "jwk": attacker_jwk,
    });
    let forged = sign_raw(&header, &good_claims(), &attacker_key(), Algorithm::RS256);
    assert_eq!(verify(&forged).err(), Some(AuthFailure::InvalidSignature));
    // The same headers on a token the issuer really signed change nothing.
    let genuine = sign_raw(&header, &good_claims(), &rsa_key(), Algorithm::RS256);
    assert!(verify(&genuine).is_ok());
}

#[test]
fn unknown_crit_headers_are_refused() {
    let header = json!({"alg": "RS256", "kid": "rsa-1", "crit": ["x-custom"], "x-custom": 1});
    let token = sign_raw(&header, &good_claims(), &rsa_key(), Algorithm::RS256);
    assert_eq!(
        verify(&token).err(),
        Some(AuthFailure::UnsupportedCriticalHeader)
    );
}

#[test]
fn expiry_and_not_before_respect_the_leeway() {
    let expired = with_claim("exp", json!(NOW - 31));
    assert_eq!(
        verify(&token(Algorithm::RS256, "rsa-1", &expired)).err(),
        Some(AuthFailure::Expired)
    );
    let within_leeway = with_claim("exp", json!(NOW - 29));
    assert!(verify(&token(Algorithm::RS256, "rsa-1", &within_leeway)).is_ok());
    let future = with_claim("nbf", json!(NOW + 31));
    assert_eq!(
        verify(&token(Algorithm::RS256, "rsa-1", &future)).err(),
        Some(AuthFailure::NotYetValid)
    );
    let nearly = with_claim("nbf", json!(NOW + 29));
    assert!(verify(&token(Algorithm::RS256, "rsa-1", &nearly)).is_ok());
    let issued_later = with_claim("iat", json!(NOW + 3600));
    assert_eq!(
        verify(&token(Algorithm::RS256, "rsa-1", &issued_later)).err(),
        Some(AuthFailure::IssuedInFuture)
    );
}

#[test]
fn missing_exp_is_refused() {
    let token = token(Algorithm::ES256, "ec-1", &without_claim("exp"));
    assert_eq!(verify(&token).err(), Some(AuthFailure::MissingExpiry));
}

#[test]
fn wrong_issuer_is_refused() {
    let claims = with_claim("iss", json!("https://evil.test"));
    assert_eq!(
        verify(&token(Algorithm::RS256, "rsa-1", &claims)).err(),
        Some(AuthFailure::UnknownIssuer)
    );
    assert_eq!(
        verify(&token(Algorithm::RS256, "rsa-1", &without_claim("iss"))).err(),
        Some(AuthFailure::UnknownIssuer)
    );
}

#[test]
fn audience_is_checked_in_string_and_array_form() {
    for (aud, ok) in [
        (json!("billing-api"), false),
        (json!(["billing-api", "other"]), false),
        (json!([]), false),
        (json!(7), false),
        (json!(["billing-api", AUDIENCE]), true),
        (json!(AUDIENCE), true),
    ] {
        let result = verify(&token(
            Algorithm::RS256,
            "rsa-1",
            &with_claim("aud", aud.clone()),
        ));
        if ok {
            assert!(result.is_ok(), "{aud}");
        } else {
            assert_eq!(result.err(), Some(AuthFailure::WrongAudience), "{aud}");
        }
    }
    assert_eq!(
        verify(&token(Algorithm::RS256, "rsa-1", &without_claim("aud"))).err(),
        Some(AuthFailure::WrongAudience)
    );
}

#[test]
fn empty_truncated_padded_or_altered_signatures_are_refused() {
    for (algorithm, kid) in [
        (Algorithm::RS256, "rsa-1"),
        (Algorithm::ES256, "ec-1"),
        (Algorithm::EdDSA, "ed-1"),
    ] {
        let good = token(algorithm, kid, &good_claims());
        let (message, signature) = good.rsplit_once('.').expect("three segments");
        let mut altered = signature.as_bytes().to_vec();
        altered[5] = if altered[5] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).expect("ascii");
        for bad in [
            format!("{message}."),
            format!("{message}.{}", &signature[..signature.len() - 4]),
            format!("{message}.{signature}="),
            format!("{message}.{signature}=="),
            format!("{message}.{altered}"),
            format!("{message}.{signature}AAAA"),
        ] {
            assert_eq!(
                verify(&bad).err(),
                Some(AuthFailure::InvalidSignature),
                "{algorithm:?} {bad}"
            );
        }
    }
}

#[test]
fn the_all_zero_ecdsa_signature_is_refused() {
    // CVE-2022-21449: r = s = 0 verified against any message with some ECDSA implementations.
    let header = json!({"alg": "ES256", "kid": "ec-1"});
    let message = format!("{}.{}", b64_json(&header), b64_json(&good_claims()));
    use base64::Engine;
    let zero = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0u8; 64]);
    assert_eq!(
        verify(&format!("{message}.{zero}")).err(),
        Some(AuthFailure::InvalidSignature)
    );
    // DER-shaped zero signature too.
    let der = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode([0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]);
    assert_eq!(
        verify(&format!("{message}.{der}")).err(),
        Some(AuthFailure::InvalidSignature)
    );
}

#[test]
fn malformed_segments_base64_and_json_are_refused() {
    let good = token(Algorithm::RS256, "rsa-1", &good_claims());
    let mut segments = good.split('.');
    let (header, claims, signature) = (
        segments.next().expect("header"),
        segments.next().expect("claims"),
        segments.next().expect("signature"),
    );
    use base64::Engine;
    let not_json = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("{not json");
    let array = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("[1,2]");
    let standard_alphabet = header.replace('-', "+").replace('_', "/") + "+/";
    for bad in [
        String::new(),
        ".".to_string(),
        "..".to_string(),
        format!("{header}.{claims}"),
        format!("{header}.{claims}.{signature}.extra"),
        format!("{header}.{claims}.{signature}.a.b"),
        format!("{header}=.{claims}.{signature}"),
        format!("{header}.{claims}=.{signature}"),
        format!("{header}.!!{claims}.{signature}"),
        format!("{standard_alphabet}.{claims}.{signature}"),
        format!("{not_json}.{claims}.{signature}"),
        format!("{header}.{not_json}.{signature}"),
        format!("{header}.{array}.{signature}"),
        format!("{array}.{claims}.{signature}"),
        format!("{}.{claims}.{signature}", &header[..header.len() - 3]),
    ] {
        assert_eq!(
            verify(&bad).err(),
            Some(AuthFailure::MalformedToken),
            "{bad}"
        );
    }
}

#[test]
fn oversized_tokens_are_refused_before_parsing() {
    let huge = with_claim("padding", json!("x".repeat(9_000)));
    assert_eq!(
        verify(&token(Algorithm::RS256, "rsa-1", &huge)).err(),
        Some(AuthFailure::TokenTooLarge)
    );
}
